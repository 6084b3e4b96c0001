//! An in-memory [`Store`] for tests, native tools and the node testnet.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{BatchOp, Store, StoreError};

/// A [`Store`] kept in a mutex-guarded map. Contents vanish when it is dropped.
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn with<T>(
        &self,
        operation: &'static str,
        f: impl FnOnce(&mut BTreeMap<String, Vec<u8>>) -> T,
    ) -> Result<T, StoreError> {
        let mut guard = self
            .map
            .lock()
            .map_err(|_| StoreError::Backend { operation })?;
        Ok(f(&mut guard))
    }
}

impl Store for MemoryStore {
    async fn get(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with("get", |m| m.get(id).cloned())
    }

    async fn put(&self, id: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.with("put", |m| {
            m.insert(id.to_owned(), bytes.to_vec());
        })
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.with("delete", |m| {
            m.remove(id);
        })
    }

    async fn clear(&self) -> Result<(), StoreError> {
        self.with("clear", BTreeMap::clear)
    }

    async fn ids(&self) -> Result<Vec<String>, StoreError> {
        self.with("ids", |m| m.keys().cloned().collect())
    }

    /// Applies the whole batch under one lock: atomic.
    async fn write_batch(&self, ops: &[BatchOp]) -> Result<(), StoreError> {
        self.with("write_batch", |m| {
            for op in ops {
                match op {
                    BatchOp::Put { id, bytes } => {
                        m.insert(id.clone(), bytes.clone());
                    }
                    BatchOp::Delete { id } => {
                        m.remove(id);
                    }
                }
            }
        })
    }
}
