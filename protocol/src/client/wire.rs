//! JSON shapes the client reads and writes (`docs/protocol.md` §3.6, §4.5): service-node
//! lists from the seed and `oxend_request`, `get_swarm` answers (also the 421 body), store
//! acknowledgements and retrieve answers. Parsing never panics; anything malformed is `None`
//! or skipped.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};

use crate::{
    address::{NetMs, NodeId, StorageHash, SwarmAddr},
    rpc::{
        Namespace,
        params::{Data, GetSwarmParams, StoreParams},
    },
};

/// A service node as the client knows it: where to reach it and its two public keys.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ServiceNode {
    /// IPv4 address (or host name in a test network).
    pub ip: String,
    /// HTTPS storage port (`storage_port` / `port_https`).
    pub port: u16,
    /// Ed25519 public key (the node's identity; how other nodes address it).
    #[serde(with = "hex32")]
    pub ed25519: [u8; 32],
    /// X25519 public key (what onion layers are encrypted to).
    #[serde(with = "hex32")]
    pub x25519: [u8; 32],
    /// The node's swarm (`swarm_id` of `get_service_nodes`), if the answer carried one; a
    /// swarm list is checked against it ([`crate::swarm::swarm_for`]). Absent in `get_swarm`
    /// answers and in snapshots written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swarm_id: Option<u64>,
}

impl ServiceNode {
    /// The node's id (its Ed25519 key).
    pub fn id(&self) -> NodeId {
        NodeId(self.ed25519)
    }
}

mod hex32 {
    use super::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        super::parse_hex32(&s).ok_or_else(|| serde::de::Error::custom("expected 64 hex chars"))
    }
}

pub(crate) fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

fn node_from_json(v: &Value, ip_key: &str, port_keys: &[&str]) -> Option<ServiceNode> {
    let ip = v.get(ip_key)?.as_str()?;
    if ip.is_empty() || ip == "0.0.0.0" {
        return None;
    }
    let port = port_keys.iter().find_map(|k| match v.get(*k)? {
        Value::Number(n) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
        Value::String(s) => s.parse::<u16>().ok(),
        _ => None,
    })?;
    if port == 0 {
        return None;
    }
    Some(ServiceNode {
        ip: ip.to_owned(),
        port,
        ed25519: parse_hex32(v.get("pubkey_ed25519")?.as_str()?)?,
        x25519: parse_hex32(v.get("pubkey_x25519")?.as_str()?)?,
        // oxend reports `swarm_id` as a number; u64::MAX means "no swarm".
        swarm_id: v
            .get("swarm_id")
            .and_then(Value::as_u64)
            .filter(|&id| id != crate::swarm::INVALID_SWARM_ID),
    })
}

/// Body of the seed request `get_n_service_nodes` (§3.6).
pub(crate) fn seed_request() -> Vec<u8> {
    json!({
        "jsonrpc": "2.0",
        "method": "get_n_service_nodes",
        "params": {"active_only": true, "fields": node_fields()},
    })
    .to_string()
    .into_bytes()
}

fn node_fields() -> Value {
    json!({
        "public_ip": true, "storage_port": true, "pubkey_x25519": true,
        "pubkey_ed25519": true, "requested_unlock_height": true, "height": true,
        "swarm_id": true,
    })
}

/// Storage RPC body of an `oxend_request` for `get_service_nodes` (pool refresh).
pub(crate) fn oxend_pool_request() -> Vec<u8> {
    json!({
        "method": "oxend_request",
        "params": {"endpoint": "get_service_nodes",
                   "params": {"active_only": true, "fields": node_fields()}},
    })
    .to_string()
    .into_bytes()
}

/// Storage RPC body `{"method":…,"params":…}` of any typed parameters ([`crate::rpc::params`]).
pub(crate) fn rpc_request(method: &str, params: &impl Serialize) -> Vec<u8> {
    json!({"method": method, "params": params})
        .to_string()
        .into_bytes()
}

/// Storage RPC body of `info`, which names nobody: the direct test of a guard candidate
/// (a direct request shows the node our IP, so it must not carry the account; oxenss
/// `rpc::info` in `oxenss/rpc/client_rpc_endpoints.h` takes no parameters).
pub(crate) fn info_request() -> Vec<u8> {
    json!({"method": "info", "params": {}})
        .to_string()
        .into_bytes()
}

