//! Message-reading operations of [`MessageDb`]: one message, a page of a conversation,
//! counts, the outbox to resume, the next expiry, where a message is, and search.

use super::{EntryState, IndexEntry, Message, MessageDb, MessageKey, MessageRef, Result};
use crate::address::ConversationId;
use crate::store::Store;

use super::records::{ContentRecord, check_version, message_name};

impl<S: Store> MessageDb<'_, S> {
    /// The message `key` of conversation `id` (unsent messages included, with their content
    /// wiped; deleted-for-me and expired ones are gone).
    pub async fn message(&self, id: &ConversationId, key: MessageKey) -> Result<Option<Message>> {
        self.ready_to_read().await?;
        let index = self.load_index(id).await?;
        let Some(entry) = index
            .position(key)
            .map(|p| &index.entries[p])
            .filter(|e| e.state != EntryState::Removed)
        else {
            return Ok(None);
        };
        let content = self.load_content(key).await?;
        Ok(Some(Self::assemble(id, entry, &content)))
    }

    /// The message of conversation `id` with this Session identity, if stored.
    pub async fn find_message(
        &self,
        id: &ConversationId,
        target: &MessageRef,
    ) -> Result<Option<Message>> {
        self.ready_to_read().await?;
        let index = self.load_index(id).await?;
        let Some(entry) = index
            .find_ref(target)
            .map(|p| &index.entries[p])
            .filter(|e| e.state != EntryState::Removed)
        else {
            return Ok(None);
        };
        let content = self.load_content(entry.id).await?;
        Ok(Some(Self::assemble(id, entry, &content)))
    }

    /// A page of conversation `id` in ascending sent-time order: the newest `limit` messages
    /// after skipping the `skip_newest` newest ones. One index decrypt plus one decrypt per
    /// returned message.
    pub async fn list_messages(
        &self,
        id: &ConversationId,
        limit: usize,
        skip_newest: usize,
    ) -> Result<Vec<Message>> {
        self.ready_to_read().await?;
        let index = self.load_index(id).await?;
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
            out.push(Self::assemble(id, entry, &content));
        }
        Ok(out)
    }

    /// Number of listed (not removed) messages in conversation `id`.
    pub async fn message_count(&self, id: &ConversationId) -> Result<usize> {
        self.ready_to_read().await?;
        let index = self.load_index(id).await?;
        Ok(index
            .entries
            .iter()
            .filter(|e| e.state != EntryState::Removed)
            .count())
    }

    /// Outgoing messages still to be sent ([`OutboxState::Pending`] or an interrupted
    /// [`OutboxState::Sending`]) across all conversations, oldest first. Call after unlocking
    /// to resume the outbox.
    ///
    /// [`OutboxState::Pending`]: super::OutboxState::Pending
    /// [`OutboxState::Sending`]: super::OutboxState::Sending
    pub async fn pending_outbox(&self) -> Result<Vec<Message>> {
        self.ready_to_read().await?;
        let convs = self.load_conversations().await?;
        let mut out = Vec::new();
        for conv in &convs.conversations {
            let index = self.load_index(&conv.id).await?;
            for e in index
                .entries
                .iter()
                .filter(|e| e.state == EntryState::Live && e.outbox.is_some_and(|s| s.needs_send()))
            {
                let content = self.load_content(e.id).await?;
                out.push(Self::assemble(&conv.id, e, &content));
            }
        }
        out.sort_by_key(|m| (m.sent_ms, m.id));
        Ok(out)
    }

    /// The earliest expiry time of any stored message (ms), if one has a running timer: when
    /// the next [`MessageDb::sweep_expired`] has something to remove.
    pub async fn next_expiry(&self) -> Result<Option<u64>> {
        self.ready_to_read().await?;
        let convs = self.load_conversations().await?;
        let mut next: Option<u64> = None;
        for conv in &convs.conversations {
            let index = self.load_index(&conv.id).await?;
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

    /// The conversation message `key` belongs to, if its content is still stored (unsent
    /// messages included; deleted-for-me and expired ones are gone).
    pub async fn conversation_of(&self, key: MessageKey) -> Result<Option<ConversationId>> {
        self.ready_to_read().await?;
        let Some(rec) = self.load::<ContentRecord>(&message_name(key)).await? else {
            return Ok(None);
        };
        check_version(rec.v)?;
        Ok(Some(rec.conversation.clone()))
    }

    /// The conversation holding the message `target` (not deleted for me or expired), if any:
    /// for an unsend request that names no conversation (sent to the own account by another
    /// device).
    pub async fn locate(&self, target: &MessageRef) -> Result<Option<ConversationId>> {
        self.ready_to_read().await?;
        let convs = self.load_conversations().await?;
        for conv in &convs.conversations {
            let index = self.load_index(&conv.id).await?;
            if index
                .find_ref(target)
                .is_some_and(|p| index.entries[p].state != EntryState::Removed)
            {
                return Ok(Some(conv.id.clone()));
            }
        }
        Ok(None)
    }

    /// Messages whose text contains `text` (case-insensitive), in one conversation or all,
    /// newest first. Decrypts every candidate message; an empty query matches nothing.
    pub async fn search(
        &self,
        text: &str,
        conversation: Option<&ConversationId>,
    ) -> Result<Vec<Message>> {
        let needle = text.to_lowercase();
        if needle.is_empty() {
            return Ok(Vec::new());
        }
        self.ready_to_read().await?;
        let ids: Vec<ConversationId> = match conversation {
            Some(id) => vec![id.clone()],
            None => self
                .load_conversations()
                .await?
                .conversations
                .iter()
                .map(|c| c.id.clone())
                .collect(),
        };
        let mut out = Vec::new();
        for id in ids {
            let index = self.load_index(&id).await?;
            for e in index.entries.iter().filter(|e| e.state == EntryState::Live) {
                let content = self.load_content(e.id).await?;
                if content.body.to_lowercase().contains(&needle) {
                    out.push(Self::assemble(&id, e, &content));
                }
            }
        }
        out.sort_by_key(|m| core::cmp::Reverse((m.sent_ms, m.id)));
        Ok(out)
    }
}
