//! Fuzz target: the client's parsers of node answers (crate-private `client::wire`, reached
//! through the hidden `client::fuzzing` module of the `testing` feature) must never panic:
//! node lists (seed, `oxend_request`), swarms (`get_swarm`, 421 bodies), store
//! acknowledgements, retrieve answers and the node time `"t"`.
//!
//! Each parser gets the raw bytes. What it accepts must be well formed (non-zero ports, usable
//! addresses, valid hashes) and must read back unchanged from JSON written in the same shape.
#![no_main]

use base64::{Engine as _, engine::general_purpose::STANDARD};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use umbra_protocol::{
    client::{ServiceNode, fuzzing},
    rpc::is_valid_hash,
};

fn check_node(n: &ServiceNode) {
    assert!(
        n.port != 0 && !n.ip.is_empty() && n.ip != "0.0.0.0",
        "{n:?}"
    );
    // ServiceNode's own serde form (the snapshot) round-trips.
    let json = serde_json::to_vec(n).expect("serializes");
    assert_eq!(
        &serde_json::from_slice::<ServiceNode>(&json).expect("parses"),
        n
    );
}

fn keys(n: &ServiceNode) -> (String, String) {
    (hex::encode(n.ed25519), hex::encode(n.x25519))
}

fuzz_target!(|data: &[u8]| {
    if let Some(nodes) = fuzzing::parse_node_list(data) {
        nodes.iter().for_each(check_node);
        let states: Vec<Value> = nodes
            .iter()
            .map(|n| {
                let (ed, x) = keys(n);
                json!({"public_ip": n.ip, "storage_port": n.port,
                       "pubkey_ed25519": ed, "pubkey_x25519": x})
            })
            .collect();
        let body = json!({"result": {"service_node_states": states}}).to_string();
        assert_eq!(fuzzing::parse_node_list(body.as_bytes()), Some(nodes));
    }
    if let Some(nodes) = fuzzing::parse_swarm(data) {
        nodes.iter().for_each(check_node);
        let snodes: Vec<Value> = nodes
            .iter()
            .map(|n| {
                let (ed, x) = keys(n);
                json!({"ip": n.ip, "port_https": n.port, "pubkey_ed25519": ed, "pubkey_x25519": x})
            })
            .collect();
        let body = json!({"snodes": snodes}).to_string();
        assert_eq!(fuzzing::parse_swarm(body.as_bytes()), Some(nodes));
    }
    if let Some(t) = fuzzing::parse_t(data) {
        assert_eq!(
            fuzzing::parse_t(json!({"t": t}).to_string().as_bytes()),
            Some(t)
        );
    }
    let acks = fuzzing::parse_store_acks(data);
    if !acks.is_empty() {
        let mut swarm = serde_json::Map::new();
        for (member, hash, sig) in &acks {
            swarm.insert(
                hex::encode(member),
                json!({"hash": hash, "signature": STANDARD.encode(sig)}),
            );
        }
        let body = json!({"swarm": swarm}).to_string();
        let mut again = fuzzing::parse_store_acks(body.as_bytes());
        let mut want = acks.clone();
        // A JSON object keeps one entry per member key.
        want.sort();
        want.dedup_by(|a, b| a.0 == b.0);
        again.sort();
        let members =
            |v: &[([u8; 32], String, [u8; 64])]| v.iter().map(|a| a.0).collect::<Vec<_>>();
        assert_eq!(members(&again), members(&want));
    }
    if let Some((messages, more)) = fuzzing::parse_retrieve(data) {
        let list: Vec<Value> = messages
            .iter()
            .map(|(hash, data, exp)| {
                assert!(is_valid_hash(hash), "{hash:?}");
                let mut m = json!({"hash": hash});
                if let Some(d) = data {
                    m["data"] = json!(STANDARD.encode(d));
                }
                if let Some(e) = exp {
                    m["expiration"] = json!(e);
                }
                m
            })
            .collect();
        let body = json!({"messages": list, "more": more}).to_string();
        assert_eq!(
            fuzzing::parse_retrieve(body.as_bytes()),
            Some((messages, more))
        );
    }
});
