//! The encrypted local message database: conversations, messages and the durable outbox, kept
//! as sealed [`UnlockedVault`] records in any [`Store`].
//!
//! Every value is sealed under the store key and every record id is a keyed hash of a record
//! name, so neither message text nor conversation or Account IDs appear at rest. Everything
//! is keyed by [`ConversationId`] (a 1:1 conversation, Note to Self being the own account's,
//! a closed group or a community room); only blocking is about accounts. Records (names
//! before hashing), schema version 2:
//! - `msgdb/schema`: the schema version of the records below (see [Schema](#schema)).
//! - `msgdb/v2/conversations`: every [`Conversation`] plus the next local message key (one
//!   decrypt lists all conversations).
//! - `msgdb/v2/index/<conversation id>`: the per-conversation message index, sorted by (sent
//!   time, key): identity, direction, storage hashes, read flag, expiry, outbox state and
//!   tombstones of deleted messages (so a re-fetched copy does not come back). Listing,
//!   unread counts, marking read, the outbox and expiry sweeps need only this record. The
//!   name holds the id's stable string form (`05…`, `03…` or `<server>/<room>`).
//! - `msgdb/v2/message/<key>`: one message's content (conversation, text, quote, reactions,
//!   received time), fetched by key when a page of a conversation is shown.
//!
//! There is no seen-hash set here: dropping a message delivered again (by storage hash, or by
//! (sender, sent timestamp)) is the job of the network client's dedup ([`crate::client`],
//! persisted by [`crate::store::client_state`]), the one dedup authority; it drops repeats
//! before they reach the database, and the worker commits its records in the same store
//! transaction as the database writes of the same step. What remains here is per
//! conversation: [`MessageDb::insert_message`] finds a message already in the conversation's
//! index (same storage hash, or same author and sent time) and does not store it twice, and a
//! tombstone keeps a deleted one from coming back. Schema-2 stores written before this kept a
//! `msgdb/v2/seen` record; [`MessageDb::upgrade`] deletes it.
//!
//! # Write order
//! Each operation collects its writes and hands them to [`Store::write_batch`] at once, in this
//! order: new or changed message contents, then the conversation list (which also holds the
//! next message key), then conversation indexes, then deletions (an index
//! before the contents it pointed at). A backend that applies a batch atomically (IndexedDB:
//! one transaction; [`MemoryStore`](super::MemoryStore): one lock) never shows a partial
//! operation. With a backend that applies it op by op, a crash part-way leaves at worst:
//! an unreferenced message content (new content is written before any index points at it,
//! and deleted only after no index does), or a conversation summary (preview, unread count)
//! one step ahead of its index until the next write to that conversation recomputes it. An
//! index never points at missing content, a message key is never handed out twice (the
//! counter is saved before any index uses the key), and retrying the interrupted operation
//! converges.
//!
//! Deleting a conversation is the one exception: its index and contents are deleted first and
//! the conversation list is written last, so an interrupted delete leaves the conversation
//! listed (empty) and can simply be retried.
//!
//! # Schema
//! The records above are schema version 2. Older stores are upgraded by
//! [`crate::store::migrations`] (one module per step, e.g. `v1_to_v2`), automatically: the
//! first writing operation after an unlock (or [`MessageDb::upgrade`]) runs every pending
//! step, once per [`UnlockedVault`]. A reading operation cannot upgrade (it has no RNG to seal
//! with): on an outdated store it fails with [`MessageDbError::UpgradeRequired`] instead of
//! showing an empty database. A store of a newer schema fails with
//! [`MessageDbError::UnsupportedVersion`].
//!
//! # Use
//! A `MessageDb` holds no cache: it borrows the store and the unlocked vault and is cheap to
//! create per operation. Writing methods take `&mut self`; the caller must not run two writing
//! operations on the same store at once (each is a read-modify-write of shared records), e.g.
//! the worker runs them one after another from a single queue.

