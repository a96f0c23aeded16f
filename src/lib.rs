//! # coring
//!
//! A thread-per-core async runtime for Linux io_uring: one executor thread
//! per core, each owning one ring sized to what the machine allows, futures
//! woken by their completions, owned buffers that make cancellation safe.
//!
//! ```
//! #[coring::main]
//! async fn main() -> std::io::Result<()> {
//!     let task = coring::spawn(async { 40 + 2 });
//!     coring::time::sleep(std::time::Duration::from_millis(1)).await;
//!     assert_eq!(task.await?, 42);
//!     Ok(())
//! }
//! ```
//!
//! Crates by layer: [`runtime`] (ring, driver, ops, executor, timers),
//! [`net`], [`fs`], and the [`main`] / [`test`] attributes.
#![deny(missing_docs)]

pub use coring_macros::{main, test};
pub use coring_runtime::{buf, spawn, yield_now, JoinError, JoinHandle, Runtime};

/// The runtime layer: builder, ring sizing, the op API, stats.
pub mod runtime {
    pub use coring_runtime::*;
}

/// Timers: sleep, timeout, interval.
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
