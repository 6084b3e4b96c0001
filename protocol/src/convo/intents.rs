//! What the user's intents mean: sending a text (a reply, disappearing as the conversation is
//! set), retrying it, reacting, deleting for me, unsending, changing the disappearing setting,
//! typing, opening and reading a conversation (read receipts, after-read timers), the expiry
//! sweep, accepting a request, blocking and deleting a conversation.
//!
//! Optional notices follow Session: with read receipts or typing indicators switched off,
//! nothing is sent at all; nothing optional goes to a request we have not accepted or to a
//! blocked account.

use std::collections::{BTreeMap, BTreeSet};

use rand_core::CryptoRng;

use super::receive::{delete_own, setting_of};
use super::{Conversations, ConvoError, Effect, Io, Outcome, UiChange, wire_of};
use super::{control, direct, text_key, text_local_id, with_setting};
use crate::address::ConversationId;
use crate::client::{ClientCommand, ControlKind, LocalId, PollingMode};
use crate::identity::AccountId;
use crate::message::{
    AttachmentMeta, DisappearingSetting, MAX_OUTGOING_BODY_CHARS, MAX_RECEIPT_TIMESTAMPS,
    MessageId as WireId, Outgoing, QuoteRef, ReactionChange, TextDraft, compose_expiration_update,
    compose_reaction, compose_read_receipt, compose_request_accept, compose_text, compose_typing,
    compose_unsend,
};
use crate::store::messages::{
    CallEntry, ConversationState, ConversationUpdate, Direction, Disappearing, DisappearingMode,
    InsertOutcome, Message, MessageKey, NewMessage, OutboxState, Placeholder, Quote,
};
use crate::store::{MessageDbError, Store};

/// Longest text accepted, in characters (Session's limit).
pub const MAX_BODY_CHARS: usize = MAX_OUTGOING_BODY_CHARS;

/// How many of a conversation's newest messages are searched for an earlier entry of the
/// same call (a call's outcomes come within minutes).
const CALL_SCAN: usize = 50;

/// A setting the user chose: any mode-off setting is off; otherwise the timer must be one that
/// is offered for its mode.
///
/// # Errors
///
/// [`ConvoError::InvalidTimer`] for a timer that is not offered.
pub fn offered_setting(mode: DisappearingMode, timer_s: u32) -> Result<Disappearing, ConvoError> {
    if mode == DisappearingMode::Off {
        return Ok(Disappearing::OFF);
    }
    let d = Disappearing { mode, timer_s };
    if timer_s == 0 || !wire_of(d).is_offered() {
        return Err(ConvoError::InvalidTimer);
    }
    Ok(d)
}

/// The quote a reply to `quoted` carries, on the wire and stored.
fn quote_of(quoted: &Message) -> (QuoteRef, Quote) {
    let text = quoted.body.clone();
    (
        QuoteRef {
            target: WireId {
                author: quoted.author,
                sent_timestamp_ms: quoted.sent_ms,
            },
            text: Some(text.clone()).filter(|t| !t.is_empty()),
        },
        Quote {
            target: quoted.message_ref(),
            text,
        },
    )
}

/// A durable send (everything but typing indicators).
fn send(to: AccountId, outgoing: Outgoing, local_id: LocalId, sync_copy: bool) -> Effect {
    Effect::Client(ClientCommand::Send {
        to,
        outgoing,
        local_id,
        sync_copy,
        ephemeral: false,
    })
}

impl Conversations {
    /// Rebuilds the Content of stored text `msg` with its quote and `setting`.
    fn recompose(
        &self,
        msg: &Message,
        setting: DisappearingSetting,
    ) -> Result<Outgoing, ConvoError> {
        let draft = TextDraft {
            body: msg.body.clone(),
            quote: msg.quote.as_ref().map(|q| QuoteRef {
                target: WireId {
                    author: q.target.author,
                    sent_timestamp_ms: q.target.sent_ms,
                },
                text: Some(q.text.clone()).filter(|t| !t.is_empty()),
            }),
            profile: self.profile.clone(),
            disappearing: DisappearingSetting::Off,
            attachments: msg.attachments.iter().map(|a| a.meta.clone()).collect(),
        };
        let outgoing = compose_text(&draft, msg.sent_ms).map_err(|_| ConvoError::InvalidMessage)?;
        Ok(with_setting(outgoing, setting))
    }

