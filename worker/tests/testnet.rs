//! Worker-level end-to-end check over a running local testnet (feature `e2e`): two drivers
//! (two browsers' databases) create accounts, connect, exchange messages as a message request,
//! accept it, reply, and measure send-to-display latency; blocking drops messages unseen.
//!
//! ```sh
//! cargo run -p umbra-node -- testnet --data /tmp/umbra-testnet   # prints "seed URL"
//! UMBRA_E2E_SEED=http://127.0.0.1:PORT CHROMEDRIVER=/usr/bin/chromedriver \
//!   cargo test -p umbra-worker --target wasm32-unknown-unknown --features e2e --test testnet
//! ```

use std::cell::RefCell;

use umbra_ipc::{
    AccountCommand, Command, ConversationKind, ConversationOp, DeliveryState, Direction, Event,
    MessageView, PathState, patch_messages,
};
use umbra_protocol::store::KdfParams;
use umbra_worker::{
    driver::Driver,
    net,
    rng::{WorkerRng, worker_rng},
    store::IndexedDbStore,
};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const SEED: &str = env!("UMBRA_E2E_SEED");

struct Peer {
    driver: Driver<WorkerRng>,
    all: RefCell<Vec<Event>>,
    /// The open conversation as the app shows it (reference and messages).
    page: RefCell<Option<(String, Vec<MessageView>)>>,
    account_id: String,
}

/// Records `e`, and applies it to the shown page as the app does.
fn record(
    all: &RefCell<Vec<Event>>,
    page: &RefCell<Option<(String, Vec<MessageView>)>>,
    e: &Event,
) {
    all.borrow_mut().push(e.clone());
    match e.clone() {
        Event::Messages {
            conversation,
            items,
            ..
        } => *page.borrow_mut() = Some((conversation, items)),
        Event::MessagesChanged {
            conversation,
            upserts,
            removed,
            ..
        } => {
            if let Some((c, items)) = page.borrow_mut().as_mut()
                && *c == conversation
            {
                patch_messages(items, upserts, &removed);
            }
        }
        _ => {}
    }
}

/// The messages an event shows or changes in `conversation` (any, if `None`).
fn views<'a>(e: &'a Event, conversation: Option<&str>) -> &'a [MessageView] {
    match e {
        Event::Messages {
            conversation: c,
            items,
            ..
        }
        | Event::MessagesChanged {
            conversation: c,
            upserts: items,
            ..
        } if conversation.is_none_or(|x| x == c) => items,
        _ => &[],
    }
}

impl Peer {
    async fn new(name: &str) -> Peer {
        IndexedDbStore::open_fresh(name)
            .await
            .expect("fresh")
            .delete_database()
            .await
            .expect("delete");
        let mut driver = Driver::new(name, KdfParams::FLOOR, worker_rng());
        driver.set_seed_urls(vec![SEED.into()]);
        let mut p = Peer {
            driver,
            all: RefCell::new(Vec::new()),
            page: RefCell::new(None),
            account_id: String::new(),
        };
        p.cmd(Command::Account(AccountCommand::Create)).await;
        let created = p.all.borrow().iter().find_map(|e| match e {
            Event::AccountCreated { account_id, .. } => Some(account_id.clone()),
            _ => None,
        });
        p.account_id = created.expect("account created");
        p.cmd(Command::Account(AccountCommand::SetPassphrase {
            passphrase: "pw for the testnet".into(),
        }))
        .await;
        p
    }

    async fn cmd(&mut self, cmd: Command) {
        let (all, page) = (&self.all, &self.page);
        let post = |e: &Event| record(all, page, e);
        self.driver.handle(cmd, &post).await;
        self.step().await;
    }

    async fn step(&mut self) {
        let (all, page) = (&self.all, &self.page);
        let post = |e: &Event| record(all, page, e);
        while let Some(input) = self.driver.mailbox().pop() {
            self.driver.handle_input(input, &post).await;
        }
    }

    fn any(&self, f: impl Fn(&Event) -> bool) -> bool {
        self.all.borrow().iter().any(f)
    }
}

/// Steps both peers until `done` holds or `ms` pass; returns the elapsed ms.
async fn until(a: &mut Peer, b: &mut Peer, ms: u64, done: impl Fn(&Peer, &Peer) -> bool) -> u64 {
    let start = net::now_ms();
    loop {
        a.step().await;
        b.step().await;
        if done(a, b) {
            return net::now_ms() - start;
        }
        assert!(net::now_ms() - start < ms, "timed out after {ms} ms");
        net::sleep(5).await;
    }
}

fn shows(p: &Peer, conversation: &str, body: &str, dir: Direction) -> bool {
    p.any(|e| {
        views(e, Some(conversation))
            .iter()
            .any(|m| m.body == body && m.direction == dir)
    })
}

fn sent(p: &Peer, body: &str) -> bool {
    p.any(|e| {
        views(e, None)
            .iter()
            .any(|m| m.body == body && m.state == DeliveryState::Sent)
    })
}

