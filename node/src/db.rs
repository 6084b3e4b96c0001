//! Message storage: one SQLite database (WAL) per node.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, ErrorCode, OptionalExtension, params};

use crate::limits::OwnerQuota;
use umbra_protocol::rpc::{AccountId, Namespace, NamespaceSel, sign::ExpireMode};

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredMessage {
    /// Owner account (66 hex).
    pub owner: String,
    /// Namespace.
    pub namespace: i16,
    /// Message hash.
    pub hash: String,
    /// Store time (ms).
    pub timestamp: u64,
    /// Expiry (ms).
    pub expiry: u64,
    /// Raw data.
    #[serde(with = "b64")]
    pub data: Vec<u8>,
}

mod b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub(super) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }
    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        STANDARD.decode(s).map_err(de::Error::custom)
    }
}

/// Result of storing a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOutcome {
    /// Newly stored.
    New,
    /// Already present; its (possibly extended) expiry.
    Already(u64),
    /// Not stored: the database is at its size limit (oxenss `StoreResult::Full`).
    Full,
    /// Not stored: the owner is at its quota (`limits::OwnerQuota`).
    OverQuota,
}

/// The node's message database.
#[derive(Debug)]
pub struct Db {
    conn: Connection,
    quota: Option<OwnerQuota>,
}

type DbResult<T> = Result<T, rusqlite::Error>;

/// Updated hashes and unchanged (hash, expiry) pairs of an `expire`.
pub type ExpireOutcome = (Vec<String>, Vec<(String, u64)>);

/// Updated (hash, new expiry) and unchanged (hash, expiry) pairs of an `expire` with a list of
/// expiries, both sorted by hash.
pub type ExpireEachOutcome = (Vec<(String, u64)>, Vec<(String, u64)>);

