//! [`Builder`]: configures and builds a [`Runtime`].

use crate::{
    launcher::{CoreInfo, Cores, LaunchOptions},
    ring::{IoWorkers, ResizeFn, RingConfig, SetupFlags, SetupFn},
    Runtime,
};
use std::{future::Future, io, sync::Arc, time::Duration};

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

    /// Pinning and limits of the kernel's io-wq worker threads per core
    /// (see [`IoWorkers`]; default: pinned to the core's CPU, 4 bounded
    /// and 8 unbounded workers).
    pub fn io_workers(&mut self, workers: IoWorkers) -> &mut Self {
        self.ring.io_workers(workers);
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

    /// Adaptive ring sizing (default on, where the kernel can resize a
    /// live ring: Linux 6.13+): the ring starts at no more than the
    /// [start size](Builder::start_size) (default (256, 1024)), grows
    /// toward what [`entries`](Builder::entries) /
    /// [`cq_entries`](Builder::cq_entries) asked for while its load needs
    /// room, within the process's memlock budget, and shrinks back after
    /// [`resize_quiet`](Builder::resize_quiet) without pressure. Off: the
    /// ring is set up at the size asked for and keeps it. See
    /// [`RingConfig::adaptive`].
    pub fn adaptive(&mut self, on: bool) -> &mut Self {
        self.ring.adaptive(on);
        self
    }

    /// The size an adaptive ring starts at and shrinks back to (capped at
    /// the size asked for). Default (256, 1024).
    pub fn start_size(&mut self, sq: u32, cq: u32) -> &mut Self {
        self.ring.start_size(sq, cq);
        self
    }

    /// How long an adaptive ring must go without pressure before it
    /// shrinks a step (then a step every tenth of it). Default 5 s.
    pub fn resize_quiet(&mut self, quiet: Duration) -> &mut Self {
        self.ring.resize_quiet(quiet);
        self
    }

    /// Replaces the `IORING_REGISTER_RESIZE_RINGS` call (fault injection in
    /// tests).
    pub fn resize_fn(&mut self, f: ResizeFn) -> &mut Self {
        self.ring.resize_fn(f);
        self
    }

    /// Bound parks with a timeout SQE as on pre-5.11 kernels (testing).
    #[doc(hidden)]
    pub fn without_ext_arg(&mut self) -> &mut Self {
        self.ring.without_ext_arg();
        self
    }

    /// Forces a driver: [`DriverKind::Uring`](crate::ring::DriverKind)
    /// (an error where io_uring is blocked, as without a fallback) or
    /// [`DriverKind::Epoll`](crate::ring::DriverKind). Without it the
    /// runtime follows `CORING_DRIVER` (`uring`, `epoll`, `auto`) and by
    /// default picks io_uring, falling back to epoll when io_uring is
    /// blocked (a container's seccomp profile, `kernel.io_uring_disabled`)
    /// with a `tracing` warning saying why.
    pub fn driver(&mut self, kind: crate::ring::DriverKind) -> &mut Self {
        self.ring.driver(crate::ring::DriverChoice::Force(kind));
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

    /// Runs `f(core)` once on each core — one pinned thread, one runtime,
    /// one ring per core — and returns when every core has finished, with
    /// each core's output, or the first start-up error (a ring that could
    /// not get even the floor size; the other cores are shut down cleanly
    /// first).
    ///
    /// A core finishes when its main future `f(core)` returns; its tasks
    /// still alive are then dropped. During a shutdown (see
    /// [`ShutdownHandle`](crate::ShutdownHandle)) a core instead drains: its main future runs on
    /// until it returns, then the core waits for its spawned tasks, all
    /// within [`shutdown_grace`](Builder::shutdown_grace). A core whose main
    /// future had not returned by a hard stop (the deadline, a second
    /// signal, [`ShutdownHandle::shutdown_now`](crate::ShutdownHandle::shutdown_now)) gives `None`. The first
    /// SIGINT or SIGTERM starts the drain and the next one stops at once,
    /// unless [`shutdown_on_signals(false)`](Builder::shutdown_on_signals);
    /// the calling thread waits for them while the cores run. A panicking
    /// core starts the drain of the others and `run` returns its panic.
    ///
    /// Rings are created on their own threads (so `SINGLE_ISSUER` and
    /// `DEFER_TASKRUN` hold) and share the memlock budget.
    pub fn run<F, Fut>(&self, f: F) -> io::Result<Vec<Option<Fut::Output>>>
    where
        F: Fn(CoreInfo) -> Fut + Send + Sync + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let builder = self.clone();
        let build = Arc::new(move |rings: u32| {
            let mut b = builder.clone();
            b.memlock_share(rings);
            b.build()
        });
        crate::launcher::run(&self.launch, build, f)
    }

    /// How long an idle runtime watches for work (memory reads only)
    /// before it blocks in the kernel. Work that arrives within it — a
    /// message from another core, a completion — costs no syscall on either
    /// side, but the spin burns CPU: at a fixed request rate a 20 µs spin
    /// raised server CPU per request from 11.3 to 15.9 µs
    /// (`bench/ARCHIVE.md`, measured 2026-11-26). Default zero: park at once, submitting and waiting
    /// in one `io_uring_enter`.
    pub fn spin_before_park(&mut self, spin: Duration) -> &mut Self {
        self.spin = Some(spin);
        self
    }
}
