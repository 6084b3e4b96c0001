//! A Session community server (SOGS) reached by onion requests: `umbra-node sogs`, and one
//! inside every testnet (room `lobby`).
//!
//! Owns: the server's key (an Ed25519 seed in `DATA/sogs.key`, 0600; its X25519 conversion is
//! the `public_key` of community URLs, decrypts requests and is what clients blind with), the
//! listener `POST /oxen/v4/lsrpc`, the SOGS API behind it ([`api`]), its SQLite database
//! `DATA/sogs.db` ([`store`]), room files under `DATA/sogs-files/<id>`, and the sweep of expired
//! files, inbox messages and nonces.
//!
//! Does not own: the onion layers before the last hop (`onion`), the v4 codec and layer crypto
//! (`umbra_protocol::onion`), blinding and the `X-SOGS-*` signature check
//! (`umbra_protocol::blinding`).
//!
//! The API follows oxen-io/session-pysogs `sogs/routes/*.py` and `sogs/model/room.py`
//! (docs/protocol.md §7); what Umbra leaves out is listed in node/README.md.

pub mod api;
pub mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use getrandom::SysRng;
use rand_core::UnwrapErr;
use rusqlite::Connection;
use tokio::task::JoinHandle;
use umbra_protocol::onion::MAX_BODY_SIZE;
use umbra_protocol::onion::node::open_server_request;

use crate::NodeError;
use crate::clock::Clock;
use crate::keys::NodeKeys;
use crate::limits::ListenerLimits;
use crate::server::{RateLimit, RateLimiter, Served};

/// The onion endpoint (the only path a node proxies to).
pub const ENDPOINT: &str = "/oxen/v4/lsrpc";

/// Settings of a community server.
#[derive(Debug, Clone)]
pub struct SogsConfig {
    /// Directory for the key, `sogs.db` and `sogs-files/`.
    pub data_dir: PathBuf,
    /// Address to bind (port 0: any free port).
    pub bind: SocketAddr,
    /// The clock (tests move it).
    pub clock: Clock,
    /// Refuse unblinded (`00`) ids (the `blind` capability; default on).
    pub require_blind: bool,
    /// How often expired files, DMs and nonces are deleted.
    pub sweep_interval: Duration,
    /// Listener limits.
    pub limits: ListenerLimits,
    /// Per-client-IP token bucket (`None` on the loopback testnet).
    pub rate_limit: Option<RateLimit>,
}

impl SogsConfig {
    /// Defaults: loopback on a free port, system clock, blinding required, sweep every 60 s.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            clock: Clock::system(),
            require_blind: true,
            sweep_interval: Duration::from_secs(60),
            limits: ListenerLimits::DEFAULT,
            rate_limit: Some(RateLimit::OXENSS),
        }
    }
}

/// Shared state of a community server.
#[derive(Debug)]
pub struct SogsState {
    keys: NodeKeys,
    pub(crate) db: Mutex<Connection>,
    pub(crate) files_dir: PathBuf,
    pub(crate) clock: Clock,
    pub(crate) require_blind: bool,
    rate_limit: Option<RateLimit>,
    limiter: RateLimiter,
}

impl SogsState {
    /// Open (or create) the key, database and file directory under `cfg.data_dir`.
    pub fn open(cfg: &SogsConfig) -> Result<Self, NodeError> {
        std::fs::create_dir_all(&cfg.data_dir).map_err(NodeError::io)?;
        let keys =
            NodeKeys::load_or_create(&cfg.data_dir.join("sogs.key")).map_err(NodeError::io)?;
        let files_dir = cfg.data_dir.join("sogs-files");
        std::fs::create_dir_all(&files_dir).map_err(NodeError::io)?;
        let conn = store::open(&cfg.data_dir.join("sogs.db"))?;
        Ok(Self {
            keys,
            db: Mutex::new(conn),
            files_dir,
            clock: cfg.clock.clone(),
            require_blind: cfg.require_blind,
            rate_limit: cfg.rate_limit,
            limiter: RateLimiter::default(),
        })
    }

    /// The server's X25519 public key (the community URL's `public_key`).
    pub fn x25519_public(&self) -> [u8; 32] {
        self.keys.x25519_public()
    }

    pub(crate) fn now_s(&self) -> f64 {
        api::secs(self.clock.now_ms())
    }

    /// Add a room (or rename it when the token exists).
    pub fn add_room(&self, token: &str, name: &str) -> Result<(), NodeError> {
        if !store::valid_token(token) {
            return Err(NodeError::Config(
                "room tokens are 1-64 characters of a-z A-Z 0-9 _ -",
            ));
        }
        let db = self
            .db
            .lock()
            .map_err(|_| NodeError::Db("poisoned".into()))?;
        store::add_room(&db, token, name, self.now_s()).map_err(|e| NodeError::Db(e.to_string()))
    }

    /// Set a room's default permissions.
    pub fn set_room_defaults(
        &self,
        token: &str,
        read: bool,
        write: bool,
        upload: bool,
    ) -> Result<(), NodeError> {
        let db = self
            .db
            .lock()
            .map_err(|_| NodeError::Db("poisoned".into()))?;
        store::set_defaults(&db, token, read, write, upload)
            .map_err(|e| NodeError::Db(e.to_string()))
    }

