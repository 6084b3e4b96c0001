//! Conformance bodies for [`Store::write_batch`] and the message database
//! ([`MessageDb`](crate::store::MessageDb)): deduplication, ordering, unread counts and the
//! outbox across a reload (lock and unlock again), requests and blocking, expiry sweeps,
//! search, deletion, and a scan proving no text or Account ID is stored in the clear.

use crate::address::ConversationId;
use crate::identity::{AccountId, Identity, Seed};
use crate::store::messages::{
    ConversationState, ConversationUpdate, Direction, Disappearing, DisappearingMode,
    InsertOutcome, MessageDb, MessageDbError, MessageKey, MessageRef, NewMessage, OutboxState,
    Quote, TOMBSTONE_KEEP_MS,
};
use crate::store::{BatchOp, Store, UnlockedVault, Vault};

use super::{PASS, contains, snapshot, test_rng, test_seed};

/// The Account ID of test peer `n`.
pub fn peer(n: u8) -> AccountId {
    Identity::from_seed(&Seed::from_entropy(&[n; 16]).expect("16 bytes")).account_id()
}

/// The 1:1 conversation with `account`.
pub fn dm(account: AccountId) -> ConversationId {
    ConversationId::Direct(account)
}

/// An incoming message from `from` in their 1:1 conversation, sent at `sent_ms`.
pub fn incoming(from: AccountId, sent_ms: u64, body: &str, hash: Option<&str>) -> NewMessage {
    NewMessage {
        conversation: dm(from),
        direction: Direction::Incoming,
        author: from,
        sent_ms,
        received_ms: sent_ms + 5,
        body: body.to_owned(),
        storage_hash: hash.map(str::to_owned),
        outbox: None,
        disappearing: None,
        quote: None,
        placeholder: None,
        attachments: Vec::new(),
    }
}

/// An outgoing message from `me` in the 1:1 conversation with `to`, sent at `sent_ms`
/// (outbox state pending).
pub fn outgoing(me: AccountId, to: AccountId, sent_ms: u64, body: &str) -> NewMessage {
    NewMessage {
        conversation: dm(to),
        direction: Direction::Outgoing,
        author: me,
        sent_ms,
        received_ms: sent_ms,
        body: body.to_owned(),
        storage_hash: None,
        outbox: None,
        disappearing: None,
        quote: None,
        placeholder: None,
        attachments: Vec::new(),
    }
}

async fn new_vault<S: Store>(store: &S, rng_seed: u64) -> UnlockedVault {
    let mut rng = test_rng(rng_seed);
    Vault::create_insecure_for_tests(store, PASS, &test_seed(), &mut rng)
        .await
        .expect("create vault")
}

async fn reopen<S: Store>(store: &S) -> UnlockedVault {
    Vault::unlock(store, PASS).await.expect("unlock")
}

fn inserted(o: InsertOutcome) -> MessageKey {
    match o {
        InsertOutcome::Inserted(id) => id,
        other => panic!("expected Inserted, got {other:?}"),
    }
}

fn bodies(list: &[crate::store::messages::Message]) -> Vec<&str> {
    list.iter().map(|m| m.body.as_str()).collect()
}

/// `write_batch` applies puts and deletes in order; a later op on the same id wins.
pub async fn store_write_batch<S: Store>(store: &S) {
    store.put("old", b"x").await.expect("put");
    store.write_batch(&[]).await.expect("empty batch");
    let ops = [
        BatchOp::Put {
            id: "a".into(),
            bytes: b"1".to_vec(),
        },
        BatchOp::Put {
            id: "b".into(),
            bytes: b"2".to_vec(),
        },
        BatchOp::Delete { id: "old".into() },
        BatchOp::Put {
            id: "a".into(),
            bytes: b"3".to_vec(),
        },
        BatchOp::Put {
            id: "c".into(),
            bytes: b"4".to_vec(),
        },
        BatchOp::Delete { id: "c".into() },
        BatchOp::Delete { id: "never".into() },
    ];
    store.write_batch(&ops).await.expect("batch");
    assert_eq!(store.get("a").await, Ok(Some(b"3".to_vec())));
    assert_eq!(store.get("b").await, Ok(Some(b"2".to_vec())));
    assert_eq!(store.get("c").await, Ok(None));
    assert_eq!(store.get("old").await, Ok(None));
    let mut ids = store.ids().await.expect("ids");
    ids.sort();
    assert_eq!(ids, vec!["a".to_owned(), "b".to_owned()]);
}

/// A message is stored once in its conversation: again by the same storage hash, or by the
/// same (author, sent time) under another hash (which is added to it), also after a reload.
pub async fn msgdb_dedup_both_ways<S: Store>(store: &S) {
    let vault = new_vault(store, 20).await;
    let mut rng = test_rng(21);
    let alice = peer(1);
    let mut db = MessageDb::new(store, &vault);
    let id = inserted(
        db.insert_message(incoming(alice, 1000, "hello", Some("h1")), &mut rng)
            .await
            .expect("insert"),
    );
    // Same hash (even with other fields) is the same message.
    let again = db
        .insert_message(incoming(alice, 1000, "hello", Some("h1")), &mut rng)
        .await;
    assert_eq!(again, Ok(InsertOutcome::Duplicate(id)));
    let other_ts_same_hash = db
        .insert_message(incoming(alice, 2000, "changed", Some("h1")), &mut rng)
        .await;
    assert_eq!(other_ts_same_hash, Ok(InsertOutcome::Duplicate(id)));
    // Same identity, another hash (copy from another swarm node / another namespace).
    let same_identity = db
        .insert_message(incoming(alice, 1000, "hello", Some("h2")), &mut rng)
        .await;
    assert_eq!(same_identity, Ok(InsertOutcome::Duplicate(id)));
    let no_hash = db
        .insert_message(incoming(alice, 1000, "hello", None), &mut rng)
        .await;
    assert_eq!(no_hash, Ok(InsertOutcome::Duplicate(id)));
    // A genuinely new message with the same text is stored.
    let second = inserted(
        db.insert_message(incoming(alice, 4000, "hello", Some("h3")), &mut rng)
            .await
            .expect("insert"),
    );
    assert_ne!(second, id);

    let list = db.list_messages(&dm(alice), 100, 0).await.expect("list");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].id, id);
    assert_eq!(
        list[0].storage_hashes,
        vec!["h1".to_owned(), "h2".to_owned()]
    );
    assert_eq!(list[0].body, "hello");
    assert_eq!(
        db.conversation(&dm(alice))
            .await
            .expect("conv")
            .expect("exists")
            .unread_count,
        2
    );
    drop(vault);

    // Still deduplicated after a reload.
    let vault = reopen(store).await;
    let mut db = MessageDb::new(store, &vault);
    for (ts, hash) in [(1000, Some("h1")), (1000, Some("h9")), (4000, None)] {
        let r = db
            .insert_message(incoming(alice, ts, "hello", hash), &mut rng)
            .await
            .expect("insert");
        assert!(matches!(r, InsertOutcome::Duplicate(_)), "{ts}: {r:?}");
    }
    // The re-delivered copy's new hash joined the stored message.
    let kept = db.message(&dm(alice), id).await.expect("get").expect("h1");
    assert_eq!(
        kept.storage_hashes,
        vec!["h1".to_owned(), "h2".to_owned(), "h9".to_owned()]
    );
    assert_eq!(db.message_count(&dm(alice)).await, Ok(2));
}

