//! The conversation features of [`Messenger`] (issue #5): reactions, delete for me, unsend,
//! the disappearing-messages setting and its sweep, reading (read receipts and after-read
//! timers), typing indicators, the settings record and local search.
//!
//! Optional notices follow Session: with read receipts or typing indicators switched off,
//! nothing is sent at all. Search decrypts the local store only; nothing goes to the network.

use std::collections::{BTreeMap, BTreeSet};

use rand_core::CryptoRng;
use umbra_ipc::{
    Direction as IpcDirection, DisappearingView, ErrorCode, Event, SearchHit, Settings,
};
use umbra_protocol::{
    address::ConversationId,
    client::ControlKind,
    identity::AccountId,
    message::{
        DisappearingSetting, MAX_RECEIPT_TIMESTAMPS, MessageId as WireId, ReactionChange,
        SendPrefs, compose_expiration_update, compose_reaction, compose_read_receipt,
        compose_typing, compose_unsend,
    },
    store::{
        MessageDb, MessageDbError,
        messages::{ConversationState, ConversationUpdate, Direction, MessageKey},
    },
};

use super::{
    Cx, MAX_SEARCH_RESULTS, Messenger, SETTINGS_RECORD, SendSpec, client_error, control, db_error,
    dm, save_json, view, with_setting,
};
use crate::net;

impl Messenger {
    fn prefs(&self) -> SendPrefs {
        SendPrefs {
            read_receipts: self.settings.read_receipts,
            typing_indicators: self.settings.typing_indicators,
        }
    }

