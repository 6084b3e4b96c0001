//! The conversation rules (`umbra_protocol::convo`) natively, against `MemoryStore` with the
//! fast test KDF: every intent and every kind of received message, the client's outbox and
//! sync-copy events, expiry in both modes, and tampered input (an unsend of someone else's
//! message, a reaction to an unknown message, a blocked sender, a sync copy from a foreign
//! sender), the outbox ids (the client's `LocalId`) and conversations of other kinds than 1:1
//! (a typed error, or left alone). Peer messages are composed with the real compose functions
//! and classified with the real `classify`, as the client hands them over.
//!
//! Which browser test each case replaces or backs (worker/tests/messaging.rs):
//! - `test_driver_offline_outbox_history_and_block`: text validation →
//!   `send_text_validates_then_stores_pending_and_hands_it_over`; the stored pending message
//!   and its listing → same; the outbox after a reload → `resume_sends_only_what_the_client_
//!   does_not_know`; retry → `retry_asks_the_client_or_recomposes`; display name →
//!   `display_name_is_checked_and_sent`; block list → `blocking_drops_the_sender`; delete
//!   conversation → `deleting_a_conversation_closes_it`. (Account-id parsing, paths, lock,
//!   plaintext at rest and the reload itself stay browser-only: they are ipc / IndexedDB.)
//! - `test_conversation_features_offline`: reply → `a_reply_quotes_its_original`; reactions →
//!   `reactions_toggle_and_are_checked`; timers and the next message's expiry →
//!   `disappearing_setting_is_checked_sent_and_applied`; delete for me and unsend →
//!   `delete_for_me_and_unsend`; typing → `typing_goes_only_where_it_may`; after-read on open
//!   and the sweep → `reading_starts_after_read_timers_and_the_sweep_removes`. (Search and
//!   the settings record stay browser-only: they are not conversation rules.)

use futures_executor::block_on;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use umbra_protocol::address::{ConversationId, GroupId, LocalMs, NetMs};
use umbra_protocol::client::ReceivedMessage;
use umbra_protocol::client::{
    ClientCommand, ControlKind, LocalId, OutboxEntry, OutboxState as ClientState, PollingMode,
};
use umbra_protocol::convo::{
    Clock, Conversations, ConvoError, Effect, Io, UiChange, checked_display_name, offered_setting,
    text_key, text_local_id,
};
use umbra_protocol::error::ErrorKind;
use umbra_protocol::identity::{AccountId, Identity, Seed};
use umbra_protocol::message::proto::{Content, DataMessage};
use umbra_protocol::message::{
    DEFAULT_TTL_MS, DisappearingSetting, Event, Incoming, MessageId as WireId, Outgoing, Profile,
    QuoteRef, ReactionChange, SendPrefs, TextDraft, classify, compose_expiration_update,
    compose_reaction, compose_read_receipt, compose_request_accept, compose_text, compose_typing,
    compose_unsend,
};
use umbra_protocol::store::messages::{
    ConversationState, Direction, Disappearing, DisappearingMode, InsertOutcome, Message,
    MessageDb, MessageKey, NewMessage, OutboxState, Placeholder,
};
use umbra_protocol::store::{MemoryStore, Store, UnlockedVault, Vault};

const ON: SendPrefs = SendPrefs {
    read_receipts: true,
    typing_indicators: true,
};
const OFF: SendPrefs = SendPrefs {
    read_receipts: false,
    typing_indicators: false,
};
const T0: u64 = 1_800_000_000_000;

fn identity(n: u8) -> Identity {
    Identity::from_seed(&Seed::from_entropy(&[n; 16]).expect("16 bytes"))
}

/// The 1:1 conversation with `peer`.
fn dm(peer: AccountId) -> ConversationId {
    ConversationId::Direct(peer)
}

/// The client's allocator as the convo sees it: network time, strictly increasing.
struct TestClock {
    now: u64,
    last: u64,
}

impl Clock for TestClock {
    fn now(&self) -> NetMs {
        NetMs(self.now)
    }
    fn allocate_sent_ms(&mut self) -> NetMs {
        let t = self.now.max(self.last + 1);
        self.last = t;
        NetMs(t)
    }
}

struct World {
    store: MemoryStore,
    vault: UnlockedVault,
    clock: TestClock,
    rng: ChaCha20Rng,
    convo: Conversations,
    me: Identity,
}

/// `Io` over the world's fields (disjoint borrows, so the convo can be borrowed beside it).
macro_rules! io {
    ($w:expr) => {
        &mut Io {
            db: MessageDb::new(&$w.store, &$w.vault),
            clock: &mut $w.clock,
            rng: &mut $w.rng,
        }
    };
}

impl World {
    fn new(prefs: SendPrefs) -> World {
        let store = MemoryStore::new();
        let me = identity(1);
        let seed = Seed::from_entropy(&[1; 16]).expect("16 bytes");
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let vault = block_on(Vault::create_insecure_for_tests(
            &store, "pw", &seed, &mut rng,
        ))
        .expect("vault");
        World {
            store,
            vault,
            clock: TestClock { now: T0, last: 0 },
            rng,
            convo: Conversations::new(me.account_id(), prefs, Some("Me")),
            me,
        }
    }

    fn db(&self) -> MessageDb<'_, MemoryStore> {
        MessageDb::new(&self.store, &self.vault)
    }

    fn messages(&self, peer: &AccountId) -> Vec<Message> {
        block_on(self.db().list_messages(&dm(*peer), 100, 0)).expect("list")
    }

    fn message(&self, peer: &AccountId, id: MessageKey) -> Option<Message> {
        block_on(self.db().message(&dm(*peer), id)).expect("message")
    }

    fn state(&self, peer: &AccountId) -> Option<ConversationState> {
        block_on(self.db().conversation(&dm(*peer)))
            .expect("conversation")
            .map(|c| c.state)
    }

    fn receive(&mut self, msgs: Vec<ReceivedMessage>) -> Vec<Effect> {
        block_on(self.convo.on_received(io!(self), msgs))
    }

    fn send_text(&mut self, peer: AccountId, body: &str) -> (MessageKey, Vec<Effect>) {
        let effects = block_on(
            self.convo
                .send_text(io!(self), &dm(peer), body.into(), None),
        )
        .expect("send");
        (sent_text_id(&effects), effects)
    }

    /// Stores an incoming message directly (as if received earlier).
    fn insert_incoming(
        &mut self,
        from: AccountId,
        sent_ms: u64,
        body: &str,
        hash: &str,
    ) -> MessageKey {
        self.insert(NewMessage {
            conversation: dm(from),
            direction: Direction::Incoming,
            author: from,
            sent_ms,
            received_ms: sent_ms,
            body: body.into(),
            storage_hash: Some(hash.into()),
            outbox: None,
            disappearing: None,
            quote: None,
            placeholder: None,
            attachments: Vec::new(),
        })
    }

    fn insert(&mut self, msg: NewMessage) -> MessageKey {
        let mut db = MessageDb::new(&self.store, &self.vault);
        match block_on(db.insert_message(msg, &mut self.rng)) {
            Ok(InsertOutcome::Inserted(id)) => id,
            other => panic!("{other:?}"),
        }
    }
}

/// `o` as `from`'s message reaches `me`: classified like the client does.
fn received(
    me: &Identity,
    from: &Identity,
    o: &Outgoing,
    hash: &str,
    received_ms: u64,
) -> ReceivedMessage {
    let incoming = Incoming {
        sender: from.account_id(),
        sender_ed25519: from.ed25519_public(),
        sent_timestamp_ms: o.sent_timestamp_ms,
        server_timestamp_ms: None,
        content: o.content.clone(),
        ciphertext_hash: [0; 32],
    };
    let event = classify(&incoming, &me.account_id()).expect("classifies");
    raw(
        from.account_id(),
        o.sent_timestamp_ms,
        hash,
        received_ms,
        event,
    )
}

/// A received message with any event (what a tampered or buggy client could hand over).
fn raw(
    from: AccountId,
    sent_ms: u64,
    hash: &str,
    received_ms: u64,
    event: Event,
) -> ReceivedMessage {
    ReceivedMessage {
        from,
        sync_target: match &event {
            Event::SyncedOutgoing { to, .. } => Some(*to),
            _ => None,
        },
        sent_ms,
        received_ms,
        order_ms: sent_ms,
        body: String::new(),
        hash: hash.into(),
        profile_name: None,
        event,
        expiration_ms: None,
    }
}

fn text(body: &str, name: Option<&str>, setting: DisappearingSetting, sent_ms: u64) -> Outgoing {
    let draft = TextDraft {
        body: body.into(),
        quote: None,
        profile: name.map(|n| Profile::new(n).expect("name")),
        disappearing: setting,
        attachments: Vec::new(),
    };
    compose_text(&draft, sent_ms).expect("compose")
}

/// The sends among `effects`: (to, classified event as the recipient sees it, local id,
/// sync copy, ephemeral).
fn sends(w: &World, effects: &[Effect]) -> Vec<(AccountId, Event, LocalId, bool, bool)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Client(ClientCommand::Send {
                to,
                outgoing,
                local_id,
                sync_copy,
                ephemeral,
            }) => {
                let incoming = Incoming {
                    sender: w.me.account_id(),
                    sender_ed25519: w.me.ed25519_public(),
                    sent_timestamp_ms: outgoing.sent_timestamp_ms,
                    server_timestamp_ms: None,
                    content: outgoing.content.clone(),
                    ciphertext_hash: [0; 32],
                };
                let event = classify(&incoming, to).expect("our message classifies");
                Some((*to, event, local_id.clone(), *sync_copy, *ephemeral))
            }
            _ => None,
        })
        .collect()
}

fn sent_text_id(effects: &[Effect]) -> MessageKey {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Client(ClientCommand::Send { local_id, .. }) => text_key(local_id),
            _ => None,
        })
        .expect("a text send")
}

fn changed(effects: &[Effect], peer: AccountId) -> bool {
    effects.contains(&Effect::Ui(UiChange::Conversation(dm(peer))))
}

fn outgoing_of(effects: &[Effect]) -> Outgoing {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Client(ClientCommand::Send { outgoing, .. }) => Some(outgoing.clone()),
            _ => None,
        })
        .expect("a send")
}

