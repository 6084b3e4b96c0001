//! The store conformance suite run natively against `MemoryStore` (needs `--features testing`).

use umbra_protocol::store::MemoryStore;

umbra_protocol::store_conformance_tests!(
    test_attr = #[test],
    run = block_on,
    new_store = |_name: &'static str| async { MemoryStore::new() },
);

/// Compiles the `async_fn` arm (the one the worker uses with `#[wasm_bindgen_test]`) and runs
/// one of its functions natively, so a broken expansion shows up here too.
mod async_arm {
    use umbra_protocol::store::MemoryStore;

    umbra_protocol::store_conformance_tests!(
        test_attr = #[allow(dead_code)],
        run = async_fn,
        new_store = |_name: &'static str| async { MemoryStore::new() },
    );

    #[test]
    fn async_arm_runs() {
        umbra_protocol::store::testing::block_on(vault_change_passphrase());
    }
}
