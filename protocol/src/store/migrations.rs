//! Schema migrations of the message database ([`MessageDb`](super::MessageDb)): one module per
//! step (`v1_to_v2`, …), run in order until the records are at [`SCHEMA_VERSION`].
//!
//! The schema version is kept in the sealed record `msgdb/schema` (`{"version": N}`). Schema 1
//! (before this record existed) is recognised by its own records (`msgdb/v1/conversations`
//! or `msgdb/v1/seen`); a store with neither and no marker is empty and simply gets the
//! marker. [`MessageDb`](super::MessageDb) runs [`upgrade`] before its first write after an
//! unlock and [`inspect`] before a read, so nothing is ever read in an outdated layout.
//!
//! Every step is idempotent and crash-safe in the write order the message database documents
//! (contents, conversation list, indexes, then deletions), with the marker as the
//! commit point: all new records are written before the marker names the new version, and
//! the old records are deleted only after it (except an old record a later run could not find
//! again, which is deleted just before the marker, after its new copy). A crash before the
//! marker leaves the old records to run the step again from (overwriting what it wrote, with
//! the same plaintext). A crash after it leaves some old records behind, which [`inspect`] and
//! [`upgrade`] finish deleting. They also delete the `msgdb/v2/seen` record (a bounded set of
//! storage hashes) that schema-2 stores kept before the network client's dedup became the one
//! dedup authority (see the [message database docs](super::messages)); nothing reads it. Large
//! stores are written in chunks of [`CHUNK`] operations,
//! each one [`Store::write_batch`].

mod v1_to_v2;

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use super::messages::records::FORMAT;
use super::messages::{MessageDbError, delete_record_op, load_record, seal_record};
use super::{BatchOp, Store, UnlockedVault};

/// The schema version this code reads and writes.
pub const SCHEMA_VERSION: u8 = FORMAT;

/// Name of the record holding the schema version.
const SCHEMA: &str = "msgdb/schema";

/// Name of the seen-hash set schema-2 stores used to keep (no longer written or read; deleted
/// by [`finish_steps`]).
const V2_SEEN: &str = "msgdb/v2/seen";

/// Most operations handed to one [`Store::write_batch`] by a migration.
pub const CHUNK: usize = 256;

type Result<T> = core::result::Result<T, MessageDbError>;

/// The schema marker.
#[derive(Serialize, Deserialize)]
struct SchemaRecord {
    version: u8,
}

/// What [`inspect`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::store) enum Schema {
    /// The records are at [`SCHEMA_VERSION`] (leftovers of an interrupted step deleted).
    Current,
    /// Nothing is stored yet.
    Empty,
    /// The records need [`upgrade`].
    Outdated,
}

/// The schema version of the stored records, `None` if nothing is stored.
async fn stored_version<S: Store>(store: &S, vault: &UnlockedVault) -> Result<Option<u8>> {
    if let Some(rec) = load_record::<S, SchemaRecord>(store, vault, SCHEMA).await? {
        return Ok(Some(rec.version));
    }
    if v1_to_v2::has_v1_records(store, vault).await? {
        return Ok(Some(1));
    }
    Ok(None)
}

/// The marker for `version`, as a write.
fn marker<R: CryptoRng + ?Sized>(
    vault: &UnlockedVault,
    version: u8,
    rng: &mut R,
) -> Result<BatchOp> {
    seal_record(vault, SCHEMA, &SchemaRecord { version }, rng)
}

/// Deletes what finished steps left behind (only after a crash, or on the first use) and a
/// leftover `msgdb/v2/seen` record, in one write (chunked only if the leftovers are many).
async fn finish_steps<S: Store>(store: &S, vault: &UnlockedVault) -> Result<()> {
    let mut ops = Vec::new();
    if store
        .get(&vault.record_storage_id(V2_SEEN))
        .await?
        .is_some()
    {
        ops.push(delete_record_op(vault, V2_SEEN));
    }
    ops.extend(v1_to_v2::v1_leftover_deletes(store, vault).await?);
    write_chunked(store, &ops).await
}

/// Reads the schema without upgrading (no RNG needed): deletes leftovers of a finished step
/// and says whether the records can be read as they are.
pub(in crate::store) async fn inspect<S: Store>(
    store: &S,
    vault: &UnlockedVault,
) -> Result<Schema> {
    match stored_version(store, vault).await? {
        None => Ok(Schema::Empty),
        Some(SCHEMA_VERSION) => {
            finish_steps(store, vault).await?;
            Ok(Schema::Current)
        }
        Some(found) if found > SCHEMA_VERSION => Err(MessageDbError::UnsupportedVersion { found }),
        Some(_) => Ok(Schema::Outdated),
    }
}

/// Runs every pending step, then deletes what they left behind. An empty store gets the
/// current marker. Idempotent.
pub(in crate::store) async fn upgrade<S: Store, R: CryptoRng + ?Sized>(
    store: &S,
    vault: &UnlockedVault,
    rng: &mut R,
) -> Result<()> {
    loop {
        match stored_version(store, vault).await? {
            None => {
                store
                    .write_batch(&[marker(vault, SCHEMA_VERSION, rng)?])
                    .await?;
                return Ok(());
            }
            Some(SCHEMA_VERSION) => return finish_steps(store, vault).await,
            Some(1) => v1_to_v2::run(store, vault, rng).await?,
            Some(found) => return Err(MessageDbError::UnsupportedVersion { found }),
        }
    }
}

/// Writes `ops` in batches of at most [`CHUNK`], in order.
async fn write_chunked<S: Store>(store: &S, ops: &[BatchOp]) -> Result<()> {
    for chunk in ops.chunks(CHUNK) {
        store.write_batch(chunk).await?;
    }
    Ok(())
}
