//! One service node: its state, HTTP routes, swarm forwarding, catch-up and sweeping.
//!
//! Routes: `POST /storage_rpc/v1`, `POST /onion_req/v2`, `POST /ping_test/v1`, and the
//! node-to-node routes `POST /internal/v1/forward` (replicate a swarm-wide request) and
//! `POST /internal/v1/export` (catch-up), both authenticated by the sending node's
//! Ed25519 signature over `route ‖ timestamp ‖ body` in `X-Umbra-*` headers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tower_http::cors::{Any, CorsLayer};
use umbra_protocol::rpc::{MAX_REQUEST_BODY, SIGNATURE_TOLERANCE_MS, auth::verify_ed25519};

use crate::NodeError;
use crate::clock::Clock;
use crate::db::{Db, StoredMessage};
use crate::directory::{Directory, NodeInfo};
use crate::keys::NodeKeys;
use crate::rpc::{self, Failure};

/// Time allowed for a node-to-node forward.
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(5);

/// Settings of one node.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// SQLite database file.
    pub db_path: PathBuf,
    /// `host:port`s (or bare hosts, any port) an onion request may be proxied to.
    pub proxy_allowed_hosts: Vec<String>,
    /// Time allowed for an onion relay hop or proxy request.
    pub relay_timeout: Duration,
    /// Per-client-IP token bucket (`None`: no limit; the loopback testnet, where every
    /// client and peer shares 127.0.0.1).
    pub rate_limit: Option<RateLimit>,
    /// Listener, storage and reply limits.
    pub limits: crate::limits::NodeLimits,
    /// ONS names answered by `oxend_request` `ons_resolve`.
    pub ons: Arc<crate::ons::Ons>,
}

/// Token-bucket settings: `burst` tokens, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Bucket size.
    pub burst: f64,
    /// Tokens added per second.
    pub per_second: f64,
}

impl RateLimit {
    /// oxenss's client figures: 600 tokens, 300 per second (`oxenss/rpc/rate_limiter.h`).
    pub const OXENSS: Self = Self {
        burst: 600.0,
        per_second: 300.0,
    };
}

/// Most client IPs tracked at once; beyond it, full buckets are forgotten first.
const MAX_TRACKED_IPS: usize = 100_000;

/// Per-IP token buckets.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<std::collections::HashMap<std::net::IpAddr, (f64, u64)>>,
}

impl RateLimiter {
    /// Take one token for the client IP of `req` (its `ConnectInfo`) under `limit`; true
    /// without a limit or when the listener recorded no peer address.
    pub fn allow_request(
        &self,
        limit: Option<RateLimit>,
        req: &axum::extract::Request,
        now_ms: u64,
    ) -> bool {
        let ip = req
            .extensions()
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        match (limit, ip) {
            (Some(limit), Some(ip)) => self.allow(limit, ip, now_ms),
            _ => true,
        }
    }

