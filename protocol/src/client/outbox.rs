//! The durable outbox (security-and-reliability.md §4.3 point 1, test R6): every message the
//! user sends is an [`OutboxEntry`] from the moment it is composed until a swarm member
//! acknowledges it. Each state change is emitted as a persist change, and a client restored
//! from a snapshot resumes the entries that are not yet sent.

use serde::{Deserialize, Serialize};

use crate::identity::AccountId;

/// Where an outgoing message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutboxState {
    /// Waiting for its turn (or for a retry time after a failure).
    Pending,
    /// A store request is in flight.
    Sending,
    /// A swarm member acknowledged the store.
    Sent,
    /// Gave up after too many attempts; [`super::ClientCommand::Retry`] re-queues it.
    Failed,
}

/// One outgoing 1:1 text message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The caller's id for the message (unique per account).
    pub local_id: String,
    /// Recipient.
    pub to: AccountId,
    /// Message text.
    pub body: String,
    /// The message's sent timestamp (network time, ms); with the sender it identifies the
    /// message, so every retry carries the same value and receivers drop repeats. 0 until
    /// assigned (at the first attempt when the network time was not yet known at composing).
    pub sent_ms: u64,
    /// Current state.
    pub state: OutboxState,
    /// Send attempts made so far.
    pub attempts: u32,
    /// Earliest time (local clock, ms) of the next attempt while `Pending`.
    pub next_attempt_ms: u64,
    /// Storage hash acknowledged by the swarm, once `Sent`.
    pub hash: Option<String>,
    /// Set on the sync copy of a message (stored in the own swarm, session-protocol.md §5.5):
    /// the partner the original went to. Sync copies are internal: they are persisted but
    /// not announced with `OutboxUpdated`.
    #[serde(default)]
    pub sync_target: Option<AccountId>,
    /// The protobuf `Content` to send (any kind composed by [`crate::message::compose`]),
    /// base64 of its encoding. `None` for a plain text entry (`body`), as before this field.
    #[serde(default)]
    pub content: Option<String>,
    /// Storage TTL (ms); `None` means the client's configured message TTL.
    #[serde(default)]
    pub ttl_ms: Option<u64>,
    /// Whether a sync copy goes to the own swarm once this is sent; `None` means the client's
    /// configuration (entries from before this field).
    #[serde(default)]
    pub sync_copy: Option<bool>,
    /// A short-lived notice (typing indicator): never persisted, no events, dropped once its
    /// TTL has passed instead of being retried.
    #[serde(default)]
    pub ephemeral: bool,
}

/// A signed request on the own swarm that must eventually be carried out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OwnSwarmOpKind {
    /// `expire` with `shorten`: these messages expire at `expiry_ms` at the latest
    /// (delete-after-read, session-protocol.md §9).
    Expire {
        /// Storage hashes.
        hashes: Vec<String>,
        /// New expiry (network ms).
        expiry_ms: u64,
    },
    /// `delete`: remove these messages (unsend).
    Delete {
        /// Storage hashes.
        hashes: Vec<String>,
    },
}

/// One pending own-swarm operation (durable, retried with the outbox backoff).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnSwarmOp {
    /// Unique id (assigned by the client).
    pub id: u64,
    /// What to do.
    pub kind: OwnSwarmOpKind,
    /// Attempts made so far.
    pub attempts: u32,
    /// Earliest time (local clock, ms) of the next attempt.
    pub next_attempt_ms: u64,
}

/// Delay before retry number `attempts` (1-based): 500 ms doubling, capped at 30 s.
pub(crate) fn backoff_ms(attempts: u32) -> u64 {
    let exp = attempts.saturating_sub(1).min(6);
    (500u64 << exp).min(30_000)
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn backoff_doubles_then_caps() {
        assert_eq!(backoff_ms(1), 500);
        assert_eq!(backoff_ms(2), 1000);
        assert_eq!(backoff_ms(4), 4000);
        assert_eq!(backoff_ms(7), 30_000);
        assert_eq!(backoff_ms(50), 30_000);
    }
}