/// Parses an `info` answer (`{"version":[…],"timestamp":ms,"t":ms,"hf":[…]}`, oxenss
/// `RequestHandler::process_client_req(rpc::info&&…)`): the node time, from `"t"` or else
/// `"timestamp"`. `None` if it is neither an object with a version nor carries a time.
pub(crate) fn parse_info(body: &[u8]) -> Option<NetMs> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("version")?.as_array()?;
    v.get("t")
        .or_else(|| v.get("timestamp"))
        .and_then(Value::as_u64)
        .map(NetMs)
}

/// Storage RPC body of `get_swarm` for `swarm` (through a path).
pub(crate) fn get_swarm_request(swarm: &SwarmAddr) -> Vec<u8> {
    json!({"jsonrpc": "2.0", "method": "get_swarm", "params": GetSwarmParams { pubkey: *swarm }})
        .to_string()
        .into_bytes()
}

/// Body of an unsigned `store` of `data` to `namespace` of `to` (public inboxes need no
/// signature, `docs/protocol.md` §4.5).
pub(crate) fn store_request(
    to: &SwarmAddr,
    namespace: Namespace,
    timestamp: NetMs,
    ttl_ms: u64,
    data: &[u8],
) -> Vec<u8> {
    let params = StoreParams {
        pubkey: *to,
        timestamp: timestamp.0,
        ttl: Some(ttl_ms),
        expiry: None,
        data: Data(data.to_vec()),
        namespace,
        signature: None,
        pubkey_ed25519: None,
        sig_timestamp: None,
    };
    rpc_request("store", &params)
}

/// Parses `{"result":{"service_node_states":[…]}}` (seed and `oxend_request`), skipping
/// malformed entries. `None` if the shape is wrong.
pub(crate) fn parse_node_list(body: &[u8]) -> Option<Vec<ServiceNode>> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let states = v.get("result")?.get("service_node_states")?.as_array()?;
    Some(
        states
            .iter()
            .filter_map(|s| node_from_json(s, "public_ip", &["storage_port"]))
            .collect(),
    )
}

/// Parses a `get_swarm` answer or a 421 body: `{"snodes":[…]}`. `None` if the shape is wrong.
pub(crate) fn parse_swarm(body: &[u8]) -> Option<Vec<ServiceNode>> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let snodes = v.get("snodes")?.as_array()?;
    Some(
        snodes
            .iter()
            .filter_map(|s| node_from_json(s, "ip", &["port_https", "port"]))
            .collect(),
    )
}

/// The node time `"t"` (ms) of a storage RPC answer, if present.
pub(crate) fn parse_t(body: &[u8]) -> Option<NetMs> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("t")?.as_u64().map(NetMs)
}

/// One swarm member's acknowledgement in a store answer.
pub(crate) struct StoreAck {
    /// The member's Ed25519 key.
    pub(crate) member: [u8; 32],
    /// The hash it stored.
    pub(crate) hash: String,
    /// Its Ed25519 signature over the hash string.
    pub(crate) signature: [u8; 64],
}

/// The signed per-member acknowledgements of a store answer
/// (`{"swarm":{"<ed25519 hex>":{"hash","signature",…}}}`); members that report a failure or
/// lack a well-formed key, hash or signature are skipped.
pub(crate) fn parse_store_acks(body: &[u8]) -> Vec<StoreAck> {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let Some(swarm) = v.get("swarm").and_then(Value::as_object) else {
        return Vec::new();
    };
    swarm
        .iter()
        .filter_map(|(key, member)| {
            if member
                .get("failed")
                .and_then(Value::as_bool)
                .unwrap_or(false)
            {
                return None;
            }
            let sig = member.get("signature")?.as_str()?;
            let sig = crate::rpc::params::decode_b64(sig)?;
            Some(StoreAck {
                member: parse_hex32(key)?,
                hash: member.get("hash")?.as_str()?.to_owned(),
                signature: sig.try_into().ok()?,
            })
        })
        .collect()
}

/// One stored message of a retrieve answer.
pub(crate) struct RetrievedMessage {
    pub(crate) hash: StorageHash,
    /// `None` if the base64 was malformed (the message is dropped and counted).
    pub(crate) data: Option<Vec<u8>>,
    pub(crate) expiration_ms: Option<NetMs>,
}

