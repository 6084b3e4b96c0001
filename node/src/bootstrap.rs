//! `umbra-node bootstrap`: the bundle's bootstrap node list, fetched from pinned seeds.
//!
//! Owns: asking every seed (over the bridge's pinned TLS, `bridge::PinnedSeed`), the agreement
//! rule (a node is kept only when every seed that answered lists it with the same address,
//! keys and swarm), the lower bound on the result, and the output file (`bundle`).
//!
//! Session desktop refuses a node list unless at least 24 nodes are common to every answer
//! (session-desktop `ts/session/apis/snode_api/snodePool.ts`, `requiredSnodesForAgreement`
//! = 24); `MAINNET_MIN` is that bound, and a small test network passes a smaller `--min`.
//!
//! Does not own: the seeds' pins (`bridge::MAINNET_SEEDS`) or how the client later refreshes
//! and checks the list through onion requests (the worker).

use crate::NodeError;
use crate::bridge::{PinnedSeed, SeedSource};
use crate::bundle::{BootstrapNode, BundleConfig};

/// Nodes required in common on mainnet (Session desktop's agreement bound).
pub const MAINNET_MIN: usize = 24;

/// Why no list was produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BootstrapError {
    /// No seed answered (unreachable, or a certificate other than the pinned one).
    #[error("no seed answered ({0} tried): unreachable, or not the pinned certificate")]
    NoSeedAnswered(usize),
    /// The seeds agree on too few nodes.
    #[error("the seeds agree on {agreed} nodes, fewer than the required {min}")]
    TooFew {
        /// Nodes every answering seed listed identically.
        agreed: usize,
        /// The bound.
        min: usize,
    },
    /// Bad setup (a PEM that is not a certificate, no seed, an unwritable file).
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// The nodes every answer lists identically, sorted by Ed25519 key. No answer: none.
pub fn agreed(answers: &[Vec<BootstrapNode>]) -> Vec<BootstrapNode> {
    let Some((first, rest)) = answers.split_first() else {
        return Vec::new();
    };
    let mut out: Vec<BootstrapNode> = first
        .iter()
        .filter(|n| rest.iter().all(|a| a.contains(n)))
        .cloned()
        .collect();
    out.sort_by(|a, b| a.pubkey_ed25519.cmp(&b.pubkey_ed25519));
    out.dedup();
    out
}

/// Ask every seed and keep the nodes every answering seed agrees on; at least `min`.
pub async fn fetch(seeds: &[SeedSource], min: usize) -> Result<Vec<BootstrapNode>, BootstrapError> {
    if seeds.is_empty() {
        return Err(NodeError::Config("give at least one seed").into());
    }
    crate::tls::install_crypto_provider();
    let pinned = seeds
        .iter()
        .map(PinnedSeed::new)
        .collect::<Result<Vec<_>, _>>()?;
    let replies = futures_util::future::join_all(pinned.iter().map(PinnedSeed::node_list)).await;
    let answers: Vec<Vec<BootstrapNode>> = replies
        .iter()
        .flatten()
        .map(BootstrapNode::from_seed_reply)
        .collect();
    if answers.is_empty() {
        return Err(BootstrapError::NoSeedAnswered(seeds.len()));
    }
    let nodes = agreed(&answers);
    if nodes.len() < min.max(1) {
        return Err(BootstrapError::TooFew {
            agreed: nodes.len(),
            min: min.max(1),
        });
    }
    Ok(nodes)
}

/// Fetch the list and write `{"network","bridges","bootstrap"}` to `out`. Nothing is written
/// when the list is refused.
pub async fn write(
    seeds: &[SeedSource],
    min: usize,
    network: &str,
    bridges: Vec<String>,
    out: &std::path::Path,
) -> Result<BundleConfig, BootstrapError> {
    let bootstrap = fetch(seeds, min).await?;
    let cfg = BundleConfig {
        network: network.to_string(),
        seed_url: None,
        bridges,
        bootstrap,
        fileserver: None,
        turn: None,
        community: None,
    };
    cfg.write(out)?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(i: u8, port: u16) -> BootstrapNode {
        BootstrapNode {
            public_ip: format!("203.0.113.{i}"),
            storage_port: port,
            pubkey_ed25519: hex::encode([i; 32]),
            pubkey_x25519: hex::encode([i ^ 0xff; 32]),
            swarm_id: u64::from(i),
        }
    }

    #[test]
    fn only_nodes_every_answer_lists_identically_are_kept() {
        let a = vec![n(3, 1), n(1, 1), n(2, 1), n(4, 1)];
        let b = vec![n(1, 1), n(2, 1), n(3, 2)]; // 3 with another port, 4 missing
        let c = vec![n(2, 1), n(1, 1), n(3, 1), n(5, 1)];
        assert_eq!(agreed(&[a.clone(), b, c]), vec![n(1, 1), n(2, 1)]);
        assert_eq!(agreed(&[a]), vec![n(1, 1), n(2, 1), n(3, 1), n(4, 1)]);
        assert!(agreed(&[]).is_empty());
    }
}
