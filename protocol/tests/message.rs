//! Message layer known-answer tests (docs/protocol.md §11.1, §11.8) and encryption
//! properties (docs/security.md C6, C7, C8).

use prost::Message as _;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use serde_json::Value;
use umbra_protocol::{
    error::ErrorKind,
    identity::{AccountId, Identity, Seed},
    message::{
        ENCRYPTION_OVERHEAD, MAX_MESSAGE_DATA_LEN, MessageError, decode_envelope, decrypt_incoming,
        encode_for_1o1, encrypt_for_recipient, encrypt_for_recipient_deterministic,
        proto::{Content, DataMessage, SharedConfigKind, UnsendRequest},
        unwrap_envelope, unwrap_shared_config, wrap_envelope, wrap_shared_config,
    },
};

fn vectors() -> Value {
    serde_json::from_str(include_str!("../testdata/vectors/message.json")).expect("valid json")
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("hex")
}

fn hex32(v: &Value) -> [u8; 32] {
    bytes(v).try_into().expect("32 bytes")
}

fn identity(v: &Value) -> Identity {
    Identity::from_seed(&Seed::from_entropy(&bytes(v)).expect("seed"))
}

fn random_identity(rng: &mut ChaCha20Rng) -> Identity {
    Identity::from_seed(&Seed::generate(rng))
}

fn error_named(name: &str) -> MessageError {
    match name {
        "TooShort" => MessageError::TooShort,
        "DecryptFailed" => MessageError::DecryptFailed,
        "BadSignature" => MessageError::BadSignature,
        other => panic!("unknown error name {other}"),
    }
}

/// Two fresh accounts, Alice and Bob, and the RNG that made them (seeded: reproducible).
fn alice_and_bob(seed: u64) -> (ChaCha20Rng, Identity, Identity) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let alice = random_identity(&mut rng);
    let bob = random_identity(&mut rng);
    (rng, alice, bob)
}

/// The text `body` from `from` to `to`, encrypted and wrapped, sent at a fixed time.
fn sealed_text(from: &Identity, to: &Identity, body: &str, rng: &mut ChaCha20Rng) -> Vec<u8> {
    encode_for_1o1(from, &to.account_id(), &text(body), 1_700_000_000_000, rng).expect("encode")
}

fn text(body: &str) -> Content {
    Content {
        data_message: Some(DataMessage {
            body: Some(body.to_owned()),
            ..DataMessage::default()
        }),
        ..Content::default()
    }
}

#[test]
fn test_vector_11_1_deterministic_encryption_byte_for_byte() {
    let v = vectors();
    for case in v["encrypt_for_recipient_deterministic"]
        .as_array()
        .expect("cases")
    {
        let sender = identity(&case["sender_seed"]);
        let recipient = identity(&case["recipient_seed"]);
        assert_eq!(recipient.x25519_public(), hex32(&case["recipient_x25519"]));
        let plaintext = bytes(&case["plaintext"]);
        let expected = bytes(&case["ciphertext"]);
        let out = encrypt_for_recipient_deterministic(
            &sender,
            &hex32(&case["recipient_x25519"]),
            &plaintext,
        )
        .expect("encrypt");
        assert_eq!(
            hex::encode(&out),
            hex::encode(&expected),
            "{}",
            case["name"]
        );
        assert_eq!(out.len(), plaintext.len() + ENCRYPTION_OVERHEAD);
        // Deterministic: the same inputs give the same bytes again.
        assert_eq!(
            encrypt_for_recipient_deterministic(&sender, &recipient.x25519_public(), &plaintext),
            Ok(expected)
        );
        // A different plaintext or recipient gives a different ephemeral key.
        let other =
            encrypt_for_recipient_deterministic(&sender, &recipient.x25519_public(), b"hellp")
                .expect("encrypt");
        assert_ne!(other[..32], out[..32]);
        let to_self =
            encrypt_for_recipient_deterministic(&sender, &sender.x25519_public(), &plaintext)
                .expect("encrypt");
        assert_ne!(to_self[..32], out[..32]);
    }
}

