//! Message-writing operations of [`MessageDb`]: inserting (deduplicated, blocked senders
//! dropped), marking read, outbox states, deleting, unsending, reactions, expiry and extra
//! storage hashes, and the expiry sweep.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use rand_core::CryptoRng;

use super::{
    Attachment, AttachmentState, Batch, CONVERSATIONS, ContentRecord, ConversationState,
    ConversationsRecord, Direction, Disappearing, DisappearingMode, EntryState, FORMAT, Fresh,
    IndexEntry, IndexRecord, InsertOutcome, MessageDb, MessageDbError, MessageKey, MessageRef,
    NewMessage, OutboxState, ReadMarked, RemovedMessage, Result, TOMBSTONE_KEEP_MS, index_name,
    message_name,
};
use crate::address::ConversationId;
use crate::identity::AccountId;
use crate::store::Store;

/// True if `author` may have written a message of `direction` in `conversation`: our own
/// messages are outgoing; an incoming 1:1 message is the peer's, an incoming group or
/// community message anyone's but ours.
fn author_fits(
    conversation: &ConversationId,
    direction: Direction,
    author: &AccountId,
    me: &AccountId,
) -> bool {
    match (direction, conversation) {
        (Direction::Outgoing, _) => author == me,
        (Direction::Incoming, ConversationId::Direct(peer)) => author == peer,
        (Direction::Incoming, _) => author != me,
    }
}

