//! The store conformance suite (feature `testing`): async test bodies generic over any
//! [`Store`], and the [`store_conformance_tests!`](crate::store_conformance_tests) macro that
//! turns them into `#[test]`s (natively, through [`block_on`]) or `#[wasm_bindgen_test]`s (as
//! `async fn`s in a headless browser). The same bodies run against every backend.
//!
//! Each body panics (assert) on a conformance failure; none writes outside the store it gets.

use std::collections::BTreeMap;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::{
    HEADER_ID, KdfParams, RECORD_ID_PREFIX, SEED_ID, Store, StoreError, UnlockError, Vault,
    VaultError,
};
use crate::identity::{Identity, Seed};

pub use futures_executor::block_on;

mod messages;
mod migration;
pub use messages::*;
pub use migration::*;

/// Generates the conformance tests for a store backend.
///
/// ```ignore
/// // Natively (each test blocks on a tiny executor):
/// umbra_protocol::store_conformance_tests!(
///     test_attr = #[test],
///     run = block_on,
///     new_store = |_name: &'static str| async { umbra_protocol::store::MemoryStore::new() },
/// );
/// // In a browser (each test is an `async fn`):
/// umbra_protocol::store_conformance_tests!(
///     test_attr = #[wasm_bindgen_test::wasm_bindgen_test],
///     run = async_fn,
///     new_store = |name: &'static str| async move { IndexedDbStore::open_fresh(name).await.expect("open") },
/// );
/// ```
///
/// `new_store` is called once per test with the test's name (use it to pick a fresh database)
/// and must return a future resolving to an empty store implementing
/// [`Store`](crate::store::Store). Requires the `testing` feature of `umbra-protocol`.
#[macro_export]
macro_rules! store_conformance_tests {
    (test_attr = #[$attr:meta], run = $run:ident, new_store = $new_store:expr $(,)?) => {
        $crate::store_conformance_tests!(@each [$attr] $run ($new_store);
            store_get_missing_is_none,
            store_put_get_round_trip,
            store_put_overwrites,
            store_delete,
            store_clear,
            store_ids,
            vault_create_and_unlock,
            vault_create_twice_fails,
            vault_unlock_without_vault,
            vault_weak_params_rejected,
            vault_wrong_passphrase_changes_nothing,
            vault_records_round_trip,
            vault_tampered_record_detected,
            vault_swapped_records_detected,
            vault_corrupted_header_is_not_wrong_passphrase,
            vault_change_passphrase,
            vault_remove,
            store_write_batch,
            msgdb_dedup_both_ways,
            msgdb_ordering,
            msgdb_unread_across_reload,
            msgdb_outbox_resume,
            msgdb_requests_and_block,
            msgdb_sweep_expired,
            msgdb_search,
            msgdb_next_expiry_locate_hashes,
            msgdb_delete_unsend_react_quote,
            msgdb_plaintext_scan,
            msgdb_writes_no_seen_record,
            msgdb_groups_and_communities,
            msgdb_attachment_files,
            msgdb_migrates_v1_fixture,
            msgdb_upgrade_deletes_v2_seen,
            msgdb_migration_rejects_damage,
        );
    };
    (@each [$attr:meta] $run:ident ($new_store:expr); $($name:ident),* $(,)?) => {
        $( $crate::store_conformance_tests!(@one [$attr] $run ($new_store) $name); )*
    };
    (@one [$attr:meta] block_on ($new_store:expr) $name:ident) => {
        #[$attr]
        fn $name() {
            $crate::store::testing::block_on(async {
                let new_store = $new_store;
                let store = new_store(stringify!($name)).await;
                $crate::store::testing::$name(&store).await;
            })
        }
    };
    (@one [$attr:meta] async_fn ($new_store:expr) $name:ident) => {
        #[$attr]
        async fn $name() {
            let new_store = $new_store;
            let store = new_store(stringify!($name)).await;
            $crate::store::testing::$name(&store).await;
        }
    };
}