/// Messages list in sent-time order whatever the arrival order, pages by count from the
/// newest; conversations list by latest activity with the newest message as preview.
pub async fn msgdb_ordering<S: Store>(store: &S) {
    let vault = new_vault(store, 22).await;
    let me = vault.account_id();
    let mut rng = test_rng(23);
    let (alice, bob) = (peer(1), peer(2));
    let mut db = MessageDb::new(store, &vault);
    for (ts, body) in [(300, "c"), (100, "a"), (500, "e"), (200, "b"), (400, "d")] {
        db.insert_message(incoming(alice, ts, body, None), &mut rng)
            .await
            .expect("insert");
    }
    db.insert_message(outgoing(me, alice, 350, "mine"), &mut rng)
        .await
        .expect("insert");
    // Same sent time, other author: ordered by local id (arrival order). Same author and
    // sent time is the same message.
    db.insert_message(outgoing(me, alice, 500, "e2"), &mut rng)
        .await
        .expect("insert");
    assert!(matches!(
        db.insert_message(incoming(alice, 500, "e again", None), &mut rng)
            .await,
        Ok(InsertOutcome::Duplicate(_))
    ));
    let all = db.list_messages(&dm(alice), 100, 0).await.expect("list");
    assert_eq!(bodies(&all), ["a", "b", "c", "mine", "d", "e", "e2"]);
    assert!(all.windows(2).all(|w| w[0].sent_ms <= w[1].sent_ms));
    assert_eq!(all[3].direction, Direction::Outgoing);
    assert_eq!(all[3].author, me);
    assert_eq!(all[0].author, alice);
    assert_eq!(all[0].received_ms, 105);
    let newest = db.list_messages(&dm(alice), 3, 0).await.expect("page");
    assert_eq!(bodies(&newest), ["d", "e", "e2"]);
    let older = db.list_messages(&dm(alice), 3, 3).await.expect("page");
    assert_eq!(bodies(&older), ["b", "c", "mine"]);
    let oldest = db.list_messages(&dm(alice), 3, 6).await.expect("page");
    assert_eq!(bodies(&oldest), ["a"]);
    assert_eq!(db.list_messages(&dm(alice), 3, 7).await, Ok(Vec::new()));
    assert_eq!(db.list_messages(&dm(alice), 0, 0).await, Ok(Vec::new()));
    assert_eq!(db.list_messages(&dm(peer(9)), 10, 0).await, Ok(Vec::new()));

    db.insert_message(incoming(bob, 450, "from bob", None), &mut rng)
        .await
        .expect("insert");
    let convs = db.list_conversations().await.expect("list");
    assert_eq!(
        convs.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        [dm(alice), dm(bob)]
    );
    let last = convs[0].last_message.as_ref().expect("last");
    assert_eq!((last.sent_ms, last.preview.as_str()), (500, "e2"));
    assert_eq!(convs[0].last_activity_ms, 500);
    // A newer message to bob moves bob to the top; a long body is cut for the preview.
    let long = "x".repeat(500);
    db.insert_message(outgoing(me, bob, 900, &long), &mut rng)
        .await
        .expect("insert");
    let convs = db.list_conversations().await.expect("list");
    assert_eq!(convs[0].id, dm(bob));
    let last = convs[0].last_message.as_ref().expect("last");
    assert_eq!(last.preview.chars().count(), 100);
    assert_eq!(last.direction, Direction::Outgoing);
    // An older message arriving late does not replace the preview.
    db.insert_message(incoming(bob, 10, "ancient", None), &mut rng)
        .await
        .expect("insert");
    let conv = db.conversation(&dm(bob)).await.expect("c").expect("bob");
    assert_eq!(conv.last_message.expect("last").sent_ms, 900);
    assert_eq!(conv.last_activity_ms, 900);
}

/// Unread counts and read flags survive locking and unlocking; marking read returns exactly
/// the incoming messages that became read.
pub async fn msgdb_unread_across_reload<S: Store>(store: &S) {
    let vault = new_vault(store, 24).await;
    let me = vault.account_id();
    let mut rng = test_rng(25);
    let alice = peer(1);
    let mut ids = Vec::new();
    {
        let mut db = MessageDb::new(store, &vault);
        for (i, ts) in [10u64, 20, 30].into_iter().enumerate() {
            let hash = format!("hash-{i}");
            ids.push(inserted(
                db.insert_message(incoming(alice, ts, "hi", Some(&hash)), &mut rng)
                    .await
                    .expect("insert"),
            ));
        }
        db.insert_message(outgoing(me, alice, 25, "reply"), &mut rng)
            .await
            .expect("insert");
    }
    drop(vault);
    let vault = reopen(store).await;
    let mut db = MessageDb::new(store, &vault);
    let conv = db
        .conversation(&dm(alice))
        .await
        .expect("c")
        .expect("alice");
    assert_eq!(conv.unread_count, 3);
    assert_eq!(conv.last_read_ms, 0);
    assert_eq!(
        conv.state,
        ConversationState::Accepted,
        "the reply accepted the request"
    );
    let marked = db
        .mark_read(&dm(alice), 5000, &mut rng)
        .await
        .expect("read");
    assert_eq!(marked.iter().map(|m| m.id).collect::<Vec<_>>(), ids);
    assert_eq!(
        marked.iter().map(|m| m.sent_ms).collect::<Vec<_>>(),
        [10, 20, 30]
    );
    assert!(marked.iter().all(|m| m.expires_at_ms.is_none()));
    assert_eq!(
        db.mark_read(&dm(alice), 6000, &mut rng).await,
        Ok(Vec::new())
    );
    assert_eq!(
        db.mark_read(&dm(peer(7)), 6000, &mut rng).await,
        Err(MessageDbError::NoSuchConversation)
    );
    drop(vault);

    let vault = reopen(store).await;
    let mut db = MessageDb::new(store, &vault);
    let conv = db
        .conversation(&dm(alice))
        .await
        .expect("c")
        .expect("alice");
    assert_eq!(conv.unread_count, 0);
    assert_eq!(conv.last_read_ms, 6000);
    let list = db.list_messages(&dm(alice), 10, 0).await.expect("list");
    assert!(
        list.iter()
            .filter(|m| m.direction == Direction::Incoming)
            .all(|m| m.read)
    );
    // Outgoing messages are "read" only by a read receipt from the peer.
    let mine = list
        .iter()
        .find(|m| m.direction == Direction::Outgoing)
        .expect("outgoing");
    assert!(!mine.read);
    assert_eq!(
        db.mark_read_by_peer(&dm(alice), &[25, 999], &mut rng).await,
        Ok(vec![mine.id])
    );
    assert_eq!(
        db.mark_read_by_peer(&dm(alice), &[25], &mut rng).await,
        Ok(Vec::new())
    );
    db.insert_message(incoming(alice, 40, "new", Some("hash-3")), &mut rng)
        .await
        .expect("insert");
    drop(vault);
    let vault = reopen(store).await;
    let db = MessageDb::new(store, &vault);
    assert_eq!(
        db.conversation(&dm(alice))
            .await
            .expect("c")
            .expect("alice")
            .unread_count,
        1
    );
    let list = db.list_messages(&dm(alice), 10, 0).await.expect("list");
    assert!(list.iter().any(|m| m.id == mine.id && m.read));
}

