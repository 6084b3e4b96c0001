//! The network clock: the offset between this device's clock and the service nodes', learned
//! from the `"t"` (node time, ms) of node answers.
//!
//! The offset is bounded against lying nodes: it comes from the latest sample of each of the
//! last [`MAX_NODES`] nodes heard (one node answering a hundred times is still one sample).
//! Samples more than [`OUTLIER_MS`] from their median are outliers; the offset is the median
//! of the others, and it moves only when those are a strict majority of the nodes heard, so
//! a minority of lying nodes can neither set nor shift it (on a tie it stays). The clock is
//! synced (sent timestamps may be allocated) once [`MIN_TRUSTED`] nodes agree: a single node
//! is never enough. A clock error answer (406/425) starts a resync round: the time is asked
//! of [`RESYNC_NODES`] random nodes (`info`) and, if enough answer, they replace the samples
//! (a local clock jump makes every old sample wrong at once). Rounds back off ([`RESYNC_BASE_MS`] doubling to
//! [`RESYNC_MAX_MS`]), so a clock storm costs a few requests a minute, not one per poll.
//! The desktop client likewise takes the median of several nodes' `t`
//! (`session-desktop` `ts/session/apis/snode_api/SNodeAPI.ts`).
//!
//! The offset of the last session is restored from the snapshot, so a client that starts
//! offline stamps with it; a client that never heard a node is not synced
//! ([`Clock::is_synced`]) and sent timestamps wait for the first answer.
//!
//! This is the only place that converts [`LocalMs`] (timers, retries) into [`NetMs`]
//! (what is signed and sent) and back. It decides when a resync round is due, not whom to
//! ask or how (the client does).

use std::collections::{BTreeSet, VecDeque};

use crate::{
    address::{LocalMs, NetMs, NodeId},
    rpc::SIGNATURE_TOLERANCE_MS,
};

/// How many nodes' latest samples the offset is the median of.
pub(crate) const MAX_NODES: usize = 9;
/// Nodes that must agree before the clock counts as synced.
pub(crate) const MIN_TRUSTED: usize = 3;
/// A sample this far from the median is an outlier: a node's signature window
/// (`rpc::SIGNATURE_TOLERANCE_MS`), beyond which an honest node would refuse our requests.
pub(crate) const OUTLIER_MS: i64 = SIGNATURE_TOLERANCE_MS as i64;
/// How many nodes a resync round asks.
pub(crate) const RESYNC_NODES: usize = 3;
/// Answers a round needs to replace the samples (a majority of the nodes asked).
const RESYNC_QUORUM: usize = 2;
/// Earliest next round after one, doubling per round while clock errors go on.
pub(crate) const RESYNC_BASE_MS: u64 = 10_000;
/// Longest wait between rounds.
pub(crate) const RESYNC_MAX_MS: u64 = 600_000;
/// Without a clock error for this long the backoff starts over.
const RESYNC_QUIET_MS: u64 = 600_000;
/// The device clock is "far off" beyond this (it would fail every signed request without
/// the offset): the user is told.
pub(crate) const WARN_OFFSET_MS: i64 = SIGNATURE_TOLERANCE_MS as i64;
/// A change of the offset by more than this is persisted.
const PERSIST_STEP_MS: i64 = 1_000;

/// A resync round in progress.
#[derive(Debug, Default)]
struct Round {
    asked: BTreeSet<NodeId>,
    answered: Vec<(NodeId, i64)>,
    failed: usize,
}

/// Network time offset from node answers; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    /// Latest sample (network minus local, ms) per node, oldest first.
    samples: VecDeque<(NodeId, i64)>,
    offset_ms: i64,
    /// Restored from the snapshot, or any node answered.
    synced: bool,
    /// The offset last handed out to persist.
    persisted: Option<i64>,
    round: Option<Round>,
    /// A round was asked for (the client starts it).
    round_wanted: bool,
    next_round: LocalMs,
    rounds: u32,
    last_error: Option<LocalMs>,
}

/// What a new sample changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ClockChange {
    /// The clock became synced now.
    pub(crate) synced: bool,
    /// The offset to persist (moved by more than a second).
    pub(crate) persist: Option<i64>,
    /// Whether the device clock is far off changed: the new offset.
    pub(crate) warn: Option<i64>,
}

fn median(values: impl Iterator<Item = i64>) -> Option<i64> {
    let mut sorted: Vec<i64> = values.collect();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied()
}

impl Clock {
    /// A clock resumed with the offset of the last session, if known.
    pub(crate) fn restored(offset_ms: Option<i64>) -> Clock {
        Clock {
            offset_ms: offset_ms.unwrap_or(0),
            synced: offset_ms.is_some(),
            persisted: offset_ms,
            ..Clock::default()
        }
    }

