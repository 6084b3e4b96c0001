//! The messaging side of the worker, a reactor: [`Messenger`] runs the sans-IO
//! [`umbra_protocol::client::Client`] of the unlocked account against the real network, and
//! the sans-IO conversation rules ([`umbra_protocol::convo::Conversations`]) against the
//! encrypted message database in IndexedDB (docs/protocol.md §3–§5, §9).
//!
//! It is driven only from the worker's single input loop ([`crate::mailbox`]): every command,
//! HTTP answer and timer expiry goes to the client or to the conversation rules, and their
//! effects are carried out here: client commands, `fetch`, IndexedDB, the timer and the
//! events posted to the app. Within one drain of `client.poll_action()`, received messages
//! go to the rules first, then every `Persist` is applied (outbox states into the database
//! first, then the client's keyed records in one batch: see the crash order in
//! [`umbra_protocol::convo`]), and only then are the `Http` requests started, so state is
//! durable before any request that relies on it. After each input the UI gets the events for
//! what changed and the single `setTimeout` is re-armed for the earlier of
//! `client.next_timeout()` and the next disappearing-message expiry.
//!
//! At start the message database is upgraded to the current schema before anything reads
//! it. The rules' sent timestamps come from the client's one allocator
//! (`Client::allocate_sent_ms`, see [`glue`]). The app names 1:1 conversations by the peer's
//! Account ID; the rules key every conversation by its `ConversationId` ([`dm`]).
//!
//! What each conversation feature *means* is decided in `convo`, not here; [`intents`] runs
//! the user's intents through it; [`local`] answers the commands that only read or write
//! local records (search, settings, profile, block list); [`view`] converts stored rows into
//! the app's; `sync` keeps the account's configs in step with its other devices
//! ([`umbra_protocol::sync`]: namespaces 2–5 subscribed at start, pulls applied, local changes
//! pushed after [`umbra_protocol::sync::PUSH_DEBOUNCE_MS`], dumps in sealed vault records
//! under [`CONFIG_RECORD_PREFIX`]).

#[macro_use]
mod glue;
mod avatars;
mod calls;
mod files;
mod intents;
mod local;
mod sync;
pub mod view;

use std::{
    collections::BTreeSet,
    rc::{Rc, Weak},
};

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use umbra_ipc::{ClockStatus, DisappearingView, ErrorCode, Event, PathState, Settings};
use umbra_protocol::{
    address::{ConversationId, NetMs},
    client::{
        Action, Client, ClientCommand, ClientConfig, ClientEvent, ClientIdentity, HttpResponse,
        LocalId, OutgoingHttp, PathStatus, PersistChange, RequestId, TransportFailure,
    },
    convo::{self, Conversations, Effect, Outcome, UiChange},
    identity::AccountId,
    store::{
        MessageDb, Store as _, UnlockedVault, client_state::ClientStateDb, messages::MessageKey,
    },
};

use crate::{
    mailbox::{Input, Mailbox},
    net,
    network::NetworkConfig,
    store::StepStore,
    views::PageTracker,
};

use glue::{client_error, client_state_error, load_json, prefs_of, save_json, store_error};
pub(crate) use glue::{convo_error, db_error};
pub use sync::CONFIG_RECORD_PREFIX;
pub use view::{message_view, summary};

/// Vault record holding the profile (display name).
pub const PROFILE_RECORD: &str = "worker/v1/profile";
/// Vault record holding our own profile picture's bytes (sealed), to show it here.
pub const OWN_AVATAR_RECORD: &str = "worker/v1/avatar";
/// Vault record holding the user's [`Settings`] (read receipts, typing, notifications).
pub const SETTINGS_RECORD: &str = "worker/v1/settings";
/// The user's own bridges (sealed JSON list of base URLs).
pub const BRIDGES_RECORD: &str = "worker/v1/bridges";
/// Longest message text accepted, in characters (Session's limit).
pub const MAX_BODY_CHARS: usize = convo::MAX_BODY_CHARS;
/// Most search results returned at once.
pub const MAX_SEARCH_RESULTS: usize = 100;
/// How many of the newest messages [`Event::Messages`] carries.
pub const PAGE: usize = 200;
/// Poll interval while a conversation is open and the page visible.
pub const POLL_FOREGROUND_MS: u64 = 700;
/// Poll interval otherwise.
pub const POLL_BACKGROUND_MS: u64 = 5_000;
/// Vault record holding the intents waiting for the network time ([`Held`]).
pub const HELD_RECORD: &str = "worker/v1/held";
/// Most intents held at once; more are refused.
pub const MAX_HELD: usize = 200;

