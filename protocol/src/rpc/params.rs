//! Typed request parameters of the storage RPC, with serde both ways.
//!
//! Clients serialize these to form requests; nodes deserialize them from untrusted JSON.
//! Decoding never panics: every malformed field is a serde error, which callers map to
//! [`RpcError::Malformed`](super::RpcError::Malformed) (HTTP 400).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use serde_json::Value;

use super::{Namespace, NamespaceSel, sign::ExpireMode};

/// The storage RPC's `pubkey`: one type with the swarm address ([`crate::address::SwarmAddr`]).
pub use crate::address::SwarmAddr as AccountId;

/// An Ed25519 public key given as 64 hex chars (`pubkey_ed25519`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EdPubkey(pub [u8; 32]);

impl Serialize for EdPubkey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for EdPubkey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&s, &mut out).map_err(|_| de::Error::custom("bad pubkey_ed25519"))?;
        Ok(Self(out))
    }
}

/// A 64-byte Ed25519 signature given as base64 (86 chars unpadded or 88 padded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature64(pub [u8; 64]);

impl Serialize for Signature64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Signature64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let bytes = decode_b64(&s).ok_or_else(|| de::Error::custom("bad signature"))?;
        let arr: [u8; 64] = bytes
            .try_into()
            .map_err(|_| de::Error::custom("bad signature"))?;
        Ok(Self(arr))
    }
}

/// Message data: raw bytes, base64 on the wire (padded or not).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Data(pub Vec<u8>);

impl Serialize for Data {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Data {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        decode_b64(&s)
            .map(Self)
            .ok_or_else(|| de::Error::custom("bad data"))
    }
}

/// Decode standard base64, padded or unpadded.
pub fn decode_b64(s: &str) -> Option<Vec<u8>> {
    if s.ends_with('=') {
        STANDARD.decode(s).ok()
    } else {
        STANDARD_NO_PAD.decode(s).ok()
    }
}

/// Deserialize milliseconds given as a JSON integer or a decimal string.
pub fn de_millis<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Num(u64),
        Str(String),
    }
    match Raw::deserialize(d)? {
        Raw::Num(n) => Ok(n),
        Raw::Str(s) => s.parse().map_err(|_| de::Error::custom("bad timestamp")),
    }
}

/// Optional form of [`de_millis`] (use with `#[serde(default)]`).
pub fn de_opt_millis<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    de_millis(d).map(Some)
}

/// `store` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreParams {
    /// Recipient account.
    pub pubkey: AccountId,
    /// Client time of the store (ms).
    #[serde(deserialize_with = "de_millis")]
    pub timestamp: u64,
    /// Time to live (ms); exclusive with `expiry`.
    #[serde(
        default,
        deserialize_with = "de_opt_millis",
        skip_serializing_if = "Option::is_none"
    )]
    pub ttl: Option<u64>,
    /// Absolute expiry (ms); exclusive with `ttl`.
    #[serde(
        default,
        deserialize_with = "de_opt_millis",
        skip_serializing_if = "Option::is_none"
    )]
    pub expiry: Option<u64>,
    /// The message bytes.
    pub data: Data,
    /// Namespace (default 0).
    #[serde(default)]
    pub namespace: Namespace,
    /// Signature over [`sign::store`](super::sign::store) (private namespaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature64>,
    /// Ed25519 key of a `05` account (required with a signature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pubkey_ed25519: Option<EdPubkey>,
    /// Timestamp used in the signature (defaults to `timestamp`).
    #[serde(
        default,
        deserialize_with = "de_opt_millis",
        skip_serializing_if = "Option::is_none"
    )]
    pub sig_timestamp: Option<u64>,
}

/// `retrieve` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrieveParams {
    /// Account whose messages are read.
    pub pubkey: AccountId,
    /// Namespace (default 0).
    #[serde(default)]
    pub namespace: Namespace,
    /// Return messages after this hash (empty or absent: from the start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_hash: Option<String>,
    /// At most this many messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_count: Option<u64>,
    /// Size budget: positive bytes, or −k for a k-th of the maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<i64>,
    /// Signature timestamp (ms).
    #[serde(
        default,
        deserialize_with = "de_opt_millis",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp: Option<u64>,
    /// Signature over [`sign::retrieve`](super::sign::retrieve).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature64>,
    /// Ed25519 key of a `05` account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pubkey_ed25519: Option<EdPubkey>,
}

/// `delete` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteParams {
    /// Account.
    pub pubkey: AccountId,
    /// Ed25519 key of a `05` account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pubkey_ed25519: Option<EdPubkey>,
    /// Hashes to delete.
    pub messages: Vec<String>,
    /// Signature over [`sign::delete`](super::sign::delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature64>,
    /// Answer 404 if nothing was deleted.
    #[serde(default)]
    pub required: bool,
}

/// `delete_all` / `delete_before` / `expire_all` parameters (which value applies depends on
/// the method: `timestamp`, `before` or `expiry`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkParams {
    /// Account.
    pub pubkey: AccountId,
    /// Ed25519 key of a `05` account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pubkey_ed25519: Option<EdPubkey>,
    /// Namespace or "all" (default 0).
    #[serde(default)]
    pub namespace: NamespaceSel,
    /// Request time (delete_all).
    #[serde(
        default,
        deserialize_with = "de_opt_millis",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp: Option<u64>,
    /// Delete messages stored before this (delete_before).
    #[serde(
        default,
        deserialize_with = "de_opt_millis",
        skip_serializing_if = "Option::is_none"
    )]
    pub before: Option<u64>,
    /// New expiry (expire_all).
    #[serde(
        default,
        deserialize_with = "de_opt_millis",
        skip_serializing_if = "Option::is_none"
    )]
    pub expiry: Option<u64>,
    /// Signature over the method's signed string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature64>,
}

