//! Receiving: a set of [`Subscription`]s, each a namespace of a swarm polled with
//! `retrieve` from its members in turn, with its own `last_hash` per member, cadence and
//! `Task` state. Today's behaviour is the default subscription: namespace 0 of the own
//! `05` swarm, signed with the account key, decoded as 1:1 envelopes (`docs/protocol.md`
//! §4.6, §5.5). Other subscriptions (config namespaces, a group's swarm, …) are one
//! [`super::ClientCommand::Subscribe`] each; their messages are deduplicated by hash and
//! handed out raw in [`super::ClientEvent::SwarmMessages`] for the caller to decode. Swarm
//! members come from the swarm cache, keyed by [`SwarmAddr`]; subscriptions are not
//! persisted (the caller subscribes again after a restart), their last hashes are.
//!
//! This part decides when and whom to poll and what a retrieve answer means; it does not
//! fetch swarms (the swarm cache does) or keep dedup records (dedup does).

use std::collections::{BTreeMap, BTreeSet};

use rand_core::CryptoRng;

use super::{
    ClientConfig, ClientEvent, ClientStats, PersistChange, PollingMode, ReceivedMessage,
    ServiceNode, SwarmMessage,
    clock::Clock,
    dedup::{Dedup, IdCheck, REPLAY_MARGIN_MS, received_expiry},
    io::{Io, NO_PATH_RETRY_MS, Net, Work},
    outbox::retry_delay_ms,
    task::Task,
    wire,
};
use crate::{
    address::{LocalMs, NetMs, NodeId, StorageHash, SwarmAddr},
    identity::{AccountId, Identity},
    message::{classify, decode_envelope},
    rpc::{
        Namespace,
        params::{EdPubkey, RetrieveParams, Signature64},
        sign,
    },
};

/// Most messages taken from one retrieve answer (an answer may be up to 16 MiB of tiny
/// entries). Honest nodes cut answers by size (`rpc::validate::retrieve_max_size`); a cut
/// answer here is resumed from the last hash taken, so nothing honest is lost, and a hostile
/// answer costs at most this many dedup records.
pub(crate) const MAX_MESSAGES_PER_ANSWER: usize = 512;

/// Polls in a row repeated at once while answers bring messages; then the next waits for
/// the interval (a node feeding endless fresh entries cannot keep the client polling flat out).
const MAX_RAPID_POLLS: u32 = 8;

/// How a subscription's `retrieve` is authorised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SubscriptionAuth {
    /// Signed with the account's Ed25519 key (the own `05` swarm).
    Account,
    /// Unsigned (namespaces that allow it, `docs/protocol.md` §4.4).
    Unsigned,
}

/// One namespace of one swarm to poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Subscription {
    /// The swarm.
    pub swarm: SwarmAddr,
    /// The namespace.
    pub namespace: Namespace,
    /// How requests are authorised.
    pub auth: SubscriptionAuth,
    /// Poll interval (ms); `None` follows the [`PollingMode`] cadence.
    pub interval_ms: Option<u64>,
}

impl Subscription {
    /// Today's inbox: namespace 0 of the own swarm, signed with the account key.
    pub fn default_for(me: AccountId) -> Self {
        Subscription {
            swarm: me.into(),
            namespace: Namespace::DEFAULT,
            auth: SubscriptionAuth::Account,
            interval_ms: None,
        }
    }

    /// Whether messages are 1:1 envelopes to `me`, decoded here (namespace 0 of the own
    /// swarm).
    fn decodes_envelopes(&self, me: AccountId) -> bool {
        self.namespace == Namespace::DEFAULT && self.swarm == SwarmAddr::from(me)
    }

    /// Same swarm and namespace (what a subscription is keyed by).
    fn same_target(&self, other: &Subscription) -> bool {
        self.swarm == other.swarm && self.namespace == other.namespace
    }
}

struct Sub {
    id: u64,
    spec: Subscription,
    task: Task,
    /// Which member is next (rotating, one per poll round).
    cursor: usize,
    last_hashes: BTreeMap<NodeId, StorageHash>,
    /// The default subscription persists its last hashes in the pre-subscription form.
    is_default: bool,
    /// The jitter of the next regular poll (‰ of the interval), drawn when the last poll
    /// was sent (see [`next_poll_at`]).
    jitter_permille: i64,
    /// Failed polls in a row (for the backoff), and how many of them were wrong-swarm
    /// answers (421) in a row.
    failures: u32,
    misdirected: u32,
    /// Polls in a row repeated at once because messages came back.
    rapid: u32,
}

