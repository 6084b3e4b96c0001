//! The swarm cache: the members of each swarm the client talks to, keyed by [`SwarmAddr`]
//! (an account's `05` swarm, a group's `03` swarm), fetched with `get_swarm` through a path
//! when missing and replaced by the list a `421` answer carries.
//!
//! A node's word on a swarm is checked before it is used (security review #6): only nodes of
//! the pool are kept (the pool's entry, not the answer's address), and when the pool knows
//! swarm ids, only those whose swarm id is the one the account maps to
//! ([`crate::swarm::swarm_for`] over the pool's ids, as the node decides where an account
//! lives). A list that keeps none of the cached members is a claim that the whole swarm
//! moved: it waits until a second node's answer confirms it (a `get_swarm` to another node,
//! or another member's 421).
//!
//! This part does not decide which member to ask for what; the outbox, the poller and the
//! own-swarm operations read the members from here.

use std::collections::{BTreeMap, BTreeSet};

use rand_core::CryptoRng;

use super::{
    PersistChange, ServiceNode,
    io::{Io, Net, Work},
    pick::random_node,
    task::Task,
    wire,
};
use crate::{
    address::{LocalMs, NodeId, SwarmAddr},
    swarm::{swarm_for, swarm_space},
};

/// Cached swarms and their fetches.
#[derive(Default)]
pub(crate) struct Swarms {
    members: BTreeMap<SwarmAddr, Vec<ServiceNode>>,
    /// Swarms being fetched, or waiting to be fetched again after a failure.
    fetch: BTreeMap<SwarmAddr, Task>,
    /// Lists that keep none of the cached members, with the node that named them, waiting
    /// for a second node's answer.
    unconfirmed: BTreeMap<SwarmAddr, (Vec<ServiceNode>, NodeId)>,
}

/// The members of `named` that the pool vouches for as members of `swarm`, as the pool
/// knows them, in the order named, without repeats.
pub(crate) fn vouched(
    swarm: &SwarmAddr,
    named: &[ServiceNode],
    pool: &BTreeMap<NodeId, ServiceNode>,
) -> Vec<ServiceNode> {
    let ids: Vec<u64> = pool
        .values()
        .filter_map(|n| n.swarm_id)
        .collect::<BTreeSet<u64>>()
        .into_iter()
        .collect();
    // `None` when the pool has no swarm ids (a pool from an older snapshot): pool only.
    let expected = swarm_space(&swarm.key)
        .ok()
        .and_then(|space| swarm_for(space, &ids));
    let mut seen = BTreeSet::new();
    named
        .iter()
        .filter_map(|n| pool.get(&n.id()))
        .filter(|n| expected.is_none_or(|e| n.swarm_id == Some(e)))
        .filter(|n| seen.insert(n.id()))
        .cloned()
        .collect()
}

impl Swarms {
    /// A cache starting with `swarms` (from a snapshot).
    pub(crate) fn with(swarms: BTreeMap<SwarmAddr, Vec<ServiceNode>>) -> Self {
        Swarms {
            members: swarms,
            fetch: BTreeMap::new(),
            unconfirmed: BTreeMap::new(),
        }
    }

    /// The members of `swarm`, if known (never empty).
    pub(crate) fn get(&self, swarm: &SwarmAddr) -> Option<&[ServiceNode]> {
        self.members
            .get(swarm)
            .map(Vec::as_slice)
            .filter(|m| !m.is_empty())
    }

    /// Takes `named` as the members of `swarm`, as `from` said (a `get_swarm` answer or a
    /// 421 body), if the pool vouches for any of them (see the module documentation). True if
    /// the list was accepted: applied, or kept until a second node confirms it; false if no
    /// named node is a vouched member (the answer is worthless).
    pub(crate) fn offer(
        &mut self,
        swarm: SwarmAddr,
        named: &[ServiceNode],
        from: NodeId,
        pool: &BTreeMap<NodeId, ServiceNode>,
        io: &mut Io,
    ) -> bool {
        let nodes = vouched(&swarm, named, pool);
        if nodes.is_empty() {
            return false;
        }
        let keeps_one =
            |known: &[ServiceNode]| known.iter().any(|k| nodes.iter().any(|n| n.id() == k.id()));
        let replaces_all = self.get(&swarm).is_some_and(|known| !keeps_one(known));
        if replaces_all {
            let confirmed = self
                .unconfirmed
                .get(&swarm)
                .is_some_and(|(claim, by)| *by != from && keeps_one(claim));
            if !confirmed {
                self.unconfirmed.insert(swarm, (nodes, from));
                if !self.fetch.get(&swarm).is_some_and(Task::in_flight) {
                    self.fetch.insert(swarm, Task::NOW);
                }
                return true;
            }
        }
        self.unconfirmed.remove(&swarm);
        self.set(swarm, nodes, io);
        true
    }