    /// Records node `node`'s time `t` seen at local time `now`.
    pub(crate) fn record(&mut self, node: NodeId, t: NetMs, now: LocalMs) -> ClockChange {
        let (Ok(t), Ok(local)) = (i64::try_from(t.0), i64::try_from(now.0)) else {
            return ClockChange::default();
        };
        let sample = t.saturating_sub(local);
        if let Some(round) = &mut self.round
            && round.asked.remove(&node)
        {
            round.answered.push((node, sample));
            return self.finish_round_if_done();
        }
        self.samples.retain(|(n, _)| *n != node);
        self.samples.push_back((node, sample));
        while self.samples.len() > MAX_NODES {
            self.samples.pop_front();
        }
        self.recompute()
    }

    /// The time request of a round to `node` failed.
    pub(crate) fn round_failed(&mut self, node: &NodeId) -> ClockChange {
        if let Some(round) = &mut self.round
            && round.asked.remove(node)
        {
            round.failed += 1;
            return self.finish_round_if_done();
        }
        ClockChange::default()
    }

    fn finish_round_if_done(&mut self) -> ClockChange {
        let Some(round) = self.round.take_if(|r| r.asked.is_empty()) else {
            return ClockChange::default();
        };
        if round.answered.len() < RESYNC_QUORUM {
            // Too few answers to trust: keep what we had.
            return ClockChange::default();
        }
        self.samples = round.answered.into_iter().collect();
        self.recompute()
    }

    fn recompute(&mut self) -> ClockChange {
        let Some(mid) = median(self.samples.iter().map(|(_, s)| *s)) else {
            return ClockChange::default();
        };
        let agreeing: Vec<i64> = self
            .samples
            .iter()
            .map(|(_, s)| *s)
            .filter(|s| s.abs_diff(mid) <= OUTLIER_MS as u64)
            .collect();
        // Only a strict majority of the nodes heard moves the offset.
        if agreeing.len() * 2 <= self.samples.len() {
            return ClockChange::default();
        }
        let Some(offset) = median(agreeing.iter().copied()) else {
            return ClockChange::default();
        };
        let was_far = self.synced && self.is_far_off();
        self.offset_ms = offset;
        if !self.synced && agreeing.len() < MIN_TRUSTED {
            // Good enough to sign with, not yet to stamp messages.
            return ClockChange::default();
        }
        let first = !self.synced;
        self.synced = true;
        let mut change = ClockChange {
            synced: first,
            ..ClockChange::default()
        };
        if self
            .persisted
            .is_none_or(|p| p.abs_diff(offset) > PERSIST_STEP_MS as u64)
        {
            self.persisted = Some(offset);
            change.persist = Some(offset);
        }
        if self.is_far_off() != was_far || (first && self.is_far_off()) {
            change.warn = Some(offset);
        }
        change
    }

    /// A node refused a request because of our clock (406/425) at `now`: a resync round is
    /// wanted unless one is under way or the backoff is not over.
    pub(crate) fn clock_error(&mut self, now: LocalMs) {
        if self
            .last_error
            .is_some_and(|t| now.0.saturating_sub(t.0) > RESYNC_QUIET_MS)
        {
            self.rounds = 0;
        }
        self.last_error = Some(now);
        if self.round.is_none() && now >= self.next_round {
            self.round_wanted = true;
        }
    }

    /// Whether a round should start now (then [`Clock::start_round`]).
    pub(crate) fn round_due(&self) -> bool {
        self.round_wanted && self.round.is_none()
    }

    /// A round asks `nodes` (the time requests are sent) at `now`.
    pub(crate) fn start_round(&mut self, nodes: BTreeSet<NodeId>, now: LocalMs) {
        self.round_wanted = false;
        if nodes.is_empty() {
            return;
        }
        let wait = RESYNC_BASE_MS
            .saturating_mul(1u64 << self.rounds.min(16))
            .min(RESYNC_MAX_MS);
        self.rounds = self.rounds.saturating_add(1);
        self.next_round = now.plus(wait);
        self.round = Some(Round {
            asked: nodes,
            ..Round::default()
        });
    }

    /// Takes the device clock as network time until nodes answer (a driver without any
    /// network, such as offline tests).
    pub(crate) fn assume_synced(&mut self) {
        self.synced = true;
    }

    /// Whether a node told the time (in this session or the last one).
    pub(crate) fn is_synced(&self) -> bool {
        self.synced
    }

    /// Whether the device clock is far off the network's.
    pub(crate) fn is_far_off(&self) -> bool {
        self.offset_ms.abs() > WARN_OFFSET_MS
    }

