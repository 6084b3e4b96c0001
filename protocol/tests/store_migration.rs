//! Generates `tests/fixtures/msgdb_v1.json`: a message database written by the schema-1 code
//! (this commit's `MessageDb`), dumped record by record. Run once with
//! `cargo test -p umbra-protocol --test store_migration -- --ignored`; the output is
//! deterministic (fixed passphrase, test KDF parameters and seeded RNGs).

use std::collections::BTreeMap;

use futures_executor::block_on;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use umbra_protocol::identity::{AccountId, Identity, Seed};
use umbra_protocol::store::messages::{
    ConversationUpdate, Direction, Disappearing, DisappearingMode, InsertOutcome, MessageDb,
    MessageId, MessageRef, NewMessage, OutboxState, Quote,
};
use umbra_protocol::store::{MemoryStore, Store, Vault};

const PASS: &str = "fixture passphrase";
const T0: u64 = 1_750_000_000_000;

fn peer(n: u8) -> AccountId {
    Identity::from_seed(&Seed::from_entropy(&[n; 16]).expect("16")).account_id()
}

fn msg(
    conversation: AccountId,
    author: AccountId,
    direction: Direction,
    sent_ms: u64,
    body: &str,
    hash: Option<&str>,
) -> NewMessage {
    NewMessage {
        conversation,
        direction,
        author,
        sent_ms,
        received_ms: sent_ms + 50,
        body: body.to_owned(),
        storage_hash: hash.map(str::to_owned),
        outbox: None,
        disappearing: None,
        quote: None,
    }
}

fn id(o: InsertOutcome) -> MessageId {
    match o {
        InsertOutcome::Inserted(id) => id,
        other => panic!("{other:?}"),
    }
}