impl<S: Store> MessageDb<'_, S> {
    /// Stores a message, idempotently: a message already stored under the same storage hash or
    /// the same (author, sent timestamp) is not stored twice, and a deleted or expired one is
    /// not brought back. Incoming messages in a blocked conversation, or from a blocked
    /// account, are dropped. An incoming message in an unknown conversation opens a
    /// [`ConversationState::Request`]; an outgoing one creates (or accepts) the conversation.
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
        if !msgs
            .iter()
            .all(|m| author_fits(&m.conversation, m.direction, &m.author, &me))
        {
            return Err(MessageDbError::WrongAuthor);
        }
        self.ready_to_write(rng).await?;
        let mut convs = self.load_conversations().await?;
        let mut indexes: BTreeMap<ConversationId, IndexRecord> = BTreeMap::new();
        let mut touched: BTreeSet<ConversationId> = BTreeSet::new();
        let mut fresh = Fresh::new();
        let mut convs_dirty = false;
        let mut outcomes = Vec::with_capacity(msgs.len());
        for msg in msgs {
            let conversation = msg.conversation.clone();
            let index = match indexes.entry(conversation.clone()) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(v) => v.insert(self.load_index(&conversation).await?),
            };
            let hash = msg.storage_hash.clone();
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
                    touched.insert(conversation);
                }
                outcomes.push(if entry.state == EntryState::Removed {
                    InsertOutcome::Deleted
                } else {
                    InsertOutcome::Duplicate(entry.id)
                });
                continue;
            }
            let blocked = convs
                .get(&conversation)
                .is_some_and(|c| c.state == ConversationState::Blocked)
                || convs.is_blocked(&msg.author);
            if blocked && msg.direction == Direction::Incoming {
                outcomes.push(InsertOutcome::Blocked);
                continue;
            }
            let (id, entry, content) = Self::new_entry(&mut convs, msg);
            index.insert_sorted(entry);
            fresh.insert(id, content);
            touched.insert(conversation);
            convs_dirty = true;
            outcomes.push(InsertOutcome::Inserted(id));
        }

        let mut batch = Batch::default();
        for (id, content) in &fresh {
            batch
                .contents
                .push(self.seal(&message_name(*id), content, rng)?);
        }
        for conversation in &touched {
            if let Some(index) = indexes.get(conversation) {
                self.stage_index(&mut batch, &mut convs, conversation, index, &fresh, rng)
                    .await?;
            }
        }
        if convs_dirty {
            batch.conversations = Some(self.seal(CONVERSATIONS, &convs, rng)?);
        }
        self.commit(batch).await?;
        Ok(outcomes)
    }

    /// Allocates a key for a new message, creates or updates its conversation, and builds its
    /// index entry and content.
    fn new_entry(
        convs: &mut ConversationsRecord,
        msg: NewMessage,
    ) -> (MessageKey, IndexEntry, ContentRecord) {
        let initial = match msg.direction {
            Direction::Incoming => ConversationState::Request,
            Direction::Outgoing => ConversationState::Accepted,
        };
        let conv = convs.get_or_create(&msg.conversation, initial, msg.sent_ms);
        if msg.direction == Direction::Outgoing {
            // Replying to a request accepts it; writing shows a hidden conversation.
            if conv.state == ConversationState::Request {
                conv.state = ConversationState::Accepted;
            }
            conv.hidden = false;
        }
        let id = MessageKey(convs.next_id);
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
            files: Vec::new(),
        };
        let content = ContentRecord {
            v: FORMAT,
            conversation: msg.conversation,
            received_ms: msg.received_ms,
            body: msg.body,
            quote: msg.quote,
            reactions: BTreeMap::new(),
            placeholder: msg.placeholder,
            attachments: msg
                .attachments
                .into_iter()
                .map(|meta| Attachment {
                    meta,
                    state: AttachmentState::Remote,
                })
                .collect(),
        };
        (id, entry, content)
    }

    /// Marks every unread incoming message of conversation `id` read at `now_ms`: the unread
    /// count becomes 0, `last_read_ms` becomes `now_ms`, after-read timers start. Returns the
    /// messages that became read (for read receipts), oldest first.
    pub async fn mark_read<R: CryptoRng + ?Sized>(
        &mut self,
        id: &ConversationId,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Vec<ReadMarked>> {
        self.mark_read_up_to(id, u64::MAX, now_ms, rng).await
    }

    /// Marks the unread incoming messages of conversation `id` sent at or before `up_to_ms`
    /// read (another device read up to there, config sync): `last_read_ms` becomes at least
    /// `min(up_to_ms, now_ms)`, after-read timers start at `now_ms`. Returns the messages that
    /// became read, oldest first.
    pub async fn mark_read_up_to<R: CryptoRng + ?Sized>(
        &mut self,
        id: &ConversationId,
        up_to_ms: u64,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Vec<ReadMarked>> {
        self.ready_to_write(rng).await?;
        let mut convs = self.load_conversations().await?;
        if convs.get(id).is_none() {
            return Err(MessageDbError::NoSuchConversation);
        }
        let mut index = self.load_index(id).await?;
        let mut marked = Vec::new();
        for e in index.entries.iter_mut().filter(|e| {
            e.state == EntryState::Live
                && e.direction == Direction::Incoming
                && !e.read
                && e.sent_ms <= up_to_ms
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
        if let Some(conv) = convs.get_mut(id) {
            conv.last_read_ms = conv.last_read_ms.max(now_ms.min(up_to_ms));
            if up_to_ms == u64::MAX {
                // Read here, whole: no longer marked unread.
                conv.marked_unread = false;
            }
        }
        let mut batch = Batch::default();
        if marked.is_empty() {
            // Nothing to write to the index, but the summary is recomputed from it anyway
            // (this heals a summary left ahead by an interrupted non-atomic write).
            if let Some(pos) = convs.position(id) {
                let mut conv = convs.conversations[pos].clone();
                self.refresh_summary(&mut conv, &index, &Fresh::new())
                    .await?;
                convs.conversations[pos] = conv;
            }
        } else {
            self.stage_index(&mut batch, &mut convs, id, &index, &Fresh::new(), rng)
                .await?;
        }
        batch.conversations = Some(self.seal(CONVERSATIONS, &convs, rng)?);
        self.commit(batch).await?;
        Ok(marked)
    }

    /// Applies a read receipt in conversation `id`: outgoing messages with these sent
    /// timestamps are marked read. Returns the keys that changed.
    pub async fn mark_read_by_peer<R: CryptoRng + ?Sized>(
        &mut self,
        id: &ConversationId,
        sent_ms: &[u64],
        rng: &mut R,
    ) -> Result<Vec<MessageKey>> {
        self.ready_to_write(rng).await?;
        let mut index = self.load_index(id).await?;
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
                indexes: vec![self.seal(&index_name(id), &index, rng)?],
                ..Batch::default()
            };
            self.commit(batch).await?;
        }
        Ok(changed)
    }

    /// Sets the outbox state of outgoing message `key` of conversation `id`, and records the
    /// storage hash the recipient's swarm reported (if given).
    pub async fn set_outbox_state<R: CryptoRng + ?Sized>(
        &mut self,
        id: &ConversationId,
        key: MessageKey,
        state: OutboxState,
        storage_hash: Option<&str>,
        rng: &mut R,
    ) -> Result<()> {
        self.ready_to_write(rng).await?;
        let mut index = self.load_index(id).await?;
        let pos = index
            .position(key)
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
        let batch = Batch {
            indexes: vec![self.seal(&index_name(id), &index, rng)?],
            ..Batch::default()
        };
        self.commit(batch).await
    }

    /// Deletes message `key` of conversation `id` for this device only: it disappears from
    /// the conversation, its content is erased, and a tombstone keeps a re-fetched copy from
    /// coming back.
    pub async fn delete_message<R: CryptoRng + ?Sized>(
        &mut self,
        id: &ConversationId,
        key: MessageKey,
        rng: &mut R,
    ) -> Result<()> {
        self.ready_to_write(rng).await?;
        let mut convs = self.load_conversations().await?;
        let mut index = self.load_index(id).await?;
        let pos = index
            .position(key)
            .filter(|&p| index.entries[p].state != EntryState::Removed)
            .ok_or(MessageDbError::NoSuchMessage)?;
        index.entries[pos].state = EntryState::Removed;
        let mut batch = Batch::default();
        batch.deletes.push(self.delete_op(&message_name(key)));
        batch.deletes.extend(self.file_deletes(&index.entries[pos]));
        index.entries[pos].files.clear();
        self.stage_index(&mut batch, &mut convs, id, &index, &Fresh::new(), rng)
            .await?;
        batch.conversations = Some(self.seal(CONVERSATIONS, &convs, rng)?);
        self.commit(batch).await
    }

    /// Applies an unsend request in conversation `id`: the message by `target` is kept as
    /// "deleted" with its text, quote and reactions erased. Only its author may unsend it
    /// (`requester`). Returns its key, or `None` if it is not stored (a tombstone is kept so
    /// a later copy stays deleted).
    pub async fn unsend<R: CryptoRng + ?Sized>(
        &mut self,
        id: &ConversationId,
        target: &MessageRef,
        requester: &AccountId,
        received_ms: u64,
        rng: &mut R,
    ) -> Result<Option<MessageKey>> {
        if target.author != *requester {
            return Err(MessageDbError::WrongAuthor);
        }
        self.ready_to_write(rng).await?;
        let me = self.vault.account_id();
        let mut convs = self.load_conversations().await?;
        let mut index = self.load_index(id).await?;
        let mut batch = Batch::default();
        let result = match index.find_ref(target) {
            Some(pos) => {
                let entry = &mut index.entries[pos];
                let key = entry.id;
                if entry.state == EntryState::Live {
                    entry.state = EntryState::Unsent;
                    entry.read = true;
                    batch.deletes.extend(self.file_deletes(entry));
                    entry.files.clear();
                    let wiped = ContentRecord {
                        v: FORMAT,
                        conversation: id.clone(),
                        received_ms,
                        body: String::new(),
                        quote: None,
                        reactions: Default::default(),
                        placeholder: None,
                        attachments: Vec::new(),
                    };
                    batch
                        .contents
                        .push(self.seal(&message_name(key), &wiped, rng)?);
                }
                (entry.state != EntryState::Removed).then_some(key)
            }
            None => {
                // Remember the identity so the message, arriving later, is not shown.
                let key = MessageKey(convs.next_id);
                convs.next_id = convs.next_id.saturating_add(1);
                index.insert_sorted(IndexEntry {
                    id: key,
                    author: target.author,
                    sent_ms: target.sent_ms,
                    direction: if target.author == me {
                        Direction::Outgoing
                    } else {
                        Direction::Incoming
                    },
                    hashes: Vec::new(),
                    read: true,
                    expires_at_ms: None,
                    read_timer_s: None,
                    outbox: None,
                    state: EntryState::Removed,
                    files: Vec::new(),
                });
                None
            }
        };
        self.stage_index(&mut batch, &mut convs, id, &index, &Fresh::new(), rng)
            .await?;
        batch.conversations = Some(self.seal(CONVERSATIONS, &convs, rng)?);
        self.commit(batch).await?;
        Ok(result)
    }

    /// Adds (`add`) or removes `reactor`'s `emoji` reaction on the message `target` of
    /// conversation `id`. Returns the message key, or `None` if the message is not stored
    /// (or deleted).
    pub async fn react<R: CryptoRng + ?Sized>(
        &mut self,
        id: &ConversationId,
        target: &MessageRef,
        emoji: &str,
        reactor: &AccountId,
        add: bool,
        rng: &mut R,
    ) -> Result<Option<MessageKey>> {
        self.ready_to_write(rng).await?;
        let index = self.load_index(id).await?;
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

    /// Sets (or clears) when message `key` of conversation `id` disappears.
    pub async fn set_expiry<R: CryptoRng + ?Sized>(
        &mut self,
        id: &ConversationId,
        key: MessageKey,
        expires_at_ms: Option<u64>,
        rng: &mut R,
    ) -> Result<()> {
        self.ready_to_write(rng).await?;
        let mut index = self.load_index(id).await?;
        let pos = index
            .position(key)
            .filter(|&p| index.entries[p].state != EntryState::Removed)
            .ok_or(MessageDbError::NoSuchMessage)?;
        index.entries[pos].expires_at_ms = expires_at_ms;
        index.entries[pos].read_timer_s = None;
        let batch = Batch {
            indexes: vec![self.seal(&index_name(id), &index, rng)?],
            ..Batch::default()
        };
        self.commit(batch).await
    }

    /// Records one more storage hash of message `key` of conversation `id` (e.g. the hash of
    /// its sync copy in the own swarm, needed to delete that copy on unsend). Unsent messages
    /// accept it too (their copies may still have to be deleted).
    pub async fn add_storage_hash<R: CryptoRng + ?Sized>(
        &mut self,
        id: &ConversationId,
        key: MessageKey,
        hash: &str,
        rng: &mut R,
    ) -> Result<()> {
        self.ready_to_write(rng).await?;
        let mut index = self.load_index(id).await?;
        let pos = index
            .position(key)
            .filter(|&p| index.entries[p].state != EntryState::Removed)
            .ok_or(MessageDbError::NoSuchMessage)?;
        let entry = &mut index.entries[pos];
        let mut batch = Batch::default();
        if !entry.hashes.iter().any(|h| h == hash) {
            entry.hashes.push(hash.to_owned());
            batch.indexes.push(self.seal(&index_name(id), &index, rng)?);
        }
        self.commit(batch).await
    }

    /// Removes every message whose expiry is at or before `now_ms` (as
    /// [`MessageDb::delete_message`] does) and drops tombstones older than
    /// [`TOMBSTONE_KEEP_MS`]. Returns the removed messages.
    pub async fn sweep_expired<R: CryptoRng + ?Sized>(
        &mut self,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Vec<RemovedMessage>> {
        self.ready_to_write(rng).await?;
        let mut convs = self.load_conversations().await?;
        let ids: Vec<ConversationId> = convs.conversations.iter().map(|c| c.id.clone()).collect();
        let mut batch = Batch::default();
        let mut removed = Vec::new();
        for id in ids {
            let mut index = self.load_index(&id).await?;
            let mut changed = false;
            for e in index.entries.iter_mut() {
                if e.state != EntryState::Removed && e.expires_at_ms.is_some_and(|t| t <= now_ms) {
                    e.state = EntryState::Removed;
                    changed = true;
                    removed.push(RemovedMessage {
                        conversation: id.clone(),
                        id: e.id,
                    });
                    batch.deletes.push(self.delete_op(&message_name(e.id)));
                    batch.deletes.extend(self.file_deletes(e));
                    e.files.clear();
                }
            }
            let before = index.entries.len();
            index.entries.retain(|e| {
                e.state != EntryState::Removed
                    || e.sent_ms.saturating_add(TOMBSTONE_KEEP_MS) > now_ms
            });
            changed |= index.entries.len() != before;
            if changed {
                self.stage_index(&mut batch, &mut convs, &id, &index, &Fresh::new(), rng)
                    .await?;
            }
        }
        if !batch.indexes.is_empty() {
            batch.conversations = Some(self.seal(CONVERSATIONS, &convs, rng)?);
        }
        self.commit(batch).await?;
        Ok(removed)
    }
}
