//! The driver: one io_uring ring, the table of ops in flight, and the loop
//! pieces the executor calls — push an SQE, submit, reap, park.
//!
//! SQEs are pushed lazily into the SQ and submitted in batches. A full SQ is
//! submitted to make room, never an error. Every op goes into the SQ when it
//! is first polled: the number of ops *waiting* (an idle connection's
//! receive, a pipe read, an accept) is not limited by the ring's size, so
//! no op ever waits for another to finish before it is submitted.
//!
//! What the CQ size bounds is how many completions may be posted and not
//! yet reaped. The driver never pushes more than `cq_entries` SQEs between
//! two reaps (past that it submits and reaps first), so a burst of ops
//! that complete inline fits the CQ. Completions of long-waiting ops that
//! happen to arrive together beyond the CQ's room go to the kernel's
//! `NODROP` overflow list, which the driver sees (`IORING_SQ_CQ_OVERFLOW`)
//! and flushes on its next enter. See DESIGN.md, "Backpressure".
//!
//! Everything observable outside the driver — waking a task, dropping an
//! orphaned op's resources — is collected and done by [`DriverHandle`] after
//! the driver's borrow ends, so neither can re-enter the driver.

mod completion;
pub(crate) mod current;
mod io;
mod open;
mod resize;
mod ring_io;
mod slots;
mod state;
mod stats;
mod wake;

pub use completion::Completion;
pub(crate) use io::Io;
pub(crate) use open::open;
pub(crate) use slots::Token;
pub use stats::DriverStats;
pub(crate) use wake::WakeFd;

use crate::ring::{
    memlock, DriverKind, ResizeFn, Resizer, Resizing, RingConfig, RingInfo, RingSize,
};
use io_uring::{squeue, types, Probe};
use slots::{Slots, IGNORE, PARK_TIMEOUT, WAKE};
use state::{OpPoll, Released, SlotState, StreamPoll};
use std::{
    cell::RefCell,
    mem::ManuallyDrop,
    os::fd::OwnedFd,
    task::{Poll, Waker},
    time::{Duration, Instant},
};

/// The resources of an op whose future was dropped while the kernel still
/// owned them. They live in the driver until the op's CQE arrives; then
/// `complete` runs (e.g. closing an fd the late completion produced).
pub(crate) trait Orphan {
    /// The op's last CQE arrived.
    fn complete(self: Box<Self>, cqe: Completion);

    /// A multishot op's CQE with `IORING_CQE_F_MORE` arrived (more follow).
    /// Runs while the driver is borrowed: it must not submit ops (dropping
    /// a `SharedFd` is fine; it falls back to `close(2)`).
    fn complete_more(&mut self, cqe: Completion) {
        let _ = cqe;
    }
}

/// How long shutdown waits for cancelled ops before it leaks their
/// resources rather than free memory the kernel may still write.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);

pub(crate) struct Driver {
    /// The ring, or the readiness driver standing in for one.
    io: Io,
    /// Shutdown gave up waiting for the kernel: the ring and the memory
    /// its ops point at are never freed.
    leaked: bool,
    slots: Slots,
    /// SQEs pushed to the SQ whose last CQE has not been reaped.
    in_flight: usize,
    /// SQEs pushed since the CQ was last drained: each may complete inline,
    /// so at most `cq_entries` go in between two reaps.
    since_reap: usize,
    /// The CQ's size.
    cq_entries: usize,
    probe: Option<Probe>,
    ext_arg: bool,
    park_timeout: Box<types::Timespec>,
    /// When the pending park-timeout SQE (pre-5.11 kernels) fires.
    park_deadline: Option<Instant>,
    wake: WakeFd,
    /// Where the armed eventfd read writes; boxed so it stays put.
    wake_buf: Box<u64>,
    wake_armed: bool,
    closed: bool,
    info: RingInfo,
    stats: DriverStats,
    /// Wakers of ops that completed, woken once the borrow ends.
    wakers: Vec<Waker>,
    /// Orphans whose CQE arrived, completed once the borrow ends.
    orphans: Vec<(Box<dyn Orphan>, Completion)>,
    /// When the ring grows or shrinks (adaptive sizing).
    resizer: Resizer,
    /// The injected resize call, if any.
    resize_fn: Option<ResizeFn>,
    /// When the ring was set up.
    created: Instant,
}

