//! [`Op::detach_for`]: a detached op with a time limit. [`Watched`] wraps
//! the op in the driver so its completion is seen, and [`cancel_after`]
//! spawns the small task that cancels the op if it is still running when
//! its time is up — and ends as soon as the op does, so a detached op that
//! finishes at once costs no long-lived task or timer. It needs a task and
//! a timer, so it lives here, above the op layer.

use crate::driver::{Completion, DriverHandle, Orphan, Token};
use crate::op::{Op, OpCode};
use std::{
    cell::{Cell, RefCell},
    future::poll_fn,
    pin::pin,
    rc::Rc,
    task::{Poll, Waker},
    time::Duration,
};

impl<T: OpCode> Op<T> {
    /// Like [`detach`](Self::detach), but if the op has not completed
    /// `limit` after this call, it is cancelled: a send to a peer that
    /// stopped reading does not hold its socket and buffer forever. (A
    /// small task waits for whichever comes first; it ends with the op.)
    pub fn detach_for(mut self, limit: Duration) {
        let watch = Rc::new(Watch::default());
        let w = watch.clone();
        if let Some((driver, token)) = self.hand_over(move |op| Box::new(Watched::new(op, w))) {
            cancel_after(driver, token, watch, limit);
        }
    }
}

/// Whether a watched op finished, and who waits to hear it.
#[derive(Default)]
struct Watch {
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
struct Watched<T> {
    op: Option<T>,
    watch: Rc<Watch>,
}

impl<T> Watched<T> {
    fn new(op: T, watch: Rc<Watch>) -> Self {
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
fn cancel_after(driver: Rc<DriverHandle>, token: Token, watch: Rc<Watch>, limit: Duration) {
    if watch.done.get() {
        return;
    }
    let Some(ctx) = super::context::try_current() else {
        return;
    };
    drop(super::spawn_in(&ctx, async move {
        let deadline = pin!(crate::time::sleep(limit));
        let finished = pin!(watch.finished());
        if let futures::future::Either::Left(_) = futures::future::select(deadline, finished).await
        {
            driver.cancel_orphan(token);
        }
    }));
}
