//! `umbra-node`: a local Session-compatible network (`testnet`) or a single node (`node`).

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use umbra_node::bridge::{BridgeConfig, SeedSource, start as start_bridge};
use umbra_node::bundle::BundleConfig;
use umbra_node::single::{SingleConfig, start_single};
use umbra_node::static_site::{self, SiteConfig, SiteNetwork};
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
    /// Start a seed and N nodes in one process; prints `seed <URL>` once all answer and
    /// writes the app bundle's network configuration to DATA/config.json. With coturn
    /// installed it also starts a TURN server and prints `turn turn:IP:PORT <user> <password>`
    /// after the `seed` and `fileserver` lines (before `bridge` and `app`).
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
        /// Behave like Session's network: every node and the seed serve HTTPS with their own
        /// self-signed certificate (DATA/seed.pem), no CORS, no OPTIONS; also starts a bridge
        /// pinned to the seed and prints `bridge <URL>` after the seed line.
        #[arg(long, conflicts_with = "tls")]
        faithful: bool,
        /// Seed port; nodes use the following ports. 0 picks free ports.
        #[arg(long, default_value_t = 0)]
        base_port: u16,
        /// Address to bind.
        #[arg(long, default_value = "127.0.0.1")]
        bind: IpAddr,
        /// Also serve the app bundle from this directory (trunk's `dist/`), with this
        /// network's DATA/config.json at /config.json; prints `app <URL>` once it listens.
        #[arg(long)]
        app_dir: Option<PathBuf>,
        /// Address for the app server.
        #[arg(long, default_value = "127.0.0.1:8080")]
        app_bind: SocketAddr,
        /// Register an ONS name every node resolves (`oxend_request` `ons_resolve`):
        /// `NAME=<66 hex Account ID>`; repeat.
        #[arg(long = "ons")]
        ons: Vec<String>,
        /// Test control (loopback only): the seed also answers POST /testnet/v1/stop_node and
        /// /testnet/v1/start_node with {"ed25519": "<hex>"} and `Authorization: Bearer
        /// <token>`, the random token printed as `control token <hex>` before the seed line.
        #[arg(long)]
        control: bool,
    },
    /// Run a blind bridge: `POST /v1/onion/<guard ed25519 hex>` is relayed unchanged to that
    /// node's `/onion_req/v2`; only nodes of the pool the pinned seeds list are reachable.
    /// Prints `bridge <URL>` once it listens.
    Bridge {
        /// Address to bind.
        #[arg(long, default_value = "127.0.0.1:0")]
        bind: SocketAddr,
        /// Seed URL (`https://host:port`); repeat with one --seed-cert each. Default:
        /// Session's mainnet seeds with their pinned certificates.
        #[arg(long = "seed", requires = "seed_certs")]
        seeds: Vec<String>,
        /// PEM file with the certificate of the --seed at the same position.
        #[arg(long = "seed-cert", requires = "seeds")]
        seed_certs: Vec<PathBuf>,
        /// PEM certificate chain (serve HTTPS).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key (serve HTTPS).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// An origin (`https://app.example`) allowed to call the bridge from a page; repeat.
        #[arg(long = "allow-origin")]
        allow_origins: Vec<String>,
        /// Requests per second per client IP (token bucket refill).
        #[arg(long, default_value_t = 20.0)]
        rate: f64,
        /// Token bucket size per client IP.
        #[arg(long, default_value_t = 100.0)]
        burst: f64,
        /// Largest request body in bytes.
        #[arg(long, default_value_t = umbra_protocol::rpc::MAX_REQUEST_BODY)]
        max_body: usize,
        /// Requests relayed at the same time.
        #[arg(long, default_value_t = 256)]
        max_in_flight: usize,
        /// Seconds between pool refreshes from the seeds.
        #[arg(long, default_value_t = 1800)]
        refresh_secs: u64,
    },
    /// Write the bundle's network configuration from pinned seeds: the nodes every seed that
    /// answered lists identically, `{"network","bridges","bootstrap"}`. Nothing is written
    /// when no seed answers or fewer than --min nodes are agreed on.
    Bootstrap {
        /// Seed URL (`https://host:port`); repeat with one --seed-cert each. Default:
        /// Session's mainnet seeds with their pinned certificates.
        #[arg(long = "seed", requires = "seed_certs")]
        seeds: Vec<String>,
        /// PEM file with the certificate of the --seed at the same position.
        #[arg(long = "seed-cert", requires = "seeds")]
        seed_certs: Vec<PathBuf>,
        /// Fewest nodes accepted (24: Session desktop's agreement bound for mainnet; give
        /// a smaller one for a small test network).
        #[arg(long, default_value_t = umbra_node::bootstrap::MAINNET_MIN)]
        min: usize,
        /// A bridge the app goes through (`https://bridge.example`); repeat.
        #[arg(long = "bridge")]
        bridges: Vec<String>,
        /// The network's name in the file.
        #[arg(long, default_value = "mainnet")]
        network: String,
        /// The file to write (e.g. config/mainnet.json).
        #[arg(long)]
        out: PathBuf,
    },
    /// Serve the app bundle (trunk's `dist/`) with Umbra's security headers.
    Serve {
        /// The bundle directory.
        #[arg(long, default_value = "dist")]
        dir: PathBuf,
        /// Address to bind.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        /// Seed URL handed to the app at /config.json (else the bundle's own config.json):
        /// the direct-mode shape `{"network":"local","seed_url":URL,"bridges":[],"bootstrap":[]}`.
        #[arg(long, conflicts_with = "config")]
        seed: Option<String>,
        /// A network configuration file (`testnet`'s DATA/config.json, `bootstrap --out`)
        /// answered at /config.json; read on every request, so a new file is picked up.
        #[arg(long)]
        config: Option<PathBuf>,
        /// An extra Content-Security-Policy `connect-src` source (e.g. a bridge users may
        /// add themselves); repeat. The configuration's bridges, seed and nodes are added.
        #[arg(long = "connect-src")]
        connect_src: Vec<String>,
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
    /// Run a file server (session-file-server's API) reached by onion v4 requests that a
    /// node proxies to `POST /oxen/v4/lsrpc`. Prints `fileserver <URL> <x25519 hex>` once it
    /// listens; nodes must list its `host:port` (`node --proxy-host`).
    Fileserver {
        /// Directory for its key (fileserver.key), files/ and files.db.
        #[arg(long)]
        data: PathBuf,
        /// Address to bind.
        #[arg(long, default_value = "127.0.0.1:0")]
        bind: SocketAddr,
        /// Longest (and default) file lifetime in seconds (`X-FS-TTL` is clamped to it).
        #[arg(long, default_value_t = umbra_node::fileserver::MAX_TTL_SECS)]
        max_ttl_secs: u64,
        /// Seconds between sweeps of expired files.
        #[arg(long, default_value_t = 60)]
        sweep_secs: u64,
        /// Requests per second per client IP (token bucket refill).
        #[arg(long, default_value_t = 300.0)]
        rate: f64,
        /// Token bucket size per client IP.
        #[arg(long, default_value_t = 600.0)]
        burst: f64,
        /// Requests handled at the same time (503 beyond).
        #[arg(long, default_value_t = 1024)]
        max_in_flight: usize,
    },
    /// A community server (SOGS) reached by onion v4 requests that a node proxies to
    /// `POST /oxen/v4/lsrpc`, and its admin: `sogs --data D serve`, `sogs --data D room add
    /// TOKEN NAME`, `sogs --data D moderator add ID [--admin] --room TOKEN`.
    Sogs {
        /// Directory for its key (sogs.key), sogs.db and sogs-files/.
        #[arg(long, global = true)]
        data: Option<PathBuf>,
        #[command(subcommand)]
        cmd: SogsCmd,
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

#[derive(Subcommand)]
enum SogsCmd {
    /// Serve; prints `sogs <URL> <x25519 hex>` and then `community <URL>/<room>?public_key=<hex>`
    /// for every room once it listens; nodes must list its `host:port` (`node --proxy-host`).
    Serve {
        /// Address to bind.
        #[arg(long, default_value = "127.0.0.1:0")]
        bind: SocketAddr,
        /// Accept unblinded (`00`) ids too (drops the `blind` requirement).
        #[arg(long)]
        allow_unblinded: bool,
        /// Requests per second per client IP (token bucket refill).
        #[arg(long, default_value_t = 300.0)]
        rate: f64,
        /// Token bucket size per client IP.
        #[arg(long, default_value_t = 600.0)]
        burst: f64,
        /// Requests handled at the same time (503 beyond).
        #[arg(long, default_value_t = 1024)]
        max_in_flight: usize,
    },
    /// Rooms.
    Room {
        #[command(subcommand)]
        cmd: SogsRoomCmd,
    },
    /// Moderators.
    Moderator {
        #[command(subcommand)]
        cmd: SogsModCmd,
    },
    /// Print `found <table>.<column>` for every place the database holds KEY (hex: a `05`
    /// Account ID, a 32-byte key, any id), raw or as hex; nothing when it holds none. Read-only.
    Find {
        /// The key or id, hex.
        key: String,
    },
}

#[derive(Subcommand)]
enum SogsRoomCmd {
    /// Add a room (or rename an existing one).
    Add {
        /// The room token (1-64 of a-z A-Z 0-9 _ -).
        token: String,
        /// Its display name.
        name: String,
        /// Members may read but not post (moderators still may).
        #[arg(long)]
        read_only: bool,
        /// Members may not upload files.
        #[arg(long)]
        no_upload: bool,
    },
}

#[derive(Subcommand)]
enum SogsModCmd {
    /// Make ID a moderator of a room: a `05` Account ID (stored only as its blinded ids) or a
    /// `15`/`25` blinded id.
    Add {
        /// The id (66 hex).
        id: String,
        /// An admin (may pin and appoint moderators), not only a moderator.
        #[arg(long)]
        admin: bool,
        /// The room token.
        #[arg(long)]
        room: String,
    },
}

fn sogs_admin(data: PathBuf, cmd: SogsCmd) -> Result<(), String> {
    if let SogsCmd::Find { key } = &cmd {
        let key = hex::decode(key.trim()).map_err(|_| "KEY must be hex".to_string())?;
        let found = umbra_node::sogs::store::find(&data.join("sogs.db"), &key)
            .map_err(|e| e.to_string())?;
        for cell in found {
            announce(&format!("found {cell}"));
        }
        return Ok(());
    }
    let state = umbra_node::sogs::SogsState::open(&umbra_node::sogs::SogsConfig::new(data))
        .map_err(|e| e.to_string())?;
    match cmd {
        SogsCmd::Room {
            cmd:
                SogsRoomCmd::Add {
                    token,
                    name,
                    read_only,
                    no_upload,
                },
        } => {
            state.add_room(&token, &name).map_err(|e| e.to_string())?;
            state
                .set_room_defaults(&token, true, !read_only, !read_only && !no_upload)
                .map_err(|e| e.to_string())?;
            announce(&format!("room {token} added"));
        }
        SogsCmd::Moderator {
            cmd: SogsModCmd::Add { id, admin, room },
        } => {
            state
                .add_moderator(&id, &room, admin)
                .map_err(|e| e.to_string())?;
            let what = if admin { "admin" } else { "moderator" };
            announce(&format!("{what} added to {room}"));
        }
        SogsCmd::Serve { .. } | SogsCmd::Find { .. } => {}
    }
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM. SIGTERM's handler is installed when this is called, not when
/// the future is first polled, so call it before announcing anything: a reader that sends
/// SIGTERM as soon as it has read the lines then gets a clean shutdown, not the default
/// action.
fn wait_for_shutdown() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let Some(mut term) = term else {
                let _ = ctrl_c.await;
                return;
            };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
    }
}

#[allow(clippy::print_stdout)]
fn announce(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// `--seed`/`--seed-cert` pairs as seed sources; none given: `None` (use the defaults).
fn read_seeds(seeds: Vec<String>, certs: Vec<PathBuf>) -> Result<Option<Vec<SeedSource>>, String> {
    if seeds.is_empty() {
        return Ok(None);
    }
    if seeds.len() != certs.len() {
        return Err("give one --seed-cert per --seed".into());
    }
    let mut list = Vec::new();
    for (url, path) in seeds.into_iter().zip(certs) {
        let cert_pem =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        list.push(SeedSource { url, cert_pem });
    }
    Ok(Some(list))
}

/// Bind the app server and run it in the background; returns its URL.
async fn start_site(cfg: SiteConfig, bind: SocketAddr) -> std::io::Result<String> {
    let listener = std::net::TcpListener::bind(bind)?;
    start_site_on(cfg, listener).await
}

/// Run the app server on a bound listener in the background; returns its URL.
async fn start_site_on(
    cfg: SiteConfig,
    listener: std::net::TcpListener,
) -> std::io::Result<String> {
    // Build the router first so a missing bundle fails before anything listens.
    let app = static_site::router(&cfg)?;
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
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
        Cmd::Serve {
            dir,
            bind,
            seed,
            config,
            connect_src,
        } => {
            let mut cfg = SiteConfig::new(dir);
            cfg.connect_src = connect_src;
            cfg.network = match (seed, config) {
                (Some(seed), _) => Some(SiteNetwork::Fixed(Box::new(BundleConfig::direct(
                    &seed,
                    &[],
                )))),
                (None, Some(file)) => Some(SiteNetwork::File(file)),
                (None, None) => None,
            };
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
            faithful,
            base_port,
            bind,
            app_dir,
            app_bind,
            ons,
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
            cfg.faithful = faithful;
            cfg.base_port = base_port;
            let mut names = umbra_node::ons::Ons::default();
            for arg in &ons {
                if let Err(e) = names.register_arg(arg) {
                    eprintln!("umbra-node: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            }
            cfg.ons = std::sync::Arc::new(names);
            // Bind the app server first so the bridge knows the page's origin.
            let app_listener = match &app_dir {
                Some(_) => match std::net::TcpListener::bind(app_bind).and_then(|l| {
                    let a = l.local_addr()?;
                    Ok((l, a))
                }) {
                    Ok((l, a)) => {
                        cfg.bridge_origins = vec![
                            format!("http://{a}"),
                            format!("http://localhost:{}", a.port()),
                        ];
                        Some(l)
                    }
                    Err(e) => {
                        eprintln!("umbra-node: app server: {e}");
                        return std::process::ExitCode::FAILURE;
                    }
                },
                None => None,
            };
            cfg.bind = bind;
            let mut control_rx = None;
            let mut control_token = None;
            if control {
                let token = match umbra_node::control::new_token() {
                    Ok(t) => t,
                    Err(e) => {
                        eprintln!("umbra-node: {e}");
                        return std::process::ExitCode::FAILURE;
                    }
                };
                let (routes, rx) = umbra_node::control::router(&token);
                cfg.seed_extra = Some(routes);
                control_rx = Some(rx);
                control_token = Some(token);
            }
            let mut net = match Testnet::start(cfg).await {
                Ok(n) => n,
                Err(e) => {
                    eprintln!("umbra-node: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            };
            let shutdown = wait_for_shutdown();
            // Before the seed line, so a reader that waits for `seed` already has it.
            if let Some(token) = &control_token {
                announce(&format!("control token {token}"));
            }
            announce(&format!("seed {}", net.seed_url()));
            if let Some(fs) = net.fileserver() {
                announce(&format!(
                    "fileserver {} {}",
                    fs.url(),
                    hex::encode(fs.x25519_public())
                ));
            }
            if let Some(t) = net.turn() {
                announce(&format!(
                    "turn {} {} {}",
                    t.url(),
                    t.username(),
                    t.credential()
                ));
            }
            if let Some(url) = net.bridge_url() {
                announce(&format!("bridge {url}"));
            }
            if let Some(url) = net.community_url() {
                announce(&format!("community {url}"));
            }
            if let Some((dir, listener)) = app_dir.zip(app_listener) {
                let mut site = SiteConfig::new(dir);
                site.network = Some(SiteNetwork::File(net.config_path()));
                match start_site_on(site, listener).await {
                    Ok(url) => announce(&format!("app {url}")),
                    Err(e) => {
                        eprintln!("umbra-node: app server: {e}");
                        net.shutdown().await;
                        return std::process::ExitCode::FAILURE;
                    }
                }
            }
            match control_rx.as_mut() {
                Some(rx) => umbra_node::control::serve(&mut net, rx, shutdown).await,
                None => shutdown.await,
            }
            net.shutdown().await;
        }
        Cmd::Bridge {
            bind,
            seeds,
            seed_certs,
            tls_cert,
            tls_key,
            allow_origins,
            rate,
            burst,
            max_body,
            max_in_flight,
            refresh_secs,
        } => {
            let mut cfg = BridgeConfig::new();
            cfg.bind = bind;
            match read_seeds(seeds, seed_certs) {
                Ok(Some(list)) => cfg.seeds = list,
                Ok(None) => {}
                Err(e) => {
                    eprintln!("umbra-node: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            }
            if let Some((cert, key)) = tls_cert.zip(tls_key) {
                match (std::fs::read(&cert), std::fs::read(&key)) {
                    (Ok(c), Ok(k)) => cfg.tls = Some((c, k)),
                    _ => {
                        eprintln!("umbra-node: cannot read --tls-cert/--tls-key");
                        return std::process::ExitCode::FAILURE;
                    }
                }
            }
            cfg.allow_origins = allow_origins;
            cfg.rate_per_sec = rate;
            cfg.burst = burst;
            cfg.max_body = max_body;
            cfg.max_in_flight = max_in_flight;
            cfg.refresh_interval = std::time::Duration::from_secs(refresh_secs.max(1));
            let bridge = match start_bridge(cfg, |line| eprintln!("umbra-node: {line}")).await {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("umbra-node: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            };
            announce(&format!("bridge {}", bridge.url()));
            wait_for_shutdown().await;
            bridge.stop().await;
        }
        Cmd::Bootstrap {
            seeds,
            seed_certs,
            min,
            bridges,
            network,
            out,
        } => {
            let seeds = match read_seeds(seeds, seed_certs) {
                Ok(list) => list.unwrap_or_else(umbra_node::bridge::mainnet_seeds),
                Err(e) => {
                    eprintln!("umbra-node: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            };
            match umbra_node::bootstrap::write(&seeds, min, &network, bridges, &out).await {
                Ok(cfg) => announce(&format!(
                    "bootstrap {} nodes -> {}",
                    cfg.bootstrap.len(),
                    out.display()
                )),
                Err(e) => {
                    eprintln!("umbra-node: bootstrap: {e}; nothing written");
                    return std::process::ExitCode::FAILURE;
                }
            }
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
        Cmd::Fileserver {
            data,
            bind,
            max_ttl_secs,
            sweep_secs,
            rate,
            burst,
            max_in_flight,
        } => {
            let mut cfg = umbra_node::fileserver::FileServerConfig::new(data);
            cfg.bind = bind;
            cfg.max_ttl_secs = max_ttl_secs.clamp(1, umbra_node::fileserver::MAX_TTL_SECS);
            cfg.sweep_interval = std::time::Duration::from_secs(sweep_secs.max(1));
            cfg.rate_limit = Some(umbra_node::server::RateLimit {
                burst,
                per_second: rate,
            });
            cfg.limits.max_in_flight = max_in_flight.max(1);
            let fs = match umbra_node::fileserver::start(&cfg) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("umbra-node: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            };
            announce(&format!(
                "fileserver {} {}",
                fs.url(),
                hex::encode(fs.x25519_public())
            ));
            wait_for_shutdown().await;
            fs.stop().await;
        }
        Cmd::Sogs { data, cmd } => {
            let Some(data) = data else {
                eprintln!("umbra-node: sogs needs --data DIR");
                return std::process::ExitCode::FAILURE;
            };
            let SogsCmd::Serve {
                bind,
                allow_unblinded,
                rate,
                burst,
                max_in_flight,
            } = cmd
            else {
                if let Err(e) = sogs_admin(data, cmd) {
                    eprintln!("umbra-node: {e}");
                    return std::process::ExitCode::FAILURE;
                }
                return std::process::ExitCode::SUCCESS;
            };
            let mut cfg = umbra_node::sogs::SogsConfig::new(data);
            cfg.bind = bind;
            cfg.require_blind = !allow_unblinded;
            cfg.rate_limit = Some(umbra_node::server::RateLimit {
                burst,
                per_second: rate,
            });
            cfg.limits.max_in_flight = max_in_flight.max(1);
            let server = match umbra_node::sogs::start(&cfg) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("umbra-node: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            };
            let shutdown = wait_for_shutdown();
            announce(&format!(
                "sogs {} {}",
                server.url(),
                hex::encode(server.x25519_public())
            ));
            for token in server.state().room_tokens() {
                announce(&format!("community {}", server.room_url(&token)));
            }
            shutdown.await;
            server.stop().await;
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
