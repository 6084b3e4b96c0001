//! The testnet's TURN server: Debian's coturn (`turnserver`) run as a child process on
//! loopback, so calls on the local network relay their media as they do on mainnet through
//! Session's TURN servers.
//!
//! Credentials: one random user name and password per run, checked with the long-term
//! credential mechanism (RFC 8489 §9.2, coturn `--lt-cred-mech --user U:P`). That is the
//! scheme Session uses — fixed user name/credential pairs, listed in session-desktop
//! `ts/session/utils/calling/CallManager.ts` (`iceServersFullArray`) — not the TURN REST API's
//! time-limited shared-secret scheme.
//!
//! Everything comes from the command line (`-n`: no `/etc/turnserver.conf`); the user
//! database, pid file and log live in the directory given (the testnet's `DATA/turn/`). The
//! process is killed when [`RunningTurn`] is stopped or dropped, and (through `setpriv
//! --pdeathsig`, when present) when this process dies.
//!
//! Not here: the STUN/TURN protocol itself (coturn's), TLS/DTLS listeners (off), the browser
//! side (the bundle's `turn` entry, [`crate::bundle::TurnEntry`]).

use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::NodeError;
use crate::bundle::TurnEntry;

/// The realm coturn puts in its challenges.
pub const REALM: &str = "umbra.local";

/// How to start the TURN server.
#[derive(Debug, Clone)]
pub struct TurnConfig {
    /// The program (`turnserver` on `PATH` by default).
    pub program: PathBuf,
    /// Listen and relay address (loopback).
    pub bind: IpAddr,
    /// Directory for the user database, pid file and log.
    pub dir: PathBuf,
}

impl TurnConfig {
    /// `turnserver` on 127.0.0.1 with its files in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            program: PathBuf::from("turnserver"),
            bind: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            dir: dir.into(),
        }
    }
}

/// A running coturn.
#[derive(Debug)]
pub struct RunningTurn {
    child: Option<Child>,
    addr: SocketAddr,
    username: String,
    credential: String,
}

/// `program` as given if it has a path, else the first match on `PATH`.
fn find_program(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return program.is_file().then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// A port free for both UDP and TCP on `ip` (coturn listens on both).
fn free_port(ip: IpAddr) -> Result<u16, NodeError> {
    for _ in 0..50 {
        let udp = UdpSocket::bind(SocketAddr::new(ip, 0)).map_err(NodeError::io)?;
        let port = udp.local_addr().map_err(NodeError::io)?.port();
        if TcpListener::bind(SocketAddr::new(ip, port)).is_ok() {
            return Ok(port);
        }
    }
    Err(NodeError::Config("no free port for the TURN server"))
}

fn random_hex(n: usize) -> Result<String, NodeError> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).map_err(|e| NodeError::Io(e.to_string()))?;
    Ok(hex::encode(b))
}

/// A STUN Binding request (RFC 8489 §5: type 0x0001, length 0, magic cookie, transaction id).
fn binding_request(tid: &[u8; 12]) -> [u8; 20] {
    let mut m = [0u8; 20];
    m[0..2].copy_from_slice(&0x0001u16.to_be_bytes());
    m[4..8].copy_from_slice(&0x2112_A442u32.to_be_bytes());
    m[8..20].copy_from_slice(tid);
    m
}

/// Starts coturn. `Ok(None)`: `turnserver` is not installed (the caller says so and goes on
/// without TURN). Returns once it answers a STUN Binding request.
///
/// # Errors
///
/// The directory cannot be made, the process does not start, or it does not answer within
/// 10 seconds (it is then killed).
pub async fn start(cfg: &TurnConfig) -> Result<Option<RunningTurn>, NodeError> {
    let Some(program) = find_program(&cfg.program) else {
        return Ok(None);
    };
    std::fs::create_dir_all(&cfg.dir).map_err(NodeError::io)?;
    let dir = std::fs::canonicalize(&cfg.dir).map_err(NodeError::io)?;
    let port = free_port(cfg.bind)?;
    let username = format!("umbra-{}", random_hex(4)?);
    let credential = random_hex(16)?;
    let ip = cfg.bind.to_string();
    let file = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let args: Vec<String> = vec![
        "-n".into(),
        "--listening-ip".into(),
        ip.clone(),
        "--relay-ip".into(),
        ip,
        "--listening-port".into(),
        port.to_string(),
        "--lt-cred-mech".into(),
        "--user".into(),
        format!("{username}:{credential}"),
        "--realm".into(),
        REALM.into(),
        // Both browsers of a local call are on loopback, so their relayed peers are too.
        "--allow-loopback-peers".into(),
        "--no-multicast-peers".into(),
        "--no-cli".into(),
        "--no-tls".into(),
        "--no-dtls".into(),
        "--no-rfc5780".into(),
        "--no-software-attribute".into(),
        "--relay-threads".into(),
        "1".into(),
        "--userdb".into(),
        file("turndb"),
        "--pidfile".into(),
        file("turnserver.pid"),
        "--log-file".into(),
        file("turnserver.log"),
        "--simple-log".into(),
        "--no-stdout-log".into(),
    ];
    // `setpriv --pdeathsig KILL` execs turnserver (same pid) and has it killed when this
    // process dies, so a killed testnet leaves no TURN server behind.
    let mut cmd = match find_program(Path::new("setpriv")) {
        Some(setpriv) => {
            let mut c = Command::new(setpriv);
            c.arg("--pdeathsig").arg("KILL").arg(&program);
            c
        }
        None => Command::new(&program),
    };
    cmd.args(&args)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = cmd.spawn().map_err(NodeError::io)?;
    let mut turn = RunningTurn {
        child: Some(child),
        addr: SocketAddr::new(cfg.bind, port),
        username,
        credential,
    };
    if let Err(e) = turn.wait_ready().await {
        turn.kill();
        return Err(e);
    }
    Ok(Some(turn))
}

impl RunningTurn {
    async fn wait_ready(&mut self) -> Result<(), NodeError> {
        let bind = SocketAddr::new(self.addr.ip(), 0);
        let sock = tokio::net::UdpSocket::bind(bind)
            .await
            .map_err(NodeError::io)?;
        let tid = [0x55u8; 12];
        let req = binding_request(&tid);
        let mut buf = [0u8; 512];
        for _ in 0..100 {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(_)) = child.try_wait()
            {
                return Err(NodeError::Config("turnserver exited at start"));
            }
            let _ = sock.send_to(&req, self.addr).await;
            let got =
                tokio::time::timeout(Duration::from_millis(100), sock.recv_from(&mut buf)).await;
            if let Ok(Ok((n, _))) = got
                && n >= 20
                && buf[0..2] == [0x01, 0x01]
                && buf[8..20] == tid
            {
                return Ok(());
            }
        }
        Err(NodeError::Config("turnserver did not answer"))
    }

    /// `turn:IP:PORT` (UDP and TCP).
    pub fn url(&self) -> String {
        format!("turn:{}", self.addr)
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The generated user name.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The generated password (a test network's; not a secret worth more than that).
    pub fn credential(&self) -> &str {
        &self.credential
    }

    /// The bundle's `turn` entry for this server.
    pub fn entry(&self) -> TurnEntry {
        TurnEntry {
            urls: vec![self.url()],
            username: self.username.clone(),
            credential: self.credential.clone(),
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kill it and reap it.
    pub fn stop(mut self) {
        self.kill();
    }
}

impl Drop for RunningTurn {
    fn drop(&mut self) {
        self.kill();
    }
}
