//! A Session file server reached by onion requests: `umbra-node fileserver`, and one inside
//! every testnet.
//!
//! Owns: the server's key (an Ed25519 seed in `DATA/fileserver.key`, 0600; its X25519
//! conversion decrypts requests, as libsession 1.9 treats the file server key as Ed25519),
//! the listener `POST /oxen/v4/lsrpc`, the file API behind it, the files under
//! `DATA/files/<id>`, their metadata in `DATA/files.db` (SQLite) and the expiry sweep.
//!
//! Does not own: the onion layers before the last hop (`onion`), the v4 codec and the layer
//! crypto (`umbra_protocol::onion::{v4, node}`).
//!
//! The listener receives what the last hop proxies, `[N][ciphertext]{"ephemeral_key",…}`,
//! opens it with `umbra_protocol::onion::node::open_server_request` and answers the v4
//! response encrypted with the layer's key (raw, not base64; docs/protocol.md §3.4, §3.5).
//! A body it cannot decode or decrypt is a plain-text 400.
//!
//! File API, as session-foundation/session-file-server `fileserver/routes.py` (and its QUIC
//! server `quic/quic-files.cpp` for the limits):
//!
//! - `POST /file`, raw body → `{"id": "<id>", "expires": <float s>}`; the id is the 44
//!   character base64url of BLAKE2b-264 of the body with salt `SessionFileSvr\0\0`
//!   (routes.py `generate_file_id`), so an upload of the same bytes is the same file
//!   (de-duplicated: routes.py refreshes `uploaded` and the expiry);
//! - `GET /file/<id>` → the bytes, `application/octet-stream`;
//! - `GET /file/<id>/info` → `{"size", "uploaded", "expires"}` (float seconds);
//! - `POST /file/<id>/extend` → `{"expires": <float s>}` (never shortens);
//! - header `X-FS-TTL: <seconds>` on an upload or extend: the lifetime, at most
//!   [`MAX_TTL_SECS`].
//!
//! Errors are JSON `{"status_code": N, "error": "<kind>"}` with HTTP status N (routes.py
//! `error_resp` gives `{"status_code": N}`; `error` is Umbra's typed addition): 413 for a
//! body over [`MAX_FILE_BYTES`] (or an empty one, as routes.py), 404 for an unknown or
//! expired id or an unknown route, 405 for a known route with another method, 400 for a bad
//! `X-FS-TTL`, 500 when storage fails.

use std::fs::File;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use blake2::Blake2bMac;
use blake2::digest::Mac as _;
use blake2::digest::consts::U33;
use getrandom::SysRng;
use rand_core::UnwrapErr;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use umbra_protocol::onion::node::open_server_request;
use umbra_protocol::onion::{MAX_BODY_SIZE, V4Request, V4Response};

use crate::NodeError;
use crate::clock::Clock;
use crate::keys::NodeKeys;
use crate::limits::ListenerLimits;
use crate::server::{RateLimit, RateLimiter, Served};

/// Largest file: 10,223,616 bytes, the encrypted size of the largest deterministic
/// attachment (docs/protocol.md §8; the QUIC server's limit, `quic/quic-files.cpp`). It also
/// covers the 10 MB plaintext limit of legacy attachments (AES-CBC + MAC adds 48 bytes).
pub const MAX_FILE_BYTES: usize = 10_223_616;

/// Longest (and default) lifetime: 14 days. The QUIC file server's default maximum TTL
/// (`quic/quic-files.cpp`); the Python server keeps files 3 weeks (`FILE_EXPIRY`). Umbra
/// picks 14 days because its other limits (size, hash ids) follow the newer QUIC server,
/// and a client that assumes the shorter lifetime re-uploads in time on either server.
pub const MAX_TTL_SECS: u64 = 14 * 24 * 3600;

/// The onion endpoint (the only path a node proxies to, `onion::PROXY_TARGET`).
pub const ENDPOINT: &str = "/oxen/v4/lsrpc";

