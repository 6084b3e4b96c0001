//! A whole local network in one process: a seed and N nodes in swarms, each node with its
//! own SQLite database under one data directory, optionally over HTTPS with a local CA.
//!
//! `faithful` mode behaves like Session's network instead: every node and the seed serve
//! HTTPS with their own self-signed certificate (`CN=localhost`, as oxenss), no CORS headers
//! and no OPTIONS route, so a browser cannot reach them; a blind bridge pinned to the seed
//! (`bridge`) is started with them and is the browser's only way in.
//!
//! Every testnet also runs one file server (`fileserver`) on plain HTTP, which its nodes may
//! proxy onion requests to, and — when Debian's coturn is installed — one TURN server
//! (`turn`) for calls, named with its generated credentials in `config.json`, and one
//! community server (`sogs`) with the room `lobby` ("Lobby"), which the nodes may proxy to
//! and `config.json` names as `"community"`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;
use umbra_protocol::swarm::spread_swarm_ids;

use crate::NodeError;
use crate::bridge::{BridgeConfig, RunningBridge, SeedSource};
use crate::bundle::{BundleConfig, CommunityEntry, FileServerEntry};
use crate::clock::Clock;
use crate::directory::{Directory, NodeInfo};
use crate::fileserver::{FileServerConfig, RunningFileServer};
use crate::keys::NodeKeys;
use crate::server::{NodeOptions, NodeState, RunningNode, Served, catch_up};
use crate::sogs::{RunningSogs, SogsConfig};
use crate::tls::{
    LocalCa, http_client, http_client_any_cert, install_crypto_provider, self_signed_localhost,
};
use crate::turn::{RunningTurn, TurnConfig};

/// A fresh self-signed certificate: (certificate PEM, server config).
async fn own_certificate() -> Result<(String, RustlsConfig), NodeError> {
    let (cert, key) = self_signed_localhost()?;
    let cfg = RustlsConfig::from_pem(cert.clone().into_bytes(), key.into_bytes())
        .await
        .map_err(NodeError::io)?;
    Ok((cert, cfg))
}

/// Settings of a test network.
#[derive(Debug, Clone)]
pub struct TestnetConfig {
    /// Number of nodes (default 12).
    pub nodes: usize,
    /// Nodes per swarm (default 4).
    pub swarm_size: usize,
    /// Directory for keys, databases and `ca.pem`.
    pub data_dir: PathBuf,
    /// Serve HTTPS with a generated local CA.
    pub tls: bool,
    /// Seed port; node i listens on `base_port + 1 + i`. 0: pick free ports.
    pub base_port: u16,
    /// Address to bind (default 127.0.0.1).
    pub bind: IpAddr,
    /// Clock shared by all nodes (tests may move it).
    pub clock: Clock,
    /// How often expired messages are swept.
    pub sweep_interval: Duration,
    /// Time allowed for an onion relay or proxy hop.
    pub relay_timeout: Duration,
    /// Hosts onion requests may be proxied to.
    pub proxy_allowed_hosts: Vec<String>,
    /// Extra routes the seed also serves (the loopback test control, see `control`).
    pub seed_extra: Option<axum::Router>,
    /// Behave like Session's network: self-signed HTTPS per node, no CORS, plus a bridge.
    pub faithful: bool,
    /// Origins the faithful testnet's bridge sends CORS headers to.
    pub bridge_origins: Vec<String>,
    /// Every node's listener, storage and reply limits (the seed takes the listener ones).
    pub limits: crate::limits::NodeLimits,
    /// ONS names every node resolves (`--ons name=05…`).
    pub ons: Arc<crate::ons::Ons>,
    /// Also run a file server (`fileserver`, data in `DATA/fileserver/`); the nodes may
    /// proxy onion requests to its `host:port`, and `config.json` names it.
    pub fileserver: bool,
    /// Also run a TURN server (coturn's `turnserver`, files in `DATA/turn/`), if installed.
    pub turn: bool,
    /// Also run a community server (`sogs`, data in `DATA/sogs/`) with the room
    /// [`COMMUNITY_ROOM`]; the nodes may proxy onion requests to it.
    pub community: bool,
    /// The TURN server program (`turnserver` on `PATH`).
    pub turn_program: PathBuf,
}

