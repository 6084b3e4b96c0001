//! Known-answer tests for onion request hop encryption and framing
//! (docs/protocol.md §11.6, libsession-util `tests/test_onionreq.cpp`).
//!
//! Each valid vector is paired with tampered variants that must fail.

use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
use serde_json::Value;
use umbra_protocol::onion::{EncType, OnionError, decode_layer, hop::HopSecret, is_target_allowed};
use x25519_dalek::{PublicKey, StaticSecret};

const VECTORS: &str = include_str!("../testdata/vectors/onion.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).expect("onion.json is valid JSON")
}

fn hex32(v: &Value) -> [u8; 32] {
    let mut out = [0u8; 32];
    hex::decode_to_slice(v.as_str().expect("hex string"), &mut out).expect("32 hex bytes");
    out
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}

struct Keys {
    a: StaticSecret,
    a_pub: [u8; 32],
    b: StaticSecret,
    b_pub: [u8; 32],
}

fn keys(group: &Value) -> Keys {
    let keys = Keys {
        a: StaticSecret::from(hex32(&group["client_sec"])),
        a_pub: hex32(&group["client_pub"]),
        b: StaticSecret::from(hex32(&group["server_sec"])),
        b_pub: hex32(&group["server_pub"]),
    };
    // The published public keys belong to the published secrets.
    assert_eq!(PublicKey::from(&keys.a).to_bytes(), keys.a_pub);
    assert_eq!(PublicKey::from(&keys.b).to_bytes(), keys.b_pub);
    keys
}

#[test]
fn test_hop_encryption_vectors_decrypt_both_sides() {
    let v = vectors();
    let group = &v["hop_encryption"];
    let k = keys(group);
    let plaintext = group["plaintext"].as_str().unwrap().as_bytes();
    for case in group["cases"].as_array().unwrap() {
        let enc = EncType::from_wire(case["enc_type"].as_str().unwrap()).unwrap();
        let ct = bytes(&case["ciphertext"]);
        let server = HopSecret::server(&k.b, &k.b_pub, &k.a_pub)
            .unwrap()
            .key(enc);
        let client = HopSecret::client(&k.a, &k.b_pub).unwrap().key(enc);
        assert_eq!(
            server.decrypt(&ct).unwrap(),
            plaintext,
            "{enc:?} server side"
        );
        assert_eq!(
            client.decrypt(&ct).unwrap(),
            plaintext,
            "{enc:?} client side"
        );
        assert_eq!(ct.len(), plaintext.len() + enc.overhead());
        // The other enc_type must not accept it.
        let other = HopSecret::server(&k.b, &k.b_pub, &k.a_pub)
            .unwrap()
            .key(enc.other());
        assert_eq!(other.decrypt(&ct), Err(OnionError::DecryptFailed));
    }
}

#[test]
fn test_hop_encryption_tampered_vectors_fail() {
    let v = vectors();
    let group = &v["hop_encryption"];
    let k = keys(group);
    for case in group["cases"].as_array().unwrap() {
        let enc = EncType::from_wire(case["enc_type"].as_str().unwrap()).unwrap();
        let key = HopSecret::server(&k.b, &k.b_pub, &k.a_pub)
            .unwrap()
            .key(enc);
        for bad in case["bad_ciphertexts"].as_array().unwrap() {
            assert_eq!(key.decrypt(&bytes(bad)), Err(OnionError::DecryptFailed));
        }
        let ct = bytes(&case["ciphertext"]);
        let nonce_len = enc.overhead() - 16;
        // nonce start/end, first ciphertext byte, middle, tag start, tag end.
        for pos in [
            0,
            nonce_len - 1,
            nonce_len,
            ct.len() / 2 + 3,
            ct.len() - 16,
            ct.len() - 1,
        ] {
            for bit in [0x01u8, 0x80] {
                let mut t = ct.clone();
                t[pos] ^= bit;
                assert_eq!(
                    key.decrypt(&t),
                    Err(OnionError::DecryptFailed),
                    "{enc:?} pos {pos}"
                );
            }
        }
        assert_eq!(
            key.decrypt(&ct[..ct.len() - 1]),
            Err(OnionError::DecryptFailed)
        );
        assert_eq!(
            key.decrypt(&[ct.as_slice(), &[0]].concat()),
            Err(OnionError::DecryptFailed)
        );
        assert_eq!(key.decrypt(&[]), Err(OnionError::DecryptFailed));
        // A different server key must fail too.
        let wrong = StaticSecret::from([0x42; 32]);
        let wrong_pub = PublicKey::from(&wrong).to_bytes();
        let wrong_key = HopSecret::server(&wrong, &wrong_pub, &k.a_pub)
            .unwrap()
            .key(enc);
        assert_eq!(wrong_key.decrypt(&ct), Err(OnionError::DecryptFailed));
    }
}

