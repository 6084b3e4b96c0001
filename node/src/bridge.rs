//! The blind bridge: lets a browser reach service nodes it cannot reach itself.
//!
//! Owns: the route `POST /v1/onion/<guard ed25519 hex>`, which POSTs the body unchanged to
//! `https://<ip>:<storage_port>/onion_req/v2` of that guard and returns its status and body
//! unchanged; the bridge's node pool (built from seeds reached over TLS with pinned
//! certificates and refreshed periodically); CORS for configured origins only; a
//! per-client-IP token bucket, a body cap, a limit on requests in flight and time limits.
//!
//! Does not own: anything inside the body. The bridge never parses, stores or logs a body,
//! never logs which client used which guard, and passes no client header or address on.
//! The onion layer, encrypted to the guard's X25519 key, protects the request; the bridge
//! only sees the client IP, sizes, timing and the guard.
//!
//! Targets are only `(ip, port)` pairs of the pool, chosen by the guard's key: a client
//! cannot name an IP, port, host name or path (websockify's lesson: client-chosen targets
//! make an open proxy, novnc/websockify#3). Pool entries whose address is not an IP literal
//! are dropped. Redirects are never followed.

pub mod verify;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::NodeError;
use verify::Verifier;

/// Session's mainnet seeds with their public certificates, as the Android client ships
/// them (session-android `app/src/main/res/raw/seed{1,2,3}.pem`; the URLs are
/// `SnodeAPI.kt`'s `seedNodePool`). Valid 2023-04-05 to 2033-04-05.
pub const MAINNET_SEEDS: [(&str, &str); 3] = [
    (
        "https://seed1.getsession.org:4443",
        include_str!("bridge/seed1.pem"),
    ),
    (
        "https://seed2.getsession.org:4443",
        include_str!("bridge/seed2.pem"),
    ),
    (
        "https://seed3.getsession.org:4443",
        include_str!("bridge/seed3.pem"),
    ),
];

/// `MAINNET_SEEDS` as seed sources.
pub fn mainnet_seeds() -> Vec<SeedSource> {
    MAINNET_SEEDS
        .iter()
        .map(|(url, pem)| SeedSource {
            url: (*url).to_string(),
            cert_pem: (*pem).to_string(),
        })
        .collect()
}

/// Largest seed answer read (mainnet's full list is a few hundred KiB).
const MAX_SEED_REPLY: usize = 8 * 1024 * 1024;

/// The route prefix; the rest of the path is exactly 64 hex characters.
const ROUTE_PREFIX: &str = "/v1/onion/";

/// A seed the bridge builds its pool from.
#[derive(Debug, Clone)]
pub struct SeedSource {
    /// `https://host:port` (no path).
    pub url: String,
    /// The seed's certificate (PEM); only this exact certificate is accepted.
    pub cert_pem: String,
}

/// Settings of a bridge.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Seeds (pinned).
    pub seeds: Vec<SeedSource>,
    /// Serve HTTPS with this (certificate chain PEM, private key PEM).
    pub tls: Option<(Vec<u8>, Vec<u8>)>,
    /// Origins that get CORS headers (exact `scheme://host[:port]`).
    pub allow_origins: Vec<String>,
    /// Tokens added per second to each client IP's bucket.
    pub rate_per_sec: f64,
    /// Bucket size (burst).
    pub burst: f64,
    /// Largest request body, and largest reply body relayed.
    pub max_body: usize,
    /// Requests forwarded at the same time (more: 503).
    pub max_in_flight: usize,
    /// Time allowed to read a request body.
    pub body_timeout: Duration,
    /// Time allowed for the guard's answer. Shorter than the client's own request timeout
    /// (10 s, `umbra_protocol::client::ClientConfig`), so that a client hears "guard timed
    /// out" (the path's fault) rather than nothing (which it must blame on the bridge).
    pub upstream_timeout: Duration,
    /// How often the pool is refreshed from the seeds.
    pub refresh_interval: Duration,
}

