//! The network clock: the offset between this device's clock and the service nodes', learned
//! from the `"t"` (node time, ms) of node answers as the median of the last 5 samples
//! (as the desktop client does, `session-desktop` `ts/session/apis/snode_api/SNodeAPI.ts`).
//!
//! This is the only place that converts [`LocalMs`] (timers, retries) into [`NetMs`]
//! (what is signed and sent) and back. It does not decide when to ask for the time.

use std::collections::VecDeque;

use crate::address::{LocalMs, NetMs};

/// How many `"t"` samples the offset is the median of.
const TIME_SAMPLES: usize = 5;

/// Network time offset from the last few node answers.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    samples: VecDeque<i64>,
    offset_ms: i64,
}

impl Clock {
    /// Records a node's time `t` seen at local time `now`.
    pub(crate) fn record(&mut self, t: NetMs, now: LocalMs) {
        let (Ok(t), Ok(now)) = (i64::try_from(t.0), i64::try_from(now.0)) else {
            return;
        };
        if self.samples.len() == TIME_SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(t - now);
        let mut sorted: Vec<i64> = self.samples.iter().copied().collect();
        sorted.sort_unstable();
        self.offset_ms = sorted[sorted.len() / 2];
    }

    /// Whether any node has told the time yet.
    pub(crate) fn is_synced(&self) -> bool {
        !self.samples.is_empty()
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

    #[test]
    fn offset_is_the_median_of_the_last_five_samples() {
        let mut c = Clock::default();
        assert!(!c.is_synced());
        assert_eq!(c.net(LocalMs(1000)), NetMs(1000));
        for off in [100i64, -50, 7000, 90, 95] {
            c.record(NetMs((10_000 + off) as u64), LocalMs(10_000));
        }
        assert!(c.is_synced());
        assert_eq!(c.offset_ms(), 95);
        assert_eq!(c.net(LocalMs(1000)), NetMs(1095));
        assert_eq!(c.local(NetMs(1095)), LocalMs(1000));
        // The oldest sample (100) falls out; an outlier cannot move the median.
        c.record(NetMs(0), LocalMs(1_000_000));
        assert_eq!(c.offset_ms(), 90);
    }
}
