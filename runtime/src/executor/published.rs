//! Counters a runtime publishes for other threads: under the launcher each
//! core's runtime stores its counters into atomics (plain stores, no
//! contention) before it parks, and any core reads them as [`CoreStats`].

use super::RuntimeStats;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Counters of one core, as last published by that core.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoreStats {
    /// Tasks spawned on the core.
    pub tasks_spawned: u64,
    /// Ops submitted by the core's ring.
    pub ops_submitted: u64,
    /// Completions reaped by the core's ring.
    pub ops_completed: u64,
    /// Ops in flight when last published.
    pub ops_in_flight: u64,
    /// Setup fallback steps taken when the core's ring was created.
    pub ring_fallbacks: u64,
    /// Times completions overflowed into the kernel's list and were flushed.
    pub overflow_waits: u64,
}

impl From<RuntimeStats> for CoreStats {
    fn from(s: RuntimeStats) -> Self {
        CoreStats {
            tasks_spawned: s.tasks_spawned,
            ops_submitted: s.driver.ops_submitted,
            ops_completed: s.driver.ops_completed,
            ops_in_flight: s.driver.ops_in_flight,
            ring_fallbacks: s.ring_fallbacks,
            overflow_waits: s.driver.overflow_waits,
        }
    }
}

/// The atomics behind [`CoreStats`].
#[derive(Default)]
pub(crate) struct PublishedStats {
    tasks_spawned: AtomicU64,
    ops_submitted: AtomicU64,
    ops_completed: AtomicU64,
    ops_in_flight: AtomicU64,
    ring_fallbacks: AtomicU64,
    overflow_waits: AtomicU64,
}

impl PublishedStats {
    pub(crate) fn publish(&self, s: &RuntimeStats) {
        self.tasks_spawned.store(s.tasks_spawned, Relaxed);
        self.ops_submitted.store(s.driver.ops_submitted, Relaxed);
        self.ops_completed.store(s.driver.ops_completed, Relaxed);
        self.ops_in_flight.store(s.driver.ops_in_flight, Relaxed);
        self.ring_fallbacks.store(s.ring_fallbacks, Relaxed);
        self.overflow_waits.store(s.driver.overflow_waits, Relaxed);
    }

    pub(crate) fn read(&self) -> CoreStats {
        CoreStats {
            tasks_spawned: self.tasks_spawned.load(Relaxed),
            ops_submitted: self.ops_submitted.load(Relaxed),
            ops_completed: self.ops_completed.load(Relaxed),
            ops_in_flight: self.ops_in_flight.load(Relaxed),
            ring_fallbacks: self.ring_fallbacks.load(Relaxed),
            overflow_waits: self.overflow_waits.load(Relaxed),
        }
    }
}