#[wasm_bindgen_test]
async fn test_two_accounts_over_testnet() {
    let mut a = Peer::new("e2e-alice").await;
    let mut b = Peer::new("e2e-bob").await;
    let connected = Event::Paths {
        state: PathState::Connected,
    };
    let t = until(&mut a, &mut b, 60_000, |a, b| {
        a.any(|e| *e == connected) && b.any(|e| *e == connected)
    })
    .await;
    console_log!("paths connected after {t} ms");

    a.cmd(Command::Account(AccountCommand::SetDisplayName {
        name: "Alice".into(),
    }))
    .await;
    let (aid, bid) = (a.account_id.clone(), b.account_id.clone());
    a.cmd(Command::conversation(bid.clone(), ConversationOp::Open))
        .await;
    a.cmd(Command::conversation(
        bid.clone(),
        ConversationOp::SendText {
            body: "hello bob".into(),
            reply_to: None,
        },
    ))
    .await;
    let t = until(&mut a, &mut b, 30_000, |a, b| {
        sent(a, "hello bob")
            && b.any(|e| match e {
                Event::Conversations { items } => items.iter().any(|c| {
                    c.conversation == aid
                        && c.kind == ConversationKind::Request
                        && c.unread == 1
                        && c.display_name.as_deref() == Some("Alice")
                        && c.last_preview.as_deref() == Some("hello bob")
                }),
                _ => false,
            })
    })
    .await;
    console_log!("first message (request) shown after {t} ms");

    b.cmd(Command::conversation(aid.clone(), ConversationOp::Open))
        .await;
    b.cmd(Command::conversation(
        aid.clone(),
        ConversationOp::AcceptRequest,
    ))
    .await;
    assert!(shows(&b, &aid, "hello bob", Direction::Incoming));

    // Latency with both conversations open.
    let mut times = Vec::new();
    for i in 0..6 {
        let (from, to, to_id) = if i % 2 == 0 {
            (&mut b, &mut a, bid.clone())
        } else {
            (&mut a, &mut b, aid.clone())
        };
        let body = format!("message {i}");
        let peer = if i % 2 == 0 { aid.clone() } else { bid.clone() };
        from.cmd(Command::conversation(
            peer,
            ConversationOp::SendText {
                body: body.clone(),
                reply_to: None,
            },
        ))
        .await;
        let t = until(from, to, 20_000, |_, to| {
            shows(to, &to_id, &body, Direction::Incoming)
        })
        .await;
        times.push(t);
    }
    times.sort_unstable();
    // Speed is measured by bench scripts, never asserted in tests; this only reports it.
    console_log!("send-to-display ms (sorted): {times:?}");

    // Blocked: Bob blocks Alice; her next message never shows.
    b.cmd(Command::conversation(aid.clone(), ConversationOp::Block))
        .await;
    a.cmd(Command::conversation(
        bid.clone(),
        ConversationOp::SendText {
            body: "are you there".into(),
            reply_to: None,
        },
    ))
    .await;
    until(&mut a, &mut b, 20_000, |a, _| sent(a, "are you there")).await;
    let start = net::now_ms();
    while net::now_ms() - start < 3_000 {
        a.step().await;
        b.step().await;
        net::sleep(20).await;
    }
    assert!(!b.any(|e| {
        match e {
            Event::Messages { .. } | Event::MessagesChanged { .. } => {
                views(e, None).iter().any(|m| m.body == "are you there")
            }
            Event::Conversations { items } => items
                .iter()
                .any(|c| c.last_preview.as_deref() == Some("are you there")),
            _ => false,
        }
    }));
    a.cmd(Command::Account(AccountCommand::Lock)).await;
    b.cmd(Command::Account(AccountCommand::Lock)).await;
}

fn count_shown(p: &Peer, conversation: &str, prefix: &str) -> usize {
    match p.page.borrow().as_ref() {
        Some((c, items)) if c == conversation => {
            items.iter().filter(|m| m.body.starts_with(prefix)).count()
        }
        _ => 0,
    }
}

#[wasm_bindgen_test]
async fn test_burst_both_ways_nothing_lost() {
    let mut a = Peer::new("e2e-burst-a").await;
    let mut b = Peer::new("e2e-burst-b").await;
    let (aid, bid) = (a.account_id.clone(), b.account_id.clone());
    a.cmd(Command::conversation(bid.clone(), ConversationOp::Open))
        .await;
    b.cmd(Command::conversation(aid.clone(), ConversationOp::Open))
        .await;
    const N: usize = 20;
    for i in 0..N {
        a.cmd(Command::conversation(
            bid.clone(),
            ConversationOp::SendText {
                body: format!("a{i}"),
                reply_to: None,
            },
        ))
        .await;
        b.cmd(Command::conversation(
            aid.clone(),
            ConversationOp::SendText {
                body: format!("b{i}"),
                reply_to: None,
            },
        ))
        .await;
    }
    let t = until(&mut a, &mut b, 90_000, |a, b| {
        count_shown(a, &bid, "a") == N
            && count_shown(a, &bid, "b") == N
            && count_shown(b, &aid, "a") == N
            && count_shown(b, &aid, "b") == N
    })
    .await;
    console_log!("burst of {N} each way complete after {t} ms");
    a.cmd(Command::Account(AccountCommand::Lock)).await;
    b.cmd(Command::Account(AccountCommand::Lock)).await;
}
