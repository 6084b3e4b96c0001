//! Protobuf layer of the message module: hand-written byte fixtures with known field tags
//! (docs/protocol.md §5.4, §9), encode/decode round trips, and "never panics" properties
//! for the envelope decoder.

use std::sync::OnceLock;

use proptest::prelude::*;
use prost::Message as _;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use umbra_protocol::{
    identity::{Identity, Seed},
    message::{
        decode_envelope, encode_for_1o1, pad_message,
        proto::{
            AttachmentPointer, CallMessage, CallMessageType, Content, DataExtractionNotification,
            DataExtractionType, DataMessage, Envelope, ExpirationType, GroupUpdateInvite,
            GroupUpdateMessage, LokiProfile, MessageRequestResponse, OpenGroupInvitation, Preview,
            Quote, Reaction, ReactionAction, ReceiptMessage, ReceiptType, SharedConfigKind,
            SharedConfigMessage, TypingAction, TypingMessage, UnsendRequest, WebSocketMessage,
        },
        unpad_message, unwrap_envelope,
    },
};

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).expect("hex fixture")
}

#[test]
fn test_fixture_data_message_body() {
    // Content.dataMessage (1, LEN 4) { DataMessage.body (1, LEN 2) "hi" }
    let bytes = [0x0a, 0x04, 0x0a, 0x02, b'h', b'i'];
    let content = Content::decode(&bytes[..]).expect("decode");
    let expected = Content {
        data_message: Some(DataMessage {
            body: Some("hi".into()),
            ..DataMessage::default()
        }),
        ..Content::default()
    };
    assert_eq!(content, expected);
    assert_eq!(
        content.data_message.as_ref().map(DataMessage::body),
        Some("hi")
    );
    assert_eq!(expected.encode_to_vec(), bytes);
}

#[test]
fn test_fixture_unknown_fields_are_skipped() {
    // Same message plus: DataMessage field 50 (LEN "zz"), Content field 99 (varint 1),
    // Content field 16 (proMessage, LEN 0) and field 14 (fixed32).
    let bytes = hex("0a 09 0a 02 6869 9203 02 7a7a  9806 01  8201 00  7504000000");
    let content = Content::decode(&bytes[..]).expect("unknown fields tolerated");
    assert_eq!(
        content.data_message.expect("dm").body.as_deref(),
        Some("hi")
    );
}

#[test]
fn test_fixture_disappearing_fields() {
    // §9: Content.expirationType (12) = DELETE_AFTER_SEND, expirationTimer (13) = 3600,
    // dataMessage.flags (4) = EXPIRATION_TIMER_UPDATE.
    let bytes = hex("0a 02 2002  60 02  68 901c");
    let content = Content::decode(&bytes[..]).expect("decode");
    assert_eq!(content.expiration_type(), ExpirationType::DeleteAfterSend);
    assert_eq!(content.expiration_timer, Some(3600));
    assert_eq!(
        content.data_message.as_ref().and_then(|d| d.flags),
        Some(DataMessage::FLAG_EXPIRATION_TIMER_UPDATE)
    );
    assert_eq!(content.encode_to_vec(), bytes);

    // An unknown enum value is kept raw; the accessor falls back to the default.
    let content = Content::decode(&hex("60 09")[..]).expect("decode");
    assert_eq!(content.expiration_type, Some(9));
    assert_eq!(content.expiration_type(), ExpirationType::Unknown);
}

#[test]
fn test_fixture_high_field_numbers() {
    // DataMessage.profile (101) {displayName "Al"}, openGroupInvitation (102) {url "u", name
    // (3) "n"}, syncTarget (105) "s", blocksCommunityMessageRequests (106) true.
    let dm = hex("aa06 04 0a02416c  b206 06 0a0175 1a016e  ca06 01 73  d006 01");
    let decoded = DataMessage::decode(&dm[..]).expect("decode");
    let expected = DataMessage {
        profile: Some(LokiProfile {
            display_name: Some("Al".into()),
            ..LokiProfile::default()
        }),
        open_group_invitation: Some(OpenGroupInvitation {
            url: "u".into(),
            name: "n".into(),
        }),
        sync_target: Some("s".into()),
        blocks_community_message_requests: Some(true),
        ..DataMessage::default()
    };
    assert_eq!(decoded, expected);
    assert_eq!(expected.encode_to_vec(), dm);
}

