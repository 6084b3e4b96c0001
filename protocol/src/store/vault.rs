//! The vault: an account seed and encrypted records in any [`Store`], locked by a passphrase.
//!
//! Creating derives the key-encryption key once, writes the sealed seed and then the header.
//! Unlocking reads the header, derives once, unwraps the store key and opens the seed; it never
//! writes, so a wrong passphrase leaves every stored byte unchanged. Dropping the
//! [`UnlockedVault`] locks it: the store key, seed and identity are zeroized.

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::kdf::WrapError;
use super::{BatchOp, KdfParams, Store, StoreError, StoreKey, WrappedStoreKey};
use crate::error::ErrorKind;
use crate::identity::{AccountId, Identity, Seed};
use crate::mnemonic::RecoveryPhrase;

/// Prefix of every id the vault writes.
pub const VAULT_ID_PREFIX: &str = "vault/";
/// Id of the plaintext header (the wrapped store key).
pub const HEADER_ID: &str = "vault/header";
/// Id of the sealed seed.
pub const SEED_ID: &str = "vault/seed";
/// Prefix of record ids (followed by 64 hex characters of keyed hash).
pub const RECORD_ID_PREFIX: &str = "vault/r/";

/// Why a JSON record could not be read or written ([`UnlockedVault::get_json`],
/// [`UnlockedVault::seal_json_op`]). Each database maps it into its own error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The store failed, or the record did not decrypt.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The record decrypted but is not the JSON expected.
    #[error("record is corrupted")]
    Corrupted,
    /// The value could not be serialized (a bug).
    #[error("record could not be encoded")]
    Encode,
}

/// Why a vault could not be unlocked. Carries no passphrase or key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnlockError {
    /// There is no vault in this store.
    #[error("no vault in this store")]
    NoVault,
    /// The passphrase does not open the vault. Nothing was written.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The header or the sealed seed is damaged (not a wrong passphrase).
    #[error("vault is corrupted")]
    Corrupted,
    /// The header was written by a newer format.
    #[error("vault format version {found} is not supported")]
    UnsupportedVersion {
        /// The format version found.
        found: u8,
    },
    /// The storage backend failed.
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
}

impl UnlockError {
    /// Coarse classification of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            UnlockError::NoVault | UnlockError::WrongPassphrase => ErrorKind::BadApiUsage,
            UnlockError::Corrupted | UnlockError::UnsupportedVersion { .. } => ErrorKind::Storage,
            UnlockError::Store(e) => e.kind(),
        }
    }
}

/// Why creating a vault or changing its passphrase failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// A vault already exists in this store; remove it first.
    #[error("a vault already exists in this store")]
    AlreadyExists,
    /// The KDF parameters are below [`KdfParams::FLOOR`] or above [`KdfParams::MAX`].
    #[error("key derivation parameters are below the minimum")]
    KdfParamsTooWeak,
    /// Argon2 refused the parameters.
    #[error("invalid key derivation parameters")]
    InvalidKdfParams,
    /// Wrapping the store key failed (a bug).
    #[error("store key could not be wrapped")]
    WrapFailed,
    /// The storage backend failed.
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
}

impl VaultError {
    /// Coarse classification of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            VaultError::AlreadyExists
            | VaultError::KdfParamsTooWeak
            | VaultError::InvalidKdfParams => ErrorKind::BadApiUsage,
            VaultError::WrapFailed => ErrorKind::Bug,
            VaultError::Store(e) => e.kind(),
        }
    }
}

fn wrap_error(e: WrapError) -> VaultError {
    match e {
        WrapError::InvalidParams => VaultError::InvalidKdfParams,
        _ => VaultError::WrapFailed,
    }
}

/// Entry points for a vault kept in a [`Store`]. Stateless; see [`UnlockedVault`].
#[derive(Debug)]
pub struct Vault;

impl Vault {
    /// True if the store holds a vault header.
    pub async fn exists<S: Store>(store: &S) -> Result<bool, StoreError> {
        Ok(store.get(HEADER_ID).await?.is_some())
    }

    /// Creates a vault holding `seed`, locked by `passphrase` with `params` (which must meet
    /// [`KdfParams::FLOOR`]), and returns it unlocked. Fails if a vault exists.
    pub async fn create<S: Store, R: CryptoRng + ?Sized>(
        store: &S,
        passphrase: &str,
        seed: &Seed,
        params: KdfParams,
        rng: &mut R,
    ) -> Result<UnlockedVault, VaultError> {
        if !params.meets_floor() {
            return Err(VaultError::KdfParamsTooWeak);
        }
        Self::create_unchecked(store, passphrase, seed, params, rng).await
    }

    /// Like [`Vault::create`] but with [`KdfParams::INSECURE_FOR_TESTS`]: fast and weak.
    /// For tests only.
    pub async fn create_insecure_for_tests<S: Store, R: CryptoRng + ?Sized>(
        store: &S,
        passphrase: &str,
        seed: &Seed,
        rng: &mut R,
    ) -> Result<UnlockedVault, VaultError> {
        Self::create_unchecked(store, passphrase, seed, KdfParams::INSECURE_FOR_TESTS, rng).await
    }

