//! In-browser tests (headless Chromium via wasm-bindgen-test-runner): the protocol's store
//! conformance suite against real IndexedDB, and the driver's account flows, including a
//! plaintext scan of everything the driver left in IndexedDB.

use std::cell::RefCell;

use umbra_ipc::{AccountCommand, AccountState, Command, ErrorCode, Event, Task, Weakness};
use umbra_protocol::{
    mnemonic,
    store::{KdfParams, Store},
};
use umbra_worker::{driver::Driver, rng::worker_rng, store::IndexedDbStore};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

umbra_protocol::store_conformance_tests!(
    test_attr = #[wasm_bindgen_test],
    run = async_fn,
    new_store = |name: &'static str| async move {
        IndexedDbStore::open_fresh(&format!("conformance-{name}")).await.expect("open")
    },
);

type TestDriver = Driver<umbra_worker::rng::WorkerRng>;

async fn fresh_driver(name: &str) -> TestDriver {
    IndexedDbStore::open_fresh(name)
        .await
        .expect("fresh db")
        .delete_database()
        .await
        .expect("delete");
    Driver::new(name, KdfParams::FLOOR, worker_rng())
}

/// Runs `cmd` and returns every event it posted.
async fn run(driver: &mut TestDriver, cmd: Command) -> Vec<Event> {
    let events = RefCell::new(Vec::new());
    let post = |e: &Event| events.borrow_mut().push(e.clone());
    driver.handle(cmd, &post).await;
    events.into_inner()
}

