//! Conformance bodies for the message database's schema migrations. The fixture
//! `tests/fixtures/msgdb_v1.json` is a dump of every record of a store written by the
//! schema-1 code (the commit that added it also holds its generator, `tests/store_migration.rs`
//! at that commit): a vault with accepted, request and blocked conversations, Note to Self, a
//! quote, reactions, a read receipt, an unsent and a deleted message, disappearing settings
//! and timers, pending, failed and interrupted outbox messages, the tombstone of a message
//! unsent before it arrived, and seen hashes (a set the message database no longer keeps: the
//! upgrade deletes it). Loaded into a backend, unlocked and upgraded, it must hold exactly the
//! same conversations and messages; damaged copies fail with typed errors and change nothing.
//! A schema-2 store that still holds the former `msgdb/v2/seen` record loses it on upgrade.

use std::collections::{BTreeMap, BTreeSet};

use crate::identity::AccountId;
use crate::store::messages::{
    Conversation, ConversationState, Direction, Disappearing, DisappearingMode, InsertOutcome,
    LastMessage, Message, MessageDb, MessageDbError, MessageKey, MessageRef, OutboxState, Quote,
};
use crate::store::{Store, StoreError, UnlockedVault, Vault};

use super::messages::{dm, incoming, peer};
use super::{snapshot, test_rng};

/// The schema-1 fixture: `{"passphrase": …, "records": {id: hex of the stored bytes}}`.
pub const MSGDB_V1_FIXTURE: &str = include_str!("../../../tests/fixtures/msgdb_v1.json");

/// The sent time all of the fixture's timestamps are offsets from.
pub const FIXTURE_T0: u64 = 1_750_000_000_000;

/// The fixture's passphrase.
pub const FIXTURE_PASS: &str = "fixture passphrase";

/// The records of a dump such as [`MSGDB_V1_FIXTURE`].
pub fn dump_records(dump: &str) -> BTreeMap<String, Vec<u8>> {
    let value: serde_json::Value = serde_json::from_str(dump).expect("dump is JSON");
    let records = value["records"].as_object().expect("records");
    records
        .iter()
        .map(|(id, hex_value)| {
            let bytes = hex::decode(hex_value.as_str().expect("hex string")).expect("hex");
            (id.clone(), bytes)
        })
        .collect()
}

/// Writes `records` into `store` (one put each).
pub async fn load_records<S: Store>(store: &S, records: &BTreeMap<String, Vec<u8>>) {
    for (id, bytes) in records {
        store.put(id, bytes).await.expect("put");
    }
}

/// Loads the schema-1 fixture into `store` and unlocks it.
pub async fn load_v1_fixture<S: Store>(store: &S) -> UnlockedVault {
    load_records(store, &dump_records(MSGDB_V1_FIXTURE)).await;
    Vault::unlock(store, FIXTURE_PASS)
        .await
        .expect("unlock fixture")
}

/// Everything the database shows, in a fixed order: for comparing two stores.
#[derive(Debug, PartialEq)]
pub struct DbView {
    /// [`MessageDb::list_conversations`].
    pub conversations: Vec<Conversation>,
    /// Every message of each listed conversation, then of Eve's unlisted one.
    pub messages: Vec<Vec<Message>>,
    /// Keys of [`MessageDb::pending_outbox`].
    pub pending: Vec<MessageKey>,
    /// [`MessageDb::blocked`].
    pub blocked: Vec<AccountId>,
    /// [`MessageDb::next_expiry`].
    pub next_expiry: Option<u64>,
}

/// Reads the [`DbView`] of `db`.
pub async fn db_view<S: Store>(db: &MessageDb<'_, S>) -> Result<DbView, MessageDbError> {
    let conversations = db.list_conversations().await?;
    let mut messages = Vec::new();
    for c in &conversations {
        messages.push(db.list_messages(&c.id, 1000, 0).await?);
    }
    messages.push(db.list_messages(&dm(peer(5)), 1000, 0).await?);
    Ok(DbView {
        conversations,
        messages,
        pending: db.pending_outbox().await?.iter().map(|m| m.id).collect(),
        blocked: db.blocked().await?,
        next_expiry: db.next_expiry().await?,
    })
}

fn t(offset: u64) -> u64 {
    FIXTURE_T0 + offset
}

fn summary(id: u64, direction: Direction, sent: u64, preview: &str) -> Option<LastMessage> {
    Some(LastMessage {
        id: MessageKey(id),
        direction,
        sent_ms: t(sent),
        preview: preview.into(),
        deleted: false,
    })
}