/// Largest jitter of the poll cadence, in ‰ of the interval (± 20 %).
const JITTER_PERMILLE: u64 = 200;

/// The time of the next regular poll: `interval_ms` after `now`, moved by `jitter_permille`
/// (drawn from the client's RNG when the poll was sent), so that the guard cannot read the
/// polling mode off an exact cadence (security review #19).
fn next_poll_at(now: LocalMs, interval_ms: u64, jitter_permille: i64) -> LocalMs {
    let shift = (interval_ms as i128 * i128::from(jitter_permille) / 1000) as i64;
    now.plus(interval_ms.saturating_add_signed(shift))
}

/// The subscriptions and the receive counters.
pub(crate) struct Poller {
    subs: Vec<Sub>,
    next_id: u64,
    mode: PollingMode,
    pub(crate) stats: ClientStats,
}

/// What handling a retrieve answer needs.
pub(crate) struct Receive<'a> {
    pub(crate) io: &'a mut Io,
    pub(crate) dedup: &'a mut Dedup,
    pub(crate) clock: &'a Clock,
    pub(crate) identity: &'a Identity,
    pub(crate) config: &'a ClientConfig,
}

/// The snapshot key of a subscription's last hashes: `<swarm hex>/<namespace>`.
pub(crate) fn snapshot_key(swarm: &SwarmAddr, namespace: Namespace) -> String {
    format!("{swarm}/{}", namespace.0)
}