/// A deterministic RNG for tests.
pub fn test_rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// Every id and value in the store, for byte-for-byte comparisons.
pub async fn snapshot<S: Store>(store: &S) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for id in store.ids().await.expect("ids") {
        let value = store
            .get(&id)
            .await
            .expect("get")
            .expect("listed id has a value");
        out.insert(id, value);
    }
    out
}

fn test_seed() -> Seed {
    Seed::from_entropy(&[0x42; 16]).expect("16 bytes")
}

const PASS: &str = "correct horse battery staple";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// `get` of an id never written is `None`.
pub async fn store_get_missing_is_none<S: Store>(store: &S) {
    assert_eq!(store.get("nothing-here").await, Ok(None));
    assert_eq!(store.ids().await, Ok(Vec::new()));
}

/// What is put is what is got, for empty, binary and large values.
pub async fn store_put_get_round_trip<S: Store>(store: &S) {
    let binary: Vec<u8> = (0..=255u8).collect();
    let large: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    store.put("empty", &[]).await.expect("put");
    store.put("binary", &binary).await.expect("put");
    store.put("large", &large).await.expect("put");
    assert_eq!(store.get("empty").await, Ok(Some(Vec::new())));
    assert_eq!(store.get("binary").await, Ok(Some(binary)));
    assert_eq!(store.get("large").await, Ok(Some(large)));
}

/// A second `put` replaces the value; other ids are untouched.
pub async fn store_put_overwrites<S: Store>(store: &S) {
    store.put("a", b"one").await.expect("put");
    store.put("b", b"other").await.expect("put");
    store.put("a", b"two").await.expect("put");
    assert_eq!(store.get("a").await, Ok(Some(b"two".to_vec())));
    store.put("a", b"").await.expect("put");
    assert_eq!(store.get("a").await, Ok(Some(Vec::new())));
    assert_eq!(store.get("b").await, Ok(Some(b"other".to_vec())));
}

/// `delete` removes one id; deleting an absent id succeeds.
pub async fn store_delete<S: Store>(store: &S) {
    store.put("a", b"1").await.expect("put");
    store.put("b", b"2").await.expect("put");
    store.delete("a").await.expect("delete");
    assert_eq!(store.get("a").await, Ok(None));
    assert_eq!(store.get("b").await, Ok(Some(b"2".to_vec())));
    store.delete("a").await.expect("delete absent");
    store.delete("never").await.expect("delete absent");
    assert_eq!(store.ids().await, Ok(vec!["b".to_owned()]));
}

/// `clear` removes everything, and the store stays usable.
pub async fn store_clear<S: Store>(store: &S) {
    for i in 0..10 {
        store.put(&format!("id-{i}"), &[i]).await.expect("put");
    }
    store.clear().await.expect("clear");
    assert_eq!(store.ids().await, Ok(Vec::new()));
    assert_eq!(store.get("id-3").await, Ok(None));
    store.put("after", b"x").await.expect("put after clear");
    assert_eq!(store.get("after").await, Ok(Some(b"x".to_vec())));
}

/// `ids` lists exactly the stored ids; similar ids are distinct.
pub async fn store_ids<S: Store>(store: &S) {
    let names = ["a", "A", "a/", "a/b", "vault/header", "x y", "ü"];
    for (i, n) in names.iter().enumerate() {
        store.put(n, &[i as u8]).await.expect("put");
    }
    let mut ids = store.ids().await.expect("ids");
    ids.sort();
    let mut expected: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(ids, expected);
    for (i, n) in names.iter().enumerate() {
        assert_eq!(store.get(n).await, Ok(Some(vec![i as u8])), "{n}");
    }
    store.delete("a/").await.expect("delete");
    assert_eq!(store.ids().await.expect("ids").len(), names.len() - 1);
    assert_eq!(store.get("a").await, Ok(Some(vec![0])));
}

