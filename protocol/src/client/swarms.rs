//! The swarm cache: the members of each swarm the client talks to, keyed by [`SwarmAddr`]
//! (an account's `05` swarm, a group's `03` swarm), fetched with `get_swarm` through a path
//! when missing and replaced by the list a `421` answer carries.
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
use crate::address::{LocalMs, NodeId, SwarmAddr};

/// Cached swarms and their fetches.
#[derive(Default)]
pub(crate) struct Swarms {
    members: BTreeMap<SwarmAddr, Vec<ServiceNode>>,
    /// Swarms being fetched, or waiting to be fetched again after a failure.
    fetch: BTreeMap<SwarmAddr, Task>,
}

impl Swarms {
    /// A cache starting with `swarms` (from a snapshot).
    pub(crate) fn with(swarms: BTreeMap<SwarmAddr, Vec<ServiceNode>>) -> Self {
        Swarms {
            members: swarms,
            fetch: BTreeMap::new(),
        }
    }

    /// The members of `swarm`, if known (never empty).
    pub(crate) fn get(&self, swarm: &SwarmAddr) -> Option<&[ServiceNode]> {
        self.members
            .get(swarm)
            .map(Vec::as_slice)
            .filter(|m| !m.is_empty())
    }

    /// Replaces the members of `swarm` (persisted).
    pub(crate) fn set(&mut self, swarm: SwarmAddr, nodes: Vec<ServiceNode>, io: &mut Io) {
        io.persist(vec![PersistChange::Swarm {
            account: swarm,
            nodes: nodes.clone(),
        }]);
        self.members.insert(swarm, nodes);
    }

    /// Fetches `swarm` through a path from a random `pool` node (not one of the paths'),
    /// unless it is cached, being fetched or waiting for a retry.
    pub(crate) fn ensure<R: CryptoRng + ?Sized>(
        &mut self,
        swarm: SwarmAddr,
        pool: &BTreeMap<NodeId, ServiceNode>,
        net: &mut Net<'_>,
        rng: &mut R,
    ) {
        let now = net.now;
        if self.get(&swarm).is_some() || self.fetch.get(&swarm).is_some_and(|t| !t.is_due(now)) {
            return;
        }
        let in_paths: BTreeSet<NodeId> = net.paths.nodes();
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

    /// The fetch of `swarm` answered (`Some` body of a 200 reply) or failed.
    pub(crate) fn fetched(
        &mut self,
        swarm: SwarmAddr,
        body: Option<&[u8]>,
        io: &mut Io,
        retry_at: LocalMs,
    ) {
        match body.and_then(wire::parse_swarm) {
            Some(nodes) if !nodes.is_empty() => {
                self.fetch.remove(&swarm);
                self.set(swarm, nodes, io);
            }
            _ => {
                self.fetch.insert(swarm, Task::at(retry_at));
            }
        }
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
        io.persist(changes);
    }

    /// When fetches are retried.
    pub(crate) fn next_due(&self) -> impl Iterator<Item = LocalMs> + '_ {
        self.fetch.values().filter_map(Task::due)
    }
}