/// Outbox entries keep their state across a reload; pending and interrupted sends are
/// resumed, sent and failed ones are not; misuse is refused.
pub async fn msgdb_outbox_resume<S: Store>(store: &S) {
    let vault = new_vault(store, 26).await;
    let me = vault.account_id();
    let mut rng = test_rng(27);
    let (alice, bob) = (peer(1), peer(2));
    let (a1, a2, a3, b1);
    {
        let mut db = MessageDb::new(store, &vault);
        a1 = inserted(
            db.insert_message(outgoing(me, alice, 100, "one"), &mut rng)
                .await
                .expect("insert"),
        );
        a2 = inserted(
            db.insert_message(outgoing(me, alice, 200, "two"), &mut rng)
                .await
                .expect("insert"),
        );
        a3 = inserted(
            db.insert_message(outgoing(me, alice, 300, "three"), &mut rng)
                .await
                .expect("insert"),
        );
        b1 = inserted(
            db.insert_message(outgoing(me, bob, 150, "to bob"), &mut rng)
                .await
                .expect("insert"),
        );
        let synced = NewMessage {
            outbox: Some(OutboxState::Sent),
            storage_hash: Some("sync-hash".into()),
            ..outgoing(me, bob, 160, "from my other device")
        };
        db.insert_message(synced, &mut rng).await.expect("insert");
        db.set_outbox_state(&dm(alice), a1, OutboxState::Sending, None, &mut rng)
            .await
            .expect("state");
        db.set_outbox_state(
            &dm(alice),
            a2,
            OutboxState::Sent,
            Some("sent-hash"),
            &mut rng,
        )
        .await
        .expect("state");
        db.set_outbox_state(
            &dm(alice),
            a3,
            OutboxState::Failed { code: 7 },
            None,
            &mut rng,
        )
        .await
        .expect("state");
        assert_eq!(
            db.set_outbox_state(
                &dm(alice),
                MessageKey(999),
                OutboxState::Sent,
                None,
                &mut rng
            )
            .await,
            Err(MessageDbError::NoSuchMessage)
        );
        assert_eq!(
            db.set_outbox_state(&dm(bob), a1, OutboxState::Sent, None, &mut rng)
                .await,
            Err(MessageDbError::NoSuchMessage)
        );
        db.insert_message(incoming(alice, 50, "incoming", None), &mut rng)
            .await
            .expect("insert");
        let inc = db.list_messages(&dm(alice), 1, 3).await.expect("list")[0].id;
        assert_eq!(
            db.set_outbox_state(&dm(alice), inc, OutboxState::Sent, None, &mut rng)
                .await,
            Err(MessageDbError::NotOutgoing)
        );
        // An outgoing message must be authored by this account, an incoming one by the peer.
        assert_eq!(
            db.insert_message(outgoing(bob, alice, 1, "forged"), &mut rng)
                .await,
            Err(MessageDbError::WrongAuthor)
        );
        assert_eq!(
            db.insert_message(
                NewMessage {
                    author: bob,
                    ..incoming(alice, 1, "forged", None)
                },
                &mut rng
            )
            .await,
            Err(MessageDbError::WrongAuthor)
        );
    }
    drop(vault);
    let vault = reopen(store).await;
    let mut db = MessageDb::new(store, &vault);
    let pending = db.pending_outbox().await.expect("pending");
    assert_eq!(
        pending.iter().map(|m| m.id).collect::<Vec<_>>(),
        [a1, b1],
        "oldest first: interrupted a1, pending b1"
    );
    assert_eq!(pending[0].outbox, Some(OutboxState::Sending));
    assert_eq!(pending[0].body, "one");
    assert_eq!(pending[1].outbox, Some(OutboxState::Pending));
    assert_eq!(pending[1].conversation, dm(bob));
    let two = db.message(&dm(alice), a2).await.expect("get").expect("a2");
    assert_eq!(two.outbox, Some(OutboxState::Sent));
    assert_eq!(two.storage_hashes, vec!["sent-hash".to_owned()]);
    let three = db.message(&dm(alice), a3).await.expect("get").expect("a3");
    assert_eq!(three.outbox, Some(OutboxState::Failed { code: 7 }));
    // Our own sent copy coming back from a swarm is a duplicate, not a new message.
    let echo = NewMessage {
        storage_hash: Some("sent-hash".into()),
        ..outgoing(me, alice, 200, "two")
    };
    assert_eq!(
        db.insert_message(echo, &mut rng).await,
        Ok(InsertOutcome::Duplicate(a2))
    );
    // Retry of a failed message.
    db.set_outbox_state(&dm(alice), a3, OutboxState::Pending, None, &mut rng)
        .await
        .expect("retry");
    db.set_outbox_state(&dm(alice), a1, OutboxState::Sent, None, &mut rng)
        .await
        .expect("sent");
    db.set_outbox_state(&dm(bob), b1, OutboxState::Sent, None, &mut rng)
        .await
        .expect("sent");
    let pending = db.pending_outbox().await.expect("pending");
    assert_eq!(pending.iter().map(|m| m.id).collect::<Vec<_>>(), [a3]);
    assert!(
        db.list_messages(&dm(alice), 10, 0)
            .await
            .expect("list")
            .iter()
            .all(|m| (m.direction == Direction::Outgoing) == m.outbox.is_some())
    );
}

/// Unknown senders open a request; accepting, replying, blocking (messages dropped, hash
/// remembered) and unblocking behave as the UI expects.
pub async fn msgdb_requests_and_block<S: Store>(store: &S) {
    let vault = new_vault(store, 28).await;
    let me = vault.account_id();
    let mut rng = test_rng(29);
    let (alice, bob, carol) = (peer(1), peer(2), peer(3));
    let mut db = MessageDb::new(store, &vault);
    db.insert_message(incoming(alice, 10, "hi", Some("a1")), &mut rng)
        .await
        .expect("insert");
    db.insert_message(incoming(bob, 20, "spam", Some("b1")), &mut rng)
        .await
        .expect("insert");
    db.insert_message(outgoing(me, carol, 30, "hello carol"), &mut rng)
        .await
        .expect("insert");
    let state = |c: Option<crate::store::messages::Conversation>| c.expect("conv").state;
    assert_eq!(
        state(db.conversation(&dm(alice)).await.expect("c")),
        ConversationState::Request
    );
    assert_eq!(
        state(db.conversation(&dm(carol)).await.expect("c")),
        ConversationState::Accepted
    );
    db.accept(&dm(alice), &mut rng).await.expect("accept");
    assert_eq!(
        state(db.conversation(&dm(alice)).await.expect("c")),
        ConversationState::Accepted
    );
    assert_eq!(
        db.accept(&dm(peer(8)), &mut rng).await.map(|_| ()),
        Err(MessageDbError::NoSuchConversation)
    );

    // Blocking: later messages from bob are dropped (and not fetched again).
    db.block(&bob, 25, &mut rng).await.expect("block");
    assert_eq!(db.blocked().await, Ok(vec![bob]));
    assert_eq!(
        db.insert_message(incoming(bob, 40, "more spam", Some("b2")), &mut rng)
            .await,
        Ok(InsertOutcome::Blocked)
    );
    // Delivered again, it is dropped again (the network client's dedup drops it earlier).
    assert_eq!(
        db.insert_message(incoming(bob, 40, "more spam", Some("b2")), &mut rng)
            .await,
        Ok(InsertOutcome::Blocked)
    );
    assert_eq!(db.message_count(&dm(bob)).await, Ok(1));
    let blocked_conv = db.conversation(&dm(bob)).await.expect("c").expect("bob");
    assert_eq!(blocked_conv.unread_count, 1);
    // Blocking someone never seen creates a blocked entry.
    let dave = peer(4);
    db.block(&dave, 26, &mut rng).await.expect("block");
    assert_eq!(
        db.insert_message(incoming(dave, 50, "hey", None), &mut rng)
            .await,
        Ok(InsertOutcome::Blocked)
    );
    assert_eq!(db.message_count(&dm(dave)).await, Ok(0));
    let mut blocked = db.blocked().await.expect("blocked");
    blocked.sort();
    let mut expected = vec![bob, dave];
    expected.sort();
    assert_eq!(blocked, expected);
    drop(vault);

    let vault = reopen(store).await;
    let mut db = MessageDb::new(store, &vault);
    assert_eq!(db.blocked().await.expect("blocked").len(), 2);
    db.unblock(&bob, &mut rng).await.expect("unblock");
    assert_eq!(db.blocked().await, Ok(vec![dave]));
    assert!(matches!(
        db.insert_message(incoming(bob, 60, "after unblock", Some("b3")), &mut rng)
            .await,
        Ok(InsertOutcome::Inserted(_))
    ));
    // Replying to a request accepts it.
    let erin = peer(5);
    db.insert_message(incoming(erin, 70, "hi", None), &mut rng)
        .await
        .expect("insert");
    db.insert_message(outgoing(me, erin, 80, "hi back"), &mut rng)
        .await
        .expect("insert");
    assert_eq!(
        state(db.conversation(&dm(erin)).await.expect("c")),
        ConversationState::Accepted
    );
    // Display name and disappearing setting via upsert; persisted.
    let update = ConversationUpdate {
        display_name: Some(Some("Alice A.".into())),
        disappearing: Some(Disappearing {
            mode: DisappearingMode::AfterSend,
            timer_s: 60,
        }),
        ..ConversationUpdate::default()
    };
    db.upsert_conversation(&dm(alice), update, 90, &mut rng)
        .await
        .expect("upsert");
    drop(vault);
    let vault = reopen(store).await;
    let db = MessageDb::new(store, &vault);
    let conv = db
        .conversation(&dm(alice))
        .await
        .expect("c")
        .expect("alice");
    assert_eq!(conv.display_name.as_deref(), Some("Alice A."));
    assert_eq!(conv.disappearing.mode, DisappearingMode::AfterSend);
    assert_eq!(conv.disappearing.timer_s, 60);
    assert_eq!(conv.state, ConversationState::Accepted);
}

