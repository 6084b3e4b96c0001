//! Onion paths: testing guard candidates (a direct `info`, which names nobody: the
//! candidate sees our IP, so the request must not carry the account), building paths of
//! `config.hops` nodes from the pool, counting path failures and the path indicator.
//!
//! A path that fails `failure_threshold` times is dropped with its guard (the desktop
//! client's rule, `session-desktop` `ts/session/onions/onionPath.ts`). This part reads the
//! pool but does not own it, and it sends only guard tests; onion requests are built by
//! `io::Net` through [`Paths::choose`].

use std::collections::{BTreeMap, BTreeSet};

use rand_core::CryptoRng;

use super::{ClientConfig, ClientEvent, PathStatus, ServiceNode, io::Io, pick::pick, task::Task};
use crate::{
    address::{LocalMs, NodeId},
    onion::PathHop,
};

/// One onion path, guard first.
pub(crate) struct Path {
    hops: Vec<ServiceNode>,
    failures: u32,
}

impl Path {
    /// The hops as the onion builder takes them.
    pub(crate) fn hops(&self) -> Vec<PathHop> {
        self.hops
            .iter()
            .map(|n| PathHop {
                ed25519: n.ed25519,
                x25519: n.x25519,
            })
            .collect()
    }

    /// The guard (first hop).
    pub(crate) fn guard(&self) -> &ServiceNode {
        &self.hops[0]
    }

    fn contains(&self, key: &NodeId) -> bool {
        self.hops.iter().any(|h| h.id() == *key)
    }
}

/// The onion paths and the guards being tested.
pub(crate) struct Paths {
    paths: Vec<Path>,
    /// Guard candidates: in flight while tested, idle until the end of a cooldown after a
    /// failed test.
    guards: BTreeMap<NodeId, Task>,
    /// Tested guards waiting to become paths.
    pending: Vec<ServiceNode>,
    /// The last attempts failed (for [`PathStatus::Failing`]).
    pub(crate) failing: bool,
    status: PathStatus,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            paths: Vec::new(),
            guards: BTreeMap::new(),
            pending: Vec::new(),
            failing: false,
            status: PathStatus::Building,
        }
    }
}

impl Paths {
    /// Whether no path is usable.
    pub(crate) fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// The nodes of each path, guard first.
    pub(crate) fn list(&self) -> Vec<Vec<ServiceNode>> {
        self.paths.iter().map(|p| p.hops.clone()).collect()
    }

    /// Every node of every path.
    pub(crate) fn nodes(&self) -> BTreeSet<NodeId> {
        self.paths
            .iter()
            .flat_map(|p| p.hops.iter().map(ServiceNode::id))
            .collect()
    }

    fn nodes_in_use(&self) -> BTreeSet<NodeId> {
        let mut used = self.nodes();
        used.extend(
            self.guards
                .iter()
                .filter(|(_, t)| t.in_flight())
                .map(|(k, _)| *k),
        );
        used.extend(self.pending.iter().map(ServiceNode::id));
        used
    }

    /// A random path that does not contain `avoid`.
    pub(crate) fn choose<R: CryptoRng + ?Sized>(
        &self,
        avoid: Option<NodeId>,
        rng: &mut R,
    ) -> Option<&Path> {
        let eligible: Vec<&Path> = self
            .paths
            .iter()
            .filter(|p| avoid.is_none_or(|k| !p.contains(&k)))
            .collect();
        if eligible.is_empty() {
            return None;
        }
        Some(eligible[pick(rng, eligible.len())])
    }