/// The BLAKE2b salt of file ids (routes.py `generate_file_id`).
const ID_SALT: &[u8; 16] = b"SessionFileSvr\0\0";

/// The 44-character base64url file id of `body` (routes.py `generate_file_id`: BLAKE2b with
/// a 33-byte digest, salt `SessionFileSvr\0\0`, urlsafe base64 without padding needed).
pub fn file_id(body: &[u8]) -> String {
    match Blake2bMac::<U33>::new_with_salt_and_personal(None, ID_SALT, b"") {
        Ok(mut h) => {
            h.update(body);
            URL_SAFE.encode(h.finalize().into_bytes())
        }
        // A 16-byte salt is always valid for BLAKE2b.
        Err(_) => String::new(),
    }
}

/// Whether `id` has the shape of a file id: 44 base64url characters (so it is safe as a
/// file name).
pub fn is_file_id(id: &str) -> bool {
    id.len() == 44
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Why a file API request failed. Carries no request bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// The body is empty or over [`MAX_FILE_BYTES`].
    #[error("file too large")]
    TooLarge,
    /// No such file (or it expired), or no such route.
    #[error("not found")]
    NotFound,
    /// A known route with another method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// `X-FS-TTL` is not a positive whole number of seconds.
    #[error("invalid X-FS-TTL")]
    BadTtl,
    /// The disk or the database failed.
    #[error("storage error")]
    Storage,
}

impl FileError {
    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            FileError::TooLarge => 413,
            FileError::NotFound => 404,
            FileError::MethodNotAllowed => 405,
            FileError::BadTtl => 400,
            FileError::Storage => 500,
        }
    }

    /// The `error` field of the JSON answer.
    pub fn as_str(self) -> &'static str {
        match self {
            FileError::TooLarge => "file_too_large",
            FileError::NotFound => "not_found",
            FileError::MethodNotAllowed => "method_not_allowed",
            FileError::BadTtl => "invalid_ttl",
            FileError::Storage => "storage_error",
        }
    }

    fn response(self) -> V4Response {
        let mut body = json!({"status_code": self.status(), "error": self.as_str()});
        if self == FileError::TooLarge {
            body["max_size"] = json!(MAX_FILE_BYTES);
        }
        json_response(self.status(), &body)
    }
}

fn json_response(code: u16, v: &Value) -> V4Response {
    V4Response {
        code,
        headers: [("content-type".to_string(), "application/json".to_string())].into(),
        body: v.to_string().into_bytes(),
    }
}

#[allow(clippy::cast_precision_loss)] // ms timestamps are far below 2^52
fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn meta_in(db: &Connection, id: &str) -> Option<FileMeta> {
    db.query_row(
        "SELECT size, uploaded, expires FROM files WHERE id = ?1",
        params![id],
        |r| {
            Ok(FileMeta {
                size: to_u64(r.get(0)?),
                uploaded_ms: to_u64(r.get(1)?),
                expires_ms: to_u64(r.get(2)?),
            })
        },
    )
    .optional()
    .ok()
    .flatten()
}

/// A stored file's metadata (times in ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMeta {
    /// Bytes.
    pub size: u64,
    /// Upload time.
    pub uploaded_ms: u64,
    /// Expiry.
    pub expires_ms: u64,
}

/// Settings of a file server.
#[derive(Debug, Clone)]
pub struct FileServerConfig {
    /// Directory for the key, `files/` and `files.db`.
    pub data_dir: PathBuf,
    /// Address to bind (port 0: any free port).
    pub bind: SocketAddr,
    /// The clock (tests move it).
    pub clock: Clock,
    /// How often expired files are deleted (default every minute).
    pub sweep_interval: Duration,
    /// Longest lifetime, also the default (seconds).
    pub max_ttl_secs: u64,
    /// Listener limits (503 beyond the requests in flight, 408 past the time limit).
    pub limits: ListenerLimits,
    /// Per-client-IP token bucket (`None`: none; the loopback testnet, where every request
    /// comes from a node on 127.0.0.1).
    pub rate_limit: Option<RateLimit>,
}