/// The driver behind a `RefCell`, shared by the executor and every op.
pub(crate) struct DriverHandle {
    inner: RefCell<Driver>,
}

impl DriverHandle {
    pub(crate) fn new(io: Io, info: RingInfo, wake: WakeFd, config: &RingConfig) -> Self {
        let no_ext_arg = config.no_ext_arg;
        let (probe, ext_arg, cq_entries) = match &io {
            Io::Uring(ring) => {
                let mut probe = Probe::new();
                let probe = ring
                    .submitter()
                    .register_probe(&mut probe)
                    .ok()
                    .map(|_| probe);
                let ext_arg = ring.params().is_feature_ext_arg() && !no_ext_arg;
                (probe, ext_arg, ring.params().cq_entries() as usize)
            }
            // No CQ to overflow: completions queue in memory.
            Io::Epoll(_) => (None, true, usize::MAX),
        };
        memlock::charge(info.memlock_bytes);
        let created = Instant::now();
        // The readiness driver has no ring to resize: a resizer that is
        // off, over a nominal size.
        let (start, max) = match &io {
            Io::Uring(_) => (info.start, info.max),
            Io::Epoll(_) => (RingSize { sq: 1, cq: 1 }, RingSize { sq: 1, cq: 1 }),
        };
        let resizer = Resizer::new(
            info.resizing == Resizing::On,
            !matches!(info.resizing, Resizing::Unsupported { .. }),
            start,
            max,
            config.quiet,
            created,
        );
        let driver = Driver {
            io,
            leaked: false,
            slots: Slots::with_capacity(256),
            in_flight: 0,
            since_reap: 0,
            cq_entries,
            probe,
            ext_arg,
            park_timeout: Box::new(types::Timespec::new()),
            park_deadline: None,
            wake,
            wake_buf: Box::new(0),
            wake_armed: false,
            closed: false,
            info,
            stats: DriverStats::default(),
            wakers: Vec::new(),
            orphans: Vec::new(),
            resizer,
            resize_fn: config.resize.clone(),
            created,
        };
        DriverHandle {
            inner: RefCell::new(driver),
        }
    }

    /// Pushes an op's SQE; returns its token, or the completion to report
    /// at once if it cannot be submitted (unsupported opcode, closed
    /// driver, submit failure).
    pub(crate) fn push(
        &self,
        opcode: u8,
        entry: squeue::Entry,
        waker: &Waker,
        multishot: bool,
    ) -> Result<Token, Completion> {
        self.with(|d| {
            if d.closed {
                return Err(Completion::error(libc::ECANCELED));
            }
            if !d.supports(opcode) {
                return Err(Completion::unsupported(opcode));
            }
            let state = match multishot {
                true => SlotState::stream(waker),
                false => SlotState::op(waker),
            };
            let token = d.slots.insert(state);
            let entry = entry.user_data(token.user_data());
            d.stats.ops_submitted += 1;
            if let (Io::Epoll(e), false) = (&mut d.io, multishot) {
                // The readiness driver tries the op now; if it finished,
                // the future gets the result on this very poll.
                d.in_flight += 1;
                if let Some((res, flags)) = e.push(&entry, true) {
                    d.in_flight -= 1;
                    d.slots.remove(token);
                    d.stats.ops_completed += 1;
                    return Err(Completion::new(res, flags));
                }
                return Ok(token);
            }
            if let Err(e) = d.push_sqe(&entry) {
                d.slots.remove(token);
                return Err(Completion::error(e.raw_os_error().unwrap_or(libc::EIO)));
            }
            Ok(token)
        })
    }

