//! The SOGS API behind the onion endpoint: authentication, routing, the routes.
//!
//! Routes and answers follow oxen-io/session-pysogs `sogs/routes/{general,rooms,messages,
//! users,dm}.py` and `sogs/model/room.py` `get_messages_for` (docs/protocol.md §7).
//! Authentication is `sogs/routes/auth.py`: no `X-SOGS-*` header is an anonymous request, some
//! but not all is 400, a bad shape 400, an unblinded key while blinding is required 400 (with
//! pysogs' text), a timestamp more than 24 h off or a nonce used before by the same key 425, a
//! bad signature 401. `/batch` and `/sequence` subrequests run as the outer request's user.
//!
//! Every answer is built from typed values; nothing here panics on network input.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value, json};
use umbra_protocol::blinding::{self, BlindingError, blind15_ids, blind25_id};
use umbra_protocol::onion::{V4Request, V4Response};

use super::SogsState;
use super::store;

/// The capabilities answered by `GET /capabilities`.
pub const CAPABILITIES: [&str; 3] = ["blind", "reactions", "sogs"];
/// The accepted clock difference of `X-SOGS-Timestamp` (pysogs: 24 h).
pub const TIMESTAMP_WINDOW_SECS: u64 = 86_400;
/// Largest posted message `data` (bytes, decoded).
pub const MAX_MESSAGE_BYTES: usize = 100_000;
/// Largest blinded DM (bytes, decoded).
pub const MAX_DM_BYTES: usize = 100_000;
/// Largest room file (the file server's limit).
pub const MAX_FILE_BYTES: usize = crate::fileserver::MAX_FILE_BYTES;
/// Lifetime of an upload not yet referenced by a post (pysogs: 1 h).
pub const FILE_UNREFERENCED_SECS: f64 = 3600.0;
/// Lifetime of a file a post references (pysogs `UPLOAD_DEFAULT_EXPIRY`: 15 days).
pub const FILE_EXPIRY_SECS: f64 = 15.0 * 86_400.0;
/// Lifetime of a blinded DM (pysogs `DM_EXPIRY`: 15 days).
pub const DM_EXPIRY_SECS: f64 = 15.0 * 86_400.0;
/// `active_users` counts users seen in this window (pysogs: 7 days).
pub const ACTIVE_CUTOFF_SECS: f64 = 7.0 * 86_400.0;
/// Longest reaction (characters; pysogs refuses longer ones).
pub const MAX_REACTION_CHARS: usize = 12;
/// Most subrequests in one `/batch` or `/sequence`.
pub const MAX_BATCH: usize = 64;

/// Why a request failed. Carries no request bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SogsError {
    /// Malformed request (400).
    #[error("bad request")]
    BadRequest,
    /// An unblinded id where blinding is required (400).
    #[error("blinded ids required")]
    BlindingRequired,
    /// Authentication needed or the signature is bad (401).
    #[error("unauthorized")]
    Unauthorized,
    /// Not permitted: banned, no permission, not a moderator (403).
    #[error("forbidden")]
    Forbidden,
    /// No such room, message, file or route (404).
    #[error("not found")]
    NotFound,
    /// Known route, other method (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Not acceptable: a room image that is no file of the room (406).
    #[error("not acceptable")]
    NotAcceptable,
    /// Too large (413).
    #[error("too large")]
    TooLarge,
    /// Timestamp out of range or nonce reused (425).
    #[error("too early")]
    TooEarly,
    /// Storage failed (500).
    #[error("storage error")]
    Storage,
}

impl SogsError {
    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            SogsError::BadRequest | SogsError::BlindingRequired => 400,
            SogsError::Unauthorized => 401,
            SogsError::Forbidden => 403,
            SogsError::NotFound => 404,
            SogsError::MethodNotAllowed => 405,
            SogsError::NotAcceptable => 406,
            SogsError::TooLarge => 413,
            SogsError::TooEarly => 425,
            SogsError::Storage => 500,
        }
    }

    fn text(self) -> &'static str {
        match self {
            SogsError::BadRequest => "Bad request",
            SogsError::BlindingRequired => {
                "Invalid authentication: this server requires the use of blinded ids"
            }
            SogsError::Unauthorized => "Unauthorized",
            SogsError::Forbidden => "Forbidden",
            SogsError::NotFound => "Not found",
            SogsError::MethodNotAllowed => "Method not allowed",
            SogsError::NotAcceptable => "Not acceptable",
            SogsError::TooLarge => "Payload too large",
            SogsError::TooEarly => "Too early",
            SogsError::Storage => "Internal error",
        }
    }

    fn reply(self) -> Reply {
        Reply {
            code: self.status(),
            content_type: "text/plain; charset=utf-8".into(),
            body: self.text().as_bytes().to_vec(),
            extra: Vec::new(),
        }
    }
}

impl From<rusqlite::Error> for SogsError {
    fn from(_: rusqlite::Error) -> Self {
        SogsError::Storage
    }
}

impl From<BlindingError> for SogsError {
    fn from(e: BlindingError) -> Self {
        match e {
            BlindingError::Malformed | BlindingError::InvalidKey => SogsError::BadRequest,
            BlindingError::BlindingRequired => SogsError::BlindingRequired,
            BlindingError::Timestamp => SogsError::TooEarly,
            BlindingError::BadSignature => SogsError::Unauthorized,
        }
    }
}

type Res<T> = Result<T, SogsError>;

/// An answer before v4 encoding.
#[derive(Debug, Clone)]
struct Reply {
    code: u16,
    content_type: String,
    body: Vec<u8>,
    extra: Vec<(String, String)>,
}

impl Reply {
    fn json(code: u16, v: &Value) -> Self {
        Reply {
            code,
            content_type: "application/json".into(),
            body: v.to_string().into_bytes(),
            extra: Vec::new(),
        }
    }

    fn ok(v: &Value) -> Res<Self> {
        Ok(Self::json(200, v))
    }

    fn into_v4(self) -> V4Response {
        let mut headers: BTreeMap<String, String> = self.extra.into_iter().collect();
        headers.insert("content-type".into(), self.content_type);
        V4Response {
            code: self.code,
            headers,
            body: self.body,
        }
    }
}

/// Unix seconds (float) of a millisecond clock reading.
#[allow(clippy::cast_precision_loss)]
pub fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// The ids stored for an id an admin names: a `05` Account ID becomes its blind15 candidates
/// and its blind25 id (so no `05` id is kept); `15`/`25`/`00` ids are kept as given.
pub fn stored_ids(id: &str, server: &[u8; 32]) -> Option<Vec<String>> {
    let raw: [u8; 33] = hex::decode(id.trim()).ok()?.try_into().ok()?;
    match raw[0] {
        0x05 => {
            let mut x = [0u8; 32];
            x.copy_from_slice(&raw[1..]);
            let [a, b] = blind15_ids(&x, server).ok()?;
            let c = blind25_id(&x, server).ok()?;
            Some(vec![hex::encode(a), hex::encode(b), hex::encode(c)])
        }
        0x15 | 0x25 | 0x00 => Some(vec![hex::encode(raw)]),
        _ => None,
    }
}

