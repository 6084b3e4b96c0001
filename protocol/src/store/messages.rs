//! The encrypted local message database: conversations, messages, the durable outbox and the
//! seen-hash set, kept as sealed [`UnlockedVault`] records in any [`Store`].
//!
//! Every value is sealed under the store key and every record id is a keyed hash of a record
//! name, so neither message text nor Account IDs appear at rest. Records (names before hashing):
//! - `msgdb/v1/conversations`: every [`Conversation`] plus the next local message id (one
//!   decrypt lists all conversations).
//! - `msgdb/v1/index/<peer>`: the per-conversation message index, sorted by (sent time, id):
//!   identity, direction, storage hashes, read flag, expiry, outbox state and tombstones of
//!   deleted messages (so a re-fetched copy does not come back). Listing, unread counts,
//!   marking read, the outbox and expiry sweeps need only this record.
//! - `msgdb/v1/message/<id>`: one message's content (text, quote, reactions, received time),
//!   fetched by id when a page of a conversation is shown.
//! - `msgdb/v1/seen`: the bounded set of storage hashes already processed (oldest dropped
//!   first), so polling after a reload skips what was handled before.
//!
//! # Write order
//! Each operation collects its writes and hands them to [`Store::write_batch`] at once, in this
//! order: new or changed message contents, then the conversation list (which also holds the
//! next message id), then conversation indexes, then the seen set, then deletions (an index
//! before the contents it pointed at). A backend that applies a batch atomically (IndexedDB:
//! one transaction; [`MemoryStore`](super::MemoryStore): one lock) never shows a partial
//! operation. With a backend that applies it op by op, a crash part-way leaves at worst:
//! an unreferenced message content (new content is written before any index points at it,
//! and deleted only after no index does), or a conversation summary (preview, unread count)
//! one step ahead of its index until the next write to that conversation recomputes it. An
//! index never points at missing content, a message id is never handed out twice (the counter
//! is saved before any index uses the id), and retrying the interrupted operation converges
//! (the seen set is written last, so a retried insert is not mistaken for an old hash).
//!
//! Deleting a conversation is the one exception: its index and contents are deleted first and
//! the conversation list is written last, so an interrupted delete leaves the conversation
//! listed (empty) and can simply be retried.
//!
//! # Use
//! A `MessageDb` holds no cache: it borrows the store and the unlocked vault and is cheap to
//! create per operation. Writing methods take `&mut self`; the caller must not run two writing
//! operations on the same store at once (each is a read-modify-write of shared records), e.g.
//! the worker runs them one after another from a single queue. Storing a message (or an
//! outbox hash) adds its storage hash to the seen set; hashes of messages that store nothing
//! (receipts, reactions, unsend requests, undecryptable data) are recorded with
//! [`MessageDb::mark_seen`].

mod model;
mod records;

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rand_core::CryptoRng;
use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use records::{
    Batch, ContentRecord, ConversationsRecord, EntryState, FORMAT, Fresh, IndexEntry, IndexRecord,
    SeenRecord, check_version, preview,
};

use super::{BatchOp, Store, StoreError, UnlockedVault};
use crate::error::ErrorKind;
use crate::identity::AccountId;

pub use model::{
    Conversation, ConversationState, ConversationUpdate, Direction, Disappearing, DisappearingMode,
    InsertOutcome, LastMessage, Message, MessageId, MessageRef, NewMessage, OutboxState, Quote,
    ReadMarked, RemovedMessage,
};

/// Maximum number of characters of a message kept as the conversation preview.
pub const PREVIEW_CHARS: usize = 100;
/// Default capacity of the seen-hash set (oldest hashes are dropped beyond it).
pub const DEFAULT_SEEN_CAPACITY: usize = 10_000;
/// How long the tombstone of a deleted or expired message is kept (ms after its sent time):
/// longer than the longest a storage server keeps a message (30 days), so a copy still on a
/// swarm cannot bring it back.
pub const TOMBSTONE_KEEP_MS: u64 = 31 * 24 * 60 * 60 * 1000;

const CONVERSATIONS: &str = "msgdb/v1/conversations";
const SEEN: &str = "msgdb/v1/seen";

fn index_name(peer: &AccountId) -> String {
    format!("msgdb/v1/index/{peer}")
}

fn message_name(id: MessageId) -> String {
    format!("msgdb/v1/message/{}", id.0)
}

/// Why a message-database operation failed. Carries no message text or Account IDs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MessageDbError {
    /// The storage backend failed, or a record did not decrypt.
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    /// A record decrypted but its contents are not valid (or an index entry lacks its message).
    #[error("message database record is corrupted")]
    Corrupted,
    /// A record was written by a newer format.
    #[error("message database format version {found} is not supported")]
    UnsupportedVersion {
        /// The version found.
        found: u8,
    },
    /// No conversation with that peer.
    #[error("no such conversation")]
    NoSuchConversation,
    /// No message with that id in that conversation (or it was deleted).
    #[error("no such message")]
    NoSuchMessage,
    /// The operation applies to outgoing messages only.
    #[error("not an outgoing message")]
    NotOutgoing,
    /// The author does not fit the direction (incoming: the peer; outgoing: this account).
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
            MessageDbError::NoSuchConversation
            | MessageDbError::NoSuchMessage
            | MessageDbError::NotOutgoing
            | MessageDbError::WrongAuthor => ErrorKind::BadApiUsage,
            MessageDbError::Encode => ErrorKind::Bug,
        }
    }
}