#[test]
fn test_framed_request_vectors_parse_and_decrypt() {
    let v = vectors();
    let group = &v["framed_request"];
    let k = keys(group);
    let plaintext = group["plaintext"].as_str().unwrap().as_bytes();
    let reply_pt = group["reply_plaintext"].as_str().unwrap().as_bytes();
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    for case in group["cases"].as_array().unwrap() {
        let wire = case["enc_type"].as_str().unwrap();
        let request = bytes(&case["request"]);
        let layer = decode_layer(&request).unwrap();
        assert_eq!(layer.control.len(), 2);
        assert_eq!(layer.control["enc_type"], wire);
        assert_eq!(layer.control["ephemeral_key"], group["client_pub"]);
        let enc = EncType::from_control(&layer.control).unwrap();
        let eph = hex32(&layer.control["ephemeral_key"]);
        let key = HopSecret::server(&k.b, &k.b_pub, &eph).unwrap().key(enc);
        assert_eq!(key.decrypt(layer.payload).unwrap(), plaintext);

        let reply = key.encrypt(reply_pt, &mut rng);
        assert_eq!(reply.len() as u64, case["reply_len"].as_u64().unwrap());
        let client = HopSecret::client(&k.a, &k.b_pub).unwrap().key(enc);
        assert_eq!(client.decrypt(&reply).unwrap(), reply_pt);

        // Tampering with the framed request: ciphertext bit, length prefix, JSON.
        let mut t = request.clone();
        t[4 + 3] ^= 0x10;
        let layer = decode_layer(&t).unwrap();
        assert_eq!(key.decrypt(layer.payload), Err(OnionError::DecryptFailed));
        let mut t = request.clone();
        t[0] = t[0].wrapping_add(1);
        assert!(decode_layer(&t).is_err());
        let mut t = request.clone();
        t.pop();
        assert!(decode_layer(&t).is_err());
    }
}

#[cfg(feature = "node")]
#[test]
fn test_framed_request_vectors_node_open_layer() {
    use umbra_protocol::onion::node::{open_layer, peel_layer};

    let v = vectors();
    let group = &v["framed_request"];
    let k = keys(group);
    let plaintext = group["plaintext"].as_str().unwrap().as_bytes();
    let reply_pt = group["reply_plaintext"].as_str().unwrap().as_bytes();
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    for case in group["cases"].as_array().unwrap() {
        let request = bytes(&case["request"]);
        let opened = open_layer(&request, &k.b, &k.b_pub).unwrap();
        assert_eq!(opened.plaintext, plaintext);
        assert_eq!(
            opened.reply.enc_type().as_str(),
            case["enc_type"].as_str().unwrap()
        );
        let reply = opened.reply.encrypt_reply(reply_pt, &mut rng);
        assert_eq!(reply.len() as u64, case["reply_len"].as_u64().unwrap());
        let client = HopSecret::client(&k.a, &k.b_pub)
            .unwrap()
            .key(opened.reply.enc_type());
        assert_eq!(client.decrypt(&reply).unwrap(), reply_pt);

        // "Hello world" is not an inner `[N][payload]{json}` layer: peel reports a typed error.
        let err = peel_layer(&request, &k.b, &k.b_pub).unwrap_err();
        assert!(matches!(err, OnionError::Framing(_)), "{err:?}");

        let mut t = request.clone();
        t[10] ^= 1;
        assert_eq!(
            open_layer(&t, &k.b, &k.b_pub).unwrap_err(),
            OnionError::DecryptFailed
        );
        assert!(matches!(
            peel_layer(&t, &k.b, &k.b_pub),
            Err(OnionError::DecryptFailed)
        ));
    }
}

#[test]
fn test_target_filter_vectors() {
    let v = vectors();
    for t in v["target_filter"]["allowed"].as_array().unwrap() {
        assert!(is_target_allowed(t.as_str().unwrap()), "{t}");
    }
    for t in v["target_filter"]["rejected"].as_array().unwrap() {
        assert!(!is_target_allowed(t.as_str().unwrap()), "{t}");
    }
}