    /// Whether a list for `swarm` waits for confirmation.
    pub(crate) fn unconfirmed(&self, swarm: &SwarmAddr) -> bool {
        self.unconfirmed.contains_key(swarm)
    }

    /// Replaces the members of `swarm` (persisted).
    fn set(&mut self, swarm: SwarmAddr, nodes: Vec<ServiceNode>, io: &mut Io) {
        io.persist(vec![PersistChange::Swarm {
            account: swarm,
            nodes: nodes.clone(),
        }]);
        self.members.insert(swarm, nodes);
    }

    /// Fetches `swarm` through a path from a random `pool` node (not one of the paths', nor
    /// the one whose list waits for confirmation), unless it is cached (and confirmed), being
    /// fetched or waiting for a retry.
    pub(crate) fn ensure<R: CryptoRng + ?Sized>(
        &mut self,
        swarm: SwarmAddr,
        pool: &BTreeMap<NodeId, ServiceNode>,
        net: &mut Net<'_>,
        rng: &mut R,
    ) {
        let now = net.now;
        let wanted = self.get(&swarm).is_none() || self.unconfirmed(&swarm);
        if !wanted || self.fetch.get(&swarm).is_some_and(|t| !t.is_due(now)) {
            return;
        }
        let mut in_paths: BTreeSet<NodeId> = net.paths.nodes();
        if let Some((_, by)) = self.unconfirmed.get(&swarm) {
            in_paths.insert(*by);
        }
        let sent = random_node(pool.values(), &in_paths, rng).and_then(|dest| {
            net.send_snode(
                &dest,
                wire::get_swarm_request(&swarm),
                Work::GetSwarm(swarm),
                rng,
            )
        });
        let task = match sent {
            Some(id) => Task::InFlight(id),
            None => Task::at(now.plus(net.config.retry_delay_ms)),
        };
        self.fetch.insert(swarm, task);
    }

    /// Asks a second node about every swarm whose new list waits for confirmation.
    pub(crate) fn ensure_unconfirmed<R: CryptoRng + ?Sized>(
        &mut self,
        pool: &BTreeMap<NodeId, ServiceNode>,
        net: &mut Net<'_>,
        rng: &mut R,
    ) {
        let waiting: Vec<SwarmAddr> = self.unconfirmed.keys().copied().collect();
        for swarm in waiting {
            self.ensure(swarm, pool, net, rng);
        }
    }

    /// The fetch of `swarm` failed, or was never sent: it is retried at `retry_at`.
    pub(crate) fn fetch_failed(&mut self, swarm: SwarmAddr, retry_at: LocalMs) {
        self.fetch.insert(swarm, Task::at(retry_at));
    }

    /// The fetch of `swarm` from `from` answered `body` (of a 200 reply). False if the
    /// answer was unusable (malformed, or naming no vouched member).
    pub(crate) fn fetched(
        &mut self,
        swarm: SwarmAddr,
        body: &[u8],
        from: NodeId,
        pool: &BTreeMap<NodeId, ServiceNode>,
        io: &mut Io,
        retry_at: LocalMs,
    ) -> bool {
        self.fetch.remove(&swarm);
        let accepted =
            wire::parse_swarm(body).is_some_and(|nodes| self.offer(swarm, &nodes, from, pool, io));
        if !accepted || self.unconfirmed(&swarm) {
            self.fetch.insert(swarm, Task::at(retry_at));
        }
        accepted
    }