    /// Runs `f` with the driver borrowed, then (the borrow ended) wakes the
    /// tasks and completes the orphans it collected.
    fn with<R>(&self, f: impl FnOnce(&mut Driver) -> R) -> R {
        let r = f(&mut self.inner.borrow_mut());
        self.flush();
        r
    }

    /// Polls an op's slot: its completion if the CQE arrived (freeing the
    /// slot), else registers `waker`.
    pub(crate) fn poll_op(&self, token: Token, waker: &Waker) -> Poll<Completion> {
        let mut d = self.inner.borrow_mut();
        let Some(slot) = d.slots.get_mut(token) else {
            if d.leaked {
                // Shutdown gave up on the kernel: the op's memory may still
                // be written, so it must never be handed back.
                return Poll::Pending;
            }
            return Poll::Ready(Completion::new(-libc::ECANCELED, 0));
        };
        match slot.state.poll_op(waker) {
            OpPoll::Done(c) => {
                d.slots.remove(token);
                Poll::Ready(c)
            }
            OpPoll::Pending => Poll::Pending,
            OpPoll::Cancelled => Poll::Ready(Completion::error(libc::ECANCELED)),
        }
    }

    /// Polls a multishot op's slot for its next completion; `None` once the
    /// last one was taken (the slot is then freed).
    pub(crate) fn poll_stream(&self, token: Token, waker: &Waker) -> Poll<Option<Completion>> {
        let mut d = self.inner.borrow_mut();
        let Some(slot) = d.slots.get_mut(token) else {
            return Poll::Ready(None);
        };
        match slot.state.poll_stream(waker) {
            StreamPoll::Item(c) => Poll::Ready(Some(c)),
            StreamPoll::End => {
                d.slots.remove(token);
                Poll::Ready(None)
            }
            StreamPoll::Pending => Poll::Pending,
        }
    }

    /// The op's future was dropped before its completion was taken: keep
    /// its resources until the CQE arrives and cancel it, or, if the CQE is
    /// already here, complete the orphan now.
    pub(crate) fn abandon(&self, token: Token, orphan: Box<dyn Orphan>) {
        self.release(token, orphan, true)
    }

    /// Like [`abandon`](Self::abandon), but the op is left to finish (no
    /// cancel).
    pub(crate) fn detach(&self, token: Token, orphan: Box<dyn Orphan>) {
        self.release(token, orphan, false)
    }

    fn release(&self, token: Token, orphan: Box<dyn Orphan>, cancel: bool) {
        let mut d = self.inner.borrow_mut();
        let Some(slot) = d.slots.get_mut(token) else {
            let leaked = d.leaked;
            drop(d);
            if leaked {
                // Shutdown gave up on the kernel, which may still write
                // into this op's memory: leak it with the ring.
                std::mem::forget(orphan);
            } else {
                drop(orphan);
            }
            return;
        };
        match slot.state.release(orphan, cancel) {
            Released::Complete(orphan, c) => {
                d.slots.remove(token);
                drop(d);
                orphan.complete(c);
            }
            Released::StreamEnded(orphan, pending) => {
                d.slots.remove(token);
                drop(d);
                state::finish_stream(orphan, pending);
            }
            Released::Held { cancel } => {
                if cancel {
                    d.stats.ops_cancelled += 1;
                    if !d.closed {
                        d.cancel(token);
                    }
                }
                drop(d);
                self.flush();
            }
        }
    }

    /// Cancels a detached op if it is still waiting for its CQE (the
    /// generation in the token makes this a no-op once it finished, even if
    /// the slab key was reused).
    pub(crate) fn cancel_orphan(&self, token: Token) {
        self.with(|d| {
            let orphan = d.slots.get_mut(token).is_some_and(|s| s.state.is_orphan());
            if orphan && !d.closed {
                d.stats.ops_cancelled += 1;
                d.cancel(token);
            }
        })
    }

