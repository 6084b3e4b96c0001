//! Limits: requests in flight (503) and per-request time (408) on the node and seed
//! listeners (the app server's: `limits` unit tests); the database size cap and the per-owner quota (a refused store is the
//! member's `failed`/`query_failure`, as oxenss answers a full database); and the size cap
//! on a proxied server's reply.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use getrandom::SysRng;
use rand_core::UnwrapErr;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use umbra_node::client::{Account, Client, store_params};
use umbra_node::limits::{ListenerLimits, NodeLimits, OwnerQuota};
use umbra_node::testnet::{Testnet, TestnetConfig};
use umbra_protocol::onion::{
    Destination, EncType, HttpProtocol, PathHop, ServerDestination, V4Request, build_request,
};
use umbra_protocol::rpc::Namespace;
use umbra_protocol::rpc::params::AccountId;

async fn net_with(dir: &tempfile::TempDir, nodes: usize, limits: NodeLimits) -> Testnet {
    let mut cfg = TestnetConfig::new(dir.path());
    cfg.nodes = nodes;
    cfg.swarm_size = nodes.min(4);
    cfg.limits = limits;
    Testnet::start(cfg).await.expect("testnet")
}

fn addr(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("addr")
}

/// Open a request whose body never comes: it holds a slot until the time limit.
async fn stalled(addr: SocketAddr, path: &str) -> tokio::net::TcpStream {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(
        format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n").as_bytes(),
    )
    .await
    .expect("write");
    s
}

async fn status_of(s: &mut tokio::net::TcpStream) -> u16 {
    let mut buf = vec![0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
        .await
        .expect("an answer in time")
        .expect("read");
    let text = String::from_utf8_lossy(&buf[..n]);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"))
}

/// With one slot: a stalled request makes the next one 503, then itself ends in 408, and
/// the listener serves again.
async fn check_listener(addr: SocketAddr, path: &str, ok: impl AsyncFn() -> u16) {
    let mut first = stalled(addr, path).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        ok().await,
        503,
        "{path}: a second request while one is in flight"
    );
    assert_eq!(
        status_of(&mut first).await,
        408,
        "{path}: the stalled request"
    );
    assert_ne!(ok().await, 503, "{path}: served again");
}

