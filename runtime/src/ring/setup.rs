//! Creating a ring under a [`RingConfig`]: budget, `ENOMEM` size fallback,
//! `EINVAL` flag fallback, and the [`RingInfo`] report of what was granted.

use super::{
    io_workers, memlock, DriverKind, IoWorkerInfo, Resizing, RingConfig, RingResize, RingSize,
    SetupFlags, UringBlocked,
};
use io_uring::IoUring;
use std::{fmt, io, time::Duration};

/// One call to `io_uring_setup` and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupAttempt {
    /// The size asked for.
    pub size: RingSize,
    /// The flags asked for.
    pub flags: SetupFlags,
    /// `None` if the ring was created, else the errno.
    pub errno: Option<i32>,
}

impl fmt::Display for SetupAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(SQ {}, CQ {}, {}): ",
            self.size.sq, self.size.cq, self.flags
        )?;
        match self.errno {
            None => f.write_str("ok"),
            Some(e) => write!(f, "{}", errno_name(e)),
        }
    }
}

/// What a ring was set up with, how it got there, and how it was resized
/// since.
#[derive(Debug, Clone)]
pub struct RingInfo {
    /// The ring's size now (the kernel's reported SQ and CQ entries; with
    /// adaptive sizing it changes as the ring grows and shrinks).
    pub size: RingSize,
    /// The size asked for (with adaptive sizing: the most it grows to).
    pub wanted: RingSize,
    /// The size set-up aimed for before any fallback: `wanted`, or with
    /// adaptive sizing the start size.
    pub initial: RingSize,
    /// The size granted at set-up; an adaptive ring never shrinks below it.
    pub start: RingSize,
    /// The most the ring may grow to (`start` when it does not resize).
    pub max: RingSize,
    /// Whether the ring resizes itself, and if not, why.
    pub resizing: Resizing,
    /// The latest resizes, oldest first (at most
    /// [`HISTORY`](super::HISTORY); `resize_count` counts all).
    pub resizes: Vec<RingResize>,
    /// Resizes since set-up.
    pub resize_count: u64,
    /// The setup flags granted.
    pub flags: SetupFlags,
    /// Names of the `IORING_FEAT_*` bits the kernel reported.
    pub features: Vec<&'static str>,
    /// Every `io_uring_setup` call made, in order; the last one succeeded.
    pub attempts: Vec<SetupAttempt>,
    /// The memlock bytes this ring's share allowed, if memlock applies.
    pub memlock_budget: Option<u64>,
    /// Estimated memlock bytes charged for the current size.
    pub memlock_bytes: u64,
    /// Memlock bytes charged when the ring was set up.
    pub start_memlock_bytes: u64,
    /// The io-wq worker pinning and limits registered for the creating
    /// thread.
    pub io_workers: IoWorkerInfo,
    /// The driver the runtime runs on. On [`DriverKind::Epoll`] there is
    /// no ring: the sizes are zero, `attempts` is empty and
    /// `driver_reason` says why io_uring was not used.
    pub driver: DriverKind,
    /// Why the runtime runs on epoll (`None` on io_uring).
    pub driver_reason: Option<String>,
}

impl RingInfo {
    /// What a runtime on the readiness driver reports: no ring, no set-up
    /// attempts, and why (`driver_reason`, which quotes a failed set-up).
    pub fn readiness(config: &RingConfig, reason: String) -> RingInfo {
        let none = RingSize { sq: 0, cq: 0 };
        RingInfo {
            size: none,
            wanted: config.want,
            initial: config.initial_size(),
            start: none,
            max: none,
            resizing: Resizing::Off,
            resizes: Vec::new(),
            resize_count: 0,
            flags: SetupFlags::default(),
            features: Vec::new(),
            attempts: Vec::new(),
            memlock_budget: None,
            memlock_bytes: 0,
            start_memlock_bytes: 0,
            io_workers: IoWorkerInfo::default(),
            driver: DriverKind::Epoll,
            driver_reason: Some(reason),
        }
    }

    /// How many set-up attempts failed before the one that succeeded.
    pub fn fallbacks(&self) -> u64 {
        self.attempts.len().saturating_sub(1) as u64
    }

    /// Whether set-up granted anything other than the size it aimed for
    /// (`initial`) and the flags asked for.
    pub fn fell_back(&self) -> bool {
        self.attempts.len() > 1 || self.start != self.initial
    }
}

/// Calls `io_uring_setup` for one size and flag set, with no fallback.
/// This is the default [`SetupFn`](super::SetupFn).
pub fn setup_ring(size: RingSize, flags: SetupFlags) -> io::Result<IoUring> {
    let mut b = IoUring::builder();
    b.setup_cqsize(size.cq);
    if flags.contains(SetupFlags::SUBMIT_ALL) {
        b.setup_submit_all();
    }
    if flags.contains(SetupFlags::COOP_TASKRUN) {
        b.setup_coop_taskrun();
    }
    if flags.contains(SetupFlags::TASKRUN_FLAG) {
        b.setup_taskrun_flag();
    }
    if flags.contains(SetupFlags::SINGLE_ISSUER) {
        b.setup_single_issuer();
    }
    if flags.contains(SetupFlags::DEFER_TASKRUN) {
        b.setup_defer_taskrun();
    }
    if flags.contains(SetupFlags::NO_SQARRAY) {
        b.setup_no_sqarray();
    }
    b.build(size.sq)
}

