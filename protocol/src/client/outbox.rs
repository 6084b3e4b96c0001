//! The durable outbox: every message the user sends is an [`OutboxEntry`] from the moment it
//! is composed until a swarm member acknowledges it with a signed receipt. Each state change
//! is emitted as a persist change, and a client restored from a snapshot resumes the entries
//! that are not yet sent. Dispatch keeps one store in flight per recipient, oldest first.
//!
//! This part does not choose the sent timestamp (dedup allocates it) or fetch swarms.

use std::collections::{BTreeMap, BTreeSet};

use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use ed25519_dalek::{Signature, VerifyingKey};
use prost::Message as _;
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use super::{
    ClientError, ClientEvent, LocalId, PersistChange, ServiceNode,
    clock::Clock,
    dedup::Dedup,
    io::{Io, NO_PATH_RETRY_MS, Net, Work},
    pick::pick,
    swarms::Swarms,
    wire,
};
use crate::{
    address::{LocalMs, NetMs, NodeId, StorageHash, SwarmAddr},
    identity::{AccountId, Identity},
    message::{
        Outgoing, cap_storage_ttl_ms, encode_for_1o1,
        proto::{Content, DataMessage, ExpirationType, LokiProfile},
    },
    rpc::{self, Namespace},
};

/// Where an outgoing message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutboxState {
    /// Waiting for its turn (or for a retry time after a failure).
    Pending,
    /// A store request is in flight.
    Sending,
    /// A swarm member acknowledged the store.
    Sent,
    /// Gave up after too many attempts; [`super::ClientCommand::Retry`] re-queues it.
    Failed,
}

/// One outgoing 1:1 text message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The caller's id for the message (unique per account).
    pub local_id: LocalId,
    /// Recipient.
    pub to: AccountId,
    /// Message text.
    pub body: String,
    /// The message's sent timestamp (network time, ms); with the sender it identifies the
    /// message, so every retry carries the same value and receivers drop repeats. 0 until
    /// assigned (at the first attempt when the network time was not yet known at composing).
    pub sent_ms: NetMs,
    /// Current state.
    pub state: OutboxState,
    /// Send attempts made so far.
    pub attempts: u32,
    /// Earliest time (local clock, ms) of the next attempt while `Pending`.
    pub next_attempt_ms: LocalMs,
    /// Storage hash acknowledged by the swarm, once `Sent`.
    pub hash: Option<String>,
    /// Set on the sync copy of a message (stored in the own swarm, `docs/protocol.md` §5.5):
    /// the partner the original went to. Sync copies are internal: they are persisted but
    /// not announced with `OutboxUpdated`.
    #[serde(default)]
    pub sync_target: Option<AccountId>,
    /// The protobuf `Content` to send (any kind composed by [`crate::message::compose`]),
    /// base64 of its encoding. `None` for a plain text entry (`body`), as before this field.
    #[serde(default)]
    pub content: Option<String>,
    /// Storage TTL (ms); `None` means the client's configured message TTL.
    #[serde(default)]
    pub ttl_ms: Option<u64>,
    /// Whether a sync copy goes to the own swarm once this is sent; `None` means the client's
    /// configuration (entries from before this field).
    #[serde(default)]
    pub sync_copy: Option<bool>,
    /// A short-lived notice (typing indicator): never persisted, no events, dropped once its
    /// TTL has passed instead of being retried.
    #[serde(default)]
    pub ephemeral: bool,
}

/// What dispatching the outbox needs besides the outbox.
pub(crate) struct Dispatch<'a, 'n> {
    pub(crate) net: &'a mut Net<'n>,
    pub(crate) swarms: &'a mut Swarms,
    pub(crate) pool: &'a BTreeMap<NodeId, ServiceNode>,
    pub(crate) dedup: &'a mut Dedup,
    pub(crate) clock: &'a Clock,
    pub(crate) identity: &'a Identity,
}

/// The outbox: entries not yet acknowledged, in creation order.
#[derive(Default)]
pub(crate) struct Outbox {
    entries: Vec<OutboxEntry>,
    /// The member whose store of an entry failed last (the next attempt avoids it).
    last_failed_node: BTreeMap<LocalId, NodeId>,
    /// Wrong-swarm answers (421) in a row per entry: the first is retried at once, later
    /// ones back off.
    misdirected: BTreeMap<LocalId, u32>,
}

impl Outbox {
    /// Entries in creation order.
    pub(crate) fn entries(&self) -> &[OutboxEntry] {
        &self.entries
    }

