//! The drain: what a core does from "shutdown begins" to "stop", and the
//! launcher thread's signal loop that starts and forces it.
//!
//! A core runs its main future until it returns or shutdown begins. Once
//! draining, the main future keeps running (it is expected to notice, via
//! [`Draining`](super::Draining) or [`is_shutting_down`](super::is_shutting_down),
//! and return); when it has returned, the core waits until none of its
//! spawned tasks is alive. In-flight work is therefore every task the
//! core still runs: connection tasks, write-behind sends of dropped
//! streams, work other cores sent. The drain ends early at the deadline
//! (drain start + grace) or on a hard stop; then whatever runs is dropped
//! by the runtime's shutdown, which cancels its ops.

use super::shutdown::{ShutdownHandle, StopState};
use crate::{
    executor::context,
    signal::{Signal, SignalWatch, WatchStop},
    sync::atomic::{AtomicUsize, Ordering::SeqCst},
    time::{sleep_until, Sleep},
};
use std::{
    future::{poll_fn, Future},
    pin::{pin, Pin},
    task::{Context, Poll},
    time::Instant,
};

/// Why a phase of the drain ended.
enum Step<T> {
    /// The awaited thing finished.
    Done(T),
    /// Shutdown began (only while running normally).
    Drain,
    /// `shutdown_now` or a second signal.
    Hard,
    /// The grace period is over.
    Deadline,
}

/// Runs `main` as core `index`: its output, or `None` if it was dropped
/// by a hard stop (or at the deadline) before it returned.
pub(crate) async fn run_core<F: Future>(
    main: F,
    state: &StopState,
    index: usize,
) -> Option<F::Output> {
    let ctx = context::current("the launcher's core future");
    let mut main = pin!(main);
    // Running.
    let step = poll_fn(|cx| {
        if let Some(stop) = shutdown_began(state, index, cx) {
            return Poll::Ready(stop);
        }
        main.as_mut().poll(cx).map(Step::Done)
    })
    .await;
    let mut out = match step {
        // Finished on its own: the core ends; its tasks are dropped.
        Step::Done(out) if !state.is_draining() => return Some(out),
        // It returned as it started the shutdown: drain its tasks.
        Step::Done(out) => Some(out),
        Step::Drain => None,
        Step::Hard | Step::Deadline => {
            tracing::warn!(core = index, tasks = ctx.tasks.alive(), "stopping now");
            return None;
        }
    };
    let start = Instant::now();
    tracing::info!(
        core = index,
        tasks = ctx.tasks.alive(),
        main_running = out.is_none(),
        "draining"
    );
    let mut deadline = pin!(state.deadline().map(sleep_until));
    if out.is_none() {
        // Draining, the main future still running: wait for it to return.
        let step = poll_fn(|cx| {
            if let Some(stop) = stopped(state, index, deadline.as_mut(), cx) {
                return Poll::Ready(stop);
            }
            main.as_mut().poll(cx).map(Step::Done)
        })
        .await;
        match step {
            Step::Done(o) => out = Some(o),
            stop => {
                tracing::warn!(
                    core = index,
                    tasks = ctx.tasks.alive(),
                    "{}: dropping the main future, which has not returned, and every task",
                    reason(&stop)
                );
                return None;
            }
        }
    }
    // The main future returned: wait for the tasks.
    let step = poll_fn(|cx| {
        if let Some(stop) = stopped(state, index, deadline.as_mut(), cx) {
            return Poll::Ready(stop);
        }
        if ctx.tasks.alive() == 0 {
            return Poll::Ready(Step::Done(()));
        }
        ctx.tasks.wake_when_idle(cx.waker());
        Poll::Pending
    })
    .await;
    match step {
        Step::Done(()) => {
            tracing::info!(core = index, elapsed = ?start.elapsed(), "drained");
        }
        stop => {
            tracing::warn!(
                core = index,
                tasks = ctx.tasks.alive(),
                elapsed = ?start.elapsed(),
                "{}: dropping the tasks still running",
                reason(&stop)
            );
        }
    }
    out
}

/// `Some(Hard)` or `Some(Drain)` if shutdown began; registers to be woken
/// when it does otherwise.
fn shutdown_began<T>(state: &StopState, index: usize, cx: &mut Context<'_>) -> Option<Step<T>> {
    state.register_core(index, cx.waker());
    if state.is_hard() {
        return Some(Step::Hard);
    }
    state.is_draining().then_some(Step::Drain)
}