fn entry(local_id: LocalId, to: AccountId, state: ClientState, hash: Option<&str>) -> OutboxEntry {
    OutboxEntry {
        local_id,
        to,
        body: String::new(),
        sent_ms: NetMs(T0),
        state,
        attempts: 0,
        next_attempt_ms: LocalMs(0),
        hash: hash.map(str::to_owned),
        sync_target: None,
        content: None,
        ttl_ms: None,
        sync_copy: Some(true),
        ephemeral: false,
    }
}

// ----- sending, the outbox and its recovery ------------------------------------------------

#[test]
fn send_text_validates_then_stores_pending_and_hands_it_over() {
    let mut w = World::new(OFF);
    let bob = identity(2).account_id();
    for bad in ["  ".to_owned(), "x".repeat(2001)] {
        assert_eq!(
            block_on(w.convo.send_text(io!(w), &dm(bob), bad, None)),
            Err(ConvoError::InvalidMessage)
        );
    }
    assert!(w.messages(&bob).is_empty(), "nothing stored for a bad text");
    let (id, effects) = w.send_text(bob, "hello offline");
    assert!(changed(&effects, bob));
    let sent = sends(&w, &effects);
    assert_eq!(sent.len(), 1);
    let (to, event, local_id, sync_copy, ephemeral) = &sent[0];
    assert_eq!(
        (*to, local_id, *sync_copy, *ephemeral),
        (bob, &text_local_id(id), true, false)
    );
    match event {
        Event::Text {
            body,
            profile,
            expiry,
            quote,
            ..
        } => {
            assert_eq!(body, "hello offline");
            assert_eq!(profile.as_ref().map(Profile::display_name), Some("Me"));
            assert_eq!(*expiry, DisappearingSetting::Off);
            assert_eq!(*quote, None);
        }
        other => panic!("{other:?}"),
    }
    let msg = w.message(&bob, id).expect("stored");
    assert_eq!(msg.direction, Direction::Outgoing);
    assert_eq!(msg.outbox, Some(OutboxState::Pending));
    assert_eq!(msg.sent_ms, outgoing_of(&effects).sent_timestamp_ms);
    assert_eq!(w.state(&bob), Some(ConversationState::Accepted));
    let conv = block_on(w.db().conversation(&dm(bob)))
        .expect("c")
        .expect("listed");
    assert_eq!(
        conv.last_message.map(|m| m.preview),
        Some("hello offline".into())
    );
    // Sent timestamps come from the one allocator and never repeat.
    let (_, again) = w.send_text(bob, "second");
    assert!(outgoing_of(&again).sent_timestamp_ms > msg.sent_ms);
}

#[test]
fn outbox_entries_set_the_delivery_state_of_texts_only() {
    let mut w = World::new(OFF);
    let bob = identity(2).account_id();
    let (id, _) = w.send_text(bob, "hi");
    let local = text_local_id(id);
    for (state, want) in [
        (ClientState::Sending, OutboxState::Sending),
        (ClientState::Failed, OutboxState::Failed { code: 0 }),
        (ClientState::Pending, OutboxState::Pending),
    ] {
        let e = block_on(
            w.convo
                .on_outbox_changed(io!(w), &entry(local.clone(), bob, state, None)),
        )
        .expect("ok");
        assert!(changed(&e, bob));
        assert_eq!(w.message(&bob, id).map(|m| m.outbox), Some(Some(want)));
    }
    let e = entry(local.clone(), bob, ClientState::Sent, Some("h-bob"));
    block_on(w.convo.on_outbox_changed(io!(w), &e)).expect("ok");
    let msg = w.message(&bob, id).expect("stored");
    assert_eq!(msg.outbox, Some(OutboxState::Sent));
    assert_eq!(msg.storage_hashes, vec!["h-bob".to_owned()]);
    // Controls, sync copies and unknown or deleted messages store nothing.
    for e in [
        entry("react/5".into(), bob, ClientState::Failed, None),
        OutboxEntry {
            sync_target: Some(bob),
            ..entry(local.clone(), w.me.account_id(), ClientState::Failed, None)
        },
        entry("999".into(), bob, ClientState::Failed, None),
    ] {
        assert_eq!(block_on(w.convo.on_outbox_changed(io!(w), &e)), Ok(vec![]));
    }
    assert_eq!(
        w.message(&bob, id).map(|m| m.outbox),
        Some(Some(OutboxState::Sent))
    );
    block_on(w.convo.delete_for_me(io!(w), &dm(bob), id)).expect("delete");
    let e = entry(local.clone(), bob, ClientState::Failed, None);
    assert_eq!(block_on(w.convo.on_outbox_changed(io!(w), &e)), Ok(vec![]));
    // An incoming message's id is not an outbox entry.
    let inc = w.insert_incoming(bob, T0 - 5, "theirs", "h-in");
    let e = entry(text_local_id(inc), bob, ClientState::Sent, None);
    assert_eq!(block_on(w.convo.on_outbox_changed(io!(w), &e)), Ok(vec![]));
    // A send the client refused is marked failed.
    let (id2, _) = w.send_text(bob, "refused");
    let e = block_on(
        w.convo
            .on_send_refused(io!(w), &dm(bob), &text_local_id(id2)),
    )
    .expect("ok");
    assert!(changed(&e, bob));
    assert_eq!(
        w.message(&bob, id2).map(|m| m.outbox),
        Some(Some(OutboxState::Failed { code: 1 }))
    );
}

#[test]
fn resume_sends_only_what_the_client_does_not_know() {
    let mut w = World::new(OFF);
    let (bob, carol) = (identity(2).account_id(), identity(3).account_id());
    let half_day = offered_setting(DisappearingMode::AfterSend, 43_200).expect("offered");
    block_on(w.convo.set_disappearing(io!(w), &dm(carol), half_day)).expect("set");
    let (known, _) = w.send_text(bob, "known to the client");
    let (lost, first) = w.send_text(carol, "page closed before the client saved it");
    let (sent, _) = w.send_text(bob, "already sent");
    let e = entry(text_local_id(sent), bob, ClientState::Sent, Some("h"));
    block_on(w.convo.on_outbox_changed(io!(w), &e)).expect("ok");
    let known_id = text_local_id(known);
    let effects = block_on(w.convo.resume(io!(w), &|id| *id == known_id)).expect("resume");
    let resent = sends(&w, &effects);
    assert_eq!(resent.len(), 1, "{effects:?}");
    assert_eq!(resent[0].0, carol);
    assert_eq!(resent[0].2, text_local_id(lost));
    // The same message: same sent timestamp (receivers drop a repeat), same TTL and timer.
    let (a, b) = (outgoing_of(&effects), outgoing_of(&first));
    assert_eq!(a.sent_timestamp_ms, b.sent_timestamp_ms);
    assert_eq!(a.ttl_ms, 43_200_000);
    assert_eq!(a, b);
    // Once the client knows everything, resuming sends nothing.
    let effects = block_on(w.convo.resume(io!(w), &|_| true)).expect("resume");
    assert!(effects.is_empty());
}

#[test]
fn retry_asks_the_client_or_recomposes() {
    let mut w = World::new(OFF);
    let bob = identity(2).account_id();
    let alpha = w.insert_incoming(bob, T0 - 10, "alpha", "h-a");
    let effects = block_on(
        w.convo
            .send_text(io!(w), &dm(bob), "reply".into(), Some(alpha)),
    )
    .expect("send");
    let id = sent_text_id(&effects);
    let original = outgoing_of(&effects);
    let effects = block_on(w.convo.retry(io!(w), &dm(bob), id, true)).expect("retry");
    assert_eq!(
        effects[0],
        Effect::Client(ClientCommand::Retry {
            local_id: text_local_id(id)
        })
    );
    // The client lost it (its snapshot did not load): composed again, quote included.
    let effects = block_on(w.convo.retry(io!(w), &dm(bob), id, false)).expect("retry");
    assert_eq!(outgoing_of(&effects), original);
    assert!(matches!(
        &sends(&w, &effects)[0].1,
        Event::Text { quote: Some(_), .. }
    ));
    // Nothing to resend once sent; not for someone else's message or an unknown id.
    let e = entry(text_local_id(id), bob, ClientState::Sent, None);
    block_on(w.convo.on_outbox_changed(io!(w), &e)).expect("ok");
    assert_eq!(
        block_on(w.convo.retry(io!(w), &dm(bob), id, false)),
        Ok(vec![])
    );
    for bad in [alpha, MessageKey(999)] {
        assert_eq!(
            block_on(w.convo.retry(io!(w), &dm(bob), bad, false)),
            Err(ConvoError::NoSuchMessage)
        );
    }
}

#[test]
fn display_name_is_checked_and_sent() {
    assert_eq!(
        checked_display_name(&"é".repeat(51)),
        Err(ConvoError::InvalidDisplayName)
    );
    assert_eq!(checked_display_name("  "), Ok(None));
    assert_eq!(checked_display_name(" Alice "), Ok(Some("Alice".into())));
    // Bidi controls never reach a stored name (they could fake another one).
    assert_eq!(
        checked_display_name("Al\u{202E}ice\u{2066}\u{200F}"),
        Ok(Some("Alice".into()))
    );
    assert_eq!(checked_display_name("\u{202E}\u{061C}"), Ok(None));
    let mut w = World::new(OFF);
    let effects = w
        .convo
        .set_display_name(Some("Alice".into()), 1_800_000_000);
    assert_eq!(
        effects,
        vec![Effect::Client(ClientCommand::SetDisplayName(Some(
            "Alice".into()
        )))]
    );
    let bob = identity(2).account_id();
    let (_, effects) = w.send_text(bob, "hi");
    assert!(
        matches!(&sends(&w, &effects)[0].1, Event::Text { profile: Some(p), .. } if p.display_name() == "Alice")
    );
    // M7: the change time goes along as lastProfileUpdateSeconds (LokiProfile field 3).
    let lp = outgoing_of(&effects)
        .content
        .data_message
        .and_then(|d| d.profile)
        .expect("profile");
    assert_eq!(lp.last_profile_update_seconds, Some(1_800_000_000));
    // Restored at start with the persisted time.
    let restored =
        Conversations::new(w.me.account_id(), OFF, Some("Alice")).with_profile_updated_s(7);
    assert_eq!(restored.profile().map(Profile::updated_s), Some(7));
    let _ = w.convo.set_display_name(None, 1_800_000_100);
    let (_, effects) = w.send_text(bob, "anonymous");
    assert!(matches!(
        &sends(&w, &effects)[0].1,
        Event::Text { profile: None, .. }
    ));
}

// ----- conversation features ------------------------------------------------------------------

