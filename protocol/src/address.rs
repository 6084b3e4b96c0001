//! Addresses, conversation ids, times and ids as types.
//!
//! * [`SwarmAddr`]: what a swarm is keyed by: a prefix byte (`05` account, `03` group) and a
//!   32-byte key, 66 hex characters. The storage RPC's `pubkey` field is one of these.
//! * [`GroupId`]: a closed group (`03` ‖ the group's Ed25519 public key).
//! * [`CommunityRoom`]: a room on a community server (base URL + room token).
//! * [`ConversationId`]: what a conversation is keyed by, everywhere (message database, ipc,
//!   the app's routes): a 1:1 conversation with an account (Note to Self is the own account),
//!   a closed group, or a community room. Its string form is stable and is what crosses ipc.
//! * [`NetMs`] / [`LocalMs`]: network time (the nodes' clock, what is signed and sent) and
//!   local time (this device's clock, what timers are armed on). They convert into each other
//!   only through [`crate::client`]'s clock, which knows the offset.
//! * [`StorageHash`]: a message's hash in a swarm; [`NodeId`]: a service node's Ed25519 key.
//!
//! Not here: the user's own keys ([`crate::identity`]) and how ids are stored
//! ([`crate::store`]).

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use crate::error::ErrorKind;
use crate::identity::AccountId;

/// Prefix byte of a closed group's id (groups v2).
pub const GROUP_PREFIX: u8 = 0x03;

/// A swarm's address: prefix byte (`05` account, `03` group, …) and 32-byte key (X25519 for
/// `05`, Ed25519 for `03`); 66 hex characters. The storage RPC's `pubkey`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SwarmAddr {
    /// The prefix byte.
    pub prefix: u8,
    /// The 32-byte key.
    pub key: [u8; 32],
}

impl SwarmAddr {
    /// Parses 66 hex characters (any prefix).
    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 66 {
            return None;
        }
        let mut bytes = [0u8; 33];
        hex::decode_to_slice(s, &mut bytes).ok()?;
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes[1..]);
        Some(Self {
            prefix: bytes[0],
            key,
        })
    }

    /// The 33 bytes (prefix first).
    pub fn to_bytes(&self) -> [u8; 33] {
        let mut out = [0u8; 33];
        out[0] = self.prefix;
        out[1..].copy_from_slice(&self.key);
        out
    }

    /// Lower-case hex of the 33 bytes.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// The account this swarm belongs to, if it is a `05` swarm.
    pub fn account(&self) -> Option<AccountId> {
        AccountId::from_bytes(&self.to_bytes()).ok()
    }
}

impl From<AccountId> for SwarmAddr {
    fn from(a: AccountId) -> Self {
        SwarmAddr {
            prefix: a.as_bytes()[0],
            key: a.x25519_public(),
        }
    }
}

impl From<GroupId> for SwarmAddr {
    fn from(g: GroupId) -> Self {
        SwarmAddr {
            prefix: GROUP_PREFIX,
            key: g.0,
        }
    }
}

impl fmt::Display for SwarmAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for SwarmAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for SwarmAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::from_hex(&s).ok_or_else(|| de::Error::custom("bad pubkey"))
    }
}

/// A closed group (groups v2): `03` followed by the group's Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(pub [u8; 32]);

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "03{}", hex::encode(self.0))
    }
}

impl fmt::Debug for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GroupId({self})")
    }
}

impl FromStr for GroupId {
    type Err = ConversationIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match SwarmAddr::from_hex(s.trim()) {
            Some(a) if a.prefix == GROUP_PREFIX => Ok(GroupId(a.key)),
            Some(_) => Err(ConversationIdError::WrongPrefix),
            None => Err(ConversationIdError::Malformed),
        }
    }
}

/// A room on a community server: the server's base URL (`https://host[:port]`, no trailing
/// slash) and the room token (`[A-Za-z0-9_-]`, 1–64 characters).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommunityRoom {
    server: String,
    room: String,
}

impl CommunityRoom {
    /// Checks and builds a room reference. The server is lower-cased (hosts are
    /// case-insensitive) and loses a trailing slash.
    pub fn new(server: &str, room: &str) -> Result<Self, ConversationIdError> {
        let server = server.trim().trim_end_matches('/').to_ascii_lowercase();
        let rest = server
            .strip_prefix("https://")
            .or_else(|| server.strip_prefix("http://"))
            .ok_or(ConversationIdError::Malformed)?;
        let host_ok = !rest.is_empty()
            && rest.len() <= 253
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        let room_ok = !room.is_empty()
            && room.len() <= 64
            && room
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !host_ok || !room_ok {
            return Err(ConversationIdError::Malformed);
        }
        Ok(CommunityRoom {
            server,
            room: room.to_owned(),
        })
    }

    /// The server's base URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The room token.
    pub fn room(&self) -> &str {
        &self.room
    }
}

/// What a conversation is keyed by.
///
/// String form (its [`Display`](fmt::Display) and [`FromStr`]), stable across versions:
/// `05…` (66 hex) for [`ConversationId::Direct`], `03…` for [`ConversationId::Group`], and
/// `<server base URL>/<room>` for [`ConversationId::Community`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConversationId {
    /// One to one with an account; with the own account it is Note to Self.
    Direct(AccountId),
    /// A closed group.
    Group(GroupId),
    /// A community room.
    Community(CommunityRoom),
}

impl ConversationId {
    /// The peer of a 1:1 conversation.
    pub fn direct(&self) -> Option<&AccountId> {
        match self {
            ConversationId::Direct(a) => Some(a),
            _ => None,
        }
    }

