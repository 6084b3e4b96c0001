//! Storage-server RPC: constants, message hashes, namespaces, signed strings and typed
//! request parameters (docs/protocol.md §4).
//!
//! Everything here is pure: time is a `now_ms` parameter, no I/O. Clients use the
//! signature-string builders and parameter structs to form requests; the node uses the
//! same structs to decode them (decoding never panics) and the validation functions to
//! judge them. [`RpcError::status`] gives the HTTP status a real node answers with.

use thiserror::Error;

use crate::error::ErrorKind;

#[cfg(feature = "node")]
pub mod auth;
pub mod hash;
pub mod namespace;
pub mod params;
pub mod sign;
pub mod validate;

pub use hash::{is_valid_hash, message_hash};
pub use namespace::{Namespace, NamespaceSel};
pub use params::AccountId;

/// Maximum raw `data` bytes in one stored message.
pub const MAX_DATA_BYTES: usize = 76_800;
/// Maximum length of the base64 `data` string (4/3 of [`MAX_DATA_BYTES`]).
pub const MAX_DATA_B64: usize = 102_400;
/// Smallest allowed TTL (ms).
pub const TTL_MIN_MS: u64 = 10_000;
/// Largest TTL for public-inbox namespaces (14 days, ms).
pub const TTL_MAX_PUBLIC_MS: u64 = 14 * 24 * 3600 * 1000;
/// Largest TTL for private namespaces and expiry updates (30 days, ms).
pub const TTL_MAX_PRIVATE_MS: u64 = 30 * 24 * 3600 * 1000;
/// Store clock tolerance: `timestamp <= now + 10 s` and `expiry >= now - 10 s`.
pub const STORE_TOLERANCE_MS: u64 = 10_000;
/// Signed-request timestamp tolerance (±60 s).
pub const SIGNATURE_TOLERANCE_MS: u64 = 60_000;
/// Signed-request timestamp tolerance for copies forwarded between nodes (±70 s).
pub const SIGNATURE_TOLERANCE_FORWARDED_MS: u64 = 70_000;
/// Largest total size of one retrieve answer (bytes).
pub const RETRIEVE_MAX_SIZE: usize = 7_800_000;
/// Default `max_size` of a retrieve: −5, i.e. a fifth of [`RETRIEVE_MAX_SIZE`].
pub const RETRIEVE_DEFAULT_MAX_SIZE: i64 = -5;
/// Largest number of subrequests in a `batch` or `sequence`.
pub const MAX_SUBREQUESTS: usize = 20;
/// Timestamps below this (ms since the epoch, i.e. September 2001) are taken to be in
/// seconds and rejected.
pub const MIN_TIMESTAMP_MS: u64 = 1_000_000_000_000;
/// Largest HTTP request body a node accepts (10 MiB).
pub const MAX_REQUEST_BODY: usize = 10 * 1024 * 1024;
/// Hardfork version a node reports in `"hf"`.
pub const HARDFORK: [u64; 2] = [19, 3];
/// Length of a message hash string (unpadded base64 of 32 bytes).
pub const HASH_LEN: usize = 43;

/// Errors of the storage RPC layer; each maps to the HTTP status a node answers with.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RpcError {
    /// The request or a field of it is malformed (names the field, never its value).
    #[error("invalid request: {0}")]
    Malformed(&'static str),
    /// The method is not known.
    #[error("unknown method")]
    UnknownMethod,
    /// A signature was required but not given.
    #[error("signature required")]
    SignatureRequired,
    /// The signature (or the key binding of `pubkey_ed25519`) did not verify.
    #[error("Failed to verify signature")]
    BadSignature,
    /// The request time lies outside the allowed window.
    #[error("Timestamp error: check your clock")]
    ClockOutOfSync,
    /// TTL or expiry outside the allowed range.
    #[error("invalid request: ttl or expiry out of range")]
    InvalidTtl,
    /// The message data is too large.
    #[error("message too large")]
    DataTooLarge,
    /// The namespace may not be used for this operation.
    #[error("namespace not allowed")]
    NamespaceNotAllowed,
    /// Too many subrequests, or a nested batch.
    #[error("invalid batch")]
    BadBatch,
    /// `required` was set and nothing matched.
    #[error("no matching messages")]
    NotFound,
}

impl RpcError {
    /// The HTTP status a node answers this error with.
    pub fn status(&self) -> u16 {
        match self {
            // As session-storage-server: parse errors (unknown method, oversized data,
            // bad batch) are 400 and a TTL out of range is 403 (`oxenss/rpc/
            // request_handler.cpp` `process_client_req(store)`, `client_rpc_endpoints.cpp`).
            Self::Malformed(_)
            | Self::NamespaceNotAllowed
            | Self::BadBatch
            | Self::UnknownMethod
            | Self::DataTooLarge => 400,
            Self::InvalidTtl => 403,
            Self::NotFound => 404,
            Self::SignatureRequired | Self::BadSignature => 401,
            Self::ClockOutOfSync => 406,
        }
    }

    /// Coarse classification of the error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::ClockOutOfSync => ErrorKind::Network,
            _ => ErrorKind::BadApiUsage,
        }
    }
}