#[test]
fn test_required_fields_are_always_encoded() {
    assert_eq!(Quote::default().encode_to_vec(), hex("0800 1200"));
    assert_eq!(
        AttachmentPointer::default().encode_to_vec(),
        hex("09 0000000000000000")
    );
    assert_eq!(TypingMessage::default().encode_to_vec(), hex("0800 1000"));
    assert_eq!(UnsendRequest::default().encode_to_vec(), hex("0800 1200"));
    assert_eq!(
        MessageRequestResponse::default().encode_to_vec(),
        hex("0800")
    );
    assert_eq!(
        SharedConfigMessage::default().encode_to_vec(),
        hex("0801 1000 1a00")
    );
    // Envelope: type (1), timestamp (5) always present; optional fields only when set. As in
    // proto2, an enum field defaults to the first declared value (SESSION_MESSAGE = 6).
    assert_eq!(Envelope::default().encode_to_vec(), hex("0806 2800"));
    // CallMessage lists PRE_OFFER (6) first.
    assert_eq!(CallMessage::default().encode_to_vec(), hex("0806 2a00"));
}

#[test]
fn test_fixture_envelope_field_order() {
    // type 6, timestamp 1, sourceDevice 1, content [1,2,3], serverTimestamp 2, proSig [9].
    let bytes = hex("0806 2801 3801 4203010203 5002 5a0109");
    let envelope = Envelope {
        r#type: 6,
        source: None,
        timestamp: 1,
        source_device: Some(1),
        content: Some(vec![1, 2, 3]),
        server_timestamp: Some(2),
        pro_sig: Some(vec![9]),
    };
    assert_eq!(envelope.encode_to_vec(), bytes);
    assert_eq!(Envelope::decode(&bytes[..]), Ok(envelope));
}

#[test]
fn test_fixture_receipts_unpacked_and_packed() {
    let expected = ReceiptMessage {
        r#type: ReceiptType::Read as i32,
        timestamp: vec![5, 6],
    };
    // proto2 repeated scalars are sent unpacked…
    assert_eq!(expected.encode_to_vec(), hex("0801 1005 1006"));
    // …but a parser must also accept the packed form.
    assert_eq!(
        ReceiptMessage::decode(&hex("0801 1005 1006")[..]),
        Ok(expected.clone())
    );
    assert_eq!(
        ReceiptMessage::decode(&hex("0801 12020506")[..]),
        Ok(expected)
    );
}

