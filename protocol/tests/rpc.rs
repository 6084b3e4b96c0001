//! Known-answer tests for the storage RPC (docs/protocol.md §11.7, §11.12).

use base64::Engine as _;
use serde_json::Value;
use umbra_protocol::rpc::{AccountId, Namespace, NamespaceSel, is_valid_hash, message_hash, sign};

fn vectors() -> Value {
    serde_json::from_str(include_str!("../testdata/vectors/rpc.json")).expect("vector file parses")
}

#[test]
fn message_hash_vector() {
    let v = vectors();
    let case = &v["message_hash"][0];
    let account = AccountId::from_hex(case["pubkey"].as_str().expect("pk")).expect("account");
    let data = base64::engine::general_purpose::STANDARD
        .decode(case["data_b64"].as_str().expect("data"))
        .expect("b64");
    let want = case["hash"].as_str().expect("hash");
    let got = message_hash(
        &account,
        Namespace(case["namespace"].as_i64().expect("ns") as i16),
        &data,
    );
    assert_eq!(got, want);
    assert!(is_valid_hash(&got));

    // Tampered variants must give a different hash.
    let mut bad_data = data.clone();
    bad_data[5] ^= 0x80;
    assert_ne!(message_hash(&account, Namespace(0), &bad_data), want);
    assert_ne!(message_hash(&account, Namespace(1), &data), want);
    assert_ne!(message_hash(&account, Namespace(-10), &data), want);
    let mut other = account;
    other.prefix = 0x03;
    assert_ne!(message_hash(&other, Namespace(0), &data), want);
    let mut other = account;
    other.key[31] ^= 1;
    assert_ne!(message_hash(&other, Namespace(0), &data), want);
    assert_ne!(
        message_hash(&account, Namespace(0), &data[..data.len() - 1]),
        want
    );
}

#[test]
fn hash_shape() {
    assert!(!is_valid_hash(""));
    assert!(!is_valid_hash("4sMyAuaZlMwww3oFvfhazfw7ASx/7TDtO+TVc8aAjH"));
    assert!(!is_valid_hash(
        "4sMyAuaZlMwww3oFvfhazfw7ASx/7TDtO+TVc8aAjH="
    ));
    assert!(!is_valid_hash(
        "4sMyAuaZlMwww3oFvfhazfw7ASx/7TDtO+TVc8aAjHs;"
    ));
}

#[test]
fn signed_strings_vector() {
    let v = vectors();
    let g = &v["group_signing"];
    let ts = g["timestamp"].as_u64().expect("ts");
    let s = &g["strings"];
    let str_of = |k: &str| s[k].as_str().expect("string").as_bytes().to_vec();
    assert_eq!(sign::retrieve(Namespace(13), ts), str_of("retrieve13"));
    assert_eq!(sign::retrieve(Namespace(12), ts), str_of("retrieve12"));
    assert_eq!(sign::retrieve(Namespace(11), ts), str_of("retrieve11"));
    assert_eq!(sign::store(Namespace(13), ts), str_of("store13"));
    assert_eq!(sign::store(Namespace(12), ts), str_of("store12"));
    assert_eq!(sign::store(Namespace(11), ts), str_of("store11"));
    assert_eq!(sign::delete(&["hash4321", "hash4221"]), str_of("delete"));
    assert_ne!(sign::delete(&["hash4221", "hash4321"]), str_of("delete"));
    assert_ne!(sign::retrieve(Namespace(0), ts), str_of("retrieve13"));
    assert_eq!(
        sign::delete_all(NamespaceSel::All, ts),
        b"delete_allall1234"
    );
}