#[test]
fn a_reply_quotes_its_original() {
    let mut w = World::new(OFF);
    let bob = identity(2).account_id();
    let (alpha, _) = w.send_text(bob, "alpha one");
    assert_eq!(
        block_on(
            w.convo
                .send_text(io!(w), &dm(bob), "beta".into(), Some(MessageKey(9_999)))
        ),
        Err(ConvoError::NoSuchMessage)
    );
    let effects = block_on(
        w.convo
            .send_text(io!(w), &dm(bob), "beta".into(), Some(alpha)),
    )
    .expect("send");
    let beta = w.message(&bob, sent_text_id(&effects)).expect("stored");
    let original = w.message(&bob, alpha).expect("stored");
    let quote = beta.quote.expect("quote");
    assert_eq!(quote.target, original.message_ref());
    assert_eq!(quote.text, "alpha one");
    match &sends(&w, &effects)[0].1 {
        Event::Text { quote: Some(q), .. } => {
            assert_eq!(
                q,
                &QuoteRef {
                    target: WireId {
                        author: w.me.account_id(),
                        sent_timestamp_ms: original.sent_ms
                    },
                    text: Some("alpha one".into())
                }
            );
        }
        other => panic!("{other:?}"),
    }
    // A reply to an unsent message is refused.
    block_on(w.convo.unsend(io!(w), &dm(bob), alpha)).expect("unsend");
    assert_eq!(
        block_on(
            w.convo
                .send_text(io!(w), &dm(bob), "gamma".into(), Some(alpha))
        ),
        Err(ConvoError::NoSuchMessage)
    );
}

#[test]
fn reactions_toggle_and_are_checked() {
    let mut w = World::new(OFF);
    let bob = identity(2).account_id();
    let theirs = w.insert_incoming(bob, T0 - 10, "theirs", "h-t");
    let me = w.me.account_id();
    let effects = block_on(w.convo.react(io!(w), &dm(bob), theirs, "👍".into())).expect("react");
    assert!(changed(&effects, bob));
    let msg = w.message(&bob, theirs).expect("stored");
    assert!(msg.reactions["👍"].contains(&me));
    let sent = sends(&w, &effects);
    assert!(matches!(
        sent[0].2,
        LocalId::Control {
            kind: ControlKind::Reaction,
            ..
        }
    ));
    assert!(sent[0].3, "a reaction is synced to our other devices");
    match &sent[0].1 {
        Event::Reaction {
            target,
            emoji,
            change,
            ..
        } => {
            assert_eq!((target.author, target.sent_timestamp_ms), (bob, T0 - 10));
            assert_eq!((emoji.as_str(), *change), ("👍", ReactionChange::Add));
        }
        other => panic!("{other:?}"),
    }
    let effects = block_on(w.convo.react(io!(w), &dm(bob), theirs, "👍".into())).expect("react");
    assert!(matches!(
        &sends(&w, &effects)[0].1,
        Event::Reaction {
            change: ReactionChange::Remove,
            ..
        }
    ));
    assert!(
        w.message(&bob, theirs)
            .expect("stored")
            .reactions
            .values()
            .all(|who| who.is_empty())
    );
    for bad in ["", "a b", "\u{202e}x"] {
        assert_eq!(
            block_on(w.convo.react(io!(w), &dm(bob), theirs, bad.into())),
            Err(ConvoError::InvalidReaction),
            "{bad:?}"
        );
    }
    assert!(
        w.message(&bob, theirs)
            .expect("stored")
            .reactions
            .values()
            .all(|who| who.is_empty())
    );
    assert_eq!(
        block_on(
            w.convo
                .react(io!(w), &dm(bob), MessageKey(9_999), "👍".into())
        ),
        Err(ConvoError::NoSuchMessage)
    );
}

#[test]
fn disappearing_setting_is_checked_sent_and_applied() {
    // M8: only Session's timers (timerOptions.ts): no 5 min / 1 h after send, no 4 weeks.
    for (mode, timer) in [
        (DisappearingMode::AfterSend, 301),
        (DisappearingMode::AfterRead, 0),
        (DisappearingMode::AfterSend, 2_419_201),
        (DisappearingMode::AfterSend, 300),
        (DisappearingMode::AfterSend, 3_600),
        (DisappearingMode::AfterSend, 2_419_200),
        (DisappearingMode::AfterRead, 2_419_200),
    ] {
        assert_eq!(offered_setting(mode, timer), Err(ConvoError::InvalidTimer));
    }
    assert_eq!(
        offered_setting(DisappearingMode::Off, 12),
        Ok(Disappearing::OFF)
    );
    let mut w = World::new(OFF);
    let bob = identity(2).account_id();
    let (before, _) = w.send_text(bob, "before");
    let half_day = offered_setting(DisappearingMode::AfterSend, 43_200).expect("offered");
    let effects = block_on(w.convo.set_disappearing(io!(w), &dm(bob), half_day)).expect("set");
    let sent = sends(&w, &effects);
    assert_eq!(
        sent[0].1,
        Event::ExpirationUpdate {
            setting: DisappearingSetting::AfterSend(43_200)
        }
    );
    assert!(matches!(
        sent[0].2,
        LocalId::Control {
            kind: ControlKind::Timer,
            ..
        }
    ));
    assert_eq!(outgoing_of(&effects).ttl_ms, 43_200_000);
    assert_eq!(
        block_on(w.db().conversation(&dm(bob)))
            .expect("c")
            .map(|c| c.disappearing),
        Some(half_day)
    );
    // The same setting again sends nothing.
    let again = block_on(w.convo.set_disappearing(io!(w), &dm(bob), half_day)).expect("set");
    assert!(sends(&w, &again).is_empty());
    // Our next message disappears 12 hours after it was sent, and the sweep is armed.
    let (gamma, effects) = w.send_text(bob, "gamma");
    let msg = w.message(&bob, gamma).expect("stored");
    assert_eq!(msg.expires_at_ms, Some(msg.sent_ms + 43_200_000));
    assert!(effects.contains(&Effect::ArmExpiry(NetMs(msg.sent_ms + 43_200_000))));
    assert_eq!(w.convo.next_expiry(), Some(NetMs(msg.sent_ms + 43_200_000)));
    assert!(matches!(
        &sends(&w, &effects)[0].1,
        Event::Text {
            expiry: DisappearingSetting::AfterSend(43_200),
            ..
        }
    ));
    assert_eq!(w.message(&bob, before).map(|m| m.expires_at_ms), Some(None));
    // A two-week after-read timer: the default TTL (the reader shortens it).
    let two = offered_setting(DisappearingMode::AfterRead, 1_209_600).expect("offered");
    let effects = block_on(w.convo.set_disappearing(io!(w), &dm(bob), two)).expect("set");
    assert_eq!(outgoing_of(&effects).ttl_ms, DEFAULT_TTL_MS);
    let effects = block_on(
        w.convo
            .set_disappearing(io!(w), &dm(bob), Disappearing::OFF),
    )
    .expect("off");
    assert_eq!(
        sends(&w, &effects)[0].1,
        Event::ExpirationUpdate {
            setting: DisappearingSetting::Off
        }
    );
}

#[test]
fn a_peers_timer_outside_the_offered_list_is_followed() {
    let mut w = World::new(OFF);
    let bob_id = identity(2);
    let bob = bob_id.account_id();
    // Ten minutes: not offered here, but Session receivers accept any timer up to 30 days.
    let mut o = compose_expiration_update(DisappearingSetting::Off, T0).expect("compose");
    o.content.expiration_type = Some(2);
    o.content.expiration_timer = Some(600);
    let msg = received(&w.me, &bob_id, &o, "h-timer", T0);
    assert_eq!(
        msg.event,
        Event::ExpirationUpdate {
            setting: DisappearingSetting::AfterSend(600)
        }
    );
    w.receive(vec![msg]);
    let (_, effects) = w.send_text(bob, "follows the peer's timer");
    assert_eq!(outgoing_of(&effects).ttl_ms, 600_000);
}

#[test]
fn a_peers_four_week_timer_is_adopted_but_never_stored_longer_than_14_days() {
    let max = umbra_protocol::rpc::Namespace::DEFAULT.max_ttl_ms();
    let four_weeks: u32 = 2_419_200;
    for (mode, setting) in [
        (2, DisappearingSetting::AfterSend(four_weeks)),
        (1, DisappearingSetting::AfterRead(four_weeks)),
    ] {
        let mut w = World::new(ON);
        let bob_id = identity(2);
        let bob = bob_id.account_id();
        // Session adopts any received timer (up to 30 days here): so does the conversation.
        let mut o = compose_expiration_update(DisappearingSetting::Off, T0).expect("compose");
        o.content.expiration_type = Some(mode);
        o.content.expiration_timer = Some(four_weeks);
        w.receive(vec![received(&w.me, &bob_id, &o, "h-4w", T0)]);
        let stored = block_on(w.db().conversation(&dm(bob)))
            .expect("c")
            .expect("created");
        assert_eq!(umbra_protocol::convo::wire_of(stored.disappearing), setting);
        // Our messages follow it: the timer travels as it is, the store TTL is capped, and
        // our own copy disappears locally after the full four weeks.
        w.clock.now = T0 + 10;
        let (id, effects) = w.send_text(bob, "follows the peer's 4 weeks");
        let out = outgoing_of(&effects);
        assert_eq!(out.content.expiration_timer, Some(four_weeks));
        assert!(out.ttl_ms <= max, "{setting:?}: {}", out.ttl_ms);
        let msg = w.message(&bob, id).expect("stored");
        assert_eq!(
            msg.expires_at_ms,
            Some(msg.sent_ms + u64::from(four_weeks) * 1000)
        );
        // Every other send of the conversation too (the reaction, the read receipt).
        let theirs = umbra_protocol::convo::with_setting(
            text("hi", None, DisappearingSetting::Off, T0 + 20),
            setting,
        );
        w.receive(vec![received(&w.me, &bob_id, &theirs, "h-hi", T0 + 30)]);
        let key = w
            .messages(&bob)
            .into_iter()
            .find(|m| m.body == "hi")
            .expect("stored")
            .id;
        let effects = block_on(w.convo.react(io!(w), &dm(bob), key, "👍".into())).expect("react");
        let effects_open = block_on(w.convo.open(io!(w), &dm(bob))).expect("open");
        for e in effects.iter().chain(&effects_open) {
            if let Effect::Client(ClientCommand::Send { outgoing, .. }) = e {
                assert!(outgoing.ttl_ms <= max, "{setting:?}: {}", outgoing.ttl_ms);
            }
        }
    }
}

