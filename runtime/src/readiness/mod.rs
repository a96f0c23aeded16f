//! The readiness driver: a stand-in for the io_uring ring, on epoll, for
//! where io_uring is blocked (a container's seccomp profile,
//! `kernel.io_uring_disabled`) or forced with `CORING_DRIVER=epoll`.
//!
//! [`EpollRing`] takes the very SQEs coring's ops build for io_uring and
//! produces the completions io_uring would: same results, same `-errno`s,
//! same `IORING_CQE_F_MORE` and buffer flags. So the op model stays one
//! trait and every layer above the driver is the same on both: an op
//! needs no second implementation.
//!
//! - A socket, pipe or eventfd op tries its syscall at once, without
//!   blocking (`exec.rs`); if it would block, it waits for the fd's
//!   readiness (`fds.rs`, edge-triggered epoll) and tries again.
//! - Opens, stats, fsync and file reads that miss the page cache run on
//!   the blocking pool (`pool.rs`), as io_uring runs them on io-wq.
//! - Timeouts are deadlines the epoll wait honours; cancels remove a
//!   waiting op and complete it with `-ECANCELED` (an op on the pool
//!   cannot be stopped: `-EALREADY`, as for io-wq).
//! - Multishot receive and accept post one completion per readiness;
//!   provided buffer rings are read as the kernel reads them (`bufsel.rs`).
//!
//! Nothing is in a kernel's hands here, but the driver keeps an op's
//! resources until its completion all the same, so ownership means the
//! same on both drivers.

mod bufsel;
mod exec;
mod fds;
mod pool;
mod sqe;

use exec::Step;
use fds::{FdTable, NotPollable};
use io_uring::{opcode as op, squeue};
use pool::PoolDone;
use slab::Slab;
use sqe::{RawSqe, CANCEL_ALL, CANCEL_ANY, CANCEL_FD, CQE_F_MORE, TIMEOUT_ABS};
use std::{
    collections::{BTreeSet, HashMap, VecDeque},
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
    sync::Arc,
    time::{Duration, Instant},
};

/// epoll data of the pool's eventfd (fds are never this large).
const POOL_EVENT: u64 = u64::MAX;

/// Where a pending op is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    /// On its fd's readiness.
    Fd,
    /// On a deadline (a timeout op).
    Timer(Instant),
    /// On a pool thread.
    Pool,
}

struct Pending {
    sqe: RawSqe,
    progress: u64,
    at: Waiting,
}

/// The epoll instance, the ops waiting in it, and the completions ready
/// to be reaped.
pub(crate) struct EpollRing {
    epoll: OwnedFd,
    ops: Slab<Pending>,
    /// `user_data` → key in `ops`, for cancels.
    by_user_data: HashMap<u64, usize>,
    fds: FdTable,
    timers: BTreeSet<(Instant, usize)>,
    pool: Arc<PoolDone>,
    bufs: bufsel::BufRings,
    cq: VecDeque<(u64, i32, u32)>,
    events: Vec<libc::epoll_event>,
    ready: Vec<usize>,
}

