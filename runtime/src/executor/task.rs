//! Tasks: [`spawn`], [`JoinHandle`], [`JoinError`], and the registry that
//! lets shutdown drop every task's future on the runtime's own thread (and
//! lets the launcher's drain wait until no task is alive).
//!
//! The task cell (state machine, reference counts, waker vtable) is
//! `async-task`'s; coring adds panic capture and abort.

use super::context::{self, Context};
use async_task::FallibleTask;
use slab::Slab;
use std::{
    any::Any,
    cell::{Cell, RefCell},
    fmt,
    future::Future,
    panic::AssertUnwindSafe,
    pin::Pin,
    rc::{Rc, Weak},
    task::{Context as TaskCx, Poll, Waker},
};

type Panic = Box<dyn Any + Send + 'static>;

/// Spawns a task on the current runtime. The future need not be `Send`; it
/// runs on this thread only.
///
/// Panics if called outside a coring runtime.
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    context::with_current("spawn", |ctx| spawn_in(ctx, future))
}

pub(crate) fn spawn_in<F>(ctx: &Rc<Context>, future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let wrapped = TaskFuture {
        inner: future,
        ctx: Rc::downgrade(ctx),
        registration: None,
    };
    let shared = ctx.shared.clone();
    let (runnable, task) = async_task::spawn_local(wrapped, move |r| shared.schedule(r));
    ctx.tasks_spawned.set(ctx.tasks_spawned.get() + 1);
    ctx.tasks.alive.set(ctx.tasks.alive.get() + 1);
    runnable.schedule();
    JoinHandle {
        task: Cell::new(Some(task.fallible())),
    }
}

pin_project_lite::pin_project! {
    /// A spawned future: catches its panics, and registers the task with
    /// the runtime the first time it waits (a task that finishes in its
    /// first poll never touches the registry).
    struct TaskFuture<F> {
        #[pin]
        inner: F,
        ctx: Weak<Context>,
        registration: Option<Deregister>,
    }

    impl<F> PinnedDrop for TaskFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(ctx) = this.ctx.upgrade() {
                let alive = ctx.tasks.alive.get() - 1;
                ctx.tasks.alive.set(alive);
                if alive == 0 {
                    if let Some(w) = ctx.tasks.idle.take() {
                        w.wake();
                    }
                }
            }
        }
    }
}

impl<F: Future> Future for TaskFuture<F> {
    type Output = Result<F::Output, Panic>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let inner = this.inner;
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(panic) => Poll::Ready(Err(panic)),
            Ok(Poll::Pending) => {
                if this.registration.is_none() {
                    if let Some(ctx) = this.ctx.upgrade() {
                        *this.registration = Some(ctx.tasks.register(this.ctx.clone(), cx.waker()));
                    }
                }
                Poll::Pending
            }
        }
    }
}

/// Wakers of all live tasks, so shutdown can reach every one.
#[derive(Default)]
pub(crate) struct TaskRegistry {
    wakers: RefCell<Slab<(u64, Waker)>>,
    next_id: Cell<u64>,
    /// Tasks whose future has not been dropped yet.
    alive: Cell<u64>,
    /// Woken when `alive` drops to zero.
    idle: Cell<Option<Waker>>,
}

impl TaskRegistry {
    fn register(&self, ctx: Weak<Context>, waker: &Waker) -> Deregister {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let key = self.wakers.borrow_mut().insert((id, waker.clone()));
        Deregister { ctx, key, id }
    }

    /// Takes every live task's waker.
    pub(crate) fn drain(&self) -> Vec<Waker> {
        self.wakers.borrow_mut().drain().map(|(_, w)| w).collect()
    }

    /// Tasks that waited at least once and are not finished: the ones
    /// only a waker can reach.
    pub(crate) fn waiting(&self) -> usize {
        self.wakers.borrow().len()
    }

    /// Tasks spawned whose future has not been dropped.
    pub(crate) fn alive(&self) -> u64 {
        self.alive.get()
    }

