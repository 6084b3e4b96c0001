//! Read-only inspection of a testnet's stored messages (`umbra-node inspect`): which hashes
//! each node keeps for an account, in which namespace, until when. Tests use it to prove that
//! a message is really gone from the swarm (disappearing messages, unsend) by reading the
//! nodes' SQLite databases, never by asking the nodes.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;
use umbra_protocol::rpc::params::AccountId;

/// One stored message as a node's database has it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredRow {
    /// The node's folder name (`node-<i>`).
    pub node: String,
    /// Storage hash.
    pub hash: String,
    /// Namespace.
    pub namespace: i64,
    /// Expiry (ms since the Unix epoch); the node sweeps rows past it.
    pub expiry: u64,
}

/// Why an inspection failed.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// The data directory could not be listed.
    #[error("cannot read the data directory: {0}")]
    Io(#[from] std::io::Error),
    /// A database could not be opened or read.
    #[error("cannot read a node database: {0}")]
    Db(#[from] rusqlite::Error),
}

/// The node databases under a testnet data directory (`<data>/node-*/messages.db`), sorted.
fn databases(data: &Path) -> Result<Vec<(String, PathBuf)>, InspectError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(data)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let db = entry.path().join("messages.db");
        if name.starts_with("node-") && db.is_file() {
            out.push((name, db));
        }
    }
    out.sort();
    Ok(out)
}

/// Every message stored for `account` by every node under `data`, opened read-only (safe
/// while the nodes run: they use WAL mode).
pub fn stored_messages(data: &Path, account: &AccountId) -> Result<Vec<StoredRow>, InspectError> {
    let mut rows = Vec::new();
    for (node, path) in databases(data)? {
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let mut stmt = conn
            .prepare("SELECT hash, namespace, expiry FROM messages WHERE owner = ?1 ORDER BY id")?;
        let found = stmt.query_map([account.to_bytes().to_vec()], |r| {
            Ok(StoredRow {
                node: node.clone(),
                hash: r.get(0)?,
                namespace: r.get(1)?,
                expiry: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
            })
        })?;
        for row in found {
            rows.push(row?);
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::db::Db;
    use umbra_protocol::rpc::Namespace;

    #[test]
    fn reads_what_each_node_stored_for_one_account_only() {
        let dir = tempfile::tempdir().unwrap();
        let alice = AccountId::from_hex(&format!("05{}", "11".repeat(32))).unwrap();
        let bob = AccountId::from_hex(&format!("05{}", "22".repeat(32))).unwrap();
        for (i, expiry) in [(0, 1_000u64), (1, 2_000)] {
            let node = dir.path().join(format!("node-{i}"));
            std::fs::create_dir_all(&node).unwrap();
            let mut db = Db::open(&node.join("messages.db")).unwrap();
            db.store(&alice, Namespace(0), "hashA", 1, expiry, b"a")
                .unwrap();
            db.store(&bob, Namespace(0), &format!("hashB{i}"), 1, 5, b"b")
                .unwrap();
        }
        // Not a node folder: ignored.
        std::fs::create_dir_all(dir.path().join("other")).unwrap();
        let rows = stored_messages(dir.path(), &alice).unwrap();
        let got: Vec<(&str, &str, u64)> = rows
            .iter()
            .map(|r| (r.node.as_str(), r.hash.as_str(), r.expiry))
            .collect();
        assert_eq!(
            got,
            [("node-0", "hashA", 1_000), ("node-1", "hashA", 2_000)]
        );
        let bobs = stored_messages(dir.path(), &bob).unwrap();
        assert_eq!(bobs.len(), 2);
        assert!(stored_messages(&dir.path().join("missing"), &bob).is_err());
    }
}
