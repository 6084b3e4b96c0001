//! The sans-IO `umbra_protocol::client::Client`, driven over real HTTP against the in-process
//! testnet, sends a server request through an onion path to a small v4 HTTP server on
//! loopback (the last hop proxies it, `proxy_allowed_hosts`) and gets its answer.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use getrandom::SysRng;
use rand_core::UnwrapErr;
use tokio::time::Instant;
use umbra_node::clock::Clock;
use umbra_node::testnet::{Testnet, TestnetConfig};
use umbra_protocol::client::{
    Action, Client, ClientCommand, ClientConfig, ClientEvent, ClientIdentity, HttpResponse,
    OutgoingHttp, ServerReply, ServerRequestError, ServerTag, ServerTarget, TransportFailure,
};
use umbra_protocol::identity::{Identity, Seed};
use umbra_protocol::onion::node::open_server_request;
use umbra_protocol::onion::{HttpProtocol, V4Response};
use x25519_dalek::{PublicKey, StaticSecret};

async fn post(
    http: &reqwest::Client,
    req: &OutgoingHttp,
) -> Result<HttpResponse, TransportFailure> {
    let sent = http
        .post(&req.url)
        .header("content-type", req.content_type)
        .timeout(Duration::from_millis(req.timeout_ms))
        .body(req.body.clone())
        .send()
        .await;
    let resp = match sent {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return Err(TransportFailure::Timeout),
        Err(_) => return Err(TransportFailure::Unreachable),
    };
    let status = resp.status().as_u16();
    match resp.bytes().await {
        Ok(b) => Ok(HttpResponse {
            status,
            body: b.to_vec(),
        }),
        Err(_) => Err(TransportFailure::Unreachable),
    }
}

/// Runs the client until it reports the answer to `tag` (or 60 s pass).
async fn drive(
    clock: &Clock,
    client: &mut Client,
    identity: &Identity,
    http: &reqwest::Client,
    tag: ServerTag,
) -> Option<Result<ServerReply, ServerRequestError>> {
    let now_ms = || clock.now_ms();
    let mut rng = UnwrapErr(SysRng);
    let mut pending: VecDeque<OutgoingHttp> = VecDeque::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        while let Some(action) = client.poll_action() {
            match action {
                Action::Http(req) => pending.push_back(req),
                Action::Notify(ClientEvent::ServerResponse { tag: t, result }) if t == tag => {
                    return Some(result);
                }
                _ => {}
            }
        }
        if let Some(req) = pending.pop_front() {
            let result = post(http, &req).await;
            client.handle_response(req.id, result, identity, now_ms(), &mut rng);
            continue;
        }
        let wait = client
            .next_timeout()
            .map_or(200, |t| t.saturating_sub(now_ms()).min(200));
        tokio::time::sleep(Duration::from_millis(wait)).await;
        client.handle_timeout(identity, now_ms(), &mut rng);
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_server_request_through_the_testnet() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = Testnet::start(TestnetConfig::new(dir.path()))
        .await
        .expect("testnet");

    // A v4 server on loopback: echoes method, path, a header and the body length.
    let mut rng = UnwrapErr(SysRng);
    let secret = Arc::new(StaticSecret::random_from_rng(&mut rng));
    let public = PublicKey::from(secret.as_ref()).to_bytes();
    let s2 = secret.clone();
    let app = axum::Router::new().route(
        "/oxen/v4/lsrpc",
        axum::routing::post(move |body: Bytes| {
            let secret = s2.clone();
            async move {
                let Ok((req, reply)) = open_server_request(&body, &secret, &public) else {
                    return (axum::http::StatusCode::BAD_REQUEST, Vec::new());
                };
                let mut headers = BTreeMap::new();
                headers.insert("content-type".to_string(), "text/plain".to_string());
                let text = format!(
                    "{} {} {} {}",
                    req.method,
                    req.endpoint,
                    req.headers.get("x-test").map_or("-", String::as_str),
                    req.body.map_or(0, |b| b.len())
                );
                let resp = V4Response {
                    code: 201,
                    headers,
                    body: text.into_bytes(),
                };
                (
                    axum::http::StatusCode::OK,
                    reply.encrypt_reply(&resp.encode(), &mut UnwrapErr(SysRng)),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let identity = Identity::from_seed(&Seed::from_entropy(&[0x42; 32]).expect("seed"));
    let config = ClientConfig {
        seed_urls: vec![net.seed_url().to_string()],
        node_scheme: "http".into(),
        ..ClientConfig::default()
    };
    let mut client = Client::new(ClientIdentity::from_identity(&identity), config, None);
    let now_ms = || net.clock().now_ms();
    let target = |host: &str| ServerTarget {
        host: host.into(),
        port,
        scheme: HttpProtocol::Http,
        x25519: public,
    };
    let request = |tag, host: &str| ClientCommand::ServerRequest {
        tag,
        server: target(host),
        method: "POST".into(),
        path: "/room/lobby".into(),
        headers: BTreeMap::from([("x-test".to_string(), "yes".to_string())]),
        body: Some(b"hello".to_vec()),
    };
    client
        .handle_command(
            request(ServerTag(1), "127.0.0.1"),
            &identity,
            now_ms(),
            &mut rng,
        )
        .expect("command");
    let http = net.http_client().clone();
    let reply = drive(net.clock(), &mut client, &identity, &http, ServerTag(1))
        .await
        .expect("an answer in time")
        .expect("a reply");
    assert_eq!(reply.status, 201);
    assert_eq!(reply.body, b"POST /room/lobby yes 5");
    assert_eq!(
        reply.headers.get("content-type").map(String::as_str),
        Some("text/plain")
    );

    // A host the nodes may not proxy to is refused, with a typed error, not retried forever.
    // The last hop answers as oxenss does, an encrypted 400 "Invalid url" for its own layer
    // key, which the client cannot read: to it that is a failed path (fidelity row O4).
    client
        .handle_command(
            request(ServerTag(2), "example.com"),
            &identity,
            now_ms(),
            &mut rng,
        )
        .expect("command");
    let refused = drive(net.clock(), &mut client, &identity, &http, ServerTag(2))
        .await
        .expect("an answer in time");
    assert!(
        matches!(
            refused,
            Err(ServerRequestError::ProxyRefused { status: 400 }
                | ServerRequestError::Unreachable { .. })
        ),
        "{refused:?}"
    );

    server.abort();
    net.shutdown().await;
}