/// Disappearing messages: after-send expires from the sent time, after-read from the read
/// time; a sweep removes exactly the expired ones, which do not come back; old tombstones are
/// pruned.
pub async fn msgdb_sweep_expired<S: Store>(store: &S) {
    let vault = new_vault(store, 30).await;
    let me = vault.account_id();
    let mut rng = test_rng(31);
    let alice = peer(1);
    let mut db = MessageDb::new(store, &vault);
    let after_send = Disappearing {
        mode: DisappearingMode::AfterSend,
        timer_s: 60,
    };
    let after_read = Disappearing {
        mode: DisappearingMode::AfterRead,
        timer_s: 30,
    };
    let keep = inserted(
        db.insert_message(incoming(alice, 1_000, "keeps", Some("k")), &mut rng)
            .await
            .expect("insert"),
    );
    let send = inserted(
        db.insert_message(
            NewMessage {
                disappearing: Some(after_send),
                ..incoming(alice, 2_000, "after send", Some("s"))
            },
            &mut rng,
        )
        .await
        .expect("insert"),
    );
    let read = inserted(
        db.insert_message(
            NewMessage {
                disappearing: Some(after_read),
                ..incoming(alice, 3_000, "after read", Some("r"))
            },
            &mut rng,
        )
        .await
        .expect("insert"),
    );
    let mine = inserted(
        db.insert_message(
            NewMessage {
                disappearing: Some(after_read),
                ..outgoing(me, alice, 4_000, "my after read")
            },
            &mut rng,
        )
        .await
        .expect("insert"),
    );
    let m = db
        .message(&dm(alice), send)
        .await
        .expect("get")
        .expect("send");
    assert_eq!(m.expires_at_ms, Some(62_000));
    let m = db
        .message(&dm(alice), read)
        .await
        .expect("get")
        .expect("read");
    assert_eq!(m.expires_at_ms, None, "after-read waits for reading");
    let m = db
        .message(&dm(alice), mine)
        .await
        .expect("get")
        .expect("mine");
    assert_eq!(
        m.expires_at_ms,
        Some(34_000),
        "own messages count as read when sent"
    );

    assert_eq!(db.sweep_expired(33_999, &mut rng).await, Ok(Vec::new()));
    let marked = db
        .mark_read(&dm(alice), 50_000, &mut rng)
        .await
        .expect("read");
    let read_mark = marked.iter().find(|m| m.id == read).expect("marked");
    assert_eq!(read_mark.expires_at_ms, Some(80_000));

    let removed = db.sweep_expired(62_000, &mut rng).await.expect("sweep");
    let mut removed_ids: Vec<MessageKey> = removed.iter().map(|r| r.id).collect();
    removed_ids.sort();
    let mut expected = vec![send, mine];
    expected.sort();
    assert_eq!(removed_ids, expected);
    assert!(removed.iter().all(|r| r.conversation == dm(alice)));
    assert_eq!(db.message(&dm(alice), send).await, Ok(None));
    assert_eq!(db.sweep_expired(62_000, &mut rng).await, Ok(Vec::new()));
    drop(vault);

    let vault = reopen(store).await;
    let mut db = MessageDb::new(store, &vault);
    // An expired message fetched again (by identity, without its old hash) stays gone.
    assert_eq!(
        db.insert_message(incoming(alice, 2_000, "after send", None), &mut rng)
            .await,
        Ok(InsertOutcome::Deleted)
    );
    let removed = db.sweep_expired(80_000, &mut rng).await.expect("sweep");
    assert_eq!(removed.iter().map(|r| r.id).collect::<Vec<_>>(), [read]);
    let left = db.list_messages(&dm(alice), 10, 0).await.expect("list");
    assert_eq!(left.iter().map(|m| m.id).collect::<Vec<_>>(), [keep]);
    let conv = db
        .conversation(&dm(alice))
        .await
        .expect("c")
        .expect("alice");
    assert_eq!(conv.last_message.expect("last").id, keep);
    assert_eq!(conv.unread_count, 0);

    // set_expiry on a kept message; unknown ids are refused.
    db.set_expiry(&dm(alice), keep, Some(90_000), &mut rng)
        .await
        .expect("expiry");
    assert_eq!(
        db.set_expiry(&dm(alice), send, Some(1), &mut rng).await,
        Err(MessageDbError::NoSuchMessage)
    );
    db.set_expiry(&dm(alice), keep, None, &mut rng)
        .await
        .expect("clear expiry");
    assert_eq!(db.sweep_expired(100_000, &mut rng).await, Ok(Vec::new()));
    assert_eq!(db.message_count(&dm(alice)).await, Ok(1));
    assert!(db.conversation(&dm(alice)).await.expect("c").is_some());

    // Before that, the tombstone keeps a re-fetched copy (same hash) out.
    assert_eq!(
        db.insert_message(incoming(alice, 2_000, "after send", Some("s")), &mut rng)
            .await,
        Ok(InsertOutcome::Deleted)
    );
    // Long after (when no swarm keeps a copy), tombstones are pruned: neither the identity
    // nor the hash blocks a new insert any more (dropping repeats beyond one conversation's
    // index is the network client's dedup), and the new copy is deduplicated as usual.
    let later = 2_000 + TOMBSTONE_KEEP_MS + 1;
    assert_eq!(db.sweep_expired(later, &mut rng).await, Ok(Vec::new()));
    let back = inserted(
        db.insert_message(incoming(alice, 2_000, "after send", Some("s")), &mut rng)
            .await
            .expect("insert"),
    );
    assert_eq!(
        db.insert_message(incoming(alice, 2_000, "after send", None), &mut rng)
            .await,
        Ok(InsertOutcome::Duplicate(back))
    );
}

