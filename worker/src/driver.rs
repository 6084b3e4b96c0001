//! The worker's driver: owns the pending seed, the unlocked vault and the IndexedDB store, and
//! turns each [`Command`] from the app into [`Event`]s. All key material lives here; only
//! display data (Account ID, and recovery-phrase words when the user asks to see them) leaves.

use rand_core::CryptoRng;
use umbra_ipc::{AccountState, Command, ErrorCode, Event, Task};
use umbra_protocol::{
    identity::{Identity, Seed},
    mnemonic::{self, MnemonicError},
    store::{KdfParams, StoreError, UnlockError, UnlockedVault, Vault, VaultError},
};

use crate::store::IndexedDbStore;

/// The account logic of the worker, independent of `postMessage` (so tests can drive it).
///
/// Handle one command at a time with [`Driver::handle`]; it never panics on app input.
pub struct Driver<R: CryptoRng> {
    db_name: String,
    store: Option<IndexedDbStore>,
    /// A generated or restored seed waiting for its passphrase. Never stored as is.
    pending: Option<Seed>,
    unlocked: Option<UnlockedVault>,
    kdf: KdfParams,
    rng: R,
}

impl<R: CryptoRng> core::fmt::Debug for Driver<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Driver")
            .field("db_name", &self.db_name)
            .field("pending", &self.pending.is_some())
            .field("unlocked", &self.unlocked.is_some())
            .finish_non_exhaustive()
    }
}

impl<R: CryptoRng> Driver<R> {
    /// A driver over the IndexedDB database `db_name`, creating vaults with `kdf` (which must
    /// meet the protocol's floor) and drawing randomness from `rng`.
    pub fn new(db_name: &str, kdf: KdfParams, rng: R) -> Self {
        Driver {
            db_name: db_name.to_owned(),
            store: None,
            pending: None,
            unlocked: None,
            kdf,
            rng,
        }
    }

    /// The opened store, opening it on first use.
    pub async fn store(&mut self) -> Result<&IndexedDbStore, StoreError> {
        if self.store.is_none() {
            self.store = Some(IndexedDbStore::open(&self.db_name).await?);
        }
        self.store
            .as_ref()
            .ok_or(StoreError::Backend { operation: "open" })
    }

    /// Handles one command, calling `post` for each event (a [`Event::Working`] is posted
    /// before every long key derivation so the app can show progress).
    pub async fn handle(&mut self, cmd: Command, post: &dyn Fn(&Event)) {
        match self.dispatch(cmd, post).await {
            Ok(event) => post(&event),
            Err(code) => post(&Event::Error { code }),
        }
    }

