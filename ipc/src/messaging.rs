//! Display data for one-to-one messaging: conversations, messages, delivery states and the
//! status of the onion paths. Plain data only — the worker owns every key and decides what is
//! shown; the app renders these values as text.

use serde::{Deserialize, Serialize};

/// How a conversation stands with its peer.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    /// A normal conversation (started by us, or a request we accepted).
    Accepted,
    /// The first messages of an Account ID we do not know yet: a message request.
    Request,
    /// The peer is blocked: their messages are dropped unseen.
    Blocked,
}

/// One row of the conversation list.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
pub struct ConversationSummary {
    /// The peer's Account ID (66 hex characters).
    pub peer: String,
    /// The peer's display name, if they sent one (untrusted text: render as text).
    pub display_name: Option<String>,
    /// Accepted, request or blocked.
    pub kind: ConversationKind,
    /// A short preview of the last message (untrusted text).
    pub last_preview: Option<String>,
    /// When the last message was sent, ms since the Unix epoch.
    pub last_time_ms: Option<u64>,
    /// How many incoming messages are unread.
    pub unread: u32,
}

/// Which side wrote a message.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Written by the peer.
    Incoming,
    /// Written by us.
    Outgoing,
}

/// Where an outgoing message is; incoming messages are always `Received`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting in the durable outbox (offline, or no path yet).
    Pending,
    /// Being stored in the recipient's swarm.
    Sending,
    /// A node of the recipient's swarm acknowledged it.
    Sent,
    /// Sending failed; the user may retry.
    Failed,
    /// An incoming message.
    Received,
}

/// One message of the open conversation.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Serialize)]
pub struct MessageView {
    /// Local id, stable across reloads; used for retry and delete.
    pub id: u64,
    /// Who wrote it.
    pub direction: Direction,
    /// The text (untrusted for incoming messages: render as text, never as HTML).
    pub body: String,
    /// When it was sent, ms since the Unix epoch (the sender's clock).
    pub sent_ms: u64,
    /// Delivery state.
    pub state: DeliveryState,
}

/// The state of the onion paths, shown like Session's path indicator.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PathState {
    /// Finding nodes and building paths.
    Building,
    /// At least one path works.
    Connected,
    /// Requests are failing; retrying.
    Failing,
}
