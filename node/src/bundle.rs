//! The bundle's network configuration, `config.json`: which network the app talks to, through
//! which bridges, and the nodes it starts from.
//!
//! Owns: the file's shape (the contract with the worker, which reads it) and building it from
//! a running testnet or from a seed's `get_n_service_nodes` answer. Three shapes:
//!
//! - faithful testnet: `{"network":"local","bridges":["http://127.0.0.1:Q"],"bootstrap":[N…],"fileserver":F,"turn":T,"community":C}`
//! - direct testnet: `{"network":"local","seed_url":"http://127.0.0.1:P","bridges":[],"bootstrap":[N…],"fileserver":F,"turn":T,"community":C}`
//! - mainnet (`umbra-node bootstrap`): `{"network":"mainnet","bridges":[…],"bootstrap":[N…]}`
//!
//! where each `N` is one node in the shape oxend's `get_n_service_nodes` gives it:
//! `{"public_ip","storage_port","pubkey_ed25519","pubkey_x25519","swarm_id"}`, and `F` the
//! testnet's file server, `{"url":"http://127.0.0.1:S","x25519":"<64 hex>"}`, reached by
//! onion v4 requests to `/oxen/v4/lsrpc` on that host and port (absent: the client's
//! default file server), and `T` the testnet's TURN server (`crate::turn`),
//! `{"urls":["turn:127.0.0.1:R"],"username":U,"credential":C}` — an `RTCIceServer` as WebRTC
//! takes it (absent: `turnserver` is not installed, or mainnet, where the client uses
//! Session's TURN servers), and `C` the testnet's community, `{"url":"http://127.0.0.1:U",
//! "room":"lobby","x25519":"<64 hex>"}` (`crate::sogs`).
//!
//! Does not own: serving the file (`static_site`), fetching node lists (`bridge`), or the
//! client's trust rules for the list (the worker refreshes it through onion requests).

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::NodeError;
use crate::directory::NodeInfo;

/// One bootstrap node, as a `service_node_states` entry of oxend's `get_n_service_nodes`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BootstrapNode {
    /// IPv4 or IPv6 literal.
    pub public_ip: String,
    /// HTTPS storage port.
    pub storage_port: u16,
    /// Ed25519 key, 64 hex characters.
    pub pubkey_ed25519: String,
    /// X25519 key, 64 hex characters.
    pub pubkey_x25519: String,
    /// Swarm id.
    pub swarm_id: u64,
}

impl BootstrapNode {
    /// The entry for a testnet node.
    pub fn of(n: &NodeInfo) -> Self {
        Self {
            public_ip: n.ip.clone(),
            storage_port: n.port,
            pubkey_ed25519: hex::encode(n.ed25519),
            pubkey_x25519: hex::encode(n.x25519),
            swarm_id: n.swarm_id,
        }
    }

    /// Parse one `service_node_states` entry. `None` for an entry without every field, with
    /// a key that is not 64 hex characters, an address that is not an IP literal (oxend
    /// gives IPs; a host name is refused), port 0, or a swarm id that is not a number.
    pub fn from_state(s: &Value) -> Option<Self> {
        let key = |name: &str| {
            s[name]
                .as_str()
                .filter(|k| k.len() == 64 && k.bytes().all(|b| b.is_ascii_hexdigit()))
                .map(str::to_ascii_lowercase)
        };
        let ip = s["public_ip"].as_str()?;
        let parsed: std::net::IpAddr = ip.parse().ok()?;
        if parsed.is_unspecified() || parsed.is_multicast() {
            return None;
        }
        Some(Self {
            public_ip: parsed.to_string(),
            storage_port: s["storage_port"]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p != 0)?,
            pubkey_ed25519: key("pubkey_ed25519")?,
            pubkey_x25519: key("pubkey_x25519")?,
            swarm_id: s["swarm_id"].as_u64()?,
        })
    }

    /// Every valid entry of a seed's `get_n_service_nodes` answer (invalid ones dropped).
    pub fn from_seed_reply(v: &Value) -> Vec<Self> {
        v["result"]["service_node_states"]
            .as_array()
            .map(|a| a.iter().filter_map(Self::from_state).collect())
            .unwrap_or_default()
    }
}

/// The file server a bundle names (a testnet's own; mainnet leaves it out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileServerEntry {
    /// `http://host:port`.
    pub url: String,
    /// Its X25519 key, 64 hex characters.
    pub x25519: String,
}

/// The community a bundle names (a testnet's own server and room).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommunityEntry {
    /// `http://host:port` (reached by onion v4 requests to `/oxen/v4/lsrpc`).
    pub url: String,
    /// The room token.
    pub room: String,
    /// The server's X25519 key, 64 hex characters (the community URL's `public_key`).
    pub x25519: String,
}

/// The TURN server a bundle names (a testnet's own): an `RTCIceServer` dictionary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnEntry {
    /// `turn:host:port` URLs.
    pub urls: Vec<String>,
    /// Long-term credential user name.
    pub username: String,
    /// Its password.
    pub credential: String,
}