/// `expire` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpireParams {
    /// Account.
    pub pubkey: AccountId,
    /// Ed25519 key of a `05` account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pubkey_ed25519: Option<EdPubkey>,
    /// Hashes whose expiry changes.
    pub messages: Vec<String>,
    /// New expiry (ms).
    #[serde(deserialize_with = "de_millis")]
    pub expiry: u64,
    /// Only shorten.
    #[serde(default)]
    pub shorten: bool,
    /// Only extend.
    #[serde(default)]
    pub extend: bool,
    /// Signature over [`sign::expire`](super::sign::expire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature64>,
}

impl ExpireParams {
    /// The mode given by `shorten`/`extend`; `None` if both are set.
    pub fn mode(&self) -> Option<ExpireMode> {
        match (self.shorten, self.extend) {
            (false, false) => Some(ExpireMode::Set),
            (true, false) => Some(ExpireMode::Shorten),
            (false, true) => Some(ExpireMode::Extend),
            (true, true) => None,
        }
    }
}

/// `get_expiries` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetExpiriesParams {
    /// Account.
    pub pubkey: AccountId,
    /// Ed25519 key of a `05` account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pubkey_ed25519: Option<EdPubkey>,
    /// Hashes asked about.
    pub messages: Vec<String>,
    /// Request time (ms).
    #[serde(deserialize_with = "de_millis")]
    pub timestamp: u64,
    /// Signature over [`sign::get_expiries`](super::sign::get_expiries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature64>,
}

/// `get_swarm` (alias `get_snodes_for_pubkey`) parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetSwarmParams {
    /// Account whose swarm is asked for.
    pub pubkey: AccountId,
}

/// `oxend_request` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OxendParams {
    /// The oxend endpoint (`get_service_nodes`, `ons_resolve`).
    pub endpoint: String,
    /// Its parameters.
    #[serde(default)]
    pub params: Value,
}

/// One request: `{"method", "params"}` (also the envelope of `/storage_rpc/v1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpcRequest {
    /// Method name.
    pub method: String,
    /// Method parameters.
    #[serde(default)]
    pub params: Value,
}

/// `batch` / `sequence` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchParams {
    /// The subrequests (at most [`MAX_SUBREQUESTS`](super::MAX_SUBREQUESTS)).
    pub requests: Vec<RpcRequest>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PK: &str = "05ffba630924aa1224bb930dde21c0d11bf004608f2812217f8ac812d6c7e3ad48";

    #[test]
    fn store_round_trip_and_string_timestamps() {
        let p: StoreParams = serde_json::from_value(json!({
            "pubkey": PK, "timestamp": "1700000000000", "ttl": 86400000, "data": "aGVsbG8="
        }))
        .expect("parses");
        assert_eq!(p.timestamp, 1_700_000_000_000);
        assert_eq!(p.data.0, b"hello");
        assert_eq!(p.namespace, Namespace(0));
        let back: StoreParams =
            serde_json::from_value(serde_json::to_value(&p).expect("ser")).expect("de");
        assert_eq!(back, p);
    }

    #[test]
    fn malformed_inputs_are_errors() {
        let bad = [
            json!({"pubkey": "05zz", "timestamp": 1, "data": ""}),
            json!({"pubkey": PK, "timestamp": -1, "data": ""}),
            json!({"pubkey": PK, "timestamp": "x", "data": ""}),
            json!({"pubkey": PK, "timestamp": 1, "data": "!!!"}),
            json!({"pubkey": PK, "timestamp": 1, "data": "", "namespace": 70000}),
            json!({"pubkey": PK, "timestamp": 1, "data": "", "signature": "AAAA"}),
            json!({"pubkey": PK, "timestamp": 1, "data": "", "pubkey_ed25519": "00"}),
            json!({"pubkey": PK, "timestamp": 1}),
            json!([1, 2]),
            json!(null),
        ];
        for b in bad {
            assert!(
                serde_json::from_value::<StoreParams>(b.clone()).is_err(),
                "{b}"
            );
        }
    }

    #[test]
    fn signature_padded_and_unpadded() {
        let sig = Signature64([7u8; 64]);
        let padded = serde_json::to_value(sig).expect("ser");
        let s = padded.as_str().expect("str").to_owned();
        assert_eq!(s.len(), 88);
        let unpadded = s.trim_end_matches('=');
        assert_eq!(unpadded.len(), 86);
        assert_eq!(
            serde_json::from_value::<Signature64>(json!(unpadded)).expect("de"),
            sig
        );
        assert_eq!(
            serde_json::from_value::<Signature64>(padded).expect("de"),
            sig
        );
    }

    #[test]
    fn expire_modes() {
        let mut p: ExpireParams =
            serde_json::from_value(json!({"pubkey": PK, "messages": [], "expiry": 5}))
                .expect("parses");
        assert_eq!(p.mode(), Some(ExpireMode::Set));
        p.shorten = true;
        p.extend = true;
        assert_eq!(p.mode(), None);
    }
}
