//! Random choice of service nodes, shared by the path, pool, swarm and dispatch code so those
//! parts need not import each other.
//!
//! Not cryptographic sampling: the modulo bias of [`pick`] is irrelevant for choosing among
//! a handful of nodes.

use std::collections::BTreeSet;

use rand_core::CryptoRng;

use super::ServiceNode;
use crate::address::NodeId;

/// A uniform-enough index in `0..len` (0 when `len` is 0).
pub(crate) fn pick<R: CryptoRng + ?Sized>(rng: &mut R, len: usize) -> usize {
    (rng.next_u64() % len.max(1) as u64) as usize
}

/// A random node of `nodes` that is not in `exclude`, if any.
pub(crate) fn random_node<'a, R: CryptoRng + ?Sized>(
    nodes: impl Iterator<Item = &'a ServiceNode>,
    exclude: &BTreeSet<NodeId>,
    rng: &mut R,
) -> Option<ServiceNode> {
    let nodes: Vec<&ServiceNode> = nodes.filter(|n| !exclude.contains(&n.id())).collect();
    if nodes.is_empty() {
        return None;
    }
    Some(nodes[pick(rng, nodes.len())].clone())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};

    use super::*;

    fn node(b: u8) -> ServiceNode {
        ServiceNode {
            ip: format!("10.0.0.{b}"),
            port: 1,
            ed25519: [b; 32],
            x25519: [b; 32],
            swarm_id: None,
        }
    }

    #[test]
    fn pick_stays_in_range_and_random_node_honours_exclusions() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        assert!((0..100).all(|_| pick(&mut rng, 3) < 3));
        assert_eq!(pick(&mut rng, 0), 0);
        let nodes = [node(1), node(2), node(3)];
        let exclude: BTreeSet<NodeId> = [NodeId([1; 32]), NodeId([3; 32])].into();
        for _ in 0..20 {
            let n = random_node(nodes.iter(), &exclude, &mut rng).unwrap();
            assert_eq!(n.ed25519, [2; 32]);
        }
        let all: BTreeSet<NodeId> = nodes.iter().map(ServiceNode::id).collect();
        assert!(random_node(nodes.iter(), &all, &mut rng).is_none());
    }
}
