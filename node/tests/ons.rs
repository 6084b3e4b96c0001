//! `oxend_request` `ons_resolve` as a Session client sends it (session-desktop
//! `onsResolve.ts`: a batch with one `oxend_request`, `type` 0, base64 BLAKE2b name hash) and
//! decrypts it, against names registered in the testnet (`TestnetConfig::ons`, `--ons`).

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use base64::Engine as _;
use blake2::{Blake2b, Blake2bMac, digest::Digest, digest::Mac, digest::consts::U32};
use chacha20poly1305::aead::Aead as _;
use chacha20poly1305::{KeyInit as _, XChaCha20Poly1305, XNonce};
use serde_json::{Value, json};
use umbra_node::client::Account;
use umbra_node::ons::Ons;
use umbra_node::testnet::{Testnet, TestnetConfig};

/// The client side, written from session-desktop's steps (not the node's code).
fn lookup_body(name: &str) -> String {
    let hash = Blake2b::<U32>::digest(name.to_lowercase().as_bytes());
    json!({"method": "batch", "params": {"requests": [{"method": "oxend_request", "params": {
        "endpoint": "ons_resolve",
        "params": {"type": 0, "name_hash": base64::engine::general_purpose::STANDARD.encode(hash)},
    }}]}})
    .to_string()
}

fn client_decrypt(name: &str, result: &Value) -> Option<String> {
    let lower = name.to_lowercase();
    let hash = Blake2b::<U32>::digest(lower.as_bytes());
    let mut mac = <Blake2bMac<U32> as blake2::digest::KeyInit>::new_from_slice(&hash).ok()?;
    mac.update(lower.as_bytes());
    let key: [u8; 32] = mac.finalize().into_bytes().into();
    let ct = hex::decode(result["encrypted_value"].as_str()?).ok()?;
    let nonce: [u8; 24] = hex::decode(result["nonce"].as_str()?)
        .ok()?
        .try_into()
        .ok()?;
    let id = XChaCha20Poly1305::new(&key.into())
        .decrypt(&XNonce::from(nonce), ct.as_slice())
        .ok()?;
    Some(hex::encode(id))
}

async fn resolve(http: &reqwest::Client, node_url: &str, name: &str) -> Value {
    let r = http
        .post(format!("{node_url}/storage_rpc/v1"))
        .body(lookup_body(name))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = serde_json::from_str(&r.text().await.expect("text")).expect("json");
    let first = &v["results"][0];
    assert_eq!(first["code"], json!(200), "{v}");
    first["body"].clone()
}

#[tokio::test]
async fn every_node_resolves_registered_names_as_oxend_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tmp");
    let alice = Account::random();
    let mut ons = Ons::default();
    ons.register("Alice", &alice.id).expect("register");
    let mut cfg = TestnetConfig::new(dir.path());
    cfg.nodes = 4;
    cfg.ons = Arc::new(ons);
    let net = Testnet::start(cfg).await.expect("testnet");
    let http = net.http_client().clone();
    for node in net.nodes() {
        let body = resolve(&http, &node.url(), "alice").await;
        assert!(body["t"].is_u64(), "{body}");
        assert_eq!(
            client_decrypt("alice", &body["result"]).as_deref(),
            Some(alice.id.to_hex().as_str())
        );
    }
    let unknown = resolve(&http, &net.nodes()[0].url(), "nobody").await;
    assert_eq!(unknown["result"], json!({}));
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testnet_ons_flag_registers_names() {
    let dir = tempfile::tempdir().expect("tmp");
    let bob = Account::random();
    let status = Command::new(env!("CARGO_BIN_EXE_umbra-node"))
        .args([
            "testnet",
            "--nodes",
            "1",
            "--ons",
            "not a name=05",
            "--data",
        ])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run");
    assert!(!status.success());
    let mut child = Command::new(env!("CARGO_BIN_EXE_umbra-node"))
        .args(["testnet", "--nodes", "1", "--ons"])
        .arg(format!("bob={}", bob.id.to_hex()))
        .arg("--data")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let out = child.stdout.take().expect("stdout");
    let seed = tokio::task::spawn_blocking(move || {
        let mut l = String::new();
        BufReader::new(out).read_line(&mut l).map(|_| l)
    })
    .await
    .expect("join")
    .expect("read");
    let seed = seed
        .trim()
        .strip_prefix("seed ")
        .expect("seed line")
        .to_string();
    let http = reqwest::Client::new();
    let list: Value = serde_json::from_str(
        &http
            .post(format!("{seed}/json_rpc"))
            .body(r#"{"jsonrpc":"2.0","method":"get_n_service_nodes","params":{}}"#)
            .send()
            .await
            .expect("seed")
            .text()
            .await
            .expect("text"),
    )
    .expect("json");
    let n = &list["result"]["service_node_states"][0];
    let url = format!(
        "http://{}:{}",
        n["public_ip"].as_str().expect("ip"),
        n["storage_port"]
    );
    let body = resolve(&http, &url, "BOB").await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        client_decrypt("bob", &body["result"]).as_deref(),
        Some(bob.id.to_hex().as_str())
    );
}
