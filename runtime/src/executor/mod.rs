//! The executor: tasks, run queues, and the [`Runtime`] loop that ties them
//! to the driver.

pub(crate) mod context;
mod detach;
mod join_set;
mod published;
mod queue;
mod runtime;
mod task;

pub use join_set::JoinSet;
pub use published::CoreStats;
#[cfg(all(test, loom))]
pub(crate) use queue::loom_model;
pub(crate) use queue::{Job, Shared};
pub(crate) use runtime::stats_of;
pub use runtime::{Runtime, RuntimeStats};
pub(crate) use task::spawn_in;
pub use task::{spawn, yield_now, JoinError, JoinHandle};

/// Counters of the runtime running on this thread.
///
/// Panics outside a coring runtime.
pub fn stats() -> RuntimeStats {
    runtime::stats_of(&context::current("coring::runtime::stats"))
}

/// Runs `f` with the current ring's `Submitter`, for registrations (fixed
/// files and buffers, provided buffer rings). `f` must not submit or wait:
/// the driver owns submission.
///
/// Panics outside a coring runtime.
pub fn with_submitter<R>(f: impl FnOnce(&io_uring::Submitter<'_>) -> R) -> R {
    context::current("coring::runtime::with_submitter")
        .driver
        .with_submitter(f)
}

/// A value of type `T` owned by the current runtime, created by `init` the
/// first time it is asked for on this runtime: per-core pools (pipes,
/// buffer rings) live here. Such values are dropped after the ring has shut
/// down, so memory registered with the ring outlives every op using it.
///
/// Panics outside a coring runtime.
pub fn runtime_local<T: 'static>(init: impl FnOnce() -> T) -> std::rc::Rc<T> {
    context::current("coring::runtime::runtime_local").local(init)
}

/// A number that identifies the runtime running on this thread (unique in
/// the process), or `None` outside a runtime.
pub fn runtime_id() -> Option<usize> {
    context::try_current().map(|c| c.id)
}

/// What the current runtime's ring was set up with (see
/// [`Runtime::ring_info`]).
///
/// Panics outside a coring runtime.
pub fn ring_info() -> crate::ring::RingInfo {
    context::current("coring::runtime::ring_info").driver.info()
}

/// Asks the current runtime to resize its ring to `size` (rounded as
/// [`RingSize::normalized`](crate::ring::RingSize::normalized)) at the
/// next safe point of its loop — after this turn's SQEs are submitted and
/// its completions reaped. The memlock budget still applies, and a kernel
/// that cannot resize ignores it (see [`RingInfo::resizing`](crate::ring::RingInfo::resizing)).
/// Adaptive sizing does this by itself; this is for tests and tools.
///
/// Panics outside a coring runtime.
pub fn resize_ring(size: crate::ring::RingSize) {
    context::current("coring::runtime::resize_ring")
        .driver
        .request_resize(size)
}
