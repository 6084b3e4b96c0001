//! The sans-IO messaging client (engineering-guide.md C1–C4): onion paths, node pool, swarm
//! cache, network time, the durable outbox for sending and the polling loop for receiving
//! 1:1 messages (session-protocol.md §3.4, §3.6, §4, §4.6, §5.5).
//!
//! The [`Client`] owns no sockets, clocks, timers or storage handles. The driver (the
//! worker) pushes inputs with [`Client::handle_command`], [`Client::handle_response`] and
//! [`Client::handle_timeout`], passing the current time and an RNG each time, then drains
//! [`Action`]s with [`Client::poll_action`] until it returns `None`:
//!
//! * [`Action::Http`]: POST `body` to `url`; report the outcome with
//!   [`Client::handle_response`] and the same [`RequestId`] (a timeout after `timeout_ms` is
//!   [`TransportFailure::Timeout`]);
//! * [`Action::Persist`]: apply these changes durably, in order, in one transaction
//!   ([`ClientSnapshot::apply`] shows the meaning of each);
//! * [`Action::Notify`]: tell the UI.
//!
//! Carry out actions in the order they come: a `Persist` must be durable before any later
//! `Http` is sent (the outbox and the dedup records rely on it). [`Client::next_timeout`] says
//! when to call [`Client::handle_timeout`] next.
//!
//! Every request goes through a 3-hop onion path except the seed request and the direct
//! `get_swarm` that tests a guard before use. Failure handling follows the desktop client:
//! a path that fails 3 times is rebuilt, a node that fails 3 times is dropped, a relay answer
//! `502 Next node not found: <hex>` drops that node at once, `421` replaces the cached swarm
//! and retries on another member, `406`/`425` report a clock problem. Signed timestamps use
//! the network time learned from the `"t"` of node answers (median offset of the last 5).

mod outbox;
mod snapshot;
mod wire;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rand_core::CryptoRng;

pub use outbox::{OutboxEntry, OutboxState, OwnSwarmOp, OwnSwarmOpKind};
pub use snapshot::{ClientSnapshot, PersistChange, SeenRecord};
pub use wire::ServiceNode;

use crate::{
    error::ErrorKind,
    identity::{AccountId, Identity},
    message::{
        Event, Outgoing, classify, decode_envelope, encode_for_1o1,
        proto::{Content, DataMessage, ExpirationType, LokiProfile},
    },
    onion::{Destination, EncType, PathHop, ResponseKey, build_request, decrypt_snode_response},
    rpc::{self, Namespace, TTL_MAX_PUBLIC_MS, sign},
};
use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use ed25519_dalek::{Signature, VerifyingKey};
use prost::Message as _;

/// How many `"t"` samples the network time offset is the median of.
const TIME_SAMPLES: usize = 5;
/// Extra time dedup records are kept beyond the message TTL, and the tolerance for stale
/// replays (security-and-reliability.md C8).
const REPLAY_MARGIN_MS: u64 = 60_000;
/// Delay before polling again after a failed poll.
const POLL_RETRY_MS: u64 = 250;

/// The public half of the account the client runs for. Signing uses the `&Identity` passed
/// to each `handle_*` call, so the client never holds the secret keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The account (Session ID).
    pub account_id: AccountId,
    /// The account's Ed25519 public key.
    pub ed25519_public: [u8; 32],
}

impl ClientIdentity {
    /// The public half of `identity`.
    pub fn from_identity(identity: &Identity) -> Self {
        ClientIdentity {
            account_id: identity.account_id(),
            ed25519_public: identity.ed25519_public(),
        }
    }
}

/// Tunables. [`ClientConfig::default`] gives the desktop client's values and the mainnet
/// seeds; tests and the local testnet set `seed_urls` and `node_scheme`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// Seed base URLs (`<seed>/json_rpc` is POSTed), tried in turn.
    pub seed_urls: Vec<String>,
    /// Scheme of node URLs: `"https"` on mainnet, `"http"` on a local testnet.
    pub node_scheme: String,
    /// Hops per onion path (guard included).
    pub hops: usize,
    /// Number of onion paths (= guard nodes).
    pub path_count: usize,
    /// Below this many known nodes the pool is fetched again from a seed.
    pub min_pool_size: usize,
    /// Timeout the driver applies to each HTTP request.
    pub request_timeout_ms: u64,
    /// Poll interval in the foreground (conversation open).
    pub poll_foreground_ms: u64,
    /// Poll interval in the background.
    pub poll_background_ms: u64,
    /// TTL of sent messages (at most 14 days for namespace 0).
    pub message_ttl_ms: u64,
    /// Attempts before an outbox entry becomes [`OutboxState::Failed`].
    pub max_send_attempts: u32,
    /// Failures after which a path is rebuilt or a node dropped.
    pub failure_threshold: u32,
    /// Interval of pool refreshes through a path (`oxend_request get_service_nodes`).
    pub pool_refresh_ms: u64,
    /// Delay before asking a seed, a guard candidate or a swarm again after a failure.
    pub retry_delay_ms: u64,
    /// Display name sent in `DataMessage.profile`.
    pub display_name: Option<String>,
    /// After a message is sent, store a sync copy in the own swarm for the account's other
    /// devices (`dataMessage.syncTarget`).
    pub send_sync_copies: bool,
    /// Encryption of onion layers.
    pub enc_type: EncType,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            seed_urls: vec![
                "https://seed1.getsession.org:4443".into(),
                "https://seed2.getsession.org:4443".into(),
                "https://seed3.getsession.org:4443".into(),
            ],
            node_scheme: "https".into(),
            hops: 3,
            path_count: 2,
            min_pool_size: 8,
            request_timeout_ms: 10_000,
            poll_foreground_ms: 1_000,
            poll_background_ms: 10_000,
            message_ttl_ms: TTL_MAX_PUBLIC_MS,
            max_send_attempts: 10,
            failure_threshold: 3,
            pool_refresh_ms: 2 * 3600 * 1000,
            retry_delay_ms: 1_000,
            display_name: None,
            send_sync_copies: true,
            enc_type: EncType::XChaCha20,
        }
    }
}

/// What the user (through the worker) asks the client to do.
#[derive(Clone, Debug, PartialEq, Eq)]
// Values pass once through a short queue; boxing the large variant buys nothing here.
#[allow(clippy::large_enum_variant)]
pub enum ClientCommand {
    /// Queue a text message; it is persisted before the first attempt.
    SendText {
        /// Recipient.
        to: AccountId,
        /// Text.
        body: String,
        /// Caller's id for the message (unique).
        local_id: String,
    },
    /// Poll the own swarm now.
    PollNow,
    /// Switch the polling cadence.
    SetPollingMode(PollingMode),
    /// Re-queue a failed (or waiting) outbox entry at once.
    Retry {
        /// The entry's id.
        local_id: String,
    },
    /// Change the display name sent with messages.
    SetDisplayName(Option<String>),
    /// Queue any composed message ([`crate::message::compose`]): stored in `to`'s swarm
    /// with the message's TTL and sent timestamp.
    Send {
        /// Recipient (the own account for a note to the own devices, e.g. an unsend copy).
        to: AccountId,
        /// The composed message.
        outgoing: Outgoing,
        /// Caller's id for the message (unique).
        local_id: String,
        /// Once sent, store a sync copy in the own swarm (messages with a `dataMessage` only).
        sync_copy: bool,
        /// A typing indicator: not persisted, no events, dropped once its TTL has passed.
        ephemeral: bool,
    },
    /// Shorten the swarm expiry of own messages to `expiry_ms` (signed `expire` with
    /// `shorten`, delete-after-read, session-protocol.md §9). Durable; retried.
    ExpireOwn {
        /// Storage hashes in the own swarm.
        hashes: Vec<String>,
        /// The new expiry (network ms).
        expiry_ms: u64,
    },
    /// Delete own messages from the own swarm (signed `delete`). Durable; retried.
    DeleteOwn {
        /// Storage hashes in the own swarm.
        hashes: Vec<String>,
    },
}

/// Polling cadence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollingMode {
    /// A conversation is open: poll every `poll_foreground_ms`, at once again after a poll
    /// that returned messages.
    Foreground,
    /// Poll every `poll_background_ms`.
    Background,
}

