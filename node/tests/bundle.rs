//! The bundle's `config.json`: written by the testnet (direct and faithful) with every node
//! the seed lists, served at `/config.json` by `testnet --app-dir` and `serve --config`.

use std::io::BufReader;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use umbra_node::bundle::{BootstrapNode, BundleConfig};
use umbra_node::testnet::{Testnet, TestnetConfig};

async fn seed_answer(net: &Testnet) -> Value {
    let r = net
        .http_client()
        .post(format!("{}/json_rpc", net.seed_url()))
        .header("content-type", "application/json")
        .body(r#"{"jsonrpc":"2.0","id":"0","method":"get_n_service_nodes","params":{}}"#)
        .send()
        .await
        .expect("seed answers");
    serde_json::from_str(&r.text().await.expect("text")).expect("json")
}

fn read_config(net: &Testnet) -> BundleConfig {
    let text = std::fs::read_to_string(net.config_path()).expect("DATA/config.json");
    BundleConfig::parse(&text).expect("valid config")
}

#[tokio::test]
async fn the_direct_testnet_writes_its_seed_and_every_node_the_seed_lists() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = TestnetConfig::new(dir.path());
    cfg.nodes = 6;
    cfg.swarm_size = 3;
    let net = Testnet::start(cfg).await.expect("testnet");
    let file = read_config(&net);
    assert_eq!(net.config_path(), dir.path().join("config.json"));
    assert_eq!(&file, net.bundle_config());
    assert_eq!(file.network, "local");
    assert_eq!(file.seed_url.as_deref(), Some(net.seed_url()));
    assert!(file.bridges.is_empty());
    let seed = BootstrapNode::from_seed_reply(&seed_answer(&net).await);
    assert_eq!(seed.len(), 6);
    assert_eq!(file.bootstrap, seed);
    // The exact keys of the contract, no more.
    let raw: Value =
        serde_json::from_str(&std::fs::read_to_string(net.config_path()).expect("read"))
            .expect("json");
    let mut keys: Vec<&str> = raw
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let mut expected = vec![
        "bootstrap",
        "bridges",
        "community",
        "fileserver",
        "network",
        "seed_url",
    ];
    // `turn` only where coturn is installed (scripts/setup.sh installs it).
    if let Some(t) = net.turn() {
        expected.push("turn");
        assert_eq!(
            raw["turn"],
            json!({"urls": [t.url()], "username": t.username(), "credential": t.credential()})
        );
    }
    assert_eq!(keys, expected);
    let fs = net.fileserver().expect("file server");
    assert_eq!(
        raw["fileserver"],
        json!({"url": fs.url(), "x25519": hex::encode(fs.x25519_public())})
    );
    let c = net.community().expect("community server");
    assert_eq!(
        raw["community"],
        json!({"url": c.url(), "room": "lobby", "x25519": hex::encode(c.x25519_public())})
    );
    let n = &raw["bootstrap"][0];
    assert_eq!(n.as_object().map(|o| o.len()), Some(5));
    assert_eq!(n["public_ip"], json!("127.0.0.1"));
    assert!(n["swarm_id"].is_u64());
    net.shutdown().await;
}

#[tokio::test]
async fn the_faithful_testnet_names_its_bridge_and_no_seed() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = TestnetConfig::new(dir.path());
    cfg.nodes = 4;
    cfg.faithful = true;
    let net = Testnet::start(cfg).await.expect("testnet");
    let file = read_config(&net);
    assert_eq!(file.network, "local");
    assert_eq!(file.seed_url, None);
    assert_eq!(
        file.bridges,
        vec![net.bridge_url().expect("bridge").to_string()]
    );
    assert_eq!(
        file.bootstrap,
        BootstrapNode::from_seed_reply(&seed_answer(&net).await)
    );
    assert_eq!(file.bootstrap.len(), 4);
    net.shutdown().await;
}

