//! The network the worker talks to: the bundle's `config.json` (written by `umbra-node`; its
//! shapes are documented in the node's `bundle` module) and the user's own bridges.
//!
//! Owns reading the file into a [`NetworkConfig`] (a typed `None` for anything malformed: the
//! worker then falls back to Session's mainnet seeds), checking bridge addresses, and building
//! the client's configuration from both. Trust: the bootstrap list is the pool's starting
//! point only; the client refreshes it through onion requests and keeps what several nodes
//! agree on (`umbra_protocol::client` pool). A bridge is never asked for nodes.

use serde::Deserialize;
use serde_json::Value;
use umbra_ipc::IceServer;
use umbra_protocol::{
    attachment::fileserver::FileServer,
    client::{ClientConfig, ServiceNode},
};

/// Most bridges kept (bundle's and user's each).
pub const MAX_BRIDGES: usize = 8;
/// Most bootstrap nodes read (mainnet has about 2,000 nodes).
const MAX_BOOTSTRAP: usize = 4096;
/// Longest bridge address.
const MAX_URL: usize = 256;
/// Pool size wanted on mainnet: Session desktop requires 24 nodes common to every answer of
/// a pool refresh (`session-2026.md` §B; hardening issue).
pub const MAINNET_MIN_POOL: usize = 24;

/// Which network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Network {
    /// Session's network.
    #[default]
    Mainnet,
    /// A local testnet (`umbra-node testnet`).
    Local,
}

impl Network {
    /// The name used in `config.json` and shown in Settings.
    pub fn name(self) -> &'static str {
        match self {
            Network::Mainnet => "mainnet",
            Network::Local => "local",
        }
    }
}

/// The bundle's network configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkConfig {
    /// The network.
    pub network: Network,
    /// Seeds asked directly (only without bridges). Empty: Session's seeds on mainnet.
    pub seed_urls: Vec<String>,
    /// The bundle's bridges, in order.
    pub bridges: Vec<String>,
    /// Where the node pool starts.
    pub bootstrap: Vec<ServiceNode>,
    /// The file server attachments go to: the bundle's, else Session's.
    pub fileserver: Option<FileServer>,
    /// The TURN server calls are relayed through: the bundle's (a testnet's coturn), else
    /// Session's ([`SESSION_TURN_URLS`]).
    pub turn: Option<IceServer>,
}

/// Session's TURN servers (session-desktop `ts/session/utils/calling/CallManager.ts`,
/// `iceServersFullArray`; fenrir and frigg are left out there as TCP only). Desktop offers
/// two of them, chosen at random, to each call; so does [`NetworkConfig::ice_servers`].
pub const SESSION_TURN_URLS: [&str; 5] = [
    "turn:freyr.getsession.org",
    "turn:angus.getsession.org",
    "turn:hereford.getsession.org",
    "turn:holstein.getsession.org",
    "turn:brahman.getsession.org",
];
/// The shared long-term credential of Session's TURN servers (public, in desktop's source).
const SESSION_TURN_USER: &str = "session202111";
const SESSION_TURN_CREDENTIAL: &str = "053c268164bc7bd7";
/// Longest TURN URL, user name or credential read from the bundle.
const MAX_TURN_FIELD: usize = 256;

impl NetworkConfig {
    /// The ICE servers of one call: the bundle's TURN server, else two of Session's at
    /// random (desktop's `_.sampleSize(iceServersFullArray, 2)`).
    pub fn ice_servers<R: rand_core::CryptoRng + ?Sized>(&self, rng: &mut R) -> Vec<IceServer> {
        if let Some(turn) = &self.turn {
            return vec![turn.clone()];
        }
        let n = SESSION_TURN_URLS.len();
        let first = usize::try_from(rng.next_u32()).unwrap_or(0) % n;
        let second = (first + 1 + usize::try_from(rng.next_u32()).unwrap_or(0) % (n - 1)) % n;
        [first, second]
            .into_iter()
            .map(|i| IceServer {
                urls: vec![SESSION_TURN_URLS[i].to_owned()],
                username: SESSION_TURN_USER.to_owned(),
                credential: SESSION_TURN_CREDENTIAL.to_owned(),
            })
            .collect()
    }

