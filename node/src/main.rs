//! `umbra-node`: a local Session-compatible network (`testnet`) or a single node (`node`).

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use umbra_node::single::{SingleConfig, start_single};
use umbra_node::static_site::{self, SiteConfig};
use umbra_node::testnet::{Testnet, TestnetConfig};

#[derive(Parser)]
#[command(
    name = "umbra-node",
    version,
    about = "Session-compatible service node and local test network"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start a seed and N nodes in one process; prints `seed <URL>` once all answer.
    Testnet {
        /// Number of nodes.
        #[arg(long, default_value_t = 12)]
        nodes: usize,
        /// Nodes per swarm.
        #[arg(long, default_value_t = 4)]
        swarm_size: usize,
        /// Directory for keys, databases and ca.pem.
        #[arg(long)]
        data: PathBuf,
        /// Serve HTTPS with a generated local CA (written to DATA/ca.pem).
        #[arg(long)]
        tls: bool,
        /// Seed port; nodes use the following ports. 0 picks free ports.
        #[arg(long, default_value_t = 0)]
        base_port: u16,
        /// Address to bind.
        #[arg(long, default_value = "127.0.0.1")]
        bind: IpAddr,
        /// Also serve the app bundle from this directory (trunk's `dist/`), pointed at this
        /// network's seed; prints `app <URL>` once it listens.
        #[arg(long)]
        app_dir: Option<PathBuf>,
        /// Address for the app server.
        #[arg(long, default_value = "127.0.0.1:8080")]
        app_bind: SocketAddr,
        /// Test control (loopback only): the seed also answers POST /testnet/v1/stop_node and
        /// /testnet/v1/start_node with {"ed25519": "<hex>"}.
        #[arg(long)]
        control: bool,
    },
    /// Serve the app bundle (trunk's `dist/`) with Umbra's security headers.
    Serve {
        /// The bundle directory.
        #[arg(long, default_value = "dist")]
        dir: PathBuf,
        /// Address to bind.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        /// Seed URL handed to the app at /config.json (else the bundle's own config.json).
        #[arg(long)]
        seed: Option<String>,
    },
    /// Print, one JSON line each, the messages every node of a testnet stores for an account
    /// (read-only; for tests that prove a message is gone from the swarm).
    Inspect {
        /// The testnet's data directory.
        #[arg(long)]
        data: PathBuf,
        /// The account (66 hex characters).
        #[arg(long)]
        account: String,
    },
    /// Run a single node that is its own swarm.
    Node {
        /// Directory for the key and database.
        #[arg(long)]
        data: PathBuf,
        /// Port.
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Address to bind.
        #[arg(long, default_value = "127.0.0.1")]
        bind: IpAddr,
        /// Public IP advertised to clients.
        #[arg(long)]
        public_ip: Option<String>,
        /// PEM certificate chain (HTTPS).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key (HTTPS).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// `host:port` an onion request may be proxied to (repeatable; none by default).
        #[arg(long = "proxy-host")]
        proxy_host: Vec<String>,
    },
}

async fn wait_for_shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

#[allow(clippy::print_stdout)]
fn announce(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Bind the app server and run it in the background; returns its URL.
async fn start_site(cfg: SiteConfig, bind: SocketAddr) -> std::io::Result<String> {
    // Build the router first so a missing bundle fails before anything listens.
    let app = static_site::router(&cfg)?;
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let url = format!("http://{}/", listener.local_addr()?);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("umbra-node: app server stopped: {e}");
        }
    });
    Ok(url)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Serve { dir, bind, seed } => {
            let mut cfg = SiteConfig::for_loopback_nodes(dir);
            cfg.seed_url = seed;
            let url = match start_site(cfg, bind).await {
                Ok(url) => url,
                Err(e) => {
                    eprintln!("umbra-node: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            };
            announce(&format!("app {url}"));
            wait_for_shutdown().await;
        }
        Cmd::Testnet {
            nodes,
            swarm_size,
            data,
            tls,
            base_port,
            bind,
            app_dir,
            app_bind,
            control,
        } => {
            if control && !bind.is_loopback() {
                eprintln!("umbra-node: --control needs a loopback --bind");
                return std::process::ExitCode::FAILURE;
            }
            let mut cfg = TestnetConfig::new(data);
            cfg.nodes = nodes;
            cfg.swarm_size = swarm_size;
            cfg.tls = tls;
            cfg.base_port = base_port;
            cfg.bind = bind;
            let mut control_rx = None;
            if control {
                let (routes, rx) = umbra_node::control::router();
                cfg.seed_extra = Some(routes);
                control_rx = Some(rx);
            }
            let mut net = match Testnet::start(cfg).await {
                Ok(n) => n,
                Err(e) => {
                    eprintln!("umbra-node: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            };
            announce(&format!("seed {}", net.seed_url()));
            if let Some(dir) = app_dir {
                let mut site = SiteConfig::for_loopback_nodes(dir);
                site.seed_url = Some(net.seed_url().to_string());
                match start_site(site, app_bind).await {
                    Ok(url) => announce(&format!("app {url}")),
                    Err(e) => {
                        eprintln!("umbra-node: app server: {e}");
                        net.shutdown().await;
                        return std::process::ExitCode::FAILURE;
                    }
                }
            }
            match control_rx.as_mut() {
                Some(rx) => umbra_node::control::serve(&mut net, rx, wait_for_shutdown()).await,
                None => wait_for_shutdown().await,
            }
            net.shutdown().await;
        }
        Cmd::Inspect { data, account } => {
            let Some(account) = umbra_protocol::rpc::params::AccountId::from_hex(&account) else {
                eprintln!("umbra-node: not an account id");
                return std::process::ExitCode::FAILURE;
            };
            match umbra_node::inspect::stored_messages(&data, &account) {
                Ok(rows) => {
                    for row in rows {
                        announce(&serde_json::to_string(&row).unwrap_or_default());
                    }
                }
                Err(e) => {
                    eprintln!("umbra-node: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            }
        }
        Cmd::Node {
            data,
            port,
            bind,
            public_ip,
            tls_cert,
            tls_key,
            proxy_host,
        } => {
            let tls = tls_cert.zip(tls_key);
            let cfg = SingleConfig {
                data_dir: data,
                bind,
                port,
                public_ip,
                tls,
                proxy_hosts: proxy_host,
            };
            let (node, url) = match start_single(cfg).await {
                Ok(n) => n,
                Err(e) => {
                    eprintln!("umbra-node: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            };
            announce(&format!("node {url}"));
            wait_for_shutdown().await;
            node.stop().await;
        }
    }
    std::process::ExitCode::SUCCESS
}