    /// Resumes entries from a snapshot: unsent ones are queued again (those that were in
    /// flight at once).
    pub(crate) fn restore(&mut self, entries: Vec<OutboxEntry>) {
        for mut entry in entries {
            if entry.state == OutboxState::Sent {
                continue;
            }
            if entry.state == OutboxState::Sending {
                entry.state = OutboxState::Pending;
                entry.next_attempt_ms = LocalMs(0);
            }
            self.entries.push(entry);
        }
    }

    /// Goes back to the durable `entries` (the driver failed to store newer states). Entries
    /// whose store is still in flight (`in_flight`) stay [`OutboxState::Sending`], so they
    /// are not sent twice at once.
    pub(crate) fn revert(&mut self, entries: Vec<OutboxEntry>, in_flight: &BTreeSet<LocalId>) {
        // Typing indicators are never persisted: keep the ones not yet sent.
        let ephemeral: Vec<OutboxEntry> = self
            .entries
            .iter()
            .filter(|e| e.ephemeral)
            .cloned()
            .collect();
        self.entries.clear();
        self.restore(entries);
        for e in &mut self.entries {
            if in_flight.contains(&e.local_id) {
                e.state = OutboxState::Sending;
            }
        }
        self.entries.extend(ephemeral);
        let known: BTreeSet<LocalId> = self.entries.iter().map(|e| e.local_id.clone()).collect();
        self.last_failed_node.retain(|id, _| known.contains(id));
        self.misdirected.retain(|id, _| known.contains(id));
    }