    /// Removes `key` from every swarm (persisting the changed ones).
    pub(crate) fn remove_node(&mut self, key: &NodeId, io: &mut Io) {
        let mut changes = Vec::new();
        for (swarm, nodes) in self.members.iter_mut() {
            let len = nodes.len();
            nodes.retain(|n| n.id() != *key);
            if nodes.len() != len {
                changes.push(PersistChange::Swarm {
                    account: *swarm,
                    nodes: nodes.clone(),
                });
            }
        }
        self.members.retain(|_, nodes| !nodes.is_empty());
        for (claim, _) in self.unconfirmed.values_mut() {
            claim.retain(|n| n.id() != *key);
        }
        self.unconfirmed
            .retain(|_, (claim, by)| !claim.is_empty() && *by != *key);
        io.persist(changes);
    }

    /// When fetches are retried.
    pub(crate) fn next_due(&self) -> impl Iterator<Item = LocalMs> + '_ {
        self.fetch.values().filter_map(Task::due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(i: u8, swarm_id: Option<u64>) -> ServiceNode {
        ServiceNode {
            ip: format!("10.0.0.{i}"),
            port: 22000,
            ed25519: [i; 32],
            x25519: [i; 32],
            swarm_id,
        }
    }

    fn pool(nodes: &[ServiceNode]) -> BTreeMap<NodeId, ServiceNode> {
        nodes.iter().map(|n| (n.id(), n.clone())).collect()
    }

    #[test]
    fn only_pool_members_of_the_mapped_swarm_are_vouched_for() {
        // Account key 0: swarm space 0, nearest of the ids 10 and 1 << 62 is 10.
        let swarm = SwarmAddr {
            prefix: 0x05,
            key: [0; 32],
        };
        let known = [node(1, Some(10)), node(2, Some(10)), node(3, Some(1 << 62))];
        let mut moved = node(1, None);
        moved.ip = "66.6.6.6".into();
        let named = [
            moved,
            node(3, None),
            node(9, None),
            node(2, None),
            node(2, None),
        ];
        let got = vouched(&swarm, &named, &pool(&known));
        // The pool's entries, in the order named, once each; node 3 is in another swarm,
        // node 9 is no pool member.
        assert_eq!(got, vec![known[0].clone(), known[1].clone()]);
        // A pool without swarm ids vouches for its members only.
        let old = [node(1, None), node(3, None)];
        let got = vouched(&swarm, &named, &pool(&old));
        assert_eq!(got, vec![old[0].clone(), old[1].clone()]);
    }

    #[test]
    fn a_list_dropping_every_known_member_waits_for_a_second_node() {
        let swarm = SwarmAddr {
            prefix: 0x05,
            key: [0; 32],
        };
        let all: Vec<ServiceNode> = (1..=6).map(|i| node(i, None)).collect();
        let pool = pool(&all);
        let mut swarms = Swarms::with(BTreeMap::from([(swarm, all[..3].to_vec())]));
        let mut io = Io::default();
        let claim = all[3..].to_vec();
        assert!(swarms.offer(swarm, &claim, all[0].id(), &pool, &mut io));
        assert_eq!(swarms.get(&swarm), Some(&all[..3]), "one node's word");
        assert!(swarms.unconfirmed(&swarm));
        // The same node again does not confirm it; another node does.
        assert!(swarms.offer(swarm, &claim, all[0].id(), &pool, &mut io));
        assert_eq!(swarms.get(&swarm), Some(&all[..3]));
        assert!(swarms.offer(swarm, &claim[..2], all[1].id(), &pool, &mut io));
        assert_eq!(swarms.get(&swarm), Some(&claim[..2]));
        assert!(!swarms.unconfirmed(&swarm));
        // A list that keeps a member is taken at once; one naming no pool node is refused.
        assert!(swarms.offer(swarm, &all[1..4], all[5].id(), &pool, &mut io));
        assert_eq!(swarms.get(&swarm), Some(&all[1..4]));
        assert!(!swarms.offer(swarm, &[node(42, None)], all[5].id(), &pool, &mut io));
        assert_eq!(swarms.get(&swarm), Some(&all[1..4]));
    }
}