    async fn dispatch(&mut self, cmd: Command, post: &dyn Fn(&Event)) -> Result<Event, ErrorCode> {
        match cmd {
            Command::Status => self.status().await,
            Command::CreateAccount => {
                self.ensure_no_account().await?;
                let seed = Seed::generate(&mut self.rng);
                let event = Event::AccountCreated {
                    account_id: Identity::from_seed(&seed).account_id().to_string(),
                    words: seed.recovery_phrase().words().map(str::to_owned).collect(),
                };
                self.pending = Some(seed);
                Ok(event)
            }
            Command::RestoreAccount { phrase } => {
                self.ensure_no_account().await?;
                let seed = mnemonic::decode(&phrase).map_err(phrase_error)?;
                let account_id = Identity::from_seed(&seed).account_id().to_string();
                self.pending = Some(seed);
                Ok(Event::PhraseAccepted { account_id })
            }
            Command::CancelPending => {
                self.pending = None;
                self.status().await
            }
            Command::SetPassphrase { passphrase } => {
                if passphrase.is_empty() {
                    return Err(ErrorCode::EmptyPassphrase);
                }
                let seed = self.pending.take().ok_or(ErrorCode::NothingPending)?;
                post(&Event::Working {
                    task: Task::CreatingVault,
                });
                if let Err(e) = self.store().await {
                    self.pending = Some(seed);
                    return Err(store_error(e));
                }
                let Some(store) = self.store.as_ref() else {
                    self.pending = Some(seed);
                    return Err(ErrorCode::Storage);
                };
                let result =
                    Vault::create(store, &passphrase, &seed, self.kdf, &mut self.rng).await;
                match result {
                    Ok(vault) => {
                        let account_id = vault.account_id().to_string();
                        self.unlocked = Some(vault);
                        Ok(Event::Unlocked { account_id })
                    }
                    Err(e) => {
                        // Keep the seed so the user can retry with the same words.
                        self.pending = Some(seed);
                        Err(vault_error(&e))
                    }
                }
            }
            Command::Unlock { passphrase } => {
                if let Some(vault) = &self.unlocked {
                    return Ok(Event::Unlocked {
                        account_id: vault.account_id().to_string(),
                    });
                }
                let store = self.store().await.map_err(store_error)?;
                if !Vault::exists(store).await.map_err(store_error)? {
                    return Err(ErrorCode::NoAccount);
                }
                post(&Event::Working {
                    task: Task::Unlocking,
                });
                let store = self.store().await.map_err(store_error)?;
                let vault = Vault::unlock(store, &passphrase)
                    .await
                    .map_err(|e| unlock_error(&e))?;
                let account_id = vault.account_id().to_string();
                self.unlocked = Some(vault);
                Ok(Event::Unlocked { account_id })
            }
            Command::Lock => {
                self.unlocked = None;
                self.pending = None;
                self.status().await
            }
            Command::RemoveAccount => {
                self.unlocked = None;
                self.pending = None;
                let store = self.store().await.map_err(store_error)?;
                Vault::remove(store).await.map_err(store_error)?;
                if let Some(store) = self.store.take() {
                    store.delete_database().await.map_err(store_error)?;
                }
                self.status().await
            }
            Command::ShowRecoveryPhrase => {
                let vault = self.unlocked.as_ref().ok_or(ErrorCode::NotUnlocked)?;
                Ok(Event::RecoveryPhrase {
                    words: vault.recovery_phrase().words().map(str::to_owned).collect(),
                })
            }
        }
    }

    async fn status(&mut self) -> Result<Event, ErrorCode> {
        let state = if let Some(vault) = &self.unlocked {
            AccountState::Unlocked {
                account_id: vault.account_id().to_string(),
            }
        } else {
            let store = self.store().await.map_err(store_error)?;
            if Vault::exists(store).await.map_err(store_error)? {
                AccountState::Locked
            } else {
                AccountState::NoAccount
            }
        };
        Ok(Event::Status { state })
    }

    async fn ensure_no_account(&mut self) -> Result<(), ErrorCode> {
        let store = self.store().await.map_err(store_error)?;
        if Vault::exists(store).await.map_err(store_error)? {
            return Err(ErrorCode::AccountExists);
        }
        Ok(())
    }
}

fn phrase_error(e: MnemonicError) -> ErrorCode {
    match e {
        MnemonicError::WrongWordCount { found } => ErrorCode::PhraseWrongWordCount { found },
        MnemonicError::UnknownWord { position } => ErrorCode::PhraseUnknownWord { position },
        MnemonicError::ChecksumMismatch => ErrorCode::PhraseChecksumMismatch,
        MnemonicError::InvalidEncoding { position } => ErrorCode::PhraseInvalidWords { position },
        MnemonicError::WrongEntropyLength { .. } => ErrorCode::Internal,
    }
}

fn store_error(e: StoreError) -> ErrorCode {
    match e {
        StoreError::QuotaExceeded => ErrorCode::StorageFull,
        StoreError::Backend { .. } => ErrorCode::Storage,
        StoreError::SealFailed => ErrorCode::Internal,
        StoreError::Malformed
        | StoreError::UnsupportedVersion { .. }
        | StoreError::DecryptFailed => ErrorCode::Corrupted,
    }
}

fn unlock_error(e: &UnlockError) -> ErrorCode {
    match e {
        UnlockError::NoVault => ErrorCode::NoAccount,
        UnlockError::WrongPassphrase => ErrorCode::WrongPassphrase,
        UnlockError::Corrupted => ErrorCode::Corrupted,
        UnlockError::UnsupportedVersion { .. } => ErrorCode::UnsupportedVersion,
        UnlockError::Store(s) => store_error(s.clone()),
    }
}

fn vault_error(e: &VaultError) -> ErrorCode {
    match e {
        VaultError::AlreadyExists => ErrorCode::AccountExists,
        VaultError::KdfParamsTooWeak | VaultError::InvalidKdfParams | VaultError::WrapFailed => {
            ErrorCode::Internal
        }
        VaultError::Store(s) => store_error(s.clone()),
    }
}
