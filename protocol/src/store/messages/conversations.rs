//! Conversation operations of [`MessageDb`]: reading and listing conversations, creating and
//! updating them, accepting requests, blocking accounts and deleting a conversation.

use rand_core::CryptoRng;

use super::{
    Batch, CONVERSATIONS, Conversation, ConversationState, ConversationUpdate, EntryState,
    MessageDb, MessageDbError, RemovedMessage, Result, index_name, message_name,
};
use crate::address::ConversationId;
use crate::identity::AccountId;
use crate::store::Store;

impl<S: Store> MessageDb<'_, S> {
    /// The conversation `id`, if any.
    pub async fn conversation(&self, id: &ConversationId) -> Result<Option<Conversation>> {
        self.ready_to_read().await?;
        Ok(self.load_conversations().await?.get(id).cloned())
    }

    /// Every conversation (accepted, requests and blocked), most recent activity first.
    pub async fn list_conversations(&self) -> Result<Vec<Conversation>> {
        self.ready_to_read().await?;
        let mut list = self.load_conversations().await?.conversations;
        list.sort_by(|a, b| {
            b.last_activity_ms
                .cmp(&a.last_activity_ms)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(list)
    }

    /// Creates the conversation `id` if absent (state from `update`, else
    /// [`ConversationState::Accepted`]; activity time `now_ms`) and applies `update`.
    pub async fn upsert_conversation<R: CryptoRng + ?Sized>(
        &mut self,
        id: &ConversationId,
        update: ConversationUpdate,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Conversation> {
        self.ready_to_write(rng).await?;
        let mut convs = self.load_conversations().await?;
        let initial = update.state.unwrap_or(ConversationState::Accepted);
        let conv = convs.get_or_create(id, initial, now_ms);
        if let Some(name) = update.display_name {
            conv.display_name = name;
        }
        if let Some(state) = update.state {
            conv.state = state;
        }
        if let Some(d) = update.disappearing {
            conv.disappearing = d;
        }
        if let Some(t) = update.profile_updated_s {
            conv.profile_updated_s = t;
        }
        if let Some(nickname) = update.nickname {
            conv.nickname = nickname;
        }
        if let Some(marked) = update.marked_unread {
            conv.marked_unread = marked;
        }
        if let Some(hidden) = update.hidden {
            conv.hidden = hidden;
        }
        let mut deletes = Vec::new();
        if let Some(avatar) = update.avatar
            && conv.avatar != avatar
        {
            // A new picture (or none): the old bytes go.
            conv.avatar = avatar;
            if conv.avatar_stored {
                deletes.push(self.delete_op(&super::records::avatar_name(id)));
            }
            conv.avatar_stored = false;
        }
        let out = conv.clone();
        let batch = Batch {
            conversations: Some(self.seal(CONVERSATIONS, &convs, rng)?),
            deletes,
            ..Batch::default()
        };
        self.commit(batch).await?;
        Ok(out)
    }

    async fn set_state<R: CryptoRng + ?Sized>(
        &mut self,
        id: &ConversationId,
        state: ConversationState,
        create: bool,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Conversation> {
        self.ready_to_write(rng).await?;
        if !create && self.load_conversations().await?.get(id).is_none() {
            return Err(MessageDbError::NoSuchConversation);
        }
        let update = ConversationUpdate {
            state: Some(state),
            ..ConversationUpdate::default()
        };
        self.upsert_conversation(id, update, now_ms, rng).await
    }

    /// Accepts a message request (state becomes [`ConversationState::Accepted`]).
    pub async fn accept<R: CryptoRng + ?Sized>(
        &mut self,
        id: &ConversationId,
        rng: &mut R,
    ) -> Result<Conversation> {
        self.set_state(id, ConversationState::Accepted, false, 0, rng)
            .await
    }

    /// Blocks `account` (creating its 1:1 conversation if needed): later incoming messages
    /// from it are dropped, in any conversation. Stored messages are kept.
    pub async fn block<R: CryptoRng + ?Sized>(
        &mut self,
        account: &AccountId,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Conversation> {
        let id = ConversationId::Direct(*account);
        self.set_state(&id, ConversationState::Blocked, true, now_ms, rng)
            .await
    }

    /// Unblocks `account`; its 1:1 conversation becomes [`ConversationState::Accepted`].
    pub async fn unblock<R: CryptoRng + ?Sized>(
        &mut self,
        account: &AccountId,
        rng: &mut R,
    ) -> Result<Conversation> {
        let id = ConversationId::Direct(*account);
        self.set_state(&id, ConversationState::Accepted, false, 0, rng)
            .await
    }

    /// The blocked Account IDs, sorted.
    pub async fn blocked(&self) -> Result<Vec<AccountId>> {
        self.ready_to_read().await?;
        let mut list: Vec<AccountId> = self
            .load_conversations()
            .await?
            .conversations
            .iter()
            .filter(|c| c.state == ConversationState::Blocked)
            .filter_map(|c| c.id.direct().copied())
            .collect();
        list.sort();
        Ok(list)
    }

    /// Deletes the conversation `id` and all its messages. Their storage hashes stay in the
    /// seen set, so the same copies are not fetched back. Returns the removed messages.
    pub async fn delete_conversation<R: CryptoRng + ?Sized>(
        &mut self,
        id: &ConversationId,
        rng: &mut R,
    ) -> Result<Vec<RemovedMessage>> {
        self.ready_to_write(rng).await?;
        let mut convs = self.load_conversations().await?;
        let index = self.load_index(id).await?;
        let before = convs.conversations.len();
        convs.conversations.retain(|c| c.id != *id);
        if before == convs.conversations.len() && index.entries.is_empty() {
            return Err(MessageDbError::NoSuchConversation);
        }
        // Index first, then contents, then the list: a crash part-way leaves the conversation
        // listed (with a summary the next write recomputes) and the delete can be retried.
        let mut ops = vec![self.delete_op(&index_name(id))];
        let mut removed = Vec::new();
        for e in &index.entries {
            if e.state != EntryState::Removed {
                removed.push(RemovedMessage {
                    conversation: id.clone(),
                    id: e.id,
                });
            }
            ops.push(self.delete_op(&message_name(e.id)));
            ops.extend(self.file_deletes(e));
        }
        ops.push(self.delete_op(&super::records::avatar_name(id)));
        ops.push(self.seal(CONVERSATIONS, &convs, rng)?);
        self.store.write_batch(&ops).await?;
        Ok(removed)
    }
}
