//! [`RingConfig`]: the sizing policy for one ring — the size wanted, the
//! floor below which coring will not go, the setup flags wanted, and how
//! the memlock budget is shared between rings that start together.

use super::{adaptive, DriverChoice, IoWorkers, ResizeFn, RingSize, SetupFlags};
use io_uring::IoUring;
use std::{fmt, io, sync::Arc, time::Duration};

/// The function that creates a ring of a given size with given flags.
/// The default is [`super::setup_ring`]; tests swap in their own (e.g. one
/// that fails with `ENOMEM` above some size) through
/// [`RingConfig::setup_fn`].
pub type SetupFn = Arc<dyn Fn(RingSize, SetupFlags) -> io::Result<IoUring> + Send + Sync>;

/// How to size and set up a ring.
#[derive(Clone)]
pub struct RingConfig {
    pub(crate) want: RingSize,
    pub(crate) floor: RingSize,
    pub(crate) flags: SetupFlags,
    pub(crate) memlock_share: u32,
    pub(crate) setup: Option<SetupFn>,
    pub(crate) no_ext_arg: bool,
    pub(crate) io_workers: IoWorkers,
    pub(crate) adaptive: bool,
    pub(crate) start: RingSize,
    pub(crate) quiet: Duration,
    pub(crate) resize: Option<ResizeFn>,
    pub(crate) driver: DriverChoice,
}

impl Default for RingConfig {
    fn default() -> Self {
        RingConfig {
            want: RingSize { sq: 1024, cq: 4096 },
            floor: RingSize { sq: 64, cq: 128 },
            flags: SetupFlags::PREFERRED,
            memlock_share: 1,
            setup: None,
            no_ext_arg: false,
            io_workers: IoWorkers::default(),
            adaptive: true,
            start: adaptive::DEFAULT_START,
            quiet: adaptive::DEFAULT_QUIET,
            resize: None,
            driver: DriverChoice::Auto,
        }
    }
}

impl RingConfig {
    /// The default policy: (1024 SQ, 4096 CQ) wanted, floor (64, 128),
    /// [`SetupFlags::PREFERRED`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Submission queue entries wanted (rounded up to a power of two,
    /// clamped to 32768). The CQ is raised to at least this.
    pub fn entries(&mut self, sq: u32) -> &mut Self {
        self.want = RingSize::normalized(sq, self.want.cq.max(sq));
        self
    }

    /// Completion queue entries wanted (a power of two ≥ SQ, ≤ 65536). The
    /// CQ bounds how many ops are in flight at once; more wait in a queue.
    pub fn cq_entries(&mut self, cq: u32) -> &mut Self {
        self.want = RingSize::normalized(self.want.sq, cq);
        self
    }

    /// The smallest ring acceptable: below it, set-up fails with an error
    /// instead of shrinking further. Default (64, 128).
    pub fn floor(&mut self, sq: u32, cq: u32) -> &mut Self {
        self.floor = RingSize::normalized(sq, cq);
        self
    }

    /// The setup flags wanted. Flags the kernel rejects are dropped, newest
    /// first (see [`SetupFlags::step_down`]).
    pub fn flags(&mut self, flags: SetupFlags) -> &mut Self {
        self.flags = flags;
        self
    }

    /// How many rings are being started together and share what is left of
    /// `RLIMIT_MEMLOCK` (the launcher sets this to the number of cores).
    pub fn memlock_share(&mut self, rings: u32) -> &mut Self {
        self.memlock_share = rings.max(1);
        self
    }

    /// Replace the function that calls `io_uring_setup` (fault injection).
    pub fn setup_fn(&mut self, f: SetupFn) -> &mut Self {
        self.setup = Some(f);
        self
    }

    /// Bound parks with a timeout SQE instead of `IORING_ENTER_EXT_ARG`, as
    /// on kernels before 5.11 (for testing that path on newer kernels).
    #[doc(hidden)]
    pub fn without_ext_arg(&mut self) -> &mut Self {
        self.no_ext_arg = true;
        self
    }

