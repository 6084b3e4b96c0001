//! Direct storage RPC against an in-process testnet.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use umbra_node::client::{Account, Client, store_params};
use umbra_node::directory::NodeInfo;
use umbra_node::testnet::{Testnet, TestnetConfig};
use umbra_protocol::rpc::auth::verify_ed25519;
use umbra_protocol::rpc::params::AccountId;
use umbra_protocol::rpc::sign::ExpireMode;
use umbra_protocol::rpc::{MAX_DATA_BYTES, Namespace, NamespaceSel, message_hash};

async fn net(nodes: usize, dir: &tempfile::TempDir) -> Testnet {
    let mut cfg = TestnetConfig::new(dir.path());
    cfg.nodes = nodes;
    Testnet::start(cfg).await.expect("testnet starts")
}

fn swarm_of(net: &Testnet, id: &AccountId) -> Vec<NodeInfo> {
    let sw = net.directory().swarm_of(id).expect("swarm");
    net.directory().members(sw).into_iter().cloned().collect()
}

fn not_swarm(net: &Testnet, id: &AccountId) -> NodeInfo {
    let sw = net.directory().swarm_of(id).expect("swarm");
    net.nodes()
        .iter()
        .find(|n| n.swarm_id != sw)
        .cloned()
        .expect("another swarm")
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not json: {body}"))
}

async fn store(c: &Client, node: &NodeInfo, to: &AccountId, data: &[u8], now: u64) -> Value {
    let (s, b) = c
        .direct(
            node,
            "store",
            store_params(to, Namespace(0), data, now, 3_600_000),
        )
        .await
        .expect("store");
    assert_eq!(s, 200, "{b}");
    parse(&b)
}

