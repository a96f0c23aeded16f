//! Multishot ops: one SQE, many CQEs (`IORING_CQE_F_MORE`), consumed as a
//! [`Stream`] ([`MultiOp`]). Used for multishot accept and receive.

use super::Completion;
use crate::driver::{DriverHandle, Orphan, Token};
use futures::Stream;
use io_uring::squeue;
use std::{
    pin::Pin,
    rc::Rc,
    task::{Context, Poll},
};

/// A multishot io_uring operation.
///
/// # Safety
///
/// As for [`OpCode`](super::OpCode): the SQE may only point into memory `self` owns and
/// keeps in place; the driver keeps `self` alive until the last CQE (the
/// one without `IORING_CQE_F_MORE`).
pub unsafe trait MultishotCode: 'static {
    /// What each completion becomes.
    type Item;

    /// The io_uring opcode, checked against the kernel's probe.
    const CODE: u8;

    /// Builds the SQE (with the op's multishot flag set).
    fn build(&mut self) -> squeue::Entry;

    /// Turns one CQE into an item.
    fn item(&mut self, cqe: Completion) -> Self::Item;

    /// A CQE arrived after the stream was dropped: release what it created
    /// (e.g. close an accepted fd). Must not submit ops.
    fn orphan_item(&mut self, cqe: Completion) {
        let _ = cqe;
    }
}

/// The stream of one multishot op. Dropping it cancels the op; completions
/// that arrive later go to [`MultishotCode::orphan_item`].
#[must_use = "a MultiOp does nothing until polled"]
#[derive(Debug)]
pub struct MultiOp<T: MultishotCode> {
    op: Option<T>,
    state: Option<(Rc<DriverHandle>, Token)>,
    done: bool,
}

impl<T: MultishotCode> MultiOp<T> {
    /// Wraps a multishot op; it is submitted when first polled.
    pub fn new(op: T) -> Self {
        MultiOp {
            op: Some(op),
            state: None,
            done: false,
        }
    }

    /// Whether the op ended (its last completion was yielded).
    pub fn is_finished(&self) -> bool {
        self.done
    }
}

impl<T: MultishotCode> Unpin for MultiOp<T> {}

impl<T: MultishotCode> Stream for MultiOp<T> {
    type Item = T::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let Some(op) = this.op.as_mut() else {
            return Poll::Ready(None);
        };
        let Some((driver, token)) = &this.state else {
            let driver = crate::driver::current::current("a multishot io_uring op");
            return match driver.push(T::CODE, op.build(), cx.waker(), true) {
                Ok(token) => {
                    this.state = Some((driver, token));
                    Poll::Pending
                }
                Err(cqe) => {
                    this.done = true;
                    Poll::Ready(Some(op.item(cqe)))
                }
            };
        };
        match driver.poll_stream(*token, cx.waker()) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(cqe)) => Poll::Ready(Some(op.item(cqe))),
            Poll::Ready(None) => {
                this.done = true;
                this.state = None;
                Poll::Ready(None)
            }
        }
    }
}

struct MultiOrphan<T>(T);

impl<T: MultishotCode> Orphan for MultiOrphan<T> {
    fn complete(mut self: Box<Self>, cqe: Completion) {
        self.0.orphan_item(cqe);
    }
    fn complete_more(&mut self, cqe: Completion) {
        self.0.orphan_item(cqe);
    }
}

impl<T: MultishotCode> Drop for MultiOp<T> {
    fn drop(&mut self) {
        if let (Some((driver, token)), Some(op)) = (self.state.take(), self.op.take()) {
            driver.abandon(token, Box::new(MultiOrphan(op)));
        }
    }
}