/// Identifies one HTTP request; pass it back with [`Client::handle_response`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// An HTTP request the driver must POST.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingHttp {
    /// Request id.
    pub id: RequestId,
    /// Full URL.
    pub url: String,
    /// `Content-Type` header value.
    pub content_type: &'static str,
    /// Request body.
    pub body: Vec<u8>,
    /// Give up after this long and report [`TransportFailure::Timeout`].
    pub timeout_ms: u64,
}

/// An HTTP answer (any status).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    /// HTTP status.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// Why no HTTP answer arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportFailure {
    /// No answer within `timeout_ms`.
    Timeout,
    /// Connection refused, reset, DNS or TLS failure.
    Unreachable,
}

/// The next effect the driver must carry out.
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
// Values pass once through a short queue; boxing the large variant buys nothing here.
#[allow(clippy::large_enum_variant)]
pub enum Action {
    /// Send an HTTP POST.
    Http(OutgoingHttp),
    /// Persist these changes, in order, in one transaction.
    Persist(Vec<PersistChange>),
    /// Tell the UI.
    Notify(ClientEvent),
}

/// A message received and shown to the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// Authenticated sender.
    pub from: AccountId,
    /// For a sync copy (sent by the own account from another device, `dataMessage.syncTarget`,
    /// session-protocol.md §5.5): the conversation partner it was sent to. `None` for
    /// ordinary incoming messages.
    pub sync_target: Option<AccountId>,
    /// Sender's timestamp (ms; unauthenticated: order by `order_ms`).
    pub sent_ms: u64,
    /// Network time (ms) when this client received the message.
    pub received_ms: u64,
    /// Ordering key: `sent_ms` clamped into `[received_ms − TTL, received_ms + 60 s]`
    /// (security-and-reliability.md §4.3 point 4), so a wrong sender clock cannot move a
    /// message far into the past or future.
    pub order_ms: u64,
    /// Text.
    pub body: String,
    /// Storage hash.
    pub hash: String,
    /// Sender's display name from `DataMessage.profile`.
    pub profile_name: Option<String>,
    /// What the message means ([`classify`]): a text, reaction, receipt, typing indicator,
    /// unsend, setting change, sync copy of any of these, ….
    pub event: Event,
    /// The swarm's expiry of this copy (network ms), from the retrieve answer.
    pub expiration_ms: Option<u64>,
}

/// Something the UI should learn. Free of secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
// Values pass once through a short queue; boxing the large variant buys nothing here.
#[allow(clippy::large_enum_variant)]
pub enum ClientEvent {
    /// A new message arrived (once per message id).
    MessageReceived(ReceivedMessage),
    /// An outbox entry changed state.
    OutboxUpdated {
        /// The entry's id.
        local_id: String,
        /// Its new state.
        state: OutboxState,
    },
    /// The sync copy of the outbox entry `local_id` is stored in the own swarm under `hash`
    /// (delete it from there to unsend).
    SyncCopyStored {
        /// The original entry's id.
        local_id: String,
        /// Storage hash of the copy in the own swarm.
        hash: String,
    },
    /// The onion path indicator changed.
    PathStatusChanged(PathStatus),
    /// A node rejected a request because of the clock (406/425).
    ClockOutOfSync,
}

/// State of the onion paths, for the UI indicator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathStatus {
    /// No usable path yet.
    Building,
    /// At least one path is usable.
    Connected,
    /// No usable path and the last attempts failed.
    Failing,
}

/// Counters for diagnostics (security-and-reliability.md R8).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Messages shown.
    pub received: u64,
    /// Deliveries dropped as duplicates (by hash or by sender and timestamp).
    pub duplicates_dropped: u64,
    /// Stored messages that did not decode or authenticate.
    pub malformed_dropped: u64,
    /// Replays older than the TTL dropped.
    pub stale_dropped: u64,
}

/// Misuse of the client API.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// An outbox entry with this local id exists already.
    #[error("duplicate local id")]
    DuplicateLocalId,
    /// No outbox entry has this local id.
    #[error("unknown local id")]
    UnknownLocalId,
    /// Empty message text.
    #[error("empty message")]
    EmptyMessage,
    /// An own-swarm operation without hashes.
    #[error("no message hashes")]
    NoHashes,
    /// The identity passed does not belong to this client.
    #[error("identity does not match the client")]
    WrongIdentity,
}

impl ClientError {
    /// Coarse classification of this error.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::BadApiUsage
    }
}

type NodeKey = [u8; 32];

struct Path {
    hops: Vec<ServiceNode>,
    failures: u32,
}

enum Work {
    Seed,
    GuardTest(ServiceNode),
    PoolRefresh,
    GetSwarm(AccountId),
    Store {
        local_id: String,
        /// The storage hash the swarm must acknowledge.
        expected_hash: String,
    },
    Retrieve {
        node: NodeKey,
    },
    OwnOp {
        id: u64,
    },
}

struct OnionCtx {
    key: ResponseKey,
    guard: NodeKey,
    dest: NodeKey,
}

struct InFlight {
    work: Work,
    onion: Option<OnionCtx>,
    /// Local time after which the request counts as timed out even if the driver never
    /// reports back (twice the transport timeout).
    expires_ms: u64,
}

/// The sans-IO messaging client. See the module documentation for the driving loop.
pub struct Client {
    me: ClientIdentity,
    config: ClientConfig,
    pool: BTreeMap<NodeKey, ServiceNode>,
    node_failures: BTreeMap<NodeKey, u32>,
    paths: Vec<Path>,
    guard_tests: BTreeSet<NodeKey>,
    pending_guards: Vec<ServiceNode>,
    guard_cooldown: BTreeMap<NodeKey, u64>,
    seed_in_flight: bool,
    seed_next_ms: u64,
    seed_index: usize,
    pool_refresh_in_flight: bool,
    pool_refresh_at_ms: u64,
    swarms: BTreeMap<AccountId, Vec<ServiceNode>>,
    swarm_fetching: BTreeSet<AccountId>,
    swarm_retry_at: BTreeMap<AccountId, u64>,
    outbox: Vec<OutboxEntry>,
    last_sent_ms: u64,
    last_failed_store_node: BTreeMap<String, NodeKey>,
    last_hashes: BTreeMap<String, String>,
    seen_hashes: BTreeMap<String, u64>,
    seen_ids: BTreeMap<(AccountId, u64), u64>,
    next_prune_ms: u64,
    polling: PollingMode,
    next_poll_ms: u64,
    poll_in_flight: bool,
    poll_cursor: usize,
    time_samples: VecDeque<i64>,
    offset_ms: i64,
    inflight: BTreeMap<u64, InFlight>,
    next_id: u64,
    actions: VecDeque<Action>,
    status: PathStatus,
    failing: bool,
    last_now: u64,
    stats: ClientStats,
    own_ops: Vec<OwnSwarmOp>,
    own_ops_in_flight: BTreeSet<u64>,
    next_op_id: u64,
}

/// TTL of the sync copy of `entry`: a delete-after-read message counts as read by its sender
/// at sending, so its copy in the own swarm lives for the timer; otherwise the original's TTL.
fn sync_copy_ttl(entry: &OutboxEntry) -> Option<u64> {
    let content = entry
        .content
        .as_ref()
        .and_then(|c| B64.decode(c).ok())
        .and_then(|b| Content::decode(b.as_slice()).ok());
    match content {
        Some(c)
            if c.expiration_type == Some(ExpirationType::DeleteAfterRead as i32)
                && c.expiration_timer.is_some_and(|t| t > 0) =>
        {
            c.expiration_timer.map(|t| u64::from(t) * 1000)
        }
        _ => entry.ttl_ms,
    }
}

fn pick<R: CryptoRng + ?Sized>(rng: &mut R, len: usize) -> usize {
    // `len` is small; the modulo bias is irrelevant for node selection.
    (rng.next_u64() % len.max(1) as u64) as usize
}

