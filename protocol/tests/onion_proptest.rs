//! Property tests for onion request framing, peeling and reply parsing: round trips, and no
//! panic on arbitrary bytes. Native only.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Map, Value};
use umbra_protocol::onion::{MAX_BODY_SIZE, V4Request, V4Response, decode_layer, encode_layer};

fn control() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("[a-z_]{1,12}", any::<String>(), 0..6)
        .prop_map(|m| m.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
}

fn headers() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map("[A-Za-z-]{1,16}", any::<String>(), 0..4)
}

proptest! {
    #[test]
    fn test_framing_round_trip(payload in prop::collection::vec(any::<u8>(), 0..2048), control in control()) {
        let enc = encode_layer(&payload, &control).unwrap();
        prop_assert_eq!(enc.len() >= 4 + payload.len(), true);
        let dec = decode_layer(&enc).unwrap();
        prop_assert_eq!(dec.payload, &payload[..]);
        prop_assert_eq!(dec.control, control);
    }

    #[test]
    fn test_framing_no_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_layer(&bytes);
    }

    #[test]
    fn test_framing_no_panic_plausible(n in any::<u32>(), rest in prop::collection::vec(any::<u8>(), 0..256), json in ".{0,64}") {
        let mut bytes = n.to_le_bytes().to_vec();
        bytes.extend_from_slice(&rest);
        bytes.extend_from_slice(json.as_bytes());
        if let Ok(layer) = decode_layer(&bytes) {
            prop_assert!(layer.payload.len() <= MAX_BODY_SIZE);
        }
    }

    #[test]
    fn test_v4_round_trip(method in "[A-Z]{1,7}", path in "[a-z0-9/?=&]{0,40}", headers in headers(),
                          body in prop::option::of(prop::collection::vec(any::<u8>(), 0..300)),
                          code in any::<u16>()) {
        let req = V4Request { method, endpoint: format!("/{path}"), headers: headers.clone(), body: body.clone() };
        prop_assert_eq!(V4Request::decode(&req.encode().unwrap()).unwrap(), req);
        let resp = V4Response { code, headers, body: body.unwrap_or_default() };
        prop_assert_eq!(V4Response::decode(&resp.encode()).unwrap(), resp);
    }

    #[test]
    fn test_v4_decode_no_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = V4Request::decode(&bytes);
        let _ = V4Response::decode(&bytes);
        let mut l = b"l".to_vec();
        l.extend_from_slice(&bytes);
        let _ = V4Response::decode(&l);
    }
}

#[cfg(feature = "node")]
mod node {
    use umbra_protocol::onion::{
        Destination, PathHop, build_request, decrypt_snode_response, decrypt_v4_response,
        node::{open_server_request, peel_layer},
    };

    use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
    use umbra_protocol::onion::{EncType, framing::encode_raw, hop::HopSecret};
    use x25519_dalek::{PublicKey, StaticSecret};

    use super::*;

    fn node_keys() -> (StaticSecret, [u8; 32]) {
        let s = StaticSecret::from([0x5a; 32]);
        let p = PublicKey::from(&s).to_bytes();
        (s, p)
    }

    /// Encrypts `inner` to the fixed node key as a well-formed outer layer, so that peeling
    /// gets past decryption and exercises the inner parser.
    fn sealed(inner: &[u8], enc: EncType, extra: &Map<String, Value>) -> Vec<u8> {
        let (_, node_pub) = node_keys();
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let eph = StaticSecret::from([0x17; 32]);
        let ct = HopSecret::client(&eph, &node_pub)
            .expect("valid node key")
            .key(enc)
            .encrypt(inner, &mut rng);
        let mut control = extra.clone();
        control.insert(
            "ephemeral_key".into(),
            hex::encode(PublicKey::from(&eph).to_bytes()).into(),
        );
        control.insert("enc_type".into(), enc.as_str().into());
        encode_layer(&ct, &control).expect("small layer")
    }

    fn json_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            ".{0,70}".prop_map(Value::String),
            "[0-9a-f]{64}".prop_map(Value::String),
            Just(Value::String("/oxen/v4/lsrpc".into())),
            Just(Value::Object(Map::new())),
        ]
    }

    fn routing() -> impl Strategy<Value = Map<String, Value>> {
        let key = prop_oneof![
            Just("headers"),
            Just("host"),
            Just("target"),
            Just("port"),
            Just("protocol"),
            Just("method"),
            Just("destination"),
            Just("ephemeral_key"),
            Just("enc_type"),
            Just("json"),
            Just("base64"),
            Just("hop_no"),
        ];
        prop::collection::btree_map(key, json_value(), 0..7)
            .prop_map(|m| m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    proptest! {
        #[test]
        fn test_peel_no_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let (s, p) = node_keys();
            prop_assert!(peel_layer(&bytes, &s, &p).is_err());
            prop_assert!(open_server_request(&bytes, &s, &p).is_err());
        }

        #[test]
        fn test_peel_no_panic_outer_json(payload in prop::collection::vec(any::<u8>(), 0..128), control in routing()) {
            let (s, p) = node_keys();
            let body = encode_layer(&payload, &control).unwrap();
            let _ = peel_layer(&body, &s, &p);
        }

        #[test]
        fn test_peel_no_panic_inner(payload in prop::collection::vec(any::<u8>(), 0..128),
                                    control in routing(), xchacha in any::<bool>(),
                                    raw in prop::collection::vec(any::<u8>(), 0..64)) {
            let (s, p) = node_keys();
            let enc = if xchacha { EncType::XChaCha20 } else { EncType::AesGcm };
            let inner = encode_layer(&payload, &control).unwrap();
            let _ = peel_layer(&sealed(&inner, enc, &Map::new()), &s, &p);
            let _ = peel_layer(&sealed(&raw, enc, &Map::new()), &s, &p);
            let _ = open_server_request(&sealed(&raw, enc, &Map::new()), &s, &p);
            let inner = encode_raw(&payload, &raw).unwrap();
            let _ = peel_layer(&sealed(&inner, enc, &control), &s, &p);
        }

        #[test]
        fn test_response_no_panic(bytes in prop::collection::vec(any::<u8>(), 0..256), text in ".{0,80}") {
            let (_, p) = node_keys();
            let mut rng = ChaCha20Rng::seed_from_u64(3);
            let hop = PathHop { ed25519: [1; 32], x25519: p };
            let dest = Destination::Snode { ed25519: [2; 32], x25519: p, payload: b"{}".to_vec() };
            let req = build_request(&[hop], &dest, EncType::AesGcm, &mut rng).unwrap();
            prop_assert!(decrypt_snode_response(&req.response_key, &bytes).is_err());
            prop_assert!(decrypt_v4_response(&req.response_key, &bytes).is_err());
            let wrapped = format!(r#"{{"result":{}}}"#, Value::String(text.clone()));
            prop_assert!(decrypt_snode_response(&req.response_key, wrapped.as_bytes()).is_err());
            prop_assert!(decrypt_snode_response(&req.response_key, text.as_bytes()).is_err());
        }
    }
}
