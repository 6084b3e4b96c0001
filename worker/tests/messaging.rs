//! In-browser tests of the messaging driver without a network: the IndexedDB batch is atomic,
//! and the driver's commands work with the client pointed at an unreachable seed (paths go
//! to `Failing`, the outbox is persisted and survives a reload, history and block list too).

use std::cell::RefCell;

use umbra_ipc::{
    AccountCommand, AccountState, AppCommand, Command, ConversationKind, ConversationOp,
    ConversationSummary, ConversationsCommand, DeliveryState, Direction, ErrorCode, Event,
    MessageView, PathState, SettingsCommand, patch_messages,
};
use umbra_protocol::store::{BatchOp, KdfParams, Store};
use umbra_worker::{
    driver::Driver,
    net,
    rng::{WorkerRng, worker_rng},
    store::{IndexedDbStore, io_stats},
};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

type TestDriver = Driver<WorkerRng>;

/// Nothing listens on the discard port: connections are refused at once.
const DEAD_SEED: &str = "http://127.0.0.1:9";
const PEER: &str = "05ababababababababababababababababababababababababababababababab12";

fn put(id: &str, bytes: &[u8]) -> BatchOp {
    BatchOp::Put {
        id: id.into(),
        bytes: bytes.to_vec(),
    }
}

#[wasm_bindgen_test]
async fn test_write_batch_is_all_or_nothing() {
    let store = IndexedDbStore::open_fresh("msgw-batch")
        .await
        .expect("open");
    store.put("a", &[1]).await.expect("put");
    let ops = vec![
        put("b", &[2]),
        BatchOp::Delete { id: "a".into() },
        put("c", &[3]),
    ];
    // Failing at the third op rolls back the first two.
    assert!(store.apply_batch(&ops, Some(2)).await.is_err());
    assert_eq!(store.ids().await, Ok(vec!["a".to_owned()]));
    assert_eq!(store.get("a").await, Ok(Some(vec![1])));
    // The real override applies everything in order.
    store.write_batch(&ops).await.expect("batch");
    let mut ids = store.ids().await.expect("ids");
    ids.sort();
    assert_eq!(ids, vec!["b".to_owned(), "c".to_owned()]);
    assert_eq!(store.get("c").await, Ok(Some(vec![3])));
    store.delete_database().await.expect("delete");
}

