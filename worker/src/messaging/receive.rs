//! What a received message does, by its classified kind (`docs/protocol.md` §5.5, §9):
//! texts (ours from other devices too) are stored in one batch, with their quote and
//! disappearing timer; reactions, read receipts, unsend requests and setting changes update
//! the stored messages and conversations; typing indicators only reach the UI. Everything from
//! a blocked peer is dropped unseen, and storage hashes of messages that store nothing are
//! recorded as seen.

use rand_core::CryptoRng;
use umbra_ipc::{ErrorCode, Event as UiEvent};
use umbra_protocol::{
    address::ConversationId,
    client::ReceivedMessage,
    identity::AccountId,
    message::{
        DisappearingSetting, Event, MessageId as WireId, QuoteRef, ReactionChange, TYPING_TTL_MS,
    },
    store::{
        MessageDb, MessageDbError,
        messages::{
            ConversationState, ConversationUpdate, Direction, InsertOutcome, MessageRef,
            NewMessage, OutboxState, Quote,
        },
    },
};

use super::{Cx, Messenger, clip_name, db_error, dm, view};
use crate::net;

/// Longest preview handed to the app for a notification, in characters.
const NOTIFY_PREVIEW_CHARS: usize = 100;

/// The classified meaning of `m`.
fn event_of(m: &ReceivedMessage) -> Event {
    m.event.clone()
}

fn message_ref(id: &WireId) -> MessageRef {
    MessageRef {
        author: id.author,
        sent_ms: id.sent_timestamp_ms,
    }
}

/// A received message that is not a text.
struct Control {
    /// The sender (the own account for our other devices).
    from: AccountId,
    /// The conversation it belongs to (`to` of a sync copy, else the sender).
    conversation: AccountId,
    /// A sync copy: we did it on another device.
    ours: bool,
    event: Event,
    sent_ms: u64,
    received_ms: u64,
}

/// A received text to store.
struct Text {
    msg: NewMessage,
    name: Option<String>,
}

