//! [`Runtime`]: one thread's executor loop over one ring.
//!
//! Each turn of the loop: poll the `block_on` future if it was woken, run
//! up to [`BUDGET`] ready tasks, fire due timers. If tasks are still
//! ready, submit pending SQEs and reap completions (reading ring memory; a
//! syscall only when there is something to submit or deferred work to run)
//! and go round again. With nothing ready, park: one `io_uring_enter`
//! submits the turn's SQEs and waits for a completion, a cross-thread wake
//! or the next timer deadline (optionally after spinning on ring memory for
//! [`Builder::spin_before_park`](crate::Builder::spin_before_park)).

use super::{
    context::{self, Context},
    queue::{MainWaker, Shared},
    task,
};
use crate::{
    driver::{DriverHandle, DriverStats, WakeFd},
    ring::{DriverKind, RingConfig, RingInfo},
    sync::atomic::AtomicBool,
    time::Timers,
};
use std::{
    any::Any,
    cell::{Cell, RefCell},
    collections::VecDeque,
    future::Future,
    io,
    pin::pin,
    rc::Rc,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    task::{Context as TaskCx, Poll, Waker},
    time::{Duration, Instant},
};

/// Tasks run per loop turn before completions are reaped again, so a busy
/// task set cannot starve I/O.
const BUDGET: usize = 128;

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

/// A single-threaded runtime: one ring, one run queue. Not `Send`: it
/// lives on the thread that built it, which is the ring's only submitter.
pub struct Runtime {
    ctx: Rc<Context>,
    span: tracing::Span,
}

/// Counters of one runtime.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuntimeStats {
    /// The driver's counters (ops in flight, submitted, completed, ...).
    pub driver: DriverStats,
    /// Tasks spawned since start.
    pub tasks_spawned: u64,
    /// Tasks alive now.
    pub tasks_alive: u64,
    /// Timers (sleeps) registered now.
    pub timers: u64,
    /// Steps the ring's set-up fell back before it succeeded.
    pub ring_fallbacks: u64,
}

impl Runtime {
    /// A runtime with the default ring configuration.
    pub fn new() -> io::Result<Runtime> {
        crate::Builder::new().build()
    }

    pub(crate) fn with_config(config: &RingConfig, spin: Duration) -> io::Result<Runtime> {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let span = tracing::info_span!("coring_runtime", id);
        let _enter = span.enter();
        let (io, info) = crate::driver::open(config)?;
        tracing::info!(
            driver = %info.driver,
            sq = info.size.sq,
            cq = info.size.cq,
            flags = %info.flags,
            features = ?info.features,
            io_worker_cpus = ?info.io_workers.cpus,
            io_worker_limits = ?info.io_workers.limits,
            "ring ready"
        );
        let wake = WakeFd::new()?;
        let driver = Rc::new(DriverHandle::new(io, info, wake.clone(), config));
        let ctx = Rc::new(Context {
            id,
            driver,
            local: RefCell::new(VecDeque::with_capacity(256)),
            shared: Arc::new(Shared::new(id, wake)),
            timers: Rc::new(Timers::default()),
            tasks: Default::default(),
            tasks_spawned: Cell::new(0),
            core: RefCell::new(None),
            spin,
            locals: RefCell::new(Default::default()),
        });
        drop(_enter);
        Ok(Runtime { ctx, span })
    }

    /// Runs `future` to completion on this thread, running spawned tasks
    /// and I/O meanwhile.
    ///
    /// Panics if called from within a running coring runtime.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _span = self.span.enter();
        let _guard = context::enter(&self.ctx);
        let ctx = &*self.ctx;
        let main = Arc::new(MainWaker {
            woken: AtomicBool::new(true),
            shared: ctx.shared.clone(),
        });
        let waker = Waker::from(main.clone());
        let mut cx = TaskCx::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            if main.woken.swap(false, Ordering::SeqCst) {
                if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                    return out;
                }
            }
            run_tasks(ctx);
            let now = ctx.timers.fire_due();
            let busy =
                |ctx: &Context| main.woken.load(Ordering::SeqCst) || !ctx.local.borrow().is_empty();
            if busy(ctx) {
                // More to run: submit this turn's SQEs, reap, go on.
                if ctx.driver.has_io_work() {
                    ctx.driver.submit_and_reap();
                }
                continue;
            }
            if !ctx.spin.is_zero() {
                // Hand this turn's SQEs to the kernel, then watch ring
                // memory for their completions before parking.
                if ctx.driver.has_io_work() {
                    ctx.driver.submit_and_reap();
                    if busy(ctx) {
                        continue;
                    }
                }
                if spin_for_work(ctx, &main) {
                    continue;
                }
            }
            publish(ctx);
            // One io_uring_enter submits this turn's SQEs and waits.
            if ctx.shared.begin_park(&main) {
                let timeout = ctx
                    .timers
                    .next_deadline()
                    .map(|d| d.saturating_duration_since(now.unwrap_or_else(Instant::now)));
                ctx.driver.park(timeout);
                ctx.shared.end_park();
            }
        }
    }

    /// Spawns a task on this runtime; it runs while `block_on` runs.
    pub fn spawn<F>(&self, future: F) -> task::JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        task::spawn_in(&self.ctx, future)
    }

    /// The ring: its current size (adaptive rings grow and shrink), what
    /// it was set up with (flags, kernel features, every fallback step),
    /// and its latest resizes.
    pub fn ring_info(&self) -> RingInfo {
        self.ctx.driver.info()
    }

    /// The driver this runtime runs on: io_uring, or epoll where io_uring
    /// is blocked or was not wanted (`ring_info().driver_reason` says why).
    pub fn driver_kind(&self) -> DriverKind {
        self.ctx.driver.kind()
    }

    /// This runtime's counters.
    pub fn stats(&self) -> RuntimeStats {
        stats_of(&self.ctx)
    }

    pub(crate) fn shared(&self) -> Arc<Shared> {
        self.ctx.shared.clone()
    }

    /// Fills the runtime's slot for the layer that runs it as one core of
    /// a group (the launcher's per-core context, opaque here); a runtime
    /// with a filled slot publishes its counters for other threads.
    pub(crate) fn set_core(&self, core: Rc<dyn Any>) {
        *self.ctx.core.borrow_mut() = Some(core);
    }

    /// Publishes this runtime's counters for other cores to read.
    pub(crate) fn publish_stats(&self) {
        publish(&self.ctx);
    }
}

