//! Golden vault fixture (testdata/vectors/store.json): an existing store must keep unlocking,
//! and the same inputs must keep producing the same bytes.

use std::collections::BTreeMap;

use futures_executor::block_on;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::Value;
use umbra_protocol::identity::Seed;
use umbra_protocol::store::{
    HEADER_ID, MemoryStore, SEED_ID, Store, StoreError, UnlockError, Vault,
};

fn fixture() -> Value {
    serde_json::from_str(include_str!("../testdata/vectors/store.json")).expect("valid json")
}

fn fixture_store_map(f: &Value) -> BTreeMap<String, Vec<u8>> {
    f["store"]
        .as_object()
        .expect("store")
        .iter()
        .map(|(id, v)| {
            let bytes = match (v.get("utf8"), v.get("hex")) {
                (Some(s), _) => s.as_str().expect("utf8").as_bytes().to_vec(),
                (_, Some(h)) => hex::decode(h.as_str().expect("hex")).expect("hex"),
                _ => panic!("fixture value needs utf8 or hex"),
            };
            (id.clone(), bytes)
        })
        .collect()
}

fn load(map: &BTreeMap<String, Vec<u8>>) -> MemoryStore {
    let store = MemoryStore::new();
    for (id, bytes) in map {
        block_on(store.put(id, bytes)).expect("put");
    }
    store
}

fn s<'a>(f: &'a Value, key: &str) -> &'a str {
    f[key].as_str().expect("string field")
}

#[test]
fn golden_vault_unlocks_and_reads() {
    let f = fixture();
    let store = load(&fixture_store_map(&f));
    let v = block_on(Vault::unlock(&store, s(&f, "passphrase"))).expect("unlock golden vault");
    assert_eq!(v.account_id().to_string(), s(&f, "account_id"));
    assert_eq!(
        v.record_storage_id(s(&f, "record_name")),
        s(&f, "record_id")
    );
    let rec = block_on(v.get_record(&store, s(&f, "record_name")))
        .expect("get")
        .expect("present");
    assert_eq!(rec.as_slice(), s(&f, "record_plaintext_utf8").as_bytes());
    let seed = Seed::from_entropy(&hex::decode(s(&f, "seed16")).expect("hex")).expect("16");
    assert_eq!(
        v.recovery_phrase().as_str(),
        seed.recovery_phrase().as_str()
    );
}

#[test]
fn golden_vault_is_reproduced_byte_for_byte() {
    let f = fixture();
    let mut rng = ChaCha20Rng::seed_from_u64(f["rng_seed"].as_u64().expect("u64"));
    let store = MemoryStore::new();
    let seed = Seed::from_entropy(&hex::decode(s(&f, "seed16")).expect("hex")).expect("16");
    let v = block_on(Vault::create_insecure_for_tests(
        &store,
        s(&f, "passphrase"),
        &seed,
        &mut rng,
    ))
    .expect("create");
    block_on(v.put_record(
        &store,
        s(&f, "record_name"),
        s(&f, "record_plaintext_utf8").as_bytes(),
        &mut rng,
    ))
    .expect("put");
    let mut actual = BTreeMap::new();
    for id in block_on(store.ids()).expect("ids") {
        let bytes = block_on(store.get(&id)).expect("get").expect("value");
        actual.insert(id, bytes);
    }
    assert_eq!(actual, fixture_store_map(&f));
}

#[test]
fn golden_vault_bad_variants_fail() {
    let f = fixture();
    let map = fixture_store_map(&f);
    let store = load(&map);
    assert_eq!(
        block_on(Vault::unlock(&store, "umbra test passphrasE")).map(|_| ()),
        Err(UnlockError::WrongPassphrase)
    );
    // Header edited (iterations 1 -> 2) without a matching check: corrupted.
    let header = String::from_utf8(map[HEADER_ID].clone()).expect("utf8");
    let edited = header.replace("\"iterations\":1", "\"iterations\":2");
    assert_ne!(edited, header);
    block_on(store.put(HEADER_ID, edited.as_bytes())).expect("put");
    assert_eq!(
        block_on(Vault::unlock(&store, s(&f, "passphrase"))).map(|_| ()),
        Err(UnlockError::Corrupted)
    );
    block_on(store.put(HEADER_ID, &map[HEADER_ID])).expect("restore");
    // Sealed seed flipped: corrupted, not wrong passphrase.
    let mut seed = map[SEED_ID].clone();
    seed[5] ^= 0x10;
    block_on(store.put(SEED_ID, &seed)).expect("put");
    assert_eq!(
        block_on(Vault::unlock(&store, s(&f, "passphrase"))).map(|_| ()),
        Err(UnlockError::Corrupted)
    );
    block_on(store.put(SEED_ID, &map[SEED_ID])).expect("restore");
    // Record flipped: decrypt failure.
    let v = block_on(Vault::unlock(&store, s(&f, "passphrase"))).expect("unlock");
    let id = s(&f, "record_id");
    let mut rec = map[id].clone();
    rec[30] ^= 1;
    block_on(store.put(id, &rec)).expect("put");
    assert_eq!(
        block_on(v.get_record(&store, s(&f, "record_name"))).map(|_| ()),
        Err(StoreError::DecryptFailed)
    );
}