    /// Turns tested guards into paths and tests new guard candidates from `pool`.
    pub(crate) fn ensure<R: CryptoRng + ?Sized>(
        &mut self,
        pool: &BTreeMap<NodeId, ServiceNode>,
        io: &mut Io,
        config: &ClientConfig,
        now: LocalMs,
        rng: &mut R,
    ) {
        self.guards.retain(|_, t| !t.is_due(now));
        while let Some(guard) = self.pending.pop() {
            if self.paths.len() >= config.path_count || !pool.contains_key(&guard.id()) {
                continue;
            }
            let relays = config.hops.saturating_sub(1);
            // The guard was popped from `pending`, so `nodes_in_use` no longer lists it: it
            // is excluded by name, or a path `[G,R,G]` would let one node see both the
            // client and the destination (security review #3).
            let mut used = self.nodes_in_use();
            used.insert(guard.id());
            let mut fresh: Vec<ServiceNode> = pool
                .values()
                .filter(|n| !used.contains(&n.id()))
                .cloned()
                .collect();
            // With a small pool, relays may be shared between paths (never guards, neither
            // of a path nor of a tested guard waiting to become one).
            if fresh.len() < relays {
                let mut guards: BTreeSet<NodeId> =
                    self.paths.iter().map(|p| p.guard().id()).collect();
                guards.extend(self.pending.iter().map(ServiceNode::id));
                guards.insert(guard.id());
                fresh = pool
                    .values()
                    .filter(|n| !guards.contains(&n.id()))
                    .cloned()
                    .collect();
            }
            if fresh.len() < relays {
                continue;
            }
            let mut hops = vec![guard];
            while hops.len() < config.hops {
                let i = pick(rng, fresh.len());
                hops.push(fresh.swap_remove(i));
            }
            self.paths.push(Path { hops, failures: 0 });
            self.failing = false;
        }
        while self.paths.len() + self.testing() < config.path_count && pool.len() >= config.hops {
            let used = self.nodes_in_use();
            let candidates: Vec<&ServiceNode> = pool
                .values()
                .filter(|n| !used.contains(&n.id()) && !self.guards.contains_key(&n.id()))
                .collect();
            if candidates.is_empty() {
                break;
            }
            let guard = candidates[pick(rng, candidates.len())].clone();
            let key = guard.id();
            match io.send_guard_test(config, now, guard, rng) {
                Some(id) => self.guards.insert(key, Task::InFlight(id)),
                // An unusable key: cool down until it is dropped.
                None => self.guards.insert(
                    key,
                    Task::Idle {
                        due: now.plus(config.retry_delay_ms),
                    },
                ),
            };
        }
    }

    fn testing(&self) -> usize {
        self.guards.values().filter(|t| t.in_flight()).count()
    }

    /// The test of `guard` ended: `valid` if it answered a well-formed `info`. A valid guard
    /// still in the pool waits to become a path; an invalid one cools down.
    pub(crate) fn guard_tested(
        &mut self,
        guard: ServiceNode,
        valid: bool,
        in_pool: bool,
        config: &ClientConfig,
        now: LocalMs,
    ) {
        self.guards.remove(&guard.id());
        if valid {
            if in_pool {
                self.pending.push(guard);
            }
        } else {
            self.guards
                .insert(guard.id(), Task::at(now.plus(10 * config.retry_delay_ms)));
            self.failing = true;
        }
    }

    /// A request through the path of `guard` succeeded.
    pub(crate) fn path_ok(&mut self, guard: &NodeId) {
        if let Some(p) = self.paths.iter_mut().find(|p| p.guard().id() == *guard) {
            p.failures = 0;
        }
    }

    /// A request through the path of `guard` failed. True if the path was dropped: the
    /// caller then drops the guard node too.
    pub(crate) fn path_failed(&mut self, guard: &NodeId, threshold: u32) -> bool {
        let Some(i) = self.paths.iter().position(|p| p.guard().id() == *guard) else {
            return false;
        };
        self.paths[i].failures += 1;
        if self.paths[i].failures < threshold {
            return false;
        }
        self.paths.remove(i);
        self.failing = true;
        true
    }

    /// Drops every path that contains `key`.
    pub(crate) fn remove_node(&mut self, key: &NodeId) {
        let before = self.paths.len();
        self.paths.retain(|p| !p.contains(key));
        if self.paths.len() != before {
            self.failing = true;
        }
    }