impl TestnetConfig {
    /// Defaults: 12 nodes in swarms of 4 on free loopback ports, plain HTTP.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            nodes: 12,
            swarm_size: 4,
            data_dir: data_dir.into(),
            tls: false,
            base_port: 0,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            clock: Clock::system(),
            sweep_interval: Duration::from_secs(10),
            relay_timeout: Duration::from_secs(10),
            proxy_allowed_hosts: vec!["127.0.0.1".into(), "localhost".into(), "::1".into()],
            seed_extra: None,
            faithful: false,
            bridge_origins: Vec::new(),
            limits: crate::limits::NodeLimits::DEFAULT,
            ons: Arc::default(),
            fileserver: true,
            turn: true,
            community: true,
            turn_program: PathBuf::from("turnserver"),
        }
    }
}

#[derive(Debug)]
struct Slot {
    info: NodeInfo,
    key_path: PathBuf,
    db_path: PathBuf,
    running: Option<RunningNode>,
    /// The node's own certificate (faithful mode).
    own_tls: Option<RustlsConfig>,
}

/// A running test network.
#[derive(Debug)]
pub struct Testnet {
    config: TestnetConfig,
    directory: Arc<Directory>,
    seed: Option<Served>,
    seed_url: String,
    slots: Vec<Slot>,
    ca_pem: Option<String>,
    tls: Option<RustlsConfig>,
    http: reqwest::Client,
    seed_cert_pem: Option<String>,
    bridge: Option<RunningBridge>,
    bundle: BundleConfig,
    fileserver: Option<RunningFileServer>,
    turn: Option<RunningTurn>,
    sogs: Option<RunningSogs>,
}

/// The testnet community's room token.
pub const COMMUNITY_ROOM: &str = "lobby";
/// Its display name.
pub const COMMUNITY_ROOM_NAME: &str = "Lobby";

fn bind(ip: IpAddr, port: u16) -> Result<TcpListener, NodeError> {
    TcpListener::bind(SocketAddr::new(ip, port)).map_err(NodeError::io)
}

impl Testnet {
    /// Start the seed and every node; returns once every node answers.
    pub async fn start(mut config: TestnetConfig) -> Result<Self, NodeError> {
        install_crypto_provider();
        if config.nodes == 0 || config.swarm_size == 0 {
            return Err(NodeError::Config("nodes and swarm size must be positive"));
        }
        if config.faithful && config.tls {
            return Err(NodeError::Config("--faithful and --tls exclude each other"));
        }
        std::fs::create_dir_all(&config.data_dir).map_err(NodeError::io)?;
        let (ca_pem, tls) = if config.tls {
            let extra = if config.bind.is_unspecified() {
                vec![]
            } else {
                vec![config.bind.to_string()]
            };
            let ca = LocalCa::generate_for(&extra)?;
            std::fs::write(config.data_dir.join("ca.pem"), &ca.ca_pem).map_err(NodeError::io)?;
            let cfg = ca.server_config(&extra).await?;
            (Some(ca.ca_pem.clone()), Some(cfg))
        } else {
            (None, None)
        };
        let https = config.tls || config.faithful;
        // The file server first: the nodes' proxy list names its `host:port`.
        let fileserver = if config.fileserver {
            let mut fc = FileServerConfig::new(config.data_dir.join("fileserver"));
            fc.bind = SocketAddr::new(config.bind, 0);
            fc.clock = config.clock.clone();
            fc.rate_limit = None;
            fc.limits = config.limits.listener;
            let fs = crate::fileserver::start(&fc)?;
            let host_port = fs.url().trim_start_matches("http://").to_string();
            config.proxy_allowed_hosts.push(host_port);
            Some(fs)
        } else {
            None
        };
        let sogs = if config.community {
            let mut sc = SogsConfig::new(config.data_dir.join("sogs"));
            sc.bind = SocketAddr::new(config.bind, 0);
            sc.clock = config.clock.clone();
            sc.rate_limit = None;
            sc.limits = config.limits.listener;
            let c = crate::sogs::start(&sc)?;
            c.state().add_room(COMMUNITY_ROOM, COMMUNITY_ROOM_NAME)?;
            config
                .proxy_allowed_hosts
                .push(c.url().trim_start_matches("http://").to_string());
            Some(c)
        } else {
            None
        };
        let turn = if config.turn {
            let mut tc = TurnConfig::new(config.data_dir.join("turn"));
            tc.program = config.turn_program.clone();
            // Loopback unless bound to one address; never the unspecified address.
            if !config.bind.is_unspecified() {
                tc.bind = config.bind;
            }
            let t = crate::turn::start(&tc).await?;
            if t.is_none() {
                eprintln!(
                    "umbra-node: turnserver not found (apt install coturn): no TURN server, \
                     config.json has no \"turn\""
                );
            }
            t
        } else {
            None
        };
        let http = if config.faithful {
            http_client_any_cert()?
        } else {
            http_client(ca_pem.as_deref())?
        };
        let advertise = if config.bind.is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            config.bind.to_string()
        };
        let port_of = |i: u16| {
            if config.base_port == 0 {
                0
            } else {
                config.base_port.saturating_add(i)
            }
        };