    /// Marks the open conversation read while the page is visible: sends a read receipt
    /// (when switched on, to an accepted conversation) and starts the after-read timers,
    /// shortening the expiry of those messages' copies in the own swarm.
    pub(super) async fn mark_open_read<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
    ) -> Result<(), ErrorCode> {
        let Some(peer) = self.open.filter(|_| self.visible) else {
            return Ok(());
        };
        let mut db = MessageDb::new(cx.store, cx.vault);
        let Some(conv) = db.conversation(&dm(peer)).await.map_err(db_error)? else {
            return Ok(());
        };
        if conv.unread_count == 0 {
            return Ok(());
        }
        let now = self.client.network_time_ms(net::now_ms());
        let marked = db
            .mark_read(&dm(peer), now, cx.rng)
            .await
            .map_err(db_error)?;
        self.mark_dirty(peer);
        if marked.is_empty() {
            return Ok(());
        }
        let me = cx.vault.account_id();
        if self.settings.read_receipts && conv.state == ConversationState::Accepted && peer != me {
            let prefs = self.prefs();
            let timestamps: Vec<u64> = marked.iter().map(|m| m.sent_ms).collect();
            for chunk in timestamps.chunks(MAX_RECEIPT_TIMESTAMPS) {
                let sent = self.next_sent_ms();
                if let Ok(Some(outgoing)) = compose_read_receipt(&prefs, chunk, sent) {
                    let spec = SendSpec {
                        to: peer,
                        outgoing,
                        local_id: control(ControlKind::Receipt, sent),
                        sync_copy: false,
                        ephemeral: false,
                    };
                    let _ = self.send(cx, spec);
                }
            }
        }
        let mut by_expiry: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for m in &marked {
            let Some(at) = m.expires_at_ms else { continue };
            self.note_expiry(Some(at));
            let hashes = db
                .message(&dm(peer), m.id)
                .await
                .map_err(db_error)?
                .map(|x| x.storage_hashes)
                .unwrap_or_default();
            by_expiry.entry(at).or_default().extend(hashes);
        }
        for (at, hashes) in by_expiry {
            self.expire_own(cx, hashes, at);
        }
        Ok(())
    }

    /// Removes every message whose time is up from the database and the UI, and finds the
    /// next expiry.
    pub(super) async fn sweep<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
    ) -> Result<(), ErrorCode> {
        let now = self.client.network_time_ms(net::now_ms());
        let mut db = MessageDb::new(cx.store, cx.vault);
        let removed = db.sweep_expired(now, cx.rng).await.map_err(db_error)?;
        let peers: BTreeSet<AccountId> = removed
            .iter()
            .filter_map(|r| r.conversation.direct().copied())
            .collect();
        for peer in peers {
            self.mark_dirty(peer);
        }
        self.next_expiry = db.next_expiry().await.map_err(db_error)?;
        Ok(())
    }

    /// Adds our `emoji` reaction to message `id`, or takes it back if it is there, and tells
    /// the peer (and our other devices).
    pub async fn react<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        id: u64,
        emoji: String,
    ) -> Result<(), ErrorCode> {
        let mut db = MessageDb::new(cx.store, cx.vault);
        let msg = db
            .message(&dm(peer), MessageKey(id))
            .await
            .map_err(db_error)?
            .filter(|m| !m.deleted)
            .ok_or(ErrorCode::NoSuchMessage)?;
        let me = cx.vault.account_id();
        let mine = msg
            .reactions
            .get(&emoji)
            .is_some_and(|who| who.contains(&me));
        let change = if mine {
            ReactionChange::Remove
        } else {
            ReactionChange::Add
        };
        let setting = db
            .conversation(&dm(peer))
            .await
            .map_err(db_error)?
            .map_or(DisappearingSetting::Off, |c| view::wire_of(c.disappearing));
        let sent = self.next_sent_ms();
        let target = WireId {
            author: msg.author,
            sent_timestamp_ms: msg.sent_ms,
        };
        let profile = self.profile();
        let outgoing = compose_reaction(
            &target,
            &emoji,
            change,
            profile.as_ref(),
            DisappearingSetting::Off,
            sent,
        )
        .map_err(|_| ErrorCode::InvalidReaction)?;
        db.react(&dm(peer), &msg.message_ref(), &emoji, &me, !mine, cx.rng)
            .await
            .map_err(db_error)?;
        self.mark_dirty(peer);
        let spec = SendSpec::durable(
            peer,
            with_setting(outgoing, setting),
            control(ControlKind::Reaction, sent),
            true,
        );
        let sent = self.send(cx, spec).map_err(|e| client_error(&e));
        self.run_actions(cx).await;
        sent
    }

    /// Deletes message `id` from this browser only.
    pub async fn delete_for_me<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        id: u64,
    ) -> Result<(), ErrorCode> {
        match MessageDb::new(cx.store, cx.vault)
            .delete_message(&dm(peer), MessageKey(id), cx.rng)
            .await
        {
            Ok(()) => {}
            Err(MessageDbError::NoSuchMessage) => return Err(ErrorCode::NoSuchMessage),
            Err(e) => return Err(db_error(e)),
        }
        self.mark_dirty(peer);
        self.flush_ui(cx).await;
        Ok(())
    }

    /// Deletes our message `id` for everyone: an unsend request to the peer and to our own
    /// account (other devices), our swarm's copies deleted, the local text erased.
    pub async fn unsend<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        id: u64,
    ) -> Result<(), ErrorCode> {
        let mut db = MessageDb::new(cx.store, cx.vault);
        let msg = db
            .message(&dm(peer), MessageKey(id))
            .await
            .map_err(db_error)?
            .filter(|m| !m.deleted)
            .ok_or(ErrorCode::NoSuchMessage)?;
        if msg.direction != Direction::Outgoing {
            return Err(ErrorCode::NotOwnMessage);
        }
        let me = cx.vault.account_id();
        let sent = self.next_sent_ms();
        let target = WireId {
            author: me,
            sent_timestamp_ms: msg.sent_ms,
        };
        let outgoing = compose_unsend(&me, &target, sent).map_err(|_| ErrorCode::Internal)?;
        db.unsend(&dm(peer), &msg.message_ref(), &me, net::now_ms(), cx.rng)
            .await
            .map_err(db_error)?;
        self.mark_dirty(peer);
        let mut result = Ok(());
        if peer != me {
            let spec = SendSpec::durable(
                peer,
                outgoing.clone(),
                control(ControlKind::Unsend, sent),
                false,
            );
            result = self.send(cx, spec).map_err(|e| client_error(&e));
        }
        let spec = SendSpec {
            to: me,
            outgoing,
            local_id: control(ControlKind::UnsendOwn, sent),
            sync_copy: false,
            ephemeral: false,
        };
        let own = self.send(cx, spec).map_err(|e| client_error(&e));
        self.delete_own(cx, msg.storage_hashes);
        self.run_actions(cx).await;
        result.and(own)
    }

    /// Changes the disappearing-messages setting of `peer`'s conversation and tells the peer
    /// (and our other devices) with an expiration-timer update.
    pub async fn set_disappearing<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        setting: DisappearingView,
    ) -> Result<(), ErrorCode> {
        let stored = view::checked_setting(setting)?;
        let mut db = MessageDb::new(cx.store, cx.vault);
        let current = db
            .conversation(&dm(peer))
            .await
            .map_err(db_error)?
            .map(|c| c.disappearing);
        if current.map(view::wire_of) == Some(view::wire_of(stored)) {
            self.mark_dirty(peer);
            self.flush_ui(cx).await;
            return Ok(());
        }
        let update = ConversationUpdate {
            disappearing: Some(stored),
            ..ConversationUpdate::default()
        };
        db.upsert_conversation(&dm(peer), update, net::now_ms(), cx.rng)
            .await
            .map_err(db_error)?;
        self.mark_dirty(peer);
        let sent = self.next_sent_ms();
        let outgoing = compose_expiration_update(DisappearingSetting::Off, sent)
            .map_err(|_| ErrorCode::Internal)?;
        let spec = SendSpec::durable(
            peer,
            with_setting(outgoing, view::wire_of(stored)),
            control(ControlKind::Timer, sent),
            true,
        );
        let sent = self.send(cx, spec).map_err(|e| client_error(&e));
        self.run_actions(cx).await;
        sent
    }

    /// Tells `peer` we started or stopped typing, if typing indicators are on.
    pub async fn typing<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: AccountId,
        started: bool,
    ) -> Result<(), ErrorCode> {
        if !self.settings.typing_indicators || peer == cx.vault.account_id() {
            return Ok(());
        }
        let conv = MessageDb::new(cx.store, cx.vault)
            .conversation(&dm(peer))
            .await
            .map_err(db_error)?;
        // Nothing to a blocked peer, nor to a request we have not accepted.
        if conv.is_some_and(|c| c.state != ConversationState::Accepted) {
            return Ok(());
        }
        let sent = self.next_sent_ms();
        let Some(outgoing) = compose_typing(&self.prefs(), started, sent) else {
            return Ok(());
        };
        let spec = SendSpec {
            to: peer,
            outgoing,
            local_id: control(ControlKind::Typing, sent),
            sync_copy: false,
            ephemeral: true,
        };
        let sent = self.send(cx, spec).map_err(|e| client_error(&e));
        self.run_actions(cx).await;
        sent
    }

    /// Posts the settings.
    pub fn post_settings<R: CryptoRng>(&self, cx: &mut Cx<'_, R>) -> Result<(), ErrorCode> {
        (cx.post)(&Event::Settings {
            settings: self.settings,
        });
        Ok(())
    }

    /// Saves the settings (sealed in the vault) and posts them.
    pub async fn set_settings<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        settings: Settings,
    ) -> Result<(), ErrorCode> {
        save_json(cx, SETTINGS_RECORD, &settings).await?;
        self.settings = settings;
        self.post_settings(cx)
    }

    /// Searches the local messages (one conversation or all) and posts the hits, newest
    /// first. Nothing is sent to the network.
    pub async fn search<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        query: String,
        peer: Option<AccountId>,
    ) -> Result<(), ErrorCode> {
        let db = MessageDb::new(cx.store, cx.vault);
        let needle = query.trim();
        let hits = if needle.is_empty() {
            Vec::new()
        } else {
            db.search(needle, peer.map(dm).as_ref())
                .await
                .map_err(db_error)?
        };
        let names: BTreeMap<ConversationId, Option<String>> = db
            .list_conversations()
            .await
            .map_err(db_error)?
            .into_iter()
            .map(|c| (c.id, c.display_name))
            .collect();
        let items = hits
            .into_iter()
            .filter(|m| !m.deleted)
            .take(MAX_SEARCH_RESULTS)
            .map(|m| SearchHit {
                conversation: m.conversation.to_string(),
                display_name: names.get(&m.conversation).cloned().flatten(),
                id: m.id.0,
                direction: match m.direction {
                    Direction::Incoming => IpcDirection::Incoming,
                    Direction::Outgoing => IpcDirection::Outgoing,
                },
                body: m.body,
                sent_ms: m.sent_ms,
            })
            .collect();
        (cx.post)(&Event::SearchResults {
            query,
            conversation: peer.map(|p| p.to_string()),
            items,
        });
        Ok(())
    }
}
