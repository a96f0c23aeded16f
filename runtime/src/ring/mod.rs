//! Ring set-up and sizing: which driver ([`DriverChoice`], [`DriverKind`],
//! [`UringBlocked`]), the policy ([`RingConfig`]), sizes and their
//! memory cost ([`RingSize`]), setup flags ([`SetupFlags`]), the memlock
//! budget, the io-wq workers' pinning and limits ([`IoWorkers`]), and
//! [`create_ring`], which walks the fallbacks and reports what
//! it got ([`RingInfo`]); adaptive sizing of live rings (the policy in
//! `adaptive.rs`, the kernel call and re-mapping in `resize.rs`).
//!
//! Memlock accounting is per user: every process of the user shares one
//! `RLIMIT_MEMLOCK` count, so a ring can fail with `ENOMEM` because of
//! another process. That is why the size fallback exists even when coring's
//! own budget arithmetic says a size fits.

mod adaptive;
mod choice;
mod config;
mod flags;
mod io_workers;
pub mod memlock;
pub(crate) mod resize;
mod setup;
mod sizing;

pub use adaptive::{ResizeReason, Resizing, RingResize, DEFAULT_QUIET, DEFAULT_START, HISTORY};
pub(crate) use adaptive::{Resizer, Signals};
pub use choice::{DriverChoice, DriverKind, UringBlocked, DRIVER_ENV};
pub use config::{RingConfig, SetupFn};
pub use flags::SetupFlags;
pub use io_workers::{IoWorkerInfo, IoWorkers};
pub use resize::{ResizeCall, ResizeFn};
pub use setup::{create_ring, kernel_release, setup_ring, RingInfo, SetupAttempt};
pub use sizing::{RingSize, MAX_CQ_ENTRIES, MAX_SQ_ENTRIES};
