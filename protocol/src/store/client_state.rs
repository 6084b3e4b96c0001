//! Keyed persistence of the messaging client's durable state.
//!
//! The client ([`crate::client::Client`]) emits [`PersistChange`]s; this module turns each
//! step's changes into the few sealed vault records they touch, so a step writes bytes in
//! proportion to what changed, not to everything the client remembers. Before it, the worker
//! re-serialised and re-sealed one record with the whole [`ClientSnapshot`] (outbox, every
//! dedup record, node pool, swarms) on every change.
//!
//! Records (names before the vault's keyed hashing; values sealed JSON):
//! - `client/v2/meta`: layout version, the outbox slot high-water mark, and the range of dedup
//!   pages (`seen_first ..= seen_tail`).
//! - `client/v2/outbox/<slot>`: one unsent outbox entry with its creation order. Slots are
//!   reused once their entry is sent, so the high-water mark only grows with the largest
//!   number of entries ever unsent at once.
//! - `client/v2/seen/<seq>`: a page of up to [`SEEN_PAGE`] dedup records, appended in order.
//!   Only the tail page is rewritten when a record arrives; a page whose every record has
//!   expired is deleted whole.
//! - `client/v2/pool`, `client/v2/swarms`, `client/v2/last-hashes`, `client/v2/own-ops`: small
//!   records written only when they change.
//!
//! # Write order and crash safety
//! [`ClientStateDb::stage`] returns one batch for a step: record puts first, then the meta
//! record, then deletions. Applied atomically (IndexedDB: one transaction) a step is all or
//! nothing. Applied op by op, a crash leaves at worst a record that no meta range or slot count
//! reaches yet (ignored on load) or a deleted record's slot still counted (a missing slot or
//! page is skipped on load); nothing loaded is ever half of a step.
//!
//! # Migration
//! [`ClientStateDb::load`] finds the layout before this one (the single record
//! [`LEGACY_SNAPSHOT_RECORD`]) when there is no meta record, writes the keyed records for it
//! and deletes it, in one batch; a crash before that batch leaves the old record, and loading
//! again repeats the same migration.
//!
//! Not here: what the changes mean (the client) and the message database ([`super::messages`]).

use std::collections::{BTreeMap, BTreeSet};

use rand_core::CryptoRng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{BatchOp, RecordError, Store, StoreError, UnlockedVault};
use crate::client::{ClientSnapshot, LocalId, OutboxEntry, OutboxState, PersistChange, SeenRecord};
use crate::error::ErrorKind;

/// The record the worker kept the whole client snapshot in before keyed persistence.
pub const LEGACY_SNAPSHOT_RECORD: &str = "worker/v1/client-snapshot";
/// Dedup records per page.
pub const SEEN_PAGE: usize = 32;
/// Version of this layout (in the meta record).
pub const LAYOUT_VERSION: u32 = 2;

const META: &str = "client/v2/meta";
const POOL: &str = "client/v2/pool";
const SWARMS: &str = "client/v2/swarms";
const LAST_HASHES: &str = "client/v2/last-hashes";
const OWN_OPS: &str = "client/v2/own-ops";
const CLOCK: &str = "client/v2/clock";

fn outbox_name(slot: u32) -> String {
    format!("client/v2/outbox/{slot}")
}

fn seen_name(seq: u64) -> String {
    format!("client/v2/seen/{seq}")
}

/// Why the client state could not be loaded or staged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientStateError {
    /// The store failed, or a record did not decrypt.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A record decrypted but does not hold what this layout writes.
    #[error("client state record is corrupted")]
    Corrupted,
    /// The meta record names a layout version this code does not know.
    #[error("client state has unsupported layout version {found}")]
    UnsupportedVersion {
        /// The version found.
        found: u32,
    },
}

impl ClientStateError {
    /// Coarse classification of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ClientStateError::Store(e) => e.kind(),
            _ => ErrorKind::Storage,
        }
    }
}

type Result<T> = core::result::Result<T, ClientStateError>;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Meta {
    version: u32,
    /// Slots `0..outbox_slots` may hold an outbox entry.
    outbox_slots: u32,
    /// First dedup page that may exist.
    seen_first: u64,
    /// The page new dedup records go to (it has fewer than [`SEEN_PAGE`] records).
    seen_tail: u64,
}

#[derive(Serialize, Deserialize)]
struct SlotRecord {
    order: u64,
    entry: OutboxEntry,
}