    async fn create_unchecked<S: Store, R: CryptoRng + ?Sized>(
        store: &S,
        passphrase: &str,
        seed: &Seed,
        params: KdfParams,
        rng: &mut R,
    ) -> Result<UnlockedVault, VaultError> {
        if Self::exists(store).await? {
            return Err(VaultError::AlreadyExists);
        }
        let store_key = StoreKey::generate(rng);
        let wrapped =
            WrappedStoreKey::wrap(&store_key, passphrase, params, rng).map_err(wrap_error)?;
        let sealed_seed = store_key.seal(SEED_ID, seed.dangerously_export_bytes(), rng)?;
        // Seed first, header last: the header's presence is what makes the vault exist.
        store.put(SEED_ID, &sealed_seed).await?;
        store.put(HEADER_ID, &wrapped.to_bytes()).await?;
        let own_seed = Seed::from_entropy(seed.dangerously_export_bytes())
            .map_err(|_| VaultError::WrapFailed)?;
        Ok(UnlockedVault::new(store_key, own_seed, params))
    }

    /// Unlocks the vault with `passphrase`. Runs the KDF once and never writes.
    pub async fn unlock<S: Store>(
        store: &S,
        passphrase: &str,
    ) -> Result<UnlockedVault, UnlockError> {
        let header = store.get(HEADER_ID).await?.ok_or(UnlockError::NoVault)?;
        let wrapped = WrappedStoreKey::parse(&header).map_err(|e| match e {
            WrapError::UnsupportedVersion(found) => UnlockError::UnsupportedVersion { found },
            _ => UnlockError::Corrupted,
        })?;
        let store_key = wrapped.unwrap_key(passphrase).map_err(|e| match e {
            WrapError::WrongPassphrase => UnlockError::WrongPassphrase,
            _ => UnlockError::Corrupted,
        })?;
        let sealed_seed = store.get(SEED_ID).await?.ok_or(UnlockError::Corrupted)?;
        let seed_bytes = store_key
            .open(SEED_ID, &sealed_seed)
            .map_err(|_| UnlockError::Corrupted)?;
        let seed = Seed::from_entropy(&seed_bytes).map_err(|_| UnlockError::Corrupted)?;
        Ok(UnlockedVault::new(store_key, seed, wrapped.kdf_params()))
    }

    /// Deletes the vault: the header first (so it no longer exists), then the seed and every
    /// record. Ids outside the vault's prefix are left alone.
    pub async fn remove<S: Store>(store: &S) -> Result<(), StoreError> {
        store.delete(HEADER_ID).await?;
        store.delete(SEED_ID).await?;
        for id in store.ids().await? {
            if id.starts_with(VAULT_ID_PREFIX) {
                store.delete(&id).await?;
            }
        }
        Ok(())
    }
}

/// An unlocked vault: the account identity, its seed and the store key. Dropping it locks the
/// vault (every secret is zeroized). Never printed, cloned or serialized.
pub struct UnlockedVault {
    identity: Identity,
    seed: Seed,
    store_key: StoreKey,
    kdf: KdfParams,
    /// Set once the message database found its records at the current schema (upgrading
    /// them if needed) since this unlock, so the check runs once per unlock.
    msgdb_schema_current: AtomicBool,
}

impl fmt::Debug for UnlockedVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UnlockedVault(<redacted>)")
    }
}

impl UnlockedVault {
    fn new(store_key: StoreKey, seed: Seed, kdf: KdfParams) -> UnlockedVault {
        UnlockedVault {
            identity: Identity::from_seed(&seed),
            seed,
            store_key,
            kdf,
            msgdb_schema_current: AtomicBool::new(false),
        }
    }

    /// True once [`MessageDb`](super::MessageDb) has seen the current schema since unlock.
    pub(crate) fn msgdb_schema_current(&self) -> bool {
        self.msgdb_schema_current.load(Ordering::Acquire)
    }

    /// Records that the message database's records are at the current schema.
    pub(crate) fn set_msgdb_schema_current(&self) {
        self.msgdb_schema_current.store(true, Ordering::Release);
    }

    /// The account's keys.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The account's Account ID.
    pub fn account_id(&self) -> AccountId {
        self.identity.account_id()
    }

    /// The store key (for other record layouts built on the same cipher).
    pub fn store_key(&self) -> &StoreKey {
        &self.store_key
    }

    /// The recovery phrase, derived from the seed now (it is never stored).
    pub fn recovery_phrase(&self) -> RecoveryPhrase {
        self.seed.recovery_phrase()
    }

    /// The KDF parameters currently protecting the store key.
    pub fn kdf_params(&self) -> KdfParams {
        self.kdf
    }

