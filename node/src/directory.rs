//! The network view: every node's keys, address and swarm; swarm lookup and the JSON
//! shapes of `get_swarm` and `get_service_nodes`.

use serde_json::{Value, json};
use umbra_protocol::rpc::{AccountId, HARDFORK};
use umbra_protocol::swarm::{SwarmId, swarm_for, swarm_space};

/// Storage-server version a node reports.
pub const VERSION: [u64; 3] = [2, 11, 0];

/// One node as the network knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// Position in the testnet.
    pub index: usize,
    /// Ed25519 public key.
    pub ed25519: [u8; 32],
    /// X25519 public key.
    pub x25519: [u8; 32],
    /// IP address advertised to clients.
    pub ip: String,
    /// HTTP(S) port.
    pub port: u16,
    /// Swarm id.
    pub swarm_id: SwarmId,
    /// Whether the node speaks HTTPS.
    pub tls: bool,
}

impl NodeInfo {
    /// Base URL, e.g. `http://127.0.0.1:4001`.
    pub fn url(&self) -> String {
        format!("{}://{}:{}", if self.tls { "https" } else { "http" }, self.ip, self.port)
    }

    /// Ed25519 key as hex.
    pub fn ed_hex(&self) -> String {
        hex::encode(self.ed25519)
    }

    /// The `get_swarm` entry for this node.
    pub fn swarm_entry(&self) -> Value {
        json!({
            "address": format!("{}.snode", zbase32(&self.ed25519)),
            "pubkey_legacy": self.ed_hex(),
            "pubkey_x25519": hex::encode(self.x25519),
            "pubkey_ed25519": self.ed_hex(),
            "port": self.port.to_string(),
            "port_https": self.port,
            "port_omq": 0,
            "port_quic": 0,
            "ip": self.ip,
        })
    }

    /// The `get_service_nodes` entry for this node.
    pub fn service_node_state(&self) -> Value {
        json!({
            "public_ip": self.ip,
            "storage_port": self.port,
            "storage_lmq_port": 0,
            "pubkey_x25519": hex::encode(self.x25519),
            "pubkey_ed25519": self.ed_hex(),
            "service_node_pubkey": self.ed_hex(),
            "requested_unlock_height": 0,
            "swarm_id": self.swarm_id,
            "swarm": format!("{:x}", self.swarm_id),
            "storage_server_version": VERSION,
            "active": true,
            "funded": true,
        })
    }
}

/// All nodes of the network.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// The nodes, by index.
    pub nodes: Vec<NodeInfo>,
}

impl Directory {
    /// Distinct swarm ids.
    pub fn swarm_ids(&self) -> Vec<SwarmId> {
        let mut ids: Vec<SwarmId> = self.nodes.iter().map(|n| n.swarm_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The swarm responsible for `account`.
    pub fn swarm_of(&self, account: &AccountId) -> Option<SwarmId> {
        let space = swarm_space(&account.key).ok()?;
        swarm_for(space, &self.swarm_ids())
    }

    /// Members of swarm `id`.
    pub fn members(&self, id: SwarmId) -> Vec<&NodeInfo> {
        self.nodes.iter().filter(|n| n.swarm_id == id).collect()
    }

    /// Node by Ed25519 key.
    pub fn by_ed25519(&self, ed: &[u8; 32]) -> Option<&NodeInfo> {
        self.nodes.iter().find(|n| &n.ed25519 == ed)
    }

    /// `get_swarm` body for `account` (without `t`/`hf`).
    pub fn swarm_json(&self, account: &AccountId, now_ms: u64) -> Value {
        let id = self.swarm_of(account).unwrap_or(umbra_protocol::swarm::INVALID_SWARM_ID);
        let snodes: Vec<Value> = self.members(id).iter().map(|n| n.swarm_entry()).collect();
        json!({"snodes": snodes, "swarm": format!("{id:x}"), "t": now_ms, "hf": HARDFORK})
    }

    /// `get_service_nodes` result object.
    pub fn service_nodes_json(&self) -> Value {
        let states: Vec<Value> = self.nodes.iter().map(NodeInfo::service_node_state).collect();
        json!({"service_node_states": states, "height": 1000, "target_height": 1000, "hardfork": HARDFORK[0], "status": "OK"})
    }
}

/// z-base-32 encoding (the `.snode` address form).
pub fn zbase32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ybndrfg8ejkmcpqxot1uwisza345h769";
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut buf: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buf >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buf << (5 - bits)) & 31) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zbase32_lengths_and_alphabet() {
        assert_eq!(zbase32(&[0u8; 32]).len(), 52);
        assert_eq!(zbase32(&[0u8; 32]), "y".repeat(52));
        assert_eq!(zbase32(&[0xff]), "9h");
    }
}
