//! Onion requests: the layered, per-hop encrypted requests a client sends through a path of
//! three service nodes (docs/protocol.md §3).
//!
//! This layer combines the wire framing ([`framing`]) with the per-hop AEAD ([`hop`]):
//! [`build`] produces the body a client POSTs to its guard node's `/onion_req/v2`,
//! [`response`] decrypts what comes back, and `node` (feature `node`) peels one layer on a
//! service node. Client and node share this one implementation, so they cannot drift apart.
//!
//! Spec: docs/protocol.md §3.2 (hop encryption), §3.3 (framing, builder, routing JSON),
//! §3.4 (responses), §3.5 (v4 request encoding), §11.6 (vectors).

pub mod build;
pub mod framing;
pub mod hop;
#[cfg(feature = "node")]
pub mod node;
pub mod response;
pub mod v4;

pub use build::{
    Destination, HttpProtocol, OnionRequest, PathHop, ServerDestination, build_final_request,
    build_request,
};
pub use framing::{FramingError, Layer, MAX_BODY_SIZE, decode_layer, encode_layer};
pub use hop::{EncType, HopKey};
pub use response::{
    MAX_RESPONSE_SIZE, ResponseKey, SnodeReply, decrypt_snode_response, decrypt_v4_response,
};
pub use v4::{V4Request, V4Response};

use crate::error::ErrorKind;

/// Maximum number of hops an onion request may traverse (`MAX_ONION_HOPS` of the storage
/// server). A `hop_no` above this is rejected.
pub const MAX_HOPS: u32 = 15;

/// Why building, peeling or decrypting an onion request failed.
///
/// Messages never contain attacker-controlled bytes or key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OnionError {
    /// The `[len][payload]{json}` framing of a layer is malformed.
    #[error("onion layer framing: {0}")]
    Framing(#[from] FramingError),
    /// AEAD decryption failed (wrong key, tampered ciphertext, or too short).
    #[error("onion layer decryption failed")]
    DecryptFailed,
    /// An X25519 key was invalid: wrong length/hex, or a low-order point giving an all-zero
    /// shared secret.
    #[error("invalid {what} key")]
    InvalidKey {
        /// Which key (e.g. "ephemeral", "destination").
        what: &'static str,
    },
    /// The `enc_type` value is not one this implementation supports.
    #[error("unsupported enc_type")]
    UnsupportedEncType,
    /// The routing/control JSON of a layer is missing a field or has one of the wrong type.
    #[error("invalid routing field `{field}`")]
    InvalidRouting {
        /// The JSON key at fault.
        field: &'static str,
    },
    /// The control JSON has none of "headers", "host" or "destination".
    #[error("onion layer has no destination")]
    NoDestination,
    /// A proxy target is not allowed (must start with `/loki/` or `/oxen/`, end with `/lsrpc`
    /// and contain no `?`).
    #[error("proxy target not allowed")]
    TargetNotAllowed,
    /// The request has passed through more than [`MAX_HOPS`] hops, or a path is too long.
    #[error("too many onion hops")]
    TooManyHops,
    /// A response from the network is malformed (after or before decryption).
    #[error("invalid onion response: {what}")]
    InvalidResponse {
        /// Which part of the response is at fault.
        what: &'static str,
    },
    /// The caller passed arguments the builder cannot use.
    #[error("invalid onion request argument: {what}")]
    BadArgument {
        /// Which argument is at fault.
        what: &'static str,
    },
}

impl OnionError {
    /// Coarse classification of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            OnionError::BadArgument { .. } => ErrorKind::BadApiUsage,
            OnionError::Framing(e) => e.kind(),
            OnionError::DecryptFailed
            | OnionError::InvalidKey { .. }
            | OnionError::UnsupportedEncType
            | OnionError::InvalidRouting { .. }
            | OnionError::NoDestination
            | OnionError::TargetNotAllowed
            | OnionError::TooManyHops
            | OnionError::InvalidResponse { .. } => ErrorKind::PeerMisbehaved,
        }
    }

    /// The HTTP status a service node answers with when peeling fails with this error
    /// (storage server: 400 for unparsable or undecryptable requests, 413 when too large).
    pub fn http_status(&self) -> u16 {
        match self {
            OnionError::Framing(FramingError::TooLarge) => 413,
            _ => 400,
        }
    }
}

/// Whether `target` may be used as the path of an HTTP proxy request (storage server
/// `is_onion_url_target_allowed`): it must start with `/loki/` or `/oxen/`, end with `/lsrpc`
/// and contain no `?`.
pub fn is_target_allowed(target: &str) -> bool {
    (target.starts_with("/loki/") || target.starts_with("/oxen/"))
        && target.ends_with("/lsrpc")
        && !target.contains('?')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_target_filter_storage_server_cases() {
        assert!(is_target_allowed("/loki/v3/lsrpc"));
        assert!(is_target_allowed("/loki/oxen/v4/lsrpc"));
        assert!(is_target_allowed("/oxen/v3/lsrpc"));
        assert!(is_target_allowed("/oxen/v4/lsrpc"));
        assert!(!is_target_allowed("/not_loki/v3/lsrpc"));
        assert!(!is_target_allowed("/loki/v3"));
        assert!(!is_target_allowed("/loki/v3/lsrpc?foo=bar"));
        assert!(!is_target_allowed(""));
    }

    #[test]
    fn test_error_kinds_and_status() {
        assert_eq!(OnionError::DecryptFailed.kind(), ErrorKind::PeerMisbehaved);
        assert_eq!(
            OnionError::BadArgument { what: "x" }.kind(),
            ErrorKind::BadApiUsage
        );
        assert_eq!(
            OnionError::Framing(FramingError::TooLarge).http_status(),
            413
        );
        assert_eq!(OnionError::DecryptFailed.http_status(), 400);
    }
}
