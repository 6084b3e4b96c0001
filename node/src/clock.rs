//! The node's clock: system time plus an adjustable offset, so tests can move time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, shifted by an offset shared by all clones.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock with no offset.
    pub fn system() -> Self {
        Self::default()
    }

    /// Current time in ms.
    // The node is the one place that reads the wall clock; the protocol takes time as a parameter.
    #[allow(clippy::disallowed_methods)]
    pub fn now_ms(&self) -> u64 {
        let sys = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        sys.saturating_add_signed(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Set the offset from system time (ms), for every clone of this clock.
    pub fn set_offset_ms(&self, offset: i64) {
        self.offset_ms.store(offset, Ordering::Relaxed);
    }

    /// Move this clock (and its clones) forward by `ms`.
    pub fn advance_ms(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}