#[test]
fn delete_for_me_and_unsend() {
    let mut w = World::new(OFF);
    let bob = identity(2).account_id();
    let me = w.me.account_id();
    let (alpha, _) = w.send_text(bob, "alpha");
    let (beta, _) = w.send_text(bob, "beta");
    let e = block_on(w.convo.delete_for_me(io!(w), &dm(bob), alpha)).expect("delete");
    assert!(changed(&e, bob));
    assert_eq!(w.message(&bob, alpha), None);
    assert_eq!(
        block_on(w.convo.delete_for_me(io!(w), &dm(bob), alpha)),
        Err(ConvoError::NoSuchMessage)
    );
    // Beta was delivered and its sync copy stored: unsend deletes our copy too.
    let e = entry(
        text_local_id(beta),
        bob,
        ClientState::Sent,
        Some("h-bob-swarm"),
    );
    block_on(w.convo.on_outbox_changed(io!(w), &e)).expect("ok");
    block_on(
        w.convo
            .on_sync_copy_stored(io!(w), &text_local_id(beta), "h-own-copy"),
    )
    .expect("ok");
    let beta_sent = w.message(&bob, beta).expect("stored").sent_ms;
    let effects = block_on(w.convo.unsend(io!(w), &dm(bob), beta)).expect("unsend");
    let msg = w.message(&bob, beta).expect("kept as deleted");
    assert!(msg.deleted && msg.body.is_empty());
    let sent = sends(&w, &effects);
    let target = WireId {
        author: me,
        sent_timestamp_ms: beta_sent,
    };
    assert_eq!(sent.len(), 2);
    assert_eq!((sent[0].0, &sent[0].1), (bob, &Event::Unsend { target }));
    assert!(matches!(
        sent[0].2,
        LocalId::Control {
            kind: ControlKind::Unsend,
            ..
        }
    ));
    assert_eq!((sent[1].0, &sent[1].1), (me, &Event::Unsend { target }));
    assert!(matches!(
        sent[1].2,
        LocalId::Control {
            kind: ControlKind::UnsendOwn,
            ..
        }
    ));
    assert!(!sent[0].3 && !sent[1].3);
    assert!(effects.contains(&Effect::Client(ClientCommand::DeleteOwn {
        hashes: vec!["h-bob-swarm".into(), "h-own-copy".into()]
    })));
    assert_eq!(
        block_on(w.convo.unsend(io!(w), &dm(bob), beta)),
        Err(ConvoError::NoSuchMessage)
    );
    let theirs = w.insert_incoming(bob, T0 - 10, "theirs", "h-t");
    assert_eq!(
        block_on(w.convo.unsend(io!(w), &dm(bob), theirs)),
        Err(ConvoError::NotOwnMessage)
    );
    // A note to self: only the copy to our own devices.
    let (note, _) = w.send_text(me, "note");
    let effects = block_on(w.convo.unsend(io!(w), &dm(me), note)).expect("unsend");
    let sent = sends(&w, &effects);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, me);
}

#[test]
fn a_sync_copy_stored_after_unsend_is_deleted_at_once() {
    let mut w = World::new(OFF);
    let bob = identity(2).account_id();
    let (id, _) = w.send_text(bob, "oops");
    block_on(w.convo.unsend(io!(w), &dm(bob), id)).expect("unsend");
    let effects = block_on(
        w.convo
            .on_sync_copy_stored(io!(w), &text_local_id(id), "h-late"),
    )
    .expect("ok");
    assert_eq!(
        effects,
        vec![Effect::Client(ClientCommand::DeleteOwn {
            hashes: vec!["h-late".into()]
        })]
    );
    // Copies of controls, or of something deleted for me, change nothing.
    assert_eq!(
        block_on(w.convo.on_sync_copy_stored(io!(w), &"react/5".into(), "h")),
        Ok(vec![])
    );
    let (gone, _) = w.send_text(bob, "gone");
    block_on(w.convo.delete_for_me(io!(w), &dm(bob), gone)).expect("delete");
    assert_eq!(
        block_on(
            w.convo
                .on_sync_copy_stored(io!(w), &text_local_id(gone), "h")
        ),
        Ok(vec![])
    );
}

#[test]
fn typing_goes_only_where_it_may() {
    let mut w = World::new(OFF);
    let (bob_id, carol_id) = (identity(2), identity(3));
    let (bob, carol) = (bob_id.account_id(), carol_id.account_id());
    assert_eq!(
        block_on(w.convo.typing(io!(w), &dm(bob), true)),
        Ok(vec![]),
        "switched off"
    );
    w.convo.set_prefs(ON);
    let effects = block_on(w.convo.typing(io!(w), &dm(bob), true)).expect("typing");
    let sent = sends(&w, &effects);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1, Event::Typing { started: true });
    assert!(sent[0].4, "ephemeral");
    assert!(!sent[0].3, "no sync copy");
    let me = w.me.account_id();
    assert_eq!(block_on(w.convo.typing(io!(w), &dm(me), true)), Ok(vec![]));
    // Nothing to a request we have not accepted, nor to a blocked peer.
    w.receive(vec![received(
        &w.me,
        &carol_id,
        &text("hi", None, DisappearingSetting::Off, T0),
        "h1",
        T0,
    )]);
    assert_eq!(w.state(&carol), Some(ConversationState::Request));
    assert_eq!(
        block_on(w.convo.typing(io!(w), &dm(carol), true)),
        Ok(vec![])
    );
    block_on(w.convo.set_blocked(io!(w), bob, true)).expect("block");
    assert_eq!(
        block_on(w.convo.typing(io!(w), &dm(bob), false)),
        Ok(vec![])
    );
}

#[test]
fn reading_starts_after_read_timers_and_the_sweep_removes() {
    let mut w = World::new(ON);
    let bob = identity(2).account_id();
    let now = T0;
    let timer = |mode| Some(Disappearing { mode, timer_s: 300 });
    let incoming = |sent_ms: u64, body: &str, hash: &str, mode| NewMessage {
        conversation: dm(bob),
        direction: Direction::Incoming,
        author: bob,
        sent_ms,
        received_ms: now,
        body: body.into(),
        storage_hash: Some(hash.into()),
        outbox: None,
        disappearing: timer(mode),
        quote: None,
        placeholder: None,
        attachments: Vec::new(),
    };
    let soon = w.insert(incoming(
        now - 298_500,
        "gone soon",
        "h-soon",
        DisappearingMode::AfterSend,
    ));
    let read = w.insert(incoming(
        now - 1_000,
        "read me",
        "h-read",
        DisappearingMode::AfterRead,
    ));
    block_on(w.convo.accept(io!(w), &dm(bob))).expect("accept");
    // The sweep at start finds the next expiry.
    let effects = block_on(w.convo.sweep(io!(w))).expect("sweep");
    assert_eq!(effects, vec![Effect::ArmExpiry(NetMs(now + 1_500))]);
    // Opened while hidden: nothing is read.
    let effects = block_on(w.convo.open(io!(w), &dm(bob))).expect("open");
    assert!(
        effects.contains(&Effect::Client(ClientCommand::SetPollingMode(
            PollingMode::Background
        )))
    );
    assert!(effects.contains(&Effect::Client(ClientCommand::PollNow)));
    assert_eq!(w.message(&bob, read).map(|m| m.read), Some(false));
    // Visible: read now; a receipt goes out; the after-read timer starts and our swarm's copy
    // is shortened to it.
    w.clock.now = now + 100;
    let effects = block_on(w.convo.set_visible(io!(w), true)).expect("visible");
    assert!(
        effects.contains(&Effect::Client(ClientCommand::SetPollingMode(
            PollingMode::Foreground
        )))
    );
    let msg = w.message(&bob, read).expect("stored");
    assert!(msg.read);
    assert_eq!(msg.expires_at_ms, Some(now + 100 + 300_000));
    assert!(effects.contains(&Effect::Client(ClientCommand::ExpireOwn {
        hashes: vec!["h-read".into()],
        expiry_ms: now + 100 + 300_000
    })));
    let sent = sends(&w, &effects);
    assert_eq!(sent.len(), 1);
    assert!(matches!(
        sent[0].2,
        LocalId::Control {
            kind: ControlKind::Receipt,
            ..
        }
    ));
    match &sent[0].1 {
        Event::ReadReceipt { timestamps } => {
            assert_eq!(timestamps, &vec![now - 298_500, now - 1_000]);
        }
        other => panic!("{other:?}"),
    }
    // Time is up for the first: the sweep removes it and arms the next.
    w.clock.now = now + 1_500;
    let effects = block_on(w.convo.sweep(io!(w))).expect("sweep");
    assert!(changed(&effects, bob));
    assert!(effects.contains(&Effect::ArmExpiry(NetMs(now + 100 + 300_000))));
    assert_eq!(w.message(&bob, soon), None);
    assert_eq!(
        block_on(w.db().conversation_of(soon)),
        Ok(None),
        "content erased"
    );
    assert!(w.message(&bob, read).is_some());
    // Closing slows polling down.
    assert_eq!(
        w.convo.close(),
        vec![Effect::Client(ClientCommand::SetPollingMode(
            PollingMode::Background
        ))]
    );
}

#[test]
fn receipts_respect_the_switch_and_requests() {
    let mut w = World::new(OFF);
    let bob_id = identity(2);
    let bob = bob_id.account_id();
    let m = received(
        &w.me,
        &bob_id,
        &text("one", None, DisappearingSetting::Off, T0),
        "h1",
        T0,
    );
    w.receive(vec![m]);
    let _ = block_on(w.convo.set_visible(io!(w), true)).expect("visible");
    // A request is read without telling the sender.
    let effects = block_on(w.convo.open(io!(w), &dm(bob))).expect("open");
    assert!(sends(&w, &effects).is_empty());
    assert_eq!(
        block_on(w.db().conversation(&dm(bob)))
            .expect("c")
            .map(|c| c.unread_count),
        Some(0)
    );
    // Accepted but switched off: nothing either; a new message while open is read at once.
    block_on(w.convo.accept(io!(w), &dm(bob))).expect("accept");
    let m = received(
        &w.me,
        &bob_id,
        &text("two", None, DisappearingSetting::Off, T0 + 1),
        "h2",
        T0 + 1,
    );
    let effects = w.receive(vec![m]);
    assert!(sends(&w, &effects).is_empty());
    assert_eq!(
        block_on(w.db().conversation(&dm(bob)))
            .expect("c")
            .map(|c| c.unread_count),
        Some(0)
    );
    w.convo.set_prefs(ON);
    let m = received(
        &w.me,
        &bob_id,
        &text("three", None, DisappearingSetting::Off, T0 + 2),
        "h3",
        T0 + 2,
    );
    let effects = w.receive(vec![m]);
    assert_eq!(
        sends(&w, &effects)[0].1,
        Event::ReadReceipt {
            timestamps: vec![T0 + 2]
        }
    );
}

