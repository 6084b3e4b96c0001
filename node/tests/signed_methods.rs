//! Negative tests for every signed storage RPC method (security review: forged signatures on
//! `delete`, `delete_all`, `delete_before`, `expire`, `expire_all`, plus `get_expiries`,
//! `retrieve` and private-namespace `store`).
//!
//! Each method gets the same forgeries: no signature, a flipped signature bit, another
//! account's signature over the same string, another account's key and signature, no
//! `pubkey_ed25519`, and the signature of one request on a changed one. Every forgery must be
//! refused with 401 and must change nothing on any swarm member; then the correctly signed
//! twin must succeed, which proves the checks are the reason for the refusal.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use umbra_node::client::{Account, Client, store_params};
use umbra_node::directory::NodeInfo;
use umbra_node::testnet::{Testnet, TestnetConfig};
use umbra_protocol::rpc::params::Signature64;
use umbra_protocol::rpc::sign::{self, ExpireMode};
use umbra_protocol::rpc::{Namespace, NamespaceSel, message_hash};

/// One swarm of three nodes, so every account lives on all of them.
struct Net {
    _dir: tempfile::TempDir,
    net: Testnet,
    c: Client,
}

impl Net {
    async fn start() -> Net {
        let dir = tempfile::tempdir().expect("tmp");
        let mut cfg = TestnetConfig::new(dir.path());
        cfg.nodes = 3;
        cfg.swarm_size = 3;
        let net = Testnet::start(cfg).await.expect("testnet starts");
        let c = Client::new(net.http_client().clone());
        Net { _dir: dir, net, c }
    }

    fn members(&self) -> Vec<NodeInfo> {
        self.net.nodes().to_vec()
    }

    fn now(&self) -> u64 {
        self.net.clock().now_ms()
    }

    async fn call(&self, node: &NodeInfo, method: &str, params: Value) -> (u16, String) {
        self.c
            .direct(node, method, params)
            .await
            .expect("node answers")
    }

    /// Stores `n` messages for `a` in namespace 0 (stamped `now`, `now+1`, …): their hashes.
    async fn store_some(&self, a: &Account, n: u8) -> Vec<String> {
        let now = self.now();
        let mut hashes = Vec::new();
        for i in 0..n {
            let data = vec![0x40 + i; 64];
            let p = store_params(&a.id, Namespace(0), &data, now + u64::from(i), 3_600_000);
            let (s, b) = self.call(&self.members()[0], "store", p).await;
            assert_eq!(s, 200, "{b}");
            hashes.push(message_hash(&a.id, Namespace(0), &data));
        }
        hashes
    }