impl Client {
    /// A client for `identity_public`, resumed from `snapshot` if given (unsent outbox
    /// entries, including those that were in flight, are queued again).
    pub fn new(
        identity_public: ClientIdentity,
        config: ClientConfig,
        snapshot: Option<ClientSnapshot>,
    ) -> Self {
        let mut client = Client {
            me: identity_public,
            config,
            pool: BTreeMap::new(),
            node_failures: BTreeMap::new(),
            paths: Vec::new(),
            guard_tests: BTreeSet::new(),
            pending_guards: Vec::new(),
            guard_cooldown: BTreeMap::new(),
            seed_in_flight: false,
            seed_next_ms: 0,
            seed_index: 0,
            pool_refresh_in_flight: false,
            pool_refresh_at_ms: 0,
            swarms: BTreeMap::new(),
            swarm_fetching: BTreeSet::new(),
            swarm_retry_at: BTreeMap::new(),
            outbox: Vec::new(),
            last_sent_ms: 0,
            last_failed_store_node: BTreeMap::new(),
            last_hashes: BTreeMap::new(),
            seen_hashes: BTreeMap::new(),
            seen_ids: BTreeMap::new(),
            next_prune_ms: 0,
            polling: PollingMode::Foreground,
            next_poll_ms: 0,
            poll_in_flight: false,
            poll_cursor: 0,
            time_samples: VecDeque::new(),
            offset_ms: 0,
            inflight: BTreeMap::new(),
            next_id: 0,
            actions: VecDeque::new(),
            status: PathStatus::Building,
            failing: false,
            last_now: 0,
            stats: ClientStats::default(),
            own_ops: Vec::new(),
            own_ops_in_flight: BTreeSet::new(),
            next_op_id: 1,
        };
        if let Some(snap) = snapshot {
            client.restore(snap);
        }
        client
    }

    fn restore(&mut self, snap: ClientSnapshot) {
        for mut entry in snap.outbox {
            if entry.state == OutboxState::Sent {
                continue;
            }
            if entry.state == OutboxState::Sending {
                entry.state = OutboxState::Pending;
                entry.next_attempt_ms = 0;
            }
            self.last_sent_ms = self.last_sent_ms.max(entry.sent_ms);
            self.outbox.push(entry);
        }
        self.last_hashes = snap.last_hashes;
        for rec in snap.seen {
            if let Some(hash) = rec.hash {
                self.seen_hashes.insert(hash, rec.expires_ms);
            }
            if let (Some(a), Some(t)) = (rec.author, rec.sent_ms) {
                self.seen_ids.insert((a, t), rec.expires_ms);
            }
        }
        self.pool = snap.pool.into_iter().map(|n| (n.ed25519, n)).collect();
        self.swarms = snap.swarms;
        for mut op in snap.own_ops {
            self.next_op_id = self.next_op_id.max(op.id + 1);
            op.next_attempt_ms = 0;
            self.own_ops.push(op);
        }
    }

