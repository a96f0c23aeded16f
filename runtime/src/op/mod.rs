//! The op API: [`OpCode`] (one io_uring operation: builds its SQE, turns its
//! CQE into its output) and [`Op`] (the future that drives one).
//!
//! # Lifecycle
//!
//! 1. `Op::new(op)` only stores the operation; nothing touches the ring.
//! 2. The first poll builds the SQE and pushes it into the SQ (however
//!    many ops already wait); the executor submits SQEs in batches.
//! 3. The CQE is routed by `user_data` to the op's slot and wakes the
//!    future, whose next poll calls [`OpCode::complete`].
//! 4. Dropped before that, the op's resources move into the driver (an
//!    `Orphan`) until the CQE arrives, and a cancel
//!    is submitted; then [`OpCode::complete_orphan`] runs (closing an fd
//!    that a late `accept` or `open` produced, say).
//!
//! Adding an op is one short file: a struct owning its resources, and an
//! `unsafe impl OpCode` for it.

mod cancel;
mod close;
mod multishot;
mod nop;
mod openat;
mod poll;
mod read;
mod readv;
mod send;
mod timeout;
mod write;
mod writev;

pub use crate::driver::Completion;
pub use cancel::CancelFd;
pub use close::Close;
pub use multishot::{MultiOp, MultishotCode};
pub use nop::Nop;
pub use openat::{new_fd, OpenAt};
pub use poll::PollAdd;
pub use read::Read;
pub use readv::Readv;
pub use send::Send;
pub(crate) use timeout::clamp_duration;
pub use timeout::Timeout;
pub use write::Write;
pub use writev::Writev;

use crate::driver::{DriverHandle, Orphan, Token};
use io_uring::squeue;
use std::{
    future::Future,
    pin::Pin,
    rc::Rc,
    task::{Context, Poll},
};

/// One io_uring operation.
///
/// # Safety
///
/// The SQE returned by [`build`](OpCode::build) may only point at memory
/// and name fds that `self` owns (or that are `'static`), and that memory
/// must not move when `self` is moved (heap allocations, not inline
/// fields). The driver keeps `self` alive and unmoved-in-memory-terms until
/// the kernel posts the CQE: in the [`Op`] while the future lives, in the
/// driver after it is dropped. `build` is called once.
pub unsafe trait OpCode: 'static {
    /// What the op resolves to.
    type Output;

    /// The io_uring opcode, checked against the kernel's probe before
    /// submission (an op the kernel lacks fails with `Unsupported`).
    const CODE: u8;

    /// Whether dropping the op's future cancels it (the default). An op
    /// whose cancellation would leave things worse than finishing it (a
    /// close that, cancelled, leaves the fd open) sets this to `false`:
    /// dropped, it is [detached](Op::detach) instead.
    const CANCEL_ON_DROP: bool = true;

    /// Builds the SQE. `user_data` is set by the driver.
    fn build(&mut self) -> squeue::Entry;

    /// Turns the CQE into the output, handing back owned resources.
    fn complete(self, cqe: Completion) -> Self::Output;

    /// The CQE arrived after the future was dropped. The default drops the
    /// resources; ops whose completion creates something (an fd) must
    /// release it here.
    fn complete_orphan(self, cqe: Completion)
    where
        Self: Sized,
    {
        let _ = cqe;
    }
}

impl<T: OpCode> Orphan for T {
    fn complete(self: Box<Self>, cqe: Completion) {
        (*self).complete_orphan(cqe)
    }
}

/// The future of one io_uring operation.
///
/// Panics on first poll if created outside a coring runtime.
#[must_use = "an Op does nothing until polled"]
#[derive(Debug)]
pub struct Op<T: OpCode> {
    op: Option<T>,
    state: State,
}

#[derive(Debug)]
enum State {
    Unsubmitted,
    Submitted(Rc<DriverHandle>, Token),
    Finished,
}