#[allow(clippy::too_many_arguments)]
fn message(
    id: u64,
    conversation: AccountId,
    author: AccountId,
    direction: Direction,
    sent: u64,
    body: &str,
    hashes: &[&str],
    outbox: Option<OutboxState>,
) -> Message {
    Message {
        id: MessageKey(id),
        conversation: dm(conversation),
        direction,
        author,
        sent_ms: t(sent),
        received_ms: t(sent + 50),
        body: body.into(),
        storage_hashes: hashes.iter().map(|h| (*h).to_owned()).collect(),
        outbox,
        read: false,
        expires_at_ms: None,
        quote: None,
        reactions: BTreeMap::new(),
        deleted: false,
        placeholder: None,
        attachments: Vec::new(),
    }
}

/// The exact contents of the upgraded fixture (`me` is the fixture's account).
pub fn expected_fixture_view(me: AccountId) -> DbView {
    use Direction::{Incoming, Outgoing};
    let (alice, bob, carol, dave) = (peer(1), peer(2), peer(3), peer(4));
    let conv = |id: AccountId, name: Option<&str>, state, activity, unread, read_at| Conversation {
        id: dm(id),
        display_name: name.map(str::to_owned),
        state,
        last_message: None,
        last_activity_ms: t(activity),
        unread_count: unread,
        last_read_ms: read_at,
        disappearing: Disappearing::OFF,
        profile_updated_s: 0,
        avatar: None,
        avatar_stored: false,
        nickname: None,
        marked_unread: false,
        hidden: false,
    };
    let after_read = Disappearing {
        mode: DisappearingMode::AfterRead,
        timer_s: 300,
    };
    let conversations = vec![
        Conversation {
            last_message: summary(14, Outgoing, 8200, "interrupted"),
            disappearing: after_read,
            ..conv(dave, Some("Dave"), ConversationState::Accepted, 8200, 2, 0)
        },
        Conversation {
            last_message: summary(5, Incoming, 6000, "still unread"),
            ..conv(
                alice,
                Some("Alice"),
                ConversationState::Accepted,
                6000,
                1,
                t(3000),
            )
        },
        Conversation {
            last_message: summary(9, Outgoing, 2500, "Buy milk"),
            disappearing: Disappearing {
                mode: DisappearingMode::AfterSend,
                timer_s: 86_400,
            },
            ..conv(me, None, ConversationState::Accepted, 2500, 0, 0)
        },
        Conversation {
            last_message: summary(8, Incoming, 1700, "spam"),
            ..conv(carol, None, ConversationState::Blocked, 1700, 1, 0)
        },
        Conversation {
            last_message: summary(7, Incoming, 1600, "Are you there?"),
            ..conv(bob, Some("Bob"), ConversationState::Request, 1600, 2, 0)
        },
    ];
    let sent = Some(OutboxState::Sent);
    let dave_msgs = vec![
        message(
            10,
            dave,
            dave,
            Incoming,
            7000,
            "read me and I vanish",
            &["hash-dave1"],
            None,
        ),
        Message {
            expires_at_ms: Some(t(7100 + 3_600_000)),
            ..message(
                11,
                dave,
                dave,
                Incoming,
                7100,
                "I vanish an hour after sending",
                &["hash-dave2"],
                None,
            )
        },
        Message {
            expires_at_ms: Some(t(8000 + 300_000)),
            ..message(
                12,
                dave,
                me,
                Outgoing,
                8000,
                "pending reply",
                &[],
                Some(OutboxState::Pending),
            )
        },
        message(
            13,
            dave,
            me,
            Outgoing,
            8100,
            "failed reply",
            &[],
            Some(OutboxState::Failed { code: 3 }),
        ),
        message(
            14,
            dave,
            me,
            Outgoing,
            8200,
            "interrupted",
            &[],
            Some(OutboxState::Sending),
        ),
    ];
    let alice_msgs = vec![
        Message {
            read: true,
            reactions: BTreeMap::from([("👍".to_owned(), BTreeSet::from([alice]))]),
            ..message(
                1,
                alice,
                me,
                Outgoing,
                1000,
                "Hi Alice",
                &["hash-out1", "hash-out1-sync"],
                sent,
            )
        },
        Message {
            read: true,
            quote: Some(Quote {
                target: MessageRef {
                    author: me,
                    sent_ms: t(1000),
                },
                text: "Hi Alice".into(),
            }),
            reactions: BTreeMap::from([("❤️".to_owned(), BTreeSet::from([me]))]),
            ..message(
                2,
                alice,
                alice,
                Incoming,
                2000,
                "Hello! How are you? 🙂",
                &["hash-in1"],
                None,
            )
        },
        Message {
            received_ms: t(4500),
            body: String::new(),
            read: true,
            deleted: true,
            ..message(3, alice, me, Outgoing, 4000, "", &["hash-out2"], sent)
        },
        message(
            5,
            alice,
            alice,
            Incoming,
            6000,
            "still unread",
            &["hash-in3"],
            None,
        ),
    ];
    let nts = vec![Message {
        expires_at_ms: Some(t(2500 + 86_400_000)),
        ..message(9, me, me, Outgoing, 2500, "Buy milk", &["hash-nts1"], sent)
    }];
    let carol_msgs = vec![message(
        8,
        carol,
        carol,
        Incoming,
        1700,
        "spam",
        &["hash-carol1"],
        None,
    )];
    let bob_msgs = vec![
        message(
            6,
            bob,
            bob,
            Incoming,
            1500,
            "Hey, it's Bob",
            &["hash-bob1"],
            None,
        ),
        message(
            7,
            bob,
            bob,
            Incoming,
            1600,
            "Are you there?",
            &["hash-bob2"],
            None,
        ),
    ];
    DbView {
        conversations,
        messages: vec![dave_msgs, alice_msgs, nts, carol_msgs, bob_msgs, Vec::new()],
        pending: vec![MessageKey(12), MessageKey(14)],
        blocked: vec![carol],
        next_expiry: Some(t(8000 + 300_000)),
    }
}