fn hashes(v: &Value) -> Vec<String> {
    v["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["hash"].as_str().expect("hash").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_retrieve_delete_expire() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = net(12, &dir).await;
    let c = Client::new(net.http_client().clone());
    let a = Account::random();
    let members = swarm_of(&net, &a.id);
    assert_eq!(members.len(), 4);
    let now = net.clock().now_ms();

    let mut want = Vec::new();
    for i in 0..3u8 {
        let data = vec![i; 100];
        let r = store(&c, &members[0], &a.id, &data, now + u64::from(i)).await;
        let h = message_hash(&a.id, Namespace(0), &data);
        assert_eq!(r["hash"], json!(h));
        assert!(r["t"].is_u64() && r["hf"].is_array());
        let swarm = r["swarm"].as_object().expect("swarm");
        assert_eq!(swarm.len(), 4);
        for m in &members {
            let e = &swarm[&m.ed_hex()];
            assert_eq!(e["hash"], json!(h), "{e}");
            let sig: [u8; 64] = STANDARD
                .decode(e["signature"].as_str().expect("sig"))
                .expect("b64")
                .try_into()
                .expect("64");
            assert_eq!(verify_ed25519(&m.ed25519, h.as_bytes(), &sig), Ok(()));
            assert_ne!(verify_ed25519(&members[0].ed25519, b"other", &sig), Ok(()));
        }
        want.push(h);
    }

    // Replicated: every member answers with all three, in order.
    for m in &members {
        let (s, b) = c
            .direct(m, "retrieve", a.retrieve(Namespace(0), None, now))
            .await
            .expect("r");
        assert_eq!(s, 200, "{b}");
        let v = parse(&b);
        assert_eq!(hashes(&v), want);
        assert_eq!(v["more"], json!(false));
        let msg = &v["messages"][0];
        assert_eq!(
            STANDARD
                .decode(msg["data"].as_str().expect("d"))
                .expect("b64"),
            vec![0u8; 100]
        );
        assert!(msg["expiration"].as_u64().expect("exp") > now);
    }
    // last_hash semantics.
    let (_, b) = c
        .direct(
            &members[1],
            "retrieve",
            a.retrieve(Namespace(0), Some(&want[1]), now),
        )
        .await
        .expect("r");
    assert_eq!(hashes(&parse(&b)), want[2..]);
    let (_, b) = c
        .direct(
            &members[1],
            "retrieve",
            a.retrieve(Namespace(0), Some(&want[2]), now),
        )
        .await
        .expect("r");
    assert!(hashes(&parse(&b)).is_empty());
    let unknown = "A".repeat(43);
    let (_, b) = c
        .direct(
            &members[1],
            "retrieve",
            a.retrieve(Namespace(0), Some(&unknown), now),
        )
        .await
        .expect("r");
    assert_eq!(hashes(&parse(&b)), want);
    let mut p = a.retrieve(Namespace(0), None, now);
    p["max_count"] = json!(2);
    let (_, b) = c.direct(&members[1], "retrieve", p).await.expect("r");
    let v = parse(&b);
    assert_eq!(hashes(&v), want[..2]);
    assert_eq!(v["more"], json!(true));

    // get_expiries, expire shorten/extend.
    let (s, b) = c
        .direct(&members[2], "get_expiries", a.get_expiries(&want, now))
        .await
        .expect("ge");
    assert_eq!(s, 200, "{b}");
    let exp0 = parse(&b)["expiries"][&want[0]].as_u64().expect("expiry");
    let (s, b) = c
        .direct(
            &members[2],
            "expire",
            a.expire(&want[..1], now + 600_000, ExpireMode::Shorten),
        )
        .await
        .expect("e");
    assert_eq!(s, 200, "{b}");
    let v = parse(&b);
    for m in &members {
        assert_eq!(v["swarm"][&m.ed_hex()]["updated"], json!([want[0]]), "{v}");
    }
    let (s, b) = c
        .direct(
            &members[2],
            "expire",
            a.expire(&want[..1], now + 300_000, ExpireMode::Extend),
        )
        .await
        .expect("e");
    assert_eq!(s, 200);
    let v = parse(&b);
    assert_eq!(v["swarm"][&members[2].ed_hex()]["updated"], json!([]));
    assert_eq!(
        v["swarm"][&members[2].ed_hex()]["unchanged"][&want[0]],
        json!(now + 600_000)
    );
    let (_, b) = c
        .direct(&members[3], "get_expiries", a.get_expiries(&want, now))
        .await
        .expect("ge");
    let v = parse(&b);
    assert_eq!(v["expiries"][&want[0]], json!(now + 600_000));
    assert_eq!(v["expiries"][&want[1]].as_u64(), Some(exp0 + 1));

    // delete one, then delete_all.
    let (s, b) = c
        .direct(&members[3], "delete", a.delete(&want[1..2]))
        .await
        .expect("d");
    assert_eq!(s, 200, "{b}");
    let v = parse(&b);
    for m in &members {
        assert_eq!(v["swarm"][&m.ed_hex()]["deleted"], json!([want[1]]));
    }
    let (_, b) = c
        .direct(&members[0], "retrieve", a.retrieve(Namespace(0), None, now))
        .await
        .expect("r");
    assert_eq!(hashes(&parse(&b)), [want[0].clone(), want[2].clone()]);
    let (s, b) = c
        .direct(
            &members[0],
            "delete_all",
            a.delete_all(NamespaceSel::All, now),
        )
        .await
        .expect("da");
    assert_eq!(s, 200, "{b}");
    for m in &members {
        let (_, b) = c
            .direct(m, "retrieve", a.retrieve(Namespace(0), None, now))
            .await
            .expect("r");
        assert!(hashes(&parse(&b)).is_empty());
    }
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_statuses_batch_and_misc() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = net(8, &dir).await;
    let c = Client::new(net.http_client().clone());
    let a = Account::random();
    let b_acct = Account::random();
    let members = swarm_of(&net, &a.id);
    let m = &members[0];
    let now = net.clock().now_ms();

    // Retrieve needs a signature; a wrong one is 401.
    let mut p = a.retrieve(Namespace(0), None, now);
    p.as_object_mut().expect("obj").remove("signature");
    assert_eq!(c.direct(m, "retrieve", p).await.expect("r").0, 401);
    let mut p = a.retrieve(Namespace(0), None, now);
    p["signature"] = json!(b_acct.sign(b"retrieve1"));
    assert_eq!(c.direct(m, "retrieve", p).await.expect("r").0, 401);
    // pubkey_ed25519 of another account.
    let mut p = a.retrieve(Namespace(0), None, now);
    p["pubkey_ed25519"] = json!(b_acct.ed25519());
    assert_eq!(c.direct(m, "retrieve", p).await.expect("r").0, 401);
    // Stale signature timestamp: 406 with the clock message.
    let (s, body) = c
        .direct(m, "retrieve", a.retrieve(Namespace(0), None, now - 61_000))
        .await
        .expect("r");
    assert_eq!(
        (s, body.as_str()),
        (406, "Timestamp error: check your clock")
    );
    // Store from the future.
    let (s, _) = c
        .direct(
            m,
            "store",
            store_params(&a.id, Namespace(0), b"x", now + 20_000, 60_000),
        )
        .await
        .expect("s");
    assert_eq!(s, 406);
    // Private namespace needs a signature; with one it works.
    let (s, _) = c
        .direct(
            m,
            "store",
            store_params(&a.id, Namespace(2), b"x", now, 60_000),
        )
        .await
        .expect("s");
    assert_eq!(s, 401);
    let (s, b) = c
        .direct(
            m,
            "store",
            a.store_private(Namespace(2), b"cfg", now, 60_000),
        )
        .await
        .expect("s");
    assert_eq!(s, 200, "{b}");
    // TTL out of range.
    let (s, _) = c
        .direct(
            m,
            "store",
            store_params(&a.id, Namespace(0), b"x", now, 5_000),
        )
        .await
        .expect("s");
    assert_eq!(s, 403);
    // Too large: 400.
    let big = vec![7u8; MAX_DATA_BYTES + 1];
    let (s, _) = c
        .direct(
            m,
            "store",
            store_params(&a.id, Namespace(0), &big, now, 60_000),
        )
        .await
        .expect("s");
    assert_eq!(s, 400);
    let ok = vec![7u8; MAX_DATA_BYTES];
    assert_eq!(
        c.direct(
            m,
            "store",
            store_params(&a.id, Namespace(0), &ok, now, 60_000)
        )
        .await
        .expect("s")
        .0,
        200
    );
    // Wrong swarm: 421 with the right swarm in the body.
    let other = not_swarm(&net, &a.id);
    let (s, b) = c
        .direct(
            &other,
            "store",
            store_params(&a.id, Namespace(0), b"x", now, 60_000),
        )
        .await
        .expect("s");
    assert_eq!(s, 421);
    let v = parse(&b);
    let mut got: Vec<String> = v["snodes"]
        .as_array()
        .expect("snodes")
        .iter()
        .map(|n| n["pubkey_ed25519"].as_str().expect("ed").to_owned())
        .collect();
    let mut exp: Vec<String> = members.iter().map(NodeInfo::ed_hex).collect();
    got.sort();
    exp.sort();
    assert_eq!(got, exp);
    assert_eq!(
        c.direct(&other, "retrieve", a.retrieve(Namespace(0), None, now))
            .await
            .expect("r")
            .0,
        421
    );
    // Unknown method 400; malformed 400; unknown route 404; body over 10 MiB 413.
    assert_eq!(
        c.direct(m, "frobnicate", json!({})).await.expect("x").0,
        400
    );
    assert_eq!(
        c.direct(m, "store", json!({"pubkey": "05"}))
            .await
            .expect("x")
            .0,
        400
    );
    let http = net.http_client();
    let url = format!("{}/storage_rpc/v1", m.url());
    assert_eq!(
        http.post(&url)
            .body("{not json")
            .send()
            .await
            .expect("x")
            .status()
            .as_u16(),
        400
    );
    assert_eq!(
        http.post(format!("{}/nope", m.url()))
            .body("{}")
            .send()
            .await
            .expect("x")
            .status()
            .as_u16(),
        404
    );
    let huge = vec![b' '; 10 * 1024 * 1024 + 1];
    assert_eq!(
        http.post(&url)
            .body(huge)
            .send()
            .await
            .expect("x")
            .status()
            .as_u16(),
        413
    );

    // info, get_swarm, oxend_request.
    let (s, b) = c.direct(m, "info", json!({})).await.expect("i");
    assert_eq!(s, 200);
    let v = parse(&b);
    assert!(
        v["t"].as_u64().is_some_and(|t| t.abs_diff(now) < 60_000)
            && v["hf"].is_array()
            && v["version"].is_array()
    );
    let (s, b) = c
        .direct(&other, "get_swarm", json!({"pubkey": a.id.to_hex()}))
        .await
        .expect("g");
    assert_eq!(s, 200);
    let v = parse(&b);
    assert_eq!(v["snodes"].as_array().expect("snodes").len(), members.len());
    let sn = &v["snodes"][0];
    assert!(sn["port"].is_string() && sn["port_https"].is_u64() && sn["ip"] == "127.0.0.1");
    let (s, b) = c
        .direct(
            m,
            "oxend_request",
            json!({"endpoint": "get_service_nodes", "params": {"active_only": true}}),
        )
        .await
        .expect("o");
    assert_eq!(s, 200);
    assert_eq!(
        parse(&b)["result"]["service_node_states"]
            .as_array()
            .expect("states")
            .len(),
        8
    );
    assert_eq!(
        c.direct(m, "oxend_request", json!({"endpoint": "rm_rf"}))
            .await
            .expect("o")
            .0,
        400
    );

    // batch and sequence.
    let sub = |p: Value| json!({"method": "store", "params": p});
    let reqs = json!([
        sub(store_params(&a.id, Namespace(0), b"b1", now, 60_000)),
        {"method": "retrieve", "params": a.retrieve(Namespace(0), None, now)},
        sub(store_params(&a.id, Namespace(0), b"b2", now + 60_000, 60_000)),
        sub(store_params(&a.id, Namespace(0), b"b3", now, 60_000)),
    ]);
    let (s, b) = c
        .direct(m, "batch", json!({"requests": reqs}))
        .await
        .expect("b");
    assert_eq!(s, 200, "{b}");
    let codes: Vec<u64> = parse(&b)["results"]
        .as_array()
        .expect("r")
        .iter()
        .map(|r| r["code"].as_u64().expect("c"))
        .collect();
    assert_eq!(codes, [200, 200, 406, 200]);
    let (_, b) = c
        .direct(m, "sequence", json!({"requests": reqs}))
        .await
        .expect("b");
    let codes: Vec<u64> = parse(&b)["results"]
        .as_array()
        .expect("r")
        .iter()
        .map(|r| r["code"].as_u64().expect("c"))
        .collect();
    assert_eq!(codes, [200, 200, 406]);
    let many: Vec<Value> = (0..21)
        .map(|_| json!({"method": "info", "params": {}}))
        .collect();
    assert_eq!(
        c.direct(m, "batch", json!({"requests": many}))
            .await
            .expect("b")
            .0,
        400
    );
    let nested = json!({"requests": [{"method": "batch", "params": {"requests": []}}]});
    assert_eq!(c.direct(m, "batch", nested).await.expect("b").0, 400);

    // CORS preflight.
    let r = http
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "http://127.0.0.1:8080")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .expect("options");
    assert!(r.status().is_success());
    assert_eq!(
        r.headers()
            .get("access-control-allow-origin")
            .map(|v| v.as_bytes()),
        Some(&b"*"[..])
    );

    // Seed.
    let r = http
        .post(format!("{}/json_rpc", net.seed_url()))
        .header("content-type", "application/json")
        .body(r#"{"jsonrpc":"2.0","method":"get_n_service_nodes","params":{"active_only":true,"fields":{"public_ip":true,"storage_port":true,"pubkey_x25519":true,"pubkey_ed25519":true,"requested_unlock_height":true,"height":true}}}"#)
        .send()
        .await
        .expect("seed");
    let v: Value = parse(&r.text().await.expect("text"));
    let states = v["result"]["service_node_states"]
        .as_array()
        .expect("states");
    assert_eq!(states.len(), 8);
    assert!(v["result"]["height"].is_u64());
    for (st, n) in states.iter().zip(net.nodes()) {
        assert_eq!(st["pubkey_ed25519"], json!(n.ed_hex()));
        assert_eq!(st["pubkey_x25519"], json!(hex::encode(n.x25519)));
        assert_eq!(st["storage_port"], json!(n.port));
        assert_eq!(st["public_ip"], json!("127.0.0.1"));
        assert_eq!(st["requested_unlock_height"], json!(0));
        assert_eq!(st["swarm_id"], json!(n.swarm_id));
    }
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_store_is_idempotent_and_extends() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = net(4, &dir).await;
    let c = Client::new(net.http_client().clone());
    let a = Account::random();
    let members = swarm_of(&net, &a.id);
    let now = net.clock().now_ms();
    let first = store(&c, &members[0], &a.id, b"same", now).await;
    let again = store(&c, &members[1], &a.id, b"same", now).await;
    assert_eq!(first["hash"], again["hash"]);
    for m in &members {
        assert_eq!(
            again["swarm"][&m.ed_hex()]["already"],
            json!(true),
            "{again}"
        );
        assert!(first["swarm"][&m.ed_hex()].get("already").is_none());
    }
    // Same bytes with a longer TTL: same hash, later expiry.
    let (s, b) = c
        .direct(
            &members[2],
            "store",
            store_params(&a.id, Namespace(0), b"same", now, 7_200_000),
        )
        .await
        .expect("s");
    assert_eq!(s, 200);
    let v = parse(&b);
    assert_eq!(
        v["swarm"][&members[3].ed_hex()]["expiry"],
        json!(now + 7_200_000)
    );
    let (_, b) = c
        .direct(&members[3], "retrieve", a.retrieve(Namespace(0), None, now))
        .await
        .expect("r");
    let v = parse(&b);
    assert_eq!(hashes(&v).len(), 1);
    assert_eq!(v["messages"][0]["expiration"], json!(now + 7_200_000));
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_messages_vanish_and_are_swept() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = TestnetConfig::new(dir.path());
    cfg.nodes = 4;
    cfg.sweep_interval = Duration::from_millis(100);
    let net = Testnet::start(cfg).await.expect("start");
    let c = Client::new(net.http_client().clone());
    let a = Account::random();
    let members = swarm_of(&net, &a.id);
    let now = net.clock().now_ms();
    let (s, _) = c
        .direct(
            &members[0],
            "store",
            store_params(&a.id, Namespace(0), b"short", now, 10_000),
        )
        .await
        .expect("s");
    assert_eq!(s, 200);
    store(&c, &members[0], &a.id, b"long", now).await;
    net.clock().advance_ms(11_000);
    let later = net.clock().now_ms();
    let (_, b) = c
        .direct(
            &members[1],
            "retrieve",
            a.retrieve(Namespace(0), None, later),
        )
        .await
        .expect("r");
    assert_eq!(
        hashes(&parse(&b)),
        [message_hash(&a.id, Namespace(0), b"long")]
    );
    // The background sweeper removes the expired row on every member.
    for i in 0..4 {
        let st = net.node_state(i).expect("running");
        let mut n = 0;
        while st.message_count() != 1 && n < 100 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            n += 1;
        }
        assert_eq!(st.message_count(), 1, "node {i}");
    }
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_rules() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = net(4, &dir).await;
    let c = Client::new(net.http_client().clone());
    let a = Account::random();
    let m = &swarm_of(&net, &a.id)[0];
    let now = net.clock().now_ms();
    let unsigned_retrieve = |ns: i16| json!({"pubkey": a.id.to_hex(), "namespace": ns});
    // −10: unauthenticated store and retrieve.
    let (s, _) = c
        .direct(
            m,
            "store",
            store_params(&a.id, Namespace(-10), b"legacy", now, 60_000),
        )
        .await
        .expect("s");
    assert_eq!(s, 200);
    let (s, b) = c
        .direct(m, "retrieve", unsigned_retrieve(-10))
        .await
        .expect("r");
    assert_eq!(s, 200);
    assert_eq!(hashes(&parse(&b)).len(), 1);
    // Public outbox −21: the owner stores (signed), anyone reads, a new store replaces.
    let (s, _) = c
        .direct(
            m,
            "store",
            store_params(&a.id, Namespace(-21), b"o1", now, 60_000),
        )
        .await
        .expect("s");
    assert_eq!(s, 401);
    for d in [b"o1", b"o2"] {
        let (s, b) = c
            .direct(m, "store", a.store_private(Namespace(-21), d, now, 60_000))
            .await
            .expect("s");
        assert_eq!(s, 200, "{b}");
    }
    let (s, b) = c
        .direct(m, "retrieve", unsigned_retrieve(-21))
        .await
        .expect("r");
    assert_eq!(s, 200);
    assert_eq!(
        hashes(&parse(&b)),
        [message_hash(&a.id, Namespace(-21), b"o2")]
    );
    // Private namespaces need signed retrieves; namespace 0 too.
    assert_eq!(
        c.direct(m, "retrieve", unsigned_retrieve(2))
            .await
            .expect("r")
            .0,
        401
    );
    assert_eq!(
        c.direct(m, "retrieve", unsigned_retrieve(0))
            .await
            .expect("r")
            .0,
        401
    );
    // The reserved testing namespace refuses stores.
    let (s, _) = c
        .direct(
            m,
            "store",
            a.store_private(Namespace(-3741), b"t", now, 60_000),
        )
        .await
        .expect("s");
    assert_eq!(s, 400);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expire_with_a_list_of_expiries() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = net(4, &dir).await;
    let c = Client::new(net.http_client().clone());
    let a = Account::random();
    let members = swarm_of(&net, &a.id);
    let now = net.clock().now_ms();
    let mut h = Vec::new();
    for i in 0..3u8 {
        let data = vec![0x40 + i; 64];
        store(&c, &members[0], &a.id, &data, now).await;
        h.push(message_hash(&a.id, Namespace(0), &data));
    }
    let want: Vec<(String, u64)> = vec![
        (h[2].clone(), now + 200_000),
        (h[0].clone(), now + 100_000),
        (h[1].clone(), now + 300_000),
    ];
    let (s, b) = c
        .direct(&members[1], "expire", a.expire_each(&want, ExpireMode::Set))
        .await
        .expect("expire");
    assert_eq!(s, 200, "{b}");
    let v = parse(&b);
    let mut sorted = want.clone();
    sorted.sort();
    let hashes_sorted: Vec<&str> = sorted.iter().map(|(x, _)| x.as_str()).collect();
    let expiries_sorted: Vec<u64> = sorted.iter().map(|(_, e)| *e).collect();
    for m in &members {
        let r = &v["swarm"][&m.ed_hex()];
        assert_eq!(r["updated"], json!(hashes_sorted), "{r}");
        assert_eq!(r["expiry"], json!(expiries_sorted), "{r}");
        // PUBKEY_HEX ‖ expiries of `updated` ‖ requested ‖ updated, signed by the node.
        let mut msg = a.id.to_hex();
        expiries_sorted
            .iter()
            .for_each(|e| msg.push_str(&e.to_string()));
        want.iter().for_each(|(x, _)| msg.push_str(x));
        hashes_sorted.iter().for_each(|x| msg.push_str(x));
        let sig: [u8; 64] = STANDARD
            .decode(r["signature"].as_str().expect("sig"))
            .expect("b64")
            .try_into()
            .expect("64");
        assert_eq!(verify_ed25519(&m.ed25519, msg.as_bytes(), &sig), Ok(()));
        assert_ne!(
            verify_ed25519(&m.ed25519, format!("{msg}x").as_bytes(), &sig),
            Ok(())
        );
    }
    let all: Vec<String> = h.clone();
    let (_, b) = c
        .direct(&members[3], "get_expiries", a.get_expiries(&all, now))
        .await
        .expect("ge");
    let v = parse(&b);
    for (x, e) in &want {
        assert_eq!(v["expiries"][x], json!(e), "{v}");
    }

    // Shorten with a list: only the message whose new expiry is earlier changes.
    let shorten = vec![(h[0].clone(), now + 50_000), (h[1].clone(), now + 400_000)];
    let (s, b) = c
        .direct(
            &members[2],
            "expire",
            a.expire_each(&shorten, ExpireMode::Shorten),
        )
        .await
        .expect("expire");
    assert_eq!(s, 200, "{b}");
    let r = &parse(&b)["swarm"][&members[2].ed_hex()];
    assert_eq!(r["updated"], json!([h[0]]), "{r}");
    assert_eq!(r["expiry"], json!([now + 50_000]));
    assert_eq!(r["unchanged"], json!({ h[1].clone(): now + 300_000 }));

    // Bad variants change nothing.
    let mut mismatched = a.expire_each(&want, ExpireMode::Set);
    mismatched["expiry"] = json!([now + 1_000_000, now + 1_000_000]);
    let mut swapped = a.expire_each(&want, ExpireMode::Set);
    swapped["expiry"] = json!([now + 100_000, now + 200_000, now + 300_000]);
    let mut not_numbers = a.expire_each(&want, ExpireMode::Set);
    not_numbers["expiry"] = json!(["soon", now, now]);
    let past = a.expire_each(
        &[(h[2].clone(), now - 120_000), (h[1].clone(), now + 1000)],
        ExpireMode::Set,
    );
    let mut unsigned = a.expire_each(&want, ExpireMode::Set);
    unsigned.as_object_mut().expect("obj").remove("signature");
    for (name, p, status) in [
        ("length mismatch", mismatched, 400),
        ("expiries not as signed", swapped, 401),
        ("not numbers", not_numbers, 400),
        ("expiry in the past", past, 401),
        ("unsigned", unsigned, 401),
    ] {
        let (s, b) = c.direct(&members[0], "expire", p).await.expect("expire");
        assert_eq!(s, status, "{name}: {b}");
    }
    let (_, b) = c
        .direct(&members[0], "get_expiries", a.get_expiries(&all, now))
        .await
        .expect("ge");
    let v = parse(&b);
    assert_eq!(v["expiries"][&h[0]], json!(now + 50_000));
    assert_eq!(v["expiries"][&h[1]], json!(now + 300_000));
    assert_eq!(v["expiries"][&h[2]], json!(now + 200_000));
    net.shutdown().await;
}