/// The next expiry across conversations, locating a message by identity, and recording an
/// extra storage hash (a sync copy's) on a message, also for an unsent one.
pub async fn msgdb_next_expiry_locate_hashes<S: Store>(store: &S) {
    let vault = new_vault(store, 40).await;
    let me = vault.account_id();
    let mut rng = test_rng(41);
    let (alice, bob) = (peer(1), peer(2));
    let mut db = MessageDb::new(store, &vault);
    assert_eq!(db.next_expiry().await, Ok(None));
    let plain = inserted(
        db.insert_message(incoming(alice, 1_000, "plain", Some("p")), &mut rng)
            .await
            .expect("insert"),
    );
    assert_eq!(db.next_expiry().await, Ok(None), "no timer yet");
    let after_read = Disappearing {
        mode: DisappearingMode::AfterRead,
        timer_s: 300,
    };
    let later = inserted(
        db.insert_message(
            NewMessage {
                disappearing: Some(after_read),
                ..incoming(bob, 2_000, "read me", Some("r"))
            },
            &mut rng,
        )
        .await
        .expect("insert"),
    );
    assert_eq!(
        db.next_expiry().await,
        Ok(None),
        "after-read waits for reading"
    );
    let mine = inserted(
        db.insert_message(
            NewMessage {
                disappearing: Some(Disappearing {
                    mode: DisappearingMode::AfterSend,
                    timer_s: 600,
                }),
                ..outgoing(me, alice, 3_000, "mine")
            },
            &mut rng,
        )
        .await
        .expect("insert"),
    );
    assert_eq!(db.next_expiry().await, Ok(Some(603_000)));
    db.mark_read(&dm(bob), 10_000, &mut rng)
        .await
        .expect("read");
    assert_eq!(
        db.next_expiry().await,
        Ok(Some(310_000)),
        "earliest of both"
    );
    db.sweep_expired(310_000, &mut rng).await.expect("sweep");
    assert_eq!(db.next_expiry().await, Ok(Some(603_000)));
    assert_eq!(db.message(&dm(bob), later).await, Ok(None));

    // Locate by identity; a message deleted for me is not found.
    let mine_ref = MessageRef {
        author: me,
        sent_ms: 3_000,
    };
    assert_eq!(db.locate(&mine_ref).await, Ok(Some(dm(alice))));
    let plain_ref = MessageRef {
        author: alice,
        sent_ms: 1_000,
    };
    assert_eq!(db.locate(&plain_ref).await, Ok(Some(dm(alice))));
    let wrong = MessageRef {
        author: bob,
        sent_ms: 1_000,
    };
    assert_eq!(db.locate(&wrong).await, Ok(None));
    assert_eq!(db.conversation_of(plain).await, Ok(Some(dm(alice))));
    assert_eq!(db.conversation_of(mine).await, Ok(Some(dm(alice))));
    assert_eq!(db.conversation_of(later).await, Ok(None), "expired");
    assert_eq!(db.conversation_of(MessageKey(999)).await, Ok(None));
    db.delete_message(&dm(alice), plain, &mut rng)
        .await
        .expect("delete");
    assert_eq!(db.locate(&plain_ref).await, Ok(None));
    assert_eq!(db.conversation_of(plain).await, Ok(None));

    // Extra hashes: kept once, survive a reload, also on an unsent message.
    db.add_storage_hash(&dm(alice), mine, "sync-1", &mut rng)
        .await
        .expect("hash");
    db.add_storage_hash(&dm(alice), mine, "sync-1", &mut rng)
        .await
        .expect("hash again");
    assert_eq!(
        db.add_storage_hash(&dm(alice), plain, "x", &mut rng).await,
        Err(MessageDbError::NoSuchMessage)
    );
    assert_eq!(
        db.add_storage_hash(&dm(bob), mine, "x", &mut rng).await,
        Err(MessageDbError::NoSuchMessage)
    );
    drop(vault);
    let vault = reopen(store).await;
    let mut db = MessageDb::new(store, &vault);
    let m = db
        .message(&dm(alice), mine)
        .await
        .expect("get")
        .expect("mine");
    assert_eq!(m.storage_hashes, vec!["sync-1".to_owned()]);
    db.unsend(&dm(alice), &mine_ref, &me, 5_000, &mut rng)
        .await
        .expect("unsend");
    assert_eq!(
        db.conversation_of(mine).await,
        Ok(Some(dm(alice))),
        "unsent: still known"
    );
    db.add_storage_hash(&dm(alice), mine, "sync-2", &mut rng)
        .await
        .expect("hash on unsent");
    let m = db
        .message(&dm(alice), mine)
        .await
        .expect("get")
        .expect("mine");
    assert!(m.deleted);
    assert_eq!(
        m.storage_hashes,
        vec!["sync-1".to_owned(), "sync-2".to_owned()]
    );
}

/// Search is a case-insensitive substring match over decrypted bodies, in one conversation or
/// all of them, newest first; deleted messages are not found.
pub async fn msgdb_search<S: Store>(store: &S) {
    let vault = new_vault(store, 32).await;
    let me = vault.account_id();
    let mut rng = test_rng(33);
    let (alice, bob) = (peer(1), peer(2));
    let mut db = MessageDb::new(store, &vault);
    db.insert_message(
        incoming(alice, 1, "Meet at the Café at noon", None),
        &mut rng,
    )
    .await
    .expect("insert");
    db.insert_message(outgoing(me, alice, 2, "see you at the CAFÉ"), &mut rng)
        .await
        .expect("insert");
    db.insert_message(incoming(bob, 3, "café? no, tea", None), &mut rng)
        .await
        .expect("insert");
    let gone = inserted(
        db.insert_message(incoming(bob, 4, "secret café plan", None), &mut rng)
            .await
            .expect("insert"),
    );
    db.insert_message(incoming(bob, 5, "unrelated", None), &mut rng)
        .await
        .expect("insert");
    db.delete_message(&dm(bob), gone, &mut rng)
        .await
        .expect("delete");

    let all = db.search("café", None).await.expect("search");
    assert_eq!(all.iter().map(|m| m.sent_ms).collect::<Vec<_>>(), [3, 2, 1]);
    let in_alice = db.search("CaFé", Some(&dm(alice))).await.expect("search");
    assert_eq!(
        in_alice.iter().map(|m| m.sent_ms).collect::<Vec<_>>(),
        [2, 1]
    );
    assert!(in_alice.iter().all(|m| m.conversation == dm(alice)));
    assert_eq!(
        db.search("noon", Some(&dm(bob))).await.expect("search"),
        Vec::new()
    );
    assert_eq!(db.search("secret", None).await.expect("search"), Vec::new());
    assert_eq!(db.search("", None).await.expect("search"), Vec::new());
    assert_eq!(
        db.search("nothing matches this", None)
            .await
            .expect("search"),
        Vec::new()
    );
    let one = db.search("at NOON", None).await.expect("search");
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].body, "Meet at the Café at noon");
}

/// Delete for me, unsend, reactions, quotes and deleting a whole conversation.
pub async fn msgdb_delete_unsend_react_quote<S: Store>(store: &S) {
    let vault = new_vault(store, 34).await;
    let me = vault.account_id();
    let mut rng = test_rng(35);
    let (alice, bob) = (peer(1), peer(2));
    let baseline = store.ids().await.expect("ids").len();
    let mut db = MessageDb::new(store, &vault);
    let first = inserted(
        db.insert_message(incoming(alice, 100, "first", Some("f")), &mut rng)
            .await
            .expect("insert"),
    );
    let quote = Quote {
        target: MessageRef {
            author: alice,
            sent_ms: 100,
        },
        text: "first".into(),
    };
    let reply = inserted(
        db.insert_message(
            NewMessage {
                quote: Some(quote.clone()),
                ..outgoing(me, alice, 200, "a reply")
            },
            &mut rng,
        )
        .await
        .expect("insert"),
    );
    let last = inserted(
        db.insert_message(incoming(alice, 300, "last", Some("l")), &mut rng)
            .await
            .expect("insert"),
    );
    assert_eq!(
        db.message(&dm(alice), reply)
            .await
            .expect("get")
            .expect("reply")
            .quote,
        Some(quote)
    );

    // Reactions by identity.
    let target = MessageRef {
        author: alice,
        sent_ms: 100,
    };
    assert_eq!(
        db.react(&dm(alice), &target, "👍", &me, true, &mut rng)
            .await,
        Ok(Some(first))
    );
    db.react(&dm(alice), &target, "👍", &alice, true, &mut rng)
        .await
        .expect("react");
    db.react(&dm(alice), &target, "❤", &alice, true, &mut rng)
        .await
        .expect("react");
    db.react(&dm(alice), &target, "❤", &alice, false, &mut rng)
        .await
        .expect("unreact");
    let missing = MessageRef {
        author: alice,
        sent_ms: 101,
    };
    assert_eq!(
        db.react(&dm(alice), &missing, "👍", &me, true, &mut rng)
            .await,
        Ok(None)
    );
    let m = db
        .find_message(&dm(alice), &target)
        .await
        .expect("find")
        .expect("first");
    assert_eq!(m.id, first);
    assert_eq!(m.reactions.len(), 1);
    let thumbs: Vec<AccountId> = m.reactions["👍"].iter().copied().collect();
    let mut expected = vec![me, alice];
    expected.sort();
    assert_eq!(thumbs, expected);

    // Delete for me: gone from the list and from search; the preview falls back.
    db.delete_message(&dm(alice), last, &mut rng)
        .await
        .expect("delete");
    assert_eq!(
        db.delete_message(&dm(alice), last, &mut rng).await,
        Err(MessageDbError::NoSuchMessage)
    );
    let conv = db
        .conversation(&dm(alice))
        .await
        .expect("c")
        .expect("alice");
    let lm = conv.last_message.expect("last");
    assert_eq!((lm.id, lm.preview.as_str()), (reply, "a reply"));
    assert_eq!(conv.unread_count, 1);
    assert_eq!(
        db.insert_message(incoming(alice, 300, "last", Some("l2")), &mut rng)
            .await,
        Ok(InsertOutcome::Deleted)
    );

    // Unsend by its author: kept as deleted, text, quote and reactions erased.
    assert_eq!(
        db.unsend(&dm(alice), &target, &me, 400, &mut rng).await,
        Err(MessageDbError::WrongAuthor)
    );
    assert_eq!(
        db.unsend(&dm(alice), &target, &alice, 400, &mut rng).await,
        Ok(Some(first))
    );
    let m = db
        .message(&dm(alice), first)
        .await
        .expect("get")
        .expect("first");
    assert!(m.deleted);
    assert_eq!(m.body, "");
    assert!(m.reactions.is_empty());
    assert_eq!(db.search("first", None).await.expect("search"), Vec::new());
    assert_eq!(
        db.conversation(&dm(alice))
            .await
            .expect("c")
            .expect("alice")
            .unread_count,
        0
    );
    assert_eq!(
        db.insert_message(incoming(alice, 100, "first", Some("f")), &mut rng)
            .await,
        Ok(InsertOutcome::Duplicate(first))
    );
    assert!(
        db.message(&dm(alice), first)
            .await
            .expect("get")
            .expect("first")
            .deleted
    );
    // An unsend that arrives before its message keeps the message from ever showing.
    let early = MessageRef {
        author: alice,
        sent_ms: 500,
    };
    assert_eq!(
        db.unsend(&dm(alice), &early, &alice, 450, &mut rng).await,
        Ok(None)
    );
    assert_eq!(
        db.insert_message(incoming(alice, 500, "regret", Some("rg")), &mut rng)
            .await,
        Ok(InsertOutcome::Deleted)
    );
    let list = db.list_messages(&dm(alice), 10, 0).await.expect("list");
    assert_eq!(
        list.iter().map(|m| m.id).collect::<Vec<_>>(),
        [first, reply]
    );

    // Deleting the conversation removes every record it had.
    db.insert_message(incoming(bob, 10, "bob stays", None), &mut rng)
        .await
        .expect("insert");
    let removed = db
        .delete_conversation(&dm(alice), &mut rng)
        .await
        .expect("del");
    let mut removed_ids: Vec<MessageKey> = removed.iter().map(|r| r.id).collect();
    removed_ids.sort();
    assert_eq!(removed_ids, [first, reply]);
    assert_eq!(db.conversation(&dm(alice)).await, Ok(None));
    assert_eq!(db.list_messages(&dm(alice), 10, 0).await, Ok(Vec::new()));
    assert_eq!(
        db.delete_conversation(&dm(alice), &mut rng).await,
        Err(MessageDbError::NoSuchConversation)
    );
    let convs = db.list_conversations().await.expect("list");
    assert_eq!(
        convs.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        [dm(bob)]
    );
    // Left: baseline + schema marker + conversation list + bob's index + bob's one message
    // (no seen-hash set).
    assert_eq!(store.ids().await.expect("ids").len(), baseline + 4);
    // The deleted conversation's index (and its tombstones) is gone: keeping a copy still
    // on the swarm from coming back is the network client's dedup, the one dedup authority.
    assert!(matches!(
        db.insert_message(incoming(alice, 300, "last", Some("l")), &mut rng)
            .await,
        Ok(InsertOutcome::Inserted(_))
    ));
}

