//! Restarts, a node stopped during 1,000 stores, and catch-up.

use std::collections::HashMap;

use serde_json::Value;
use umbra_node::client::{Account, Client, store_params};
use umbra_node::directory::NodeInfo;
use umbra_node::testnet::{Testnet, TestnetConfig};
use umbra_protocol::rpc::{Namespace, message_hash};

fn members(net: &Testnet, a: &Account) -> Vec<NodeInfo> {
    let sw = net.directory().swarm_of(&a.id).expect("swarm");
    net.directory().members(sw).into_iter().cloned().collect()
}

/// All hashes of `a` on `node`, paging with last_hash.
async fn all_hashes(c: &Client, node: &NodeInfo, a: &Account, now: u64) -> Vec<String> {
    let mut out = Vec::new();
    let mut last: Option<String> = None;
    loop {
        let (s, b) = c.direct(node, "retrieve", a.retrieve(Namespace(0), last.as_deref(), now)).await.expect("retrieve");
        assert_eq!(s, 200, "{b}");
        let v: Value = serde_json::from_str(&b).expect("json");
        let page: Vec<String> =
            v["messages"].as_array().expect("m").iter().map(|m| m["hash"].as_str().expect("h").to_owned()).collect();
        if page.is_empty() {
            break;
        }
        last = page.last().cloned();
        out.extend(page);
        if v["more"] != Value::Bool(true) {
            break;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_survive_restart_and_down_node_catches_up() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = TestnetConfig::new(dir.path());
    cfg.nodes = 4;
    let mut net = Testnet::start(cfg).await.expect("start");
    let c = Client::new(net.http_client().clone());
    let a = Account::random();
    let m = members(&net, &a);
    let now = net.clock().now_ms();
    let mut want = Vec::new();
    for i in 0..5u32 {
        let data = i.to_be_bytes();
        let (s, _) = c.direct(&m[0], "store", store_params(&a.id, Namespace(0), &data, now, 3_600_000)).await.expect("s");
        assert_eq!(s, 200);
        want.push(message_hash(&a.id, Namespace(0), &data));
    }
    // Restart node 3: its messages are still there.
    let idx = m[3].index;
    assert_eq!(net.restart_node(idx).await.expect("restart"), 0);
    assert_eq!(all_hashes(&c, &m[3], &a, now).await, want);
    // Stop it, store more, bring it back: it catches up from its peers.
    net.stop_node(idx).await.expect("stop");
    for i in 5..8u32 {
        let data = i.to_be_bytes();
        let (s, b) = c.direct(&m[0], "store", store_params(&a.id, Namespace(0), &data, now, 3_600_000)).await.expect("s");
        assert_eq!(s, 200);
        let v: Value = serde_json::from_str(&b).expect("json");
        assert_eq!(v["swarm"][&m[3].ed_hex()]["failed"], Value::Bool(true));
        want.push(message_hash(&a.id, Namespace(0), &data));
    }
    assert!(c.direct(&m[3], "info", serde_json::json!({})).await.is_err());
    assert_eq!(net.restart_node(idx).await.expect("restart"), 3);
    let mut got = all_hashes(&c, &m[3], &a, now).await;
    got.sort();
    let mut w = want.clone();
    w.sort();
    assert_eq!(got, w);
    net.shutdown().await;

    // The whole network restarted from the same directory keeps identities and messages.
    let mut cfg = TestnetConfig::new(dir.path());
    cfg.nodes = 4;
    let net = Testnet::start(cfg).await.expect("restart all");
    let m2 = members(&net, &a);
    assert_eq!(m2.iter().map(|n| n.ed25519).collect::<Vec<_>>(), m.iter().map(|n| n.ed25519).collect::<Vec<_>>());
    assert_eq!(all_hashes(&c, &m2[1], &a, now).await, want);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_down_during_1000_stores_loses_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = TestnetConfig::new(dir.path());
    cfg.nodes = 8;
    let mut net = Testnet::start(cfg).await.expect("start");
    let c = Client::new(net.http_client().clone());
    let accounts: Vec<Account> = (0..10).map(|_| Account::random()).collect();
    // Pick the node to kill: a member of the first account's swarm.
    let victim = members(&net, &accounts[0])[1].clone();
    let now = net.clock().now_ms();
    let mut want: HashMap<usize, Vec<String>> = HashMap::new();
    let mut stopped = false;
    for chunk in 0..50usize {
        if chunk == 20 {
            net.stop_node(victim.index).await.expect("stop");
            stopped = true;
        }
        let mut futs = Vec::new();
        for j in 0..20usize {
            let n = chunk * 20 + j;
            let ai = n % accounts.len();
            let live: Vec<NodeInfo> =
                members(&net, &accounts[ai]).into_iter().filter(|m| !(stopped && m.index == victim.index)).collect();
            let target = live[n % live.len()].clone();
            let data = format!("message {n}").into_bytes();
            want.entry(ai).or_default().push(message_hash(&accounts[ai].id, Namespace(0), &data));
            let p = store_params(&accounts[ai].id, Namespace(0), &data, now + n as u64, 3_600_000);
            let c = c.clone();
            futs.push(async move { c.direct(&target, "store", p).await });
        }
        for r in futures_util::future::join_all(futs).await {
            let (s, b) = r.expect("store");
            assert_eq!(s, 200, "{b}");
        }
    }
    let check = |got: Vec<String>, want: &Vec<String>| {
        let mut g = got.clone();
        g.sort();
        g.dedup();
        assert_eq!(g.len(), got.len(), "duplicates");
        let mut w = want.clone();
        w.sort();
        assert_eq!(g, w);
    };
    // Every survivor holds exactly every message, once.
    for (ai, a) in accounts.iter().enumerate() {
        for m in members(&net, a).iter().filter(|m| m.index != victim.index) {
            check(all_hashes(&c, m, a, now).await, &want[&ai]);
        }
    }
    // The victim comes back and catches up.
    let caught = net.restart_node(victim.index).await.expect("restart");
    assert!(caught > 0);
    for (ai, a) in accounts.iter().enumerate() {
        if members(&net, a).iter().any(|m| m.index == victim.index) {
            check(all_hashes(&c, &victim, a, now).await, &want[&ai]);
        }
    }
    net.shutdown().await;
}