impl Poller {
    /// A poller with the default subscription of `me`, resuming its last hashes
    /// (node hex → hash) and those of other subscriptions (by [`snapshot_key`]).
    pub(crate) fn new(
        me: AccountId,
        default_last: &BTreeMap<String, String>,
        other_last: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> Self {
        let mut poller = Poller {
            subs: Vec::new(),
            next_id: 0,
            mode: PollingMode::Foreground,
            stats: ClientStats::default(),
        };
        poller.subscribe(Subscription::default_for(me), LocalMs(0), other_last);
        if let Some(sub) = poller.subs.first_mut() {
            sub.is_default = true;
            sub.last_hashes = parse_hashes(default_last);
        }
        poller
    }

    /// Adds a subscription (or replaces the settings of the one with its swarm and
    /// namespace), due at `now`. Its last hashes are resumed from `persisted`.
    pub(crate) fn subscribe(
        &mut self,
        spec: Subscription,
        now: LocalMs,
        persisted: &BTreeMap<String, BTreeMap<String, String>>,
    ) {
        if let Some(sub) = self.subs.iter_mut().find(|s| s.spec.same_target(&spec)) {
            sub.spec = spec;
            return;
        }
        let last = persisted
            .get(&snapshot_key(&spec.swarm, spec.namespace))
            .map(parse_hashes)
            .unwrap_or_default();
        self.next_id += 1;
        self.subs.push(Sub {
            id: self.next_id,
            spec,
            task: Task::at(now),
            cursor: 0,
            last_hashes: last,
            is_default: false,
            jitter_permille: 0,
            failures: 0,
            misdirected: 0,
            rapid: 0,
        });
    }

    /// Removes the subscription to `namespace` of `swarm`. False if there was none.
    pub(crate) fn unsubscribe(&mut self, swarm: &SwarmAddr, namespace: Namespace) -> bool {
        let before = self.subs.len();
        self.subs
            .retain(|s| !(s.spec.swarm == *swarm && s.spec.namespace == namespace));
        self.subs.len() != before
    }

    /// The subscriptions.
    pub(crate) fn subscriptions(&self) -> Vec<Subscription> {
        self.subs.iter().map(|s| s.spec).collect()
    }

    /// The swarms that are polled.
    pub(crate) fn swarms(&self) -> BTreeSet<SwarmAddr> {
        self.subs.iter().map(|s| s.spec.swarm).collect()
    }

    /// The swarm polled by subscription `id`.
    pub(crate) fn swarm_of(&self, id: u64) -> Option<SwarmAddr> {
        self.subs.iter().find(|s| s.id == id).map(|s| s.spec.swarm)
    }

    fn interval(&self, spec: &Subscription, config: &ClientConfig) -> u64 {
        spec.interval_ms.unwrap_or(match self.mode {
            PollingMode::Foreground => config.poll_foreground_ms,
            PollingMode::Background => config.poll_background_ms,
        })
    }

    /// Polls every subscription at once.
    pub(crate) fn poll_now(&mut self, now: LocalMs) {
        for sub in &mut self.subs {
            if !sub.task.in_flight() {
                sub.task = Task::at(now);
            }
        }
    }

    /// Switches the cadence; polls due later than one new interval come sooner.
    pub(crate) fn set_mode(&mut self, mode: PollingMode, config: &ClientConfig, now: LocalMs) {
        self.mode = mode;
        for i in 0..self.subs.len() {
            let soon = now.plus(self.interval(&self.subs[i].spec, config));
            if let Some(due) = self.subs[i].task.due() {
                self.subs[i].task = Task::at(due.min(soon));
            }
        }
    }

    /// When idle subscriptions whose swarm is known (`known`) are due.
    pub(crate) fn next_due(&self, known: impl Fn(&SwarmAddr) -> bool) -> Vec<LocalMs> {
        self.subs
            .iter()
            .filter(|s| known(&s.spec.swarm))
            .filter_map(|s| s.task.due())
            .collect()
    }

    /// Sends a `retrieve` for every due subscription whose swarm `members` knows, to its
    /// next member.
    pub(crate) fn dispatch<'m, R: CryptoRng + ?Sized>(
        &mut self,
        members: impl Fn(&SwarmAddr) -> Option<&'m [ServiceNode]>,
        identity: &Identity,
        clock: &Clock,
        net: &mut Net<'_>,
        rng: &mut R,
    ) {
        let now = net.now;
        for sub in self.subs.iter_mut().filter(|s| s.task.is_due(now)) {
            let Some(members) = members(&sub.spec.swarm) else {
                continue;
            };
            let node = members[sub.cursor % members.len()].clone();
            sub.cursor = sub.cursor.wrapping_add(1);
            sub.jitter_permille =
                (rng.next_u64() % (2 * JITTER_PERMILLE + 1)) as i64 - JITTER_PERMILLE as i64;
            let mut params = RetrieveParams {
                pubkey: sub.spec.swarm,
                namespace: sub.spec.namespace,
                last_hash: sub.last_hashes.get(&node.id()).map(|h| h.0.clone()),
                max_count: None,
                max_size: None,
                timestamp: None,
                signature: None,
                pubkey_ed25519: None,
            };
            if sub.spec.auth == SubscriptionAuth::Account {
                let timestamp = clock.net(now);
                let msg = sign::retrieve(sub.spec.namespace, timestamp.0);
                params.timestamp = Some(timestamp.0);
                params.signature = Some(Signature64(identity.sign(&msg)));
                params.pubkey_ed25519 = Some(EdPubkey(identity.ed25519_public()));
            }
            let payload = wire::rpc_request("retrieve", &params);
            let work = Work::Retrieve {
                sub: sub.id,
                node: node.id(),
            };
            match net.send_snode(&node, payload, work, rng) {
                Some(id) => sub.task.start(id),
                // No path avoids this member right now: try the next one shortly.
                None => sub.task = Task::at(now.plus(NO_PATH_RETRY_MS)),
            }
        }
    }

    /// The retrieve of subscription `id` failed: polled again after a backoff that grows
    /// with the failures in a row (the next member is asked). `counts` is false for a 421:
    /// the first in a row polls the new swarm at once, the next ones back off too.
    pub(crate) fn failed(&mut self, id: u64, counts: bool, now: LocalMs) {
        if let Some(sub) = self.subs.iter_mut().find(|s| s.id == id) {
            sub.failures = sub.failures.saturating_add(1);
            sub.misdirected = if counts {
                0
            } else {
                sub.misdirected.saturating_add(1)
            };
            sub.rapid = 0;
            sub.task = Task::at(now.plus(retry_delay_ms(sub.failures, sub.misdirected)));
        }
    }

    /// Subscription `id`'s retrieve was never sent (the driver could not make its step
    /// durable): poll again shortly, counting nothing.
    pub(crate) fn unsent(&mut self, id: u64, now: LocalMs) {
        if let Some(sub) = self.subs.iter_mut().find(|s| s.id == id) {
            sub.task = Task::at(now.plus(NO_PATH_RETRY_MS));
        }
    }

