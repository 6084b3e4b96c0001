//! Message layer: Session's 1:1 message encryption, padding, envelope wrapping and protobuf
//! types — everything between a [`proto::Content`] and the bytes stored in a swarm.
//!
//! - [`encrypt_for_recipient`] / [`decrypt_incoming`]: sign-then-seal (§5.1); the sender is
//!   derived only from the signed inner key.
//! - [`pad_message`] / [`unpad_message`]: 160-byte block padding (§5.2).
//! - [`encode_for_1o1`] / [`decode_envelope`]: `Content` ⇄ storage `data` (§5.3).
//! - [`proto`]: the proto2 messages (§5.4), including the disappearing-message fields (§9).
//! - [`compose_text`] and the other `compose_*` functions: typed outgoing messages with their
//!   storage TTL (§5.5); [`sync_copy`] for the own swarm.
//! - [`classify`]: an incoming message as a typed [`Event`], with size caps and the
//!   unsend/sync permission rules.
//! - [`DisappearingSetting`]: disappearing-message modes, timers, TTLs and local expiry (§9).
//!
//! Spec: docs/protocol.md §5, §9, vectors §11.1 and §11.8.

mod attachments;
mod compose;
mod disappearing;
mod envelope;
mod limits;
mod padding;
pub mod proto;
mod seal;
mod sealed_box;
mod semantics;

pub use attachments::{
    AttachmentMeta, MAX_ATTACHMENTS, MAX_CAPTION_BYTES, MAX_CONTENT_TYPE_BYTES,
    MAX_FILE_NAME_BYTES, MAX_KEY_BYTES, MAX_URL_BYTES,
};
pub use compose::{
    Outgoing, SendPrefs, TextDraft, compose_expiration_update, compose_reaction,
    compose_read_receipt, compose_request_accept, compose_text, compose_typing, compose_unsend,
    sync_copy,
};
pub use disappearing::{
    AFTER_READ_TIMERS, AFTER_SEND_TIMERS, DEFAULT_TTL_MS, DisappearingSetting,
    MAX_INCOMING_TIMER_SECS, TYPING_TTL_MS, after_read_swarm_expiry_ms, cap_storage_ttl_ms,
    expire_shorten_signature_message,
};
pub use limits::{
    Field, MAX_DISPLAY_NAME_BYTES, MAX_EMOJI_CHARS, MAX_INCOMING_BODY_CHARS,
    MAX_OUTGOING_BODY_CHARS, MAX_RECEIPT_TIMESTAMPS, is_bidi_control,
};
pub use semantics::{
    DataExtractionKind, Event, MAX_CALL_ID_BYTES, Profile, ProfilePicture, QuoteRef,
    ReactionChange, UnsupportedKind, classify, profile_is_newer,
};

pub use envelope::{
    Incoming, MessageId, decode_envelope, encode_for_1o1, unwrap_envelope, unwrap_shared_config,
    wrap_envelope, wrap_shared_config,
};
pub use padding::{PADDING_BLOCK, pad_message, unpad_message};
pub use seal::{
    Decrypted, ENCRYPTION_OVERHEAD, decrypt_incoming, encrypt_for_recipient,
    encrypt_for_recipient_deterministic,
};

use crate::error::ErrorKind;

/// Largest storage `data` a node accepts for one message (76,800 bytes before base64). Larger
/// input is rejected before parsing; larger output is refused.
pub const MAX_MESSAGE_DATA_LEN: usize = 76_800;

/// Why a message could not be built, opened or decoded. Carries no message bytes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The ciphertext is shorter than the encryption overhead.
    #[error("message too short")]
    TooShort,
    /// Incoming data exceeds [`MAX_MESSAGE_DATA_LEN`].
    #[error("incoming message too large")]
    IncomingTooLarge,
    /// The message to send would exceed [`MAX_MESSAGE_DATA_LEN`].
    #[error("outgoing message too large")]
    OutgoingTooLarge,
    /// The ciphertext is not a sealed box for this account. Deliberately vague.
    #[error("decryption failed")]
    DecryptFailed,
    /// The inner signature does not verify (forged, corrupted, or signed for another
    /// recipient and re-sealed).
    #[error("sender signature does not verify")]
    BadSignature,
    /// The signed inner sender key is not a usable Ed25519 public key.
    #[error("invalid sender key")]
    InvalidSenderKey,
    /// The recipient's X25519 key is unusable (low order).
    #[error("invalid recipient key")]
    InvalidRecipientKey,
    /// The bytes are not the expected protobuf / field shape.
    #[error("malformed {what}")]
    Malformed {
        /// Which part was malformed.
        what: &'static str,
    },
    /// An envelope type this layer does not handle (legacy closed groups).
    #[error("unsupported envelope type")]
    UnsupportedEnvelopeType,
    /// A `syncTarget` in a message not sent by the own account.
    #[error("sync target from another account")]
    ForeignSyncTarget,
    /// An unsend request for a message of another author.
    #[error("unsend request for another author's message")]
    ForeignUnsend,
    /// A wrapped config message not signed by the own account.
    #[error("config message from another account")]
    ForeignConfig,
    /// The caller's input for a message to send breaks a limit (see [`Field`]).
    #[error("invalid {0} in outgoing message")]
    InvalidOutgoing(Field),
    /// A received message breaks a limit (see [`Field`]).
    #[error("invalid {0} in incoming message")]
    InvalidIncoming(Field),
    /// An internal invariant failed (a bug in Umbra or a dependency).
    #[error("internal error: {0}")]
    Bug(&'static str),
}

impl MessageError {
    /// Coarse classification of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            MessageError::OutgoingTooLarge
            | MessageError::InvalidRecipientKey
            | MessageError::InvalidOutgoing(_) => ErrorKind::BadApiUsage,
            MessageError::Bug(_) => ErrorKind::Bug,
            MessageError::TooShort
            | MessageError::IncomingTooLarge
            | MessageError::DecryptFailed
            | MessageError::BadSignature
            | MessageError::InvalidSenderKey
            | MessageError::Malformed { .. }
            | MessageError::UnsupportedEnvelopeType
            | MessageError::ForeignSyncTarget
            | MessageError::ForeignUnsend
            | MessageError::ForeignConfig
            | MessageError::InvalidIncoming(_) => ErrorKind::PeerMisbehaved,
        }
    }
}