    /// Handles a user command. On success the resulting actions are queued.
    ///
    /// # Errors
    ///
    /// [`ClientError`] for a duplicate or unknown local id, an empty message, or an
    /// `identity` that is not this client's.
    pub fn handle_command<R: CryptoRng + ?Sized>(
        &mut self,
        cmd: ClientCommand,
        identity: &Identity,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<(), ClientError> {
        if identity.ed25519_public() != self.me.ed25519_public {
            return Err(ClientError::WrongIdentity);
        }
        match cmd {
            ClientCommand::SendText { to, body, local_id } => {
                if body.is_empty() {
                    return Err(ClientError::EmptyMessage);
                }
                if self.outbox.iter().any(|e| e.local_id == local_id) {
                    return Err(ClientError::DuplicateLocalId);
                }
                let mut entry = OutboxEntry {
                    local_id,
                    to,
                    body,
                    sent_ms: 0,
                    state: OutboxState::Pending,
                    attempts: 0,
                    next_attempt_ms: now_ms,
                    hash: None,
                    sync_target: None,
                    content: None,
                    ttl_ms: None,
                    sync_copy: None,
                    ephemeral: false,
                };
                // Until a node has told us the time, the local clock may be far off: the
                // timestamp is then assigned at the first send attempt.
                if !self.time_samples.is_empty() {
                    self.assign_sent_ms(&mut entry, now_ms);
                }
                self.outbox.push(entry.clone());
                self.emit_outbox(&entry);
            }
            ClientCommand::PollNow => self.next_poll_ms = now_ms,
            ClientCommand::SetPollingMode(mode) => {
                self.polling = mode;
                let soon = now_ms + self.poll_interval();
                self.next_poll_ms = self.next_poll_ms.min(soon);
            }
            ClientCommand::Retry { local_id } => {
                let entry = self
                    .outbox
                    .iter_mut()
                    .find(|e| e.local_id == local_id)
                    .ok_or(ClientError::UnknownLocalId)?;
                if matches!(entry.state, OutboxState::Failed | OutboxState::Pending) {
                    entry.state = OutboxState::Pending;
                    entry.attempts = 0;
                    entry.next_attempt_ms = now_ms;
                    let entry = entry.clone();
                    self.emit_outbox(&entry);
                }
            }
            ClientCommand::SetDisplayName(name) => self.config.display_name = name,
            ClientCommand::Send {
                to,
                outgoing,
                local_id,
                sync_copy,
                ephemeral,
            } => {
                if self.outbox.iter().any(|e| e.local_id == local_id) {
                    return Err(ClientError::DuplicateLocalId);
                }
                let sent_ms = outgoing.sent_timestamp_ms;
                let entry = OutboxEntry {
                    local_id,
                    to,
                    body: String::new(),
                    sent_ms,
                    state: OutboxState::Pending,
                    attempts: 0,
                    next_attempt_ms: now_ms,
                    hash: None,
                    sync_target: None,
                    content: Some(B64.encode(outgoing.content.encode_to_vec())),
                    ttl_ms: Some(outgoing.ttl_ms),
                    sync_copy: Some(sync_copy),
                    ephemeral,
                };
                self.last_sent_ms = self.last_sent_ms.max(sent_ms);
                if !ephemeral {
                    // The own copies (note to self, sync copies) must not come back as new.
                    let expires = sent_ms + self.config.message_ttl_ms + REPLAY_MARGIN_MS;
                    self.seen_ids.insert((self.me.account_id, sent_ms), expires);
                    self.persist(vec![PersistChange::Seen(SeenRecord {
                        hash: None,
                        author: Some(self.me.account_id),
                        sent_ms: Some(sent_ms),
                        expires_ms: expires,
                    })]);
                }
                self.outbox.push(entry.clone());
                self.emit_outbox(&entry);
            }
            ClientCommand::ExpireOwn { hashes, expiry_ms } => {
                self.queue_own_op(OwnSwarmOpKind::Expire { hashes, expiry_ms }, now_ms)?;
            }
            ClientCommand::DeleteOwn { hashes } => {
                self.queue_own_op(OwnSwarmOpKind::Delete { hashes }, now_ms)?;
            }
        }
        self.pump(identity, now_ms, rng);
        Ok(())
    }

    /// Handles the outcome of the request `id`. Unknown ids (already answered) are ignored.
    pub fn handle_response<R: CryptoRng + ?Sized>(
        &mut self,
        id: RequestId,
        result: Result<HttpResponse, TransportFailure>,
        identity: &Identity,
        now_ms: u64,
        rng: &mut R,
    ) {
        if let Some(inflight) = self.inflight.remove(&id.0) {
            match inflight.onion {
                None => self.direct_response(inflight.work, result, now_ms),
                Some(ctx) => self.onion_response(inflight.work, ctx, result, identity, now_ms),
            }
        }
        self.pump(identity, now_ms, rng);
    }

    /// Handles the passing of time (call at [`Client::next_timeout`]).
    pub fn handle_timeout<R: CryptoRng + ?Sized>(
        &mut self,
        identity: &Identity,
        now_ms: u64,
        rng: &mut R,
    ) {
        self.pump(identity, now_ms, rng);
    }

    /// The next action for the driver, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When (local clock, ms) [`Client::handle_timeout`] should be called next, if ever.
    pub fn next_timeout(&self) -> Option<u64> {
        let now = self.last_now;
        let mut times: Vec<u64> = self.inflight.values().map(|f| f.expires_ms).collect();
        // When a pending typing indicator goes stale (local clock).
        let offset = self.offset_ms;
        times.extend(self.outbox.iter().filter(|e| e.ephemeral).map(|e| {
            e.sent_ms
                .saturating_add(e.ttl_ms.unwrap_or(0))
                .saturating_add_signed(-offset)
                + 1
        }));
        if self.pool.len() < self.config.min_pool_size.max(self.config.hops) && !self.seed_in_flight
        {
            times.push(self.seed_next_ms);
        }
        if self.paths.len() + self.guard_tests.len() + self.pending_guards.len()
            < self.config.path_count
        {
            times.extend(self.guard_cooldown.values().copied());
        }
        if !self.paths.is_empty() {
            if !self.pool_refresh_in_flight {
                times.push(self.pool_refresh_at_ms);
            }
            times.extend(self.swarm_retry_at.values().copied());
            times.extend(
                self.outbox
                    .iter()
                    .filter(|e| e.state == OutboxState::Pending)
                    .map(|e| e.next_attempt_ms),
            );
            times.extend(
                self.own_ops
                    .iter()
                    .filter(|o| !self.own_ops_in_flight.contains(&o.id))
                    .map(|o| o.next_attempt_ms),
            );
            if !self.poll_in_flight && self.swarms.contains_key(&self.me.account_id) {
                times.push(self.next_poll_ms);
            }
        }
        times.into_iter().filter(|&t| t > now).min()
    }

    /// The onion path indicator.
    pub fn path_status(&self) -> PathStatus {
        self.status
    }

    /// The nodes of each onion path, guard first (for the UI's path view).
    pub fn paths(&self) -> Vec<Vec<ServiceNode>> {
        self.paths.iter().map(|p| p.hops.clone()).collect()
    }

    /// The known service nodes.
    pub fn pool(&self) -> Vec<ServiceNode> {
        self.pool.values().cloned().collect()
    }

    /// The cached swarm of `account`, if any.
    pub fn cached_swarm(&self, account: &AccountId) -> Option<&[ServiceNode]> {
        self.swarms.get(account).map(Vec::as_slice)
    }

    /// Diagnostic counters.
    pub fn stats(&self) -> ClientStats {
        self.stats
    }

    /// The outbox (unsent and failed entries, and entries sent since the last restore).
    pub fn outbox(&self) -> &[OutboxEntry] {
        &self.outbox
    }

    /// Network time (ms) at local time `now_ms`, using the offset learned from nodes.
    pub fn network_time_ms(&self, now_ms: u64) -> u64 {
        now_ms.saturating_add_signed(self.offset_ms)
    }

    /// The current network time offset (network minus local, ms).
    pub fn time_offset_ms(&self) -> i64 {
        self.offset_ms
    }

    // ----- bookkeeping helpers -------------------------------------------------------

    fn poll_interval(&self) -> u64 {
        match self.polling {
            PollingMode::Foreground => self.config.poll_foreground_ms,
            PollingMode::Background => self.config.poll_background_ms,
        }
    }

    fn persist(&mut self, changes: Vec<PersistChange>) {
        if !changes.is_empty() {
            self.actions.push_back(Action::Persist(changes));
        }
    }

    fn notify(&mut self, event: ClientEvent) {
        self.actions.push_back(Action::Notify(event));
    }

    /// Gives `entry` its sent timestamp (network time, unique per sender: the pair
    /// (sender, sent_ms) identifies the message) and remembers it as seen, so that the own
    /// copies (note to self, sync copies) never come back as incoming.
    fn assign_sent_ms(&mut self, entry: &mut OutboxEntry, now_ms: u64) {
        let sent_ms = self.network_time_ms(now_ms).max(self.last_sent_ms + 1);
        self.last_sent_ms = sent_ms;
        entry.sent_ms = sent_ms;
        let expires = sent_ms + self.config.message_ttl_ms + REPLAY_MARGIN_MS;
        self.seen_ids.insert((self.me.account_id, sent_ms), expires);
        // Durable before any request carries this timestamp.
        self.persist(vec![
            PersistChange::Seen(SeenRecord {
                hash: None,
                author: Some(self.me.account_id),
                sent_ms: Some(sent_ms),
                expires_ms: expires,
            }),
            PersistChange::Outbox(entry.clone()),
        ]);
    }

    fn queue_own_op(&mut self, kind: OwnSwarmOpKind, now_ms: u64) -> Result<(), ClientError> {
        let empty = match &kind {
            OwnSwarmOpKind::Expire { hashes, .. } | OwnSwarmOpKind::Delete { hashes } => {
                hashes.is_empty()
            }
        };
        if empty {
            return Err(ClientError::NoHashes);
        }
        let op = OwnSwarmOp {
            id: self.next_op_id,
            kind,
            attempts: 0,
            next_attempt_ms: now_ms,
        };
        self.next_op_id += 1;
        self.persist(vec![PersistChange::OwnOp(op.clone())]);
        self.own_ops.push(op);
        Ok(())
    }

    /// Pending own-swarm operations (expire, delete), for diagnostics and tests.
    pub fn own_ops(&self) -> &[OwnSwarmOp] {
        &self.own_ops
    }

    fn emit_outbox(&mut self, entry: &OutboxEntry) {
        if entry.ephemeral {
            return;
        }
        self.persist(vec![PersistChange::Outbox(entry.clone())]);
        if entry.sync_target.is_some() {
            return;
        }
        self.notify(ClientEvent::OutboxUpdated {
            local_id: entry.local_id.clone(),
            state: entry.state,
        });
    }

    fn record_time(&mut self, body: &[u8], now_ms: u64) {
        let Some(t) = wire::parse_t(body) else {
            return;
        };
        let (Ok(t), Ok(now)) = (i64::try_from(t), i64::try_from(now_ms)) else {
            return;
        };
        if self.time_samples.len() == TIME_SAMPLES {
            self.time_samples.pop_front();
        }
        self.time_samples.push_back(t - now);
        let mut sorted: Vec<i64> = self.time_samples.iter().copied().collect();
        sorted.sort_unstable();
        self.offset_ms = sorted[sorted.len() / 2];
    }

    fn next_request_id(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId(self.next_id)
    }

    fn node_url(&self, node: &ServiceNode, route: &str) -> String {
        format!(
            "{}://{}:{}{}",
            self.config.node_scheme, node.ip, node.port, route
        )
    }

    fn persist_pool(&mut self) {
        let nodes = self.pool.values().cloned().collect();
        self.persist(vec![PersistChange::Pool(nodes)]);
    }

    /// Removes a node from the pool, every swarm and every path containing it.
    fn drop_node(&mut self, key: &NodeKey) {
        self.node_failures.remove(key);
        let was_in_pool = self.pool.remove(key).is_some();
        let before = self.paths.len();
        self.paths
            .retain(|p| !p.hops.iter().any(|h| h.ed25519 == *key));
        if self.paths.len() != before {
            self.failing = true;
        }
        let mut changes = Vec::new();
        for (account, nodes) in self.swarms.iter_mut() {
            let len = nodes.len();
            nodes.retain(|n| n.ed25519 != *key);
            if nodes.len() != len {
                changes.push(PersistChange::Swarm {
                    account: *account,
                    nodes: nodes.clone(),
                });
            }
        }
        self.swarms.retain(|_, nodes| !nodes.is_empty());
        self.persist(changes);
        if was_in_pool {
            self.persist_pool();
        }
    }

    fn node_failed(&mut self, key: &NodeKey) {
        let count = self.node_failures.entry(*key).or_insert(0);
        *count += 1;
        if *count >= self.config.failure_threshold {
            self.drop_node(key);
        }
    }

    fn path_failed(&mut self, guard: &NodeKey) {
        let threshold = self.config.failure_threshold;
        if let Some(i) = self.paths.iter().position(|p| p.hops[0].ed25519 == *guard) {
            self.paths[i].failures += 1;
            if self.paths[i].failures >= threshold {
                // Desktop rule: a path that failed too often is dropped with its guard.
                self.paths.remove(i);
                self.failing = true;
                self.drop_node(guard);
            }
        }
    }

    fn set_swarm(&mut self, account: AccountId, nodes: Vec<ServiceNode>) {
        self.persist(vec![PersistChange::Swarm {
            account,
            nodes: nodes.clone(),
        }]);
        self.swarms.insert(account, nodes);
    }

    // ----- response handling ---------------------------------------------------------

    fn direct_response(
        &mut self,
        work: Work,
        result: Result<HttpResponse, TransportFailure>,
        now_ms: u64,
    ) {
        let ok_body = match result {
            Ok(resp) if resp.status == 200 => Some(resp.body),
            _ => None,
        };
        match work {
            Work::Seed => {
                self.seed_in_flight = false;
                match ok_body.as_deref().and_then(wire::parse_node_list) {
                    Some(nodes) if !nodes.is_empty() => {
                        self.seed_index = 0;
                        for n in nodes {
                            self.pool.insert(n.ed25519, n);
                        }
                        self.node_failures.clear();
                        self.persist_pool();
                    }
                    _ => {
                        // Next seed, with a delay doubling per round of failed seeds (≤ 64×).
                        self.seed_index += 1;
                        let rounds = self.seed_index / self.config.seed_urls.len().max(1);
                        let factor = 1u64 << rounds.min(6);
                        self.seed_next_ms = now_ms + self.config.retry_delay_ms * factor;
                        self.failing = true;
                    }
                }
            }
            Work::GuardTest(node) => {
                self.guard_tests.remove(&node.ed25519);
                let valid = ok_body.as_deref().and_then(wire::parse_swarm).is_some();
                if valid {
                    if let Some(body) = &ok_body {
                        self.record_time(body, now_ms);
                    }
                    if self.pool.contains_key(&node.ed25519) {
                        self.pending_guards.push(node);
                    }
                } else {
                    self.guard_cooldown
                        .insert(node.ed25519, now_ms + 10 * self.config.retry_delay_ms);
                    self.node_failed(&node.ed25519);
                    self.failing = true;
                }
            }
            _ => {}
        }
    }
}

/// How an onion request ended.
enum OnionOutcome {
    Reply(u16, String),
    PathFailed,
    NodeNotFound(NodeKey),
    DestFailed,
}

impl Client {
    fn classify(ctx: &OnionCtx, result: Result<HttpResponse, TransportFailure>) -> OnionOutcome {
        let resp = match result {
            Err(_) => return OnionOutcome::PathFailed,
            Ok(resp) => resp,
        };
        if resp.status != 200 {
            let text = String::from_utf8_lossy(&resp.body);
            if let Some(rest) = text.trim().strip_prefix("Next node not found: ")
                && let Some(key) = wire::parse_hex32(rest.trim())
            {
                return OnionOutcome::NodeNotFound(key);
            }
            // A relay could not complete the request: blame the path and the destination.
            return if resp.status == 502 || resp.status == 504 || resp.status == 503 {
                OnionOutcome::DestFailed
            } else {
                OnionOutcome::PathFailed
            };
        }
        match decrypt_snode_response(&ctx.key, &resp.body) {
            Ok(reply) => OnionOutcome::Reply(reply.status, reply.body),
            Err(_) => OnionOutcome::PathFailed,
        }
    }

