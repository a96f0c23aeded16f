//! The `coring` facade: re-exports the runtime, net, fs and the
//! attributes. The crate documentation below is the README, whose examples
//! are compiled as doc tests.
#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub use coring_macros::{main, test};
pub use coring_runtime::{
    buf, ring::DriverKind, spawn, spawn_blocking, yield_now, JoinError, JoinHandle, JoinSet,
    Runtime,
};

/// Tasks, named as in `tokio::task`: [`spawn`],
/// [`JoinHandle`] (abort; dropping detaches),
/// [`JoinSet`] (a group that aborts on drop).
pub mod task {
    pub use coring_runtime::{spawn, spawn_blocking, yield_now, JoinError, JoinHandle, JoinSet};
}

/// The runtime layer: builder, ring sizing, the op API, stats.
pub mod runtime {
    pub use coring_runtime::*;
}

/// Owned-buffer I/O: [`OwnedRead`](io::OwnedRead) and
/// [`OwnedWrite`](io::OwnedWrite) give streams `read(buf)`/`write_all(buf)`
/// that take a buffer and hand it back. Import them (or
/// `futures::AsyncReadExt`, or `tokio::io::AsyncReadExt` with `tokio-io`)
/// for the style a file uses.
pub mod io {
    pub use coring_runtime::io::*;
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