impl BridgeConfig {
    /// Defaults: loopback on a free port, Session's mainnet seeds, no CORS, 20 requests/s
    /// with bursts of 100 per client IP, 10 MiB bodies (oxenss' request limit), 256 requests
    /// in flight, 30 s body and 9 s upstream time limits, pool refreshed every 30 minutes.
    pub fn new() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            seeds: mainnet_seeds(),
            tls: None,
            allow_origins: Vec::new(),
            rate_per_sec: 20.0,
            burst: 100.0,
            max_body: umbra_protocol::rpc::MAX_REQUEST_BODY,
            max_in_flight: 256,
            body_timeout: Duration::from_secs(30),
            upstream_timeout: Duration::from_secs(9),
            refresh_interval: Duration::from_secs(30 * 60),
        }
    }
}

impl Default for BridgeConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// The nodes the bridge may connect to: Ed25519 key → storage address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pool {
    nodes: HashMap<[u8; 32], SocketAddr>,
}

impl Pool {
    /// Build a pool from a seed's `get_n_service_nodes` answer. Entries without a valid
    /// Ed25519 key, with an address that is not an IP literal (host names are refused), an
    /// unspecified or multicast IP, or port 0 are dropped.
    pub fn from_seed_reply(v: &Value) -> Self {
        let mut nodes = HashMap::new();
        let states = v["result"]["service_node_states"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for s in states {
            let Some(ed) = s["pubkey_ed25519"].as_str().and_then(parse_key) else {
                continue;
            };
            let Some(ip) = s["public_ip"]
                .as_str()
                .and_then(|t| t.parse::<IpAddr>().ok())
            else {
                continue;
            };
            if ip.is_unspecified() || ip.is_multicast() {
                continue;
            }
            let Some(port) = s["storage_port"]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p != 0)
            else {
                continue;
            };
            nodes.insert(ed, SocketAddr::new(ip, port));
        }
        Self { nodes }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The storage address of the node with this key.
    pub fn get(&self, ed25519: &[u8; 32]) -> Option<SocketAddr> {
        self.nodes.get(ed25519).copied()
    }

    fn merge(&mut self, other: Pool) {
        self.nodes.extend(other.nodes);
    }
}

/// 64 hex characters → key.
fn parse_key(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut k = [0u8; 32];
    hex::decode_to_slice(s, &mut k).ok()?;
    Some(k)
}

/// A pinned HTTP client for one seed.
fn seed_client(seed: &SeedSource) -> Result<reqwest::Client, NodeError> {
    let tls = Verifier::pinned(&seed.cert_pem)?.client_config()?;
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .use_preconfigured_tls(tls)
        .build()
        .map_err(|e| NodeError::Tls(e.to_string()))
}

/// The client for service nodes: any certificate, no redirects, no proxy.
fn node_client(cfg: &BridgeConfig) -> Result<reqwest::Client, NodeError> {
    let tls = Verifier::any().client_config()?;
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(cfg.upstream_timeout)
        .use_preconfigured_tls(tls)
        .build()
        .map_err(|e| NodeError::Tls(e.to_string()))
}

/// Read at most `cap` bytes of a reply body; `None` when it is longer or breaks off.
async fn read_capped(mut resp: reqwest::Response, cap: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.ok()? {
        if out.len() + chunk.len() > cap {
            return None;
        }
        out.extend_from_slice(&chunk);
    }
    Some(out)
}

/// Ask one seed for the node list: its parsed `get_n_service_nodes` answer, or `None` when
/// it cannot be reached, its certificate is not the pinned one, or it answers anything but
/// a 200 with JSON of at most `MAX_SEED_REPLY` bytes.
async fn seed_reply(client: &reqwest::Client, url: &str) -> Option<Value> {
    // The request Session desktop sends (`SeedNodeAPI.ts` `getSnodesFromSeedUrl`), plus
    // `swarm_id`, which the bundle's bootstrap list carries (`bundle`).
    let req = json!({
        "jsonrpc": "2.0",
        "id": "0",
        "method": "get_n_service_nodes",
        "params": {
            "active_only": true,
            "fields": {
                "public_ip": true,
                "storage_port": true,
                "pubkey_x25519": true,
                "pubkey_ed25519": true,
                "swarm_id": true,
            },
        },
    });
    let resp = client
        .post(format!("{}/json_rpc", url.trim_end_matches('/')))
        .header(header::CONTENT_TYPE, "application/json")
        .body(req.to_string())
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    let body = read_capped(resp, MAX_SEED_REPLY).await?;
    serde_json::from_slice(&body).ok()
}

/// A seed with its pinned TLS client (only the pinned certificate is accepted).
#[derive(Debug, Clone)]
pub struct PinnedSeed {
    url: String,
    client: reqwest::Client,
}

impl PinnedSeed {
    /// A client for `seed` that accepts only its certificate; fails on an invalid PEM.
    pub fn new(seed: &SeedSource) -> Result<Self, NodeError> {
        Ok(Self {
            url: seed.url.clone(),
            client: seed_client(seed)?,
        })
    }

