//! A store for crash tests, shared by `store_messages.rs` and `store_migration.rs`: it counts
//! reads and can fail every write after a budget. It does not override `write_batch`, so
//! batches are applied op by op (not atomically), like a crash part-way through one.

// Each test crate that includes this file uses only part of it.
#![allow(dead_code)]

use std::cell::Cell;

use umbra_protocol::store::{MemoryStore, Store, StoreError};

/// See the module docs.
#[derive(Default)]
pub(crate) struct FlakyStore {
    /// Where the data lives (reachable directly, without spending the budget).
    pub(crate) inner: MemoryStore,
    /// Number of `get`s so far.
    pub(crate) gets: Cell<usize>,
    /// Writes (puts and deletes) left before every write fails; `None`: unlimited.
    pub(crate) write_budget: Cell<Option<usize>>,
}

impl FlakyStore {
    fn spend(&self, operation: &'static str) -> Result<(), StoreError> {
        match self.write_budget.get() {
            Some(0) => Err(StoreError::Backend { operation }),
            Some(n) => {
                self.write_budget.set(Some(n - 1));
                Ok(())
            }
            None => Ok(()),
        }
    }
}

impl Store for FlakyStore {
    async fn get(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.gets.set(self.gets.get() + 1);
        self.inner.get(id).await
    }
    async fn put(&self, id: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.spend("put")?;
        self.inner.put(id, bytes).await
    }
    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.spend("delete")?;
        self.inner.delete(id).await
    }
    async fn clear(&self) -> Result<(), StoreError> {
        self.inner.clear().await
    }
    async fn ids(&self) -> Result<Vec<String>, StoreError> {
        self.inner.ids().await
    }
}