    /// Straight to `seed_urls` (tests, embedding): a local network if they are plain HTTP.
    pub fn seeds(seed_urls: Vec<String>) -> Self {
        let local = seed_urls.iter().all(|u| u.starts_with("http://"));
        NetworkConfig {
            network: if local && !seed_urls.is_empty() {
                Network::Local
            } else {
                Network::Mainnet
            },
            seed_urls,
            ..NetworkConfig::default()
        }
    }

    /// The client configuration: the user's `own_bridges` first, then the bundle's.
    pub fn client_config(&self, own_bridges: &[String]) -> ClientConfig {
        let mut config = ClientConfig::default();
        if !self.seed_urls.is_empty() {
            config.seed_urls.clone_from(&self.seed_urls);
            if self.seed_urls.iter().all(|u| u.starts_with("http://")) {
                config.node_scheme = "http".into();
            }
        }
        let mut bridges: Vec<String> = Vec::new();
        for b in own_bridges.iter().chain(&self.bridges) {
            if !bridges.contains(b) {
                bridges.push(b.clone());
            }
        }
        config.bridges = bridges;
        config.bootstrap.clone_from(&self.bootstrap);
        if self.network == Network::Mainnet {
            config.min_pool_size = MAINNET_MIN_POOL;
        }
        config
    }
}

/// Checks and normalises a bridge address: `https://host[:port][/prefix]`, or `http://` for a
/// loopback host (a page may talk to a bridge on the same computer without TLS). No
/// credentials, query or fragment.
pub fn check_bridge(url: &str) -> Option<String> {
    let url = url.trim().trim_end_matches('/');
    if url.len() > MAX_URL || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else {
        (false, url.strip_prefix("http://")?)
    };
    if rest.contains(['?', '#', '@', '\\']) {
        return None;
    }
    let authority = rest.split('/').next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    if host.is_empty() {
        return None;
    }
    if let Some((_, port)) = authority.rsplit_once(':')
        && !authority.ends_with(']')
        && port.parse::<u16>().map_or(true, |p| p == 0)
    {
        return None;
    }
    let loopback = host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    (https || loopback).then(|| url.to_owned())
}

/// Checks a list of bridge addresses (the user's), normalised, duplicates removed.
pub fn check_bridges(urls: &[String]) -> Option<Vec<String>> {
    if urls.len() > MAX_BRIDGES {
        return None;
    }
    let mut out: Vec<String> = Vec::new();
    for u in urls {
        let b = check_bridge(u)?;
        if !out.contains(&b) {
            out.push(b);
        }
    }
    Some(out)
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    network: Option<String>,
    #[serde(default)]
    seed_url: Option<String>,
    #[serde(default)]
    bridges: Vec<String>,
    #[serde(default)]
    bootstrap: Vec<Value>,
    #[serde(default)]
    fileserver: Option<FileServerEntry>,
    #[serde(default)]
    turn: Option<IceServer>,
}

#[derive(Deserialize)]
struct FileServerEntry {
    url: String,
    x25519: String,
}

/// Reads `config.json`. `None` if it is not JSON of the documented shape, names an unknown
/// network, has a seed or bridge address that is not an HTTP(S) URL, or names neither a
/// seed nor a bridge. Malformed bootstrap entries are skipped (the pool is checked anyway).
pub fn parse_config(bytes: &[u8]) -> Option<NetworkConfig> {
    let file: ConfigFile = serde_json::from_slice(bytes).ok()?;
    let network = match file.network.as_deref() {
        None | Some("local") => Network::Local,
        Some("mainnet") => Network::Mainnet,
        Some(_) => return None,
    };
    let seed_urls = match file.seed_url {
        Some(url) => {
            let url = url.trim().trim_end_matches('/').to_owned();
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return None;
            }
            vec![url]
        }
        None => Vec::new(),
    };
    if file.bridges.len() > MAX_BRIDGES {
        return None;
    }
    let bridges = file
        .bridges
        .iter()
        .map(|b| check_bridge(b))
        .collect::<Option<Vec<_>>>()?;
    if seed_urls.is_empty() && bridges.is_empty() {
        return None;
    }
    let bootstrap = file
        .bootstrap
        .iter()
        .take(MAX_BOOTSTRAP)
        .filter_map(bootstrap_node)
        .collect();
    let fileserver = match file.fileserver {
        Some(e) => {
            let key: [u8; 32] = hex::decode(&e.x25519).ok()?.try_into().ok()?;
            Some(FileServer::at(&e.url, key)?)
        }
        None => None,
    };
    let turn = match file.turn {
        Some(t) => {
            let ok = !t.urls.is_empty()
                && t.urls.len() <= 4
                && t.urls
                    .iter()
                    .all(|u| u.starts_with("turn:") && u.len() <= MAX_TURN_FIELD)
                && t.username.len() <= MAX_TURN_FIELD
                && t.credential.len() <= MAX_TURN_FIELD;
            if !ok {
                return None;
            }
            Some(t)
        }
        None => None,
    };
    Some(NetworkConfig {
        network,
        seed_urls,
        bridges,
        bootstrap,
        fileserver,
        turn,
    })
}