#[test]
#[ignore = "generates the schema-1 fixture; run by hand"]
fn generate_msgdb_v1_fixture() {
    let store = MemoryStore::new();
    let seed = Seed::from_entropy(&[0x5a; 16]).expect("16");
    let vault = block_on(Vault::create_insecure_for_tests(
        &store,
        PASS,
        &seed,
        &mut ChaCha20Rng::seed_from_u64(99),
    ))
    .expect("create");
    let me = vault.account_id();
    let (alice, bob, carol, dave, eve) = (peer(1), peer(2), peer(3), peer(4), peer(5));
    let mut r = ChaCha20Rng::seed_from_u64(100);
    let mut db = MessageDb::new(&store, &vault);
    block_on(async {
        use Direction::{Incoming, Outgoing};
        // Alice: accepted, a sent message with its sync-copy hash, a reply quoting it,
        // reactions both ways, a read receipt, an unsent message, a deleted-for-me message and
        // one unread message.
        let hi = id(db
            .insert_message(msg(alice, me, Outgoing, T0 + 1000, "Hi Alice", None), &mut r)
            .await
            .expect("hi"));
        db.set_outbox_state(&alice, hi, OutboxState::Sent, Some("hash-out1"), &mut r)
            .await
            .expect("sent");
        db.add_storage_hash(&alice, hi, "hash-out1-sync", &mut r)
            .await
            .expect("sync hash");
        db.upsert_conversation(
            &alice,
            ConversationUpdate {
                display_name: Some(Some("Alice".into())),
                ..ConversationUpdate::default()
            },
            T0 + 1100,
            &mut r,
        )
        .await
        .expect("name");
        let mine = MessageRef {
            author: me,
            sent_ms: T0 + 1000,
        };
        let reply = NewMessage {
            quote: Some(Quote {
                target: mine,
                text: "Hi Alice".into(),
            }),
            ..msg(
                alice,
                alice,
                Incoming,
                T0 + 2000,
                "Hello! How are you? 🙂",
                Some("hash-in1"),
            )
        };
        id(db.insert_message(reply, &mut r).await.expect("reply"));
        db.react(&alice, &mine, "👍", &alice, true, &mut r)
            .await
            .expect("react");
        let theirs = MessageRef {
            author: alice,
            sent_ms: T0 + 2000,
        };
        db.react(&alice, &theirs, "❤️", &me, true, &mut r)
            .await
            .expect("react");
        db.mark_read_by_peer(&alice, &[T0 + 1000], &mut r)
            .await
            .expect("receipt");
        db.mark_read(&alice, T0 + 3000, &mut r).await.expect("read");
        let oops = id(db
            .insert_message(
                msg(alice, me, Outgoing, T0 + 4000, "oops, wrong chat", None),
                &mut r,
            )
            .await
            .expect("oops"));
        db.set_outbox_state(&alice, oops, OutboxState::Sent, Some("hash-out2"), &mut r)
            .await
            .expect("sent");
        let oops_ref = MessageRef {
            author: me,
            sent_ms: T0 + 4000,
        };
        db.unsend(&alice, &oops_ref, &me, T0 + 4500, &mut r)
            .await
            .expect("unsend");
        let gone = id(db
            .insert_message(
                msg(alice, alice, Incoming, T0 + 5000, "delete me", Some("hash-in2")),
                &mut r,
            )
            .await
            .expect("gone"));
        db.delete_message(&alice, gone, &mut r)
            .await
            .expect("delete");
        id(db
            .insert_message(
                msg(alice, alice, Incoming, T0 + 6000, "still unread", Some("hash-in3")),
                &mut r,
            )
            .await
            .expect("unread"));

        // Bob: a message request with two unread messages and a display name.
        db.insert_messages(
            vec![
                msg(bob, bob, Incoming, T0 + 1500, "Hey, it's Bob", Some("hash-bob1")),
                msg(bob, bob, Incoming, T0 + 1600, "Are you there?", Some("hash-bob2")),
            ],
            &mut r,
        )
        .await
        .expect("bob");
        db.upsert_conversation(
            &bob,
            ConversationUpdate {
                display_name: Some(Some("Bob".into())),
                ..ConversationUpdate::default()
            },
            T0 + 1600,
            &mut r,
        )
        .await
        .expect("bob name");

        // Carol: blocked after one message; a later one is dropped.
        id(db
            .insert_message(
                msg(carol, carol, Incoming, T0 + 1700, "spam", Some("hash-carol1")),
                &mut r,
            )
            .await
            .expect("carol"));
        db.block(&carol, T0 + 1800, &mut r).await.expect("block");
        let dropped = db
            .insert_message(
                msg(carol, carol, Incoming, T0 + 1900, "more spam", Some("hash-carol2")),
                &mut r,
            )
            .await
            .expect("dropped");
        assert_eq!(dropped, InsertOutcome::Blocked);

        // Note to Self: a synced message (already sent) and an after-send setting.
        db.upsert_conversation(
            &me,
            ConversationUpdate {
                disappearing: Some(Disappearing {
                    mode: DisappearingMode::AfterSend,
                    timer_s: 86_400,
                }),
                ..ConversationUpdate::default()
            },
            T0 + 2400,
            &mut r,
        )
        .await
        .expect("nts");
        let nts = NewMessage {
            outbox: Some(OutboxState::Sent),
            disappearing: Some(Disappearing {
                mode: DisappearingMode::AfterSend,
                timer_s: 86_400,
            }),
            ..msg(me, me, Outgoing, T0 + 2500, "Buy milk", Some("hash-nts1"))
        };
        id(db.insert_message(nts, &mut r).await.expect("nts"));

        // Dave: after-read setting, an unread after-read message (timer not started), an
        // after-send message, and three outgoing messages: pending, failed, interrupted.
        let after_read = Disappearing {
            mode: DisappearingMode::AfterRead,
            timer_s: 300,
        };
        db.upsert_conversation(
            &dave,
            ConversationUpdate {
                display_name: Some(Some("Dave".into())),
                disappearing: Some(after_read),
                ..ConversationUpdate::default()
            },
            T0 + 6900,
            &mut r,
        )
        .await
        .expect("dave");
        db.insert_messages(
            vec![
                NewMessage {
                    disappearing: Some(after_read),
                    ..msg(
                        dave,
                        dave,
                        Incoming,
                        T0 + 7000,
                        "read me and I vanish",
                        Some("hash-dave1"),
                    )
                },
                NewMessage {
                    disappearing: Some(Disappearing {
                        mode: DisappearingMode::AfterSend,
                        timer_s: 3600,
                    }),
                    ..msg(
                        dave,
                        dave,
                        Incoming,
                        T0 + 7100,
                        "I vanish an hour after sending",
                        Some("hash-dave2"),
                    )
                },
            ],
            &mut r,
        )
        .await
        .expect("dave in");
        let pending = NewMessage {
            disappearing: Some(after_read),
            ..msg(dave, me, Outgoing, T0 + 8000, "pending reply", None)
        };
        id(db.insert_message(pending, &mut r).await.expect("pending"));
        let failed = id(db
            .insert_message(msg(dave, me, Outgoing, T0 + 8100, "failed reply", None), &mut r)
            .await
            .expect("failed"));
        db.set_outbox_state(&dave, failed, OutboxState::Failed { code: 3 }, None, &mut r)
            .await
            .expect("failed");
        let sending = id(db
            .insert_message(msg(dave, me, Outgoing, T0 + 8200, "interrupted", None), &mut r)
            .await
            .expect("sending"));
        db.set_outbox_state(&dave, sending, OutboxState::Sending, None, &mut r)
            .await
            .expect("sending");

        // Eve: no conversation, only the tombstone of a message unsent before it arrived.
        let early = MessageRef {
            author: eve,
            sent_ms: T0 + 9000,
        };
        assert_eq!(db.unsend(&eve, &early, &eve, T0 + 9100, &mut r).await, Ok(None));

        // Hashes of control messages that stored nothing.
        db.mark_seen(&["hash-receipt1", "hash-typing1"], &mut r)
            .await
            .expect("seen");
    });

    let mut records = BTreeMap::new();
    let mut ids = block_on(store.ids()).expect("ids");
    ids.sort();
    for rid in ids {
        let bytes = block_on(store.get(&rid)).expect("get").expect("value");
        records.insert(rid, hex::encode(bytes));
    }
    let dump = serde_json::json!({
        "about": "MemoryStore dump of a schema-1 message database (see tests/store_migration.rs)",
        "passphrase": PASS,
        "records": records,
    });
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/msgdb_v1.json");
    let mut text = serde_json::to_string_pretty(&dump).expect("json");
    text.push('\n');
    std::fs::write(path, text).expect("write fixture");
}
