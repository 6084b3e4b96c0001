//! What client events do (docs/protocol.md §5.5, §9): received texts (ours from other devices
//! too) are stored in one batch with their quote and disappearing timer, and so are
//! placeholders for user content Umbra cannot show yet (attachments with their caption text,
//! voice messages, calls — one per call id —, group and community invitations, unknown
//! kinds; config and group control stay invisible); reactions, read
//! receipts, unsend requests and setting changes update the stored messages and
//! conversations; typing indicators only reach the UI. Everything from a blocked peer is
//! dropped unseen. The client's outbox entries set the delivery state of stored texts, and a
//! stored sync copy's hash is remembered for unsend.

use rand_core::CryptoRng;

use super::{Conversations, ConvoError, Effect, Io, NOTIFY_PREVIEW_CHARS, UiChange, clip_name};
use super::{stored_of, text_key, wire_of};
use crate::address::ConversationId;
use crate::client::ReceivedMessage;
use crate::client::{ClientCommand, LocalId, OutboxEntry, OutboxState as ClientOutboxState};
use crate::identity::AccountId;
use crate::message::{
    DisappearingSetting, Event, MessageId as WireId, Profile, ReactionChange, TYPING_TTL_MS,
    UnsupportedKind, profile_is_newer,
};
use crate::store::messages::{
    ConversationState, ConversationUpdate, Direction, InsertOutcome, MessageRef, NewMessage,
    OutboxState, Placeholder, Quote,
};
use crate::store::{MessageDbError, Store};

/// The stored placeholder for unsupported content, `None` for what is not user content
/// (config, group control): those stay invisible.
fn placeholder_of(what: UnsupportedKind) -> Option<Placeholder> {
    Some(match what {
        UnsupportedKind::CommunityInvitation { name } => Placeholder::CommunityInvitation { name },
        UnsupportedKind::GroupInvitation { name } => Placeholder::GroupInvitation { name },
        UnsupportedKind::Unknown => Placeholder::Unknown,
        UnsupportedKind::GroupControl | UnsupportedKind::SharedConfig => return None,
    })
}

fn message_ref(id: &WireId) -> MessageRef {
    MessageRef {
        author: id.author,
        sent_ms: id.sent_timestamp_ms,
    }
}

/// The database state for a client outbox state. A failure has no code: the client gave up
/// after its attempts, the user may retry.
fn db_outbox_state(state: ClientOutboxState) -> OutboxState {
    match state {
        ClientOutboxState::Pending => OutboxState::Pending,
        ClientOutboxState::Sending => OutboxState::Sending,
        ClientOutboxState::Sent => OutboxState::Sent,
        ClientOutboxState::Failed => OutboxState::Failed { code: 0 },
    }
}

/// Who sent a received message, where it belongs and when.
struct Arrival {
    /// The sender (the own account for our other devices).
    from: AccountId,
    /// The 1:1 conversation it belongs to (with `to` of a sync copy, else with the sender).
    conversation: ConversationId,
    /// A sync copy: we did it on another device.
    ours: bool,
    sent_ms: u64,
    received_ms: u64,
}

/// A received message that is not a text.
struct Control {
    arrival: Arrival,
    event: Event,
}

/// A received text to store, with what to do once stored.
struct Text {
    msg: NewMessage,
    profile: Option<Profile>,
    expiry: Option<u64>,
    future_dated: bool,
    notify: Option<String>,
}