fn full_content() -> Content {
    let attachment = AttachmentPointer {
        id: 42,
        content_type: Some("image/png".into()),
        key: Some(vec![7; 64]),
        size: Some(1234),
        digest: Some(vec![8; 32]),
        file_name: Some("a.png".into()),
        flags: Some(AttachmentPointer::FLAG_VOICE_MESSAGE),
        width: Some(10),
        height: Some(20),
        caption: Some("cap".into()),
        url: Some("http://fs/file/1#p=00&d".into()),
    };
    let profile = LokiProfile {
        display_name: Some("Alice".into()),
        profile_picture: Some("http://fs/file/2".into()),
        last_profile_update_seconds: Some(1_700_000_000),
    };
    Content {
        data_message: Some(DataMessage {
            body: Some("héllo ✓".into()),
            attachments: vec![attachment.clone(), AttachmentPointer::default()],
            flags: Some(DataMessage::FLAG_EXPIRATION_TIMER_UPDATE),
            profile_key: Some(vec![3; 32]),
            quote: Some(Quote {
                id: 1_700_000_000_000,
                author: "05".repeat(33),
                text: None,
            }),
            preview: vec![Preview {
                url: "https://example.org".into(),
                title: Some("Example".into()),
                image: Some(attachment),
            }],
            reaction: Some(Reaction {
                id: 1_700_000_000_001,
                author: "05".repeat(33),
                emoji: Some("👍".into()),
                action: ReactionAction::Remove as i32,
            }),
            profile: Some(profile.clone()),
            open_group_invitation: Some(OpenGroupInvitation {
                url: "https://open.example/room?public_key=00".into(),
                name: "Room".into(),
            }),
            sync_target: Some("05".repeat(33)),
            blocks_community_message_requests: Some(false),
            group_update_message: Some(GroupUpdateMessage {
                invite_message: Some(GroupUpdateInvite {
                    name: Some("Group".into()),
                }),
                promote_message: None,
            }),
        }),
        call_message: Some(CallMessage {
            r#type: CallMessageType::PreOffer as i32,
            sdps: vec!["v=0".into()],
            sdp_m_line_indexes: vec![0, 1],
            sdp_mids: vec!["0".into()],
            uuid: "uuid".into(),
        }),
        receipt_message: Some(ReceiptMessage {
            r#type: ReceiptType::Read as i32,
            timestamp: vec![1, 2, 3],
        }),
        typing_message: Some(TypingMessage {
            timestamp: 9,
            action: TypingAction::Stopped as i32,
        }),
        data_extraction_notification: Some(DataExtractionNotification {
            r#type: DataExtractionType::MediaSaved as i32,
            timestamp: Some(10),
        }),
        unsend_request: Some(UnsendRequest {
            timestamp: 11,
            author: "05".repeat(33),
        }),
        message_request_response: Some(MessageRequestResponse {
            is_approved: true,
            profile_key: Some(vec![4; 32]),
            profile: Some(profile),
        }),
        shared_config_message: Some(SharedConfigMessage {
            kind: SharedConfigKind::UserGroups as i32,
            seqno: -1,
            data: vec![5; 10],
        }),
        expiration_type: Some(ExpirationType::DeleteAfterRead as i32),
        expiration_timer: Some(86_400),
        sig_timestamp: Some(1_700_000_000_000),
    }
}

#[test]
fn test_content_round_trip_all_fields() {
    let content = full_content();
    let bytes = content.encode_to_vec();
    assert_eq!(Content::decode(&bytes[..]), Ok(content.clone()));
    // Through padding too.
    let padded = pad_message(&bytes);
    assert_eq!(padded.len() % 160, 0);
    assert_eq!(Content::decode(unpad_message(&padded)), Ok(content));
}

#[test]
fn test_debug_redacts_keys() {
    let content = full_content();
    let shown = format!("{content:?}");
    assert!(shown.contains("<32 bytes redacted>"), "{shown}");
    assert!(shown.contains("<64 bytes redacted>"), "{shown}");
    assert!(shown.contains("héllo"), "non-secret fields still shown");
    // Key bytes 3 (profile key), 4 (response profile key), 7 (attachment key), 8 (digest).
    for secret in ["[3, 3", "[4, 4", "[7, 7", "[8, 8"] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
}

#[test]
fn test_content_round_trip_through_1o1() {
    let mut rng = ChaCha20Rng::seed_from_u64(20);
    let alice = Identity::from_seed(&Seed::generate(&mut rng));
    let bob = Identity::from_seed(&Seed::generate(&mut rng));
    let content = full_content();
    let data = encode_for_1o1(
        &alice,
        &bob.account_id(),
        &content,
        1_700_000_000_000,
        &mut rng,
    )
    .expect("encode");
    let incoming = decode_envelope(&bob, &data).expect("decode");
    assert_eq!(incoming.content, content);
    assert_eq!(incoming.sender, alice.account_id());
}