    /// True if the store key is wrapped with parameters weaker than [`KdfParams::DEFAULT`];
    /// the caller should then re-wrap it with [`UnlockedVault::change_passphrase`] (same
    /// passphrase, default parameters).
    pub fn kdf_upgrade_recommended(&self) -> bool {
        self.kdf.weaker_than_default()
    }

    /// The storage id of the record named `name` (a keyed hash; the name is not stored).
    pub fn record_storage_id(&self, name: &str) -> String {
        let mut id = String::with_capacity(RECORD_ID_PREFIX.len() + 64);
        id.push_str(RECORD_ID_PREFIX);
        id.push_str(&self.store_key.hashed_id(name));
        id
    }

    /// Seals `plaintext` and stores it as the record `name`, replacing any previous value.
    pub async fn put_record<S: Store, R: CryptoRng + ?Sized>(
        &self,
        store: &S,
        name: &str,
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<(), StoreError> {
        let id = self.record_storage_id(name);
        let sealed = self.store_key.seal(&id, plaintext, rng)?;
        store.put(&id, &sealed).await
    }

    /// Reads and opens the record `name`; `None` if absent. A tampered or swapped record is
    /// an error.
    pub async fn get_record<S: Store>(
        &self,
        store: &S,
        name: &str,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let id = self.record_storage_id(name);
        match store.get(&id).await? {
            None => Ok(None),
            Some(bytes) => self.store_key.open(&id, &bytes).map(Some),
        }
    }

    /// Deletes the record `name` (absent is not an error).
    pub async fn delete_record<S: Store>(&self, store: &S, name: &str) -> Result<(), StoreError> {
        store.delete(&self.record_storage_id(name)).await
    }

    /// Reads, opens and parses the JSON record `name`; `None` if absent. The one reader of
    /// the keyed records of [`MessageDb`](super::MessageDb) and
    /// [`ClientStateDb`](super::ClientStateDb).
    pub async fn get_json<S: Store, T: serde::de::DeserializeOwned>(
        &self,
        store: &S,
        name: &str,
    ) -> Result<Option<T>, RecordError> {
        match self.get_record(store, name).await? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| RecordError::Corrupted),
        }
    }

    /// Serializes `value` as JSON and seals it as the record `name`, for a [`BatchOp`]
    /// written with others in one transaction.
    pub fn seal_json_op<T: serde::Serialize, R: CryptoRng + ?Sized>(
        &self,
        name: &str,
        value: &T,
        rng: &mut R,
    ) -> Result<BatchOp, RecordError> {
        let plain = Zeroizing::new(serde_json::to_vec(value).map_err(|_| RecordError::Encode)?);
        let id = self.record_storage_id(name);
        let bytes = self.store_key.seal(&id, &plain, rng)?;
        Ok(BatchOp::Put { id, bytes })
    }

    /// Seals `plaintext` as the record `name`, for a [`BatchOp`] written with others in one
    /// transaction.
    pub fn seal_op<R: CryptoRng + ?Sized>(
        &self,
        name: &str,
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<BatchOp, StoreError> {
        let id = self.record_storage_id(name);
        let bytes = self.store_key.seal(&id, plaintext, rng)?;
        Ok(BatchOp::Put { id, bytes })
    }

    /// The deletion of the record `name`, for a [`BatchOp`] batch.
    pub fn delete_op(&self, name: &str) -> BatchOp {
        BatchOp::Delete {
            id: self.record_storage_id(name),
        }
    }

    /// Re-wraps the store key under `new_passphrase` with `params` (must meet
    /// [`KdfParams::FLOOR`]). Writes only the header; records and the sealed seed are
    /// untouched, and the single header write makes the change atomic.
    pub async fn change_passphrase<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        store: &S,
        new_passphrase: &str,
        params: KdfParams,
        rng: &mut R,
    ) -> Result<(), VaultError> {
        if !params.meets_floor() {
            return Err(VaultError::KdfParamsTooWeak);
        }
        self.rewrap(store, new_passphrase, params, rng).await
    }

    /// Like [`UnlockedVault::change_passphrase`] with [`KdfParams::INSECURE_FOR_TESTS`].
    /// For tests only.
    pub async fn change_passphrase_insecure_for_tests<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        store: &S,
        new_passphrase: &str,
        rng: &mut R,
    ) -> Result<(), VaultError> {
        self.rewrap(store, new_passphrase, KdfParams::INSECURE_FOR_TESTS, rng)
            .await
    }

    async fn rewrap<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        store: &S,
        new_passphrase: &str,
        params: KdfParams,
        rng: &mut R,
    ) -> Result<(), VaultError> {
        let wrapped = WrappedStoreKey::wrap(&self.store_key, new_passphrase, params, rng)
            .map_err(wrap_error)?;
        store.put(HEADER_ID, &wrapped.to_bytes()).await?;
        self.kdf = params;
        Ok(())
    }
}
