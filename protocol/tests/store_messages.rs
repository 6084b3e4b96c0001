//! Native-only tests of the message database: read cost of listing a long conversation, batch
//! inserts, crash consistency with a non-atomic backend (every crash point), damaged records,
//! and redaction of `Debug` / error messages. The backend-independent behaviours are in the
//! conformance suite (`store_conformance.rs`).

#[path = "support/flaky_store.rs"]
mod flaky_store;

use flaky_store::FlakyStore;
use futures_executor::block_on;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use umbra_protocol::address::ConversationId;
use umbra_protocol::error::ErrorKind;
use umbra_protocol::identity::{AccountId, Identity, Seed};
use umbra_protocol::store::messages::{
    Direction, InsertOutcome, MessageDb, MessageDbError, MessageKey, NewMessage, OutboxState,
};
use umbra_protocol::store::{MemoryStore, Store, StoreError, UnlockedVault, Vault};

const PASS: &str = "pass";

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn peer(n: u8) -> AccountId {
    Identity::from_seed(&Seed::from_entropy(&[n; 16]).expect("16")).account_id()
}

fn seed() -> Seed {
    Seed::from_entropy(&[0x42; 16]).expect("16")
}

fn dm(account: AccountId) -> ConversationId {
    ConversationId::Direct(account)
}

fn incoming(from: AccountId, sent_ms: u64, body: &str, hash: Option<&str>) -> NewMessage {
    NewMessage {
        conversation: dm(from),
        direction: Direction::Incoming,
        author: from,
        sent_ms,
        received_ms: sent_ms,
        body: body.to_owned(),
        storage_hash: hash.map(str::to_owned),
        outbox: None,
        disappearing: None,
        quote: None,
        placeholder: None,
        attachments: Vec::new(),
    }
}

fn snapshot(store: &MemoryStore) -> Vec<(String, Vec<u8>)> {
    let mut ids = block_on(store.ids()).expect("ids");
    ids.sort();
    ids.into_iter()
        .map(|id| {
            let v = block_on(store.get(&id)).expect("get").expect("value");
            (id, v)
        })
        .collect()
}

fn create(store: &impl Store) -> UnlockedVault {
    block_on(Vault::create_insecure_for_tests(
        store,
        PASS,
        &seed(),
        &mut rng(1),
    ))
    .expect("create")
}

#[test]
fn listing_a_long_conversation_decrypts_its_index_once() {
    let store = FlakyStore::default();
    let vault = create(&store);
    let alice = peer(1);
    let mut r = rng(2);
    let mut db = MessageDb::new(&store, &vault);
    block_on(async {
        for chunk in 0..10u64 {
            let batch: Vec<NewMessage> = (0..100u64)
                .map(|i| {
                    let n = chunk * 100 + i;
                    incoming(
                        alice,
                        1_000 + n,
                        &format!("message {n}"),
                        Some(&format!("h{n}")),
                    )
                })
                .collect();
            let outcomes = db.insert_messages(batch, &mut r).await.expect("insert");
            assert!(
                outcomes
                    .iter()
                    .all(|o| matches!(o, InsertOutcome::Inserted(_)))
            );
        }
        assert_eq!(db.message_count(&dm(alice)).await, Ok(1000));
        let conv = db
            .conversation(&dm(alice))
            .await
            .expect("c")
            .expect("alice");
        assert_eq!(conv.unread_count, 1000);

        store.gets.set(0);
        let page = db.list_messages(&dm(alice), 50, 0).await.expect("page");
        assert_eq!(page.len(), 50);
        assert_eq!(page[0].body, "message 950");
        assert_eq!(page[49].body, "message 999");
        assert_eq!(
            store.gets.get(),
            1 + 50,
            "one index read plus one read per message"
        );

        store.gets.set(0);
        let all = db.list_messages(&dm(alice), 5000, 0).await.expect("all");
        assert_eq!(all.len(), 1000);
        assert_eq!(store.gets.get(), 1 + 1000);
        assert!(all.windows(2).all(|w| w[0].sent_ms < w[1].sent_ms));

        store.gets.set(0);
        let list = db.list_conversations().await.expect("list");
        assert_eq!(list.len(), 1);
        assert_eq!(store.gets.get(), 1, "the conversation list is one record");

        store.gets.set(0);
        let marked = db
            .mark_read(&dm(alice), 9_999_999, &mut r)
            .await
            .expect("read");
        assert_eq!(marked.len(), 1000);
        assert_eq!(
            store.gets.get(),
            2,
            "marking read touches the list and the index only"
        );
    });
}

