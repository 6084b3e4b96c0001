//! The service-node pool: fetched from a seed (directly) while too small, refreshed through
//! paths every `pool_refresh_ms` (`oxend_request get_service_nodes`), and the failure
//! count of each node (a node failing `failure_threshold` times is dropped).
//!
//! A refresh asks [`REFRESH_ASK`] different nodes, each through an onion path, as Session
//! desktop does (`session-desktop` `ts/session/apis/snode_api/getServiceNodesList.ts`,
//! `getSnodePoolFromSnodes`), and trusts only what every answer agrees on: a node enters the
//! pool only if all answers list it identically, at least `min_pool_size` nodes must be
//! agreed on, and a known node leaves only when no answer lists it any more. The answers are
//! merged into the pool, never replace it, and a round that fails the check changes and
//! persists nothing. One malicious node therefore cannot fill the pool with its own nodes
//! (security review #1).
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
    /// Refreshing the pool through paths. Due at 0 means "not scheduled yet".
    refresh: Task,
    /// The refresh round under way: requests still unanswered, the answers so far, and
    /// whether some request could not be sent or gave no usable answer.
    refresh_waiting: usize,
    refresh_answers: Vec<Vec<ServiceNode>>,
    refresh_spoiled: bool,
    /// Refresh rounds failed in a row (for the backoff).
    refresh_failures: u32,
}