/// A created vault unlocks to the same identity; nothing secret is stored in the clear.
pub async fn vault_create_and_unlock<S: Store>(store: &S) {
    let mut rng = test_rng(1);
    let seed = test_seed();
    assert_eq!(Vault::exists(store).await, Ok(false));
    let created = Vault::create_insecure_for_tests(store, PASS, &seed, &mut rng)
        .await
        .expect("create");
    assert_eq!(Vault::exists(store).await, Ok(true));
    let expected = Identity::from_seed(&seed);
    assert_eq!(created.account_id(), expected.account_id());
    assert_eq!(created.kdf_params(), KdfParams::INSECURE_FOR_TESTS);
    assert!(created.kdf_upgrade_recommended());
    drop(created);

    let unlocked = Vault::unlock(store, PASS).await.expect("unlock");
    assert_eq!(unlocked.account_id(), expected.account_id());
    assert_eq!(
        unlocked.identity().ed25519_public(),
        expected.ed25519_public()
    );
    assert_eq!(
        unlocked.recovery_phrase().as_str(),
        seed.recovery_phrase().as_str()
    );

    let phrase = seed.recovery_phrase();
    let first_words: Vec<&str> = phrase.words().take(3).collect();
    for (id, value) in snapshot(store).await {
        assert!(
            !contains(&value, &seed.dangerously_export_bytes()[..16]),
            "{id}"
        );
        assert!(!contains(&value, first_words.join(" ").as_bytes()), "{id}");
        assert!(!contains(&value, PASS.as_bytes()), "{id}");
        let x_secret = unlocked.identity().x25519_secret().to_bytes();
        assert!(!contains(&value, &x_secret), "{id}");
    }
}

/// Creating over an existing vault fails and changes nothing.
pub async fn vault_create_twice_fails<S: Store>(store: &S) {
    let mut rng = test_rng(2);
    Vault::create_insecure_for_tests(store, PASS, &test_seed(), &mut rng)
        .await
        .expect("create");
    let before = snapshot(store).await;
    let other = Seed::from_entropy(&[7; 16]).expect("16");
    let again = Vault::create_insecure_for_tests(store, "other", &other, &mut rng).await;
    assert_eq!(again.map(|_| ()), Err(VaultError::AlreadyExists));
    assert_eq!(snapshot(store).await, before);
}

/// Unlocking an empty store reports that there is no vault.
pub async fn vault_unlock_without_vault<S: Store>(store: &S) {
    assert_eq!(
        Vault::unlock(store, PASS).await.map(|_| ()),
        Err(UnlockError::NoVault)
    );
    assert_eq!(Vault::exists(store).await, Ok(false));
}

/// `create` refuses parameters below the floor and writes nothing.
pub async fn vault_weak_params_rejected<S: Store>(store: &S) {
    let mut rng = test_rng(3);
    let r = Vault::create(
        store,
        PASS,
        &test_seed(),
        KdfParams::INSECURE_FOR_TESTS,
        &mut rng,
    )
    .await;
    assert_eq!(r.map(|_| ()), Err(VaultError::KdfParamsTooWeak));
    let one_pass = KdfParams {
        iterations: 1,
        ..KdfParams::DEFAULT
    };
    let r = Vault::create(store, PASS, &test_seed(), one_pass, &mut rng).await;
    assert_eq!(r.map(|_| ()), Err(VaultError::KdfParamsTooWeak));
    assert_eq!(store.ids().await, Ok(Vec::new()));
}

/// Wrong passphrases are reported as such and leave every stored byte unchanged.
pub async fn vault_wrong_passphrase_changes_nothing<S: Store>(store: &S) {
    let mut rng = test_rng(4);
    let v = Vault::create_insecure_for_tests(store, PASS, &test_seed(), &mut rng)
        .await
        .expect("create");
    v.put_record(store, "contact:alice", b"hello", &mut rng)
        .await
        .expect("put");
    drop(v);
    let before = snapshot(store).await;
    for wrong in [
        "",
        "correct horse battery stapl",
        "Correct horse battery staple",
        "correct horse battery staple ",
    ] {
        assert_eq!(
            Vault::unlock(store, wrong).await.map(|_| ()),
            Err(UnlockError::WrongPassphrase)
        );
        assert_eq!(snapshot(store).await, before);
    }
    let v = Vault::unlock(store, PASS).await.expect("right passphrase");
    assert_eq!(
        v.get_record(store, "contact:alice")
            .await
            .expect("get")
            .as_deref()
            .map(|b| b.as_slice()),
        Some(&b"hello"[..])
    );
    assert_eq!(snapshot(store).await, before);
}

