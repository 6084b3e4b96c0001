//! Benchmark of the node on loopback (not a test): storage RPC direct and through 3-hop
//! onion requests against an in-process testnet, and peak memory with 100,000 messages.
//!
//! `bench throughput [--nodes N] [--requests N] [--concurrency N]`
//! `bench memory [--messages N]`
//! `bench attachment [--mb N] [--rounds N]`: upload and download of an N MB encrypted
//! attachment to the testnet's file server through 3-hop onion requests, against the same
//! v4 request posted straight to the file server (no hops).
#![allow(clippy::print_stdout)]
// A benchmark measures wall-clock time; the protocol rule "time is an input" does not apply here.
#![allow(clippy::disallowed_methods)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use umbra_node::client::{Account, Client, store_params};
use umbra_node::directory::NodeInfo;
use umbra_node::testnet::{Testnet, TestnetConfig};
use umbra_protocol::onion::EncType;
use umbra_protocol::rpc::Namespace;

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Stats {
    rps: f64,
    p50: Duration,
    p99: Duration,
}

fn stats(mut lat: Vec<Duration>, total: Duration) -> Stats {
    lat.sort();
    let pick = |q: f64| {
        lat.get(((lat.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    Stats {
        rps: lat.len() as f64 / total.as_secs_f64(),
        p50: pick(0.50),
        p99: pick(0.99),
    }
}

fn show(name: &str, s: &Stats) {
    println!(
        "{name:<18} {:>9.1} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms",
        s.rps,
        s.p50.as_secs_f64() * 1e3,
        s.p99.as_secs_f64() * 1e3
    );
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Direct,
    Onion,
}

/// Run `requests` calls with `conc` in flight; `make(i)` gives (path, dest, method, params).
async fn run<F>(c: &Client, mode: Mode, requests: usize, conc: usize, make: F) -> Stats
where
    F: Fn(usize) -> (Vec<NodeInfo>, NodeInfo, &'static str, Value) + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (c, make, next) = (c.clone(), make.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= requests {
                    break;
                }
                let (path, dest, method, params) = make(i);
                let t = Instant::now();
                let status = match mode {
                    Mode::Direct => c.direct(&dest, method, params).await.map(|r| r.0),
                    Mode::Onion => c
                        .onion(&path, &dest, method, params, EncType::XChaCha20)
                        .await
                        .map(|r| r.0),
                };
                lat.push(t.elapsed());
                match status {
                    Ok(200) => {}
                    other => eprintln!("request {i}: {other:?}"),
                }
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap_or_default());
    }
    stats(lat, start.elapsed())
}

async fn throughput(args: &[String]) {
    let nodes = arg(args, "--nodes", 12);
    let requests = arg(args, "--requests", 2000);
    let conc = arg(args, "--concurrency", 16);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = TestnetConfig::new(dir.path());
    cfg.nodes = nodes;
    let net = Testnet::start(cfg).await.expect("testnet");
    let c = Client::new(net.http_client().clone());
    let accounts: Arc<Vec<Account>> = Arc::new((0..64).map(|_| Account::random()).collect());
    let dir_ = net.directory().clone();
    let route = Arc::new(move |a: &Account, i: usize| {
        let sw = dir_.swarm_of(&a.id).expect("swarm");
        let members = dir_.members(sw);
        let dest = members[i % members.len()].clone();
        let others: Vec<NodeInfo> = dir_
            .nodes
            .iter()
            .filter(|n| n.swarm_id != sw)
            .cloned()
            .collect();
        let path = (0..3)
            .map(|k| others[(i + k * 7) % others.len()].clone())
            .collect::<Vec<_>>();
        (path, dest)
    });
    let clock = net.clock().clone();
    println!(
        "testnet: {nodes} nodes, swarms of 4, loopback HTTP; {requests} requests per row, {conc} in flight"
    );
    let mut rows = Vec::new();
    for mode in [Mode::Direct, Mode::Onion] {
        let (acc, r, ck) = (accounts.clone(), route.clone(), clock.clone());
        let store = run(&c, mode, requests, conc, move |i| {
            let a = &acc[i % acc.len()];
            let (path, dest) = r(a, i);
            let data = format!("bench message {i} {}", "x".repeat(200)).into_bytes();
            (
                path,
                dest,
                "store",
                store_params(&a.id, Namespace(0), &data, ck.now_ms(), 3_600_000),
            )
        })
        .await;
        let (acc, r, ck) = (accounts.clone(), route.clone(), clock.clone());
        let retrieve = run(&c, mode, requests, conc, move |i| {
            let a = &acc[i % acc.len()];
            let (path, dest) = r(a, i);
            let mut p = a.retrieve(Namespace(0), None, ck.now_ms());
            p["max_count"] = json!(10);
            (path, dest, "retrieve", p)
        })
        .await;
        let name = if mode == Mode::Direct {
            "direct"
        } else {
            "onion 3-hop"
        };
        show(&format!("{name} store"), &store);
        show(&format!("{name} retrieve"), &retrieve);
        rows.push((store, retrieve));
    }
    let (d, o) = (&rows[0], &rows[1]);
    println!(
        "onion/direct: store {:.2}x throughput, {:.2}x p50 latency; retrieve {:.2}x throughput, {:.2}x p50 latency",
        o.0.rps / d.0.rps,
        o.0.p50.as_secs_f64() / d.0.p50.as_secs_f64(),
        o.1.rps / d.1.rps,
        o.1.p50.as_secs_f64() / d.1.p50.as_secs_f64()
    );
    net.shutdown().await;
}

fn proc_status(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .map(|l| l[field.len()..].trim().to_string())
        })
        .unwrap_or_else(|| "n/a".into())
}