/// Parses `{"messages":[{"hash","data","expiration"}…],"more":bool}`. Entries without a
/// hash string are skipped. `None` if the shape is wrong.
pub(crate) fn parse_retrieve(body: &[u8]) -> Option<(Vec<RetrievedMessage>, bool)> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let messages = v.get("messages")?.as_array()?;
    let more = v.get("more").and_then(Value::as_bool).unwrap_or(false);
    let list = messages
        .iter()
        .filter_map(|m| {
            let hash = m.get("hash")?.as_str()?;
            if !crate::rpc::is_valid_hash(hash) {
                return None;
            }
            Some(RetrievedMessage {
                hash: StorageHash(hash.to_owned()),
                data: m
                    .get("data")
                    .and_then(Value::as_str)
                    .and_then(|d| STANDARD.decode(d).ok()),
                expiration_ms: m.get("expiration").and_then(Value::as_u64).map(NetMs),
            })
        })
        .collect();
    Some((list, more))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swarm_parse_accepts_string_port_and_drops_zero_ip() {
        let ed = "11".repeat(32);
        let x = "22".repeat(32);
        let body = format!(
            r#"{{"snodes":[{{"ip":"1.2.3.4","port":"22021","pubkey_ed25519":"{ed}","pubkey_x25519":"{x}"}},
                {{"ip":"0.0.0.0","port_https":1,"pubkey_ed25519":"{ed}","pubkey_x25519":"{x}"}},
                {{"ip":"1.2.3.5","port_https":7,"pubkey_ed25519":"zz","pubkey_x25519":"{x}"}}],"t":5}}"#
        );
        let nodes = parse_swarm(body.as_bytes()).expect("valid shape");
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].port, 22021);
        assert_eq!(nodes[0].ed25519, [0x11; 32]);
        assert_eq!(parse_t(body.as_bytes()), Some(NetMs(5)));
        assert!(parse_swarm(b"not json").is_none());
        assert!(parse_swarm(br#"{"snodes":5}"#).is_none());
    }

    #[test]
    fn swarm_ids_are_read_and_older_snapshots_without_them_load() {
        let ed = "11".repeat(32);
        let x = "22".repeat(32);
        let body = format!(
            r#"{{"result":{{"service_node_states":[
                {{"public_ip":"1.2.3.4","storage_port":1,"pubkey_ed25519":"{ed}","pubkey_x25519":"{x}","swarm_id":42}},
                {{"public_ip":"1.2.3.5","storage_port":1,"pubkey_ed25519":"{ed}","pubkey_x25519":"{x}","swarm_id":18446744073709551615}},
                {{"public_ip":"1.2.3.6","storage_port":1,"pubkey_ed25519":"{ed}","pubkey_x25519":"{x}"}}]}}}}"#
        );
        let ids: Vec<Option<u64>> = parse_node_list(body.as_bytes())
            .expect("valid shape")
            .iter()
            .map(|n| n.swarm_id)
            .collect();
        assert_eq!(ids, vec![Some(42), None, None]);
        // A pool entry persisted before swarm ids were kept.
        let old = format!(r#"{{"ip":"1.2.3.4","port":1,"ed25519":"{ed}","x25519":"{x}"}}"#);
        let node: ServiceNode = serde_json::from_str(&old).expect("old snapshot entry");
        assert_eq!(node.swarm_id, None);
        assert!(
            !serde_json::to_string(&node)
                .unwrap_or_default()
                .contains("swarm_id")
        );
        assert!(String::from_utf8_lossy(&oxend_pool_request()).contains("\"swarm_id\":true"));
    }

    #[test]
    fn store_acks_skip_failed_and_malformed_members() {
        let k1 = "aa".repeat(32);
        let k2 = "bb".repeat(32);
        let sig = base64::engine::general_purpose::STANDARD.encode([7u8; 64]);
        let body = format!(
            r#"{{"swarm":{{"{k1}":{{"failed":true,"hash":"x","signature":"{sig}"}},
                "{k2}":{{"hash":"h","signature":"{sig}"}},
                "zz":{{"hash":"h","signature":"{sig}"}},
                "{k1}{k1}":{{"hash":"h"}}}}}}"#
        );
        let acks = parse_store_acks(body.as_bytes());
        assert_eq!(acks.len(), 1);
        assert_eq!(acks[0].member, [0xbb; 32]);
        assert_eq!(acks[0].hash, "h");
        assert_eq!(acks[0].signature, [7u8; 64]);
        assert!(parse_store_acks(b"[]").is_empty());
        assert!(parse_store_acks(br#"{"hash":"h"}"#).is_empty());
    }
}
