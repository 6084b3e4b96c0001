//! The IndexedDB backend of the key store: [`IndexedDbStore`] implements the protocol's byte
//! store ([`umbra_protocol::store::Store`]) over one object store of a browser database. The
//! values it sees are already sealed by the protocol's vault (or its plaintext header), so it
//! adds no cryptography of its own.

use js_sys::Uint8Array;
use rexie::{ObjectStore, Rexie, TransactionMode};
use umbra_protocol::store::{BatchOp, StagedStore, Store, StoreError};
use wasm_bindgen::{JsCast, JsValue};

/// Name of the app's database.
pub const DB_NAME: &str = "umbra";
/// Name of the object store holding every record (key = record id, value = `Uint8Array`).
pub const RECORDS: &str = "records";
const DB_VERSION: u32 = 1;

/// Name of the global (on the worker's scope) where [`IoStats`] are published after every
/// transaction, for `bench/messaging.mjs` (read with Playwright's `worker.evaluate`). Counts
/// only: no record ids, no contents.
pub const STATS_GLOBAL: &str = "umbraStoreStats";

/// What this worker's stores have done since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoStats {
    /// Read-only transactions.
    pub read_tx: u64,
    /// Read-write transactions (a batch is one).
    pub write_tx: u64,
    /// Records written (puts).
    pub puts: u64,
    /// Bytes written (sum of the values put).
    pub bytes_written: u64,
    /// Records deleted.
    pub deletes: u64,
}

thread_local! {
    static STATS: core::cell::Cell<IoStats> = const { core::cell::Cell::new(IoStats {
        read_tx: 0, write_tx: 0, puts: 0, bytes_written: 0, deletes: 0,
    }) };
}

/// The counters of this worker's stores.
pub fn io_stats() -> IoStats {
    STATS.with(|s| s.get())
}

fn count(f: impl FnOnce(&mut IoStats)) {
    let stats = STATS.with(|s| {
        let mut v = s.get();
        f(&mut v);
        s.set(v);
        v
    });
    let obj = js_sys::Object::new();
    for (k, v) in [
        ("readTx", stats.read_tx),
        ("writeTx", stats.write_tx),
        ("puts", stats.puts),
        ("bytesWritten", stats.bytes_written),
        ("deletes", stats.deletes),
    ] {
        // Counters stay far below 2^53: exact as JS numbers.
        let _ = js_sys::Reflect::set(&obj, &JsValue::from_str(k), &JsValue::from_f64(v as f64));
    }
    let _ = js_sys::Reflect::set(&js_sys::global(), &JsValue::from_str(STATS_GLOBAL), &obj);
}

/// The store the worker hands its steps: IndexedDB behind a [`StagedStore`], so the writes of
/// one step (a command, an answer, a timer) reach IndexedDB as one transaction when the step
/// commits ([`umbra_protocol::store::StagedStore`]).
pub type StepStore = StagedStore<IndexedDbStore>;

/// A [`Store`] kept in IndexedDB: database `name`, object store [`RECORDS`].
///
/// Works in a window and in a dedicated worker. Each operation is one IndexedDB transaction;
/// [`Store::write_batch`] applies a whole batch in one read-write transaction (all or nothing).
#[derive(Debug)]
pub struct IndexedDbStore {
    db: Rexie,
    name: String,
}

impl IndexedDbStore {
    /// Opens (creating if needed) the app's database [`DB_NAME`].
    pub async fn open_default() -> Result<IndexedDbStore, StoreError> {
        Self::open(DB_NAME).await
    }

    /// Opens (creating if needed) the database `name`.
    pub async fn open(name: &str) -> Result<IndexedDbStore, StoreError> {
        let db = Rexie::builder(name)
            .version(DB_VERSION)
            .add_object_store(ObjectStore::new(RECORDS))
            .build()
            .await
            .map_err(|_| backend("open"))?;
        Ok(IndexedDbStore {
            db,
            name: name.to_owned(),
        })
    }

