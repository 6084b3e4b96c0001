//! The `umbra-node testnet` command: a `seed URL` line, then a `fileserver URL KEY` line on
//! stdout (then, with coturn installed, a `turn` line, then a `community URL` line), a working
//! seed, and a clean exit on SIGTERM.

// The test times the shutdown with the wall clock.
#![allow(clippy::disallowed_methods)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testnet_command_prints_seed_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut child = Command::new(env!("CARGO_BIN_EXE_umbra-node"))
        .args(["testnet", "--nodes", "4", "--data"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let line = tokio::task::spawn_blocking(move || {
        let mut r = BufReader::new(stdout);
        let mut line = String::new();
        let mut fs = String::new();
        r.read_line(&mut line)
            .and_then(|_| r.read_line(&mut fs))
            .map(|_| (line, fs, r))
    })
    .await
    .expect("join")
    .expect("read");
    let (line, fs, mut rest) = line;
    let url = line
        .trim()
        .strip_prefix("seed ")
        .expect("`seed URL` line")
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    // Then the file server: `fileserver URL X25519`.
    let fs: Vec<&str> = fs
        .trim()
        .strip_prefix("fileserver ")
        .expect("`fileserver URL KEY` line")
        .split(' ')
        .collect();
    assert!(fs[0].starts_with("http://127.0.0.1:"), "{fs:?}");
    assert_eq!(fs[1].len(), 64, "{fs:?}");

    let http = umbra_node::tls::http_client(None).expect("client");
    let r = http
        .post(format!("{url}/json_rpc"))
        .header("content-type", "application/json")
        .body(r#"{"jsonrpc":"2.0","method":"get_n_service_nodes","params":{}}"#)
        .send()
        .await
        .expect("seed answers");
    let v: serde_json::Value = serde_json::from_str(&r.text().await.expect("text")).expect("json");
    assert_eq!(
        v["result"]["service_node_states"]
            .as_array()
            .expect("states")
            .len(),
        4
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let start = Instant::now();
    let exit = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success());
    // Nothing else was printed on stdout but the TURN server's line (where coturn is
    // installed; its shape is checked in tests/turn.rs) and then the community's,
    // `community http://127.0.0.1:P/lobby?public_key=<64 hex>`.
    let mut more = String::new();
    rest.read_line(&mut more).expect("read");
    if more.starts_with("turn ") {
        more.clear();
        rest.read_line(&mut more).expect("read");
    }
    let community = more
        .trim()
        .strip_prefix("community http://127.0.0.1:")
        .expect("`community URL` line")
        .to_string();
    let (_, key) = community
        .split_once("/lobby?public_key=")
        .expect("room and key");
    assert_eq!(key.len(), 64, "{community}");
    more.clear();
    rest.read_line(&mut more).expect("read");
    assert_eq!(more, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testnet_control_prints_a_random_token_and_requires_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut child = Command::new(env!("CARGO_BIN_EXE_umbra-node"))
        .args(["testnet", "--nodes", "2", "--control", "--data"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let (token, seed) = tokio::task::spawn_blocking(move || {
        let mut r = BufReader::new(stdout);
        let mut first = String::new();
        let mut second = String::new();
        r.read_line(&mut first).expect("read");
        r.read_line(&mut second).expect("read");
        (first, second)
    })
    .await
    .expect("join");
    let token = token
        .trim()
        .strip_prefix("control token ")
        .expect("`control token` line first")
        .to_owned();
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    let seed = seed
        .trim()
        .strip_prefix("seed ")
        .expect("seed line")
        .to_owned();
    let http = reqwest::Client::new();
    let ed = {
        let r = http
            .post(format!("{seed}/json_rpc"))
            .body(r#"{"jsonrpc":"2.0","method":"get_n_service_nodes","params":{}}"#)
            .send()
            .await
            .expect("seed");
        let v: serde_json::Value = serde_json::from_str(&r.text().await.expect("t")).expect("j");
        v["result"]["service_node_states"][0]["pubkey_ed25519"]
            .as_str()
            .expect("key")
            .to_owned()
    };
    let stop = |auth: Option<String>| {
        let mut r = http
            .post(format!("{seed}/testnet/v1/stop_node"))
            .body(format!(r#"{{"ed25519":"{ed}"}}"#));
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        async move { r.send().await.expect("post").status().as_u16() }
    };
    assert_eq!(stop(None).await, 401);
    assert_eq!(stop(Some(format!("Bearer {}", "0".repeat(64)))).await, 401);
    assert_eq!(stop(Some(format!("Bearer {token}"))).await, 200);
    let _ = child.kill();
    let _ = child.wait();

    // Another start, another token.
    let mut again = Command::new(env!("CARGO_BIN_EXE_umbra-node"))
        .args(["testnet", "--nodes", "2", "--control", "--data"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let out = again.stdout.take().expect("stdout");
    let line = tokio::task::spawn_blocking(move || {
        let mut l = String::new();
        BufReader::new(out).read_line(&mut l).map(|_| l)
    })
    .await
    .expect("join")
    .expect("read");
    let _ = again.kill();
    let _ = again.wait();
    assert_ne!(line.trim(), format!("control token {token}"));
}
