//! The file server (`umbra_node::fileserver`) through real onion requests: a testnet of real
//! sockets, requests built with `umbra_protocol::onion::build_request` to a
//! `Destination::Server`, three hops, the last one proxying to the file server.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use getrandom::SysRng;
use rand_core::UnwrapErr;
use serde_json::{Value, json};
use umbra_node::directory::NodeInfo;
use umbra_node::fileserver::{MAX_FILE_BYTES, MAX_TTL_SECS, file_id};
use umbra_node::testnet::{Testnet, TestnetConfig};
use umbra_protocol::onion::node::{Peeled, peel_layer};
use umbra_protocol::onion::{
    Destination, EncType, HttpProtocol, PathHop, ServerDestination, V4Request, V4Response,
    build_request, decrypt_v4_response,
};

fn hops(nodes: &[NodeInfo]) -> Vec<PathHop> {
    nodes
        .iter()
        .map(|n| PathHop {
            ed25519: n.ed25519,
            x25519: n.x25519,
        })
        .collect()
}

fn v4(method: &str, endpoint: &str, headers: &[(&str, &str)], body: Option<Vec<u8>>) -> V4Request {
    V4Request {
        method: method.into(),
        endpoint: endpoint.into(),
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect::<BTreeMap<_, _>>(),
        body,
    }
}

async fn start(dir: &tempfile::TempDir, proxy_hosts: Option<Vec<String>>) -> Testnet {
    let mut cfg = TestnetConfig::new(dir.path());
    cfg.nodes = 4;
    if let Some(h) = proxy_hosts {
        cfg.proxy_allowed_hosts = h;
    }
    Testnet::start(cfg).await.expect("testnet")
}

fn dest_to(host: &str, port: u16, x25519: [u8; 32], request: V4Request) -> Destination {
    Destination::Server(ServerDestination {
        host: host.into(),
        target: "/oxen/v4/lsrpc".into(),
        port,
        protocol: HttpProtocol::Http,
        x25519,
        request,
    })
}

/// Sends `request` to the testnet's file server through nodes 0 → 1 → 2.
async fn fs_call(net: &Testnet, request: V4Request, enc: EncType) -> V4Response {
    let fs = net.fileserver().expect("file server");
    let dest = dest_to("127.0.0.1", fs.port(), fs.x25519_public(), request);
    let nodes = net.nodes().to_vec();
    let req = build_request(&hops(&nodes[..3]), &dest, enc, &mut UnwrapErr(SysRng)).expect("build");
    let r = net
        .http_client()
        .post(format!("{}/onion_req/v2", nodes[0].url()))
        .body(req.body)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 200);
    let body = r.bytes().await.expect("body");
    decrypt_v4_response(&req.response_key, &body).expect("v4 reply")
}

