//! ONS names of a test network, answered through `oxend_request` `ons_resolve` as oxend does.
//!
//! Owns: the registry (name → Account ID, fixed when the testnet starts, `testnet --ons`) and
//! the record oxend returns for a name (the post-HF16 format Session clients read,
//! session-desktop `ts/session/apis/snode_api/onsResolve.ts`):
//!
//! - the request names `name_hash` = base64(BLAKE2b-256(lower-case name)), `type` 0 (Session);
//! - the answer is `{"encrypted_value": hex, "nonce": hex}`, the 33-byte Account ID sealed
//!   with XChaCha20-Poly1305 (no associated data) under the key
//!   BLAKE2b-256(name, key = name hash) and a random 24-byte nonce;
//! - an unknown name is `{}` (no `encrypted_value`), which clients treat as not found.
//!
//! The storage server wraps oxend's answer as `{"result": …}` (oxenss
//! `rpc/request_handler.cpp` `process_client_req(oxend_request)`); that is `rpc`'s part.
//!
//! Does not own: ONS registration, renewal or ownership (oxend's blockchain).

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use blake2::{Blake2b, Blake2bMac, digest::Digest, digest::Mac, digest::consts::U32};
use chacha20poly1305::aead::Aead as _;
use chacha20poly1305::{KeyInit as _, XChaCha20Poly1305, XNonce};
use serde_json::{Value, json};
use umbra_protocol::rpc::params::AccountId;

use crate::NodeError;

/// Longest ONS name (oxen-core `ons.h` `NAME_MAX`, 64 for Session names).
pub const MAX_NAME: usize = umbra_protocol::ons::MAX_NAME;

/// Whether `name` is a valid Session ONS name as typed here (no surrounding spaces): the
/// client's rule, `umbra_protocol::ons::normalize` (1–64 ASCII letters, digits, `_` or `-`,
/// not starting or ending with `-`; session-desktop `onsNameRegex`).
pub fn valid_name(name: &str) -> bool {
    umbra_protocol::ons::normalize(name).is_ok_and(|n| n.eq_ignore_ascii_case(name))
}

/// BLAKE2b-256 of the lower-case name: the `name_hash` a client sends (base64).
pub fn name_hash(name: &str) -> [u8; 32] {
    Blake2b::<U32>::digest(name.to_ascii_lowercase().as_bytes()).into()
}

/// The record key: BLAKE2b-256 of the lower-case name, keyed with its name hash.
fn record_key(name: &str) -> Result<[u8; 32], NodeError> {
    let lower = name.to_ascii_lowercase();
    let mut mac = <Blake2bMac<U32> as blake2::digest::KeyInit>::new_from_slice(&name_hash(&lower))
        .map_err(|_| NodeError::Config("ONS key"))?;
    mac.update(lower.as_bytes());
    Ok(mac.finalize().into_bytes().into())
}

/// The registered names of a network, by name hash.
#[derive(Debug, Clone, Default)]
pub struct Ons {
    records: HashMap<[u8; 32], (String, String)>,
}

impl Ons {
    /// Register `name` (case-insensitive) for `account`, with a fresh random nonce.
    pub fn register(&mut self, name: &str, account: &AccountId) -> Result<(), NodeError> {
        if !valid_name(name) {
            return Err(NodeError::Config("not a valid ONS name"));
        }
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).map_err(|e| NodeError::Io(e.to_string()))?;
        let key = record_key(name)?;
        let sealed = XChaCha20Poly1305::new(&key.into())
            .encrypt(&XNonce::from(nonce), account.to_bytes().as_slice())
            .map_err(|_| NodeError::Config("ONS seal"))?;
        self.records
            .insert(name_hash(name), (hex::encode(sealed), hex::encode(nonce)));
        Ok(())
    }

    /// Parse `name=05…` (the `testnet --ons` form) and register it.
    pub fn register_arg(&mut self, arg: &str) -> Result<(), NodeError> {
        let (name, id) = arg
            .split_once('=')
            .ok_or(NodeError::Config("--ons takes name=<66 hex Account ID>"))?;
        let account =
            AccountId::from_hex(id).ok_or(NodeError::Config("--ons: not an Account ID"))?;
        self.register(name, &account)
    }

    /// Number of names.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no name is registered.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// oxend's `ons_resolve` answer for `{"type": 0, "name_hash": base64}`: the record, `{}`
    /// for an unknown name or another type, `None` for a `name_hash` that is not 32 bytes
    /// of base64.
    pub fn resolve(&self, params: &Value) -> Option<Value> {
        let hash: [u8; 32] = STANDARD
            .decode(params["name_hash"].as_str()?)
            .ok()?
            .try_into()
            .ok()?;
        if params.get("type").and_then(Value::as_u64).unwrap_or(0) != 0 {
            return Some(json!({}));
        }
        Some(match self.records.get(&hash) {
            Some((value, nonce)) => json!({"encrypted_value": value, "nonce": nonce}),
            None => json!({}),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a Session client does with the answer (session-desktop `onsResolve.ts`).
    fn client_decrypt(name: &str, v: &Value) -> Option<String> {
        let ct = hex::decode(v["encrypted_value"].as_str()?).ok()?;
        let nonce: [u8; 24] = hex::decode(v["nonce"].as_str()?).ok()?.try_into().ok()?;
        let key = record_key(name).ok()?;
        let id = XChaCha20Poly1305::new(&key.into())
            .decrypt(&XNonce::from(nonce), ct.as_slice())
            .ok()?;
        Some(hex::encode(id))
    }

    fn query(name: &str) -> Value {
        json!({"type": 0, "name_hash": STANDARD.encode(name_hash(name))})
    }

    #[test]
    fn a_registered_name_resolves_case_insensitively_to_its_account() {
        let id = "05".to_string() + &"ab".repeat(32);
        let account = AccountId::from_hex(&id).unwrap_or_else(|| panic!("id"));
        let mut ons = Ons::default();
        ons.register("Alice_1", &account)
            .unwrap_or_else(|e| panic!("{e}"));
        for asked in ["alice_1", "ALICE_1", "Alice_1"] {
            let v = ons.resolve(&query(asked)).unwrap_or_default();
            assert_eq!(
                client_decrypt(asked, &v).as_deref(),
                Some(id.as_str()),
                "{asked}"
            );
        }
        assert_eq!(ons.resolve(&query("bob")), Some(json!({})));
        let mut other_type = query("alice_1");
        other_type["type"] = json!(2);
        assert_eq!(ons.resolve(&other_type), Some(json!({})));
        assert_eq!(
            ons.resolve(&json!({"type": 0, "name_hash": "c2hvcnQ="})),
            None
        );
        assert_eq!(ons.resolve(&json!({"type": 0})), None);
        // The answer only opens with the right name.
        let v = ons.resolve(&query("alice_1")).unwrap_or_default();
        assert_eq!(client_decrypt("alice_2", &v), None);
    }

    #[test]
    fn names_follow_sessions_rules() {
        for ok in ["a", "_", "a-b", "A_b-9", &"x".repeat(64)] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a b", "a.b", "é", &"x".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
        let mut ons = Ons::default();
        assert!(ons.register_arg("bob").is_err());
        assert!(ons.register_arg("bob=05zz").is_err());
        assert!(ons.register_arg("-bob=05".to_string().as_str()).is_err());
        assert!(
            ons.register_arg(&format!("bob=05{}", "00".repeat(32)))
                .is_ok()
        );
        assert_eq!(ons.len(), 1);
    }
}
