//! Keyed persistence of the client's state (`store::client_state`): what is loaded back equals
//! what the changes describe (checked against `ClientSnapshot::apply`, the meaning of each
//! change), the single-record layout before it migrates, a step writes only what it touches,
//! a crash mid-step (non-atomic backend) never loads half a step, and damaged records are
//! typed errors.

use std::cell::Cell;

use futures_executor::block_on;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use umbra_protocol::address::{GroupId, LocalMs, NetMs, SwarmAddr};
use umbra_protocol::client::{
    ClientSnapshot, LocalId, OutboxEntry, OutboxState, OwnSwarmOp, OwnSwarmOpKind, PersistChange,
    SeenRecord, ServiceNode,
};
use umbra_protocol::identity::{AccountId, Identity, Seed};
use umbra_protocol::rpc::Namespace;
use umbra_protocol::store::client_state::{
    ClientStateDb, ClientStateError, LEGACY_SNAPSHOT_RECORD, SEEN_PAGE,
};
use umbra_protocol::store::{BatchOp, MemoryStore, Store, StoreError, UnlockedVault, Vault};

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn account(n: u8) -> AccountId {
    Identity::from_seed(&Seed::from_entropy(&[n; 16]).expect("16")).account_id()
}

fn vault(store: &impl Store) -> UnlockedVault {
    let seed = Seed::from_entropy(&[0x42; 16]).expect("16");
    block_on(Vault::create_insecure_for_tests(
        store,
        "pw",
        &seed,
        &mut rng(1),
    ))
    .expect("vault")
}

fn node(n: u8) -> ServiceNode {
    ServiceNode {
        ip: format!("127.0.0.{n}"),
        port: 20_000 + u16::from(n),
        ed25519: [n; 32],
        x25519: [n.wrapping_add(100); 32],
        swarm_id: None,
    }
}

fn entry(id: u32, state: OutboxState) -> OutboxEntry {
    OutboxEntry {
        local_id: LocalId::Message(u64::from(id)),
        to: account(2),
        body: format!("message {id} with some text in it"),
        sent_ms: NetMs(1_700_000_000_000 + u64::from(id)),
        state,
        attempts: 1,
        next_attempt_ms: LocalMs(5),
        hash: None,
        sync_target: None,
        content: None,
        ttl_ms: None,
        sync_copy: Some(true),
        ephemeral: false,
    }
}

fn seen(i: u64, expires_ms: u64) -> SeenRecord {
    SeenRecord {
        hash: Some(format!("hash{i:040}")),
        author: Some(account(3)),
        sent_ms: Some(1_700_000_000_000 + i),
        expires_ms,
    }
}

/// A random change of every kind.
fn random_change(r: &mut ChaCha20Rng, step: u64) -> PersistChange {
    let states = [
        OutboxState::Pending,
        OutboxState::Sending,
        OutboxState::Sent,
        OutboxState::Failed,
    ];
    match r.next_u32() % 10 {
        0..=3 => PersistChange::Outbox(entry(
            r.next_u32() % 12,
            states[(r.next_u32() % 4) as usize],
        )),
        4..=6 => PersistChange::Seen(seen(step, 1_000 + step + u64::from(r.next_u32() % 50))),
        7 => PersistChange::PruneSeen {
            before_ms: 1_000 + step.saturating_sub(20),
        },
        8 => match r.next_u32() % 4 {
            0 => PersistChange::Pool((0..(r.next_u32() % 6) as u8).map(node).collect()),
            1 => PersistChange::Swarm {
                account: account((r.next_u32() % 3) as u8).into(),
                nodes: vec![node((r.next_u32() % 9) as u8)],
            },
            2 => {
                // The default subscription or another one (a group's namespace 11).
                let other = r.next_u32().is_multiple_of(2);
                PersistChange::LastHash {
                    node: hex::encode([(r.next_u32() % 4) as u8; 32]),
                    hash: format!("last{step}"),
                    swarm: other.then(|| SwarmAddr::from(GroupId([7; 32]))),
                    namespace: other.then_some(Namespace(11)),
                }
            }
            _ => PersistChange::OwnOpDone {
                id: u64::from(r.next_u32() % 4),
            },
        },
        _ => PersistChange::OwnOp(OwnSwarmOp {
            id: u64::from(r.next_u32() % 4),
            kind: OwnSwarmOpKind::Delete {
                hashes: vec![format!("h{step}")],
            },
            attempts: r.next_u32() % 3,
            next_attempt_ms: LocalMs(step),
        }),
    }
}

/// What the snapshot means once dedup records expired before `cut` are forgotten (the
/// keyed layout drops expired records page by page, the snapshot one by one).
fn normalised(mut s: ClientSnapshot, cut: u64) -> ClientSnapshot {
    s.seen.retain(|r| r.expires_ms >= cut);
    s
}

fn bytes_of(ops: &[BatchOp]) -> usize {
    ops.iter()
        .map(|op| match op {
            BatchOp::Put { bytes, .. } => bytes.len(),
            BatchOp::Delete { .. } => 0,
        })
        .sum()
}

