//! The sealed records behind [`MessageDb`](super::MessageDb): their names, the
//! per-conversation index, a message's content and the conversation list (all serialized as
//! JSON before sealing), plus the write batch that fixes the order of an
//! operation's writes. These are the records of schema version [`FORMAT`]; the migrations
//! ([`crate::store::migrations`]) build them from older ones.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{
    Attachment, Conversation, ConversationState, Direction, Disappearing, MessageDbError,
    MessageKey, MessageRef, OutboxState, PREVIEW_CHARS, Placeholder, Quote,
};
use crate::address::ConversationId;
use crate::identity::AccountId;
use crate::store::BatchOp;

/// Format version of every message-database record (the schema version).
pub(in crate::store) const FORMAT: u8 = 2;

/// Name of the conversation list.
pub(in crate::store) const CONVERSATIONS: &str = "msgdb/v2/conversations";
/// Name of a conversation's index: keyed by the conversation id's stable string form, which
/// is distinct for every id (`05…`/`03…` hex or a community URL), after a prefix no other
/// record name has.
pub(in crate::store) fn index_name(conversation: &ConversationId) -> String {
    format!("msgdb/v2/index/{conversation}")
}

/// Name of a message's content.
pub(in crate::store) fn message_name(id: MessageKey) -> String {
    format!("msgdb/v2/message/{}", id.0)
}

/// Name of chunk `chunk` of the bytes of attachment `index` of message `id`.
pub(in crate::store) fn file_name(id: MessageKey, index: usize, chunk: u32) -> String {
    format!("msgdb/v2/file/{}/{index}/{chunk}", id.0)
}

/// Name of the stored profile picture of conversation `conversation`'s peer.
pub(in crate::store) fn avatar_name(conversation: &ConversationId) -> String {
    format!("msgdb/v2/avatar/{conversation}")
}

/// Bytes per sealed attachment chunk: a 10 MB file is 40 records, none of them huge.
pub const FILE_CHUNK_BYTES: usize = 256 * 1024;

/// Message contents written by the current operation, by id.
pub(in crate::store) type Fresh = BTreeMap<MessageKey, ContentRecord>;

/// Lifecycle of an index entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(in crate::store) enum EntryState {
    /// Visible with its content.
    Live,
    /// Unsent by its author: listed as deleted, content wiped.
    Unsent,
    /// Deleted for me or expired: not listed; kept as a tombstone for deduplication.
    Removed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(in crate::store) struct IndexEntry {
    pub(in crate::store) id: MessageKey,
    pub(in crate::store) author: AccountId,
    pub(in crate::store) sent_ms: u64,
    pub(in crate::store) direction: Direction,
    pub(in crate::store) hashes: Vec<String>,
    pub(in crate::store) read: bool,
    pub(in crate::store) expires_at_ms: Option<u64>,
    /// After-read timer (s) not yet started.
    pub(in crate::store) read_timer_s: Option<u32>,
    pub(in crate::store) outbox: Option<OutboxState>,
    pub(in crate::store) state: EntryState,
    /// Stored chunks of each attachment's bytes, by attachment index (missing: none), so the
    /// deletions of a message reach its files without reading its content.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(in crate::store) files: Vec<u32>,
}

impl IndexEntry {
    pub(in crate::store) fn sort_key(&self) -> (u64, MessageKey) {
        (self.sent_ms, self.id)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(in crate::store) struct IndexRecord {
    pub(in crate::store) v: u8,
    pub(in crate::store) entries: Vec<IndexEntry>,
}

impl IndexRecord {
    pub(in crate::store) fn position(&self, id: MessageKey) -> Option<usize> {
        self.entries.iter().position(|e| e.id == id)
    }

    pub(in crate::store) fn find_ref(&self, target: &MessageRef) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.author == target.author && e.sent_ms == target.sent_ms)
    }

    pub(in crate::store) fn find_hash(&self, hash: &str) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.hashes.iter().any(|h| h == hash))
    }

    pub(in crate::store) fn insert_sorted(&mut self, entry: IndexEntry) {
        let key = entry.sort_key();
        let at = self.entries.partition_point(|e| e.sort_key() <= key);
        self.entries.insert(at, entry);
    }
}