    fn polling(&self) -> Effect {
        let mode = if self.visible && self.open.is_some() {
            PollingMode::Foreground
        } else {
            PollingMode::Background
        };
        Effect::Client(ClientCommand::SetPollingMode(mode))
    }

    /// Stores a new text to `conversation` as `Pending` (a reply quoting `reply_to`,
    /// disappearing as the conversation is set), then hands it to the client. Store first,
    /// client second: see the module docs for why this order loses nothing.
    ///
    /// # Errors
    ///
    /// [`ConvoError::UnsupportedConversation`] unless it is a 1:1 conversation,
    /// [`ConvoError::InvalidMessage`] for a blank or too long text, [`ConvoError::NoSuchMessage`]
    /// if `reply_to` is not stored, [`ConvoError::Db`].
    pub async fn send_text<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
        conversation: &ConversationId,
        body: String,
        reply_to: Option<MessageKey>,
    ) -> Outcome {
        self.send_message(io, conversation, body, reply_to, Vec::new())
            .await
    }

    /// As [`Conversations::send_text`], with `attachments` already uploaded (then the text
    /// may be empty). Their bytes are stored by the caller afterwards
    /// ([`MessageDb::store_attachment`](crate::store::MessageDb::store_attachment)), so the
    /// sender never downloads its own file.
    ///
    /// # Errors
    ///
    /// As [`Conversations::send_text`]; [`ConvoError::InvalidMessage`] also for more than
    /// [`MAX_ATTACHMENTS`](crate::message::MAX_ATTACHMENTS) attachments.
    pub async fn send_message<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
        conversation: &ConversationId,
        body: String,
        reply_to: Option<MessageKey>,
        attachments: Vec<AttachmentMeta>,
    ) -> Outcome {
        let peer = direct(conversation)?;
        let blank_ok = !attachments.is_empty() && body.is_empty();
        if (body.trim().is_empty() && !blank_ok)
            || body.chars().count() > MAX_BODY_CHARS
            || attachments.len() > crate::message::MAX_ATTACHMENTS
        {
            return Err(ConvoError::InvalidMessage);
        }
        let quote = match reply_to {
            None => None,
            Some(id) => {
                let quoted = io
                    .db
                    .message(conversation, id)
                    .await?
                    .filter(|m| !m.deleted)
                    .ok_or(ConvoError::NoSuchMessage)?;
                Some(quote_of(&quoted))
            }
        };
        let stored_setting = io
            .db
            .conversation(conversation)
            .await?
            .map(|c| c.disappearing)
            .unwrap_or_default();
        let setting = wire_of(stored_setting);
        let now = io.clock.now();
        let sent_ms = io.clock.allocate_sent_ms().0;
        let (quote_ref, quote) = quote.unzip();
        let draft = TextDraft {
            body: body.clone(),
            quote: quote_ref,
            profile: self.profile.clone(),
            disappearing: DisappearingSetting::Off,
            attachments: attachments.clone(),
        };
        let outgoing = with_setting(
            compose_text(&draft, sent_ms).map_err(|_| ConvoError::InvalidMessage)?,
            setting,
        );
        let msg = NewMessage {
            conversation: conversation.clone(),
            direction: Direction::Outgoing,
            author: self.me,
            sent_ms,
            received_ms: now.0,
            body,
            storage_hash: None,
            outbox: Some(OutboxState::Pending),
            disappearing: Some(stored_setting).filter(Disappearing::is_on),
            quote,
            placeholder: None,
            attachments,
        };
        let InsertOutcome::Inserted(id) = io.db.insert_message(msg, io.rng).await? else {
            // A fresh sent timestamp is never a duplicate.
            return Err(ConvoError::Bug);
        };
        let mut effects = vec![Effect::Ui(UiChange::Conversation(conversation.clone()))];
        self.note_expiry(setting.outgoing_expiry_ms(sent_ms), &mut effects);
        effects.push(send(peer, outgoing, text_local_id(id), true));
        Ok(effects)
    }

    /// The client refused to queue the text of `conversation` with outbox id `local_id`: it
    /// is marked failed (the user may retry). Other ids store nothing.
    ///
    /// # Errors
    ///
    /// [`ConvoError::Db`].
    pub async fn on_send_refused<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
        conversation: &ConversationId,
        local_id: &LocalId,
    ) -> Outcome {
        let Some(id) = text_key(local_id) else {
            return Ok(Vec::new());
        };
        let failed = OutboxState::Failed { code: 1 };
        match io
            .db
            .set_outbox_state(conversation, id, failed, None, io.rng)
            .await
        {
            Ok(()) => Ok(vec![Effect::Ui(UiChange::Conversation(
                conversation.clone(),
            ))]),
            Err(MessageDbError::NoSuchMessage | MessageDbError::NotOutgoing) => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// Sends our text `id` of `conversation` again. `client_has_it` says whether the client's
    /// outbox still holds it: then the client retries it at once; otherwise (its snapshot was
    /// lost) it is composed again from the database with its original sent timestamp.
    ///
    /// # Errors
    ///
    /// [`ConvoError::UnsupportedConversation`] unless it is a 1:1 conversation,
    /// [`ConvoError::NoSuchMessage`] if it is not our stored text, [`ConvoError::Db`].
    pub async fn retry<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
        conversation: &ConversationId,
        id: MessageKey,
        client_has_it: bool,
    ) -> Outcome {
        let peer = direct(conversation)?;
        let local_id = text_local_id(id);
        let changed = Effect::Ui(UiChange::Conversation(conversation.clone()));
        if client_has_it {
            return Ok(vec![
                Effect::Client(ClientCommand::Retry { local_id }),
                changed,
            ]);
        }
        let msg = io
            .db
            .message(conversation, id)
            .await?
            .filter(|m| m.direction == Direction::Outgoing && !m.deleted)
            .ok_or(ConvoError::NoSuchMessage)?;
        if msg.outbox == Some(OutboxState::Sent) {
            return Ok(Vec::new());
        }
        let outgoing = self.recompose(&msg, setting_of(io, conversation).await?)?;
        Ok(vec![send(peer, outgoing, local_id, true), changed])
    }

    /// At start: hands the client every stored text still to be sent that its outbox does
    /// not know (`client_has`), i.e. the page closed between storing it and the client
    /// persisting its entry. The only reconciliation of the two stores. Texts of other kinds
    /// of conversation than 1:1 stay pending: they are not sent by these rules yet.
    ///
    /// # Errors
    ///
    /// [`ConvoError::Db`].
    pub async fn resume<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
        client_has: &dyn Fn(&LocalId) -> bool,
    ) -> Outcome {
        let mut effects = Vec::new();
        for msg in io.db.pending_outbox().await? {
            let Some(&peer) = msg.conversation.direct() else {
                continue;
            };
            let local_id = text_local_id(msg.id);
            if client_has(&local_id) {
                continue;
            }
            let setting = setting_of(io, &msg.conversation).await?;
            // A stored text always composes; a failure leaves it pending for a retry.
            let Ok(outgoing) = self.recompose(&msg, setting) else {
                continue;
            };
            effects.push(send(peer, outgoing, local_id, true));
        }
        Ok(effects)
    }

    /// Adds our `emoji` reaction to message `id`, or takes it back if it is there, and tells
    /// the peer (and our other devices).
    ///
    /// # Errors
    ///
    /// [`ConvoError::UnsupportedConversation`] unless it is a 1:1 conversation,
    /// [`ConvoError::NoSuchMessage`], [`ConvoError::InvalidReaction`], [`ConvoError::Db`].
    pub async fn react<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
        conversation: &ConversationId,
        id: MessageKey,
        emoji: String,
    ) -> Outcome {
        let peer = direct(conversation)?;
        let msg = io
            .db
            .message(conversation, id)
            .await?
            .filter(|m| !m.deleted)
            .ok_or(ConvoError::NoSuchMessage)?;
        let me = self.me;
        let mine = msg
            .reactions
            .get(&emoji)
            .is_some_and(|who| who.contains(&me));
        let change = if mine {
            ReactionChange::Remove
        } else {
            ReactionChange::Add
        };
        let setting = setting_of(io, conversation).await?;
        let sent = io.clock.allocate_sent_ms();
        let target = WireId {
            author: msg.author,
            sent_timestamp_ms: msg.sent_ms,
        };
        let outgoing = compose_reaction(
            &target,
            &emoji,
            change,
            self.profile.as_ref(),
            DisappearingSetting::Off,
            sent.0,
        )
        .map_err(|_| ConvoError::InvalidReaction)?;
        io.db
            .react(conversation, &msg.message_ref(), &emoji, &me, !mine, io.rng)
            .await?;
        Ok(vec![
            Effect::Ui(UiChange::Conversation(conversation.clone())),
            send(
                peer,
                with_setting(outgoing, setting),
                control(ControlKind::Reaction, sent),
                true,
            ),
        ])
    }

    /// Deletes message `id` of `conversation` (of any kind) from this device only.
    ///
    /// # Errors
    ///
    /// [`ConvoError::NoSuchMessage`], [`ConvoError::Db`].
    pub async fn delete_for_me<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
        conversation: &ConversationId,
        id: MessageKey,
    ) -> Outcome {
        match io.db.delete_message(conversation, id, io.rng).await {
            Ok(()) => Ok(vec![Effect::Ui(UiChange::Conversation(
                conversation.clone(),
            ))]),
            Err(MessageDbError::NoSuchMessage) => Err(ConvoError::NoSuchMessage),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes our message `id` for everyone: an unsend request to the peer and to our own
    /// account (other devices), our swarm's copies deleted, the local text erased.
    ///
    /// # Errors
    ///
    /// [`ConvoError::UnsupportedConversation`] unless it is a 1:1 conversation,
    /// [`ConvoError::NoSuchMessage`], [`ConvoError::NotOwnMessage`], [`ConvoError::Db`].
    pub async fn unsend<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
        conversation: &ConversationId,
        id: MessageKey,
    ) -> Outcome {
        let peer = direct(conversation)?;
        let msg = io
            .db
            .message(conversation, id)
            .await?
            .filter(|m| !m.deleted)
            .ok_or(ConvoError::NoSuchMessage)?;
        if msg.direction != Direction::Outgoing {
            return Err(ConvoError::NotOwnMessage);
        }
        let me = self.me;
        let sent = io.clock.allocate_sent_ms();
        let target = WireId {
            author: me,
            sent_timestamp_ms: msg.sent_ms,
        };
        let outgoing = compose_unsend(&me, &target, sent.0).map_err(|_| ConvoError::Bug)?;
        let now = io.clock.now().0;
        io.db
            .unsend(conversation, &msg.message_ref(), &me, now, io.rng)
            .await?;
        let mut effects = vec![Effect::Ui(UiChange::Conversation(conversation.clone()))];
        if peer != me {
            effects.push(send(
                peer,
                outgoing.clone(),
                control(ControlKind::Unsend, sent),
                false,
            ));
        }
        effects.push(send(
            me,
            outgoing,
            control(ControlKind::UnsendOwn, sent),
            false,
        ));
        delete_own(msg.storage_hashes, &mut effects);
        Ok(effects)
    }

    /// Changes the disappearing setting of `conversation` (as [`offered_setting`] returns it)
    /// and tells the peer (and our other devices) with an expiration-timer update. The same
    /// setting again changes nothing and sends nothing.
    ///
    /// # Errors
    ///
    /// [`ConvoError::UnsupportedConversation`] unless it is a 1:1 conversation,
    /// [`ConvoError::Db`].
    pub async fn set_disappearing<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
        conversation: &ConversationId,
        setting: Disappearing,
    ) -> Outcome {
        let peer = direct(conversation)?;
        let current = io
            .db
            .conversation(conversation)
            .await?
            .map(|c| c.disappearing);
        let mut effects = vec![Effect::Ui(UiChange::Conversation(conversation.clone()))];
        if current.map(wire_of) == Some(wire_of(setting)) {
            return Ok(effects);
        }
        let update = ConversationUpdate {
            disappearing: Some(setting),
            ..ConversationUpdate::default()
        };
        let now = io.clock.now().0;
        io.db
            .upsert_conversation(conversation, update, now, io.rng)
            .await?;
        let sent = io.clock.allocate_sent_ms();
        let outgoing = compose_expiration_update(DisappearingSetting::Off, sent.0)
            .map_err(|_| ConvoError::Bug)?;
        effects.push(send(
            peer,
            with_setting(outgoing, wire_of(setting)),
            control(ControlKind::Timer, sent),
            true,
        ));
        Ok(effects)
    }

    /// Tells the peer of `conversation` we started or stopped typing, if typing indicators
    /// are on and the conversation is accepted (or new). Never persisted.
    ///
    /// # Errors
    ///
    /// [`ConvoError::UnsupportedConversation`] unless it is a 1:1 conversation,
    /// [`ConvoError::Db`].
    pub async fn typing<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
        conversation: &ConversationId,
        started: bool,
    ) -> Outcome {
        let peer = direct(conversation)?;
        if !self.prefs.typing_indicators || peer == self.me {
            return Ok(Vec::new());
        }
        let conv = io.db.conversation(conversation).await?;
        // Nothing to a blocked peer, nor to a request we have not accepted.
        if conv.is_some_and(|c| c.state != ConversationState::Accepted) {
            return Ok(Vec::new());
        }
        let sent = io.clock.allocate_sent_ms();
        let Some(outgoing) = compose_typing(&self.prefs, started, sent.0) else {
            return Ok(Vec::new());
        };
        Ok(vec![Effect::Client(ClientCommand::Send {
            to: peer,
            outgoing,
            local_id: control(ControlKind::Typing, sent),
            sync_copy: false,
            ephemeral: true,
        })])
    }

    /// Opens `conversation` (of any kind): marks it read (if the page is visible), polls fast
    /// and now.
    ///
    /// # Errors
    ///
    /// [`ConvoError::Db`].
    pub async fn open<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
        conversation: &ConversationId,
    ) -> Outcome {
        self.open = Some(conversation.clone());
        let mut effects = Vec::new();
        self.mark_open_read(io, &mut effects).await?;
        effects.push(self.polling());
        effects.push(Effect::Client(ClientCommand::PollNow));
        effects.push(Effect::Ui(UiChange::Conversation(conversation.clone())));
        Ok(effects)
    }

    /// Closes the open conversation (polling slows down).
    pub fn close(&mut self) -> Vec<Effect> {
        self.open = None;
        vec![self.polling()]
    }

    /// Records whether the page is visible: the open conversation is read when it becomes
    /// visible; polling adapts.
    ///
    /// # Errors
    ///
    /// [`ConvoError::Db`].
    pub async fn set_visible<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
        visible: bool,
    ) -> Outcome {
        self.visible = visible;
        let mut effects = Vec::new();
        if visible {
            self.mark_open_read(io, &mut effects).await?;
        }
        effects.push(self.polling());
        Ok(effects)
    }

    /// The current polling cadence as a client command (for the start).
    pub fn polling_command(&self) -> Effect {
        self.polling()
    }

    /// Marks the open conversation read while the page is visible: sends read receipts (when
    /// switched on, to an accepted 1:1 conversation) and starts the after-read timers,
    /// shortening the expiry of those messages' copies in the own swarm.
    pub(super) async fn mark_open_read<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
        effects: &mut Vec<Effect>,
    ) -> Result<(), ConvoError> {
        let Some(conversation) = self.open.clone().filter(|_| self.visible) else {
            return Ok(());
        };
        let Some(conv) = io.db.conversation(&conversation).await? else {
            return Ok(());
        };
        if conv.unread_count == 0 && !conv.marked_unread {
            return Ok(());
        }
        let now = io.clock.now().0;
        // Also ends a "marked unread".
        let marked = io.db.mark_read(&conversation, now, io.rng).await?;
        effects.push(Effect::Ui(UiChange::Conversation(conversation.clone())));
        if marked.is_empty() {
            return Ok(());
        }
        // Receipts go to the peer of a 1:1 conversation (never to Note to Self).
        let receipts_to = conversation.direct().copied().filter(|p| *p != self.me);
        if let Some(peer) = receipts_to
            && self.prefs.read_receipts
            && conv.state == ConversationState::Accepted
        {
            let timestamps: Vec<u64> = marked.iter().map(|m| m.sent_ms).collect();
            for chunk in timestamps.chunks(MAX_RECEIPT_TIMESTAMPS) {
                let sent = io.clock.allocate_sent_ms();
                if let Ok(Some(outgoing)) = compose_read_receipt(&self.prefs, chunk, sent.0) {
                    effects.push(send(
                        peer,
                        outgoing,
                        control(ControlKind::Receipt, sent),
                        false,
                    ));
                }
            }
        }
        let mut by_expiry: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for m in &marked {
            let Some(at) = m.expires_at_ms else { continue };
            self.note_expiry(Some(at), effects);
            let hashes = io
                .db
                .message(&conversation, m.id)
                .await?
                .map(|x| x.storage_hashes)
                .unwrap_or_default();
            by_expiry.entry(at).or_default().extend(hashes);
        }
        for (expiry_ms, hashes) in by_expiry {
            if !hashes.is_empty() {
                effects.push(Effect::Client(ClientCommand::ExpireOwn {
                    hashes,
                    expiry_ms,
                }));
            }
        }
        Ok(())
    }

    /// Removes every message whose time is up and finds the next expiry.
    ///
    /// # Errors
    ///
    /// [`ConvoError::Db`].
    pub async fn sweep<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
    ) -> Outcome {
        let now = io.clock.now().0;
        let removed = io.db.sweep_expired(now, io.rng).await?;
        let changed: BTreeSet<ConversationId> =
            removed.into_iter().map(|r| r.conversation).collect();
        let mut effects: Vec<Effect> = changed
            .into_iter()
            .map(|c| Effect::Ui(UiChange::Conversation(c)))
            .collect();
        self.next_expiry = None;
        let next = io.db.next_expiry().await?;
        self.note_expiry(next, &mut effects);
        Ok(effects)
    }

    /// Writes a call's entry in the conversation with `peer`, as session-desktop's call info
    /// messages (`callNotificationType`): [`CallEntry::Outgoing`] when we call (ours),
    /// [`CallEntry::Incoming`] when we answer and [`CallEntry::Missed`] for an incoming call
    /// not answered here (both the peer's). One entry per call: none is written if one of
    /// the newest messages already is this call's. The peer's entries go only into an
    /// accepted conversation (desktop adds none for someone not approved; a blocked peer's
    /// calls leave no trace). `at`: the entry's time (network ms; for a missed call the sent
    /// time of its first message). Nothing is sent.
    ///
    /// # Errors
    ///
    /// [`ConvoError::Db`].
    pub async fn record_call<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
        peer: AccountId,
        call_id: &str,
        entry: CallEntry,
        at: crate::address::NetMs,
    ) -> Outcome {
        let conversation = ConversationId::Direct(peer);
        let seen = io
            .db
            .list_messages(&conversation, CALL_SCAN, 0)
            .await?
            .into_iter()
            .any(|m| matches!(&m.placeholder, Some(Placeholder::Call { call_id: c, .. }) if c == call_id));
        if seen || peer == self.me {
            return Ok(Vec::new());
        }
        let (direction, author, sent_ms) = match entry {
            CallEntry::Outgoing => (Direction::Outgoing, self.me, io.clock.allocate_sent_ms().0),
            CallEntry::Incoming | CallEntry::Missed => {
                let accepted = io
                    .db
                    .conversation(&conversation)
                    .await?
                    .is_some_and(|c| c.state == ConversationState::Accepted);
                if !accepted {
                    return Ok(Vec::new());
                }
                (Direction::Incoming, peer, at.0)
            }
        };
        let msg = NewMessage {
            conversation: conversation.clone(),
            direction,
            author,
            sent_ms,
            received_ms: io.clock.now().0,
            body: String::new(),
            storage_hash: None,
            outbox: Some(OutboxState::Sent),
            disappearing: None,
            quote: None,
            placeholder: Some(Placeholder::Call {
                call_id: call_id.to_owned(),
                entry,
            }),
            attachments: Vec::new(),
        };
        io.db.insert_message(msg, io.rng).await?;
        Ok(vec![Effect::Ui(UiChange::Conversation(conversation))])
    }

    /// Accepts the message request of `conversation`, tells the peer (with our profile) as
    /// Session does, and reads it if it is open.
    ///
    /// # Errors
    ///
    /// [`ConvoError::UnsupportedConversation`] unless it is a 1:1 conversation,
    /// [`ConvoError::Db`].
    pub async fn accept<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
        conversation: &ConversationId,
    ) -> Outcome {
        let peer = direct(conversation)?;
        let was_request = io
            .db
            .conversation(conversation)
            .await?
            .is_some_and(|c| c.state == ConversationState::Request);
        match io.db.accept(conversation, io.rng).await {
            Ok(_) | Err(MessageDbError::NoSuchConversation) => {}
            Err(e) => return Err(e.into()),
        }
        let mut effects = vec![Effect::Ui(UiChange::Conversation(conversation.clone()))];
        if was_request {
            let sent = io.clock.allocate_sent_ms();
            effects.push(send(
                peer,
                compose_request_accept(self.profile.as_ref(), sent.0),
                control(ControlKind::Accept, sent),
                false,
            ));
            // What was unread in the request is read now if it is open.
            self.mark_open_read(io, &mut effects).await?;
        }
        Ok(effects)
    }

    /// Blocks (`true`) or unblocks the account `peer` (blocking is about accounts, not
    /// conversations). Blocking creates its 1:1 conversation if needed; later messages from a
    /// blocked peer are dropped unseen.
    ///
    /// # Errors
    ///
    /// [`ConvoError::Db`].
    pub async fn set_blocked<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
        peer: AccountId,
        blocked: bool,
    ) -> Outcome {
        let result = if blocked {
            let now = io.clock.now().0;
            io.db.block(&peer, now, io.rng).await
        } else {
            io.db.unblock(&peer, io.rng).await
        };
        match result {
            Ok(_) | Err(MessageDbError::NoSuchConversation) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(vec![
            Effect::Ui(UiChange::Conversation(ConversationId::Direct(peer))),
            Effect::Ui(UiChange::BlockList),
        ])
    }

    /// Deletes `conversation` (of any kind) and its messages (closing it if open).
    ///
    /// # Errors
    ///
    /// [`ConvoError::Db`].
    pub async fn delete_conversation<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
        conversation: &ConversationId,
    ) -> Outcome {
        match io.db.delete_conversation(conversation, io.rng).await {
            Ok(_) | Err(MessageDbError::NoSuchConversation) => {}
            Err(e) => return Err(e.into()),
        }
        let mut effects = Vec::new();
        if self.open.as_ref() == Some(conversation) {
            self.open = None;
            effects.push(self.polling());
        }
        effects.push(Effect::Ui(UiChange::ConversationRemoved(
            conversation.clone(),
        )));
        Ok(effects)
    }
}
