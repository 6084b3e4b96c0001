//! Record cipher, KDF policy and vault tests that do not need the conformance suite.

use futures_executor::block_on;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use umbra_protocol::error::ErrorKind;
use umbra_protocol::identity::{Identity, Seed};
use umbra_protocol::store::{
    HEADER_ID, KdfParams, MemoryStore, RECORD_FORMAT_VERSION, Store, StoreError, StoreKey,
    UnlockError, Vault, VaultError, WrappedStoreKey,
};

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

#[test]
fn seal_open_round_trip_and_layout() {
    let mut r = rng(1);
    let key = StoreKey::generate(&mut r);
    let sealed = key.seal("id-1", b"plaintext", &mut r).expect("seal");
    assert_eq!(sealed[0], RECORD_FORMAT_VERSION);
    assert_eq!(sealed.len(), 1 + 24 + 9 + 16);
    assert_eq!(
        key.open("id-1", &sealed).expect("open").as_slice(),
        b"plaintext"
    );
    // Fresh nonce each time.
    let again = key.seal("id-1", b"plaintext", &mut r).expect("seal");
    assert_ne!(sealed, again);
    assert_ne!(sealed[1..25], again[1..25]);
}

#[test]
fn open_rejects_wrong_id_wrong_key_and_tampering() {
    let mut r = rng(2);
    let key = StoreKey::generate(&mut r);
    let other = StoreKey::generate(&mut r);
    let sealed = key.seal("id-1", b"plaintext", &mut r).expect("seal");
    assert_eq!(
        key.open("id-2", &sealed).map(|_| ()),
        Err(StoreError::DecryptFailed)
    );
    assert_eq!(
        key.open("", &sealed).map(|_| ()),
        Err(StoreError::DecryptFailed)
    );
    assert_eq!(
        other.open("id-1", &sealed).map(|_| ()),
        Err(StoreError::DecryptFailed)
    );
    // 1,000 random single-byte changes: all detected (docs/security.md S4).
    for _ in 0..1000 {
        let mut bad = sealed.clone();
        let pos = (r.next_u32() as usize) % bad.len();
        let flip = (r.next_u32() % 255 + 1) as u8;
        bad[pos] ^= flip;
        assert!(key.open("id-1", &bad).is_err(), "flip at {pos} accepted");
    }
    assert_eq!(
        key.open("id-1", &[]).map(|_| ()),
        Err(StoreError::Malformed)
    );
    assert_eq!(
        key.open("id-1", &sealed[..40]).map(|_| ()),
        Err(StoreError::Malformed)
    );
    let mut v2 = sealed.clone();
    v2[0] = 2;
    assert_eq!(
        key.open("id-1", &v2).map(|_| ()),
        Err(StoreError::UnsupportedVersion { found: 2 })
    );
    assert_eq!(StoreError::DecryptFailed.kind(), ErrorKind::Storage);
}

#[test]
fn hashed_ids_are_keyed_and_stable() {
    let mut r = rng(3);
    let key = StoreKey::generate(&mut r);
    let other = StoreKey::generate(&mut r);
    let a = key.hashed_id("contact:alice");
    assert_eq!(a.len(), 64);
    assert_eq!(a, key.hashed_id("contact:alice"));
    assert_ne!(a, key.hashed_id("contact:bob"));
    assert_ne!(a, other.hashed_id("contact:alice"));
    assert!(!a.contains("alice"));
}

#[test]
fn secrets_debug_is_redacted() {
    let mut r = rng(4);
    let key = StoreKey::generate(&mut r);
    assert_eq!(format!("{key:?}"), "StoreKey(<redacted>)");
    let store = MemoryStore::new();
    let seed = Seed::from_entropy(&[1; 16]).expect("16");
    let v = block_on(Vault::create_insecure_for_tests(&store, "p", &seed, &mut r)).expect("create");
    assert_eq!(format!("{v:?}"), "UnlockedVault(<redacted>)");
}

#[test]
fn default_params_vault_round_trip() {
    // The one test with the real 64 MiB / t=3 parameters.
    let mut r = rng(5);
    let store = MemoryStore::new();
    let seed = Seed::generate(&mut r);
    let v = block_on(Vault::create(
        &store,
        "a real passphrase",
        &seed,
        KdfParams::DEFAULT,
        &mut r,
    ))
    .expect("create");
    assert_eq!(v.kdf_params(), KdfParams::DEFAULT);
    assert!(!v.kdf_upgrade_recommended());
    drop(v);
    let header = block_on(store.get(HEADER_ID))
        .expect("get")
        .expect("header");
    let text = String::from_utf8(header).expect("json header");
    assert!(text.contains("\"memory_kib\":65536"), "{text}");
    assert!(text.contains("\"iterations\":3"), "{text}");
    assert!(text.contains("argon2id"), "{text}");
    let v = block_on(Vault::unlock(&store, "a real passphrase")).expect("unlock");
    assert_eq!(v.account_id(), Identity::from_seed(&seed).account_id());
    assert_eq!(
        block_on(Vault::unlock(&store, "a real passphrasE")).map(|_| ()),
        Err(UnlockError::WrongPassphrase)
    );
}

#[test]
fn wrapped_key_header_round_trips_through_serde() {
    let mut r = rng(6);
    let store = MemoryStore::new();
    let seed = Seed::from_entropy(&[2; 32]).expect("32");
    let v = block_on(Vault::create_insecure_for_tests(&store, "p", &seed, &mut r)).expect("create");
    let header = block_on(store.get(HEADER_ID))
        .expect("get")
        .expect("header");
    let parsed: WrappedStoreKey = serde_json::from_slice(&header).expect("serde");
    assert_eq!(parsed.kdf_params(), KdfParams::INSECURE_FOR_TESTS);
    assert_eq!(parsed.to_bytes(), header);
    // A 32-byte seed survives the vault and shows a 25-word phrase.
    assert_eq!(v.recovery_phrase().word_count(), 25);
}

#[test]
fn kdf_upgrade_via_change_passphrase() {
    let mut r = rng(7);
    let store = MemoryStore::new();
    let seed = Seed::from_entropy(&[3; 16]).expect("16");
    let mut v =
        block_on(Vault::create_insecure_for_tests(&store, "p", &seed, &mut r)).expect("create");
    assert!(v.kdf_upgrade_recommended());
    let floor = KdfParams::FLOOR;
    block_on(v.change_passphrase(&store, "p", floor, &mut r)).expect("upgrade");
    assert_eq!(v.kdf_params(), floor);
    drop(v);
    let v = block_on(Vault::unlock(&store, "p")).expect("unlock");
    assert_eq!(v.kdf_params(), floor);
    let too_big = KdfParams {
        memory_kib: KdfParams::MAX.memory_kib + 1,
        ..KdfParams::DEFAULT
    };
    let mut v = v;
    assert_eq!(
        block_on(v.change_passphrase(&store, "p", too_big, &mut r)),
        Err(VaultError::KdfParamsTooWeak)
    );
}

#[test]
fn error_kinds() {
    assert_eq!(UnlockError::WrongPassphrase.kind(), ErrorKind::BadApiUsage);
    assert_eq!(UnlockError::Corrupted.kind(), ErrorKind::Storage);
    assert_eq!(
        UnlockError::Store(StoreError::Backend { operation: "get" }).kind(),
        ErrorKind::Storage
    );
    assert_eq!(VaultError::AlreadyExists.kind(), ErrorKind::BadApiUsage);
    assert_eq!(StoreError::SealFailed.kind(), ErrorKind::Bug);
}
