//! Message semantics: compose (wire bytes checked against hand-written protobuf), classify
//! (permission rules, size caps, malformed enums), full compose → encrypt → decode → classify
//! round trips for every kind, and the disappearing-message helpers
//! (docs/protocol.md §4.4, §5.4, §5.5, §9).

use proptest::prelude::*;
use prost::Message as _;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use umbra_protocol::{
    error::ErrorKind,
    identity::{AccountId, Identity, Seed},
    message::{
        AFTER_READ_TIMERS, AFTER_SEND_TIMERS, DEFAULT_TTL_MS, DataExtractionKind,
        DisappearingSetting, Event, Field, Incoming, MAX_DISPLAY_NAME_BYTES, MAX_EMOJI_CHARS,
        MAX_INCOMING_BODY_CHARS, MAX_INCOMING_TIMER_SECS, MAX_OUTGOING_BODY_CHARS,
        MAX_RECEIPT_TIMESTAMPS, MessageError, MessageId, Outgoing, Profile, QuoteRef,
        ReactionChange, SendPrefs, TYPING_TTL_MS, TextDraft, UnsupportedKind,
        after_read_swarm_expiry_ms, classify, compose_expiration_update, compose_reaction,
        compose_read_receipt, compose_request_accept, compose_text, compose_typing, compose_unsend,
        decode_envelope, encode_for_1o1, expire_shorten_signature_message,
        proto::{
            AttachmentPointer, CallMessage, CallMessageType, Content, DataExtractionNotification,
            DataMessage, ExpirationType, LokiProfile, OpenGroupInvitation, Quote, Reaction,
            ReceiptMessage, SharedConfigMessage, TypingMessage, UnsendRequest,
        },
        sync_copy,
    },
};

const ON: SendPrefs = SendPrefs {
    read_receipts: true,
    typing_indicators: true,
};

/// Account ID `05 11…11` as text (66 ASCII bytes on the wire).
fn author_a_hex() -> String {
    format!("05{}", "11".repeat(32))
}

fn author_a() -> AccountId {
    author_a_hex().parse().expect("account id")
}

fn identity(seed: u64) -> Identity {
    Identity::from_seed(&Seed::generate(&mut ChaCha20Rng::seed_from_u64(seed)))
}

/// An authenticated incoming message as `decode_envelope` would return it.
fn incoming(sender: AccountId, content: Content) -> Incoming {
    Incoming {
        sender,
        sender_ed25519: [0; 32],
        sent_timestamp_ms: 5_000,
        server_timestamp_ms: None,
        content,
        ciphertext_hash: [0; 32],
    }
}

fn data_content(data: DataMessage) -> Content {
    Content {
        data_message: Some(data),
        ..Content::default()
    }
}

