//! Client ↔ simulated service nodes ↔ client round trips of onion requests: the client builds a
//! request through a 3-hop path, each simulated node peels its layer with the `node` feature's
//! `peel_layer`, and the final reply is decrypted by the client. Tampering at each hop fails
//! with a typed error.
#![cfg(feature = "node")]

use std::collections::{BTreeMap, HashMap};

use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
use umbra_protocol::onion::{
    Destination, EncType, FramingError, HttpProtocol, MAX_HOPS, OnionError, PathHop,
    ServerDestination, V4Request, V4Response, build_final_request, build_request, decode_layer,
    decrypt_snode_response, decrypt_v4_response, encode_layer,
    hop::HopSecret,
    node::{
        Peeled, open_layer, open_server_request, peel_layer, wrap_final_response,
        wrap_final_response_value,
    },
};
use x25519_dalek::{PublicKey, StaticSecret};

const RPC: &[u8] = br#"{"method":"info","params":{}}"#;
const RPC_REPLY: &str =
    r#"{"hf":[19,3],"t":1700000000000,"timestamp":1700000000000,"version":[2,8,0]}"#;

struct Node {
    ed25519: [u8; 32],
    secret: StaticSecret,
    x25519: [u8; 32],
}

fn node(rng: &mut ChaCha20Rng, tag: u8) -> Node {
    let secret = StaticSecret::random_from_rng(rng);
    let x25519 = PublicKey::from(&secret).to_bytes();
    Node {
        ed25519: [tag; 32],
        secret,
        x25519,
    }
}

/// A path of 3 nodes plus a destination node, indexed by Ed25519 key.
struct Net {
    nodes: HashMap<[u8; 32], Node>,
    path: Vec<[u8; 32]>,
    dest: [u8; 32],
}

fn net(seed: u64) -> Net {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut nodes = HashMap::new();
    let mut path = Vec::new();
    for tag in [0x11, 0x22, 0x33] {
        let n = node(&mut rng, tag);
        path.push(n.ed25519);
        nodes.insert(n.ed25519, n);
    }
    let d = node(&mut rng, 0x44);
    let dest = d.ed25519;
    nodes.insert(dest, d);
    Net { nodes, path, dest }
}

impl Net {
    fn path_hops(&self) -> Vec<PathHop> {
        self.path
            .iter()
            .map(|ed| PathHop {
                ed25519: *ed,
                x25519: self.nodes[ed].x25519,
            })
            .collect()
    }

    fn snode_dest(&self) -> Destination {
        let d = &self.nodes[&self.dest];
        Destination::Snode {
            ed25519: d.ed25519,
            x25519: d.x25519,
            payload: RPC.to_vec(),
        }
    }

    fn peel(&self, at: &[u8; 32], body: &[u8]) -> Result<Peeled, OnionError> {
        let n = &self.nodes[at];
        peel_layer(body, &n.secret, &n.x25519)
    }
}

/// What the network did with a request.
#[derive(Debug)]
enum Outcome {
    /// The final destination's HTTP body and the hops (Ed25519 keys) visited.
    Reply(Vec<u8>, Vec<[u8; 32]>),
    /// The request was proxied to an HTTP server: host, target, port, protocol, body.
    Proxy(String, String, u16, HttpProtocol, Vec<u8>),
}

/// Delivers `body` to the guard and lets every node peel, relaying until the request ends.
/// `tamper(i, body)` may alter the body delivered to the i-th node (0 = guard).
fn run(
    net: &Net,
    body: Vec<u8>,
    rng: &mut ChaCha20Rng,
    mut tamper: impl FnMut(usize, &mut Vec<u8>),
) -> Result<Outcome, (usize, OnionError)> {
    let mut at = net.path[0];
    let mut body = body;
    let mut visited = Vec::new();
    for i in 0..=MAX_HOPS as usize {
        let hop_no = decode_layer(&body)
            .ok()
            .and_then(|l| l.control.get("hop_no").cloned());
        assert_eq!(
            hop_no.and_then(|v| v.as_u64()).unwrap_or(0),
            i as u64,
            "hop_no at {i}"
        );
        tamper(i, &mut body);
        visited.push(at);
        match net.peel(&at, &body).map_err(|e| (i, e))? {
            Peeled::Relay {
                next_ed25519,
                body: next,
            } => {
                assert!(net.nodes.contains_key(&next_ed25519));
                at = next_ed25519;
                body = next;
            }
            Peeled::FinalDestination {
                payload,
                reply,
                json_body,
                base64,
            } => {
                // The builder pads the JSON with trailing spaces to a size bucket.
                assert_eq!(payload.trim_ascii_end(), RPC);
                assert_eq!(
                    payload.len(),
                    umbra_protocol::onion::build::padded_len(RPC.len())
                );
                assert!(!json_body);
                assert!(base64);
                let http = wrap_final_response(&reply, 200, RPC_REPLY, base64, rng);
                return Ok(Outcome::Reply(http, visited));
            }
            Peeled::ProxyToServer {
                host,
                target,
                port,
                protocol,
                method,
                body,
            } => {
                assert_eq!(method, "POST");
                return Ok(Outcome::Proxy(host, target, port, protocol, body));
            }
        }
    }
    panic!("request never ended");
}

