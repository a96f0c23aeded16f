//! The driver's side of the ring: pushing SQEs (under the per-reap CQ
//! budget), submitting, waiting, reaping and routing completions to their
//! slots, and the cancels shutdown needs. See the parent module and
//! DESIGN.md ("Backpressure") for the rules these keep.

use super::{io::Io, state::Delivered, Completion, Driver, Token, IGNORE, PARK_TIMEOUT, WAKE};
use io_uring::{cqueue, opcode, squeue, types};
use std::{
    io,
    os::fd::{AsRawFd, IntoRawFd, OwnedFd},
    time::{Duration, Instant},
};

impl Driver {
    /// Pushes an `ASYNC_CANCEL` for `token`'s op; its own CQE is ignored.
    pub(super) fn cancel(&mut self, token: Token) {
        let cancel = opcode::AsyncCancel::new(token.user_data())
            .build()
            .user_data(IGNORE);
        if self.push_sqe(&cancel).is_err() {
            tracing::warn!("could not submit a cancel; the op will finish on its own");
        }
    }

    /// Pushes a fire-and-forget `IORING_OP_CLOSE` that takes over `fd`;
    /// hands `fd` back if the SQE could not be pushed.
    pub(super) fn push_close(&mut self, fd: OwnedFd) -> Result<(), OwnedFd> {
        let entry = opcode::Close::new(types::Fd(fd.as_raw_fd()))
            .build()
            .user_data(IGNORE);
        if self.push_sqe(&entry).is_err() {
            return Err(fd);
        }
        // The kernel closes it now.
        let _ = fd.into_raw_fd();
        Ok(())
    }

    /// Pushes one SQE. If `cq_entries` SQEs went in since the CQ was last
    /// drained, submits and reaps first (completions of SQEs pushed now
    /// must find room); if the SQ is full, submits to make room.
    pub(super) fn push_sqe(&mut self, entry: &squeue::Entry) -> io::Result<()> {
        if self.since_reap >= self.cq_entries {
            self.stats.budget_reaps += 1;
            self.submit_now()?;
            self.reap();
        }
        loop {
            if self.io.sq_push(entry) {
                self.in_flight += 1;
                self.since_reap += 1;
                return Ok(());
            }
            self.stats.sq_full += 1;
            self.submit_now()?;
        }
    }