impl EpollRing {
    pub(crate) fn new() -> io::Result<EpollRing> {
        // SAFETY: no pointers; we own the returned fd.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!("coring: epoll_create1 for the readiness driver: {e}"),
            ));
        }
        // SAFETY: a fresh fd nothing else owns.
        let epoll = unsafe { OwnedFd::from_raw_fd(fd) };
        let pool = PoolDone::new()?;
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLET) as u32,
            u64: POOL_EVENT,
        };
        // SAFETY: a valid event for the call.
        if unsafe { libc::epoll_ctl(fd, libc::EPOLL_CTL_ADD, pool.fd(), &mut ev) } < 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!(
                    "coring: adding the pool's eventfd {} to epoll {fd}: {e}",
                    pool.fd()
                ),
            ));
        }
        Ok(EpollRing {
            epoll,
            ops: Slab::with_capacity(256),
            by_user_data: HashMap::new(),
            fds: FdTable::default(),
            timers: BTreeSet::new(),
            pool,
            bufs: Default::default(),
            cq: VecDeque::with_capacity(256),
            events: Vec::with_capacity(256),
            ready: Vec::new(),
        })
    }

    /// Whether this driver carries out `opcode` (see `exec::way`).
    pub(crate) fn is_supported(opcode: u8) -> bool {
        exec::way(opcode).is_some()
    }

    /// Starts the op `entry` describes. With `inline`, a single-shot op
    /// that finishes at once returns its completion instead of posting it;
    /// everything else posts to the CQ now or later.
    pub(crate) fn push(&mut self, entry: &squeue::Entry, inline: bool) -> Option<(i32, u32)> {
        let sqe = RawSqe::of(entry);
        match sqe.opcode {
            op::AsyncCancel::CODE => {
                let res = self.cancel(&sqe);
                self.post(sqe.user_data, res, 0);
                return None;
            }
            op::Close::CODE => {
                let res = self.close(sqe.fd);
                return self.finish(sqe.user_data, res, 0, inline);
            }
            op::Timeout::CODE => {
                let at = timeout_deadline(&sqe);
                let key = self.insert(sqe, Waiting::Timer(at));
                self.timers.insert((at, key));
                return None;
            }
            _ => {}
        }
        self.drive(sqe, 0, None, inline)
    }

    /// Attempts `sqe` until it finishes, would block, or must go to the
    /// pool. `key` is its entry in `ops` if it has one (a retry); a new op
    /// gets one only when it has to wait. With `inline`, a finished op
    /// returns its completion instead of posting it.
    fn drive(
        &mut self,
        sqe: RawSqe,
        mut progress: u64,
        key: Option<usize>,
        inline: bool,
    ) -> Option<(i32, u32)> {
        let wait = loop {
            match exec::attempt(&sqe, &mut progress, &mut self.bufs, self.fds.hup(sqe.fd)) {
                Step::Done(res, flags) => {
                    if let Some(key) = key {
                        self.remove(key);
                    }
                    return self.finish(sqe.user_data, res, flags, inline);
                }
                Step::More(res, flags) => self.post(sqe.user_data, res, flags | CQE_F_MORE),
                Step::Fired(res, flags, interest) => {
                    self.post(sqe.user_data, res, flags | CQE_F_MORE);
                    break Some(interest);
                }
                Step::Wait(interest) => break Some(interest),
                Step::Pool => break None,
            }
        };
        let key = key.unwrap_or_else(|| self.insert(sqe, Waiting::Fd));
        self.ops[key].progress = progress;
        match wait {
            Some(interest) => self.wait_on_fd(key, interest),
            None => self.send_to_pool(key),
        }
        None
    }

    fn finish(&mut self, user_data: u64, res: i32, flags: u32, inline: bool) -> Option<(i32, u32)> {
        if inline {
            return Some((res, flags));
        }
        self.post(user_data, res, flags);
        None
    }

    fn post(&mut self, user_data: u64, res: i32, flags: u32) {
        self.cq.push_back((user_data, res, flags));
    }

    fn insert(&mut self, sqe: RawSqe, at: Waiting) -> usize {
        let key = self.ops.insert(Pending {
            sqe,
            progress: 0,
            at,
        });
        self.by_user_data.insert(sqe.user_data, key);
        key
    }

    fn remove(&mut self, key: usize) -> Pending {
        let p = self.ops.remove(key);
        if self.by_user_data.get(&p.sqe.user_data) == Some(&key) {
            self.by_user_data.remove(&p.sqe.user_data);
        }
        p
    }

    fn send_to_pool(&mut self, key: usize) {
        self.ops[key].at = Waiting::Pool;
        if let Err(e) = pool::submit(self.ops[key].sqe, key, &self.pool) {
            tracing::error!(error = %e, "coring: no blocking thread for a file op");
            let p = self.remove(key);
            self.post(
                p.sqe.user_data,
                -e.raw_os_error().unwrap_or(libc::EAGAIN),
                0,
            );
        }
    }

    /// Tries op `key` again (its fd is ready, or its pool call came back
    /// with `EAGAIN`).
    fn retry(&mut self, key: usize) {
        if let Some(p) = self.ops.get(key) {
            self.drive(p.sqe, p.progress, Some(key), false);
        }
    }

    fn wait_on_fd(&mut self, key: usize, interest: fds::Interest) {
        self.ops[key].at = Waiting::Fd;
        let fd = self.ops[key].sqe.fd;
        if let Err(NotPollable) = self.fds.wait(self.epoll.as_raw_fd(), fd, interest, key) {
            self.send_to_pool(key);
        }
    }

    /// An `IORING_OP_ASYNC_CANCEL`: its own result.
    fn cancel(&mut self, s: &RawSqe) -> i32 {
        let flags = s.op_flags;
        let keys: Vec<usize> = if flags & CANCEL_ANY != 0 {
            self.ops.iter().map(|(k, _)| k).collect()
        } else if flags & CANCEL_FD != 0 {
            self.ops
                .iter()
                .filter(|(_, p)| p.sqe.fd == s.fd)
                .map(|(k, _)| k)
                .collect()
        } else {
            self.by_user_data
                .get(&s.addr)
                .copied()
                .into_iter()
                .collect()
        };
        let (mut cancelled, mut running) = (0, 0);
        for key in keys {
            let p = &self.ops[key];
            match p.at {
                Waiting::Pool => running += 1,
                Waiting::Fd => {
                    self.fds.remove(p.sqe.fd, key);
                    let p = self.remove(key);
                    self.post(p.sqe.user_data, -libc::ECANCELED, 0);
                    cancelled += 1;
                }
                Waiting::Timer(at) => {
                    self.timers.remove(&(at, key));
                    let p = self.remove(key);
                    self.post(p.sqe.user_data, -libc::ECANCELED, 0);
                    cancelled += 1;
                }
            }
            if flags & (CANCEL_ALL | CANCEL_ANY | CANCEL_FD) == 0 {
                break;
            }
        }
        match (cancelled, running) {
            (0, 0) => -libc::ENOENT,
            (0, _) => -libc::EALREADY,
            _ if flags & (CANCEL_ALL | CANCEL_ANY | CANCEL_FD) != 0 => cancelled,
            _ => 0,
        }
    }

    /// An `IORING_OP_CLOSE`: forget the fd's registration first, so a new
    /// file that gets its number starts clean; ops still waiting on it
    /// fail with `EBADF`, as they would on io_uring.
    fn close(&mut self, fd: RawFd) -> i32 {
        self.forget_fd(fd);
        // SAFETY: the close op owns `fd` (it took it over from its owner).
        if unsafe { libc::close(fd) } < 0 {
            -exec::errno()
        } else {
            0
        }
    }

    /// `fd` leaves this driver (closed, or handed to other code): drop its
    /// registration, failing the ops that still wait on it.
    pub(crate) fn forget_fd(&mut self, fd: RawFd) {
        let mut orphaned = std::mem::take(&mut self.ready);
        self.fds.forget(self.epoll.as_raw_fd(), fd, &mut orphaned);
        for key in orphaned.drain(..) {
            if self.ops.contains(key) {
                let p = self.remove(key);
                self.post(p.sqe.user_data, -libc::EBADF, 0);
            }
        }
        self.ready = orphaned;
    }

    /// Registers a provided buffer ring (see `bufsel.rs`).
    ///
    /// # Safety
    ///
    /// As for `IORING_REGISTER_PBUF_RING`.
    pub(crate) unsafe fn register_buf_ring(
        &mut self,
        addr: u64,
        entries: u16,
        bgid: u16,
    ) -> io::Result<()> {
        // SAFETY: forwarded from the caller.
        unsafe { self.bufs.register(addr, entries, bgid) }.map_err(io::Error::from_raw_os_error)
    }

    /// Ops not yet completed (waiting on fds, timers or the pool).
    pub(crate) fn pending(&self) -> usize {
        self.ops.len()
    }

    pub(crate) fn cq_is_empty(&self) -> bool {
        self.cq.is_empty()
    }

    /// Takes up to `max` completions: `(user_data, result, flags)`.
    pub(crate) fn take(&mut self, max: usize) -> impl Iterator<Item = (u64, i32, u32)> + '_ {
        let n = max.min(self.cq.len());
        self.cq.drain(..n)
    }

    /// Collects what became ready, waiting up to `timeout` (`None`: until
    /// something does) if no completion is ready yet and `wait` is set.
    pub(crate) fn turn(&mut self, wait: bool, timeout: Option<Duration>) {
        let start = Instant::now();
        loop {
            let now = Instant::now();
            self.fire_timers(now);
            let block = wait && self.cq.is_empty();
            let mut ms: i32 = 0;
            if block {
                let left = timeout.map(|t| t.saturating_sub(now - start));
                let next_timer = self
                    .timers
                    .first()
                    .map(|&(at, _)| at.saturating_duration_since(now));
                ms = match (left, next_timer) {
                    (None, None) => -1,
                    (a, b) => millis_up(a.unwrap_or(Duration::MAX).min(b.unwrap_or(Duration::MAX))),
                };
            }
            self.epoll_wait(ms);
            self.fire_timers(Instant::now());
            let timed_out = timeout.is_some_and(|t| start.elapsed() >= t);
            if !block || !self.cq.is_empty() || timed_out {
                return;
            }
        }
    }

    fn epoll_wait(&mut self, ms: i32) {
        self.events.clear();
        let cap = self.events.capacity().max(1) as i32;
        // SAFETY: the kernel writes at most `cap` events into the vector's
        // spare capacity.
        let n =
            unsafe { libc::epoll_wait(self.epoll.as_raw_fd(), self.events.as_mut_ptr(), cap, ms) };
        if n <= 0 {
            if n < 0 && exec::errno() != libc::EINTR {
                tracing::error!(error = %io::Error::last_os_error(), "epoll_wait failed");
            }
            return;
        }
        // SAFETY: the kernel initialised the first n events.
        unsafe { self.events.set_len(n as usize) };
        let mut ready = std::mem::take(&mut self.ready);
        let mut pool_done = false;
        for ev in &self.events {
            let (data, events) = (ev.u64, ev.events);
            if data == POOL_EVENT {
                pool_done = true;
            } else {
                self.fds.ready(data as RawFd, events, &mut ready);
            }
        }
        if n as usize == self.events.capacity() {
            self.events.reserve(self.events.capacity());
        }
        for key in ready.drain(..) {
            self.retry(key);
        }
        self.ready = ready;
        if pool_done {
            self.pool_results();
        }
    }

    fn pool_results(&mut self) {
        let mut results = Vec::new();
        self.pool.take(&mut results);
        for (key, res) in results {
            let Some(p) = self.ops.get_mut(key) else {
                continue;
            };
            if res == -libc::EAGAIN
                && matches!(
                    p.sqe.opcode,
                    op::Read::CODE | op::Readv::CODE | op::Write::CODE | op::Writev::CODE
                )
            {
                // A non-blocking fd without RWF_NOWAIT: plain calls on
                // readiness from now on.
                exec::pool_said_eagain(&mut p.progress);
                self.retry(key);
                continue;
            }
            let p = self.remove(key);
            self.post(p.sqe.user_data, res, 0);
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some(&(at, key)) = self.timers.first() {
            if at > now {
                return;
            }
            self.timers.pop_first();
            let p = self.remove(key);
            self.post(p.sqe.user_data, -libc::ETIME, 0);
        }
    }
}