#[test]
fn test_snode_round_trip_both_enc_types() {
    let net = net(1);
    let mut rng = ChaCha20Rng::seed_from_u64(100);
    for enc in [EncType::AesGcm, EncType::XChaCha20] {
        let req = build_request(&net.path_hops(), &net.snode_dest(), enc, &mut rng).unwrap();
        let outer = decode_layer(&req.body).unwrap();
        assert_eq!(outer.control["enc_type"], enc.as_str());
        assert!(outer.control.get("destination").is_none());
        let Outcome::Reply(http, visited) = run(&net, req.body, &mut rng, |_, _| {}).unwrap()
        else {
            panic!("expected a reply")
        };
        assert_eq!(visited, [net.path.clone(), vec![net.dest]].concat());
        let reply = decrypt_snode_response(&req.response_key, &http).unwrap();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, RPC_REPLY);
    }
}

#[test]
fn test_fresh_ephemeral_keys_per_layer_and_request() {
    let net = net(2);
    let mut rng = ChaCha20Rng::seed_from_u64(200);
    let a = build_request(
        &net.path_hops(),
        &net.snode_dest(),
        EncType::AesGcm,
        &mut rng,
    )
    .unwrap();
    let b = build_request(
        &net.path_hops(),
        &net.snode_dest(),
        EncType::AesGcm,
        &mut rng,
    )
    .unwrap();
    assert_ne!(a.body, b.body);
    // Collect the ephemeral keys of every layer of request `a`.
    let mut keys = Vec::new();
    let mut body = a.body.clone();
    let mut at = net.path[0];
    loop {
        let layer = decode_layer(&body).unwrap();
        keys.push(layer.control["ephemeral_key"].as_str().unwrap().to_owned());
        match net.peel(&at, &body).unwrap() {
            Peeled::Relay {
                next_ed25519,
                body: next,
            } => {
                at = next_ed25519;
                body = next;
            }
            _ => break,
        }
    }
    assert_eq!(keys.len(), 4);
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4);
}

