//! Fuzz target: what the vault reads back from storage must never panic: the wrapped store
//! key header (`WrappedStoreKey` JSON, parsed by `Vault::unlock`), the sealed seed, and any
//! sealed record (`StoreKey::open`).
//!
//! One vault (test KDF parameters) is created once. The first input byte picks a mode: the
//! bytes replace the header, or the sealed seed, before an unlock; or they are opened as a
//! record under a name taken from the input; or they are sealed and must open again only
//! under their own name and unchanged.
#![no_main]

use std::sync::OnceLock;

use futures_executor::block_on;
use libfuzzer_sys::fuzz_target;
use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
use umbra_protocol::{
    identity::{AccountId, Seed},
    store::{
        HEADER_ID, MemoryStore, SEED_ID, Store, StoreKey, UnlockError, Vault, WrappedStoreKey,
    },
};

const PASSPHRASE: &str = "correct horse battery staple";

struct Fixture {
    header: Vec<u8>,
    sealed_seed: Vec<u8>,
    account: AccountId,
    key: StoreKey,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        block_on(async {
            let store = MemoryStore::new();
            let seed = Seed::from_entropy(&[0x33; 32]).expect("32 bytes");
            let mut rng = ChaCha20Rng::seed_from_u64(3);
            let vault = Vault::create_insecure_for_tests(&store, PASSPHRASE, &seed, &mut rng)
                .await
                .expect("vault created");
            Fixture {
                header: store.get(HEADER_ID).await.expect("get").expect("header"),
                sealed_seed: store.get(SEED_ID).await.expect("get").expect("seed"),
                account: vault.account_id(),
                key: StoreKey::generate(&mut rng),
            }
        })
    })
}

/// Unlocks a store holding `header` and `sealed_seed`.
fn unlock(header: &[u8], sealed_seed: &[u8]) -> Result<AccountId, UnlockError> {
    block_on(async {
        let store = MemoryStore::new();
        store.put(HEADER_ID, header).await?;
        store.put(SEED_ID, sealed_seed).await?;
        Vault::unlock(&store, PASSPHRASE)
            .await
            .map(|v| v.account_id())
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            if let Ok(w) = serde_json::from_slice::<WrappedStoreKey>(rest) {
                let again: WrappedStoreKey =
                    serde_json::from_slice(&w.to_bytes()).expect("to_bytes parses");
                assert_eq!(again, w);
            }
            // Only a header equal in meaning to the real one may unlock, to the same account.
            if let Ok(account) = unlock(rest, &f.sealed_seed) {
                assert_eq!(account, f.account);
            }
        }
        1 => {
            if let Ok(account) = unlock(&f.header, rest) {
                assert_eq!(rest, &f.sealed_seed[..], "only the real sealed seed opens");
                assert_eq!(account, f.account);
            }
        }
        2 => {
            let (name, bytes) = rest.split_at(rest.len().min(usize::from(mode >> 2)));
            let id = String::from_utf8_lossy(name);
            assert!(
                f.key.open(&id, bytes).is_err(),
                "random bytes opened as a record"
            );
        }
        _ => {
            let (name, plain) = rest.split_at(rest.len().min(usize::from(mode >> 2)));
            let id = String::from_utf8_lossy(name);
            let mut rng = ChaCha20Rng::seed_from_u64(u64::from(mode));
            let sealed = f.key.seal(&id, plain, &mut rng).expect("seal");
            assert_eq!(f.key.open(&id, &sealed).expect("opens").as_slice(), plain);
            assert!(
                f.key.open(&format!("{id}x"), &sealed).is_err(),
                "opened under another id"
            );
            let mut tampered = sealed.clone();
            let at = usize::from(mode) * 7 % tampered.len();
            tampered[at] ^= 0x01;
            assert!(
                f.key.open(&id, &tampered).is_err(),
                "a tampered record opened"
            );
            assert!(f.key.open(&id, &sealed[..sealed.len() - 1]).is_err());
        }
    }
});