    /// Wakes `waker` (once) when no task is alive any more.
    pub(crate) fn wake_when_idle(&self, waker: &Waker) {
        let old = self.idle.take();
        self.idle.set(Some(match old {
            Some(w) if w.will_wake(waker) => w,
            _ => waker.clone(),
        }));
    }
}

struct Deregister {
    ctx: Weak<Context>,
    key: usize,
    id: u64,
}

impl Drop for Deregister {
    fn drop(&mut self) {
        if let Some(ctx) = self.ctx.upgrade() {
            let mut w = ctx.tasks.wakers.borrow_mut();
            if w.get(self.key).is_some_and(|(id, _)| *id == self.id) {
                w.remove(self.key);
            }
        }
    }
}

/// Owned permission to await a spawned task's output. Dropping it detaches
/// the task (it keeps running).
pub struct JoinHandle<T> {
    task: Cell<Option<FallibleTask<Result<T, Panic>>>>,
}

impl<T> JoinHandle<T> {
    /// Cancels the task: its future is dropped at the latest when the
    /// runtime next runs it, and awaiting this handle gives a
    /// [`JoinError`] that [`is_cancelled`](JoinError::is_cancelled).
    /// A task that already finished keeps its output.
    pub fn abort(&self) {
        if let Some(task) = self.task.take() {
            if task.is_finished() {
                self.task.set(Some(task));
            }
            // Else dropping the task cancels it.
        }
    }

    /// Cancels the task like [`abort`](JoinHandle::abort); the future
    /// resolves once the task's future has been dropped (at once if it had
    /// finished).
    pub(crate) fn cancel_and_wait(self) -> impl Future<Output = ()> + 'static
    where
        T: 'static,
    {
        let task = self.task.take();
        async move {
            if let Some(task) = task {
                let _ = task.cancel().await;
            }
        }
    }

    /// Whether the task has finished (completed, panicked or aborted).
    pub fn is_finished(&self) -> bool {
        let task = self.task.take();
        let done = task.as_ref().is_none_or(|t| t.is_finished());
        self.task.set(task);
        done
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(task) = this.task.get_mut() else {
            return Poll::Ready(Err(JoinError::cancelled()));
        };
        match Pin::new(task).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(out) => {
                this.task.set(None);
                Poll::Ready(match out {
                    Some(Ok(v)) => Ok(v),
                    Some(Err(p)) => Err(JoinError { panic: Some(p) }),
                    None => Err(JoinError::cancelled()),
                })
            }
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.detach();
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Why a task gave no output: it panicked (the payload is kept) or it was
/// cancelled (aborted, or its runtime shut down).
pub struct JoinError {
    panic: Option<Panic>,
}

impl JoinError {
    pub(crate) fn cancelled() -> Self {
        JoinError { panic: None }
    }

    pub(crate) fn panic(payload: Panic) -> Self {
        JoinError {
            panic: Some(payload),
        }
    }

    /// The task was aborted or its runtime shut down first.
    pub fn is_cancelled(&self) -> bool {
        self.panic.is_none()
    }

    /// The task panicked.
    pub fn is_panic(&self) -> bool {
        self.panic.is_some()
    }

    /// The panic payload; panics if the task was cancelled instead.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.panic
            .expect("JoinError::into_panic on a cancelled task")
    }

    /// The panic message, if the payload was a string.
    pub fn panic_message(&self) -> Option<&str> {
        let p = self.panic.as_ref()?;
        p.downcast_ref::<&str>()
            .copied()
            .or_else(|| p.downcast_ref::<String>().map(|s| s.as_str()))
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.panic, self.panic_message()) {
            (None, _) => f.write_str("task was cancelled"),
            (Some(_), Some(m)) => write!(f, "task panicked: {m}"),
            (Some(_), None) => f.write_str("task panicked"),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(e: JoinError) -> Self {
        std::io::Error::other(e.to_string())
    }
}

/// Yields to the other tasks once: the task goes to the back of the run
/// queue.
pub async fn yield_now() {
    struct YieldNow(bool);
    impl Future for YieldNow {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
    YieldNow(false).await
}
