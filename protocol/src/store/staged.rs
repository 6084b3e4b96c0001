//! One transaction per step: a [`Store`] that keeps every write of a step in memory, serves
//! reads through it, and hands the backend all of them at once ([`StagedStore::commit`]).
//!
//! The worker handles one step at a time (a client action drain, a command, a timer). Within
//! a step the message database and the client state each write several batches, and read
//! back what they wrote. Over a [`StagedStore`] those writes stay in an overlay until the
//! step ends; then one [`Store::write_batch`] (IndexedDB: one read-write transaction) carries
//! them, so a crash keeps all of a step or none of it, and the order between the message
//! database's and the client's records no longer matters (docs/engineering.md, crash-safe
//! order).
//!
//! The commit writes each id once, with its last staged value, in the order of those last
//! writes. It is crash-safe only over a backend whose [`Store::write_batch`] is atomic
//! (IndexedDB, [`MemoryStore`](super::MemoryStore)); the message database's op-by-op write
//! order no longer applies across a staged step.
//!
//! # What it is not
//! - Not a cache across steps: [`StagedStore::commit`] empties the overlay.
//! - Not a lock: it assumes one step at a time over the backend (the worker is single
//!   threaded and handles one message at a time).

use core::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use super::{BatchOp, Store, StoreError};

/// A staged value: the sequence number of its last write, and the bytes (`None`: deleted).
type Staged = (u64, Option<Vec<u8>>);

/// A write-staging view over `S` (see the module docs).
pub struct StagedStore<S: Store> {
    inner: S,
    /// Staged value per id (`Some` to put, `None` to delete) and the sequence number of its
    /// last write.
    overlay: RefCell<BTreeMap<String, Staged>>,
    /// The next sequence number.
    seq: RefCell<u64>,
    /// True after [`Store::clear`]: ids not in the overlay read as absent.
    cleared: RefCell<bool>,
}

impl<S: Store> StagedStore<S> {
    /// A view of `inner` with nothing staged (`inner` may be a reference: `&S` is a
    /// [`Store`] too).
    pub fn new(inner: S) -> Self {
        StagedStore {
            inner,
            overlay: RefCell::new(BTreeMap::new()),
            seq: RefCell::new(0),
            cleared: RefCell::new(false),
        }
    }

    /// True if nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.overlay.borrow().is_empty() && !*self.cleared.borrow()
    }

    /// Stages `ops` after everything staged so far.
    pub fn stage(&self, ops: &[BatchOp]) {
        for op in ops {
            match op {
                BatchOp::Put { id, bytes } => self.set(id, Some(bytes.clone())),
                BatchOp::Delete { id } => self.set(id, None),
            }
        }
    }

    fn set(&self, id: &str, value: Option<Vec<u8>>) {
        let mut seq = self.seq.borrow_mut();
        self.overlay
            .borrow_mut()
            .insert(id.to_owned(), (*seq, value));
        *seq += 1;
    }

    /// Writes everything staged to the backend in one [`Store::write_batch`] and empties
    /// the overlay. On error nothing is emptied: the caller may retry or drop the view.
    pub async fn commit(&self) -> Result<(), StoreError> {
        if self.is_empty() {
            return Ok(());
        }
        let mut ops = Vec::new();
        if *self.cleared.borrow() {
            // A clear deletes every id the backend holds that the overlay does not rewrite.
            // (No borrow is held across an await.)
            let held = self.inner.ids().await?;
            let overlay = self.overlay.borrow();
            ops.extend(
                held.into_iter()
                    .filter(|id| !overlay.contains_key(id))
                    .map(|id| BatchOp::Delete { id }),
            );
        }
        let mut staged: Vec<(u64, BatchOp)> = self
            .overlay
            .borrow()
            .iter()
            .map(|(id, (seq, v))| {
                let op = match v {
                    Some(bytes) => BatchOp::Put {
                        id: id.clone(),
                        bytes: bytes.clone(),
                    },
                    None => BatchOp::Delete { id: id.clone() },
                };
                (*seq, op)
            })
            .collect();
        staged.sort_by_key(|(seq, _)| *seq);
        ops.extend(staged.into_iter().map(|(_, op)| op));
        self.inner.write_batch(&ops).await?;
        self.overlay.borrow_mut().clear();
        *self.cleared.borrow_mut() = false;
        Ok(())
    }

    /// The backend.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The backend; whatever is staged is dropped.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// Drops everything staged (the backend is untouched).
    pub fn discard(&self) {
        self.overlay.borrow_mut().clear();
        *self.cleared.borrow_mut() = false;
    }
}

impl<S: Store> Store for StagedStore<S> {
    async fn get(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some((_, v)) = self.overlay.borrow().get(id) {
            return Ok(v.clone());
        }
        if *self.cleared.borrow() {
            return Ok(None);
        }
        self.inner.get(id).await
    }

    async fn put(&self, id: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.set(id, Some(bytes.to_vec()));
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.set(id, None);
        Ok(())
    }

    async fn clear(&self) -> Result<(), StoreError> {
        self.overlay.borrow_mut().clear();
        *self.cleared.borrow_mut() = true;
        Ok(())
    }

    async fn ids(&self) -> Result<Vec<String>, StoreError> {
        let mut ids: BTreeSet<String> = if *self.cleared.borrow() {
            BTreeSet::new()
        } else {
            self.inner.ids().await?.into_iter().collect()
        };
        for (id, (_, v)) in self.overlay.borrow().iter() {
            if v.is_some() {
                ids.insert(id.clone());
            } else {
                ids.remove(id);
            }
        }
        Ok(ids.into_iter().collect())
    }

    async fn write_batch(&self, ops: &[BatchOp]) -> Result<(), StoreError> {
        self.stage(ops);
        Ok(())
    }
}
