//! [`Task`]: the state of one recurring or retried job of the client (fetch the pool from a
//! seed, refresh it, fetch a swarm, poll a subscription, test a guard, carry out an own-swarm
//! operation): either idle until a local time, or waiting for the answer to one request.
//!
//! This replaces pairs of an "in flight" flag and a "retry at" time that had to be kept
//! consistent by hand. It is bookkeeping only: it sends nothing and knows no timeouts (the
//! request table in `io` does).

use super::RequestId;
use crate::address::LocalMs;

/// Idle until `due`, or waiting for the answer to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Task {
    /// Nothing in flight; start again at or after `due` (local clock).
    Idle {
        /// Earliest start.
        due: LocalMs,
    },
    /// The request with this id is in flight.
    InFlight(RequestId),
}

impl Default for Task {
    fn default() -> Self {
        Task::NOW
    }
}

impl Task {
    /// Idle and due at once.
    pub(crate) const NOW: Task = Task::Idle { due: LocalMs(0) };

    /// Idle until `due`.
    pub(crate) fn at(due: LocalMs) -> Task {
        Task::Idle { due }
    }

    /// Idle and due at `now`.
    pub(crate) fn is_due(&self, now: LocalMs) -> bool {
        matches!(self, Task::Idle { due } if *due <= now)
    }

    /// A request is in flight.
    pub(crate) fn in_flight(&self) -> bool {
        matches!(self, Task::InFlight(_))
    }

    /// When it becomes due, if idle (for the next timeout).
    pub(crate) fn due(&self) -> Option<LocalMs> {
        match self {
            Task::Idle { due } => Some(*due),
            Task::InFlight(_) => None,
        }
    }

    /// The request `id` was sent for this task.
    pub(crate) fn start(&mut self, id: RequestId) {
        *self = Task::InFlight(id);
    }

    /// The task's request ended (either way), or it could not be sent: idle until `due`.
    pub(crate) fn idle_until(&mut self, due: LocalMs) {
        *self = Task::Idle { due };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_task_is_due_from_its_time_and_in_flight_never() {
        let mut t = Task::at(LocalMs(100));
        assert!(!t.is_due(LocalMs(99)));
        assert!(t.is_due(LocalMs(100)));
        assert_eq!(t.due(), Some(LocalMs(100)));
        assert!(!t.in_flight());
        t.start(RequestId(7));
        assert_eq!(t, Task::InFlight(RequestId(7)));
        assert!(t.in_flight());
        assert!(!t.is_due(LocalMs(u64::MAX)));
        assert_eq!(t.due(), None);
        t.idle_until(LocalMs(250));
        assert!(!t.is_due(LocalMs(249)));
        assert!(t.is_due(LocalMs(250)));
        assert!(Task::default().is_due(LocalMs(0)));
    }
}
