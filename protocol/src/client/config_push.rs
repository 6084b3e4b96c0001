//! Config pushes: a signed `store` of a config message into a private namespace of the own
//! swarm (TTL 30 days) and a `delete` of the messages it supersedes, as one `sequence`
//! (`docs/protocol.md` §4.4, §10; libsession `ConfigBase::push`, the clients' config
//! sync job). Answered once with [`ClientEvent::ConfigPushed`]: the new message's hash, or
//! failure after the attempts run out.
//!
//! Not durable: a push lost with the page is built again by the caller, whose config state
//! still says it needs pushing (libsession's `Waiting` state survives in its dump). What to
//! push and which hashes are obsolete is the caller's (`config::ConfigState::push`).

use rand_core::CryptoRng;

use super::{
    ClientEvent, ServiceNode,
    clock::Clock,
    io::{Io, NO_PATH_RETRY_MS, Net, Work},
    outbox::retry_delay_ms,
    pick::pick,
    task::Task,
    wire,
};
use crate::{
    address::{LocalMs, SwarmAddr},
    config::CONFIG_TTL_MS,
    identity::Identity,
    rpc::{
        MAX_DATA_BYTES, Namespace,
        params::{BatchParams, Data, DeleteParams, EdPubkey, RpcRequest, Signature64, StoreParams},
        sign,
    },
};

/// Why a config push failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigPushError {
    /// No member stored it within the attempts (network, clock, or the node refused).
    #[error("config push failed")]
    Failed,
}

struct Push {
    tag: u64,
    namespace: Namespace,
    data: Vec<u8>,
    obsolete: Vec<String>,
    attempts: u32,
    misdirected: u32,
    task: Task,
}

/// The config pushes under way.
#[derive(Default)]
pub(crate) struct ConfigPushes {
    pushes: Vec<Push>,
}

impl ConfigPushes {
    /// Whether a push with this tag is under way.
    pub(crate) fn contains(&self, tag: u64) -> bool {
        self.pushes.iter().any(|p| p.tag == tag)
    }

    /// Queues a push (due at once).
    pub(crate) fn queue(
        &mut self,
        tag: u64,
        namespace: Namespace,
        data: Vec<u8>,
        obsolete: Vec<String>,
    ) {
        self.pushes.push(Push {
            tag,
            namespace,
            data,
            obsolete,
            attempts: 0,
            misdirected: 0,
            task: Task::NOW,
        });
    }

    /// The signed `sequence[store, delete?]` of one push at network time `now_net`.
    fn request(
        p: &Push,
        own: SwarmAddr,
        identity: &Identity,
        now_net: u64,
    ) -> Result<Vec<u8>, serde_json::Error> {
        let ed25519 = Some(EdPubkey(identity.ed25519_public()));
        let store = StoreParams {
            pubkey: own,
            timestamp: now_net,
            ttl: Some(CONFIG_TTL_MS),
            expiry: None,
            data: Data(p.data.clone()),
            namespace: p.namespace,
            signature: Some(Signature64(
                identity.sign(&sign::store(p.namespace, now_net)),
            )),
            pubkey_ed25519: ed25519,
            sig_timestamp: Some(now_net),
        };
        let mut requests = vec![RpcRequest {
            method: "store".into(),
            params: serde_json::to_value(&store)?,
        }];
        if !p.obsolete.is_empty() {
            let delete = DeleteParams {
                pubkey: own,
                pubkey_ed25519: ed25519,
                messages: p.obsolete.clone(),
                signature: Some(Signature64(identity.sign(&sign::delete(&p.obsolete)))),
                required: false,
            };
            requests.push(RpcRequest {
                method: "delete".into(),
                params: serde_json::to_value(&delete)?,
            });
        }
        Ok(wire::rpc_request("sequence", &BatchParams { requests }))
    }

    /// Sends every due push to a member of the own swarm (`members`).
    pub(crate) fn dispatch<R: CryptoRng + ?Sized>(
        &mut self,
        own: SwarmAddr,
        members: &[ServiceNode],
        identity: &Identity,
        clock: &Clock,
        net: &mut Net<'_>,
        rng: &mut R,
    ) {
        if members.is_empty() || !clock.is_synced() {
            return;
        }
        let now = net.now;
        let now_net = clock.net(now).0;
        let mut failed = Vec::new();
        for p in self.pushes.iter_mut().filter(|p| p.task.is_due(now)) {
            let Ok(payload) = Self::request(p, own, identity, now_net) else {
                failed.push(p.tag);
                continue;
            };
            let dest = &members[pick(rng, members.len())];
            match net.send_snode(dest, payload, Work::ConfigPush { tag: p.tag }, rng) {
                Some(id) => {
                    p.task.start(id);
                    p.attempts += 1;
                }
                None => p.task = Task::at(now.plus(NO_PATH_RETRY_MS)),
            }
        }
        for tag in failed {
            self.finish(tag, Err(ConfigPushError::Failed), net.io);
        }
    }

    fn finish(&mut self, tag: u64, result: Result<String, ConfigPushError>, io: &mut Io) {
        let Some(pos) = self.pushes.iter().position(|p| p.tag == tag) else {
            return;
        };
        let p = self.pushes.remove(pos);
        io.notify(ClientEvent::ConfigPushed {
            tag,
            namespace: p.namespace,
            result,
        });
    }

    /// The answer (HTTP 200) of push `tag`: done if the `store` of the sequence succeeded
    /// (the `delete` is best effort: what it misses expires). `false` if the answer does not
    /// say so (the push is retried).
    pub(crate) fn answered(
        &mut self,
        tag: u64,
        body: &[u8],
        own: SwarmAddr,
        max_attempts: u32,
        now: LocalMs,
        io: &mut Io,
    ) -> bool {
        let Some(p) = self.pushes.iter().find(|p| p.tag == tag) else {
            return true;
        };
        let stored = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("results")?.get(0)?.get("code")?.as_u64())
            == Some(200);
        if !stored {
            self.failed(tag, true, max_attempts, now, io);
            return false;
        }
        let hash = crate::rpc::message_hash(&own, p.namespace, &p.data);
        self.finish(tag, Ok(hash), io);
        true
    }

    /// Push `tag` failed (`counts`: false for a wrong-swarm answer); given up after
    /// `max_attempts`.
    pub(crate) fn failed(
        &mut self,
        tag: u64,
        counts: bool,
        max_attempts: u32,
        now: LocalMs,
        io: &mut Io,
    ) {
        let Some(p) = self.pushes.iter_mut().find(|p| p.tag == tag) else {
            return;
        };
        if p.attempts >= max_attempts {
            self.finish(tag, Err(ConfigPushError::Failed), io);
            return;
        }
        p.misdirected = if counts { 0 } else { p.misdirected + 1 };
        p.task = Task::at(now.plus(retry_delay_ms(p.attempts, p.misdirected)));
    }

    /// Push `tag`'s request was never sent: due again shortly, the attempt not counted.
    pub(crate) fn unsent(&mut self, tag: u64, now: LocalMs) {
        if let Some(p) = self.pushes.iter_mut().find(|p| p.tag == tag) {
            p.attempts = p.attempts.saturating_sub(1);
            p.task = Task::at(now.plus(NO_PATH_RETRY_MS));
        }
    }

    /// When idle pushes are due.
    pub(crate) fn next_due(&self) -> impl Iterator<Item = LocalMs> + '_ {
        self.pushes.iter().filter_map(|p| p.task.due())
    }
}

/// Whether `data` fits one stored message.
pub(crate) fn fits(data: &[u8]) -> bool {
    data.len() <= MAX_DATA_BYTES
}
