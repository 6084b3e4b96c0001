//! Benchmark of the node on loopback (not a test): storage RPC direct and through 3-hop
//! onion requests against an in-process testnet, and peak memory with 100,000 messages.
//!
//! `bench throughput [--nodes N] [--requests N] [--concurrency N]`
//! `bench memory [--messages N]`
#![allow(clippy::print_stdout)]

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
    let pick = |q: f64| lat.get(((lat.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or_default();
    Stats { rps: lat.len() as f64 / total.as_secs_f64(), p50: pick(0.50), p99: pick(0.99) }
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
                    Mode::Onion => c.onion(&path, &dest, method, params, EncType::XChaCha20).await.map(|r| r.0),
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
        let others: Vec<NodeInfo> = dir_.nodes.iter().filter(|n| n.swarm_id != sw).cloned().collect();
        let path = (0..3).map(|k| others[(i + k * 7) % others.len()].clone()).collect::<Vec<_>>();
        (path, dest)
    });
    let clock = net.clock().clone();
    println!("testnet: {nodes} nodes, swarms of 4, loopback HTTP; {requests} requests per row, {conc} in flight");
    let mut rows = Vec::new();
    for mode in [Mode::Direct, Mode::Onion] {
        let (acc, r, ck) = (accounts.clone(), route.clone(), clock.clone());
        let store = run(&c, mode, requests, conc, move |i| {
            let a = &acc[i % acc.len()];
            let (path, dest) = r(a, i);
            let data = format!("bench message {i} {}", "x".repeat(200)).into_bytes();
            (path, dest, "store", store_params(&a.id, Namespace(0), &data, ck.now_ms(), 3_600_000))
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
        let name = if mode == Mode::Direct { "direct" } else { "onion 3-hop" };
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
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).map(|l| l[field.len()..].trim().to_string()))
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
    println!("single node (one process with its client), {messages} messages of ~300 bytes, stored 20 per batch");
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
    println!("stored {stored} messages in {:.1} s", start.elapsed().as_secs_f64());
    // Read everything back once (retrieve pages) so the read path counts too.
    for a in &accounts {
        let _ = c.direct(&node, "retrieve", a.retrieve(Namespace(0), None, net.clock().now_ms())).await;
    }
    println!("after:  VmRSS {}   peak VmHWM {}", proc_status("VmRSS:"), proc_status("VmHWM:"));
    let db = dir.path().join("node-0").join("messages.db");
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(db.with_extension("db-wal")).map(|m| m.len()).unwrap_or(0);
    println!("database on disk: {:.1} MiB", size as f64 / (1024.0 * 1024.0));
    net.shutdown().await;
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("memory") => memory(&args).await,
        _ => throughput(&args).await,
    }
}