    /// The seed's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The seed's `get_n_service_nodes` answer, or `None` (unreachable, wrong certificate,
    /// not a 200 JSON answer).
    pub async fn node_list(&self) -> Option<Value> {
        seed_reply(&self.client, &self.url).await
    }
}

/// Ask every seed; the union of the answers, or `None` if no seed answered.
async fn fetch_pool(seeds: &[PinnedSeed]) -> Option<Pool> {
    let answers = futures_util::future::join_all(seeds.iter().map(PinnedSeed::node_list)).await;
    let mut pool: Option<Pool> = None;
    for v in answers.into_iter().flatten() {
        pool.get_or_insert_with(Pool::default)
            .merge(Pool::from_seed_reply(&v));
    }
    pool.filter(|p| !p.is_empty())
}

/// One token bucket per client IP.
#[derive(Debug)]
struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

/// Buckets kept before full ones are forgotten.
const MAX_BUCKETS: usize = 65_536;

impl RateLimiter {
    /// Take a token from `ip`'s bucket at time `now`; false when it is empty.
    fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        let Ok(mut b) = self.buckets.lock() else {
            return false;
        };
        if b.len() >= MAX_BUCKETS {
            let (rate, burst) = (self.rate, self.burst);
            b.retain(|_, (t, last)| *t + now.duration_since(*last).as_secs_f64() * rate < burst);
        }
        let (tokens, last) = b.entry(ip).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Debug)]
struct Shared {
    pool: RwLock<Pool>,
    http: reqwest::Client,
    limiter: RateLimiter,
    in_flight: Semaphore,
    allow_origins: Vec<HeaderValue>,
    max_body: usize,
    body_timeout: Duration,
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (status, text).into_response()
}

/// The allowed origin of this request, if any.
fn allowed_origin(shared: &Shared, headers: &HeaderMap) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    shared.allow_origins.iter().find(|o| *o == origin).cloned()
}

/// The guard key named by a raw request path, or `None` for anything else (percent
/// escapes, dot segments, extra segments, a host or port are all not 64 hex characters).
fn guard_of_path(path: &str) -> Option<[u8; 32]> {
    parse_key(path.strip_prefix(ROUTE_PREFIX)?)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let origin = allowed_origin(&shared, req.headers());
    let mut resp = route(&shared, peer.ip(), origin.is_some(), req).await;
    if let Some(o) = origin {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(header::VARY, HeaderValue::from_static("origin"));
    }
    resp
}

async fn route(shared: &Shared, ip: IpAddr, origin_ok: bool, req: Request) -> Response {
    if !shared.limiter.allow(ip, Instant::now()) {
        return plain(StatusCode::TOO_MANY_REQUESTS, "rate limited");
    }
    let (parts, body) = req.into_parts();
    if parts.method == Method::OPTIONS {
        // A preflight is answered for the configured origins only.
        if !origin_ok || guard_of_path(parts.uri.path()).is_none() {
            return plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
        }
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return r;
    }
    if parts.uri.path() == "/" && parts.method == Method::GET {
        return plain(StatusCode::OK, "umbra bridge");
    }
    let Some(guard) = guard_of_path(parts.uri.path()) else {
        return plain(StatusCode::NOT_FOUND, "not found");
    };
    if parts.uri.query().is_some() {
        return plain(StatusCode::BAD_REQUEST, "bad request");
    }
    if parts.method != Method::POST {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    }
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > shared.max_body as u64) {
        return plain(StatusCode::PAYLOAD_TOO_LARGE, "body too large");
    }
    let target = match shared.pool.read() {
        Ok(p) if p.is_empty() => return plain(StatusCode::SERVICE_UNAVAILABLE, "no node pool"),
        Ok(p) => p.get(&guard),
        Err(_) => return plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    };
    let Some(target) = target else {
        return plain(StatusCode::NOT_FOUND, "unknown guard");
    };
    let Ok(_permit) = shared.in_flight.try_acquire() else {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "busy");
    };
    let body = match tokio::time::timeout(
        shared.body_timeout,
        axum::body::to_bytes(body, shared.max_body),
    )
    .await
    {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => return plain(StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
        Err(_) => return plain(StatusCode::REQUEST_TIMEOUT, "body too slow"),
    };
    forward(shared, target, body).await
}