impl<T: OpCode> Op<T> {
    /// Wraps an operation; it is submitted when first polled.
    pub fn new(op: T) -> Self {
        Op {
            op: Some(op),
            state: State::Unsubmitted,
        }
    }
}

impl<T: OpCode> Op<T> {
    /// Lets the op run to completion in the background instead of
    /// cancelling it (which is what dropping an `Op` does): its resources
    /// move into the driver until the CQE arrives, then
    /// [`OpCode::complete_orphan`] runs and the result is discarded. An op
    /// not yet polled is submitted first (outside a runtime it is simply
    /// dropped: nothing was submitted). Use it for work that must not be
    /// cut short, such as bytes a writer already reported as written.
    ///
    /// Runtime shutdown still cancels it (its `complete_orphan` then sees
    /// the cancellation).
    pub fn detach(mut self) {
        self.hand_over(|op| Box::new(op));
    }

    /// Moves the op into the driver (wrapped by `wrap`) without a cancel;
    /// returns where it went, or `None` if it never could be submitted.
    /// (`detach_for`, which needs a task and a timer, lives above the
    /// executor: `executor/detach.rs`.)
    pub(crate) fn hand_over(
        &mut self,
        wrap: impl FnOnce(T) -> Box<dyn Orphan>,
    ) -> Option<(Rc<DriverHandle>, Token)> {
        if let State::Unsubmitted = self.state {
            let driver = crate::driver::current::try_current()?;
            let op = self.op.as_mut()?;
            match driver.push(T::CODE, op.build(), futures::task::noop_waker_ref(), false) {
                Ok(token) => self.state = State::Submitted(driver, token),
                Err(cqe) => {
                    self.state = State::Finished;
                    if let Some(op) = self.op.take() {
                        op.complete_orphan(cqe);
                    }
                    return None;
                }
            }
        }
        match (&self.state, self.op.take()) {
            (State::Submitted(driver, token), Some(op)) => {
                let (driver, token) = (driver.clone(), *token);
                driver.detach(token, wrap(op));
                Some((driver, token))
            }
            _ => None,
        }
    }
}

impl<T: OpCode> Unpin for Op<T> {}

impl<T: OpCode> Future for Op<T> {
    type Output = T::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T::Output> {
        let this = self.get_mut();
        let cqe = match &this.state {
            State::Unsubmitted => {
                let driver = crate::driver::current::current("an io_uring op");
                let op = this.op.as_mut().expect("Op polled after completion");
                match driver.push(T::CODE, op.build(), cx.waker(), false) {
                    Ok(token) => {
                        this.state = State::Submitted(driver, token);
                        return Poll::Pending;
                    }
                    Err(cqe) => cqe,
                }
            }
            State::Submitted(driver, token) => match driver.poll_op(*token, cx.waker()) {
                Poll::Ready(cqe) => cqe,
                Poll::Pending => return Poll::Pending,
            },
            State::Finished => panic!("Op polled after completion"),
        };
        this.state = State::Finished;
        let op = this.op.take().expect("Op polled after completion");
        Poll::Ready(op.complete(cqe))
    }
}

impl<T: OpCode> Drop for Op<T> {
    fn drop(&mut self) {
        if !T::CANCEL_ON_DROP {
            if let State::Submitted(..) = self.state {
                self.hand_over(|op| Box::new(op));
            }
            return;
        }
        if let (State::Submitted(driver, token), Some(op)) = (&self.state, self.op.take()) {
            driver.abandon(*token, Box::new(op));
        }
    }
}

/// Whether the running kernel supports io_uring opcode `code` (from the
/// ring's probe). Ops the kernel lacks also fail on their own with
/// `ErrorKind::Unsupported`; this lets a caller pick a fallback up front.
///
/// Panics outside a coring runtime.
pub fn is_supported(code: u8) -> bool {
    crate::driver::current::current("coring::runtime::op::is_supported").is_supported(code)
}

/// Converts a completion's result into an `io::Result<usize>`.
pub(crate) fn usize_result(cqe: Completion) -> std::io::Result<usize> {
    cqe.result().map(|n| n as usize)
}
