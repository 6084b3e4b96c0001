//! The blind bridge over the faithful testnet, all over real TLS: a real onion request
//! relayed byte for byte and answered; every other target refused; the seed pin; rate
//! limit, size cap and CORS; the faithful nodes' lack of CORS and OPTIONS; and a bridge
//! process whose log output names neither the account nor the body.

use std::io::{BufRead as _, Read as _};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use getrandom::SysRng;
use rand_core::UnwrapErr;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use umbra_node::bridge::{self, BridgeConfig, Pool, RunningBridge, SeedSource};
use umbra_node::client::{Account, store_params};
use umbra_node::directory::NodeInfo;
use umbra_node::testnet::{Testnet, TestnetConfig};
use umbra_protocol::onion::{
    Destination, EncType, OnionRequest, PathHop, build_request, decrypt_snode_response,
};
use umbra_protocol::rpc::{Namespace, message_hash};

async fn faithful(dir: &tempfile::TempDir, origins: &[&str]) -> Testnet {
    let mut cfg = TestnetConfig::new(dir.path());
    cfg.nodes = 8;
    cfg.swarm_size = 4;
    cfg.faithful = true;
    cfg.bridge_origins = origins.iter().map(|o| (*o).to_string()).collect();
    Testnet::start(cfg).await.expect("faithful testnet")
}

/// A bridge config pinned to `net`'s seed.
fn pinned(net: &Testnet) -> BridgeConfig {
    let mut b = BridgeConfig::new();
    b.seeds = vec![SeedSource {
        url: net.seed_url().to_string(),
        cert_pem: net.seed_cert_pem().expect("seed cert").to_string(),
    }];
    b
}

async fn start_bridge(cfg: BridgeConfig) -> RunningBridge {
    bridge::start(cfg, |_| {}).await.expect("bridge")
}

/// A plain client, as a page would use towards a loopback bridge.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

/// Destination in `a`'s swarm and a 3-node path outside it.
fn route(net: &Testnet, a: &Account) -> (Vec<NodeInfo>, NodeInfo) {
    let sw = net.directory().swarm_of(&a.id).expect("swarm");
    let dest = net.directory().members(sw)[0].clone();
    let path: Vec<NodeInfo> = net
        .nodes()
        .iter()
        .filter(|n| n.swarm_id != sw)
        .take(3)
        .cloned()
        .collect();
    assert_eq!(path.len(), 3);
    (path, dest)
}

fn onion_store(net: &Testnet, a: &Account, data: &[u8]) -> (NodeInfo, OnionRequest) {
    let (path, dest) = route(net, a);
    let hops: Vec<PathHop> = path
        .iter()
        .map(|n| PathHop {
            ed25519: n.ed25519,
            x25519: n.x25519,
        })
        .collect();
    let params = store_params(&a.id, Namespace(0), data, net.clock().now_ms(), 600_000);
    let payload = json!({"method": "store", "params": params})
        .to_string()
        .into_bytes();
    let dst = Destination::Snode {
        ed25519: dest.ed25519,
        x25519: dest.x25519,
        payload,
    };
    let req =
        build_request(&hops, &dst, EncType::XChaCha20, &mut UnwrapErr(SysRng)).expect("build");
    (path[0].clone(), req)
}

/// Send raw bytes to `addr` and return the status code of the answer.
async fn raw_status(addr: SocketAddr, request: &[u8]) -> u16 {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(request).await.expect("write");
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let mut chunk = [0u8; 1024];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&buf);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
}