pub(crate) fn stats_of(ctx: &Context) -> RuntimeStats {
    RuntimeStats {
        driver: ctx.driver.stats(),
        tasks_spawned: ctx.tasks_spawned.get(),
        tasks_alive: ctx.tasks.alive(),
        timers: ctx.timers.len() as u64,
        ring_fallbacks: ctx.driver.fallback_count(),
    }
}

/// Publishes counters for other cores (only under the launcher).
fn publish(ctx: &Context) {
    if ctx.core.borrow().is_some() {
        ctx.shared.published.publish(&stats_of(ctx));
    }
}

/// Before parking, watches for work for up to the configured spin time
/// without entering the kernel: remote wakes, the SQ flags (deferred
/// completion work) and the CQ tail are all plain memory reads. A wake
/// that arrives while spinning costs the waker no eventfd write and this
/// thread no `io_uring_enter`. Returns whether work showed up.
fn spin_for_work(ctx: &Context, main: &MainWaker) -> bool {
    if ctx.spin.is_zero() {
        return false;
    }
    let start = Instant::now();
    let limit = match ctx.timers.next_deadline() {
        Some(d) => ctx.spin.min(d.saturating_duration_since(start)),
        None => ctx.spin,
    };
    loop {
        for _ in 0..64 {
            if ctx.shared.has_remote()
                || main.woken.load(Ordering::SeqCst)
                || ctx.driver.has_io_work()
            {
                return true;
            }
            std::hint::spin_loop();
        }
        if start.elapsed() >= limit {
            return false;
        }
    }
}

/// Runs up to [`BUDGET`] ready tasks.
fn run_tasks(ctx: &Context) {
    let jobs = ctx.shared.drain_remote(&mut ctx.local.borrow_mut());
    for job in jobs {
        job();
    }
    for _ in 0..BUDGET {
        let Some(runnable) = ctx.local.borrow_mut().pop_front() else {
            return;
        };
        runnable.run();
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let _span = self.span.enter();
        let _guard = context::enter_for_drop(&self.ctx);
        let ctx = &*self.ctx;
        let start = Instant::now();
        // Drop every task's future here, on the runtime's thread: wake each
        // live task and drop its runnable instead of running it. Dropping a
        // future may drop ops (which submit cancels) or spawn more tasks, so
        // repeat until nothing is left.
        loop {
            let wakers = ctx.tasks.drain();
            for w in &wakers {
                w.wake_by_ref();
            }
            drop(wakers);
            // Jobs sent here are dropped unrun: their result channels close,
            // so whoever waits on them sees a cancelled task.
            drop(ctx.shared.drain_remote(&mut ctx.local.borrow_mut()));
            let runnables: Vec<_> = ctx.local.borrow_mut().drain(..).collect();
            if runnables.is_empty() && ctx.tasks.waiting() == 0 {
                break;
            }
            drop(runnables);
        }
        ctx.timers.clear();
        ctx.driver.shutdown();
        // Registered memory (buffer rings, pools) goes only after the ring
        // has no op in flight.
        let locals = std::mem::take(&mut *ctx.locals.borrow_mut());
        drop(locals);
        tracing::debug!(elapsed = ?start.elapsed(), "runtime shut down");
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("id", &self.ctx.id)
            .field("ring", &self.ctx.driver.info().size)
            .finish_non_exhaustive()
    }
}
