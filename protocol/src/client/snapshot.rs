//! Durable client state: the [`PersistChange`]s the client emits and the [`ClientSnapshot`]
//! they build up. The worker applies each change to its store (IndexedDB) in one transaction;
//! loading the stored snapshot and passing it to [`super::Client::new`] resumes the client
//! (unsent outbox entries, `last_hash` per node, dedup records, node pool, swarms, the
//! network time offset).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{OutboxEntry, OutboxState, OwnSwarmOp, ServiceNode, poller::snapshot_key};
use crate::{address::SwarmAddr, identity::AccountId, rpc::Namespace};

/// One durable state change. Apply them in order with [`ClientSnapshot::apply`] (or write
/// the equivalent records to a database).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PersistChange {
    /// Insert or replace an outbox entry (keyed by `local_id`). An entry in state
    /// [`OutboxState::Sent`] is final: the snapshot drops it.
    Outbox(OutboxEntry),
    /// The last message hash retrieved from a node (Ed25519 hex) for a subscription: the
    /// default one (own swarm, namespace 0) when `swarm` and `namespace` are absent.
    LastHash {
        /// The node's Ed25519 public key, hex.
        node: String,
        /// The storage hash.
        hash: String,
        /// The subscription's swarm (`None`: the default subscription).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        swarm: Option<SwarmAddr>,
        /// The subscription's namespace (`None`: the default subscription).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        namespace: Option<Namespace>,
    },
    /// A received message, remembered for deduplication until `expires_ms` (network time).
    Seen(SeenRecord),
    /// The whole service-node pool, replaced.
    Pool(Vec<ServiceNode>),
    /// The members of a swarm, replaced.
    Swarm {
        /// The swarm (an account's or a group's).
        account: SwarmAddr,
        /// Its swarm members.
        nodes: Vec<ServiceNode>,
    },
    /// Forget dedup records that expired before this time (network ms).
    PruneSeen {
        /// Cut-off time.
        before_ms: u64,
    },
    /// Insert or replace a pending own-swarm operation (keyed by `id`).
    OwnOp(OwnSwarmOp),
    /// An own-swarm operation is done (or abandoned): forget it.
    OwnOpDone {
        /// Its id.
        id: u64,
    },
    /// The network time offset (network minus device clock, ms), so a restart offline
    /// stamps with it.
    ClockOffset {
        /// The offset.
        offset_ms: i64,
    },
}

/// A received message's dedup keys: its storage hash and its (sender, sent timestamp) id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenRecord {
    /// Storage hash (`None` for the record of a message this account sent).
    pub hash: Option<String>,
    /// Authenticated sender, if the message decoded.
    pub author: Option<AccountId>,
    /// Sent timestamp, if the message decoded.
    pub sent_ms: Option<u64>,
    /// Keep until this network time (ms).
    pub expires_ms: u64,
}

/// Everything the client needs to resume. Serializable (serde) for the worker's store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSnapshot {
    /// Outbox entries not yet sent, in creation order.
    pub outbox: Vec<OutboxEntry>,
    /// `last_hash` per node (Ed25519 hex) of the default subscription.
    pub last_hashes: BTreeMap<String, String>,
    /// `last_hash` per node of other subscriptions, by `<swarm hex>/<namespace>`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub subscription_last_hashes: BTreeMap<String, BTreeMap<String, String>>,
    /// Dedup records.
    pub seen: Vec<SeenRecord>,
    /// Known service nodes.
    pub pool: Vec<ServiceNode>,
    /// Cached swarms.
    pub swarms: BTreeMap<SwarmAddr, Vec<ServiceNode>>,
    /// Pending own-swarm operations (expire, delete).
    #[serde(default)]
    pub own_ops: Vec<OwnSwarmOp>,
    /// The last known network time offset (ms), if a node ever told the time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_offset_ms: Option<i64>,
}

impl ClientSnapshot {
    /// Applies one change.
    pub fn apply(&mut self, change: &PersistChange) {
        match change {
            PersistChange::Outbox(entry) => {
                let pos = self
                    .outbox
                    .iter()
                    .position(|e| e.local_id == entry.local_id);
                match (pos, entry.state == OutboxState::Sent) {
                    (Some(i), true) => {
                        self.outbox.remove(i);
                    }
                    (Some(i), false) => self.outbox[i] = entry.clone(),
                    (None, true) => {}
                    (None, false) => self.outbox.push(entry.clone()),
                }
            }
            PersistChange::LastHash {
                node,
                hash,
                swarm,
                namespace,
            } => {
                let map = match (swarm, namespace) {
                    (Some(s), Some(ns)) => self
                        .subscription_last_hashes
                        .entry(snapshot_key(s, *ns))
                        .or_default(),
                    _ => &mut self.last_hashes,
                };
                map.insert(node.clone(), hash.clone());
            }
            PersistChange::Seen(rec) => self.seen.push(rec.clone()),
            PersistChange::Pool(nodes) => self.pool = nodes.clone(),
            PersistChange::Swarm { account, nodes } => {
                self.swarms.insert(*account, nodes.clone());
            }
            PersistChange::PruneSeen { before_ms } => {
                self.seen.retain(|r| r.expires_ms >= *before_ms);
            }
            PersistChange::OwnOp(op) => match self.own_ops.iter().position(|o| o.id == op.id) {
                Some(i) => self.own_ops[i] = op.clone(),
                None => self.own_ops.push(op.clone()),
            },
            PersistChange::OwnOpDone { id } => self.own_ops.retain(|o| o.id != *id),
            PersistChange::ClockOffset { offset_ms } => self.clock_offset_ms = Some(*offset_ms),
        }
    }
}