impl FileServerConfig {
    /// Defaults: loopback on a free port, system clock, sweep every 60 s, 14 days, oxenss's
    /// rate limit.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            clock: Clock::system(),
            sweep_interval: Duration::from_secs(60),
            max_ttl_secs: MAX_TTL_SECS,
            limits: ListenerLimits::DEFAULT,
            rate_limit: Some(RateLimit::OXENSS),
        }
    }
}

/// Shared state of a running file server.
#[derive(Debug)]
pub struct FileServerState {
    keys: NodeKeys,
    files_dir: PathBuf,
    db: Mutex<Connection>,
    clock: Clock,
    max_ttl_secs: u64,
    rate_limit: Option<RateLimit>,
    limiter: RateLimiter,
}

impl FileServerState {
    /// Open (or create) the server's key, file directory and database under `cfg.data_dir`.
    pub fn open(cfg: &FileServerConfig) -> Result<Self, NodeError> {
        std::fs::create_dir_all(&cfg.data_dir).map_err(NodeError::io)?;
        let keys = NodeKeys::load_or_create(&cfg.data_dir.join("fileserver.key"))
            .map_err(NodeError::io)?;
        let files_dir = cfg.data_dir.join("files");
        std::fs::create_dir_all(&files_dir).map_err(NodeError::io)?;
        // Temporary files of uploads cut short by a stop.
        if let Ok(rd) = std::fs::read_dir(&files_dir) {
            for e in rd.flatten() {
                if e.file_name().to_string_lossy().starts_with(".tmp-") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let conn = Connection::open(cfg.data_dir.join("files.db"))
            .map_err(|e| NodeError::Db(e.to_string()))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS files (
                 id TEXT PRIMARY KEY NOT NULL,
                 size INTEGER NOT NULL,
                 uploaded INTEGER NOT NULL,
                 expires INTEGER NOT NULL
             );
             CREATE INDEX IF NOT EXISTS files_expires ON files (expires);",
        )
        .map_err(|e| NodeError::Db(e.to_string()))?;
        Ok(Self {
            keys,
            files_dir,
            db: Mutex::new(conn),
            clock: cfg.clock.clone(),
            max_ttl_secs: cfg.max_ttl_secs.max(1),
            rate_limit: cfg.rate_limit,
            limiter: RateLimiter::default(),
        })
    }

    /// The server's X25519 public key (what clients encrypt to).
    pub fn x25519_public(&self) -> [u8; 32] {
        self.keys.x25519_public()
    }

    /// The server's Ed25519 public key (its X25519 key converted, libsession 1.9).
    pub fn ed25519_public(&self) -> [u8; 32] {
        self.keys.ed25519_public()
    }

    /// Where file `id` lives on disk.
    pub fn file_path(&self, id: &str) -> PathBuf {
        self.files_dir.join(id)
    }

    /// The metadata of `id`, expired or not.
    pub fn meta(&self, id: &str) -> Option<FileMeta> {
        let db = self.db.lock().ok()?;
        meta_in(&db, id)
    }

    /// Number of rows.
    pub fn file_count(&self) -> u64 {
        self.db
            .lock()
            .ok()
            .and_then(|db| {
                db.query_row("SELECT COUNT(*) FROM files", [], |r| r.get::<_, i64>(0))
                    .ok()
            })
            .map_or(0, to_u64)
    }

    /// Delete every expired row and its file now; returns how many.
    pub fn sweep_now(&self) -> usize {
        let now = to_i64(self.clock.now_ms());
        let Ok(db) = self.db.lock() else { return 0 };
        let ids: Vec<String> = match db.prepare("SELECT id FROM files WHERE expires <= ?1") {
            Ok(mut st) => st
                .query_map(params![now], |r| r.get::<_, String>(0))
                .map(|rows| rows.flatten().collect())
                .unwrap_or_default(),
            Err(_) => return 0,
        };
        let mut n = 0;
        for id in ids {
            if db
                .execute(
                    "DELETE FROM files WHERE id = ?1 AND expires <= ?2",
                    params![id, now],
                )
                .unwrap_or(0)
                > 0
            {
                if is_file_id(&id) {
                    let _ = std::fs::remove_file(self.file_path(&id));
                }
                n += 1;
            }
        }
        n
    }

    fn ttl_ms(&self, req: &V4Request) -> Result<u64, FileError> {
        let value = req
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-fs-ttl"))
            .map(|(_, v)| v.trim());
        let secs = match value {
            None => self.max_ttl_secs,
            Some(v) => match v.parse::<u64>() {
                Ok(s) if s > 0 => s.min(self.max_ttl_secs),
                _ => return Err(FileError::BadTtl),
            },
        };
        Ok(secs.saturating_mul(1000))
    }

    /// Answer one v4 request of the file API (blocking: disk and database).
    pub fn handle(&self, req: &V4Request) -> V4Response {
        match self.route(req) {
            Ok(r) => r,
            Err(e) => e.response(),
        }
    }

    fn route(&self, req: &V4Request) -> Result<V4Response, FileError> {
        let path = req.endpoint.split(['?', '#']).next().unwrap_or("");
        let method = req.method.as_str();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match parts.as_slice() {
            ["file"] => match method {
                "POST" => self.upload(req),
                _ => Err(FileError::MethodNotAllowed),
            },
            ["file", id] => match method {
                "GET" => self.download(id),
                _ => Err(FileError::MethodNotAllowed),
            },
            ["file", id, "info"] => match method {
                "GET" => self.info(id),
                _ => Err(FileError::MethodNotAllowed),
            },
            ["file", id, "extend"] => match method {
                "POST" => self.extend(id, req),
                _ => Err(FileError::MethodNotAllowed),
            },
            _ => Err(FileError::NotFound),
        }
    }

    fn upload(&self, req: &V4Request) -> Result<V4Response, FileError> {
        let body = req.body.as_deref().unwrap_or_default();
        if body.is_empty() || body.len() > MAX_FILE_BYTES {
            return Err(FileError::TooLarge);
        }
        let ttl = self.ttl_ms(req)?;
        let id = file_id(body);
        // Write to a temporary file, then rename it into place: a reader never sees half a
        // file. Same id = same bytes, so replacing an existing file changes nothing.
        let mut rnd = [0u8; 8];
        getrandom::fill(&mut rnd).map_err(|_| FileError::Storage)?;
        let tmp = self.files_dir.join(format!(".tmp-{}", hex::encode(rnd)));
        let written =
            File::create(&tmp).and_then(|mut f| f.write_all(body).and_then(|()| f.sync_all()));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
            return Err(FileError::Storage);
        }
        let now = self.clock.now_ms();
        let expires = now.saturating_add(ttl);
        let db = self.db.lock().map_err(|_| FileError::Storage)?;
        if std::fs::rename(&tmp, self.file_path(&id)).is_err() {
            let _ = std::fs::remove_file(&tmp);
            return Err(FileError::Storage);
        }
        // A second upload of the same bytes refreshes `uploaded` (routes.py) and never
        // shortens the expiry another uploader got.
        let expires: i64 = db
            .query_row(
                "INSERT INTO files (id, size, uploaded, expires) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET size = ?2, uploaded = ?3,
                     expires = MAX(expires, ?4)
                 RETURNING expires",
                params![id, to_i64(body.len() as u64), to_i64(now), to_i64(expires)],
                |r| r.get(0),
            )
            .map_err(|_| FileError::Storage)?;
        drop(db);
        let expires = to_u64(expires);
        Ok(json_response(
            200,
            &json!({"id": id, "expires": secs(expires)}),
        ))
    }