#[wasm_bindgen_test]
fn test_config_file_parsing() {
    assert_eq!(
        net::parse_config(br#"{"seed_url": "http://127.0.0.1:22020/"}"#).map(|c| c.seed_urls),
        Some(vec!["http://127.0.0.1:22020".to_owned()])
    );
    assert_eq!(
        net::parse_config(br#"{"seed_url": "javascript:alert(1)"}"#),
        None
    );
    assert_eq!(net::parse_config(br#"{"seed": "http://x"}"#), None);
    assert_eq!(net::parse_config(b"not json"), None);
}

#[wasm_bindgen_test]
async fn test_transport_maps_failures() {
    // Refused connection.
    assert_eq!(
        net::post(
            &format!("{DEAD_SEED}/json_rpc"),
            "application/json",
            b"{}",
            5_000
        )
        .await,
        Err(umbra_protocol::client::TransportFailure::Unreachable)
    );
}

/// The open conversation as the app shows it: the last `Messages` page, patched by every
/// `MessagesChanged` since.
#[derive(Debug)]
struct Page {
    conversation: String,
    summary: ConversationSummary,
    items: Vec<MessageView>,
}

struct Harness {
    driver: TestDriver,
    events: RefCell<Vec<Event>>,
    /// Every event ever posted.
    all: RefCell<Vec<Event>>,
    page: RefCell<Option<Page>>,
}

/// Records `e` as the app would: in the event lists, and applied to the shown page.
fn record(
    events: &RefCell<Vec<Event>>,
    all: &RefCell<Vec<Event>>,
    page: &RefCell<Option<Page>>,
    e: &Event,
) {
    events.borrow_mut().push(e.clone());
    all.borrow_mut().push(e.clone());
    match e.clone() {
        Event::Messages {
            conversation,
            summary,
            items,
        } => {
            *page.borrow_mut() = Some(Page {
                conversation,
                summary,
                items,
            });
        }
        Event::MessagesChanged {
            conversation,
            summary,
            upserts,
            removed,
        } => {
            let mut page = page.borrow_mut();
            let page = page
                .as_mut()
                .filter(|p| p.conversation == conversation)
                .expect("a change follows the page it changes");
            if let Some(summary) = summary {
                page.summary = summary;
            }
            patch_messages(&mut page.items, upserts, &removed);
        }
        _ => {}
    }
}

impl Harness {
    async fn fresh(name: &str) -> Harness {
        IndexedDbStore::open_fresh(name)
            .await
            .expect("fresh")
            .delete_database()
            .await
            .expect("delete");
        Self::reopen(name)
    }

    fn reopen(name: &str) -> Harness {
        let mut driver = Driver::new(name, KdfParams::FLOOR, worker_rng());
        driver.set_seed_urls(vec![DEAD_SEED.into()]);
        // No node ever answers here: sends would wait for the network time.
        driver.assume_device_clock();
        Harness {
            driver,
            events: RefCell::new(Vec::new()),
            all: RefCell::new(Vec::new()),
            page: RefCell::new(None),
        }
    }

    /// Runs `cmd`, then every queued input; returns the events posted.
    async fn run(&mut self, cmd: Command) -> Vec<Event> {
        let (events, all, page) = (&self.events, &self.all, &self.page);
        let post = |e: &Event| record(events, all, page, e);
        self.driver.handle(cmd, &post).await;
        while let Some(input) = self.driver.mailbox().pop() {
            self.driver.handle_input(input, &post).await;
        }
        self.events.take()
    }

    /// Runs `cmd` alone (queued inputs stay queued); returns the events posted.
    async fn step(&mut self, cmd: Command) -> Vec<Event> {
        let (events, all, page) = (&self.events, &self.all, &self.page);
        let post = |e: &Event| record(events, all, page, e);
        self.driver.handle(cmd, &post).await;
        self.events.take()
    }

    /// Handles inputs (HTTP answers, timers) for `ms` milliseconds or until `until` holds.
    async fn pump(&mut self, ms: u64, until: impl Fn(&[Event]) -> bool) -> Vec<Event> {
        let deadline = net::now_ms() + ms;
        let (events, all, page) = (&self.events, &self.all, &self.page);
        let post = |e: &Event| record(events, all, page, e);
        loop {
            while let Some(input) = self.driver.mailbox().pop() {
                self.driver.handle_input(input, &post).await;
            }
            if until(&self.all.borrow()) || net::now_ms() >= deadline {
                break;
            }
            net::sleep(20).await;
        }
        self.events.take()
    }

    /// Runs `cmd`, checks it posted the open conversation's page or a change to it, and
    /// returns the page as the app then shows it.
    async fn run_page(&mut self, cmd: Command) -> Vec<MessageView> {
        let events = self.run(cmd).await;
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::Messages { .. } | Event::MessagesChanged { .. })),
            "no page or change posted: {events:?}"
        );
        self.page
            .borrow()
            .as_ref()
            .map(|p| p.items.clone())
            .unwrap_or_default()
    }

    /// The open conversation's row as the app shows it.
    fn summary(&self) -> ConversationSummary {
        self.page
            .borrow()
            .as_ref()
            .map(|p| p.summary.clone())
            .expect("a conversation is shown")
    }
}

fn find_error(events: &[Event]) -> Option<ErrorCode> {
    events.iter().find_map(|e| match e {
        Event::Error { code } => Some(*code),
        _ => None,
    })
}

fn last_messages(events: &[Event]) -> Option<&Event> {
    events
        .iter()
        .rev()
        .find(|e| matches!(e, Event::Messages { .. }))
}

#[wasm_bindgen_test]
async fn test_driver_offline_outbox_history_and_block() {
    let name = "msgw-driver";
    let mut h = Harness::fresh(name).await;
    assert_eq!(
        h.run(Command::Conversations(ConversationsCommand::List))
            .await,
        vec![Event::Error {
            code: ErrorCode::NotUnlocked
        }]
    );
    let Some(Event::AccountCreated { account_id, .. }) =
        h.run(Command::Account(AccountCommand::Create)).await.pop()
    else {
        panic!("expected AccountCreated")
    };
    let events = h
        .run(Command::Account(AccountCommand::SetPassphrase {
            passphrase: "pw horse e2e".into(),
        }))
        .await;
    assert!(events.contains(&Event::Unlocked {
        account_id: account_id.clone()
    }));
    // The messenger started after the unlock: paths are being built, no name yet.
    assert!(
        events.contains(&Event::Profile { display_name: None }),
        "{events:?}"
    );
    assert!(h.driver.messenger().is_some());

    // Validation.
    for bad in ["05zz", "", &PEER[..64], &format!("06{}", &PEER[2..])] {
        assert_eq!(
            h.run(Command::conversation(bad, ConversationOp::Open))
                .await,
            vec![Event::Error {
                code: ErrorCode::InvalidConversationId
            }]
        );
    }
    // Well-formed references of kinds not supported yet: a typed error, nothing opened.
    for unsupported in [
        format!("03{}", &PEER[2..]),
        "https://open.getsession.org/session".to_owned(),
    ] {
        assert_eq!(
            h.run(Command::conversation(unsupported, ConversationOp::Open))
                .await,
            vec![Event::Error {
                code: ErrorCode::UnsupportedConversation
            }]
        );
    }
    assert_eq!(h.driver.messenger().and_then(|m| m.open_peer()), None);
    assert_eq!(
        find_error(
            &h.run(Command::conversation(
                PEER,
                ConversationOp::SendText {
                    body: "  ".into(),
                    reply_to: None
                }
            ))
            .await
        ),
        Some(ErrorCode::InvalidMessage)
    );
    assert_eq!(
        find_error(
            &h.run(Command::conversation(
                PEER,
                ConversationOp::SendText {
                    body: "x".repeat(2001),
                    reply_to: None
                }
            ))
            .await
        ),
        Some(ErrorCode::InvalidMessage)
    );

    // Send while the seed is unreachable: the message is stored Pending and listed. The
    // step is one IndexedDB write transaction: the message, its conversation and index, and
    // the client's outbox entry go together.
    let before = io_stats();
    let events = h
        .step(Command::conversation(
            PEER,
            ConversationOp::SendText {
                body: "hello offline".into(),
                reply_to: None,
            },
        ))
        .await;
    assert_eq!(find_error(&events), None, "{events:?}");
    let after = io_stats();
    assert_eq!(
        after.write_tx - before.write_tx,
        1,
        "{before:?} → {after:?}"
    );
    assert!(after.puts - before.puts >= 4, "{before:?} → {after:?}");
    let Some(Event::Conversations { items }) = events
        .iter()
        .rev()
        .find(|e| matches!(e, Event::Conversations { .. }))
    else {
        panic!("no conversation list after sending: {events:?}")
    };
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].conversation, PEER);
    assert_eq!(items[0].kind, ConversationKind::Accepted);
    assert_eq!(items[0].last_preview.as_deref(), Some("hello offline"));

    let events = h
        .run(Command::conversation(PEER, ConversationOp::Open))
        .await;
    let Some(Event::Messages {
        conversation,
        items,
        ..
    }) = last_messages(&events)
    else {
        panic!("no messages: {events:?}")
    };
    assert_eq!(conversation, PEER);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].direction, Direction::Outgoing);
    assert_eq!(items[0].body, "hello offline");
    assert!(matches!(
        items[0].state,
        DeliveryState::Pending | DeliveryState::Sending
    ));
    let id = items[0].id;

    // The seed refuses connections: the path indicator goes to Failing.
    let failing = Event::Paths {
        state: PathState::Failing,
    };
    h.pump(8_000, |ev| ev.contains(&failing)).await;
    assert!(h.all.borrow().contains(&failing));
    assert_eq!(
        h.driver.messenger().map(|m| m.path_status()),
        Some(umbra_protocol::client::PathStatus::Failing)
    );

    // Display name, block list.
    assert_eq!(
        h.run(Command::Account(AccountCommand::SetDisplayName {
            name: "é".repeat(51)
        }))
        .await,
        vec![Event::Error {
            code: ErrorCode::InvalidDisplayName
        }]
    );
    assert_eq!(
        h.run(Command::Account(AccountCommand::SetDisplayName {
            name: "Alice".into()
        }))
        .await,
        vec![Event::Profile {
            display_name: Some("Alice".into())
        }]
    );
    let events = h
        .run(Command::conversation(PEER, ConversationOp::Block))
        .await;
    assert!(
        events.contains(&Event::BlockList {
            accounts: vec![PEER.into()]
        }),
        "{events:?}"
    );
    assert_eq!(
        h.run(Command::Conversations(ConversationsCommand::ListBlocked))
            .await,
        vec![Event::BlockList {
            accounts: vec![PEER.into()]
        }]
    );
    let events = h
        .run(Command::conversation(PEER, ConversationOp::Unblock))
        .await;
    assert!(
        events.contains(&Event::BlockList { accounts: vec![] }),
        "{events:?}"
    );

    // Lock stops the messenger.
    assert_eq!(
        h.run(Command::Account(AccountCommand::Lock)).await.pop(),
        Some(Event::Status {
            state: AccountState::Locked
        })
    );
    assert!(h.driver.messenger().is_none());
    assert_eq!(
        h.run(Command::conversation(
            PEER,
            ConversationOp::SendText {
                body: "x".into(),
                reply_to: None
            }
        ))
        .await,
        vec![Event::Error {
            code: ErrorCode::NotUnlocked
        }]
    );

    // No message text or Account ID in IndexedDB.
    let store = IndexedDbStore::open(name).await.expect("open");
    let mut dump = Vec::new();
    for (id, value) in umbra_protocol::store::testing::snapshot(&store).await {
        dump.extend_from_slice(id.as_bytes());
        dump.extend_from_slice(&value);
    }
    for needle in ["hello offline", PEER, &account_id, "Alice"] {
        assert!(
            !dump.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "plaintext at rest"
        );
    }

    // A reload: the history, the profile and the unsent outbox entry come back.
    let mut h = Harness::reopen(name);
    let events = h
        .run(Command::Account(AccountCommand::Unlock {
            passphrase: "pw horse e2e".into(),
        }))
        .await;
    assert!(
        events.contains(&Event::Profile {
            display_name: Some("Alice".into())
        }),
        "{events:?}"
    );
    let resumed = h
        .driver
        .messenger()
        .map(|m| {
            m.client()
                .outbox()
                .iter()
                .any(|e| e.local_id.to_string() == id.to_string())
        })
        .unwrap_or(false);
    assert!(resumed, "the unsent message is back in the client's outbox");
    let events = h
        .run(Command::conversation(PEER, ConversationOp::Open))
        .await;
    let Some(Event::Messages { items, .. }) = last_messages(&events) else {
        panic!("no messages after reload: {events:?}")
    };
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].id, id);
    assert_eq!(items[0].body, "hello offline");
    assert_ne!(items[0].state, DeliveryState::Sent);
    assert_eq!(
        find_error(
            &h.run(Command::conversation(
                PEER,
                ConversationOp::RetrySend { id }
            ))
            .await
        ),
        None
    );
    assert_eq!(
        h.run(Command::App(AppCommand::SetForeground { visible: false }))
            .await
            .pop()
            .map(|e| matches!(e, Event::Paths { .. })),
        Some(true)
    );

    // Deleting the conversation empties the list.
    let events = h
        .run(Command::conversation(PEER, ConversationOp::Delete))
        .await;
    assert_eq!(
        events
            .iter()
            .rev()
            .find(|e| matches!(e, Event::Conversations { .. })),
        Some(&Event::Conversations { items: vec![] })
    );
    assert_eq!(h.driver.messenger().and_then(|m| m.open_peer()), None);
    let _ = h.run(Command::Account(AccountCommand::Lock)).await;
    store.delete_database().await.expect("delete");
}

