//! Fuzz target: the incoming message layer must never panic on stored `data`:
//! `unwrap_envelope` / `decode_envelope` (WebSocketMessage + Envelope protobufs),
//! `decrypt_incoming` (the sealed box and the sender signature), `Content` decoding,
//! `unpad_message`, `classify` and the `Incoming` checks (`sync_target`, `unsend_target`),
//! and `unwrap_shared_config`.
//!
//! The first input byte picks a mode: the bytes as storage `data`; as a sealed ciphertext; or
//! as a `Content` (padded or not) correctly sealed to the own account by a contact or by the
//! own account, in an envelope, so fuzzing reaches the protobuf decoder and `classify`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use prost::Message as _;
use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
use umbra_protocol::{
    identity::{Identity, Seed},
    message::{
        Incoming, classify, decode_envelope, decrypt_incoming, encrypt_for_recipient, pad_message,
        proto::{Content, Envelope, EnvelopeType},
        unpad_message, unwrap_envelope, unwrap_shared_config, wrap_envelope,
    },
};

struct Keys {
    own: Identity,
    contact: Identity,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        own: Identity::from_seed(&Seed::from_entropy(&[0x11; 32]).expect("32 bytes")),
        contact: Identity::from_seed(&Seed::from_entropy(&[0x22; 16]).expect("16 bytes")),
    })
}

/// What can be checked about an authenticated incoming message.
fn check_incoming(incoming: &Incoming, sender: &Identity, own: &Identity) {
    assert_eq!(
        incoming.sender,
        sender.account_id(),
        "sender comes from the signed key"
    );
    assert_eq!(incoming.sender_ed25519, sender.ed25519_public());
    let me = own.account_id();
    let _ = classify(incoming, &me);
    let _ = incoming.unsend_target();
    match incoming.sync_target(&me) {
        Ok(Some(_)) => assert_eq!(
            incoming.sender, me,
            "only the own account sets a sync target"
        ),
        Ok(None) | Err(_) => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let k = keys();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            if let Ok(envelope) = unwrap_envelope(rest) {
                // Our encoder reads back what the decoder produced.
                assert_eq!(
                    unwrap_envelope(&wrap_envelope(&envelope)).as_ref(),
                    Ok(&envelope)
                );
            }
            if let Ok(incoming) = decode_envelope(&k.own, rest) {
                let _ = classify(&incoming, &k.own.account_id());
            }
            let _ = unwrap_shared_config(&k.own, rest);
        }
        1 => {
            if let Ok(d) = decrypt_incoming(&k.own, rest) {
                // Forging a sealed box that verifies needs a signing key: only possible if
                // the fuzzer found a real bug.
                panic!("random bytes opened as a message from {}", d.sender);
            }
        }
        _ => {
            let sender = if mode % 4 == 2 { &k.contact } else { &k.own };
            let (&pad, content) = rest.split_first().unwrap_or((&0, &[]));
            let plaintext = if pad % 2 == 0 {
                pad_message(content)
            } else {
                content.to_vec()
            };
            assert_eq!(unpad_message(&pad_message(content)), content);
            let mut rng = ChaCha20Rng::seed_from_u64(u64::from(pad));
            let Ok(sealed) =
                encrypt_for_recipient(sender, &k.own.x25519_public(), &plaintext, &mut rng)
            else {
                return;
            };
            let opened = decrypt_incoming(&k.own, &sealed).expect("a sealed box opens");
            assert_eq!(opened.plaintext, plaintext);
            let envelope = Envelope {
                r#type: EnvelopeType::SessionMessage as i32,
                timestamp: 1_790_000_000_000 + u64::from(pad),
                content: Some(sealed),
                ..Envelope::default()
            };
            let wrapped = wrap_envelope(&envelope);
            let decoded = Content::decode(unpad_message(&plaintext));
            match decode_envelope(&k.own, &wrapped) {
                Ok(incoming) => {
                    let content = decoded.expect("decode_envelope accepted the content");
                    assert_eq!(incoming.content, content);
                    // Content encodes back to what decodes to the same value.
                    let again = Content::decode(content.encode_to_vec().as_slice());
                    assert_eq!(again.as_ref(), Ok(&content));
                    check_incoming(&incoming, sender, &k.own);
                }
                Err(_) => {}
            }
            let _ = unwrap_shared_config(&k.own, &wrapped);
        }
    }
});
