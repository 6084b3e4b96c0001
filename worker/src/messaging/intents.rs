//! The user's intents about conversations, as [`Messenger`] commands: each names the 1:1
//! conversation by its peer, runs the matching rule of [`umbra_protocol::convo`] and carries
//! out its effects (then the client's actions).

use rand_core::CryptoRng;
use umbra_ipc::{ErrorCode, Event};
use umbra_protocol::{
    convo,
    identity::AccountId,
    store::{
        MessageDb,
        messages::{ConversationUpdate, MessageKey},
    },
};

use super::{Cx, Held, Messenger, dm, path_state, sync::ContactChange, view};

impl Messenger {
    /// Opens `peer`'s conversation: marks it read, polls fast, posts the list and then the
    /// messages.
    pub async fn open<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
    ) -> Result<(), ErrorCode> {
        // The app shows this conversation afresh: its first page goes out whole.
        self.page.reset();
        let outcome = convo!(self, cx, open(&dm(peer)));
        let result = self.finish(cx, outcome).await;
        self.sync_read(cx, peer).await;
        result
    }

    /// Closes the open conversation and posts the list.
    pub async fn close<R: CryptoRng>(&mut self, cx: &mut Cx<'_, R>) -> Result<(), ErrorCode> {
        let effects = self.convo.close();
        self.dirty_list = true;
        self.finish(cx, Ok(effects)).await
    }

    /// Records whether the page is visible and adapts the polling cadence.
    pub async fn set_visible<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        visible: bool,
    ) -> Result<(), ErrorCode> {
        let outcome = convo!(self, cx, set_visible(visible));
        self.finish(cx, outcome).await?;
        if let Some(peer) = self.open_peer() {
            self.sync_read(cx, peer).await;
        }
        (cx.post)(&Event::Paths {
            state: path_state(self.path),
        });
        Ok(())
    }

    /// Sends a text (a reply quoting message `reply_to`, disappearing as the conversation is
    /// set).
    pub async fn send_text<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        body: String,
        reply_to: Option<u64>,
    ) -> Result<(), ErrorCode> {
        if body.trim().is_empty() || body.chars().count() > convo::MAX_BODY_CHARS {
            return Err(ErrorCode::InvalidMessage);
        }
        if !self.client.clock_synced() {
            let intent = Held::Text {
                peer,
                body,
                reply_to,
            };
            return self.hold(cx, intent).await;
        }
        let reply_to = reply_to.map(MessageKey);
        let outcome = convo!(self, cx, send_text(&dm(peer), body, reply_to));
        if outcome.is_ok() {
            // Writing to someone approves them (as Session clients record it).
            self.sync_contact(cx, peer, ContactChange::Accepted).await;
        }
        self.finish(cx, outcome).await
    }

    /// Sends failed message `id` of `peer`'s conversation again.
    pub async fn retry<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        id: u64,
    ) -> Result<(), ErrorCode> {
        let id = MessageKey(id);
        let local_id = convo::text_local_id(id);
        let known = self.client.outbox().iter().any(|e| e.local_id == local_id);
        let outcome = convo!(self, cx, retry(&dm(peer), id, known));
        self.finish(cx, outcome).await
    }

    /// Adds our `emoji` reaction to message `id`, or takes it back.
    pub async fn react<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        id: u64,
        emoji: String,
    ) -> Result<(), ErrorCode> {
        if !self.client.clock_synced() {
            return self.hold(cx, Held::React { peer, id, emoji }).await;
        }
        let outcome = convo!(self, cx, react(&dm(peer), MessageKey(id), emoji));
        self.finish(cx, outcome).await
    }

    /// Deletes message `id` from this browser only.
    pub async fn delete_for_me<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        id: u64,
    ) -> Result<(), ErrorCode> {
        let outcome = convo!(self, cx, delete_for_me(&dm(peer), MessageKey(id)));
        self.finish(cx, outcome).await
    }

    /// Deletes our message `id` for everyone.
    pub async fn unsend<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        id: u64,
    ) -> Result<(), ErrorCode> {
        if !self.client.clock_synced() {
            return self.hold(cx, Held::Unsend { peer, id }).await;
        }
        let outcome = convo!(self, cx, unsend(&dm(peer), MessageKey(id)));
        self.finish(cx, outcome).await
    }

    /// Changes the disappearing-messages setting of `peer`'s conversation.
    pub async fn set_disappearing<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        setting: umbra_ipc::DisappearingView,
    ) -> Result<(), ErrorCode> {
        let stored = view::checked_setting(setting)?;
        if !self.client.clock_synced() {
            return self.hold(cx, Held::SetDisappearing { peer, setting }).await;
        }
        let outcome = convo!(self, cx, set_disappearing(&dm(peer), stored));
        if outcome.is_ok() {
            self.sync_disappearing(cx, peer, stored).await;
        }
        self.finish(cx, outcome).await
    }

    /// Tells `peer` we started or stopped typing, if typing indicators are on.
    pub async fn typing<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        started: bool,
    ) -> Result<(), ErrorCode> {
        if !self.client.clock_synced() {
            // A typing indicator is worth nothing later: not held.
            return Ok(());
        }
        let outcome = convo!(self, cx, typing(&dm(peer), started));
        self.finish(cx, outcome).await
    }

    /// Accepts the message request of `peer`.
    pub async fn accept<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
    ) -> Result<(), ErrorCode> {
        if !self.client.clock_synced() {
            return self.hold(cx, Held::Accept { peer }).await;
        }
        let outcome = convo!(self, cx, accept(&dm(peer)));
        // Accepted: the request's attachments are fetched now (as Session asks first), and
        // the contact is approved in the synced config.
        if outcome.is_ok() {
            self.want_remote_attachments(cx, peer).await;
            self.sync_contact(cx, peer, ContactChange::Accepted).await;
        }
        self.finish(cx, outcome).await
    }

    /// Deletes `peer`'s conversation (closing it if open).
    pub async fn delete<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
    ) -> Result<(), ErrorCode> {
        let outcome = convo!(self, cx, delete_conversation(&dm(peer)));
        if outcome.is_ok() {
            self.sync_contact(cx, peer, ContactChange::Deleted).await;
        }
        self.finish(cx, outcome).await
    }

    /// Names `peer` (blank: removes the nickname), here and in the synced Contacts config.
    pub async fn set_nickname<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        nickname: &str,
    ) -> Result<(), ErrorCode> {
        let nickname = convo::checked_display_name(nickname).map_err(super::convo_error)?;
        let update = ConversationUpdate {
            nickname: Some(nickname.clone()),
            ..ConversationUpdate::default()
        };
        update_existing(cx, peer, update).await?;
        self.sync_nickname(cx, peer, nickname.as_deref()).await;
        let effects = vec![convo::Effect::Ui(convo::UiChange::Conversation(dm(peer)))];
        self.finish(cx, Ok(effects)).await
    }

    /// Marks `peer`'s conversation unread (until it is opened again), here and on the other
    /// devices.
    pub async fn mark_unread<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
    ) -> Result<(), ErrorCode> {
        let update = ConversationUpdate {
            marked_unread: Some(true),
            ..ConversationUpdate::default()
        };
        update_existing(cx, peer, update).await?;
        self.sync_read(cx, peer).await;
        let effects = vec![convo::Effect::Ui(convo::UiChange::Conversation(dm(peer)))];
        self.finish(cx, Ok(effects)).await
    }

    /// Blocks (`true`) or unblocks `peer`, then posts the list and the block list.
    pub async fn set_blocked<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        blocked: bool,
    ) -> Result<(), ErrorCode> {
        let outcome = convo!(self, cx, set_blocked(peer, blocked));
        if outcome.is_ok() {
            self.sync_contact(cx, peer, ContactChange::Blocked(blocked))
                .await;
        }
        self.finish(cx, outcome).await
    }
}

/// Applies `update` to `peer`'s conversation, which must exist
/// ([`ErrorCode::NoSuchMessage`] otherwise: the app named a conversation that is gone).
async fn update_existing<R: CryptoRng>(
    cx: &mut Cx<'_, R>,
    peer: AccountId,
    update: ConversationUpdate,
) -> Result<(), ErrorCode> {
    let mut db = MessageDb::new(cx.store, cx.vault);
    let Some(conv) = db.conversation(&dm(peer)).await.map_err(super::db_error)? else {
        return Err(ErrorCode::NoSuchMessage);
    };
    db.upsert_conversation(&dm(peer), update, conv.last_activity_ms, cx.rng)
        .await
        .map_err(super::db_error)?;
    Ok(())
}
