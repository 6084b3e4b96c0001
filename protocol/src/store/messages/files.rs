//! The bytes of attachments: kept apart from the message content, sealed in chunks of
//! [`FILE_CHUNK_BYTES`] (`msgdb/v2/file/<message>/<attachment>/<chunk>`), so no record is
//! huge and a message's deletion (delete for me, unsend, expiry, the whole conversation)
//! removes them in the same write: the index entry counts each attachment's chunks.

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::records::{FILE_CHUNK_BYTES, file_name};
use super::{
    AttachmentState, Batch, EntryState, MessageDb, MessageDbError, MessageKey, Result, message_name,
};
use crate::address::ConversationId;
use crate::store::Store;

impl<S: Store> MessageDb<'_, S> {
    /// Stores the (checked, decrypted) bytes of attachment `index` of message `key` in
    /// conversation `id` and marks it [`AttachmentState::Stored`]. Replaces earlier bytes.
    ///
    /// # Errors
    ///
    /// [`MessageDbError::NoSuchMessage`] if the message is not stored, was deleted or has no
    /// such attachment; [`MessageDbError::Store`] (e.g. the quota is full; nothing changed).
    pub async fn store_attachment<R: CryptoRng + ?Sized>(
        &mut self,
        id: &ConversationId,
        key: MessageKey,
        index: usize,
        bytes: &[u8],
        rng: &mut R,
    ) -> Result<()> {
        self.ready_to_write(rng).await?;
        let mut index_rec = self.load_index(id).await?;
        let pos = index_rec
            .position(key)
            .filter(|&p| index_rec.entries[p].state == EntryState::Live)
            .ok_or(MessageDbError::NoSuchMessage)?;
        let mut content = self.load_content(key).await?;
        let attachment = content
            .attachments
            .get_mut(index)
            .ok_or(MessageDbError::NoSuchMessage)?;
        attachment.state = AttachmentState::Stored {
            size: bytes.len() as u64,
        };
        // An empty file is one empty chunk, so "stored" always has a record to read.
        let parts: Vec<&[u8]> = if bytes.is_empty() {
            vec![bytes]
        } else {
            bytes.chunks(FILE_CHUNK_BYTES).collect()
        };
        let chunks = u32::try_from(parts.len()).map_err(|_| MessageDbError::Encode)?;
        let mut batch = Batch::default();
        for (c, chunk) in (0u32..).zip(parts) {
            batch
                .contents
                .push(self.vault.seal_op(&file_name(key, index, c), chunk, rng)?);
        }
        batch
            .contents
            .push(self.seal(&message_name(key), &content, rng)?);
        let entry = &mut index_rec.entries[pos];
        if entry.files.len() <= index {
            entry.files.resize(index + 1, 0);
        }
        for c in chunks..entry.files[index] {
            batch
                .deletes
                .push(self.delete_op(&file_name(key, index, c)));
        }
        entry.files[index] = chunks;
        batch
            .indexes
            .push(self.seal(&super::index_name(id), &index_rec, rng)?);
        self.commit(batch).await
    }

    /// Records a new state of attachment `index` of message `key` (a failed download, or
    /// back to remote for a retry); stored bytes are kept unless the state says otherwise.
    ///
    /// # Errors
    ///
    /// As [`MessageDb::store_attachment`].
    pub async fn set_attachment_state<R: CryptoRng + ?Sized>(
        &mut self,
        id: &ConversationId,
        key: MessageKey,
        index: usize,
        state: AttachmentState,
        rng: &mut R,
    ) -> Result<()> {
        self.ready_to_write(rng).await?;
        let index_rec = self.load_index(id).await?;
        index_rec
            .position(key)
            .filter(|&p| index_rec.entries[p].state == EntryState::Live)
            .ok_or(MessageDbError::NoSuchMessage)?;
        let mut content = self.load_content(key).await?;
        let attachment = content
            .attachments
            .get_mut(index)
            .ok_or(MessageDbError::NoSuchMessage)?;
        if attachment.state == state {
            return Ok(());
        }
        attachment.state = state;
        let batch = Batch {
            contents: vec![self.seal(&message_name(key), &content, rng)?],
            ..Batch::default()
        };
        self.commit(batch).await
    }

    /// The stored bytes of attachment `index` of message `key`, `None` if they are not here.
    ///
    /// # Errors
    ///
    /// [`MessageDbError::Corrupted`] if a chunk is missing; [`MessageDbError::Store`].
    pub async fn attachment_bytes(
        &self,
        id: &ConversationId,
        key: MessageKey,
        index: usize,
    ) -> Result<Option<Zeroizing<Vec<u8>>>> {
        self.ready_to_read().await?;
        let index_rec = self.load_index(id).await?;
        let Some(entry) = index_rec
            .position(key)
            .map(|p| &index_rec.entries[p])
            .filter(|e| e.state == EntryState::Live)
        else {
            return Ok(None);
        };
        let chunks = entry.files.get(index).copied().unwrap_or(0);
        if chunks == 0 {
            return Ok(None);
        }
        let mut out = Zeroizing::new(Vec::new());
        for c in 0..chunks {
            let chunk = self
                .vault
                .get_record(self.store, &file_name(key, index, c))
                .await?
                .ok_or(MessageDbError::Corrupted)?;
            out.extend_from_slice(&chunk);
        }
        Ok(Some(out))
    }
}

impl<S: Store> MessageDb<'_, S> {
    /// Stores the (decrypted) profile picture of conversation `id`'s peer, if `url` is still
    /// the conversation's picture (a newer one may have replaced it meanwhile: then nothing
    /// is stored). Returns whether it was stored.
    ///
    /// # Errors
    ///
    /// [`MessageDbError::NoSuchConversation`]; [`MessageDbError::Store`].
    pub async fn store_avatar<R: CryptoRng + ?Sized>(
        &mut self,
        id: &ConversationId,
        url: &str,
        bytes: &[u8],
        rng: &mut R,
    ) -> Result<bool> {
        self.ready_to_write(rng).await?;
        let mut convs = self.load_conversations().await?;
        let conv = convs
            .get_mut(id)
            .ok_or(MessageDbError::NoSuchConversation)?;
        if conv.avatar.as_ref().map(|a| a.url.as_str()) != Some(url) {
            return Ok(false);
        }
        conv.avatar_stored = true;
        let batch = Batch {
            contents: vec![
                self.vault
                    .seal_op(&super::records::avatar_name(id), bytes, rng)?,
            ],
            conversations: Some(self.seal(super::CONVERSATIONS, &convs, rng)?),
            ..Batch::default()
        };
        self.commit(batch).await?;
        Ok(true)
    }

    /// The stored profile picture of conversation `id`'s peer, if any.
    ///
    /// # Errors
    ///
    /// [`MessageDbError::Store`].
    pub async fn avatar_bytes(&self, id: &ConversationId) -> Result<Option<Zeroizing<Vec<u8>>>> {
        self.ready_to_read().await?;
        Ok(self
            .vault
            .get_record(self.store, &super::records::avatar_name(id))
            .await?)
    }
}
