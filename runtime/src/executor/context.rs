//! The per-runtime [`Context`] and the thread-local that says which runtime
//! (if any) is running on this thread.

use super::{queue::Shared, task::TaskRegistry};
use crate::{driver::DriverHandle, time::Timers};
use async_task::Runnable;
use std::{
    any::{Any, TypeId},
    cell::{Cell, RefCell},
    collections::HashMap,
    collections::VecDeque,
    rc::Rc,
    sync::Arc,
};

/// Everything one runtime's thread needs: its ring, its run queue, its
/// timers and its tasks.
pub(crate) struct Context {
    pub(crate) id: usize,
    pub(crate) driver: Rc<DriverHandle>,
    /// Runnables scheduled from this thread.
    pub(crate) local: RefCell<VecDeque<Runnable>>,
    /// What other threads share with this one: remote run queue, wake fd.
    pub(crate) shared: Arc<Shared>,
    pub(crate) timers: Rc<Timers>,
    pub(crate) tasks: TaskRegistry,
    pub(crate) tasks_spawned: Cell<u64>,
    /// How long to watch for work before parking in the kernel.
    pub(crate) spin: std::time::Duration,
    /// Filled when the runtime is one core of a launcher run: the
    /// launcher's per-core context, opaque to the executor (the launcher
    /// is the layer above).
    pub(crate) core: RefCell<Option<Rc<dyn Any>>>,
    /// Per-runtime values (see `runtime_local`), dropped after the ring.
    pub(crate) locals: RefCell<HashMap<TypeId, Rc<dyn Any>>>,
}

impl Context {
    pub(crate) fn local<T: 'static>(&self, init: impl FnOnce() -> T) -> Rc<T> {
        let id = TypeId::of::<T>();
        if let Some(v) = self.locals.borrow().get(&id) {
            return v.clone().downcast::<T>().expect("keyed by TypeId");
        }
        let v = Rc::new(init());
        self.locals.borrow_mut().insert(id, v.clone());
        v
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Context>>> = const { RefCell::new(None) };
}

/// Makes `ctx` current on this thread until the guard drops.
pub(crate) fn enter(ctx: &Rc<Context>) -> EnterGuard {
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_some() {
            panic!(
                "coring: cannot start a runtime from within a running runtime on the same thread \
                 (block_on inside block_on or inside #[coring::main]); spawn the future instead"
            );
        }
        *c = Some(ctx.clone());
    });
    EnterGuard {
        previous: None,
        _driver: crate::driver::current::enter(&ctx.driver),
    }
}

/// Makes `ctx` current even if another runtime is (a runtime dropped inside
/// another's task), restoring the other when the guard drops.
pub(crate) fn enter_for_drop(ctx: &Rc<Context>) -> EnterGuard {
    let previous = CURRENT.with(|c| c.borrow_mut().replace(ctx.clone()));
    EnterGuard {
        previous,
        _driver: crate::driver::current::enter(&ctx.driver),
    }
}

/// Restores the previous context (and driver) when dropped.
pub(crate) struct EnterGuard {
    previous: Option<Rc<Context>>,
    /// Dropped after `previous` is restored (fields drop in order).
    _driver: crate::driver::current::CurrentGuard,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = previous);
    }
}

/// Runs `f` with the current context, if the context's id is `id`.
pub(crate) fn with_if<R>(id: usize, f: impl FnOnce(&Context) -> R) -> Option<R> {
    CURRENT
        .try_with(|c| match &*c.borrow() {
            Some(ctx) if ctx.id == id => Some(f(ctx)),
            _ => None,
        })
        .ok()
        .flatten()
}

/// The current context, if any.
pub(crate) fn try_current() -> Option<Rc<Context>> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// The current context; panics with a clear message naming `what` if none.
pub(crate) fn current(what: &str) -> Rc<Context> {
    with_current(what, Rc::clone)
}

/// Runs `f` with the current context without cloning it; panics with a
/// clear message naming `what` if there is none.
pub(crate) fn with_current<R>(what: &str, f: impl FnOnce(&Rc<Context>) -> R) -> R {
    CURRENT.with(|c| match &*c.borrow() {
        Some(ctx) => f(ctx),
        None => crate::driver::current::outside(what),
    })
}