    /// Closes `fd` through the ring without waiting for the result: the
    /// close is submitted with the next batch. Hands `fd` back if the
    /// driver cannot take it now (borrowed, shut down, or the SQE could not
    /// be pushed); the caller then closes it.
    pub(crate) fn close_detached(&self, fd: OwnedFd) -> Result<(), OwnedFd> {
        let Ok(mut d) = self.inner.try_borrow_mut() else {
            return Err(fd);
        };
        if d.closed {
            return Err(fd);
        }
        d.push_close(fd)?;
        drop(d);
        self.flush();
        Ok(())
    }

    /// Whether a submit or reap has work: SQEs to submit, CQEs to reap,
    /// deferred task work or overflowed completions to flush.
    pub(crate) fn has_io_work(&self) -> bool {
        let mut d = self.inner.borrow_mut();
        match &mut d.io {
            Io::Uring(ring) => {
                let sq = ring.submission();
                let pending = !sq.is_empty() || sq.taskrun() || sq.cq_overflow();
                drop(sq);
                pending || !ring.completion().is_empty()
            }
            // Readiness is only learnt by asking epoll.
            Io::Epoll(e) => !e.cq_is_empty() || e.pending() > 0,
        }
    }

    /// Submits pending SQEs (no wait) and reaps completions; then, at this
    /// safe point, resizes the ring if its sizing policy asks for it.
    pub(crate) fn submit_and_reap(&self) {
        self.with(|d| {
            d.arm_wake();
            d.enter(0, None);
            d.reap();
            d.consider_resize();
        })
    }

    /// Blocks in the kernel until a completion arrives (an op, a wake from
    /// another thread) or `timeout` passes; then reaps (and may resize). A
    /// ring grown beyond its start size wakes up by itself in time to
    /// shrink back.
    pub(crate) fn park(&self, timeout: Option<Duration>) {
        self.with(|d| {
            d.arm_wake();
            d.stats.parks += 1;
            let timeout = d.resize_timeout(timeout);
            d.enter(1, timeout);
            d.reap();
            d.consider_resize();
        })
    }

    /// Asks for a resize to `size` at the next safe point of the loop.
    pub(crate) fn request_resize(&self, size: RingSize) {
        self.inner.borrow_mut().resizer.force(size);
    }