    fn onion_response(
        &mut self,
        work: Work,
        ctx: OnionCtx,
        result: Result<HttpResponse, TransportFailure>,
        identity: &Identity,
        now_ms: u64,
    ) {
        match Self::classify(&ctx, result) {
            OnionOutcome::Reply(200, body) => {
                self.record_time(body.as_bytes(), now_ms);
                if let Some(p) = self
                    .paths
                    .iter_mut()
                    .find(|p| p.hops[0].ed25519 == ctx.guard)
                {
                    p.failures = 0;
                }
                self.node_failures.remove(&ctx.dest);
                self.work_succeeded(work, body.as_bytes(), &ctx.dest, identity, now_ms);
            }
            OnionOutcome::Reply(421, body) => {
                let account = match &work {
                    Work::GetSwarm(a) => Some(*a),
                    Work::Retrieve { .. } | Work::OwnOp { .. } => Some(self.me.account_id),
                    Work::Store { local_id, .. } => self
                        .outbox
                        .iter()
                        .find(|e| &e.local_id == local_id)
                        .map(|e| e.to),
                    _ => None,
                };
                match (account, wire::parse_swarm(body.as_bytes())) {
                    (Some(a), Some(nodes)) if !nodes.is_empty() => {
                        self.set_swarm(a, nodes);
                    }
                    _ => self.node_failed(&ctx.dest),
                }
                self.work_failed(work, &ctx.dest, now_ms, false);
            }
            OnionOutcome::Reply(404, _) if matches!(work, Work::OwnOp { .. }) => {
                // Nothing left to delete or expire on this swarm: done.
                self.work_succeeded(work, b"{}", &ctx.dest, identity, now_ms);
            }
            OnionOutcome::Reply(406 | 425, _) => {
                self.notify(ClientEvent::ClockOutOfSync);
                self.work_failed(work, &ctx.dest, now_ms, true);
            }
            OnionOutcome::Reply(_, _) => {
                self.node_failed(&ctx.dest);
                self.work_failed(work, &ctx.dest, now_ms, true);
            }
            OnionOutcome::PathFailed => {
                self.path_failed(&ctx.guard);
                self.work_failed(work, &ctx.dest, now_ms, true);
            }
            OnionOutcome::NodeNotFound(key) => {
                self.drop_node(&key);
                self.work_failed(work, &ctx.dest, now_ms, true);
            }
            OnionOutcome::DestFailed => {
                self.path_failed(&ctx.guard);
                self.node_failed(&ctx.dest);
                self.work_failed(work, &ctx.dest, now_ms, true);
            }
        }
    }

    /// Puts failed work back in its queue. `counts` is false when the failure says nothing
    /// about the request itself (421: retry at once on the new swarm).
    fn work_failed(&mut self, work: Work, dest: &NodeKey, now_ms: u64, counts: bool) {
        match work {
            Work::Seed | Work::GuardTest(_) => {}
            Work::PoolRefresh => {
                self.pool_refresh_in_flight = false;
                self.pool_refresh_at_ms = now_ms + self.config.retry_delay_ms;
            }
            Work::GetSwarm(account) => {
                self.swarm_fetching.remove(&account);
                self.swarm_retry_at
                    .insert(account, now_ms + self.config.retry_delay_ms);
            }
            Work::Store { local_id, .. } => {
                let max = self.config.max_send_attempts;
                let Some(entry) = self.outbox.iter_mut().find(|e| e.local_id == local_id) else {
                    return;
                };
                if entry.attempts >= max && counts {
                    entry.state = OutboxState::Failed;
                } else {
                    entry.state = OutboxState::Pending;
                    entry.next_attempt_ms = if counts {
                        now_ms + outbox::backoff_ms(entry.attempts)
                    } else {
                        now_ms
                    };
                }
                let entry = entry.clone();
                self.last_failed_store_node.insert(local_id, *dest);
                self.emit_outbox(&entry);
            }
            Work::Retrieve { .. } => {
                self.poll_in_flight = false;
                self.next_poll_ms = if counts {
                    now_ms + POLL_RETRY_MS
                } else {
                    now_ms
                };
            }
            Work::OwnOp { id } => {
                self.own_ops_in_flight.remove(&id);
                let max = self.config.max_send_attempts;
                let Some(pos) = self.own_ops.iter().position(|o| o.id == id) else {
                    return;
                };
                if counts && self.own_ops[pos].attempts >= max {
                    // Given up: the swarm's own TTL still removes the message in time.
                    self.own_ops.remove(pos);
                    self.persist(vec![PersistChange::OwnOpDone { id }]);
                    return;
                }
                let op = &mut self.own_ops[pos];
                op.next_attempt_ms = if counts {
                    now_ms + outbox::backoff_ms(op.attempts)
                } else {
                    now_ms
                };
                let op = op.clone();
                self.persist(vec![PersistChange::OwnOp(op)]);
            }
        }
    }

