//! The service-node pool: fetched from a seed (directly) while too small, refreshed through
//! a path every `pool_refresh_ms` (`oxend_request get_service_nodes`), and the failure
//! count of each node (a node failing `failure_threshold` times is dropped).
//!
//! This part owns the node list only. Dropping a node from paths and swarms is the
//! façade's job ([`super::Client`]), which this part tells when a node reached the threshold.

use std::collections::{BTreeMap, BTreeSet};

use rand_core::CryptoRng;

use super::{
    ClientConfig, PersistChange, ServiceNode,
    io::{Io, Net, Work},
    pick::random_node,
    task::Task,
    wire,
};
use crate::address::{LocalMs, NodeId};

/// Known service nodes and their failure counts.
#[derive(Default)]
pub(crate) struct Pool {
    nodes: BTreeMap<NodeId, ServiceNode>,
    failures: BTreeMap<NodeId, u32>,
    /// Fetching the pool from a seed.
    seed: Task,
    /// Seeds tried since the last success (which seed is next, and the backoff).
    seed_index: usize,
    /// Refreshing the pool through a path. Due at 0 means "not scheduled yet".
    refresh: Task,
}

impl Pool {
    /// A pool starting with `nodes` (from a snapshot).
    pub(crate) fn with_nodes(nodes: Vec<ServiceNode>) -> Self {
        Pool {
            nodes: nodes.into_iter().map(|n| (n.id(), n)).collect(),
            ..Pool::default()
        }
    }

    /// The nodes by key.
    pub(crate) fn nodes(&self) -> &BTreeMap<NodeId, ServiceNode> {
        &self.nodes
    }

    /// Whether `key` is a known node.
    pub(crate) fn contains(&self, key: &NodeId) -> bool {
        self.nodes.contains_key(key)
    }

    /// A random known node not in `exclude`.
    pub(crate) fn random<R: CryptoRng + ?Sized>(
        &self,
        exclude: &BTreeSet<NodeId>,
        rng: &mut R,
    ) -> Option<ServiceNode> {
        random_node(self.nodes.values(), exclude, rng)
    }

    fn wanted(config: &ClientConfig) -> usize {
        config.min_pool_size.max(config.hops)
    }

    fn persist(&self, io: &mut Io) {
        io.persist(vec![PersistChange::Pool(
            self.nodes.values().cloned().collect(),
        )]);
    }

    /// Asks the next seed for nodes if the pool is too small and no seed request is due later.
    pub(crate) fn ensure_seeded(&mut self, io: &mut Io, config: &ClientConfig, now: LocalMs) {
        if self.nodes.len() >= Self::wanted(config)
            || !self.seed.is_due(now)
            || config.seed_urls.is_empty()
        {
            return;
        }
        let seed = &config.seed_urls[self.seed_index % config.seed_urls.len()];
        let url = format!("{}/json_rpc", seed.trim_end_matches('/'));
        let id = io.send_direct(config, now, url, wire::seed_request(), Work::Seed);
        self.seed.start(id);
    }

    /// The seed answered (`body` of a 200) or failed (`None`). False if it gave no nodes.
    pub(crate) fn seeded(
        &mut self,
        body: Option<&[u8]>,
        io: &mut Io,
        config: &ClientConfig,
        now: LocalMs,
    ) -> bool {
        self.seed.idle_until(LocalMs(0));
        match body.and_then(wire::parse_node_list) {
            Some(nodes) if !nodes.is_empty() => {
                self.seed_index = 0;
                for n in nodes {
                    self.nodes.insert(n.id(), n);
                }
                self.failures.clear();
                self.persist(io);
                true
            }
            _ => {
                // Next seed, with a delay doubling per round of failed seeds (≤ 64×).
                self.seed_index += 1;
                let rounds = self.seed_index / config.seed_urls.len().max(1);
                let factor = 1u64 << rounds.min(6);
                self.seed
                    .idle_until(now.plus(config.retry_delay_ms * factor));
                false
            }
        }
    }

    /// Starts a refresh through a path when due (the first time, only schedules it: the pool
    /// came from the seed or the snapshot just now).
    pub(crate) fn dispatch_refresh<R: CryptoRng + ?Sized>(
        &mut self,
        net: &mut Net<'_>,
        rng: &mut R,
    ) {
        let now = net.now;
        if !self.refresh.is_due(now) {
            return;
        }
        if self.refresh.due() == Some(LocalMs(0)) {
            self.refresh
                .idle_until(now.plus(net.config.pool_refresh_ms));
            return;
        }
        let sent = self.random(&net.paths.nodes(), rng).and_then(|dest| {
            net.send_snode(&dest, wire::oxend_pool_request(), Work::PoolRefresh, rng)
        });
        match sent {
            Some(id) => self.refresh.start(id),
            None => self.refresh.idle_until(now.plus(net.config.retry_delay_ms)),
        }
    }

    /// The refresh answered (`Some` body of a 200 reply) or failed.
    pub(crate) fn refreshed(
        &mut self,
        body: Option<&[u8]>,
        io: &mut Io,
        config: &ClientConfig,
        now: LocalMs,
    ) {
        let Some(body) = body else {
            self.refresh.idle_until(now.plus(config.retry_delay_ms));
            return;
        };
        self.refresh.idle_until(now.plus(config.pool_refresh_ms));
        if let Some(nodes) = wire::parse_node_list(body)
            && nodes.len() >= config.min_pool_size
        {
            self.nodes = nodes.into_iter().map(|n| (n.id(), n)).collect();
            self.persist(io);
        }
    }

    /// A request to `key` failed. True if it reached the threshold: drop it everywhere.
    pub(crate) fn node_failed(&mut self, key: &NodeId, threshold: u32) -> bool {
        let count = self.failures.entry(*key).or_insert(0);
        *count += 1;
        *count >= threshold
    }

    /// `key` answered well.
    pub(crate) fn node_ok(&mut self, key: &NodeId) {
        self.failures.remove(key);
    }

    /// Forgets `key` (persisting the pool if it was in it).
    pub(crate) fn remove(&mut self, key: &NodeId, io: &mut Io) {
        self.failures.remove(key);
        if self.nodes.remove(key).is_some() {
            self.persist(io);
        }
    }

    /// When to call again for the pool's sake: a seed retry while the pool is too small; a
    /// refresh once paths exist.
    pub(crate) fn next_due(&self, config: &ClientConfig, have_paths: bool) -> Vec<LocalMs> {
        let mut times = Vec::new();
        if self.nodes.len() < Self::wanted(config)
            && let Some(t) = self.seed.due()
        {
            times.push(t);
        }
        if have_paths && let Some(t) = self.refresh.due() {
            times.push(t);
        }
        times
    }
}