async fn last(driver: &mut TestDriver, cmd: Command) -> Event {
    run(driver, cmd).await.pop().expect("at least one event")
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

#[wasm_bindgen_test]
async fn test_create_lock_unlock_and_plaintext_scan() {
    let name = "driver-create";
    let mut d = fresh_driver(name).await;
    assert_eq!(
        last(&mut d, Command::Account(AccountCommand::Status)).await,
        Event::Status {
            state: AccountState::NoAccount
        }
    );

    let Event::AccountCreated { account_id, words } =
        last(&mut d, Command::Account(AccountCommand::Create)).await
    else {
        panic!("expected AccountCreated")
    };
    assert_eq!(words.len(), 13);
    assert_eq!(account_id.len(), 66);
    assert!(account_id.starts_with("05"));
    // Nothing is stored before the passphrase is chosen.
    let store = IndexedDbStore::open(name).await.expect("open");
    assert_eq!(store.ids().await, Ok(vec![]));

    let events = run(
        &mut d,
        Command::Account(AccountCommand::SetPassphrase {
            passphrase: "right horse".into(),
        }),
    )
    .await;
    assert_eq!(
        events,
        vec![
            Event::Working {
                task: Task::CreatingVault
            },
            Event::Unlocked {
                account_id: account_id.clone()
            }
        ]
    );
    assert_eq!(
        last(
            &mut d,
            Command::Account(AccountCommand::ShowRecoveryPhrase {
                passphrase: "right horse".into()
            })
        )
        .await,
        Event::RecoveryPhrase {
            words: words.clone()
        }
    );
    assert_eq!(
        last(&mut d, Command::Account(AccountCommand::Lock)).await,
        Event::Status {
            state: AccountState::Locked
        }
    );
    assert_eq!(
        last(
            &mut d,
            Command::Account(AccountCommand::ShowRecoveryPhrase {
                passphrase: "right horse".into()
            })
        )
        .await,
        Event::Error {
            code: ErrorCode::NotUnlocked
        }
    );

    // A fresh driver (as after a reload) sees a locked account; wrong then right passphrase.
    let mut d = Driver::new(name, KdfParams::FLOOR, worker_rng());
    assert_eq!(
        last(&mut d, Command::Account(AccountCommand::Status)).await,
        Event::Status {
            state: AccountState::Locked
        }
    );
    let before = umbra_protocol::store::testing::snapshot(&store).await;
    let events = run(
        &mut d,
        Command::Account(AccountCommand::Unlock {
            passphrase: "wrong horse".into(),
        }),
    )
    .await;
    assert_eq!(
        events,
        vec![
            Event::Working {
                task: Task::Unlocking
            },
            Event::Error {
                code: ErrorCode::WrongPassphrase
            }
        ]
    );
    assert_eq!(
        umbra_protocol::store::testing::snapshot(&store).await,
        before,
        "wrong passphrase wrote"
    );
    assert_eq!(
        last(
            &mut d,
            Command::Account(AccountCommand::Unlock {
                passphrase: "right horse".into()
            })
        )
        .await,
        Event::Unlocked {
            account_id: account_id.clone()
        }
    );
    assert_eq!(
        last(&mut d, Command::Account(AccountCommand::Create)).await,
        Event::Error {
            code: ErrorCode::AccountExists
        }
    );

    // Plaintext scan: neither the seed (raw or hex) nor the phrase may be in IndexedDB.
    let phrase = words
        .iter()
        .map(|w| w.expose())
        .collect::<Vec<_>>()
        .join(" ");
    let seed = mnemonic::decode(&phrase).expect("own phrase decodes");
    let raw = seed.dangerously_export_bytes();
    let hex_seed: String = raw[..16].iter().map(|b| format!("{b:02x}")).collect();
    let mut dump = Vec::new();
    for (id, value) in umbra_protocol::store::testing::snapshot(&store).await {
        dump.extend_from_slice(id.as_bytes());
        dump.push(0);
        dump.extend_from_slice(&value);
        dump.push(0);
    }
    assert!(dump.len() > 64, "the vault was stored");
    assert!(!contains(&dump, &raw[..16]), "raw seed found in IndexedDB");
    assert!(
        !contains(&dump, hex_seed.as_bytes()),
        "hex seed found in IndexedDB"
    );
    assert!(
        !contains(&dump, phrase.as_bytes()),
        "phrase found in IndexedDB"
    );
    for w in words.iter().map(|w| w.expose()) {
        // Words of 5+ letters cannot appear by chance in ciphertext or the JSON header.
        if w.len() >= 5 {
            assert!(
                !contains(&dump, w.as_bytes()),
                "a phrase word found in IndexedDB"
            );
        }
    }

    // Remove deletes everything; the account is gone.
    assert_eq!(
        last(
            &mut d,
            Command::Account(AccountCommand::Remove {
                passphrase: "right horse".into()
            })
        )
        .await,
        Event::Status {
            state: AccountState::NoAccount
        }
    );
    let store = IndexedDbStore::open(name).await.expect("open");
    assert_eq!(store.ids().await, Ok(vec![]));
}

/// The recovery-phrase vectors of `docs/protocol.md` §2: restore gives the documented Account
/// IDs.
#[wasm_bindgen_test]
async fn test_restore_vectors_and_named_errors() {
    let mut d = fresh_driver("driver-restore").await;
    let bad = [
        (
            "dotted bikini vexed vane orbit dabbing diet amidst geek goldfish ceiling organism orbit",
            ErrorCode::PhraseChecksumMismatch,
        ),
        (
            "one two three",
            ErrorCode::PhraseWrongWordCount { found: 3 },
        ),
    ];
    for (phrase, code) in bad {
        assert_eq!(
            last(
                &mut d,
                Command::Account(AccountCommand::Restore {
                    phrase: phrase.into()
                })
            )
            .await,
            Event::Error { code }
        );
    }
    assert_eq!(
        last(
            &mut d,
            Command::Account(AccountCommand::SetPassphrase {
                passphrase: "pw".into()
            })
        )
        .await,
        Event::Error {
            code: ErrorCode::NothingPending
        }
    );
    // 13 words, 4th unknown.
    assert_eq!(
        last(&mut d, Command::Account(AccountCommand::Restore { phrase: "sewage railway names xxqq wagtail duties rowboat until seismic radar custom gimmick until".into() }))
        .await,
        Event::Error { code: ErrorCode::PhraseUnknownWord { position: 4 } }
    );
    let vectors = [
        (
            "sewage railway names rift wagtail duties rowboat until seismic radar custom gimmick until",
            "0555b969220fbdfa09b6a36e6a57d4bc04ff0047461f0b4710fcb4f0ec43a2884a",
        ),
        (
            "fuming nearby kennel husband dejected pepper jaded because dads goggles tufts tomorrow dejected",
            "055eebb051ef90cc36eec8b5c5162714497192308c3c89d00149310fb38496e24e",
        ),
    ];
    for (phrase, id) in vectors {
        assert_eq!(
            last(
                &mut d,
                Command::Account(AccountCommand::Restore {
                    phrase: phrase.into()
                })
            )
            .await,
            Event::PhraseAccepted {
                account_id: id.into()
            }
        );
    }
    // A weak passphrase is refused; the phrase stays pending.
    assert_eq!(
        last(
            &mut d,
            Command::Account(AccountCommand::SetPassphrase {
                passphrase: "pw pw".into()
            })
        )
        .await,
        Event::Error {
            code: ErrorCode::WeakPassphrase {
                weakness: Weakness::TooShort
            }
        }
    );
    // The last accepted phrase is the one that gets stored.
    assert_eq!(
        last(
            &mut d,
            Command::Account(AccountCommand::SetPassphrase {
                passphrase: "pw for restore tests".into()
            })
        )
        .await,
        Event::Unlocked {
            account_id: vectors[1].1.into()
        }
    );
    assert_eq!(
        last(
            &mut d,
            Command::Account(AccountCommand::Restore {
                phrase: vectors[0].0.into()
            })
        )
        .await,
        Event::Error {
            code: ErrorCode::AccountExists
        }
    );
}

/// A weak passphrase is refused before anything is stored; showing the recovery phrase and
/// removing the account need the passphrase again, and a wrong one changes nothing.
#[wasm_bindgen_test]
async fn test_weak_and_wrong_passphrases_are_refused() {
    let name = "driver-passphrase";
    let mut d = fresh_driver(name).await;
    let Event::AccountCreated { account_id, words } =
        last(&mut d, Command::Account(AccountCommand::Create)).await
    else {
        panic!("expected AccountCreated")
    };
    let store = IndexedDbStore::open(name).await.expect("open");
    for (pw, weakness) in [
        ("a", Weakness::TooShort),
        ("hunter2", Weakness::CommonPassword),
        ("Password2024", Weakness::CommonPassword),
        ("qwertyuiop[]", Weakness::KeyboardRun),
    ] {
        assert_eq!(
            run(
                &mut d,
                Command::Account(AccountCommand::SetPassphrase {
                    passphrase: pw.into()
                })
            )
            .await,
            vec![Event::Error {
                code: ErrorCode::WeakPassphrase { weakness }
            }],
            "{pw}"
        );
        assert_eq!(store.ids().await, Ok(vec![]), "{pw}: something was stored");
    }
    // The seed stayed pending: a strong passphrase stores the same account.
    assert_eq!(
        last(
            &mut d,
            Command::Account(AccountCommand::SetPassphrase {
                passphrase: "glimmer otter basalt".into()
            })
        )
        .await,
        Event::Unlocked {
            account_id: account_id.clone()
        }
    );
    let checking = Event::Working {
        task: Task::CheckingPassphrase,
    };
    let wrong = Event::Error {
        code: ErrorCode::WrongPassphrase,
    };
    let show = |passphrase: &str| {
        Command::Account(AccountCommand::ShowRecoveryPhrase {
            passphrase: passphrase.into(),
        })
    };
    let remove = |passphrase: &str| {
        Command::Account(AccountCommand::Remove {
            passphrase: passphrase.into(),
        })
    };
    assert_eq!(
        run(&mut d, show("glimmer otter")).await,
        vec![checking.clone(), wrong.clone()]
    );
    assert_eq!(
        run(&mut d, show("glimmer otter basalt")).await,
        vec![
            checking.clone(),
            Event::RecoveryPhrase {
                words: words.clone()
            }
        ]
    );
    // A wrong passphrase removes nothing and keeps the account unlocked.
    let before = umbra_protocol::store::testing::snapshot(&store).await;
    assert_eq!(
        run(&mut d, remove("")).await,
        vec![checking.clone(), wrong.clone()]
    );
    assert_eq!(
        run(&mut d, remove("glimmer otter basalt ")).await,
        vec![checking.clone(), wrong.clone()]
    );
    assert_eq!(
        umbra_protocol::store::testing::snapshot(&store).await,
        before
    );
    assert_eq!(
        last(&mut d, Command::Account(AccountCommand::Status)).await,
        Event::Status {
            state: AccountState::Unlocked {
                account_id: account_id.clone()
            }
        }
    );
    // Locked, removal still needs the passphrase.
    last(&mut d, Command::Account(AccountCommand::Lock)).await;
    assert_eq!(
        run(&mut d, remove("not it")).await,
        vec![checking.clone(), wrong]
    );
    assert_eq!(
        last(&mut d, Command::Account(AccountCommand::Status)).await,
        Event::Status {
            state: AccountState::Locked
        }
    );
    assert_eq!(
        run(&mut d, remove("glimmer otter basalt")).await,
        vec![
            checking,
            Event::Status {
                state: AccountState::NoAccount
            }
        ]
    );
    let store = IndexedDbStore::open(name).await.expect("open");
    assert_eq!(store.ids().await, Ok(vec![]));
}