fn text_content(body: &str) -> Content {
    data_content(DataMessage {
        body: Some(body.to_owned()),
        ..DataMessage::default()
    })
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

// ---------------------------------------------------------------------------------------------
// Wire format: composed Content against hand-written protobuf bytes.
// Varints used: 300 = ac 02, 1000 = e8 07, 2000 = d0 0f, 3000 = b8 17, 43200 = c0 d1 02.
// ---------------------------------------------------------------------------------------------

#[test]
fn test_wire_reaction() {
    let target = MessageId {
        author: author_a(),
        sent_timestamp_ms: 1000,
    };
    let out = compose_reaction(
        &target,
        "👍",
        ReactionChange::Add,
        None,
        DisappearingSetting::Off,
        2000,
    )
    .expect("compose");
    let author = author_a_hex();
    let expected = cat(&[
        // Content.dataMessage (1, LEN 81)
        &[0x0a, 0x51],
        // DataMessage.reaction (11, LEN 79)
        &[0x5a, 0x4f],
        // Reaction.id (1) = 1000
        &[0x08, 0xe8, 0x07],
        // Reaction.author (2, LEN 66)
        &[0x12, 0x42],
        author.as_bytes(),
        // Reaction.emoji (3, LEN 4) U+1F44D
        &[0x1a, 0x04, 0xf0, 0x9f, 0x91, 0x8d],
        // Reaction.action (4) = REACT 0
        &[0x20, 0x00],
        // Content.expirationType (12) = UNKNOWN, expirationTimer (13) = 0
        &[0x60, 0x00, 0x68, 0x00],
        // Content.sigTimestamp (15) = 2000
        &[0x78, 0xd0, 0x0f],
    ]);
    assert_eq!(out.content.encode_to_vec(), expected);
    assert_eq!(out.sent_timestamp_ms, 2000);
    assert_eq!(out.ttl_ms, DEFAULT_TTL_MS);

    let removed = compose_reaction(
        &target,
        "👍",
        ReactionChange::Remove,
        None,
        DisappearingSetting::Off,
        2000,
    )
    .expect("compose");
    let mut expected_remove = expected.clone();
    // the action byte (REMOVE 1) sits just before the expiration fields
    let action_at = expected_remove.len() - 8;
    assert_eq!(expected_remove[action_at - 1..=action_at], [0x20, 0x00]);
    expected_remove[action_at] = 0x01;
    assert_eq!(removed.content.encode_to_vec(), expected_remove);

    // And the hand-written bytes classify back to the same reaction.
    let content = Content::decode(expected.as_slice()).expect("decode");
    assert_eq!(
        classify(&incoming(author_a(), content), &author_a()),
        Ok(Event::Reaction {
            target,
            emoji: "👍".into(),
            change: ReactionChange::Add,
            profile: None,
        })
    );
}

#[test]
fn test_wire_read_receipt() {
    let out = compose_read_receipt(&ON, &[1000, 2000], 3000)
        .expect("compose")
        .expect("enabled");
    let expected = [
        // Content.receiptMessage (5, LEN 8)
        0x2a, 0x08, //
        // ReceiptMessage.type (1) = READ
        0x08, 0x01, //
        // ReceiptMessage.timestamp (2), unpacked: 1000, 2000
        0x10, 0xe8, 0x07, 0x10, 0xd0, 0x0f, //
        // Content.sigTimestamp (15) = 3000
        0x78, 0xb8, 0x17,
    ];
    assert_eq!(out.content.encode_to_vec(), expected);
    assert_eq!(out.ttl_ms, DEFAULT_TTL_MS);
    let content = Content::decode(&expected[..]).expect("decode");
    assert_eq!(
        classify(&incoming(author_a(), content), &author_a()),
        Ok(Event::ReadReceipt {
            timestamps: vec![1000, 2000]
        })
    );
}

#[test]
fn test_wire_typing() {
    let started = compose_typing(&ON, true, 1000).expect("enabled");
    let expected_started = [
        // Content.typingMessage (6, LEN 5) { timestamp (1) = 1000, action (2) = STARTED 0 }
        0x32, 0x05, 0x08, 0xe8, 0x07, 0x10, 0x00, //
        // Content.sigTimestamp (15) = 1000
        0x78, 0xe8, 0x07,
    ];
    assert_eq!(started.content.encode_to_vec(), expected_started);
    assert_eq!(started.ttl_ms, TYPING_TTL_MS);
    assert_eq!(started.ttl_ms, 20_000);

    let stopped = compose_typing(&ON, false, 1000).expect("enabled");
    let expected_stopped = [
        0x32, 0x05, 0x08, 0xe8, 0x07, 0x10, 0x01, //
        0x78, 0xe8, 0x07,
    ];
    assert_eq!(stopped.content.encode_to_vec(), expected_stopped);

    for (bytes, started) in [(&expected_started, true), (&expected_stopped, false)] {
        let content = Content::decode(&bytes[..]).expect("decode");
        assert_eq!(
            classify(&incoming(author_a(), content), &author_a()),
            Ok(Event::Typing { started })
        );
    }
}

#[test]
fn test_wire_unsend() {
    let target = MessageId {
        author: author_a(),
        sent_timestamp_ms: 1000,
    };
    let out = compose_unsend(&author_a(), &target, 2000).expect("compose");
    let author = author_a_hex();
    let expected = cat(&[
        // Content.unsendRequest (9, LEN 71)
        &[0x4a, 0x47],
        // UnsendRequest.timestamp (1) = 1000
        &[0x08, 0xe8, 0x07],
        // UnsendRequest.author (2, LEN 66)
        &[0x12, 0x42],
        author.as_bytes(),
        // Content.sigTimestamp (15) = 2000
        &[0x78, 0xd0, 0x0f],
    ]);
    assert_eq!(out.content.encode_to_vec(), expected);
    assert_eq!(out.ttl_ms, DEFAULT_TTL_MS);
    let content = Content::decode(expected.as_slice()).expect("decode");
    assert_eq!(
        classify(&incoming(author_a(), content), &author_a()),
        Ok(Event::Unsend { target })
    );
}

#[test]
fn test_wire_expiration_update() {
    let out =
        compose_expiration_update(DisappearingSetting::AfterRead(300), 1000).expect("compose");
    let expected = [
        // Content.dataMessage (1, LEN 2) { flags (4) = EXPIRATION_TIMER_UPDATE 2 }
        0x0a, 0x02, 0x20, 0x02, //
        // Content.expirationType (12) = DELETE_AFTER_READ 1
        0x60, 0x01, //
        // Content.expirationTimer (13) = 300
        0x68, 0xac, 0x02, //
        // Content.sigTimestamp (15) = 1000
        0x78, 0xe8, 0x07,
    ];
    assert_eq!(out.content.encode_to_vec(), expected);
    assert_eq!(
        out.ttl_ms, DEFAULT_TTL_MS,
        "after-read keeps the default TTL"
    );

    let after_send =
        compose_expiration_update(DisappearingSetting::AfterSend(43_200), 1000).expect("compose");
    let expected_send = [
        0x0a, 0x02, 0x20, 0x02, //
        // DELETE_AFTER_SEND 2, timer 43200
        0x60, 0x02, 0x68, 0xc0, 0xd1, 0x02, //
        0x78, 0xe8, 0x07,
    ];
    assert_eq!(after_send.content.encode_to_vec(), expected_send);
    assert_eq!(after_send.ttl_ms, 43_200_000, "after-send: ttl = timer");

    let off = compose_expiration_update(DisappearingSetting::Off, 1000).expect("compose");
    let expected_off = [
        0x0a, 0x02, 0x20, 0x02, 0x60, 0x00, 0x68, 0x00, 0x78, 0xe8, 0x07,
    ];
    assert_eq!(off.content.encode_to_vec(), expected_off);

    for (bytes, setting) in [
        (&expected[..], DisappearingSetting::AfterRead(300)),
        (&expected_send[..], DisappearingSetting::AfterSend(43_200)),
        (&expected_off[..], DisappearingSetting::Off),
    ] {
        let content = Content::decode(bytes).expect("decode");
        assert_eq!(
            classify(&incoming(author_a(), content), &author_a()),
            Ok(Event::ExpirationUpdate { setting })
        );
    }
}

#[test]
fn test_wire_request_accept_and_sync_target() {
    let profile = Profile::new("Alice").expect("name");
    let out = compose_request_accept(Some(&profile), 1000);
    let expected = [
        // Content.messageRequestResponse (10, LEN 11)
        0x52, 0x0b, //
        // isApproved (1) = true
        0x08, 0x01, //
        // profile (3, LEN 7) { displayName (1, LEN 5) "Alice" }
        0x1a, 0x07, 0x0a, 0x05, b'A', b'l', b'i', b'c', b'e', //
        // Content.sigTimestamp (15) = 1000
        0x78, 0xe8, 0x07,
    ];
    assert_eq!(out.content.encode_to_vec(), expected);

    let draft = TextDraft {
        body: "hi".into(),
        ..TextDraft::default()
    };
    let text = compose_text(&draft, 1000).expect("compose");
    let synced = sync_copy(&text, &author_a()).expect("sync");
    let author = author_a_hex();
    let expected_sync = cat(&[
        // Content.dataMessage (1, LEN 73)
        &[0x0a, 0x49],
        // body (1, LEN 2) "hi"
        &[0x0a, 0x02, b'h', b'i'],
        // syncTarget (105 → tag varint ca 06, LEN 66)
        &[0xca, 0x06, 0x42],
        author.as_bytes(),
        &[0x60, 0x00, 0x68, 0x00, 0x78, 0xe8, 0x07],
    ]);
    assert_eq!(synced.content.encode_to_vec(), expected_sync);
    assert_eq!(synced.ttl_ms, text.ttl_ms);
    assert_eq!(synced.sent_timestamp_ms, text.sent_timestamp_ms);
}

#[test]
fn test_wire_text_with_quote_profile_and_timer() {
    let draft = TextDraft {
        body: "ok".into(),
        quote: Some(QuoteRef {
            target: MessageId {
                author: author_a(),
                sent_timestamp_ms: 1000,
            },
            text: None,
        }),
        profile: Some(Profile::new("Bo").expect("name")),
        disappearing: DisappearingSetting::AfterSend(43_200),
        attachments: Vec::new(),
    };
    let out = compose_text(&draft, 2000).expect("compose");
    let author = author_a_hex();
    let expected = cat(&[
        // Content.dataMessage (1, LEN 84)
        &[0x0a, 0x54],
        // body (1) "ok"
        &[0x0a, 0x02, b'o', b'k'],
        // quote (8, LEN 71) { id (1) = 1000, author (2, LEN 66) }
        &[0x42, 0x47, 0x08, 0xe8, 0x07, 0x12, 0x42],
        author.as_bytes(),
        // profile (101 → tag varint aa 06, LEN 4) { displayName "Bo" }
        &[0xaa, 0x06, 0x04, 0x0a, 0x02, b'B', b'o'],
        // expirationType DELETE_AFTER_SEND, timer 43200, sigTimestamp 2000
        &[0x60, 0x02, 0x68, 0xc0, 0xd1, 0x02, 0x78, 0xd0, 0x0f],
    ]);
    assert_eq!(out.content.encode_to_vec(), expected);
    assert_eq!(out.ttl_ms, 43_200_000);
}

/// M7: the profile carries `lastProfileUpdateSeconds` (LokiProfile field 3, uint64, seconds;
/// session-desktop `protos/SignalService.proto`) when the change time is known, and reads it
/// back.
#[test]
fn test_wire_profile_update_seconds() {
    let draft = TextDraft {
        body: "ok".into(),
        profile: Some(Profile::new("Bo").expect("name").updated_at(1_700_000_000)),
        ..TextDraft::default()
    };
    let out = compose_text(&draft, 2000).expect("compose");
    let expected = cat(&[
        // Content.dataMessage (1, LEN 17)
        &[0x0a, 0x11],
        // body (1) "ok"
        &[0x0a, 0x02, b'o', b'k'],
        // profile (101, LEN 10) { displayName (1) "Bo", lastProfileUpdateSeconds (3) =
        // 1700000000 = varint 80 e2 cf aa 06 }
        &[0xaa, 0x06, 0x0a, 0x0a, 0x02, b'B', b'o'],
        &[0x18, 0x80, 0xe2, 0xcf, 0xaa, 0x06],
        // expirationType UNKNOWN, timer 0, sigTimestamp 2000
        &[0x60, 0x00, 0x68, 0x00, 0x78, 0xd0, 0x0f],
    ]);
    assert_eq!(out.content.encode_to_vec(), expected);
    // Decoded from those bytes, the time comes back.
    let content = Content::decode(expected.as_slice()).expect("decode");
    let a = author_a();
    match classify(&incoming(a, content), &a) {
        Ok(Event::Text {
            profile: Some(p), ..
        }) => {
            assert_eq!(p.display_name(), "Bo");
            assert_eq!(p.updated_s(), 1_700_000_000);
        }
        other => panic!("unexpected {other:?}"),
    }
    // Unknown (0): the field is left out, and reads as 0.
    let draft = TextDraft {
        profile: Some(Profile::new("Bo").expect("name")),
        ..draft
    };
    let out = compose_text(&draft, 2000).expect("compose");
    let lp = out
        .content
        .data_message
        .as_ref()
        .and_then(|d| d.profile.clone());
    assert_eq!(lp.and_then(|p| p.last_profile_update_seconds), None);
    match classify(&incoming(a, out.content), &a) {
        Ok(Event::Text {
            profile: Some(p), ..
        }) => assert_eq!(p.updated_s(), 0),
        other => panic!("unexpected {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Round trips: compose → encode_for_1o1 → decode_envelope → classify, for every kind.
// ---------------------------------------------------------------------------------------------

/// Sends `out` from `from` to `to` through real encryption and classifies it as `to`.
fn deliver(out: &Outgoing, from: &Identity, to: &Identity, rng: &mut ChaCha20Rng) -> Event {
    let data = out.encode(from, &to.account_id(), rng).expect("encode");
    let received = decode_envelope(to, &data).expect("decode");
    assert_eq!(received.sent_timestamp_ms, out.sent_timestamp_ms);
    assert_eq!(received.sender, from.account_id());
    classify(&received, &to.account_id()).expect("classify")
}

/// Sends raw `content` (kinds Umbra does not compose) and classifies it.
fn deliver_raw(
    content: &Content,
    from: &Identity,
    to: &Identity,
    rng: &mut ChaCha20Rng,
) -> Result<Event, MessageError> {
    let data = encode_for_1o1(from, &to.account_id(), content, 7_000, rng).expect("encode");
    let received = decode_envelope(to, &data).expect("decode");
    classify(&received, &to.account_id())
}

#[test]
fn test_round_trip_every_kind() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let alice = identity(10);
    let bob = identity(11);
    let alice_msg = MessageId {
        author: alice.account_id(),
        sent_timestamp_ms: 1_700_000_000_000,
    };
    let bob_msg = MessageId {
        author: bob.account_id(),
        sent_timestamp_ms: 1_700_000_000_100,
    };
    let profile = Profile::new("Alice 🌸").expect("name");
    let now = 1_700_000_001_000;

    // Text with quote, profile and each disappearing mode.
    for setting in [
        DisappearingSetting::Off,
        DisappearingSetting::AfterSend(86_400),
        DisappearingSetting::AfterRead(300),
    ] {
        let quote = QuoteRef {
            target: bob_msg,
            text: Some("what <b>you</b> said".into()),
        };
        let draft = TextDraft {
            body: "reply <script>alert(1)</script>".into(),
            quote: Some(quote.clone()),
            profile: Some(profile.clone()),
            disappearing: setting,
            attachments: Vec::new(),
        };
        let out = compose_text(&draft, now).expect("compose");
        assert_eq!(
            deliver(&out, &alice, &bob, &mut rng),
            Event::Text {
                body: draft.body.clone(),
                quote: Some(quote),
                profile: Some(profile.clone()),
                expiry: setting,
                attachments: Vec::new(),
            }
        );
    }

    // Reactions, add and remove.
    for change in [ReactionChange::Add, ReactionChange::Remove] {
        let out = compose_reaction(
            &bob_msg,
            "❤️",
            change,
            Some(&profile),
            DisappearingSetting::Off,
            now,
        )
        .expect("compose");
        assert_eq!(
            deliver(&out, &alice, &bob, &mut rng),
            Event::Reaction {
                target: bob_msg,
                emoji: "❤️".into(),
                change,
                profile: Some(profile.clone()),
            }
        );
    }

    // Read receipt.
    let out = compose_read_receipt(&ON, &[bob_msg.sent_timestamp_ms, 42], now)
        .expect("compose")
        .expect("enabled");
    assert_eq!(
        deliver(&out, &alice, &bob, &mut rng),
        Event::ReadReceipt {
            timestamps: vec![bob_msg.sent_timestamp_ms, 42]
        }
    );

    // Typing.
    for started in [true, false] {
        let out = compose_typing(&ON, started, now).expect("enabled");
        assert_eq!(
            deliver(&out, &alice, &bob, &mut rng),
            Event::Typing { started }
        );
    }

    // Unsend of Alice's own message.
    let out = compose_unsend(&alice.account_id(), &alice_msg, now).expect("compose");
    assert_eq!(
        deliver(&out, &alice, &bob, &mut rng),
        Event::Unsend { target: alice_msg }
    );

    // Expiration updates, every offered setting.
    let offered = AFTER_SEND_TIMERS
        .iter()
        .map(|&t| DisappearingSetting::AfterSend(t))
        .chain(
            AFTER_READ_TIMERS
                .iter()
                .map(|&t| DisappearingSetting::AfterRead(t)),
        )
        .chain([DisappearingSetting::Off]);
    for setting in offered {
        let out = compose_expiration_update(setting, now).expect("compose");
        assert_eq!(
            deliver(&out, &alice, &bob, &mut rng),
            Event::ExpirationUpdate { setting }
        );
    }

    // Message request accepted, with and without profile.
    for profile in [Some(profile.clone()), None] {
        let out = compose_request_accept(profile.as_ref(), now);
        assert_eq!(
            deliver(&out, &alice, &bob, &mut rng),
            Event::RequestResponse {
                approved: true,
                profile,
            }
        );
    }
}

#[test]
fn test_round_trip_sync_copies_to_own_swarm() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let alice = identity(20);
    let bob = identity(21);
    let now = 1_700_000_000_000;
    let draft = TextDraft {
        body: "to bob".into(),
        disappearing: DisappearingSetting::AfterSend(604_800),
        ..TextDraft::default()
    };
    let target = MessageId {
        author: bob.account_id(),
        sent_timestamp_ms: now - 5,
    };
    let originals = [
        compose_text(&draft, now).expect("text"),
        compose_reaction(
            &target,
            "😂",
            ReactionChange::Add,
            None,
            DisappearingSetting::Off,
            now,
        )
        .expect("reaction"),
        compose_expiration_update(DisappearingSetting::AfterRead(3_600), now).expect("update"),
    ];
    for original in &originals {
        let direct = deliver(original, &alice, &bob, &mut rng);
        let copy = sync_copy(original, &bob.account_id()).expect("sync");
        // Alice's other device receives it from her own swarm.
        assert_eq!(
            deliver(&copy, &alice, &alice, &mut rng),
            Event::SyncedOutgoing {
                to: bob.account_id(),
                inner: Box::new(direct),
            }
        );
    }

    // Note-to-self: the own account without a sync target is a plain message.
    let out = compose_text(&draft, now).expect("text");
    assert!(matches!(
        deliver(&out, &alice, &alice, &mut rng),
        Event::Text { .. }
    ));

    // Only data messages can carry a sync target.
    let typing = compose_typing(&ON, true, now).expect("enabled");
    assert_eq!(
        sync_copy(&typing, &bob.account_id()),
        Err(MessageError::InvalidOutgoing(Field::SyncTarget))
    );
}

#[test]
fn test_round_trip_kinds_not_composed() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let alice = identity(30);
    let bob = identity(31);

    for (kind, raw) in [
        (DataExtractionKind::Screenshot, 1),
        (DataExtractionKind::MediaSaved, 2),
    ] {
        let content = Content {
            data_extraction_notification: Some(DataExtractionNotification {
                r#type: raw,
                timestamp: Some(1),
            }),
            ..Content::default()
        };
        assert_eq!(
            deliver_raw(&content, &alice, &bob, &mut rng),
            Ok(Event::DataExtraction { kind })
        );
    }

    let call = Content {
        call_message: Some(CallMessage {
            r#type: CallMessageType::PreOffer as i32,
            uuid: "call".into(),
            ..CallMessage::default()
        }),
        ..Content::default()
    };
    let attachment = data_content(DataMessage {
        body: Some("look".into()),
        attachments: vec![AttachmentPointer::default(), AttachmentPointer::default()],
        ..DataMessage::default()
    });
    let invitation = data_content(DataMessage {
        open_group_invitation: Some(OpenGroupInvitation {
            url: "http://example.org/room".into(),
            name: "Room".into(),
        }),
        ..DataMessage::default()
    });
    let config = Content {
        shared_config_message: Some(SharedConfigMessage::default()),
        ..Content::default()
    };
    let unsupported = |what, text: Option<&str>| Event::Unsupported {
        what,
        text: text.map(str::to_owned),
        profile: None,
        expiry: DisappearingSetting::Off,
    };
    for (content, want) in [
        (
            call,
            Event::Call(umbra_protocol::call::CallSignal {
                call_id: umbra_protocol::call::CallId::new("call").unwrap(),
                signal: umbra_protocol::call::Signal::PreOffer,
            }),
        ),
        (
            invitation,
            unsupported(
                UnsupportedKind::CommunityInvitation {
                    name: "Room".into(),
                },
                None,
            ),
        ),
        (config, unsupported(UnsupportedKind::SharedConfig, None)),
        (
            Content::default(),
            unsupported(UnsupportedKind::Unknown, None),
        ),
        (
            data_content(DataMessage::default()),
            unsupported(UnsupportedKind::Unknown, None),
        ),
        (
            text_content(""),
            unsupported(UnsupportedKind::Unknown, None),
        ),
    ] {
        assert_eq!(deliver_raw(&content, &alice, &bob, &mut rng), Ok(want));
    }
    // Attachments are content now: a text (maybe blank) carrying their pointers.
    match deliver_raw(&attachment, &alice, &bob, &mut rng) {
        Ok(Event::Text {
            body, attachments, ..
        }) => {
            assert_eq!(body, "look");
            assert_eq!(attachments.len(), 2);
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// M9: what Umbra cannot show yet is classified with what a placeholder needs: the caption
/// text (body, else the attachments' captions), voice messages, the call id, the group's or
/// community's name (cut at 100 bytes), the profile and the message's timer; group control
/// and config are marked as not user content.
#[test]
fn test_unsupported_kinds_keep_their_text() {
    use umbra_protocol::message::proto::{GroupUpdateInvite, GroupUpdateMessage};
    let a = author_a();
    let with_attachments = |body: Option<&str>, attachments: Vec<AttachmentPointer>| {
        let mut c = data_content(DataMessage {
            body: body.map(str::to_owned),
            attachments,
            profile: Some(LokiProfile {
                display_name: Some("Alice".into()),
                last_profile_update_seconds: Some(9),
                ..LokiProfile::default()
            }),
            ..DataMessage::default()
        });
        c.expiration_type = Some(ExpirationType::DeleteAfterSend as i32);
        c.expiration_timer = Some(43_200);
        classify(&incoming(a, c), &a)
    };
    let captioned = |caption: &str| AttachmentPointer {
        caption: Some(caption.into()),
        ..AttachmentPointer::default()
    };
    match with_attachments(
        None,
        vec![captioned("sunset"), captioned(" "), captioned("sea")],
    ) {
        Ok(Event::Text {
            body,
            quote: None,
            profile: Some(p),
            expiry: DisappearingSetting::AfterSend(43_200),
            attachments,
        }) => {
            assert_eq!(body, "sunset\nsea");
            assert_eq!((p.display_name(), p.updated_s()), ("Alice", 9));
            assert_eq!(attachments.len(), 3);
            assert_eq!(attachments[0].caption.as_deref(), Some("sunset"));
            // A blank caption is no caption.
            assert_eq!(attachments[1].caption, None);
        }
        other => panic!("unexpected {other:?}"),
    }
    let voice = AttachmentPointer {
        flags: Some(AttachmentPointer::FLAG_VOICE_MESSAGE),
        ..AttachmentPointer::default()
    };
    match with_attachments(Some("listen"), vec![voice]) {
        Ok(Event::Text {
            body, attachments, ..
        }) => {
            assert_eq!(body, "listen");
            assert!(attachments[0].voice);
            assert_eq!(attachments[0].summary(), "Voice message");
        }
        other => panic!("unexpected {other:?}"),
    }
    // The caption text is checked like a body.
    let long = "x".repeat(MAX_INCOMING_BODY_CHARS + 1);
    assert_eq!(
        with_attachments(Some(&long), vec![AttachmentPointer::default()]),
        Err(MessageError::InvalidIncoming(Field::Body))
    );
    // Group invitations and promotions carry the group's name; other group messages are
    // control, not content.
    let group = |update: GroupUpdateMessage| {
        classify(
            &incoming(
                a,
                data_content(DataMessage {
                    group_update_message: Some(update),
                    ..DataMessage::default()
                }),
            ),
            &a,
        )
    };
    let long_name = "é".repeat(60);
    for update in [
        GroupUpdateMessage {
            invite_message: Some(GroupUpdateInvite {
                name: Some(long_name.clone()),
            }),
            ..GroupUpdateMessage::default()
        },
        GroupUpdateMessage {
            promote_message: Some(GroupUpdateInvite {
                name: Some(long_name.clone()),
            }),
            ..GroupUpdateMessage::default()
        },
    ] {
        match group(update) {
            Ok(Event::Unsupported {
                what: UnsupportedKind::GroupInvitation { name },
                ..
            }) => assert_eq!(name, "é".repeat(50)),
            other => panic!("unexpected {other:?}"),
        }
    }
    match group(GroupUpdateMessage::default()) {
        Ok(Event::Unsupported { what, .. }) => {
            assert_eq!(what, UnsupportedKind::GroupControl);
            assert!(!what.is_user_content());
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!UnsupportedKind::SharedConfig.is_user_content());
    assert!(UnsupportedKind::Unknown.is_user_content());
    // A call id over its limit makes the call message malformed (not a call).
    let call = Content {
        call_message: Some(CallMessage {
            r#type: CallMessageType::Offer as i32,
            uuid: "u".repeat(500),
            ..CallMessage::default()
        }),
        ..Content::default()
    };
    assert_eq!(
        classify(&incoming(a, call), &a),
        Err(MessageError::Malformed {
            what: "call message"
        })
    );
}

// ---------------------------------------------------------------------------------------------
// Permission rules.
// ---------------------------------------------------------------------------------------------

#[test]
fn test_unsend_by_non_author_rejected() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let alice = identity(40);
    let bob = identity(41);
    let carol = identity(42);
    let carol_msg = MessageId {
        author: carol.account_id(),
        sent_timestamp_ms: 1_700_000_000_000,
    };
    // Umbra refuses to compose it …
    assert_eq!(
        compose_unsend(&alice.account_id(), &carol_msg, 1),
        Err(MessageError::InvalidOutgoing(Field::UnsendAuthor))
    );
    // … and rejects it when a peer sends it.
    let forged = Content {
        unsend_request: Some(UnsendRequest {
            timestamp: carol_msg.sent_timestamp_ms,
            author: carol.account_id().to_string(),
        }),
        ..Content::default()
    };
    assert_eq!(
        deliver_raw(&forged, &alice, &bob, &mut rng),
        Err(MessageError::ForeignUnsend)
    );
    // Naming the receiver's own message is just as foreign.
    let forged = Content {
        unsend_request: Some(UnsendRequest {
            timestamp: 5,
            author: bob.account_id().to_string(),
        }),
        ..Content::default()
    };
    assert_eq!(
        deliver_raw(&forged, &alice, &bob, &mut rng),
        Err(MessageError::ForeignUnsend)
    );
    // A zero timestamp from the real author is invalid.
    let zero = Content {
        unsend_request: Some(UnsendRequest {
            timestamp: 0,
            author: alice.account_id().to_string(),
        }),
        ..Content::default()
    };
    assert_eq!(
        deliver_raw(&zero, &alice, &bob, &mut rng),
        Err(MessageError::InvalidIncoming(Field::TargetTimestamp))
    );
}

#[test]
fn test_sync_from_non_self_rejected() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let alice = identity(50);
    let bob = identity(51);
    let carol = identity(52);
    let draft = TextDraft {
        body: "you said this".into(),
        ..TextDraft::default()
    };
    let text = compose_text(&draft, 1_700_000_000_000).expect("compose");
    // Bob plants a "sent by Alice to Carol" copy in Alice's swarm.
    let forged = sync_copy(&text, &carol.account_id()).expect("sync");
    let data = forged
        .encode(&bob, &alice.account_id(), &mut rng)
        .expect("encode");
    let received = decode_envelope(&alice, &data).expect("decode");
    assert_eq!(
        classify(&received, &alice.account_id()),
        Err(MessageError::ForeignSyncTarget)
    );
    // The check comes first: even with an invalid body the answer is ForeignSyncTarget.
    let mut bad = text_content(&"x".repeat(MAX_INCOMING_BODY_CHARS + 1));
    if let Some(d) = bad.data_message.as_mut() {
        d.sync_target = Some(carol.account_id().to_string());
    }
    assert_eq!(
        classify(&incoming(bob.account_id(), bad), &alice.account_id()),
        Err(MessageError::ForeignSyncTarget)
    );
    // A sync target that is not an Account ID, from the own account.
    let mut junk = text_content("hi");
    if let Some(d) = junk.data_message.as_mut() {
        d.sync_target = Some("not an id".into());
    }
    assert_eq!(
        classify(&incoming(alice.account_id(), junk), &alice.account_id()),
        Err(MessageError::Malformed {
            what: "sync target"
        })
    );
}

// ---------------------------------------------------------------------------------------------
// Size caps and validation.
// ---------------------------------------------------------------------------------------------

fn draft(body: &str) -> TextDraft {
    TextDraft {
        body: body.to_owned(),
        ..TextDraft::default()
    }
}

#[test]
fn test_body_caps() {
    let at_cap = "é".repeat(MAX_OUTGOING_BODY_CHARS);
    assert!(compose_text(&draft(&at_cap), 1).is_ok(), "chars, not bytes");
    let over = "a".repeat(MAX_OUTGOING_BODY_CHARS + 1);
    assert_eq!(
        compose_text(&draft(&over), 1),
        Err(MessageError::InvalidOutgoing(Field::Body))
    );
    for blank in ["", "   ", "\n\t"] {
        assert_eq!(
            compose_text(&draft(blank), 1),
            Err(MessageError::InvalidOutgoing(Field::Body))
        );
    }

    let a = author_a();
    let long_ok = "ü".repeat(MAX_INCOMING_BODY_CHARS);
    assert!(matches!(
        classify(&incoming(a, text_content(&long_ok)), &a),
        Ok(Event::Text { .. })
    ));
    let too_long = "a".repeat(MAX_INCOMING_BODY_CHARS + 1);
    assert_eq!(
        classify(&incoming(a, text_content(&too_long)), &a),
        Err(MessageError::InvalidIncoming(Field::Body))
    );
    assert_eq!(
        classify(&incoming(a, text_content("  ")), &a),
        Err(MessageError::InvalidIncoming(Field::Body))
    );

    // Quote text counts against the same caps.
    let mut content = text_content("reply");
    if let Some(d) = content.data_message.as_mut() {
        d.quote = Some(Quote {
            id: 1,
            author: author_a_hex(),
            text: Some(too_long.clone()),
        });
    }
    assert_eq!(
        classify(&incoming(a, content), &a),
        Err(MessageError::InvalidIncoming(Field::QuoteText))
    );
    let quote = QuoteRef {
        target: MessageId {
            author: a,
            sent_timestamp_ms: 1,
        },
        text: Some(over),
    };
    let d = TextDraft {
        body: "reply".into(),
        quote: Some(quote),
        ..TextDraft::default()
    };
    assert_eq!(
        compose_text(&d, 1),
        Err(MessageError::InvalidOutgoing(Field::QuoteText))
    );
}

#[test]
fn test_quote_validation() {
    let a = author_a();
    let with_quote = |id: u64, author: &str| {
        let mut content = text_content("reply");
        if let Some(d) = content.data_message.as_mut() {
            d.quote = Some(Quote {
                id,
                author: author.to_owned(),
                text: None,
            });
        }
        content
    };
    assert_eq!(
        classify(&incoming(a, with_quote(0, &author_a_hex())), &a),
        Err(MessageError::InvalidIncoming(Field::TargetTimestamp))
    );
    assert_eq!(
        classify(&incoming(a, with_quote(1, "05zz")), &a),
        Err(MessageError::Malformed {
            what: "quote author"
        })
    );
    let zero_target = TextDraft {
        body: "r".into(),
        quote: Some(QuoteRef {
            target: MessageId {
                author: a,
                sent_timestamp_ms: 0,
            },
            text: None,
        }),
        ..TextDraft::default()
    };
    assert_eq!(
        compose_text(&zero_target, 1),
        Err(MessageError::InvalidOutgoing(Field::TargetTimestamp))
    );
}

#[test]
fn test_emoji_caps() {
    let target = MessageId {
        author: author_a(),
        sent_timestamp_ms: 1,
    };
    let react = |emoji: &str| {
        compose_reaction(
            &target,
            emoji,
            ReactionChange::Add,
            None,
            DisappearingSetting::Off,
            2,
        )
    };
    // Long but real: kiss, woman light skin tone + woman medium-light skin tone (10 scalars).
    let kiss =
        "\u{1F469}\u{1F3FB}\u{200D}\u{2764}\u{FE0F}\u{200D}\u{1F48B}\u{200D}\u{1F469}\u{1F3FC}";
    for ok in [
        "👍",
        "❤️",
        "🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}",
        kiss,
    ] {
        assert!(react(ok).is_ok(), "{ok:?}");
    }
    let twelve = "👍".repeat(MAX_EMOJI_CHARS);
    assert!(react(&twelve).is_ok());
    let thirteen = "👍".repeat(MAX_EMOJI_CHARS + 1);
    for bad in [
        "",
        thirteen.as_str(),
        "👍 ",
        " ",
        "a\u{0}",
        "\u{7}",
        "\u{202E}👍",
        "👍\u{2067}",
        "\u{200F}",
    ] {
        assert_eq!(
            react(bad),
            Err(MessageError::InvalidOutgoing(Field::Emoji)),
            "{bad:?}"
        );
    }

    let a = author_a();
    let reaction = |emoji: Option<&str>, action: i32, id: u64, author: String| {
        data_content(DataMessage {
            reaction: Some(Reaction {
                id,
                author,
                emoji: emoji.map(str::to_owned),
                action,
            }),
            ..DataMessage::default()
        })
    };
    for bad in [None, Some(""), Some(thirteen.as_str()), Some("x\n")] {
        assert_eq!(
            classify(&incoming(a, reaction(bad, 0, 1, author_a_hex())), &a),
            Err(MessageError::InvalidIncoming(Field::Emoji)),
            "{bad:?}"
        );
    }
    assert_eq!(
        classify(&incoming(a, reaction(Some("👍"), 0, 0, author_a_hex())), &a),
        Err(MessageError::InvalidIncoming(Field::TargetTimestamp))
    );
    assert_eq!(
        classify(&incoming(a, reaction(Some("👍"), 5, 1, author_a_hex())), &a),
        Err(MessageError::Malformed {
            what: "reaction action"
        })
    );
    assert_eq!(
        classify(&incoming(a, reaction(Some("👍"), 1, 1, "05".into())), &a),
        Err(MessageError::Malformed {
            what: "reaction author"
        })
    );
}

#[test]
fn test_display_name_caps() {
    let at_cap = "ä".repeat(MAX_DISPLAY_NAME_BYTES / 2);
    assert_eq!(at_cap.len(), MAX_DISPLAY_NAME_BYTES);
    assert!(Profile::new(&at_cap).is_ok());
    let over = format!("{at_cap}a");
    for bad in [over.as_str(), "", "  "] {
        assert_eq!(
            Profile::new(bad),
            Err(MessageError::InvalidOutgoing(Field::DisplayName))
        );
    }

    let a = author_a();
    let with_name = |name: &str| {
        data_content(DataMessage {
            body: Some("hi".into()),
            profile: Some(LokiProfile {
                display_name: Some(name.to_owned()),
                ..LokiProfile::default()
            }),
            ..DataMessage::default()
        })
    };
    // M12: a received name over 100 bytes is cut at a character boundary (libsession's
    // `utf8_truncate` in `set_name_truncated`) and the message is kept.
    match classify(&incoming(a, with_name(&over)), &a) {
        Ok(Event::Text {
            body,
            profile: Some(p),
            ..
        }) => {
            assert_eq!(body, "hi");
            assert_eq!(p.display_name(), at_cap);
        }
        other => panic!("unexpected {other:?}"),
    }
    // The cut never splits a character: 99 ASCII bytes then a 2-byte one keeps 99.
    let split = format!("{}ä", "b".repeat(MAX_DISPLAY_NAME_BYTES - 1));
    match classify(&incoming(a, with_name(&split)), &a) {
        Ok(Event::Text {
            profile: Some(p), ..
        }) => assert_eq!(p.display_name(), "b".repeat(MAX_DISPLAY_NAME_BYTES - 1)),
        other => panic!("unexpected {other:?}"),
    }
    match classify(&incoming(a, with_name(&at_cap)), &a) {
        Ok(Event::Text {
            profile: Some(p), ..
        }) => assert_eq!(p.display_name(), at_cap),
        other => panic!("unexpected {other:?}"),
    }
    // An empty name is "no profile", not an error.
    assert!(matches!(
        classify(&incoming(a, with_name("")), &a),
        Ok(Event::Text { profile: None, .. })
    ));
    // Same rule in a request response.
    let response = Content {
        message_request_response: Some(umbra_protocol::message::proto::MessageRequestResponse {
            is_approved: true,
            profile_key: None,
            profile: Some(LokiProfile {
                display_name: Some(over.clone()),
                ..LokiProfile::default()
            }),
        }),
        ..Content::default()
    };
    match classify(&incoming(a, response), &a) {
        Ok(Event::RequestResponse {
            approved: true,
            profile: Some(p),
        }) => assert_eq!(p.display_name(), at_cap),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn test_timer_validation() {
    // Outgoing: only the values Session offers for the mode.
    for setting in [
        DisappearingSetting::AfterSend(60),
        DisappearingSetting::AfterSend(7_200),
        DisappearingSetting::AfterSend(0),
        DisappearingSetting::AfterRead(0),
        DisappearingSetting::AfterRead(10),
        DisappearingSetting::AfterRead(5 * 604_800),
        DisappearingSetting::AfterSend(8 * 604_800),
    ] {
        assert_eq!(
            compose_expiration_update(setting, 1),
            Err(MessageError::InvalidOutgoing(Field::Timer)),
            "{setting:?}"
        );
        let d = TextDraft {
            body: "x".into(),
            disappearing: setting,
            ..TextDraft::default()
        };
        assert_eq!(
            compose_text(&d, 1),
            Err(MessageError::InvalidOutgoing(Field::Timer))
        );
    }
    // M8: exactly Session's choices per mode (session-desktop
    // ts/session/disappearing_messages/timerOptions.ts, release builds): after-read 5 min,
    // 1 h, 12 h, 1 d, 1 w, 2 w; after-send 12 h, 1 d, 1 w, 2 w. No 4 weeks, no 5 min / 1 h
    // after send.
    assert_eq!(
        AFTER_READ_TIMERS,
        [300, 3_600, 43_200, 86_400, 604_800, 1_209_600]
    );
    assert_eq!(AFTER_SEND_TIMERS, [43_200, 86_400, 604_800, 1_209_600]);
    for setting in [
        DisappearingSetting::AfterSend(300),
        DisappearingSetting::AfterSend(3_600),
        DisappearingSetting::AfterSend(2_419_200),
        DisappearingSetting::AfterRead(2_419_200),
    ] {
        assert!(!setting.is_offered(), "{setting:?}");
        assert_eq!(
            compose_expiration_update(setting, 1),
            Err(MessageError::InvalidOutgoing(Field::Timer)),
            "{setting:?}"
        );
    }
    // A setting stored by an older Umbra maps to the nearest offered one of its mode.
    for (old, want) in [
        (
            DisappearingSetting::AfterSend(300),
            DisappearingSetting::AfterSend(43_200),
        ),
        (
            DisappearingSetting::AfterSend(3_600),
            DisappearingSetting::AfterSend(43_200),
        ),
        (
            DisappearingSetting::AfterSend(2_419_200),
            DisappearingSetting::AfterSend(1_209_600),
        ),
        (
            DisappearingSetting::AfterRead(2_419_200),
            DisappearingSetting::AfterRead(1_209_600),
        ),
        (
            DisappearingSetting::AfterRead(10),
            DisappearingSetting::AfterRead(300),
        ),
        (
            DisappearingSetting::AfterRead(86_400),
            DisappearingSetting::AfterRead(86_400),
        ),
        (DisappearingSetting::Off, DisappearingSetting::Off),
    ] {
        assert_eq!(old.nearest_offered(), want, "{old:?}");
        assert!(want.is_offered());
    }
    // Whatever the timer (a peer may pick up to 30 days), nothing is stored in the swarm
    // for longer than the namespace-0 maximum of 14 days.
    for secs in [
        1,
        43_200,
        1_209_600,
        1_209_601,
        2_419_200,
        MAX_INCOMING_TIMER_SECS,
    ] {
        for setting in [
            DisappearingSetting::AfterSend(secs),
            DisappearingSetting::AfterRead(secs),
        ] {
            assert!(setting.storage_ttl_ms() <= DEFAULT_TTL_MS, "{setting:?}");
        }
    }

    // Incoming: any timer up to 30 days; unknown/absent type or zero timer means Off.
    let a = author_a();
    let update = |t: Option<i32>, secs: Option<u32>| {
        let mut c = data_content(DataMessage {
            flags: Some(DataMessage::FLAG_EXPIRATION_TIMER_UPDATE),
            ..DataMessage::default()
        });
        c.expiration_type = t;
        c.expiration_timer = secs;
        classify(&incoming(a, c), &a)
    };
    let send = Some(ExpirationType::DeleteAfterSend as i32);
    let read = Some(ExpirationType::DeleteAfterRead as i32);
    let cases = [
        (send, Some(10), Ok(DisappearingSetting::AfterSend(10))),
        (
            read,
            Some(MAX_INCOMING_TIMER_SECS),
            Ok(DisappearingSetting::AfterRead(MAX_INCOMING_TIMER_SECS)),
        ),
        (
            send,
            Some(MAX_INCOMING_TIMER_SECS + 1),
            Err(MessageError::InvalidIncoming(Field::Timer)),
        ),
        (
            read,
            Some(u32::MAX),
            Err(MessageError::InvalidIncoming(Field::Timer)),
        ),
        (send, Some(0), Ok(DisappearingSetting::Off)),
        (send, None, Ok(DisappearingSetting::Off)),
        (Some(0), Some(86_400), Ok(DisappearingSetting::Off)),
        (None, Some(86_400), Ok(DisappearingSetting::Off)),
        (Some(9), Some(86_400), Ok(DisappearingSetting::Off)),
        (None, Some(u32::MAX), Ok(DisappearingSetting::Off)),
    ];
    for (t, secs, want) in cases {
        assert_eq!(
            update(t, secs),
            want.map(|setting| Event::ExpirationUpdate { setting }),
            "{t:?} {secs:?}"
        );
    }
    // The same rule applies to a text message's own timer.
    let mut c = text_content("hi");
    c.expiration_type = send;
    c.expiration_timer = Some(MAX_INCOMING_TIMER_SECS + 1);
    assert_eq!(
        classify(&incoming(a, c), &a),
        Err(MessageError::InvalidIncoming(Field::Timer))
    );
}

#[test]
fn test_receipt_validation_and_prefs() {
    let off = SendPrefs {
        read_receipts: false,
        typing_indicators: false,
    };
    assert_eq!(compose_read_receipt(&off, &[1], 1), Ok(None));
    assert_eq!(compose_typing(&off, true, 1), None);
    assert_eq!(compose_typing(&off, false, 1), None);
    let only_typing = SendPrefs {
        read_receipts: false,
        typing_indicators: true,
    };
    assert_eq!(compose_read_receipt(&only_typing, &[1], 1), Ok(None));
    assert!(compose_typing(&only_typing, true, 1).is_some());

    let max = vec![7u64; MAX_RECEIPT_TIMESTAMPS];
    assert!(matches!(compose_read_receipt(&ON, &max, 1), Ok(Some(_))));
    let over = vec![7u64; MAX_RECEIPT_TIMESTAMPS + 1];
    for (ts, field) in [
        (&[][..], Field::ReceiptTimestamps),
        (&over[..], Field::ReceiptTimestamps),
        (&[5, 0][..], Field::TargetTimestamp),
    ] {
        assert_eq!(
            compose_read_receipt(&ON, ts, 1),
            Err(MessageError::InvalidOutgoing(field))
        );
        let content = Content {
            receipt_message: Some(ReceiptMessage {
                r#type: 1,
                timestamp: ts.to_vec(),
            }),
            ..Content::default()
        };
        let a = author_a();
        assert_eq!(
            classify(&incoming(a, content), &a),
            Err(MessageError::InvalidIncoming(field))
        );
    }
}

#[test]
fn test_unknown_enum_values_are_malformed() {
    let a = author_a();
    let receipt = Content {
        receipt_message: Some(ReceiptMessage {
            r#type: 2,
            timestamp: vec![1],
        }),
        ..Content::default()
    };
    let typing = Content {
        typing_message: Some(TypingMessage {
            timestamp: 1,
            action: 2,
        }),
        ..Content::default()
    };
    let extraction = Content {
        data_extraction_notification: Some(DataExtractionNotification {
            r#type: 3,
            timestamp: None,
        }),
        ..Content::default()
    };
    for (content, what) in [
        (receipt, "receipt type"),
        (typing, "typing action"),
        (extraction, "data extraction type"),
    ] {
        assert_eq!(
            classify(&incoming(a, content), &a),
            Err(MessageError::Malformed { what })
        );
    }
}

#[test]
fn test_precedence_when_several_parts_are_set() {
    // Desktop handles dataMessage first; a receipt riding along is ignored.
    let a = author_a();
    let mut content = text_content("hi");
    content.receipt_message = Some(ReceiptMessage {
        r#type: 1,
        timestamp: vec![1],
    });
    assert!(matches!(
        classify(&incoming(a, content), &a),
        Ok(Event::Text { .. })
    ));
    // The timer-update flag wins over a body.
    let mut content = text_content("hi");
    if let Some(d) = content.data_message.as_mut() {
        d.flags = Some(DataMessage::FLAG_EXPIRATION_TIMER_UPDATE | 1);
    }
    assert_eq!(
        classify(&incoming(a, content), &a),
        Ok(Event::ExpirationUpdate {
            setting: DisappearingSetting::Off
        })
    );
}

#[test]
fn test_errors_classify_and_carry_no_data() {
    let fields = [
        Field::Body,
        Field::QuoteText,
        Field::Emoji,
        Field::DisplayName,
        Field::Timer,
        Field::ReceiptTimestamps,
        Field::TargetTimestamp,
        Field::UnsendAuthor,
        Field::SyncTarget,
    ];
    for field in fields {
        let out = MessageError::InvalidOutgoing(field);
        let inc = MessageError::InvalidIncoming(field);
        assert_eq!(out.kind(), ErrorKind::BadApiUsage);
        assert_eq!(inc.kind(), ErrorKind::PeerMisbehaved);
        assert_eq!(
            out.to_string(),
            format!("invalid {field} in outgoing message")
        );
        assert!(inc.to_string().ends_with("in incoming message"));
    }
    // A rejected body never shows up in the error.
    let secret = "secret-".repeat(400);
    let err = compose_text(&draft(&secret), 1).expect_err("too long");
    assert!(!err.to_string().contains("secret"));
    assert!(!format!("{err:?}").contains("secret"));
}

// ---------------------------------------------------------------------------------------------
// Disappearing-message helpers.
// ---------------------------------------------------------------------------------------------

#[test]
fn test_disappearing_ttls() {
    for t in AFTER_SEND_TIMERS {
        let s = DisappearingSetting::AfterSend(t);
        let want = (u64::from(t) * 1000).min(DEFAULT_TTL_MS);
        assert_eq!(s.storage_ttl_ms(), want);
        let d = TextDraft {
            body: "x".into(),
            disappearing: s,
            ..TextDraft::default()
        };
        assert_eq!(compose_text(&d, 1).expect("compose").ttl_ms, want);
    }
    for t in AFTER_READ_TIMERS {
        assert_eq!(
            DisappearingSetting::AfterRead(t).storage_ttl_ms(),
            DEFAULT_TTL_MS
        );
    }
    assert_eq!(DisappearingSetting::Off.storage_ttl_ms(), DEFAULT_TTL_MS);
    assert_eq!(DEFAULT_TTL_MS, 14 * 86_400_000);
    // Never more than the public inbox allows, whatever the timer.
    assert_eq!(
        DisappearingSetting::AfterSend(MAX_INCOMING_TIMER_SECS).storage_ttl_ms(),
        DEFAULT_TTL_MS
    );
}

#[test]
fn test_local_expiry() {
    let sent = 1_700_000_000_000;
    let now = sent + 10_000;
    let send = DisappearingSetting::AfterSend(43_200);
    let read = DisappearingSetting::AfterRead(300);
    let off = DisappearingSetting::Off;

    assert_eq!(send.outgoing_expiry_ms(sent), Some(sent + 43_200_000));
    assert_eq!(read.outgoing_expiry_ms(sent), Some(sent + 300_000));
    assert_eq!(off.outgoing_expiry_ms(sent), None);

    assert_eq!(
        send.incoming_expiry_ms(sent, None, now),
        Some(sent + 43_200_000)
    );
    // A sent timestamp from the future is clamped to now.
    assert_eq!(
        send.incoming_expiry_ms(now + 1_000_000, None, now),
        Some(now + 43_200_000)
    );
    assert_eq!(read.incoming_expiry_ms(sent, None, now), None, "unread");
    assert_eq!(
        read.incoming_expiry_ms(sent, Some(sent + 5_000), now),
        Some(sent + 5_000 + 300_000)
    );
    assert_eq!(
        read.incoming_expiry_ms(sent, Some(now + 99_999), now),
        Some(now + 300_000)
    );
    assert_eq!(off.incoming_expiry_ms(sent, Some(now), now), None);
    assert_eq!(
        DisappearingSetting::AfterSend(u32::MAX).incoming_expiry_ms(u64::MAX, None, u64::MAX),
        Some(u64::MAX),
        "saturates"
    );

    // Read on another device: the swarm copy was shortened.
    let stored = sent + 200;
    assert_eq!(
        read.expiry_read_elsewhere_ms(stored, stored + DEFAULT_TTL_MS),
        None
    );
    assert_eq!(
        read.expiry_read_elsewhere_ms(stored, stored + DEFAULT_TTL_MS - 30_000),
        None,
        "within clock tolerance"
    );
    assert_eq!(
        read.expiry_read_elsewhere_ms(stored, sent + 400_000),
        Some(sent + 400_000)
    );
    assert_eq!(send.expiry_read_elsewhere_ms(stored, sent + 400_000), None);
}

#[test]
fn test_content_fields_round_trip() {
    for setting in AFTER_SEND_TIMERS
        .map(DisappearingSetting::AfterSend)
        .into_iter()
        .chain(AFTER_READ_TIMERS.map(DisappearingSetting::AfterRead))
        .chain([DisappearingSetting::Off])
    {
        assert!(setting.is_offered());
        assert_eq!(setting.check_outgoing(), Ok(setting));
        let (mode, timer) = setting.to_content_fields();
        assert_eq!(
            DisappearingSetting::from_content_fields(Some(mode as i32), Some(timer)),
            Ok(setting)
        );
    }
    assert_eq!(
        DisappearingSetting::Off.to_content_fields(),
        (ExpirationType::Unknown, 0)
    );
}

/// §4.4: `"expire" ‖ "shorten" ‖ expiry ‖ hash0 ‖ …`, checked against the literal string.
#[test]
fn test_expire_shorten_signature_string() {
    let hashes = [
        "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
        "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC",
    ];
    let expiry = after_read_swarm_expiry_ms(DisappearingSetting::AfterRead(300), 1_700_000_000_000)
        .expect("after read");
    assert_eq!(expiry, 1_700_000_300_000);
    assert_eq!(
        expire_shorten_signature_message(expiry, &hashes),
        b"expireshorten1700000300000\
          BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\
          CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"
            .to_vec()
    );
    // Order matters; no hashes leaves the prefix.
    assert_ne!(
        expire_shorten_signature_message(expiry, &[hashes[1], hashes[0]]),
        expire_shorten_signature_message(expiry, &hashes)
    );
    assert_eq!(
        expire_shorten_signature_message::<&str>(5, &[]),
        b"expireshorten5".to_vec()
    );
    assert_eq!(
        after_read_swarm_expiry_ms(DisappearingSetting::AfterSend(300), 1),
        None
    );
    assert_eq!(
        after_read_swarm_expiry_ms(DisappearingSetting::Off, 1),
        None
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever protobuf a peer sends, classify returns a value or a typed error.
    #[test]
    fn prop_classify_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(content) = Content::decode(bytes.as_slice()) {
            let a = author_a();
            let _ = classify(&incoming(a, content.clone()), &a);
            let other: AccountId = format!("05{}", "22".repeat(32)).parse().expect("id");
            let _ = classify(&incoming(other, content), &a);
        }
    }

    /// `docs/security.md` C6 for sync copies: a sync target from any account other than the
    /// own one is refused, whatever the content; from the own account it is honoured.
    #[test]
    fn prop_sync_target_only_from_own_account(
        sender in any::<[u8; 32]>(),
        own in any::<[u8; 32]>(),
        target in any::<[u8; 32]>(),
        body in "\\PC{1,40}",
    ) {
        prop_assume!(!body.trim().is_empty());
        let (sender, own, target) = (
            AccountId::from_x25519_public(sender),
            AccountId::from_x25519_public(own),
            AccountId::from_x25519_public(target),
        );
        let text = compose_text(&draft(&body), 1).expect("compose");
        let copy = sync_copy(&text, &target).expect("sync");
        let got = classify(&incoming(sender, copy.content.clone()), &own);
        if sender == own {
            let honoured = matches!(got, Ok(Event::SyncedOutgoing { to, .. }) if to == target);
            prop_assert!(honoured);
        } else {
            prop_assert_eq!(got, Err(MessageError::ForeignSyncTarget));
        }
        // The same copy received by its real author is always accepted.
        prop_assert!(classify(&incoming(own, copy.content), &own).is_ok());
    }

    /// Only the author may unsend: any author other than the authenticated sender is refused.
    #[test]
    fn prop_unsend_only_by_author(
        sender in any::<[u8; 32]>(),
        author in any::<[u8; 32]>(),
        same in any::<bool>(),
        ts in 1u64..u64::MAX,
    ) {
        let sender = AccountId::from_x25519_public(sender);
        let author = if same { sender } else { AccountId::from_x25519_public(author) };
        let content = Content {
            unsend_request: Some(UnsendRequest { timestamp: ts, author: author.to_string() }),
            ..Content::default()
        };
        let got = classify(&incoming(sender, content), &author_a());
        if author == sender {
            prop_assert_eq!(
                got,
                Ok(Event::Unsend { target: MessageId { author, sent_timestamp_ms: ts } })
            );
        } else {
            prop_assert_eq!(got, Err(MessageError::ForeignUnsend));
        }
    }

    /// Any body within the cap survives compose → classify unchanged.
    #[test]
    fn prop_text_round_trip(body in "\\PC{1,200}", ts in 1u64..u64::MAX) {
        prop_assume!(!body.trim().is_empty());
        let out = compose_text(&draft(&body), ts).expect("compose");
        let a = author_a();
        let event = classify(&incoming(a, out.content), &a).expect("classify");
        prop_assert_eq!(
            event,
            Event::Text {
                body,
                quote: None,
                profile: None,
                expiry: DisappearingSetting::Off, attachments: Vec::new(), }
        );
    }
}

/// A profile picture travels as `LokiProfile.profilePicture` (URL) with
/// `DataMessage.profileKey` (32 bytes); a URL without a 32-byte key is no picture.
#[test]
fn test_profile_picture_url_and_key_travel_together() {
    use umbra_protocol::message::ProfilePicture;
    let a = author_a();
    let picture = ProfilePicture {
        url: "http://files.test/file/abc".into(),
        key: vec![9; 32],
    };
    let profile = Profile::new("Alice")
        .unwrap()
        .with_picture(Some(picture.clone()));
    let draft = TextDraft {
        body: "hi".into(),
        profile: Some(profile),
        ..TextDraft::default()
    };
    let out = compose_text(&draft, 1_700_000_000_000).unwrap();
    let data = out.content.data_message.clone().unwrap();
    assert_eq!(data.profile_key.as_deref(), Some(&[9u8; 32][..]));
    assert_eq!(
        data.profile.as_ref().unwrap().profile_picture.as_deref(),
        Some("http://files.test/file/abc")
    );
    match classify(&incoming(a, out.content.clone()), &a) {
        Ok(Event::Text {
            profile: Some(p), ..
        }) => assert_eq!(p.picture(), Some(&picture)),
        other => panic!("unexpected {other:?}"),
    }
    // A short key: the name is kept, the picture is not.
    let mut content = out.content;
    content.data_message.as_mut().unwrap().profile_key = Some(vec![9; 31]);
    match classify(&incoming(a, content), &a) {
        Ok(Event::Text {
            profile: Some(p), ..
        }) => {
            assert_eq!(p.display_name(), "Alice");
            assert_eq!(p.picture(), None);
        }
        other => panic!("unexpected {other:?}"),
    }
}