/// Records round-trip; names and plaintext never appear in storage.
pub async fn vault_records_round_trip<S: Store>(store: &S) {
    let mut rng = test_rng(5);
    let v = Vault::create_insecure_for_tests(store, PASS, &test_seed(), &mut rng)
        .await
        .expect("create");
    let name = "contact:05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72";
    let body = b"canary-plaintext-0123456789";
    assert_eq!(v.get_record(store, name).await, Ok(None));
    v.put_record(store, name, body, &mut rng)
        .await
        .expect("put");
    v.put_record(store, "empty", b"", &mut rng)
        .await
        .expect("put");
    assert_eq!(
        v.get_record(store, name)
            .await
            .expect("get")
            .as_deref()
            .map(|b| b.as_slice()),
        Some(&body[..])
    );
    assert_eq!(
        v.get_record(store, "empty")
            .await
            .expect("get")
            .as_deref()
            .map(|b| b.len()),
        Some(0)
    );
    v.put_record(store, name, b"second", &mut rng)
        .await
        .expect("overwrite");
    assert_eq!(
        v.get_record(store, name)
            .await
            .expect("get")
            .as_deref()
            .map(|b| b.as_slice()),
        Some(&b"second"[..])
    );
    // Sealing twice gives different bytes (random nonce).
    let id = v.record_storage_id(name);
    let first = store.get(&id).await.expect("get");
    v.put_record(store, name, b"second", &mut rng)
        .await
        .expect("overwrite");
    assert_ne!(store.get(&id).await.expect("get"), first);
    for (id, value) in snapshot(store).await {
        assert!(!id.contains("contact") && !id.contains("05d2ad"), "{id}");
        assert!(
            !contains(&value, b"canary") && !contains(&value, b"second"),
            "{id}"
        );
    }
    assert!(id.starts_with(RECORD_ID_PREFIX));
    v.delete_record(store, name).await.expect("delete");
    assert_eq!(v.get_record(store, name).await, Ok(None));
    // The record ids survive a lock/unlock (keyed hash under the same store key).
    drop(v);
    let v = Vault::unlock(store, PASS).await.expect("unlock");
    assert_eq!(v.record_storage_id(name), id);
    assert_eq!(
        v.get_record(store, "empty")
            .await
            .expect("get")
            .as_deref()
            .map(|b| b.len()),
        Some(0)
    );
}

/// Every single-byte change and every truncation of a record is detected; so is a tampered
/// sealed seed.
pub async fn vault_tampered_record_detected<S: Store>(store: &S) {
    let mut rng = test_rng(6);
    let v = Vault::create_insecure_for_tests(store, PASS, &test_seed(), &mut rng)
        .await
        .expect("create");
    v.put_record(store, "r", b"some record", &mut rng)
        .await
        .expect("put");
    let id = v.record_storage_id("r");
    let original = store.get(&id).await.expect("get").expect("present");
    for pos in 0..original.len() {
        for flip in [0x01u8, 0x80] {
            let mut bad = original.clone();
            bad[pos] ^= flip;
            store.put(&id, &bad).await.expect("put");
            let got = v.get_record(store, "r").await.map(|_| ());
            assert!(got.is_err(), "flip at {pos} accepted");
        }
    }
    for len in [0, 1, 24, 25, 40, original.len() - 1] {
        store.put(&id, &original[..len]).await.expect("put");
        assert!(
            v.get_record(store, "r").await.is_err(),
            "truncation to {len} accepted"
        );
    }
    store.put(&id, &original[..1]).await.expect("put");
    assert_eq!(
        v.get_record(store, "r").await.map(|_| ()),
        Err(StoreError::Malformed)
    );
    let mut bad = original.clone();
    bad[0] = 9;
    store.put(&id, &bad).await.expect("put");
    assert_eq!(
        v.get_record(store, "r").await.map(|_| ()),
        Err(StoreError::UnsupportedVersion { found: 9 })
    );
    let mut bad = original.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    store.put(&id, &bad).await.expect("put");
    assert_eq!(
        v.get_record(store, "r").await.map(|_| ()),
        Err(StoreError::DecryptFailed)
    );
    store.put(&id, &original).await.expect("restore");
    assert!(v.get_record(store, "r").await.expect("get").is_some());
    drop(v);

    let seed = store.get(SEED_ID).await.expect("get").expect("present");
    let mut bad = seed.clone();
    bad[30] ^= 1;
    store.put(SEED_ID, &bad).await.expect("put");
    assert_eq!(
        Vault::unlock(store, PASS).await.map(|_| ()),
        Err(UnlockError::Corrupted)
    );
    store.delete(SEED_ID).await.expect("delete");
    assert_eq!(
        Vault::unlock(store, PASS).await.map(|_| ()),
        Err(UnlockError::Corrupted)
    );
    store.put(SEED_ID, &seed).await.expect("restore");
    assert!(Vault::unlock(store, PASS).await.is_ok());
}

