//! [`LocalId`]: the caller's id of an outbox entry, as a type. Most entries are messages of
//! the worker's message database (`Message(id)`); control messages (receipts, reactions,
//! unsends, timer changes, typing, request accepts) are keyed by their kind and sent
//! timestamp; a sync copy in the own swarm is keyed by the entry it copies.
//!
//! The string form (Display, FromStr, serde) is the one outbox entries were persisted with
//! before this type: `"123"`, `"react/1700000000000"`, `"123/sync"`; any other string is a
//! [`LocalId::Label`], so every stored snapshot still loads. This module only names entries;
//! it does not decide what they carry.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::address::NetMs;

/// What kind of control message an outbox entry carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ControlKind {
    /// A read receipt (`receipt/…`).
    Receipt,
    /// A reaction (`react/…`).
    Reaction,
    /// An unsend request to the partner (`unsend/…`).
    Unsend,
    /// The own-devices copy of an unsend (`unsend-own/…`).
    UnsendOwn,
    /// A disappearing-timer change (`timer/…`).
    Timer,
    /// A typing indicator (`typing/…`).
    Typing,
    /// A message-request acceptance (`accept/…`).
    Accept,
    /// A call message (`call/…`; sent ephemeral: never persisted).
    Call,
}

impl ControlKind {
    const ALL: [ControlKind; 8] = [
        ControlKind::Receipt,
        ControlKind::Reaction,
        ControlKind::Unsend,
        ControlKind::UnsendOwn,
        ControlKind::Timer,
        ControlKind::Typing,
        ControlKind::Accept,
        ControlKind::Call,
    ];

    /// The prefix of the string form.
    pub fn as_str(self) -> &'static str {
        match self {
            ControlKind::Receipt => "receipt",
            ControlKind::Reaction => "react",
            ControlKind::Unsend => "unsend",
            ControlKind::UnsendOwn => "unsend-own",
            ControlKind::Timer => "timer",
            ControlKind::Typing => "typing",
            ControlKind::Accept => "accept",
            ControlKind::Call => "call",
        }
    }
}

/// The caller's id of an outbox entry (unique among the entries).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LocalId {
    /// A message of the message database, by its id.
    Message(u64),
    /// A control message, by kind and sent timestamp.
    Control {
        /// Its kind.
        kind: ControlKind,
        /// Its sent timestamp.
        sent: NetMs,
    },
    /// The sync copy (own swarm) of another entry.
    SyncCopyOf(Box<LocalId>),
    /// Any other caller-chosen name (tests, tools). A label that reads like one of the forms
    /// above parses back as that form.
    Label(String),
}

impl LocalId {
    /// The sync copy of this entry.
    pub fn sync_copy(&self) -> LocalId {
        LocalId::SyncCopyOf(Box::new(self.clone()))
    }
}

impl fmt::Display for LocalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocalId::Message(id) => write!(f, "{id}"),
            LocalId::Control { kind, sent } => write!(f, "{}/{}", kind.as_str(), sent.0),
            LocalId::SyncCopyOf(inner) => write!(f, "{inner}/sync"),
            LocalId::Label(s) => f.write_str(s),
        }
    }
}

fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl FromStr for LocalId {
    type Err = core::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(LocalId::parse(s))
    }
}

impl LocalId {
    fn parse(s: &str) -> LocalId {
        if let Some(inner) = s.strip_suffix("/sync")
            && !inner.is_empty()
        {
            return LocalId::SyncCopyOf(Box::new(LocalId::parse(inner)));
        }
        if let Some(id) = digits(s) {
            return LocalId::Message(id);
        }
        if let Some((prefix, sent)) = s.rsplit_once('/')
            && let Some(kind) = ControlKind::ALL.into_iter().find(|k| k.as_str() == prefix)
            && let Some(sent) = digits(sent)
        {
            return LocalId::Control {
                kind,
                sent: NetMs(sent),
            };
        }
        LocalId::Label(s.to_owned())
    }
}

impl From<&str> for LocalId {
    fn from(s: &str) -> Self {
        LocalId::parse(s)
    }
}

impl From<String> for LocalId {
    fn from(s: String) -> Self {
        LocalId::parse(&s)
    }
}

impl Serialize for LocalId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LocalId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(LocalId::parse(&s))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn legacy_strings_map_to_typed_ids_and_back() {
        let cases = [
            ("123", LocalId::Message(123)),
            (
                "react/1700000000000",
                LocalId::Control {
                    kind: ControlKind::Reaction,
                    sent: NetMs(1_700_000_000_000),
                },
            ),
            (
                "unsend-own/5",
                LocalId::Control {
                    kind: ControlKind::UnsendOwn,
                    sent: NetMs(5),
                },
            ),
            ("123/sync", LocalId::Message(123).sync_copy()),
            (
                "typing/9/sync",
                LocalId::Control {
                    kind: ControlKind::Typing,
                    sent: NetMs(9),
                }
                .sync_copy(),
            ),
            ("hello#3", LocalId::Label("hello#3".into())),
            ("react/x", LocalId::Label("react/x".into())),
            ("/sync", LocalId::Label("/sync".into())),
            ("", LocalId::Label(String::new())),
        ];
        for (s, id) in cases {
            assert_eq!(LocalId::from(s), id, "{s}");
            assert_eq!(id.to_string(), s);
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(json, serde_json::to_string(s).unwrap());
            assert_eq!(serde_json::from_str::<LocalId>(&json).unwrap(), id);
        }
        for k in ControlKind::ALL {
            let id = LocalId::Control {
                kind: k,
                sent: NetMs(1),
            };
            assert_eq!(LocalId::from(id.to_string()), id);
        }
    }
}