/// Creates a ring under `config`: fits the wanted size to the memlock
/// budget, then tries it, stepping the size down on `ENOMEM` and the flags
/// down on `EINVAL`, until a ring is created or the floor fails.
pub fn create_ring(config: &RingConfig) -> io::Result<(IoUring, RingInfo)> {
    let floor = config.floor_size();
    let no_sqarray = config.flags.contains(SetupFlags::NO_SQARRAY);
    let budget = memlock::available().map(|left| left / config.memlock_share as u64);
    let initial = config.initial_size();
    let mut size = initial;
    if let Some(budget) = budget {
        // Start at the largest size the budget allows; if not even the floor
        // fits, still try the floor: the estimate may be pessimistic.
        size = size.fit_budget(floor, budget, no_sqarray).unwrap_or(floor);
        if size != initial {
            tracing::warn!(
                wanted_sq = initial.sq,
                wanted_cq = initial.cq,
                sq = size.sq,
                cq = size.cq,
                budget,
                "io_uring ring shrunk up front to fit this ring's share of RLIMIT_MEMLOCK"
            );
        }
    }
    let mut flags = config.flags;
    let mut attempts = Vec::new();
    let mut floor_retries = 0;
    loop {
        let result = match &config.setup {
            Some(f) => f(size, flags),
            None => setup_ring(size, flags),
        };
        match result {
            Ok(ring) if !ring.params().is_feature_nodrop() => {
                // Without NODROP a completion that finds the CQ full is
                // dropped; the driver's backpressure relies on the
                // kernel's overflow list.
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "io_uring lacks IORING_FEAT_NODROP (Linux 5.5+): completions could be lost; coring needs a newer kernel",
                ));
            }
            Ok(ring) => {
                attempts.push(SetupAttempt {
                    size,
                    flags,
                    errno: None,
                });
                let granted = RingSize {
                    sq: ring.params().sq_entries(),
                    cq: ring.params().cq_entries(),
                };
                let memlock_bytes = granted.memlock_bytes(flags.contains(SetupFlags::NO_SQARRAY));
                let resizing = if !config.adaptive {
                    Resizing::Off
                } else if !flags.contains(SetupFlags::DEFER_TASKRUN) {
                    // The kernel resizes only DEFER_TASKRUN rings.
                    Resizing::Unsupported { errno: 0 }
                } else {
                    Resizing::On
                };
                let max = match resizing {
                    Resizing::On => RingSize {
                        sq: config.want.sq.max(granted.sq),
                        cq: config.want.cq.max(granted.cq),
                    },
                    _ => granted,
                };
                let info = RingInfo {
                    size: granted,
                    wanted: config.want,
                    initial,
                    start: granted,
                    max,
                    resizing,
                    resizes: Vec::new(),
                    resize_count: 0,
                    flags,
                    features: features(ring.params()),
                    attempts,
                    memlock_budget: budget,
                    memlock_bytes,
                    start_memlock_bytes: memlock_bytes,
                    io_workers: io_workers::apply(&ring, &config.io_workers),
                    driver: DriverKind::Uring,
                    driver_reason: None,
                };
                report(&info);
                return Ok((ring, info));
            }
            Err(err) => {
                let errno = err.raw_os_error().unwrap_or(0);
                attempts.push(SetupAttempt {
                    size,
                    flags,
                    errno: Some(errno),
                });
                match errno {
                    libc::ENOMEM => {
                        if let Some(next) = size.step_down(floor) {
                            size = next;
                        } else if floor_retries < 3 {
                            // Memory of rings closed just now is freed
                            // asynchronously; give it a moment.
                            floor_retries += 1;
                            std::thread::sleep(Duration::from_millis(10 << floor_retries));
                        } else {
                            return Err(out_of_memory(config, &attempts, budget));
                        }
                    }
                    libc::EINVAL => match flags.step_down() {
                        Some(next) => flags = next,
                        None => return Err(rejected(&attempts)),
                    },
                    e if UringBlocked::is_blocking_errno(e) => return Err(unavailable(err)),
                    _ => {
                        return Err(io::Error::new(
                            err.kind(),
                            format!(
                                "io_uring_setup failed: {err}; attempts: {}",
                                list(&attempts)
                            ),
                        ))
                    }
                }
            }
        }
    }
}

fn report(info: &RingInfo) {
    if info.fell_back() {
        tracing::warn!(
            sq = info.size.sq,
            cq = info.size.cq,
            wanted_sq = info.initial.sq,
            wanted_cq = info.initial.cq,
            flags = %info.flags,
            attempts = %list(&info.attempts),
            "io_uring ring set up after fallback"
        );
    } else {
        tracing::debug!(
            sq = info.size.sq,
            cq = info.size.cq,
            flags = %info.flags,
            "io_uring ring set up"
        );
    }
}