#[test]
fn test_reply_variants_accepted() {
    let net = net(3);
    let mut rng = ChaCha20Rng::seed_from_u64(300);
    for enc in [EncType::AesGcm, EncType::XChaCha20] {
        let req = build_request(&net.path_hops(), &net.snode_dest(), enc, &mut rng).unwrap();
        // Walk to the destination and keep its layer body.
        let mut body = req.body.clone();
        let mut at = net.path[0];
        let (reply, dest_body) = loop {
            match net.peel(&at, &body).unwrap() {
                Peeled::Relay {
                    next_ed25519,
                    body: next,
                } => {
                    at = next_ed25519;
                    body = next;
                }
                Peeled::FinalDestination { reply, .. } => break (reply, body),
                other => panic!("unexpected {other:?}"),
            }
        };
        assert_eq!(reply.enc_type(), enc);
        let key = &req.response_key;

        // Raw (base64 false), {"result": …} wrapper, status_code alias, JSON body.
        let raw = wrap_final_response(&reply, 421, "wrong swarm", false, &mut rng);
        let r = decrypt_snode_response(key, &raw).unwrap();
        assert_eq!((r.status, r.body.as_str()), (421, "wrong swarm"));
        let b64 = wrap_final_response(&reply, 200, "ok", true, &mut rng);
        let wrapped = format!(
            r#"{{"result":"{}"}}"#,
            String::from_utf8(b64.clone()).unwrap()
        );
        assert_eq!(
            decrypt_snode_response(key, wrapped.as_bytes())
                .unwrap()
                .body,
            "ok"
        );
        let padded = [b"  ".as_slice(), &b64, b"\n"].concat();
        assert_eq!(decrypt_snode_response(key, &padded).unwrap().status, 200);
        let alias = reply.encrypt_reply(br#"{"status_code":406,"body":"clock"}"#, &mut rng);
        let r = decrypt_snode_response(key, &alias).unwrap();
        assert_eq!((r.status, r.body.as_str()), (406, "clock"));
        let json = serde_json::json!({"t": 5});
        let r = decrypt_snode_response(
            key,
            &wrap_final_response_value(&reply, 200, json.clone(), true, &mut rng),
        )
        .unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&r.body).unwrap(),
            json
        );

        // A destination replying with the other enc_type is still understood.
        let opened = open_layer(
            &dest_body,
            &net.nodes[&net.dest].secret,
            &net.nodes[&net.dest].x25519,
        )
        .unwrap();
        let eph: [u8; 32] = hex::decode(opened.control["ephemeral_key"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let d = &net.nodes[&net.dest];
        let other = HopSecret::server(&d.secret, &d.x25519, &eph)
            .unwrap()
            .key(enc.other());
        let ct = other.encrypt(br#"{"status":200,"body":"other"}"#, &mut rng);
        assert_eq!(decrypt_snode_response(key, &ct).unwrap().body, "other");

        // Bad replies: tampered, not JSON, no status, wrong key.
        let mut t = raw.clone();
        *t.last_mut().unwrap() ^= 1;
        assert_eq!(
            decrypt_snode_response(key, &t),
            Err(OnionError::DecryptFailed)
        );
        assert_eq!(
            decrypt_snode_response(key, b"Next node not found: abc"),
            Err(OnionError::DecryptFailed)
        );
        assert_eq!(
            decrypt_snode_response(key, b""),
            Err(OnionError::DecryptFailed)
        );
        let not_json = reply.encrypt_reply(b"hello", &mut rng);
        assert!(matches!(
            decrypt_snode_response(key, &not_json),
            Err(OnionError::InvalidResponse { .. })
        ));
        let no_status = reply.encrypt_reply(br#"{"body":"x"}"#, &mut rng);
        assert_eq!(
            decrypt_snode_response(key, &no_status),
            Err(OnionError::InvalidResponse { what: "status" })
        );
        let big_status = reply.encrypt_reply(br#"{"status":70000}"#, &mut rng);
        assert_eq!(
            decrypt_snode_response(key, &big_status),
            Err(OnionError::InvalidResponse { what: "status" })
        );
        let other_req = build_request(&net.path_hops(), &net.snode_dest(), enc, &mut rng).unwrap();
        assert_eq!(
            decrypt_snode_response(&other_req.response_key, &raw),
            Err(OnionError::DecryptFailed)
        );
    }
}

#[test]
fn test_tampering_at_each_hop_fails() {
    let net = net(4);
    let mut rng = ChaCha20Rng::seed_from_u64(400);
    for enc in [EncType::AesGcm, EncType::XChaCha20] {
        for hop in 0..4 {
            // Flip one ciphertext bit (nonce, body, tag) of the body sent to `hop`.
            for frac in [0usize, 1, 2, 3, 4] {
                let req =
                    build_request(&net.path_hops(), &net.snode_dest(), enc, &mut rng).unwrap();
                let err = run(&net, req.body, &mut rng, |i, b| {
                    if i == hop {
                        let n = decode_layer(b).unwrap().payload.len();
                        let pos = 4 + (n - 1) * frac / 4;
                        b[pos] ^= 0x04;
                    }
                })
                .unwrap_err();
                assert_eq!(
                    err,
                    (hop, OnionError::DecryptFailed),
                    "{enc:?} hop {hop} at {frac}/4"
                );
            }
            // Swap the ephemeral key for another valid key: decryption fails.
            let req = build_request(&net.path_hops(), &net.snode_dest(), enc, &mut rng).unwrap();
            let err = run(&net, req.body, &mut rng, |i, b| {
                if i == hop {
                    let layer = decode_layer(b).unwrap();
                    let mut control = layer.control.clone();
                    let other = PublicKey::from(&StaticSecret::from([7u8; 32])).to_bytes();
                    control.insert("ephemeral_key".into(), hex::encode(other).into());
                    *b = encode_layer(layer.payload, &control).unwrap();
                }
            })
            .unwrap_err();
            assert_eq!(err, (hop, OnionError::DecryptFailed));
            // Truncate the body: typed framing error.
            let req = build_request(&net.path_hops(), &net.snode_dest(), enc, &mut rng).unwrap();
            let err = run(&net, req.body, &mut rng, |i, b| {
                if i == hop {
                    let n = decode_layer(b).unwrap().payload.len();
                    b.truncate(4 + n / 2);
                }
            })
            .unwrap_err();
            assert!(
                matches!(err, (h, OnionError::Framing(FramingError::Truncated { .. })) if h == hop)
            );
            // Wrong enc_type label: AEAD fails.
            let req = build_request(&net.path_hops(), &net.snode_dest(), enc, &mut rng).unwrap();
            let err = run(&net, req.body, &mut rng, |i, b| {
                if i == hop {
                    let layer = decode_layer(b).unwrap();
                    let mut control = layer.control.clone();
                    control.insert("enc_type".into(), enc.other().as_str().into());
                    *b = encode_layer(layer.payload, &control).unwrap();
                }
            })
            .unwrap_err();
            assert_eq!(err, (hop, OnionError::DecryptFailed));
        }
    }
}

#[test]
fn test_hop_limit_enforced_on_relay() {
    let net = net(5);
    let mut rng = ChaCha20Rng::seed_from_u64(500);
    let req = build_request(
        &net.path_hops(),
        &net.snode_dest(),
        EncType::AesGcm,
        &mut rng,
    )
    .unwrap();
    let layer = decode_layer(&req.body).unwrap();
    let mut control = layer.control.clone();
    control.insert("hop_no".into(), (MAX_HOPS - 1).into());
    let body = encode_layer(layer.payload, &control).unwrap();
    let Peeled::Relay { next_ed25519, body } = net.peel(&net.path[0], &body).unwrap() else {
        panic!("expected relay")
    };
    assert_eq!(decode_layer(&body).unwrap().control["hop_no"], MAX_HOPS);
    assert_eq!(
        net.peel(&next_ed25519, &body).unwrap_err(),
        OnionError::TooManyHops
    );
}

fn server_dest(x25519: [u8; 32], target: &str) -> ServerDestination {
    ServerDestination {
        host: "open.getsession.test".into(),
        target: target.into(),
        port: 8443,
        protocol: HttpProtocol::Https,
        x25519,
        request: V4Request {
            method: "POST".into(),
            endpoint: "/room/lobby/message".into(),
            headers: BTreeMap::from([("Content-Type".to_owned(), "application/json".to_owned())]),
            body: Some(br#"{"data":"aGk="}"#.to_vec()),
        },
    }
}

#[test]
fn test_server_destination_round_trip() {
    let net = net(6);
    let mut rng = ChaCha20Rng::seed_from_u64(600);
    let server = StaticSecret::random_from_rng(&mut rng);
    let server_pub = PublicKey::from(&server).to_bytes();
    for enc in [EncType::AesGcm, EncType::XChaCha20] {
        let dest = server_dest(server_pub, "/oxen/v4/lsrpc");
        let req = build_request(
            &net.path_hops(),
            &Destination::Server(dest.clone()),
            enc,
            &mut rng,
        )
        .unwrap();
        let Outcome::Proxy(host, target, port, protocol, body) =
            run(&net, req.body, &mut rng, |_, _| {}).unwrap()
        else {
            panic!("expected proxy")
        };
        assert_eq!(
            (host.as_str(), target.as_str(), port, protocol),
            (
                "open.getsession.test",
                "/oxen/v4/lsrpc",
                8443,
                HttpProtocol::Https
            )
        );
        // The proxied body is the last hop's whole plaintext; the server re-parses it.
        let layer = decode_layer(&body).unwrap();
        assert_eq!(layer.control["host"], "open.getsession.test");
        let (request, reply) = open_server_request(&body, &server, &server_pub).unwrap();
        assert_eq!(request, dest.request);
        let resp = V4Response {
            code: 201,
            headers: BTreeMap::from([("content-type".to_owned(), "application/json".to_owned())]),
            body: br#"{"id": 123}"#.to_vec(),
        };
        let http = reply.encrypt_reply(&resp.encode(), &mut rng);
        assert_eq!(decrypt_v4_response(&req.response_key, &http).unwrap(), resp);

        let mut t = http.clone();
        t[5] ^= 0x20;
        assert_eq!(
            decrypt_v4_response(&req.response_key, &t),
            Err(OnionError::DecryptFailed)
        );
        let mut t = body.clone();
        t[6] ^= 0x20;
        assert_eq!(
            open_server_request(&t, &server, &server_pub).unwrap_err(),
            OnionError::DecryptFailed
        );
        let junk = reply.encrypt_reply(b"l3:abc", &mut rng);
        assert!(matches!(
            decrypt_v4_response(&req.response_key, &junk),
            Err(OnionError::InvalidResponse { .. })
        ));
    }
}

#[test]
fn test_builder_rejects_bad_arguments() {
    let net = net(7);
    let mut rng = ChaCha20Rng::seed_from_u64(700);
    let hops = net.path_hops();
    let dest = net.snode_dest();
    let err = build_request(&[], &dest, EncType::AesGcm, &mut rng).unwrap_err();
    assert_eq!(
        err,
        OnionError::BadArgument {
            what: "path length"
        }
    );
    assert_eq!(err.kind(), umbra_protocol::error::ErrorKind::BadApiUsage);
    let long: Vec<PathHop> = hops
        .iter()
        .cycle()
        .take(MAX_HOPS as usize)
        .cloned()
        .collect();
    assert_eq!(
        build_request(&long, &dest, EncType::AesGcm, &mut rng).unwrap_err(),
        OnionError::BadArgument {
            what: "path length"
        }
    );
    for bad in ["/not_loki/v3/lsrpc", "/loki/v3", "/loki/v3/lsrpc?foo=bar"] {
        let d = Destination::Server(server_dest([9; 32], bad));
        assert_eq!(
            build_request(&hops, &d, EncType::AesGcm, &mut rng).unwrap_err(),
            OnionError::BadArgument { what: "target" }
        );
    }
    let mut s = server_dest([9; 32], "/oxen/v4/lsrpc");
    s.host.clear();
    assert_eq!(
        build_request(&hops, &Destination::Server(s), EncType::AesGcm, &mut rng).unwrap_err(),
        OnionError::BadArgument { what: "host" }
    );
    let mut s = server_dest([9; 32], "/oxen/v4/lsrpc");
    s.request.endpoint = "no-slash".into();
    assert_eq!(
        build_request(&hops, &Destination::Server(s), EncType::AesGcm, &mut rng).unwrap_err(),
        OnionError::BadArgument { what: "endpoint" }
    );
    // A low-order destination key yields an all-zero shared secret and is refused.
    let d = Destination::Snode {
        ed25519: [1; 32],
        x25519: [0; 32],
        payload: RPC.to_vec(),
    };
    assert_eq!(
        build_request(&hops, &d, EncType::AesGcm, &mut rng).unwrap_err(),
        OnionError::InvalidKey {
            what: "destination"
        }
    );
    let mut bad_hops = hops.clone();
    bad_hops[1].x25519 = [0; 32];
    assert_eq!(
        build_request(&bad_hops, &dest, EncType::AesGcm, &mut rng).unwrap_err(),
        OnionError::InvalidKey {
            what: "destination"
        }
    );
}

#[test]
fn test_single_hop_path() {
    let net = net(8);
    let mut rng = ChaCha20Rng::seed_from_u64(800);
    let hops = &net.path_hops()[..1];
    let req = build_request(hops, &net.snode_dest(), EncType::XChaCha20, &mut rng).unwrap();
    let Peeled::Relay { next_ed25519, body } = net.peel(&net.path[0], &req.body).unwrap() else {
        panic!("expected relay")
    };
    assert_eq!(next_ed25519, net.dest);
    let Peeled::FinalDestination { reply, .. } = net.peel(&net.dest, &body).unwrap() else {
        panic!("expected final")
    };
    let http = wrap_final_response(&reply, 200, "x", true, &mut rng);
    assert_eq!(
        decrypt_snode_response(&req.response_key, &http)
            .unwrap()
            .body,
        "x"
    );
}

/// A request built for the node it is posted to (a guard test through a bridge) is that
/// node's final layer: it answers it itself, and only its reply decrypts.
#[test]
fn test_final_request_is_answered_by_the_node_it_is_posted_to() {
    let net = net(9);
    let mut rng = ChaCha20Rng::seed_from_u64(900);
    let g = &net.nodes[&net.path[0]];
    for enc in [EncType::AesGcm, EncType::XChaCha20] {
        let req = build_final_request(&g.x25519, RPC, enc, &mut rng).unwrap();
        let Peeled::FinalDestination { payload, reply, .. } =
            net.peel(&net.path[0], &req.body).unwrap()
        else {
            panic!("expected the guard itself to answer")
        };
        assert_eq!(payload.trim_ascii_end(), RPC);
        let http = wrap_final_response(&reply, 200, RPC_REPLY, true, &mut rng);
        let got = decrypt_snode_response(&req.response_key, &http).unwrap();
        assert_eq!((got.status, got.body.as_str()), (200, RPC_REPLY));
        // Another node cannot open it; a flipped bit in the reply does not decrypt.
        assert!(net.peel(&net.path[1], &req.body).is_err());
        let mut bad = http.clone();
        let last = bad.len() - 3;
        bad[last] ^= 1;
        assert!(decrypt_snode_response(&req.response_key, &bad).is_err());
    }
}