mod conversations;
mod files;
mod model;
mod read;
pub(in crate::store) mod records;
mod write;

use rand_core::CryptoRng;
use serde::Serialize;
use serde::de::DeserializeOwned;

use records::{
    Batch, CONVERSATIONS, ContentRecord, ConversationsRecord, EntryState, FORMAT, Fresh,
    IndexEntry, IndexRecord, check_version, index_name, message_name,
};

use super::{BatchOp, RecordError, Store, StoreError, UnlockedVault, migrations};
use crate::address::ConversationId;
use crate::error::ErrorKind;

pub use model::{
    Attachment, AttachmentFailure, AttachmentState, CallEntry, Conversation, ConversationState,
    ConversationUpdate, Direction, Disappearing, DisappearingMode, InsertOutcome, LastMessage,
    Message, MessageKey, MessageRef, NewMessage, OutboxState, Placeholder, Quote, ReadMarked,
    RemovedMessage,
};

pub use records::FILE_CHUNK_BYTES;

/// Maximum number of characters of a message kept as the conversation preview.
pub const PREVIEW_CHARS: usize = 100;
/// How long the tombstone of a deleted or expired message is kept (ms after its sent time):
/// longer than the longest a storage server keeps a message (30 days), so a copy still on a
/// swarm cannot bring it back.
pub const TOMBSTONE_KEEP_MS: u64 = 31 * 24 * 60 * 60 * 1000;

/// Why a message-database operation failed. Carries no message text or ids.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MessageDbError {
    /// The storage backend failed, or a record did not decrypt.
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    /// A record decrypted but its contents are not valid (or an index entry lacks its message).
    #[error("message database record is corrupted")]
    Corrupted,
    /// A record (or the schema) was written by a newer format.
    #[error("message database format version {found} is not supported")]
    UnsupportedVersion {
        /// The version found.
        found: u8,
    },
    /// The records are of an older schema and a reading operation cannot upgrade them: run
    /// a writing operation or [`MessageDb::upgrade`] first.
    #[error("message database must be upgraded first")]
    UpgradeRequired,
    /// No such conversation.
    #[error("no such conversation")]
    NoSuchConversation,
    /// No message with that key in that conversation (or it was deleted).
    #[error("no such message")]
    NoSuchMessage,
    /// The operation applies to outgoing messages only.
    #[error("not an outgoing message")]
    NotOutgoing,
    /// The author does not fit the direction (outgoing: this account; incoming: the peer of a
    /// 1:1 conversation, anyone else in a group or community).
    #[error("message author does not match its direction")]
    WrongAuthor,
    /// A record could not be serialized (a bug).
    #[error("record could not be encoded")]
    Encode,
}

impl MessageDbError {
    /// Coarse classification of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            MessageDbError::Store(e) => e.kind(),
            MessageDbError::Corrupted | MessageDbError::UnsupportedVersion { .. } => {
                ErrorKind::Storage
            }
            MessageDbError::UpgradeRequired
            | MessageDbError::NoSuchConversation
            | MessageDbError::NoSuchMessage
            | MessageDbError::NotOutgoing
            | MessageDbError::WrongAuthor => ErrorKind::BadApiUsage,
            MessageDbError::Encode => ErrorKind::Bug,
        }
    }
}

impl From<RecordError> for MessageDbError {
    fn from(e: RecordError) -> Self {
        match e {
            RecordError::Store(s) => MessageDbError::Store(s),
            RecordError::Corrupted => MessageDbError::Corrupted,
            RecordError::Encode => MessageDbError::Encode,
        }
    }
}

type Result<T> = core::result::Result<T, MessageDbError>;

/// Reads and parses the record `name` (`None` if absent). Shared with the migrations.
pub(in crate::store) async fn load_record<S: Store, T: DeserializeOwned>(
    store: &S,
    vault: &UnlockedVault,
    name: &str,
) -> Result<Option<T>> {
    Ok(vault.get_json(store, name).await?)
}

