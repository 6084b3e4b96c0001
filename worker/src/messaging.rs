//! The messaging side of the worker: [`Messenger`] runs the sans-IO
//! [`umbra_protocol::client::Client`] of the unlocked account against the real network and the
//! encrypted message database (`docs/protocol.md` §3–§5, §9; the worker owns the I/O, see
//! ARCHITECTURE.md).
//!
//! It is driven only from the worker's single input loop ([`crate::mailbox`]): every command,
//! HTTP answer and timer expiry is fed to the client, then `client.poll_action()` is drained.
//! Within one drain, received messages are stored first (the database deduplicates, so storing
//! before the client's dedup records is safe), then every `Persist` is applied (outbox states
//! into the [`MessageDb`], the rest into the client snapshot, kept as one sealed vault
//! record), and only then are the `Http` requests started, so state is durable before any
//! request that relies on it. After each input the UI gets the events for what changed and
//! the single `setTimeout` is re-armed for the earlier of `client.next_timeout()` and the next
//! disappearing-message expiry.
//!
//! The conversation features (replies, reactions, unsend, delete for me, disappearing
//! messages, read receipts, typing, settings, search) live in [`features`]; what a received
//! message does (by its classified kind) in [`receive`]; display conversions in [`view`].

mod features;
mod receive;
pub mod view;

use std::{
    collections::BTreeSet,
    rc::{Rc, Weak},
};

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use umbra_ipc::{ConversationKind, ConversationSummary, ErrorCode, Event, PathState, Settings};
use umbra_protocol::{
    address::{ConversationId, LocalMs, NetMs},
    client::HttpResponse,
    client::{
        Action, Client, ClientCommand, ClientConfig, ClientError, ClientEvent, ClientIdentity,
        ControlKind, LocalId, OutboxState as ClientOutboxState, OutgoingHttp, PathStatus,
        PersistChange, PollingMode, RequestId, TransportFailure,
    },
    identity::AccountId,
    message::{
        DisappearingSetting, MessageError, MessageId as WireId, Outgoing, Profile as WireProfile,
        QuoteRef, TextDraft, compose_request_accept, compose_text,
    },
    store::{
        MessageDb, MessageDbError, Store as _, UnlockedVault,
        client_state::{ClientStateDb, ClientStateError},
        messages::{
            ConversationState, Direction, InsertOutcome, Message, MessageKey, NewMessage,
            OutboxState, Quote,
        },
    },
};
use zeroize::Zeroizing;

use crate::{
    driver::store_error,
    mailbox::{Input, Mailbox},
    net,
    store::IndexedDbStore,
    views::PageTracker,
};

pub use view::{message_view, summary};

/// Vault record holding the profile (display name).
pub const PROFILE_RECORD: &str = "worker/v1/profile";
/// Vault record holding the user's [`Settings`] (read receipts, typing, notifications).
pub const SETTINGS_RECORD: &str = "worker/v1/settings";
/// Longest message text accepted, in characters (Session's limit).
pub const MAX_BODY_CHARS: usize = 2000;
/// Longest display name, in bytes.
pub const MAX_NAME_BYTES: usize = 100;
/// Most search results returned at once.
pub const MAX_SEARCH_RESULTS: usize = 100;
/// How many of the newest messages [`Event::Messages`] carries.
pub const PAGE: usize = 200;
/// Poll interval while a conversation is open and the page visible.
pub const POLL_FOREGROUND_MS: u64 = 700;
/// Poll interval otherwise.
pub const POLL_BACKGROUND_MS: u64 = 5_000;

/// What one handler needs from the driver: the store, the unlocked vault, the RNG and the
/// event sink.
pub struct Cx<'a, R: CryptoRng> {
    /// The IndexedDB store.
    pub store: &'a IndexedDbStore,
    /// The unlocked vault (identity and store key).
    pub vault: &'a UnlockedVault,
    /// Randomness.
    pub rng: &'a mut R,
    /// Posts an event to the app.
    pub post: &'a dyn Fn(&Event),
}

#[derive(Default, Serialize, Deserialize)]
struct Profile {
    display_name: Option<String>,
}

/// The running messaging client of one unlock session.
pub struct Messenger {
    client: Client,
    /// Writes the client's persist changes as keyed records.
    state: ClientStateDb,
    mailbox: Weak<Mailbox>,
    session: u64,
    open: Option<AccountId>,
    visible: bool,
    path: PathStatus,
    display_name: Option<String>,
    timer: Option<(u64, net::Timeout)>,
    generation: u64,
    dirty_list: bool,
    dirty_peers: BTreeSet<AccountId>,
    settings: Settings,
    /// The earliest expiry (network ms) of a stored disappearing message.
    next_expiry: Option<u64>,
    /// What the app was last sent of the open conversation.
    page: PageTracker,
}

/// One message for the client to send (see the contract's `ClientCommand::Send`).
pub(crate) struct SendSpec {
    /// Recipient (the own account for an unsend copy to our other devices).
    pub to: AccountId,
    /// The composed message.
    pub outgoing: Outgoing,
    /// Unique local id: the message's database id for texts, kind and sent time otherwise.
    pub local_id: LocalId,
    /// Store a sync copy in the own swarm after it is sent.
    pub sync_copy: bool,
    /// Typing indicators: never persisted, dropped once stale.
    pub ephemeral: bool,
}

