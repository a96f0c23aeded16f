//! Watching a detached op: [`Watched`] wraps the op in the driver so its
//! completion is seen, and [`cancel_after`] spawns the small task behind
//! [`Op::detach_for`](super::Op::detach_for) that cancels the op if it is
//! still running when its time is up — and ends as soon as the op does, so
//! a detached op that finishes at once costs no long-lived task or timer.

use super::{Completion, OpCode};
use crate::driver::{DriverHandle, Orphan, Token};
use std::{
    cell::{Cell, RefCell},
    future::poll_fn,
    pin::pin,
    rc::Rc,
    task::{Poll, Waker},
    time::Duration,
};

/// Whether a watched op finished, and who waits to hear it.
#[derive(Default)]
pub(super) struct Watch {
    done: Cell<bool>,
    waiter: RefCell<Option<Waker>>,
}

impl Watch {
    fn finish(&self) {
        self.done.set(true);
        if let Some(w) = self.waiter.borrow_mut().take() {
            w.wake();
        }
    }

    async fn finished(&self) {
        poll_fn(|cx| {
            if self.done.get() {
                return Poll::Ready(());
            }
            *self.waiter.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}

/// An op left in the driver; when the driver is done with it (completed,
/// or dropped because it never reached the kernel) its [`Watch`] is set.
pub(super) struct Watched<T> {
    op: Option<T>,
    watch: Rc<Watch>,
}

impl<T> Watched<T> {
    pub(super) fn new(op: T, watch: Rc<Watch>) -> Self {
        Watched {
            op: Some(op),
            watch,
        }
    }
}

impl<T: OpCode> Orphan for Watched<T> {
    fn complete(mut self: Box<Self>, cqe: Completion) {
        if let Some(op) = self.op.take() {
            op.complete_orphan(cqe);
        }
    }
}

impl<T> Drop for Watched<T> {
    fn drop(&mut self) {
        self.watch.finish();
    }
}

/// Spawns the task that cancels op `token` after `limit` unless `watch`
/// reports it finished first.
pub(super) fn cancel_after(
    driver: Rc<DriverHandle>,
    token: Token,
    watch: Rc<Watch>,
    limit: Duration,
) {
    if watch.done.get() {
        return;
    }
    let Some(ctx) = crate::executor::context::try_current() else {
        return;
    };
    drop(crate::executor::spawn_in(&ctx, async move {
        let deadline = pin!(crate::time::sleep(limit));
        let finished = pin!(watch.finished());
        if let futures::future::Either::Left(_) = futures::future::select(deadline, finished).await
        {
            driver.cancel_orphan(token);
        }
    }));
}
