//! `umbra-node bootstrap` against a faithful testnet's pinned seed: the written list is the
//! seed's answer; a wrong pin, an unreachable seed or too few nodes write nothing.

use std::process::{Command, Output};

use serde_json::Value;
use umbra_node::bootstrap::{self, BootstrapError};
use umbra_node::bridge::SeedSource;
use umbra_node::bundle::{BootstrapNode, BundleConfig};
use umbra_node::testnet::{Testnet, TestnetConfig};

async fn faithful(dir: &std::path::Path) -> Testnet {
    let mut cfg = TestnetConfig::new(dir);
    cfg.nodes = 8;
    cfg.faithful = true;
    Testnet::start(cfg).await.expect("faithful testnet")
}

async fn seed_list(net: &Testnet) -> Vec<BootstrapNode> {
    let r = net
        .http_client()
        .post(format!("{}/json_rpc", net.seed_url()))
        .body(r#"{"jsonrpc":"2.0","id":"0","method":"get_n_service_nodes","params":{}}"#)
        .send()
        .await
        .expect("seed");
    let v: Value = serde_json::from_str(&r.text().await.expect("text")).expect("json");
    let mut nodes = BootstrapNode::from_seed_reply(&v);
    nodes.sort_by(|a, b| a.pubkey_ed25519.cmp(&b.pubkey_ed25519));
    nodes
}

/// Run `umbra-node bootstrap ARGS` off the runtime's thread (the seed is in this process).
async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_umbra-node"))
            .arg("bootstrap")
            .args(args)
            .output()
            .expect("run")
    })
    .await
    .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_writes_the_pinned_seeds_nodes_and_refuses_a_wrong_pin() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = faithful(&dir.path().join("net")).await;
    let pem = dir.path().join("net/seed.pem");
    let out = dir.path().join("config/mainnet.json");
    let args = |pem: &std::path::Path, min: &str| {
        vec![
            "--seed".into(),
            net.seed_url().to_string(),
            "--seed-cert".into(),
            pem.display().to_string(),
            "--min".into(),
            min.into(),
            "--bridge".into(),
            "https://bridge.example".into(),
            "--out".into(),
            out.display().to_string(),
        ]
    };

    // A certificate other than the seed's own: refused, nothing written.
    let (other, _) = umbra_node::tls::self_signed_localhost().expect("cert");
    let wrong = dir.path().join("wrong.pem");
    std::fs::write(&wrong, other).expect("write");
    let o = run(args(&wrong, "1")).await;
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no seed answered"), "{err}");
    assert!(!out.exists());

    // More nodes required than the network has (the default, 24, too): nothing written.
    let o = run(args(&pem, "9")).await;
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("agree on 8 nodes, fewer than the required 9")
    );
    let mut no_min = args(&pem, "1");
    no_min.drain(4..6);
    let o = run(no_min).await;
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("fewer than the required 24"));
    assert!(!out.exists());

    // The right pin: the seed's nodes, in the bundle's mainnet shape.
    let o = run(args(&pem, "8")).await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("bootstrap 8 nodes"));
    let text = std::fs::read_to_string(&out).expect("written");
    let cfg = BundleConfig::parse(&text).expect("valid");
    assert_eq!(cfg.network, "mainnet");
    assert_eq!(cfg.seed_url, None);
    assert_eq!(cfg.bridges, vec!["https://bridge.example".to_string()]);
    assert_eq!(cfg.bootstrap, seed_list(&net).await);
    let raw: Value = serde_json::from_str(&text).expect("json");
    let mut keys: Vec<&String> = raw.as_object().expect("object").keys().collect();
    keys.sort_unstable();
    assert_eq!(keys, ["bootstrap", "bridges", "network"]);

    // A later refused run leaves the good file alone.
    let o = run(args(&wrong, "1")).await;
    assert!(!o.status.success());
    assert_eq!(std::fs::read_to_string(&out).expect("kept"), text);
    net.shutdown().await;
}

#[tokio::test]
async fn seeds_that_do_not_answer_are_left_out_and_none_answering_is_an_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = faithful(dir.path()).await;
    let good = SeedSource {
        url: net.seed_url().to_string(),
        cert_pem: net.seed_cert_pem().expect("pem").to_string(),
    };
    // A closed port with the same pin.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let gone = SeedSource {
        url: format!("https://127.0.0.1:{port}"),
        cert_pem: good.cert_pem.clone(),
    };
    let nodes = bootstrap::fetch(&[gone.clone(), good.clone(), good.clone()], 8)
        .await
        .expect("list");
    assert_eq!(nodes, seed_list(&net).await);
    assert_eq!(
        bootstrap::fetch(std::slice::from_ref(&gone), 1).await,
        Err(BootstrapError::NoSeedAnswered(1))
    );
    assert_eq!(
        bootstrap::fetch(std::slice::from_ref(&good), 24).await,
        Err(BootstrapError::TooFew { agreed: 8, min: 24 })
    );
    net.shutdown().await;
}