#[test]
fn what_is_loaded_back_is_what_the_changes_describe() {
    for seed in 0..8u64 {
        let store = MemoryStore::new();
        let vault = vault(&store);
        let mut r = rng(100 + seed);
        let (mut db, loaded) = block_on(ClientStateDb::load(&store, &vault, &mut r)).expect("load");
        assert_eq!(loaded, ClientSnapshot::default());
        let mut expected = ClientSnapshot::default();
        let mut cut = 0;
        for step in 0..60u64 {
            let changes: Vec<PersistChange> = (0..1 + r.next_u32() % 6)
                .map(|_| random_change(&mut r, step))
                .collect();
            for c in &changes {
                expected.apply(c);
                if let PersistChange::PruneSeen { before_ms } = c {
                    cut = cut.max(*before_ms);
                }
            }
            let ops = db.stage(&changes, &vault, &mut r).expect("stage");
            block_on(store.write_batch(&ops)).expect("write");
            if step % 7 == 0 {
                // A restart: a fresh writer from what is stored.
                let (again, snap) =
                    block_on(ClientStateDb::load(&store, &vault, &mut r)).expect("reload");
                assert_eq!(
                    normalised(snap, cut),
                    normalised(expected.clone(), cut),
                    "seed {seed} step {step}"
                );
                db = again;
            }
        }
        let (_, snap) = block_on(ClientStateDb::load(&store, &vault, &mut r)).expect("reload");
        assert_eq!(
            normalised(snap, cut),
            normalised(expected, cut),
            "seed {seed}"
        );
    }
}

#[test]
fn the_single_record_layout_before_migrates_once() {
    let store = MemoryStore::new();
    let vault = vault(&store);
    let mut r = rng(7);
    let mut old = ClientSnapshot::default();
    for c in [
        PersistChange::Outbox(entry(1, OutboxState::Pending)),
        PersistChange::Outbox(entry(2, OutboxState::Failed)),
        PersistChange::Seen(seen(1, 9_000)),
        PersistChange::Pool(vec![node(1), node(2), node(3)]),
        PersistChange::Swarm {
            account: account(1).into(),
            nodes: vec![node(2)],
        },
        PersistChange::LastHash {
            node: hex::encode([2; 32]),
            hash: "abc".into(),
            swarm: None,
            namespace: None,
        },
    ] {
        old.apply(&c);
    }
    // As the worker wrote it before keyed persistence: one sealed JSON record.
    let json = serde_json::to_vec(&old).expect("json");
    block_on(vault.put_record(&store, LEGACY_SNAPSHOT_RECORD, &json, &mut r)).expect("put");
    let (_, migrated) = block_on(ClientStateDb::load(&store, &vault, &mut r)).expect("migrate");
    assert_eq!(migrated, old);
    assert_eq!(
        block_on(vault.get_record(&store, LEGACY_SNAPSHOT_RECORD)).expect("get"),
        None,
        "the old record is gone once migrated"
    );
    let (_, again) = block_on(ClientStateDb::load(&store, &vault, &mut r)).expect("load");
    assert_eq!(again, old);
}

#[test]
fn a_step_writes_only_the_records_it_touches() {
    let store = MemoryStore::new();
    let vault = vault(&store);
    let mut r = rng(9);
    let (mut db, _) = block_on(ClientStateDb::load(&store, &vault, &mut r)).expect("load");
    // A client that has seen 2,000 messages and knows 200 nodes.
    let mut setup: Vec<PersistChange> = (0..2_000)
        .map(|i| PersistChange::Seen(seen(i, 1 << 50)))
        .collect();
    setup.push(PersistChange::Pool(
        (0..200).map(|i| node(i as u8)).collect(),
    ));
    let ops = db.stage(&setup, &vault, &mut r).expect("stage");
    block_on(store.write_batch(&ops)).expect("write");
    let mut whole = ClientSnapshot::default();
    for c in &setup {
        whole.apply(c);
    }
    let whole_bytes = serde_json::to_vec(&whole).expect("json").len();
    // One received message: one dedup record.
    let ops = db
        .stage(&[PersistChange::Seen(seen(5_000, 1 << 50))], &vault, &mut r)
        .expect("stage");
    let one = bytes_of(&ops);
    assert_eq!(ops.len(), 1, "only the tail page");
    assert!(
        one * 20 < whole_bytes,
        "{one} bytes vs the whole snapshot's {whole_bytes}"
    );
    // One outbox state change: one slot record.
    let ops = db
        .stage(
            &[PersistChange::Outbox(entry(1, OutboxState::Sending))],
            &vault,
            &mut r,
        )
        .expect("stage");
    assert!(ops.len() <= 2, "a slot (and the slot count the first time)");
    assert!(bytes_of(&ops) * 20 < whole_bytes);
}

/// Applies every put and delete one by one and fails every write after a budget.
#[derive(Default)]
struct CrashingStore {
    inner: MemoryStore,
    budget: Cell<Option<usize>>,
}