    /// The swarm this conversation's messages are fetched from and stored into, for the
    /// kinds that live in a swarm (`me` is the own account: 1:1 messages arrive in it).
    pub fn inbox_swarm(&self, me: &AccountId) -> Option<SwarmAddr> {
        match self {
            ConversationId::Direct(_) => Some(SwarmAddr::from(*me)),
            ConversationId::Group(g) => Some(SwarmAddr::from(*g)),
            ConversationId::Community(_) => None,
        }
    }
}

impl From<AccountId> for ConversationId {
    fn from(a: AccountId) -> Self {
        ConversationId::Direct(a)
    }
}

impl fmt::Display for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConversationId::Direct(a) => write!(f, "{a}"),
            ConversationId::Group(g) => write!(f, "{g}"),
            ConversationId::Community(c) => write!(f, "{}/{}", c.server, c.room),
        }
    }
}

impl fmt::Debug for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConversationId({self})")
    }
}

/// Why a string is not a conversation id. Carries none of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConversationIdError {
    /// Neither 66 hex characters nor a community URL with a room.
    #[error("not a conversation id")]
    Malformed,
    /// 66 hex characters with a prefix other than `05` or `03`.
    #[error("unknown id prefix")]
    WrongPrefix,
}

impl ConversationIdError {
    /// Coarse classification of this error.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::BadApiUsage
    }
}

impl FromStr for ConversationId {
    type Err = ConversationIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.starts_with("http://") || s.starts_with("https://") {
            let (server, room) = s.rsplit_once('/').ok_or(ConversationIdError::Malformed)?;
            return CommunityRoom::new(server, room).map(ConversationId::Community);
        }
        let addr = SwarmAddr::from_hex(s).ok_or(ConversationIdError::Malformed)?;
        match addr.prefix {
            GROUP_PREFIX => Ok(ConversationId::Group(GroupId(addr.key))),
            _ => addr
                .account()
                .map(ConversationId::Direct)
                .ok_or(ConversationIdError::WrongPrefix),
        }
    }
}

impl Serialize for ConversationId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ConversationId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

/// Network time in milliseconds since the Unix epoch: the clock of the service nodes, used in
/// everything signed or sent (sent timestamps, expiries, request timestamps).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct NetMs(pub u64);

/// Local time in milliseconds since the Unix epoch: this device's clock, used for timers,
/// retries and timeouts. Never signed or sent.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct LocalMs(pub u64);

macro_rules! time_ops {
    ($t:ident) => {
        impl $t {
            /// `self + ms`, saturating.
            pub fn plus(self, ms: u64) -> $t {
                $t(self.0.saturating_add(ms))
            }

            /// `self - ms`, saturating at 0.
            pub fn minus(self, ms: u64) -> $t {
                $t(self.0.saturating_sub(ms))
            }

            /// Milliseconds from `earlier` to `self` (0 if `earlier` is later).
            pub fn since(self, earlier: $t) -> u64 {
                self.0.saturating_sub(earlier.0)
            }
        }
    };
}
time_ops!(NetMs);
time_ops!(LocalMs);

/// A message's hash in a swarm (base64 of BLAKE2b, as the storage server gives it).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StorageHash(pub String);

impl StorageHash {
    /// The hash string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StorageHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A service node, by its Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub [u8; 32]);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({self})")
    }
}

impl Serialize for NodeId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for NodeId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(s.as_bytes(), &mut out)
            .map_err(|_| de::Error::custom("bad node id"))?;
        Ok(NodeId(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACC: &str = "05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72";

    #[test]
    fn conversation_ids_round_trip_through_their_string_form() {
        let direct: ConversationId = ACC.parse().unwrap();
        assert!(matches!(direct, ConversationId::Direct(_)));
        assert_eq!(direct.to_string(), ACC);
        let group_hex = format!("03{}", &ACC[2..]);
        let group: ConversationId = group_hex.parse().unwrap();
        assert!(matches!(group, ConversationId::Group(_)));
        assert_eq!(group.to_string(), group_hex);
        let room: ConversationId = "https://Open.GetSession.org/session-updates"
            .parse()
            .unwrap();
        assert_eq!(
            room.to_string(),
            "https://open.getsession.org/session-updates"
        );
        let json = serde_json::to_string(&room).unwrap();
        assert_eq!(serde_json::from_str::<ConversationId>(&json).unwrap(), room);
    }

    #[test]
    fn bad_conversation_ids_are_typed_errors() {
        let wrong_prefix = format!("15{}", &ACC[2..]);
        assert_eq!(
            wrong_prefix.parse::<ConversationId>(),
            Err(ConversationIdError::WrongPrefix)
        );
        for bad in [
            "",
            "05",
            &ACC[..65],
            "ftp://x/room",
            "https://host/",
            "https://host/ro om",
        ] {
            assert_eq!(
                bad.parse::<ConversationId>(),
                Err(ConversationIdError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn swarm_addr_of_account_and_group() {
        let a: AccountId = ACC.parse().unwrap();
        let s = SwarmAddr::from(a);
        assert_eq!(s.to_hex(), ACC);
        assert_eq!(s.account(), Some(a));
        let g = SwarmAddr::from(GroupId(a.x25519_public()));
        assert_eq!(g.prefix, GROUP_PREFIX);
        assert_eq!(g.account(), None);
        let me = a;
        let conv = ConversationId::Direct(a);
        assert_eq!(conv.inbox_swarm(&me), Some(s));
    }
}
