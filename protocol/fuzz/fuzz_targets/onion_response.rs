//! Fuzz target: client-side parsing of onion request replies must never panic.
//!
//! The first input byte picks a mode: feed the bytes as the HTTP body, or encrypt them with
//! the destination's reply key first (so fuzzing reaches the JSON / bencode parsers).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
use umbra_protocol::onion::{
    Destination, EncType, PathHop, ResponseKey, V4Request, V4Response, build_request,
    decrypt_snode_response, decrypt_v4_response,
    node::{Peeled, ReplyKey, peel_layer},
};
use x25519_dalek::{PublicKey, StaticSecret};

/// A built request's response key and the matching reply key at its destination.
fn keys() -> &'static (ResponseKey, ReplyKey) {
    static KEYS: OnceLock<(ResponseKey, ReplyKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let hop = StaticSecret::from([0x21; 32]);
        let hop_pub = PublicKey::from(&hop).to_bytes();
        let dest = StaticSecret::from([0x42; 32]);
        let dest_pub = PublicKey::from(&dest).to_bytes();
        let req = build_request(
            &[PathHop { ed25519: [1; 32], x25519: hop_pub }],
            &Destination::Snode { ed25519: [2; 32], x25519: dest_pub, payload: b"{}".to_vec() },
            EncType::XChaCha20,
            &mut rng,
        )
        .expect("fixed keys build");
        let Ok(Peeled::Relay { body, .. }) = peel_layer(&req.body, &hop, &hop_pub) else {
            panic!("guard relays")
        };
        let Ok(Peeled::FinalDestination { reply, .. }) = peel_layer(&body, &dest, &dest_pub) else {
            panic!("destination is final")
        };
        (req.response_key, reply)
    })
}

fuzz_target!(|data: &[u8]| {
    let (response_key, reply_key) = keys();
    let Some((&mode, rest)) = data.split_first() else { return };
    let body = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        let mut rng = ChaCha20Rng::seed_from_u64(u64::from(mode));
        reply_key.encrypt_reply(rest, &mut rng)
    };
    let _ = decrypt_snode_response(response_key, &body);
    if let Ok(resp) = decrypt_v4_response(response_key, &body) {
        assert_eq!(V4Response::decode(&resp.encode()).as_ref(), Ok(&resp));
    }
    let _ = V4Request::decode(rest);
});