    /// Deletes the database `name` and opens it again empty (for tests).
    pub async fn open_fresh(name: &str) -> Result<IndexedDbStore, StoreError> {
        Rexie::delete(name)
            .await
            .map_err(|_| backend("delete database"))?;
        Self::open(name).await
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Closes the connection and deletes the whole database from the browser.
    pub async fn delete_database(self) -> Result<(), StoreError> {
        let name = self.name;
        self.db.close();
        Rexie::delete(&name)
            .await
            .map_err(|_| backend("delete database"))
    }

    /// Applies `ops` in one read-write transaction. With `fail_at = Some(n)` the transaction
    /// is aborted just before op `n`, as a failing write would (tests check the rollback).
    pub async fn apply_batch(
        &self,
        ops: &[BatchOp],
        fail_at: Option<usize>,
    ) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        let (tx, store) = self.tx(TransactionMode::ReadWrite, "write batch")?;
        count(|c| {
            c.write_tx += 1;
            for op in ops {
                match op {
                    BatchOp::Put { bytes, .. } => {
                        c.puts += 1;
                        c.bytes_written += bytes.len() as u64;
                    }
                    BatchOp::Delete { .. } => c.deletes += 1,
                }
            }
        });
        for (i, op) in ops.iter().enumerate() {
            let result = if fail_at == Some(i) {
                Err(backend("write batch"))
            } else {
                match op {
                    BatchOp::Put { id, bytes } => store
                        .put(
                            &Uint8Array::from(bytes.as_slice()),
                            Some(&JsValue::from_str(id)),
                        )
                        .await
                        .map(|_| ())
                        .map_err(|e| write_error(&e, "write batch")),
                    BatchOp::Delete { id } => store
                        .delete(JsValue::from_str(id))
                        .await
                        .map_err(|e| write_error(&e, "write batch")),
                }
            };
            if let Err(e) = result {
                // Nothing of the batch is kept: aborting rolls back the earlier requests.
                let _ = tx.abort().await;
                return Err(e);
            }
        }
        tx.done()
            .await
            .map_err(|e| write_error(&e, "write batch"))?;
        Ok(())
    }

    fn tx(
        &self,
        mode: TransactionMode,
        op: &'static str,
    ) -> Result<(rexie::Transaction, rexie::Store), StoreError> {
        let tx = self
            .db
            .transaction(&[RECORDS], mode)
            .map_err(|_| backend(op))?;
        let store = tx.store(RECORDS).map_err(|_| backend(op))?;
        Ok((tx, store))
    }
}

fn backend(operation: &'static str) -> StoreError {
    StoreError::Backend { operation }
}

/// Maps a failed write to [`StoreError::QuotaExceeded`] when the browser says so.
fn write_error(err: &rexie::Error, operation: &'static str) -> StoreError {
    let text = err_name(err);
    if text.contains("QuotaExceeded") {
        StoreError::QuotaExceeded
    } else {
        backend(operation)
    }
}

fn err_name(err: &rexie::Error) -> String {
    // Only the DOMException name is looked at; it never contains record data.
    let rexie::Error::IdbError(inner) = err else {
        return String::new();
    };
    format!("{inner:?}")
}

impl Store for IndexedDbStore {
    async fn get(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let (tx, store) = self.tx(TransactionMode::ReadOnly, "get")?;
        count(|c| c.read_tx += 1);
        let value = store
            .get(JsValue::from_str(id))
            .await
            .map_err(|_| backend("get"))?;
        tx.done().await.map_err(|_| backend("get"))?;
        match value {
            None => Ok(None),
            Some(v) if v.is_undefined() => Ok(None),
            Some(v) => {
                let arr = v
                    .dyn_into::<Uint8Array>()
                    .map_err(|_| StoreError::Malformed)?;
                Ok(Some(arr.to_vec()))
            }
        }
    }

    async fn put(&self, id: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let (tx, store) = self.tx(TransactionMode::ReadWrite, "put")?;
        count(|c| {
            c.write_tx += 1;
            c.puts += 1;
            c.bytes_written += bytes.len() as u64;
        });
        let value = Uint8Array::from(bytes);
        store
            .put(&value, Some(&JsValue::from_str(id)))
            .await
            .map_err(|e| write_error(&e, "put"))?;
        tx.done().await.map_err(|e| write_error(&e, "put"))?;
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        let (tx, store) = self.tx(TransactionMode::ReadWrite, "delete")?;
        count(|c| {
            c.write_tx += 1;
            c.deletes += 1;
        });
        store
            .delete(JsValue::from_str(id))
            .await
            .map_err(|_| backend("delete"))?;
        tx.done().await.map_err(|_| backend("delete"))?;
        Ok(())
    }

    async fn clear(&self) -> Result<(), StoreError> {
        let (tx, store) = self.tx(TransactionMode::ReadWrite, "clear")?;
        count(|c| c.write_tx += 1);
        store.clear().await.map_err(|_| backend("clear"))?;
        tx.done().await.map_err(|_| backend("clear"))?;
        Ok(())
    }

    async fn write_batch(&self, ops: &[BatchOp]) -> Result<(), StoreError> {
        self.apply_batch(ops, None).await
    }

    async fn ids(&self) -> Result<Vec<String>, StoreError> {
        let (tx, store) = self.tx(TransactionMode::ReadOnly, "ids")?;
        count(|c| c.read_tx += 1);
        let keys = store
            .get_all_keys(None, None)
            .await
            .map_err(|_| backend("ids"))?;
        tx.done().await.map_err(|_| backend("ids"))?;
        keys.into_iter()
            .map(|k| k.as_string().ok_or(StoreError::Malformed))
            .collect()
    }
}