#[derive(Serialize, Deserialize)]
pub(in crate::store) struct ContentRecord {
    pub(in crate::store) v: u8,
    pub(in crate::store) conversation: ConversationId,
    pub(in crate::store) received_ms: u64,
    pub(in crate::store) body: String,
    pub(in crate::store) quote: Option<Quote>,
    pub(in crate::store) reactions: BTreeMap<String, BTreeSet<AccountId>>,
    /// Absent for texts (and in records written before placeholders existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(in crate::store) placeholder: Option<Placeholder>,
    /// Absent for texts without attachments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(in crate::store) attachments: Vec<Attachment>,
}

impl ContentRecord {
    /// The conversation-list preview: the start of the text, else the placeholder's or the
    /// first attachment's summary.
    pub(in crate::store) fn preview(&self) -> String {
        match (&self.placeholder, self.attachments.first()) {
            (Some(p), _) if self.body.is_empty() => p.summary().to_owned(),
            (None, Some(a)) if self.body.is_empty() => a.meta.summary().to_owned(),
            _ => preview(&self.body),
        }
    }
}

impl Drop for ContentRecord {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.body);
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(in crate::store) struct ConversationsRecord {
    pub(in crate::store) v: u8,
    pub(in crate::store) next_id: u64,
    pub(in crate::store) conversations: Vec<Conversation>,
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
    pub(in crate::store) fn get(&self, id: &ConversationId) -> Option<&Conversation> {
        self.conversations.iter().find(|c| c.id == *id)
    }

    pub(in crate::store) fn get_mut(&mut self, id: &ConversationId) -> Option<&mut Conversation> {
        self.conversations.iter_mut().find(|c| c.id == *id)
    }

    pub(in crate::store) fn position(&self, id: &ConversationId) -> Option<usize> {
        self.conversations.iter().position(|c| c.id == *id)
    }

    /// True if `account`'s 1:1 conversation is blocked.
    pub(in crate::store) fn is_blocked(&self, account: &AccountId) -> bool {
        self.conversations
            .iter()
            .any(|c| c.state == ConversationState::Blocked && c.id.direct() == Some(account))
    }

    pub(in crate::store) fn get_or_create(
        &mut self,
        id: &ConversationId,
        state: ConversationState,
        now_ms: u64,
    ) -> &mut Conversation {
        let pos = match self.position(id) {
            Some(pos) => pos,
            None => {
                self.conversations.push(Conversation {
                    id: id.clone(),
                    display_name: None,
                    state,
                    last_message: None,
                    last_activity_ms: now_ms,
                    unread_count: 0,
                    last_read_ms: 0,
                    disappearing: Disappearing::OFF,
                    profile_updated_s: 0,
                    avatar: None,
                    avatar_stored: false,
                    nickname: None,
                    marked_unread: false,
                    hidden: false,
                });
                self.conversations.len() - 1
            }
        };
        &mut self.conversations[pos]
    }
}

/// Writes of one operation, applied in the documented order.
#[derive(Default)]
pub(in crate::store) struct Batch {
    pub(in crate::store) contents: Vec<BatchOp>,
    pub(in crate::store) indexes: Vec<BatchOp>,
    pub(in crate::store) conversations: Option<BatchOp>,
    pub(in crate::store) deletes: Vec<BatchOp>,
}

impl Batch {
    pub(in crate::store) fn into_ops(self) -> Vec<BatchOp> {
        let mut ops = self.contents;
        ops.extend(self.conversations);
        ops.extend(self.indexes);
        ops.extend(self.deletes);
        ops
    }
}

pub(in crate::store) fn preview(body: &str) -> String {
    body.chars().take(PREVIEW_CHARS).collect()
}

pub(in crate::store) fn check_version(v: u8) -> Result<(), MessageDbError> {
    if v == FORMAT {
        Ok(())
    } else {
        Err(MessageDbError::UnsupportedVersion { found: v })
    }
}