/// A raw HTTP/1.1 POST of `body` to the request target `target`.
fn raw_post(target: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn addr_of(url: &str) -> SocketAddr {
    url.trim_start_matches("http://").parse().expect("addr")
}

#[tokio::test]
async fn a_real_onion_request_through_the_bridge_is_answered_and_relayed_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = faithful(&dir, &[]).await;
    let bridge = net.bridge_url().expect("bridge").to_string();
    let a = Account::random();
    let data = b"through the bridge".to_vec();
    let (guard, req) = onion_store(&net, &a, &data);
    let r = http()
        .post(format!("{bridge}/v1/onion/{}", guard.ed_hex()))
        .body(req.body.clone())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.expect("body");
    let reply = decrypt_snode_response(&req.response_key, &bytes).expect("decrypt");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let v: Value = serde_json::from_str(&reply.body).expect("json");
    assert_eq!(v["hash"], json!(message_hash(&a.id, Namespace(0), &data)));

    // Status and body of a failing request are the guard's own, unchanged.
    let junk = b"\x00\x01 not an onion request".to_vec();
    let direct = net
        .http_client()
        .post(format!("{}/onion_req/v2", guard.url()))
        .body(junk.clone())
        .send()
        .await
        .expect("direct");
    let (ds, db) = (direct.status(), direct.bytes().await.expect("body"));
    let via = http()
        .post(format!("{bridge}/v1/onion/{}", guard.ed_hex()))
        .body(junk)
        .send()
        .await
        .expect("via bridge");
    assert!(!ds.is_success());
    assert_eq!(via.status(), ds);
    assert_eq!(via.bytes().await.expect("body"), db);
    net.shutdown().await;
}

#[tokio::test]
async fn the_bridge_refuses_every_target_but_pool_nodes() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = faithful(&dir, &[]).await;
    let bridge = net.bridge_url().expect("bridge").to_string();
    let addr = addr_of(&bridge);
    // A valid onion request for the guard: were any trick below forwarded, it would be
    // answered 200.
    let (node, req) = onion_store(&net, &Account::random(), b"x");
    let key = node.ed_hex();
    let ok = raw_status(addr, &raw_post(&format!("/v1/onion/{key}"), &req.body)).await;
    assert_eq!(ok, 200);

    // A key that is not in the pool.
    let r = http()
        .post(format!("{bridge}/v1/onion/{}", "ab".repeat(32)))
        .body("x")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 404);

    // Addresses, host names, other ports and path tricks, sent raw (a URL library would
    // normalise the dot segments away).
    let port = node.port;
    let seed_port = addr_of(&net.seed_url().replace("https://", "http://")).port();
    let targets = [
        format!("/v1/onion/127.0.0.1:{port}"),
        format!("/v1/onion/127.0.0.1:{seed_port}"),
        "/v1/onion/localhost".to_string(),
        "/v1/onion/seed1.getsession.org".to_string(),
        "/v1/onion/../storage_rpc/v1".to_string(),
        "/v1/onion/%2e%2e/storage_rpc/v1".to_string(),
        "/v1/onion/%2E%2E%2Fstorage_rpc%2Fv1".to_string(),
        format!("/v1/onion/{key}/../../storage_rpc/v1"),
        format!("/v1/onion/{key}/"),
        format!("/v1/onion/{key}%00"),
        format!("/v1/onion/{key}?port=1"),
        format!("/v1/onion/{}", key.to_uppercase().replace('A', "%41")),
        format!("http://127.0.0.1:{port}/onion_req/v2"),
        "/onion_req/v2".to_string(),
        "/storage_rpc/v1".to_string(),
    ];
    for t in &targets {
        let s = raw_status(addr, &raw_post(t, &req.body)).await;
        assert!((400..500).contains(&s), "{t} answered {s}");
    }
    let s = raw_status(
        addr,
        format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes(),
    )
    .await;
    assert!((400..500).contains(&s), "CONNECT answered {s}");
    net.shutdown().await;
}

#[test]
fn pool_entries_that_are_not_ip_literals_with_a_port_are_dropped() {
    let good = "11".repeat(32);
    let entry = |ip: &str, port: u64, key: &str| json!({"public_ip": ip, "storage_port": port, "pubkey_ed25519": key});
    let reply = json!({"result": {"service_node_states": [
        entry("203.0.113.7", 22021, &good),
        entry("localhost", 22021, &"22".repeat(32)),
        entry("evil.example", 443, &"33".repeat(32)),
        entry("0.0.0.0", 22021, &"44".repeat(32)),
        entry("203.0.113.8", 0, &"55".repeat(32)),
        entry("203.0.113.9", 70000, &"66".repeat(32)),
        entry("203.0.113.10", 22021, "not a key"),
        entry("203.0.113.11:22", 22021, &"77".repeat(32)),
        entry("http://203.0.113.12", 22021, &"88".repeat(32)),
    ]}});
    let pool = Pool::from_seed_reply(&reply);
    assert_eq!(pool.len(), 1);
    let mut k = [0u8; 32];
    hex::decode_to_slice(&good, &mut k).expect("hex");
    assert_eq!(
        pool.get(&k),
        Some("203.0.113.7:22021".parse().expect("addr"))
    );
}

