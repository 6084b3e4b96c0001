//! The testnet's TURN server (coturn, `umbra_node::turn`): it answers a STUN Binding request
//! over UDP and refuses an unauthenticated TURN Allocate with 401, both with hand-built
//! messages (RFC 8489 §5–6, §14; RFC 8656 §7), its credentials reach `config.json`, it dies
//! with the testnet, and a testnet without `turnserver` goes on without it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde_json::Value;
use tokio::net::UdpSocket;
use umbra_node::testnet::{Testnet, TestnetConfig};

const MAGIC: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];

/// Header: type, length of the attributes, magic cookie, transaction id; then attributes.
fn stun(kind: u16, tid: [u8; 12], attrs: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&kind.to_be_bytes());
    m.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    m.extend_from_slice(&MAGIC);
    m.extend_from_slice(&tid);
    m.extend_from_slice(attrs);
    m
}

/// The attributes of a STUN message as (type, value), padding skipped.
fn attributes(m: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let len = usize::from(u16::from_be_bytes([m[2], m[3]]));
    assert_eq!(m.len(), 20 + len, "length field matches");
    let mut out = Vec::new();
    let mut i = 20;
    while i + 4 <= m.len() {
        let t = u16::from_be_bytes([m[i], m[i + 1]]);
        let l = usize::from(u16::from_be_bytes([m[i + 2], m[i + 3]]));
        out.push((t, m[i + 4..i + 4 + l].to_vec()));
        i += 4 + l.div_ceil(4) * 4;
    }
    out
}

async fn exchange(sock: &UdpSocket, to: SocketAddr, msg: &[u8]) -> Vec<u8> {
    let mut buf = [0u8; 1500];
    for _ in 0..20 {
        sock.send_to(msg, to).await.expect("send");
        if let Ok(Ok((n, from))) =
            tokio::time::timeout(Duration::from_millis(250), sock.recv_from(&mut buf)).await
        {
            assert_eq!(from, to);
            return buf[..n].to_vec();
        }
    }
    panic!("no STUN answer from {to}");
}

fn turn_port(config: &Value) -> u16 {
    let url = config["turn"]["urls"][0].as_str().expect("turn url");
    let port = url
        .strip_prefix("turn:127.0.0.1:")
        .expect("turn:127.0.0.1:P");
    port.parse().expect("port")
}

async fn small_testnet(dir: &std::path::Path) -> Testnet {
    let mut cfg = TestnetConfig::new(dir);
    cfg.nodes = 1;
    cfg.swarm_size = 1;
    cfg.fileserver = false;
    Testnet::start(cfg).await.expect("testnet")
}

#[tokio::test]
async fn test_turn_answers_binding_and_refuses_unauthenticated_allocate() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = small_testnet(dir.path()).await;
    let turn = net
        .turn()
        .expect("turnserver (Debian coturn) is installed: run scripts/setup.sh");
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(net.config_path()).expect("config.json"))
            .expect("json");
    assert_eq!(config["turn"]["username"], turn.username());
    assert_eq!(config["turn"]["credential"], turn.credential());
    assert!(turn.username().starts_with("umbra-"));
    assert_eq!(turn.credential().len(), 32);
    let port = turn_port(&config);
    let server = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
    assert_eq!(turn.addr(), server);

    let sock = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
    let me = sock.local_addr().expect("addr");

    // Binding request (0x0001), no attributes → Binding success (0x0101), same transaction,
    // XOR-MAPPED-ADDRESS (0x0020) = our address XOR the cookie.
    let tid = *b"umbra-bind-1";
    let answer = exchange(&sock, server, &stun(0x0001, tid, &[])).await;
    assert_eq!(&answer[0..2], &[0x01, 0x01], "binding success");
    assert_eq!(&answer[4..8], &MAGIC);
    assert_eq!(&answer[8..20], &tid);
    let attrs = attributes(&answer);
    let xma = &attrs
        .iter()
        .find(|(t, _)| *t == 0x0020)
        .expect("XOR-MAPPED-ADDRESS")
        .1;
    assert_eq!(xma[1], 0x01, "IPv4");
    let xport = u16::from_be_bytes([xma[2], xma[3]]) ^ 0x2112;
    let xip: Vec<u8> = xma[4..8].iter().zip(MAGIC).map(|(a, b)| a ^ b).collect();
    assert_eq!(xport, me.port());
    assert_eq!(xip, [127, 0, 0, 1]);

    // Allocate (0x0003) with REQUESTED-TRANSPORT (0x0019) = UDP (17) and no credentials →
    // Allocate error (0x0113) with ERROR-CODE (0x0009) 401, the realm and a nonce.
    let tid = *b"umbra-alloc1";
    let requested_transport = [0x00, 0x19, 0x00, 0x04, 17, 0, 0, 0];
    let answer = exchange(&sock, server, &stun(0x0003, tid, &requested_transport)).await;
    assert_eq!(&answer[0..2], &[0x01, 0x13], "allocate error response");
    assert_eq!(&answer[8..20], &tid);
    let attrs = attributes(&answer);
    let code = &attrs
        .iter()
        .find(|(t, _)| *t == 0x0009)
        .expect("ERROR-CODE")
        .1;
    assert_eq!(u16::from(code[2]) * 100 + u16::from(code[3]), 401);
    let realm = &attrs.iter().find(|(t, _)| *t == 0x0014).expect("REALM").1;
    assert_eq!(realm.as_slice(), umbra_node::turn::REALM.as_bytes());
    assert!(
        attrs.iter().any(|(t, v)| *t == 0x0015 && !v.is_empty()),
        "NONCE"
    );

    // A user name alone (no MESSAGE-INTEGRITY) is still unauthenticated: 401 again (or 400).
    let user = turn.username().as_bytes();
    let mut attrs_u = requested_transport.to_vec();
    attrs_u.extend_from_slice(&[0x00, 0x06]);
    attrs_u.extend_from_slice(&(user.len() as u16).to_be_bytes());
    attrs_u.extend_from_slice(user);
    attrs_u.resize(attrs_u.len().div_ceil(4) * 4, 0);
    let tid = *b"umbra-alloc2";
    let answer = exchange(&sock, server, &stun(0x0003, tid, &attrs_u)).await;
    assert_eq!(&answer[0..2], &[0x01, 0x13], "still refused");

    // It dies with the testnet.
    let pid: u32 = std::fs::read_to_string(dir.path().join("turn/turnserver.pid"))
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    net.shutdown().await;
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    let quiet = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
    quiet
        .send_to(&stun(0x0001, *b"umbra-bind-2", &[]), server)
        .await
        .expect("send");
    let mut buf = [0u8; 64];
    let got = tokio::time::timeout(Duration::from_millis(300), quiet.recv_from(&mut buf)).await;
    assert!(
        got.is_err() || got.is_ok_and(|r| r.is_err()),
        "nothing answers"
    );
}

