//! The worker's driver: owns the pending seed, the unlocked vault, the IndexedDB store and the
//! running [`Messenger`], and turns each [`Input`] (a [`Command`] from the app, an HTTP answer,
//! a timer) into [`Event`]s. All key material lives here; only display data (Account ID,
//! messages, and recovery-phrase words when the user asks to see them) leaves.
//!
//! Passphrases and phrases arrive as [`SecretString`]s (zeroised when the command is
//! dropped). A new passphrase must pass [`strength::estimate`]; showing the recovery phrase
//! and removing the account need the passphrase again, checked against the stored vault.

use std::rc::Rc;

use rand_core::CryptoRng;
use umbra_ipc::{
    AccountCommand, AccountState, AppCommand, Command, ConversationOp, ConversationsCommand,
    ErrorCode, Event, NetworkCommand, SecretString, SettingsCommand, Task, Weakness, strength,
};
use umbra_protocol::{
    address::ConversationId,
    identity::{AccountId, Identity, Seed},
    mnemonic::{self, MnemonicError},
    store::{KdfParams, StoreError, UnlockError, UnlockedVault, Vault, VaultError},
};

use crate::{
    mailbox::{Input, Mailbox},
    messaging::{Cx, Messenger},
    net,
    network::NetworkConfig,
    store::{IndexedDbStore, StepStore},
};

/// How long the worker waits for `./config.json`.
const CONFIG_TIMEOUT_MS: u64 = 5_000;

/// The account logic of the worker, independent of `postMessage` (so tests can drive it).
///
/// Handle one command at a time with [`Driver::handle`]; it never panics on app input.
pub struct Driver<R: CryptoRng> {
    db_name: String,
    store: Option<StepStore>,
    /// A generated or restored seed waiting for its passphrase. Never stored as is.
    pending: Option<Seed>,
    unlocked: Option<UnlockedVault>,
    kdf: KdfParams,
    rng: R,
    mailbox: Rc<Mailbox>,
    messenger: Option<Messenger>,
    /// Incremented at every unlock and lock; inputs of older sessions are dropped.
    session: u64,
    /// The network (from `./config.json` on first use unless set).
    network: Option<NetworkConfig>,
    visible: bool,
    /// Take the device clock as network time ([`Driver::assume_device_clock`]).
    assume_device_clock: bool,
}

impl<R: CryptoRng> core::fmt::Debug for Driver<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Driver")
            .field("db_name", &self.db_name)
            .field("pending", &self.pending.is_some())
            .field("unlocked", &self.unlocked.is_some())
            .field("messenger", &self.messenger)
            .finish_non_exhaustive()
    }
}

impl<R: CryptoRng> Driver<R> {
    /// A driver over the IndexedDB database `db_name`, creating vaults with `kdf` (which must
    /// meet the protocol's floor) and drawing randomness from `rng`.
    pub fn new(db_name: &str, kdf: KdfParams, rng: R) -> Self {
        Self::with_mailbox(db_name, kdf, rng, Mailbox::new())
    }

    /// Like [`Driver::new`], with the mailbox the HTTP answers and timers are posted to.
    pub fn with_mailbox(db_name: &str, kdf: KdfParams, rng: R, mailbox: Rc<Mailbox>) -> Self {
        Driver {
            db_name: db_name.to_owned(),
            store: None,
            pending: None,
            unlocked: None,
            kdf,
            rng,
            mailbox,
            messenger: None,
            session: 0,
            network: None,
            visible: true,
            assume_device_clock: false,
        }
    }

    /// The mailbox this driver's HTTP answers and timers arrive in.
    pub fn mailbox(&self) -> Rc<Mailbox> {
        Rc::clone(&self.mailbox)
    }

    /// Uses these seed URLs, directly, instead of reading `./config.json` (tests,
    /// embedding).
    pub fn set_seed_urls(&mut self, urls: Vec<String>) {
        self.network = Some(NetworkConfig::seeds(urls));
    }

    /// Uses this network instead of reading `./config.json` (tests, embedding).
    pub fn set_network(&mut self, network: NetworkConfig) {
        self.network = Some(network);
    }

    /// Takes the device clock as network time in every messenger this driver starts (for
    /// tests without a network: see `Client::assume_device_clock`).
    pub fn assume_device_clock(&mut self) {
        self.assume_device_clock = true;
    }

    /// The running messenger, if the account is unlocked and it started.
    pub fn messenger(&self) -> Option<&Messenger> {
        self.messenger.as_ref()
    }