    /// When a guard cooldown ends, if more paths are wanted.
    pub(crate) fn next_due(&self, config: &ClientConfig) -> Vec<LocalMs> {
        if self.paths.len() + self.testing() + self.pending.len() >= config.path_count {
            return Vec::new();
        }
        self.guards.values().filter_map(Task::due).collect()
    }

    /// The path indicator; a change is announced.
    pub(crate) fn update_status(&mut self, io: &mut Io) {
        let status = if !self.paths.is_empty() {
            PathStatus::Connected
        } else if self.failing {
            PathStatus::Failing
        } else {
            PathStatus::Building
        };
        if status != self.status {
            self.status = status;
            io.notify(ClientEvent::PathStatusChanged(status));
        }
    }

    /// The current indicator.
    pub(crate) fn status(&self) -> PathStatus {
        self.status
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;
    use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};

    use super::*;
    use crate::client::pick::pick;

    fn node(i: usize) -> ServiceNode {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
        ServiceNode {
            ip: format!("10.0.{}.{}", i / 250, i % 250 + 1),
            port: 22000,
            ed25519: key,
            x25519: key,
            swarm_id: None,
        }
    }

    /// Every path has `hops` distinct pool nodes, no two paths share a guard, no relay is a
    /// guard, and `choose` never returns a path containing the node to avoid.
    fn check(
        paths: &Paths,
        pool: &BTreeMap<NodeId, ServiceNode>,
        hops: usize,
        rng: &mut ChaCha20Rng,
    ) {
        let guards: BTreeSet<NodeId> = paths.paths.iter().map(|p| p.guard().id()).collect();
        assert_eq!(guards.len(), paths.paths.len(), "a guard serves two paths");
        for p in &paths.paths {
            let ids: BTreeSet<NodeId> = p.hops.iter().map(ServiceNode::id).collect();
            assert_eq!(p.hops.len(), hops, "path length");
            assert_eq!(ids.len(), hops, "a node appears twice in one path");
            assert!(
                ids.iter().all(|k| pool.contains_key(k)),
                "node outside the pool"
            );
            assert!(
                p.hops[1..].iter().all(|h| !guards.contains(&h.id())),
                "a guard is a relay"
            );
        }
        for dest in pool.keys() {
            if let Some(p) = paths.choose(Some(*dest), rng) {
                assert!(!p.contains(dest), "path contains its destination");
            }
        }
    }

    /// Drives `ensure` with guard tests that pass or fail at random, then drops random
    /// nodes (as the client does after failures) and rebuilds, checking after every step.
    fn drive(seed: u64, pool_size: usize, path_count: usize) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let config = ClientConfig {
            path_count,
            ..ClientConfig::default()
        };
        let mut pool: BTreeMap<NodeId, ServiceNode> =
            (0..pool_size).map(node).map(|n| (n.id(), n)).collect();
        let mut paths = Paths::default();
        let mut io = Io::default();
        let mut now = LocalMs(1_000);
        for _ in 0..12 {
            paths.ensure(&pool, &mut io, &config, now, &mut rng);
            check(&paths, &pool, config.hops, &mut rng);
            for f in io.take_expired(LocalMs(u64::MAX)) {
                if let super::super::io::Work::GuardTest(g) = f.work {
                    let valid = pick(&mut rng, 4) != 0;
                    let in_pool = pool.contains_key(&g.id());
                    paths.guard_tested(g, valid, in_pool, &config, now);
                }
            }
            paths.ensure(&pool, &mut io, &config, now, &mut rng);
            check(&paths, &pool, config.hops, &mut rng);
            if pick(&mut rng, 3) == 0 && pool.len() > config.hops {
                let keys: Vec<NodeId> = pool.keys().copied().collect();
                let gone = keys[pick(&mut rng, keys.len())];
                pool.remove(&gone);
                paths.remove_node(&gone);
            }
            now = now.plus(20 * config.retry_delay_ms);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn paths_have_distinct_hops_and_avoid_the_destination(
            seed in any::<u64>(),
            pool_size in 3usize..=30,
            path_count in 1usize..=4,
        ) {
            drive(seed, pool_size, path_count);
        }
    }
}
