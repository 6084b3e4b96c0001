//! Onion errors as oxenss gives them (`rpc/request_handler.cpp` `process_onion_req`,
//! `rpc/onion_processing.cpp`, `server/https.cpp`): a layer the node decrypted but whose
//! inside is bad is answered with an encrypted `{"status":400,"body":"Invalid json"}` in an
//! HTTP 200; a refused proxy target with an encrypted "Invalid url"; a layer it cannot
//! decrypt with a plain 400; a negative `hop_no` counts as 0.

use base64::Engine as _;
use getrandom::SysRng;
use rand_core::UnwrapErr;
use serde_json::{Map, Value, json};
use umbra_node::directory::NodeInfo;
use umbra_node::testnet::{Testnet, TestnetConfig};
use umbra_protocol::onion::hop::{HopKey, HopSecret};
use umbra_protocol::onion::{
    Destination, EncType, build_request, decode_layer, decrypt_snode_response, encode_layer,
};
use x25519_dalek::{PublicKey, StaticSecret};

async fn net(dir: &tempfile::TempDir) -> Testnet {
    let mut cfg = TestnetConfig::new(dir.path());
    cfg.nodes = 4;
    Testnet::start(cfg).await.expect("testnet")
}

/// One layer to `node` whose plaintext is `inner`, with outer control `extra`; returns the
/// body and the layer key (which the node encrypts its errors with).
fn layer(node: &NodeInfo, inner: &[u8], extra: &Value) -> (Vec<u8>, HopKey) {
    let eph = StaticSecret::random_from_rng(&mut UnwrapErr(SysRng));
    let key = HopSecret::client(&eph, &node.x25519)
        .expect("secret")
        .key(EncType::XChaCha20);
    let ct = key.encrypt(inner, &mut UnwrapErr(SysRng));
    let mut control = Map::new();
    control.insert(
        "ephemeral_key".into(),
        json!(hex::encode(PublicKey::from(&eph).to_bytes())),
    );
    control.insert("enc_type".into(), json!("xchacha20"));
    if let Some(o) = extra.as_object() {
        control.extend(o.clone());
    }
    (encode_layer(&ct, &control).expect("encode"), key)
}

fn inner(json: &Value) -> Vec<u8> {
    encode_layer(b"payload", json.as_object().expect("object")).expect("inner")
}

async fn post(net: &Testnet, node: &NodeInfo, body: Vec<u8>) -> (u16, Vec<u8>) {
    let r = net
        .http_client()
        .post(format!("{}/onion_req/v2", node.url()))
        .body(body)
        .send()
        .await
        .expect("post");
    (r.status().as_u16(), r.bytes().await.expect("body").to_vec())
}

/// The node's encrypted answer, decrypted with the layer key.
fn open(key: &HopKey, body: &[u8]) -> Value {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("base64");
    serde_json::from_slice(&key.decrypt(&raw).expect("decrypts with the layer key")).expect("json")
}

#[tokio::test]
async fn bad_insides_and_refused_proxy_targets_are_encrypted_400_replies() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = net(&dir).await;
    let node = net.nodes()[0].clone();
    let invalid_json = json!({"status": 400, "body": "Invalid json"});
    let invalid_url = json!({"status": 400, "body": "Invalid url"});
    let cases: Vec<(&str, Vec<u8>, &Value)> = vec![
        ("not a layer", b"\x01".to_vec(), &invalid_json),
        (
            "inner json not an object",
            [&[2u8, 0, 0, 0][..], b"xx[1]"].concat(),
            &invalid_json,
        ),
        (
            "no destination",
            inner(&json!({"nothing": 1})),
            &invalid_json,
        ),
        (
            "destination not a key",
            inner(&json!({"destination": "zz", "ephemeral_key": "00"})),
            &invalid_json,
        ),
        (
            "port not a number",
            inner(&json!({"host": "127.0.0.1", "target": "/oxen/v4/lsrpc", "port": "x"})),
            &invalid_json,
        ),
        (
            "target not lsrpc",
            inner(&json!({"host": "127.0.0.1", "target": "/admin", "port": 1, "protocol": "http"})),
            &invalid_url,
        ),
        (
            "unknown protocol",
            inner(
                &json!({"host": "127.0.0.1", "target": "/oxen/v4/lsrpc", "port": 1, "protocol": "gopher"}),
            ),
            &invalid_url,
        ),
        (
            "host not on the list",
            inner(&json!({"host": "example.com", "target": "/oxen/v4/lsrpc", "port": 443})),
            &invalid_url,
        ),
        (
            "not exactly /oxen/v4/lsrpc",
            inner(
                &json!({"host": "127.0.0.1", "target": "/oxen/v3/lsrpc", "port": 1, "protocol": "http"}),
            ),
            &invalid_url,
        ),
    ];
    for (name, plaintext, want) in cases {
        let (body, key) = layer(&node, &plaintext, &json!({}));
        let (status, reply) = post(&net, &node, body).await;
        assert_eq!(status, 200, "{name}: {}", String::from_utf8_lossy(&reply));
        assert_eq!(&open(&key, &reply), want, "{name}");
    }

    // What the node cannot decrypt, or refuses before decrypting, stays plain text.
    let (mut body, _) = layer(&node, &inner(&json!({"headers": ""})), &json!({}));
    body[6] ^= 1;
    assert_eq!(
        post(&net, &node, body).await,
        (400, b"Invalid ciphertext".to_vec())
    );
    let (body, _) = layer(
        &node,
        &inner(&json!({"headers": ""})),
        &json!({"hop_no": 99}),
    );
    assert_eq!(post(&net, &node, body).await.0, 400);
    let (body, _) = layer(
        &node,
        &inner(&json!({"headers": ""})),
        &json!({"hop_no": "one"}),
    );
    assert_eq!(post(&net, &node, body).await.0, 400);
    net.shutdown().await;
}

#[tokio::test]
async fn a_negative_hop_no_counts_as_zero() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = net(&dir).await;
    let nodes = net.nodes().to_vec();
    let hops: Vec<_> = nodes[..2]
        .iter()
        .map(|n| umbra_protocol::onion::PathHop {
            ed25519: n.ed25519,
            x25519: n.x25519,
        })
        .collect();
    let dest = Destination::Snode {
        ed25519: nodes[3].ed25519,
        x25519: nodes[3].x25519,
        payload: br#"{"method":"info","params":{}}"#.to_vec(),
    };
    let req = build_request(&hops, &dest, EncType::AesGcm, &mut UnwrapErr(SysRng)).expect("build");
    let outer = decode_layer(&req.body).expect("layer");
    let mut control = outer.control.clone();
    control.insert("hop_no".into(), json!(-5));
    let body = encode_layer(outer.payload, &control).expect("encode");
    let (status, reply) = post(&net, &nodes[0], body).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&reply));
    let r = decrypt_snode_response(&req.response_key, &reply).expect("decrypt");
    assert_eq!(r.status, 200, "{}", r.body);
    net.shutdown().await;
}