    /// Handles one input from the mailbox.
    pub async fn handle_input(&mut self, input: Input, post: &dyn Fn(&Event)) {
        match input {
            Input::Command(Some(cmd)) => self.handle(cmd, post).await,
            Input::Command(None) => post(&Event::Error {
                code: ErrorCode::BadMessage,
            }),
            Input::Start { session } => {
                if session == self.session
                    && self.unlocked.is_some()
                    && let Err(code) = self.ensure_messenger(post).await
                {
                    post(&Event::Error { code });
                }
                self.end_step(post).await;
            }
            Input::Http { session, .. } | Input::Timer { session, .. } => {
                let (Some(store), Some(vault), Some(m)) = (
                    self.store.as_ref(),
                    self.unlocked.as_ref(),
                    self.messenger.as_mut(),
                ) else {
                    return;
                };
                if m.session() != session {
                    return;
                }
                let mut cx = Cx {
                    store,
                    vault,
                    rng: &mut self.rng,
                    post,
                };
                match input {
                    Input::Http { id, result, .. } => m.on_http(&mut cx, id, result).await,
                    Input::Timer { generation, .. } => m.on_timer(&mut cx, generation).await,
                    Input::Command(_) | Input::Start { .. } => {}
                }
                self.end_step(post).await;
            }
        }
    }

    /// Starts the messenger of the unlocked account if it is not running.
    async fn ensure_messenger(&mut self, post: &dyn Fn(&Event)) -> Result<(), ErrorCode> {
        if self.messenger.is_some() {
            return Ok(());
        }
        if self.unlocked.is_none() {
            return Err(ErrorCode::NotUnlocked);
        }
        if self.network.is_none() {
            let config = net::load_config(net::CONFIG_URL, CONFIG_TIMEOUT_MS).await;
            // Without a config the client falls back to Session's seeds, directly.
            self.network = Some(config.unwrap_or_default());
        }
        self.store().await.map_err(store_error)?;
        let (Some(store), Some(vault)) = (self.store.as_ref(), self.unlocked.as_ref()) else {
            return Err(ErrorCode::Internal);
        };
        let network = self.network.clone().unwrap_or_default();
        let mut cx = Cx {
            store,
            vault,
            rng: &mut self.rng,
            post,
        };
        let mut m =
            Messenger::start(&mut cx, &network, &self.mailbox, self.session, self.visible).await?;
        if self.assume_device_clock {
            m.assume_device_clock();
        }
        self.messenger = Some(m);
        Ok(())
    }

    /// Stops the messenger and forgets every key.
    fn stop(&mut self) {
        self.messenger = None;
        self.unlocked = None;
        self.pending = None;
        self.session += 1;
    }

    fn started(&mut self) {
        self.messenger = None;
        self.session += 1;
        self.mailbox.push(Input::Start {
            session: self.session,
        });
    }

    /// The opened store, opening it on first use. Writes stay staged until the step ends
    /// ([`Driver::end_step`]).
    pub async fn store(&mut self) -> Result<&StepStore, StoreError> {
        if self.store.is_none() {
            self.store = Some(StepStore::new(IndexedDbStore::open(&self.db_name).await?));
        }
        self.store
            .as_ref()
            .ok_or(StoreError::Backend { operation: "open" })
    }

    /// Handles one command, calling `post` for each event (a [`Event::Working`] is posted
    /// before every long key derivation so the app can show progress). Routes by domain; a
    /// conversation reference is parsed once, here.
    pub async fn handle(&mut self, cmd: Command, post: &dyn Fn(&Event)) {
        self.handle_step(cmd, post).await;
        self.end_step(post).await;
    }

    /// Commits what the step staged (one IndexedDB transaction). On failure the staged
    /// writes are dropped, the messenger reloads its client state from what is durable, and
    /// the error is posted.
    async fn end_step(&mut self, post: &dyn Fn(&Event)) {
        let Some(store) = self.store.as_ref() else {
            return;
        };
        if let Err(e) = store.commit().await {
            store.discard();
            if let (Some(m), Some(vault)) = (self.messenger.as_mut(), self.unlocked.as_ref()) {
                m.reload_client_state(store, vault, &mut self.rng).await;
            }
            post(&Event::Error {
                code: store_error(e),
            });
        }
    }