    /// Make `id` (a `05` Account ID, stored as its blinded ids; or a `15`/`25` id) a
    /// moderator (or admin) of room `token`.
    pub fn add_moderator(&self, id: &str, token: &str, admin: bool) -> Result<(), NodeError> {
        let ids = api::stored_ids(id, &self.x25519_public())
            .ok_or(NodeError::Config("not a 05, 15 or 25 id"))?;
        let db = self
            .db
            .lock()
            .map_err(|_| NodeError::Db("poisoned".into()))?;
        let room = store::room_id(&db, token)
            .map_err(|e| NodeError::Db(e.to_string()))?
            .ok_or(NodeError::Config("no such room"))?;
        for sid in ids {
            store::set_moderator(&db, room, &sid, true, admin, true)
                .map_err(|e| NodeError::Db(e.to_string()))?;
        }
        store::bump_info(&db, room).map_err(|e| NodeError::Db(e.to_string()))?;
        Ok(())
    }

    /// Every room's token, in creation order.
    pub fn room_tokens(&self) -> Vec<String> {
        let Ok(db) = self.db.lock() else {
            return Vec::new();
        };
        db.prepare("SELECT token FROM rooms ORDER BY id")
            .and_then(|mut st| {
                st.query_map([], |r| r.get(0))
                    .map(|rows| rows.flatten().collect())
            })
            .unwrap_or_default()
    }

    /// Delete expired files, DMs and nonces; returns how many rows went.
    pub fn sweep_now(&self) -> usize {
        let now = self.now_s();
        let Ok(db) = self.db.lock() else { return 0 };
        store::sweep(&db, &self.files_dir, now)
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (status, text).into_response()
}

/// Handler of `POST /oxen/v4/lsrpc`.
async fn lsrpc(State(state): State<Arc<SogsState>>, body: Bytes) -> Response {
    let answered = tokio::task::spawn_blocking(move || {
        let (request, reply) = open_server_request(
            &body,
            state.keys.x25519_secret(),
            &state.keys.x25519_public(),
        )
        .ok()?;
        drop(body);
        let answer = state.handle(&request);
        Some(reply.encrypt_reply(&answer.encode(), &mut UnwrapErr(SysRng)))
    })
    .await;
    crate::fileserver::v4_answer(answered)
}

async fn rate_limit(
    State(state): State<Arc<SogsState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if !state
        .limiter
        .allow_request(state.rate_limit, &req, state.clock.now_ms())
    {
        return plain(StatusCode::TOO_MANY_REQUESTS, "too many requests");
    }
    next.run(req).await
}

/// The community server's router: only `POST /oxen/v4/lsrpc`.
pub fn router(state: Arc<SogsState>, limits: ListenerLimits) -> Router {
    let r = Router::new()
        .route(ENDPOINT, post(lsrpc))
        .layer(DefaultBodyLimit::max(MAX_BODY_SIZE))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit,
        ))
        .with_state(state);
    crate::limits::apply(r, limits)
}

/// A running community server.
#[derive(Debug)]
pub struct RunningSogs {
    state: Arc<SogsState>,
    url: String,
    served: Served,
    sweeper: JoinHandle<()>,
}

impl RunningSogs {
    /// `http://IP:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    /// Its state.
    pub fn state(&self) -> &Arc<SogsState> {
        &self.state
    }

    /// Its X25519 public key.
    pub fn x25519_public(&self) -> [u8; 32] {
        self.state.x25519_public()
    }

    /// The community URL of `room`: `http://IP:PORT/<room>?public_key=<hex>`.
    pub fn room_url(&self, room: &str) -> String {
        format!(
            "{}/{room}?public_key={}",
            self.url,
            hex::encode(self.x25519_public())
        )
    }

    /// Stop serving and sweeping.
    pub async fn stop(self) {
        self.sweeper.abort();
        let _ = self.sweeper.await;
        self.served.stop().await;
    }
}

/// Start a community server (binds `cfg.bind`).
pub fn start(cfg: &SogsConfig) -> Result<RunningSogs, NodeError> {
    let listener = std::net::TcpListener::bind(cfg.bind).map_err(NodeError::io)?;
    start_on(cfg, listener)
}

/// Start a community server on a bound listener.
pub fn start_on(
    cfg: &SogsConfig,
    listener: std::net::TcpListener,
) -> Result<RunningSogs, NodeError> {
    let addr = listener.local_addr().map_err(NodeError::io)?;
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    let url = format!("http://{host}:{}", addr.port());
    let state = Arc::new(SogsState::open(cfg)?);
    let served = Served::spawn(listener, router(state.clone(), cfg.limits), None)?;
    let s2 = state.clone();
    let every = cfg.sweep_interval.max(Duration::from_millis(10));
    let sweeper = tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let s = s2.clone();
            let _ = tokio::task::spawn_blocking(move || s.sweep_now()).await;
        }
    });
    Ok(RunningSogs {
        state,
        url,
        served,
        sweeper,
    })
}