    /// The live (unexpired) metadata of `id`, with the database locked by the caller.
    fn live_in(&self, db: &Connection, id: &str) -> Result<FileMeta, FileError> {
        if !is_file_id(id) {
            return Err(FileError::NotFound);
        }
        meta_in(db, id)
            .filter(|m| m.expires_ms > self.clock.now_ms())
            .ok_or(FileError::NotFound)
    }

    fn download(&self, id: &str) -> Result<V4Response, FileError> {
        // Open the file under the lock so a sweep between the lookup and the read cannot
        // remove it (an open file stays readable after it is unlinked).
        let file = {
            let db = self.db.lock().map_err(|_| FileError::Storage)?;
            self.live_in(&db, id)?;
            File::open(self.file_path(id)).map_err(|_| FileError::NotFound)?
        };
        let mut data = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(file, MAX_FILE_BYTES as u64 + 1),
            &mut data,
        )
        .map_err(|_| FileError::Storage)?;
        Ok(V4Response {
            code: 200,
            headers: [(
                "content-type".to_string(),
                "application/octet-stream".to_string(),
            )]
            .into(),
            body: data,
        })
    }

    fn info(&self, id: &str) -> Result<V4Response, FileError> {
        let m = {
            let db = self.db.lock().map_err(|_| FileError::Storage)?;
            self.live_in(&db, id)?
        };
        Ok(json_response(
            200,
            &json!({
                "size": m.size,
                "uploaded": secs(m.uploaded_ms),
                "expires": secs(m.expires_ms),
            }),
        ))
    }

    fn extend(&self, id: &str, req: &V4Request) -> Result<V4Response, FileError> {
        let ttl = self.ttl_ms(req)?;
        let db = self.db.lock().map_err(|_| FileError::Storage)?;
        let now = self.clock.now_ms();
        let m = self.live_in(&db, id)?;
        let expires = m.expires_ms.max(now.saturating_add(ttl));
        db.execute(
            "UPDATE files SET expires = ?2 WHERE id = ?1",
            params![id, to_i64(expires)],
        )
        .map_err(|_| FileError::Storage)?;
        drop(db);
        Ok(json_response(200, &json!({"expires": secs(expires)})))
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (status, text).into_response()
}