/// No message text, display name, storage hash or Account ID (of the peer or of this
/// account, hex or raw bytes) appears in any stored id or value.
pub async fn msgdb_plaintext_scan<S: Store>(store: &S) {
    let vault = new_vault(store, 36).await;
    let me = vault.account_id();
    let mut rng = test_rng(37);
    let alice = peer(1);
    let mut db = MessageDb::new(store, &vault);
    let canary = "canary-body-Zq7";
    db.insert_message(
        NewMessage {
            quote: Some(Quote {
                target: MessageRef {
                    author: alice,
                    sent_ms: 1,
                },
                text: "canary-quote-Zq7".into(),
            }),
            ..incoming(alice, 1_700_000_000_123, canary, Some("canaryhashZq7"))
        },
        &mut rng,
    )
    .await
    .expect("insert");
    db.insert_message(
        outgoing(me, alice, 1_700_000_000_456, "canary-out-Zq7"),
        &mut rng,
    )
    .await
    .expect("insert");
    let target = MessageRef {
        author: alice,
        sent_ms: 1_700_000_000_123,
    };
    db.react(&dm(alice), &target, "canary-emoji-Zq7", &me, true, &mut rng)
        .await
        .expect("react");
    let update = ConversationUpdate {
        display_name: Some(Some("canary-name-Zq7".into())),
        ..ConversationUpdate::default()
    };
    db.upsert_conversation(&dm(alice), update, 5, &mut rng)
        .await
        .expect("upsert");
    let alice_hex = alice.to_string();
    let me_hex = me.to_string();
    let needles: Vec<&[u8]> = vec![
        b"canary",
        alice_hex.as_bytes(),
        me_hex.as_bytes(),
        &alice_hex.as_bytes()[2..20],
        &alice.as_bytes()[1..17],
        &me.as_bytes()[1..17],
        b"1700000000123",
    ];
    let snap = snapshot(store).await;
    assert!(snap.len() >= 6, "records were written");
    for (id, value) in &snap {
        for needle in &needles {
            assert!(!contains(id.as_bytes(), needle), "id {id}");
            assert!(!contains(value, needle), "value of {id}");
        }
    }
    // The data is really there, behind the key.
    let found = db.search("CANARY-BODY", None).await.expect("search");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].body, canary);
}

/// The message database keeps no seen-hash set (the network client's dedup is the one dedup
/// authority): no operation that takes a storage hash writes a `msgdb/v2/seen` record or any
/// record besides the schema marker, the conversation list, indexes and message contents.
pub async fn msgdb_writes_no_seen_record<S: Store>(store: &S) {
    let vault = new_vault(store, 38).await;
    let me = vault.account_id();
    let mut rng = test_rng(39);
    let alice = peer(1);
    let bob = peer(2);
    let before = store.ids().await.expect("ids");
    let mut db = MessageDb::new(store, &vault);
    let first = inserted(
        db.insert_message(incoming(alice, 10, "x", Some("h1")), &mut rng)
            .await
            .expect("insert"),
    );
    // Marker + conversation list + alice's index + one message.
    assert_eq!(store.ids().await.expect("ids").len(), before.len() + 4);
    let outcomes = db
        .insert_messages(
            vec![
                incoming(alice, 10, "x", Some("h2")),
                incoming(alice, 20, "y", Some("h3")),
            ],
            &mut rng,
        )
        .await
        .expect("insert");
    assert_eq!(outcomes[0], InsertOutcome::Duplicate(first));
    let second = inserted(outcomes[1].clone());
    let sent = inserted(
        db.insert_message(outgoing(me, alice, 30, "z"), &mut rng)
            .await
            .expect("insert"),
    );
    db.set_outbox_state(&dm(alice), sent, OutboxState::Sent, Some("h4"), &mut rng)
        .await
        .expect("sent");
    db.add_storage_hash(&dm(alice), sent, "h5", &mut rng)
        .await
        .expect("hash");
    db.block(&bob, 40, &mut rng).await.expect("block");
    assert_eq!(
        db.insert_message(incoming(bob, 50, "spam", Some("h6")), &mut rng)
            .await,
        Ok(InsertOutcome::Blocked)
    );
    assert_eq!(
        vault
            .get_record(store, "msgdb/v2/seen")
            .await
            .map(|r| r.is_some()),
        Ok(false),
        "no seen-hash set"
    );
    // Marker + conversation list + alice's index + three messages (dropping bob's message
    // wrote nothing).
    let mut expected: Vec<String> = [
        "msgdb/schema".to_owned(),
        "msgdb/v2/conversations".to_owned(),
        format!("msgdb/v2/index/{}", dm(alice)),
    ]
    .into_iter()
    .chain([first, second, sent].map(|k| format!("msgdb/v2/message/{}", k.0)))
    .map(|n| vault.record_storage_id(&n))
    .collect();
    expected.sort();
    let mut written: Vec<String> = store
        .ids()
        .await
        .expect("ids")
        .into_iter()
        .filter(|id| !before.contains(id))
        .collect();
    written.sort();
    assert_eq!(written, expected);
}

