//! Deduplication records: the storage hashes and the (sender, sent timestamp) ids of the
//! messages seen, each kept until a network time past the message's life, and the allocator
//! of this account's own sent timestamps (unique and monotonic, recorded as seen so that
//! the own copies — note to self, sync copies — never come back as new).
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

/// How often expired records are pruned (network time).
const PRUNE_INTERVAL_MS: u64 = 3600 * 1000;

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

    /// A unique sent timestamp for a new own message at network time `net_now` (at least
    /// one more than the last), recorded as seen until `ttl_ms` plus a margin after it. The
    /// returned record must be durable before any request carries the timestamp.
    pub(crate) fn allocate(
        &mut self,
        me: AccountId,
        net_now: NetMs,
        ttl_ms: u64,
    ) -> (NetMs, SeenRecord) {
        let sent = net_now.max(self.last_sent.plus(1));
        self.last_sent = sent;
        (sent, self.record_own(me, sent, ttl_ms))
    }

    /// An own message with the caller-chosen timestamp `sent`: later allocations stay above
    /// it. With `record`, it is also remembered as seen (the returned record to persist).
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
        assert!(d.note_own(me, NetMs(5000), 10, false).is_none());
        assert_eq!(d.allocate(me, NetMs(10), 10).0, NetMs(5001));
        // Own ids come back as seen, not new.
        assert_eq!(d.check_id((me, a), NetMs(2000), false), IdCheck::Seen);
        assert_eq!(d.check_id((me, NetMs(7)), NetMs(2000), false), IdCheck::New);
        assert_eq!(
            d.check_id((me, NetMs(8)), NetMs(2000), true),
            IdCheck::Stale
        );
    }
}