#[test]
fn test_padding_edge_cases_and_legacy_padding() {
    for len in [0usize, 1, 158, 159, 160, 161, 319, 320] {
        let content: Vec<u8> = (0..len).map(|i| (i % 127) as u8 + 1).collect();
        let padded = pad_message(&content);
        assert_eq!(padded.len() % 160, 0, "len {len}");
        assert!(padded.len() > len);
        // At most one extra block beyond the 0x80 marker.
        assert!(padded.len() <= len + 1 + 160);
        assert_eq!(unpad_message(&padded), &content[..], "len {len}");
        // Old desktop padding: 0x80 then zeros to ceil((len + 2) / 160) * 160 - 1.
        let legacy_len = (len + 2).div_ceil(160) * 160 - 1;
        let mut legacy = content.clone();
        legacy.push(0x80);
        legacy.resize(legacy_len, 0);
        assert_eq!(unpad_message(&legacy), &content[..], "legacy len {len}");
        // Unpadded input ending in a regular byte is returned whole.
        assert_eq!(unpad_message(&content), &content[..]);
    }
    assert_eq!(pad_message(&[0; 159]).len(), 320);
    assert_eq!(pad_message(&[0; 160]).len(), 320);
    assert_eq!(pad_message(&[0; 161]).len(), 320);
    assert_eq!(pad_message(&[0; 158]).len(), 160);
}

struct Fixture {
    alice: Identity,
    bob: Identity,
    valid: Vec<u8>,
    content: Content,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(21);
        let alice = Identity::from_seed(&Seed::generate(&mut rng));
        let bob = Identity::from_seed(&Seed::generate(&mut rng));
        let content = Content {
            data_message: Some(DataMessage {
                body: Some("fixture".into()),
                ..DataMessage::default()
            }),
            ..Content::default()
        };
        let valid = encode_for_1o1(
            &alice,
            &bob.account_id(),
            &content,
            1_700_000_000_000,
            &mut rng,
        )
        .expect("encode");
        Fixture {
            alice,
            bob,
            valid,
            content,
        }
    })
}

proptest! {
    #[test]
    fn prop_decode_envelope_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let f = fixture();
        let _ = decode_envelope(&f.bob, &data);
        let _ = unwrap_envelope(&data);
        let _ = WebSocketMessage::decode(&data[..]);
        let _ = Content::decode(&data[..]);
        let _ = unpad_message(&data);
    }

    #[test]
    fn prop_decode_envelope_of_protobuf_shaped_input_never_panics(
        ts in any::<u64>(),
        source in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..80)),
        content in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..400)),
        pro_sig in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..70)),
        ty in any::<i32>(),
        wrap in any::<bool>(),
    ) {
        let f = fixture();
        let envelope = Envelope { r#type: ty, source, timestamp: ts, source_device: None, content, server_timestamp: None, pro_sig };
        let data = if wrap { umbra_protocol::message::wrap_envelope(&envelope) } else { envelope.encode_to_vec() };
        prop_assert!(decode_envelope(&f.bob, &data).is_err());
    }

    /// Any corruption of a valid message either fails or still yields the original sender and
    /// content (only unauthenticated outer fields can change).
    #[test]
    fn prop_mutated_message_never_misattributes(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
        truncate in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let f = fixture();
        let mut data = f.valid.clone();
        for (index, mask) in flips {
            let i = index.index(data.len());
            data[i] ^= mask;
        }
        if let Some(t) = truncate {
            data.truncate(t.index(data.len()));
        }
        if let Ok(incoming) = decode_envelope(&f.bob, &data) {
            prop_assert_eq!(incoming.sender, f.alice.account_id());
            prop_assert_eq!(&incoming.content, &f.content);
        }
    }

    #[test]
    fn prop_content_round_trip(
        body in proptest::option::of(".{0,200}"),
        flags in proptest::option::of(any::<u32>()),
        timer in proptest::option::of(any::<u32>()),
        mode in proptest::option::of(0i32..3),
        receipts in proptest::collection::vec(any::<u64>(), 0..5),
    ) {
        let content = Content {
            data_message: Some(DataMessage { body, flags, ..DataMessage::default() }),
            receipt_message: (!receipts.is_empty()).then_some(ReceiptMessage { r#type: 1, timestamp: receipts }),
            expiration_type: mode,
            expiration_timer: timer,
            ..Content::default()
        };
        let bytes = content.encode_to_vec();
        prop_assert_eq!(Content::decode(unpad_message(&pad_message(&bytes))), Ok(content));
    }
}