/// Groups and community rooms are conversations like any other: their own indexes (a group
/// whose key equals an account's is not that account's conversation), any member may write,
/// blocked accounts are dropped in every conversation, and quotes, reactions, unsend, expiry,
/// the outbox, search, `locate` and `conversation_of` all name the group or room; no id or
/// URL appears at rest.
pub async fn msgdb_groups_and_communities<S: Store>(store: &S) {
    use crate::address::{CommunityRoom, GroupId};

    let vault = new_vault(store, 50).await;
    let me = vault.account_id();
    let mut rng = test_rng(51);
    let (alice, bob, carol) = (peer(1), peer(2), peer(3));
    // A group whose 32-byte key is Alice's: `03…` and `05…` differ only in the prefix.
    let group = ConversationId::Group(GroupId(alice.x25519_public()));
    let room = ConversationId::Community(
        CommunityRoom::new("https://chat.example.org", "lobby-Zq7").expect("room"),
    );
    let in_conv =
        |conversation: &ConversationId, from: AccountId, sent_ms: u64, body: &str| NewMessage {
            conversation: conversation.clone(),
            ..incoming(from, sent_ms, body, Some(&format!("h-{sent_ms}")))
        };
    let out_conv = |conversation: &ConversationId, sent_ms: u64, body: &str| NewMessage {
        conversation: conversation.clone(),
        ..outgoing(me, alice, sent_ms, body)
    };
    let mut db = MessageDb::new(store, &vault);
    let update = ConversationUpdate {
        display_name: Some(Some("Team".into())),
        state: Some(ConversationState::Accepted),
        ..ConversationUpdate::default()
    };
    db.upsert_conversation(&group, update, 5, &mut rng)
        .await
        .expect("group");
    let a1 = inserted(
        db.insert_message(in_conv(&group, alice, 100, "from alice"), &mut rng)
            .await
            .expect("insert"),
    );
    let b1 = inserted(
        db.insert_message(in_conv(&group, bob, 200, "from bob"), &mut rng)
            .await
            .expect("insert"),
    );
    let mine = inserted(
        db.insert_message(out_conv(&group, 300, "from me"), &mut rng)
            .await
            .expect("insert"),
    );
    // Alice's own 1:1 conversation is another one.
    db.insert_message(incoming(alice, 150, "direct", Some("h-direct")), &mut rng)
        .await
        .expect("insert");
    // An incoming message is never ours; an outgoing one always is.
    assert_eq!(
        db.insert_message(
            NewMessage {
                author: me,
                ..in_conv(&group, alice, 400, "forged")
            },
            &mut rng
        )
        .await,
        Err(MessageDbError::WrongAuthor)
    );
    assert_eq!(
        db.insert_message(
            NewMessage {
                author: bob,
                ..out_conv(&group, 400, "forged")
            },
            &mut rng
        )
        .await,
        Err(MessageDbError::WrongAuthor)
    );
    let list = db.list_messages(&group, 10, 0).await.expect("list");
    assert_eq!(bodies(&list), ["from alice", "from bob", "from me"]);
    assert!(list.iter().all(|m| m.conversation == group));
    assert_eq!(
        list.iter().map(|m| m.author).collect::<Vec<_>>(),
        [alice, bob, me]
    );
    assert_eq!(
        bodies(&db.list_messages(&dm(alice), 10, 0).await.expect("l")),
        ["direct"]
    );
    let conv = db.conversation(&group).await.expect("c").expect("group");
    assert_eq!(
        (conv.display_name.as_deref(), conv.state, conv.unread_count),
        (Some("Team"), ConversationState::Accepted, 2)
    );
    assert_eq!(conv.last_message.expect("last").id, mine);

    // Blocking an account drops its messages in groups too; the group is not "blocked".
    db.block(&carol, 10, &mut rng).await.expect("block");
    assert_eq!(
        db.insert_message(in_conv(&group, carol, 500, "spam"), &mut rng)
            .await,
        Ok(InsertOutcome::Blocked)
    );
    assert_eq!(db.blocked().await, Ok(vec![carol]));

    // A group nobody accepted yet opens as a request, like a 1:1 one.
    let other = ConversationId::Group(GroupId([0x33; 32]));
    db.insert_message(in_conv(&other, bob, 600, "join us"), &mut rng)
        .await
        .expect("insert");
    assert_eq!(
        db.conversation(&other).await.expect("c").map(|c| c.state),
        Some(ConversationState::Request)
    );

    // Quotes, reactions and unsend by identity inside the group.
    let alice_ref = MessageRef {
        author: alice,
        sent_ms: 100,
    };
    let reply = NewMessage {
        quote: Some(Quote {
            target: alice_ref,
            text: "from alice".into(),
        }),
        ..in_conv(&group, bob, 700, "a reply")
    };
    let reply = inserted(db.insert_message(reply, &mut rng).await.expect("reply"));
    assert_eq!(
        db.react(&group, &alice_ref, "👍", &bob, true, &mut rng)
            .await,
        Ok(Some(a1))
    );
    assert_eq!(
        db.react(&dm(alice), &alice_ref, "👍", &bob, true, &mut rng)
            .await,
        Ok(None),
        "not in the 1:1 conversation"
    );
    assert_eq!(db.locate(&alice_ref).await, Ok(Some(group.clone())));
    assert_eq!(db.conversation_of(reply).await, Ok(Some(group.clone())));
    let m = db
        .message(&group, reply)
        .await
        .expect("get")
        .expect("reply");
    assert_eq!(m.quote.map(|q| q.target), Some(alice_ref));
    assert_eq!(
        db.unsend(&group, &alice_ref, &bob, 800, &mut rng).await,
        Err(MessageDbError::WrongAuthor)
    );
    assert_eq!(
        db.unsend(&group, &alice_ref, &alice, 800, &mut rng).await,
        Ok(Some(a1))
    );
    let early = MessageRef {
        author: bob,
        sent_ms: 900,
    };
    assert_eq!(
        db.unsend(&group, &early, &bob, 850, &mut rng).await,
        Ok(None)
    );
    assert_eq!(
        db.insert_message(in_conv(&group, bob, 900, "regret"), &mut rng)
            .await,
        Ok(InsertOutcome::Deleted)
    );
    let found = db.search("FROM", Some(&group)).await.expect("search");
    assert_eq!(found.iter().map(|m| m.id).collect::<Vec<_>>(), [mine, b1]);

    // Reading, receipts and timers.
    let marked = db.mark_read(&group, 1_000, &mut rng).await.expect("read");
    assert_eq!(marked.iter().map(|m| m.id).collect::<Vec<_>>(), [b1, reply]);
    assert_eq!(
        db.mark_read_by_peer(&group, &[300], &mut rng).await,
        Ok(vec![mine])
    );
    let brief = inserted(
        db.insert_message(
            NewMessage {
                disappearing: Some(Disappearing {
                    mode: DisappearingMode::AfterSend,
                    timer_s: 5,
                }),
                ..in_conv(&group, alice, 2_000, "brief")
            },
            &mut rng,
        )
        .await
        .expect("insert"),
    );
    assert_eq!(db.next_expiry().await, Ok(Some(7_000)));

    // A community room: the outbox and delivery states work the same.
    let post = inserted(
        db.insert_message(out_conv(&room, 3_000, "hello room"), &mut rng)
            .await
            .expect("insert"),
    );
    let pending = db.pending_outbox().await.expect("pending");
    assert_eq!(
        pending
            .iter()
            .map(|m| (m.id, m.conversation.clone()))
            .collect::<Vec<_>>(),
        [(mine, group.clone()), (post, room.clone())]
    );
    db.set_outbox_state(&room, post, OutboxState::Sent, Some("h-room"), &mut rng)
        .await
        .expect("sent");
    let pending = db.pending_outbox().await.expect("pending");
    assert_eq!(pending.iter().map(|m| m.id).collect::<Vec<_>>(), [mine]);
    assert_eq!(
        db.set_outbox_state(&group, post, OutboxState::Sent, None, &mut rng)
            .await,
        Err(MessageDbError::NoSuchMessage)
    );
    drop(vault);

    let vault = reopen(store).await;
    let mut db = MessageDb::new(store, &vault);
    let removed = db.sweep_expired(7_000, &mut rng).await.expect("sweep");
    assert_eq!(
        removed,
        vec![crate::store::messages::RemovedMessage {
            conversation: group.clone(),
            id: brief,
        }]
    );
    let ids: Vec<ConversationId> = db
        .list_conversations()
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids.len(), 5, "{ids:?}");
    for id in [&group, &room, &other, &dm(alice), &dm(carol)] {
        assert!(ids.contains(id), "{id:?}");
    }
    let removed = db.delete_conversation(&room, &mut rng).await.expect("del");
    assert_eq!(removed.len(), 1);
    assert_eq!(db.conversation(&room).await, Ok(None));
    assert_eq!(
        db.message_count(&group).await,
        Ok(4),
        "the unsent one is listed"
    );

    // Nothing names the group or the room at rest.
    let group_hex = group.to_string();
    let needles: Vec<&[u8]> = vec![
        group_hex.as_bytes(),
        &group_hex.as_bytes()[2..30],
        b"chat.example.org",
        b"lobby-Zq7",
    ];
    for (id, value) in &snapshot(store).await {
        for needle in &needles {
            assert!(!contains(id.as_bytes(), needle), "id {id}");
            assert!(!contains(value, needle), "value of {id}");
        }
    }
}

