//! The client's crate-private wire parsers (`client::wire`) for the fuzz targets in
//! `protocol/fuzz` (feature `testing`, hidden from the docs). Owns nothing and decides
//! nothing: each function calls one parser and returns its result as plain values.

use super::wire::{self, ServiceNode};

/// `wire::parse_node_list`: a seed or `oxend_request` answer.
pub fn parse_node_list(body: &[u8]) -> Option<Vec<ServiceNode>> {
    wire::parse_node_list(body)
}

/// `wire::parse_swarm`: a `get_swarm` answer or a 421 body.
pub fn parse_swarm(body: &[u8]) -> Option<Vec<ServiceNode>> {
    wire::parse_swarm(body)
}

/// `wire::parse_t`: the node time of an answer (ms).
pub fn parse_t(body: &[u8]) -> Option<u64> {
    wire::parse_t(body).map(|t| t.0)
}

/// `wire::parse_store_acks`: (member Ed25519 key, hash, signature) of each member.
pub fn parse_store_acks(body: &[u8]) -> Vec<([u8; 32], String, [u8; 64])> {
    wire::parse_store_acks(body)
        .into_iter()
        .map(|a| (a.member, a.hash, a.signature))
        .collect()
}

/// One message of [`parse_retrieve`]: (hash, data if its base64 was valid, expiration ms).
pub type Retrieved = (String, Option<Vec<u8>>, Option<u64>);

/// `wire::parse_retrieve`: the messages of a retrieve answer and its `more` flag.
pub fn parse_retrieve(body: &[u8]) -> Option<(Vec<Retrieved>, bool)> {
    wire::parse_retrieve(body).map(|(list, more)| {
        let list = list
            .into_iter()
            .map(|m| (m.hash.0, m.data, m.expiration_ms.map(|e| e.0)))
            .collect();
        (list, more)
    })
}
