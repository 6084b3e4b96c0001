//! Deduplication records: the storage hashes and the (sender, sent timestamp) ids of the
//! messages seen, each kept until a network time past the message's life (never longer than
//! the namespace allows, whatever a node says), and the allocator of this account's own sent
//! timestamps (unique through the seen ids, in order while the clock is sane, recorded as
//! seen so that the own copies — note to self, sync copies — never come back as new).
//!
//! This part answers "seen before?" and produces the records to persist; it does not decode
//! messages (the poller does) or decide what a duplicate means for the UI.

use std::collections::BTreeMap;

use super::SeenRecord;
use crate::{
    address::{NetMs, StorageHash},
    identity::AccountId,
};

/// Extra time dedup records are kept beyond the message TTL, and the tolerance for stale
/// replays (`docs/protocol.md` §5.4).
pub(crate) const REPLAY_MARGIN_MS: u64 = 60_000;

/// How far ahead of the network time an allocated timestamp may follow the previous one.
pub(crate) const MAX_LEAD_MS: u64 = 1_000;

/// How often expired records are pruned (network time).
const PRUNE_INTERVAL_MS: u64 = 3600 * 1000;

/// How long the dedup record of a received message is kept: until the node-supplied
/// `expiration`, but at least `keep_ms` past `net_now` (the message's own life) and at most
/// the namespace's TTL maximum plus [`REPLAY_MARGIN_MS`] past it. A node cannot store a
/// message longer than that (`docs/protocol.md` §4.4, `Namespace::max_ttl_ms`), so a larger
/// `expiration` (up to `u64::MAX`) is a lie that would otherwise keep the record forever.
pub(crate) fn received_expiry(
    expiration: Option<NetMs>,
    net_now: NetMs,
    keep_ms: u64,
    namespace_max_ttl_ms: u64,
) -> NetMs {
    let longest = net_now.plus(namespace_max_ttl_ms.saturating_add(REPLAY_MARGIN_MS));
    let keep_until = net_now
        .plus(keep_ms.saturating_add(REPLAY_MARGIN_MS))
        .min(longest);
    expiration.unwrap_or(keep_until).clamp(keep_until, longest)
}

/// What [`Dedup::check_id`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum IdCheck {
    /// New and recent: now recorded.
    New,
    /// Older than the TTL: a stale replay.
    Stale,
    /// Seen before.
    Seen,
}

/// The dedup records and the own sent-timestamp allocator.
#[derive(Default)]
pub(crate) struct Dedup {
    hashes: BTreeMap<StorageHash, NetMs>,
    ids: BTreeMap<(AccountId, NetMs), NetMs>,
    next_prune: NetMs,
    last_sent: NetMs,
}

impl Dedup {
    /// Loads persisted records.
    pub(crate) fn restore(&mut self, records: Vec<SeenRecord>) {
        for rec in records {
            let expires = NetMs(rec.expires_ms);
            if let Some(hash) = rec.hash {
                self.hashes.insert(StorageHash(hash), expires);
            }
            if let (Some(a), Some(t)) = (rec.author, rec.sent_ms) {
                self.ids.insert((a, NetMs(t)), expires);
            }
        }
    }

    /// Goes back to the durable `records` (the driver failed to store newer ones). The
    /// allocator keeps its place, so no timestamp is handed out twice.
    pub(crate) fn revert(&mut self, records: Vec<SeenRecord>) {
        let last_sent = self.last_sent;
        *self = Dedup::default();
        self.restore(records);
        self.last_sent = last_sent;
    }

    /// A unique sent timestamp for a new own message at network time `net_now`, recorded
    /// as seen until `ttl_ms` plus a margin after it. It follows the last one if that is at
    /// most [`MAX_LEAD_MS`] ahead of `net_now` (a burst stays in order), else it is `net_now`:
    /// one timestamp from a skewed clock does not lift every later one. Uniqueness comes from
    /// the seen ids (a taken value is skipped). The returned record must be durable before
    /// any request carries the timestamp.
    pub(crate) fn allocate(
        &mut self,
        me: AccountId,
        net_now: NetMs,
        ttl_ms: u64,
    ) -> (NetMs, SeenRecord) {
        let next = self.last_sent.plus(1);
        let mut sent = if next > net_now && next <= net_now.plus(MAX_LEAD_MS) {
            next
        } else {
            net_now
        };
        while self.ids.contains_key(&(me, sent)) {
            sent = sent.plus(1);
        }
        self.last_sent = sent;
        (sent, self.record_own(me, sent, ttl_ms))
    }

