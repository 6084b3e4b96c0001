//! The community server's SQLite schema and the small queries the admin and the sweep share.
//!
//! Tables (after pysogs `schema.sqlite`, reduced): `rooms` (token, name, description, counters
//! `message_sequence` / `info_updates`, default permissions), `users` (every id that has
//! authenticated: `15…`/`25…` when clients blind, never a `05` Account ID), `room_users`
//! (activity per room), `messages` (data and signature as posted, `NULL` once deleted;
//! `seqno_data` / `seqno_reactions` / `seqno_creation` as room.py uses them), `reactions`,
//! `pinned`, `moderators`, `bans`, `user_permissions` (per-room overrides), `files`, `inbox`
//! (blinded DMs) and `nonces` (one use per signer). Times are unix seconds as REAL.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::NodeError;

/// How long a nonce is remembered: longer than the ±24 h timestamp window on both sides.
pub const NONCE_KEEP_SECS: f64 = 2.0 * 86_400.0 + 60.0;

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS rooms (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT,
    created REAL NOT NULL,
    message_sequence INTEGER NOT NULL DEFAULT 0,
    info_updates INTEGER NOT NULL DEFAULT 0,
    image_id INTEGER,
    default_read INTEGER NOT NULL DEFAULT 1,
    default_write INTEGER NOT NULL DEFAULT 1,
    default_upload INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS users (
    session_id TEXT PRIMARY KEY NOT NULL,
    created REAL NOT NULL,
    last_active REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS room_users (
    room INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    last_active REAL NOT NULL,
    PRIMARY KEY (room, session_id)
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    posted REAL NOT NULL,
    edited REAL,
    seqno INTEGER NOT NULL,
    seqno_data INTEGER NOT NULL,
    seqno_reactions INTEGER NOT NULL DEFAULT 0,
    seqno_creation INTEGER NOT NULL,
    data BLOB,
    signature BLOB,
    whisper_to TEXT,
    whisper_mods INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_room_seqno ON messages (room, seqno);
CREATE INDEX IF NOT EXISTS messages_room_user ON messages (room, session_id);
CREATE TABLE IF NOT EXISTS reactions (
    message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    reaction TEXT NOT NULL,
    session_id TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (message, reaction, session_id)
);
CREATE TABLE IF NOT EXISTS pinned (
    room INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    pinned_by TEXT NOT NULL,
    pinned_at REAL NOT NULL,
    PRIMARY KEY (room, message)
);
CREATE TABLE IF NOT EXISTS moderators (
    room INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    admin INTEGER NOT NULL,
    visible INTEGER NOT NULL,
    PRIMARY KEY (room, session_id)
);
CREATE TABLE IF NOT EXISTS bans (
    room INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    until REAL,
    PRIMARY KEY (room, session_id)
);
CREATE TABLE IF NOT EXISTS user_permissions (
    room INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    read INTEGER,
    write INTEGER,
    upload INTEGER,
    PRIMARY KEY (room, session_id)
);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    uploader TEXT NOT NULL,
    size INTEGER NOT NULL,
    uploaded REAL NOT NULL,
    expiry REAL,
    filename TEXT
);
CREATE INDEX IF NOT EXISTS files_expiry ON files (expiry);
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient TEXT NOT NULL,
    sender TEXT NOT NULL,
    body BLOB NOT NULL,
    posted_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_recipient ON inbox (recipient, id);
CREATE INDEX IF NOT EXISTS inbox_sender ON inbox (sender, id);
CREATE TABLE IF NOT EXISTS nonces (
    session_id TEXT NOT NULL,
    nonce BLOB NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (session_id, nonce)
);
";

/// Open (or create) the database at `path`.
pub fn open(path: &Path) -> Result<Connection, NodeError> {
    let conn = Connection::open(path).map_err(|e| NodeError::Db(e.to_string()))?;
    conn.execute_batch(SCHEMA)
        .map_err(|e| NodeError::Db(e.to_string()))?;
    Ok(conn)
}

/// Room tokens: 1–64 of `a-z A-Z 0-9 _ -` (pysogs `Room` converter).
pub fn valid_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 64
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Insert room `token` (or rename it).
pub fn add_room(db: &Connection, token: &str, name: &str, now: f64) -> rusqlite::Result<()> {
    db.execute(
        "INSERT INTO rooms (token, name, created) VALUES (?1, ?2, ?3)
         ON CONFLICT (token) DO UPDATE SET name = ?2, info_updates = info_updates + 1",
        params![token, name, now],
    )
    .map(|_| ())
}

/// The row id of room `token`.
pub fn room_id(db: &Connection, token: &str) -> rusqlite::Result<Option<i64>> {
    db.query_row(
        "SELECT id FROM rooms WHERE token = ?1",
        params![token],
        |r| r.get(0),
    )
    .optional()
}

/// Set a room's default permissions.
pub fn set_defaults(
    db: &Connection,
    token: &str,
    read: bool,
    write: bool,
    upload: bool,
) -> rusqlite::Result<()> {
    db.execute(
        "UPDATE rooms SET default_read = ?2, default_write = ?3, default_upload = ?4,
             info_updates = info_updates + 1 WHERE token = ?1",
        params![token, read, write, upload],
    )
    .map(|_| ())
}

/// Add, change or (`moderator` false) remove a moderator of `room`.
pub fn set_moderator(
    db: &Connection,
    room: i64,
    sid: &str,
    moderator: bool,
    admin: bool,
    visible: bool,
) -> rusqlite::Result<()> {
    if moderator || admin {
        db.execute(
            "INSERT INTO moderators (room, session_id, admin, visible) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (room, session_id) DO UPDATE SET admin = ?3, visible = ?4",
            params![room, sid, admin, visible],
        )?;
    } else {
        db.execute(
            "DELETE FROM moderators WHERE room = ?1 AND session_id = ?2",
            params![room, sid],
        )?;
    }
    Ok(())
}

/// Bump a room's `info_updates`.
pub fn bump_info(db: &Connection, room: i64) -> rusqlite::Result<i64> {
    db.query_row(
        "UPDATE rooms SET info_updates = info_updates + 1 WHERE id = ?1 RETURNING info_updates",
        params![room],
        |r| r.get(0),
    )
}

/// Delete expired files (and their bytes), DMs, bans and old nonces.
pub fn sweep(db: &Connection, files_dir: &Path, now: f64) -> usize {
    let mut n = 0;
    let ids: Vec<i64> = db
        .prepare("SELECT id FROM files WHERE expiry IS NOT NULL AND expiry <= ?1")
        .and_then(|mut st| {
            st.query_map(params![now], |r| r.get(0))
                .map(|rows| rows.flatten().collect())
        })
        .unwrap_or_default();
    for id in ids {
        if db
            .execute("DELETE FROM files WHERE id = ?1", params![id])
            .unwrap_or(0)
            > 0
        {
            let _ = std::fs::remove_file(files_dir.join(id.to_string()));
            n += 1;
        }
    }
    n += db
        .execute("DELETE FROM inbox WHERE expires_at <= ?1", params![now])
        .unwrap_or(0);
    n += db
        .execute(
            "DELETE FROM bans WHERE until IS NOT NULL AND until <= ?1",
            params![now],
        )
        .unwrap_or(0);
    n += db
        .execute(
            "DELETE FROM nonces WHERE at <= ?1",
            params![now - NONCE_KEEP_SECS],
        )
        .unwrap_or(0);
    n
}

/// Where a key occurs in the database at `path` (opened read-only, so a running server may
/// keep it open): `table.column` for every text or blob cell holding `key` as raw bytes or as
/// hex text (any case). For a 33-byte id with prefix `05` only the 32-byte key is searched,
/// which also finds the id. Empty: nowhere (e2e's "the server never learns the Account ID").
pub fn find(path: &Path, key: &[u8]) -> Result<Vec<String>, NodeError> {
    let db = |e: rusqlite::Error| NodeError::Db(e.to_string());
    let key = match key {
        [0x05, rest @ ..] if rest.len() == 32 => rest,
        k => k,
    };
    if key.is_empty() {
        return Err(NodeError::Config("empty key"));
    }
    let hex_key = hex::encode(key);
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(db)?;
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .map_err(db)?
        .query_map([], |r| r.get(0))
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    let mut found = Vec::new();
    for t in tables {
        let mut st = conn
            .prepare(&format!("SELECT * FROM \"{}\"", t.replace('"', "\"\"")))
            .map_err(db)?;
        let names: Vec<String> = st.column_names().map(str::to_string).collect();
        let mut rows = st.query([]).map_err(db)?;
        while let Some(row) = rows.next().map_err(db)? {
            for (i, name) in names.iter().enumerate() {
                let bytes = match row.get::<_, rusqlite::types::Value>(i).map_err(db)? {
                    rusqlite::types::Value::Text(s) => s.into_bytes(),
                    rusqlite::types::Value::Blob(b) => b,
                    _ => continue,
                };
                let lower = bytes.to_ascii_lowercase();
                let hit = bytes.windows(key.len()).any(|w| w == key)
                    || lower
                        .windows(hex_key.len())
                        .any(|w| w == hex_key.as_bytes());
                let cell = format!("{t}.{name}");
                if hit && !found.contains(&cell) {
                    found.push(cell);
                }
            }
        }
    }
    Ok(found)
}