fn find_body<'a>(items: &'a [umbra_ipc::MessageView], body: &str) -> &'a umbra_ipc::MessageView {
    items
        .iter()
        .find(|m| m.body == body)
        .unwrap_or_else(|| panic!("no message {body:?} in {items:?}"))
}

fn search_hits(events: &[Event]) -> Vec<String> {
    match events
        .iter()
        .rev()
        .find(|e| matches!(e, Event::SearchResults { .. }))
    {
        Some(Event::SearchResults { items, .. }) => items.iter().map(|h| h.body.clone()).collect(),
        _ => panic!("no search results: {events:?}"),
    }
}

/// Replies, reactions, delete for me, unsend, search, the disappearing setting and its sweep
/// out of IndexedDB, and the settings record across a lock — all without a network.
#[wasm_bindgen_test]
async fn test_conversation_features_offline() {
    use umbra_ipc::{DisappearingMode, DisappearingView, QuoteView, ReactionView, Settings};
    use umbra_protocol::store::{
        MessageDb, Vault,
        messages::{
            Direction as DbDirection, Disappearing, DisappearingMode as DbMode, NewMessage,
        },
    };

    const PEER2: &str = "05cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd34";
    let name = "i5w-features";
    let mut h = Harness::fresh(name).await;
    let _ = h.run(Command::Account(AccountCommand::Create)).await;
    let events = h
        .run(Command::Account(AccountCommand::SetPassphrase {
            passphrase: "pw features".into(),
        }))
        .await;
    // Settings are posted after unlock; Session's defaults are all off.
    assert!(
        events.contains(&Event::Settings {
            settings: Settings::default()
        }),
        "{events:?}"
    );
    let on = Settings {
        read_receipts: true,
        typing_indicators: true,
        notifications: true,
        notification_content: false,
        calls: false,
    };
    assert!(
        h.run(Command::Settings(SettingsCommand::Set { settings: on }))
            .await
            .contains(&Event::Settings { settings: on })
    );
    assert!(
        h.run(Command::Settings(SettingsCommand::Get))
            .await
            .contains(&Event::Settings { settings: on })
    );

    // A reply quotes its original.
    for (peer, body) in [(PEER, "alpha one"), (PEER2, "alpha elsewhere")] {
        let events = h
            .run(Command::conversation(
                peer,
                ConversationOp::SendText {
                    body: body.into(),
                    reply_to: None,
                },
            ))
            .await;
        assert_eq!(find_error(&events), None, "{events:?}");
    }
    let items = h
        .run_page(Command::conversation(PEER, ConversationOp::Open))
        .await;
    let alpha = find_body(&items, "alpha one").id;
    assert_eq!(
        find_error(
            &h.run(Command::conversation(
                PEER,
                ConversationOp::SendText {
                    body: "beta two".into(),
                    reply_to: Some(9_999)
                }
            ))
            .await
        ),
        Some(ErrorCode::NoSuchMessage)
    );
    let items = h
        .run_page(Command::conversation(
            PEER,
            ConversationOp::SendText {
                body: "beta two".into(),
                reply_to: Some(alpha),
            },
        ))
        .await;
    let beta = find_body(&items, "beta two");
    assert_eq!(
        beta.quote,
        Some(QuoteView {
            id: Some(alpha),
            author_is_me: true,
            text: "alpha one".into(),
            picture: false,
        })
    );
    assert_eq!(find_body(&items, "alpha one").quote, None);
    let beta = beta.id;

    // Reactions toggle. After the open, only changes go out: no whole page.
    let events = h
        .run(Command::conversation(
            PEER,
            ConversationOp::React {
                id: alpha,
                emoji: "👍".into(),
            },
        ))
        .await;
    assert!(
        !events.iter().any(|e| matches!(e, Event::Messages { .. })),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::MessagesChanged { upserts, .. }
            if upserts.iter().any(|m| m.id == alpha))),
        "{events:?}"
    );
    let items = h
        .page
        .borrow()
        .as_ref()
        .map(|p| p.items.clone())
        .unwrap_or_default();
    assert_eq!(
        find_body(&items, "alpha one").reactions,
        vec![ReactionView {
            emoji: "👍".into(),
            count: 1,
            mine: true
        }]
    );
    let items = h
        .run_page(Command::conversation(
            PEER,
            ConversationOp::React {
                id: alpha,
                emoji: "👍".into(),
            },
        ))
        .await;
    assert_eq!(find_body(&items, "alpha one").reactions, vec![]);
    for bad in ["", "a b", "\u{202e}x"] {
        assert_eq!(
            find_error(
                &h.run(Command::conversation(
                    PEER,
                    ConversationOp::React {
                        id: alpha,
                        emoji: bad.into()
                    }
                ))
                .await
            ),
            Some(ErrorCode::InvalidReaction),
            "{bad:?}"
        );
    }
    assert_eq!(
        find_error(
            &h.run(Command::conversation(
                PEER,
                ConversationOp::React {
                    id: 9_999,
                    emoji: "👍".into()
                }
            ))
            .await
        ),
        Some(ErrorCode::NoSuchMessage)
    );

    // Search: local, case-insensitive, newest first, per conversation or all.
    let hits = search_hits(
        &h.run(Command::conversation(
            PEER,
            ConversationOp::Search {
                query: "ALPHA".into(),
            },
        ))
        .await,
    );
    assert_eq!(hits, vec!["alpha one".to_owned()]);
    let hits = search_hits(
        &h.run(Command::Conversations(ConversationsCommand::Search {
            query: "alpha".into(),
        }))
        .await,
    );
    assert_eq!(hits.len(), 2, "{hits:?}");
    let hits = search_hits(
        &h.run(Command::conversation(
            PEER,
            ConversationOp::Search { query: "O".into() },
        ))
        .await,
    );
    assert_eq!(hits, vec!["beta two".to_owned(), "alpha one".to_owned()]);
    assert!(
        search_hits(
            &h.run(Command::Conversations(ConversationsCommand::Search {
                query: "  ".into()
            }))
            .await
        )
        .is_empty()
    );
    assert!(
        search_hits(
            &h.run(Command::Conversations(ConversationsCommand::Search {
                query: "zebra".into()
            }))
            .await
        )
        .is_empty()
    );

    // The disappearing setting: only offered timers; our next message carries an expiry.
    for (mode, timer_s) in [
        (DisappearingMode::AfterSend, 301),
        (DisappearingMode::AfterRead, 0),
        (DisappearingMode::AfterSend, 2_419_201),
        // Five minutes is offered after read only, as in Session's clients.
        (DisappearingMode::AfterSend, 300),
    ] {
        assert_eq!(
            find_error(
                &h.run(Command::conversation(
                    PEER,
                    ConversationOp::SetDisappearing {
                        setting: DisappearingView { mode, timer_s }
                    }
                ))
                .await
            ),
            Some(ErrorCode::InvalidTimer)
        );
    }
    let twelve_h = DisappearingView {
        mode: DisappearingMode::AfterSend,
        timer_s: 43_200,
    };
    let events = h
        .run(Command::conversation(
            PEER,
            ConversationOp::SetDisappearing { setting: twelve_h },
        ))
        .await;
    assert_eq!(find_error(&events), None, "{events:?}");
    assert_eq!(h.summary().disappearing, twelve_h);
    let items = h
        .run_page(Command::conversation(
            PEER,
            ConversationOp::SendText {
                body: "gamma".into(),
                reply_to: None,
            },
        ))
        .await;
    let gamma = find_body(&items, "gamma");
    assert_eq!(gamma.expires_at_ms, Some(gamma.sent_ms + 43_200_000));
    assert_eq!(find_body(&items, "beta two").expires_at_ms, None);
    let events = h
        .run(Command::conversation(
            PEER,
            ConversationOp::SetDisappearing {
                setting: DisappearingView {
                    mode: DisappearingMode::Off,
                    timer_s: 12,
                },
            },
        ))
        .await;
    assert_eq!(find_error(&events), None, "{events:?}");
    assert_eq!(h.summary().disappearing, DisappearingView::default());

    // Delete for me, unsend (ours only).
    let items = h
        .run_page(Command::conversation(
            PEER,
            ConversationOp::DeleteForMe { id: alpha },
        ))
        .await;
    assert!(items.iter().all(|m| m.id != alpha));
    assert_eq!(
        find_error(
            &h.run(Command::conversation(
                PEER,
                ConversationOp::DeleteForMe { id: alpha }
            ))
            .await
        ),
        Some(ErrorCode::NoSuchMessage)
    );
    let items = h
        .run_page(Command::conversation(
            PEER,
            ConversationOp::Unsend { id: beta },
        ))
        .await;
    assert!(items.iter().all(|m| m.id != beta), "{items:?}");
    assert_eq!(
        find_error(
            &h.run(Command::conversation(
                PEER,
                ConversationOp::Unsend { id: beta }
            ))
            .await
        ),
        Some(ErrorCode::NoSuchMessage)
    );
    // Typing with indicators on, offline: accepted silently.
    assert_eq!(
        find_error(
            &h.run(Command::conversation(
                PEER,
                ConversationOp::Typing { started: true }
            ))
            .await
        ),
        None
    );
    let _ = h
        .run(Command::Conversations(ConversationsCommand::Close))
        .await;
    let _ = h.run(Command::Account(AccountCommand::Lock)).await;

    // While locked, two messages from the peer arrive in the database: one disappearing
    // 300 s after it was sent (1.5 s from now), one 300 s after it is read.
    let store = IndexedDbStore::open(name).await.expect("open");
    let vault = Vault::unlock(&store, "pw features").await.expect("unlock");
    let peer: umbra_protocol::identity::AccountId = PEER.parse().expect("peer");
    let conv = umbra_protocol::address::ConversationId::Direct(peer);
    let now = net::now_ms();
    let incoming = |sent_ms: u64, body: &str, hash: &str, mode: DbMode| NewMessage {
        conversation: conv.clone(),
        direction: DbDirection::Incoming,
        author: peer,
        sent_ms,
        received_ms: now,
        body: body.into(),
        storage_hash: Some(hash.into()),
        outbox: None,
        disappearing: Some(Disappearing { mode, timer_s: 300 }),
        quote: None,
        placeholder: None,
        attachments: Vec::new(),
    };
    let mut rng = umbra_worker::rng::worker_rng();
    let mut db = MessageDb::new(&store, &vault);
    let soon = match db
        .insert_message(
            incoming(now - 298_500, "gone soon", "h-soon", DbMode::AfterSend),
            &mut rng,
        )
        .await
    {
        Ok(umbra_protocol::store::messages::InsertOutcome::Inserted(id)) => id,
        other => panic!("{other:?}"),
    };
    db.insert_message(
        incoming(now - 1_000, "read me", "h-read", DbMode::AfterRead),
        &mut rng,
    )
    .await
    .expect("insert");

    // Unlocking brings the settings back.
    let mut h = Harness::reopen(name);
    let events = h
        .run(Command::Account(AccountCommand::Unlock {
            passphrase: "pw features".into(),
        }))
        .await;
    assert!(
        events.contains(&Event::Settings { settings: on }),
        "{events:?}"
    );
    let items = h
        .run_page(Command::conversation(PEER, ConversationOp::Open))
        .await;
    let read = find_body(&items, "read me");
    let opened = net::now_ms();
    let expires = read
        .expires_at_ms
        .expect("reading starts the after-read timer");
    assert!(
        (now + 299_000..=opened + 301_000).contains(&expires),
        "{expires} vs {now}"
    );
    assert!(find_body(&items, "gone soon").expires_at_ms.is_some());
    assert_eq!(
        find_error(
            &h.run(Command::conversation(
                PEER,
                ConversationOp::Unsend { id: read.id }
            ))
            .await
        ),
        Some(ErrorCode::NotOwnMessage)
    );
    assert_eq!(
        db.conversation_of(soon).await,
        Ok(Some(conv.clone())),
        "stored before expiry"
    );

    // The sweep timer removes the expired message from the screen and from IndexedDB.
    let gone = |ev: &[Event]| {
        ev.iter().any(
            |e| matches!(e, Event::MessagesChanged { removed, .. } if removed.contains(&soon.0)),
        )
    };
    h.pump(8_000, gone).await;
    assert!(gone(&h.all.borrow()), "the expired message is still shown");
    let shown = h.page.borrow().as_ref().map(|p| p.items.clone());
    assert!(
        shown.is_some_and(|items| items.iter().all(|m| m.body != "gone soon")),
        "the patched page still shows the expired message"
    );
    assert_eq!(
        db.conversation_of(soon).await,
        Ok(None),
        "content record erased"
    );
    assert_eq!(db.message(&conv, soon).await, Ok(None));
    let items = h
        .run_page(Command::conversation(PEER, ConversationOp::Open))
        .await;
    assert!(items.iter().any(|m| m.body == "read me"));
    assert!(items.iter().all(|m| m.body != "gone soon"));

    let _ = h.run(Command::Account(AccountCommand::Lock)).await;
    store.delete_database().await.expect("delete");
}