    /// Take one token for `ip` at `now_ms`; false when its bucket is empty.
    pub fn allow(&self, limit: RateLimit, ip: std::net::IpAddr, now_ms: u64) -> bool {
        #[allow(clippy::cast_precision_loss)] // ms deltas are far below 2^52
        let secs = |at: u64| now_ms.saturating_sub(at) as f64 / 1000.0;
        let Ok(mut map) = self.buckets.lock() else {
            return false;
        };
        if map.len() >= MAX_TRACKED_IPS {
            map.retain(|_, (tokens, at)| *tokens + secs(*at) * limit.per_second < limit.burst);
            if map.len() >= MAX_TRACKED_IPS {
                map.clear();
            }
        }
        let (tokens, at) = map.entry(ip).or_insert((limit.burst, now_ms));
        *tokens = (*tokens + secs(*at) * limit.per_second).min(limit.burst);
        *at = now_ms;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Shared state of a running node.
#[derive(Debug)]
pub struct NodeState {
    /// This node as the network knows it.
    pub info: NodeInfo,
    /// Its keys.
    pub keys: NodeKeys,
    /// The network.
    pub directory: Arc<Directory>,
    /// The clock.
    pub clock: Clock,
    /// HTTP client for other nodes and proxied servers.
    pub http: reqwest::Client,
    /// Settings.
    pub options: NodeOptions,
    /// Client rate limiting.
    pub limiter: RateLimiter,
    db: Mutex<Db>,
}

impl NodeState {
    /// Open the node's database and build its state.
    pub fn new(
        info: NodeInfo,
        keys: NodeKeys,
        directory: Arc<Directory>,
        clock: Clock,
        http: reqwest::Client,
        options: NodeOptions,
    ) -> Result<Self, NodeError> {
        let mut db = Db::open(&options.db_path).map_err(|e| NodeError::Db(e.to_string()))?;
        db.set_size_limit(options.limits.db_max_bytes)
            .map_err(|e| NodeError::Db(e.to_string()))?;
        db.set_owner_quota(options.limits.owner_quota);
        Ok(Self {
            info,
            keys,
            directory,
            clock,
            http,
            options,
            limiter: RateLimiter::default(),
            db: Mutex::new(db),
        })
    }

    /// Lock the database.
    pub fn db(&self) -> Result<MutexGuard<'_, Db>, Failure> {
        self.db.lock().map_err(|_| Failure::Internal)
    }

    /// The other members of this node's swarm.
    pub fn swarm_peers(&self) -> Vec<NodeInfo> {
        self.directory
            .members(self.info.swarm_id)
            .into_iter()
            .filter(|n| n.ed25519 != self.info.ed25519)
            .cloned()
            .collect()
    }

    /// Delete expired messages now.
    pub fn sweep_now(&self) -> usize {
        let now = self.clock.now_ms();
        self.db()
            .ok()
            .and_then(|mut db| db.sweep(now).ok())
            .unwrap_or(0)
    }

    /// Number of stored rows.
    pub fn message_count(&self) -> u64 {
        self.db().ok().and_then(|db| db.count().ok()).unwrap_or(0)
    }
}

/// CORS for browsers: any origin, POST with a content type; answers preflight.
pub fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::POST, Method::GET, Method::OPTIONS])
        .allow_headers([header::CONTENT_TYPE])
}

/// The node's router.
pub fn router(state: Arc<NodeState>) -> Router {
    router_with_cors(state, true)
}

/// The node's router, with or without CORS. Without, as oxenss (`server/https.cpp`): no
/// CORS header and no OPTIONS route (an OPTIONS request gets 405).
pub fn router_with_cors(state: Arc<NodeState>, cors: bool) -> Router {
    let r = Router::new()
        .route("/storage_rpc/v1", post(storage_rpc))
        .route("/onion_req/v2", post(crate::onion::onion_req))
        .route("/ping_test/v1", post(|| async { "pong" }))
        .route("/internal/v1/forward", post(internal_forward))
        .route("/internal/v1/export", post(internal_export))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BODY))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit,
        ));
    let r = if cors {
        r.layer(crate::server::cors())
    } else {
        r
    };
    let limits = state.options.limits.listener;
    crate::limits::apply(r.with_state(state), limits)
}

/// 429 once a client IP's bucket is empty (oxenss `RateLimiter::should_rate_limit_client`).
async fn rate_limit(
    State(state): State<Arc<NodeState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let now = state.clock.now_ms();
    if !state
        .limiter
        .allow_request(state.options.rate_limit, &req, now)
    {
        return (StatusCode::TOO_MANY_REQUESTS, "too many requests").into_response();
    }
    next.run(req).await
}

/// Turn an RPC reply into an HTTP response.
pub fn http_reply(r: rpc::Reply) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let ctype = match r.body {
        rpc::Body::Json(_) => "application/json",
        rpc::Body::Text(_) => "text/plain; charset=utf-8",
    };
    let mut resp = (status, r.body_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    resp
}

async fn storage_rpc(State(state): State<Arc<NodeState>>, body: Bytes) -> Response {
    http_reply(rpc::handle_raw(&state, &body).await)
}

fn sign_headers(state: &NodeState, route: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    let ts = state.clock.now_ms();
    let mut msg = format!("{route}{ts}").into_bytes();
    msg.extend_from_slice(body);
    vec![
        ("x-umbra-node", state.info.ed_hex()),
        ("x-umbra-timestamp", ts.to_string()),
        ("x-umbra-signature", STANDARD.encode(state.keys.sign(&msg))),
    ]
}