impl Drop for EpollRing {
    fn drop(&mut self) {
        // Pool jobs still running write into memory of ops the driver
        // holds; shutdown waits for them before the driver drops. If it
        // gave up (leaked), the ops' memory is leaked with it.
        if self.ops.iter().any(|(_, p)| p.at == Waiting::Pool) {
            tracing::warn!("readiness driver dropped with file ops still on the pool");
        }
    }
}

/// Rounds up to whole milliseconds (epoll's unit), so a wait never ends
/// just before its deadline.
fn millis_up(d: Duration) -> i32 {
    let ms = d.as_nanos().div_ceil(1_000_000);
    ms.min(i32::MAX as u128) as i32
}

/// When a timeout op fires: its timespec is relative, or absolute on
/// `CLOCK_MONOTONIC` with `IORING_TIMEOUT_ABS`.
fn timeout_deadline(s: &RawSqe) -> Instant {
    // SAFETY: the op's `__kernel_timespec` (two i64s), alive until its
    // completion.
    let (sec, nsec) = unsafe {
        let p = s.addr as *const i64;
        (p.read_unaligned(), p.add(1).read_unaligned())
    };
    let d = Duration::new(sec.max(0) as u64, nsec.clamp(0, 999_999_999) as u32);
    let now = Instant::now();
    if s.op_flags & TIMEOUT_ABS == 0 {
        return now + d;
    }
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec for the call.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let mono = Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
    now + d.saturating_sub(mono)
}
