//! Own-swarm operations: signed `expire` (shorten, for delete-after-read) and `delete`
//! (unsend) of this account's messages in its own swarm (`docs/protocol.md` §4.4, §4.5, §9).
//! Each is durable ([`PersistChange::OwnOp`]) and retried with the outbox backoff until a
//! member carries it out, answers 404 (nothing left to do) or the attempts run out (the
//! swarm's TTL still removes the messages in time).
//!
//! This part builds and signs the requests; it does not decide which hashes to touch.

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use super::{
    ClientError, PersistChange, ServiceNode,
    io::{Io, NO_PATH_RETRY_MS, Net, Work},
    outbox::retry_delay_ms,
    pick::pick,
    task::Task,
    wire,
};
use crate::{
    address::{LocalMs, NetMs, SwarmAddr},
    identity::Identity,
    rpc::{
        params::{DeleteParams, EdPubkey, ExpireParams, Signature64},
        sign,
    },
};

/// A signed request on the own swarm that must eventually be carried out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OwnSwarmOpKind {
    /// `expire` with `shorten`: these messages expire at `expiry_ms` at the latest
    /// (delete-after-read, `docs/protocol.md` §9).
    Expire {
        /// Storage hashes.
        hashes: Vec<String>,
        /// New expiry (network ms).
        expiry_ms: NetMs,
    },
    /// `delete`: remove these messages (unsend).
    Delete {
        /// Storage hashes.
        hashes: Vec<String>,
    },
}

/// One pending own-swarm operation (durable, retried with the outbox backoff).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnSwarmOp {
    /// Unique id (assigned by the client).
    pub id: u64,
    /// What to do.
    pub kind: OwnSwarmOpKind,
    /// Attempts made so far.
    pub attempts: u32,
    /// Earliest time (local clock, ms) of the next attempt.
    pub next_attempt_ms: LocalMs,
}

struct Op {
    op: OwnSwarmOp,
    /// Idle until `op.next_attempt_ms`, or in flight.
    task: Task,
    /// Wrong-swarm answers (421) in a row.
    misdirected: u32,
}

/// The pending own-swarm operations.
pub(crate) struct OwnOps {
    ops: Vec<Op>,
    next_id: u64,
}

impl Default for OwnOps {
    fn default() -> Self {
        OwnOps {
            ops: Vec::new(),
            next_id: 1,
        }
    }
}

impl OwnOps {
    /// Resumes operations from a snapshot, all due at once.
    pub(crate) fn restore(&mut self, ops: Vec<OwnSwarmOp>) {
        for mut op in ops {
            self.next_id = self.next_id.max(op.id + 1);
            op.next_attempt_ms = LocalMs(0);
            self.ops.push(Op {
                op,
                task: Task::NOW,
                misdirected: 0,
            });
        }
    }

    /// Goes back to the durable `ops` (the driver failed to store newer ones); those whose
    /// request is still in flight (`in_flight`: op id → request) stay waiting for it.
    pub(crate) fn revert(
        &mut self,
        ops: Vec<OwnSwarmOp>,
        in_flight: &std::collections::BTreeMap<u64, super::RequestId>,
    ) {
        let next_id = self.next_id;
        self.ops.clear();
        self.restore(ops);
        // Ids handed out in the lost step are not reused.
        self.next_id = self.next_id.max(next_id);
        for o in &mut self.ops {
            if let Some(id) = in_flight.get(&o.op.id) {
                o.task.start(*id);
            }
        }
    }

    /// Operation `id`'s request was never sent: due again shortly, the attempt not counted.
    pub(crate) fn unsent(&mut self, id: u64, now: LocalMs) {
        if let Some(o) = self.ops.iter_mut().find(|o| o.op.id == id) {
            o.op.attempts = o.op.attempts.saturating_sub(1);
            o.op.next_attempt_ms = now.plus(NO_PATH_RETRY_MS);
            o.task = Task::at(o.op.next_attempt_ms);
        }
    }

    /// The pending operations.
    pub(crate) fn list(&self) -> Vec<OwnSwarmOp> {
        self.ops.iter().map(|o| o.op.clone()).collect()
    }