fn json_of(r: &V4Response) -> Value {
    assert_eq!(
        r.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    serde_json::from_slice(&r.body).expect("json")
}

fn body_of(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn now_s(net: &Testnet) -> f64 {
    net.clock().now_ms() as f64 / 1000.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_and_download_round_trip_through_three_hops() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = start(&dir, None).await;
    let fs = net.fileserver().expect("file server");
    // The bundle names it.
    let entry = net.bundle_config().fileserver.clone().expect("entry");
    assert_eq!(entry.url, fs.url());
    assert_eq!(entry.x25519, hex::encode(fs.x25519_public()));

    for enc in [EncType::XChaCha20, EncType::AesGcm] {
        let data = body_of(if enc == EncType::AesGcm {
            100_001
        } else {
            100_000
        });
        let before = now_s(&net);
        let up = fs_call(&net, v4("POST", "/file", &[], Some(data.clone())), enc).await;
        assert_eq!(up.code, 200);
        let v = json_of(&up);
        let id = v["id"].as_str().expect("id").to_string();
        assert_eq!(id, file_id(&data));
        assert_eq!(id.len(), 44);
        let expires = v["expires"].as_f64().expect("float expires");
        let ttl = MAX_TTL_SECS as f64;
        assert!(expires >= before + ttl - 1.0 && expires <= now_s(&net) + ttl + 1.0);
        // On disk under DATA/fileserver/files/<id>.
        assert!(dir.path().join("fileserver/files").join(&id).is_file());

        let down = fs_call(&net, v4("GET", &format!("/file/{id}"), &[], None), enc).await;
        assert_eq!(down.code, 200);
        assert_eq!(
            down.headers.get("content-type").map(String::as_str),
            Some("application/octet-stream")
        );
        assert_eq!(down.body, data);
    }
    // Unknown ids, routes and methods.
    let missing = fs_call(
        &net,
        v4("GET", &format!("/file/{}", file_id(b"never")), &[], None),
        EncType::XChaCha20,
    )
    .await;
    assert_eq!(missing.code, 404);
    assert_eq!(json_of(&missing)["error"], json!("not_found"));
    let r = fs_call(&net, v4("GET", "/nope", &[], None), EncType::XChaCha20).await;
    assert_eq!(r.code, 404);
    let r = fs_call(&net, v4("GET", "/file", &[], None), EncType::XChaCha20).await;
    assert_eq!(r.code, 405);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_extend_and_the_ttl_header() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = start(&dir, None).await;
    let e = EncType::XChaCha20;
    let data = b"a small attachment".to_vec();
    let t0 = now_s(&net);
    let up = fs_call(
        &net,
        v4("POST", "/file", &[("X-FS-TTL", "3600")], Some(data.clone())),
        e,
    )
    .await;
    assert_eq!(up.code, 200);
    let v = json_of(&up);
    let id = v["id"].as_str().expect("id").to_string();
    let exp = v["expires"].as_f64().expect("expires");
    assert!((exp - (t0 + 3600.0)).abs() < 5.0, "{exp} vs {t0}");

    let info = json_of(&fs_call(&net, v4("GET", &format!("/file/{id}/info"), &[], None), e).await);
    assert_eq!(info["size"], json!(data.len()));
    let uploaded = info["uploaded"].as_f64().expect("uploaded");
    assert!((uploaded - t0).abs() < 5.0);
    assert_eq!(info["expires"].as_f64(), Some(exp));

    // Extend to two hours; a shorter TTL never shortens it.
    let ext = fs_call(
        &net,
        v4(
            "POST",
            &format!("/file/{id}/extend"),
            &[("X-FS-TTL", "7200")],
            None,
        ),
        e,
    )
    .await;
    assert_eq!(ext.code, 200);
    let exp2 = json_of(&ext)["expires"].as_f64().expect("expires");
    assert!((exp2 - (t0 + 7200.0)).abs() < 5.0, "{exp2}");
    let short = fs_call(
        &net,
        v4(
            "POST",
            &format!("/file/{id}/extend"),
            &[("x-fs-ttl", "60")],
            None,
        ),
        e,
    )
    .await;
    assert_eq!(json_of(&short)["expires"].as_f64(), Some(exp2));
    // Without the header: the maximum.
    let ext = fs_call(
        &net,
        v4("POST", &format!("/file/{id}/extend"), &[], None),
        e,
    )
    .await;
    let exp3 = json_of(&ext)["expires"].as_f64().expect("expires");
    assert!((exp3 - (t0 + MAX_TTL_SECS as f64)).abs() < 5.0, "{exp3}");
    // A TTL past the maximum is clamped to it.
    let up = fs_call(
        &net,
        v4(
            "POST",
            "/file",
            &[("X-FS-TTL", "999999999")],
            Some(b"other".to_vec()),
        ),
        e,
    )
    .await;
    let exp4 = json_of(&up)["expires"].as_f64().expect("expires");
    assert!((exp4 - (t0 + MAX_TTL_SECS as f64)).abs() < 5.0, "{exp4}");
    // A bad one is refused, typed.
    for bad in ["0", "-5", "soon", "1.5"] {
        let r = fs_call(
            &net,
            v4("POST", "/file", &[("X-FS-TTL", bad)], Some(b"x".to_vec())),
            e,
        )
        .await;
        assert_eq!(r.code, 400, "{bad}");
        assert_eq!(json_of(&r)["error"], json!("invalid_ttl"));
    }
    // Extending an unknown file is 404.
    let r = fs_call(
        &net,
        v4(
            "POST",
            &format!("/file/{}/extend", file_id(b"no")),
            &[],
            None,
        ),
        e,
    )
    .await;
    assert_eq!(r.code, 404);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_file_goes_through_and_one_byte_more_is_413() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = start(&dir, None).await;
    let e = EncType::XChaCha20;
    let over = fs_call(
        &net,
        v4("POST", "/file", &[], Some(body_of(MAX_FILE_BYTES + 1))),
        e,
    )
    .await;
    assert_eq!(over.code, 413);
    let v = json_of(&over);
    assert_eq!(v["error"], json!("file_too_large"));
    assert_eq!(v["status_code"], json!(413));
    assert_eq!(v["max_size"], json!(MAX_FILE_BYTES));
    assert_eq!(net.fileserver().expect("fs").state().file_count(), 0);

    let max = body_of(MAX_FILE_BYTES);
    let up = fs_call(&net, v4("POST", "/file", &[], Some(max.clone())), e).await;
    assert_eq!(up.code, 200);
    let id = json_of(&up)["id"].as_str().expect("id").to_string();
    let down = fs_call(&net, v4("GET", &format!("/file/{id}"), &[], None), e).await;
    assert_eq!(down.body.len(), MAX_FILE_BYTES);
    assert!(down.body == max);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_expiry_sweep_deletes_the_file_and_its_row() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = start(&dir, None).await;
    let e = EncType::AesGcm;
    let up = fs_call(
        &net,
        v4(
            "POST",
            "/file",
            &[("X-FS-TTL", "60")],
            Some(b"brief".to_vec()),
        ),
        e,
    )
    .await;
    let id = json_of(&up)["id"].as_str().expect("id").to_string();
    let keep = fs_call(&net, v4("POST", "/file", &[], Some(b"stays".to_vec())), e).await;
    let keep_id = json_of(&keep)["id"].as_str().expect("id").to_string();
    let fs = net.fileserver().expect("fs");
    let path = fs.state().file_path(&id);
    assert!(path.is_file());
    assert_eq!(fs.state().file_count(), 2);

    net.clock().advance_ms(61_000);
    // Hidden at once, before any sweep.
    let r = fs_call(&net, v4("GET", &format!("/file/{id}"), &[], None), e).await;
    assert_eq!(r.code, 404);
    let r = fs_call(&net, v4("GET", &format!("/file/{id}/info"), &[], None), e).await;
    assert_eq!(r.code, 404);
    // The sweep removes the row and the file, and nothing else.
    assert_eq!(fs.state().sweep_now(), 1);
    assert!(!path.exists());
    assert!(fs.state().meta(&id).is_none());
    assert_eq!(fs.state().file_count(), 1);
    assert!(fs.state().file_path(&keep_id).is_file());
    let r = fs_call(&net, v4("GET", &format!("/file/{keep_id}"), &[], None), e).await;
    assert_eq!(r.body, b"stays");
    net.shutdown().await;
}

/// The body the last hop would proxy to the file server (peeled here with node 0's key).
fn proxied_body(net: &Testnet, request: V4Request) -> Vec<u8> {
    let fs = net.fileserver().expect("fs");
    let node = net.node_state(0).expect("node 0");
    let dest = dest_to("127.0.0.1", fs.port(), fs.x25519_public(), request);
    let req = build_request(
        &hops(std::slice::from_ref(&node.info)),
        &dest,
        EncType::XChaCha20,
        &mut UnwrapErr(SysRng),
    )
    .expect("build");
    match peel_layer(&req.body, node.keys.x25519_secret(), &node.info.x25519).expect("peel") {
        Peeled::ProxyToServer { body, .. } => body,
        other => panic!("not a proxy request: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_v4_body_is_a_plain_400_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = start(&dir, None).await;
    let fs = net.fileserver().expect("fs");
    let url = format!("{}/oxen/v4/lsrpc", fs.url());
    let http = reqwest::Client::new();
    let body = proxied_body(&net, v4("POST", "/file", &[], Some(b"payload".to_vec())));
    // Flip one byte of the ciphertext (after the 4-byte length), then one of the tag.
    for at in [4 + 30, 4 + 40] {
        let mut bad = body.clone();
        bad[at] ^= 1;
        let r = http.post(&url).body(bad).send().await.expect("post");
        assert_eq!(r.status().as_u16(), 400);
        assert_eq!(r.text().await.expect("text"), "Invalid ciphertext");
    }
    // Garbage and an empty body too.
    for junk in [Vec::new(), b"l3:abce".to_vec(), vec![0xff; 100]] {
        let r = http.post(&url).body(junk).send().await.expect("post");
        assert_eq!(r.status().as_u16(), 400);
    }
    assert_eq!(fs.state().file_count(), 0);
    // Other routes and methods of the listener.
    let r = http.get(&url).send().await.expect("get");
    assert_eq!(r.status().as_u16(), 405);
    let r = http
        .post(format!("{}/file", fs.url()))
        .body("x")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 404);
    // The untouched body is accepted.
    let r = http.post(&url).body(body).send().await.expect("post");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(fs.state().file_count(), 1);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_proxy_reaches_only_the_file_server() {
    // Another loopback service that counts what reaches it.
    let hits = Arc::new(AtomicUsize::new(0));
    let h2 = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let h = h2.clone();
        async move {
            h.fetch_add(1, Ordering::SeqCst);
            "other service"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let other = listener.local_addr().expect("addr").port();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    // A testnet whose only proxy target is its file server.
    let dir = tempfile::tempdir().expect("tmp");
    let net = start(&dir, Some(Vec::new())).await;
    let fs = net.fileserver().expect("fs");
    let nodes = net.nodes().to_vec();
    let mut rng = UnwrapErr(SysRng);
    for (host, port) in [
        ("127.0.0.1", other),
        ("localhost", other),
        ("localhost", fs.port()),
        ("127.0.0.1", fs.port().wrapping_add(1)),
    ] {
        let dest = dest_to(
            host,
            port,
            fs.x25519_public(),
            v4("GET", "/file/x", &[], None),
        );
        let req =
            build_request(&hops(&nodes[..3]), &dest, EncType::XChaCha20, &mut rng).expect("build");
        let r = net
            .http_client()
            .post(format!("{}/onion_req/v2", nodes[0].url()))
            .body(req.body)
            .send()
            .await
            .expect("post");
        assert_eq!(r.status().as_u16(), 200, "{host}:{port}");
        // oxenss' "Invalid url", encrypted for the sender (`onion_errors.rs`).
        let body = r.bytes().await.expect("body");
        assert!(
            decrypt_v4_response(&req.response_key, &body).is_err(),
            "{host}:{port} answered as a server"
        );
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the proxy reached another host"
    );
    // The file server itself is reachable.
    let r = fs_call(
        &net,
        v4("POST", "/file", &[], Some(b"ok".to_vec())),
        EncType::XChaCha20,
    )
    .await;
    assert_eq!(r.code, 200);
    net.shutdown().await;
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fileserver_command_prints_its_url_and_key_and_keeps_its_key() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().expect("tmp");
    let mut lines = Vec::new();
    for _ in 0..2 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_umbra-node"))
            .args(["fileserver", "--data"])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let out = child.stdout.take().expect("stdout");
        let line = tokio::task::spawn_blocking(move || {
            let mut l = String::new();
            BufReader::new(out).read_line(&mut l).map(|_| l)
        })
        .await
        .expect("join")
        .expect("read");
        let _ = child.kill();
        let _ = child.wait();
        let parts: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        assert_eq!(parts.len(), 3, "{line}");
        assert_eq!(parts[0], "fileserver");
        assert!(parts[1].starts_with("http://127.0.0.1:"), "{line}");
        assert_eq!(parts[2].len(), 64);
        lines.push(parts[2].clone());
    }
    assert_eq!(lines[0], lines[1], "the key is kept in DATA");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("fileserver.key"))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_faithful_testnet_reaches_its_file_server_too() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = TestnetConfig::new(dir.path());
    cfg.nodes = 4;
    cfg.faithful = true;
    let net = Testnet::start(cfg).await.expect("testnet");
    assert!(net.bundle_config().fileserver.is_some());
    let up = fs_call(
        &net,
        v4("POST", "/file", &[], Some(b"via https nodes".to_vec())),
        EncType::XChaCha20,
    )
    .await;
    assert_eq!(up.code, 200);
    let id = json_of(&up)["id"].as_str().expect("id").to_string();
    let down = fs_call(
        &net,
        v4("GET", &format!("/file/{id}"), &[], None),
        EncType::AesGcm,
    )
    .await;
    assert_eq!(down.body, b"via https nodes");
    net.shutdown().await;
}

/// A stand-alone server: its sweep task runs on its own, and its per-IP rate limit answers 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_task_runs_by_itself_and_the_rate_limit_answers_429() {
    use umbra_node::clock::Clock;
    use umbra_node::fileserver::{FileServerConfig, start as start_fs};
    use umbra_node::server::RateLimit;
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = FileServerConfig::new(dir.path());
    let clock = Clock::system();
    cfg.clock = clock.clone();
    cfg.sweep_interval = std::time::Duration::from_millis(50);
    cfg.rate_limit = Some(RateLimit {
        burst: 3.0,
        per_second: 0.001,
    });
    let fs = start_fs(&cfg).expect("start");
    let st = fs.state().clone();
    let up = st.handle(&v4(
        "POST",
        "/file",
        &[("X-FS-TTL", "10")],
        Some(b"gone".to_vec()),
    ));
    let id = json_of(&up)["id"].as_str().expect("id").to_string();
    assert!(st.file_path(&id).is_file());
    clock.advance_ms(11_000);
    let mut swept = false;
    for _ in 0..100 {
        if st.file_count() == 0 && !st.file_path(&id).exists() {
            swept = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(swept, "the sweep task did not delete the expired file");

    let http = reqwest::Client::new();
    let url = format!("{}/oxen/v4/lsrpc", fs.url());
    let mut codes = Vec::new();
    for _ in 0..5 {
        let r = http.post(&url).body("junk").send().await.expect("post");
        codes.push(r.status().as_u16());
    }
    assert_eq!(codes, [400, 400, 400, 429, 429]);
    fs.stop().await;
}

/// An attachment as Session's clients send one, end to end with the protocol crate's client
/// side (`umbra_protocol::attachment`): encrypted in the legacy format, uploaded with the
/// request `FileServer::upload` describes, the answer read by `parse_upload`, the pointer's
/// URL resolved back to this server, downloaded and decrypted to the same bytes; the
/// deterministic format the same way; and a blob changed on the way is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attachment_travels_as_session_clients_send_it() {
    use umbra_protocol::attachment::{self, fileserver};

    let dir = tempfile::tempdir().expect("tmp");
    let net = start(&dir, None).await;
    let fs = net.fileserver().expect("file server");
    let server = fileserver::FileServer::at(fs.url(), fs.x25519_public()).expect("server");
    let data = body_of(300_000);
    let call = |r: fileserver::Request| fs_request(&net, r);
    let mut rng = UnwrapErr(SysRng);
    let legacy = attachment::encrypt_legacy(&data, &mut rng).expect("encrypt");
    let seed = [7u8; 32];
    let det = attachment::encrypt_deterministic(&data, &seed, attachment::Domain::Attachment)
        .expect("encrypt");
    for (enc, deterministic) in [(legacy, false), (det, true)] {
        let up = fileserver::parse_upload(&call(server.upload(enc.blob.clone(), Some(3600))).await)
            .expect("uploaded");
        assert!(up.expires_s.is_some());
        let url = server.file_url(&up.id, deterministic);
        let file = fileserver::resolve_url(&url, std::slice::from_ref(&server)).expect("known");
        assert_eq!(file.deterministic, deterministic);
        let blob = fileserver::parse_download(call(file.server.download(&file.id)).await)
            .expect("downloaded");
        assert_eq!(blob, enc.blob);
        let plain = attachment::decrypt(&url, &blob, &enc.key, Some(&enc.digest), Some(enc.size))
            .expect("decrypts");
        assert!(plain[..] == data[..]);
        let mut tampered = blob.clone();
        tampered[100] ^= 1;
        assert_eq!(
            attachment::decrypt(&url, &tampered, &enc.key, Some(&enc.digest), Some(enc.size)).err(),
            Some(attachment::AttachmentError::DigestMismatch)
        );
    }
    let missing = call(server.download(&"A".repeat(44))).await;
    assert_eq!(
        fileserver::parse_download(missing),
        Err(fileserver::FileServerError::Status(404))
    );
}

/// Sends a request the protocol crate describes and returns the answer as the client sees it.
async fn fs_request(
    net: &Testnet,
    r: umbra_protocol::attachment::fileserver::Request,
) -> umbra_protocol::client::ServerReply {
    let headers: Vec<(String, String)> = r.headers.into_iter().collect();
    let hdrs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let reply = fs_call(
        net,
        v4(&r.method, &r.path, &hdrs, r.body),
        EncType::XChaCha20,
    )
    .await;
    umbra_protocol::client::ServerReply {
        status: reply.code,
        headers: reply.headers,
        body: reply.body,
    }
}
