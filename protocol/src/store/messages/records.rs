//! The sealed records behind [`MessageDb`](super::MessageDb): the per-conversation index, a
//! message's content, the conversation list and the seen-hash set (all serialized as JSON
//! before sealing), plus the write batch that fixes the order of an operation's writes.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::{
    Conversation, ConversationState, Direction, Disappearing, MessageDbError, MessageId,
    MessageRef, OutboxState, PREVIEW_CHARS, Quote,
};
use crate::identity::AccountId;
use crate::store::BatchOp;

/// Format version of every message-database record.
pub(super) const FORMAT: u8 = 1;

/// Message contents written by the current operation, by id.
pub(super) type Fresh = BTreeMap<MessageId, ContentRecord>;

/// Lifecycle of an index entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum EntryState {
    /// Visible with its content.
    Live,
    /// Unsent by its author: listed as deleted, content wiped.
    Unsent,
    /// Deleted for me or expired: not listed; kept as a tombstone for deduplication.
    Removed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct IndexEntry {
    pub(super) id: MessageId,
    pub(super) author: AccountId,
    pub(super) sent_ms: u64,
    pub(super) direction: Direction,
    pub(super) hashes: Vec<String>,
    pub(super) read: bool,
    pub(super) expires_at_ms: Option<u64>,
    /// After-read timer (s) not yet started.
    pub(super) read_timer_s: Option<u32>,
    pub(super) outbox: Option<OutboxState>,
    pub(super) state: EntryState,
}

impl IndexEntry {
    pub(super) fn sort_key(&self) -> (u64, MessageId) {
        (self.sent_ms, self.id)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct IndexRecord {
    pub(super) v: u8,
    pub(super) entries: Vec<IndexEntry>,
}

impl IndexRecord {
    pub(super) fn position(&self, id: MessageId) -> Option<usize> {
        self.entries.iter().position(|e| e.id == id)
    }

    pub(super) fn find_ref(&self, target: &MessageRef) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.author == target.author && e.sent_ms == target.sent_ms)
    }

    pub(super) fn find_hash(&self, hash: &str) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.hashes.iter().any(|h| h == hash))
    }

    pub(super) fn insert_sorted(&mut self, entry: IndexEntry) {
        let key = entry.sort_key();
        let at = self.entries.partition_point(|e| e.sort_key() <= key);
        self.entries.insert(at, entry);
    }
}

#[derive(Serialize, Deserialize)]
pub(super) struct ContentRecord {
    pub(super) v: u8,
    pub(super) conversation: AccountId,
    pub(super) received_ms: u64,
    pub(super) body: String,
    pub(super) quote: Option<Quote>,
    pub(super) reactions: BTreeMap<String, BTreeSet<AccountId>>,
}

impl Drop for ContentRecord {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.body);
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ConversationsRecord {
    pub(super) v: u8,
    pub(super) next_id: u64,
    pub(super) conversations: Vec<Conversation>,
}

impl Default for ConversationsRecord {
    fn default() -> ConversationsRecord {
        ConversationsRecord {
            v: FORMAT,
            next_id: 1,
            conversations: Vec::new(),
        }
    }
}

impl ConversationsRecord {
    pub(super) fn get(&self, peer: &AccountId) -> Option<&Conversation> {
        self.conversations.iter().find(|c| c.peer == *peer)
    }

    pub(super) fn get_mut(&mut self, peer: &AccountId) -> Option<&mut Conversation> {
        self.conversations.iter_mut().find(|c| c.peer == *peer)
    }

    pub(super) fn get_or_create(
        &mut self,
        peer: AccountId,
        state: ConversationState,
        now_ms: u64,
    ) -> &mut Conversation {
        let pos = match self.conversations.iter().position(|c| c.peer == peer) {
            Some(pos) => pos,
            None => {
                self.conversations.push(Conversation {
                    peer,
                    display_name: None,
                    state,
                    last_message: None,
                    last_activity_ms: now_ms,
                    unread_count: 0,
                    last_read_ms: 0,
                    disappearing: Disappearing::OFF,
                });
                self.conversations.len() - 1
            }
        };
        &mut self.conversations[pos]
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct SeenRecord {
    pub(super) v: u8,
    pub(super) hashes: VecDeque<String>,
}

impl SeenRecord {
    pub(super) fn contains(&self, hash: &str) -> bool {
        self.hashes.iter().any(|h| h == hash)
    }

    /// Adds `hash` (if new), dropping the oldest beyond `capacity`. True if it changed.
    pub(super) fn add(&mut self, hash: &str, capacity: usize) -> bool {
        if self.contains(hash) {
            return false;
        }
        self.hashes.push_back(hash.to_owned());
        while self.hashes.len() > capacity {
            self.hashes.pop_front();
        }
        true
    }
}

/// Writes of one operation, applied in the documented order.
#[derive(Default)]
pub(super) struct Batch {
    pub(super) contents: Vec<BatchOp>,
    pub(super) indexes: Vec<BatchOp>,
    pub(super) conversations: Option<BatchOp>,
    pub(super) seen: Option<BatchOp>,
    pub(super) deletes: Vec<BatchOp>,
}

impl Batch {
    pub(super) fn into_ops(self) -> Vec<BatchOp> {
        let mut ops = self.contents;
        ops.extend(self.conversations);
        ops.extend(self.indexes);
        ops.extend(self.seen);
        ops.extend(self.deletes);
        ops
    }
}

pub(super) fn preview(body: &str) -> String {
    body.chars().take(PREVIEW_CHARS).collect()
}

pub(super) fn check_version(v: u8) -> Result<(), MessageDbError> {
    if v == FORMAT {
        Ok(())
    } else {
        Err(MessageDbError::UnsupportedVersion { found: v })
    }
}