#[test]
fn accepting_a_request_tells_the_peer_once() {
    let mut w = World::new(OFF);
    let bob_id = identity(2);
    let bob = bob_id.account_id();
    w.receive(vec![received(
        &w.me,
        &bob_id,
        &text("hi", None, DisappearingSetting::Off, T0),
        "h1",
        T0,
    )]);
    assert_eq!(w.state(&bob), Some(ConversationState::Request));
    let effects = block_on(w.convo.accept(io!(w), &dm(bob))).expect("accept");
    assert_eq!(w.state(&bob), Some(ConversationState::Accepted));
    let sent = sends(&w, &effects);
    assert_eq!(sent.len(), 1);
    assert!(
        matches!(&sent[0].1, Event::RequestResponse { approved: true, profile: Some(p) } if p.display_name() == "Me")
    );
    let again = block_on(w.convo.accept(io!(w), &dm(bob))).expect("accept");
    assert!(sends(&w, &again).is_empty());
    // Accepting someone unknown creates nothing and sends nothing.
    let carol = identity(3).account_id();
    let effects = block_on(w.convo.accept(io!(w), &dm(carol))).expect("accept");
    assert!(sends(&w, &effects).is_empty());
    assert_eq!(w.state(&carol), None);
}

#[test]
fn deleting_a_conversation_closes_it() {
    let mut w = World::new(OFF);
    let bob = identity(2).account_id();
    w.send_text(bob, "hi");
    block_on(w.convo.open(io!(w), &dm(bob))).expect("open");
    let effects = block_on(w.convo.delete_conversation(io!(w), &dm(bob))).expect("delete");
    assert!(effects.contains(&Effect::Ui(UiChange::ConversationRemoved(dm(bob)))));
    assert_eq!(w.convo.open_conversation(), None);
    assert_eq!(w.state(&bob), None);
    assert!(w.messages(&bob).is_empty());
    // Deleting what is not there is not an error.
    assert!(block_on(w.convo.delete_conversation(io!(w), &dm(bob))).is_ok());
}

// ----- receiving ------------------------------------------------------------------------------

#[test]
fn an_incoming_text_opens_a_request_notifies_and_names() {
    let mut w = World::new(OFF);
    let bob_id = identity(2);
    let bob = bob_id.account_id();
    let long = "y".repeat(150);
    let o = text(&long, Some("Bob"), DisappearingSetting::Off, T0);
    let effects = w.receive(vec![received(&w.me, &bob_id, &o, "h1", T0 + 5)]);
    assert_eq!(w.state(&bob), Some(ConversationState::Request));
    assert!(changed(&effects, bob));
    assert!(effects.contains(&Effect::Ui(UiChange::Incoming {
        conversation: dm(bob),
        display_name: Some("Bob".into()),
        preview: "y".repeat(100),
    })));
    assert!(effects.contains(&Effect::Ui(UiChange::Typing {
        peer: bob,
        typing: false
    })));
    let msgs = w.messages(&bob);
    assert_eq!(msgs.len(), 1);
    assert_eq!(
        (msgs[0].body.as_str(), msgs[0].direction),
        (long.as_str(), Direction::Incoming)
    );
    assert_eq!(msgs[0].storage_hashes, vec!["h1".to_owned()]);
    // A new name along with a reaction is taken; the same message again stores nothing.
    let target = WireId {
        author: bob,
        sent_timestamp_ms: T0,
    };
    let r = compose_reaction(
        &target,
        "🎉",
        ReactionChange::Add,
        Profile::new("Robert").ok().as_ref(),
        DisappearingSetting::Off,
        T0 + 1,
    )
    .expect("compose");
    let effects = w.receive(vec![
        received(&w.me, &bob_id, &r, "h2", T0 + 6),
        received(&w.me, &bob_id, &o, "h1", T0 + 7),
    ]);
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::Ui(UiChange::Incoming { .. })))
    );
    assert_eq!(w.messages(&bob).len(), 1);
    assert!(w.messages(&bob)[0].reactions["🎉"].contains(&bob));
    assert_eq!(
        block_on(w.db().conversation(&dm(bob)))
            .expect("c")
            .and_then(|c| c.display_name),
        Some("Robert".into())
    );
    // A request response from them carries a name too.
    let a = compose_request_accept(Profile::new("Bobby").ok().as_ref(), T0 + 2);
    w.receive(vec![received(&w.me, &bob_id, &a, "h3", T0 + 8)]);
    assert_eq!(
        block_on(w.db().conversation(&dm(bob)))
            .expect("c")
            .and_then(|c| c.display_name),
        Some("Bobby".into())
    );
}

/// M7: a peer's name is applied only when its `lastProfileUpdateSeconds` is newer than the
/// stored one, or both are 0 (session-desktop `ts/models/profile.ts`, `shouldApplyChange`).
#[test]
fn a_peers_name_is_applied_only_when_newer() {
    let mut w = World::new(OFF);
    let bob_id = identity(2);
    let bob = bob_id.account_id();
    let named = |name: &str, updated_s: u64, sent: u64| {
        let profile = Profile::new(name).expect("name").updated_at(updated_s);
        let draft = TextDraft {
            body: format!("from {name}"),
            quote: None,
            profile: Some(profile),
            disappearing: DisappearingSetting::Off,
            attachments: Vec::new(),
        };
        compose_text(&draft, sent).expect("compose")
    };
    let stored = |w: &World| {
        block_on(w.db().conversation(&dm(bob)))
            .expect("c")
            .map(|c| (c.display_name, c.profile_updated_s))
    };
    // Both 0 (clients that send no time): applied, as before; bidi controls are removed.
    let o = named("B\u{202E}ob\u{2069}", 0, T0);
    w.receive(vec![received(&w.me, &bob_id, &o, "n1", T0)]);
    assert_eq!(stored(&w), Some((Some("Bob".into()), 0)));
    let o = named("Bobby", 0, T0 + 1);
    w.receive(vec![received(&w.me, &bob_id, &o, "n2", T0 + 1)]);
    assert_eq!(stored(&w), Some((Some("Bobby".into()), 0)));
    // A timestamped change is newer than 0: applied, with its time.
    let o = named("Robert", 1_000, T0 + 2);
    w.receive(vec![received(&w.me, &bob_id, &o, "n3", T0 + 2)]);
    assert_eq!(stored(&w), Some((Some("Robert".into()), 1_000)));
    // Older (a message fetched late), equal, or 0 after a timestamp: ignored.
    for (i, (name, t)) in [("Old Bob", 999), ("Same-time Bob", 1_000), ("Zero Bob", 0)]
        .into_iter()
        .enumerate()
    {
        let sent = T0 + 10 + i as u64;
        let o = named(name, t, sent);
        let effects = w.receive(vec![received(&w.me, &bob_id, &o, &format!("o{i}"), sent)]);
        assert_eq!(stored(&w), Some((Some("Robert".into()), 1_000)), "{name}");
        // The message itself is still stored and shown.
        assert!(changed(&effects, bob));
    }
    // Newer: applied.
    let o = named("Rob", 2_000, T0 + 20);
    w.receive(vec![received(&w.me, &bob_id, &o, "n4", T0 + 20)]);
    assert_eq!(stored(&w), Some((Some("Rob".into()), 2_000)));
    // The same rule for a reaction's and a request response's profile.
    let old = compose_request_accept(
        Some(&Profile::new("Stale").expect("n").updated_at(1_500)),
        T0 + 21,
    );
    w.receive(vec![received(&w.me, &bob_id, &old, "n5", T0 + 21)]);
    assert_eq!(stored(&w), Some((Some("Rob".into()), 2_000)));
    let target = WireId {
        author: bob,
        sent_timestamp_ms: T0,
    };
    let r = compose_reaction(
        &target,
        "🎉",
        ReactionChange::Add,
        Some(&Profile::new("Roberto").expect("n").updated_at(3_000)),
        DisappearingSetting::Off,
        T0 + 22,
    )
    .expect("compose");
    w.receive(vec![received(&w.me, &bob_id, &r, "n6", T0 + 22)]);
    assert_eq!(stored(&w), Some((Some("Roberto".into()), 3_000)));
}

#[test]
fn blocking_drops_the_sender() {
    let mut w = World::new(OFF);
    let bob_id = identity(2);
    let bob = bob_id.account_id();
    let (mine, _) = w.send_text(bob, "before the block");
    let effects = block_on(w.convo.set_blocked(io!(w), bob, true)).expect("block");
    assert!(effects.contains(&Effect::Ui(UiChange::BlockList)));
    assert_eq!(block_on(w.db().blocked()), Ok(vec![bob]));
    let mine_sent = w.message(&bob, mine).expect("kept").sent_ms;
    let target = WireId {
        author: w.me.account_id(),
        sent_timestamp_ms: mine_sent,
    };
    let t = text("let me in", Some("Evil"), DisappearingSetting::Off, T0 + 1);
    let r = compose_reaction(
        &target,
        "👎",
        ReactionChange::Add,
        None,
        DisappearingSetting::Off,
        T0 + 2,
    )
    .expect("r");
    let typing = compose_typing(&ON, true, T0 + 3).expect("typing");
    let receipt = compose_read_receipt(&ON, &[mine_sent], T0 + 4)
        .expect("ok")
        .expect("on");
    let timer =
        compose_expiration_update(DisappearingSetting::AfterSend(43_200), T0 + 5).expect("t");
    let effects = w.receive(vec![
        received(&w.me, &bob_id, &t, "b1", T0 + 10),
        received(&w.me, &bob_id, &r, "b2", T0 + 10),
        received(&w.me, &bob_id, &typing, "b3", T0 + 10),
        received(&w.me, &bob_id, &receipt, "b4", T0 + 10),
        received(&w.me, &bob_id, &timer, "b5", T0 + 10),
    ]);
    assert_eq!(effects, vec![], "nothing from a blocked sender is shown");
    let msgs = w.messages(&bob);
    assert_eq!(msgs.len(), 1);
    assert!(msgs[0].reactions.is_empty() && !msgs[0].read);
    let conv = block_on(w.db().conversation(&dm(bob)))
        .expect("c")
        .expect("kept");
    assert_eq!(
        (conv.display_name, conv.disappearing),
        (None, Disappearing::OFF)
    );
    // Unblocking lists them again; their messages arrive again.
    let effects = block_on(w.convo.set_blocked(io!(w), bob, false)).expect("unblock");
    assert!(effects.contains(&Effect::Ui(UiChange::BlockList)));
    assert_eq!(block_on(w.db().blocked()), Ok(vec![]));
    let t = text("sorry", None, DisappearingSetting::Off, T0 + 20);
    w.receive(vec![received(&w.me, &bob_id, &t, "b6", T0 + 21)]);
    assert_eq!(w.messages(&bob).len(), 2);
}