/// An intent that needs a sent timestamp, held while the network time is unknown: only on a
/// device where no node has answered yet (otherwise the client restores the offset of the
/// last session). A sent timestamp is a message's identity, so it is never taken from the
/// device clock and never changed later: the intent waits, saved in the vault with the
/// step, and runs once the client reports the time (`ClientEvent::ClockSynced`). Typing
/// indicators are dropped instead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Held {
    /// A text (a reply quoting `reply_to`).
    Text {
        /// The peer.
        peer: AccountId,
        /// The text.
        body: String,
        /// Local id of the quoted message.
        reply_to: Option<u64>,
    },
    /// A reaction added or taken back.
    React {
        /// The peer.
        peer: AccountId,
        /// Local id of the message.
        id: u64,
        /// The emoji.
        emoji: String,
    },
    /// Unsend of our message.
    Unsend {
        /// The peer.
        peer: AccountId,
        /// Local id of the message.
        id: u64,
    },
    /// A disappearing-messages setting.
    SetDisappearing {
        /// The peer.
        peer: AccountId,
        /// The setting.
        setting: DisappearingView,
    },
    /// Accepting a message request.
    Accept {
        /// The peer.
        peer: AccountId,
    },
}

/// What one handler needs from the driver: the store, the unlocked vault, the RNG and the
/// event sink.
pub struct Cx<'a, R: CryptoRng> {
    /// The IndexedDB store, staging this step's writes (committed by
    /// [`Messenger::commit`] and at the end of the step).
    pub store: &'a StepStore,
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
    /// When the name was last changed (network time, Unix seconds; 0 for records written
    /// before it was kept): sent as `lastProfileUpdateSeconds`.
    #[serde(default)]
    updated_s: u64,
    /// Our profile picture (URL and key), once uploaded.
    #[serde(default)]
    picture: Option<umbra_protocol::message::ProfilePicture>,
}

/// The running messaging client of one unlock session.
pub struct Messenger {
    client: Client,
    convo: Conversations,
    /// Writes the client's persist changes as keyed records.
    state: ClientStateDb,
    mailbox: Weak<Mailbox>,
    session: u64,
    path: PathStatus,
    display_name: Option<String>,
    timer: Option<(u64, net::Timeout)>,
    generation: u64,
    dirty_list: bool,
    dirty_blocked: bool,
    dirty_peers: BTreeSet<AccountId>,
    settings: Settings,
    /// Texts the client refused to queue (marked failed before the next drain).
    refused: Vec<(ConversationId, LocalId)>,
    /// What the app was last sent of the open conversation.
    page: PageTracker,
    /// Intents waiting for the network time (also in [`HELD_RECORD`]).
    held: Vec<Held>,
    /// What the app was last told about the clock.
    clock_shown: Option<ClockStatus>,
    /// The bundle's network and the user's own bridges (also in [`BRIDGES_RECORD`]).
    network: NetworkConfig,
    own_bridges: Vec<String>,
    /// Tag of the last ONS lookup.
    ons_tag: u64,
    /// Attachment uploads and downloads under way.
    files: files::Transfers,
    /// The account's configs, synced with its other devices.
    sync: umbra_protocol::sync::ConfigSync,
    /// When the debounced config push is due (local ms).
    sync_push_at: Option<u64>,
    /// The sync status last posted (posted again when it changes).
    sync_posted: Option<umbra_ipc::SyncView>,
    /// Peers a message just came from, for config sync ([`Messenger::sync_heard_from`]).
    heard_from: Vec<AccountId>,
    /// The calls of this device ([`calls`]; boxed: the messenger is moved through the
    /// start-up futures, whose size debug builds keep on the stack).
    calls: Box<umbra_protocol::call::Calls>,
}