/// How many different nodes a pool refresh asks (Session desktop asks 3).
pub(crate) const REFRESH_ASK: usize = 3;

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
        if self.nodes.len() >= Self::wanted(config) {
            return;
        }
        // The configuration's bootstrap list first: it costs no request.
        let before = self.nodes.len();
        for n in &config.bootstrap {
            self.nodes.entry(n.id()).or_insert_with(|| n.clone());
        }
        if self.nodes.len() > before {
            self.persist(io);
        }
        // Through a bridge nothing but onion requests leaves: no seed is asked (a seed
        // request would tell the bridge, and the seed, who is starting up).
        if self.nodes.len() >= Self::wanted(config)
            || io.route.via_bridge()
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
        if self.nodes.len() < REFRESH_ASK {
            self.refresh.idle_until(now.plus(net.config.retry_delay_ms));
            return;
        }
        // Different nodes, preferably outside the paths (their path can then be any).
        let in_paths = net.paths.nodes();
        let mut chosen: BTreeSet<NodeId> = BTreeSet::new();
        let mut last = None;
        self.refresh_answers.clear();
        self.refresh_spoiled = false;
        for _ in 0..REFRESH_ASK {
            let outside: BTreeSet<NodeId> = in_paths.union(&chosen).copied().collect();
            let Some(dest) = self
                .random(&outside, rng)
                .or_else(|| self.random(&chosen, rng))
            else {
                break;
            };
            chosen.insert(dest.id());
            match net.send_snode(&dest, wire::oxend_pool_request(), Work::PoolRefresh, rng) {
                Some(id) => {
                    self.refresh_waiting += 1;
                    last = Some(id);
                }
                None => self.refresh_spoiled = true,
            }
        }
        match last {
            Some(id) => self.refresh.start(id),
            None => self.refresh_round_failed(net.config, now),
        }
    }

    /// One refresh request answered (`Some` body of a 200 reply) or failed. When the round's
    /// last answer is in, the answers are checked and merged (see the module documentation).
    pub(crate) fn refreshed(
        &mut self,
        body: Option<&[u8]>,
        io: &mut Io,
        config: &ClientConfig,
        now: LocalMs,
    ) {
        match body.and_then(wire::parse_node_list) {
            Some(nodes) => self.refresh_answers.push(nodes),
            None => self.refresh_spoiled = true,
        }
        self.refresh_waiting = self.refresh_waiting.saturating_sub(1);
        if self.refresh_waiting > 0 {
            return;
        }
        let answers = std::mem::take(&mut self.refresh_answers);
        let spoiled = std::mem::take(&mut self.refresh_spoiled);
        if !spoiled && answers.len() == REFRESH_ASK && self.merge(&answers, config.min_pool_size) {
            self.refresh_failures = 0;
            self.refresh.idle_until(now.plus(config.pool_refresh_ms));
            self.persist(io);
        } else {
            self.refresh_round_failed(config, now);
        }
    }

    /// A refresh round gave nothing usable: try again later, with a delay doubling per
    /// failed round (≤ 64×, never beyond the refresh interval).
    fn refresh_round_failed(&mut self, config: &ClientConfig, now: LocalMs) {
        self.refresh_failures = self.refresh_failures.saturating_add(1);
        let factor = 1u64 << self.refresh_failures.min(6);
        let delay = config
            .retry_delay_ms
            .saturating_mul(factor)
            .min(config.pool_refresh_ms.max(config.retry_delay_ms));
        self.refresh.idle_until(now.plus(delay));
    }

    /// Merges refresh answers into the pool if at least `min` nodes are listed identically
    /// by every answer: agreed nodes are added (or updated), known nodes some answer still
    /// lists stay, known nodes no answer lists leave. False (and nothing changed) otherwise.
    fn merge(&mut self, answers: &[Vec<ServiceNode>], min: usize) -> bool {
        let Some((first, rest)) = answers.split_first() else {
            return false;
        };
        let maps: Vec<BTreeMap<NodeId, &ServiceNode>> = rest
            .iter()
            .map(|a| a.iter().map(|n| (n.id(), n)).collect())
            .collect();
        let agreed: BTreeMap<NodeId, ServiceNode> = first
            .iter()
            .filter(|n| maps.iter().all(|m| m.get(&n.id()) == Some(n)))
            .map(|n| (n.id(), n.clone()))
            .collect();
        if agreed.len() < min.max(1) {
            return false;
        }
        let listed: BTreeSet<NodeId> = answers.iter().flatten().map(ServiceNode::id).collect();
        self.nodes.retain(|k, _| listed.contains(k));
        self.nodes.extend(agreed);
        let nodes = &self.nodes;
        self.failures.retain(|k, _| nodes.contains_key(k));
        true
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
    pub(crate) fn next_due(
        &self,
        config: &ClientConfig,
        have_paths: bool,
        io: &Io,
    ) -> Vec<LocalMs> {
        let mut times = Vec::new();
        // (Through a bridge seeds are never asked: see `ensure_seeded`.)
        if self.nodes.len() < Self::wanted(config)
            && !io.route.via_bridge()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn node(i: u8) -> ServiceNode {
        ServiceNode {
            ip: format!("10.0.0.{i}"),
            port: 22000,
            ed25519: [i; 32],
            x25519: [i; 32],
            swarm_id: None,
        }
    }

    fn nodes(range: std::ops::Range<u8>) -> Vec<ServiceNode> {
        range.map(node).collect()
    }

    fn keys(pool: &Pool) -> Vec<u8> {
        pool.nodes.keys().map(|k| k.0[0]).collect()
    }

    fn answer(list: &[ServiceNode]) -> Vec<u8> {
        let states: Vec<serde_json::Value> = list
            .iter()
            .map(|n| {
                serde_json::json!({"public_ip": n.ip, "storage_port": n.port,
                    "pubkey_ed25519": hex::encode(n.ed25519),
                    "pubkey_x25519": hex::encode(n.x25519)})
            })
            .collect();
        serde_json::json!({"result": {"service_node_states": states}})
            .to_string()
            .into_bytes()
    }

    /// Feeds one refresh round of `answers` (as bodies) and returns the persist actions.
    fn round(pool: &mut Pool, answers: &[Option<Vec<u8>>], min: usize) -> usize {
        let config = ClientConfig {
            min_pool_size: min,
            ..ClientConfig::default()
        };
        let mut io = Io::default();
        pool.refresh_waiting = answers.len();
        for a in answers {
            pool.refreshed(a.as_deref(), &mut io, &config, LocalMs(5));
        }
        std::iter::from_fn(|| io.pop_action()).count()
    }

    #[test]
    fn new_nodes_need_every_answer_and_known_nodes_leave_only_when_none_lists_them() {
        let mut pool = Pool::with_nodes(nodes(1..9));
        // Known 1..=8; every answer lists 3..=10; one also lists 1 and a node 50 of its own.
        let honest = nodes(3..11);
        let mut evil = honest.clone();
        evil.extend([node(1), node(50)]);
        let persisted = round(
            &mut pool,
            &[
                Some(answer(&honest)),
                Some(answer(&evil)),
                Some(answer(&honest)),
            ],
            8,
        );
        assert_eq!(persisted, 1);
        assert_eq!(keys(&pool), vec![1, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(pool.refresh_failures, 0);
    }

    #[test]
    fn a_round_that_fails_the_check_changes_and_persists_nothing() {
        let start = nodes(1..9);
        let mut pool = Pool::with_nodes(start.clone());
        let own: Vec<ServiceNode> = (100..108).map(node).collect();
        // Too few agreed nodes: one answer is the attacker's own 8.
        let bodies = [
            Some(answer(&nodes(1..13))),
            Some(answer(&own)),
            Some(answer(&nodes(1..13))),
        ];
        assert_eq!(round(&mut pool, &bodies, 8), 0);
        assert_eq!(keys(&pool), (1..9).collect::<Vec<u8>>());
        // A failed or malformed answer spoils the round.
        let bodies = [
            Some(answer(&nodes(1..13))),
            None,
            Some(answer(&nodes(1..13))),
        ];
        assert_eq!(round(&mut pool, &bodies, 8), 0);
        let bodies = [
            Some(answer(&nodes(1..13))),
            Some(b"not json".to_vec()),
            Some(answer(&nodes(1..13))),
        ];
        assert_eq!(round(&mut pool, &bodies, 8), 0);
        // Answers that differ in a node's address do not agree on it.
        let mut moved = nodes(1..13);
        moved[0].ip = "66.6.6.6".into();
        let bodies = [
            Some(answer(&nodes(1..13))),
            Some(answer(&moved)),
            Some(answer(&nodes(1..13))),
        ];
        assert_eq!(round(&mut pool, &bodies, 12), 0);
        assert_eq!(pool.nodes.values().cloned().collect::<Vec<_>>(), start);
        assert_eq!(pool.refresh_failures, 4);
        // The backoff doubles and stays below the refresh interval.
        assert!(matches!(pool.refresh.due(), Some(t) if t.0 > 5 + 1_000));
    }
}
