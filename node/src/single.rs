//! Single-node mode: one node that is its own swarm, with optional TLS certificate files
//! (for a real deployment behind a proper certificate).

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;
use umbra_protocol::swarm::spread_swarm_ids;

use crate::NodeError;
use crate::clock::Clock;
use crate::directory::{Directory, NodeInfo};
use crate::keys::NodeKeys;
use crate::server::{NodeOptions, NodeState, RunningNode};
use crate::tls::{http_client, install_crypto_provider};

/// Settings of a single node.
#[derive(Debug, Clone)]
pub struct SingleConfig {
    /// Directory for the key and database.
    pub data_dir: PathBuf,
    /// Address to bind.
    pub bind: IpAddr,
    /// Port (0: any free port).
    pub port: u16,
    /// Address advertised to clients (default: the bind address, or 127.0.0.1).
    pub public_ip: Option<String>,
    /// PEM certificate chain and key for HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// `host:port`s onion requests may be proxied to (`--proxy-host`; none by default).
    pub proxy_hosts: Vec<String>,
}

/// Start a single node; returns it and its URL.
pub async fn start_single(cfg: SingleConfig) -> Result<(RunningNode, String), NodeError> {
    install_crypto_provider();
    std::fs::create_dir_all(&cfg.data_dir).map_err(NodeError::io)?;
    let keys =
        NodeKeys::load_or_create(&cfg.data_dir.join("ed25519.key")).map_err(NodeError::io)?;
    let listener = TcpListener::bind(SocketAddr::new(cfg.bind, cfg.port)).map_err(NodeError::io)?;
    let port = listener.local_addr().map_err(NodeError::io)?.port();
    let tls = match &cfg.tls {
        Some((cert, key)) => Some(
            RustlsConfig::from_pem_file(cert, key)
                .await
                .map_err(NodeError::io)?,
        ),
        None => None,
    };
    let ip = cfg.public_ip.clone().unwrap_or_else(|| {
        if cfg.bind.is_unspecified() {
            "127.0.0.1".into()
        } else {
            cfg.bind.to_string()
        }
    });
    let info = NodeInfo {
        index: 0,
        ed25519: keys.ed25519_public(),
        x25519: keys.x25519_public(),
        ip,
        port,
        swarm_id: spread_swarm_ids(1)[0],
        tls: tls.is_some(),
    };
    let url = info.url();
    let directory = Arc::new(Directory {
        nodes: vec![info.clone()],
    });
    let options = NodeOptions {
        db_path: cfg.data_dir.join("messages.db"),
        proxy_allowed_hosts: cfg.proxy_hosts.clone(),
        relay_timeout: Duration::from_secs(10),
        rate_limit: Some(crate::server::RateLimit::OXENSS),
        limits: crate::limits::NodeLimits::DEFAULT,
        ons: Arc::default(),
    };
    let state = Arc::new(NodeState::new(
        info,
        keys,
        directory,
        Clock::system(),
        http_client(None)?,
        options,
    )?);
    Ok((
        RunningNode::start(state, listener, tls, Duration::from_secs(10))?,
        url,
    ))
}
