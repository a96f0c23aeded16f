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
    /// Times the core's ring grew.
    pub ring_grows: u64,
    /// Times the core's ring shrank.
    pub ring_shrinks: u64,
    /// Grows skipped for lack of memlock budget (or kernel `ENOMEM`).
    pub ring_grows_skipped: u64,
    /// The ring's SQ entries when last published.
    pub ring_sq: u64,
    /// The ring's CQ entries when last published.
    pub ring_cq: u64,
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
            ring_grows: s.driver.ring_grows,
            ring_shrinks: s.driver.ring_shrinks,
            ring_grows_skipped: s.driver.ring_grows_skipped,
            ring_sq: s.driver.ring_sq,
            ring_cq: s.driver.ring_cq,
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
    ring_grows: AtomicU64,
    ring_shrinks: AtomicU64,
    ring_grows_skipped: AtomicU64,
    ring_sq: AtomicU64,
    ring_cq: AtomicU64,
}

impl PublishedStats {
    pub(crate) fn publish(&self, s: &RuntimeStats) {
        self.tasks_spawned.store(s.tasks_spawned, Relaxed);
        self.ops_submitted.store(s.driver.ops_submitted, Relaxed);
        self.ops_completed.store(s.driver.ops_completed, Relaxed);
        self.ops_in_flight.store(s.driver.ops_in_flight, Relaxed);
        self.ring_fallbacks.store(s.ring_fallbacks, Relaxed);
        self.overflow_waits.store(s.driver.overflow_waits, Relaxed);
        self.ring_grows.store(s.driver.ring_grows, Relaxed);
        self.ring_shrinks.store(s.driver.ring_shrinks, Relaxed);
        self.ring_grows_skipped
            .store(s.driver.ring_grows_skipped, Relaxed);
        self.ring_sq.store(s.driver.ring_sq, Relaxed);
        self.ring_cq.store(s.driver.ring_cq, Relaxed);
    }

    pub(crate) fn read(&self) -> CoreStats {
        CoreStats {
            tasks_spawned: self.tasks_spawned.load(Relaxed),
            ops_submitted: self.ops_submitted.load(Relaxed),
            ops_completed: self.ops_completed.load(Relaxed),
            ops_in_flight: self.ops_in_flight.load(Relaxed),
            ring_fallbacks: self.ring_fallbacks.load(Relaxed),
            overflow_waits: self.overflow_waits.load(Relaxed),
            ring_grows: self.ring_grows.load(Relaxed),
            ring_shrinks: self.ring_shrinks.load(Relaxed),
            ring_grows_skipped: self.ring_grows_skipped.load(Relaxed),
            ring_sq: self.ring_sq.load(Relaxed),
            ring_cq: self.ring_cq.load(Relaxed),
        }
    }
}