/// The local id of a control message of `kind` sent at `sent` (network ms).
pub(crate) fn control(kind: ControlKind, sent: u64) -> LocalId {
    LocalId::Control {
        kind,
        sent: NetMs(sent),
    }
}

impl SendSpec {
    /// A message that is persisted and retried until sent (everything but typing indicators).
    pub(crate) fn durable(
        to: AccountId,
        outgoing: Outgoing,
        local_id: LocalId,
        sync_copy: bool,
    ) -> SendSpec {
        SendSpec {
            to,
            outgoing,
            local_id,
            sync_copy,
            ephemeral: false,
        }
    }
}

impl core::fmt::Debug for Messenger {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Messenger")
            .field("session", &self.session)
            .field("open", &self.open.is_some())
            .field("visible", &self.visible)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// A network configuration for `seed_urls`: node scheme `http` when the first seed is plain
/// HTTP (a local testnet), else the mainnet defaults.
pub fn client_config(seed_urls: &[String], display_name: Option<String>) -> ClientConfig {
    let mut config = ClientConfig::default();
    if !seed_urls.is_empty() {
        config.seed_urls = seed_urls.to_vec();
        if seed_urls.iter().all(|u| u.starts_with("http://")) {
            config.node_scheme = "http".into();
        }
    }
    config.poll_foreground_ms = POLL_FOREGROUND_MS;
    config.poll_background_ms = POLL_BACKGROUND_MS;
    config.display_name = display_name;
    config
}

/// The 1:1 conversation with `peer` (the only kind of conversation the worker has yet).
pub(crate) fn dm(peer: AccountId) -> ConversationId {
    ConversationId::Direct(peer)
}

fn client_state_error(e: ClientStateError) -> ErrorCode {
    match e {
        ClientStateError::Store(s) => store_error(s),
        ClientStateError::Corrupted => ErrorCode::Corrupted,
        ClientStateError::UnsupportedVersion { .. } => ErrorCode::UnsupportedVersion,
    }
}

pub(crate) fn db_error(e: MessageDbError) -> ErrorCode {
    match e {
        MessageDbError::Store(s) => store_error(s),
        MessageDbError::Corrupted | MessageDbError::UnsupportedVersion { .. } => {
            ErrorCode::Corrupted
        }
        MessageDbError::UpgradeRequired
        | MessageDbError::NoSuchConversation
        | MessageDbError::NoSuchMessage
        | MessageDbError::NotOutgoing
        | MessageDbError::WrongAuthor
        | MessageDbError::Encode => ErrorCode::Internal,
    }
}

fn client_error(e: &ClientError) -> ErrorCode {
    match e {
        ClientError::EmptyMessage => ErrorCode::InvalidMessage,
        _ => ErrorCode::Internal,
    }
}

/// Maps a compose error of a user-typed text.
fn compose_error(_: MessageError) -> ErrorCode {
    ErrorCode::InvalidMessage
}

/// `o` with the disappearing `setting`: its Content fields and storage TTL, as
/// [`compose_text`] sets them. Done here because the app offers every timer of
/// [`umbra_ipc::DISAPPEARING_TIMERS_S`] for both modes (5 minutes to 4 weeks), while the
/// protocol's compose functions accept only the subsets Session's own UI offers.
pub(crate) fn with_setting(mut o: Outgoing, setting: DisappearingSetting) -> Outgoing {
    let (mode, timer) = setting.to_content_fields();
    o.content.expiration_type = Some(mode as i32);
    o.content.expiration_timer = Some(timer);
    o.ttl_ms = setting.storage_ttl_ms();
    o
}

/// The quote a reply to `quoted` carries.
fn quote_of(quoted: &Message) -> (QuoteRef, Quote) {
    let text = quoted.body.clone();
    (
        QuoteRef {
            target: WireId {
                author: quoted.author,
                sent_timestamp_ms: quoted.sent_ms,
            },
            text: Some(text.clone()).filter(|t| !t.is_empty()),
        },
        Quote {
            target: quoted.message_ref(),
            text,
        },
    )
}

/// Rebuilds the Content of stored text message `msg` (to send it again when the client lost
/// its outbox entry).
fn recompose(
    msg: &Message,
    setting: DisappearingSetting,
    profile: Option<WireProfile>,
) -> Result<Outgoing, MessageError> {
    let draft = TextDraft {
        body: msg.body.clone(),
        quote: msg.quote.as_ref().map(|q| QuoteRef {
            target: WireId {
                author: q.target.author,
                sent_timestamp_ms: q.target.sent_ms,
            },
            text: Some(q.text.clone()).filter(|t| !t.is_empty()),
        }),
        profile,
        disappearing: DisappearingSetting::Off,
    };
    Ok(with_setting(compose_text(&draft, msg.sent_ms)?, setting))
}

/// The app's path indicator for a client path status.
pub fn path_state(status: PathStatus) -> PathState {
    match status {
        PathStatus::Building => PathState::Building,
        PathStatus::Connected => PathState::Connected,
        PathStatus::Failing => PathState::Failing,
    }
}

fn db_outbox_state(state: ClientOutboxState) -> OutboxState {
    match state {
        ClientOutboxState::Pending => OutboxState::Pending,
        ClientOutboxState::Sending => OutboxState::Sending,
        ClientOutboxState::Sent => OutboxState::Sent,
        ClientOutboxState::Failed => OutboxState::Failed { code: 0 },
    }
}

fn clip_name(name: &str) -> Option<String> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let mut end = name.len().min(MAX_NAME_BYTES);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    Some(name[..end].to_owned())
}