impl Messenger {
    /// Handles the messages of one drain (see the module docs).
    pub(super) async fn store_incoming<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        incoming: Vec<ReceivedMessage>,
    ) -> Result<(), ErrorCode> {
        let me = cx.vault.account_id();
        let mut texts = Vec::new();
        let mut controls = Vec::new();
        let mut control_hashes = Vec::new();
        for m in incoming {
            let (conversation, ours, event) = match event_of(&m) {
                Event::SyncedOutgoing { to, inner } => (to, true, *inner),
                e => (m.from, false, e),
            };
            match event {
                Event::Text {
                    body,
                    quote,
                    profile,
                    expiry,
                } => {
                    let (direction, author, outbox, name) = if ours {
                        (Direction::Outgoing, me, Some(OutboxState::Sent), None)
                    } else {
                        (
                            Direction::Incoming,
                            m.from,
                            None,
                            profile.map(|p| p.display_name().to_owned()),
                        )
                    };
                    let disappearing = Some(view::stored_of(expiry)).filter(|d| d.is_on());
                    texts.push(Text {
                        msg: NewMessage {
                            conversation: dm(conversation),
                            direction,
                            author,
                            sent_ms: m.sent_ms,
                            received_ms: m.received_ms,
                            body,
                            storage_hash: Some(m.hash),
                            outbox,
                            disappearing,
                            quote: quote.map(|q: QuoteRef| Quote {
                                target: message_ref(&q.target),
                                text: q.text.unwrap_or_default(),
                            }),
                        },
                        name,
                    });
                }
                event => {
                    control_hashes.push(m.hash);
                    controls.push(Control {
                        from: m.from,
                        conversation,
                        ours,
                        event,
                        sent_ms: m.sent_ms,
                        received_ms: m.received_ms,
                    });
                }
            }
        }
        if !texts.is_empty() {
            self.store_texts(cx, texts).await?;
        }
        for control in controls {
            self.apply_control(cx, control).await?;
        }
        if !control_hashes.is_empty() {
            let hashes: Vec<&str> = control_hashes.iter().map(String::as_str).collect();
            MessageDb::new(cx.store, cx.vault)
                .mark_seen(&hashes, cx.rng)
                .await
                .map_err(db_error)?;
        }
        if self.open.is_some_and(|p| self.dirty_peers.contains(&p)) {
            self.mark_open_read(cx).await?;
        }
        Ok(())
    }

    async fn store_texts<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        texts: Vec<Text>,
    ) -> Result<(), ErrorCode> {
        let me = cx.vault.account_id();
        let mut msgs = Vec::with_capacity(texts.len());
        let mut meta = Vec::with_capacity(texts.len());
        for t in texts {
            let expiry =
                t.msg
                    .disappearing
                    .map(view::wire_of)
                    .and_then(|s| match t.msg.direction {
                        Direction::Outgoing => s.outgoing_expiry_ms(t.msg.sent_ms),
                        // After-send counts from the claimed send time, never from later
                        // than its arrival (the timestamp is the sender's word); after-read
                        // starts when read (then noted by mark_open_read).
                        Direction::Incoming => match s {
                            DisappearingSetting::AfterSend(_) => {
                                s.incoming_expiry_ms(t.msg.sent_ms, None, t.msg.received_ms)
                            }
                            _ => None,
                        },
                    });
            let notify =
                (t.msg.direction == Direction::Incoming && t.msg.author != me).then(|| {
                    t.msg
                        .body
                        .chars()
                        .take(NOTIFY_PREVIEW_CHARS)
                        .collect::<String>()
                });
            let future_dated =
                t.msg.direction == Direction::Incoming && t.msg.sent_ms > t.msg.received_ms;
            meta.push((
                t.msg.conversation.clone(),
                t.name,
                expiry,
                future_dated,
                notify,
            ));
            msgs.push(t.msg);
        }
        let mut db = MessageDb::new(cx.store, cx.vault);
        let outcomes = db.insert_messages(msgs, cx.rng).await.map_err(db_error)?;
        for (outcome, (conversation, name, expiry, future_dated, notify)) in
            outcomes.iter().zip(meta)
        {
            let InsertOutcome::Inserted(id) = outcome else {
                continue;
            };
            let Some(&peer) = conversation.direct() else {
                continue;
            };
            self.mark_dirty(peer);
            if future_dated && let Some(at) = expiry {
                // The database counts from the claimed send time; a message dated in the
                // future must not outlive its timer.
                MessageDb::new(cx.store, cx.vault)
                    .set_expiry(&dm(peer), *id, Some(at), cx.rng)
                    .await
                    .map_err(db_error)?;
            }
            self.note_expiry(expiry);
            self.update_name(cx, &peer, name).await?;
            if let Some(preview) = notify {
                let display_name = MessageDb::new(cx.store, cx.vault)
                    .conversation(&dm(peer))
                    .await
                    .map_err(db_error)?
                    .and_then(|c| c.display_name);
                (cx.post)(&UiEvent::Incoming {
                    conversation: peer.to_string(),
                    display_name,
                    preview,
                });
                // Their message is what they were typing.
                (cx.post)(&UiEvent::PeerTyping {
                    conversation: peer.to_string(),
                    sender: peer.to_string(),
                    typing: false,
                });
            }
        }
        Ok(())
    }

    /// Records the display name a peer sent along, if it changed.
    async fn update_name<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        peer: &AccountId,
        name: Option<String>,
    ) -> Result<(), ErrorCode> {
        let Some(name) = name.as_deref().and_then(clip_name) else {
            return Ok(());
        };
        let mut db = MessageDb::new(cx.store, cx.vault);
        let current = db.conversation(&dm(*peer)).await.map_err(db_error)?;
        if current.is_some_and(|c| {
            c.state != ConversationState::Blocked && c.display_name.as_deref() != Some(&name)
        }) {
            let update = ConversationUpdate {
                display_name: Some(Some(name)),
                ..ConversationUpdate::default()
            };
            db.upsert_conversation(&dm(*peer), update, net::now_ms(), cx.rng)
                .await
                .map_err(db_error)?;
            self.mark_dirty(*peer);
        }
        Ok(())
    }

    async fn is_blocked<R: CryptoRng>(
        &self,
        cx: &mut Cx<'_, R>,
        peer: &AccountId,
    ) -> Result<bool, ErrorCode> {
        Ok(MessageDb::new(cx.store, cx.vault)
            .conversation(&dm(*peer))
            .await
            .map_err(db_error)?
            .is_some_and(|c| c.state == ConversationState::Blocked))
    }

    async fn apply_control<R: CryptoRng>(
        &mut self,
        cx: &mut Cx<'_, R>,
        c: Control,
    ) -> Result<(), ErrorCode> {
        let me = cx.vault.account_id();
        // A blocked peer's notices are dropped unseen (our own, from other devices, are not
        // theirs). Unsend requests are still honoured: deleting only removes their text.
        if !c.ours
            && c.from != me
            && !matches!(c.event, Event::Unsend { .. })
            && self.is_blocked(cx, &c.from).await?
        {
            return Ok(());
        }
        let mut db = MessageDb::new(cx.store, cx.vault);
        match c.event {
            Event::Reaction {
                target,
                emoji,
                change,
                profile,
            } => {
                let reactor = if c.ours { me } else { c.from };
                let add = change == ReactionChange::Add;
                let changed = db
                    .react(
                        &dm(c.conversation),
                        &message_ref(&target),
                        &emoji,
                        &reactor,
                        add,
                        cx.rng,
                    )
                    .await
                    .map_err(db_error)?;
                if changed.is_some() {
                    self.mark_dirty(c.conversation);
                }
                if !c.ours {
                    let name = profile.map(|p| p.display_name().to_owned());
                    self.update_name(cx, &c.conversation, name).await?;
                }
            }
            Event::ReadReceipt { timestamps } => {
                if c.ours || c.from == me {
                    return Ok(());
                }
                let changed = db
                    .mark_read_by_peer(&dm(c.from), &timestamps, cx.rng)
                    .await
                    .map_err(db_error)?;
                if !changed.is_empty() {
                    self.mark_dirty(c.from);
                }
            }
            Event::Typing { started } => {
                // A stale indicator (fetched late) says nothing about now.
                let stale = c.sent_ms.saturating_add(TYPING_TTL_MS) < c.received_ms;
                if c.ours || c.from == me || stale {
                    return Ok(());
                }
                // One to one: the conversation is named by its sender.
                (cx.post)(&UiEvent::PeerTyping {
                    conversation: c.from.to_string(),
                    sender: c.from.to_string(),
                    typing: started,
                });
            }
            Event::Unsend { target } => {
                let target = message_ref(&target);
                // Sent to the own account by another device: find the conversation.
                let conversation = if !c.ours && c.from == me {
                    match db.locate(&target).await.map_err(db_error)? {
                        Some(ConversationId::Direct(peer)) => peer,
                        _ => return Ok(()),
                    }
                } else {
                    c.conversation
                };
                let hashes = db
                    .find_message(&dm(conversation), &target)
                    .await
                    .map_err(db_error)?
                    .filter(|m| !m.deleted)
                    .map(|m| m.storage_hashes)
                    .unwrap_or_default();
                match db
                    .unsend(&dm(conversation), &target, &c.from, c.received_ms, cx.rng)
                    .await
                {
                    Ok(_) => {}
                    // classify lets only the author unsend; anything else is ignored.
                    Err(MessageDbError::WrongAuthor) => return Ok(()),
                    Err(e) => return Err(db_error(e)),
                }
                self.mark_dirty(conversation);
                // Our swarm's copies (the received message, or our sync copy) go too.
                self.delete_own(cx, hashes);
            }
            Event::ExpirationUpdate { setting } => {
                let existing = db
                    .conversation(&dm(c.conversation))
                    .await
                    .map_err(db_error)?;
                let update = ConversationUpdate {
                    disappearing: Some(view::stored_of(setting)),
                    // A notice from someone unknown opens a request, not a contact.
                    state: existing.is_none().then_some(if c.ours {
                        ConversationState::Accepted
                    } else {
                        ConversationState::Request
                    }),
                    ..ConversationUpdate::default()
                };
                db.upsert_conversation(&dm(c.conversation), update, c.sent_ms, cx.rng)
                    .await
                    .map_err(db_error)?;
                self.mark_dirty(c.conversation);
            }
            Event::RequestResponse { profile, .. } => {
                if !c.ours {
                    let name = profile.map(|p| p.display_name().to_owned());
                    self.update_name(cx, &c.conversation, name).await?;
                }
            }
            Event::Text { .. }
            | Event::SyncedOutgoing { .. }
            | Event::DataExtraction { .. }
            | Event::Unsupported { .. } => {}
        }
        Ok(())
    }
}