    /// Network minus local time (ms).
    pub(crate) fn offset_ms(&self) -> i64 {
        self.offset_ms
    }

    /// Network time at local time `now`.
    pub(crate) fn net(&self, now: LocalMs) -> NetMs {
        NetMs(now.0.saturating_add_signed(self.offset_ms))
    }

    /// Local time at network time `t`.
    pub(crate) fn local(&self, t: NetMs) -> LocalMs {
        LocalMs(t.0.saturating_add_signed(self.offset_ms.saturating_neg()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(b: u8) -> NodeId {
        NodeId([b; 32])
    }

    #[test]
    fn offset_is_the_median_of_one_sample_per_node() {
        let mut c = Clock::default();
        assert!(!c.is_synced());
        assert_eq!(c.net(LocalMs(1000)), NetMs(1000));
        // One node is used for signing but not trusted for stamping.
        let first = c.record(node(1), NetMs(10_100), LocalMs(10_000));
        assert_eq!(first, ClockChange::default());
        assert_eq!(c.offset_ms(), 100);
        assert!(!c.is_synced());
        c.record(node(2), NetMs(9_950), LocalMs(10_000));
        assert!(!c.is_synced());
        let third = c.record(node(3), NetMs(10_090), LocalMs(10_000));
        assert!(third.synced && c.is_synced());
        assert_eq!(third.persist, Some(90));
        c.record(node(4), NetMs(10_095), LocalMs(10_000));
        assert_eq!(c.offset_ms(), 95);
        assert_eq!(c.net(LocalMs(1000)), NetMs(1095));
        assert_eq!(c.local(NetMs(1095)), LocalMs(1000));
        // One node answering again and again is still one sample.
        for _ in 0..10 {
            c.record(node(1), NetMs(10_000 + 200_000), LocalMs(10_000));
        }
        // (Now an outlier: the median of the other three.)
        assert_eq!(c.offset_ms(), 90);
    }

    #[test]
    fn three_lying_nodes_can_neither_move_nor_set_the_offset() {
        let day = 86_400_000;
        let mut c = Clock::default();
        for n in 1..=3 {
            c.record(node(n), NetMs(1_000_000 + u64::from(n)), LocalMs(1_000_000));
        }
        for n in 10..13 {
            let change = c.record(node(n), NetMs(1_000_000 + day), LocalMs(1_000_000));
            assert_eq!(change, ClockChange::default());
        }
        assert!(c.offset_ms().abs() <= 3);
        // Heard first, two liars and one honest node do not sync the clock; honest nodes
        // outvote them.
        let mut c = Clock::default();
        c.record(node(10), NetMs(1_000_000 + day), LocalMs(1_000_000));
        c.record(node(11), NetMs(1_000_000 + day), LocalMs(1_000_000));
        c.record(node(1), NetMs(1_000_000), LocalMs(1_000_000));
        assert!(!c.is_synced());
        c.record(node(2), NetMs(1_000_000), LocalMs(1_000_000));
        assert!(!c.is_synced(), "a tie decides nothing");
        c.record(node(3), NetMs(1_000_000), LocalMs(1_000_000));
        assert!(c.is_synced());
        assert_eq!(c.offset_ms(), 0);
        // The third liar only makes a tie: the offset stays.
        c.record(node(12), NetMs(1_000_000 + day), LocalMs(1_000_000));
        assert_eq!(c.offset_ms(), 0);
    }

    #[test]
    fn a_clock_error_starts_a_round_that_replaces_the_samples_with_backoff() {
        let mut c = Clock::restored(Some(0));
        for n in 1..=4 {
            c.record(node(n), NetMs(1_000_000), LocalMs(1_000_000));
        }
        // The local clock jumps an hour ahead: one new answer is outvoted by the old ones.
        let hour = 3_600_000;
        let now = LocalMs(1_000_000 + hour);
        c.record(node(5), NetMs(1_000_000), now);
        assert_eq!(c.offset_ms(), 0);
        c.clock_error(now);
        assert!(c.round_due());
        c.start_round([node(6), node(7), node(8)].into(), now);
        assert!(!c.round_due());
        c.record(node(6), NetMs(1_000_000), now);
        c.round_failed(&node(7));
        let change = c.record(node(8), NetMs(1_000_000), now);
        assert_eq!(c.offset_ms(), -(hour as i64));
        assert_eq!(change.warn, Some(-(hour as i64)), "far off: tell the user");
        // Another error within the backoff starts no round.
        c.clock_error(now.plus(1000));
        assert!(!c.round_due());
        c.clock_error(now.plus(RESYNC_BASE_MS));
        assert!(c.round_due());
    }
}