async fn load_json<T: for<'de> Deserialize<'de>>(
    store: &IndexedDbStore,
    vault: &UnlockedVault,
    name: &str,
) -> Result<Option<T>, ErrorCode> {
    let bytes = vault.get_record(store, name).await.map_err(store_error)?;
    // A record that decrypts but does not parse (older layout) is ignored, not fatal.
    Ok(bytes.and_then(|b| serde_json::from_slice(&b).ok()))
}

async fn save_json<T: Serialize, R: CryptoRng>(
    cx: &mut Cx<'_, R>,
    name: &str,
    value: &T,
) -> Result<(), ErrorCode> {
    let bytes = Zeroizing::new(serde_json::to_vec(value).map_err(|_| ErrorCode::Internal)?);
    cx.vault
        .put_record(cx.store, name, &bytes, cx.rng)
        .await
        .map_err(store_error)
}

impl Messenger {
    /// Starts the client of `cx.vault`'s account: loads its snapshot and profile, resumes
    /// every unsent outbox message, starts connecting and posts [`Event::Paths`] and
    /// [`Event::Profile`].
    pub async fn start<R: CryptoRng>(
        cx: &mut Cx<'_, R>,
        seed_urls: &[String],
        mailbox: &Rc<Mailbox>,
        session: u64,
        visible: bool,
    ) -> Result<Messenger, ErrorCode> {
        let (state, snapshot) = ClientStateDb::load(cx.store, cx.vault, cx.rng)
            .await
            .map_err(client_state_error)?;
        let profile: Profile = load_json(cx.store, cx.vault, PROFILE_RECORD)
            .await?
            .unwrap_or_default();
        let settings: Settings = load_json(cx.store, cx.vault, SETTINGS_RECORD)
            .await?
            .unwrap_or_default();
        let config = client_config(seed_urls, profile.display_name.clone());
        let me = ClientIdentity::from_identity(cx.vault.identity());
        let client = Client::new(me, config, Some(snapshot));
        let path = client.path_status();
        let mut m = Messenger {
            client,
            state,
            mailbox: Rc::downgrade(mailbox),
            session,
            open: None,
            visible,
            path,
            display_name: profile.display_name,
            timer: None,
            generation: 0,
            dirty_list: false,
            dirty_peers: BTreeSet::new(),
            settings,
            next_expiry: None,
            page: PageTracker::default(),
        };
        (cx.post)(&Event::Paths {
            state: path_state(path),
        });
        (cx.post)(&Event::Profile {
            display_name: m.display_name.clone(),
        });
        (cx.post)(&Event::Settings {
            settings: m.settings,
        });
        // Records of an older schema are upgraded before anything reads them.
        MessageDb::new(cx.store, cx.vault)
            .upgrade(cx.rng)
            .await
            .map_err(db_error)?;
        // Messages that expired while the account was locked go first.
        m.sweep(cx).await?;
        // Resume what the database still has to send but the client does not know (the page
        // closed between storing the message and persisting the client's outbox entry).
        let db = MessageDb::new(cx.store, cx.vault);
        let pending = db.pending_outbox().await.map_err(db_error)?;
        for msg in pending {
            let Some(&to) = msg.conversation.direct() else {
                continue;
            };
            let local_id = LocalId::Message(msg.id.0);
            if m.client.outbox().iter().any(|e| e.local_id == local_id) {
                continue;
            }
            let setting = db
                .conversation(&msg.conversation)
                .await
                .map_err(db_error)?
                .map_or(DisappearingSetting::Off, |c| view::wire_of(c.disappearing));
            // A stored text always composes; a failure leaves it pending for a retry.
            let Ok(outgoing) = recompose(&msg, setting, m.profile()) else {
                continue;
            };
            let spec = SendSpec {
                to,
                outgoing,
                local_id,
                sync_copy: true,
                ephemeral: false,
            };
            let _ = m.send(cx, spec);
        }
        m.apply_polling_mode(cx);
        m.client
            .handle_timeout(cx.vault.identity(), net::now_ms(), cx.rng);
        m.run_actions(cx).await;
        Ok(m)
    }

    /// The unlock session this messenger belongs to.
    pub fn session(&self) -> u64 {
        self.session
    }

    /// The current path status.
    pub fn path_status(&self) -> PathStatus {
        self.path
    }

    /// The open conversation, if any.
    pub fn open_peer(&self) -> Option<AccountId> {
        self.open
    }