/// One node in oxend's `get_n_service_nodes` shape:
/// `{"public_ip","storage_port","pubkey_ed25519","pubkey_x25519","swarm_id"}`.
fn bootstrap_node(v: &Value) -> Option<ServiceNode> {
    let key = |name: &str| -> Option<[u8; 32]> {
        let bytes = hex::decode(v[name].as_str()?).ok()?;
        bytes.try_into().ok()
    };
    let ip: std::net::IpAddr = v["public_ip"].as_str()?.parse().ok()?;
    if ip.is_unspecified() || ip.is_multicast() {
        return None;
    }
    let port = u16::try_from(v["storage_port"].as_u64()?)
        .ok()
        .filter(|p| *p != 0)?;
    Some(ServiceNode {
        ip: ip.to_string(),
        port,
        ed25519: key("pubkey_ed25519")?,
        x25519: key("pubkey_x25519")?,
        swarm_id: v["swarm_id"].as_u64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str = "aa";

    fn node_json(port: u16) -> String {
        format!(
            r#"{{"public_ip":"127.0.0.1","storage_port":{port},"pubkey_ed25519":"{}","pubkey_x25519":"{}","swarm_id":7}}"#,
            ED.repeat(32),
            "bb".repeat(32)
        )
    }

    #[test]
    fn test_turn_entry_is_read_and_mainnet_offers_two_of_sessions() {
        let local = br#"{"network":"local","seed_url":"http://127.0.0.1:22020","turn":{"urls":["turn:127.0.0.1:3478"],"username":"u","credential":"p"}}"#;
        let c = parse_config(local).unwrap();
        let mut rng = crate::rng::worker_rng();
        let servers = c.ice_servers(&mut rng);
        assert_eq!(servers.len(), 1);
        assert_eq!(servers[0].urls, vec!["turn:127.0.0.1:3478".to_owned()]);
        assert_eq!(servers[0].credential, "p");
        // Not a TURN URL: the whole file is refused, as any malformed entry.
        let bad = br#"{"network":"local","seed_url":"http://127.0.0.1:22020","turn":{"urls":["http://x"],"username":"u","credential":"p"}}"#;
        assert_eq!(parse_config(bad), None);
        let mainnet = NetworkConfig::default();
        for _ in 0..50 {
            let servers = mainnet.ice_servers(&mut rng);
            assert_eq!(servers.len(), 2);
            assert_ne!(servers[0].urls, servers[1].urls);
            for s in &servers {
                assert!(SESSION_TURN_URLS.contains(&s.urls[0].as_str()));
                assert_eq!(s.username, "session202111");
            }
        }
    }

    #[test]
    fn the_three_shapes_the_node_writes_are_read() {
        let faithful = format!(
            r#"{{"network":"local","bridges":["http://127.0.0.1:9000/"],"bootstrap":[{},{}]}}"#,
            node_json(22001),
            node_json(22002)
        );
        let c = parse_config(faithful.as_bytes()).unwrap();
        assert_eq!(c.network, Network::Local);
        assert_eq!(c.bridges, vec!["http://127.0.0.1:9000".to_owned()]);
        assert!(c.seed_urls.is_empty());
        assert_eq!(c.bootstrap.len(), 2);
        assert_eq!(c.bootstrap[0].port, 22001);
        assert_eq!(c.bootstrap[0].ed25519, [0xaa; 32]);
        assert_eq!(c.bootstrap[0].x25519, [0xbb; 32]);
        assert_eq!(c.bootstrap[0].swarm_id, Some(7));

        let direct = br#"{"network":"local","seed_url":"http://127.0.0.1:22020/","bridges":[],"bootstrap":[]}"#;
        let c = parse_config(direct).unwrap();
        assert_eq!(c.seed_urls, vec!["http://127.0.0.1:22020".to_owned()]);
        assert!(c.bridges.is_empty());
        let config = c.client_config(&[]);
        assert_eq!(config.node_scheme, "http");
        assert!(config.bridges.is_empty());

        let mainnet = format!(
            r#"{{"network":"mainnet","bridges":["https://bridge.example"],"bootstrap":[{}]}}"#,
            node_json(22021)
        );
        let c = parse_config(mainnet.as_bytes()).unwrap();
        assert_eq!(c.network, Network::Mainnet);
        let config = c.client_config(&["https://mine.example".into()]);
        assert_eq!(
            config.bridges,
            vec![
                "https://mine.example".to_owned(),
                "https://bridge.example".to_owned()
            ]
        );
        assert_eq!(config.min_pool_size, MAINNET_MIN_POOL);
        assert_eq!(config.bootstrap.len(), 1);
        assert_eq!(c.fileserver, None);
        let with_fs = format!(
            r#"{{"network":"local","bridges":["http://127.0.0.1:9000"],"fileserver":{{"url":"http://127.0.0.1:4000","x25519":"{}"}}}}"#,
            "cd".repeat(32)
        );
        let fs = parse_config(with_fs.as_bytes())
            .unwrap()
            .fileserver
            .unwrap();
        assert_eq!(
            (fs.target.host.as_str(), fs.target.port),
            ("127.0.0.1", 4000)
        );
        assert_eq!(fs.target.x25519, [0xcd; 32]);
        let bad_fs = with_fs.replace(&"cd".repeat(32), "cd");
        assert_eq!(parse_config(bad_fs.as_bytes()), None);
        // The old shape still loads.
        assert!(parse_config(br#"{"seed_url":"http://127.0.0.1:1"}"#).is_some());
    }

    #[test]
    fn malformed_configs_are_refused_and_bad_entries_skipped() {
        for bad in [
            &b"not json"[..],
            br#"{"seed": "http://x"}"#,
            br#"{"seed_url": "javascript:alert(1)"}"#,
            br#"{"network":"testnet","seed_url":"http://127.0.0.1:1"}"#,
            br#"{"bridges":["ftp://127.0.0.1:1"]}"#,
            br#"{"bridges":["http://bridge.example"]}"#,
            br#"{"bridges":[],"bootstrap":[]}"#,
            br#"{"bridges":"http://127.0.0.1:1"}"#,
        ] {
            assert_eq!(parse_config(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        let mixed = format!(
            r#"{{"bridges":["http://127.0.0.1:1"],"bootstrap":[{},{{"public_ip":"example.com","storage_port":1,"pubkey_ed25519":"{}","pubkey_x25519":"{}"}},{{"public_ip":"127.0.0.1","storage_port":0}},{}]}}"#,
            node_json(1),
            ED.repeat(32),
            ED.repeat(32),
            node_json(2).replace(&"bb".repeat(32), "bb")
        );
        let c = parse_config(mixed.as_bytes()).unwrap();
        assert_eq!(c.bootstrap.len(), 1);
    }

    #[test]
    fn bridge_addresses_are_checked() {
        for ok in [
            "https://bridge.example",
            "https://bridge.example:8443/umbra/",
            "http://127.0.0.1:9000",
            "http://localhost:9000",
            "http://[::1]:9000",
            "https://[2001:db8::1]:443",
        ] {
            assert!(check_bridge(ok).is_some(), "{ok}");
        }
        assert_eq!(
            check_bridge(" https://bridge.example/ ").as_deref(),
            Some("https://bridge.example")
        );
        for bad in [
            "",
            "bridge.example",
            "http://bridge.example",
            "https://",
            "https://:443",
            "https://user@bridge.example",
            "https://bridge.example/?x=1",
            "https://bridge.example/#f",
            "https://bridge.example:0",
            "https://bridge.example:99999",
            "https://bri dge.example",
            "javascript:alert(1)",
        ] {
            assert_eq!(check_bridge(bad), None, "{bad}");
        }
        let many: Vec<String> = (0..9).map(|i| format!("https://b{i}.example")).collect();
        assert_eq!(check_bridges(&many), None);
        assert_eq!(
            check_bridges(&["https://a.example/".into(), "https://a.example".into()]),
            Some(vec!["https://a.example".to_owned()])
        );
    }
}