fn is_blinded_id(id: &str) -> bool {
    id.len() == 66
        && (id.starts_with("15") || id.starts_with("25"))
        && id.bytes().all(|b| b.is_ascii_hexdigit())
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn header<'a>(req: &'a V4Request, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn b64(v: &[u8]) -> Value {
    Value::String(STANDARD.encode(v))
}

fn unb64(v: Option<&Value>) -> Res<Vec<u8>> {
    let s = v.and_then(Value::as_str).ok_or(SogsError::BadRequest)?;
    STANDARD.decode(s.trim()).map_err(|_| SogsError::BadRequest)
}

fn json_body(body: &[u8]) -> Res<Value> {
    serde_json::from_slice(body).map_err(|_| SogsError::BadRequest)
}

fn query_int(query: &BTreeMap<String, String>, key: &str, default: i64, lo: i64, hi: i64) -> i64 {
    query
        .get(key)
        .and_then(|v| v.parse::<i64>().ok())
        .map_or(default, |v| v.clamp(lo, hi))
}

/// A room row.
#[derive(Debug, Clone)]
struct Room {
    id: i64,
    token: String,
    name: String,
    description: Option<String>,
    created: f64,
    message_sequence: i64,
    info_updates: i64,
    image_id: Option<i64>,
    default_read: bool,
    default_write: bool,
    default_upload: bool,
}

fn load_room(db: &Connection, token: &str) -> Res<Room> {
    db.query_row(
        "SELECT id, token, name, description, created, message_sequence, info_updates,
                image_id, default_read, default_write, default_upload
         FROM rooms WHERE token = ?1",
        params![token],
        |r| {
            Ok(Room {
                id: r.get(0)?,
                token: r.get(1)?,
                name: r.get(2)?,
                description: r.get(3)?,
                created: r.get(4)?,
                message_sequence: r.get(5)?,
                info_updates: r.get(6)?,
                image_id: r.get(7)?,
                default_read: r.get(8)?,
                default_write: r.get(9)?,
                default_upload: r.get(10)?,
            })
        },
    )
    .optional()?
    .ok_or(SogsError::NotFound)
}

/// What a user may do in a room.
#[derive(Debug, Clone, Copy, Default)]
struct Perms {
    read: bool,
    write: bool,
    upload: bool,
    moderator: bool,
    admin: bool,
    banned: bool,
}

fn perms(db: &Connection, room: &Room, user: Option<&str>, now: f64) -> Res<Perms> {
    let Some(sid) = user else {
        return Ok(Perms {
            read: room.default_read,
            ..Perms::default()
        });
    };
    let admin: Option<bool> = db
        .query_row(
            "SELECT admin FROM moderators WHERE room = ?1 AND session_id = ?2",
            params![room.id, sid],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(admin) = admin {
        return Ok(Perms {
            read: true,
            write: true,
            upload: true,
            moderator: true,
            admin,
            banned: false,
        });
    }
    let banned: bool = db
        .query_row(
            "SELECT COUNT(*) > 0 FROM bans WHERE room = ?1 AND session_id = ?2
                 AND (until IS NULL OR until > ?3)",
            params![room.id, sid, now],
            |r| r.get(0),
        )
        .unwrap_or(false);
    if banned {
        return Ok(Perms {
            banned: true,
            ..Perms::default()
        });
    }
    let over: Option<(Option<bool>, Option<bool>, Option<bool>)> = db
        .query_row(
            "SELECT read, write, upload FROM user_permissions WHERE room = ?1 AND session_id = ?2",
            params![room.id, sid],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let (r, w, u) = over.unwrap_or((None, None, None));
    Ok(Perms {
        read: r.unwrap_or(room.default_read),
        write: w.unwrap_or(room.default_write),
        upload: u.unwrap_or(room.default_upload),
        ..Perms::default()
    })
}

/// One request's context.
struct Ctx<'a> {
    state: &'a SogsState,
    db: &'a Connection,
    user: Option<String>,
    now: f64,
}

impl Ctx<'_> {
    fn user(&self) -> Res<&str> {
        self.user.as_deref().ok_or(SogsError::Unauthorized)
    }

    fn blinded_user(&self) -> Res<&str> {
        let u = self.user()?;
        if is_blinded_id(u) {
            Ok(u)
        } else {
            Err(SogsError::BlindingRequired)
        }
    }

    fn room(&self, token: &str) -> Res<(Room, Perms)> {
        let room = load_room(self.db, token)?;
        let p = perms(self.db, &room, self.user.as_deref(), self.now)?;
        if p.banned {
            return Err(SogsError::Forbidden);
        }
        // Any authenticated use of a room counts as activity (pysogs `update_room_activity`).
        if let Some(u) = &self.user {
            self.db.execute(
                "INSERT INTO room_users (room, session_id, last_active) VALUES (?1, ?2, ?3)
                 ON CONFLICT (room, session_id) DO UPDATE SET last_active = ?3",
                params![room.id, u, self.now],
            )?;
        }
        Ok((room, p))
    }

    fn readable(&self, token: &str) -> Res<(Room, Perms)> {
        let (room, p) = self.room(token)?;
        if !p.read {
            return Err(if self.user.is_some() {
                SogsError::Forbidden
            } else {
                SogsError::Unauthorized
            });
        }
        Ok((room, p))
    }

    fn moderated(&self, token: &str) -> Res<(Room, Perms)> {
        let (room, p) = self.room(token)?;
        self.user()?;
        if !p.moderator {
            return Err(SogsError::Forbidden);
        }
        Ok((room, p))
    }

    fn next_seqno(&self, room: i64) -> Res<i64> {
        Ok(self.db.query_row(
            "UPDATE rooms SET message_sequence = message_sequence + 1 WHERE id = ?1
             RETURNING message_sequence",
            params![room],
            |r| r.get(0),
        )?)
    }
}

impl SogsState {
    /// Answer one v4 request of the SOGS API (blocking: database and disk).
    pub fn handle(&self, req: &V4Request) -> V4Response {
        let Ok(db) = self.db.lock() else {
            return SogsError::Storage.reply().into_v4();
        };
        let now = self.now_s();
        let body = req.body.as_deref().unwrap_or_default();
        let user = match self.authenticate(&db, req, body, now) {
            Ok(u) => u,
            Err(e) => return e.reply().into_v4(),
        };
        let ctx = Ctx {
            state: self,
            db: &db,
            user,
            now,
        };
        let reply = match ctx.dispatch(
            &req.method,
            &req.endpoint,
            body,
            header(req, "content-disposition"),
            true,
        ) {
            Ok(r) => r,
            Err(e) => e.reply(),
        };
        reply.into_v4()
    }

    fn authenticate(
        &self,
        db: &Connection,
        req: &V4Request,
        body: &[u8],
        now: f64,
    ) -> Res<Option<String>> {
        let names = [
            "X-SOGS-Pubkey",
            "X-SOGS-Timestamp",
            "X-SOGS-Nonce",
            "X-SOGS-Signature",
        ];
        let vals: Vec<Option<&str>> = names.iter().map(|n| header(req, n)).collect();
        let (Some(pk), Some(ts), Some(nonce), Some(sig)) = (vals[0], vals[1], vals[2], vals[3])
        else {
            if vals.iter().any(Option::is_some) {
                return Err(SogsError::BadRequest);
            }
            return Ok(None);
        };
        let decoded = percent_decode(&req.endpoint).ok_or(SogsError::BadRequest)?;
        let paths = [decoded.as_str(), req.endpoint.as_str()];
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let now_secs = now.max(0.0) as u64;
        let signer = blinding::verify_request(
            pk,
            ts,
            nonce,
            sig,
            &self.x25519_public(),
            &req.method,
            &paths,
            body,
            now_secs,
            TIMESTAMP_WINDOW_SECS,
            self.require_blind,
        )?;
        let sid = hex::encode(signer.id);
        let fresh = db.execute(
            "INSERT OR IGNORE INTO nonces (session_id, nonce, at) VALUES (?1, ?2, ?3)",
            params![sid, &signer.nonce[..], now],
        )?;
        if fresh == 0 {
            return Err(SogsError::TooEarly);
        }
        db.execute(
            "INSERT INTO users (session_id, created, last_active) VALUES (?1, ?2, ?2)
             ON CONFLICT (session_id) DO UPDATE SET last_active = ?2",
            params![sid, now],
        )?;
        Ok(Some(sid))
    }
}

impl Ctx<'_> {
    fn dispatch(
        &self,
        method: &str,
        endpoint: &str,
        body: &[u8],
        disposition: Option<&str>,
        outer: bool,
    ) -> Res<Reply> {
        if !endpoint.starts_with('/') {
            return Err(SogsError::BadRequest);
        }
        let (path, q) = endpoint.split_once('?').unwrap_or((endpoint, ""));
        let mut query = BTreeMap::new();
        for kv in q.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            query.insert(
                percent_decode(k).ok_or(SogsError::BadRequest)?,
                percent_decode(v).ok_or(SogsError::BadRequest)?,
            );
        }
        let segs: Vec<String> = path
            .trim_start_matches('/')
            .split('/')
            .map(percent_decode)
            .collect::<Option<_>>()
            .ok_or(SogsError::BadRequest)?;
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        let m = method;
        let int = |v: &str| v.parse::<i64>().map_err(|_| SogsError::NotFound);
        match s.as_slice() {
            ["capabilities"] => expect(m, "GET").and_then(|()| capabilities(&query)),
            ["batch"] | ["sequence"] if outer => {
                expect(m, "POST")?;
                self.batch(body, s[0] == "sequence")
            }
            ["rooms"] => expect(m, "GET").and_then(|()| self.rooms()),
            ["room", t] => match m {
                "GET" => self.room_info(t),
                "PUT" => self.update_room(t, body),
                _ => Err(SogsError::MethodNotAllowed),
            },
            ["room", t, "pollInfo", n] => {
                expect(m, "GET")?;
                self.poll_info(t, int(n)?)
            }
            ["room", t, "messages", "recent"] => {
                expect(m, "GET")?;
                self.messages(t, Select::Recent, &query)
            }
            ["room", t, "messages", "since", n] => {
                expect(m, "GET")?;
                self.messages(t, Select::Since(int(n)?), &query)
            }
            ["room", t, "messages", "before", n] => {
                expect(m, "GET")?;
                self.messages(t, Select::Before(int(n)?), &query)
            }
            ["room", t, "message"] => expect(m, "POST").and_then(|()| self.post(t, body)),
            ["room", t, "message", n] => match m {
                "GET" => self.one(t, int(n)?, &query),
                "PUT" => self.edit(t, int(n)?, body),
                "DELETE" => self.delete(t, int(n)?),
                _ => Err(SogsError::MethodNotAllowed),
            },
            ["room", t, "reaction", n, rest @ ..] if !rest.is_empty() => {
                let emoji = rest.join("/");
                match m {
                    "PUT" => self.react(t, int(n)?, &emoji, true),
                    "DELETE" => self.react(t, int(n)?, &emoji, false),
                    _ => Err(SogsError::MethodNotAllowed),
                }
            }
            ["room", t, "reactions", n, rest @ ..] => {
                expect(m, "DELETE")?;
                let emoji = (!rest.is_empty()).then(|| rest.join("/"));
                self.clear_reactions(t, int(n)?, emoji.as_deref())
            }
            ["room", t, "reactors", n, rest @ ..] if !rest.is_empty() => {
                expect(m, "GET")?;
                self.reactors(t, int(n)?, &rest.join("/"), &query)
            }
            ["room", t, "pin", n] => {
                expect(m, "POST").and_then(|()| self.pin(t, Some(int(n)?), true))
            }
            ["room", t, "unpin", "all"] => {
                expect(m, "POST").and_then(|()| self.pin(t, None, false))
            }
            ["room", t, "unpin", n] => {
                expect(m, "POST").and_then(|()| self.pin(t, Some(int(n)?), false))
            }
            ["room", t, "file"] => {
                expect(m, "POST").and_then(|()| self.upload(t, body, disposition))
            }
            ["room", t, "file", n] | ["room", t, "file", n, _] => {
                expect(m, "GET").and_then(|()| self.download(t, int(n)?))
            }
            ["room", t, "all", sid] => expect(m, "DELETE").and_then(|()| self.delete_all(t, sid)),
            ["room", t, "permissions", sid] => {
                expect(m, "POST").and_then(|()| self.set_permissions(t, sid, body))
            }
            ["inbox"] => match m {
                "GET" => self.boxed(false, None, &query),
                "DELETE" => self.clear_inbox(),
                _ => Err(SogsError::MethodNotAllowed),
            },
            ["inbox", "since", n] => {
                expect(m, "GET").and_then(|()| self.boxed(false, Some(int(n)?), &query))
            }
            ["inbox", sid] => expect(m, "POST").and_then(|()| self.send_dm(sid, body)),
            ["outbox"] => expect(m, "GET").and_then(|()| self.boxed(true, None, &query)),
            ["outbox", "since", n] => {
                expect(m, "GET").and_then(|()| self.boxed(true, Some(int(n)?), &query))
            }
            ["user", sid, "moderator"] => expect(m, "POST").and_then(|()| self.set_mod(sid, body)),
            ["user", sid, "ban"] => expect(m, "POST").and_then(|()| self.ban(sid, body, true)),
            ["user", sid, "unban"] => expect(m, "POST").and_then(|()| self.ban(sid, body, false)),
            _ => Err(SogsError::NotFound),
        }
    }

    fn batch(&self, body: &[u8], sequence: bool) -> Res<Reply> {
        let Value::Array(subs) = json_body(body)? else {
            return Err(SogsError::BadRequest);
        };
        if subs.len() > MAX_BATCH {
            return Err(SogsError::TooLarge);
        }
        // Parse all first (pysogs `parse_batch_request`): one bad entry fails the batch.
        let mut parsed = Vec::with_capacity(subs.len());
        for sub in &subs {
            let method = sub.get("method").and_then(Value::as_str);
            let path = sub.get("path").and_then(Value::as_str);
            let (Some(method), Some(path)) = (method, path) else {
                return Err(SogsError::BadRequest);
            };
            if !path.starts_with('/') {
                return Err(SogsError::BadRequest);
            }
            let has_body = matches!(method, "POST" | "PUT");
            if !has_body && !matches!(method, "GET" | "DELETE") {
                return Err(SogsError::BadRequest);
            }
            let bodies = ["json", "b64", "bytes"]
                .iter()
                .filter(|k| sub.get(**k).is_some())
                .count();
            if has_body != (bodies == 1) || bodies > 1 {
                return Err(SogsError::BadRequest);
            }
            let data = if let Some(j) = sub.get("json") {
                j.to_string().into_bytes()
            } else if let Some(b) = sub.get("b64") {
                unb64(Some(b))?
            } else if let Some(b) = sub.get("bytes") {
                b.as_str().ok_or(SogsError::BadRequest)?.as_bytes().to_vec()
            } else {
                Vec::new()
            };
            let disposition = sub
                .get("headers")
                .and_then(Value::as_object)
                .and_then(|h| {
                    h.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("content-disposition"))
                })
                .and_then(|(_, v)| v.as_str())
                .map(str::to_string);
            parsed.push((method.to_string(), path.to_string(), data, disposition));
        }
        let mut out = Vec::with_capacity(parsed.len());
        for (method, path, data, disposition) in parsed {
            let r = self
                .dispatch(&method, &path, &data, disposition.as_deref(), false)
                .unwrap_or_else(SogsError::reply);
            let code = r.code;
            let body = if r.content_type == "application/json" {
                serde_json::from_slice(&r.body).unwrap_or(Value::Null)
            } else {
                b64(&r.body)
            };
            let mut headers = Map::new();
            headers.insert("content-type".into(), Value::String(r.content_type));
            for (k, v) in r.extra {
                headers.insert(k, Value::String(v));
            }
            out.push(json!({"code": code, "headers": headers, "body": body}));
            if sequence && !(200..300).contains(&code) {
                break;
            }
        }
        Reply::ok(&Value::Array(out))
    }

    fn room_json(&self, room: &Room, p: Perms) -> Res<Value> {
        let active: i64 = self.db.query_row(
            "SELECT COUNT(*) FROM room_users WHERE room = ?1 AND last_active > ?2",
            params![room.id, self.now - ACTIVE_CUTOFF_SECS],
            |r| r.get(0),
        )?;
        let mut mods = Vec::new();
        let mut admins = Vec::new();
        let mut hidden_mods = Vec::new();
        let mut hidden_admins = Vec::new();
        {
            let mut st = self.db.prepare(
                "SELECT session_id, admin, visible FROM moderators WHERE room = ?1
                 ORDER BY session_id",
            )?;
            let rows = st.query_map(params![room.id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get::<_, bool>(2)?,
                ))
            })?;
            for row in rows {
                let (sid, admin, visible) = row?;
                match (admin, visible) {
                    (true, true) => admins.push(sid),
                    (false, true) => mods.push(sid),
                    (true, false) => hidden_admins.push(sid),
                    (false, false) => hidden_mods.push(sid),
                }
            }
        }
        let mut v = json!({
            "token": room.token,
            "name": room.name,
            "info_updates": room.info_updates,
            "message_sequence": room.message_sequence,
            "created": room.created,
            "active_users": active,
            "active_users_cutoff": ACTIVE_CUTOFF_SECS as i64,
            "moderators": mods,
            "admins": admins,
            "read": p.read,
            "write": p.write,
            "upload": p.upload,
        });
        if let Some(d) = &room.description {
            v["description"] = json!(d);
        }
        if let Some(i) = room.image_id {
            v["image_id"] = json!(i);
        }
        let pinned = self.pinned(room.id)?;
        if !pinned.is_empty() {
            v["pinned_messages"] = Value::Array(pinned);
        }
        if p.moderator {
            if !hidden_mods.is_empty() {
                v["hidden_moderators"] = json!(hidden_mods);
            }
            if !hidden_admins.is_empty() {
                v["hidden_admins"] = json!(hidden_admins);
            }
            self.mod_fields(&mut v, room, p);
        }
        Ok(v)
    }

    fn mod_fields(&self, v: &mut Value, room: &Room, p: Perms) {
        if p.moderator {
            v["moderator"] = json!(true);
            v["default_read"] = json!(room.default_read);
            v["default_accessible"] = json!(true);
            v["default_write"] = json!(room.default_write);
            v["default_upload"] = json!(room.default_upload);
        }
        if p.admin {
            v["admin"] = json!(true);
        }
    }

    fn pinned(&self, room: i64) -> Res<Vec<Value>> {
        let mut st = self.db.prepare(
            "SELECT message, pinned_at, pinned_by FROM pinned WHERE room = ?1 ORDER BY pinned_at",
        )?;
        let rows = st.query_map(params![room], |r| {
            Ok(json!({
                "id": r.get::<_, i64>(0)?,
                "pinned_at": r.get::<_, f64>(1)?,
                "pinned_by": r.get::<_, String>(2)?,
            }))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn rooms(&self) -> Res<Reply> {
        let tokens: Vec<String> = {
            let mut st = self.db.prepare("SELECT token FROM rooms ORDER BY id")?;
            let rows = st.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut out = Vec::new();
        for t in tokens {
            let Ok((room, p)) = self.room(&t) else {
                continue;
            };
            if p.read {
                out.push(self.room_json(&room, p)?);
            }
        }
        Reply::ok(&Value::Array(out))
    }

    fn room_info(&self, token: &str) -> Res<Reply> {
        let (room, p) = self.room(token)?;
        Reply::ok(&self.room_json(&room, p)?)
    }

    /// `PUT /room/<t>` (admins; pysogs rooms.py `update_room`): any of `name`, `description`
    /// (`null` or empty removes it), `default_read|write|upload`, `image` (a file of the room,
    /// which then never expires).
    fn update_room(&self, token: &str, body: &[u8]) -> Res<Reply> {
        let (room, p) = self.moderated(token)?;
        if !p.admin {
            return Err(SogsError::Forbidden);
        }
        let v = json_body(body)?;
        let obj = v.as_object().ok_or(SogsError::BadRequest)?;
        let mut did = false;
        if let Some(n) = obj.get("name") {
            let n: String = n
                .as_str()
                .ok_or(SogsError::BadRequest)?
                .chars()
                .filter(|c| !c.is_control())
                .collect();
            if n.is_empty() || n.len() > 1000 {
                return Err(SogsError::BadRequest);
            }
            self.db.execute(
                "UPDATE rooms SET name = ?2 WHERE id = ?1",
                params![room.id, n],
            )?;
            did = true;
        }
        if let Some(d) = obj.get("description") {
            let d: Option<String> = match d {
                Value::Null => None,
                Value::String(d) => Some(
                    d.chars()
                        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
                        .collect(),
                ),
                _ => return Err(SogsError::BadRequest),
            };
            let d = d.filter(|d| !d.is_empty());
            if d.as_ref().is_some_and(|d| d.len() > 10_000) {
                return Err(SogsError::TooLarge);
            }
            self.db.execute(
                "UPDATE rooms SET description = ?2 WHERE id = ?1",
                params![room.id, d],
            )?;
            did = true;
        }
        for (key, col) in [
            ("default_read", "default_read"),
            ("default_write", "default_write"),
            ("default_upload", "default_upload"),
        ] {
            match obj.get(key) {
                None | Some(Value::Null) => {}
                Some(Value::Bool(b)) => {
                    self.db.execute(
                        &format!("UPDATE rooms SET {col} = ?2 WHERE id = ?1"),
                        params![room.id, b],
                    )?;
                    did = true;
                }
                Some(_) => return Err(SogsError::BadRequest),
            }
        }
        if let Some(img) = obj.get("image") {
            let img = img.as_i64().ok_or(SogsError::BadRequest)?;
            let kept = self.db.execute(
                "UPDATE files SET expiry = NULL WHERE id = ?1 AND room = ?2
                     AND (expiry IS NULL OR expiry > ?3)",
                params![img, room.id, self.now],
            )?;
            if kept == 0 {
                return Err(SogsError::NotAcceptable);
            }
            self.db.execute(
                "UPDATE rooms SET image_id = ?2 WHERE id = ?1",
                params![room.id, img],
            )?;
            did = true;
        }
        if !did {
            return Err(SogsError::BadRequest);
        }
        let info = store::bump_info(self.db, room.id)?;
        Reply::ok(&json!({"info_updates": info}))
    }

    fn poll_info(&self, token: &str, info_updated: i64) -> Res<Reply> {
        let (room, p) = self.readable(token)?;
        let active: i64 = self.db.query_row(
            "SELECT COUNT(*) FROM room_users WHERE room = ?1 AND last_active > ?2",
            params![room.id, self.now - ACTIVE_CUTOFF_SECS],
            |r| r.get(0),
        )?;
        let mut v = json!({
            "token": room.token,
            "active_users": active,
            "read": p.read,
            "write": p.write,
            "upload": p.upload,
        });
        if room.info_updates != info_updated {
            v["details"] = self.room_json(&room, p)?;
        }
        self.mod_fields(&mut v, &room, p);
        Reply::ok(&v)
    }
}

fn expect(method: &str, want: &str) -> Res<()> {
    if method == want {
        Ok(())
    } else {
        Err(SogsError::MethodNotAllowed)
    }
}

fn capabilities(query: &BTreeMap<String, String>) -> Res<Reply> {
    let mut v = json!({"capabilities": CAPABILITIES});
    if let Some(req) = query.get("required") {
        let missing: Vec<&str> = req
            .split(',')
            .filter(|c| !c.is_empty() && !CAPABILITIES.contains(c))
            .collect();
        if !missing.is_empty() {
            v["missing"] = json!(missing);
            return Ok(Reply::json(412, &v));
        }
    }
    Reply::ok(&v)
}

/// Which messages a poll selects (room.py `get_messages_for`).
#[derive(Debug, Clone, Copy)]
enum Select {
    Recent,
    Since(i64),
    Before(i64),
    One(i64),
}

struct MsgRow {
    id: i64,
    session_id: String,
    posted: f64,
    edited: Option<f64>,
    seqno: i64,
    seqno_data: i64,
    seqno_reactions: i64,
    data: Option<Vec<u8>>,
    signature: Option<Vec<u8>>,
    whisper_to: Option<String>,
    whisper_mods: bool,
}

const MSG_COLS: &str = "id, session_id, posted, edited, seqno, seqno_data, seqno_reactions, \
                        data, signature, whisper_to, whisper_mods";

fn msg_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MsgRow> {
    Ok(MsgRow {
        id: r.get(0)?,
        session_id: r.get(1)?,
        posted: r.get(2)?,
        edited: r.get(3)?,
        seqno: r.get(4)?,
        seqno_data: r.get(5)?,
        seqno_reactions: r.get(6)?,
        data: r.get(7)?,
        signature: r.get(8)?,
        whisper_to: r.get(9)?,
        whisper_mods: r.get(10)?,
    })
}

impl Ctx<'_> {
    fn reactions_of(&self, msg: i64, reactors: i64) -> Res<Value> {
        let mut out = Map::new();
        let list: Vec<(String, i64)> = {
            let mut st = self.db.prepare(
                "SELECT reaction, COUNT(*) FROM reactions WHERE message = ?1
                 GROUP BY reaction ORDER BY MIN(rowid)",
            )?;
            let rows = st.query_map(params![msg], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        for (i, (reaction, count)) in list.into_iter().enumerate() {
            let mut v = json!({"index": i, "count": count});
            if let Some(u) = &self.user {
                let you: bool = self.db.query_row(
                    "SELECT COUNT(*) > 0 FROM reactions WHERE message = ?1 AND reaction = ?2
                         AND session_id = ?3",
                    params![msg, reaction, u],
                    |r| r.get(0),
                )?;
                if you {
                    v["you"] = json!(true);
                }
            }
            if reactors > 0 {
                let mut st = self.db.prepare(
                    "SELECT session_id FROM reactions WHERE message = ?1 AND reaction = ?2
                     ORDER BY at, rowid LIMIT ?3",
                )?;
                let rows =
                    st.query_map(params![msg, reaction, reactors], |r| r.get::<_, String>(0))?;
                v["reactors"] = json!(rows.collect::<Result<Vec<_>, _>>()?);
            }
            out.insert(reaction, v);
        }
        Ok(Value::Object(out))
    }

    fn message_json(&self, m: &MsgRow, since: Option<i64>, reactors: i64) -> Res<Value> {
        if let Some(s) = since
            && m.seqno_reactions > s
            && s >= m.seqno_data
        {
            // A reaction-only update (room.py): id, seqno and the reactions.
            return Ok(json!({
                "id": m.id,
                "seqno": m.seqno,
                "reactions": self.reactions_of(m.id, reactors)?,
            }));
        }
        let mut v = json!({
            "id": m.id,
            "session_id": m.session_id,
            "posted": m.posted,
            "seqno": m.seqno,
        });
        match (&m.data, &m.signature) {
            (Some(d), Some(sig)) => {
                v["data"] = b64(d);
                v["signature"] = b64(sig);
                v["reactions"] = self.reactions_of(m.id, reactors)?;
            }
            _ => {
                v["data"] = Value::Null;
                v["deleted"] = json!(true);
            }
        }
        if let Some(e) = m.edited {
            v["edited"] = json!(e);
        }
        if m.whisper_to.is_some() || m.whisper_mods {
            v["whisper"] = json!(true);
            v["whisper_mods"] = json!(m.whisper_mods);
            if let Some(w) = &m.whisper_to {
                v["whisper_to"] = json!(w);
            }
        }
        Ok(v)
    }

    /// The messages `sel` picks that this user may see: whispers only to their recipient, and
    /// to moderators those to moderators and the ones they sent (room.py `get_messages_for`).
    fn select(&self, room: i64, sel: Select, limit: i64, moderator: bool) -> Res<Vec<MsgRow>> {
        let (clause, arg, order) = match sel {
            Select::Recent => ("AND data IS NOT NULL", 0, "ORDER BY id DESC"),
            // Tombstones only of messages created before the poller's seqno (room.py).
            Select::Since(s) => (
                "AND seqno > ?2 AND (data IS NOT NULL OR seqno_creation <= ?2)",
                s,
                "ORDER BY seqno ASC",
            ),
            Select::Before(id) => ("AND data IS NOT NULL AND id < ?2", id, "ORDER BY id DESC"),
            Select::One(id) => ("AND data IS NOT NULL AND id = ?2", id, ""),
        };
        let whisper = match (&self.user, moderator) {
            (Some(_), true) => {
                "AND (whisper_mods OR whisper_to = ?4 OR session_id = ?4 OR whisper_to IS NULL)"
            }
            (Some(_), false) => {
                "AND (whisper_to = ?4 OR (whisper_to IS NULL AND NOT whisper_mods))"
            }
            (None, _) => "AND (?4 = ?4) AND whisper_to IS NULL AND NOT whisper_mods",
        };
        let sql = format!(
            "SELECT {MSG_COLS} FROM messages WHERE room = ?1 AND (?2 = ?2) {clause} {whisper}
             {order} LIMIT ?3"
        );
        let mut st = self.db.prepare(&sql)?;
        let me = self.user.as_deref().unwrap_or_default();
        let rows = st.query_map(params![room, arg, limit, me], msg_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn messages(&self, token: &str, sel: Select, q: &BTreeMap<String, String>) -> Res<Reply> {
        let (room, p) = self.readable(token)?;
        let limit = query_int(q, "limit", 100, 1, 256);
        let reactors = query_int(q, "reactors", 4, 0, 20);
        let reaction_updates = q.get("t").is_some_and(|t| t.contains('r'));
        let mut rows = self.select(room.id, sel, limit, p.moderator)?;
        let since = match sel {
            Select::Since(s) => {
                if !reaction_updates {
                    rows.retain(|m| m.seqno_data > s);
                }
                reaction_updates.then_some(s)
            }
            _ => None,
        };
        let out = rows
            .iter()
            .map(|m| self.message_json(m, since, reactors))
            .collect::<Res<Vec<_>>>()?;
        Reply::ok(&Value::Array(out))
    }

    fn one(&self, token: &str, id: i64, q: &BTreeMap<String, String>) -> Res<Reply> {
        let (room, p) = self.readable(token)?;
        let reactors = query_int(q, "reactors", 4, 0, 20);
        let rows = self.select(room.id, Select::One(id), 1, p.moderator)?;
        let m = rows.first().ok_or(SogsError::NotFound)?;
        Reply::ok(&self.message_json(m, None, reactors)?)
    }

    fn writable(&self, token: &str) -> Res<(Room, Perms, &str)> {
        let (room, p) = self.room(token)?;
        let user = self.user()?;
        if !p.write {
            return Err(SogsError::Forbidden);
        }
        Ok((room, p, user))
    }

    fn data_and_sig(v: &Value) -> Res<(Vec<u8>, Vec<u8>)> {
        let data = unb64(v.get("data"))?;
        let sig = unb64(v.get("signature"))?;
        if data.is_empty() || sig.len() != 64 {
            return Err(SogsError::BadRequest);
        }
        if data.len() > MAX_MESSAGE_BYTES {
            return Err(SogsError::TooLarge);
        }
        Ok((data, sig))
    }

    fn attach_files(&self, room: i64, user: &str, v: &Value) -> Res<()> {
        let Some(files) = v.get("files") else {
            return Ok(());
        };
        let files = files.as_array().ok_or(SogsError::BadRequest)?;
        for f in files {
            let id = f.as_i64().ok_or(SogsError::BadRequest)?;
            self.db.execute(
                "UPDATE files SET expiry = MAX(COALESCE(expiry, 0), ?4)
                 WHERE id = ?1 AND room = ?2 AND uploader = ?3 AND expiry IS NOT NULL",
                params![id, room, user, self.now + FILE_EXPIRY_SECS],
            )?;
        }
        Ok(())
    }

    fn post(&self, token: &str, body: &[u8]) -> Res<Reply> {
        let (room, p, user) = self.writable(token)?;
        let v = json_body(body)?;
        // Whispers (room.py `add_post`): moderators only; to a blinded id (so no Account ID
        // is stored) and/or to the moderators.
        let whisper_to = match v.get("whisper_to") {
            None | Some(Value::Null) => None,
            Some(Value::String(w)) if is_blinded_id(w) => Some(w.to_ascii_lowercase()),
            Some(_) => return Err(SogsError::BadRequest),
        };
        let whisper_mods = match v.get("whisper_mods") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(SogsError::BadRequest),
        };
        if (whisper_to.is_some() || whisper_mods) && !p.moderator {
            return Err(SogsError::Forbidden);
        }
        let (data, sig) = Self::data_and_sig(&v)?;
        let seqno = self.next_seqno(room.id)?;
        let id: i64 = self.db.query_row(
            "INSERT INTO messages (room, session_id, posted, seqno, seqno_data, seqno_creation,
                 data, signature, whisper_to, whisper_mods)
             VALUES (?1, ?2, ?3, ?4, ?4, ?4, ?5, ?6, ?7, ?8) RETURNING id",
            params![
                room.id,
                user,
                self.now,
                seqno,
                data,
                sig,
                whisper_to,
                whisper_mods
            ],
            |r| r.get(0),
        )?;
        self.attach_files(room.id, user, &v)?;
        let rows = self.select(room.id, Select::One(id), 1, p.moderator)?;
        let m = rows.first().ok_or(SogsError::Storage)?;
        Ok(Reply::json(201, &self.message_json(m, None, 4)?))
    }

    fn owner_of(&self, room: i64, id: i64) -> Res<String> {
        self.db
            .query_row(
                "SELECT session_id FROM messages WHERE room = ?1 AND id = ?2 AND data IS NOT NULL",
                params![room, id],
                |r| r.get(0),
            )
            .optional()?
            .ok_or(SogsError::NotFound)
    }

    fn edit(&self, token: &str, id: i64, body: &[u8]) -> Res<Reply> {
        let (room, _, user) = self.writable(token)?;
        if self.owner_of(room.id, id)? != user {
            return Err(SogsError::Forbidden);
        }
        let v = json_body(body)?;
        let (data, sig) = Self::data_and_sig(&v)?;
        let seqno = self.next_seqno(room.id)?;
        self.db.execute(
            "UPDATE messages SET data = ?3, signature = ?4, edited = ?5, seqno = ?6,
                 seqno_data = ?6 WHERE room = ?1 AND id = ?2",
            params![room.id, id, data, sig, self.now, seqno],
        )?;
        self.attach_files(room.id, user, &v)?;
        Reply::ok(&json!({}))
    }

    fn tombstone(&self, room: i64, id: i64) -> Res<()> {
        let seqno = self.next_seqno(room)?;
        self.db
            .execute("DELETE FROM reactions WHERE message = ?1", params![id])?;
        if self
            .db
            .execute("DELETE FROM pinned WHERE message = ?1", params![id])?
            > 0
        {
            store::bump_info(self.db, room)?;
        }
        self.db.execute(
            "UPDATE messages SET data = NULL, signature = NULL, seqno = ?3, seqno_data = ?3
             WHERE room = ?1 AND id = ?2",
            params![room, id, seqno],
        )?;
        Ok(())
    }

    fn delete(&self, token: &str, id: i64) -> Res<Reply> {
        let (room, p) = self.room(token)?;
        let user = self.user()?;
        let owner = self.owner_of(room.id, id)?;
        if owner != user && !p.moderator {
            return Err(SogsError::Forbidden);
        }
        self.tombstone(room.id, id)?;
        Reply::ok(&json!({}))
    }

    fn delete_all(&self, token: &str, sid: &str) -> Res<Reply> {
        let (room, _) = self.moderated(token)?;
        let ids = stored_ids(sid, &self.state.x25519_public()).ok_or(SogsError::NotFound)?;
        let mut deleted = 0;
        for sid in ids {
            let msgs: Vec<i64> = {
                let mut st = self.db.prepare(
                    "SELECT id FROM messages WHERE room = ?1 AND session_id = ?2
                         AND data IS NOT NULL",
                )?;
                let rows = st.query_map(params![room.id, sid], |r| r.get(0))?;
                rows.collect::<Result<_, _>>()?
            };
            for id in msgs {
                self.tombstone(room.id, id)?;
                deleted += 1;
            }
        }
        Reply::ok(&json!({"deleted": deleted}))
    }

    fn react(&self, token: &str, id: i64, emoji: &str, add: bool) -> Res<Reply> {
        let (room, p) = self.room(token)?;
        let user = self.user()?;
        if !p.read || !p.write {
            return Err(SogsError::Forbidden);
        }
        if emoji.is_empty() || emoji.chars().count() > MAX_REACTION_CHARS {
            return Err(SogsError::BadRequest);
        }
        self.owner_of(room.id, id)?;
        let changed = if add {
            self.db.execute(
                "INSERT OR IGNORE INTO reactions (message, reaction, session_id, at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![id, emoji, user, self.now],
            )?
        } else {
            self.db.execute(
                "DELETE FROM reactions WHERE message = ?1 AND reaction = ?2 AND session_id = ?3",
                params![id, emoji, user],
            )?
        } > 0;
        let seqno = if changed {
            self.reaction_seqno(room.id, id)?
        } else {
            self.current_seqno(id)?
        };
        let key = if add { "added" } else { "removed" };
        Reply::ok(&json!({key: changed, "seqno": seqno}))
    }

    fn reaction_seqno(&self, room: i64, id: i64) -> Res<i64> {
        let seqno = self.next_seqno(room)?;
        self.db.execute(
            "UPDATE messages SET seqno = ?2, seqno_reactions = ?2 WHERE id = ?1",
            params![id, seqno],
        )?;
        Ok(seqno)
    }

    fn current_seqno(&self, id: i64) -> Res<i64> {
        Ok(self.db.query_row(
            "SELECT seqno FROM messages WHERE id = ?1",
            params![id],
            |r| r.get(0),
        )?)
    }

    fn clear_reactions(&self, token: &str, id: i64, emoji: Option<&str>) -> Res<Reply> {
        let (room, _) = self.moderated(token)?;
        self.owner_of(room.id, id)?;
        let n = match emoji {
            Some(e) => self.db.execute(
                "DELETE FROM reactions WHERE message = ?1 AND reaction = ?2",
                params![id, e],
            )?,
            None => self
                .db
                .execute("DELETE FROM reactions WHERE message = ?1", params![id])?,
        };
        let seqno = if n > 0 {
            self.reaction_seqno(room.id, id)?
        } else {
            self.current_seqno(id)?
        };
        Reply::ok(&json!({"removed": n, "seqno": seqno}))
    }

    fn reactors(
        &self,
        token: &str,
        id: i64,
        emoji: &str,
        q: &BTreeMap<String, String>,
    ) -> Res<Reply> {
        let (room, _) = self.readable(token)?;
        self.owner_of(room.id, id)?;
        let limit = match query_int(q, "limit", 0, 0, 10_000) {
            0 => -1,
            n => n,
        };
        let mut st = self.db.prepare(
            "SELECT session_id, at FROM reactions WHERE message = ?1 AND reaction = ?2
             ORDER BY at, rowid LIMIT ?3",
        )?;
        let rows = st.query_map(params![id, emoji, limit], |r| {
            Ok(json!([r.get::<_, String>(0)?, r.get::<_, f64>(1)?]))
        })?;
        Reply::ok(&Value::Array(rows.collect::<Result<_, _>>()?))
    }

    fn pin(&self, token: &str, id: Option<i64>, pin: bool) -> Res<Reply> {
        let (room, p) = self.moderated(token)?;
        if !p.admin {
            return Err(SogsError::Forbidden);
        }
        let user = self.user()?;
        let n = match (id, pin) {
            (Some(id), true) => {
                self.owner_of(room.id, id)?;
                self.db.execute(
                    "INSERT INTO pinned (room, message, pinned_by, pinned_at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (room, message) DO UPDATE SET pinned_by = ?3, pinned_at = ?4",
                    params![room.id, id, user, self.now],
                )?
            }
            (Some(id), false) => self.db.execute(
                "DELETE FROM pinned WHERE room = ?1 AND message = ?2",
                params![room.id, id],
            )?,
            (None, _) => self
                .db
                .execute("DELETE FROM pinned WHERE room = ?1", params![room.id])?,
        };
        let info = if n > 0 {
            store::bump_info(self.db, room.id)?
        } else {
            room.info_updates
        };
        Reply::ok(&match (id, pin) {
            (Some(_), true) => json!({"info_updates": info}),
            (Some(_), false) => json!({"unpinned": n > 0, "info_updates": info}),
            (None, _) => json!({"unpinned": n, "info_updates": info}),
        })
    }

    fn upload(&self, token: &str, body: &[u8], disposition: Option<&str>) -> Res<Reply> {
        let (room, p) = self.room(token)?;
        let user = self.user()?;
        if !p.upload {
            return Err(SogsError::Forbidden);
        }
        if body.is_empty() || body.len() > MAX_FILE_BYTES {
            return Err(SogsError::TooLarge);
        }
        let filename = disposition.and_then(filename_of);
        let id: i64 = self.db.query_row(
            "INSERT INTO files (room, uploader, size, uploaded, expiry, filename)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
            params![
                room.id,
                user,
                i64::try_from(body.len()).unwrap_or(i64::MAX),
                self.now,
                self.now + FILE_UNREFERENCED_SECS,
                filename
            ],
            |r| r.get(0),
        )?;
        let path = self.state.files_dir.join(id.to_string());
        if std::fs::write(&path, body).is_err() {
            let _ = self
                .db
                .execute("DELETE FROM files WHERE id = ?1", params![id]);
            let _ = std::fs::remove_file(&path);
            return Err(SogsError::Storage);
        }
        Ok(Reply::json(201, &json!({"id": id})))
    }

    fn download(&self, token: &str, id: i64) -> Res<Reply> {
        let (room, _) = self.readable(token)?;
        let row: Option<(Option<String>, Option<f64>)> = self
            .db
            .query_row(
                "SELECT filename, expiry FROM files WHERE id = ?1 AND room = ?2",
                params![id, room.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (filename, expiry) = row.ok_or(SogsError::NotFound)?;
        if expiry.is_some_and(|e| e <= self.now) {
            return Err(SogsError::NotFound);
        }
        let data = std::fs::read(self.state.files_dir.join(id.to_string()))
            .map_err(|_| SogsError::NotFound)?;
        let mut extra = Vec::new();
        if let Some(f) = filename {
            let enc: String = f
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            extra.push((
                "content-disposition".to_string(),
                format!("attachment; filename*=UTF-8''{enc}"),
            ));
        }
        Ok(Reply {
            code: 200,
            content_type: "application/octet-stream".into(),
            body: data,
            extra,
        })
    }

    fn set_permissions(&self, token: &str, sid: &str, body: &[u8]) -> Res<Reply> {
        let (room, _) = self.moderated(token)?;
        let ids = stored_ids(sid, &self.state.x25519_public()).ok_or(SogsError::BadRequest)?;
        let v = json_body(body)?;
        let get = |k: &str| -> Res<Option<bool>> {
            match v.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Bool(b)) => Ok(Some(*b)),
                Some(_) => Err(SogsError::BadRequest),
            }
        };
        let (r, w, u) = (get("read")?, get("write")?, get("upload")?);
        for sid in ids {
            self.db.execute(
                "INSERT INTO user_permissions (room, session_id, read, write, upload)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (room, session_id) DO UPDATE SET read = ?3, write = ?4, upload = ?5",
                params![room.id, sid, r, w, u],
            )?;
        }
        Reply::ok(&json!({}))
    }

    /// The rooms a moderation request names, each one the caller moderates (admin for
    /// `admin_needed`), as pysogs `users.py` `extract_rooms_or_global` (no global rooms here).
    fn target_rooms(&self, v: &Value, admin_needed: bool) -> Res<Vec<Room>> {
        if v.get("global").and_then(Value::as_bool) == Some(true) {
            // Global moderation is not supported (node/README.md).
            return Err(SogsError::Forbidden);
        }
        let tokens = v
            .get("rooms")
            .and_then(Value::as_array)
            .ok_or(SogsError::BadRequest)?;
        if tokens.is_empty() {
            return Err(SogsError::BadRequest);
        }
        let mut rooms = Vec::new();
        for t in tokens {
            let t = t.as_str().ok_or(SogsError::BadRequest)?;
            let (room, p) = self.room(t)?;
            if !p.moderator || (admin_needed && !p.admin) {
                return Err(SogsError::Forbidden);
            }
            rooms.push(room);
        }
        Ok(rooms)
    }

    fn set_mod(&self, sid: &str, body: &[u8]) -> Res<Reply> {
        self.user()?;
        let v = json_body(body)?;
        let flag = |k: &str| v.get(k).and_then(Value::as_bool);
        let (moderator, admin) = (flag("moderator"), flag("admin"));
        if moderator.is_none() && admin.is_none() {
            return Err(SogsError::BadRequest);
        }
        let admin = admin.unwrap_or(false);
        let moderator = moderator.unwrap_or(admin) || admin;
        let visible = flag("visible").unwrap_or(true);
        let rooms = self.target_rooms(&v, true)?;
        let ids = stored_ids(sid, &self.state.x25519_public()).ok_or(SogsError::NotFound)?;
        let mut info = 0;
        for room in rooms {
            for id in &ids {
                store::set_moderator(self.db, room.id, id, moderator, admin, visible)?;
            }
            info = store::bump_info(self.db, room.id)?;
        }
        Reply::ok(&json!({"info_updates": info}))
    }

    fn ban(&self, sid: &str, body: &[u8], ban: bool) -> Res<Reply> {
        self.user()?;
        let v = json_body(body)?;
        let rooms = self.target_rooms(&v, false)?;
        let until = match v.get("timeout") {
            None | Some(Value::Null) => None,
            Some(t) => {
                let t = t
                    .as_f64()
                    .filter(|t| *t > 0.0)
                    .ok_or(SogsError::BadRequest)?;
                Some(self.now + t)
            }
        };
        let ids = stored_ids(sid, &self.state.x25519_public()).ok_or(SogsError::NotFound)?;
        for room in rooms {
            for id in &ids {
                if ban {
                    if perms(self.db, &room, Some(id), self.now)?.moderator {
                        // A moderator cannot be banned (demote first).
                        return Err(SogsError::Forbidden);
                    }
                    self.db.execute(
                        "INSERT INTO bans (room, session_id, until) VALUES (?1, ?2, ?3)
                         ON CONFLICT (room, session_id) DO UPDATE SET until = ?3",
                        params![room.id, id, until],
                    )?;
                } else {
                    self.db.execute(
                        "DELETE FROM bans WHERE room = ?1 AND session_id = ?2",
                        params![room.id, id],
                    )?;
                }
            }
        }
        Reply::ok(&json!({}))
    }

    fn dm_json(r: &rusqlite::Row<'_>, with_message: bool) -> rusqlite::Result<Value> {
        let mut v = json!({
            "id": r.get::<_, i64>(0)?,
            "posted_at": r.get::<_, f64>(1)?,
            "expires_at": r.get::<_, f64>(2)?,
            "sender": r.get::<_, String>(3)?,
            "recipient": r.get::<_, String>(4)?,
        });
        if with_message {
            v["message"] = b64(&r.get::<_, Vec<u8>>(5)?);
        }
        Ok(v)
    }

    fn boxed(&self, out: bool, since: Option<i64>, q: &BTreeMap<String, String>) -> Res<Reply> {
        let user = self.blinded_user()?;
        let limit = query_int(q, "limit", 100, 1, 256);
        let col = if out { "sender" } else { "recipient" };
        let sql = format!(
            "SELECT id, posted_at, expires_at, sender, recipient, body FROM inbox
             WHERE {col} = ?1 AND id > ?2 AND expires_at > ?3 ORDER BY id LIMIT ?4"
        );
        let mut st = self.db.prepare(&sql)?;
        let rows = st.query_map(params![user, since.unwrap_or(0), self.now, limit], |r| {
            Self::dm_json(r, true)
        })?;
        let list: Vec<Value> = rows.collect::<Result<_, _>>()?;
        if list.is_empty() && since.is_some() {
            // pysogs dm.py `_box`: nothing new since the given id is 304.
            return Ok(Reply {
                code: 304,
                content_type: "text/plain; charset=utf-8".into(),
                body: Vec::new(),
                extra: Vec::new(),
            });
        }
        Reply::ok(&Value::Array(list))
    }

    fn send_dm(&self, sid: &str, body: &[u8]) -> Res<Reply> {
        let user = self.blinded_user()?;
        if !is_blinded_id(sid) {
            return Err(SogsError::NotFound);
        }
        let sid = sid.to_ascii_lowercase();
        let known: bool = self.db.query_row(
            "SELECT COUNT(*) > 0 FROM users WHERE session_id = ?1",
            params![sid],
            |r| r.get(0),
        )?;
        if !known {
            return Err(SogsError::NotFound);
        }
        let v = json_body(body)?;
        let msg = unb64(v.get("message"))?;
        if msg.is_empty() {
            return Err(SogsError::BadRequest);
        }
        if msg.len() > MAX_DM_BYTES {
            return Err(SogsError::TooLarge);
        }
        let v = self.db.query_row(
            "INSERT INTO inbox (recipient, sender, body, posted_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             RETURNING id, posted_at, expires_at, sender, recipient, body",
            params![sid, user, msg, self.now, self.now + DM_EXPIRY_SECS],
            |r| Self::dm_json(r, false),
        )?;
        Ok(Reply::json(201, &v))
    }

    fn clear_inbox(&self) -> Res<Reply> {
        let user = self.blinded_user()?;
        let n = self
            .db
            .execute("DELETE FROM inbox WHERE recipient = ?1", params![user])?;
        Reply::ok(&json!({"deleted": n}))
    }
}

/// The file name of a `Content-Disposition` header (`filename*=UTF-8''…` or `filename="…"`),
/// at most 255 bytes, without path separators.
fn filename_of(h: &str) -> Option<String> {
    let mut plain = None;
    for part in h.split(';').map(str::trim) {
        if let Some(v) = part.strip_prefix("filename*=") {
            let v = v.trim_matches('"');
            let v = v
                .strip_prefix("UTF-8''")
                .or_else(|| v.strip_prefix("utf-8''"))?;
            plain = percent_decode(v);
            break;
        }
        if let Some(v) = part.strip_prefix("filename=") {
            plain = Some(v.trim_matches('"').to_string());
        }
    }
    plain.filter(|f| !f.is_empty() && f.len() <= 255 && !f.contains(['/', '\\', '\0']))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sogs::SogsConfig;

    /// Random compositions of route pieces, methods, bodies and headers: every answer is a
    /// typed status, never a panic.
    #[test]
    fn junk_requests_get_typed_answers() {
        let dir = tempfile::tempdir().expect("tmp");
        let st = SogsState::open(&SogsConfig::new(dir.path())).expect("open");
        st.add_room("lobby", "Lobby").expect("room");
        let server = st.x25519_public();
        let member = blinding::BlindedKeyPair::blind15(
            &ed25519_dalek::SigningKey::from_bytes(&[1; 32]),
            &server,
        );
        let admin = blinding::BlindedKeyPair::blind15(
            &ed25519_dalek::SigningKey::from_bytes(&[2; 32]),
            &server,
        );
        st.add_moderator(&admin.id_hex(), "lobby", true)
            .expect("admin");
        let blinded = format!("/15{}", "ab".repeat(32));
        let account = format!("/05{}", "cd".repeat(32));
        let pieces: Vec<&str> = vec![
            "/room",
            "/rooms",
            "/lobby",
            "/nope",
            "/message",
            "/messages",
            "/recent",
            "/since",
            "/before",
            "/-1",
            "/0",
            "/1",
            "/99999999999999999999",
            "/%",
            "/%F0",
            "/%F0%9F%8E%82",
            "/reaction",
            "/reactions",
            "/reactors",
            "/pin",
            "/unpin",
            "/all",
            "/file",
            "/x.png",
            "/inbox",
            "/outbox",
            "/batch",
            "/sequence",
            "/user",
            "/moderator",
            "/ban",
            "/unban",
            "/permissions",
            "/pollInfo",
            "/capabilities",
            &blinded,
            &account,
            "?limit=",
            "?limit=-5&t=r&reactors=99",
            "?required=",
            "//",
            "/..",
            "",
        ];
        let bodies: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"{}".to_vec(),
            b"[]".to_vec(),
            b"null".to_vec(),
            b"{not json".to_vec(),
            br#"[{"method":"GET","path":"/batch"},{"method":"POST","path":"/sequence","json":[]}]"#
                .to_vec(),
            br#"[{"method":"POST","path":"/room/lobby/message","b64":"!!"}]"#.to_vec(),
            br#"{"data":"!!","signature":"AA=="}"#.to_vec(),
            br#"{"data":"aGk=","signature":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","files":[1,"x"]}"#.to_vec(),
            br#"{"rooms":["lobby"],"timeout":-1,"moderator":true,"admin":"yes"}"#.to_vec(),
            br#"{"rooms":[],"global":true}"#.to_vec(),
            br#"{"message":"AAAA"}"#.to_vec(),
            vec![0xff, 0x00, 0x80],
        ];
        let methods = ["GET", "POST", "PUT", "DELETE", "PATCH", ""];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            usize::try_from(x % n as u64).unwrap_or(0)
        };
        let mut seen = BTreeMap::new();
        for _ in 0..2000 {
            let mut endpoint = String::new();
            for _ in 0..=next(5) {
                endpoint.push_str(pieces[next(pieces.len())]);
            }
            if next(10) == 0 {
                endpoint = endpoint.trim_start_matches('/').to_string();
            }
            let mut headers = BTreeMap::new();
            match next(4) {
                0 => {
                    headers.insert("X-SOGS-Pubkey".into(), blinded[1..].to_string());
                }
                1 => {
                    headers.insert("x-sogs-pubkey".into(), "00zz".into());
                    headers.insert("X-SOGS-Timestamp".into(), "-1".into());
                    headers.insert("X-SOGS-Nonce".into(), "AAAA".into());
                    headers.insert("X-SOGS-Signature".into(), "%%%".into());
                }
                _ => {}
            }
            let method = methods[next(methods.len())];
            let body = bodies[next(bodies.len())].clone();
            if next(2) == 0 {
                // Signed by a member (every third time, the room's admin).
                let kp = if next(3) == 0 { &admin } else { &member };
                let mut nonce = [0u8; 16];
                nonce[..8].copy_from_slice(&(next(usize::MAX) as u64).to_le_bytes());
                let h = blinding::sign_request(
                    blinding::RequestSigner::Blinded(kp, blinding::Blind15Nonce::Libsession),
                    &server,
                    &nonce,
                    st.clock.now_ms() / 1000,
                    method,
                    &endpoint,
                    &body,
                );
                headers = h
                    .pairs()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
            }
            let req = V4Request {
                method: method.into(),
                endpoint,
                headers,
                body: Some(body),
            };
            let r = st.handle(&req);
            assert!((200..600).contains(&r.code), "{}", r.code);
            assert_ne!(r.code, 500, "{} {}", req.method, req.endpoint);
            *seen.entry(r.code).or_insert(0) += 1;
        }
        // Authenticated requests got past the check, and some even succeeded.
        assert!(seen.contains_key(&200), "{seen:?}");
        assert!(
            seen.contains_key(&404) && seen.contains_key(&400),
            "{seen:?}"
        );
    }

    #[test]
    fn decoding_helpers() {
        assert_eq!(percent_decode("%F0%9F%8E%82").as_deref(), Some("🎂"));
        assert_eq!(percent_decode("%F"), None);
        assert_eq!(percent_decode("%ff"), None);
        assert_eq!(
            filename_of("attachment; filename*=UTF-8''a%20b.png").as_deref(),
            Some("a b.png")
        );
        assert_eq!(
            filename_of("attachment; filename=\"x.txt\"").as_deref(),
            Some("x.txt")
        );
        assert_eq!(filename_of("attachment; filename=\"../x\""), None);
        assert!(is_blinded_id(&format!("15{}", "a".repeat(64))));
        assert!(!is_blinded_id(&format!("05{}", "a".repeat(64))));
    }
}
