//! The store conformance suite run natively against `MemoryStore` (needs `--features testing`).

use umbra_protocol::store::MemoryStore;

umbra_protocol::store_conformance_tests!(
    test_attr = #[test],
    run = block_on,
    new_store = |_name: &'static str| async { MemoryStore::new() },
);