/// `Some(Hard)` or `Some(Deadline)` if the drain must stop now; registers
/// for both otherwise.
fn stopped<T>(
    state: &StopState,
    index: usize,
    deadline: Pin<&mut Option<Sleep>>,
    cx: &mut Context<'_>,
) -> Option<Step<T>> {
    state.register_core(index, cx.waker());
    if state.is_hard() {
        return Some(Step::Hard);
    }
    let over = deadline
        .as_pin_mut()
        .is_some_and(|sleep| sleep.poll(cx).is_ready());
    over.then_some(Step::Deadline)
}

fn reason<T>(step: &Step<T>) -> &'static str {
    match step {
        Step::Deadline => "grace period over",
        _ => "stopping now",
    }
}

/// Counts the cores still running and ends the launcher's signal wait when
/// the last one is done. Each core thread holds a [`CoreExit`] guard.
pub(crate) struct CoresLeft {
    left: AtomicUsize,
    stop: Option<WatchStop>,
}

impl CoresLeft {
    pub(crate) fn new(cores: usize, stop: Option<WatchStop>) -> Self {
        CoresLeft {
            left: AtomicUsize::new(cores),
            stop,
        }
    }
}

/// Dropped when a core thread ends, however it ends.
pub(crate) struct CoreExit(pub(crate) std::sync::Arc<CoresLeft>);

impl Drop for CoreExit {
    fn drop(&mut self) {
        if self.0.left.fetch_sub(1, SeqCst) == 1 {
            if let Some(stop) = &self.0.stop {
                stop.stop();
            }
        }
    }
}

/// The launcher thread's loop while the cores run: the first SIGINT or
/// SIGTERM starts the drain; another one (or one arriving while a drain
/// started by [`ShutdownHandle::shutdown`] runs) stops at once. Returns
/// when every core has ended.
pub(crate) fn watch_signals(watch: &SignalWatch, handle: &ShutdownHandle) {
    loop {
        match watch.wait() {
            Ok(None) => return,
            Ok(Some((sig, count))) => {
                if !handle.is_shutdown() {
                    tracing::info!(?sig, "signal received");
                    handle.shutdown();
                    if count == 1 {
                        continue;
                    }
                }
                tracing::warn!(?sig, "another signal during the drain: stopping now");
                handle.shutdown_now();
            }
            Err(e) => {
                tracing::error!(
                    error = %e,
                    "coring: SIGINT/SIGTERM no longer stop the cores"
                );
                return;
            }
        }
    }
}

/// The signals the launcher listens to.
pub(crate) const SIGNALS: [Signal; 2] = [Signal::Interrupt, Signal::Terminate];

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::{future::block_on, thread};
    use std::time::Duration;

    fn handle() -> ShutdownHandle {
        ShutdownHandle {
            state: StopState::new(1, Duration::from_secs(1)),
        }
    }

    /// Waits (its main future pending) until `check` says the phase ends.
    fn wait_for<T>(mut check: impl FnMut(&mut Context<'_>) -> Option<Step<T>>) -> Step<T> {
        block_on(poll_fn(|cx| check(cx).map_or(Poll::Pending, Poll::Ready)))
    }

    /// A core running its main future (`shutdown_began`: register the
    /// core's `AtomicWaker`, then check the flags) while another thread
    /// calls `shutdown()`: the core always learns that the drain began.
    #[test]
    fn loom_core_sees_the_drain_begin() {
        loom::model(|| {
            let handle = handle();
            let h = handle.clone();
            let stopper = thread::spawn(move || h.shutdown());
            let step = wait_for(|cx| shutdown_began::<()>(&handle.state, 0, cx));
            assert!(matches!(step, Step::Drain | Step::Hard));
            assert!(!handle.state.is_hard());
            stopper.join().unwrap();
        });
    }

    /// A draining core (no deadline) waiting in `stopped` while another
    /// thread calls `shutdown_now()`: the core always stops.
    #[test]
    fn loom_draining_core_sees_shutdown_now() {
        loom::model(|| {
            let handle = handle();
            handle.shutdown();
            let h = handle.clone();
            let stopper = thread::spawn(move || h.shutdown_now());
            let mut deadline = pin!(None::<Sleep>);
            let step = wait_for(|cx| stopped::<()>(&handle.state, 0, deadline.as_mut(), cx));
            assert!(matches!(step, Step::Hard));
            stopper.join().unwrap();
        });
    }
}