/// Read stdout lines until one starts with `prefix`; returns its rest.
fn line_with(out: &mut impl std::io::BufRead, prefix: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        assert_ne!(
            out.read_line(&mut line).expect("read"),
            0,
            "no `{prefix}` line"
        );
        if let Some(rest) = line.trim().strip_prefix(prefix) {
            return rest.to_string();
        }
    }
}

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn app_dir(dir: &std::path::Path) -> std::path::PathBuf {
    let app = dir.join("dist");
    std::fs::create_dir_all(&app).expect("mkdir");
    std::fs::write(app.join("index.html"), "<script>boot()</script>").expect("index");
    std::fs::write(app.join("config.json"), r#"{"seed_url":"http://bundle"}"#).expect("cfg");
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testnet_with_an_app_answers_config_json_with_its_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let child = Command::new(env!("CARGO_BIN_EXE_umbra-node"))
        .args([
            "testnet",
            "--faithful",
            "--nodes",
            "4",
            "--app-bind",
            "127.0.0.1:0",
        ])
        .arg("--data")
        .arg(&data)
        .arg("--app-dir")
        .arg(app_dir(dir.path()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut child = Kill(child);
    let mut out = BufReader::new(child.0.stdout.take().expect("stdout"));
    let app = tokio::task::spawn_blocking(move || line_with(&mut out, "app "))
        .await
        .expect("join");
    let served = reqwest::get(format!("{}config.json", app))
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    let file = std::fs::read_to_string(data.join("config.json")).expect("file");
    assert_eq!(served.trim(), file.trim());
    let cfg = BundleConfig::parse(&served).expect("valid");
    assert_eq!(cfg.bridges.len(), 1);
    assert_eq!(cfg.bootstrap.len(), 4);
    // The page may connect to itself, the bridge and HTTPS origins (the user's own bridges);
    // no loopback wildcard (the nodes' self-signed HTTPS is refused by the browser anyway).
    let page = reqwest::get(&app).await.expect("index");
    let csp = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .expect("csp")
        .to_string();
    assert!(
        csp.contains(&format!("connect-src 'self' {} https:;", cfg.bridges[0])),
        "{csp}"
    );
    assert!(!csp.contains(":*"), "{csp}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_config_json_from_the_config_file_or_the_seed() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = app_dir(dir.path());
    let file = dir.path().join("mainnet.json");
    let mainnet = BundleConfig {
        network: "mainnet".into(),
        seed_url: None,
        bridges: vec!["https://bridge.example".into()],
        bootstrap: Vec::new(),
        fileserver: None,
        turn: None,
        community: None,
    };
    mainnet.write(&file).expect("write");
    let serve = |extra: &[&str]| {
        let child = Command::new(env!("CARGO_BIN_EXE_umbra-node"))
            .args(["serve", "--bind", "127.0.0.1:0", "--dir"])
            .arg(&app)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let mut child = Kill(child);
        let mut out = BufReader::new(child.0.stdout.take().expect("stdout"));
        let url = line_with(&mut out, "app ");
        (child, url)
    };
    let get = |url: String| async move {
        reqwest::get(format!("{url}config.json"))
            .await
            .expect("get")
            .text()
            .await
            .expect("text")
    };
    let path = file.to_str().expect("utf-8 path").to_string();
    let (_a, url) = serve(&["--config", &path]);
    assert_eq!(
        BundleConfig::parse(&get(url).await).expect("valid"),
        mainnet
    );
    let (_b, url) = serve(&["--seed", "http://127.0.0.1:4000"]);
    let v: Value = serde_json::from_str(&get(url).await).expect("json");
    assert_eq!(
        v,
        json!({"network":"local","seed_url":"http://127.0.0.1:4000","bridges":[],"bootstrap":[]})
    );
    // Without either, the bundle's own file.
    let (_c, url) = serve(&[]);
    assert_eq!(get(url).await, r#"{"seed_url":"http://bundle"}"#);
    // A config file that is not there fails at start-up.
    let status = Command::new(env!("CARGO_BIN_EXE_umbra-node"))
        .args(["serve", "--bind", "127.0.0.1:0", "--config"])
        .arg(dir.path().join("missing.json"))
        .arg("--dir")
        .arg(&app)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run");
    assert!(!status.success());
}