    fn work_succeeded(
        &mut self,
        work: Work,
        body: &[u8],
        dest: &NodeKey,
        identity: &Identity,
        now_ms: u64,
    ) {
        match work {
            Work::Seed | Work::GuardTest(_) => {}
            Work::PoolRefresh => {
                self.pool_refresh_in_flight = false;
                self.pool_refresh_at_ms = now_ms + self.config.pool_refresh_ms;
                if let Some(nodes) = wire::parse_node_list(body)
                    && nodes.len() >= self.config.min_pool_size
                {
                    self.pool = nodes.into_iter().map(|n| (n.ed25519, n)).collect();
                    self.persist_pool();
                }
            }
            Work::GetSwarm(account) => {
                self.swarm_fetching.remove(&account);
                match wire::parse_swarm(body) {
                    Some(nodes) if !nodes.is_empty() => {
                        self.swarm_retry_at.remove(&account);
                        self.set_swarm(account, nodes);
                    }
                    _ => {
                        self.swarm_retry_at
                            .insert(account, now_ms + self.config.retry_delay_ms);
                    }
                }
            }
            Work::Store {
                local_id,
                expected_hash,
            } => {
                let to = self
                    .outbox
                    .iter()
                    .find(|e| e.local_id == local_id)
                    .map(|e| e.to);
                let confirmations = to.map_or(0, |to| {
                    self.count_store_acks(body, &to, dest, &expected_hash)
                });
                if confirmations == 0 {
                    // No signed acknowledgement of our message from a swarm member.
                    self.node_failed(dest);
                    self.work_failed(
                        Work::Store {
                            local_id,
                            expected_hash,
                        },
                        dest,
                        now_ms,
                        true,
                    );
                    return;
                }
                let Some(entry) = self.outbox.iter_mut().find(|e| e.local_id == local_id) else {
                    return;
                };
                entry.state = OutboxState::Sent;
                entry.hash = Some(expected_hash);
                let entry = entry.clone();
                self.outbox.retain(|e| e.local_id != local_id);
                self.last_failed_store_node.remove(&local_id);
                self.emit_outbox(&entry);
                if entry.sync_target.is_some() {
                    if let (Some(original), Some(hash)) =
                        (entry.local_id.strip_suffix("/sync"), entry.hash.clone())
                    {
                        self.notify(ClientEvent::SyncCopyStored {
                            local_id: original.to_owned(),
                            hash,
                        });
                    }
                    return;
                }
                let me = self.me.account_id;
                let wanted = entry.sync_copy.unwrap_or(self.config.send_sync_copies);
                if wanted && !entry.ephemeral && entry.to != me {
                    let ttl_ms = sync_copy_ttl(&entry);
                    let copy = OutboxEntry {
                        local_id: format!("{}/sync", entry.local_id),
                        to: me,
                        state: OutboxState::Pending,
                        attempts: 0,
                        next_attempt_ms: now_ms,
                        hash: None,
                        sync_target: Some(entry.to),
                        ttl_ms,
                        ..entry
                    };
                    self.outbox.push(copy.clone());
                    self.emit_outbox(&copy);
                }
            }
            Work::OwnOp { id } => {
                self.own_ops_in_flight.remove(&id);
                self.own_ops.retain(|o| o.id != id);
                self.persist(vec![PersistChange::OwnOpDone { id }]);
            }
            Work::Retrieve { node } => {
                self.poll_in_flight = false;
                match wire::parse_retrieve(body) {
                    Some((messages, more)) => {
                        let got_any = !messages.is_empty();
                        self.receive(messages, &node, identity, now_ms);
                        self.next_poll_ms = if got_any || more {
                            now_ms
                        } else {
                            now_ms + self.poll_interval()
                        };
                    }
                    None => {
                        self.node_failed(dest);
                        self.next_poll_ms = now_ms + POLL_RETRY_MS;
                    }
                }
            }
        }
    }

    /// How many members of `to`'s swarm (or the contacted node `dest`) acknowledged storing
    /// `expected_hash` with a valid Ed25519 signature over the hash string.
    fn count_store_acks(
        &self,
        body: &[u8],
        to: &AccountId,
        dest: &NodeKey,
        expected_hash: &str,
    ) -> usize {
        let members: BTreeSet<NodeKey> = self
            .swarms
            .get(to)
            .map(|s| s.iter().map(|n| n.ed25519).collect())
            .unwrap_or_default();
        wire::parse_store_acks(body)
            .into_iter()
            .filter(|ack| {
                (members.contains(&ack.member) || ack.member == *dest)
                    && ack.hash == expected_hash
                    && VerifyingKey::from_bytes(&ack.member).is_ok_and(|vk| {
                        vk.verify_strict(
                            ack.hash.as_bytes(),
                            &Signature::from_bytes(&ack.signature),
                        )
                        .is_ok()
                    })
            })
            .count()
    }

    /// Decodes retrieved messages, drops duplicates, stale replays and malformed ones, and
    /// emits the rest with their persist changes.
    fn receive(
        &mut self,
        messages: Vec<wire::RetrievedMessage>,
        node: &NodeKey,
        identity: &Identity,
        now_ms: u64,
    ) {
        let net_now = self.network_time_ms(now_ms);
        let ttl = self.config.message_ttl_ms;
        let keep_until = net_now + ttl + REPLAY_MARGIN_MS;
        let mut changes = Vec::new();
        let mut events = Vec::new();
        let mut last = None;
        for msg in messages {
            last = Some(msg.hash.clone());
            if self.seen_hashes.contains_key(&msg.hash) {
                self.stats.duplicates_dropped += 1;
                continue;
            }
            let expires = msg.expiration_ms.unwrap_or(keep_until).max(keep_until);
            let mut record = SeenRecord {
                hash: Some(msg.hash.clone()),
                author: None,
                sent_ms: None,
                expires_ms: expires,
            };
            self.seen_hashes.insert(msg.hash.clone(), expires);
            let decoded = msg.data.as_deref().map(|d| decode_envelope(identity, d));
            match decoded {
                Some(Ok(incoming)) => {
                    let id = (incoming.sender, incoming.sent_timestamp_ms);
                    record.author = Some(id.0);
                    record.sent_ms = Some(id.1);
                    let stale = incoming
                        .sent_timestamp_ms
                        .saturating_add(ttl + REPLAY_MARGIN_MS)
                        < net_now;
                    if let std::collections::btree_map::Entry::Vacant(slot) =
                        self.seen_ids.entry(id)
                        && !stale
                    {
                        slot.insert(expires);
                        let dm = incoming.content.data_message.as_ref();
                        let sync_target = incoming.sync_target(&self.me.account_id);
                        // A contact claiming to write in our name elsewhere, an unsend of
                        // another author's message, or fields over their limits.
                        let classified = classify(&incoming, &self.me.account_id);
                        if let (Ok(event), Ok(sync_target)) = (classified, &sync_target) {
                            let body = dm.and_then(|d| d.body.clone()).unwrap_or_default();
                            let sync_target = *sync_target;
                            self.stats.received += 1;
                            events.push(ClientEvent::MessageReceived(ReceivedMessage {
                                from: incoming.sender,
                                sync_target,
                                sent_ms: incoming.sent_timestamp_ms,
                                received_ms: net_now,
                                order_ms: incoming
                                    .sent_timestamp_ms
                                    .clamp(net_now.saturating_sub(ttl), net_now + REPLAY_MARGIN_MS),
                                body,
                                hash: msg.hash.clone(),
                                profile_name: dm
                                    .and_then(|d| d.profile.as_ref())
                                    .and_then(|p| p.display_name.clone()),
                                event,
                                expiration_ms: msg.expiration_ms,
                            }));
                        } else {
                            self.stats.malformed_dropped += 1;
                        }
                    } else if stale {
                        self.stats.stale_dropped += 1;
                    } else if incoming.sender != self.me.account_id {
                        // (Our own sent messages coming back are expected, not duplicates.)
                        self.stats.duplicates_dropped += 1;
                    }
                }
                _ => self.stats.malformed_dropped += 1,
            }
            changes.push(PersistChange::Seen(record));
        }
        if let Some(hash) = last {
            let node_hex = hex::encode(node);
            self.last_hashes.insert(node_hex.clone(), hash.clone());
            changes.push(PersistChange::LastHash {
                node: node_hex,
                hash,
            });
        }
        if net_now >= self.next_prune_ms {
            self.seen_hashes.retain(|_, exp| *exp >= net_now);
            self.seen_ids.retain(|_, exp| *exp >= net_now);
            changes.push(PersistChange::PruneSeen { before_ms: net_now });
            self.next_prune_ms = net_now + 3600 * 1000;
        }
        // Persist before showing: the dedup records must be durable first.
        self.persist(changes);
        for e in events {
            self.notify(e);
        }
    }

    // ----- scheduling ----------------------------------------------------------------