    /// Goes back to durable last hashes (the driver failed to store newer ones): the
    /// messages after them are retrieved again.
    pub(crate) fn revert_last_hashes(
        &mut self,
        default_last: &BTreeMap<String, String>,
        other_last: &BTreeMap<String, BTreeMap<String, String>>,
    ) {
        for sub in &mut self.subs {
            sub.last_hashes = if sub.is_default {
                parse_hashes(default_last)
            } else {
                other_last
                    .get(&snapshot_key(&sub.spec.swarm, sub.spec.namespace))
                    .map(parse_hashes)
                    .unwrap_or_default()
            };
        }
    }

    /// Subscription `id`'s retrieve from `node` answered `body`. False if the answer was
    /// malformed (the caller counts a failure of the node).
    pub(crate) fn retrieved(
        &mut self,
        id: u64,
        node: NodeId,
        body: &[u8],
        rx: &mut Receive<'_>,
        now: LocalMs,
    ) -> bool {
        let Some(pos) = self.subs.iter().position(|s| s.id == id) else {
            return true;
        };
        // `more` is not needed: an answer that brought messages is followed by another poll
        // anyway, and one that brought none is no reason to poll again at once.
        let Some((mut messages, _more)) = wire::parse_retrieve(body) else {
            let sub = &mut self.subs[pos];
            sub.failures = sub.failures.saturating_add(1);
            sub.task = Task::at(now.plus(retry_delay_ms(sub.failures, 0)));
            return false;
        };
        // At most this many per answer: the rest is neither recorded nor shown, and the
        // last hash advances only over what was taken (the next poll asks for the rest).
        messages.truncate(MAX_MESSAGES_PER_ANSWER);
        let got_any = !messages.is_empty();
        let mut changes = Vec::new();
        if let Some(last) = messages.last() {
            let sub = &mut self.subs[pos];
            sub.last_hashes.insert(node, last.hash.clone());
            let (swarm, namespace) = if sub.is_default {
                (None, None)
            } else {
                (Some(sub.spec.swarm), Some(sub.spec.namespace))
            };
            changes.push(PersistChange::LastHash {
                node: node.to_string(),
                hash: last.hash.0.clone(),
                swarm,
                namespace,
            });
        }
        let spec = self.subs[pos].spec;
        let (mut records, events) = if spec.decodes_envelopes(rx.identity.account_id()) {
            self.receive_envelopes(messages, rx, now)
        } else {
            receive_raw(spec, messages, rx, now)
        };
        // Records first, then the last hash (as before subscriptions).
        records.append(&mut changes);
        if let Some(prune) = rx.dedup.prune(rx.clock.net(now)) {
            records.push(prune);
        }
        // Persist before showing: the dedup records must be durable first.
        rx.io.persist(records);
        for e in events {
            rx.io.notify(e);
        }
        let interval = self.interval(&spec, rx.config);
        let jitter = self.subs[pos].jitter_permille;
        let sub = &mut self.subs[pos];
        sub.failures = 0;
        sub.misdirected = 0;
        // Poll again at once only when messages came back, and not more than a few times in
        // a row.
        sub.rapid = if got_any { sub.rapid + 1 } else { 0 };
        sub.task = Task::at(if got_any && sub.rapid <= MAX_RAPID_POLLS {
            now
        } else {
            sub.rapid = 0;
            next_poll_at(now, interval, jitter)
        });
        true
    }