#[cfg(feature = "node")]
mod node_auth {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};
    use umbra_protocol::rpc::{
        RpcError,
        auth::verify_request,
        params::{EdPubkey, Signature64},
    };

    fn seed(hex_str: &str) -> SigningKey {
        let mut s = [0u8; 32];
        hex::decode_to_slice(hex_str, &mut s).expect("seed");
        SigningKey::from_bytes(&s)
    }

    #[test]
    fn group_key_signs_its_strings() {
        let v = vectors();
        let g = &v["group_signing"];
        let sk = seed(g["group_seed"].as_str().expect("seed"));
        let account = AccountId::from_hex(g["group_id"].as_str().expect("id")).expect("id");
        assert_eq!(account.key, sk.verifying_key().to_bytes());
        for (_, s) in g["strings"].as_object().expect("obj") {
            let msg = s.as_str().expect("s").as_bytes();
            let sig = Signature64(sk.sign(msg).to_bytes());
            assert_eq!(verify_request(&account, None, msg, Some(&sig)), Ok(()));
            let mut bad = sig;
            bad.0[10] ^= 1;
            assert_eq!(
                verify_request(&account, None, msg, Some(&bad)),
                Err(RpcError::BadSignature)
            );
            let mut other = msg.to_vec();
            other.push(b'0');
            assert_eq!(
                verify_request(&account, None, &other, Some(&sig)),
                Err(RpcError::BadSignature)
            );
        }
        assert_eq!(
            verify_request(&account, None, b"x", None),
            Err(RpcError::SignatureRequired)
        );
    }

    #[test]
    fn session_id_needs_matching_ed25519_key() {
        let sk = seed("0101010101010101010101010101010101010101010101010101010101010101");
        let ed = sk.verifying_key();
        let account = AccountId {
            prefix: 0x05,
            key: ed.to_montgomery().to_bytes(),
        };
        let msg = sign::retrieve(Namespace(0), 1_700_000_000_000);
        let sig = Signature64(sk.sign(&msg).to_bytes());
        let edp = EdPubkey(ed.to_bytes());
        assert_eq!(
            verify_request(&account, Some(&edp), &msg, Some(&sig)),
            Ok(())
        );
        // Missing pubkey_ed25519.
        assert_eq!(
            verify_request(&account, None, &msg, Some(&sig)),
            Err(RpcError::SignatureRequired)
        );
        // A different Ed25519 key that signs correctly but does not convert to the id.
        let sk2 = seed("0202020202020202020202020202020202020202020202020202020202020202");
        let sig2 = Signature64(sk2.sign(&msg).to_bytes());
        let edp2 = EdPubkey(sk2.verifying_key().to_bytes());
        assert_eq!(
            verify_request(&account, Some(&edp2), &msg, Some(&sig2)),
            Err(RpcError::BadSignature)
        );
        // Not a curve point.
        assert_eq!(
            verify_request(&account, Some(&EdPubkey([0xff; 32])), &msg, Some(&sig)),
            Err(RpcError::BadSignature)
        );
    }
}

mod properties {
    use proptest::prelude::*;
    use umbra_protocol::rpc::params::{
        AccountId, BatchParams, BulkParams, Data, DeleteParams, ExpireParams, RetrieveParams,
        StoreParams,
    };
    use umbra_protocol::rpc::{Namespace, validate::store_expiry};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = serde_json::from_slice::<StoreParams>(&bytes);
            let _ = serde_json::from_slice::<RetrieveParams>(&bytes);
            let _ = serde_json::from_slice::<DeleteParams>(&bytes);
            let _ = serde_json::from_slice::<BulkParams>(&bytes);
            let _ = serde_json::from_slice::<ExpireParams>(&bytes);
            let _ = serde_json::from_slice::<BatchParams>(&bytes);
        }

        #[test]
        fn store_params_round_trip(
            prefix in any::<u8>(), key in any::<[u8; 32]>(), ts in any::<u64>(), ttl in proptest::option::of(any::<u64>()),
            data in proptest::collection::vec(any::<u8>(), 0..200), ns in any::<i16>(), now in any::<u64>(),
        ) {
            let p = StoreParams {
                pubkey: AccountId { prefix, key }, timestamp: ts, ttl, expiry: None, data: Data(data),
                namespace: Namespace(ns), signature: None, pubkey_ed25519: None, sig_timestamp: None,
            };
            let json = serde_json::to_string(&p).expect("serialize");
            let back: StoreParams = serde_json::from_str(&json).expect("deserialize");
            prop_assert_eq!(&back, &p);
            // Validation is total: it returns, whatever the numbers.
            let _ = store_expiry(&p, now);
        }
    }
}