fn owner_bytes(a: &AccountId) -> Vec<u8> {
    a.to_bytes().to_vec()
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl Db {
    /// Open (or create) the database at `path`.
    pub fn open(path: &Path) -> DbResult<Self> {
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    /// An in-memory database (tests).
    pub fn open_in_memory() -> DbResult<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> DbResult<Self> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS messages (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                owner BLOB NOT NULL,
                namespace INTEGER NOT NULL,
                hash TEXT NOT NULL UNIQUE,
                timestamp INTEGER NOT NULL,
                expiry INTEGER NOT NULL,
                data BLOB NOT NULL);
             CREATE INDEX IF NOT EXISTS messages_owner ON messages(owner, namespace, id);
             CREATE INDEX IF NOT EXISTS messages_expiry ON messages(expiry);",
        )?;
        Ok(Self { conn, quota: None })
    }

    /// Cap the database file at about `max_bytes`: SQLite's `max_page_count`, as oxenss sets
    /// it (`oxenss/storage/database.cpp`); a store beyond it is `StoreOutcome::Full`. A
    /// database already larger keeps its size and takes no more.
    pub fn set_size_limit(&mut self, max_bytes: u64) -> DbResult<()> {
        let page: i64 = self.conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let pages = max_bytes / u64::try_from(page.max(512)).unwrap_or(4096);
        self.conn
            .pragma_update(None, "max_page_count", i(pages.max(1)))?;
        Ok(())
    }

    /// Refuse new messages of an owner beyond `quota` (`None`: no quota).
    pub fn set_owner_quota(&mut self, quota: Option<OwnerQuota>) {
        self.quota = quota;
    }

    /// Store a message; an existing hash keeps its row and takes the later expiry.
    /// In a public outbox the new message replaces the previous ones.
    pub fn store(
        &mut self,
        owner: &AccountId,
        ns: Namespace,
        hash: &str,
        timestamp: u64,
        expiry: u64,
        data: &[u8],
    ) -> DbResult<StoreOutcome> {
        match self.store_inner(owner, ns, hash, timestamp, expiry, data) {
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::DiskFull => {
                Ok(StoreOutcome::Full)
            }
            other => other,
        }
    }

    fn store_inner(
        &mut self,
        owner: &AccountId,
        ns: Namespace,
        hash: &str,
        timestamp: u64,
        expiry: u64,
        data: &[u8],
    ) -> DbResult<StoreOutcome> {
        let quota = self.quota;
        let tx = self.conn.transaction()?;
        let existing: Option<i64> = tx
            .query_row("SELECT expiry FROM messages WHERE hash = ?1", [hash], |r| {
                r.get(0)
            })
            .optional()?;
        let out = if let Some(old) = existing {
            let new = u(old).max(expiry);
            tx.execute(
                "UPDATE messages SET expiry = ?1 WHERE hash = ?2",
                params![i(new), hash],
            )?;
            StoreOutcome::Already(new)
        } else {
            if ns.is_public_outbox() {
                tx.execute(
                    "DELETE FROM messages WHERE owner = ?1 AND namespace = ?2",
                    params![owner_bytes(owner), ns.0],
                )?;
            }
            if let Some(q) = quota {
                let (count, bytes): (i64, i64) = tx.query_row(
                    "SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) FROM messages WHERE owner = ?1",
                    [owner_bytes(owner)],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                let len = u64::try_from(data.len()).unwrap_or(u64::MAX);
                if u(count) >= q.messages || u(bytes).saturating_add(len) > q.bytes {
                    return Ok(StoreOutcome::OverQuota);
                }
            }
            tx.execute(
                "INSERT INTO messages (owner, namespace, hash, timestamp, expiry, data) VALUES (?1,?2,?3,?4,?5,?6)",
                params![owner_bytes(owner), ns.0, hash, i(timestamp), i(expiry), data],
            )?;
            StoreOutcome::New
        };
        tx.commit()?;
        Ok(out)
    }

    /// Insert a message copied from a peer (catch-up); keeps the later expiry if present.
    /// The hash is recomputed from the row: a row whose hash does not match its owner,
    /// namespace and data is refused (security review #17).
    pub fn import(&mut self, m: &StoredMessage) -> DbResult<bool> {
        let Some(owner) = AccountId::from_hex(&m.owner) else {
            return Ok(false);
        };
        if umbra_protocol::rpc::message_hash(&owner, Namespace(m.namespace), &m.data) != m.hash {
            return Ok(false);
        }
        Ok(self.store(
            &owner,
            Namespace(m.namespace),
            &m.hash,
            m.timestamp,
            m.expiry,
            &m.data,
        )? == StoreOutcome::New)
    }

    /// Messages of `owner` in `ns` after `last_hash` (from the start if unknown), unexpired,
    /// limited by count and size (at least one). Returns the messages and "more".
    pub fn retrieve(
        &self,
        owner: &AccountId,
        ns: Namespace,
        last_hash: Option<&str>,
        now_ms: u64,
        max_count: usize,
        max_size: usize,
    ) -> DbResult<(Vec<StoredMessage>, bool)> {
        let ob = owner_bytes(owner);
        let after: i64 = match last_hash.filter(|h| !h.is_empty()) {
            Some(h) => self
                .conn
                .query_row(
                    "SELECT id FROM messages WHERE hash = ?1 AND owner = ?2 AND namespace = ?3",
                    params![h, ob, ns.0],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(0),
            None => 0,
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT hash, timestamp, expiry, data FROM messages
             WHERE owner = ?1 AND namespace = ?2 AND id > ?3 AND expiry > ?4 ORDER BY id LIMIT ?5",
        )?;
        let limit = i64::try_from(max_count.saturating_add(1)).unwrap_or(i64::MAX);
        let mut rows = stmt.query(params![ob, ns.0, after, i(now_ms), limit])?;
        let mut out = Vec::new();
        let mut size = 0usize;
        let mut more = false;
        while let Some(r) = rows.next()? {
            let data: Vec<u8> = r.get(3)?;
            let hash: String = r.get(0)?;
            // Approximate wire size: base64 data + hash + JSON overhead.
            let item = data.len().div_ceil(3) * 4 + hash.len() + 80;
            if out.len() >= max_count || (!out.is_empty() && size + item > max_size) {
                more = true;
                break;
            }
            size += item;
            out.push(StoredMessage {
                owner: owner.to_hex(),
                namespace: ns.0,
                hash,
                timestamp: u(r.get(1)?),
                expiry: u(r.get(2)?),
                data,
            });
        }
        Ok((out, more))
    }

    /// Delete the given hashes of `owner`; returns the deleted ones, sorted.
    pub fn delete(&mut self, owner: &AccountId, hashes: &[String]) -> DbResult<Vec<String>> {
        let tx = self.conn.transaction()?;
        let mut deleted = Vec::new();
        {
            let mut stmt =
                tx.prepare_cached("DELETE FROM messages WHERE owner = ?1 AND hash = ?2")?;
            for h in hashes {
                if stmt.execute(params![owner_bytes(owner), h])? > 0 {
                    deleted.push(h.clone());
                }
            }
        }
        tx.commit()?;
        deleted.sort();
        deleted.dedup();
        Ok(deleted)
    }

    /// Delete every message of `owner` in the selected namespaces stored before `before`
    /// (all if `None`); returns (namespace, hash) pairs, sorted by hash.
    pub fn delete_matching(
        &mut self,
        owner: &AccountId,
        sel: NamespaceSel,
        before: Option<u64>,
    ) -> DbResult<Vec<(i16, String)>> {
        let tx = self.conn.transaction()?;
        let victims = select_owner(&tx, owner, sel, before)?;
        {
            let mut stmt = tx.prepare_cached("DELETE FROM messages WHERE hash = ?1")?;
            for (_, h, _) in &victims {
                stmt.execute([h])?;
            }
        }
        tx.commit()?;
        let mut out: Vec<(i16, String)> = victims.into_iter().map(|(ns, h, _)| (ns, h)).collect();
        out.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(out)
    }

    /// Set, shorten or extend the expiry of `hashes` (owned by `owner`) to `expiry`; returns
    /// the updated hashes (sorted) and the (hash, current expiry) of found messages the mode
    /// left alone.
    pub fn expire(
        &mut self,
        owner: &AccountId,
        hashes: &[String],
        expiry: u64,
        mode: ExpireMode,
    ) -> DbResult<ExpireOutcome> {
        let items: Vec<(String, u64)> = hashes.iter().map(|h| (h.clone(), expiry)).collect();
        let (updated, unchanged) = self.expire_each(owner, &items, mode)?;
        Ok((updated.into_iter().map(|(h, _)| h).collect(), unchanged))
    }

    /// Like [`Db::expire`] with one expiry per hash (`expire` with a list of expiries).
    /// Returns the updated (hash, new expiry) pairs and the unchanged (hash, current expiry)
    /// pairs, both sorted by hash; a hash listed twice ends with the last change applied.
    pub fn expire_each(
        &mut self,
        owner: &AccountId,
        items: &[(String, u64)],
        mode: ExpireMode,
    ) -> DbResult<ExpireEachOutcome> {
        let tx = self.conn.transaction()?;
        let mut updated = BTreeMap::new();
        let mut unchanged = BTreeMap::new();
        for (h, expiry) in items {
            let cur: Option<i64> = tx
                .query_row(
                    "SELECT expiry FROM messages WHERE owner = ?1 AND hash = ?2",
                    params![owner_bytes(owner), h],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(cur) = cur.map(u) else { continue };
            let apply = match mode {
                ExpireMode::Set => true,
                ExpireMode::Shorten => *expiry < cur,
                ExpireMode::Extend => *expiry > cur,
            };
            if apply {
                tx.execute(
                    "UPDATE messages SET expiry = ?1 WHERE hash = ?2",
                    params![i(*expiry), h],
                )?;
                unchanged.remove(h);
                updated.insert(h.clone(), *expiry);
            } else if mode != ExpireMode::Set && !updated.contains_key(h) {
                unchanged.insert(h.clone(), cur);
            }
        }
        tx.commit()?;
        Ok((
            updated.into_iter().collect(),
            unchanged.into_iter().collect(),
        ))
    }

    /// Shorten the expiry of every selected message of `owner` to `expiry`; returns the
    /// updated (namespace, hash) pairs, sorted by hash.
    pub fn expire_all(
        &mut self,
        owner: &AccountId,
        sel: NamespaceSel,
        expiry: u64,
    ) -> DbResult<Vec<(i16, String)>> {
        let tx = self.conn.transaction()?;
        let rows = select_owner(&tx, owner, sel, None)?;
        let mut updated = Vec::new();
        for (ns, h, cur) in rows {
            if expiry < cur {
                tx.execute(
                    "UPDATE messages SET expiry = ?1 WHERE hash = ?2",
                    params![i(expiry), h],
                )?;
                updated.push((ns, h));
            }
        }
        tx.commit()?;
        updated.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(updated)
    }

    /// Expiries of the given hashes of `owner` (unknown ones omitted).
    pub fn get_expiries(
        &self,
        owner: &AccountId,
        hashes: &[String],
    ) -> DbResult<Vec<(String, u64)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT expiry FROM messages WHERE owner = ?1 AND hash = ?2")?;
        let mut out = Vec::new();
        for h in hashes {
            if let Some(e) = stmt
                .query_row(params![owner_bytes(owner), h], |r| r.get::<_, i64>(0))
                .optional()?
            {
                out.push((h.clone(), u(e)));
            }
        }
        Ok(out)
    }

    /// Delete expired messages; returns how many.
    pub fn sweep(&mut self, now_ms: u64) -> DbResult<usize> {
        self.conn
            .execute("DELETE FROM messages WHERE expiry <= ?1", [i(now_ms)])
    }

    /// Unexpired messages with row id > `after_id`, up to `limit`, for a peer catching up.
    /// Returns the messages and the last row id.
    pub fn export(
        &self,
        after_id: i64,
        limit: usize,
        now_ms: u64,
    ) -> DbResult<(Vec<StoredMessage>, i64)> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, owner, namespace, hash, timestamp, expiry, data FROM messages
             WHERE id > ?1 AND expiry > ?2 ORDER BY id LIMIT ?3",
        )?;
        let mut rows = stmt.query(params![
            after_id,
            i(now_ms),
            i64::try_from(limit).unwrap_or(i64::MAX)
        ])?;
        let mut out = Vec::new();
        let mut last = after_id;
        while let Some(r) = rows.next()? {
            last = r.get(0)?;
            let owner: Vec<u8> = r.get(1)?;
            out.push(StoredMessage {
                owner: hex::encode(owner),
                namespace: r.get(2)?,
                hash: r.get(3)?,
                timestamp: u(r.get(4)?),
                expiry: u(r.get(5)?),
                data: r.get(6)?,
            });
        }
        Ok((out, last))
    }

    /// Number of stored messages (expired or not).
    pub fn count(&self) -> DbResult<u64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM messages", [], |r| r.get::<_, i64>(0))
            .map(u)
    }
}