    /// The store of `local_id` was never sent (the driver could not make its step
    /// durable): pending again shortly, the attempt not counted.
    pub(crate) fn unsent(&mut self, local_id: &LocalId, now: LocalMs) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.local_id == *local_id)
            && e.state == OutboxState::Sending
        {
            e.state = OutboxState::Pending;
            e.attempts = e.attempts.saturating_sub(1);
            e.next_attempt_ms = now.plus(NO_PATH_RETRY_MS);
        }
    }

    /// Whether an entry has this id.
    pub(crate) fn contains(&self, local_id: &LocalId) -> bool {
        self.find(local_id).is_some()
    }

    fn find(&self, local_id: &LocalId) -> Option<&OutboxEntry> {
        self.entries.iter().find(|e| e.local_id == *local_id)
    }

    /// The recipient of entry `local_id`.
    pub(crate) fn recipient(&self, local_id: &LocalId) -> Option<SwarmAddr> {
        self.find(local_id).map(|e| e.to.into())
    }

    /// Adds a new entry (persisted, announced).
    ///
    /// # Errors
    ///
    /// [`ClientError::DuplicateLocalId`] if an entry has its id.
    pub(crate) fn add(&mut self, entry: OutboxEntry, io: &mut Io) -> Result<(), ClientError> {
        if self.find(&entry.local_id).is_some() {
            return Err(ClientError::DuplicateLocalId);
        }
        emit(&entry, io);
        self.entries.push(entry);
        Ok(())
    }

    /// A text entry (the timestamp is assigned at once if the network time is known, else
    /// at the first attempt).
    pub(crate) fn text(
        to: AccountId,
        body: String,
        local_id: LocalId,
        now: LocalMs,
    ) -> OutboxEntry {
        OutboxEntry {
            local_id,
            to,
            body,
            sent_ms: NetMs(0),
            state: OutboxState::Pending,
            attempts: 0,
            next_attempt_ms: now,
            hash: None,
            sync_target: None,
            content: None,
            ttl_ms: None,
            sync_copy: None,
            ephemeral: false,
        }
    }

    /// An entry for a composed message.
    pub(crate) fn composed(
        to: AccountId,
        outgoing: &Outgoing,
        local_id: LocalId,
        sync_copy: bool,
        ephemeral: bool,
        now: LocalMs,
    ) -> OutboxEntry {
        OutboxEntry {
            local_id,
            to,
            body: String::new(),
            sent_ms: NetMs(outgoing.sent_timestamp_ms),
            state: OutboxState::Pending,
            attempts: 0,
            next_attempt_ms: now,
            hash: None,
            sync_target: None,
            content: Some(B64.encode(outgoing.content.encode_to_vec())),
            ttl_ms: Some(outgoing.ttl_ms),
            sync_copy: Some(sync_copy),
            ephemeral,
        }
    }

    /// Re-queues a failed or waiting entry at once.
    ///
    /// # Errors
    ///
    /// [`ClientError::UnknownLocalId`] if no entry has this id.
    pub(crate) fn retry(
        &mut self,
        local_id: &LocalId,
        now: LocalMs,
        io: &mut Io,
    ) -> Result<(), ClientError> {
        let entry = self
            .entries
            .iter_mut()
            .find(|e| e.local_id == *local_id)
            .ok_or(ClientError::UnknownLocalId)?;
        if matches!(entry.state, OutboxState::Failed | OutboxState::Pending) {
            entry.state = OutboxState::Pending;
            entry.attempts = 0;
            entry.next_attempt_ms = now;
            emit(entry, io);
        }
        Ok(())
    }

    /// Drops typing indicators that could not go out within their TTL.
    pub(crate) fn drop_stale_ephemeral(&mut self, net_now: NetMs) {
        self.entries.retain(|e| {
            !(e.ephemeral
                && e.state == OutboxState::Pending
                && e.sent_ms.plus(e.ttl_ms.unwrap_or(0)) < net_now)
        });
    }

    /// When pending entries are due (with paths) and when typing indicators go stale.
    pub(crate) fn next_due(&self, clock: &Clock, have_paths: bool) -> Vec<LocalMs> {
        let mut times: Vec<LocalMs> = self
            .entries
            .iter()
            .filter(|e| e.ephemeral)
            .map(|e| clock.local(e.sent_ms.plus(e.ttl_ms.unwrap_or(0))).plus(1))
            .collect();
        if have_paths {
            times.extend(
                self.entries
                    .iter()
                    .filter(|e| e.state == OutboxState::Pending)
                    .map(|e| e.next_attempt_ms),
            );
        }
        times
    }

    /// Sends every due entry to a member of its recipient's swarm: one in flight per
    /// recipient, oldest first, so they are stored in order.
    pub(crate) fn dispatch<R: CryptoRng + ?Sized>(
        &mut self,
        d: &mut Dispatch<'_, '_>,
        rng: &mut R,
    ) {
        let now = d.net.now;
        let mut busy: BTreeSet<AccountId> = BTreeSet::new();
        let mut due: Vec<usize> = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            match e.state {
                OutboxState::Sending => {
                    busy.insert(e.to);
                }
                OutboxState::Pending => {
                    if busy.insert(e.to) && e.next_attempt_ms <= now {
                        due.push(i);
                    }
                }
                OutboxState::Sent | OutboxState::Failed => {}
            }
        }
        for i in due {
            self.send_one(i, d, rng);
        }
    }

    fn send_one<R: CryptoRng + ?Sized>(&mut self, i: usize, d: &mut Dispatch<'_, '_>, rng: &mut R) {
        let now = d.net.now;
        let to = self.entries[i].to;
        let swarm = SwarmAddr::from(to);
        let Some(members) = d.swarms.get(&swarm).map(<[ServiceNode]>::to_vec) else {
            d.swarms.ensure(swarm, d.pool, d.net, rng);
            return;
        };
        let avoid = self
            .last_failed_node
            .get(&self.entries[i].local_id)
            .copied();
        let preferred: Vec<&ServiceNode> =
            members.iter().filter(|n| Some(n.id()) != avoid).collect();
        let choices = if preferred.is_empty() {
            members.iter().collect()
        } else {
            preferred
        };
        let dest = choices[pick(rng, choices.len())].clone();
        let config = d.net.config;
        if self.entries[i].sent_ms == NetMs(0) {
            let (sent, record) = d.dedup.allocate(
                d.identity.account_id(),
                d.clock.net(now),
                config.message_ttl_ms,
            );
            let entry = &mut self.entries[i];
            entry.sent_ms = sent;
            // Durable before any request carries this timestamp.
            d.net.io.persist(vec![
                PersistChange::Seen(record),
                PersistChange::Outbox(entry.clone()),
            ]);
        }
        let entry = &self.entries[i];
        let ttl_ms = entry.ttl_ms.unwrap_or(config.message_ttl_ms);
        let encoded = entry_content(entry, config.display_name.as_deref())
            .ok_or(())
            .and_then(|c| {
                encode_for_1o1(d.identity, &to, &c, entry.sent_ms.0, rng).map_err(|_| ())
            });
        let Ok(data) = encoded else {
            // Too large or unusable recipient key: retrying cannot help.
            let entry = &mut self.entries[i];
            entry.state = OutboxState::Failed;
            emit(entry, d.net.io);
            return;
        };
        let namespace = Namespace::DEFAULT;
        let payload = wire::store_request(&swarm, namespace, d.clock.net(now), ttl_ms, &data);
        let work = Work::Store {
            local_id: entry.local_id.clone(),
            expected_hash: StorageHash(rpc::message_hash(&swarm, namespace, &data)),
        };
        let entry = &mut self.entries[i];
        if d.net.send_snode(&dest, payload, work, rng).is_some() {
            entry.state = OutboxState::Sending;
            entry.attempts += 1;
            emit(entry, d.net.io);
        } else {
            // Not sent (no usable path): look again shortly, without counting an attempt.
            entry.next_attempt_ms = now.plus(NO_PATH_RETRY_MS);
        }
    }

    /// The store of `local_id` to `dest` failed. `counts` is false for a wrong-swarm answer
    /// (421): the first in a row is retried at once on the new swarm, the next ones with
    /// [`retry_delay_ms`]. Every attempt counts toward `max_attempts`, after which the entry
    /// is [`OutboxState::Failed`] (a node naming itself as the swarm cannot loop a message).
    pub(crate) fn store_failed(
        &mut self,
        local_id: LocalId,
        dest: NodeId,
        counts: bool,
        max_attempts: u32,
        now: LocalMs,
        io: &mut Io,
    ) {
        let Some(entry) = self.entries.iter_mut().find(|e| e.local_id == local_id) else {
            return;
        };
        let misdirected = if counts {
            self.misdirected.remove(&local_id);
            0
        } else {
            let n = self.misdirected.entry(local_id.clone()).or_default();
            *n += 1;
            *n
        };
        if entry.attempts >= max_attempts {
            entry.state = OutboxState::Failed;
            self.misdirected.remove(&local_id);
        } else {
            entry.state = OutboxState::Pending;
            entry.next_attempt_ms = now.plus(retry_delay_ms(entry.attempts, misdirected));
        }
        emit(entry, io);
        self.last_failed_node.insert(local_id, dest);
    }

    /// The store of `local_id` was answered by `dest` with `body`. Counts the signed
    /// acknowledgements of `expected_hash` by members of `members` (or `dest`): none is a
    /// failure of `dest` (false is returned; the caller counts it). Otherwise the entry is
    /// sent, and, if wanted, its sync copy is queued for the own swarm.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn stored(
        &mut self,
        local_id: LocalId,
        expected_hash: StorageHash,
        body: &[u8],
        dest: NodeId,
        members: Option<&[ServiceNode]>,
        me: AccountId,
        sync_by_default: bool,
        now: LocalMs,
        io: &mut Io,
    ) -> bool {
        let members: BTreeSet<NodeId> = members
            .map(|m| m.iter().map(ServiceNode::id).collect())
            .unwrap_or_default();
        let Some(pos) = self.entries.iter().position(|e| e.local_id == local_id) else {
            return false;
        };
        if count_store_acks(body, &members, &dest, &expected_hash) == 0 {
            // No signed acknowledgement of our message from a swarm member.
            return false;
        }
        let mut entry = self.entries.remove(pos);
        entry.state = OutboxState::Sent;
        entry.hash = Some(expected_hash.0);
        self.last_failed_node.remove(&local_id);
        self.misdirected.remove(&local_id);
        emit(&entry, io);
        if entry.sync_target.is_some() {
            if let (LocalId::SyncCopyOf(original), Some(hash)) = (&entry.local_id, &entry.hash) {
                io.notify(ClientEvent::SyncCopyStored {
                    local_id: (**original).clone(),
                    hash: hash.clone(),
                });
            }
            return true;
        }
        let wanted = entry.sync_copy.unwrap_or(sync_by_default);
        if wanted && !entry.ephemeral && entry.to != me {
            let ttl_ms = sync_copy_ttl(&entry);
            let copy = OutboxEntry {
                local_id: entry.local_id.sync_copy(),
                to: me,
                state: OutboxState::Pending,
                attempts: 0,
                next_attempt_ms: now,
                hash: None,
                sync_target: Some(entry.to),
                ttl_ms,
                ..entry
            };
            emit(&copy, io);
            self.entries.push(copy);
        }
        true
    }
}

