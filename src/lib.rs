//! The `coring` facade: re-exports the runtime, net, fs and the
//! attributes. The crate documentation below is the README, whose examples
//! are compiled as doc tests.
#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub use coring_macros::{main, test};
pub use coring_runtime::{buf, spawn, spawn_blocking, yield_now, JoinError, JoinHandle, Runtime};

/// The runtime layer: builder, ring sizing, the op API, stats.
pub mod runtime {
    pub use coring_runtime::*;
}

/// Timers: sleep, timeout, interval. Their futures are `Send` (see
/// [`Sleep`](time::Sleep)), so a `Send`-bound handler (axum) can await them.
pub mod time {
    pub use coring_runtime::time::*;
}

/// Networking over io_uring.
pub mod net {
    pub use coring_net::*;
}

/// Files and directories over io_uring.
pub mod fs {
    pub use coring_fs::*;
}

#[cfg(feature = "hyper")]
pub mod hyper;

#[cfg(feature = "axum")]
pub mod axum;
