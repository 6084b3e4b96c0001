//! Known-answer tests for swarm assignment (docs/protocol.md §11.7).

use serde_json::Value;
use umbra_protocol::swarm::{swarm_for, swarm_space, swarm_space_hex};

fn vectors() -> Value {
    serde_json::from_str(include_str!("../testdata/vectors/swarm.json"))
        .expect("vector file parses")
}

fn num(v: &Value) -> u64 {
    v.as_str().expect("decimal string").parse().expect("u64")
}

#[test]
fn swarm_space_vectors() {
    let v = vectors();
    let cases = v["swarm_space"].as_array().expect("array");
    assert_eq!(cases.len(), 11);
    for case in cases {
        let pk = case["pubkey"].as_str().expect("hex");
        let want = num(&case["space"]);
        assert_eq!(swarm_space_hex(pk), Ok(want), "{pk}");
        let raw = hex::decode(pk).expect("hex");
        // The bare 32-byte key gives the same position.
        assert_eq!(swarm_space(&raw[1..]), Ok(want));
        // Flipping any bit of the key changes the position.
        let mut bad = raw.clone();
        bad[20] ^= 0x01;
        assert_ne!(swarm_space(&bad), Ok(want));
    }
}

#[test]
fn bad_swarm_space_inputs_fail() {
    let v = vectors();
    for case in v["bad_swarm_space"].as_array().expect("array") {
        assert!(
            swarm_space_hex(case["pubkey"].as_str().expect("str")).is_err(),
            "{case}"
        );
    }
}

#[test]
fn nearest_swarm_vectors() {
    let v = vectors();
    let cases = v["nearest_swarm"].as_array().expect("array");
    assert_eq!(cases.len(), 32);
    for case in cases {
        let ids: Vec<u64> = case["swarm_ids"]
            .as_array()
            .expect("ids")
            .iter()
            .map(num)
            .collect();
        let space = swarm_space_hex(case["pubkey"].as_str().expect("pk")).expect("space");
        let want = num(&case["expected"]);
        assert_eq!(swarm_for(space, &ids), Some(want), "space {space:#x}");
        // Order of the list does not matter.
        let mut rev = ids.clone();
        rev.reverse();
        assert_eq!(swarm_for(space, &rev), Some(want));
        // Removing the winning swarm must move the key elsewhere.
        let without: Vec<u64> = ids.iter().copied().filter(|&i| i != want).collect();
        assert_ne!(swarm_for(space, &without), Some(want));
    }
}