impl core::fmt::Debug for Messenger {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Messenger")
            .field("session", &self.session)
            .field("open", &self.convo.open_conversation().is_some())
            .field("visible", &self.convo.visible())
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The client configuration for `network`, the user's `own_bridges` first: see
/// [`NetworkConfig::client_config`], with the worker's poll intervals.
pub fn client_config(
    network: &NetworkConfig,
    own_bridges: &[String],
    display_name: Option<String>,
) -> ClientConfig {
    let mut config = network.client_config(own_bridges);
    config.poll_foreground_ms = POLL_FOREGROUND_MS;
    config.poll_background_ms = POLL_BACKGROUND_MS;
    config.display_name = display_name;
    config
}

/// The app's error for a failed name lookup.
fn ons_error(e: umbra_protocol::ons::OnsError) -> ErrorCode {
    use umbra_protocol::ons::OnsError;
    match e {
        OnsError::InvalidName => ErrorCode::InvalidName,
        OnsError::NotFound => ErrorCode::NameNotFound,
        OnsError::Disagreement => ErrorCode::NameDisputed,
        OnsError::Malformed | OnsError::Network => ErrorCode::NameLookupFailed,
    }
}

/// The 1:1 conversation with `peer` (the only kind of conversation the worker has yet).
pub(crate) fn dm(peer: AccountId) -> ConversationId {
    ConversationId::Direct(peer)
}

/// The app's path indicator for a client path status.
pub fn path_state(status: PathStatus) -> PathState {
    match status {
        PathStatus::Building => PathState::Building,
        PathStatus::Connected => PathState::Connected,
        PathStatus::Failing => PathState::Failing,
    }
}

impl Messenger {
    /// Starts the client of `cx.vault`'s account: loads its snapshot, profile and settings,
    /// sweeps what expired while locked, resumes what the client's outbox lacks, starts
    /// connecting and posts [`Event::Paths`], [`Event::Profile`] and [`Event::Settings`].
    pub async fn start<R: CryptoRng>(
        cx: &mut Cx<'_, R>,
        network: &NetworkConfig,
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
        let held: Vec<Held> = load_json(cx.store, cx.vault, HELD_RECORD)
            .await?
            .unwrap_or_default();
        let own_bridges: Vec<String> = load_json(cx.store, cx.vault, BRIDGES_RECORD)
            .await?
            .unwrap_or_default();
        let sync = sync::load_sync(cx.store, cx.vault, cx.vault.account_id()).await?;
        let config = client_config(network, &own_bridges, profile.display_name.clone());
        let me = ClientIdentity::from_identity(cx.vault.identity());
        let client = Client::new(me, config, Some(snapshot));
        let path = client.path_status();
        let convo = Conversations::new(
            cx.vault.account_id(),
            prefs_of(&settings),
            profile.display_name.as_deref(),
        )
        .with_profile_updated_s(profile.updated_s)
        .with_picture(profile.picture);
        let mut m = Messenger {
            client,
            convo,
            state,
            mailbox: Rc::downgrade(mailbox),
            session,
            path,
            display_name: profile.display_name,
            timer: None,
            generation: 0,
            dirty_list: false,
            dirty_blocked: false,
            dirty_peers: BTreeSet::new(),
            settings,
            refused: Vec::new(),
            page: PageTracker::default(),
            held,
            clock_shown: None,
            network: network.clone(),
            own_bridges,
            ons_tag: 0,
            files: Default::default(),
            sync,
            sync_push_at: None,
            sync_posted: None,
            heard_from: Vec::new(),
            calls: Box::new(umbra_protocol::call::Calls::new(
                cx.vault.account_id(),
                settings.calls,
            )),
        };
        (cx.post)(&Event::Paths {
            state: path_state(path),
        });
        m.post_network(cx);
        (cx.post)(&Event::Profile {
            display_name: m.display_name.clone(),
        });
        (cx.post)(&Event::Settings {
            settings: m.settings,
        });
        m.post_own_avatar(cx).await;
        // Records of an older schema are upgraded before anything reads them.
        MessageDb::new(cx.store, cx.vault)
            .upgrade(cx.rng)
            .await
            .map_err(db_error)?;
        // Messages that expired while the account was locked go first.
        let swept = convo!(m, cx, sweep());
        m.apply(cx, swept)?;
        let known: BTreeSet<LocalId> = m
            .client
            .outbox()
            .iter()
            .map(|e| e.local_id.clone())
            .collect();
        let resumed = convo!(m, cx, resume(&|id: &LocalId| known.contains(id)));
        m.apply(cx, resumed)?;
        let visible = convo!(m, cx, set_visible(visible));
        m.apply(cx, visible)?;
        m.start_sync(cx).await;
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

    /// The peer of the open conversation, if any.
    pub fn open_peer(&self) -> Option<AccountId> {
        self.convo
            .open_conversation()
            .and_then(ConversationId::direct)
            .copied()
    }

    /// Takes the device clock as network time (tests without a network).
    pub fn assume_device_clock(&mut self) {
        self.client.assume_device_clock();
    }

    /// The client (read-only, for diagnostics and tests).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        self.settings
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
        let net_now = NetMs(self.client.network_time_ms(now));
        if self.convo.next_expiry().is_some_and(|t| t <= net_now) {
            let swept = convo!(self, cx, sweep());
            if let Err(code) = self.apply(cx, swept) {
                (cx.post)(&Event::Error { code });
            }
        }
        self.push_configs_if_due(cx).await;
        self.on_call_timer(cx).await;
        self.client.handle_timeout(cx.vault.identity(), now, cx.rng);
        self.run_actions(cx).await;
    }