    async fn handle_step(&mut self, cmd: Command, post: &dyn Fn(&Event)) {
        let result = match cmd {
            Command::Account(AccountCommand::SetDisplayName { name }) => {
                match self.running(post).await {
                    Ok((m, mut cx)) => m.set_display_name_synced(&mut cx, &name).await,
                    Err(code) => Err(code),
                }
            }
            Command::Account(AccountCommand::SetAvatar {
                content_type,
                bytes,
            }) => match self.running(post).await {
                Ok((m, mut cx)) => m.set_avatar(&mut cx, &content_type, bytes).await,
                Err(code) => Err(code),
            },
            Command::Account(cmd) => self.account(cmd, post).await.map(|event| post(&event)),
            Command::App(AppCommand::SetForeground { visible }) => {
                self.set_foreground(visible, post).await
            }
            Command::Conversations(cmd) => self.conversations(cmd, post).await,
            Command::Conversation { conversation, op } => {
                self.conversation(&conversation, op, post).await
            }
            Command::Settings(cmd) => match self.running(post).await {
                Ok((m, mut cx)) => match cmd {
                    SettingsCommand::Get => m.post_settings(&mut cx),
                    SettingsCommand::Set { settings } => m.set_settings(&mut cx, settings).await,
                },
                Err(code) => Err(code),
            },
            Command::Call(cmd) => match self.running(post).await {
                Ok((m, mut cx)) => m.call_command(&mut cx, cmd).await,
                Err(code) => Err(code),
            },
            Command::Network(cmd) => match self.running(post).await {
                Ok((m, mut cx)) => match cmd {
                    NetworkCommand::Get => {
                        m.post_network(&mut cx);
                        Ok(())
                    }
                    NetworkCommand::SetBridges { bridges } => {
                        m.set_bridges(&mut cx, &bridges).await
                    }
                },
                Err(code) => Err(code),
            },
        };
        if let Err(code) = result {
            post(&Event::Error { code });
        }
    }