    /// The client (read-only, for diagnostics and tests).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Feeds an HTTP outcome to the client.
    pub async fn on_http<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        id: RequestId,
        result: Result<HttpResponse, TransportFailure>,
    ) {
        self.client
            .handle_response(id, result, cx.vault.identity(), net::now_ms(), cx.rng);
        self.run_actions(cx).await;
    }

    /// Handles the timer armed with `generation` (older armings are ignored).
    pub async fn on_timer<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>, generation: u64) {
        if generation != self.generation {
            return;
        }
        self.timer = None;
        let now = net::now_ms();
        if self
            .next_expiry
            .is_some_and(|t| t <= self.client.network_time_ms(now))
            && let Err(code) = self.sweep(cx).await
        {
            (cx.post)(&Event::Error { code });
        }
        self.client.handle_timeout(cx.vault.identity(), now, cx.rng);
        self.run_actions(cx).await;
    }

    /// Sends `spec` through the client.
    pub(crate) fn send<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        spec: SendSpec,
    ) -> Result<(), ClientError> {
        let cmd = ClientCommand::Send {
            to: spec.to,
            outgoing: spec.outgoing,
            local_id: spec.local_id,
            sync_copy: spec.sync_copy,
            ephemeral: spec.ephemeral,
        };
        self.client
            .handle_command(cmd, cx.vault.identity(), net::now_ms(), cx.rng)
    }

    /// Deletes these storage hashes from the own swarm (signed `delete`, durable).
    pub(crate) fn delete_own<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>, hashes: Vec<String>) {
        if hashes.is_empty() {
            return;
        }
        let cmd = ClientCommand::DeleteOwn { hashes };
        // Cannot fail: the hashes are not empty and the identity is ours.
        let _ = self
            .client
            .handle_command(cmd, cx.vault.identity(), net::now_ms(), cx.rng);
    }

    /// Shortens the expiry of these storage hashes in the own swarm to `expiry_ms` (signed
    /// `expire`, durable).
    pub(crate) fn expire_own<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        hashes: Vec<String>,
        expiry_ms: u64,
    ) {
        if hashes.is_empty() {
            return;
        }
        let cmd = ClientCommand::ExpireOwn { hashes, expiry_ms };
        // Cannot fail: the hashes are not empty and the identity is ours.
        let _ = self
            .client
            .handle_command(cmd, cx.vault.identity(), net::now_ms(), cx.rng);
    }

    /// A fresh sent timestamp (network time, distinct from every earlier one of this session:
    /// with the author it identifies a message).
    pub(crate) fn next_sent_ms(&mut self) -> u64 {
        self.client.allocate_sent_ms(LocalMs(net::now_ms())).0
    }

    /// The own profile sent along with messages.
    pub(crate) fn profile(&self) -> Option<WireProfile> {
        self.display_name
            .as_deref()
            .and_then(|n| WireProfile::new(n).ok())
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        self.settings
    }

    // ----- commands -------------------------------------------------------------------------

    /// Posts the conversation list.
    pub async fn post_conversations<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
    ) -> Result<(), ErrorCode> {
        let list = MessageDb::new(cx.store, cx.vault)
            .list_conversations()
            .await
            .map_err(db_error)?;
        self.dirty_list = false;
        (cx.post)(&Event::Conversations {
            items: list.iter().map(summary).collect(),
        });
        Ok(())
    }

    /// Posts the messages of `peer`'s conversation (a fresh conversation has an empty one):
    /// the whole page after [`Messenger::open`], then only what changed
    /// ([`crate::views`]).
    pub async fn post_messages<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: &AccountId,
    ) -> Result<(), ErrorCode> {
        let db = MessageDb::new(cx.store, cx.vault);
        let conversation = match db.conversation(&dm(*peer)).await.map_err(db_error)? {
            Some(c) => summary(&c),
            None => ConversationSummary {
                conversation: peer.to_string(),
                display_name: None,
                kind: ConversationKind::Accepted,
                last_preview: None,
                last_time_ms: None,
                unread: 0,
                disappearing: Default::default(),
            },
        };
        let list: Vec<Message> = db
            .list_messages(&dm(*peer), PAGE, 0)
            .await
            .map_err(db_error)?
            .into_iter()
            .filter(|m| !m.deleted)
            .collect();
        let mut targets: view::QuoteTargets = list
            .iter()
            .map(|m| ((m.author, m.sent_ms), (m.id.0, m.body.clone())))
            .collect();
        // Quoted messages older than the page.
        for q in list.iter().filter_map(|m| m.quote.as_ref()) {
            let key = (q.target.author, q.target.sent_ms);
            if targets.contains_key(&key) {
                continue;
            }
            if let Some(found) = db
                .find_message(&dm(*peer), &q.target)
                .await
                .map_err(db_error)?
                .filter(|m| !m.deleted)
            {
                targets.insert(key, (found.id.0, found.body));
            }
        }
        let me = cx.vault.account_id();
        let items = list
            .iter()
            .map(|m| message_view(m, &me, &targets))
            .collect();
        self.dirty_peers.remove(peer);
        if let Some(event) = self.page.update(peer.to_string(), conversation, items) {
            (cx.post)(&event);
        }
        Ok(())
    }

    /// Opens `peer`'s conversation: marks it read, polls fast, posts the list and then the
    /// messages.
    pub async fn open<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
    ) -> Result<(), ErrorCode> {
        self.open = Some(peer);
        // The app shows this conversation afresh: its first page goes out whole.
        self.page.reset();
        self.mark_open_read(cx).await?;
        self.apply_polling_mode(cx);
        let now = net::now_ms();
        // PollNow cannot fail for our own identity.
        let _ =
            self.client
                .handle_command(ClientCommand::PollNow, cx.vault.identity(), now, cx.rng);
        // The drain ends by posting the list, then the messages.
        self.mark_dirty(peer);
        self.run_actions(cx).await;
        Ok(())
    }

    /// Closes the open conversation and posts the list.
    pub async fn close<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>) -> Result<(), ErrorCode> {
        self.open = None;
        self.apply_polling_mode(cx);
        self.dirty_list = true;
        self.run_actions(cx).await;
        Ok(())
    }

    /// Records whether the page is visible and adapts the polling cadence.
    pub async fn set_visible<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        visible: bool,
    ) -> Result<(), ErrorCode> {
        self.visible = visible;
        if visible {
            self.mark_open_read(cx).await?;
        }
        self.apply_polling_mode(cx);
        self.run_actions(cx).await;
        (cx.post)(&Event::Paths {
            state: path_state(self.path),
        });
        Ok(())
    }

    /// Stores a new outgoing message as `Pending` in the database (a reply quoting message
    /// `reply_to`, disappearing as the conversation is set), then hands it to the client.
    pub async fn send_text<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        body: String,
        reply_to: Option<u64>,
    ) -> Result<(), ErrorCode> {
        if body.trim().is_empty() || body.chars().count() > MAX_BODY_CHARS {
            return Err(ErrorCode::InvalidMessage);
        }
        let mut db = MessageDb::new(cx.store, cx.vault);
        let quote = match reply_to {
            None => None,
            Some(id) => {
                let quoted = db
                    .message(&dm(peer), MessageKey(id))
                    .await
                    .map_err(db_error)?
                    .filter(|m| !m.deleted)
                    .ok_or(ErrorCode::NoSuchMessage)?;
                Some(quote_of(&quoted))
            }
        };
        let stored_setting = db
            .conversation(&dm(peer))
            .await
            .map_err(db_error)?
            .map(|c| c.disappearing)
            .unwrap_or_default();
        let setting = view::wire_of(stored_setting);
        let now = net::now_ms();
        let sent_ms = self.next_sent_ms();
        let (quote_ref, quote) = quote.unzip();
        let draft = TextDraft {
            body: body.clone(),
            quote: quote_ref,
            profile: self.profile(),
            disappearing: DisappearingSetting::Off,
        };
        let outgoing = with_setting(
            compose_text(&draft, sent_ms).map_err(compose_error)?,
            setting,
        );
        let me = cx.vault.account_id();
        let msg = NewMessage {
            conversation: dm(peer),
            direction: Direction::Outgoing,
            author: me,
            sent_ms,
            received_ms: now,
            body,
            storage_hash: None,
            outbox: Some(OutboxState::Pending),
            disappearing: Some(stored_setting).filter(|d| d.is_on()),
            quote,
        };
        let outcome = db.insert_message(msg, cx.rng).await.map_err(db_error)?;
        let InsertOutcome::Inserted(id) = outcome else {
            return Err(ErrorCode::Internal);
        };
        self.mark_dirty(peer);
        self.note_expiry(setting.outgoing_expiry_ms(sent_ms));
        let spec = SendSpec {
            to: peer,
            outgoing,
            local_id: LocalId::Message(id.0),
            sync_copy: true,
            ephemeral: false,
        };
        if let Err(e) = self.send(cx, spec) {
            let code = client_error(&e);
            let _ = MessageDb::new(cx.store, cx.vault)
                .set_outbox_state(&dm(peer), id, OutboxState::Failed { code: 1 }, None, cx.rng)
                .await;
            self.flush_ui(cx).await;
            return Err(code);
        }
        self.run_actions(cx).await;
        Ok(())
    }

    /// Sends failed message `id` of `peer`'s conversation again.
    pub async fn retry<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        id: u64,
    ) -> Result<(), ErrorCode> {
        let now = net::now_ms();
        let local_id = LocalId::Message(id);
        let cmd = ClientCommand::Retry {
            local_id: local_id.clone(),
        };
        match self
            .client
            .handle_command(cmd, cx.vault.identity(), now, cx.rng)
        {
            Ok(()) => {}
            Err(ClientError::UnknownLocalId) => {
                // The client no longer has it (e.g. its snapshot was lost): send from the db.
                let msg = MessageDb::new(cx.store, cx.vault)
                    .message(&dm(peer), MessageKey(id))
                    .await
                    .map_err(db_error)?
                    .filter(|m| m.direction == Direction::Outgoing && !m.deleted)
                    .ok_or(ErrorCode::InvalidMessage)?;
                if msg.outbox == Some(OutboxState::Sent) {
                    return Ok(());
                }
                let setting = MessageDb::new(cx.store, cx.vault)
                    .conversation(&dm(peer))
                    .await
                    .map_err(db_error)?
                    .map_or(DisappearingSetting::Off, |c| view::wire_of(c.disappearing));
                let outgoing = recompose(&msg, setting, self.profile()).map_err(compose_error)?;
                let spec = SendSpec {
                    to: peer,
                    outgoing,
                    local_id,
                    sync_copy: true,
                    ephemeral: false,
                };
                self.send(cx, spec).map_err(|e| client_error(&e))?;
            }
            Err(e) => return Err(client_error(&e)),
        }
        self.mark_dirty(peer);
        self.run_actions(cx).await;
        Ok(())
    }

    /// Accepts the message request of `peer`.
    pub async fn accept<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
    ) -> Result<(), ErrorCode> {
        let mut db = MessageDb::new(cx.store, cx.vault);
        let was_request = db
            .conversation(&dm(peer))
            .await
            .map_err(db_error)?
            .is_some_and(|c| c.state == ConversationState::Request);
        match db.accept(&dm(peer), cx.rng).await {
            Ok(_) | Err(MessageDbError::NoSuchConversation) => {}
            Err(e) => return Err(db_error(e)),
        }
        self.mark_dirty(peer);
        if was_request {
            // Tell the peer, as Session does (with our profile).
            let sent = self.next_sent_ms();
            let spec = SendSpec::durable(
                peer,
                compose_request_accept(self.profile().as_ref(), sent),
                control(ControlKind::Accept, sent),
                false,
            );
            let _ = self.send(cx, spec);
            // What was unread in the request is read now if it is open.
            self.mark_open_read(cx).await?;
        }
        self.run_actions(cx).await;
        Ok(())
    }

    /// Deletes `peer`'s conversation (closing it if open).
    pub async fn delete<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
    ) -> Result<(), ErrorCode> {
        match MessageDb::new(cx.store, cx.vault)
            .delete_conversation(&dm(peer), cx.rng)
            .await
        {
            Ok(_) | Err(MessageDbError::NoSuchConversation) => {}
            Err(e) => return Err(db_error(e)),
        }
        if self.open == Some(peer) {
            self.open = None;
            self.apply_polling_mode(cx);
            self.run_actions(cx).await;
        }
        self.dirty_peers.remove(&peer);
        self.dirty_list = true;
        self.flush_ui(cx).await;
        Ok(())
    }

    /// Blocks (`true`) or unblocks `peer`, then posts the list and the block list.
    pub async fn set_blocked<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        blocked: bool,
    ) -> Result<(), ErrorCode> {
        let mut db = MessageDb::new(cx.store, cx.vault);
        let result = if blocked {
            db.block(&peer, net::now_ms(), cx.rng).await
        } else {
            db.unblock(&peer, cx.rng).await
        };
        match result {
            Ok(_) | Err(MessageDbError::NoSuchConversation) => {}
            Err(e) => return Err(db_error(e)),
        }
        self.mark_dirty(peer);
        self.flush_ui(cx).await;
        self.post_blocked(cx).await
    }

    /// Posts the block list.
    pub async fn post_blocked<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
    ) -> Result<(), ErrorCode> {
        let list = MessageDb::new(cx.store, cx.vault)
            .blocked()
            .await
            .map_err(db_error)?;
        (cx.post)(&Event::BlockList {
            accounts: list.iter().map(ToString::to_string).collect(),
        });
        Ok(())
    }

    /// Sets the display name sent with our messages (empty clears it) and posts
    /// [`Event::Profile`].
    pub async fn set_display_name<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        name: &str,
    ) -> Result<(), ErrorCode> {
        if name.trim().len() > MAX_NAME_BYTES {
            return Err(ErrorCode::InvalidDisplayName);
        }
        let display_name = clip_name(name);
        save_json(
            cx,
            PROFILE_RECORD,
            &Profile {
                display_name: display_name.clone(),
            },
        )
        .await?;
        self.display_name = display_name.clone();
        let cmd = ClientCommand::SetDisplayName(display_name.clone());
        let _ = self
            .client
            .handle_command(cmd, cx.vault.identity(), net::now_ms(), cx.rng);
        (cx.post)(&Event::Profile { display_name });
        Ok(())
    }

    // ----- the action loop ------------------------------------------------------------------

    fn apply_polling_mode<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>) {
        let mode = if self.visible && self.open.is_some() {
            PollingMode::Foreground
        } else {
            PollingMode::Background
        };
        let cmd = ClientCommand::SetPollingMode(mode);
        let _ = self
            .client
            .handle_command(cmd, cx.vault.identity(), net::now_ms(), cx.rng);
    }

    fn mark_dirty(&mut self, peer: AccountId) {
        self.dirty_list = true;
        self.dirty_peers.insert(peer);
    }

    /// Drains the client's actions (see the module docs for the order), then updates the UI
    /// and re-arms the timer.
    async fn run_actions<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>) {
        loop {
            let mut actions = Vec::new();
            while let Some(action) = self.client.poll_action() {
                actions.push(action);
            }
            if actions.is_empty() {
                break;
            }
            let mut incoming = Vec::new();
            let mut changes = Vec::new();
            let mut requests = Vec::new();
            let mut events = Vec::new();
            for action in actions {
                match action {
                    Action::Http(req) => requests.push(req),
                    Action::Persist(c) => changes.extend(c),
                    Action::Notify(ClientEvent::MessageReceived(m)) => incoming.push(m),
                    Action::Notify(e) => events.push(e),
                }
            }
            if !incoming.is_empty()
                && let Err(code) = self.store_incoming(cx, incoming).await
            {
                (cx.post)(&Event::Error { code });
            }
            let mut durable = true;
            if !changes.is_empty()
                && let Err(code) = self.persist(cx, &changes).await
            {
                // Requests that rely on unsaved state are not sent; the client counts them
                // as timed out and tries again.
                durable = false;
                (cx.post)(&Event::Error { code });
            }
            if durable {
                for req in requests {
                    self.spawn_http(req);
                }
            }
            for event in events {
                match event {
                    ClientEvent::PathStatusChanged(status) => {
                        self.path = status;
                        (cx.post)(&Event::Paths {
                            state: path_state(status),
                        });
                    }
                    ClientEvent::SyncCopyStored { local_id, hash } => {
                        // Remember where our copy lives, to delete it on unsend.
                        if let Err(code) = self.note_sync_copy(cx, &local_id, &hash).await {
                            (cx.post)(&Event::Error { code });
                        }
                    }
                    _ => {}
                }
            }
        }
        self.flush_ui(cx).await;
        self.arm_timer();
    }

    /// Adds the own-swarm hash of a sync copy to the message it copies (texts only: their
    /// local id is the database id; other kinds have nothing to unsend), or deletes that copy
    /// if the message was unsent while the copy was on its way.
    async fn note_sync_copy<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        local_id: &LocalId,
        hash: &str,
    ) -> Result<(), ErrorCode> {
        let LocalId::Message(id) = local_id else {
            return Ok(());
        };
        let id = MessageKey(*id);
        let mut db = MessageDb::new(cx.store, cx.vault);
        let Some(conversation) = db.conversation_of(id).await.map_err(db_error)? else {
            return Ok(());
        };
        match db.add_storage_hash(&conversation, id, hash, cx.rng).await {
            Ok(()) => {}
            // Deleted for me meanwhile.
            Err(MessageDbError::NoSuchMessage) => return Ok(()),
            Err(e) => return Err(db_error(e)),
        }
        // Unsent before its copy was stored: that copy goes at once.
        let unsent = db
            .message(&conversation, id)
            .await
            .map_err(db_error)?
            .is_some_and(|m| m.deleted);
        if unsent {
            self.delete_own(cx, vec![hash.to_owned()]);
        }
        Ok(())
    }

    async fn persist<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        changes: &[PersistChange],
    ) -> Result<(), ErrorCode> {
        for change in changes {
            let PersistChange::Outbox(entry) = change else {
                continue;
            };
            if entry.sync_target.is_some() {
                continue;
            }
            let LocalId::Message(id) = entry.local_id else {
                continue;
            };
            let state = db_outbox_state(entry.state);
            let result = MessageDb::new(cx.store, cx.vault)
                .set_outbox_state(
                    &dm(entry.to),
                    MessageKey(id),
                    state,
                    entry.hash.as_deref(),
                    cx.rng,
                )
                .await;
            match result {
                // The conversation or message was deleted meanwhile.
                Ok(()) | Err(MessageDbError::NoSuchMessage | MessageDbError::NotOutgoing) => {}
                Err(e) => return Err(db_error(e)),
            }
            self.mark_dirty(entry.to);
        }
        self.persist_client_changes(cx, changes).await
    }

    /// Makes one step's client changes durable: only the records they touch, in one
    /// IndexedDB transaction (`store::client_state`).
    async fn persist_client_changes<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        changes: &[PersistChange],
    ) -> Result<(), ErrorCode> {
        let ops = self
            .state
            .stage(changes, cx.vault, cx.rng)
            .map_err(client_state_error)?;
        if let Err(e) = cx.store.write_batch(&ops).await {
            // The writer's view is ahead of the store now: read it back before the next step.
            if let Ok((state, _)) = ClientStateDb::load(cx.store, cx.vault, cx.rng).await {
                self.state = state;
            }
            return Err(store_error(e));
        }
        Ok(())
    }

    fn spawn_http(&self, req: OutgoingHttp) {
        let mailbox = self.mailbox.clone();
        let session = self.session;
        wasm_bindgen_futures::spawn_local(async move {
            let result = net::post(&req.url, req.content_type, &req.body, req.timeout_ms).await;
            if let Some(mailbox) = mailbox.upgrade() {
                mailbox.push(Input::Http {
                    session,
                    id: req.id,
                    result,
                });
            }
        });
    }

    /// Remembers that a message now expires at `at` (network ms), for the sweep timer.
    pub(crate) fn note_expiry(&mut self, at: Option<u64>) {
        if let Some(at) = at {
            self.next_expiry = Some(self.next_expiry.map_or(at, |t| t.min(at)));
        }
    }

    fn arm_timer(&mut self) {
        let now = net::now_ms();
        // The expiry is in network time; the timer runs on the local clock.
        let skew = i128::from(self.client.network_time_ms(now)) - i128::from(now);
        let expiry = self
            .next_expiry
            .map(|t| u64::try_from((i128::from(t) - skew).max(0)).unwrap_or(u64::MAX));
        let next = match (self.client.next_timeout(), expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let (Some(t), Some((at, _))) = (next, &self.timer)
            && *at == t
        {
            return;
        }
        self.timer = None;
        let Some(at) = next else { return };
        self.generation += 1;
        let generation = self.generation;
        let session = self.session;
        let mailbox = self.mailbox.clone();
        // setTimeout takes an i32 delay: wake at least every day and re-arm.
        let delay = at.saturating_sub(now).min(86_400_000);
        let timeout = net::Timeout::start(delay, move || {
            if let Some(mailbox) = mailbox.upgrade() {
                mailbox.push(Input::Timer {
                    session,
                    generation,
                });
            }
        });
        self.timer = Some((at, timeout));
    }

    /// Posts what changed: the list, and the open conversation's messages.
    async fn flush_ui<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>) {
        let mut result = Ok(());
        if self.dirty_list {
            result = self.post_conversations(cx).await;
        }
        if result.is_ok()
            && let Some(peer) = self.open
            && self.dirty_peers.contains(&peer)
        {
            result = self.post_messages(cx, &peer).await;
        }
        self.dirty_peers.clear();
        if let Err(code) = result {
            (cx.post)(&Event::Error { code });
        }
    }
}