    /// The namespace-0 hashes `a` has on each member (read with a valid signature).
    async fn held(&self, a: &Account) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for m in self.members() {
            let (s, b) = self
                .call(&m, "retrieve", a.retrieve(Namespace(0), None, self.now()))
                .await;
            assert_eq!(s, 200, "{b}");
            let v: Value = serde_json::from_str(&b).expect("json");
            let mut hashes: Vec<String> = v["messages"]
                .as_array()
                .expect("messages")
                .iter()
                .map(|m| m["hash"].as_str().expect("hash").to_owned())
                .collect();
            hashes.sort();
            out.push(hashes);
        }
        out
    }

    /// The expiries of `hashes` on each member (read with a valid signature).
    async fn expiries(&self, a: &Account, hashes: &[String]) -> Vec<Value> {
        let mut out = Vec::new();
        for m in self.members() {
            let (s, b) = self
                .call(&m, "get_expiries", a.get_expiries(hashes, self.now()))
                .await;
            assert_eq!(s, 200, "{b}");
            let v: Value = serde_json::from_str(&b).expect("json");
            out.push(v["expiries"].clone());
        }
        out
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The forgeries of `valid` (signed by `a` over `msg`), each with a label. `changed` is the
/// valid request with one signed field changed after signing (the signature left as it was).
fn forgeries(
    a: &Account,
    mallory: &Account,
    valid: &Value,
    msg: &[u8],
    changed: Value,
) -> Vec<(&'static str, Value)> {
    let mut unsigned = valid.clone();
    unsigned
        .as_object_mut()
        .expect("object")
        .remove("signature");
    let mut flipped = valid.clone();
    let mut sig = a.sign(msg).0;
    sig[0] ^= 1;
    flipped["signature"] = json!(Signature64(sig));
    let mut other_sig = valid.clone();
    other_sig["signature"] = json!(mallory.sign(msg));
    let mut other_key = valid.clone();
    other_key["pubkey_ed25519"] = json!(mallory.ed25519());
    other_key["signature"] = json!(mallory.sign(msg));
    let mut no_key = valid.clone();
    no_key
        .as_object_mut()
        .expect("object")
        .remove("pubkey_ed25519");
    let mut garbage = valid.clone();
    garbage["signature"] = json!(STANDARD.encode([0u8; 64]));
    assert_ne!(
        &changed, valid,
        "the changed request must differ from the valid one"
    );
    vec![
        ("no signature", unsigned),
        ("flipped signature bit", flipped),
        ("all-zero signature", garbage),
        ("another account's signature", other_sig),
        ("another account's key and signature", other_key),
        ("no pubkey_ed25519", no_key),
        ("request changed after signing", changed),
    ]
}

/// Sends every forgery to every member and asserts a 401 and no change (`state` is read
/// before and after each one).
async fn refuse_all<F, Fut, T>(
    net: &Net,
    method: &str,
    forged: Vec<(&'static str, Value)>,
    state: F,
) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T>,
    T: PartialEq + std::fmt::Debug,
{
    let before = state().await;
    for (label, params) in forged {
        for m in net.members() {
            let (s, b) = net.call(&m, method, params.clone()).await;
            assert_eq!(s, 401, "{method} with {label} at node {}: {b}", m.index);
            assert_eq!(
                state().await,
                before,
                "{method} with {label} changed the store"
            );
        }
    }
    before
}

/// Every member's entry in a swarm-wide answer.
fn swarm_results(body: &str, members: &[NodeInfo]) -> Vec<Value> {
    let v: Value = serde_json::from_str(body).expect("json");
    members
        .iter()
        .map(|m| v["swarm"][m.ed_hex()].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_delete_is_refused_and_deletes_nothing() {
    let net = Net::start().await;
    let (a, mallory) = (Account::random(), Account::random());
    let hashes = net.store_some(&a, 3).await;
    let victims = hashes[..2].to_vec();
    let valid = a.delete(&victims);
    let mut changed = valid.clone();
    changed["messages"] = json!(hashes);
    let forged = forgeries(&a, &mallory, &valid, &sign::delete(&victims), changed);
    let before = refuse_all(&net, "delete", forged, || net.held(&a)).await;
    assert!(before.iter().all(|h| h == &sorted(hashes.clone())));

    let (s, b) = net.call(&net.members()[1], "delete", valid).await;
    assert_eq!(s, 200, "{b}");
    for r in swarm_results(&b, &net.members()) {
        assert_eq!(r["deleted"], json!(sorted(victims.clone())), "{r}");
    }
    let after = net.held(&a).await;
    assert!(
        after.iter().all(|h| h == &vec![hashes[2].clone()]),
        "{after:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_delete_all_is_refused_and_deletes_nothing() {
    let net = Net::start().await;
    let (a, mallory) = (Account::random(), Account::random());
    let hashes = net.store_some(&a, 2).await;
    let now = net.now();
    let sel = NamespaceSel::One(Namespace(0));
    let valid = a.delete_all(sel, now);
    let mut changed = valid.clone();
    changed["namespace"] = json!("all");
    let forged = forgeries(&a, &mallory, &valid, &sign::delete_all(sel, now), changed);
    let before = refuse_all(&net, "delete_all", forged, || net.held(&a)).await;
    assert!(before.iter().all(|h| h == &sorted(hashes.clone())));

    let (s, b) = net.call(&net.members()[2], "delete_all", valid).await;
    assert_eq!(s, 200, "{b}");
    for r in swarm_results(&b, &net.members()) {
        assert_eq!(r["deleted"], json!(sorted(hashes.clone())), "{r}");
    }
    assert!(net.held(&a).await.iter().all(Vec::is_empty));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_delete_before_is_refused_and_deletes_nothing() {
    let net = Net::start().await;
    let (a, mallory) = (Account::random(), Account::random());
    let hashes = net.store_some(&a, 3).await;
    // The messages are stamped now, now+1, now+2: `before = now+1` takes the first two
    // (oxenss deletes `timestamp <= before`).
    let now = net.now();
    let stamped = {
        // Re-read the stamp of the first message from the node: `store_some` used its own now.
        let (_, b) = net
            .call(
                &net.members()[0],
                "retrieve",
                a.retrieve(Namespace(0), None, now),
            )
            .await;
        let v: Value = serde_json::from_str(&b).expect("json");
        v["messages"][0]["timestamp"].as_u64().expect("timestamp")
    };
    let before_ms = stamped + 1;
    let sel = NamespaceSel::One(Namespace(0));
    let valid = json!({
        "pubkey": a.id.to_hex(),
        "pubkey_ed25519": a.ed25519(),
        "namespace": sel,
        "before": before_ms,
        "signature": a.sign(&sign::delete_before(sel, before_ms)),
    });
    let mut changed = valid.clone();
    changed["before"] = json!(before_ms + 1);
    let msg = sign::delete_before(sel, before_ms);
    let forged = forgeries(&a, &mallory, &valid, &msg, changed);
    let held = refuse_all(&net, "delete_before", forged, || net.held(&a)).await;
    assert!(held.iter().all(|h| h == &sorted(hashes.clone())));

    let (s, b) = net.call(&net.members()[0], "delete_before", valid).await;
    assert_eq!(s, 200, "{b}");
    for r in swarm_results(&b, &net.members()) {
        assert_eq!(r["deleted"], json!(sorted(hashes[..2].to_vec())), "{r}");
    }
    let after = net.held(&a).await;
    assert!(
        after.iter().all(|h| h == &vec![hashes[2].clone()]),
        "{after:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expire_is_refused_and_changes_no_expiry() {
    let net = Net::start().await;
    let (a, mallory) = (Account::random(), Account::random());
    let hashes = net.store_some(&a, 2).await;
    let target = net.now() + 600_000;
    let one = hashes[..1].to_vec();
    let valid = a.expire(&one, target, ExpireMode::Shorten);
    let mut changed = valid.clone();
    changed["expiry"] = json!(target - 300_000);
    let msg = sign::expire(ExpireMode::Shorten, target, &one);
    let forged = forgeries(&a, &mallory, &valid, &msg, changed);
    let before = refuse_all(&net, "expire", forged, || net.expiries(&a, &hashes)).await;
    assert!(before[0][&hashes[0]].as_u64().expect("expiry") > target);

    let (s, b) = net.call(&net.members()[1], "expire", valid).await;
    assert_eq!(s, 200, "{b}");
    for r in swarm_results(&b, &net.members()) {
        assert_eq!(r["updated"], json!(one), "{r}");
    }
    for e in net.expiries(&a, &hashes).await {
        assert_eq!(e[&hashes[0]], json!(target));
        assert_eq!(e[&hashes[1]], before[0][&hashes[1]]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expire_with_a_list_is_refused_and_changes_no_expiry() {
    let net = Net::start().await;
    let (a, mallory) = (Account::random(), Account::random());
    let hashes = net.store_some(&a, 2).await;
    let now = net.now();
    let items = vec![
        (hashes[0].clone(), now + 600_000),
        (hashes[1].clone(), now + 700_000),
    ];
    let valid = a.expire_each(&items, ExpireMode::Set);
    let mut msg = String::from("expire");
    items.iter().for_each(|(_, e)| msg.push_str(&e.to_string()));
    items.iter().for_each(|(h, _)| msg.push_str(h));
    let mut changed = valid.clone();
    changed["expiry"] = json!([now + 700_000, now + 600_000]);
    let forged = forgeries(&a, &mallory, &valid, msg.as_bytes(), changed);
    refuse_all(&net, "expire", forged, || net.expiries(&a, &hashes)).await;

    let (s, b) = net.call(&net.members()[2], "expire", valid).await;
    assert_eq!(s, 200, "{b}");
    for e in net.expiries(&a, &hashes).await {
        assert_eq!(e[&hashes[0]], json!(now + 600_000));
        assert_eq!(e[&hashes[1]], json!(now + 700_000));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expire_all_is_refused_and_changes_no_expiry() {
    let net = Net::start().await;
    let (a, mallory) = (Account::random(), Account::random());
    let hashes = net.store_some(&a, 2).await;
    let target = net.now() + 900_000;
    let sel = NamespaceSel::One(Namespace(0));
    let valid = json!({
        "pubkey": a.id.to_hex(),
        "pubkey_ed25519": a.ed25519(),
        "namespace": sel,
        "expiry": target,
        "signature": a.sign(&sign::expire_all(sel, target)),
    });
    let mut changed = valid.clone();
    changed["expiry"] = json!(target - 1);
    let msg = sign::expire_all(sel, target);
    let forged = forgeries(&a, &mallory, &valid, &msg, changed);
    let before = refuse_all(&net, "expire_all", forged, || net.expiries(&a, &hashes)).await;
    assert!(before[0][&hashes[0]].as_u64().expect("expiry") > target);

    let (s, b) = net.call(&net.members()[0], "expire_all", valid).await;
    assert_eq!(s, 200, "{b}");
    for r in swarm_results(&b, &net.members()) {
        assert_eq!(r["updated"], json!(sorted(hashes.clone())), "{r}");
    }
    for e in net.expiries(&a, &hashes).await {
        assert_eq!(e[&hashes[0]], json!(target));
        assert_eq!(e[&hashes[1]], json!(target));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_get_expiries_and_retrieve_reveal_nothing() {
    let net = Net::start().await;
    let (a, mallory) = (Account::random(), Account::random());
    let hashes = net.store_some(&a, 1).await;
    let now = net.now();

    let valid = a.get_expiries(&hashes, now);
    let mut changed = valid.clone();
    changed["timestamp"] = json!(now + 1);
    let msg = sign::get_expiries(now, &hashes);
    for (label, params) in forgeries(&a, &mallory, &valid, &msg, changed) {
        let (s, b) = net.call(&net.members()[0], "get_expiries", params).await;
        assert_eq!(s, 401, "get_expiries with {label}: {b}");
        assert!(!b.contains(&hashes[0]), "{label} leaked: {b}");
    }
    let (s, b) = net.call(&net.members()[0], "get_expiries", valid).await;
    assert_eq!(s, 200, "{b}");
    assert!(b.contains(&hashes[0]));

    let valid = a.retrieve(Namespace(0), None, now);
    let mut changed = valid.clone();
    changed["namespace"] = json!(1);
    let msg = sign::retrieve(Namespace(0), now);
    for (label, params) in forgeries(&a, &mallory, &valid, &msg, changed) {
        let (s, b) = net.call(&net.members()[1], "retrieve", params).await;
        assert_eq!(s, 401, "retrieve with {label}: {b}");
        assert!(!b.contains(&hashes[0]), "{label} leaked: {b}");
    }
    let (s, b) = net.call(&net.members()[1], "retrieve", valid).await;
    assert_eq!(s, 200, "{b}");
    assert!(b.contains(&hashes[0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_private_store_is_refused_and_stores_nothing() {
    let net = Net::start().await;
    let (a, mallory) = (Account::random(), Account::random());
    let ns = Namespace(2);
    let now = net.now();
    let valid = a.store_private(ns, b"config", now, 600_000);
    let mut changed = valid.clone();
    changed["namespace"] = json!(3);
    let msg = sign::store(ns, now);
    let forged = forgeries(&a, &mallory, &valid, &msg, changed);
    let read = || async {
        let mut counts = Vec::new();
        for m in net.members() {
            let (s, b) = net
                .call(&m, "retrieve", a.retrieve(ns, None, net.now()))
                .await;
            assert_eq!(s, 200, "{b}");
            let v: Value = serde_json::from_str(&b).expect("json");
            counts.push(v["messages"].as_array().expect("messages").len());
        }
        counts
    };
    let before = refuse_all(&net, "store", forged, read).await;
    assert!(before.iter().all(|&n| n == 0));

    let (s, b) = net.call(&net.members()[0], "store", valid).await;
    assert_eq!(s, 200, "{b}");
    assert!(read().await.iter().all(|&n| n == 1));
}