/// The writer of the keyed client state: remembers which slot holds which outbox entry and
/// what the dedup tail page holds, so a step writes only the records it changes.
#[derive(Debug, Default)]
pub struct ClientStateDb {
    meta: Meta,
    /// local id → (slot, creation order).
    slots: BTreeMap<LocalId, (u32, u64)>,
    free_slots: BTreeSet<u32>,
    next_order: u64,
    /// Latest expiry in each full page (for pruning whole pages).
    page_expiry: BTreeMap<u64, u64>,
    tail: Vec<SeenRecord>,
    /// The small parts (pool, swarms, last hashes, own operations), kept by
    /// [`ClientSnapshot::apply`] itself so their meaning has one definition; its outbox and
    /// dedup fields stay empty here.
    small: ClientSnapshot,
}

/// The record holding every subscription's last hashes.
#[derive(Default, Serialize, Deserialize)]
struct LastHashes {
    default: BTreeMap<String, String>,
    #[serde(default)]
    others: BTreeMap<String, BTreeMap<String, String>>,
}

impl From<RecordError> for ClientStateError {
    fn from(e: RecordError) -> Self {
        match e {
            RecordError::Store(s) => ClientStateError::Store(s),
            // A value of ours that does not serialize is as unusable as one that does not
            // parse; neither happens with these types.
            RecordError::Corrupted | RecordError::Encode => ClientStateError::Corrupted,
        }
    }
}

#[derive(Default)]
struct Dirty {
    slots: BTreeMap<u32, Option<SlotRecord>>,
    pages_deleted: BTreeSet<u64>,
    full_pages: Vec<(u64, Vec<SeenRecord>)>,
    tail: bool,
    pool: bool,
    swarms: bool,
    last_hashes: bool,
    own_ops: bool,
    clock: bool,
    meta: bool,
}

async fn read<S: Store, T: DeserializeOwned>(
    store: &S,
    vault: &UnlockedVault,
    name: &str,
) -> Result<Option<T>> {
    Ok(vault.get_json(store, name).await?)
}

fn seal<T: Serialize, R: CryptoRng + ?Sized>(
    vault: &UnlockedVault,
    name: &str,
    value: &T,
    rng: &mut R,
) -> Result<BatchOp> {
    Ok(vault.seal_json_op(name, value, rng)?)
}

fn delete(vault: &UnlockedVault, name: &str) -> BatchOp {
    vault.delete_op(name)
}

fn max_expiry(records: &[SeenRecord]) -> u64 {
    records.iter().map(|r| r.expires_ms).max().unwrap_or(0)
}

impl ClientStateDb {
    /// Loads the client state of `vault`'s account (empty if there is none), migrating the
    /// single-record layout before this one if that is what the store holds.
    ///
    /// # Errors
    ///
    /// [`ClientStateError`] if the store fails or a record is tampered with or corrupted.
    pub async fn load<S: Store, R: CryptoRng + ?Sized>(
        store: &S,
        vault: &UnlockedVault,
        rng: &mut R,
    ) -> Result<(ClientStateDb, ClientSnapshot)> {
        let Some(meta) = read::<S, Meta>(store, vault, META).await? else {
            return Self::migrate(store, vault, rng).await;
        };
        if meta.version != LAYOUT_VERSION {
            return Err(ClientStateError::UnsupportedVersion {
                found: meta.version,
            });
        }
        let hashes: LastHashes = read(store, vault, LAST_HASHES).await?.unwrap_or_default();
        let small = ClientSnapshot {
            pool: read(store, vault, POOL).await?.unwrap_or_default(),
            swarms: read(store, vault, SWARMS).await?.unwrap_or_default(),
            last_hashes: hashes.default,
            subscription_last_hashes: hashes.others,
            own_ops: read(store, vault, OWN_OPS).await?.unwrap_or_default(),
            clock_offset_ms: read::<S, Option<i64>>(store, vault, CLOCK).await?.flatten(),
            ..ClientSnapshot::default()
        };
        let mut db = ClientStateDb {
            small,
            ..ClientStateDb::default()
        };
        let mut outbox: Vec<(u64, OutboxEntry)> = Vec::new();
        for slot in 0..meta.outbox_slots {
            match read::<S, SlotRecord>(store, vault, &outbox_name(slot)).await? {
                Some(rec) => {
                    db.slots
                        .insert(rec.entry.local_id.clone(), (slot, rec.order));
                    db.next_order = db.next_order.max(rec.order + 1);
                    outbox.push((rec.order, rec.entry));
                }
                None => {
                    db.free_slots.insert(slot);
                }
            }
        }
        outbox.sort_by_key(|(order, _)| *order);
        let mut seen = Vec::new();
        for seq in meta.seen_first..=meta.seen_tail {
            let Some(page) = read::<S, Vec<SeenRecord>>(store, vault, &seen_name(seq)).await?
            else {
                continue;
            };
            if seq == meta.seen_tail {
                db.tail = page.clone();
            } else {
                db.page_expiry.insert(seq, max_expiry(&page));
            }
            seen.extend(page);
        }
        db.meta = meta;
        let snapshot = db.snapshot(outbox.into_iter().map(|(_, e)| e).collect(), seen);
        Ok((db, snapshot))
    }