/// Handler of `POST /oxen/v4/lsrpc`.
async fn lsrpc(State(state): State<Arc<FileServerState>>, body: Bytes) -> Response {
    // Decrypting, the disk and encrypting a 10 MB reply all block: off the async workers.
    let answered = tokio::task::spawn_blocking(move || {
        let (request, reply) = open_server_request(
            &body,
            state.keys.x25519_secret(),
            &state.keys.x25519_public(),
        )
        .ok()?;
        drop(body);
        let answer = state.handle(&request);
        drop(request);
        Some(reply.encrypt_reply(&answer.encode(), &mut UnwrapErr(SysRng)))
    })
    .await;
    v4_answer(answered)
}

/// The HTTP answer of a `/oxen/v4/lsrpc` endpoint (this file server's and the community
/// server's): the encrypted v4 reply, a plain 400 for a body that did not decrypt, 500 if the
/// blocking task died.
pub(crate) fn v4_answer(answered: Result<Option<Vec<u8>>, tokio::task::JoinError>) -> Response {
    match answered {
        Ok(Some(out)) => {
            let mut resp = (StatusCode::OK, out).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            resp
        }
        Ok(None) => plain(StatusCode::BAD_REQUEST, "Invalid ciphertext"),
        Err(_) => plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal error"),
    }
}