#[test]
fn batch_insert_deduplicates_within_the_batch() {
    let store = MemoryStore::new();
    let vault = create(&store);
    let (alice, bob) = (peer(1), peer(2));
    let mut db = MessageDb::new(&store, &vault);
    let outcomes = block_on(db.insert_messages(
        vec![
            incoming(alice, 10, "a", Some("x")),
            incoming(bob, 11, "b", Some("y")),
            incoming(alice, 10, "a", Some("z")),
            incoming(bob, 12, "b2", Some("x")),
            incoming(alice, 13, "c", None),
        ],
        &mut rng(3),
    ))
    .expect("insert");
    let ids: Vec<MessageKey> = outcomes
        .iter()
        .filter_map(|o| match o {
            InsertOutcome::Inserted(id) => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 4);
    assert_eq!(outcomes[2], InsertOutcome::Duplicate(ids[0]));
    // The hash "x" belongs to alice's message: the index is per conversation, so in bob's
    // conversation it is a message of its own (dropping a repeated storage hash across
    // conversations is the network client's dedup, before the database).
    assert_eq!(outcomes[3], InsertOutcome::Inserted(ids[2]));
    // Within bob's conversation the hash now deduplicates too.
    assert_eq!(
        block_on(db.insert_message(incoming(bob, 14, "b3", Some("x")), &mut rng(5))),
        Ok(InsertOutcome::Duplicate(ids[2]))
    );
    let a = block_on(db.list_messages(&dm(alice), 10, 0)).expect("list");
    assert_eq!(a.len(), 2);
    assert_eq!(a[0].storage_hashes, ["x", "z"]);
    assert_eq!(
        block_on(db.conversation(&dm(alice)))
            .expect("c")
            .expect("a")
            .last_message
            .expect("last")
            .preview,
        "c"
    );
    // A wrong author anywhere in the batch stores nothing.
    let before = snapshot(&store);
    let bad = NewMessage {
        author: bob,
        ..incoming(alice, 99, "forged", Some("w"))
    };
    assert_eq!(
        block_on(db.insert_messages(vec![incoming(alice, 50, "ok", Some("v")), bad], &mut rng(4))),
        Err(MessageDbError::WrongAuthor)
    );
    assert_eq!(snapshot(&store), before);
}

#[test]
fn a_crash_at_any_write_leaves_a_consistent_database() {
    let alice = peer(1);
    let mut crash_points = 0;
    for budget in 0..40 {
        let store = FlakyStore::default();
        let vault = create(&store);
        let mut r = rng(6);
        let me = vault.account_id();
        let mut db = MessageDb::new(&store, &vault);
        let first = block_on(db.insert_message(incoming(alice, 10, "one", Some("h1")), &mut r))
            .expect("setup");
        let InsertOutcome::Inserted(first) = first else {
            panic!("setup")
        };
        store.write_budget.set(Some(budget));
        // A sequence of operations; the store "crashes" after `budget` writes.
        let result: Result<(), MessageDbError> = block_on(async {
            db.insert_message(incoming(alice, 20, "two", Some("h2")), &mut r)
                .await?;
            let mine = NewMessage {
                conversation: dm(alice),
                direction: Direction::Outgoing,
                author: me,
                sent_ms: 30,
                received_ms: 30,
                body: "three".into(),
                storage_hash: None,
                outbox: None,
                disappearing: None,
                quote: None,
                placeholder: None,
                attachments: Vec::new(),
            };
            let InsertOutcome::Inserted(mine) = db.insert_message(mine, &mut r).await? else {
                panic!("insert")
            };
            db.set_outbox_state(&dm(alice), mine, OutboxState::Sent, Some("h3"), &mut r)
                .await?;
            db.mark_read(&dm(alice), 40, &mut r).await?;
            db.delete_message(&dm(alice), first, &mut r).await?;
            db.delete_conversation(&dm(alice), &mut r).await?;
            Ok(())
        });
        drop(vault);
        store.write_budget.set(None);
        if result.is_ok() {
            break;
        }
        crash_points += 1;
        assert!(
            matches!(
                result,
                Err(MessageDbError::Store(StoreError::Backend { .. }))
            ),
            "{result:?}"
        );
        // Retrying the interrupted insert converges to one copy of each message.
        let vault = block_on(Vault::unlock(&store, PASS)).expect("unlock");
        let mut db = MessageDb::new(&store, &vault);
        let again = block_on(db.insert_message(incoming(alice, 20, "two", Some("h2")), &mut r))
            .expect("retry");
        assert!(
            matches!(
                again,
                InsertOutcome::Inserted(_) | InsertOutcome::Duplicate(_) | InsertOutcome::Deleted
            ),
            "{again:?}"
        );
        // A new message after the crash gets a fresh id and its own content.
        let four = block_on(db.insert_message(incoming(alice, 60, "four", Some("h4")), &mut r))
            .expect("insert after crash");
        assert!(matches!(four, InsertOutcome::Inserted(_)), "{four:?}");
        // Opening the conversation marks it read, which also recomputes its summary.
        if block_on(db.conversation(&dm(alice))).expect("c").is_some() {
            block_on(db.mark_read(&dm(alice), 50, &mut r)).expect("read");
        }
        let list = block_on(db.list_messages(&dm(alice), 100, 0)).expect("list after crash");
        let twos = list.iter().filter(|m| m.sent_ms == 20).count();
        assert!(twos <= 1, "budget {budget}: duplicated message");
        let ids: std::collections::BTreeSet<MessageKey> = list.iter().map(|m| m.id).collect();
        assert_eq!(ids.len(), list.len(), "budget {budget}: id reused");
        for m in &list {
            let expected = match m.sent_ms {
                10 => "one",
                20 => "two",
                30 => "three",
                60 => "four",
                other => panic!("unexpected message at {other}"),
            };
            assert_eq!(m.body, expected, "budget {budget}: content mixed up");
        }
        assert!(list.iter().any(|m| m.body == "four"));
        if let Some(conv) = block_on(db.conversation(&dm(alice))).expect("c") {
            let unread = list
                .iter()
                .filter(|m| m.direction == Direction::Incoming && !m.read && !m.deleted)
                .count();
            assert_eq!(conv.unread_count as usize, unread, "budget {budget}");
            let newest = list.last().map(|m| m.id);
            assert_eq!(conv.last_message.map(|l| l.id), newest, "budget {budget}");
        }
    }
    assert!(
        crash_points > 10,
        "the sequence was interrupted at many points"
    );
}

#[test]
fn damaged_records_are_errors_not_panics() {
    let store = MemoryStore::new();
    let vault = create(&store);
    let alice = peer(1);
    let mut r = rng(7);
    let mut db = MessageDb::new(&store, &vault);
    block_on(db.insert_message(incoming(alice, 10, "x", None), &mut r)).expect("insert");
    // Valid ciphertext, invalid contents (written through the vault under the documented name).
    block_on(vault.put_record(&store, "msgdb/v2/conversations", b"not json", &mut r)).expect("put");
    assert_eq!(
        block_on(db.list_conversations()),
        Err(MessageDbError::Corrupted)
    );
    block_on(vault.put_record(
        &store,
        "msgdb/v2/conversations",
        br#"{"v":9,"next_id":1,"conversations":[]}"#,
        &mut r,
    ))
    .expect("put");
    assert_eq!(
        block_on(db.list_conversations()),
        Err(MessageDbError::UnsupportedVersion { found: 9 })
    );
    // A flipped byte in the index record is a decryption failure.
    let index_id = vault.record_storage_id(&format!("msgdb/v2/index/{alice}"));
    let mut bytes = block_on(store.get(&index_id)).expect("get").expect("index");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    block_on(store.put(&index_id, &bytes)).expect("put");
    let err = block_on(db.list_messages(&dm(alice), 10, 0)).expect_err("tampered");
    assert_eq!(err, MessageDbError::Store(StoreError::DecryptFailed));
    assert_eq!(err.kind(), ErrorKind::Storage);
    // Index pointing at a missing message content.
    bytes[last] ^= 1;
    block_on(store.put(&index_id, &bytes)).expect("restore");
    let id = block_on(db.list_messages(&dm(alice), 10, 0)).expect("list")[0].id;
    block_on(vault.delete_record(&store, &format!("msgdb/v2/message/{}", id.0))).expect("del");
    assert_eq!(
        block_on(db.list_messages(&dm(alice), 10, 0)),
        Err(MessageDbError::Corrupted)
    );
}

#[test]
fn debug_and_errors_carry_no_user_data() {
    let store = MemoryStore::new();
    let vault = create(&store);
    let db = MessageDb::new(&store, &vault);
    assert_eq!(format!("{db:?}"), "MessageDb(<redacted>)");
    for e in [
        MessageDbError::Corrupted,
        MessageDbError::NoSuchConversation,
        MessageDbError::NoSuchMessage,
        MessageDbError::NotOutgoing,
        MessageDbError::WrongAuthor,
        MessageDbError::UnsupportedVersion { found: 2 },
        MessageDbError::UpgradeRequired,
        MessageDbError::Store(StoreError::DecryptFailed),
        MessageDbError::Encode,
    ] {
        let text = e.to_string();
        assert!(!text.contains("05"), "{text}");
        let _ = e.kind();
    }
    assert_eq!(MessageDbError::NoSuchMessage.kind(), ErrorKind::BadApiUsage);
    assert_eq!(MessageDbError::Encode.kind(), ErrorKind::Bug);
}

#[test]
fn marking_read_heals_a_summary_left_ahead_by_an_interrupted_write() {
    let store = FlakyStore::default();
    let vault = create(&store);
    let alice = peer(1);
    let mut r = rng(8);
    let mut db = MessageDb::new(&store, &vault);
    let InsertOutcome::Inserted(one) =
        block_on(db.insert_message(incoming(alice, 10, "one", Some("h1")), &mut r)).expect("one")
    else {
        panic!("insert")
    };
    block_on(db.mark_read(&dm(alice), 11, &mut r)).expect("read");
    // Content and conversation list are written, then the index write fails.
    store.write_budget.set(Some(2));
    let crashed = block_on(db.insert_message(incoming(alice, 20, "two", Some("h2")), &mut r));
    assert_eq!(
        crashed,
        Err(MessageDbError::Store(StoreError::Backend {
            operation: "put"
        }))
    );
    store.write_budget.set(None);
    let stale = block_on(db.conversation(&dm(alice)))
        .expect("c")
        .expect("alice");
    assert_eq!(stale.unread_count, 1, "the summary is ahead of the index");
    assert_eq!(block_on(db.message_count(&dm(alice))), Ok(1));
    assert_eq!(
        block_on(db.mark_read(&dm(alice), 30, &mut r)),
        Ok(Vec::new())
    );
    let healed = block_on(db.conversation(&dm(alice)))
        .expect("c")
        .expect("alice");
    assert_eq!(healed.unread_count, 0);
    assert_eq!(healed.last_message.expect("last").id, one);
    // The retried insert is stored once, under a new id.
    let again =
        block_on(db.insert_message(incoming(alice, 20, "two", Some("h2")), &mut r)).expect("two");
    let InsertOutcome::Inserted(two) = again else {
        panic!("{again:?}")
    };
    assert!(two > one);
    let conv = block_on(db.conversation(&dm(alice)))
        .expect("c")
        .expect("alice");
    assert_eq!(conv.unread_count, 1);
    assert_eq!(conv.last_message.expect("last").id, two);
}