    /// Queues a new operation (persisted).
    ///
    /// # Errors
    ///
    /// [`ClientError::NoHashes`] without hashes.
    pub(crate) fn queue(
        &mut self,
        kind: OwnSwarmOpKind,
        now: LocalMs,
        io: &mut Io,
    ) -> Result<(), ClientError> {
        let (OwnSwarmOpKind::Expire { hashes, .. } | OwnSwarmOpKind::Delete { hashes }) = &kind;
        if hashes.is_empty() {
            return Err(ClientError::NoHashes);
        }
        let op = OwnSwarmOp {
            id: self.next_id,
            kind,
            attempts: 0,
            next_attempt_ms: now,
        };
        self.next_id += 1;
        io.persist(vec![PersistChange::OwnOp(op.clone())]);
        self.ops.push(Op {
            op,
            task: Task::at(now),
            misdirected: 0,
        });
        Ok(())
    }

    /// Sends every due operation to a member of the own swarm (`members`).
    pub(crate) fn dispatch<R: CryptoRng + ?Sized>(
        &mut self,
        own: SwarmAddr,
        members: &[ServiceNode],
        identity: &Identity,
        net: &mut Net<'_>,
        rng: &mut R,
    ) {
        if members.is_empty() {
            return;
        }
        let now = net.now;
        let ed25519 = Some(EdPubkey(identity.ed25519_public()));
        for entry in self.ops.iter_mut().filter(|o| o.task.is_due(now)) {
            let payload = match &entry.op.kind {
                OwnSwarmOpKind::Expire { hashes, expiry_ms } => {
                    let msg = sign::expire(sign::ExpireMode::Shorten, expiry_ms.0, hashes);
                    let params = ExpireParams {
                        pubkey: own,
                        pubkey_ed25519: ed25519,
                        messages: hashes.clone(),
                        expiry: expiry_ms.0,
                        shorten: true,
                        extend: false,
                        signature: Some(Signature64(identity.sign(&msg))),
                    };
                    wire::rpc_request("expire", &params)
                }
                OwnSwarmOpKind::Delete { hashes } => {
                    let params = DeleteParams {
                        pubkey: own,
                        pubkey_ed25519: ed25519,
                        messages: hashes.clone(),
                        signature: Some(Signature64(identity.sign(&sign::delete(hashes)))),
                        required: false,
                    };
                    wire::rpc_request("delete", &params)
                }
            };
            let dest = &members[pick(rng, members.len())];
            let work = Work::OwnOp { id: entry.op.id };
            match net.send_snode(dest, payload, work, rng) {
                Some(id) => {
                    entry.task.start(id);
                    entry.op.attempts += 1;
                }
                None => {
                    entry.op.next_attempt_ms = now.plus(NO_PATH_RETRY_MS);
                    entry.task = Task::at(entry.op.next_attempt_ms);
                }
            }
        }
    }

    /// Operation `id` is done (carried out, or nothing left to do).
    pub(crate) fn done(&mut self, id: u64, io: &mut Io) {
        self.ops.retain(|o| o.op.id != id);
        io.persist(vec![PersistChange::OwnOpDone { id }]);
    }

    /// Operation `id` failed; `counts` is false for a wrong-swarm answer (421: retried at
    /// once the first time in a row, then with backoff). Given up after `max_attempts`
    /// attempts of any kind.
    pub(crate) fn failed(
        &mut self,
        id: u64,
        counts: bool,
        max_attempts: u32,
        now: LocalMs,
        io: &mut Io,
    ) {
        let Some(pos) = self.ops.iter().position(|o| o.op.id == id) else {
            return;
        };
        let entry = &mut self.ops[pos];
        if entry.op.attempts >= max_attempts {
            // Given up: the swarm's own TTL still removes the message in time.
            self.done(id, io);
            return;
        }
        entry.misdirected = if counts { 0 } else { entry.misdirected + 1 };
        let delay = retry_delay_ms(entry.op.attempts, entry.misdirected);
        entry.op.next_attempt_ms = now.plus(delay);
        entry.task = Task::at(entry.op.next_attempt_ms);
        io.persist(vec![PersistChange::OwnOp(entry.op.clone())]);
    }

    /// When idle operations are due.
    pub(crate) fn next_due(&self) -> impl Iterator<Item = LocalMs> + '_ {
        self.ops.iter().filter_map(|o| o.task.due())
    }
}