    /// Decodes retrieved 1:1 messages, drops duplicates, stale replays and malformed ones;
    /// the dedup records to persist and the events to emit.
    fn receive_envelopes(
        &mut self,
        messages: Vec<wire::RetrievedMessage>,
        rx: &mut Receive<'_>,
        now: LocalMs,
    ) -> (Vec<PersistChange>, Vec<ClientEvent>) {
        let me = rx.identity.account_id();
        let net_now = rx.clock.net(now);
        let ttl = rx.config.message_ttl_ms;
        let max_ttl = Namespace::DEFAULT.max_ttl_ms();
        let mut changes = Vec::new();
        let mut events = Vec::new();
        for msg in messages {
            let expires = received_expiry(msg.expiration_ms, net_now, ttl, max_ttl);
            if rx.dedup.check_hash(&msg.hash, expires) {
                self.stats.duplicates_dropped += 1;
                continue;
            }
            let mut record = super::SeenRecord {
                hash: Some(msg.hash.0.clone()),
                author: None,
                sent_ms: None,
                expires_ms: expires.0,
            };
            match msg.data.as_deref().map(|d| decode_envelope(rx.identity, d)) {
                Some(Ok(incoming)) => {
                    let sent = NetMs(incoming.sent_timestamp_ms);
                    record.author = Some(incoming.sender);
                    record.sent_ms = Some(sent.0);
                    let stale = sent.plus(ttl + REPLAY_MARGIN_MS) < net_now;
                    match rx.dedup.check_id((incoming.sender, sent), expires, stale) {
                        IdCheck::New => {
                            // A contact claiming to write in our name elsewhere, an unsend
                            // of another author's message, or fields over their limits.
                            let classified = classify(&incoming, &me);
                            let sync_target = incoming.sync_target(&me);
                            if let (Ok(event), Ok(sync_target)) = (classified, sync_target) {
                                let dm = incoming.content.data_message.as_ref();
                                self.stats.received += 1;
                                let order =
                                    sent.clamp(net_now.minus(ttl), net_now.plus(REPLAY_MARGIN_MS));
                                events.push(ClientEvent::MessageReceived(ReceivedMessage {
                                    from: incoming.sender,
                                    sync_target,
                                    sent_ms: sent.0,
                                    received_ms: net_now.0,
                                    order_ms: order.0,
                                    body: dm.and_then(|d| d.body.clone()).unwrap_or_default(),
                                    hash: msg.hash.0.clone(),
                                    profile_name: dm
                                        .and_then(|d| d.profile.as_ref())
                                        .and_then(|p| p.display_name.clone()),
                                    event,
                                    expiration_ms: msg.expiration_ms.map(|e| e.0),
                                }));
                            } else {
                                self.stats.malformed_dropped += 1;
                            }
                        }
                        IdCheck::Stale => self.stats.stale_dropped += 1,
                        // (Our own sent messages coming back are expected, not duplicates.)
                        IdCheck::Seen if incoming.sender != me => {
                            self.stats.duplicates_dropped += 1;
                        }
                        IdCheck::Seen => {}
                    }
                }
                _ => self.stats.malformed_dropped += 1,
            }
            changes.push(PersistChange::Seen(record));
        }
        (changes, events)
    }
}

/// Deduplicates retrieved messages of a raw subscription by hash and hands the new ones out.
fn receive_raw(
    spec: Subscription,
    messages: Vec<wire::RetrievedMessage>,
    rx: &mut Receive<'_>,
    now: LocalMs,
) -> (Vec<PersistChange>, Vec<ClientEvent>) {
    let net_now = rx.clock.net(now);
    let max_ttl = spec.namespace.max_ttl_ms();
    let mut changes = Vec::new();
    let mut fresh = Vec::new();
    for msg in messages {
        let expires = received_expiry(msg.expiration_ms, net_now, max_ttl, max_ttl);
        if rx.dedup.check_hash(&msg.hash, expires) {
            continue;
        }
        changes.push(PersistChange::Seen(super::SeenRecord {
            hash: Some(msg.hash.0.clone()),
            author: None,
            sent_ms: None,
            expires_ms: expires.0,
        }));
        if let Some(data) = msg.data {
            fresh.push(SwarmMessage {
                hash: msg.hash,
                data,
                expiration_ms: msg.expiration_ms,
            });
        }
    }
    let events = if fresh.is_empty() {
        Vec::new()
    } else {
        vec![ClientEvent::SwarmMessages {
            subscription: spec,
            messages: fresh,
        }]
    };
    (changes, events)
}

fn parse_hashes(map: &BTreeMap<String, String>) -> BTreeMap<NodeId, StorageHash> {
    map.iter()
        .filter_map(|(node, hash)| {
            Some((NodeId(wire::parse_hex32(node)?), StorageHash(hash.clone())))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_poll_is_the_interval_moved_by_at_most_a_fifth() {
        let now = LocalMs(1_000);
        assert_eq!(next_poll_at(now, 5_000, 0), LocalMs(6_000));
        assert_eq!(next_poll_at(now, 5_000, 200), LocalMs(7_000));
        assert_eq!(next_poll_at(now, 5_000, -200), LocalMs(5_000));
        assert_eq!(next_poll_at(now, 1_000, -37), LocalMs(1_963));
    }
}