/// Serializes and seals `value` as the record `name`. Shared with the migrations.
pub(in crate::store) fn seal_record<T: Serialize, R: CryptoRng + ?Sized>(
    vault: &UnlockedVault,
    name: &str,
    value: &T,
    rng: &mut R,
) -> Result<BatchOp> {
    Ok(vault.seal_json_op(name, value, rng)?)
}

/// The deletion of the record `name`.
pub(in crate::store) fn delete_record_op(vault: &UnlockedVault, name: &str) -> BatchOp {
    vault.delete_op(name)
}

/// The message database of one unlocked account over a [`Store`]. See the module docs for
/// the record layout, the write order and schema upgrades.
pub struct MessageDb<'a, S: Store> {
    store: &'a S,
    vault: &'a UnlockedVault,
}

impl<S: Store> core::fmt::Debug for MessageDb<'_, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("MessageDb(<redacted>)")
    }
}

impl<'a, S: Store> MessageDb<'a, S> {
    /// Opens the message database of `vault` in `store` (nothing is read until used; an empty
    /// store is an empty database).
    pub fn new(store: &'a S, vault: &'a UnlockedVault) -> MessageDb<'a, S> {
        MessageDb { store, vault }
    }

    /// Brings the records up to the current schema, running every pending migration step
    /// (see [Schema](self#schema)), and deletes the `msgdb/v2/seen` record older schema-2
    /// stores kept (see the module docs). Idempotent and cheap once done for this unlocked
    /// vault; every writing method calls it first.
    pub async fn upgrade<R: CryptoRng + ?Sized>(&mut self, rng: &mut R) -> Result<()> {
        self.ready_to_write(rng).await
    }

    // ---- schema ------------------------------------------------------------------------------

    /// Before a write: upgrades the schema if this vault has not seen it current yet.
    async fn ready_to_write<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> Result<()> {
        if self.vault.msgdb_schema_current() {
            return Ok(());
        }
        migrations::upgrade(self.store, self.vault, rng).await?;
        self.vault.set_msgdb_schema_current();
        Ok(())
    }

    /// Before a read: fails if the records still need an upgrade (an empty store is fine).
    async fn ready_to_read(&self) -> Result<()> {
        if self.vault.msgdb_schema_current() {
            return Ok(());
        }
        match migrations::inspect(self.store, self.vault).await? {
            migrations::Schema::Current => {
                self.vault.set_msgdb_schema_current();
                Ok(())
            }
            migrations::Schema::Empty => Ok(()),
            migrations::Schema::Outdated => Err(MessageDbError::UpgradeRequired),
        }
    }

    // ---- record plumbing -------------------------------------------------------------------

    async fn load<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        load_record(self.store, self.vault, name).await
    }

    fn seal<T: Serialize, R: CryptoRng + ?Sized>(
        &self,
        name: &str,
        value: &T,
        rng: &mut R,
    ) -> Result<BatchOp> {
        seal_record(self.vault, name, value, rng)
    }

    fn delete_op(&self, name: &str) -> BatchOp {
        delete_record_op(self.vault, name)
    }

    /// The deletions of every stored chunk of `entry`'s attachments.
    fn file_deletes(&self, entry: &IndexEntry) -> Vec<BatchOp> {
        entry
            .files
            .iter()
            .enumerate()
            .flat_map(|(index, &chunks)| {
                (0..chunks).map(move |c| self.delete_op(&records::file_name(entry.id, index, c)))
            })
            .collect()
    }

    async fn load_conversations(&self) -> Result<ConversationsRecord> {
        let rec: ConversationsRecord = self.load(CONVERSATIONS).await?.unwrap_or_default();
        check_version(rec.v)?;
        Ok(rec)
    }

    async fn load_index(&self, conversation: &ConversationId) -> Result<IndexRecord> {
        let rec = self
            .load(&index_name(conversation))
            .await?
            .unwrap_or(IndexRecord {
                v: FORMAT,
                entries: Vec::new(),
            });
        check_version(rec.v)?;
        Ok(rec)
    }

    async fn load_content(&self, id: MessageKey) -> Result<ContentRecord> {
        let rec: ContentRecord = self
            .load(&message_name(id))
            .await?
            .ok_or(MessageDbError::Corrupted)?;
        check_version(rec.v)?;
        Ok(rec)
    }

    async fn commit(&self, batch: Batch) -> Result<()> {
        let ops = batch.into_ops();
        if ops.is_empty() {
            return Ok(());
        }
        self.store.write_batch(&ops).await?;
        Ok(())
    }

    fn assemble(
        conversation: &ConversationId,
        entry: &IndexEntry,
        content: &ContentRecord,
    ) -> Message {
        let unsent = entry.state == EntryState::Unsent;
        Message {
            id: entry.id,
            conversation: conversation.clone(),
            direction: entry.direction,
            author: entry.author,
            sent_ms: entry.sent_ms,
            received_ms: content.received_ms,
            body: if unsent {
                String::new()
            } else {
                content.body.clone()
            },
            storage_hashes: entry.hashes.clone(),
            outbox: entry.outbox,
            read: entry.read,
            expires_at_ms: entry.expires_at_ms,
            quote: if unsent { None } else { content.quote.clone() },
            reactions: if unsent {
                Default::default()
            } else {
                content.reactions.clone()
            },
            deleted: unsent,
            placeholder: if unsent {
                None
            } else {
                content.placeholder.clone()
            },
            attachments: if unsent {
                Vec::new()
            } else {
                content.attachments.clone()
            },
        }
    }

    /// Recomputes a conversation's unread count and last-message summary from its index.
    /// `fresh` holds the contents written by this operation (not yet stored).
    async fn refresh_summary(
        &self,
        conv: &mut Conversation,
        index: &IndexRecord,
        fresh: &Fresh,
    ) -> Result<()> {
        let unread = index
            .entries
            .iter()
            .filter(|e| {
                e.state == EntryState::Live && e.direction == Direction::Incoming && !e.read
            })
            .count();
        conv.unread_count = u32::try_from(unread).unwrap_or(u32::MAX);
        let Some(last) = index
            .entries
            .iter()
            .rev()
            .find(|e| e.state != EntryState::Removed)
        else {
            conv.last_message = None;
            return Ok(());
        };
        let deleted = last.state == EntryState::Unsent;
        let text = if deleted {
            String::new()
        } else if let Some(content) = fresh.get(&last.id) {
            content.preview()
        } else if let Some(lm) = conv
            .last_message
            .as_ref()
            .filter(|lm| lm.id == last.id && !lm.deleted)
        {
            lm.preview.clone()
        } else {
            self.load_content(last.id).await?.preview()
        };
        conv.last_message = Some(LastMessage {
            id: last.id,
            direction: last.direction,
            sent_ms: last.sent_ms,
            preview: text,
            deleted,
        });
        conv.last_activity_ms = conv.last_activity_ms.max(last.sent_ms);
        Ok(())
    }

    /// Writes `index` and the refreshed summary of its conversation into `batch`.
    async fn stage_index<R: CryptoRng + ?Sized>(
        &self,
        batch: &mut Batch,
        convs: &mut ConversationsRecord,
        conversation: &ConversationId,
        index: &IndexRecord,
        fresh: &Fresh,
        rng: &mut R,
    ) -> Result<()> {
        batch
            .indexes
            .push(self.seal(&index_name(conversation), index, rng)?);
        if let Some(pos) = convs.position(conversation) {
            let mut conv = convs.conversations[pos].clone();
            self.refresh_summary(&mut conv, index, fresh).await?;
            convs.conversations[pos] = conv;
        }
        Ok(())
    }
}