/// 429 once a client IP's bucket is empty (as the node's listener, `server::RateLimit`).
async fn rate_limit(
    State(state): State<Arc<FileServerState>>,
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

/// The file server's router: only `POST /oxen/v4/lsrpc` (anything else 404, another
/// method 405), bodies up to the onion layer limit.
pub fn router(state: Arc<FileServerState>, limits: ListenerLimits) -> Router {
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

/// A running file server: state, listener and expiry sweeper.
#[derive(Debug)]
pub struct RunningFileServer {
    state: Arc<FileServerState>,
    url: String,
    served: Served,
    sweeper: JoinHandle<()>,
}

impl RunningFileServer {
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

    /// Its state (keys, files, sweep).
    pub fn state(&self) -> &Arc<FileServerState> {
        &self.state
    }

    /// Its X25519 public key.
    pub fn x25519_public(&self) -> [u8; 32] {
        self.state.x25519_public()
    }

    /// Stop serving and sweeping.
    pub async fn stop(self) {
        self.sweeper.abort();
        let _ = self.sweeper.await;
        self.served.stop().await;
    }
}

/// Start a file server (binds `cfg.bind`).
pub fn start(cfg: &FileServerConfig) -> Result<RunningFileServer, NodeError> {
    let listener = std::net::TcpListener::bind(cfg.bind).map_err(NodeError::io)?;
    start_on(cfg, listener)
}

/// Start a file server on a bound listener.
pub fn start_on(
    cfg: &FileServerConfig,
    listener: std::net::TcpListener,
) -> Result<RunningFileServer, NodeError> {
    let addr = listener.local_addr().map_err(NodeError::io)?;
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    let url = format!("http://{host}:{}", addr.port());
    let state = Arc::new(FileServerState::open(cfg)?);
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
    Ok(RunningFileServer {
        state,
        url,
        served,
        sweeper,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_the_python_server() {
        // python3: urlsafe_b64encode(blake2b(d, digest_size=33, salt=b"SessionFileSvr\0\0"))
        assert_eq!(file_id(b""), "iBE4bTXi02LqZpnAFL99yO2KWKpbpFYtGjEEk43-oiTg");
        assert_eq!(
            file_id(b"hello"),
            "tKO2VVg1JPHwgZuvqK_7bDHJeSr4UJ_8i13ETlwAn0jB"
        );
        assert!(is_file_id(&file_id(b"x")));
        assert!(!is_file_id("../../../../etc/passwd"));
        assert!(!is_file_id(&"a".repeat(43)));
    }

    fn req(method: &str, endpoint: &str, body: Option<&[u8]>) -> V4Request {
        V4Request {
            method: method.into(),
            endpoint: endpoint.into(),
            headers: Default::default(),
            body: body.map(<[u8]>::to_vec),
        }
    }

    #[test]
    fn routes_methods_and_ids() {
        let dir = tempfile::tempdir().expect("tmp");
        let st = FileServerState::open(&FileServerConfig::new(dir.path())).expect("open");
        let up = st.handle(&req("POST", "/file", Some(b"abc")));
        assert_eq!(up.code, 200);
        let v: Value = serde_json::from_slice(&up.body).expect("json");
        let id = v["id"].as_str().expect("id").to_string();
        assert_eq!(id, file_id(b"abc"));
        assert_eq!(
            st.handle(&req("GET", &format!("/file/{id}"), None)).body,
            b"abc"
        );
        assert_eq!(st.handle(&req("GET", "/file/nope", None)).code, 404);
        assert_eq!(st.handle(&req("GET", "/nothing", None)).code, 404);
        assert_eq!(st.handle(&req("DELETE", "/file", None)).code, 405);
        assert_eq!(
            st.handle(&req("PUT", &format!("/file/{id}"), None)).code,
            405
        );
        assert_eq!(st.handle(&req("POST", "/file", Some(b""))).code, 413);
        // The same bytes again: the same id, and a shorter TTL keeps the longer expiry.
        let first = st.meta(&id).expect("meta");
        let mut again = req("POST", "/file", Some(b"abc"));
        again.headers.insert("X-FS-TTL".into(), "60".into());
        let v: Value = serde_json::from_slice(&st.handle(&again).body).expect("json");
        assert_eq!(v["id"].as_str(), Some(id.as_str()));
        assert_eq!(st.meta(&id).expect("meta").expires_ms, first.expires_ms);
        assert_eq!(st.file_count(), 1);
        let mut bad = req("POST", "/file", Some(b"x"));
        bad.headers.insert("X-FS-TTL".into(), "soon".into());
        assert_eq!(st.handle(&bad).code, 400);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("fileserver.key"))
                .expect("key")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