/// Check a node-to-node request: a known node of this swarm, fresh, correctly signed.
fn check_peer(state: &NodeState, route: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let get = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    let (Some(node), Some(ts), Some(sig)) = (
        get("x-umbra-node"),
        get("x-umbra-timestamp"),
        get("x-umbra-signature"),
    ) else {
        return false;
    };
    let mut ed = [0u8; 32];
    if hex::decode_to_slice(node, &mut ed).is_err() {
        return false;
    }
    let Some(peer) = state.directory.by_ed25519(&ed) else {
        return false;
    };
    if peer.swarm_id != state.info.swarm_id || peer.ed25519 == state.info.ed25519 {
        return false;
    }
    let Ok(ts_n) = ts.parse::<u64>() else {
        return false;
    };
    if ts_n.abs_diff(state.clock.now_ms()) > SIGNATURE_TOLERANCE_MS {
        return false;
    }
    let Some(sig) = STANDARD
        .decode(sig)
        .ok()
        .and_then(|s| <[u8; 64]>::try_from(s).ok())
    else {
        return false;
    };
    let mut msg = format!("{route}{ts_n}").into_bytes();
    msg.extend_from_slice(body);
    verify_ed25519(&ed, &msg, &sig).is_ok()
}

/// Send a swarm-wide request to `peer`; returns its per-node result or a failure object.
pub async fn forward(state: &NodeState, peer: &NodeInfo, method: &str, params: &Value) -> Value {
    let body = json!({"method": method, "params": params})
        .to_string()
        .into_bytes();
    let mut req = state
        .http
        .post(format!("{}/internal/v1/forward", peer.url()))
        .timeout(FORWARD_TIMEOUT)
        .header(header::CONTENT_TYPE, "application/json");
    for (k, v) in sign_headers(state, "forward", &body) {
        req = req.header(k, v);
    }
    match req.body(body).send().await {
        Ok(resp) => {
            let code = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            if code == 200 {
                serde_json::from_str(&text).unwrap_or_else(|_| json!({"failed": true, "code": 502}))
            } else {
                json!({"failed": true, "code": code, "reason": text})
            }
        }
        Err(e) if e.is_timeout() => json!({"failed": true, "timeout": true}),
        Err(_) => json!({"failed": true, "code": 503, "reason": "unreachable"}),
    }
}

async fn internal_forward(
    State(state): State<Arc<NodeState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !check_peer(&state, "forward", &headers, &body) {
        return (StatusCode::UNAUTHORIZED, "unauthorized").into_response();
    }
    let Ok(req) = serde_json::from_slice::<umbra_protocol::rpc::params::RpcRequest>(&body) else {
        return (StatusCode::BAD_REQUEST, "bad request").into_response();
    };
    if !rpc::is_recursive(&req.method) {
        return (StatusCode::BAD_REQUEST, "bad request").into_response();
    }
    match rpc::run_local(&state, &req.method, &req.params, true) {
        Ok(v) => http_reply(rpc::Reply {
            status: 200,
            body: rpc::Body::Json(v),
        }),
        Err(f) => http_reply(f.reply()),
    }
}

/// Page size of the catch-up export.
const EXPORT_PAGE: usize = 500;

async fn internal_export(
    State(state): State<Arc<NodeState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !check_peer(&state, "export", &headers, &body) {
        return (StatusCode::UNAUTHORIZED, "unauthorized").into_response();
    }
    let after = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["after"].as_i64())
        .unwrap_or(0);
    let now = state.clock.now_ms();
    let page = state
        .db()
        .ok()
        .and_then(|db| db.export(after, EXPORT_PAGE, now).ok());
    match page {
        Some((msgs, last)) => axum::Json(json!({"messages": msgs, "last": last})).into_response(),
        None => (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
    }
}