#[test]
fn a_blocked_senders_unsend_is_still_honoured() {
    let mut w = World::new(OFF);
    let bob_id = identity(2);
    let bob = bob_id.account_id();
    w.receive(vec![received(
        &w.me,
        &bob_id,
        &text("regret", None, DisappearingSetting::Off, T0),
        "h1",
        T0,
    )]);
    block_on(w.convo.set_blocked(io!(w), bob, true)).expect("block");
    let target = WireId {
        author: bob,
        sent_timestamp_ms: T0,
    };
    let u = compose_unsend(&bob, &target, T0 + 1).expect("unsend");
    let effects = w.receive(vec![received(&w.me, &bob_id, &u, "h2", T0 + 2)]);
    let msg = &w.messages(&bob)[0];
    assert!(msg.deleted && msg.body.is_empty());
    // Our swarm's copy of their message goes too.
    assert!(effects.contains(&Effect::Client(ClientCommand::DeleteOwn {
        hashes: vec!["h1".into()]
    })));
}

#[test]
fn tampered_unsends_change_nothing() {
    let mut w = World::new(OFF);
    let (bob_id, carol_id) = (identity(2), identity(3));
    let (bob, carol) = (bob_id.account_id(), carol_id.account_id());
    w.receive(vec![received(
        &w.me,
        &bob_id,
        &text("bob's", None, DisappearingSetting::Off, T0),
        "h1",
        T0,
    )]);
    let (mine, _) = w.send_text(bob, "mine");
    let mine_sent = w.message(&bob, mine).expect("stored").sent_ms;
    // Carol claims to unsend Bob's message; Bob claims to unsend ours. The client's classify
    // refuses both; a tampered event reaching the rules is ignored as well.
    let effects = w.receive(vec![
        raw(
            carol,
            T0 + 1,
            "x1",
            T0 + 1,
            Event::Unsend {
                target: WireId {
                    author: bob,
                    sent_timestamp_ms: T0,
                },
            },
        ),
        raw(
            bob,
            T0 + 2,
            "x2",
            T0 + 2,
            Event::Unsend {
                target: WireId {
                    author: w.me.account_id(),
                    sent_timestamp_ms: mine_sent,
                },
            },
        ),
    ]);
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::Client(_))),
        "{effects:?}"
    );
    let msgs = w.messages(&bob);
    assert_eq!(msgs.len(), 2);
    assert!(msgs.iter().all(|m| !m.deleted));
    assert_eq!(w.state(&carol), None, "a tampered unsend creates nothing");
}

#[test]
fn a_reaction_to_an_unknown_message_changes_nothing() {
    let mut w = World::new(OFF);
    let bob_id = identity(2);
    let bob = bob_id.account_id();
    w.receive(vec![received(
        &w.me,
        &bob_id,
        &text("hi", None, DisappearingSetting::Off, T0),
        "h1",
        T0,
    )]);
    let target = WireId {
        author: bob,
        sent_timestamp_ms: T0 + 999,
    };
    let r = compose_reaction(
        &target,
        "👍",
        ReactionChange::Add,
        None,
        DisappearingSetting::Off,
        T0 + 1,
    )
    .expect("r");
    let effects = w.receive(vec![received(&w.me, &bob_id, &r, "h2", T0 + 2)]);
    assert!(!changed(&effects, bob));
    assert!(w.messages(&bob)[0].reactions.is_empty());
    // A reaction from someone we never talked to creates no conversation.
    let carol_id = identity(3);
    let effects = w.receive(vec![received(&w.me, &carol_id, &r, "h3", T0 + 3)]);
    assert!(effects.is_empty());
    assert_eq!(w.state(&carol_id.account_id()), None);
}

#[test]
fn read_receipts_mark_our_messages_read() {
    let mut w = World::new(OFF);
    let bob_id = identity(2);
    let bob = bob_id.account_id();
    let (a, _) = w.send_text(bob, "a");
    let (b, _) = w.send_text(bob, "b");
    let a_sent = w.message(&bob, a).expect("a").sent_ms;
    let receipt = compose_read_receipt(&ON, &[a_sent, 12345], T0 + 50)
        .expect("ok")
        .expect("on");
    let effects = w.receive(vec![received(&w.me, &bob_id, &receipt, "r1", T0 + 51)]);
    assert!(changed(&effects, bob));
    assert_eq!(w.message(&bob, a).map(|m| m.read), Some(true));
    assert_eq!(w.message(&bob, b).map(|m| m.read), Some(false));
    // A receipt copied from our own devices says nothing about the peer.
    let b_sent = w.message(&bob, b).expect("b").sent_ms;
    let effects = w.receive(vec![raw(
        w.me.account_id(),
        T0 + 60,
        "r2",
        T0 + 61,
        Event::ReadReceipt {
            timestamps: vec![b_sent],
        },
    )]);
    assert!(effects.is_empty());
    assert_eq!(w.message(&bob, b).map(|m| m.read), Some(false));
}

#[test]
fn typing_indicators_reach_the_ui_unless_stale() {
    let mut w = World::new(OFF);
    let bob_id = identity(2);
    let bob = bob_id.account_id();
    let fresh = compose_typing(&ON, true, T0).expect("typing");
    let effects = w.receive(vec![received(&w.me, &bob_id, &fresh, "t1", T0 + 19_000)]);
    assert_eq!(
        effects,
        vec![Effect::Ui(UiChange::Typing {
            peer: bob,
            typing: true
        })]
    );
    let stale = compose_typing(&ON, false, T0 + 1).expect("typing");
    let effects = w.receive(vec![received(&w.me, &bob_id, &stale, "t2", T0 + 30_000)]);
    assert!(effects.is_empty(), "fetched after its TTL");
    assert_eq!(w.state(&bob), None, "typing creates no conversation");
}

#[test]
fn a_timer_update_from_someone_unknown_opens_a_request() {
    let mut w = World::new(OFF);
    let bob_id = identity(2);
    let bob = bob_id.account_id();
    let t = compose_expiration_update(DisappearingSetting::AfterRead(3_600), T0).expect("t");
    let effects = w.receive(vec![received(&w.me, &bob_id, &t, "e1", T0 + 1)]);
    assert!(changed(&effects, bob));
    let conv = block_on(w.db().conversation(&dm(bob)))
        .expect("c")
        .expect("created");
    assert_eq!(conv.state, ConversationState::Request);
    assert_eq!(
        conv.disappearing,
        Disappearing {
            mode: DisappearingMode::AfterRead,
            timer_s: 3_600
        }
    );
    // The same from our other device (a sync copy) is a contact.
    let carol = identity(3).account_id();
    let effects = w.receive(vec![raw(
        w.me.account_id(),
        T0 + 2,
        "e2",
        T0 + 3,
        Event::SyncedOutgoing {
            to: carol,
            inner: Box::new(Event::ExpirationUpdate {
                setting: DisappearingSetting::AfterSend(43_200),
            }),
        },
    )]);
    assert!(changed(&effects, carol));
    assert_eq!(w.state(&carol), Some(ConversationState::Accepted));
}

#[test]
fn sync_copies_from_our_devices_and_foreign_ones() {
    let mut w = World::new(OFF);
    let me = w.me.account_id();
    let (bob_id, mallory_id) = (identity(2), identity(4));
    let bob = bob_id.account_id();
    // Our other device wrote to Bob: stored as ours, sent, no notification.
    let mut o = text(
        "from my phone",
        None,
        DisappearingSetting::AfterSend(43_200),
        T0,
    );
    if let Some(dm) = o.content.data_message.as_mut() {
        dm.sync_target = Some(bob.to_string());
    }
    let m = received(&w.me, &w.me, &o, "s1", T0 + 10);
    assert!(matches!(m.event, Event::SyncedOutgoing { to, .. } if to == bob));
    let effects = w.receive(vec![m]);
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::Ui(UiChange::Incoming { .. })))
    );
    let msgs = w.messages(&bob);
    assert_eq!(msgs.len(), 1);
    assert_eq!(
        (msgs[0].direction, msgs[0].author, msgs[0].outbox),
        (Direction::Outgoing, me, Some(OutboxState::Sent))
    );
    assert_eq!(msgs[0].expires_at_ms, Some(T0 + 43_200_000));
    assert!(effects.contains(&Effect::ArmExpiry(NetMs(T0 + 43_200_000))));
    assert_eq!(w.state(&bob), Some(ConversationState::Accepted));
    // Mallory's "sync copy" would write in our name: dropped, whatever it carries.
    let forged = raw(
        mallory_id.account_id(),
        T0 + 20,
        "s2",
        T0 + 21,
        Event::SyncedOutgoing {
            to: bob,
            inner: Box::new(Event::Text {
                body: "I am you".into(),
                quote: None,
                profile: None,
                expiry: DisappearingSetting::Off,
                attachments: Vec::new(),
            }),
        },
    );
    assert_eq!(w.receive(vec![forged]), vec![]);
    assert_eq!(w.messages(&bob).len(), 1);
    assert_eq!(w.state(&mallory_id.account_id()), None);
    // Our other device unsends that message: the request to our own account finds it.
    let target = WireId {
        author: me,
        sent_timestamp_ms: T0,
    };
    let u = compose_unsend(&me, &target, T0 + 30).expect("unsend");
    let effects = w.receive(vec![received(&w.me, &w.me, &u, "s3", T0 + 31)]);
    assert!(changed(&effects, bob));
    assert!(w.messages(&bob)[0].deleted);
    assert!(effects.contains(&Effect::Client(ClientCommand::DeleteOwn {
        hashes: vec!["s1".into()]
    })));
    // An unsend to our own account for something not stored anywhere changes nothing.
    let target = WireId {
        author: me,
        sent_timestamp_ms: 42,
    };
    let u = compose_unsend(&me, &target, T0 + 40).expect("unsend");
    assert_eq!(
        w.receive(vec![received(&w.me, &w.me, &u, "s4", T0 + 41)]),
        vec![]
    );
}