/// Persists `entry` and announces its state (neither for typing indicators; sync copies are
/// persisted only).
pub(crate) fn emit(entry: &OutboxEntry, io: &mut Io) {
    if entry.ephemeral {
        return;
    }
    io.persist(vec![PersistChange::Outbox(entry.clone())]);
    if entry.sync_target.is_some() {
        return;
    }
    io.notify(ClientEvent::OutboxUpdated {
        local_id: entry.local_id.clone(),
        state: entry.state,
    });
}

/// How many of `members` (or the contacted node `dest`) acknowledged storing
/// `expected_hash` with a valid Ed25519 signature over the hash string.
fn count_store_acks(
    body: &[u8],
    members: &BTreeSet<NodeId>,
    dest: &NodeId,
    expected_hash: &StorageHash,
) -> usize {
    wire::parse_store_acks(body)
        .into_iter()
        .filter(|ack| {
            let member = NodeId(ack.member);
            (members.contains(&member) || member == *dest)
                && ack.hash == expected_hash.0
                && VerifyingKey::from_bytes(&ack.member).is_ok_and(|vk| {
                    vk.verify_strict(ack.hash.as_bytes(), &Signature::from_bytes(&ack.signature))
                        .is_ok()
                })
        })
        .count()
}

/// TTL of the sync copy of `entry`: a delete-after-read message counts as read by its sender
/// at sending, so its copy in the own swarm lives for the timer (at most the namespace-0
/// maximum, [`cap_storage_ttl_ms`]); otherwise the original's TTL.
fn sync_copy_ttl(entry: &OutboxEntry) -> Option<u64> {
    let content = entry
        .content
        .as_ref()
        .and_then(|c| B64.decode(c).ok())
        .and_then(|b| Content::decode(b.as_slice()).ok());
    match content {
        Some(c)
            if c.expiration_type == Some(ExpirationType::DeleteAfterRead as i32)
                && c.expiration_timer.is_some_and(|t| t > 0) =>
        {
            c.expiration_timer
                .map(|t| cap_storage_ttl_ms(u64::from(t) * 1000))
        }
        _ => entry.ttl_ms,
    }
}