/// Pull every message this node's swarm peers hold that it lacks; returns how many were new.
pub async fn catch_up(state: &NodeState) -> usize {
    let mut added = 0;
    for peer in state.swarm_peers() {
        let mut after = 0i64;
        loop {
            let body = json!({"after": after}).to_string().into_bytes();
            let mut req = state
                .http
                .post(format!("{}/internal/v1/export", peer.url()))
                .timeout(FORWARD_TIMEOUT);
            for (k, v) in sign_headers(state, "export", &body) {
                req = req.header(k, v);
            }
            let Ok(resp) = req.body(body).send().await else {
                break;
            };
            let Ok(v) = resp.json_value().await else {
                break;
            };
            let msgs: Vec<StoredMessage> =
                serde_json::from_value(v["messages"].clone()).unwrap_or_default();
            if msgs.is_empty() {
                break;
            }
            let Ok(mut db) = state.db() else { break };
            for m in &msgs {
                let mine = umbra_protocol::rpc::AccountId::from_hex(&m.owner)
                    .is_some_and(|a| state.directory.swarm_of(&a) == Some(state.info.swarm_id));
                if mine && db.import(m).unwrap_or(false) {
                    added += 1;
                }
            }
            drop(db);
            // The cursor must advance, or a buggy or hostile peer loops us forever.
            match v["last"].as_i64() {
                Some(last) if last > after => after = last,
                _ => break,
            }
        }
    }
    added
}

trait JsonValue {
    async fn json_value(self) -> Result<Value, ()>;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Result<Value, ()> {
        if !self.status().is_success() {
            return Err(());
        }
        let bytes = self.bytes().await.map_err(|_| ())?;
        serde_json::from_slice(&bytes).map_err(|_| ())
    }
}

/// A server task with its shutdown handle.
#[derive(Debug)]
pub struct Served {
    handle: Handle<SocketAddr>,
    task: JoinHandle<()>,
}

impl Served {
    /// Serve `app` on `listener`, over TLS when `tls` is given.
    pub fn spawn(
        listener: std::net::TcpListener,
        app: Router,
        tls: Option<RustlsConfig>,
    ) -> Result<Self, NodeError> {
        listener.set_nonblocking(true).map_err(NodeError::io)?;
        let handle = Handle::new();
        let svc = app.into_make_service_with_connect_info::<SocketAddr>();
        let task = match tls {
            Some(cfg) => {
                let server = axum_server::from_tcp_rustls(listener, cfg)
                    .map_err(NodeError::io)?
                    .handle(handle.clone());
                tokio::spawn(async move {
                    let _ = server.serve(svc).await;
                })
            }
            None => {
                let server = axum_server::from_tcp(listener)
                    .map_err(NodeError::io)?
                    .handle(handle.clone());
                tokio::spawn(async move {
                    let _ = server.serve(svc).await;
                })
            }
        };
        Ok(Self { handle, task })
    }

    /// Stop serving and wait until the listener is closed.
    pub async fn stop(self) {
        self.handle.shutdown();
        let _ = self.task.await;
    }
}

/// A running node: state, server and expiry sweeper.
#[derive(Debug)]
pub struct RunningNode {
    /// The node's state.
    pub state: Arc<NodeState>,
    served: Served,
    sweeper: JoinHandle<()>,
}

impl RunningNode {
    /// Start serving `state` on `listener` and sweep expired messages every `sweep`.
    pub fn start(
        state: Arc<NodeState>,
        listener: std::net::TcpListener,
        tls: Option<RustlsConfig>,
        sweep: Duration,
    ) -> Result<Self, NodeError> {
        Self::start_with_cors(state, listener, tls, sweep, true)
    }

    /// As [`RunningNode::start`], choosing whether the node sends CORS headers.
    pub fn start_with_cors(
        state: Arc<NodeState>,
        listener: std::net::TcpListener,
        tls: Option<RustlsConfig>,
        sweep: Duration,
        cors: bool,
    ) -> Result<Self, NodeError> {
        let served = Served::spawn(listener, router_with_cors(state.clone(), cors), tls)?;
        let s2 = state.clone();
        let sweeper = tokio::spawn(async move {
            let mut tick = tokio::time::interval(sweep);
            loop {
                tick.tick().await;
                s2.sweep_now();
            }
        });
        Ok(Self {
            state,
            served,
            sweeper,
        })
    }

    /// Stop the node (its database is closed when the last reference goes).
    pub async fn stop(self) {
        self.sweeper.abort();
        let _ = self.sweeper.await;
        self.served.stop().await;
    }
}
