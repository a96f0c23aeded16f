//! The kernel's io-wq worker threads behind a ring's thread: pinned to the
//! CPUs that thread may run on (`IORING_REGISTER_IOWQ_AFF`) and bounded in
//! number (`IORING_REGISTER_IOWQ_MAX_WORKERS`), so the blocking work the
//! kernel punts to them (file → pipe splices, buffered writes, `statx`,
//! opens that miss the dentry cache) stays on the core that asked for it
//! instead of spilling onto the other cores of a thread-per-core server.
//!
//! io-wq belongs to the thread (the task), not the ring: both registrations
//! apply to the calling thread's workers, which is why they are made on the
//! thread that owns the ring, right after the ring is created.
//!
//! (On Linux 6.18 workers that a pinned thread starts already inherit its
//! CPU; the registration makes it so whatever the kernel's default, and
//! also for a thread pinned after its workers started. The limit is what
//! that kernel does not do by itself: `tests/io_workers.rs` sees 6 workers
//! for 32 concurrent splices without it, at most 2 + 3 with limits 2/3.)

use io_uring::IoUring;
use std::io;

/// How many io-wq workers a ring's thread may have. The kernel's defaults
/// are about `4 × CPUs` bounded workers and `RLIMIT_NPROC` unbounded ones,
/// per thread: on a thread-per-core server that is far more threads than
/// the one CPU they would share.
///
/// Bounded work is work on regular files and block devices (buffered
/// writes, `statx`, cold opens); unbounded work may wait for something
/// outside (a splice into or out of a pipe, ops on sockets and pipes that
/// cannot be polled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoWorkers {
    /// Most bounded workers (0: the kernel's default).
    pub bounded: u32,
    /// Most unbounded workers (0: the kernel's default).
    pub unbounded: u32,
    /// Pin the workers to the CPUs the ring's thread is allowed to run on
    /// (for a launcher core: its one CPU).
    pub follow_affinity: bool,
}

impl Default for IoWorkers {
    /// 4 bounded and 8 unbounded workers, pinned to the thread's CPUs.
    fn default() -> Self {
        IoWorkers {
            bounded: 4,
            unbounded: 8,
            follow_affinity: true,
        }
    }
}

impl IoWorkers {
    /// The kernel's defaults, unpinned: nothing is registered.
    pub const KERNEL: IoWorkers = IoWorkers {
        bounded: 0,
        unbounded: 0,
        follow_affinity: false,
    };
}

/// What `apply` registered for a ring's thread.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IoWorkerInfo {
    /// The CPUs the workers are pinned to (`None`: not pinned).
    pub cpus: Option<Vec<usize>>,
    /// The limits in force afterwards, `[bounded, unbounded]` (`None`:
    /// none registered).
    pub limits: Option<[u32; 2]>,
}

/// Registers `want` for the calling thread's io-wq through `ring`. Best
/// effort: a kernel without the registrations (before 5.14) or a refusal
/// is logged and leaves the kernel's defaults; the ring works either way.
pub(crate) fn apply(ring: &IoUring, want: &IoWorkers) -> IoWorkerInfo {
    let mut info = IoWorkerInfo::default();
    if want.follow_affinity {
        match pin_to_thread_cpus(ring) {
            Ok(cpus) => info.cpus = Some(cpus),
            Err(e) => tracing::debug!(error = %e, "io-wq workers not pinned"),
        }
    }
    if want.bounded > 0 || want.unbounded > 0 {
        let mut limits = [want.bounded, want.unbounded];
        match ring.submitter().register_iowq_max_workers(&mut limits) {
            Ok(()) => {
                // The call returns the previous limits; a 0 we passed left
                // that one unchanged.
                let now = [
                    if want.bounded > 0 {
                        want.bounded
                    } else {
                        limits[0]
                    },
                    if want.unbounded > 0 {
                        want.unbounded
                    } else {
                        limits[1]
                    },
                ];
                info.limits = Some(now);
            }
            Err(e) => tracing::debug!(error = %e, "io-wq worker limits not registered"),
        }
    }
    info
}

/// Pins the io-wq workers to the calling thread's allowed CPUs; returns
/// them.
fn pin_to_thread_cpus(ring: &IoUring) -> io::Result<Vec<usize>> {
    // SAFETY: cpu_set_t is plain data; zeroed is an empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: sched_getaffinity writes at most size_of::<cpu_set_t>() bytes
    // into `set`.
    let rc =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    ring.submitter().register_iowq_aff(&set)?;
    Ok((0..libc::CPU_SETSIZE as usize)
        // SAFETY: cpu < CPU_SETSIZE.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect())
}
