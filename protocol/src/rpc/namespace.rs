//! Message namespaces (docs/protocol.md §4.3) and the rules on who may store or read in them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// A message namespace (a signed 16-bit number; 0 is the default inbox).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Namespace(pub i16);

impl Namespace {
    /// The default namespace (1:1 messages).
    pub const DEFAULT: Self = Self(0);
    /// Legacy closed groups: unauthenticated store and retrieve.
    pub const LEGACY_CLOSED_GROUP: Self = Self(-10);
    /// Reserved testing namespace: stores rejected, retrieve empty.
    pub const RESERVED_TESTING: Self = Self(-3741);

    /// The namespace as it appears in signed strings and hashes: "" for 0, else decimal.
    pub fn sig_str(self) -> String {
        if self.0 == 0 {
            String::new()
        } else {
            self.0.to_string()
        }
    }

    /// Anyone may store here (`ns % 10 == 0`).
    pub fn is_public_inbox(self) -> bool {
        self.0 % 10 == 0
    }

    /// Public outbox (`ns < 0 && -ns % 20 == 1`): one message, storing replaces it,
    /// retrieve needs no signature.
    pub fn is_public_outbox(self) -> bool {
        self.0 < 0 && (-(self.0 as i32)) % 20 == 1
    }

    /// Whether a store here needs a signature (everywhere but public inboxes; a public
    /// outbox is written by its owner only).
    pub fn store_needs_auth(self) -> bool {
        !self.is_public_inbox()
    }

    /// Whether a retrieve here needs a signature (all but −10 and public outboxes).
    pub fn retrieve_needs_auth(self) -> bool {
        self != Self::LEGACY_CLOSED_GROUP && !self.is_public_outbox()
    }

    /// Largest TTL (ms) allowed for a store here.
    pub fn max_ttl_ms(self) -> u64 {
        if self.is_public_inbox() {
            super::TTL_MAX_PUBLIC_MS
        } else {
            super::TTL_MAX_PRIVATE_MS
        }
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A namespace selector: one namespace, or `"all"` (delete_all, delete_before, expire_all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceSel {
    /// Exactly this namespace.
    One(Namespace),
    /// Every namespace.
    All,
}

impl Default for NamespaceSel {
    fn default() -> Self {
        Self::One(Namespace::DEFAULT)
    }
}

impl NamespaceSel {
    /// The selector as it appears in signed strings: "" for 0, "all", else decimal.
    pub fn sig_str(self) -> String {
        match self {
            Self::One(ns) => ns.sig_str(),
            Self::All => "all".into(),
        }
    }

    /// Whether `ns` is selected.
    pub fn contains(self, ns: Namespace) -> bool {
        match self {
            Self::One(n) => n == ns,
            Self::All => true,
        }
    }
}

impl Serialize for NamespaceSel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::One(ns) => s.serialize_i16(ns.0),
            Self::All => s.serialize_str("all"),
        }
    }
}

impl<'de> Deserialize<'de> for NamespaceSel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(i64),
            Str(String),
        }
        match Raw::deserialize(d)? {
            Raw::Num(n) => i16::try_from(n)
                .map(|n| Self::One(Namespace(n)))
                .map_err(|_| de::Error::custom("namespace out of range")),
            Raw::Str(s) if s == "all" => Ok(Self::All),
            Raw::Str(_) => Err(de::Error::custom("bad namespace")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!(Namespace(0).is_public_inbox());
        assert!(Namespace(-10).is_public_inbox());
        assert!(!Namespace(2).is_public_inbox());
        assert!(Namespace(2).store_needs_auth());
        assert!(!Namespace(0).store_needs_auth());
        assert!(!Namespace(-10).store_needs_auth());
        assert!(Namespace(-21).store_needs_auth());
        assert!(Namespace(0).retrieve_needs_auth());
        assert!(!Namespace(-10).retrieve_needs_auth());
        assert!(Namespace(-21).is_public_outbox());
        assert!(Namespace(-1).is_public_outbox());
        assert!(!Namespace(-11).is_public_outbox());
        assert!(!Namespace(-21).retrieve_needs_auth());
        assert!(Namespace(-11).retrieve_needs_auth());
        assert_eq!(Namespace(0).sig_str(), "");
        assert_eq!(Namespace(-10).sig_str(), "-10");
        assert_eq!(NamespaceSel::All.sig_str(), "all");
        assert_eq!(Namespace(0).max_ttl_ms(), super::super::TTL_MAX_PUBLIC_MS);
        assert_eq!(Namespace(3).max_ttl_ms(), super::super::TTL_MAX_PRIVATE_MS);
        assert_eq!(Namespace(i16::MIN).sig_str(), "-32768");
        assert!(!Namespace(i16::MIN).is_public_outbox());
    }

    #[test]
    fn selector_json() {
        let a: NamespaceSel = serde_json::from_str("\"all\"").expect("all");
        assert_eq!(a, NamespaceSel::All);
        let n: NamespaceSel = serde_json::from_str("-10").expect("num");
        assert_eq!(n, NamespaceSel::One(Namespace(-10)));
        assert!(serde_json::from_str::<NamespaceSel>("40000").is_err());
        assert!(serde_json::from_str::<NamespaceSel>("\"some\"").is_err());
        assert_eq!(
            serde_json::to_string(&NamespaceSel::All).expect("ser"),
            "\"all\""
        );
    }
}
