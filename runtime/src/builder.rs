//! [`Builder`]: configures and builds a [`Runtime`].

use crate::{
    launcher::{Cores, LaunchOptions},
    ring::{RingConfig, SetupFlags, SetupFn},
    Runtime,
};
use std::{io, time::Duration};

/// Default for [`Builder::spin_before_park`].
const DEFAULT_SPIN: Duration = Duration::ZERO;

/// Builds a [`Runtime`].
///
/// ```
/// let rt = coring_runtime::Builder::new().entries(256).cq_entries(1024).build()?;
/// assert!(rt.ring_info().size.cq <= 1024);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Builder {
    ring: RingConfig,
    pub(crate) launch: LaunchOptions,
    spin: Option<Duration>,
}

impl Builder {
    /// A builder with the default ring configuration (see [`RingConfig`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Submission queue entries wanted.
    pub fn entries(&mut self, sq: u32) -> &mut Self {
        self.ring.entries(sq);
        self
    }

    /// Completion queue entries wanted (also the most ops in flight at
    /// once; more wait in a queue).
    pub fn cq_entries(&mut self, cq: u32) -> &mut Self {
        self.ring.cq_entries(cq);
        self
    }

    /// The smallest ring to accept when memory is short.
    pub fn floor(&mut self, sq: u32, cq: u32) -> &mut Self {
        self.ring.floor(sq, cq);
        self
    }

    /// The io_uring setup flags wanted (dropped newest first on `EINVAL`).
    pub fn setup_flags(&mut self, flags: SetupFlags) -> &mut Self {
        self.ring.flags(flags);
        self
    }

    /// How many rings start together and share the memlock budget.
    pub fn memlock_share(&mut self, rings: u32) -> &mut Self {
        self.ring.memlock_share(rings);
        self
    }

    /// Replaces the `io_uring_setup` call (fault injection in tests).
    pub fn setup_fn(&mut self, f: SetupFn) -> &mut Self {
        self.ring.setup_fn(f);
        self
    }

    /// Bound parks with a timeout SQE as on pre-5.11 kernels (testing).
    #[doc(hidden)]
    pub fn without_ext_arg(&mut self) -> &mut Self {
        self.ring.without_ext_arg();
        self
    }

    /// Replaces the whole ring configuration.
    pub fn ring_config(&mut self, config: RingConfig) -> &mut Self {
        self.ring = config;
        self
    }

    /// Which cores [`run`](Builder::run) starts (default: all allowed CPUs).
    pub fn cores(&mut self, cores: Cores) -> &mut Self {
        self.launch.cores = cores;
        self
    }

    /// Whether [`run`](Builder::run) pins each core's thread to its CPU
    /// (default: true).
    pub fn pin(&mut self, pin: bool) -> &mut Self {
        self.launch.pin = pin;
        self
    }

    /// Whether SIGINT/SIGTERM shut down all cores of [`run`](Builder::run)
    /// (default: true): the first starts the drain, the next stops at once
    /// (see [`ShutdownHandle`](crate::ShutdownHandle)).
    pub fn shutdown_on_signals(&mut self, on: bool) -> &mut Self {
        self.launch.shutdown_on_signals = on;
        self
    }

    /// How long a shutdown of [`run`](Builder::run) may drain before what
    /// still runs is dropped (default: 30 s). From the first
    /// [`ShutdownHandle::shutdown`](crate::ShutdownHandle::shutdown) or
    /// signal; `Duration::ZERO` stops at once, `Duration::MAX` waits as long
    /// as it takes (a second signal still stops it).
    pub fn shutdown_grace(&mut self, grace: Duration) -> &mut Self {
        self.launch.grace = grace;
        self
    }

    /// The ring configuration so far.
    pub fn config(&self) -> &RingConfig {
        &self.ring
    }

    /// Creates the ring (with fallbacks) and the runtime, on this thread.
    ///
    /// Errors: io_uring unavailable (the message says why and how to fix
    /// it), or not even the floor size could be created (the message lists
    /// every size tried).
    pub fn build(&self) -> io::Result<Runtime> {
        Runtime::with_config(&self.ring, self.spin.unwrap_or(DEFAULT_SPIN))
    }

    /// How long an idle runtime watches for work (memory reads only)
    /// before it blocks in the kernel. Work that arrives within it — a
    /// message from another core, a completion — costs no syscall on either
    /// side, but the spin burns CPU: at a fixed request rate a 20 µs spin
    /// raised server CPU per request from 11.3 to 15.9 µs
    /// (BENCHMARKS.md). Default zero: park at once, submitting and waiting
    /// in one `io_uring_enter`.
    pub fn spin_before_park(&mut self, spin: Duration) -> &mut Self {
        self.spin = Some(spin);
        self
    }
}