#[tokio::test]
async fn a_seed_with_another_certificate_than_the_pinned_one_gives_no_pool() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = faithful(&dir, &[]).await;
    let mut cfg = pinned(&net);
    let (other, _) = umbra_node::tls::self_signed_localhost().expect("cert");
    cfg.seeds[0].cert_pem = other;
    let b = start_bridge(cfg).await;
    assert_eq!(b.pool_len(), 0);
    let r = http()
        .post(format!("{}/v1/onion/{}", b.url(), net.nodes()[0].ed_hex()))
        .body("x")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 503);
    b.stop().await;
    // The right pin gives the whole network.
    let b = start_bridge(pinned(&net)).await;
    assert_eq!(b.pool_len(), net.nodes().len());
    b.stop().await;
    net.shutdown().await;
}

#[tokio::test]
async fn each_client_ip_is_rate_limited_with_429() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = faithful(&dir, &[]).await;
    let mut cfg = pinned(&net);
    cfg.burst = 3.0;
    cfg.rate_per_sec = 0.001;
    let b = start_bridge(cfg).await;
    let url = format!("{}/v1/onion/{}", b.url(), "ab".repeat(32));
    for _ in 0..3 {
        let r = http().post(&url).body("x").send().await.expect("post");
        assert_eq!(r.status(), 404);
    }
    let r = http().post(&url).body("x").send().await.expect("post");
    assert_eq!(r.status(), 429);
    b.stop().await;
    net.shutdown().await;
}

#[tokio::test]
async fn bodies_over_the_cap_get_413() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = faithful(&dir, &[]).await;
    let mut cfg = pinned(&net);
    cfg.max_body = 1024;
    let b = start_bridge(cfg).await;
    let guard = net.nodes()[0].ed_hex();
    let url = format!("{}/v1/onion/{guard}", b.url());
    let r = http()
        .post(&url)
        .body(vec![7u8; 2048])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 413);
    // Chunked, so no Content-Length announces the size.
    let chunk = "x".repeat(2048);
    let req = format!(
        "POST /v1/onion/{guard} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    assert_eq!(raw_status(addr_of(b.url()), req.as_bytes()).await, 413);
    // Under the cap the guard answers (here: not an onion request).
    let r = http()
        .post(&url)
        .body(vec![7u8; 1000])
        .send()
        .await
        .expect("post");
    assert_ne!(r.status(), 413);
    assert!(r.status().is_client_error(), "{}", r.status());
    b.stop().await;
    net.shutdown().await;
}

fn cors_headers(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .keys()
        .map(|k| k.as_str().to_string())
        .filter(|k| k.starts_with("access-control-"))
        .collect()
}

async fn preflight(url: &str, origin: &str) -> reqwest::Response {
    http()
        .request(reqwest::Method::OPTIONS, url)
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .expect("options")
}

#[tokio::test]
async fn cors_only_for_the_allowed_origin() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = "http://127.0.0.1:8080";
    let net = faithful(&dir, &[app]).await;
    let url = format!(
        "{}/v1/onion/{}",
        net.bridge_url().expect("bridge"),
        net.nodes()[0].ed_hex()
    );
    let ok = preflight(&url, app).await;
    assert_eq!(ok.status(), 204);
    assert_eq!(ok.headers()["access-control-allow-origin"], app);
    assert_eq!(ok.headers()["access-control-allow-methods"], "POST");
    let evil = preflight(&url, "http://evil.example").await;
    assert!(!evil.status().is_success());
    assert_eq!(cors_headers(&evil), Vec::<String>::new());

    let post = |origin: &'static str| {
        let url = url.clone();
        async move {
            http()
                .post(url)
                .header("origin", origin)
                .body("x")
                .send()
                .await
                .expect("post")
        }
    };
    let r = post("http://127.0.0.1:8080").await;
    assert_eq!(r.headers()["access-control-allow-origin"], app);
    let r = post("http://evil.example").await;
    assert_eq!(cors_headers(&r), Vec::<String>::new());

    // Without --allow-origin no page may call it.
    let b = start_bridge(pinned(&net)).await;
    let r = preflight(
        &format!("{}/v1/onion/{}", b.url(), net.nodes()[0].ed_hex()),
        app,
    )
    .await;
    assert_eq!(r.status(), 405);
    assert_eq!(cors_headers(&r), Vec::<String>::new());
    b.stop().await;
    net.shutdown().await;
}