#[test]
fn after_send_counts_from_arrival_for_a_future_dated_message() {
    let mut w = World::new(OFF);
    let bob_id = identity(2);
    let bob = bob_id.account_id();
    // Dated an hour ahead of our network time: it must not outlive its timer after arrival.
    let future = T0 + 3_600_000;
    let o = text(
        "from the future",
        None,
        DisappearingSetting::AfterSend(43_200),
        future,
    );
    let effects = w.receive(vec![received(&w.me, &bob_id, &o, "f1", T0)]);
    assert_eq!(w.messages(&bob)[0].expires_at_ms, Some(T0 + 43_200_000));
    assert!(effects.contains(&Effect::ArmExpiry(NetMs(T0 + 43_200_000))));
    // Dated in the past: counts from the claimed send time.
    let o = text(
        "from the past",
        None,
        DisappearingSetting::AfterSend(43_200),
        T0 - 100_000,
    );
    w.receive(vec![received(&w.me, &bob_id, &o, "f2", T0)]);
    let past = w
        .messages(&bob)
        .into_iter()
        .find(|m| m.body == "from the past")
        .expect("stored");
    assert_eq!(past.expires_at_ms, Some(T0 + 43_100_000));
    // After-read waits for reading.
    let o = text("read first", None, DisappearingSetting::AfterRead(300), T0);
    w.receive(vec![received(&w.me, &bob_id, &o, "f3", T0)]);
    let unread = w
        .messages(&bob)
        .into_iter()
        .find(|m| m.body == "read first")
        .expect("stored");
    assert_eq!(unread.expires_at_ms, None);
    w.clock.now = T0 + 43_200_001;
    block_on(w.convo.sweep(io!(w))).expect("sweep");
    let left: Vec<String> = w.messages(&bob).into_iter().map(|m| m.body).collect();
    assert_eq!(left, vec!["read first".to_owned()]);
}

#[test]
fn a_database_failure_while_receiving_is_reported() {
    let mut w = World::new(OFF);
    let bob_id = identity(2);
    // The conversation list no longer decrypts.
    let id = w.vault.record_storage_id("msgdb/v2/conversations");
    block_on(w.store.put(&id, b"not a sealed record")).expect("put");
    let o = text("hi", None, DisappearingSetting::Off, T0 + 1);
    let typing = compose_typing(&ON, true, T0 + 2).expect("typing");
    let effects = w.receive(vec![
        received(&w.me, &bob_id, &o, "h", T0 + 2),
        received(&w.me, &bob_id, &typing, "t", T0 + 2),
    ]);
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Ui(UiChange::Error(ConvoError::Db(_)))]
        ),
        "{effects:?}"
    );
    assert!(matches!(
        block_on(
            w.convo
                .send_text(io!(w), &dm(bob_id.account_id()), "x".into(), None)
        ),
        Err(ConvoError::Db(_))
    ));
}

// ----- local ids and kinds of conversation ---------------------------------------------------

#[test]
fn a_texts_local_id_round_trips_to_its_key_and_controls_are_not_texts() {
    let id = text_local_id(MessageKey(42));
    assert_eq!(text_key(&id), Some(MessageKey(42)));
    // The string forms are those persisted outboxes hold, and they parse back.
    assert_eq!(id.to_string(), "42");
    assert_eq!(text_key(&LocalId::from("42")), Some(MessageKey(42)));
    for (kind, prefix) in [
        (ControlKind::Reaction, "react"),
        (ControlKind::Unsend, "unsend"),
        (ControlKind::UnsendOwn, "unsend-own"),
        (ControlKind::Timer, "timer"),
        (ControlKind::Typing, "typing"),
        (ControlKind::Receipt, "receipt"),
        (ControlKind::Accept, "accept"),
    ] {
        let control = LocalId::Control {
            kind,
            sent: NetMs(7),
        };
        assert_eq!(control.to_string(), format!("{prefix}/7"));
        assert_eq!(LocalId::from(control.to_string()), control);
        assert_eq!(text_key(&control), None, "{prefix}");
    }
    // A sync copy of a text, labels and anything else are not texts either.
    assert_eq!(text_key(&id.sync_copy()), None);
    for bad in ["", "react/5", "+5", "5/sync", "99999999999999999999999"] {
        assert_eq!(text_key(&LocalId::from(bad)), None, "{bad}");
    }
}

#[test]
fn other_kinds_of_conversation_get_a_typed_error_or_are_left_alone() {
    let mut w = World::new(ON);
    let me = w.me.account_id();
    let group = ConversationId::Group(GroupId([7; 32]));
    // A group text of ours, stored as still to be sent.
    let key = w.insert(NewMessage {
        conversation: group.clone(),
        direction: Direction::Outgoing,
        author: me,
        sent_ms: T0 - 10,
        received_ms: T0 - 10,
        body: "to the group".into(),
        storage_hash: None,
        outbox: Some(OutboxState::Pending),
        disappearing: None,
        quote: None,
        placeholder: None,
        attachments: Vec::new(),
    });
    let unsupported = Err(ConvoError::UnsupportedConversation);
    assert_eq!(
        block_on(w.convo.send_text(io!(w), &group, "hi".into(), None)),
        unsupported
    );
    assert_eq!(
        block_on(w.convo.retry(io!(w), &group, key, false)),
        unsupported
    );
    assert_eq!(
        block_on(w.convo.react(io!(w), &group, key, "👍".into())),
        unsupported
    );
    assert_eq!(block_on(w.convo.unsend(io!(w), &group, key)), unsupported);
    let five = offered_setting(DisappearingMode::AfterSend, 43_200).expect("offered");
    assert_eq!(
        block_on(w.convo.set_disappearing(io!(w), &group, five)),
        unsupported
    );
    assert_eq!(block_on(w.convo.typing(io!(w), &group, true)), unsupported);
    assert_eq!(block_on(w.convo.accept(io!(w), &group)), unsupported);
    assert_eq!(
        ConvoError::UnsupportedConversation.kind(),
        ErrorKind::BadApiUsage
    );
    // Nothing was sent or changed for the group.
    let stored = block_on(w.db().message(&group, key))
        .expect("read")
        .expect("stored");
    assert!(!stored.deleted && stored.reactions.is_empty());
    assert_eq!(stored.outbox, Some(OutboxState::Pending));
    // Its pending text is not resumed: these rules do not send to groups yet.
    let effects = block_on(w.convo.resume(io!(w), &|_| false)).expect("resume");
    assert!(sends(&w, &effects).is_empty(), "{effects:?}");
    // An unsend of it from our other devices is left alone.
    let target = WireId {
        author: me,
        sent_timestamp_ms: T0 - 10,
    };
    let u = compose_unsend(&me, &target, T0 + 1).expect("unsend");
    let effects = w.receive(vec![received(&w.me, &w.me, &u, "u1", T0 + 2)]);
    assert!(effects.is_empty(), "{effects:?}");
    let stored = block_on(w.db().message(&group, key))
        .expect("read")
        .expect("stored");
    assert_eq!(stored.body, "to the group");
    // The local intents work for any kind: open (and read), delete for me, delete.
    let effects = block_on(w.convo.open(io!(w), &group)).expect("open");
    assert!(effects.contains(&Effect::Ui(UiChange::Conversation(group.clone()))));
    assert_eq!(w.convo.open_conversation(), Some(&group));
    let effects = block_on(w.convo.delete_for_me(io!(w), &group, key)).expect("delete");
    assert_eq!(
        effects,
        vec![Effect::Ui(UiChange::Conversation(group.clone()))]
    );
    let effects = block_on(w.convo.delete_conversation(io!(w), &group)).expect("delete");
    assert!(effects.contains(&Effect::Ui(UiChange::ConversationRemoved(group.clone()))));
    assert_eq!(w.convo.open_conversation(), None);
}

// ----- content Umbra cannot show yet (fidelity review M9) --------------------------------------

/// `content` as a message from `from`, classified like the client does.
fn received_content(
    me: &Identity,
    from: &Identity,
    content: umbra_protocol::message::proto::Content,
    sent_ms: u64,
    hash: &str,
) -> ReceivedMessage {
    let o = Outgoing {
        content,
        sent_timestamp_ms: sent_ms,
        ttl_ms: DEFAULT_TTL_MS,
    };
    received(me, from, &o, hash, sent_ms + 5)
}

fn data(d: DataMessage) -> Content {
    Content {
        data_message: Some(d),
        ..Content::default()
    }
}