    /// Starts every request that is due and possible.
    fn pump<R: CryptoRng + ?Sized>(&mut self, identity: &Identity, now_ms: u64, rng: &mut R) {
        self.last_now = now_ms;
        // Requests the driver never answered count as timed out.
        let expired: Vec<u64> = self
            .inflight
            .iter()
            .filter(|(_, f)| f.expires_ms <= now_ms)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some(f) = self.inflight.remove(&id) {
                match f.onion {
                    None => self.direct_response(f.work, Err(TransportFailure::Timeout), now_ms),
                    Some(ctx) => self.onion_response(
                        f.work,
                        ctx,
                        Err(TransportFailure::Timeout),
                        identity,
                        now_ms,
                    ),
                }
            }
        }
        // Typing indicators that could not go out within their TTL are pointless now.
        let net_now = self.network_time_ms(now_ms);
        self.outbox.retain(|e| {
            !(e.ephemeral
                && e.state == OutboxState::Pending
                && e.sent_ms.saturating_add(e.ttl_ms.unwrap_or(0)) < net_now)
        });
        self.ensure_pool(now_ms);
        self.ensure_paths(now_ms, rng);
        self.update_status();
        if self.paths.is_empty() {
            return;
        }
        if !self.pool_refresh_in_flight && now_ms >= self.pool_refresh_at_ms {
            if self.pool_refresh_at_ms == 0 {
                // First run: the pool came from the seed or the snapshot just now.
                self.pool_refresh_at_ms = now_ms + self.config.pool_refresh_ms;
            } else if let Some(dest) = self.random_pool_node(rng)
                && self.send_onion(&dest, wire::oxend_pool_request(), Work::PoolRefresh, rng)
            {
                self.pool_refresh_in_flight = true;
            } else {
                self.pool_refresh_at_ms = now_ms + self.config.retry_delay_ms;
            }
        }
        let me = self.me.account_id;
        self.ensure_swarm(me, now_ms, rng);
        self.dispatch_outbox(identity, now_ms, rng);
        self.dispatch_own_ops(identity, now_ms, rng);
        self.dispatch_poll(identity, now_ms, rng);
    }

    fn ensure_pool(&mut self, now_ms: u64) {
        let wanted = self.config.min_pool_size.max(self.config.hops);
        if self.pool.len() >= wanted || self.seed_in_flight || now_ms < self.seed_next_ms {
            return;
        }
        if self.config.seed_urls.is_empty() {
            return;
        }
        let seed = &self.config.seed_urls[self.seed_index % self.config.seed_urls.len()];
        let url = format!("{}/json_rpc", seed.trim_end_matches('/'));
        let id = self.next_request_id();
        self.inflight.insert(
            id.0,
            InFlight {
                work: Work::Seed,
                onion: None,
                expires_ms: now_ms + 2 * self.config.request_timeout_ms,
            },
        );
        self.seed_in_flight = true;
        self.actions.push_back(Action::Http(OutgoingHttp {
            id,
            url,
            content_type: "application/json",
            body: wire::seed_request(),
            timeout_ms: self.config.request_timeout_ms,
        }));
    }

    fn nodes_in_use(&self) -> BTreeSet<NodeKey> {
        let mut used: BTreeSet<NodeKey> = self
            .paths
            .iter()
            .flat_map(|p| p.hops.iter().map(|h| h.ed25519))
            .collect();
        used.extend(self.guard_tests.iter().copied());
        used.extend(self.pending_guards.iter().map(|g| g.ed25519));
        used
    }

    fn ensure_paths<R: CryptoRng + ?Sized>(&mut self, now_ms: u64, rng: &mut R) {
        self.guard_cooldown.retain(|_, until| *until > now_ms);
        // Turn tested guards into paths.
        while let Some(guard) = self.pending_guards.pop() {
            if self.paths.len() >= self.config.path_count || !self.pool.contains_key(&guard.ed25519)
            {
                continue;
            }
            let used = self.nodes_in_use();
            let mut fresh: Vec<ServiceNode> = self
                .pool
                .values()
                .filter(|n| !used.contains(&n.ed25519))
                .cloned()
                .collect();
            // With a small pool, relays may be shared between paths (never guards).
            if fresh.len() < self.config.hops.saturating_sub(1) {
                let guards: BTreeSet<NodeKey> =
                    self.paths.iter().map(|p| p.hops[0].ed25519).collect();
                fresh = self
                    .pool
                    .values()
                    .filter(|n| n.ed25519 != guard.ed25519 && !guards.contains(&n.ed25519))
                    .cloned()
                    .collect();
            }
            if fresh.len() < self.config.hops.saturating_sub(1) {
                continue;
            }
            let mut hops = vec![guard];
            while hops.len() < self.config.hops {
                let i = pick(rng, fresh.len());
                hops.push(fresh.swap_remove(i));
            }
            self.paths.push(Path { hops, failures: 0 });
            self.failing = false;
        }
        // Test new guard candidates.
        while self.paths.len() + self.guard_tests.len() < self.config.path_count
            && self.pool.len() >= self.config.hops
        {
            let used = self.nodes_in_use();
            let candidates: Vec<ServiceNode> = self
                .pool
                .values()
                .filter(|n| {
                    !used.contains(&n.ed25519) && !self.guard_cooldown.contains_key(&n.ed25519)
                })
                .cloned()
                .collect();
            if candidates.is_empty() {
                break;
            }
            let guard = candidates[pick(rng, candidates.len())].clone();
            let id = self.next_request_id();
            let url = self.node_url(&guard, "/storage_rpc/v1");
            self.guard_tests.insert(guard.ed25519);
            self.inflight.insert(
                id.0,
                InFlight {
                    work: Work::GuardTest(guard),
                    onion: None,
                    expires_ms: now_ms + 2 * self.config.request_timeout_ms,
                },
            );
            self.actions.push_back(Action::Http(OutgoingHttp {
                id,
                url,
                content_type: "application/json",
                body: wire::get_swarm_request(&self.me.account_id),
                timeout_ms: self.config.request_timeout_ms,
            }));
        }
    }

    fn update_status(&mut self) {
        let status = if !self.paths.is_empty() {
            PathStatus::Connected
        } else if self.failing {
            PathStatus::Failing
        } else {
            PathStatus::Building
        };
        if status != self.status {
            self.status = status;
            self.notify(ClientEvent::PathStatusChanged(status));
        }
    }

    fn random_pool_node<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> Option<ServiceNode> {
        let in_paths: BTreeSet<NodeKey> = self
            .paths
            .iter()
            .flat_map(|p| p.hops.iter().map(|h| h.ed25519))
            .collect();
        let nodes: Vec<&ServiceNode> = self
            .pool
            .values()
            .filter(|n| !in_paths.contains(&n.ed25519))
            .collect();
        if nodes.is_empty() {
            return None;
        }
        Some(nodes[pick(rng, nodes.len())].clone())
    }

    fn ensure_swarm<R: CryptoRng + ?Sized>(
        &mut self,
        account: AccountId,
        now_ms: u64,
        rng: &mut R,
    ) {
        if self.swarms.get(&account).is_some_and(|s| !s.is_empty())
            || self.swarm_fetching.contains(&account)
            || self
                .swarm_retry_at
                .get(&account)
                .is_some_and(|t| *t > now_ms)
        {
            return;
        }
        let sent = match self.random_pool_node(rng) {
            Some(dest) => self.send_onion(
                &dest,
                wire::get_swarm_request(&account),
                Work::GetSwarm(account),
                rng,
            ),
            None => false,
        };
        if sent {
            self.swarm_fetching.insert(account);
        } else {
            self.swarm_retry_at
                .insert(account, now_ms + self.config.retry_delay_ms);
        }
    }