/// Storage ids of every schema-1 record name the fixture's store can hold.
fn v1_ids(vault: &UnlockedVault, me: AccountId) -> BTreeSet<String> {
    let mut names = vec![
        "msgdb/v1/conversations".to_owned(),
        "msgdb/v1/seen".to_owned(),
    ];
    for p in [me, peer(1), peer(2), peer(3), peer(4), peer(5)] {
        names.push(format!("msgdb/v1/index/{p}"));
    }
    for key in 1..100 {
        names.push(format!("msgdb/v1/message/{key}"));
    }
    names.iter().map(|n| vault.record_storage_id(n)).collect()
}

/// A schema-1 store upgrades to exactly the same conversations and messages: reading first
/// says an upgrade is needed, the first write upgrades, no schema-1 record is left, upgrading
/// again changes nothing, and the upgraded database keeps working (counters, tombstones,
/// blocking, requests, timers, search).
pub async fn msgdb_migrates_v1_fixture<S: Store>(store: &S) {
    let vault = load_v1_fixture(store).await;
    let me = vault.account_id();
    let mut rng = test_rng(60);
    let v1 = v1_ids(&vault, me);
    let before: BTreeSet<String> = store.ids().await.expect("ids").into_iter().collect();
    assert!(before.intersection(&v1).count() >= 15, "a schema-1 store");
    {
        let db = MessageDb::new(store, &vault);
        assert_eq!(
            db.list_conversations().await,
            Err(MessageDbError::UpgradeRequired)
        );
        assert_eq!(
            db.list_messages(&dm(peer(1)), 10, 0).await,
            Err(MessageDbError::UpgradeRequired)
        );
        assert_eq!(db.blocked().await, Err(MessageDbError::UpgradeRequired));
    }
    let mut db = MessageDb::new(store, &vault);
    // The first write after unlocking upgrades (here: one that changes nothing else, a copy
    // of a stored message delivered again).
    assert_eq!(
        db.insert_message(
            incoming(peer(2), t(1500), "Hey", Some("hash-bob1")),
            &mut rng
        )
        .await,
        Ok(InsertOutcome::Duplicate(MessageKey(6)))
    );
    assert_eq!(db_view(&db).await, Ok(expected_fixture_view(me)));
    let after: BTreeSet<String> = store.ids().await.expect("ids").into_iter().collect();
    assert!(
        after.intersection(&v1).next().is_none(),
        "schema-1 records are deleted"
    );
    // Records: header, seed, marker, list, 6 indexes (Eve's too), 13 contents; the seen set
    // is not carried over.
    assert_eq!(after.len(), 2 + 2 + 6 + 13, "{after:?}");
    assert!(
        !after.contains(&vault.record_storage_id("msgdb/v2/seen")),
        "no seen-hash set"
    );
    assert_eq!(
        db.conversation_of(MessageKey(2)).await,
        Ok(Some(dm(peer(1))))
    );
    assert_eq!(db.conversation_of(MessageKey(4)).await, Ok(None), "deleted");
    drop(vault);

    // Unlocking and upgrading again writes nothing.
    let snap = snapshot(store).await;
    let vault = Vault::unlock(store, FIXTURE_PASS).await.expect("unlock");
    let mut db = MessageDb::new(store, &vault);
    db.upgrade(&mut rng).await.expect("again");
    assert_eq!(snapshot(store).await, snap);
    assert_eq!(db_view(&db).await, Ok(expected_fixture_view(me)));

    // It keeps working: the key counter, tombstones, blocking, requests and timers carried
    // over.
    let (alice, bob, carol, dave, eve) = (peer(1), peer(2), peer(3), peer(4), peer(5));
    assert_eq!(
        db.insert_message(
            incoming(alice, t(10_000), "new", Some("hash-new")),
            &mut rng
        )
        .await,
        Ok(InsertOutcome::Inserted(MessageKey(16)))
    );
    assert_eq!(
        db.insert_message(
            incoming(alice, t(5000), "delete me", Some("hash-x")),
            &mut rng
        )
        .await,
        Ok(InsertOutcome::Deleted),
        "deleted for me"
    );
    assert_eq!(
        db.insert_message(incoming(eve, t(9000), "regret", Some("hash-eve")), &mut rng)
            .await,
        Ok(InsertOutcome::Deleted),
        "unsent before it arrived"
    );
    assert_eq!(db.conversation(&dm(eve)).await, Ok(None));
    assert_eq!(
        db.insert_message(
            incoming(carol, t(11_000), "spam", Some("hash-c3")),
            &mut rng
        )
        .await,
        Ok(InsertOutcome::Blocked)
    );
    assert_eq!(
        db.insert_message(incoming(bob, t(1500), "Hey", Some("hash-bob1")), &mut rng)
            .await,
        Ok(InsertOutcome::Duplicate(MessageKey(6)))
    );
    assert_eq!(
        db.accept(&dm(bob), &mut rng).await.map(|c| c.state),
        Ok(ConversationState::Accepted)
    );
    let hits = db.search("VANISH", None).await.expect("search");
    assert_eq!(
        hits.iter().map(|m| m.id).collect::<Vec<_>>(),
        [MessageKey(11), MessageKey(10)]
    );
    let read = db
        .mark_read(&dm(dave), t(20_000), &mut rng)
        .await
        .expect("read");
    assert_eq!(read.len(), 2);
    assert_eq!(read[0].expires_at_ms, Some(t(20_000 + 300_000)));
    assert_eq!(
        db.locate(&MessageRef {
            author: me,
            sent_ms: t(1000)
        })
        .await,
        Ok(Some(dm(alice)))
    );
    let removed = db
        .sweep_expired(t(7100 + 3_600_000), &mut rng)
        .await
        .expect("sweep");
    let mut keys: Vec<MessageKey> = removed.iter().map(|r| r.id).collect();
    keys.sort();
    assert_eq!(keys, [MessageKey(10), MessageKey(11), MessageKey(12)]);
    assert!(removed.iter().all(|r| r.conversation == dm(dave)));
}