/// The network an app bundle is configured for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleConfig {
    /// `"local"` (a testnet) or `"mainnet"`.
    pub network: String,
    /// Direct mode only: the seed the client asks for the node list itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed_url: Option<String>,
    /// Bridges (`POST /v1/onion/<guard>`) the client goes through; empty in direct mode.
    #[serde(default)]
    pub bridges: Vec<String>,
    /// The nodes the client starts from.
    #[serde(default)]
    pub bootstrap: Vec<BootstrapNode>,
    /// The file server to use instead of the default one (testnets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fileserver: Option<FileServerEntry>,
    /// The TURN server calls relay through (testnets with coturn installed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<TurnEntry>,
    /// The testnet's community (its server, room and key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community: Option<CommunityEntry>,
}

impl BundleConfig {
    /// A local network reached directly (the nodes send CORS headers).
    pub fn direct(seed_url: &str, nodes: &[NodeInfo]) -> Self {
        Self {
            network: "local".into(),
            seed_url: Some(seed_url.into()),
            bridges: Vec::new(),
            bootstrap: nodes.iter().map(BootstrapNode::of).collect(),
            fileserver: None,
            turn: None,
            community: None,
        }
    }

    /// A local network reached only through bridges (faithful testnet).
    pub fn bridged(bridges: Vec<String>, nodes: &[NodeInfo]) -> Self {
        Self {
            network: "local".into(),
            seed_url: None,
            bridges,
            bootstrap: nodes.iter().map(BootstrapNode::of).collect(),
            fileserver: None,
            turn: None,
            community: None,
        }
    }

    /// The JSON text of the file.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parse a `config.json`.
    pub fn parse(text: &str) -> Result<Self, NodeError> {
        serde_json::from_str(text).map_err(|_| NodeError::Config("config.json is not valid"))
    }

    /// Write the file atomically (a temporary file renamed over it): a reader never sees
    /// half a file, and a failed write leaves the old file alone.
    pub fn write(&self, path: &Path) -> Result<(), NodeError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(NodeError::io)?;
        }
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        std::fs::write(&tmp, format!("{}\n", self.to_json())).map_err(NodeError::io)?;
        std::fs::rename(&tmp, path).map_err(NodeError::io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(i: u8) -> NodeInfo {
        NodeInfo {
            index: usize::from(i),
            ed25519: [i; 32],
            x25519: [i + 100; 32],
            ip: "127.0.0.1".into(),
            port: 4000 + u16::from(i),
            swarm_id: u64::from(i) << 60,
            tls: true,
        }
    }

    #[test]
    fn shapes_are_the_contract() {
        let nodes = [node(1)];
        let n = json!({
            "public_ip": "127.0.0.1",
            "storage_port": 4001,
            "pubkey_ed25519": hex::encode([1u8; 32]),
            "pubkey_x25519": hex::encode([101u8; 32]),
            "swarm_id": 1u64 << 60,
        });
        let direct: Value =
            serde_json::from_str(&BundleConfig::direct("http://127.0.0.1:9", &nodes).to_json())
                .unwrap_or_default();
        assert_eq!(
            direct,
            json!({"network":"local","seed_url":"http://127.0.0.1:9","bridges":[],"bootstrap":[n]})
        );
        let bridged: Value = serde_json::from_str(
            &BundleConfig::bridged(vec!["http://127.0.0.1:7".into()], &nodes).to_json(),
        )
        .unwrap_or_default();
        assert_eq!(
            bridged,
            json!({"network":"local","bridges":["http://127.0.0.1:7"],"bootstrap":[n]})
        );
    }

    #[test]
    fn turn_entry_shape() {
        let mut b = BundleConfig::direct("http://127.0.0.1:9", &[]);
        b.turn = Some(TurnEntry {
            urls: vec!["turn:127.0.0.1:3478".into()],
            username: "u".into(),
            credential: "c".into(),
        });
        let v: Value = serde_json::from_str(&b.to_json()).unwrap_or_default();
        assert_eq!(
            v["turn"],
            json!({"urls": ["turn:127.0.0.1:3478"], "username": "u", "credential": "c"})
        );
        assert_eq!(BundleConfig::parse(&b.to_json()).ok(), Some(b));
    }

    #[test]
    fn seed_entries_are_parsed_and_bad_ones_dropped() {
        let good = node(2).service_node_state();
        let mut host = good.clone();
        host["public_ip"] = json!("seed.example");
        let mut short = good.clone();
        short["pubkey_x25519"] = json!("abcd");
        let mut port0 = good.clone();
        port0["storage_port"] = json!(0);
        let mut no_swarm = good.clone();
        no_swarm["swarm_id"] = json!("12");
        let v = json!({"result": {"service_node_states": [good, host, short, port0, no_swarm]}});
        assert_eq!(
            BootstrapNode::from_seed_reply(&v),
            vec![BootstrapNode::of(&node(2))]
        );
        assert!(BootstrapNode::from_seed_reply(&json!({"result": 1})).is_empty());
    }
}