#[test]
fn test_vector_11_1_decrypts_with_recipient() {
    let v = vectors();
    for case in v["encrypt_for_recipient_deterministic"]
        .as_array()
        .expect("cases")
    {
        let recipient = identity(&case["recipient_seed"]);
        let decrypted = decrypt_incoming(&recipient, &bytes(&case["ciphertext"])).expect("decrypt");
        assert_eq!(decrypted.plaintext, b"hello");
        assert_eq!(decrypted.plaintext, bytes(&case["plaintext"]));
        assert_eq!(decrypted.sender_ed25519, hex32(&case["sender_ed25519"]));
        assert_eq!(
            decrypted.sender.to_string(),
            case["sender_account_id"].as_str().expect("id")
        );
    }
}

#[test]
fn test_vector_11_1_bad_variants_fail() {
    let v = vectors();
    let bad = v["bad_decrypt_incoming"].as_array().expect("bad cases");
    assert!(bad.len() >= 5);
    for case in bad {
        let own = identity(&case["recipient_seed"]);
        let result = decrypt_incoming(&own, &bytes(&case["ciphertext"]));
        assert_eq!(
            result,
            Err(error_named(case["error"].as_str().expect("error"))),
            "{}",
            case["name"]
        );
    }
}

#[test]
fn test_vector_11_1_every_bit_flip_fails() {
    let v = vectors();
    let case = &v["encrypt_for_recipient_deterministic"][0];
    let recipient = identity(&case["recipient_seed"]);
    let good = bytes(&case["ciphertext"]);
    assert!(decrypt_incoming(&recipient, &good).is_ok());
    for i in 0..good.len() {
        for bit in [0u8, 3, 7] {
            let mut bad = good.clone();
            bad[i] ^= 1 << bit;
            assert_eq!(
                decrypt_incoming(&recipient, &bad),
                Err(MessageError::DecryptFailed),
                "byte {i} bit {bit}"
            );
        }
    }
    let mut longer = good.clone();
    longer.push(0);
    assert_eq!(
        decrypt_incoming(&recipient, &longer),
        Err(MessageError::DecryptFailed)
    );
}

#[test]
fn test_vector_11_8_wrapped_config_byte_for_byte() {
    let v = vectors();
    for case in v["wrap_shared_config"].as_array().expect("cases") {
        let own = identity(&case["seed"]);
        let wrapped = bytes(&case["wrapped"]);
        let config = unwrap_shared_config(&own, &wrapped).expect("unwrap");
        assert_eq!(i64::from(config.kind), case["kind"].as_i64().expect("kind"));
        assert_eq!(config.seqno, case["seqno"].as_i64().expect("seqno"));
        // 216-byte padded config plaintext + 16-byte tag + 24-byte nonce.
        assert_eq!(
            config.data.len() as u64,
            case["config_data_len"].as_u64().expect("len")
        );
        let kind = SharedConfigKind::try_from(config.kind).expect("known kind");
        let rewrapped = wrap_shared_config(&own, kind, config.seqno, &config.data).expect("wrap");
        assert_eq!(
            hex::encode(&rewrapped),
            hex::encode(&wrapped),
            "{}",
            case["name"]
        );

        // The envelope fields libsession sets: type 6, timestamp 1, no source device.
        let envelope = unwrap_envelope(&wrapped).expect("envelope");
        assert_eq!(envelope.r#type, 6);
        assert_eq!(envelope.timestamp, 1);
        assert_eq!(envelope.source_device, None);

        // Another account cannot open it; a flipped bit anywhere in the sealed part fails.
        let other = identity(&v["encrypt_for_recipient_deterministic"][0]["recipient_seed"]);
        assert_eq!(
            unwrap_shared_config(&other, &wrapped),
            Err(MessageError::DecryptFailed)
        );
        let mut tampered = wrapped.clone();
        let last = tampered.len() - 10;
        tampered[last] ^= 0x01;
        assert!(unwrap_shared_config(&own, &tampered).is_err());
    }
}

#[test]
fn test_config_from_another_account_is_rejected() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let own = random_identity(&mut rng);
    let other = random_identity(&mut rng);
    // Someone else seals a config-shaped message to us.
    let content = Content {
        shared_config_message: Some(umbra_protocol::message::proto::SharedConfigMessage {
            kind: SharedConfigKind::Contacts as i32,
            seqno: 5,
            data: vec![1, 2, 3],
        }),
        ..Content::default()
    };
    let data = encode_for_1o1(
        &other,
        &own.account_id(),
        &content,
        1_700_000_000_000,
        &mut rng,
    )
    .expect("encode");
    assert_eq!(
        unwrap_shared_config(&own, &data),
        Err(MessageError::ForeignConfig)
    );
}

