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
/// files and buffers). `f` must not submit or wait: the driver owns
/// submission. (Provided buffer rings: [`register_buf_ring`], which works
/// on both drivers.)
///
/// Panics outside a coring runtime, and on the epoll driver, which has no
/// ring (see [`try_with_submitter`]).
pub fn with_submitter<R>(f: impl FnOnce(&io_uring::Submitter<'_>) -> R) -> R {
    try_with_submitter(f).unwrap_or_else(|| {
        panic!(
            "coring::runtime::with_submitter: this runtime runs on the epoll driver, which has \
             no io_uring to register with (check driver_kind(), or use try_with_submitter)"
        )
    })
}

/// [`with_submitter`], or `None` on the epoll driver.
///
/// Panics outside a coring runtime.
pub fn try_with_submitter<R>(f: impl FnOnce(&io_uring::Submitter<'_>) -> R) -> Option<R> {
    context::current("coring::runtime::try_with_submitter")
        .driver
        .with_submitter(f)
}

/// The driver the current runtime runs on (see [`Runtime::driver_kind`]).
///
/// Panics outside a coring runtime.
pub fn driver_kind() -> crate::ring::DriverKind {
    context::current("coring::runtime::driver_kind")
        .driver
        .kind()
}

/// Registers a provided buffer ring for buffer group `bgid` with the
/// current runtime's driver: `IORING_REGISTER_PBUF_RING` on io_uring; on
/// the epoll driver, receives with `IOSQE_BUFFER_SELECT` take their
/// buffers from it the same way.
///
/// # Safety
///
/// `addr` points at `entries` (a power of two) page-aligned
/// `io_uring_buf` entries that stay valid, with the buffers they name,
/// while any op that selects from `bgid` may still run (keep them in a
/// [`runtime_local`] value, which outlives the driver's ops).
///
/// Panics outside a coring runtime.
pub unsafe fn register_buf_ring(addr: u64, entries: u16, bgid: u16) -> std::io::Result<()> {
    let ctx = context::current("coring::runtime::register_buf_ring");
    // SAFETY: forwarded from the caller.
    unsafe { ctx.driver.register_buf_ring(addr, entries, bgid) }
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