type Result<T> = core::result::Result<T, MessageDbError>;

/// The message database of one unlocked account over a [`Store`]. See the module docs for
/// the record layout and the write order.
pub struct MessageDb<'a, S: Store> {
    store: &'a S,
    vault: &'a UnlockedVault,
    seen_capacity: usize,
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
        MessageDb {
            store,
            vault,
            seen_capacity: DEFAULT_SEEN_CAPACITY,
        }
    }

    /// Like [`MessageDb::new`] with a seen-hash set bounded to `capacity` (at least 1).
    pub fn with_seen_capacity(
        store: &'a S,
        vault: &'a UnlockedVault,
        capacity: usize,
    ) -> MessageDb<'a, S> {
        MessageDb {
            store,
            vault,
            seen_capacity: capacity.max(1),
        }
    }

    // ---- record plumbing -------------------------------------------------------------------

    async fn load<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        match self.vault.get_record(self.store, name).await? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| MessageDbError::Corrupted),
        }
    }

    fn seal<T: Serialize, R: CryptoRng + ?Sized>(
        &self,
        name: &str,
        value: &T,
        rng: &mut R,
    ) -> Result<BatchOp> {
        let plain = Zeroizing::new(serde_json::to_vec(value).map_err(|_| MessageDbError::Encode)?);
        let id = self.vault.record_storage_id(name);
        let bytes = self.vault.store_key().seal(&id, &plain, rng)?;
        Ok(BatchOp::Put { id, bytes })
    }

    fn delete_op(&self, name: &str) -> BatchOp {
        BatchOp::Delete {
            id: self.vault.record_storage_id(name),
        }
    }

    async fn load_conversations(&self) -> Result<ConversationsRecord> {
        let rec: ConversationsRecord = self.load(CONVERSATIONS).await?.unwrap_or_default();
        check_version(rec.v)?;
        Ok(rec)
    }

    async fn load_index(&self, peer: &AccountId) -> Result<IndexRecord> {
        let rec = self.load(&index_name(peer)).await?.unwrap_or(IndexRecord {
            v: FORMAT,
            entries: Vec::new(),
        });
        check_version(rec.v)?;
        Ok(rec)
    }

    async fn load_seen(&self) -> Result<SeenRecord> {
        let rec = self.load(SEEN).await?.unwrap_or(SeenRecord {
            v: FORMAT,
            hashes: VecDeque::new(),
        });
        check_version(rec.v)?;
        Ok(rec)
    }

    async fn load_content(&self, id: MessageId) -> Result<ContentRecord> {
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

    fn assemble(peer: AccountId, entry: &IndexEntry, content: &ContentRecord) -> Message {
        let unsent = entry.state == EntryState::Unsent;
        Message {
            id: entry.id,
            conversation: peer,
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
            preview(&content.body)
        } else if let Some(lm) = conv
            .last_message
            .as_ref()
            .filter(|lm| lm.id == last.id && !lm.deleted)
        {
            lm.preview.clone()
        } else {
            preview(&self.load_content(last.id).await?.body)
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

    /// Writes `index` and the refreshed summary of `peer`'s conversation into `batch`.
    async fn stage_index<R: CryptoRng + ?Sized>(
        &self,
        batch: &mut Batch,
        convs: &mut ConversationsRecord,
        peer: &AccountId,
        index: &IndexRecord,
        fresh: &Fresh,
        rng: &mut R,
    ) -> Result<()> {
        batch
            .indexes
            .push(self.seal(&index_name(peer), index, rng)?);
        if let Some(pos) = convs.conversations.iter().position(|c| c.peer == *peer) {
            let mut conv = convs.conversations[pos].clone();
            self.refresh_summary(&mut conv, index, fresh).await?;
            convs.conversations[pos] = conv;
        }
        Ok(())
    }

    // ---- conversations -----------------------------------------------------------------------

    /// The conversation with `peer`, if any.
    pub async fn conversation(&self, peer: &AccountId) -> Result<Option<Conversation>> {
        Ok(self.load_conversations().await?.get(peer).cloned())
    }

    /// Every conversation (accepted, requests and blocked), most recent activity first.
    pub async fn list_conversations(&self) -> Result<Vec<Conversation>> {
        let mut list = self.load_conversations().await?.conversations;
        list.sort_by(|a, b| {
            b.last_activity_ms
                .cmp(&a.last_activity_ms)
                .then_with(|| a.peer.cmp(&b.peer))
        });
        Ok(list)
    }

    /// Creates the conversation with `peer` if absent (state from `update`, else
    /// [`ConversationState::Accepted`]; activity time `now_ms`) and applies `update`.
    pub async fn upsert_conversation<R: CryptoRng + ?Sized>(
        &mut self,
        peer: &AccountId,
        update: ConversationUpdate,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Conversation> {
        let mut convs = self.load_conversations().await?;
        let initial = update.state.unwrap_or(ConversationState::Accepted);
        let conv = convs.get_or_create(*peer, initial, now_ms);
        if let Some(name) = update.display_name {
            conv.display_name = name;
        }
        if let Some(state) = update.state {
            conv.state = state;
        }
        if let Some(d) = update.disappearing {
            conv.disappearing = d;
        }
        let out = conv.clone();
        let batch = Batch {
            conversations: Some(self.seal(CONVERSATIONS, &convs, rng)?),
            ..Batch::default()
        };
        self.commit(batch).await?;
        Ok(out)
    }

    async fn set_state<R: CryptoRng + ?Sized>(
        &mut self,
        peer: &AccountId,
        state: ConversationState,
        create: bool,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Conversation> {
        if !create && self.conversation(peer).await?.is_none() {
            return Err(MessageDbError::NoSuchConversation);
        }
        let update = ConversationUpdate {
            state: Some(state),
            ..ConversationUpdate::default()
        };
        self.upsert_conversation(peer, update, now_ms, rng).await
    }

    /// Accepts a message request (state becomes [`ConversationState::Accepted`]).
    pub async fn accept<R: CryptoRng + ?Sized>(
        &mut self,
        peer: &AccountId,
        rng: &mut R,
    ) -> Result<Conversation> {
        self.set_state(peer, ConversationState::Accepted, false, 0, rng)
            .await
    }

    /// Blocks `peer` (creating the conversation if needed): later incoming messages are
    /// dropped. Stored messages are kept.
    pub async fn block<R: CryptoRng + ?Sized>(
        &mut self,
        peer: &AccountId,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Conversation> {
        self.set_state(peer, ConversationState::Blocked, true, now_ms, rng)
            .await
    }

    /// Unblocks `peer`; the conversation becomes [`ConversationState::Accepted`].
    pub async fn unblock<R: CryptoRng + ?Sized>(
        &mut self,
        peer: &AccountId,
        rng: &mut R,
    ) -> Result<Conversation> {
        self.set_state(peer, ConversationState::Accepted, false, 0, rng)
            .await
    }

    /// The blocked Account IDs.
    pub async fn blocked(&self) -> Result<Vec<AccountId>> {
        let mut list: Vec<AccountId> = self
            .load_conversations()
            .await?
            .conversations
            .iter()
            .filter(|c| c.state == ConversationState::Blocked)
            .map(|c| c.peer)
            .collect();
        list.sort();
        Ok(list)
    }

    /// Deletes the conversation with `peer` and all its messages. Their storage hashes stay in
    /// the seen set, so the same copies are not fetched back. Returns the removed messages.
    pub async fn delete_conversation<R: CryptoRng + ?Sized>(
        &mut self,
        peer: &AccountId,
        rng: &mut R,
    ) -> Result<Vec<RemovedMessage>> {
        let mut convs = self.load_conversations().await?;
        let index = self.load_index(peer).await?;
        let before = convs.conversations.len();
        convs.conversations.retain(|c| c.peer != *peer);
        if before == convs.conversations.len() && index.entries.is_empty() {
            return Err(MessageDbError::NoSuchConversation);
        }
        // Index first, then contents, then the list: a crash part-way leaves the conversation
        // listed (with a summary the next write recomputes) and the delete can be retried.
        let mut ops = vec![self.delete_op(&index_name(peer))];
        let mut removed = Vec::new();
        for e in &index.entries {
            if e.state != EntryState::Removed {
                removed.push(RemovedMessage {
                    conversation: *peer,
                    id: e.id,
                });
            }
            ops.push(self.delete_op(&message_name(e.id)));
        }
        ops.push(self.seal(CONVERSATIONS, &convs, rng)?);
        self.store.write_batch(&ops).await?;
        Ok(removed)
    }

    // ---- messages ----------------------------------------------------------------------------

    /// Stores a message, idempotently: a message already stored under the same storage hash or
    /// the same (author, sent timestamp) is not stored twice, and a deleted or expired one is
    /// not brought back. Incoming messages for a blocked conversation are dropped. An incoming
    /// message from an unknown peer opens a [`ConversationState::Request`]; an outgoing one
    /// creates (or accepts) the conversation.
    pub async fn insert_message<R: CryptoRng + ?Sized>(
        &mut self,
        msg: NewMessage,
        rng: &mut R,
    ) -> Result<InsertOutcome> {
        let mut outcomes = self.insert_messages(vec![msg], rng).await?;
        outcomes.pop().ok_or(MessageDbError::Encode)
    }

    /// Stores several messages (e.g. one poll's worth) in one write, with the same rules as
    /// [`MessageDb::insert_message`]; one outcome per message, in order. If any message has a
    /// wrong author, nothing is stored.
    pub async fn insert_messages<R: CryptoRng + ?Sized>(
        &mut self,
        msgs: Vec<NewMessage>,
        rng: &mut R,
    ) -> Result<Vec<InsertOutcome>> {
        let me = self.vault.account_id();
        for msg in &msgs {
            let expected = match msg.direction {
                Direction::Incoming => msg.conversation,
                Direction::Outgoing => me,
            };
            if msg.author != expected {
                return Err(MessageDbError::WrongAuthor);
            }
        }
        let mut convs = self.load_conversations().await?;
        let mut seen = self.load_seen().await?;
        let mut indexes: BTreeMap<AccountId, IndexRecord> = BTreeMap::new();
        let mut touched: BTreeSet<AccountId> = BTreeSet::new();
        let mut fresh = Fresh::new();
        let mut seen_dirty = false;
        let mut convs_dirty = false;
        let mut outcomes = Vec::with_capacity(msgs.len());
        for msg in msgs {
            let peer = msg.conversation;
            let index = match indexes.entry(peer) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(v) => v.insert(self.load_index(&peer).await?),
            };
            let hash = msg.storage_hash.clone();
            let seen_new = hash
                .as_deref()
                .is_some_and(|h| seen.add(h, self.seen_capacity));
            seen_dirty |= seen_new;
            let target = MessageRef {
                author: msg.author,
                sent_ms: msg.sent_ms,
            };
            let existing = hash
                .as_deref()
                .and_then(|h| index.find_hash(h))
                .or_else(|| index.find_ref(&target));
            if let Some(pos) = existing {
                let entry = &mut index.entries[pos];
                if let Some(h) = hash
                    && !entry.hashes.contains(&h)
                {
                    entry.hashes.push(h);
                    touched.insert(peer);
                }
                outcomes.push(if entry.state == EntryState::Removed {
                    InsertOutcome::Deleted
                } else {
                    InsertOutcome::Duplicate(entry.id)
                });
                continue;
            }
            if hash.is_some() && !seen_new {
                outcomes.push(InsertOutcome::AlreadySeen);
                continue;
            }
            let blocked = convs
                .get(&peer)
                .is_some_and(|c| c.state == ConversationState::Blocked);
            if blocked && msg.direction == Direction::Incoming {
                outcomes.push(InsertOutcome::Blocked);
                continue;
            }
            let (id, entry, content) = Self::new_entry(&mut convs, msg);
            index.insert_sorted(entry);
            fresh.insert(id, content);
            touched.insert(peer);
            convs_dirty = true;
            outcomes.push(InsertOutcome::Inserted(id));
        }

        let mut batch = Batch::default();
        for (id, content) in &fresh {
            batch
                .contents
                .push(self.seal(&message_name(*id), content, rng)?);
        }
        for peer in &touched {
            if let Some(index) = indexes.get(peer) {
                self.stage_index(&mut batch, &mut convs, peer, index, &fresh, rng)
                    .await?;
            }
        }
        if convs_dirty {
            batch.conversations = Some(self.seal(CONVERSATIONS, &convs, rng)?);
        }
        if seen_dirty {
            batch.seen = Some(self.seal(SEEN, &seen, rng)?);
        }
        self.commit(batch).await?;
        Ok(outcomes)
    }

    /// Allocates an id for a new message, creates or updates its conversation, and builds its
    /// index entry and content.
    fn new_entry(
        convs: &mut ConversationsRecord,
        msg: NewMessage,
    ) -> (MessageId, IndexEntry, ContentRecord) {
        let peer = msg.conversation;
        let initial = match msg.direction {
            Direction::Incoming => ConversationState::Request,
            Direction::Outgoing => ConversationState::Accepted,
        };
        let conv = convs.get_or_create(peer, initial, msg.sent_ms);
        if msg.direction == Direction::Outgoing && conv.state == ConversationState::Request {
            // Replying to a request accepts it.
            conv.state = ConversationState::Accepted;
        }
        let id = MessageId(convs.next_id);
        convs.next_id = convs.next_id.saturating_add(1);

        let setting = msg.disappearing.filter(Disappearing::is_on);
        let expires_after_send =
            setting.map(|d| msg.sent_ms.saturating_add(u64::from(d.timer_s) * 1000));
        let (expires_at_ms, read_timer_s) = match setting.map(|d| d.mode) {
            Some(DisappearingMode::AfterSend) => (expires_after_send, None),
            // Our own messages count as read when sent.
            Some(DisappearingMode::AfterRead) if msg.direction == Direction::Outgoing => {
                (expires_after_send, None)
            }
            Some(DisappearingMode::AfterRead) => (None, setting.map(|d| d.timer_s)),
            _ => (None, None),
        };
        let outbox = match msg.direction {
            Direction::Incoming => None,
            Direction::Outgoing => Some(msg.outbox.unwrap_or(OutboxState::Pending)),
        };
        let entry = IndexEntry {
            id,
            author: msg.author,
            sent_ms: msg.sent_ms,
            direction: msg.direction,
            hashes: msg.storage_hash.into_iter().collect(),
            read: false,
            expires_at_ms,
            read_timer_s,
            outbox,
            state: EntryState::Live,
        };
        let content = ContentRecord {
            v: FORMAT,
            conversation: peer,
            received_ms: msg.received_ms,
            body: msg.body,
            quote: msg.quote,
            reactions: BTreeMap::new(),
        };
        (id, entry, content)
    }

    /// The message `id` of `peer`'s conversation (unsent messages included, with their
    /// content wiped; deleted-for-me and expired ones are gone).
    pub async fn message(&self, peer: &AccountId, id: MessageId) -> Result<Option<Message>> {
        let index = self.load_index(peer).await?;
        let Some(entry) = index
            .position(id)
            .map(|p| &index.entries[p])
            .filter(|e| e.state != EntryState::Removed)
        else {
            return Ok(None);
        };
        let content = self.load_content(id).await?;
        Ok(Some(Self::assemble(*peer, entry, &content)))
    }

    /// The message of `peer`'s conversation with this Session identity, if stored.
    pub async fn find_message(
        &self,
        peer: &AccountId,
        target: &MessageRef,
    ) -> Result<Option<Message>> {
        let index = self.load_index(peer).await?;
        let Some(entry) = index
            .find_ref(target)
            .map(|p| &index.entries[p])
            .filter(|e| e.state != EntryState::Removed)
        else {
            return Ok(None);
        };
        let content = self.load_content(entry.id).await?;
        Ok(Some(Self::assemble(*peer, entry, &content)))
    }

    /// A page of `peer`'s conversation in ascending sent-time order: the newest `limit`
    /// messages after skipping the `skip_newest` newest ones. One index decrypt plus one
    /// decrypt per returned message.
    pub async fn list_messages(
        &self,
        peer: &AccountId,
        limit: usize,
        skip_newest: usize,
    ) -> Result<Vec<Message>> {
        let index = self.load_index(peer).await?;
        let visible: Vec<&IndexEntry> = index
            .entries
            .iter()
            .filter(|e| e.state != EntryState::Removed)
            .collect();
        let end = visible.len().saturating_sub(skip_newest);
        let start = end.saturating_sub(limit);
        let mut out = Vec::with_capacity(end - start);
        for entry in &visible[start..end] {
            let content = self.load_content(entry.id).await?;
            out.push(Self::assemble(*peer, entry, &content));
        }
        Ok(out)
    }

    /// Number of listed (not removed) messages in `peer`'s conversation.
    pub async fn message_count(&self, peer: &AccountId) -> Result<usize> {
        let index = self.load_index(peer).await?;
        Ok(index
            .entries
            .iter()
            .filter(|e| e.state != EntryState::Removed)
            .count())
    }

    /// Marks every unread incoming message of `peer`'s conversation read at `now_ms`: the
    /// unread count becomes 0, `last_read_ms` becomes `now_ms`, after-read timers start.
    /// Returns the messages that became read (for read receipts), oldest first.
    pub async fn mark_read<R: CryptoRng + ?Sized>(
        &mut self,
        peer: &AccountId,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Vec<ReadMarked>> {
        let mut convs = self.load_conversations().await?;
        if convs.get(peer).is_none() {
            return Err(MessageDbError::NoSuchConversation);
        }
        let mut index = self.load_index(peer).await?;
        let mut marked = Vec::new();
        for e in index.entries.iter_mut().filter(|e| {
            e.state == EntryState::Live && e.direction == Direction::Incoming && !e.read
        }) {
            e.read = true;
            if let Some(t) = e.read_timer_s.take() {
                let at = now_ms.saturating_add(u64::from(t) * 1000);
                e.expires_at_ms = Some(e.expires_at_ms.map_or(at, |x| x.min(at)));
            }
            marked.push(ReadMarked {
                id: e.id,
                sent_ms: e.sent_ms,
                expires_at_ms: e.expires_at_ms,
            });
        }
        if let Some(conv) = convs.get_mut(peer) {
            conv.last_read_ms = conv.last_read_ms.max(now_ms);
        }
        let mut batch = Batch::default();
        if marked.is_empty() {
            // Nothing to write to the index, but the summary is recomputed from it anyway
            // (this heals a summary left ahead by an interrupted non-atomic write).
            if let Some(pos) = convs.conversations.iter().position(|c| c.peer == *peer) {
                let mut conv = convs.conversations[pos].clone();
                self.refresh_summary(&mut conv, &index, &Fresh::new())
                    .await?;
                convs.conversations[pos] = conv;
            }
        } else {
            self.stage_index(&mut batch, &mut convs, peer, &index, &Fresh::new(), rng)
                .await?;
        }
        batch.conversations = Some(self.seal(CONVERSATIONS, &convs, rng)?);
        self.commit(batch).await?;
        Ok(marked)
    }

    /// Applies a read receipt from `peer`: outgoing messages with these sent timestamps are
    /// marked read. Returns the ids that changed.
    pub async fn mark_read_by_peer<R: CryptoRng + ?Sized>(
        &mut self,
        peer: &AccountId,
        sent_ms: &[u64],
        rng: &mut R,
    ) -> Result<Vec<MessageId>> {
        let mut index = self.load_index(peer).await?;
        let mut changed = Vec::new();
        for e in index.entries.iter_mut().filter(|e| {
            e.direction == Direction::Outgoing
                && e.state == EntryState::Live
                && !e.read
                && sent_ms.contains(&e.sent_ms)
        }) {
            e.read = true;
            changed.push(e.id);
        }
        if !changed.is_empty() {
            let batch = Batch {
                indexes: vec![self.seal(&index_name(peer), &index, rng)?],
                ..Batch::default()
            };
            self.commit(batch).await?;
        }
        Ok(changed)
    }

    /// Sets the outbox state of outgoing message `id`, and records the storage hash the
    /// recipient's swarm reported (if given; it also joins the seen set).
    pub async fn set_outbox_state<R: CryptoRng + ?Sized>(
        &mut self,
        peer: &AccountId,
        id: MessageId,
        state: OutboxState,
        storage_hash: Option<&str>,
        rng: &mut R,
    ) -> Result<()> {
        let mut index = self.load_index(peer).await?;
        let pos = index
            .position(id)
            .filter(|&p| index.entries[p].state != EntryState::Removed)
            .ok_or(MessageDbError::NoSuchMessage)?;
        let entry = &mut index.entries[pos];
        if entry.direction != Direction::Outgoing {
            return Err(MessageDbError::NotOutgoing);
        }
        entry.outbox = Some(state);
        if let Some(h) = storage_hash
            && !entry.hashes.iter().any(|x| x == h)
        {
            entry.hashes.push(h.to_owned());
        }
        let mut batch = Batch {
            indexes: vec![self.seal(&index_name(peer), &index, rng)?],
            ..Batch::default()
        };
        if let Some(h) = storage_hash {
            let mut seen = self.load_seen().await?;
            if seen.add(h, self.seen_capacity) {
                batch.seen = Some(self.seal(SEEN, &seen, rng)?);
            }
        }
        self.commit(batch).await
    }

    /// Outgoing messages still to be sent ([`OutboxState::Pending`] or an interrupted
    /// [`OutboxState::Sending`]) across all conversations, oldest first. Call after unlocking
    /// to resume the outbox.
    pub async fn pending_outbox(&self) -> Result<Vec<Message>> {
        let convs = self.load_conversations().await?;
        let mut out = Vec::new();
        for conv in &convs.conversations {
            let index = self.load_index(&conv.peer).await?;
            for e in index
                .entries
                .iter()
                .filter(|e| e.state == EntryState::Live && e.outbox.is_some_and(|s| s.needs_send()))
            {
                let content = self.load_content(e.id).await?;
                out.push(Self::assemble(conv.peer, e, &content));
            }
        }
        out.sort_by_key(|m| (m.sent_ms, m.id));
        Ok(out)
    }

    /// Deletes message `id` for this device only: it disappears from the conversation, its
    /// content is erased, and a tombstone keeps a re-fetched copy from coming back.
    pub async fn delete_message<R: CryptoRng + ?Sized>(
        &mut self,
        peer: &AccountId,
        id: MessageId,
        rng: &mut R,
    ) -> Result<()> {
        let mut convs = self.load_conversations().await?;
        let mut index = self.load_index(peer).await?;
        let pos = index
            .position(id)
            .filter(|&p| index.entries[p].state != EntryState::Removed)
            .ok_or(MessageDbError::NoSuchMessage)?;
        index.entries[pos].state = EntryState::Removed;
        let mut batch = Batch::default();
        self.stage_index(&mut batch, &mut convs, peer, &index, &Fresh::new(), rng)
            .await?;
        batch.conversations = Some(self.seal(CONVERSATIONS, &convs, rng)?);
        batch.deletes.push(self.delete_op(&message_name(id)));
        self.commit(batch).await
    }

    /// Applies an unsend request: the message by `target` is kept as "deleted" with its text,
    /// quote and reactions erased. Only its author may unsend it (`requester`). Returns its id,
    /// or `None` if it is not stored (a tombstone is kept so a later copy stays deleted).
    pub async fn unsend<R: CryptoRng + ?Sized>(
        &mut self,
        peer: &AccountId,
        target: &MessageRef,
        requester: &AccountId,
        received_ms: u64,
        rng: &mut R,
    ) -> Result<Option<MessageId>> {
        if target.author != *requester {
            return Err(MessageDbError::WrongAuthor);
        }
        let mut convs = self.load_conversations().await?;
        let mut index = self.load_index(peer).await?;
        let mut batch = Batch::default();
        let result = match index.find_ref(target) {
            Some(pos) => {
                let entry = &mut index.entries[pos];
                let id = entry.id;
                if entry.state == EntryState::Live {
                    entry.state = EntryState::Unsent;
                    entry.read = true;
                    let wiped = ContentRecord {
                        v: FORMAT,
                        conversation: *peer,
                        received_ms,
                        body: String::new(),
                        quote: None,
                        reactions: Default::default(),
                    };
                    batch
                        .contents
                        .push(self.seal(&message_name(id), &wiped, rng)?);
                }
                (entry.state != EntryState::Removed).then_some(id)
            }
            None => {
                // Remember the identity so the message, arriving later, is not shown.
                let id = MessageId(convs.next_id);
                convs.next_id = convs.next_id.saturating_add(1);
                index.insert_sorted(IndexEntry {
                    id,
                    author: target.author,
                    sent_ms: target.sent_ms,
                    direction: if target.author == *peer {
                        Direction::Incoming
                    } else {
                        Direction::Outgoing
                    },
                    hashes: Vec::new(),
                    read: true,
                    expires_at_ms: None,
                    read_timer_s: None,
                    outbox: None,
                    state: EntryState::Removed,
                });
                None
            }
        };
        self.stage_index(&mut batch, &mut convs, peer, &index, &Fresh::new(), rng)
            .await?;
        batch.conversations = Some(self.seal(CONVERSATIONS, &convs, rng)?);
        self.commit(batch).await?;
        Ok(result)
    }

    /// Adds (`add`) or removes `reactor`'s `emoji` reaction on the message `target`. Returns
    /// the message id, or `None` if the message is not stored (or deleted).
    pub async fn react<R: CryptoRng + ?Sized>(
        &mut self,
        peer: &AccountId,
        target: &MessageRef,
        emoji: &str,
        reactor: &AccountId,
        add: bool,
        rng: &mut R,
    ) -> Result<Option<MessageId>> {
        let index = self.load_index(peer).await?;
        let Some(entry) = index
            .find_ref(target)
            .map(|p| &index.entries[p])
            .filter(|e| e.state == EntryState::Live)
        else {
            return Ok(None);
        };
        let mut content = self.load_content(entry.id).await?;
        let changed = if add {
            content
                .reactions
                .entry(emoji.to_owned())
                .or_default()
                .insert(*reactor)
        } else {
            let removed = content
                .reactions
                .get_mut(emoji)
                .is_some_and(|set| set.remove(reactor));
            content.reactions.retain(|_, set| !set.is_empty());
            removed
        };
        if changed {
            let batch = Batch {
                contents: vec![self.seal(&message_name(entry.id), &content, rng)?],
                ..Batch::default()
            };
            self.commit(batch).await?;
        }
        Ok(Some(entry.id))
    }

    /// Sets (or clears) when message `id` disappears.
    pub async fn set_expiry<R: CryptoRng + ?Sized>(
        &mut self,
        peer: &AccountId,
        id: MessageId,
        expires_at_ms: Option<u64>,
        rng: &mut R,
    ) -> Result<()> {
        let mut index = self.load_index(peer).await?;
        let pos = index
            .position(id)
            .filter(|&p| index.entries[p].state != EntryState::Removed)
            .ok_or(MessageDbError::NoSuchMessage)?;
        index.entries[pos].expires_at_ms = expires_at_ms;
        index.entries[pos].read_timer_s = None;
        let batch = Batch {
            indexes: vec![self.seal(&index_name(peer), &index, rng)?],
            ..Batch::default()
        };
        self.commit(batch).await
    }

    /// Records one more storage hash of message `id` (e.g. the hash of its sync copy in the
    /// own swarm, needed to delete that copy on unsend); the hash also joins the seen set.
    /// Unsent messages accept it too (their copies may still have to be deleted).
    pub async fn add_storage_hash<R: CryptoRng + ?Sized>(
        &mut self,
        peer: &AccountId,
        id: MessageId,
        hash: &str,
        rng: &mut R,
    ) -> Result<()> {
        let mut index = self.load_index(peer).await?;
        let pos = index
            .position(id)
            .filter(|&p| index.entries[p].state != EntryState::Removed)
            .ok_or(MessageDbError::NoSuchMessage)?;
        let entry = &mut index.entries[pos];
        let mut batch = Batch::default();
        if !entry.hashes.iter().any(|h| h == hash) {
            entry.hashes.push(hash.to_owned());
            batch
                .indexes
                .push(self.seal(&index_name(peer), &index, rng)?);
        }
        let mut seen = self.load_seen().await?;
        if seen.add(hash, self.seen_capacity) {
            batch.seen = Some(self.seal(SEEN, &seen, rng)?);
        }
        self.commit(batch).await
    }

    /// The earliest expiry time of any stored message (ms), if one has a running timer: when
    /// the next [`MessageDb::sweep_expired`] has something to remove.
    pub async fn next_expiry(&self) -> Result<Option<u64>> {
        let convs = self.load_conversations().await?;
        let mut next: Option<u64> = None;
        for conv in &convs.conversations {
            let index = self.load_index(&conv.peer).await?;
            let earliest = index
                .entries
                .iter()
                .filter(|e| e.state != EntryState::Removed)
                .filter_map(|e| e.expires_at_ms)
                .min();
            next = match (next, earliest) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        Ok(next)
    }

    /// The conversation message `id` belongs to, if its content is still stored (unsent
    /// messages included; deleted-for-me and expired ones are gone).
    pub async fn conversation_of(&self, id: MessageId) -> Result<Option<AccountId>> {
        let Some(rec) = self.load::<ContentRecord>(&message_name(id)).await? else {
            return Ok(None);
        };
        check_version(rec.v)?;
        Ok(Some(rec.conversation))
    }

    /// The conversation holding the message `target` (not deleted for me or expired), if any:
    /// for an unsend request that names no conversation (sent to the own account by another
    /// device).
    pub async fn locate(&self, target: &MessageRef) -> Result<Option<AccountId>> {
        let convs = self.load_conversations().await?;
        for conv in &convs.conversations {
            let index = self.load_index(&conv.peer).await?;
            if index
                .find_ref(target)
                .is_some_and(|p| index.entries[p].state != EntryState::Removed)
            {
                return Ok(Some(conv.peer));
            }
        }
        Ok(None)
    }

    /// Removes every message whose expiry is at or before `now_ms` (as
    /// [`MessageDb::delete_message`] does) and drops tombstones older than
    /// [`TOMBSTONE_KEEP_MS`]. Returns the removed messages.
    pub async fn sweep_expired<R: CryptoRng + ?Sized>(
        &mut self,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Vec<RemovedMessage>> {
        let mut convs = self.load_conversations().await?;
        let peers: Vec<AccountId> = convs.conversations.iter().map(|c| c.peer).collect();
        let mut batch = Batch::default();
        let mut removed = Vec::new();
        for peer in peers {
            let mut index = self.load_index(&peer).await?;
            let mut changed = false;
            for e in index.entries.iter_mut() {
                if e.state != EntryState::Removed && e.expires_at_ms.is_some_and(|t| t <= now_ms) {
                    e.state = EntryState::Removed;
                    changed = true;
                    removed.push(RemovedMessage {
                        conversation: peer,
                        id: e.id,
                    });
                    batch.deletes.push(self.delete_op(&message_name(e.id)));
                }
            }
            let before = index.entries.len();
            index.entries.retain(|e| {
                e.state != EntryState::Removed
                    || e.sent_ms.saturating_add(TOMBSTONE_KEEP_MS) > now_ms
            });
            changed |= index.entries.len() != before;
            if changed {
                self.stage_index(&mut batch, &mut convs, &peer, &index, &Fresh::new(), rng)
                    .await?;
            }
        }
        if !batch.indexes.is_empty() {
            batch.conversations = Some(self.seal(CONVERSATIONS, &convs, rng)?);
        }
        self.commit(batch).await?;
        Ok(removed)
    }

    /// Messages whose text contains `text` (case-insensitive), in one conversation or all,
    /// newest first. Decrypts every candidate message; an empty query matches nothing.
    pub async fn search(
        &self,
        text: &str,
        conversation: Option<&AccountId>,
    ) -> Result<Vec<Message>> {
        let needle = text.to_lowercase();
        if needle.is_empty() {
            return Ok(Vec::new());
        }
        let peers: Vec<AccountId> = match conversation {
            Some(p) => vec![*p],
            None => self
                .load_conversations()
                .await?
                .conversations
                .iter()
                .map(|c| c.peer)
                .collect(),
        };
        let mut out = Vec::new();
        for peer in peers {
            let index = self.load_index(&peer).await?;
            for e in index.entries.iter().filter(|e| e.state == EntryState::Live) {
                let content = self.load_content(e.id).await?;
                if content.body.to_lowercase().contains(&needle) {
                    out.push(Self::assemble(peer, e, &content));
                }
            }
        }
        out.sort_by_key(|m| core::cmp::Reverse((m.sent_ms, m.id)));
        Ok(out)
    }

    // ---- seen hashes -------------------------------------------------------------------------

    /// True if the storage hash was processed before (and is still within the bounded set).
    pub async fn is_seen(&self, hash: &str) -> Result<bool> {
        Ok(self.load_seen().await?.contains(hash))
    }

    /// Records storage hashes as processed (e.g. control messages that store nothing),
    /// dropping the oldest beyond the capacity.
    pub async fn mark_seen<R: CryptoRng + ?Sized>(
        &mut self,
        hashes: &[&str],
        rng: &mut R,
    ) -> Result<()> {
        let mut seen = self.load_seen().await?;
        let mut changed = false;
        for h in hashes {
            changed |= seen.add(h, self.seen_capacity);
        }
        if changed {
            let batch = Batch {
                seen: Some(self.seal(SEEN, &seen, rng)?),
                ..Batch::default()
            };
            self.commit(batch).await?;
        }
        Ok(())
    }

    /// Number of hashes in the seen set.
    pub async fn seen_count(&self) -> Result<usize> {
        Ok(self.load_seen().await?.hashes.len())
    }
}