#[test]
fn test_random_encryption_round_trip() {
    let (mut rng, alice, bob) = alice_and_bob(1);
    for len in [0usize, 1, 5, 159, 160, 161, 1000] {
        let mut msg = vec![0u8; len];
        rng.fill_bytes(&mut msg);
        let c1 = encrypt_for_recipient(&alice, &bob.x25519_public(), &msg, &mut rng).expect("enc");
        let c2 = encrypt_for_recipient(&alice, &bob.x25519_public(), &msg, &mut rng).expect("enc");
        assert_eq!(c1.len(), len + ENCRYPTION_OVERHEAD);
        assert_ne!(c1, c2, "fresh ephemeral key every time");
        for c in [&c1, &c2] {
            let d = decrypt_incoming(&bob, c).expect("decrypt");
            assert_eq!(d.plaintext, msg);
            assert_eq!(d.sender, alice.account_id());
            assert_eq!(d.sender_ed25519, alice.ed25519_public());
        }
    }
}

#[test]
fn test_wrong_recipient_fails() {
    let (mut rng, alice, bob) = alice_and_bob(2);
    let carol = random_identity(&mut rng);
    let c = encrypt_for_recipient(&alice, &bob.x25519_public(), b"for bob", &mut rng).expect("enc");
    assert_eq!(
        decrypt_incoming(&carol, &c),
        Err(MessageError::DecryptFailed)
    );
    assert_eq!(
        decrypt_incoming(&alice, &c),
        Err(MessageError::DecryptFailed)
    );
    let data = sealed_text(&alice, &bob, "x", &mut rng);
    assert_eq!(
        decode_envelope(&carol, &data),
        Err(MessageError::DecryptFailed)
    );
}

#[test]
fn test_low_order_recipient_key_is_refused() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let alice = random_identity(&mut rng);
    for key in [[0u8; 32], {
        let mut one = [0u8; 32];
        one[0] = 1;
        one
    }] {
        assert_eq!(
            encrypt_for_recipient(&alice, &key, b"x", &mut rng),
            Err(MessageError::InvalidRecipientKey)
        );
        assert_eq!(
            encrypt_for_recipient_deterministic(&alice, &key, b"x"),
            Err(MessageError::InvalidRecipientKey)
        );
    }
}

