//! The passphrase-locked key store: a sans-IO record cipher ([`StoreKey`]), the Argon2id-wrapped
//! store key ([`WrappedStoreKey`]), a storage trait ([`Store`]) with an in-memory backend
//! ([`MemoryStore`]), and the async [`Vault`] that ties them together over any backend.
//!
//! Layout inside a [`Store`] (all ids start with `vault/`):
//! - `vault/header`: the plaintext JSON [`WrappedStoreKey`] (format version, KDF parameters,
//!   salt, nonce, wrapped store key, integrity check). Its presence means "a vault exists".
//! - `vault/seed`: the account seed sealed under the store key. The recovery phrase is never
//!   stored; it is derived from the seed on demand.
//! - `vault/r/<64 hex>`: application records, sealed under the store key; the id is a keyed
//!   hash of the caller's record name, so names (e.g. contact ids) are not readable at rest.
//!   The message database ([`MessageDb`], module [`messages`]) keeps all its records there;
//!   [`migrations`] upgrades them from older schema versions.
//!
//! Every record is `version(1) ‖ nonce(24) ‖ XChaCha20-Poly1305(ciphertext ‖ tag)` with the
//! version and the storage id as associated data, so tampered and swapped records fail.

mod cipher;
pub mod client_state;
mod kdf;
mod memory;
pub mod messages;
pub mod migrations;
mod staged;
#[cfg(feature = "testing")]
pub mod testing;
mod vault;

use crate::error::ErrorKind;

pub use cipher::{RECORD_FORMAT_VERSION, StoreKey};
pub use kdf::{KdfParams, WRAP_FORMAT_VERSION, WrappedStoreKey};
pub use memory::MemoryStore;
pub use messages::{MessageDb, MessageDbError};
pub use staged::StagedStore;
pub use vault::{
    HEADER_ID, RECORD_ID_PREFIX, RecordError, SEED_ID, UnlockError, UnlockedVault, VAULT_ID_PREFIX,
    Vault, VaultError,
};

/// Why a storage operation or a record decryption failed. Carries no record bytes or ids.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The storage backend failed (IndexedDB error, poisoned lock, …).
    #[error("storage backend failed during {operation}")]
    Backend {
        /// The operation that failed (`"get"`, `"put"`, …).
        operation: &'static str,
    },
    /// The storage backend is out of space.
    #[error("storage quota exceeded")]
    QuotaExceeded,
    /// A sealed record is too short to hold a version, nonce and tag.
    #[error("sealed record is malformed")]
    Malformed,
    /// A sealed record has a format version this code does not know.
    #[error("sealed record has unsupported format version {found}")]
    UnsupportedVersion {
        /// The version byte found.
        found: u8,
    },
    /// A sealed record failed authentication: tampered, moved to another id, or sealed under
    /// another key. Deliberately not more specific.
    #[error("sealed record failed to decrypt")]
    DecryptFailed,
    /// Sealing failed (only possible for absurdly large records).
    #[error("record could not be sealed")]
    SealFailed,
}

impl StoreError {
    /// Coarse classification of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::SealFailed => ErrorKind::Bug,
            _ => ErrorKind::Storage,
        }
    }
}

/// A key-value byte store: the one thing a backend (memory, IndexedDB, native files) provides.
///
/// Ids are short ASCII strings chosen by the caller; values are opaque bytes (the [`Vault`]
/// only ever hands a backend ciphertext and its plaintext header). Futures need not be `Send`
/// (IndexedDB futures are not).
#[allow(async_fn_in_trait)] // no Send bound wanted: backends on wasm are single-threaded
pub trait Store {
    /// The bytes stored under `id`, or `None` if there are none.
    async fn get(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores `bytes` under `id`, replacing what was there. Atomic per id.
    async fn put(&self, id: &str, bytes: &[u8]) -> Result<(), StoreError>;
    /// Removes `id`; removing an absent id is not an error.
    async fn delete(&self, id: &str) -> Result<(), StoreError>;
    /// Removes every id.
    async fn clear(&self) -> Result<(), StoreError>;
    /// Every id currently stored, in no particular order.
    async fn ids(&self) -> Result<Vec<String>, StoreError>;

    /// Applies `ops` in order (a later op on the same id wins). Backends should apply the
    /// whole batch atomically (IndexedDB: one read-write transaction; [`MemoryStore`]: one
    /// lock) so a crash never leaves half of it. The default applies the ops one by one, which
    /// is correct but not atomic; the message database orders its batches so that even then a
    /// crash leaves a consistent state (see [`messages`]).
    async fn write_batch(&self, ops: &[BatchOp]) -> Result<(), StoreError> {
        for op in ops {
            match op {
                BatchOp::Put { id, bytes } => self.put(id, bytes).await?,
                BatchOp::Delete { id } => self.delete(id).await?,
            }
        }
        Ok(())
    }
}

/// A shared reference to a store is a store (so wrappers such as [`StagedStore`] can borrow
/// their backend).
impl<T: Store + ?Sized> Store for &T {
    async fn get(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(id).await
    }
    async fn put(&self, id: &str, bytes: &[u8]) -> Result<(), StoreError> {
        (**self).put(id, bytes).await
    }
    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        (**self).delete(id).await
    }
    async fn clear(&self) -> Result<(), StoreError> {
        (**self).clear().await
    }
    async fn ids(&self) -> Result<Vec<String>, StoreError> {
        (**self).ids().await
    }
    async fn write_batch(&self, ops: &[BatchOp]) -> Result<(), StoreError> {
        (**self).write_batch(ops).await
    }
}

/// One write of a [`Store::write_batch`].
#[derive(Clone, PartialEq, Eq)]
pub enum BatchOp {
    /// Store `bytes` under `id`.
    Put {
        /// The id.
        id: String,
        /// The value.
        bytes: Vec<u8>,
    },
    /// Remove `id` (absent is not an error).
    Delete {
        /// The id.
        id: String,
    },
}

impl core::fmt::Debug for BatchOp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Values are not printed (they may be a plaintext header or large).
        match self {
            BatchOp::Put { id, bytes } => write!(f, "Put({id}, {} bytes)", bytes.len()),
            BatchOp::Delete { id } => write!(f, "Delete({id})"),
        }
    }
}