/// POST `body` unchanged to the guard; its status and body come back unchanged.
async fn forward(shared: &Shared, target: SocketAddr, body: Bytes) -> Response {
    let url = format!("https://{target}/onion_req/v2");
    let sent = shared.http.post(url).body(body).send().await;
    let resp = match sent {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return plain(StatusCode::GATEWAY_TIMEOUT, "guard timed out"),
        Err(_) => return plain(StatusCode::BAD_GATEWAY, "guard unreachable"),
    };
    let status = resp.status();
    let ctype = resp.headers().get(header::CONTENT_TYPE).cloned();
    let Some(bytes) = read_capped(resp, shared.max_body).await else {
        return plain(StatusCode::BAD_GATEWAY, "bad guard reply");
    };
    let mut out = Response::new(Body::from(bytes));
    *out.status_mut() = status;
    if let Some(c) = ctype {
        out.headers_mut().insert(header::CONTENT_TYPE, c);
    }
    out
}

/// A running bridge.
#[derive(Debug)]
pub struct RunningBridge {
    url: String,
    handle: Handle<SocketAddr>,
    server: JoinHandle<()>,
    refresher: JoinHandle<()>,
    shared: Arc<Shared>,
}

impl RunningBridge {
    /// `http://127.0.0.1:PORT` (https with TLS).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Nodes currently in the pool.
    pub fn pool_len(&self) -> usize {
        self.shared.pool.read().map(|p| p.len()).unwrap_or(0)
    }

    /// Stop accepting, let requests in flight finish (up to 5 s), stop refreshing.
    pub async fn stop(self) {
        self.refresher.abort();
        let _ = self.refresher.await;
        self.handle.graceful_shutdown(Some(Duration::from_secs(5)));
        let _ = self.server.await;
    }
}

