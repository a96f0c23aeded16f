//! [`DriverStats`]: counters kept by one ring's driver.

/// Counters of one ring's driver, as of the moment they were read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DriverStats {
    /// Ops the driver knows about: waiting, completed but not yet polled,
    /// or dropped and waiting for their CQE. Zero when the runtime is idle.
    pub ops_in_flight: u64,
    /// Ops pushed to the SQ since start.
    pub ops_submitted: u64,
    /// CQEs reaped since start (including the driver's own).
    pub ops_completed: u64,
    /// Ops dropped mid-flight, for which a cancel was submitted.
    pub ops_cancelled: u64,
    /// Times `cq_entries` SQEs had been pushed since the CQ was last
    /// drained, so the driver submitted and reaped before pushing more
    /// (the bound that keeps a burst of inline completions inside the CQ).
    pub budget_reaps: u64,
    /// Times the SQ was full and was submitted to make room.
    pub sq_full: u64,
    /// Times the driver found completions in the kernel's overflow list
    /// (more completed at once than the CQ holds) and flushed them, or
    /// `io_uring_enter` returned `EBUSY`.
    pub overflow_waits: u64,
    /// Times the kernel reported lost completions (`EBADR`).
    pub lost_completions: u64,
    /// Times the executor blocked in the kernel.
    pub parks: u64,
    /// Wakes that came through the eventfd from another thread.
    pub remote_wakes: u64,
    /// Times the ring grew (adaptive sizing or a forced resize).
    pub ring_grows: u64,
    /// Times the ring shrank.
    pub ring_shrinks: u64,
    /// Grows that were wanted but skipped: the memlock budget had no room,
    /// or the kernel said `ENOMEM`.
    pub ring_grows_skipped: u64,
    /// The ring's SQ entries now.
    pub ring_sq: u64,
    /// The ring's CQ entries now.
    pub ring_cq: u64,
}