fn select_owner(
    conn: &Connection,
    owner: &AccountId,
    sel: NamespaceSel,
    before: Option<u64>,
) -> DbResult<Vec<(i16, String, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT namespace, hash, timestamp, expiry FROM messages WHERE owner = ?1",
    )?;
    let mut rows = stmt.query([owner_bytes(owner)])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let ns: i16 = r.get(0)?;
        let ts = u(r.get(2)?);
        // `delete_before` deletes `timestamp <= before` (oxenss `database.cpp`
        // `delete_by_timestamp`).
        if sel.contains(Namespace(ns)) && before.is_none_or(|b| ts <= b) {
            out.push((ns, r.get(1)?, u(r.get(3)?)));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(b: u8) -> AccountId {
        AccountId {
            prefix: 5,
            key: [b; 32],
        }
    }

    #[test]
    fn store_retrieve_last_hash_and_dupes() {
        let mut db = Db::open_in_memory().expect("db");
        let a = acct(1);
        for n in 0..5u64 {
            assert_eq!(
                db.store(&a, Namespace(0), &format!("h{n}"), 1000 + n, 10_000, b"x")
                    .expect("s"),
                StoreOutcome::New
            );
        }
        assert_eq!(
            db.store(&a, Namespace(0), "h1", 1001, 20_000, b"x")
                .expect("s"),
            StoreOutcome::Already(20_000)
        );
        assert_eq!(
            db.store(&a, Namespace(0), "h1", 1001, 15_000, b"x")
                .expect("s"),
            StoreOutcome::Already(20_000)
        );
        let (all, more) = db
            .retrieve(&a, Namespace(0), None, 5000, 100, 1 << 20)
            .expect("r");
        assert_eq!(all.len(), 5);
        assert!(!more);
        let (after, _) = db
            .retrieve(&a, Namespace(0), Some("h2"), 5000, 100, 1 << 20)
            .expect("r");
        assert_eq!(
            after.iter().map(|m| m.hash.as_str()).collect::<Vec<_>>(),
            ["h3", "h4"]
        );
        let (unknown, _) = db
            .retrieve(&a, Namespace(0), Some("nope"), 5000, 100, 1 << 20)
            .expect("r");
        assert_eq!(unknown.len(), 5);
        let (two, more) = db
            .retrieve(&a, Namespace(0), None, 5000, 2, 1 << 20)
            .expect("r");
        assert_eq!(two.len(), 2);
        assert!(more);
        let (one, more) = db
            .retrieve(&a, Namespace(0), None, 5000, 100, 1)
            .expect("r");
        assert_eq!(one.len(), 1);
        assert!(more);
        // Expired messages are invisible and swept.
        let (none, _) = db
            .retrieve(&a, Namespace(0), None, 10_000, 100, 1 << 20)
            .expect("r");
        assert_eq!(none.len(), 1);
        assert_eq!(db.sweep(10_000).expect("sweep"), 4);
        assert_eq!(db.count().expect("count"), 1);
    }

    #[test]
    fn delete_and_expire() {
        let mut db = Db::open_in_memory().expect("db");
        let a = acct(2);
        let b = acct(3);
        db.store(&a, Namespace(0), "a1", 1, 100, b"1").expect("s");
        db.store(&a, Namespace(2), "a2", 5, 100, b"1").expect("s");
        db.store(&b, Namespace(0), "b1", 1, 100, b"1").expect("s");
        // Cannot delete another owner's message.
        assert!(db.delete(&a, &["b1".into()]).expect("d").is_empty());
        let (upd, unch) = db
            .expire(&a, &["a1".into(), "a2".into()], 50, ExpireMode::Shorten)
            .expect("e");
        assert_eq!(upd, ["a1", "a2"]);
        assert!(unch.is_empty());
        let (upd, unch) = db
            .expire(&a, &["a1".into()], 40, ExpireMode::Extend)
            .expect("e");
        assert!(upd.is_empty());
        assert_eq!(unch, [("a1".to_string(), 50)]);
        assert_eq!(
            db.get_expiries(&a, &["a1".into(), "b1".into()]).expect("g"),
            [("a1".to_string(), 50)]
        );
        assert_eq!(
            db.expire_all(&a, NamespaceSel::All, 30).expect("ea"),
            [(0, "a1".to_string()), (2, "a2".to_string())]
        );
        assert_eq!(
            db.delete_matching(&a, NamespaceSel::All, Some(3))
                .expect("db"),
            [(0, "a1".to_string())]
        );
        assert_eq!(
            db.delete_matching(&a, NamespaceSel::One(Namespace(2)), None)
                .expect("da"),
            [(2, "a2".to_string())]
        );
        assert_eq!(db.count().expect("c"), 1);
    }

    #[test]
    fn import_recomputes_the_hash() {
        let mut db = Db::open_in_memory().expect("db");
        let a = acct(5);
        let good = umbra_protocol::rpc::message_hash(&a, Namespace(0), b"peer data");
        let m = |hash: &str, data: &[u8]| StoredMessage {
            owner: a.to_hex(),
            namespace: 0,
            hash: hash.into(),
            timestamp: 1,
            expiry: 100,
            data: data.to_vec(),
        };
        // A peer's row whose hash does not match its content is refused.
        assert!(!db.import(&m(&good, b"other data")).expect("i"));
        assert_eq!(db.count().expect("c"), 0);
        assert!(db.import(&m(&good, b"peer data")).expect("i"));
        assert_eq!(db.count().expect("c"), 1);
    }

    #[test]
    fn public_outbox_replaces() {
        let mut db = Db::open_in_memory().expect("db");
        let a = acct(4);
        db.store(&a, Namespace(-21), "o1", 1, 100, b"1").expect("s");
        db.store(&a, Namespace(-21), "o2", 2, 100, b"2").expect("s");
        let (m, _) = db
            .retrieve(&a, Namespace(-21), None, 0, 10, 1000)
            .expect("r");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].hash, "o2");
    }
}