/// A schema-2 store written while the message database kept a seen-hash set: upgrading (as
/// the worker does at start) deletes the `msgdb/v2/seen` record and changes nothing else; the
/// conversations and messages are the same, and upgrading again writes nothing.
pub async fn msgdb_upgrade_deletes_v2_seen<S: Store>(store: &S) {
    let mut rng = test_rng(62);
    let vault = Vault::create_insecure_for_tests(store, super::PASS, &super::test_seed(), &mut rng)
        .await
        .expect("create vault");
    let me = vault.account_id();
    let alice = peer(1);
    let mut db = MessageDb::new(store, &vault);
    db.insert_message(incoming(alice, 10, "hi", Some("h1")), &mut rng)
        .await
        .expect("insert");
    db.insert_message(super::messages::outgoing(me, alice, 20, "hello"), &mut rng)
        .await
        .expect("insert");
    let view = db_view(&db).await.expect("view");
    // The record as the former code wrote it (`{"v": 2, "hashes": [...]}`, sealed).
    let seen_id = vault.record_storage_id("msgdb/v2/seen");
    vault
        .put_record(
            store,
            "msgdb/v2/seen",
            br#"{"v":2,"hashes":["h1","h0"]}"#,
            &mut rng,
        )
        .await
        .expect("plant seen record");
    let mut without_seen = snapshot(store).await;
    assert!(without_seen.remove(&seen_id).is_some(), "planted");
    drop(vault);

    let vault = Vault::unlock(store, super::PASS).await.expect("unlock");
    let mut db = MessageDb::new(store, &vault);
    db.upgrade(&mut rng).await.expect("upgrade");
    assert_eq!(store.get(&seen_id).await, Ok(None), "seen record deleted");
    assert_eq!(snapshot(store).await, without_seen, "nothing else changed");
    assert_eq!(db_view(&db).await.as_ref(), Ok(&view));
    drop(vault);

    let vault = Vault::unlock(store, super::PASS).await.expect("unlock");
    let mut db = MessageDb::new(store, &vault);
    db.upgrade(&mut rng).await.expect("again");
    assert_eq!(snapshot(store).await, without_seen);
    assert_eq!(db_view(&db).await, Ok(view));
}