#[tokio::test]
async fn faithful_nodes_and_seed_send_no_cors_and_refuse_options_and_are_self_signed() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = faithful(&dir, &[]).await;
    let node = &net.nodes()[0];
    assert!(node.url().starts_with("https://127.0.0.1:"));
    for url in [
        format!("{}/storage_rpc/v1", node.url()),
        format!("{}/onion_req/v2", node.url()),
        format!("{}/json_rpc", net.seed_url()),
    ] {
        let r = net
            .http_client()
            .request(reqwest::Method::OPTIONS, &url)
            .header("origin", "http://127.0.0.1:8080")
            .header("access-control-request-method", "POST")
            .send()
            .await
            .expect("options");
        assert_eq!(r.status(), 405, "{url}");
        assert_eq!(cors_headers(&r), Vec::<String>::new(), "{url}");
        let r = net
            .http_client()
            .post(&url)
            .header("origin", "http://127.0.0.1:8080")
            .body(r#"{"method":"info","params":{}}"#)
            .send()
            .await
            .expect("post");
        assert_eq!(cors_headers(&r), Vec::<String>::new(), "{url}");
        // A client that verifies certificates against a CA cannot connect.
        let strict = reqwest::Client::builder()
            .no_proxy()
            .use_rustls_tls()
            .add_root_certificate(
                reqwest::Certificate::from_pem(
                    umbra_node::tls::self_signed_localhost()
                        .expect("cert")
                        .0
                        .as_bytes(),
                )
                .expect("pem"),
            )
            .build()
            .expect("client");
        assert!(strict.post(&url).body("{}").send().await.is_err(), "{url}");
    }
    let seed_pem = std::fs::read_to_string(dir.path().join("seed.pem")).expect("seed.pem");
    assert_eq!(Some(seed_pem.as_str()), net.seed_cert_pem());
    net.shutdown().await;
}

// Multi-threaded: the test blocks on the child's output while the in-process seed answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_process_logs_neither_the_account_nor_the_body_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = faithful(&dir, &[]).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_umbra-node"))
        .args(["bridge", "--seed", net.seed_url(), "--seed-cert"])
        .arg(dir.path().join("seed.pem"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn bridge");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("read");
    let url = first
        .trim()
        .strip_prefix("bridge ")
        .expect("bridge line")
        .to_string();

    let a = Account::random();
    let data = b"a secret message text".to_vec();
    let (guard, req) = onion_store(&net, &a, &data);
    let r = http()
        .post(format!("{url}/v1/onion/{}", guard.ed_hex()))
        .body(req.body.clone())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.expect("body");
    let reply = decrypt_snode_response(&req.response_key, &bytes).expect("decrypt");
    assert_eq!(reply.status, 200, "{}", reply.body);

    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(term.success());
    let status = child.wait().expect("wait");
    assert!(status.success(), "bridge exit {status:?}");
    let mut log = first.into_bytes();
    stdout.read_to_end(&mut log).expect("stdout");
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_end(&mut log)
        .expect("stderr");
    let text = String::from_utf8_lossy(&log).to_lowercase();
    assert!(text.contains("pool of 8 nodes"), "{text}");

    let b64 = base64::engine::general_purpose::STANDARD;
    let mut needles: Vec<Vec<u8>> = vec![
        a.id.to_hex().into_bytes(),
        a.id.to_bytes().to_vec(),
        hex::encode(a.id.key).into_bytes(),
        guard.ed_hex().into_bytes(),
        data.clone(),
    ];
    for w in req.body.chunks(24).take(8) {
        needles.push(w.to_vec());
        needles.push(hex::encode(w).into_bytes());
        needles.push(b64.encode(w).into_bytes());
    }
    for n in &needles {
        assert!(
            !log.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n)),
            "bridge output contains {:?}",
            String::from_utf8_lossy(n)
        );
    }
    net.shutdown().await;
}
