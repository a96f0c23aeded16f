//! coring-runtime: the io_uring driver, the op API, the executor, timers
//! and adaptive ring sizing behind `coring`.
//!
//! - Where io_uring is blocked (a container's seccomp profile,
//!   `kernel.io_uring_disabled`), a readiness driver on epoll stands in for
//!   the ring behind the same op API ([`Runtime::driver_kind`],
//!   [`ring::DriverChoice`], `CORING_DRIVER`).
//! - [`ring`]: ring set-up and sizing ([`RingConfig`](ring::RingConfig),
//!   `ENOMEM`/`EINVAL` fallbacks, [`RingInfo`](ring::RingInfo)), and rings
//!   that grow and shrink with their load inside the memlock budget.
//! - [`op`]: the op API ([`OpCode`](op::OpCode), [`Op`](op::Op)) that the
//!   net and fs crates build on.
//! - [`buf`]: owned buffers ([`IoBuf`](buf::IoBuf), [`IoBufMut`](buf::IoBufMut));
//!   [`io`]: the owned-buffer I/O traits ([`OwnedRead`](io::OwnedRead),
//!   [`OwnedWrite`](io::OwnedWrite)) that streams implement.
//! - [`Runtime`], [`spawn`], [`JoinHandle`], [`JoinSet`]: the executor.
//! - [`time`]: sleeps, timeouts, intervals.
//!
//! ```
//! use coring_runtime::{op::{Nop, Op}, spawn, time::sleep, Runtime};
//! use std::time::Duration;
//!
//! let rt = Runtime::new()?;
//! let n = rt.block_on(async {
//!     let task = spawn(async { Op::new(Nop).await.map(|()| 7) });
//!     sleep(Duration::from_millis(1)).await;
//!     task.await.unwrap()
//! })?;
//! assert_eq!(n, 7);
//! # Ok::<(), std::io::Error>(())
//! ```
#![deny(missing_docs)]
#![warn(unreachable_pub)]
#![deny(unsafe_op_in_unsafe_fn)]

mod blocking;
pub mod buf;
mod builder;
pub mod channel;
mod driver;
mod error;
mod executor;
pub mod fd;
pub mod io;
pub mod launcher;
pub mod op;
mod readiness;
pub mod ring;
pub mod signal;
mod sync;
pub mod time;

pub use blocking::{blocking_threads, spawn_blocking, BlockingTask};
pub use builder::Builder;
pub use driver::DriverStats;
pub use error::raw_os_error;
pub use executor::{
    driver_kind, register_buf_ring, resize_ring, ring_info, runtime_id, runtime_local, spawn,
    stats, try_with_submitter, with_submitter, yield_now, JoinError, JoinHandle, JoinSet, Runtime,
    RuntimeStats,
};
/// The `io-uring` crate, re-exported for implementing [`op::OpCode`].
pub use io_uring;
pub use launcher::{
    core_count, core_id, core_stats, is_shutting_down, run_shared, shutdown_handle, spawn_on,
    try_shutdown_handle, Cores, Draining, RemoteHandle, ShutdownHandle,
};