#[cfg(test)]
mod tests {
    use umbra_protocol::{
        identity::{Identity, Seed},
        message::{
            DEFAULT_TTL_MS, Event as WireEvent, Incoming, classify, compose_expiration_update,
        },
        store::messages::MessageRef,
    };

    use super::*;

    fn identity(n: u8) -> Identity {
        Identity::from_seed(&Seed::from_entropy(&[n; 16]).expect("16 bytes"))
    }

    /// `o` as `from`'s message arrives (the Content as sent; encryption is tested elsewhere).
    fn received_by(from: &Identity, o: &Outgoing) -> Incoming {
        Incoming {
            sender: from.account_id(),
            sender_ed25519: [0; 32],
            sent_timestamp_ms: o.sent_timestamp_ms,
            server_timestamp_ms: None,
            content: o.content.clone(),
            ciphertext_hash: [0; 32],
        }
    }

    #[test]
    fn test_every_offered_timer_travels_as_session_encodes_it() {
        let (alice, bob) = (identity(1), identity(2));
        let quoted = Message {
            id: MessageKey(7),
            conversation: dm(alice.account_id()),
            direction: Direction::Incoming,
            author: alice.account_id(),
            sent_ms: 1_000,
            received_ms: 1_001,
            body: "the original".into(),
            storage_hashes: vec![],
            outbox: None,
            read: true,
            expires_at_ms: None,
            quote: None,
            reactions: Default::default(),
            deleted: false,
        };
        let (quote_ref, quote) = quote_of(&quoted);
        assert_eq!(
            quote.target,
            MessageRef {
                author: alice.account_id(),
                sent_ms: 1_000
            }
        );
        // Five minutes after send is not in Session's own after-send list, but the app offers
        // it: the Content still says DELETE_AFTER_SEND/300 and the TTL is the timer.
        let draft = TextDraft {
            body: "a reply".into(),
            quote: Some(quote_ref.clone()),
            profile: WireProfile::new("Bob").ok(),
            disappearing: DisappearingSetting::Off,
        };
        let o = with_setting(
            compose_text(&draft, 5_000).expect("compose"),
            DisappearingSetting::AfterSend(300),
        );
        assert_eq!(o.ttl_ms, 300_000);
        match classify(&received_by(&bob, &o), &alice.account_id()) {
            Ok(WireEvent::Text {
                body,
                quote,
                expiry,
                profile,
            }) => {
                assert_eq!(body, "a reply");
                assert_eq!(quote, Some(quote_ref));
                assert_eq!(expiry, DisappearingSetting::AfterSend(300));
                assert_eq!(
                    profile.map(|p| p.display_name().to_owned()),
                    Some("Bob".into())
                );
            }
            other => panic!("{other:?}"),
        }
        // Four weeks after read: the default TTL (the reader shortens it).
        let o = with_setting(
            compose_expiration_update(DisappearingSetting::Off, 6_000).expect("compose"),
            DisappearingSetting::AfterRead(2_419_200),
        );
        assert_eq!(o.ttl_ms, DEFAULT_TTL_MS);
        assert_eq!(
            classify(&received_by(&bob, &o), &alice.account_id()),
            Ok(WireEvent::ExpirationUpdate {
                setting: DisappearingSetting::AfterRead(2_419_200)
            })
        );
        // Off clears the fields' meaning; a timer past 30 days is refused by receivers.
        let o = with_setting(
            compose_expiration_update(DisappearingSetting::Off, 7_000).expect("compose"),
            DisappearingSetting::Off,
        );
        assert_eq!(
            classify(&received_by(&bob, &o), &alice.account_id()),
            Ok(WireEvent::ExpirationUpdate {
                setting: DisappearingSetting::Off
            })
        );
        let o = with_setting(o, DisappearingSetting::AfterSend(31 * 86_400));
        assert!(classify(&received_by(&bob, &o), &alice.account_id()).is_err());
        // A stored reply recomposes with its quote.
        let reply = Message {
            id: MessageKey(8),
            direction: Direction::Outgoing,
            author: bob.account_id(),
            sent_ms: 9_000,
            body: "again".into(),
            quote: Some(quote),
            ..quoted
        };
        let o = recompose(&reply, DisappearingSetting::Off, None).expect("recompose");
        assert_eq!(o.sent_timestamp_ms, 9_000);
        assert_eq!(o.ttl_ms, DEFAULT_TTL_MS);
        match classify(&received_by(&bob, &o), &alice.account_id()) {
            Ok(WireEvent::Text { quote, .. }) => {
                assert_eq!(quote.map(|q| q.target.sent_timestamp_ms), Some(1_000));
            }
            other => panic!("{other:?}"),
        }
    }
}