fn one_slot() -> NodeLimits {
    let mut l = NodeLimits::DEFAULT;
    l.listener = ListenerLimits {
        max_in_flight: 1,
        request_timeout: Duration::from_millis(700),
    };
    l
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_and_seed_listeners_limit_requests_in_flight_and_time() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = net_with(&dir, 1, one_slot()).await;
    let node = net.nodes()[0].clone();
    let http = reqwest::Client::new();
    let info = || async {
        http.post(format!("{}/storage_rpc/v1", node.url()))
            .body(r#"{"method":"info","params":{}}"#)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    assert_eq!(info().await, 200);
    check_listener(addr(&node.url()), "/storage_rpc/v1", info).await;

    let seed = net.seed_url().to_string();
    let list = || async {
        http.post(format!("{seed}/json_rpc"))
            .body(r#"{"jsonrpc":"2.0","method":"get_n_service_nodes","params":{}}"#)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    assert_eq!(list().await, 200);
    check_listener(addr(&seed), "/json_rpc", list).await;
    net.shutdown().await;
}

async fn store_status(c: &Client, net: &Testnet, to: &AccountId, data: &[u8]) -> (u16, Value) {
    let sw = net.directory().swarm_of(to).expect("swarm");
    let node = net.directory().members(sw)[0].clone();
    let (s, b) = c
        .direct(
            &node,
            "store",
            store_params(to, Namespace(0), data, net.clock().now_ms(), 3_600_000),
        )
        .await
        .expect("store");
    (s, serde_json::from_str(&b).unwrap_or(Value::Null))
}

/// Every member's result says the store failed as oxenss says it.
fn all_failed(v: &Value) {
    let swarm = v["swarm"].as_object().expect("swarm results");
    assert!(!swarm.is_empty());
    for r in swarm.values() {
        assert_eq!(r, &json!({"failed": true, "query_failure": true}), "{v}");
    }
    assert!(v.get("hash").is_none(), "{v}");
}

#[tokio::test]
async fn stores_past_an_owners_quota_fail_as_oxenss_fails_a_full_database() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut limits = NodeLimits::DEFAULT;
    limits.owner_quota = Some(OwnerQuota {
        messages: 3,
        bytes: 1000,
    });
    let net = net_with(&dir, 4, limits).await;
    let c = Client::new(net.http_client().clone());
    let a = Account::random();
    for i in 0..3u8 {
        let (s, v) = store_status(&c, &net, &a.id, &[i; 10]).await;
        assert_eq!(s, 200, "{v}");
    }
    // The same message again is not a new one.
    assert_eq!(store_status(&c, &net, &a.id, &[0; 10]).await.0, 200);
    let (s, v) = store_status(&c, &net, &a.id, b"one too many").await;
    assert_eq!(s, 500, "{v}");
    all_failed(&v);
    // Another owner is not affected; its bytes count too.
    let b = Account::random();
    assert_eq!(store_status(&c, &net, &b.id, &[1; 600]).await.0, 200);
    let (s, v) = store_status(&c, &net, &b.id, &[2; 600]).await;
    assert_eq!(s, 500, "{v}");
    all_failed(&v);
    net.shutdown().await;
}

#[tokio::test]
async fn a_database_at_its_size_cap_refuses_new_messages() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut limits = NodeLimits::DEFAULT;
    limits.owner_quota = None;
    limits.db_max_bytes = 256 * 1024;
    let net = net_with(&dir, 1, limits).await;
    let c = Client::new(net.http_client().clone());
    let mut refused = None;
    for i in 0..200u32 {
        let a = Account::random();
        let (s, v) = store_status(
            &c,
            &net,
            &a.id,
            &[i.to_le_bytes(), [7; 4]].concat().repeat(512),
        )
        .await;
        if s != 200 {
            refused = Some((i, s, v));
            break;
        }
    }
    let (i, s, v) = refused.expect("the cap is reached");
    assert!(i > 10, "refused too early, after {i}");
    assert_eq!(s, 500, "{v}");
    all_failed(&v);
    // What is stored is still served.
    assert!(net.node_state(0).expect("node").message_count() >= 10);
    net.shutdown().await;
}

/// A v4 endpoint on a free loopback port answering with `reply`; returns its port.
async fn server(reply: fn() -> axum::body::Body) -> (u16, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new().route(
        "/oxen/v4/lsrpc",
        axum::routing::post(move || async move { reply() }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (port, task)
}

async fn proxied(net: &Testnet, port: u16) -> reqwest::Response {
    let hops: Vec<PathHop> = net.nodes()[..3]
        .iter()
        .map(|n| PathHop {
            ed25519: n.ed25519,
            x25519: n.x25519,
        })
        .collect();
    let dest = Destination::Server(ServerDestination {
        host: "127.0.0.1".into(),
        target: "/oxen/v4/lsrpc".into(),
        port,
        protocol: HttpProtocol::Http,
        x25519: [9; 32],
        request: V4Request {
            method: "POST".into(),
            endpoint: "/x".into(),
            headers: BTreeMap::new(),
            body: None,
        },
    });
    let req =
        build_request(&hops, &dest, EncType::XChaCha20, &mut UnwrapErr(SysRng)).expect("build");
    net.http_client()
        .post(format!("{}/onion_req/v2", net.nodes()[0].url()))
        .body(req.body)
        .send()
        .await
        .expect("post")
}

const CAP: usize = 16 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxied_reply_over_the_cap_is_not_passed_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut limits = NodeLimits::DEFAULT;
    limits.max_reply_bytes = CAP;
    let net = net_with(&dir, 4, limits).await;

    // Under the cap: passed on whole.
    let (small, s1) = server(|| axum::body::Body::from(vec![b'x'; CAP / 2])).await;
    let r = proxied(&net, small).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.bytes().await.expect("body").len(), CAP / 2);

    // Announced as longer than the cap: 502 at once.
    let (big, s2) = server(|| axum::body::Body::from(vec![b'x'; 4 * CAP])).await;
    let r = proxied(&net, big).await;
    assert_eq!(r.status().as_u16(), 502);
    assert!(r.bytes().await.expect("body").len() < 1024);

    // Streamed without a length: cut off at the cap, never passed on whole.
    let (streamed, s3) = server(|| {
        axum::body::Body::from_stream(futures_util::stream::iter(
            (0..64).map(|_| Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b'y'; 1024]))),
        ))
    })
    .await;
    let r = proxied(&net, streamed).await;
    // Either the stream broke off (an error) or what came is within the cap.
    if let Ok(b) = r.bytes().await {
        assert!(b.len() <= CAP, "{} bytes passed on", b.len());
    }
    for s in [s1, s2, s3] {
        s.abort();
    }
    net.shutdown().await;
}