fn list(attempts: &[SetupAttempt]) -> String {
    attempts
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

fn out_of_memory(config: &RingConfig, attempts: &[SetupAttempt], budget: Option<u64>) -> io::Error {
    let limit = match memlock::memlock_limit() {
        Some(l) => format!("{l} bytes"),
        None => "unlimited".to_string(),
    };
    let memlock = if memlock::has_cap_ipc_lock() {
        "this process has CAP_IPC_LOCK, so RLIMIT_MEMLOCK does not apply; the memory cgroup limit (memory.max or memory.limit_in_bytes) is the likely cause".to_string()
    } else {
        format!(
            "without CAP_IPC_LOCK ring memory counts against RLIMIT_MEMLOCK (now {limit}, \
             per user: shared by all of the user's processes; this ring's share was {} bytes)",
            budget.map_or("unknown".to_string(), |b| b.to_string())
        )
    };
    io::Error::new(
        io::ErrorKind::OutOfMemory,
        format!(
            "could not create an io_uring ring: every size from (SQ {}, CQ {}) down to the floor \
             (SQ {}, CQ {}) failed. Tried: {}. {memlock}. Fix: raise `ulimit -l` (systemd: \
             LimitMEMLOCK=), raise the memory cgroup limit, or run fewer cores / ask for smaller \
             `entries`.",
            config.initial_size().sq,
            config.initial_size().cq,
            config.floor_size().sq,
            config.floor_size().cq,
            list(attempts)
        ),
    )
}

fn rejected(attempts: &[SetupAttempt]) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "io_uring_setup rejected every flag set with EINVAL; the kernel ({}) is too old for \
             coring (IORING_SETUP_CQSIZE needs Linux 5.5+). Tried: {}",
            kernel_release(),
            list(attempts)
        ),
    )
}

fn unavailable(err: io::Error) -> io::Error {
    let disabled = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "absent".into());
    let why = match err.raw_os_error() {
        Some(libc::ENOSYS) => "the kernel has no io_uring (built without CONFIG_IO_URING, older than 5.1) or a seccomp filter (e.g. a container's default profile) blocks io_uring_setup",
        _ => "io_uring is disabled for this process: sysctl kernel.io_uring_disabled is 2, or 1 and the process is not in kernel.io_uring_group, or a seccomp/LSM policy denies it",
    };
    let message = format!(
        "io_uring is not available ({err}): {why}. kernel.io_uring_disabled = {disabled}, kernel {}. \
         Fix: `sysctl kernel.io_uring_disabled=0`, add the user to kernel.io_uring_group, or allow \
         io_uring_setup/io_uring_enter/io_uring_register in the seccomp profile; or run on the \
         epoll driver (the default `CORING_DRIVER=auto` does when io_uring is blocked).",
        kernel_release()
    );
    io::Error::new(
        io::ErrorKind::Unsupported,
        UringBlocked {
            errno: err.raw_os_error().unwrap_or(0),
            message,
        },
    )
}

/// The running kernel's release string (`uname -r`).
pub fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

fn errno_name(e: i32) -> String {
    match e {
        libc::ENOMEM => "ENOMEM".into(),
        libc::EINVAL => "EINVAL".into(),
        libc::EPERM => "EPERM".into(),
        libc::ENOSYS => "ENOSYS".into(),
        libc::EFAULT => "EFAULT".into(),
        libc::EMFILE => "EMFILE".into(),
        e => format!("errno {e}"),
    }
}

fn features(p: &io_uring::Parameters) -> Vec<&'static str> {
    let all = [
        (p.is_feature_single_mmap(), "SINGLE_MMAP"),
        (p.is_feature_nodrop(), "NODROP"),
        (p.is_feature_submit_stable(), "SUBMIT_STABLE"),
        (p.is_feature_rw_cur_pos(), "RW_CUR_POS"),
        (p.is_feature_cur_personality(), "CUR_PERSONALITY"),
        (p.is_feature_fast_poll(), "FAST_POLL"),
        (p.is_feature_poll_32bits(), "POLL_32BITS"),
        (p.is_feature_sqpoll_nonfixed(), "SQPOLL_NONFIXED"),
        (p.is_feature_ext_arg(), "EXT_ARG"),
        (p.is_feature_native_workers(), "NATIVE_WORKERS"),
        (p.is_feature_resource_tagging(), "RSRC_TAGS"),
        (p.is_feature_skip_cqe_on_success(), "CQE_SKIP"),
        (p.is_feature_linked_file(), "LINKED_FILE"),
        (p.is_feature_recvsend_bundle(), "RECVSEND_BUNDLE"),
        (p.is_feature_min_timeout(), "MIN_TIMEOUT"),
        (p.is_feature_no_iowait(), "NO_IOWAIT"),
    ];
    all.iter().filter(|(on, _)| *on).map(|(_, n)| *n).collect()
}