/// The Content an outbox entry sends: its stored Content (with the sync target set on a
/// sync copy), or for a plain text entry the text with the own profile. `None` if the
/// stored Content does not decode (it was written by this client, so only on damage).
fn entry_content(entry: &OutboxEntry, display_name: Option<&str>) -> Option<Content> {
    let Some(encoded) = &entry.content else {
        return Some(Content {
            data_message: Some(DataMessage {
                body: Some(entry.body.clone()),
                sync_target: entry.sync_target.map(|t| t.to_string()),
                profile: display_name.map(|name| LokiProfile {
                    display_name: Some(name.to_owned()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        });
    };
    let bytes = B64.decode(encoded).ok()?;
    let mut content = Content::decode(bytes.as_slice()).ok()?;
    if let Some(target) = entry.sync_target {
        content.data_message.as_mut()?.sync_target = Some(target.to_string());
    }
    Some(content)
}

/// Delay before retry number `attempts` (1-based): 500 ms doubling, capped at 30 s.
pub(crate) fn backoff_ms(attempts: u32) -> u64 {
    let exp = attempts.saturating_sub(1).min(6);
    (500u64 << exp).min(30_000)
}

/// Delay before retrying after a failure: for the `misdirected`-th wrong-swarm answer in a
/// row (421, `misdirected > 0`) none the first time (the new swarm is likely right), then
/// [`backoff_ms`] of the streak; for any other failure [`backoff_ms`] of `attempts`.
pub(crate) fn retry_delay_ms(attempts: u32, misdirected: u32) -> u64 {
    match misdirected {
        0 => backoff_ms(attempts),
        1 => 0,
        n => backoff_ms(n - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::{backoff_ms, retry_delay_ms};

    #[test]
    fn wrong_swarm_retries_once_at_once_then_back_off() {
        assert_eq!(retry_delay_ms(3, 1), 0);
        assert_eq!(retry_delay_ms(3, 2), 500);
        assert_eq!(retry_delay_ms(3, 3), 1000);
        assert_eq!(retry_delay_ms(3, 40), 30_000);
        assert_eq!(retry_delay_ms(3, 0), backoff_ms(3));
    }

    #[test]
    fn backoff_doubles_then_caps() {
        assert_eq!(backoff_ms(1), 500);
        assert_eq!(backoff_ms(2), 1000);
        assert_eq!(backoff_ms(4), 4000);
        assert_eq!(backoff_ms(7), 30_000);
        assert_eq!(backoff_ms(50), 30_000);
    }
}