/// Status codes and answer shapes as session-storage-server gives them
/// (`oxenss/rpc/request_handler.cpp`, `client_rpc_endpoints.cpp`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oxenss_codes_and_shapes() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = net(4, &dir).await;
    let c = Client::new(net.http_client().clone());
    let a = Account::random();
    let members = swarm_of(&net, &a.id);
    let m = &members[0];
    let now = net.clock().now_ms();
    let code = |r: (u16, String)| r.0;

    // Unknown method: 400 "no method X".
    let (s, b) = c.direct(m, "frobnicate", json!({})).await.expect("x");
    assert_eq!((s, b.as_str()), (400, "no method frobnicate"));
    // TTL out of range: 403; data over 76,800 bytes: 400.
    let p = store_params(&a.id, Namespace(0), b"x", now, 5_000);
    assert_eq!(code(c.direct(m, "store", p).await.expect("s")), 403);
    let big = vec![7u8; MAX_DATA_BYTES + 1];
    let p = store_params(&a.id, Namespace(0), &big, now, 60_000);
    assert_eq!(code(c.direct(m, "store", p).await.expect("s")), 400);

    // A batch with an unknown or unparsable subrequest fails as a whole with 400, and
    // nothing of it runs.
    let good = json!({"method": "store", "params": store_params(&a.id, Namespace(0), b"batch", now, 60_000)});
    for bad in [
        json!({"method": "frobnicate", "params": {}}),
        json!({"method": "store", "params": {"pubkey": "05"}}),
    ] {
        let (s, b) = c
            .direct(m, "batch", json!({"requests": [good.clone(), bad]}))
            .await
            .expect("b");
        assert_eq!(s, 400, "{b}");
    }
    let (_, b) = c
        .direct(m, "retrieve", a.retrieve(Namespace(0), None, now))
        .await
        .expect("r");
    assert!(hashes(&parse(&b)).is_empty(), "{b}");

    // Three messages at increasing timestamps.
    let mut stored = Vec::new();
    for i in 0..3u64 {
        let data = vec![u8::try_from(i).expect("u8"); 50];
        store(&c, m, &a.id, &data, now - 3_000 + i * 1_000).await;
        stored.push(message_hash(&a.id, Namespace(0), &data));
    }
    // max_count 0 means unset: every message comes back.
    let mut p = a.retrieve(Namespace(0), None, now);
    p["max_count"] = json!(0);
    let (_, b) = c.direct(m, "retrieve", p).await.expect("r");
    assert_eq!(hashes(&parse(&b)).len(), 3, "{b}");
    // last_hash must be empty or 43 base64 characters.
    for bad in ["short", "!".repeat(43).as_str()] {
        let p = a.retrieve(Namespace(0), Some(bad), now);
        assert_eq!(code(c.direct(m, "retrieve", p).await.expect("r")), 400);
    }
    let p = a.retrieve(Namespace(0), Some(""), now);
    assert_eq!(code(c.direct(m, "retrieve", p).await.expect("r")), 200);

    // expire into the past: 401; expire_all into the past: 406.
    let p = a.expire(&stored, now - 120_000, ExpireMode::Set);
    assert_eq!(code(c.direct(m, "expire", p).await.expect("e")), 401);
    let sel = NamespaceSel::One(Namespace(0));
    let expire_all = |sel: NamespaceSel, e: u64| {
        json!({
            "pubkey": a.id.to_hex(), "pubkey_ed25519": a.ed25519(), "namespace": sel,
            "expiry": e, "signature": a.sign(&umbra_protocol::rpc::sign::expire_all(sel, e)),
        })
    };
    let p = expire_all(sel, now - 120_000);
    assert_eq!(code(c.direct(m, "expire_all", p).await.expect("e")), 406);
    // expire_all signs the requested expiry, not a clamped one (a far expiry shortens
    // nothing: only `expiry > requested` rows change), and answers per namespace for "all".
    let far = now + 40 * 24 * 3600 * 1000;
    let node_sig = |v: &Value| -> [u8; 64] {
        STANDARD
            .decode(v["signature"].as_str().expect("sig"))
            .expect("b64")
            .try_into()
            .expect("64")
    };
    let (s, b) = c
        .direct(m, "expire_all", expire_all(NamespaceSel::All, far))
        .await
        .expect("e");
    assert_eq!(s, 200, "{b}");
    let mine = &parse(&b)["swarm"][m.ed_hex()];
    assert_eq!(mine["updated"], json!({}), "{b}");
    let none: [&str; 0] = [];
    let signed = umbra_protocol::rpc::sign::bulk_response(&a.id.to_hex(), far, &none);
    verify_ed25519(&m.ed25519, &signed, &node_sig(mine)).expect("signs the requested expiry");
    let soon = now + 1_800_000;
    let (s, b) = c
        .direct(m, "expire_all", expire_all(NamespaceSel::All, soon))
        .await
        .expect("e");
    assert_eq!(s, 200, "{b}");
    let mine = &parse(&b)["swarm"][m.ed_hex()];
    let mut got: Vec<String> = mine["updated"]["0"]
        .as_array()
        .expect("by namespace")
        .iter()
        .map(|h| h.as_str().expect("h").to_owned())
        .collect();
    got.sort();
    let mut want = stored.clone();
    want.sort();
    assert_eq!(got, want);
    let signed = umbra_protocol::rpc::sign::bulk_response(&a.id.to_hex(), soon, &want);
    verify_ed25519(&m.ed25519, &signed, &node_sig(mine)).expect("node signature");

    // delete_before refuses the future (401) and deletes `timestamp <= before`.
    let delete_before = |before: u64| {
        json!({
            "pubkey": a.id.to_hex(), "pubkey_ed25519": a.ed25519(), "namespace": 0,
            "before": before,
            "signature": a.sign(&umbra_protocol::rpc::sign::delete_before(sel, before)),
        })
    };
    let p = delete_before(now + 120_000);
    assert_eq!(code(c.direct(m, "delete_before", p).await.expect("d")), 401);
    let (s, b) = c
        .direct(m, "delete_before", delete_before(now - 2_000))
        .await
        .expect("d");
    assert_eq!(s, 200, "{b}");
    let mut deleted: Vec<String> = parse(&b)["swarm"][m.ed_hex()]["deleted"]
        .as_array()
        .expect("deleted")
        .iter()
        .map(|h| h.as_str().expect("h").to_owned())
        .collect();
    deleted.sort();
    let mut want = stored[..2].to_vec();
    want.sort();
    assert_eq!(
        deleted, want,
        "the message at exactly `before` is deleted too"
    );
}

