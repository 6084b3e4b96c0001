//! Config layer: Session's config sync between devices (libsession "configs"), sans-IO.
//!
//! Each of the four user configs lives in its own namespace of the account's own swarm as one
//! (or, during conflicts, several) encrypted config messages. This module parses, merges and
//! builds them exactly as libsession does:
//!
//! - [`bencode`]: canonical bt-encoding, bounded strict decoder;
//! - [`message`]: the config message (`#` seqno, `&` data, `<` lagged diffs, `=` diff,
//!   `~` signature), its data model and libsession's merge;
//! - [`crypto`]: padding, deterministic encryption, zstd;
//! - [`state`]: [`ConfigState`], one per namespace: merge what was pulled, tell whether to
//!   push, build the push, confirm it, dump/load;
//! - [`user_profile`], [`contacts`], [`convo_info_volatile`], [`user_groups`]: typed views
//!   over the data. Keys Umbra does not know are never touched, so another client's data
//!   survives Umbra's changes.
//!
//! Not here: polling, storing, deleting (the client state machine does the I/O), and group
//! configs (namespaces 12–14; only the signature hook exists).
//!
//! Spec: docs/protocol.md §10, §11.8, §4.3–4.4; upstream `libsession-util: src/config.cpp`,
//! `src/config/base.cpp`, `src/config/encrypt.cpp`, `src/config/protos.cpp`,
//! `docs/config-merge-logic.md`, `include/session/config/*.hpp`.

pub mod bencode;
pub mod contacts;
pub mod convo_info_volatile;
pub mod crypto;
pub mod message;
pub mod state;
pub mod user_groups;
pub mod user_profile;

pub use message::{ConfigMessage, Dict, DictValue, Scalar, Set};
pub use state::{ConfigState, MergeOutcome, Push, PushState};

use crate::{error::ErrorKind, message::proto::SharedConfigKind};

/// Largest config message pushed or accepted (the storage server's `data` limit, libsession
/// `MAX_MESSAGE_SIZE`).
pub const MAX_CONFIG_MESSAGE_LEN: usize = 76_800;

/// Largest decompressed config message accepted (a zstd payload of at most
/// [`MAX_CONFIG_MESSAGE_LEN`] bytes could otherwise expand without bound).
pub const MAX_DECOMPRESSED_LEN: usize = 2 * 1024 * 1024;

/// TTL of pushed config messages: 30 days (docs/protocol.md §4.2 private-namespace maximum,
/// as Session clients store configs).
pub const CONFIG_TTL_MS: u64 = 30 * 24 * 60 * 60 * 1000;

/// Longest string value Umbra writes into config data (`docs/config-merge-logic.md`).
pub const MAX_STRING_LEN: usize = 4096;

/// The four user configs (docs/protocol.md §4.3, §10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConfigKind {
    /// Namespace 2.
    UserProfile,
    /// Namespace 3.
    Contacts,
    /// Namespace 4.
    ConvoInfoVolatile,
    /// Namespace 5.
    UserGroups,
}

impl ConfigKind {
    /// All four, in namespace order.
    pub const ALL: [ConfigKind; 4] = [
        ConfigKind::UserProfile,
        ConfigKind::Contacts,
        ConfigKind::ConvoInfoVolatile,
        ConfigKind::UserGroups,
    ];

    /// The storage namespace.
    pub fn namespace(self) -> i16 {
        match self {
            ConfigKind::UserProfile => 2,
            ConfigKind::Contacts => 3,
            ConfigKind::ConvoInfoVolatile => 4,
            ConfigKind::UserGroups => 5,
        }
    }

    /// The kind stored in a namespace, if any.
    pub fn from_namespace(ns: i16) -> Option<ConfigKind> {
        ConfigKind::ALL.into_iter().find(|k| k.namespace() == ns)
    }

    /// The encryption domain (libsession `encryption_domain()`).
    pub fn domain(self) -> &'static str {
        match self {
            ConfigKind::UserProfile => "UserProfile",
            ConfigKind::Contacts => "Contacts",
            ConfigKind::ConvoInfoVolatile => "ConvoInfoVolatile",
            ConfigKind::UserGroups => "UserGroups",
        }
    }

    /// The `SharedConfigMessage.kind` of the protobuf wrapping.
    pub fn shared_config_kind(self) -> SharedConfigKind {
        match self {
            ConfigKind::UserProfile => SharedConfigKind::UserProfile,
            ConfigKind::Contacts => SharedConfigKind::Contacts,
            ConfigKind::ConvoInfoVolatile => SharedConfigKind::ConvoInfoVolatile,
            ConfigKind::UserGroups => SharedConfigKind::UserGroups,
        }
    }
}

/// Why a config could not be parsed, merged, decrypted or built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Not canonical bencoding.
    #[error("config message: {0}")]
    Bencode(bencode::BencodeError),
    /// Canonical bencoding, but not a config message libsession accepts.
    #[error("invalid config message: {what}")]
    Parse {
        /// Which rule was broken (static text, no data).
        what: &'static str,
    },
    /// A required signature is missing or does not verify.
    #[error("config signature missing or invalid")]
    Signature,
    /// None of the messages given to a merge parsed.
    #[error("no valid config message")]
    NoValidConfig,
    /// Config decryption failed (deliberately vague).
    #[error("config decryption failed")]
    DecryptFailed,
    /// A zstd payload did not decompress.
    #[error("config decompression failed")]
    Decompress,
    /// Input or output over its size limit.
    #[error("config message too large")]
    TooLarge,
    /// An encryption domain outside 1..=24 bytes (a programming error).
    #[error("bad config encryption domain")]
    BadDomain,
    /// A value Umbra was asked to write breaks a rule (too long, wrong length).
    #[error("invalid config value: {what}")]
    InvalidValue {
        /// Which value (static text).
        what: &'static str,
    },
    /// A dump that does not load.
    #[error("config dump does not load")]
    BadDump,
    /// A programming error.
    #[error("internal config error")]
    Bug,
}

impl ConfigError {
    /// Where the error comes from and what the caller can do.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ConfigError::Bencode(_)
            | ConfigError::Parse { .. }
            | ConfigError::Signature
            | ConfigError::NoValidConfig
            | ConfigError::DecryptFailed
            | ConfigError::Decompress
            | ConfigError::TooLarge => ErrorKind::PeerMisbehaved,
            ConfigError::InvalidValue { .. } => ErrorKind::BadApiUsage,
            ConfigError::BadDump => ErrorKind::Storage,
            ConfigError::BadDomain | ConfigError::Bug => ErrorKind::Bug,
        }
    }
}