    async fn migrate<S: Store, R: CryptoRng + ?Sized>(
        store: &S,
        vault: &UnlockedVault,
        rng: &mut R,
    ) -> Result<(ClientStateDb, ClientSnapshot)> {
        let legacy = vault.get_record(store, LEGACY_SNAPSHOT_RECORD).await?;
        // The old worker ignored a snapshot it could not parse (an older layout); so does the
        // migration: the client then starts afresh, as it did.
        let old: ClientSnapshot = legacy
            .as_ref()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
        let mut db = ClientStateDb {
            meta: Meta {
                version: LAYOUT_VERSION,
                ..Meta::default()
            },
            ..ClientStateDb::default()
        };
        let mut changes: Vec<PersistChange> = Vec::new();
        changes.extend(old.outbox.iter().cloned().map(PersistChange::Outbox));
        changes.extend(old.seen.iter().cloned().map(PersistChange::Seen));
        db.small = ClientSnapshot {
            outbox: Vec::new(),
            seen: Vec::new(),
            ..old.clone()
        };
        let mut ops = db.stage_inner(&changes, vault, rng, true)?;
        // The small records, whole.
        ops.insert(0, seal(vault, POOL, &db.small.pool, rng)?);
        ops.insert(1, seal(vault, SWARMS, &db.small.swarms, rng)?);
        ops.insert(2, seal(vault, LAST_HASHES, &db.last_hashes_record(), rng)?);
        ops.insert(3, seal(vault, OWN_OPS, &db.small.own_ops, rng)?);
        if legacy.is_some() {
            ops.push(delete(vault, LEGACY_SNAPSHOT_RECORD));
        }
        store.write_batch(&ops).await?;
        let snapshot = db.snapshot(old.outbox, old.seen);
        Ok((db, snapshot))
    }

    fn snapshot(&self, outbox: Vec<OutboxEntry>, seen: Vec<SeenRecord>) -> ClientSnapshot {
        ClientSnapshot {
            outbox,
            seen,
            ..self.small.clone()
        }
    }

    fn last_hashes_record(&self) -> LastHashes {
        LastHashes {
            default: self.small.last_hashes.clone(),
            others: self.small.subscription_last_hashes.clone(),
        }
    }

    /// The batch that makes `changes` (one step of the client, in order) durable: write it
    /// with [`Store::write_batch`]. Updates this writer's view as if it had been written; if
    /// the write fails, load again before staging more.
    ///
    /// # Errors
    ///
    /// [`ClientStateError::Store`] if a record cannot be sealed.
    pub fn stage<R: CryptoRng + ?Sized>(
        &mut self,
        changes: &[PersistChange],
        vault: &UnlockedVault,
        rng: &mut R,
    ) -> Result<Vec<BatchOp>> {
        self.stage_inner(changes, vault, rng, false)
    }

    fn stage_inner<R: CryptoRng + ?Sized>(
        &mut self,
        changes: &[PersistChange],
        vault: &UnlockedVault,
        rng: &mut R,
        write_meta: bool,
    ) -> Result<Vec<BatchOp>> {
        let mut dirty = Dirty {
            meta: write_meta,
            ..Dirty::default()
        };
        for change in changes {
            self.apply(change, &mut dirty);
        }
        // A page deleted by a prune and refilled in the same step is kept.
        for (seq, _) in &dirty.full_pages {
            dirty.pages_deleted.remove(seq);
        }
        if !self.tail.is_empty() {
            dirty.pages_deleted.remove(&self.meta.seen_tail);
        }
        let mut puts = Vec::new();
        for (slot, rec) in &dirty.slots {
            if let Some(rec) = rec {
                puts.push(seal(vault, &outbox_name(*slot), rec, rng)?);
            }
        }
        for (seq, page) in &dirty.full_pages {
            puts.push(seal(vault, &seen_name(*seq), page, rng)?);
        }
        if dirty.tail && !self.tail.is_empty() {
            puts.push(seal(
                vault,
                &seen_name(self.meta.seen_tail),
                &self.tail,
                rng,
            )?);
        }
        if dirty.pool {
            puts.push(seal(vault, POOL, &self.small.pool, rng)?);
        }
        if dirty.swarms {
            puts.push(seal(vault, SWARMS, &self.small.swarms, rng)?);
        }
        if dirty.last_hashes {
            puts.push(seal(vault, LAST_HASHES, &self.last_hashes_record(), rng)?);
        }
        if dirty.own_ops {
            puts.push(seal(vault, OWN_OPS, &self.small.own_ops, rng)?);
        }
        if dirty.clock {
            puts.push(seal(vault, CLOCK, &self.small.clock_offset_ms, rng)?);
        }
        if dirty.meta {
            puts.push(seal(vault, META, &self.meta, rng)?);
        }
        for (slot, rec) in &dirty.slots {
            if rec.is_none() {
                puts.push(delete(vault, &outbox_name(*slot)));
            }
        }
        for seq in &dirty.pages_deleted {
            puts.push(delete(vault, &seen_name(*seq)));
        }
        Ok(puts)
    }