#[test]
fn test_encode_decode_1o1_round_trip() {
    let (mut rng, alice, bob) = alice_and_bob(4);
    let content = text("hello bob");
    let data = encode_for_1o1(
        &alice,
        &bob.account_id(),
        &content,
        1_700_000_000_123,
        &mut rng,
    )
    .expect("encode");
    let incoming = decode_envelope(&bob, &data).expect("decode");
    assert_eq!(incoming.sender, alice.account_id());
    assert_eq!(incoming.sender_ed25519, alice.ed25519_public());
    assert_eq!(incoming.sent_timestamp_ms, 1_700_000_000_123);
    assert_eq!(incoming.server_timestamp_ms, None);
    assert_eq!(incoming.content, content);
    assert_eq!(incoming.message_id().author, alice.account_id());
    assert_eq!(incoming.message_id().sent_timestamp_ms, 1_700_000_000_123);

    // Shape of what is stored: libsession's wrapping and envelope fields.
    let envelope = unwrap_envelope(&data).expect("envelope");
    assert_eq!(envelope.r#type, 6);
    assert_eq!(envelope.source, None);
    assert_eq!(envelope.source_device, Some(1));
    assert_eq!(envelope.pro_sig.as_ref().map(Vec::len), Some(64));
    let sealed = envelope.content.as_ref().expect("content");
    // Padded to a multiple of 160 before sealing.
    assert_eq!((sealed.len() - ENCRYPTION_OVERHEAD) % 160, 0);
    assert_eq!(
        data[..2],
        [0x08, 0x01],
        "WebSocketMessage type REQUEST first"
    );
}

#[test]
fn test_note_to_self_and_sync_target() {
    let (mut rng, alice, bob) = alice_and_bob(5);
    let mallory = random_identity(&mut rng);
    let mut content = text("sent to bob");
    content.data_message.as_mut().expect("dm").sync_target = Some(bob.account_id().to_string());

    // Alice's own sync copy: honoured.
    let data = encode_for_1o1(
        &alice,
        &alice.account_id(),
        &content,
        1_700_000_000_000,
        &mut rng,
    )
    .expect("encode");
    let incoming = decode_envelope(&alice, &data).expect("decode");
    assert_eq!(incoming.sender, alice.account_id());
    assert_eq!(
        incoming.sync_target(&alice.account_id()),
        Ok(Some(bob.account_id()))
    );

    // Mallory sends Alice a "sync copy" naming Bob: rejected, not filed under Bob as Alice's.
    let forged = encode_for_1o1(
        &mallory,
        &alice.account_id(),
        &content,
        1_700_000_000_000,
        &mut rng,
    )
    .expect("encode");
    let incoming = decode_envelope(&alice, &forged).expect("decode");
    assert_eq!(incoming.sender, mallory.account_id());
    assert_eq!(
        incoming.sync_target(&alice.account_id()),
        Err(MessageError::ForeignSyncTarget)
    );

    // Ordinary message: no sync target.
    let plain = encode_for_1o1(
        &bob,
        &alice.account_id(),
        &text("hi"),
        1_700_000_000_000,
        &mut rng,
    )
    .expect("encode");
    let incoming = decode_envelope(&alice, &plain).expect("decode");
    assert_eq!(incoming.sync_target(&alice.account_id()), Ok(None));

    // Garbage target from the own account.
    content.data_message.as_mut().expect("dm").sync_target = Some("05zz".into());
    let data = encode_for_1o1(
        &alice,
        &alice.account_id(),
        &content,
        1_700_000_000_000,
        &mut rng,
    )
    .expect("encode");
    let incoming = decode_envelope(&alice, &data).expect("decode");
    assert_eq!(
        incoming.sync_target(&alice.account_id()),
        Err(MessageError::Malformed {
            what: "sync target"
        })
    );
}

#[test]
fn test_unsend_only_for_own_messages() {
    let (mut rng, alice, bob) = alice_and_bob(6);
    let carol = random_identity(&mut rng);
    let unsend = |author: &AccountId| Content {
        unsend_request: Some(UnsendRequest {
            timestamp: 1_700_000_000_000,
            author: author.to_string(),
        }),
        ..Content::default()
    };
    let data = encode_for_1o1(
        &alice,
        &bob.account_id(),
        &unsend(&alice.account_id()),
        1_700_000_000_500,
        &mut rng,
    )
    .expect("encode");
    let incoming = decode_envelope(&bob, &data).expect("decode");
    let target = incoming
        .unsend_target()
        .expect("own message")
        .expect("is unsend");
    assert_eq!(target.author, alice.account_id());
    assert_eq!(target.sent_timestamp_ms, 1_700_000_000_000);

    // Alice tries to delete Carol's message.
    let data = encode_for_1o1(
        &alice,
        &bob.account_id(),
        &unsend(&carol.account_id()),
        1_700_000_000_500,
        &mut rng,
    )
    .expect("encode");
    let incoming = decode_envelope(&bob, &data).expect("decode");
    assert_eq!(incoming.unsend_target(), Err(MessageError::ForeignUnsend));

    let data = encode_for_1o1(&alice, &bob.account_id(), &text("x"), 1, &mut rng).expect("encode");
    assert_eq!(
        decode_envelope(&bob, &data)
            .expect("decode")
            .unsend_target(),
        Ok(None)
    );
}

/// C6 (sender binding): whatever the outer `source` claims, the sender is the signer.
#[test]
fn test_c6_claimed_source_never_changes_sender() {
    const CASES: usize = 10_000;
    let mut rng = ChaCha20Rng::seed_from_u64(0xC6);
    let bob = random_identity(&mut rng);
    let senders: Vec<Identity> = (0..4).map(|_| random_identity(&mut rng)).collect();
    let claimable: Vec<AccountId> = (0..8)
        .map(|_| random_identity(&mut rng).account_id())
        .chain([bob.account_id()])
        .chain(senders.iter().map(Identity::account_id))
        .collect();
    let sealed: Vec<Vec<u8>> = senders
        .iter()
        .map(|s| {
            let data = encode_for_1o1(
                s,
                &bob.account_id(),
                &text("hi"),
                1_700_000_000_000,
                &mut rng,
            )
            .expect("encode");
            unwrap_envelope(&data)
                .expect("env")
                .content
                .expect("content")
        })
        .collect();

    let mut attributed_to_claim = 0usize;
    for case in 0..CASES {
        let who = (rng.next_u32() as usize) % senders.len();
        let claim = claimable[(rng.next_u32() as usize) % claimable.len()];
        let mut source = claim.to_string().into_bytes();
        if case % 7 == 0 {
            source.make_ascii_uppercase();
        }
        let envelope = umbra_protocol::message::proto::Envelope {
            r#type: 6,
            source: Some(source),
            timestamp: 1_700_000_000_000 + u64::from(rng.next_u32() % 1000),
            source_device: Some(rng.next_u32() % 3),
            content: Some(sealed[who].clone()),
            server_timestamp: (case % 2 == 0).then_some(1_700_000_000_999),
            pro_sig: None,
        };
        let data = if case % 3 == 0 {
            envelope.encode_to_vec()
        } else {
            wrap_envelope(&envelope)
        };
        match decode_envelope(&bob, &data) {
            Ok(incoming) => {
                assert_eq!(incoming.sender, senders[who].account_id(), "case {case}");
                assert_eq!(incoming.sender_ed25519, senders[who].ed25519_public());
                if incoming.sender == claim && claim != senders[who].account_id() {
                    attributed_to_claim += 1;
                }
            }
            Err(e) => panic!("case {case}: valid sealed content rejected: {e}"),
        }
    }
    assert_eq!(attributed_to_claim, 0);
}

/// C8 (replay): the same sealed message delivered several times, from several nodes, or with
/// altered outer fields, has one dedup key.
#[test]
fn test_c8_replays_share_one_dedup_key() {
    let (mut rng, alice, bob) = alice_and_bob(0xC8);
    let data = sealed_text(&alice, &bob, "once", &mut rng);
    let first = decode_envelope(&bob, &data).expect("decode");
    for _ in 0..5 {
        let again = decode_envelope(&bob, &data).expect("decode");
        assert_eq!(again, first);
    }
    // Re-wrapped by a node / attacker with other outer fields.
    let mut envelope = unwrap_envelope(&data).expect("envelope");
    envelope.timestamp += 60_000;
    envelope.server_timestamp = Some(1_700_000_100_000);
    envelope.pro_sig = None;
    for replay in [wrap_envelope(&envelope), envelope.encode_to_vec()] {
        let incoming = decode_envelope(&bob, &replay).expect("decode");
        assert_eq!(incoming.ciphertext_hash, first.ciphertext_hash);
        assert_eq!(incoming.content, first.content);
    }
    // A second send of the same text is a different message.
    let second = sealed_text(&alice, &bob, "once", &mut rng);
    let second = decode_envelope(&bob, &second).expect("decode");
    assert_ne!(second.ciphertext_hash, first.ciphertext_hash);
}

#[test]
fn test_decode_accepts_envelope_variants() {
    let (mut rng, alice, bob) = alice_and_bob(7);
    let data = sealed_text(&alice, &bob, "v", &mut rng);
    let base = unwrap_envelope(&data).expect("envelope");
    let sources: [Option<Vec<u8>>; 3] = [
        None,
        Some(Vec::new()),
        Some(bob.account_id().to_string().into_bytes()),
    ];
    for source in sources {
        for pro_sig in [None, base.pro_sig.clone()] {
            for source_device in [None, Some(1)] {
                let mut envelope = base.clone();
                envelope.source = source.clone();
                envelope.pro_sig = pro_sig.clone();
                envelope.source_device = source_device;
                for bytes in [wrap_envelope(&envelope), envelope.encode_to_vec()] {
                    let incoming = decode_envelope(&bob, &bytes).expect("decode");
                    assert_eq!(incoming.sender, alice.account_id());
                    assert_eq!(incoming.content, text("v"));
                }
            }
        }
    }
    // A bare envelope whose 66-byte `source` happens to parse as a WebSocketRequestMessage
    // with a body is still read as the bare envelope it is.
    let mut decoy = vec![0x1a, 64];
    decoy.extend_from_slice(&[0x30; 64]);
    assert_eq!(decoy.len(), 66);
    let mut envelope = base.clone();
    envelope.source = Some(decoy);
    let incoming = decode_envelope(&bob, &envelope.encode_to_vec()).expect("bare");
    assert_eq!(incoming.sender, alice.account_id());
    // Old desktop wrapping (verb PUT, path /api/v1/message) decodes too.
    let old = umbra_protocol::message::proto::WebSocketMessage {
        r#type: Some(1),
        request: Some(umbra_protocol::message::proto::WebSocketRequestMessage {
            verb: Some("PUT".into()),
            path: Some("/api/v1/message".into()),
            body: Some(base.encode_to_vec()),
            request_id: Some(12345),
            headers: vec![],
        }),
    };
    assert!(decode_envelope(&bob, &old.encode_to_vec()).is_ok());
}

#[test]
fn test_decode_rejects_bad_envelopes() {
    let (mut rng, alice, bob) = alice_and_bob(8);
    let data = sealed_text(&alice, &bob, "v", &mut rng);
    let base = unwrap_envelope(&data).expect("envelope");
    let check = |envelope: &umbra_protocol::message::proto::Envelope, err: MessageError| {
        assert_eq!(
            decode_envelope(&bob, &wrap_envelope(envelope)),
            Err(err.clone())
        );
        assert_eq!(err.kind(), ErrorKind::PeerMisbehaved);
    };

    let mut e = base.clone();
    e.source = Some(b"05abcdef".to_vec());
    check(
        &e,
        MessageError::Malformed {
            what: "envelope source",
        },
    );
    let mut e = base.clone();
    e.pro_sig = Some(vec![0; 63]);
    check(
        &e,
        MessageError::Malformed {
            what: "envelope pro signature",
        },
    );
    let mut e = base.clone();
    e.timestamp = 0;
    check(
        &e,
        MessageError::Malformed {
            what: "envelope timestamp",
        },
    );
    let mut e = base.clone();
    e.content = None;
    check(
        &e,
        MessageError::Malformed {
            what: "envelope content",
        },
    );
    let mut e = base.clone();
    e.r#type = 7;
    check(&e, MessageError::UnsupportedEnvelopeType);
    let mut e = base.clone();
    e.content = Some(vec![0; 100]);
    check(&e, MessageError::TooShort);

    // Size cap before parsing.
    assert_eq!(
        decode_envelope(&bob, &vec![0u8; MAX_MESSAGE_DATA_LEN + 1]),
        Err(MessageError::IncomingTooLarge)
    );
    // Garbage.
    assert_eq!(
        decode_envelope(&bob, &[0xff, 0xff, 0xff]),
        Err(MessageError::Malformed { what: "envelope" })
    );
    assert_eq!(
        decode_envelope(&bob, &[]),
        Err(MessageError::Malformed {
            what: "envelope timestamp"
        })
    );
}

#[test]
fn test_content_that_is_not_protobuf_is_rejected() {
    let (mut rng, alice, bob) = alice_and_bob(9);
    // A validly signed and sealed payload whose plaintext is not a Content.
    let sealed = encrypt_for_recipient(&alice, &bob.x25519_public(), &[0xff, 0xff, 0x80], &mut rng)
        .expect("enc");
    let envelope = umbra_protocol::message::proto::Envelope {
        r#type: 6,
        timestamp: 5,
        content: Some(sealed),
        ..Default::default()
    };
    assert_eq!(
        decode_envelope(&bob, &wrap_envelope(&envelope)),
        Err(MessageError::Malformed { what: "content" })
    );
}

#[test]
fn test_outgoing_size_cap() {
    let (mut rng, alice, bob) = alice_and_bob(10);
    let big = text(&"x".repeat(MAX_MESSAGE_DATA_LEN));
    let err = encode_for_1o1(&alice, &bob.account_id(), &big, 1, &mut rng).expect_err("too big");
    assert_eq!(err, MessageError::OutgoingTooLarge);
    assert_eq!(err.kind(), ErrorKind::BadApiUsage);
    // Just below the cap after all overheads still works.
    let fits = text(&"x".repeat(MAX_MESSAGE_DATA_LEN - 640));
    let data = encode_for_1o1(&alice, &bob.account_id(), &fits, 1, &mut rng).expect("fits");
    assert!(data.len() <= MAX_MESSAGE_DATA_LEN);
    assert_eq!(decode_envelope(&bob, &data).expect("decode").content, fits);
}

#[test]
fn test_error_display_carries_no_data() {
    let errors = [
        MessageError::TooShort,
        MessageError::IncomingTooLarge,
        MessageError::OutgoingTooLarge,
        MessageError::DecryptFailed,
        MessageError::BadSignature,
        MessageError::InvalidSenderKey,
        MessageError::InvalidRecipientKey,
        MessageError::Malformed { what: "content" },
        MessageError::UnsupportedEnvelopeType,
        MessageError::ForeignSyncTarget,
        MessageError::ForeignUnsend,
        MessageError::ForeignConfig,
        MessageError::Bug("x"),
    ];
    for e in errors {
        let shown = e.to_string();
        assert!(!shown.is_empty());
        assert!(!shown.contains("05"), "{shown}");
    }
    assert_eq!(MessageError::Bug("x").kind(), ErrorKind::Bug);
    assert_eq!(
        MessageError::DecryptFailed.kind(),
        ErrorKind::PeerMisbehaved
    );
    assert_eq!(
        MessageError::InvalidRecipientKey.kind(),
        ErrorKind::BadApiUsage
    );
}

/// M6: a 1:1 message whose signed `Content.sigTimestamp` differs from the unauthenticated
/// `Envelope.timestamp` is dropped as malformed, as session-desktop's
/// `shouldProcessContentMessage` (ts/receiver/common.ts) does; its twin with equal stamps is
/// kept, and an absent or zero `sigTimestamp` (legacy senders) is accepted.
#[test]
fn test_sig_timestamp_must_match_envelope_timestamp() {
    let (mut rng, alice, bob) = alice_and_bob(0x5167);
    let sent = 1_700_000_000_000;
    let stamped = |sig: Option<u64>| Content {
        sig_timestamp: sig,
        ..text("stamped")
    };
    let seal = |content: &Content, rng: &mut ChaCha20Rng| {
        encode_for_1o1(&alice, &bob.account_id(), content, sent, rng).expect("encode")
    };
    // The twin: equal stamps decode.
    let twin = seal(&stamped(Some(sent)), &mut rng);
    let incoming = decode_envelope(&bob, &twin).expect("equal stamps");
    assert_eq!(incoming.sent_timestamp_ms, sent);
    // Different stamps (either way) are malformed.
    for sig in [sent + 1, sent - 1, 1] {
        let data = seal(&stamped(Some(sig)), &mut rng);
        let err = decode_envelope(&bob, &data).expect_err("mismatch");
        assert_eq!(
            err,
            MessageError::Malformed {
                what: "signature timestamp"
            }
        );
        assert_eq!(err.kind(), ErrorKind::PeerMisbehaved);
    }
    // A node re-wrapping the sealed twin under another envelope timestamp is caught too.
    let mut envelope = unwrap_envelope(&twin).expect("envelope");
    envelope.timestamp += 60_000;
    assert!(decode_envelope(&bob, &wrap_envelope(&envelope)).is_err());
    // Legacy senders: absent or zero is accepted.
    for sig in [None, Some(0)] {
        let data = seal(&stamped(sig), &mut rng);
        assert!(decode_envelope(&bob, &data).is_ok(), "{sig:?}");
    }
}