async fn memory(args: &[String]) {
    let messages = arg(args, "--messages", 100_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = TestnetConfig::new(dir.path());
    cfg.nodes = 1;
    cfg.swarm_size = 1;
    let net = Testnet::start(cfg).await.expect("testnet");
    let c = Client::new(net.http_client().clone());
    let node = net.nodes()[0].clone();
    let accounts: Vec<Account> = (0..100).map(|_| Account::random()).collect();
    println!(
        "single node (one process with its client), {messages} messages of ~300 bytes, stored 20 per batch"
    );
    println!("before: VmRSS {}", proc_status("VmRSS:"));
    let start = Instant::now();
    let mut futs = Vec::new();
    for b in 0..messages.div_ceil(20) {
        let now = net.clock().now_ms();
        let reqs: Vec<Value> = (0..20)
            .map(|k| b * 20 + k)
            .filter(|&i| i < messages)
            .map(|i| {
                let a = &accounts[i % accounts.len()];
                let data = format!("memory message {i} {}", "y".repeat(280)).into_bytes();
                json!({"method": "store", "params": store_params(&a.id, Namespace(0), &data, now, 3_600_000)})
            })
            .collect();
        let (c, node) = (c.clone(), node.clone());
        futs.push(async move { c.direct(&node, "batch", json!({"requests": reqs})).await });
        if futs.len() == 8 {
            for r in futures_util::future::join_all(futs.drain(..)).await {
                if !matches!(r, Ok((200, _))) {
                    eprintln!("batch failed: {r:?}");
                }
            }
        }
    }
    for r in futures_util::future::join_all(futs).await {
        if !matches!(r, Ok((200, _))) {
            eprintln!("batch failed: {r:?}");
        }
    }
    let stored = net.node_state(0).map(|s| s.message_count()).unwrap_or(0);
    println!(
        "stored {stored} messages in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    // Read everything back once (retrieve pages) so the read path counts too.
    for a in &accounts {
        let _ = c
            .direct(
                &node,
                "retrieve",
                a.retrieve(Namespace(0), None, net.clock().now_ms()),
            )
            .await;
    }
    println!(
        "after:  VmRSS {}   peak VmHWM {}",
        proc_status("VmRSS:"),
        proc_status("VmHWM:")
    );
    let db = dir.path().join("node-0").join("messages.db");
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(db.with_extension("db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    println!(
        "database on disk: {:.1} MiB",
        size as f64 / (1024.0 * 1024.0)
    );
    net.shutdown().await;
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("memory") => memory(&args).await,
        Some("attachment") => attachment(&args).await,
        _ => throughput(&args).await,
    }
}

/// One v4 request to the file server: through nodes 0 → 1 → 2, or (`direct`) the body the
/// last hop would post, sent straight to the file server. Returns the v4 status and body
/// length.
async fn fs_v4(
    net: &Testnet,
    request: umbra_protocol::onion::V4Request,
    direct: bool,
) -> Result<(u16, usize), String> {
    use umbra_protocol::onion::node::{Peeled, peel_layer};
    use umbra_protocol::onion::{
        Destination, HttpProtocol, PathHop, ServerDestination, build_request, decrypt_v4_response,
    };
    let fs = net.fileserver().ok_or("no file server")?;
    let dest = Destination::Server(ServerDestination {
        host: "127.0.0.1".into(),
        target: "/oxen/v4/lsrpc".into(),
        port: fs.port(),
        protocol: HttpProtocol::Http,
        x25519: fs.x25519_public(),
        request,
    });
    let hop = |n: &NodeInfo| PathHop {
        ed25519: n.ed25519,
        x25519: n.x25519,
    };
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let (url, body, key) = if direct {
        let node = net.node_state(0).ok_or("node 0")?;
        let req = build_request(&[hop(&node.info)], &dest, EncType::XChaCha20, &mut rng)
            .map_err(|e| format!("build: {e}"))?;
        let body = match peel_layer(&req.body, node.keys.x25519_secret(), &node.info.x25519) {
            Ok(Peeled::ProxyToServer { body, .. }) => body,
            _ => return Err("not a proxy request".into()),
        };
        (
            format!("http://127.0.0.1:{}/oxen/v4/lsrpc", fs.port()),
            body,
            req.response_key,
        )
    } else {
        let nodes = net.nodes();
        let path: Vec<PathHop> = nodes[..3].iter().map(hop).collect();
        let req = build_request(&path, &dest, EncType::XChaCha20, &mut rng)
            .map_err(|e| format!("build: {e}"))?;
        (
            format!("{}/onion_req/v2", nodes[0].url()),
            req.body,
            req.response_key,
        )
    };
    let r = net
        .http_client()
        .post(url)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("post: {e}"))?;
    let bytes = r.bytes().await.map_err(|e| format!("body: {e}"))?;
    let v4 = decrypt_v4_response(&key, &bytes).map_err(|e| format!("reply: {e}"))?;
    Ok((v4.code, v4.body.len()))
}

async fn attachment(args: &[String]) {
    use umbra_protocol::onion::V4Request;
    let mb = arg(args, "--mb", 10);
    let rounds = arg(args, "--rounds", 3);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = TestnetConfig::new(dir.path());
    cfg.nodes = 4;
    let net = Testnet::start(cfg).await.expect("testnet");
    // What a client uploads: the legacy-encrypted blob of an N MB file.
    let plain: Vec<u8> = (0..mb * 1_000_000).map(|i| (i * 7) as u8).collect();
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let t = Instant::now();
    let enc = umbra_protocol::attachment::encrypt_legacy(&plain, &mut rng).expect("encrypt");
    let enc_s = t.elapsed().as_secs_f64();
    let blob = enc.blob;
    println!(
        "attachment: {mb} MB file, {:.2} MB encrypted blob (native encrypt {:.0} MB/s)",
        blob.len() as f64 / 1e6,
        plain.len() as f64 / 1e6 / enc_s
    );
    let upload = || V4Request {
        method: "POST".into(),
        endpoint: "/file".into(),
        headers: Default::default(),
        body: Some(blob.clone()),
    };
    let mut rows = Vec::new();
    for direct in [true, false] {
        let mut up = Vec::new();
        let mut down = Vec::new();
        for _ in 0..rounds.max(1) {
            let t = Instant::now();
            let (status, len) = fs_v4(&net, upload(), direct).await.expect("upload");
            up.push(t.elapsed().as_secs_f64());
            assert_eq!(status, 200, "upload answered {status} ({len} bytes)");
            // The id is in the answer; the download of the same bytes is what matters here.
            let id = umbra_node::fileserver::file_id(&blob);
            let t = Instant::now();
            let (status, len) = fs_v4(
                &net,
                V4Request {
                    method: "GET".into(),
                    endpoint: format!("/file/{id}"),
                    headers: Default::default(),
                    body: None,
                },
                direct,
            )
            .await
            .expect("download");
            down.push(t.elapsed().as_secs_f64());
            assert_eq!((status, len), (200, blob.len()), "download");
        }
        up.sort_by(f64::total_cmp);
        down.sort_by(f64::total_cmp);
        let (u, d) = (up[up.len() / 2], down[down.len() / 2]);
        let mbps = |s: f64| blob.len() as f64 / 1e6 / s;
        let name = if direct {
            "direct (no hops)"
        } else {
            "3-hop onion"
        };
        println!(
            "{name:<18} upload {:>6.1} MB/s ({u:.2} s)   download {:>6.1} MB/s ({d:.2} s)",
            mbps(u),
            mbps(d)
        );
        rows.push((mbps(u), mbps(d)));
    }
    println!(
        "ratio onion/direct: upload {:.2}   download {:.2}",
        rows[1].0 / rows[0].0,
        rows[1].1 / rows[0].1
    );
    net.shutdown().await;
}