/// Records moved to another id (swapped, or the seed copied over a record) fail to open.
pub async fn vault_swapped_records_detected<S: Store>(store: &S) {
    let mut rng = test_rng(7);
    let v = Vault::create_insecure_for_tests(store, PASS, &test_seed(), &mut rng)
        .await
        .expect("create");
    v.put_record(store, "a", b"record a", &mut rng)
        .await
        .expect("put");
    v.put_record(store, "b", b"record b", &mut rng)
        .await
        .expect("put");
    let (ia, ib) = (v.record_storage_id("a"), v.record_storage_id("b"));
    let a = store.get(&ia).await.expect("get").expect("a");
    let b = store.get(&ib).await.expect("get").expect("b");
    store.put(&ia, &b).await.expect("put");
    store.put(&ib, &a).await.expect("put");
    assert_eq!(
        v.get_record(store, "a").await.map(|_| ()),
        Err(StoreError::DecryptFailed)
    );
    assert_eq!(
        v.get_record(store, "b").await.map(|_| ()),
        Err(StoreError::DecryptFailed)
    );
    let seed = store.get(SEED_ID).await.expect("get").expect("seed");
    store.put(&ia, &seed).await.expect("put");
    assert_eq!(
        v.get_record(store, "a").await.map(|_| ()),
        Err(StoreError::DecryptFailed)
    );
    store.put(SEED_ID, &b).await.expect("put");
    assert_eq!(
        Vault::unlock(store, PASS).await.map(|_| ()),
        Err(UnlockError::Corrupted)
    );
    store.put(SEED_ID, &seed).await.expect("restore");
    store.put(&ia, &a).await.expect("restore");
    store.put(&ib, &b).await.expect("restore");
    assert_eq!(
        v.get_record(store, "a")
            .await
            .expect("get")
            .as_deref()
            .map(|x| x.as_slice()),
        Some(&b"record a"[..])
    );
    // A record from another vault (another store key) does not open either.
    let other_store_seed = Seed::from_entropy(&[9; 16]).expect("16");
    let other = crate::store::MemoryStore::new();
    let w = Vault::create_insecure_for_tests(&other, PASS, &other_store_seed, &mut rng)
        .await
        .expect("create");
    w.put_record(&other, "a", b"foreign", &mut rng)
        .await
        .expect("put");
    let foreign = crate::store::Store::get(&other, &w.record_storage_id("a"))
        .await
        .expect("get")
        .expect("foreign");
    store.put(&ia, &foreign).await.expect("put");
    assert_eq!(
        v.get_record(store, "a").await.map(|_| ()),
        Err(StoreError::DecryptFailed)
    );
}