impl CrashingStore {
    fn spend(&self) -> Result<(), StoreError> {
        match self.budget.get() {
            Some(0) => Err(StoreError::Backend { operation: "put" }),
            Some(n) => {
                self.budget.set(Some(n - 1));
                Ok(())
            }
            None => Ok(()),
        }
    }
}

impl Store for CrashingStore {
    async fn get(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(id).await
    }
    async fn put(&self, id: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.spend()?;
        self.inner.put(id, bytes).await
    }
    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.spend()?;
        self.inner.delete(id).await
    }
    async fn clear(&self) -> Result<(), StoreError> {
        self.inner.clear().await
    }
    async fn ids(&self) -> Result<Vec<String>, StoreError> {
        self.inner.ids().await
    }
}

#[test]
fn a_crash_part_way_through_a_step_loads_a_consistent_state() {
    // A step that fills a dedup page, sends one entry, adds another and prunes.
    let first: Vec<PersistChange> = (0..(SEEN_PAGE as u64 - 1))
        .map(|i| PersistChange::Seen(seen(i, 10 + i)))
        .chain([
            PersistChange::Outbox(entry(1, OutboxState::Pending)),
            PersistChange::Outbox(entry(2, OutboxState::Pending)),
        ])
        .collect();
    let step: Vec<PersistChange> = vec![
        PersistChange::Seen(seen(100, 500)),
        PersistChange::Seen(seen(101, 500)),
        PersistChange::Outbox(entry(1, OutboxState::Sent)),
        PersistChange::Outbox(entry(3, OutboxState::Pending)),
        PersistChange::PruneSeen { before_ms: 100 },
    ];
    let mut before = ClientSnapshot::default();
    first.iter().for_each(|c| before.apply(c));
    let mut after = before.clone();
    step.iter().for_each(|c| after.apply(c));
    for budget in 0..12 {
        let store = CrashingStore::default();
        let vault = vault(&store);
        let mut r = rng(11);
        let (mut db, _) = block_on(ClientStateDb::load(&store, &vault, &mut r)).expect("load");
        let ops = db.stage(&first, &vault, &mut r).expect("stage");
        block_on(store.write_batch(&ops)).expect("write");
        let ops = db.stage(&step, &vault, &mut r).expect("stage");
        store.budget.set(Some(budget));
        let crashed = block_on(store.write_batch(&ops)).is_err();
        store.budget.set(None);
        let (_, loaded) = block_on(ClientStateDb::load(&store, &vault, &mut r)).expect("reload");
        // Every outbox entry loaded is one of the step's two ends, never a mix, and nothing
        // unsent is lost: entry 2 is there in any case, entry 1 until its Sent is written.
        let ids: Vec<&LocalId> = loaded.outbox.iter().map(|e| &e.local_id).collect();
        assert!(
            ids.contains(&&LocalId::Message(2)),
            "budget {budget}: {ids:?}"
        );
        if !crashed {
            assert_eq!(
                normalised(loaded.clone(), 100),
                normalised(after.clone(), 100)
            );
        }
        for e in &loaded.outbox {
            assert!(
                before.outbox.contains(e) || after.outbox.contains(e),
                "budget {budget}: an entry of neither end"
            );
        }
        // Dedup records survive a crash unless their page was pruned.
        for rec in after.seen.iter().filter(|r| r.expires_ms >= 100) {
            if !crashed {
                assert!(loaded.seen.contains(rec));
            }
        }
        for rec in before.seen.iter().filter(|r| r.expires_ms >= 100) {
            assert!(
                loaded.seen.contains(rec),
                "budget {budget}: a live dedup record lost"
            );
        }
    }
}

#[test]
fn damaged_records_are_typed_errors() {
    let store = MemoryStore::new();
    let vault = vault(&store);
    let mut r = rng(12);
    let (mut db, _) = block_on(ClientStateDb::load(&store, &vault, &mut r)).expect("load");
    let ops = db
        .stage(
            &[PersistChange::Outbox(entry(1, OutboxState::Pending))],
            &vault,
            &mut r,
        )
        .expect("stage");
    block_on(store.write_batch(&ops)).expect("write");
    // Flip one byte of every record in turn: load fails with a typed error, never a panic.
    let ids = block_on(store.ids()).expect("ids");
    let mut failures = 0;
    for id in ids.iter().filter(|id| id.starts_with("vault/r/")) {
        let good = block_on(store.get(id)).expect("get").expect("value");
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        block_on(store.put(id, &bad)).expect("put");
        let err = block_on(ClientStateDb::load(&store, &vault, &mut r)).err();
        assert_eq!(
            err,
            Some(ClientStateError::Store(StoreError::DecryptFailed))
        );
        failures += 1;
        block_on(store.put(id, &good)).expect("restore");
    }
    assert!(failures >= 2, "the slot and the meta record");
    // A record that decrypts but holds something else: corrupted.
    block_on(vault.put_record(&store, "client/v2/meta", b"[1,2,3]", &mut r)).expect("put");
    assert_eq!(
        block_on(ClientStateDb::load(&store, &vault, &mut r)).err(),
        Some(ClientStateError::Corrupted)
    );
}