/// A `node` limits each client IP with oxenss's token bucket (600 tokens, 300 per second,
/// `oxenss/rpc/rate_limiter.h`): a burst beyond it is answered 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_mode_rate_limits_per_client_ip() {
    let dir = tempfile::tempdir().expect("tmp");
    let (single, url) = umbra_node::single::start_single(umbra_node::single::SingleConfig {
        data_dir: dir.path().to_path_buf(),
        bind: "127.0.0.1".parse().expect("ip"),
        port: 0,
        public_ip: None,
        tls: None,
        proxy_hosts: Vec::new(),
    })
    .await
    .expect("single");
    let http = reqwest::Client::new();
    let body = r#"{"method":"info","params":{}}"#;
    let sends = (0..1500).map(|_| {
        let http = http.clone();
        let url = format!("{url}/storage_rpc/v1");
        async move {
            http.post(url)
                .body(body)
                .send()
                .await
                .map_or(0, |r| r.status().as_u16())
        }
    });
    let codes = futures_util::future::join_all(sends).await;
    let ok = codes.iter().filter(|&&c| c == 200).count();
    let limited = codes.iter().filter(|&&c| c == 429).count();
    assert!(ok >= 600, "{ok} served");
    assert!(limited > 0, "no 429 among {} requests", codes.len());
    assert_eq!(ok + limited, codes.len());
    single.stop().await;
}