    /// One `io_uring_enter` to submit what is in the SQ, retrying on the
    /// transient errors.
    fn submit_now(&mut self) -> io::Result<()> {
        loop {
            match self.io.submit() {
                Ok(_) => return Ok(()),
                Err(e) => match e.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::EBUSY) | Some(libc::EAGAIN) => {
                        self.stats.overflow_waits += 1;
                        self.reap();
                        if self.io.sq_len() == 0 {
                            return Ok(());
                        }
                        // The reap made room (the retry's GETEVENTS moves
                        // overflowed completions in), or the kernel was
                        // short of memory for a moment: try again. Never
                        // wait for a completion here: every op in flight
                        // may be waiting on the outside world.
                        std::thread::yield_now();
                    }
                    Some(libc::EBADR) => {
                        self.lost_completions();
                        return Ok(());
                    }
                    _ => {
                        tracing::error!(error = %e, "io_uring_enter failed");
                        return Err(e);
                    }
                },
            }
        }
    }

    /// Submits and optionally waits for `want` completions, up to `timeout`.
    pub(super) fn enter(&mut self, want: usize, timeout: Option<Duration>) {
        let ring = match &mut self.io {
            Io::Uring(ring) => ring,
            Io::Epoll(e) => {
                // Nothing to submit: look at readiness (without waiting
                // unless asked to, and only if some op waits on it).
                if want > 0 || e.pending() > 0 {
                    e.turn(want > 0, timeout);
                }
                return;
            }
        };
        let sq = ring.submission();
        let overflow = sq.cq_overflow();
        let idle = sq.is_empty() && !sq.taskrun() && !overflow;
        drop(sq);
        if overflow {
            self.stats.overflow_waits += 1;
            tracing::debug!("completion queue overflowed into the kernel's list; flushing");
        }
        if want == 0 && idle {
            return;
        }
        if want > 0 && !ring.completion().is_empty() {
            // Completions are already here: submit, do not block.
            let _ = self.submit_now();
            return;
        }
        let res = match timeout {
            Some(t) if self.ext_arg => {
                let ts = types::Timespec::from(t);
                let args = types::SubmitArgs::new().timespec(&ts);
                ring.submitter().submit_with_args(want, &args)
            }
            Some(t) => {
                // Pre-5.11 kernels: a timeout SQE bounds the wait. The kernel
                // copies the timespec when it prepares the SQE. One that is
                // still pending and ends no later is reused, so parks do not
                // pile up kernel timers.
                let deadline = Instant::now() + t;
                if self.park_deadline.is_none_or(|d| d > deadline) {
                    *self.park_timeout = types::Timespec::from(t);
                    let e = opcode::Timeout::new(&*self.park_timeout)
                        .build()
                        .user_data(PARK_TIMEOUT);
                    if self.push_sqe(&e).is_ok() {
                        self.park_deadline = Some(deadline);
                    }
                }
                self.io.submit_and_wait(want)
            }
            None => self.io.submit_and_wait(want),
        };
        if let Err(e) = res {
            match e.raw_os_error() {
                Some(libc::ETIME) | Some(libc::EINTR) | Some(libc::EAGAIN) => {}
                Some(libc::EBUSY) => self.stats.overflow_waits += 1,
                Some(libc::EBADR) => self.lost_completions(),
                _ => tracing::error!(error = %e, "io_uring_enter failed while waiting"),
            }
        }
    }

    fn lost_completions(&mut self) {
        self.stats.lost_completions += 1;
        tracing::error!(
            "io_uring reported EBADR: the kernel dropped completions for lack of memory; \
             ops whose completion was lost will not finish"
        );
    }

    /// Moves CQEs into their slots until the CQ is empty.
    pub(super) fn reap(&mut self) {
        const BATCH: usize = 64;
        loop {
            // Copy a batch out of the ring, then route it: routing needs the
            // driver mutably, which the CQ borrow would forbid.
            let mut batch = [(0u64, Completion::new(0, 0)); BATCH];
            let n = self.io.take(&mut batch);
            for &(user_data, c) in &batch[..n] {
                let more = cqueue::more(c.flags());
                if !more {
                    self.in_flight -= 1;
                }
                match user_data {
                    IGNORE => {}
                    WAKE => {
                        self.wake_armed = false;
                        self.stats.remote_wakes += 1;
                    }
                    PARK_TIMEOUT => self.park_deadline = None,
                    data => {
                        if let Some(token) = Token::from_user_data(data) {
                            self.deliver(token, c, more);
                        }
                    }
                }
            }
            self.stats.ops_completed += n as u64;
            if n == 0 {
                // The CQ is empty: only SQEs not yet submitted can still
                // complete inline into it.
                self.since_reap = self.io.sq_len();
                return;
            }
        }
    }

    /// Hands one completion to its op's slot: queues it for a stream, wakes
    /// a waiting future, or collects an orphan for completion.
    fn deliver(&mut self, token: Token, c: Completion, more: bool) {
        let Some(slot) = self.slots.get_mut(token) else {
            return;
        };
        match slot.state.deliver(c, more) {
            Delivered::Wake(w) => self.wakers.extend(w),
            Delivered::Orphan(o) => {
                self.slots.remove(token);
                self.orphans.push((o, c));
            }
        }
    }

    /// Keeps the eventfd read armed so a wake from another thread ends a
    /// park.
    pub(super) fn arm_wake(&mut self) {
        if self.wake_armed || self.closed {
            return;
        }
        let buf: *mut u64 = &mut *self.wake_buf;
        let entry = self.wake.read_entry(buf).user_data(WAKE);
        if self.push_sqe(&entry).is_ok() {
            self.wake_armed = true;
        }
    }

    pub(super) fn cancel_all(&mut self) {
        // One cancel-any (5.19+) cancels every op; older kernels get one
        // cancel per op.
        let any = opcode::AsyncCancel2::new(types::CancelBuilder::any())
            .build()
            .user_data(IGNORE);
        let supported = match &self.io {
            Io::Uring(_) => self
                .probe
                .as_ref()
                .is_some_and(|p| p.is_supported(opcode::AsyncCancel2::CODE)),
            Io::Epoll(_) => true,
        };
        if supported && self.push_sqe(&any).is_ok() {
            return;
        }
        for token in self.slots.tokens() {
            self.cancel(token);
        }
        let e = opcode::AsyncCancel::new(WAKE).build().user_data(IGNORE);
        let _ = self.push_sqe(&e);
    }
}