        let seed_listener = bind(config.bind, port_of(0))?;
        let seed_port = seed_listener.local_addr().map_err(NodeError::io)?.port();
        let swarms = config.nodes.div_ceil(config.swarm_size);
        let swarm_ids = spread_swarm_ids(swarms);
        let mut listeners = Vec::new();
        let mut slots = Vec::new();
        let mut keys = Vec::new();
        for i in 0..config.nodes {
            let l = bind(config.bind, port_of(1 + i as u16))?;
            let port = l.local_addr().map_err(NodeError::io)?.port();
            let dir = config.data_dir.join(format!("node-{i}"));
            std::fs::create_dir_all(&dir).map_err(NodeError::io)?;
            let key_path = dir.join("ed25519.key");
            let k = NodeKeys::load_or_create(&key_path).map_err(NodeError::io)?;
            let info = NodeInfo {
                index: i,
                ed25519: k.ed25519_public(),
                x25519: k.x25519_public(),
                ip: advertise.clone(),
                port,
                swarm_id: swarm_ids[i % swarms],
                tls: https,
            };
            let own_tls = if config.faithful {
                Some(own_certificate().await?.1)
            } else {
                None
            };
            slots.push(Slot {
                info,
                key_path,
                db_path: dir.join("messages.db"),
                running: None,
                own_tls,
            });
            listeners.push(l);
            keys.push(k);
        }
        let directory = Arc::new(Directory {
            nodes: slots.iter().map(|s| s.info.clone()).collect(),
        });
        let seed_tls = if config.faithful {
            let (pem, cfg) = own_certificate().await?;
            std::fs::write(config.data_dir.join("seed.pem"), &pem).map_err(NodeError::io)?;
            Some((pem, cfg))
        } else {
            None
        };
        let mut net = Self {
            seed_url: format!(
                "{}://{}:{}",
                if https { "https" } else { "http" },
                advertise,
                seed_port
            ),
            config,
            directory: directory.clone(),
            seed: None,
            slots,
            ca_pem,
            tls,
            http,
            seed_cert_pem: seed_tls.as_ref().map(|(pem, _)| pem.clone()),
            bridge: None,
            bundle: BundleConfig::direct("", &[]),
            fileserver,
            turn,
            sogs,
        };
        for (i, (l, k)) in listeners.into_iter().zip(keys).enumerate() {
            net.launch(i, l, k)?;
        }
        let mut seed_router = crate::seed::router_with_cors(directory, !net.config.faithful);
        if let Some(extra) = net.config.seed_extra.take() {
            seed_router = seed_router.merge(extra);
        }
        let seed_router = crate::limits::apply(seed_router, net.config.limits.listener);
        let seed_served_tls = match seed_tls {
            Some((_, cfg)) => Some(cfg),
            None => net.tls.clone(),
        };
        net.seed = Some(Served::spawn(seed_listener, seed_router, seed_served_tls)?);
        for i in 0..net.slots.len() {
            net.wait_ready(i).await?;
        }
        let states: Vec<Arc<NodeState>> = net
            .slots
            .iter()
            .filter_map(|s| s.running.as_ref().map(|r| r.state.clone()))
            .collect();
        futures_util::future::join_all(states.iter().map(|s| catch_up(s))).await;
        if let Some(pem) = net.seed_cert_pem.clone() {
            let mut b = BridgeConfig::new();
            b.bind = SocketAddr::new(net.config.bind, 0);
            b.seeds = vec![SeedSource {
                url: net.seed_url.clone(),
                cert_pem: pem,
            }];
            b.allow_origins = net.config.bridge_origins.clone();
            b.refresh_interval = Duration::from_secs(60);
            // Every browser of a local testnet comes from 127.0.0.1, so the per-IP limit is
            // shared by all of them (tests and benchmarks run several): ten times a public
            // bridge's.
            b.rate_per_sec *= 10.0;
            b.burst *= 10.0;
            let bridge = crate::bridge::start(b, |line| eprintln!("umbra-node: {line}")).await?;
            if bridge.pool_len() != net.slots.len() {
                bridge.stop().await;
                return Err(NodeError::Config("the bridge did not get the node list"));
            }
            net.bridge = Some(bridge);
        }
        net.bundle = match net.bridge_url() {
            Some(url) => BundleConfig::bridged(vec![url.to_string()], net.nodes()),
            None => BundleConfig::direct(&net.seed_url, net.nodes()),
        };
        net.bundle.fileserver = net.fileserver.as_ref().map(|f| FileServerEntry {
            url: f.url().to_string(),
            x25519: hex::encode(f.x25519_public()),
        });
        net.bundle.turn = net.turn.as_ref().map(RunningTurn::entry);
        net.bundle.community = net.sogs.as_ref().map(|c| CommunityEntry {
            url: c.url().to_string(),
            room: COMMUNITY_ROOM.to_string(),
            x25519: hex::encode(c.x25519_public()),
        });
        if let Err(e) = net.bundle.write(&net.config_path()) {
            net.shutdown().await;
            return Err(e);
        }
        Ok(net)
    }

    fn launch(&mut self, i: usize, listener: TcpListener, keys: NodeKeys) -> Result<(), NodeError> {
        let slot = self.slots.get_mut(i).ok_or(NodeError::UnknownNode)?;
        let options = NodeOptions {
            db_path: slot.db_path.clone(),
            proxy_allowed_hosts: self.config.proxy_allowed_hosts.clone(),
            relay_timeout: self.config.relay_timeout,
            rate_limit: None,
            limits: self.config.limits,
            ons: self.config.ons.clone(),
        };
        let state = Arc::new(NodeState::new(
            slot.info.clone(),
            keys,
            self.directory.clone(),
            self.config.clock.clone(),
            self.http.clone(),
            options,
        )?);
        let tls = slot.own_tls.clone().or_else(|| self.tls.clone());
        slot.running = Some(RunningNode::start_with_cors(
            state,
            listener,
            tls,
            self.config.sweep_interval,
            !self.config.faithful,
        )?);
        Ok(())
    }

    async fn wait_ready(&self, i: usize) -> Result<(), NodeError> {
        let url = format!("{}/storage_rpc/v1", self.slots[i].info.url());
        for _ in 0..200 {
            let r = self
                .http
                .post(&url)
                .body(r#"{"method":"info","params":{}}"#)
                .send()
                .await;
            if r.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Err(NodeError::Config("node did not become ready"))
    }

    /// The seed URL (`http://127.0.0.1:PORT`, https with TLS).
    pub fn seed_url(&self) -> &str {
        &self.seed_url
    }

    /// The app bundle's configuration for this network (also in `DATA/config.json`):
    /// faithful mode names the bridge, direct mode the seed; both list every node.
    pub fn bundle_config(&self) -> &BundleConfig {
        &self.bundle
    }

    /// Where the bundle configuration is written: `DATA/config.json`.
    pub fn config_path(&self) -> PathBuf {
        self.config.data_dir.join("config.json")
    }

    /// All nodes (running or not).
    pub fn nodes(&self) -> &[NodeInfo] {
        &self.directory.nodes
    }

    /// The network directory.
    pub fn directory(&self) -> &Arc<Directory> {
        &self.directory
    }

    /// The CA certificate (PEM) when serving HTTPS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The file server (unless `TestnetConfig::fileserver` was off).
    pub fn fileserver(&self) -> Option<&RunningFileServer> {
        self.fileserver.as_ref()
    }

    /// The community server (unless `TestnetConfig::community` was off).
    pub fn community(&self) -> Option<&RunningSogs> {
        self.sogs.as_ref()
    }

    /// The community URL of the testnet's room: `http://IP:PORT/lobby?public_key=<hex>`.
    pub fn community_url(&self) -> Option<String> {
        self.sogs.as_ref().map(|c| c.room_url(COMMUNITY_ROOM))
    }

    /// The TURN server, unless off or `turnserver` is not installed.
    pub fn turn(&self) -> Option<&RunningTurn> {
        self.turn.as_ref()
    }

    /// The faithful testnet's bridge URL (`http://127.0.0.1:PORT`).
    pub fn bridge_url(&self) -> Option<&str> {
        self.bridge.as_ref().map(RunningBridge::url)
    }

    /// The seed's self-signed certificate (PEM) in faithful mode (also in `DATA/seed.pem`).
    pub fn seed_cert_pem(&self) -> Option<&str> {
        self.seed_cert_pem.as_deref()
    }

    /// An HTTP client that trusts this network's CA (faithful: any certificate).
    pub fn http_client(&self) -> &reqwest::Client {
        &self.http
    }

    /// The shared clock.
    pub fn clock(&self) -> &Clock {
        &self.config.clock
    }

    /// State of running node `i`.
    pub fn node_state(&self, i: usize) -> Option<Arc<NodeState>> {
        self.slots.get(i)?.running.as_ref().map(|r| r.state.clone())
    }

    /// Whether node `i` is running.
    pub fn is_running(&self, i: usize) -> bool {
        self.slots.get(i).is_some_and(|s| s.running.is_some())
    }

    /// Stop node `i` (its port closes; its data stays on disk).
    pub async fn stop_node(&mut self, i: usize) -> Result<(), NodeError> {
        let slot = self.slots.get_mut(i).ok_or(NodeError::UnknownNode)?;
        if let Some(r) = slot.running.take() {
            r.stop().await;
        }
        Ok(())
    }

    /// Restart node `i` on its old port with its old keys and database; it then pulls what
    /// it missed from its swarm peers. Returns the number of messages caught up.
    pub async fn restart_node(&mut self, i: usize) -> Result<usize, NodeError> {
        self.stop_node(i).await?;
        let slot = self.slots.get(i).ok_or(NodeError::UnknownNode)?;
        let keys = NodeKeys::load_or_create(&slot.key_path).map_err(NodeError::io)?;
        let listener = bind(self.config.bind, slot.info.port)?;
        self.launch(i, listener, keys)?;
        self.wait_ready(i).await?;
        let state = self.node_state(i).ok_or(NodeError::UnknownNode)?;
        Ok(catch_up(&state).await)
    }

    /// Stop everything.
    pub async fn shutdown(mut self) {
        if let Some(b) = self.bridge.take() {
            b.stop().await;
        }
        if let Some(f) = self.fileserver.take() {
            f.stop().await;
        }
        if let Some(t) = self.turn.take() {
            t.stop();
        }
        if let Some(c) = self.sogs.take() {
            c.stop().await;
        }
        for s in &mut self.slots {
            if let Some(r) = s.running.take() {
                r.stop().await;
            }
        }
        if let Some(seed) = self.seed.take() {
            seed.stop().await;
        }
    }
}
