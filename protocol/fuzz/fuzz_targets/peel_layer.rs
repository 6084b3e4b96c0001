//! Fuzz target: node-side peeling of onion request layers must never panic.
//!
//! The first input byte picks a mode: feed the bytes as a raw `/onion_req/v2` body, or seal
//! them as a correctly encrypted layer (so fuzzing reaches the inner routing parser), with
//! either enc_type.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
use serde_json::{Map, Value};
use umbra_protocol::onion::{
    EncType, decode_layer, encode_layer,
    hop::HopSecret,
    node::{Peeled, open_server_request, peel_layer},
};
use x25519_dalek::{PublicKey, StaticSecret};

fn seal(inner: &[u8], enc: EncType, node_pub: &[u8; 32]) -> Option<Vec<u8>> {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let eph = StaticSecret::from([0x17; 32]);
    let ct = HopSecret::client(&eph, node_pub).ok()?.key(enc).encrypt(inner, &mut rng);
    let mut control = Map::new();
    control.insert("ephemeral_key".into(), Value::String(hex_lower(PublicKey::from(&eph).as_bytes())));
    control.insert("enc_type".into(), Value::String(enc.as_str().into()));
    encode_layer(&ct, &control).ok()
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fuzz_target!(|data: &[u8]| {
    let node = StaticSecret::from([0x5a; 32]);
    let node_pub = PublicKey::from(&node).to_bytes();
    let Some((&mode, rest)) = data.split_first() else { return };
    let _ = decode_layer(rest);
    let body = match mode % 3 {
        0 => rest.to_vec(),
        1 => match seal(rest, EncType::AesGcm, &node_pub) { Some(b) => b, None => return },
        _ => match seal(rest, EncType::XChaCha20, &node_pub) { Some(b) => b, None => return },
    };
    match peel_layer(&body, &node, &node_pub) {
        Ok(Peeled::Relay { body, .. }) => {
            assert!(decode_layer(&body).is_ok(), "relay body must be well framed");
        }
        Ok(Peeled::ProxyToServer { target, .. }) => {
            assert!(umbra_protocol::onion::is_target_allowed(&target));
        }
        Ok(Peeled::FinalDestination { .. }) | Err(_) => {}
    }
    let _ = open_server_request(&body, &node, &node_pub);
});