/// A test attachment pointer (display fields only; the bytes are stored apart).
fn meta(name: &str) -> crate::message::AttachmentMeta {
    crate::message::AttachmentMeta {
        url: format!("http://files.test/file/{name}"),
        server_id: 0,
        key: vec![7; 64],
        digest: Some(vec![8; 32]),
        size: 10,
        content_type: Some("image/png".into()),
        file_name: Some(name.into()),
        voice: false,
        width: None,
        height: None,
        caption: None,
    }
}

/// Attachment bytes are sealed in chunks apart from the message: they read back whole, a
/// smaller replacement drops the extra chunks, they never appear in the clear, and every way
/// a message goes (delete for me, unsend, expiry, the whole conversation) removes them.
pub async fn msgdb_attachment_files<S: Store>(store: &S) {
    use crate::store::messages::{AttachmentState, FILE_CHUNK_BYTES};
    let vault = new_vault(store, 40).await;
    let mut rng = test_rng(41);
    let (alice, bob) = (peer(1), peer(2));
    let mut db = MessageDb::new(store, &vault);
    let with_files = |sent_ms: u64, hash: &str, from: AccountId| NewMessage {
        attachments: vec![meta("a.png"), meta("b.png")],
        ..incoming(from, sent_ms, "", Some(hash))
    };
    let first = inserted(
        db.insert_message(with_files(100, "h1", alice), &mut rng)
            .await
            .expect("insert"),
    );
    let baseline = store.ids().await.expect("ids").len();
    // Nothing is stored yet: remote.
    let m = db
        .message(&dm(alice), first)
        .await
        .expect("get")
        .expect("m");
    assert_eq!(m.attachments.len(), 2);
    assert_eq!(m.attachments[0].state, AttachmentState::Remote);
    assert_eq!(db.attachment_bytes(&dm(alice), first, 0).await, Ok(None));
    // 2.5 chunks, with a canary in the clear bytes.
    let mut bytes: Vec<u8> = (0..FILE_CHUNK_BYTES * 5 / 2).map(|i| i as u8).collect();
    bytes[1000..1016].copy_from_slice(b"canary-file-Zq7!");
    db.store_attachment(&dm(alice), first, 0, &bytes, &mut rng)
        .await
        .expect("store");
    assert_eq!(store.ids().await.expect("ids").len(), baseline + 3);
    let back = db
        .attachment_bytes(&dm(alice), first, 0)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(&back[..], &bytes[..]);
    let m = db
        .message(&dm(alice), first)
        .await
        .expect("get")
        .expect("m");
    assert_eq!(
        m.attachments[0].state,
        AttachmentState::Stored {
            size: bytes.len() as u64
        }
    );
    assert_eq!(m.attachments[1].state, AttachmentState::Remote);
    for (id, value) in &snapshot(store).await {
        assert!(!contains(value, b"canary-file"), "value of {id}");
    }
    // A smaller replacement leaves one chunk; an empty file is one empty chunk.
    db.store_attachment(&dm(alice), first, 0, b"small", &mut rng)
        .await
        .expect("store");
    db.store_attachment(&dm(alice), first, 1, b"", &mut rng)
        .await
        .expect("store");
    assert_eq!(store.ids().await.expect("ids").len(), baseline + 2);
    let small = db.attachment_bytes(&dm(alice), first, 0).await.expect("r");
    assert_eq!(small.as_deref().map(|v| &v[..]), Some(&b"small"[..]));
    let empty = db.attachment_bytes(&dm(alice), first, 1).await.expect("r");
    assert_eq!(empty.as_deref().map(Vec::len), Some(0));
    // No such attachment, no such message.
    assert_eq!(
        db.store_attachment(&dm(alice), first, 2, b"x", &mut rng)
            .await,
        Err(MessageDbError::NoSuchMessage)
    );
    assert_eq!(
        db.store_attachment(&dm(alice), MessageKey(999), 0, b"x", &mut rng)
            .await,
        Err(MessageDbError::NoSuchMessage)
    );
    // A failure is recorded and shown; a retry may set it back.
    let failed = AttachmentState::Failed {
        reason: crate::store::messages::AttachmentFailure::Gone,
    };
    db.set_attachment_state(&dm(alice), first, 1, failed.clone(), &mut rng)
        .await
        .expect("state");
    let m = db
        .message(&dm(alice), first)
        .await
        .expect("get")
        .expect("m");
    assert_eq!(m.attachments[1].state, failed);
    // Delete for me: the files go with the message.
    db.delete_message(&dm(alice), first, &mut rng)
        .await
        .expect("delete");
    let after_delete = store.ids().await.expect("ids").len();
    assert!(after_delete < baseline, "content and chunks deleted");
    assert_eq!(db.attachment_bytes(&dm(alice), first, 0).await, Ok(None));
    // Unsend.
    let second = inserted(
        db.insert_message(with_files(200, "h2", alice), &mut rng)
            .await
            .expect("insert"),
    );
    let before = store.ids().await.expect("ids").len();
    db.store_attachment(&dm(alice), second, 1, &bytes, &mut rng)
        .await
        .expect("store");
    let target = MessageRef {
        author: alice,
        sent_ms: 200,
    };
    db.unsend(&dm(alice), &target, &alice, 300, &mut rng)
        .await
        .expect("unsend");
    assert_eq!(store.ids().await.expect("ids").len(), before);
    let m = db
        .message(&dm(alice), second)
        .await
        .expect("get")
        .expect("m");
    assert!(m.deleted && m.attachments.is_empty());
    assert_eq!(db.attachment_bytes(&dm(alice), second, 1).await, Ok(None));
    // Expiry.
    let third = inserted(
        db.insert_message(
            NewMessage {
                disappearing: Some(Disappearing {
                    mode: DisappearingMode::AfterSend,
                    timer_s: 1,
                }),
                ..with_files(400, "h3", alice)
            },
            &mut rng,
        )
        .await
        .expect("insert"),
    );
    let before = store.ids().await.expect("ids").len();
    db.store_attachment(&dm(alice), third, 0, &bytes, &mut rng)
        .await
        .expect("store");
    let removed = db.sweep_expired(10_000, &mut rng).await.expect("sweep");
    assert_eq!(removed.len(), 1);
    // The content record went too.
    assert_eq!(store.ids().await.expect("ids").len(), before - 1);
    // The whole conversation.
    let fourth = inserted(
        db.insert_message(with_files(500, "h4", bob), &mut rng)
            .await
            .expect("insert"),
    );
    db.store_attachment(&dm(bob), fourth, 0, &bytes, &mut rng)
        .await
        .expect("store");
    db.store_attachment(&dm(bob), fourth, 1, &bytes, &mut rng)
        .await
        .expect("store");
    let with_bob = store.ids().await.expect("ids").len();
    db.delete_conversation(&dm(bob), &mut rng)
        .await
        .expect("delete");
    // Index, content and 2 × 3 chunks.
    assert_eq!(store.ids().await.expect("ids").len(), with_bob - 8);
}