    /// Carries out `outcome`'s effects (see [`Messenger::apply_effects`]), or maps its error.
    fn apply<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        outcome: Outcome,
    ) -> Result<(), ErrorCode> {
        match outcome {
            Ok(effects) => {
                self.apply_effects(cx, effects);
                Ok(())
            }
            Err(e) => {
                // A database failure may leave part of it written: show the current state.
                if matches!(e, convo::ConvoError::Db(_)) {
                    self.dirty_list = true;
                    if let Some(peer) = self.open_peer() {
                        self.dirty_peers.insert(peer);
                    }
                }
                Err(convo_error(e))
            }
        }
    }

    /// Carries out effects in order: client commands now, UI changes marked for the next
    /// flush (notifications and typing posted at once).
    fn apply_effects<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Client(cmd) => {
                    let text = match &cmd {
                        ClientCommand::Send { to, local_id, .. }
                            if convo::text_key(local_id).is_some() =>
                        {
                            Some((dm(*to), local_id.clone()))
                        }
                        _ => None,
                    };
                    let now = net::now_ms();
                    if let Err(e) =
                        self.client
                            .handle_command(cmd, cx.vault.identity(), now, cx.rng)
                    {
                        if let Some(refused) = text {
                            self.refused.push(refused);
                        }
                        (cx.post)(&Event::Error {
                            code: client_error(&e),
                        });
                    }
                }
                Effect::Ui(change) => self.show(cx, change),
                // The timer is armed from `convo.next_expiry()` after each input.
                Effect::ArmExpiry(_) => {}
            }
        }
    }

    fn show<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>, change: UiChange) {
        match change {
            UiChange::Conversation(ConversationId::Direct(peer)) => self.mark_dirty(peer),
            UiChange::ConversationRemoved(ConversationId::Direct(peer)) => {
                self.dirty_peers.remove(&peer);
                self.dirty_list = true;
            }
            // Other kinds are only listed (the app opens 1:1 conversations only).
            UiChange::Conversation(_) | UiChange::ConversationRemoved(_) => {
                self.dirty_list = true;
            }
            UiChange::BlockList => self.dirty_blocked = true,
            // One to one: the conversation is named by its sender.
            UiChange::Typing { peer, typing } => (cx.post)(&Event::PeerTyping {
                conversation: peer.to_string(),
                sender: peer.to_string(),
                typing,
            }),
            UiChange::Incoming {
                conversation,
                display_name,
                preview,
            } => {
                if let ConversationId::Direct(peer) = conversation {
                    self.heard_from.push(peer);
                }
                (cx.post)(&Event::Incoming {
                    conversation: conversation.to_string(),
                    display_name,
                    preview,
                });
            }
            UiChange::Attachments {
                conversation,
                message,
            } => self.files.want(conversation, message, false),
            UiChange::Avatar(conversation) => self.files.avatars_wanted.push(conversation),
            UiChange::Error(e) => (cx.post)(&Event::Error {
                code: convo_error(e),
            }),
        }
    }

    /// Runs a conversation intent's outcome, then the client's actions.
    async fn finish<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        outcome: Outcome,
    ) -> Result<(), ErrorCode> {
        let result = self.apply(cx, outcome);
        self.run_actions(cx).await;
        result
    }

    // ----- the action loop ------------------------------------------------------------------

    fn mark_dirty(&mut self, peer: AccountId) {
        self.dirty_list = true;
        self.dirty_peers.insert(peer);
    }

    /// Marks the texts the client refused to queue as failed.
    async fn settle_refused<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>) {
        for (conversation, local_id) in core::mem::take(&mut self.refused) {
            let outcome = convo!(self, cx, on_send_refused(&conversation, &local_id));
            if let Err(code) = self.apply(cx, outcome) {
                (cx.post)(&Event::Error { code });
            }
        }
    }

    /// Drains the client's actions (see the module docs for the order), then updates the UI
    /// and re-arms the timer.
    async fn run_actions<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>) {
        loop {
            self.settle_refused(cx).await;
            self.start_downloads(cx).await;
            self.start_avatar_downloads(cx).await;
            self.sync_heard_from(cx).await;
            if !self.held.is_empty() && self.client.clock_synced() {
                self.run_held(cx).await;
            }
            let mut actions = Vec::new();
            while let Some(action) = self.client.poll_action() {
                actions.push(action);
            }
            if actions.is_empty() {
                break;
            }
            let mut incoming = Vec::new();
            let mut signals = Vec::new();
            let mut changes = Vec::new();
            let mut requests = Vec::new();
            let mut events = Vec::new();
            for action in actions {
                match action {
                    Action::Http(req) => requests.push(req),
                    Action::Persist(c) => changes.extend(c),
                    // Call signalling goes to the calls, not the conversation rules.
                    Action::Notify(ClientEvent::MessageReceived(m)) => match m.event {
                        umbra_protocol::message::Event::Call(signal) => {
                            signals.push((m.from, m.sent_ms, signal));
                        }
                        _ => incoming.push(m),
                    },
                    Action::Notify(e) => events.push(e),
                }
            }
            if !incoming.is_empty() {
                let effects = convo!(self, cx, on_received(incoming));
                self.apply_effects(cx, effects);
            }
            if !signals.is_empty() {
                self.on_call_signals(cx, signals).await;
            }
            let mut durable = true;
            if !changes.is_empty()
                && let Err(code) = self.persist(cx, &changes).await
            {
                // Every change of the step or none: what was staged is dropped and the
                // client goes back to what is durable.
                durable = false;
                cx.store.discard();
                self.reload_client_state(cx.store, cx.vault, cx.rng).await;
                (cx.post)(&Event::Error { code });
            }
            // What the requests rely on (outbox entries, dedup records, the messages they
            // carry) is durable before any leaves: one transaction for the whole drain.
            if durable && let Err(code) = self.commit(cx).await {
                durable = false;
                (cx.post)(&Event::Error { code });
            }
            if durable {
                for req in requests {
                    self.spawn_http(req);
                }
            } else {
                // Requests that rely on unsaved state are not sent: the client queues their
                // work again and blames no path or node for them.
                let now = net::now_ms();
                for req in requests {
                    self.client.abort_request(req.id, now);
                }
            }
            for event in events {
                match event {
                    ClientEvent::RouteChanged(_) => self.post_network(cx),
                    ClientEvent::ServerResponse { tag, result } if self.files.owns(tag) => {
                        self.on_file_response(cx, tag, result).await;
                    }
                    ClientEvent::OnsResolved { name, result, .. } => match result {
                        Ok(account) => (cx.post)(&Event::NameResolved {
                            name,
                            account: account.to_string(),
                        }),
                        Err(e) => (cx.post)(&Event::Error { code: ons_error(e) }),
                    },
                    ClientEvent::PathStatusChanged(status) => {
                        self.path = status;
                        (cx.post)(&Event::Paths {
                            state: path_state(status),
                        });
                    }
                    // (Not after a failed step: the client sends the copy again.)
                    ClientEvent::SyncCopyStored { local_id, hash } if durable => {
                        // Remember where our copy lives, to delete it on unsend.
                        let outcome = convo!(self, cx, on_sync_copy_stored(&local_id, &hash));
                        if let Err(code) = self.apply(cx, outcome) {
                            (cx.post)(&Event::Error { code });
                        }
                    }
                    ClientEvent::SwarmMessages {
                        subscription,
                        messages,
                    } => self.on_swarm_messages(cx, subscription, messages).await,
                    ClientEvent::ConfigPushed { tag, result, .. } => {
                        self.on_config_pushed(cx, tag, result).await;
                    }
                    // The outbox entry itself arrives as a `Persist` change.
                    _ => {}
                }
            }
        }
        // Show only what is durable.
        if let Err(code) = self.commit(cx).await {
            (cx.post)(&Event::Error { code });
        }
        self.flush_ui(cx).await;
        self.post_clock(cx);
        self.arm_timer();
    }

    /// Holds `intent` until the network time is known (see [`Held`]): saved with the step,
    /// and the app is told how many wait.
    pub(crate) async fn hold<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        intent: Held,
    ) -> Result<(), ErrorCode> {
        if self.held.len() >= MAX_HELD {
            return Err(ErrorCode::WaitingForNetworkTime);
        }
        self.held.push(intent);
        let saved = save_json(cx, HELD_RECORD, &self.held).await;
        self.run_actions(cx).await;
        saved
    }

    /// Runs the held intents, in order, now that the network time is known (inside the
    /// action loop: their client commands are drained with the rest).
    async fn run_held<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>) {
        let held = core::mem::take(&mut self.held);
        if let Err(code) = save_json(cx, HELD_RECORD, &self.held).await {
            (cx.post)(&Event::Error { code });
        }
        for intent in held {
            let outcome = match intent {
                Held::Text {
                    peer,
                    body,
                    reply_to,
                } => convo!(
                    self,
                    cx,
                    send_text(&dm(peer), body, reply_to.map(MessageKey))
                ),
                Held::React { peer, id, emoji } => {
                    convo!(self, cx, react(&dm(peer), MessageKey(id), emoji))
                }
                Held::Unsend { peer, id } => convo!(self, cx, unsend(&dm(peer), MessageKey(id))),
                Held::SetDisappearing { peer, setting } => match view::checked_setting(setting) {
                    Ok(stored) => convo!(self, cx, set_disappearing(&dm(peer), stored)),
                    Err(code) => {
                        (cx.post)(&Event::Error { code });
                        continue;
                    }
                },
                Held::Accept { peer } => {
                    self.sync_contact(cx, peer, sync::ContactChange::Accepted)
                        .await;
                    convo!(self, cx, accept(&dm(peer)))
                }
            };
            if let Err(code) = self.apply(cx, outcome) {
                (cx.post)(&Event::Error { code });
            }
        }
    }

    /// Tells the app about the clock when what it shows changes: far off or not, how many
    /// intents wait for the time, and once when the time becomes known.
    fn post_clock<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>) {
        let clock = ClockStatus {
            offset_ms: self
                .client
                .clock_synced()
                .then(|| self.client.time_offset_ms()),
            far_off: self.client.clock_far_off(),
            waiting: u32::try_from(self.held.len()).unwrap_or(u32::MAX),
        };
        let shown = self
            .clock_shown
            .map(|c| (c.offset_ms.is_some(), c.far_off, c.waiting));
        if shown != Some((clock.offset_ms.is_some(), clock.far_off, clock.waiting)) {
            self.clock_shown = Some(clock);
            (cx.post)(&Event::Clock { clock });
        }
    }

    /// Commits the step's staged writes in one IndexedDB transaction. On failure they are
    /// dropped and the client state is read back from what is durable.
    pub async fn commit<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>) -> Result<(), ErrorCode> {
        if let Err(e) = cx.store.commit().await {
            cx.store.discard();
            self.reload_client_state(cx.store, cx.vault, cx.rng).await;
            return Err(store_error(e));
        }
        Ok(())
    }

    /// Reads the client state's records back after a failed commit: the writer's view and
    /// the client's memory (outbox, dedup records, last hashes, own-swarm operations) were
    /// ahead of the store, so both go back to what is durable
    /// ([`Client::revert_to`]): messages whose records were lost are retrieved again.
    pub async fn reload_client_state<R: CryptoRng>(
        &mut self,
        store: &StepStore,
        vault: &UnlockedVault,
        rng: &mut R,
    ) {
        if let Ok((state, snapshot)) = ClientStateDb::load(store, vault, rng).await {
            self.state = state;
            self.client.revert_to(snapshot);
        }
        // Held intents go back to what is saved too.
        if let Ok(bytes) = vault.get_record(store, HELD_RECORD).await {
            self.held = bytes
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
        }
    }

    /// Applies one step's client changes: outbox states into the database first (the rules
    /// decide what they mean), then the client's own records.
    async fn persist<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        changes: &[PersistChange],
    ) -> Result<(), ErrorCode> {
        for change in changes {
            if let PersistChange::Outbox(entry) = change {
                let outcome = convo!(self, cx, on_outbox_changed(entry));
                self.apply(cx, outcome)?;
            }
        }
        self.persist_client_changes(cx, changes).await
    }

    /// Stages one step's client changes: only the records they touch
    /// (`store::client_state`), committed with the rest of the step.
    async fn persist_client_changes<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        changes: &[PersistChange],
    ) -> Result<(), ErrorCode> {
        let ops = self
            .state
            .stage(changes, cx.vault, cx.rng)
            .map_err(client_state_error)?;
        cx.store.write_batch(&ops).await.map_err(store_error)
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

    fn arm_timer(&mut self) {
        let now = net::now_ms();
        // The expiry is in network time; the timer runs on the local clock.
        let skew = i128::from(self.client.network_time_ms(now)) - i128::from(now);
        let expiry = self
            .convo
            .next_expiry()
            .map(|t| t.0)
            .map(|t| u64::try_from((i128::from(t) - skew).max(0)).unwrap_or(u64::MAX));
        let calls = self.calls.next_timeout().map(|t| t.0);
        let next = [
            self.client.next_timeout(),
            expiry,
            self.sync_push_due(),
            calls,
        ]
        .into_iter()
        .flatten()
        .min();
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

    /// Posts what changed: the list, the open conversation's messages, the block list.
    async fn flush_ui<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>) {
        let mut result = Ok(());
        if self.dirty_list {
            result = self.post_conversations(cx).await;
        }
        if result.is_ok()
            && let Some(peer) = self.open_peer()
            && self.dirty_peers.contains(&peer)
        {
            result = self.post_messages(cx, &peer).await;
        }
        self.dirty_peers.clear();
        if result.is_ok() && self.dirty_blocked {
            self.dirty_blocked = false;
            result = self.post_blocked(cx).await;
        }
        if let Err(code) = result {
            (cx.post)(&Event::Error { code });
        }
    }
}