/// Start a bridge: fetch the pool once (an empty pool answers 503 until a refresh
/// succeeds), then listen. `log` receives the bridge's only log lines (pool size changes,
/// listener errors); they never name a client, a guard or a body.
pub async fn start(
    cfg: BridgeConfig,
    log: impl Fn(&str) + Send + Sync + 'static,
) -> Result<RunningBridge, NodeError> {
    crate::tls::install_crypto_provider();
    let seeds: Vec<PinnedSeed> = cfg
        .seeds
        .iter()
        .map(PinnedSeed::new)
        .collect::<Result<_, NodeError>>()?;
    if seeds.is_empty() {
        return Err(NodeError::Config("the bridge needs at least one seed"));
    }
    let mut allow_origins = Vec::new();
    for o in &cfg.allow_origins {
        let v = HeaderValue::from_str(o.trim_end_matches('/'))
            .map_err(|_| NodeError::Config("bad --allow-origin"))?;
        allow_origins.push(v);
    }
    let log: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(log);
    let initial = fetch_pool(&seeds).await;
    match &initial {
        Some(p) => log(&format!("bridge: pool of {} nodes", p.len())),
        None => log("bridge: no seed answered; retrying"),
    }
    let shared = Arc::new(Shared {
        pool: RwLock::new(initial.unwrap_or_default()),
        http: node_client(&cfg)?,
        limiter: RateLimiter {
            rate: cfg.rate_per_sec,
            burst: cfg.burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        },
        in_flight: Semaphore::new(cfg.max_in_flight.max(1)),
        allow_origins,
        max_body: cfg.max_body,
        body_timeout: cfg.body_timeout,
    });

    let listener = std::net::TcpListener::bind(cfg.bind).map_err(NodeError::io)?;
    listener.set_nonblocking(true).map_err(NodeError::io)?;
    let addr = listener.local_addr().map_err(NodeError::io)?;
    let app = Router::new()
        .fallback(handle)
        .with_state(shared.clone())
        .into_make_service_with_connect_info::<SocketAddr>();
    let handle = Handle::new();
    let (scheme, server) = match &cfg.tls {
        Some((cert, key)) => {
            let tls = RustlsConfig::from_pem(cert.clone(), key.clone())
                .await
                .map_err(NodeError::io)?;
            let server = axum_server::from_tcp_rustls(listener, tls)
                .map_err(NodeError::io)?
                .handle(handle.clone());
            let log = log.clone();
            (
                "https",
                tokio::spawn(async move {
                    if let Err(e) = server.serve(app).await {
                        log(&format!("bridge: listener stopped: {e}"));
                    }
                }),
            )
        }
        None => {
            let server = axum_server::from_tcp(listener)
                .map_err(NodeError::io)?
                .handle(handle.clone());
            let log = log.clone();
            (
                "http",
                tokio::spawn(async move {
                    if let Err(e) = server.serve(app).await {
                        log(&format!("bridge: listener stopped: {e}"));
                    }
                }),
            )
        }
    };

    let s2 = shared.clone();
    let every = cfg.refresh_interval;
    let refresher = tokio::spawn(async move {
        loop {
            let empty = s2.pool.read().map(|p| p.is_empty()).unwrap_or(true);
            // Retry soon while the pool is empty.
            let wait = if empty {
                every.min(Duration::from_secs(5))
            } else {
                every
            };
            tokio::time::sleep(wait).await;
            if let Some(p) = fetch_pool(&seeds).await {
                let n = p.len();
                let changed = match s2.pool.write() {
                    Ok(mut cur) => {
                        let changed = cur.len() != n;
                        *cur = p;
                        changed
                    }
                    Err(_) => false,
                };
                if changed {
                    log(&format!("bridge: pool of {n} nodes"));
                }
            }
        }
    });

    let host = if addr.ip().is_unspecified() {
        SocketAddr::new(IpAddr::from([127, 0, 0, 1]), addr.port())
    } else {
        addr
    };
    Ok(RunningBridge {
        url: format!("{scheme}://{host}"),
        handle,
        server,
        refresher,
        shared,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_other_than_64_hex_characters_name_no_guard() {
        let key = "ab".repeat(32);
        assert!(guard_of_path(&format!("/v1/onion/{key}")).is_some());
        for p in [
            "/v1/onion/".to_string(),
            format!("/v1/onion/{key}/"),
            format!("/v1/onion/{key}/../x"),
            format!("/v1/onion/../{key}"),
            format!("/v1/onion/%2e%2e/{key}"),
            format!("/v1/onion/{}", &key[..63]),
            format!("/v1/onion/{key}00"),
            "/v1/onion/127.0.0.1:22".to_string(),
            "/v1/onion/localhost".to_string(),
            format!("/v2/onion/{key}"),
            format!("//v1/onion/{key}"),
        ] {
            assert!(guard_of_path(&p).is_none(), "{p}");
        }
    }

    #[test]
    fn rate_limiter_refuses_past_the_burst_per_ip() {
        let l = RateLimiter {
            rate: 0.0,
            burst: 2.0,
            buckets: Mutex::new(HashMap::new()),
        };
        let a: IpAddr = "10.0.0.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let b: IpAddr = "10.0.0.2".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let t = Instant::now();
        assert!(l.allow(a, t));
        assert!(l.allow(a, t));
        assert!(!l.allow(a, t));
        assert!(l.allow(b, t));
        // Refill: one token per second.
        let l = RateLimiter {
            rate: 1.0,
            burst: 1.0,
            buckets: Mutex::new(HashMap::new()),
        };
        assert!(l.allow(a, t));
        assert!(!l.allow(a, t + Duration::from_millis(500)));
        assert!(l.allow(a, t + Duration::from_millis(1600)));
    }
}