/// Attachments (with their caption text) and voice messages are stored as messages with
/// attachments, and the caller is told to fetch them; calls (one per call id), group and
/// community invitations and unknown kinds are kept as placeholders instead of being dropped;
/// config and group control stay invisible; a blocked peer's are dropped as their texts are.
#[test]
fn unsupported_content_is_kept_as_placeholders() {
    use umbra_protocol::message::proto::{
        AttachmentPointer, GroupUpdateInvite, GroupUpdateMessage, OpenGroupInvitation,
        SharedConfigMessage,
    };
    let mut w = World::new(OFF);
    let bob_id = identity(2);
    let bob = bob_id.account_id();
    let me = identity(1);
    let attachment = data(DataMessage {
        body: Some("look at this".into()),
        attachments: vec![AttachmentPointer::default()],
        profile: Some(umbra_protocol::message::proto::LokiProfile {
            display_name: Some("Bob".into()),
            ..Default::default()
        }),
        ..DataMessage::default()
    });
    let effects = w.receive(vec![received_content(&me, &bob_id, attachment, T0, "a1")]);
    assert!(changed(&effects, bob));
    assert!(effects.iter().any(|e| matches!(e,
        Effect::Ui(UiChange::Attachments { conversation, .. }) if *conversation == dm(bob))));
    // The caption text is the body, the notification shows it, the name is taken.
    assert!(effects.contains(&Effect::Ui(UiChange::Incoming {
        conversation: dm(bob),
        display_name: Some("Bob".into()),
        preview: "look at this".into(),
    })));
    let voice = data(DataMessage {
        attachments: vec![AttachmentPointer {
            flags: Some(AttachmentPointer::FLAG_VOICE_MESSAGE),
            ..AttachmentPointer::default()
        }],
        ..DataMessage::default()
    });
    let effects = w.receive(vec![received_content(&me, &bob_id, voice, T0 + 1, "a2")]);
    // No text: the notification and the list say what it is.
    assert!(effects.contains(&Effect::Ui(UiChange::Incoming {
        conversation: dm(bob),
        display_name: Some("Bob".into()),
        preview: "Voice message".into(),
    })));
    let conv = block_on(w.db().conversation(&dm(bob)))
        .expect("c")
        .expect("c");
    assert_eq!(
        conv.last_message.map(|m| m.preview),
        Some("Voice message".into())
    );
    let invite = data(DataMessage {
        group_update_message: Some(GroupUpdateMessage {
            invite_message: Some(GroupUpdateInvite {
                name: Some("Book club".into()),
            }),
            promote_message: None,
        }),
        ..DataMessage::default()
    });
    let community = data(DataMessage {
        open_group_invitation: Some(OpenGroupInvitation {
            url: "https://open.example/room?public_key=00".into(),
            name: "Open room".into(),
        }),
        ..DataMessage::default()
    });
    let control = data(DataMessage {
        group_update_message: Some(GroupUpdateMessage::default()),
        ..DataMessage::default()
    });
    let config = Content {
        shared_config_message: Some(SharedConfigMessage::default()),
        ..Content::default()
    };
    w.receive(vec![
        received_content(&me, &bob_id, invite, T0 + 7, "g1"),
        received_content(&me, &bob_id, community, T0 + 8, "o1"),
        received_content(&me, &bob_id, control, T0 + 9, "x1"),
        received_content(&me, &bob_id, config, T0 + 10, "x2"),
        received_content(&me, &bob_id, Content::default(), T0 + 11, "u1"),
    ]);
    let stored = w.messages(&bob);
    assert_eq!(stored[0].attachments.len(), 1);
    assert!(stored[1].attachments[0].meta.voice);
    let kept: Vec<(Option<Placeholder>, String)> = stored
        .into_iter()
        .map(|m| (m.placeholder, m.body))
        .collect();
    assert_eq!(
        kept,
        vec![
            // Attachments are messages of their own now (not placeholders).
            (None, "look at this".into()),
            (None, String::new()),
            (
                Some(Placeholder::GroupInvitation {
                    name: "Book club".into()
                }),
                String::new()
            ),
            (
                Some(Placeholder::CommunityInvitation {
                    name: "Open room".into()
                }),
                String::new()
            ),
            (Some(Placeholder::Unknown), String::new()),
        ]
    );
    // Our other device sent an attachment: ours, sent, no notification.
    let mut mine = data(DataMessage {
        body: Some("from my phone".into()),
        attachments: vec![AttachmentPointer::default()],
        sync_target: Some(bob.to_string()),
        ..DataMessage::default()
    });
    mine.sig_timestamp = None;
    let effects = w.receive(vec![received_content(&me, &me, mine, T0 + 12, "s1")]);
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::Ui(UiChange::Incoming { .. })))
    );
    let last = w.messages(&bob).pop().expect("stored");
    assert_eq!(
        (
            last.direction,
            last.placeholder,
            last.body.as_str(),
            last.attachments.len()
        ),
        (Direction::Outgoing, None, "from my phone", 1)
    );
    // A blocked peer's attachment is dropped like their texts.
    let carol_id = identity(3);
    let carol = carol_id.account_id();
    block_on(w.convo.set_blocked(io!(w), carol, true)).expect("block");
    let theirs = data(DataMessage {
        attachments: vec![AttachmentPointer::default()],
        ..DataMessage::default()
    });
    let effects = w.receive(vec![received_content(
        &me,
        &carol_id,
        theirs,
        T0 + 13,
        "b1",
    )]);
    assert_eq!(effects, vec![]);
    assert!(w.messages(&carol).is_empty());
}

/// A peer's profile picture is taken from a newer profile (URL and key), the caller is told
/// to fetch it, its bytes are kept only for the picture still current, and a newer profile
/// without one removes it and its bytes.
#[test]
fn a_peers_picture_follows_their_newer_profile() {
    use umbra_protocol::message::ProfilePicture;
    let mut w = World::new(OFF);
    let bob_id = identity(2);
    let bob = bob_id.account_id();
    let pic = |n: u8| ProfilePicture {
        url: format!("http://files.test/file/pic{n}"),
        key: vec![n; 32],
    };
    let with = |picture: Option<ProfilePicture>, updated_s: u64, sent: u64| {
        let profile = Profile::new("Bob")
            .expect("name")
            .updated_at(updated_s)
            .with_picture(picture);
        let draft = TextDraft {
            body: "hi".into(),
            profile: Some(profile),
            ..TextDraft::default()
        };
        compose_text(&draft, sent).expect("compose")
    };
    let conv = |w: &World| {
        block_on(w.db().conversation(&dm(bob)))
            .expect("c")
            .expect("c")
    };
    let effects = w.receive(vec![received(
        &w.me,
        &bob_id,
        &with(Some(pic(1)), 10, T0),
        "p1",
        T0,
    )]);
    assert!(effects.contains(&Effect::Ui(UiChange::Avatar(dm(bob)))));
    assert_eq!(conv(&w).avatar, Some(pic(1)));
    // The fetched bytes are stored for the current picture only.
    let url1 = pic(1).url;
    let mut rng = ChaCha20Rng::seed_from_u64(77);
    let mut db = MessageDb::new(&w.store, &w.vault);
    assert!(block_on(db.store_avatar(&dm(bob), &url1, b"one", &mut rng)).expect("s"));
    assert!(!block_on(db.store_avatar(&dm(bob), "http://other", b"x", &mut rng)).expect("s"));
    assert_eq!(
        block_on(db.avatar_bytes(&dm(bob)))
            .expect("r")
            .as_deref()
            .map(|v| &v[..]),
        Some(&b"one"[..])
    );
    assert!(conv(&w).avatar_stored);
    // An older profile with another picture changes nothing.
    let effects = w.receive(vec![received(
        &w.me,
        &bob_id,
        &with(Some(pic(2)), 5, T0 + 1),
        "p2",
        T0 + 1,
    )]);
    assert!(!effects.contains(&Effect::Ui(UiChange::Avatar(dm(bob)))));
    assert_eq!(conv(&w).avatar, Some(pic(1)));
    // The same picture in a newer profile: nothing to fetch.
    let effects = w.receive(vec![received(
        &w.me,
        &bob_id,
        &with(Some(pic(1)), 20, T0 + 2),
        "p3",
        T0 + 2,
    )]);
    assert!(!effects.contains(&Effect::Ui(UiChange::Avatar(dm(bob)))));
    // A newer profile without a picture removes it and its bytes.
    let effects = w.receive(vec![received(
        &w.me,
        &bob_id,
        &with(None, 30, T0 + 3),
        "p4",
        T0 + 3,
    )]);
    assert!(effects.contains(&Effect::Ui(UiChange::Avatar(dm(bob)))));
    let c = conv(&w);
    assert_eq!((c.avatar, c.avatar_stored), (None, false));
    assert_eq!(block_on(w.db().avatar_bytes(&dm(bob))).expect("r"), None);
}

#[test]
fn a_note_to_self_from_another_device_is_ours_and_no_request() {
    let mut w = World::new(OFF);
    let me = w.me.account_id();
    let me_too = identity(1);
    assert_eq!(me_too.account_id(), me);
    // Written on another device of the account: stored in the own swarm, no sync target.
    let note = text("remember the milk", None, DisappearingSetting::Off, T0);
    w.receive(vec![received(&me_too, &me_too, &note, "h-note", T0 + 5)]);
    let got = w.messages(&me);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, "remember the milk");
    assert_eq!(got[0].direction, Direction::Outgoing, "written by us");
    assert_eq!(
        w.state(&me),
        Some(ConversationState::Accepted),
        "no request from ourselves"
    );
}

/// Call entries (`record_call`): ours always, the peer's only in an accepted conversation,
/// one per call id; missed calls keep the caller's time.
#[test]
fn test_record_call_entries() {
    use umbra_protocol::store::messages::CallEntry;
    let mut w = World::new(OFF);
    let bob = identity(2).account_id();
    let carol = identity(3).account_id();
    // A stranger's missed call leaves no trace (desktop adds none for the unapproved).
    let effects =
        block_on(
            w.convo
                .record_call(io!(w), carol, "c0", CallEntry::Missed, NetMs(T0 - 5)),
        )
        .expect("record");
    assert!(effects.is_empty());
    assert!(w.messages(&carol).is_empty());
    // We call Bob: our entry, and the conversation is ours.
    let effects = block_on(
        w.convo
            .record_call(io!(w), bob, "c1", CallEntry::Outgoing, NetMs(T0)),
    )
    .expect("record");
    assert_eq!(effects, vec![Effect::Ui(UiChange::Conversation(dm(bob)))]);
    // The same call again (say, a second outcome): still one entry.
    block_on(
        w.convo
            .record_call(io!(w), bob, "c1", CallEntry::Missed, NetMs(T0)),
    )
    .expect("record");
    block_on(
        w.convo
            .record_call(io!(w), bob, "c2", CallEntry::Missed, NetMs(T0 - 1_000)),
    )
    .expect("record");
    block_on(
        w.convo
            .record_call(io!(w), bob, "c3", CallEntry::Incoming, NetMs(T0 + 10)),
    )
    .expect("record");
    let entries: Vec<(Direction, Option<Placeholder>, u64)> = w
        .messages(&bob)
        .into_iter()
        .map(|m| (m.direction, m.placeholder, m.sent_ms))
        .collect();
    let call = |id: &str, entry| {
        Some(Placeholder::Call {
            call_id: id.into(),
            entry,
        })
    };
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert!(entries.contains(&(
        Direction::Incoming,
        call("c2", CallEntry::Missed),
        T0 - 1_000
    )));
    assert!(
        entries
            .iter()
            .any(|e| e.0 == Direction::Outgoing && e.1 == call("c1", CallEntry::Outgoing))
    );
    assert!(
        entries
            .iter()
            .any(|e| e.0 == Direction::Incoming && e.1 == call("c3", CallEntry::Incoming))
    );
    assert_eq!(w.state(&bob), Some(ConversationState::Accepted));
}