    /// Sends `payload` to `dest` through a random path that does not contain `dest`.
    /// Returns false (nothing sent) if no such path exists or the request cannot be built.
    fn send_onion<R: CryptoRng + ?Sized>(
        &mut self,
        dest: &ServiceNode,
        payload: Vec<u8>,
        work: Work,
        rng: &mut R,
    ) -> bool {
        let eligible: Vec<usize> = self
            .paths
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.hops.iter().any(|h| h.ed25519 == dest.ed25519))
            .map(|(i, _)| i)
            .collect();
        if eligible.is_empty() {
            return false;
        }
        let path = &self.paths[eligible[pick(rng, eligible.len())]];
        let hops: Vec<PathHop> = path
            .hops
            .iter()
            .map(|n| PathHop {
                ed25519: n.ed25519,
                x25519: n.x25519,
            })
            .collect();
        let guard = path.hops[0].clone();
        let destination = Destination::Snode {
            ed25519: dest.ed25519,
            x25519: dest.x25519,
            payload,
        };
        let request = match build_request(&hops, &destination, self.config.enc_type, rng) {
            Ok(r) => r,
            Err(_) => {
                // A node key is unusable (low order): drop the destination.
                self.drop_node(&dest.ed25519);
                return false;
            }
        };
        let id = self.next_request_id();
        let url = self.node_url(&guard, "/onion_req/v2");
        self.inflight.insert(
            id.0,
            InFlight {
                work,
                onion: Some(OnionCtx {
                    key: request.response_key,
                    guard: guard.ed25519,
                    dest: dest.ed25519,
                }),
                expires_ms: self.last_now + 2 * self.config.request_timeout_ms,
            },
        );
        self.actions.push_back(Action::Http(OutgoingHttp {
            id,
            url,
            content_type: "application/octet-stream",
            body: request.body,
            timeout_ms: self.config.request_timeout_ms,
        }));
        true
    }

    fn dispatch_outbox<R: CryptoRng + ?Sized>(
        &mut self,
        identity: &Identity,
        now_ms: u64,
        rng: &mut R,
    ) {
        // One message in flight per recipient, oldest first, so they are stored in order.
        let mut busy: BTreeSet<AccountId> = BTreeSet::new();
        let mut due: Vec<usize> = Vec::new();
        for (i, e) in self.outbox.iter().enumerate() {
            match e.state {
                OutboxState::Sending => {
                    busy.insert(e.to);
                }
                OutboxState::Pending => {
                    if busy.insert(e.to) && e.next_attempt_ms <= now_ms {
                        due.push(i);
                    }
                }
                OutboxState::Sent | OutboxState::Failed => {}
            }
        }
        for i in due {
            let to = self.outbox[i].to;
            let members = match self.swarms.get(&to) {
                Some(m) if !m.is_empty() => m.clone(),
                _ => {
                    self.ensure_swarm(to, now_ms, rng);
                    continue;
                }
            };
            let avoid = self
                .last_failed_store_node
                .get(&self.outbox[i].local_id)
                .copied();
            let preferred: Vec<&ServiceNode> = members
                .iter()
                .filter(|n| Some(n.ed25519) != avoid)
                .collect();
            let choices = if preferred.is_empty() {
                members.iter().collect()
            } else {
                preferred
            };
            let dest = choices[pick(rng, choices.len())].clone();
            if self.outbox[i].sent_ms == 0 {
                let mut entry = self.outbox[i].clone();
                self.assign_sent_ms(&mut entry, now_ms);
                self.outbox[i] = entry;
            }
            let entry = &self.outbox[i];
            let content = self.entry_content(entry);
            let ttl_ms = entry.ttl_ms.unwrap_or(self.config.message_ttl_ms);
            let encoded = content.ok_or(()).and_then(|c| {
                encode_for_1o1(identity, &to, &c, entry.sent_ms, rng).map_err(|_| ())
            });
            let data = match encoded {
                Ok(d) => d,
                Err(_) => {
                    // Too large or unusable recipient key: retrying cannot help.
                    let entry = &mut self.outbox[i];
                    entry.state = OutboxState::Failed;
                    let entry = entry.clone();
                    self.emit_outbox(&entry);
                    continue;
                }
            };
            let payload = wire::store_request(&to, self.network_time_ms(now_ms), ttl_ms, &data);
            let local_id = self.outbox[i].local_id.clone();
            let recipient = rpc::AccountId {
                prefix: to.as_bytes()[0],
                key: to.x25519_public(),
            };
            let expected_hash = rpc::message_hash(&recipient, Namespace::DEFAULT, &data);
            let work = Work::Store {
                local_id,
                expected_hash,
            };
            if self.send_onion(&dest, payload, work, rng) {
                let entry = &mut self.outbox[i];
                entry.state = OutboxState::Sending;
                entry.attempts += 1;
                let entry = entry.clone();
                self.emit_outbox(&entry);
            } else {
                // Not sent (no usable path): look again shortly, without counting an attempt.
                self.outbox[i].next_attempt_ms = now_ms + POLL_RETRY_MS;
            }
        }
    }

    /// The Content an outbox entry sends: its stored Content (with the sync target set on a
    /// sync copy), or for a plain text entry the text with the own profile. `None` if the
    /// stored Content does not decode (it was written by this client, so only on damage).
    fn entry_content(&self, entry: &OutboxEntry) -> Option<Content> {
        let Some(encoded) = &entry.content else {
            return Some(Content {
                data_message: Some(DataMessage {
                    body: Some(entry.body.clone()),
                    sync_target: entry.sync_target.map(|t| t.to_string()),
                    profile: self.config.display_name.as_ref().map(|name| LokiProfile {
                        display_name: Some(name.clone()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            });
        };
        let bytes = B64.decode(encoded).ok()?;
        let mut content = Content::decode(bytes.as_slice()).ok()?;
        if let Some(target) = entry.sync_target {
            content.data_message.as_mut()?.sync_target = Some(target.to_string());
        }
        Some(content)
    }

    /// Sends every due own-swarm operation to a member of the own swarm.
    fn dispatch_own_ops<R: CryptoRng + ?Sized>(
        &mut self,
        identity: &Identity,
        now_ms: u64,
        rng: &mut R,
    ) {
        let me = self.me.account_id;
        let Some(members) = self.swarms.get(&me).filter(|m| !m.is_empty()).cloned() else {
            return;
        };
        let due: Vec<usize> = (0..self.own_ops.len())
            .filter(|&i| {
                let op = &self.own_ops[i];
                !self.own_ops_in_flight.contains(&op.id) && op.next_attempt_ms <= now_ms
            })
            .collect();
        for i in due {
            let op = self.own_ops[i].clone();
            let payload = match &op.kind {
                OwnSwarmOpKind::Expire { hashes, expiry_ms } => {
                    let sig =
                        identity.sign(&sign::expire(sign::ExpireMode::Shorten, *expiry_ms, hashes));
                    wire::expire_request(&me, &self.me.ed25519_public, hashes, *expiry_ms, &sig)
                }
                OwnSwarmOpKind::Delete { hashes } => {
                    let sig = identity.sign(&sign::delete(hashes));
                    wire::delete_request(&me, &self.me.ed25519_public, hashes, &sig)
                }
            };
            let dest = members[pick(rng, members.len())].clone();
            if self.send_onion(&dest, payload, Work::OwnOp { id: op.id }, rng) {
                self.own_ops_in_flight.insert(op.id);
                self.own_ops[i].attempts += 1;
            } else {
                self.own_ops[i].next_attempt_ms = now_ms + POLL_RETRY_MS;
            }
        }
    }

    fn dispatch_poll<R: CryptoRng + ?Sized>(
        &mut self,
        identity: &Identity,
        now_ms: u64,
        rng: &mut R,
    ) {
        if self.poll_in_flight || now_ms < self.next_poll_ms {
            return;
        }
        let Some(members) = self.swarms.get(&self.me.account_id) else {
            return;
        };
        if members.is_empty() {
            return;
        }
        // Rotate among the swarm members, one per poll round.
        let node = members[self.poll_cursor % members.len()].clone();
        self.poll_cursor = self.poll_cursor.wrapping_add(1);
        let timestamp = self.network_time_ms(now_ms);
        let signature = identity.sign(&sign::retrieve(Namespace::DEFAULT, timestamp));
        let last_hash = self.last_hashes.get(&hex::encode(node.ed25519)).cloned();
        let payload = wire::retrieve_request(
            &self.me.account_id,
            &self.me.ed25519_public,
            last_hash.as_deref(),
            timestamp,
            &signature,
        );
        if self.send_onion(&node, payload, Work::Retrieve { node: node.ed25519 }, rng) {
            self.poll_in_flight = true;
        } else {
            // No path avoids this member right now: try the next one shortly.
            self.next_poll_ms = now_ms + POLL_RETRY_MS;
        }
    }
}