/// Damaged schema-1 stores fail to upgrade with typed errors and are left as they were; a
/// store of a newer schema is refused.
pub async fn msgdb_migration_rejects_damage<S: Store>(store: &S) {
    let records = dump_records(MSGDB_V1_FIXTURE);
    let mut rng = test_rng(61);
    // Each case: how to damage the loaded store, and the error upgrading must give.
    type Damage = fn(&UnlockedVault, &mut BTreeMap<String, Vec<u8>>);
    fn flip_index(vault: &UnlockedVault, recs: &mut BTreeMap<String, Vec<u8>>) {
        let id = vault.record_storage_id(&format!("msgdb/v1/index/{}", peer(1)));
        let bytes = recs.get_mut(&id).expect("alice's index");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x40;
    }
    fn flip_content(vault: &UnlockedVault, recs: &mut BTreeMap<String, Vec<u8>>) {
        let id = vault.record_storage_id("msgdb/v1/message/12");
        let bytes = recs.get_mut(&id).expect("content 12");
        bytes[30] ^= 1;
    }
    fn drop_content(vault: &UnlockedVault, recs: &mut BTreeMap<String, Vec<u8>>) {
        recs.remove(&vault.record_storage_id("msgdb/v1/message/9"));
    }
    let cases: [(Damage, MessageDbError); 3] = [
        (
            flip_index as Damage,
            MessageDbError::Store(StoreError::DecryptFailed),
        ),
        (
            flip_content as Damage,
            MessageDbError::Store(StoreError::DecryptFailed),
        ),
        (drop_content as Damage, MessageDbError::Corrupted),
    ];
    for (damage, expected) in cases {
        store.clear().await.expect("clear");
        let vault = {
            load_records(store, &records).await;
            Vault::unlock(store, FIXTURE_PASS).await.expect("unlock")
        };
        let mut damaged = records.clone();
        damage(&vault, &mut damaged);
        store.clear().await.expect("clear");
        load_records(store, &damaged).await;
        let before = snapshot(store).await;
        let mut db = MessageDb::new(store, &vault);
        assert_eq!(db.upgrade(&mut rng).await, Err(expected.clone()));
        assert_eq!(
            db.insert_message(incoming(peer(1), 1, "x", None), &mut rng)
                .await,
            Err(expected)
        );
        assert_eq!(
            db.list_conversations().await,
            Err(MessageDbError::UpgradeRequired)
        );
        assert_eq!(snapshot(store).await, before, "nothing written");
    }

    // Valid ciphertext, invalid or future contents under schema-1 names.
    for (name, plain, expected) in [
        (
            "msgdb/v1/conversations",
            &b"not json"[..],
            MessageDbError::Corrupted,
        ),
        (
            "msgdb/v1/seen",
            &br#"{"v":7,"hashes":[]}"#[..],
            MessageDbError::UnsupportedVersion { found: 7 },
        ),
    ] {
        store.clear().await.expect("clear");
        let vault = load_v1_fixture(store).await;
        vault
            .put_record(store, name, plain, &mut rng)
            .await
            .expect("put");
        let mut db = MessageDb::new(store, &vault);
        assert_eq!(db.upgrade(&mut rng).await, Err(expected), "{name}");
    }

    // A marker from a newer schema: neither read nor written.
    store.clear().await.expect("clear");
    let vault = load_v1_fixture(store).await;
    vault
        .put_record(store, "msgdb/schema", br#"{"version":9}"#, &mut rng)
        .await
        .expect("put");
    let mut db = MessageDb::new(store, &vault);
    let newer = MessageDbError::UnsupportedVersion { found: 9 };
    assert_eq!(db.list_conversations().await, Err(newer.clone()));
    assert_eq!(db.upgrade(&mut rng).await, Err(newer));
}