/// A damaged header is reported as corrupted (or as an unknown version), never as a wrong
/// passphrase and never accepted.
pub async fn vault_corrupted_header_is_not_wrong_passphrase<S: Store>(store: &S) {
    let mut rng = test_rng(8);
    Vault::create_insecure_for_tests(store, PASS, &test_seed(), &mut rng)
        .await
        .expect("create");
    let header = store.get(HEADER_ID).await.expect("get").expect("header");
    for pos in 0..header.len() {
        let mut bad = header.clone();
        bad[pos] ^= 0x01;
        store.put(HEADER_ID, &bad).await.expect("put");
        match Vault::unlock(store, PASS).await.map(|_| ()) {
            Err(UnlockError::Corrupted | UnlockError::UnsupportedVersion { .. }) => {}
            other => panic!("header flip at {pos}: {other:?}"),
        }
    }
    for garbage in [
        &b""[..],
        b"{}",
        b"null",
        b"\xff\xfe",
        &header[..header.len() / 2],
    ] {
        store.put(HEADER_ID, garbage).await.expect("put");
        assert_eq!(
            Vault::unlock(store, PASS).await.map(|_| ()),
            Err(UnlockError::Corrupted)
        );
    }
    store.put(HEADER_ID, &header).await.expect("restore");
    assert!(Vault::unlock(store, PASS).await.is_ok());
}

/// Changing the passphrase rewrites only the header; the old one stops working, the new one
/// works, and every record is intact.
pub async fn vault_change_passphrase<S: Store>(store: &S) {
    let mut rng = test_rng(9);
    let mut v = Vault::create_insecure_for_tests(store, PASS, &test_seed(), &mut rng)
        .await
        .expect("create");
    for i in 0..20u8 {
        v.put_record(store, &format!("m{i}"), &[i; 33], &mut rng)
            .await
            .expect("put");
    }
    let before = snapshot(store).await;
    let weak = v
        .change_passphrase(store, "new pass", KdfParams::INSECURE_FOR_TESTS, &mut rng)
        .await;
    assert_eq!(weak, Err(VaultError::KdfParamsTooWeak));
    assert_eq!(snapshot(store).await, before);
    v.change_passphrase_insecure_for_tests(store, "new pass", &mut rng)
        .await
        .expect("change");
    let after = snapshot(store).await;
    assert_eq!(before.len(), after.len());
    for (id, value) in &before {
        if id == HEADER_ID {
            assert_ne!(after.get(id), Some(value), "header must change");
        } else {
            assert_eq!(after.get(id), Some(value), "{id} must be untouched");
        }
    }
    drop(v);
    assert_eq!(
        Vault::unlock(store, PASS).await.map(|_| ()),
        Err(UnlockError::WrongPassphrase)
    );
    let v = Vault::unlock(store, "new pass")
        .await
        .expect("new passphrase");
    assert_eq!(
        v.account_id(),
        Identity::from_seed(&test_seed()).account_id()
    );
    for i in 0..20u8 {
        assert_eq!(
            v.get_record(store, &format!("m{i}"))
                .await
                .expect("get")
                .as_deref()
                .cloned(),
            Some(vec![i; 33])
        );
    }
}

/// Removing the vault deletes the header, the seed and every record, and nothing else.
pub async fn vault_remove<S: Store>(store: &S) {
    let mut rng = test_rng(10);
    store.put("unrelated", b"keep me").await.expect("put");
    let v = Vault::create_insecure_for_tests(store, PASS, &test_seed(), &mut rng)
        .await
        .expect("create");
    v.put_record(store, "x", b"1", &mut rng).await.expect("put");
    drop(v);
    Vault::remove(store).await.expect("remove");
    assert_eq!(Vault::exists(store).await, Ok(false));
    assert_eq!(store.ids().await, Ok(vec!["unrelated".to_owned()]));
    assert_eq!(
        Vault::unlock(store, PASS).await.map(|_| ()),
        Err(UnlockError::NoVault)
    );
    Vault::remove(store).await.expect("remove again");
    let v = Vault::create_insecure_for_tests(store, "fresh", &test_seed(), &mut rng)
        .await
        .expect("create after remove");
    assert_eq!(v.get_record(store, "x").await, Ok(None));
}
