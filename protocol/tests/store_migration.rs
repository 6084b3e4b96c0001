//! Native tests of the message database's schema migration (the exact contents and the
//! damaged copies are checked by the conformance suite, on every backend): the schema-1
//! fixture `fixtures/msgdb_v1.json` (a dump of a store written by the schema-1 code; its
//! generator is `tests/store_migration.rs` in the commit that added it) upgraded by a
//! non-atomic store that crashes at every write, then upgraded again, always ends as a clean
//! upgrade does: the same conversations and messages, and the same set of records.

#[path = "support/flaky_store.rs"]
mod flaky_store;

use std::collections::BTreeSet;

use flaky_store::FlakyStore;
use futures_executor::block_on;
use umbra_protocol::store::messages::{MessageDb, MessageDbError};
use umbra_protocol::store::testing::{
    FIXTURE_PASS, MSGDB_V1_FIXTURE, db_view, dump_records, expected_fixture_view, load_records,
    load_v1_fixture, test_rng,
};
use umbra_protocol::store::{MemoryStore, Store, StoreError, Vault};

fn ids(store: &MemoryStore) -> BTreeSet<String> {
    block_on(store.ids()).expect("ids").into_iter().collect()
}

#[test]
fn a_crash_at_any_write_of_the_migration_converges() {
    let clean = MemoryStore::new();
    let vault = block_on(load_v1_fixture(&clean));
    let me = vault.account_id();
    block_on(MessageDb::new(&clean, &vault).upgrade(&mut test_rng(1))).expect("clean upgrade");
    let reference = block_on(db_view(&MessageDb::new(&clean, &vault))).expect("view");
    assert_eq!(reference, expected_fixture_view(me));
    let reference_ids = ids(&clean);

    let records = dump_records(MSGDB_V1_FIXTURE);
    let mut crashes = 0;
    for budget in 0..1000 {
        let store = FlakyStore::default();
        block_on(load_records(&store.inner, &records));
        let vault = block_on(Vault::unlock(&store, FIXTURE_PASS)).expect("unlock");
        store.write_budget.set(Some(budget));
        let result = block_on(MessageDb::new(&store, &vault).upgrade(&mut test_rng(budget as u64)));
        store.write_budget.set(None);
        drop(vault);
        if result.is_ok() {
            assert_eq!(ids(&store.inner), reference_ids);
            break;
        }
        crashes += 1;
        assert!(
            matches!(
                result,
                Err(MessageDbError::Store(StoreError::Backend { .. }))
            ),
            "budget {budget}: {result:?}"
        );
        // After the crash (a reload): reading shows the upgrade still to do, or its result.
        let vault = block_on(Vault::unlock(&store, FIXTURE_PASS)).expect("unlock");
        match block_on(db_view(&MessageDb::new(&store, &vault))) {
            Err(MessageDbError::UpgradeRequired) => {}
            Ok(view) => assert_eq!(view, reference, "budget {budget}"),
            Err(other) => panic!("budget {budget}: {other:?}"),
        }
        // Upgrading again finishes it, exactly as a clean upgrade.
        let mut db = MessageDb::new(&store, &vault);
        block_on(db.upgrade(&mut test_rng(1000 + budget as u64))).expect("re-run");
        assert_eq!(
            block_on(db_view(&db)).as_ref(),
            Ok(&reference),
            "budget {budget}"
        );
        assert_eq!(
            ids(&store.inner),
            reference_ids,
            "budget {budget}: same records"
        );
    }
    assert!(
        crashes > 50,
        "the upgrade was interrupted at {crashes} points"
    );
}
