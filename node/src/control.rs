//! Loopback test control of a running testnet: with `umbra-node testnet --control` the seed
//! also answers `POST /testnet/v1/stop_node` and `POST /testnet/v1/start_node` with
//! `{"ed25519": "<hex>"}`, so end-to-end tests can take a node down and bring it back. The
//! HTTP side only queues requests; the task that owns the [`Testnet`] applies them.
//!
//! Every control request must carry `Authorization: Bearer <token>` with the random token
//! the testnet prints at start-up (`control token <hex>`); anything else is 401, so another
//! local user or a web page cannot stop nodes.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use crate::NodeError;
use crate::testnet::Testnet;

/// What a control request asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlOp {
    /// Stop the node (its data stays).
    Stop,
    /// Start it again on its old port with its old keys and data.
    Start,
}

/// One queued control request.
#[derive(Debug)]
pub struct ControlRequest {
    /// Stop or start.
    pub op: ControlOp,
    /// The node's Ed25519 public key, hex.
    pub ed25519: String,
    reply: oneshot::Sender<Result<(), NodeError>>,
}

/// A fresh random control token: 32 bytes from the OS, hex.
pub fn new_token() -> Result<String, NodeError> {
    let mut t = [0u8; 32];
    getrandom::fill(&mut t).map_err(|e| NodeError::Io(e.to_string()))?;
    Ok(hex::encode(t))
}

#[derive(Debug, Clone)]
struct Control {
    tx: mpsc::Sender<ControlRequest>,
    token: String,
}

/// The control routes (to merge into the seed's router), requiring `token`, and the queue
/// they feed.
pub fn router(token: &str) -> (Router, mpsc::Receiver<ControlRequest>) {
    let (tx, rx) = mpsc::channel(16);
    let r = Router::new()
        .route("/testnet/v1/stop_node", post(stop))
        .route("/testnet/v1/start_node", post(start))
        .with_state(Control {
            tx,
            token: token.to_string(),
        });
    (r, rx)
}

/// Whether the request carries `Authorization: Bearer <token>` (compared in constant time).
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    !token.is_empty()
        && given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

async fn stop(State(c): State<Control>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorized(&headers, &c.token) {
        return (StatusCode::UNAUTHORIZED, "control token required").into_response();
    }
    queue(c.tx, ControlOp::Stop, body).await
}

async fn start(State(c): State<Control>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorized(&headers, &c.token) {
        return (StatusCode::UNAUTHORIZED, "control token required").into_response();
    }
    queue(c.tx, ControlOp::Start, body).await
}

async fn queue(tx: mpsc::Sender<ControlRequest>, op: ControlOp, body: Bytes) -> Response {
    let Some(ed25519) = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
        v.get("ed25519")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
    }) else {
        return (StatusCode::BAD_REQUEST, "expected {\"ed25519\": hex}").into_response();
    };
    let (reply, done) = oneshot::channel();
    if tx
        .send(ControlRequest { op, ed25519, reply })
        .await
        .is_err()
    {
        return (StatusCode::SERVICE_UNAVAILABLE, "testnet is stopping").into_response();
    }
    match done.await {
        Ok(Ok(())) => axum::Json(json!({"ok": true})).into_response(),
        Ok(Err(NodeError::UnknownNode)) => (StatusCode::NOT_FOUND, "unknown node").into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "testnet is stopping").into_response(),
    }
}

/// Apply one request to `net` and answer it.
pub async fn apply(net: &mut Testnet, req: ControlRequest) {
    let index = net.nodes().iter().position(|n| n.ed_hex() == req.ed25519);
    let result = match (index, req.op) {
        (None, _) => Err(NodeError::UnknownNode),
        (Some(i), ControlOp::Stop) => net.stop_node(i).await,
        (Some(i), ControlOp::Start) => net.restart_node(i).await.map(|_| ()),
    };
    // The asker may have gone away; nothing to do then.
    let _ = req.reply.send(result);
}

/// Apply requests from `rx` to `net` until `until` completes.
pub async fn serve(
    net: &mut Testnet,
    rx: &mut mpsc::Receiver<ControlRequest>,
    until: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(until);
    loop {
        tokio::select! {
            () = &mut until => return,
            req = rx.recv() => match req {
                Some(req) => apply(net, req).await,
                None => { until.await; return; }
            },
        }
    }
}