    /// An own message with the caller-chosen timestamp `sent`: later allocations follow it
    /// (within [`MAX_LEAD_MS`]). With `record`, it is also remembered as seen (the returned
    /// record to persist).
    pub(crate) fn note_own(
        &mut self,
        me: AccountId,
        sent: NetMs,
        ttl_ms: u64,
        record: bool,
    ) -> Option<SeenRecord> {
        self.last_sent = self.last_sent.max(sent);
        if !record || self.ids.contains_key(&(me, sent)) {
            // (Allocated here, so already recorded.)
            return None;
        }
        Some(self.record_own(me, sent, ttl_ms))
    }

    fn record_own(&mut self, me: AccountId, sent: NetMs, ttl_ms: u64) -> SeenRecord {
        let expires = sent.plus(ttl_ms + REPLAY_MARGIN_MS);
        self.ids.insert((me, sent), expires);
        SeenRecord {
            hash: None,
            author: Some(me),
            sent_ms: Some(sent.0),
            expires_ms: expires.0,
        }
    }

    /// Whether a message with this storage hash was seen; if not, it now is (until
    /// `expires`).
    pub(crate) fn check_hash(&mut self, hash: &StorageHash, expires: NetMs) -> bool {
        if self.hashes.contains_key(hash) {
            return true;
        }
        self.hashes.insert(hash.clone(), expires);
        false
    }

    /// Checks the id of a decoded message: new ones (not `stale`) are recorded until
    /// `expires`.
    pub(crate) fn check_id(
        &mut self,
        id: (AccountId, NetMs),
        expires: NetMs,
        stale: bool,
    ) -> IdCheck {
        match self.ids.entry(id) {
            std::collections::btree_map::Entry::Vacant(slot) if !stale => {
                slot.insert(expires);
                IdCheck::New
            }
            _ if stale => IdCheck::Stale,
            _ => IdCheck::Seen,
        }
    }

    /// Forgets expired records, at most once an hour; the change to persist, if pruned.
    pub(crate) fn prune(&mut self, net_now: NetMs) -> Option<super::PersistChange> {
        if net_now < self.next_prune {
            return None;
        }
        self.hashes.retain(|_, exp| *exp >= net_now);
        self.ids.retain(|_, exp| *exp >= net_now);
        self.next_prune = net_now.plus(PRUNE_INTERVAL_MS);
        Some(super::PersistChange::PruneSeen {
            before_ms: net_now.0,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn received_expiry_is_clamped_to_the_namespace_maximum() {
        let now = NetMs(1_000_000);
        let day = 86_400_000;
        let longest = now.plus(14 * day + REPLAY_MARGIN_MS);
        assert_eq!(
            received_expiry(Some(NetMs(u64::MAX)), now, day, 14 * day),
            longest
        );
        assert_eq!(
            received_expiry(None, now, day, 14 * day),
            now.plus(day + REPLAY_MARGIN_MS)
        );
        // Within the bounds the node's expiry counts; never shorter than the message's life.
        let mid = now.plus(3 * day);
        assert_eq!(received_expiry(Some(mid), now, day, 14 * day), mid);
        assert_eq!(
            received_expiry(Some(NetMs(5)), now, day, 14 * day),
            now.plus(day + REPLAY_MARGIN_MS)
        );
        // A configured keep longer than the namespace allows is cut too.
        assert_eq!(received_expiry(None, now, 40 * day, 14 * day), longest);
    }

    #[test]
    fn allocated_timestamps_are_unique_monotonic_and_seen() {
        let me: AccountId = "05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72"
            .parse()
            .unwrap();
        let mut d = Dedup::default();
        let (a, rec) = d.allocate(me, NetMs(1000), 10);
        assert_eq!(a, NetMs(1000));
        assert_eq!(rec.sent_ms, Some(1000));
        assert_eq!(rec.expires_ms, 1010 + REPLAY_MARGIN_MS);
        let (b, _) = d.allocate(me, NetMs(1000), 10);
        let (c, _) = d.allocate(me, NetMs(900), 10);
        assert_eq!((b, c), (NetMs(1001), NetMs(1002)));
        // A timestamp far ahead (a skewed clock) does not lift the later ones …
        assert!(d.note_own(me, NetMs(5_000_000), 10, false).is_none());
        assert_eq!(d.allocate(me, NetMs(2000), 10).0, NetMs(2000));
        // … and a taken one is skipped, not reused.
        assert_eq!(d.allocate(me, NetMs(1000), 10).0, NetMs(1003));
        // Own ids come back as seen, not new.
        assert_eq!(d.check_id((me, a), NetMs(2000), false), IdCheck::Seen);
        assert_eq!(d.check_id((me, NetMs(7)), NetMs(2000), false), IdCheck::New);
        assert_eq!(
            d.check_id((me, NetMs(8)), NetMs(2000), true),
            IdCheck::Stale
        );
    }
}
