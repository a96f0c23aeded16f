//! Ring set-up and sizing: the policy ([`RingConfig`]), sizes and their
//! memory cost ([`RingSize`]), setup flags ([`SetupFlags`]), the memlock
//! budget, the io-wq workers' pinning and limits ([`IoWorkers`]), and
//! [`create_ring`], which walks the fallbacks and reports what
//! it got ([`RingInfo`]).
//!
//! Memlock accounting is per user: every process of the user shares one
//! `RLIMIT_MEMLOCK` count, so a ring can fail with `ENOMEM` because of
//! another process. That is why the size fallback exists even when coring's
//! own budget arithmetic says a size fits.

mod config;
mod flags;
mod io_workers;
pub mod memlock;
mod setup;
mod sizing;

pub use config::{RingConfig, SetupFn};
pub use flags::SetupFlags;
pub use io_workers::{IoWorkerInfo, IoWorkers};
pub use setup::{create_ring, kernel_release, setup_ring, RingInfo, SetupAttempt};
pub use sizing::{RingSize, MAX_CQ_ENTRIES, MAX_SQ_ENTRIES};