    /// The running messenger and its context: starts it if needed;
    /// [`ErrorCode::NotUnlocked`] while locked.
    async fn running<'s>(
        &'s mut self,
        post: &'s dyn Fn(&Event),
    ) -> Result<(&'s mut Messenger, Cx<'s, R>), ErrorCode> {
        if self.unlocked.is_none() {
            return Err(ErrorCode::NotUnlocked);
        }
        self.ensure_messenger(post).await?;
        let (Some(store), Some(vault), Some(m)) = (
            self.store.as_ref(),
            self.unlocked.as_ref(),
            self.messenger.as_mut(),
        ) else {
            return Err(ErrorCode::Internal);
        };
        let cx = Cx {
            store,
            vault,
            rng: &mut self.rng,
            post,
        };
        Ok((m, cx))
    }

    async fn set_foreground(
        &mut self,
        visible: bool,
        post: &dyn Fn(&Event),
    ) -> Result<(), ErrorCode> {
        self.visible = visible;
        if self.unlocked.is_none() {
            let event = self.status().await?;
            post(&event);
            return Ok(());
        }
        let (m, mut cx) = self.running(post).await?;
        m.set_visible(&mut cx, visible).await
    }

    async fn conversations(
        &mut self,
        cmd: ConversationsCommand,
        post: &dyn Fn(&Event),
    ) -> Result<(), ErrorCode> {
        let (m, mut cx) = self.running(post).await?;
        match cmd {
            ConversationsCommand::List => m.post_conversations(&mut cx).await,
            ConversationsCommand::Close => m.close(&mut cx).await,
            ConversationsCommand::Search { query } => m.search(&mut cx, query, None).await,
            ConversationsCommand::ListBlocked => m.post_blocked(&mut cx).await,
            ConversationsCommand::ResolveName { name } => m.resolve_name(&mut cx, &name).await,
        }
    }

    async fn conversation(
        &mut self,
        conversation: &str,
        op: ConversationOp,
        post: &dyn Fn(&Event),
    ) -> Result<(), ErrorCode> {
        if self.unlocked.is_none() {
            return Err(ErrorCode::NotUnlocked);
        }
        let peer = direct_peer(conversation)?;
        let (m, mut cx) = self.running(post).await?;
        let cx = &mut cx;
        match op {
            ConversationOp::Open => m.open(cx, peer).await,
            ConversationOp::SendText { body, reply_to } => {
                m.send_text(cx, peer, body, reply_to).await
            }
            ConversationOp::React { id, emoji } => m.react(cx, peer, id, emoji).await,
            ConversationOp::DeleteForMe { id } => m.delete_for_me(cx, peer, id).await,
            ConversationOp::Unsend { id } => m.unsend(cx, peer, id).await,
            ConversationOp::SetDisappearing { setting } => {
                m.set_disappearing(cx, peer, setting).await
            }
            ConversationOp::Typing { started } => m.typing(cx, peer, started).await,
            ConversationOp::Search { query } => m.search(cx, query, Some(peer)).await,
            ConversationOp::RetrySend { id } => m.retry(cx, peer, id).await,
            ConversationOp::SetNickname { nickname } => m.set_nickname(cx, peer, &nickname).await,
            ConversationOp::MarkUnread => m.mark_unread(cx, peer).await,
            ConversationOp::SendFile {
                upload,
                name,
                content_type,
                voice,
                caption,
                reply_to,
                bytes,
            } => {
                m.send_file(
                    cx,
                    peer,
                    upload,
                    name,
                    content_type,
                    voice,
                    caption,
                    reply_to,
                    bytes,
                )
                .await
            }
            ConversationOp::CancelUpload { upload } => {
                m.cancel_upload(cx, peer, upload);
                Ok(())
            }
            ConversationOp::DownloadAttachments { id } => {
                m.download_attachments(cx, peer, id).await
            }
            ConversationOp::OpenAttachment { id, index } => {
                m.open_attachment(cx, peer, id, index).await
            }
            ConversationOp::GetAvatar => {
                m.post_avatar(cx, &umbra_protocol::address::ConversationId::Direct(peer))
                    .await
            }
            ConversationOp::AcceptRequest => m.accept(cx, peer).await,
            ConversationOp::Delete => m.delete(cx, peer).await,
            ConversationOp::Block => m.set_blocked(cx, peer, true).await,
            ConversationOp::Unblock => m.set_blocked(cx, peer, false).await,
        }
    }

    async fn account(
        &mut self,
        cmd: AccountCommand,
        post: &dyn Fn(&Event),
    ) -> Result<Event, ErrorCode> {
        match cmd {
            AccountCommand::Status => self.status().await,
            AccountCommand::Create => {
                self.ensure_no_account().await?;
                let seed = Seed::generate(&mut self.rng);
                let event = Event::AccountCreated {
                    account_id: Identity::from_seed(&seed).account_id().to_string(),
                    words: seed.recovery_phrase().words().map(Into::into).collect(),
                };
                self.pending = Some(seed);
                Ok(event)
            }
            AccountCommand::Restore { phrase } => {
                self.ensure_no_account().await?;
                let seed = mnemonic::decode(phrase.expose()).map_err(phrase_error)?;
                let account_id = Identity::from_seed(&seed).account_id().to_string();
                self.pending = Some(seed);
                Ok(Event::PhraseAccepted { account_id })
            }
            AccountCommand::CancelPending => {
                self.pending = None;
                self.status().await
            }
            AccountCommand::SetPassphrase { passphrase } => {
                if passphrase.is_empty() {
                    return Err(ErrorCode::EmptyPassphrase);
                }
                if self.pending.is_none() {
                    return Err(ErrorCode::NothingPending);
                }
                check_strength(&passphrase)?;
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
                    Vault::create(store, passphrase.expose(), &seed, self.kdf, &mut self.rng).await;
                match result {
                    Ok(vault) => {
                        let account_id = vault.account_id().to_string();
                        self.unlocked = Some(vault);
                        self.started();
                        Ok(Event::Unlocked { account_id })
                    }
                    Err(e) => {
                        // Keep the seed so the user can retry with the same words.
                        self.pending = Some(seed);
                        Err(vault_error(&e))
                    }
                }
            }
            AccountCommand::Unlock { passphrase } => {
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
                let vault = Vault::unlock(store, passphrase.expose())
                    .await
                    .map_err(|e| unlock_error(&e))?;
                let account_id = vault.account_id().to_string();
                self.unlocked = Some(vault);
                self.started();
                Ok(Event::Unlocked { account_id })
            }
            AccountCommand::Lock => {
                self.stop();
                self.status().await
            }
            AccountCommand::Remove { passphrase } => {
                let store = self.store().await.map_err(store_error)?;
                // Without a vault there is nothing to protect (a half-written database).
                if Vault::exists(store).await.map_err(store_error)? {
                    self.check_passphrase(&passphrase, post).await?;
                }
                self.stop();
                let store = self.store().await.map_err(store_error)?;
                Vault::remove(store).await.map_err(store_error)?;
                if let Some(store) = self.store.take() {
                    // Nothing staged survives: the database goes whole.
                    store
                        .into_inner()
                        .delete_database()
                        .await
                        .map_err(store_error)?;
                }
                self.status().await
            }
            AccountCommand::ShowRecoveryPhrase { passphrase } => {
                if self.unlocked.is_none() {
                    return Err(ErrorCode::NotUnlocked);
                }
                self.check_passphrase(&passphrase, post).await?;
                let vault = self.unlocked.as_ref().ok_or(ErrorCode::NotUnlocked)?;
                Ok(Event::RecoveryPhrase {
                    words: vault.recovery_phrase().words().map(Into::into).collect(),
                })
            }
            // Needs the messenger: routed by `handle`.
            AccountCommand::SetDisplayName { .. } | AccountCommand::SetAvatar { .. } => {
                Err(ErrorCode::Internal)
            }
        }
    }

    /// Checks a passphrase typed again against the stored vault (one key derivation, nothing
    /// written): [`ErrorCode::WrongPassphrase`] if it does not open it.
    async fn check_passphrase(
        &mut self,
        passphrase: &SecretString,
        post: &dyn Fn(&Event),
    ) -> Result<(), ErrorCode> {
        post(&Event::Working {
            task: Task::CheckingPassphrase,
        });
        let store = self.store().await.map_err(store_error)?;
        // The opened copy is dropped (and zeroised) at once.
        Vault::unlock(store, passphrase.expose())
            .await
            .map(drop)
            .map_err(|e| unlock_error(&e))
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

/// The peer of a one-to-one conversation reference: [`ErrorCode::InvalidConversationId`] if it
/// is not a conversation id, [`ErrorCode::UnsupportedConversation`] for a group or community
/// (not supported yet).
pub fn direct_peer(conversation: &str) -> Result<AccountId, ErrorCode> {
    match conversation.parse::<ConversationId>() {
        Ok(ConversationId::Direct(peer)) => Ok(peer),
        Ok(ConversationId::Group(_) | ConversationId::Community(_)) => {
            Err(ErrorCode::UnsupportedConversation)
        }
        Err(_) => Err(ErrorCode::InvalidConversationId),
    }
}

/// Refuses a passphrase [`strength::estimate`] does not accept, naming its biggest weakness.
pub fn check_strength(passphrase: &SecretString) -> Result<(), ErrorCode> {
    let estimate = strength::estimate(passphrase.expose());
    if estimate.is_acceptable() {
        Ok(())
    } else {
        Err(ErrorCode::WeakPassphrase {
            weakness: estimate.weakness.unwrap_or(Weakness::TooShort),
        })
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

pub(crate) fn store_error(e: StoreError) -> ErrorCode {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_weak_passphrases_are_refused_with_a_typed_error() {
        for (pw, weakness) in [
            ("a", Weakness::TooShort),
            ("hunter2", Weakness::CommonPassword),
            ("P@ssw0rd1", Weakness::CommonPassword),
            ("qwertyuiop[]", Weakness::KeyboardRun),
            ("abababababab", Weakness::Repeat),
        ] {
            assert_eq!(
                check_strength(&pw.into()),
                Err(ErrorCode::WeakPassphrase { weakness }),
                "{pw}"
            );
        }
        for pw in ["correct horse battery staple", "kq7#mzp2w"] {
            assert_eq!(check_strength(&pw.into()), Ok(()), "{pw}");
        }
    }

    #[test]
    fn test_conversation_references_parse_once_into_typed_errors() {
        let peer = format!("05{}", "ab".repeat(32));
        assert_eq!(direct_peer(&peer).map(|p| p.to_string()), Ok(peer.clone()));
        // Well-formed, but not a one-to-one conversation: typed, never a panic.
        for unsupported in [
            format!("03{}", "cd".repeat(32)),
            "https://open.getsession.org/session".to_owned(),
        ] {
            assert_eq!(
                direct_peer(&unsupported),
                Err(ErrorCode::UnsupportedConversation),
                "{unsupported}"
            );
        }
        for bad in [
            String::new(),
            "05".to_owned(),
            peer[..65].to_owned(),
            format!("{peer}0"),
            format!("15{}", "ab".repeat(32)),
            format!("05{}", "zz".repeat(32)),
            "https://host/".to_owned(),
            "ftp://host/room".to_owned(),
        ] {
            assert_eq!(
                direct_peer(&bad),
                Err(ErrorCode::InvalidConversationId),
                "{bad}"
            );
        }
    }
}