    /// Runs `f` with the ring's submitter, for registrations; `None` on
    /// the readiness driver, which has no ring.
    pub(crate) fn with_submitter<R>(
        &self,
        f: impl FnOnce(&io_uring::Submitter<'_>) -> R,
    ) -> Option<R> {
        let d = self.inner.borrow();
        match &d.io {
            Io::Uring(ring) => Some(f(&ring.submitter())),
            Io::Epoll(_) => None,
        }
    }

    /// Registers a provided buffer ring for group `bgid`.
    ///
    /// # Safety
    ///
    /// As for `IORING_REGISTER_PBUF_RING`: `addr` points at `entries`
    /// page-aligned `io_uring_buf`s that stay valid while any op that
    /// selects from `bgid` may still run.
    pub(crate) unsafe fn register_buf_ring(
        &self,
        addr: u64,
        entries: u16,
        bgid: u16,
    ) -> std::io::Result<()> {
        let mut d = self.inner.borrow_mut();
        match &mut d.io {
            // SAFETY: forwarded from the caller.
            Io::Uring(ring) => unsafe {
                ring.submitter()
                    .register_buf_ring_with_flags(addr, entries, bgid, 0)
            },
            // SAFETY: forwarded from the caller.
            Io::Epoll(e) => unsafe { e.register_buf_ring(addr, entries, bgid) },
        }
    }

    /// Which driver this is.
    pub(crate) fn kind(&self) -> DriverKind {
        self.inner.borrow().io.kind()
    }

    /// `fd` is handed out of coring's hands (`into_raw_fd`, `into_std`):
    /// the readiness driver drops its epoll registration so a later file
    /// with the same number is registered afresh. Nothing on io_uring.
    pub(crate) fn release_fd(&self, fd: std::os::fd::RawFd) {
        let Ok(mut d) = self.inner.try_borrow_mut() else {
            return;
        };
        if let Io::Epoll(e) = &mut d.io {
            e.forget_fd(fd);
        }
        drop(d);
        self.flush();
    }

    pub(crate) fn stats(&self) -> DriverStats {
        let d = self.inner.borrow();
        let mut s = d.stats;
        s.ops_in_flight = d.slots.len() as u64;
        s.ring_sq = d.info.size.sq as u64;
        s.ring_cq = d.info.size.cq as u64;
        s
    }

    pub(crate) fn is_supported(&self, opcode: u8) -> bool {
        self.inner.borrow().supports(opcode)
    }

    pub(crate) fn fallback_count(&self) -> u64 {
        self.inner.borrow().info.fallbacks()
    }

    pub(crate) fn info(&self) -> RingInfo {
        self.inner.borrow().info.clone()
    }

    /// Cancels everything in flight (SQEs still in the SQ are submitted
    /// first, so the cancel reaches them too) and waits for every CQE, so
    /// no buffer is freed while the kernel may write into it. After this,
    /// pushes fail with `ECANCELED`.
    pub(crate) fn shutdown(&self) {
        let _span = tracing::debug_span!("coring_shutdown").entered();
        {
            let mut d = self.inner.borrow_mut();
            if d.closed {
                return;
            }
            d.closed = true;
            let pending = d.in_flight;
            tracing::debug!(pending, "cancelling ops in flight");
            if pending > 0 {
                d.cancel_all();
            }
            let start = Instant::now();
            while d.in_flight > 0 {
                if start.elapsed() > SHUTDOWN_WAIT {
                    tracing::error!(
                        in_flight = d.in_flight,
                        "ops did not complete within {SHUTDOWN_WAIT:?} of shutdown; leaking their buffers and the ring rather than freeing memory the kernel may still write"
                    );
                    let leaked = std::mem::replace(&mut d.slots, Slots::with_capacity(0));
                    std::mem::forget(leaked);
                    // The armed wake read writes into this box.
                    Box::leak(std::mem::replace(&mut d.wake_buf, Box::new(0)));
                    d.leaked = true;
                    d.in_flight = 0;
                    break;
                }
                d.enter(1, Some(Duration::from_millis(50)));
                d.reap();
            }
        }
        self.flush();
    }

    /// Wakes collected wakers and completes collected orphans, outside the
    /// driver borrow.
    fn flush(&self) {
        loop {
            let (mut wakers, mut orphans) = {
                let mut d = self.inner.borrow_mut();
                if d.wakers.is_empty() && d.orphans.is_empty() {
                    return;
                }
                (
                    std::mem::take(&mut d.wakers),
                    std::mem::take(&mut d.orphans),
                )
            };
            for w in wakers.drain(..) {
                w.wake();
            }
            for (o, c) in orphans.drain(..) {
                o.complete(c);
            }
            // Hand the (empty) vectors back to keep their capacity.
            let mut d = self.inner.borrow_mut();
            if d.wakers.is_empty() {
                d.wakers = wakers;
            }
            if d.orphans.is_empty() {
                d.orphans = orphans;
            }
        }
    }
}

impl std::fmt::Debug for DriverHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverHandle").finish_non_exhaustive()
    }
}

impl Drop for DriverHandle {
    fn drop(&mut self) {
        self.shutdown();
        memlock::release(self.inner.get_mut().info.memlock_bytes);
    }
}

impl Driver {
    /// Whether this driver can carry out `opcode`.
    fn supports(&self, opcode: u8) -> bool {
        match &self.io {
            Io::Uring(_) => self.probe.as_ref().is_none_or(|p| p.is_supported(opcode)),
            Io::Epoll(_) => crate::readiness::EpollRing::is_supported(opcode),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let (Io::Uring(ring), false) = (&mut self.io, self.leaked) {
            // SAFETY: dropped exactly once, here, and the driver is never
            // used again; shutdown already waited for every CQE, so the
            // kernel holds no pointer into memory freed after this.
            unsafe { ManuallyDrop::drop(ring) };
        }
    }
}