    /// Pinning and limits for the kernel's io-wq workers of the thread that
    /// creates the ring; default [`IoWorkers::default`] (pinned to the
    /// thread's CPUs, 4 bounded and 8 unbounded workers).
    /// [`IoWorkers::KERNEL`] leaves the kernel's defaults.
    pub fn io_workers(&mut self, workers: IoWorkers) -> &mut Self {
        self.io_workers = workers;
        self
    }

    /// Which driver to run on (default [`DriverChoice::Auto`]: the
    /// `CORING_DRIVER` environment variable if set, else io_uring with the
    /// epoll fallback). A forced choice here wins over the environment.
    pub fn driver(&mut self, choice: DriverChoice) -> &mut Self {
        self.driver = choice;
        self
    }

    /// Adaptive sizing (default on): the ring starts at no more than the
    /// [start size](Self::start_size), grows by powers of two toward the
    /// size asked for ([`entries`](Self::entries),
    /// [`cq_entries`](Self::cq_entries)) while its load needs room, and
    /// shrinks back after a [quiet period](Self::resize_quiet). Needs
    /// Linux 6.13 and `DEFER_TASKRUN`; elsewhere the ring keeps its start
    /// size. Off: the ring is set up at the size asked for and keeps it.
    pub fn adaptive(&mut self, on: bool) -> &mut Self {
        self.adaptive = on;
        self
    }

    /// The size an adaptive ring starts at (and shrinks back to), capped at
    /// the size asked for. Default (256, 1024).
    pub fn start_size(&mut self, sq: u32, cq: u32) -> &mut Self {
        self.start = RingSize::normalized(sq, cq);
        self
    }

    /// How long an adaptive ring must see no pressure before it shrinks a
    /// step (then one more step every tenth of it). Default 5 s.
    pub fn resize_quiet(&mut self, quiet: Duration) -> &mut Self {
        self.quiet = quiet;
        self
    }

    /// Replace the function that calls `IORING_REGISTER_RESIZE_RINGS`
    /// (fault injection; see [`ResizeFn`]).
    pub fn resize_fn(&mut self, f: ResizeFn) -> &mut Self {
        self.resize = Some(f);
        self
    }

    /// The size wanted, after rounding (with adaptive sizing: the most the
    /// ring grows to).
    pub fn wanted(&self) -> RingSize {
        self.want
    }

    /// Whether adaptive sizing is asked for.
    pub fn is_adaptive(&self) -> bool {
        self.adaptive
    }

    /// The size set-up aims for before any fallback: the wanted size, or
    /// with adaptive sizing the start size (never above the wanted one).
    pub fn initial_size(&self) -> RingSize {
        if !self.adaptive {
            return self.want;
        }
        RingSize::normalized(
            self.start.sq.min(self.want.sq),
            self.start.cq.min(self.want.cq),
        )
    }

    /// The floor, after rounding and never above the size set-up starts
    /// at ([`initial_size`](Self::initial_size)).
    pub fn floor_size(&self) -> RingSize {
        let top = self.initial_size();
        RingSize {
            sq: self.floor.sq.min(top.sq),
            cq: self.floor.cq.min(top.cq),
        }
    }
}

impl fmt::Debug for RingConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingConfig")
            .field("want", &self.want)
            .field("floor", &self.floor)
            .field("flags", &self.flags)
            .field("memlock_share", &self.memlock_share)
            .field("io_workers", &self.io_workers)
            .field("setup_fn", &self.setup.as_ref().map(|_| "custom"))
            .field("adaptive", &self.adaptive)
            .field("start", &self.start)
            .field("quiet", &self.quiet)
            .field("resize_fn", &self.resize.as_ref().map(|_| "custom"))
            .field("driver", &self.driver)
            .finish()
    }
}
