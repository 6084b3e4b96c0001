//! The client's public vocabulary: identity, configuration, commands, the actions the driver
//! carries out, the events the UI learns, errors and counters. No behaviour lives here.

use std::collections::BTreeMap;

use super::{
    LocalId, OutboxState, PersistChange, RouteInfo, ServerReply, ServerRequestError, ServerTag,
    ServerTarget, ServiceNode, Subscription,
};
use crate::{
    address::{NetMs, StorageHash, SwarmAddr},
    error::ErrorKind,
    identity::{AccountId, Identity},
    message::{Event, Outgoing},
    onion::EncType,
    rpc::{Namespace, TTL_MAX_PUBLIC_MS},
};

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
    /// Attempts (each over a different path when possible) before a server request fails.
    pub server_request_attempts: u32,
    /// Blind bridges (base URLs), tried in this order: when not empty every request is an
    /// onion request POSTed to `<bridge>/v1/onion/<guard>`, and seeds are never asked (the
    /// pool starts from [`ClientConfig::bootstrap`]). Empty: straight to the nodes.
    pub bridges: Vec<String>,
    /// Nodes the pool starts from when it has fewer than it wants (the configuration's
    /// bootstrap list), before seeds are asked.
    pub bootstrap: Vec<ServiceNode>,
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
            server_request_attempts: 3,
            bridges: Vec::new(),
            bootstrap: Vec::new(),
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
        local_id: LocalId,
    },
    /// Poll the own swarm now.
    PollNow,
    /// Switch the polling cadence.
    SetPollingMode(PollingMode),
    /// Re-queue a failed (or waiting) outbox entry at once.
    Retry {
        /// The entry's id.
        local_id: LocalId,
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
        local_id: LocalId,
        /// Once sent, store a sync copy in the own swarm (messages with a `dataMessage` only).
        sync_copy: bool,
        /// A typing indicator: not persisted, no events, dropped once its TTL has passed.
        ephemeral: bool,
    },
    /// Shorten the swarm expiry of own messages to `expiry_ms` (signed `expire` with
    /// `shorten`, delete-after-read, `docs/protocol.md` §9). Durable; retried.
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
    /// Store a config message in `namespace` of the own swarm (a signed `store`, TTL 30
    /// days) and delete the messages it supersedes (`obsolete`), as one `sequence`
    /// (`docs/protocol.md` §4.4, §10): build it with
    /// [`ConfigState::push`](crate::config::ConfigState::push). Answered once by
    /// [`ClientEvent::ConfigPushed`] with the same `tag`. Retried; not persisted.
    PushConfig {
        /// The caller's handle (unique among pushes under way).
        tag: u64,
        /// The config namespace (2–5 for the user configs).
        namespace: Namespace,
        /// The storage `data` (at most 76,800 bytes).
        data: Vec<u8>,
        /// Storage hashes to delete in the same sequence.
        obsolete: Vec<String>,
    },
    /// Poll one more namespace of a swarm (or change the settings of an existing
    /// subscription to it). Not persisted: subscribe again after a restart. New messages
    /// come in [`ClientEvent::SwarmMessages`] (or, for namespace 0 of the own swarm, decoded
    /// as [`ClientEvent::MessageReceived`]).
    Subscribe(Subscription),
    /// Stop polling `namespace` of `swarm`.
    Unsubscribe {
        /// The swarm.
        swarm: SwarmAddr,
        /// The namespace.
        namespace: Namespace,
    },
    /// An HTTP request to a server through an onion path, answered once by
    /// [`ClientEvent::ServerResponse`] with the same `tag`. Not persisted.
    ServerRequest {
        /// The caller's handle (unique among requests under way).
        tag: ServerTag,
        /// The server.
        server: ServerTarget,
        /// HTTP method (`GET`, `POST`, …).
        method: String,
        /// Path and query on the server, starting with `/`.
        path: String,
        /// Request headers.
        headers: BTreeMap<String, String>,
        /// Request body.
        body: Option<Vec<u8>>,
    },
    /// Resolve an ONS name (answered with [`ClientEvent::OnsResolved`]).
    ResolveOns {
        /// The caller's handle (unique among lookups under way).
        tag: u64,
        /// The name as typed.
        name: String,
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
    /// `docs/protocol.md` §5.5): the conversation partner it was sent to. `None` for
    /// ordinary incoming messages.
    pub sync_target: Option<AccountId>,
    /// Sender's timestamp (ms; unauthenticated: order by `order_ms`).
    pub sent_ms: u64,
    /// Network time (ms) when this client received the message.
    pub received_ms: u64,
    /// Ordering key: `sent_ms` clamped into `[received_ms − TTL, received_ms + 60 s]`, so a
    /// wrong sender clock cannot move a message far into the past or future.
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
        local_id: LocalId,
        /// Its new state.
        state: OutboxState,
    },
    /// The sync copy of the outbox entry `local_id` is stored in the own swarm under `hash`
    /// (delete it from there to unsend).
    SyncCopyStored {
        /// The original entry's id.
        local_id: LocalId,
        /// Storage hash of the copy in the own swarm.
        hash: String,
    },
    /// The onion path indicator changed.
    PathStatusChanged(PathStatus),
    /// Requests now leave directly or through another bridge (the one in use failed, or
    /// the user changed the bridges).
    RouteChanged(RouteInfo),
    /// A node rejected a request because of the clock (406/425); the client resyncs its
    /// network time (with backoff).
    ClockOutOfSync,
    /// The network time is known for the first time (no earlier session had it): sent
    /// timestamps can be allocated ([`Client::clock_synced`](super::Client::clock_synced)).
    ClockSynced,
    /// Whether the device clock is far off the network's changed (more than a node's
    /// signature window, 60 s): tell the user. Umbra keeps working on network time.
    ClockSkew {
        /// Network minus device time (ms).
        offset_ms: i64,
        /// Beyond the warning threshold.
        far_off: bool,
    },
    /// The outcome of a [`ClientCommand::ServerRequest`].
    ServerResponse {
        /// The request's tag.
        tag: ServerTag,
        /// The server's answer, or why there is none.
        result: Result<ServerReply, ServerRequestError>,
    },
    /// The outcome of a [`ClientCommand::ResolveOns`]: the account every node asked agrees
    /// on, or why there is none.
    OnsResolved {
        /// The lookup's tag.
        tag: u64,
        /// The name as resolved (normalised), or as typed when it is not a name.
        name: String,
        /// The account.
        result: Result<AccountId, crate::ons::OnsError>,
    },
    /// The outcome of a [`ClientCommand::PushConfig`]: the storage hash of the stored
    /// message (pass it to [`ConfigState::confirm_pushed`](crate::config::ConfigState::confirm_pushed)).
    ConfigPushed {
        /// The push's tag.
        tag: u64,
        /// Its namespace.
        namespace: Namespace,
        /// The new message's hash, or why it was not stored.
        result: Result<String, super::ConfigPushError>,
    },
    /// New messages of a subscription that this client does not decode itself (any other
    /// than namespace 0 of the own swarm), deduplicated by hash, in the swarm's order.
    SwarmMessages {
        /// The subscription they came from.
        subscription: Subscription,
        /// The messages.
        messages: Vec<SwarmMessage>,
    },
}

/// One stored message of a swarm namespace, as retrieved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwarmMessage {
    /// Storage hash.
    pub hash: StorageHash,
    /// The stored bytes.
    pub data: Vec<u8>,
    /// The swarm's expiry of this copy.
    pub expiration_ms: Option<NetMs>,
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

/// Counters for diagnostics.
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
    /// A server request with this tag is under way already.
    #[error("duplicate server request tag")]
    DuplicateTag,
    /// Data over the storage limit.
    #[error("data too large")]
    TooLarge,
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