/// `umbra-node testnet` prints `turn turn:127.0.0.1:P <user> <password>` after the seed and
/// file server lines (the shape `e2e/support/testnet.mjs` parses), the same as config.json,
/// and its TURN server is gone after SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_testnet_command_prints_the_turn_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_umbra-node"))
        .args(["testnet", "--nodes", "1", "--swarm-size", "1", "--data"])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("stderr.txt")).expect("stderr file"))
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let lines = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut r = std::io::BufReader::new(stdout);
        let mut lines = Vec::new();
        for _ in 0..3 {
            let mut l = String::new();
            r.read_line(&mut l).expect("read");
            lines.push(l.trim().to_owned());
        }
        lines
    })
    .await
    .expect("join");
    assert!(lines[0].starts_with("seed "), "{lines:?}");
    assert!(lines[1].starts_with("fileserver "), "{lines:?}");
    let turn: Vec<&str> = lines[2].split(' ').collect();
    assert_eq!(turn.len(), 4, "{lines:?}");
    assert_eq!(turn[0], "turn");
    assert!(turn[1].starts_with("turn:127.0.0.1:"), "{lines:?}");
    assert!(turn[2].starts_with("umbra-"), "{lines:?}");
    assert_eq!(turn[3].len(), 32, "{lines:?}");
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("config.json")).expect("config.json"),
    )
    .expect("json");
    assert_eq!(config["turn"]["urls"][0], turn[1]);
    assert_eq!(config["turn"]["username"], turn[2]);
    assert_eq!(config["turn"]["credential"], turn[3]);
    let pid: u32 = std::fs::read_to_string(dir.path().join("turn/turnserver.pid"))
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    // The printed server answers (this also gives the testnet time to install its SIGTERM
    // handler, which it does right after printing).
    let server: SocketAddr = turn[1]
        .strip_prefix("turn:")
        .expect("turn:")
        .parse()
        .expect("addr");
    let sock = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
    let answer = exchange(&sock, server, &stun(0x0001, *b"umbra-bind-3", &[])).await;
    assert_eq!(&answer[0..2], &[0x01, 0x01]);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(
        exit.success(),
        "{exit:?}: {}",
        std::fs::read_to_string(dir.path().join("stderr.txt")).unwrap_or_default()
    );
    // Killed and reaped by the testnet (or by the kernel's parent-death signal).
    for _ in 0..50 {
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    panic!("turnserver {pid} still running: {stat}");
}

#[tokio::test]
async fn test_testnet_without_turnserver_goes_on_without_turn() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = TestnetConfig::new(dir.path());
    cfg.nodes = 1;
    cfg.swarm_size = 1;
    cfg.fileserver = false;
    cfg.turn_program = dir.path().join("no-such-turnserver");
    let net = Testnet::start(cfg).await.expect("testnet starts anyway");
    assert!(net.turn().is_none());
    assert_eq!(net.bundle_config().turn, None);
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(net.config_path()).expect("config.json"))
            .expect("json");
    assert!(config.get("turn").is_none());
    net.shutdown().await;
}