    fn apply(&mut self, change: &PersistChange, dirty: &mut Dirty) {
        match change {
            PersistChange::Outbox(entry) => self.apply_outbox(entry, dirty),
            PersistChange::Seen(rec) => {
                self.tail.push(rec.clone());
                dirty.tail = true;
                if self.tail.len() >= SEEN_PAGE {
                    let page = core::mem::take(&mut self.tail);
                    let seq = self.meta.seen_tail;
                    self.page_expiry.insert(seq, max_expiry(&page));
                    dirty.full_pages.push((seq, page));
                    self.meta.seen_tail += 1;
                    dirty.meta = true;
                }
            }
            PersistChange::PruneSeen { before_ms } => {
                let gone: Vec<u64> = self
                    .page_expiry
                    .iter()
                    .filter(|(_, exp)| **exp < *before_ms)
                    .map(|(seq, _)| *seq)
                    .collect();
                for seq in gone {
                    self.page_expiry.remove(&seq);
                    dirty.full_pages.retain(|(s, _)| *s != seq);
                    dirty.pages_deleted.insert(seq);
                }
                let first = self
                    .page_expiry
                    .keys()
                    .next()
                    .copied()
                    .unwrap_or(self.meta.seen_tail);
                if first != self.meta.seen_first {
                    self.meta.seen_first = first;
                    dirty.meta = true;
                }
                let before = self.tail.len();
                self.tail.retain(|r| r.expires_ms >= *before_ms);
                if self.tail.len() != before {
                    dirty.tail = true;
                    if self.tail.is_empty() {
                        dirty.pages_deleted.insert(self.meta.seen_tail);
                    }
                }
            }
            PersistChange::Pool(_) => {
                self.small.apply(change);
                dirty.pool = true;
            }
            PersistChange::Swarm { .. } => {
                self.small.apply(change);
                dirty.swarms = true;
            }
            PersistChange::LastHash { .. } => {
                self.small.apply(change);
                dirty.last_hashes = true;
            }
            PersistChange::ClockOffset { .. } => {
                self.small.apply(change);
                dirty.clock = true;
            }
            PersistChange::OwnOp(_) | PersistChange::OwnOpDone { .. } => {
                let before = self.small.own_ops.clone();
                self.small.apply(change);
                dirty.own_ops |= self.small.own_ops != before;
            }
        }
    }

    fn apply_outbox(&mut self, entry: &OutboxEntry, dirty: &mut Dirty) {
        if entry.state == OutboxState::Sent {
            if let Some((slot, _)) = self.slots.remove(&entry.local_id) {
                self.free_slots.insert(slot);
                dirty.slots.insert(slot, None);
            }
            return;
        }
        let (slot, order) = match self.slots.get(&entry.local_id) {
            Some(found) => *found,
            None => {
                let slot = match self.free_slots.pop_first() {
                    Some(s) => s,
                    None => {
                        let s = self.meta.outbox_slots;
                        self.meta.outbox_slots += 1;
                        dirty.meta = true;
                        s
                    }
                };
                let order = self.next_order;
                self.next_order += 1;
                self.slots.insert(entry.local_id.clone(), (slot, order));
                (slot, order)
            }
        };
        dirty.slots.insert(
            slot,
            Some(SlotRecord {
                order,
                entry: entry.clone(),
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_tail_page_moves_on_and_is_pruned_whole() {
        let mut db = ClientStateDb::default();
        db.meta.version = LAYOUT_VERSION;
        let mut dirty = Dirty::default();
        for i in 0..(SEEN_PAGE as u64 + 3) {
            db.apply(
                &PersistChange::Seen(SeenRecord {
                    hash: Some(format!("h{i}")),
                    author: None,
                    sent_ms: None,
                    expires_ms: 1_000 + i,
                }),
                &mut dirty,
            );
        }
        assert_eq!(db.meta.seen_tail, 1);
        assert_eq!(db.tail.len(), 3);
        assert_eq!(dirty.full_pages.len(), 1);
        let mut dirty = Dirty::default();
        db.apply(
            &PersistChange::PruneSeen {
                before_ms: 1_000 + SEEN_PAGE as u64,
            },
            &mut dirty,
        );
        assert!(dirty.pages_deleted.contains(&0));
        assert_eq!(db.meta.seen_first, 1);
        assert_eq!(db.tail.len(), 3, "the tail's records are not expired yet");
    }
}
