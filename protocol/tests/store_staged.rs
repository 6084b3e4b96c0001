//! `StagedStore`: a step's writes reach the backend as one batch, reads see them before, and
//! it passes the store conformance suite (needs `--features testing`).

use core::cell::RefCell;

use umbra_protocol::store::testing::block_on;
use umbra_protocol::store::{BatchOp, MemoryStore, StagedStore, Store, StoreError};

umbra_protocol::store_conformance_tests!(
    test_attr = #[test],
    run = block_on,
    new_store = |_name: &'static str| async { StagedStore::new(MemoryStore::new()) },
);

/// A backend that records each call that writes.
#[derive(Default)]
struct Recording {
    inner: MemoryStore,
    writes: RefCell<Vec<Vec<BatchOp>>>,
    fail: RefCell<bool>,
}

impl Store for Recording {
    async fn get(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(id).await
    }
    async fn put(&self, id: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.write_batch(&[BatchOp::Put {
            id: id.into(),
            bytes: bytes.to_vec(),
        }])
        .await
    }
    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.write_batch(&[BatchOp::Delete { id: id.into() }]).await
    }
    async fn clear(&self) -> Result<(), StoreError> {
        self.inner.clear().await
    }
    async fn ids(&self) -> Result<Vec<String>, StoreError> {
        self.inner.ids().await
    }
    async fn write_batch(&self, ops: &[BatchOp]) -> Result<(), StoreError> {
        if *self.fail.borrow() {
            return Err(StoreError::QuotaExceeded);
        }
        self.writes.borrow_mut().push(ops.to_vec());
        self.inner.write_batch(ops).await
    }
}

fn put(id: &str, v: &[u8]) -> BatchOp {
    BatchOp::Put {
        id: id.into(),
        bytes: v.to_vec(),
    }
}

fn ids_of(ops: &[BatchOp]) -> Vec<String> {
    ops.iter()
        .map(|op| match op {
            BatchOp::Put { id, .. } | BatchOp::Delete { id } => id.clone(),
        })
        .collect()
}

#[test]
fn test_a_step_is_one_batch_of_last_values_in_last_write_order() {
    block_on(async {
        let backend = Recording::default();
        backend.inner.put("old", b"0").await.unwrap();
        let staged = StagedStore::new(&backend);
        staged.put("a", b"1").await.unwrap();
        staged
            .write_batch(&[put("b", b"2"), put("a", b"3")])
            .await
            .unwrap();
        staged.delete("old").await.unwrap();
        staged.stage(&[put("c", b"4")]);
        // Reads see the staged values; the backend has seen nothing yet.
        assert_eq!(staged.get("a").await.unwrap(), Some(b"3".to_vec()));
        assert_eq!(staged.get("old").await.unwrap(), None);
        let mut ids = staged.ids().await.unwrap();
        ids.sort();
        assert_eq!(ids, ["a", "b", "c"]);
        assert!(backend.writes.borrow().is_empty());
        assert_eq!(backend.inner.get("old").await.unwrap(), Some(b"0".to_vec()));

        staged.commit().await.unwrap();
        let writes = backend.writes.borrow().clone();
        assert_eq!(writes.len(), 1, "one transaction for the whole step");
        // Each id once, ordered by its last write: b, a (rewritten after b), old, c.
        assert_eq!(ids_of(&writes[0]), ["b", "a", "old", "c"]);
        assert_eq!(backend.inner.get("a").await.unwrap(), Some(b"3".to_vec()));
        assert_eq!(backend.inner.get("old").await.unwrap(), None);
        assert!(staged.is_empty());
        // Nothing staged: nothing written.
        staged.commit().await.unwrap();
        assert_eq!(backend.writes.borrow().len(), 1);
    });
}

#[test]
fn test_a_failed_commit_keeps_the_step_and_discard_drops_it() {
    block_on(async {
        let backend = Recording::default();
        let staged = StagedStore::new(&backend);
        staged.put("a", b"1").await.unwrap();
        *backend.fail.borrow_mut() = true;
        assert_eq!(staged.commit().await, Err(StoreError::QuotaExceeded));
        assert_eq!(staged.get("a").await.unwrap(), Some(b"1".to_vec()));
        *backend.fail.borrow_mut() = false;
        staged.commit().await.unwrap();
        assert_eq!(backend.inner.get("a").await.unwrap(), Some(b"1".to_vec()));

        staged.put("b", b"2").await.unwrap();
        staged.discard();
        assert_eq!(staged.get("b").await.unwrap(), None);
        staged.commit().await.unwrap();
        assert_eq!(backend.inner.get("b").await.unwrap(), None);
    });
}

#[test]
fn test_clear_then_writes_commit_as_deletes_of_the_rest() {
    block_on(async {
        let backend = Recording::default();
        backend.inner.put("x", b"0").await.unwrap();
        backend.inner.put("y", b"0").await.unwrap();
        let staged = StagedStore::new(&backend);
        staged.clear().await.unwrap();
        staged.put("y", b"1").await.unwrap();
        assert_eq!(staged.get("x").await.unwrap(), None);
        assert_eq!(staged.ids().await.unwrap(), ["y"]);
        staged.commit().await.unwrap();
        assert_eq!(backend.writes.borrow().len(), 1);
        assert_eq!(backend.inner.get("x").await.unwrap(), None);
        assert_eq!(backend.inner.get("y").await.unwrap(), Some(b"1".to_vec()));
    });
}