impl Conversations {
    /// Handles the messages the client received in one drain (`ClientEvent::MessageReceived`,
    /// already deduplicated and classified by the client). A failure of one step is reported
    /// as [`UiChange::Error`]; the effects of the steps before it are kept.
    pub async fn on_received<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
        incoming: Vec<ReceivedMessage>,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        let mut texts = Vec::new();
        let mut controls = Vec::new();
        for m in incoming {
            let ReceivedMessage {
                from,
                sent_ms,
                received_ms,
                hash,
                event,
                ..
            } = m;
            let (conversation, ours, event) = match event {
                // Only the own account writes sync copies (the client's classify already
                // drops anyone else's; checked again because it would write in our name).
                Event::SyncedOutgoing { .. } if from != self.me => continue,
                Event::SyncedOutgoing { to, inner } => (to, true, *inner),
                // A text from the own account without a sync target: a note to self
                // written on another device (stored in the own swarm as Session sends it).
                e @ Event::Text { .. } if from == self.me => (from, true, e),
                e => (from, false, e),
            };
            let arrival = Arrival {
                from,
                conversation: ConversationId::Direct(conversation),
                ours,
                sent_ms,
                received_ms,
            };
            match event {
                Event::Text {
                    body,
                    quote,
                    profile,
                    expiry,
                    attachments,
                } => {
                    let mut t = self.text(&arrival, hash, body, quote, profile, expiry);
                    if t.notify.as_deref() == Some("")
                        && let Some(a) = attachments.first()
                    {
                        t.notify = Some(a.summary().to_owned());
                    }
                    t.msg.attachments = attachments;
                    texts.push(t);
                }
                Event::Unsupported {
                    what,
                    text,
                    profile,
                    expiry,
                } => {
                    let Some(placeholder) = placeholder_of(what) else {
                        continue;
                    };
                    let body = text.unwrap_or_default();
                    let mut t = self.text(&arrival, hash, body, None, profile, expiry);
                    if t.notify.as_deref() == Some("") {
                        t.notify = Some(placeholder.summary().to_owned());
                    }
                    t.msg.placeholder = Some(placeholder);
                    texts.push(t);
                }
                event => controls.push(Control { arrival, event }),
            }
        }
        let mut result = Ok(());
        if result.is_ok() && !texts.is_empty() {
            result = self.store_texts(io, texts, &mut effects).await;
        }
        for control in controls {
            if result.is_err() {
                break;
            }
            result = self.apply_control(io, control, &mut effects).await;
        }
        if result.is_ok() {
            let open_changed = self
                .open
                .as_ref()
                .is_some_and(|c| effects.contains(&Effect::Ui(UiChange::Conversation(c.clone()))));
            if open_changed {
                result = self.mark_open_read(io, &mut effects).await;
            }
        }
        if let Err(e) = result {
            effects.push(Effect::Ui(UiChange::Error(e)));
        }
        effects
    }

    fn text(
        &self,
        a: &Arrival,
        hash: String,
        body: String,
        quote: Option<crate::message::QuoteRef>,
        profile: Option<crate::message::Profile>,
        expiry: DisappearingSetting,
    ) -> Text {
        let (direction, author, outbox, profile) = if a.ours {
            (Direction::Outgoing, self.me, Some(OutboxState::Sent), None)
        } else {
            (Direction::Incoming, a.from, None, profile)
        };
        let disappearing = Some(stored_of(expiry)).filter(|d| d.is_on());
        let at = match direction {
            Direction::Outgoing => expiry.outgoing_expiry_ms(a.sent_ms),
            // After-send counts from the claimed send time, never from later than its arrival
            // (the timestamp is the sender's word); after-read starts when read.
            Direction::Incoming => match expiry {
                DisappearingSetting::AfterSend(_) => {
                    expiry.incoming_expiry_ms(a.sent_ms, None, a.received_ms)
                }
                _ => None,
            },
        };
        let notify = (direction == Direction::Incoming && author != self.me)
            .then(|| body.chars().take(NOTIFY_PREVIEW_CHARS).collect::<String>());
        Text {
            future_dated: direction == Direction::Incoming && a.sent_ms > a.received_ms,
            msg: NewMessage {
                conversation: a.conversation.clone(),
                direction,
                author,
                sent_ms: a.sent_ms,
                received_ms: a.received_ms,
                body,
                storage_hash: Some(hash),
                outbox,
                disappearing,
                quote: quote.map(|q| Quote {
                    target: message_ref(&q.target),
                    text: q.text.unwrap_or_default(),
                }),
                placeholder: None,
                attachments: Vec::new(),
            },
            profile,
            expiry: at,
            notify,
        }
    }

    async fn store_texts<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
        texts: Vec<Text>,
        effects: &mut Vec<Effect>,
    ) -> Result<(), ConvoError> {
        let (msgs, meta): (Vec<NewMessage>, Vec<_>) = texts
            .into_iter()
            .map(|t| {
                let at = (
                    t.msg.conversation.clone(),
                    t.msg.author,
                    !t.msg.attachments.is_empty(),
                );
                (t.msg, (at, t.profile, t.expiry, t.future_dated, t.notify))
            })
            .unzip();
        let outcomes = io.db.insert_messages(msgs, io.rng).await?;
        for (outcome, ((conversation, author, files), profile, expiry, future_dated, notify)) in
            outcomes.iter().zip(meta)
        {
            let InsertOutcome::Inserted(id) = outcome else {
                continue;
            };
            effects.push(Effect::Ui(UiChange::Conversation(conversation.clone())));
            if files {
                effects.push(Effect::Ui(UiChange::Attachments {
                    conversation: conversation.clone(),
                    message: *id,
                }));
            }
            if future_dated && let Some(at) = expiry {
                // The database counts from the claimed send time; a message dated in the
                // future must not outlive its timer.
                io.db
                    .set_expiry(&conversation, *id, Some(at), io.rng)
                    .await?;
            }
            self.note_expiry(expiry, effects);
            self.update_name(io, &conversation, profile, effects)
                .await?;
            if let Some(preview) = notify {
                let display_name = io
                    .db
                    .conversation(&conversation)
                    .await?
                    .and_then(|c| c.display_name);
                effects.push(Effect::Ui(UiChange::Incoming {
                    conversation,
                    display_name,
                    preview,
                }));
                // Their message is what they were typing.
                effects.push(Effect::Ui(UiChange::Typing {
                    peer: author,
                    typing: false,
                }));
            }
        }
        Ok(())
    }

    /// Records the profile a peer sent along in its 1:1 `conversation` (never for a blocked
    /// peer, never creating a conversation), as session-desktop's `shouldApplyChange`
    /// (`ts/models/profile.ts`) decides: only if its `lastProfileUpdateSeconds` is newer than
    /// the stored one, or both are 0 ([`profile_is_newer`]); then the name (if it differs) and
    /// the change time are stored. An older profile, fetched late or replayed, changes nothing.
    async fn update_name<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
        conversation: &ConversationId,
        profile: Option<Profile>,
        effects: &mut Vec<Effect>,
    ) -> Result<(), ConvoError> {
        let Some(profile) = profile else {
            return Ok(());
        };
        let Some(name) = clip_name(profile.display_name()) else {
            return Ok(());
        };
        let updated_s = profile.updated_s();
        let Some(current) = io.db.conversation(conversation).await? else {
            return Ok(());
        };
        if current.state == ConversationState::Blocked
            || !profile_is_newer(updated_s, current.profile_updated_s)
        {
            return Ok(());
        }
        let name_changed = current.display_name.as_deref() != Some(&name);
        let picture_changed = current.avatar.as_ref() != profile.picture();
        if name_changed || picture_changed || updated_s != current.profile_updated_s {
            let update = ConversationUpdate {
                display_name: name_changed.then_some(Some(name)),
                profile_updated_s: Some(updated_s),
                avatar: picture_changed.then(|| profile.picture().cloned()),
                ..ConversationUpdate::default()
            };
            let now = io.clock.now().0;
            io.db
                .upsert_conversation(conversation, update, now, io.rng)
                .await?;
            effects.push(Effect::Ui(UiChange::Conversation(conversation.clone())));
            if picture_changed {
                effects.push(Effect::Ui(UiChange::Avatar(conversation.clone())));
            }
        }
        Ok(())
    }

    async fn apply_control<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
        c: Control,
        effects: &mut Vec<Effect>,
    ) -> Result<(), ConvoError> {
        let me = self.me;
        let Control { arrival: a, event } = c;
        // A blocked peer's notices are dropped unseen (our own, from other devices, are not
        // theirs). Unsend requests are still honoured: deleting only removes their text.
        if !a.ours && a.from != me && !matches!(event, Event::Unsend { .. }) {
            let blocked = io
                .db
                .conversation(&ConversationId::Direct(a.from))
                .await?
                .is_some_and(|conv| conv.state == ConversationState::Blocked);
            if blocked {
                return Ok(());
            }
        }
        match event {
            Event::Reaction {
                target,
                emoji,
                change,
                profile,
            } => {
                let reactor = if a.ours { me } else { a.from };
                let add = change == ReactionChange::Add;
                let changed = io
                    .db
                    .react(
                        &a.conversation,
                        &message_ref(&target),
                        &emoji,
                        &reactor,
                        add,
                        io.rng,
                    )
                    .await?;
                if changed.is_some() {
                    effects.push(Effect::Ui(UiChange::Conversation(a.conversation.clone())));
                }
                if !a.ours {
                    self.update_name(io, &a.conversation, profile, effects)
                        .await?;
                }
            }
            Event::ReadReceipt { timestamps } => {
                if a.ours || a.from == me {
                    return Ok(());
                }
                // Not ours, so the conversation is the one with the sender.
                let changed = io
                    .db
                    .mark_read_by_peer(&a.conversation, &timestamps, io.rng)
                    .await?;
                if !changed.is_empty() {
                    effects.push(Effect::Ui(UiChange::Conversation(a.conversation)));
                }
            }
            Event::Typing { started } => {
                // A stale indicator (fetched late) says nothing about now.
                let stale = a.sent_ms.saturating_add(TYPING_TTL_MS) < a.received_ms;
                if a.ours || a.from == me || stale {
                    return Ok(());
                }
                effects.push(Effect::Ui(UiChange::Typing {
                    peer: a.from,
                    typing: started,
                }));
            }
            Event::Unsend { target } => {
                let target = message_ref(&target);
                // Sent to the own account by another device: find the conversation.
                let conversation = if !a.ours && a.from == me {
                    match io.db.locate(&target).await? {
                        Some(c @ ConversationId::Direct(_)) => c,
                        // Only 1:1 messages are unsent through our own account: a group's or
                        // a community's messages follow rules of their own, not written yet.
                        Some(_) | None => return Ok(()),
                    }
                } else {
                    a.conversation
                };
                let hashes = io
                    .db
                    .find_message(&conversation, &target)
                    .await?
                    .filter(|m| !m.deleted)
                    .map(|m| m.storage_hashes)
                    .unwrap_or_default();
                match io
                    .db
                    .unsend(&conversation, &target, &a.from, a.received_ms, io.rng)
                    .await
                {
                    Ok(_) => {}
                    // The client's classify lets only the author unsend; anything else is
                    // ignored here too.
                    Err(MessageDbError::WrongAuthor) => return Ok(()),
                    Err(e) => return Err(e.into()),
                }
                effects.push(Effect::Ui(UiChange::Conversation(conversation)));
                // Our swarm's copies (the received message, or our sync copy) go too.
                delete_own(hashes, effects);
            }
            Event::ExpirationUpdate { setting } => {
                let existing = io.db.conversation(&a.conversation).await?;
                let update = ConversationUpdate {
                    disappearing: Some(stored_of(setting)),
                    // A notice from someone unknown opens a request, not a contact.
                    state: existing.is_none().then_some(if a.ours {
                        ConversationState::Accepted
                    } else {
                        ConversationState::Request
                    }),
                    ..ConversationUpdate::default()
                };
                io.db
                    .upsert_conversation(&a.conversation, update, a.sent_ms, io.rng)
                    .await?;
                effects.push(Effect::Ui(UiChange::Conversation(a.conversation)));
            }
            Event::RequestResponse { profile, .. } => {
                if !a.ours {
                    self.update_name(io, &a.conversation, profile, effects)
                        .await?;
                }
            }
            Event::Text { .. }
            | Event::SyncedOutgoing { .. }
            | Event::DataExtraction { .. }
            | Event::Call(_)
            | Event::Unsupported { .. } => {}
        }
        Ok(())
    }

    /// Records the delivery state of the client's outbox `entry` (as persisted by the client)
    /// on the stored text it sends. Entries that are not texts (controls, sync copies) store
    /// nothing; a text deleted meanwhile is skipped.
    ///
    /// # Errors
    ///
    /// [`ConvoError::Db`] if the database fails.
    pub async fn on_outbox_changed<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
        entry: &OutboxEntry,
    ) -> super::Outcome {
        if entry.sync_target.is_some() {
            return Ok(Vec::new());
        }
        let Some(id) = text_key(&entry.local_id) else {
            return Ok(Vec::new());
        };
        // The client's outbox sends 1:1 texts: the conversation is the recipient's.
        let conversation = ConversationId::Direct(entry.to);
        let state = db_outbox_state(entry.state);
        match io
            .db
            .set_outbox_state(&conversation, id, state, entry.hash.as_deref(), io.rng)
            .await
        {
            Ok(()) => Ok(vec![Effect::Ui(UiChange::Conversation(conversation))]),
            // The conversation or message was deleted meanwhile.
            Err(MessageDbError::NoSuchMessage | MessageDbError::NotOutgoing) => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// Adds the own-swarm hash of a stored sync copy to the text it copies (texts only: other
    /// kinds have nothing to unsend), or deletes that copy if the text was unsent while the
    /// copy was on its way.
    ///
    /// # Errors
    ///
    /// [`ConvoError::Db`] if the database fails.
    pub async fn on_sync_copy_stored<S: Store, R: CryptoRng + ?Sized>(
        &mut self,
        io: &mut Io<'_, S, R>,
        local_id: &LocalId,
        hash: &str,
    ) -> super::Outcome {
        let Some(id) = text_key(local_id) else {
            return Ok(Vec::new());
        };
        let Some(conversation) = io.db.conversation_of(id).await? else {
            return Ok(Vec::new());
        };
        match io
            .db
            .add_storage_hash(&conversation, id, hash, io.rng)
            .await
        {
            Ok(()) => {}
            // Deleted for me meanwhile.
            Err(MessageDbError::NoSuchMessage) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        }
        let mut effects = Vec::new();
        // Unsent before its copy was stored: that copy goes at once.
        let unsent = io
            .db
            .message(&conversation, id)
            .await?
            .is_some_and(|m| m.deleted);
        if unsent {
            delete_own(vec![hash.to_owned()], &mut effects);
        }
        Ok(effects)
    }
}

/// Asks the client to delete these storage hashes from the own swarm (nothing if empty).
pub(super) fn delete_own(hashes: Vec<String>, effects: &mut Vec<Effect>) {
    if !hashes.is_empty() {
        effects.push(Effect::Client(ClientCommand::DeleteOwn { hashes }));
    }
}

/// The wire setting of `conversation` (off if it is not stored).
pub(super) async fn setting_of<S: Store, R: CryptoRng + ?Sized>(
    io: &Io<'_, S, R>,
    conversation: &ConversationId,
) -> Result<DisappearingSetting, ConvoError> {
    Ok(io
        .db
        .conversation(conversation)
        .await?
        .map_or(DisappearingSetting::Off, |c| wire_of(c.disappearing)))
}
