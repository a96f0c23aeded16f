//! [`ShutdownHandle`]: starts the drain of every core of a launcher run
//! ([`shutdown`](ShutdownHandle::shutdown)) or stops them at once
//! ([`shutdown_now`](ShutdownHandle::shutdown_now)); [`Draining`] is the
//! future user code awaits to learn that the drain began. What a core does
//! while draining is in `drain.rs`.

use crate::sync::{
    atomic::{AtomicBool, Ordering::SeqCst},
    Arc, AtomicWaker, Mutex,
};
use slab::Slab;
use std::{
    fmt,
    future::Future,
    pin::Pin,
    // loom has no `OnceLock`; the drain's start time is not a cross-thread
    // protocol (the `draining` flag is).
    sync::OnceLock,
    task::{Context, Poll, Waker},
    time::{Duration, Instant},
};

/// Starts or forces the shutdown of every core of a launcher run
/// (cloneable, `Send`). Get it with [`shutdown_handle`](crate::shutdown_handle).
///
/// Shutdown has two steps. [`shutdown`](ShutdownHandle::shutdown) (also the
/// first SIGINT/SIGTERM) starts the *drain*: every [`Draining`] future
/// resolves, so accept loops stop accepting and connection tasks finish
/// what they are doing; each core's main future is expected to return,
/// after which the core waits for its spawned tasks to end. The drain
/// lasts at most [`Builder::shutdown_grace`](crate::Builder::shutdown_grace)
/// (default 30 s). At the deadline, on [`shutdown_now`](ShutdownHandle::shutdown_now)
/// or on a second signal, whatever still runs is dropped: ops are
/// cancelled and the cores' threads end.
///
/// ```no_run
/// use coring_runtime::{shutdown_handle, Builder};
/// use futures::future::{select, Either};
/// use std::{pin::pin, time::Duration};
///
/// Builder::new()
///     .shutdown_grace(Duration::from_secs(10))
///     .run(|_core| async move {
///         let mut draining = shutdown_handle().wait();
///         loop {
///             // An accept loop: here a timer stands in for `accept()`.
///             let accept = pin!(coring_runtime::time::sleep(Duration::from_millis(100)));
///             match select(accept, &mut draining).await {
///                 Either::Left(((), _)) => {
///                     // Spawned work is waited for during the drain.
///                     coring_runtime::spawn(async { /* serve a connection */ });
///                 }
///                 // Shutdown began: stop accepting. The core then waits
///                 // for its spawned tasks, up to the grace period.
///                 Either::Right(((), _)) => break,
///             }
///         }
///     })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct ShutdownHandle {
    pub(crate) state: Arc<StopState>,
}

pub(crate) struct StopState {
    /// Set by the first `shutdown` (or `shutdown_now`).
    draining: AtomicBool,
    /// Set by `shutdown_now`: drop everything.
    hard: AtomicBool,
    grace: Duration,
    /// When the drain began.
    began: OnceLock<Instant>,
    /// Each core's launcher future (see `drain::run_core`).
    cores: Vec<AtomicWaker>,
    /// Waiting [`Draining`] futures.
    waiters: Mutex<Slab<Waker>>,
}

impl StopState {
    pub(crate) fn new(cores: usize, grace: Duration) -> Arc<Self> {
        Arc::new(StopState {
            draining: AtomicBool::new(false),
            hard: AtomicBool::new(false),
            grace,
            began: OnceLock::new(),
            cores: (0..cores).map(|_| AtomicWaker::new()).collect(),
            waiters: Mutex::new(Slab::new()),
        })
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(SeqCst)
    }

    pub(crate) fn is_hard(&self) -> bool {
        self.hard.load(SeqCst)
    }

    /// When the drain ends (`None`: not draining, or a grace too long to
    /// represent, i.e. never).
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.began.get()?.checked_add(self.grace)
    }

    /// Wakes core `index`'s launcher future on any change.
    pub(crate) fn register_core(&self, index: usize, waker: &Waker) {
        self.cores[index].register(waker);
    }

    fn wake_all(&self) {
        for w in &self.cores {
            w.wake();
        }
        let waiters: Vec<Waker> = {
            let waiters = self.waiters.lock();
            waiters.iter().map(|(_, w)| w.clone()).collect()
        };
        for w in waiters {
            w.wake();
        }
    }
}

impl ShutdownHandle {
    /// Starts a graceful shutdown (the drain) of every core: [`Draining`]
    /// futures resolve, each core waits for its main future and then its
    /// spawned tasks to finish, for at most the grace period. Returns at
    /// once; calling it again changes nothing (use
    /// [`shutdown_now`](ShutdownHandle::shutdown_now) to stop at once).
    pub fn shutdown(&self) {
        let state = &self.state;
        // The start first: a core that sees the flag computes the deadline.
        state.began.get_or_init(Instant::now);
        if !state.draining.swap(true, SeqCst) {
            tracing::info!(
                grace = ?state.grace,
                "shutdown requested: draining (accept loops stop, in-flight work may finish; \
                 a second signal stops at once)"
            );
        }
        state.wake_all();
    }

    /// Stops every core at once: main futures and tasks still running are
    /// dropped (their ops cancelled), as at the end of the grace period.
    pub fn shutdown_now(&self) {
        let state = &self.state;
        state.began.get_or_init(Instant::now);
        state.draining.store(true, SeqCst);
        if !state.hard.swap(true, SeqCst) {
            tracing::warn!("shutdown_now: stopping every core now");
        }
        state.wake_all();
    }

    /// Whether shutdown began (draining or stopped).
    pub fn is_shutdown(&self) -> bool {
        self.state.is_draining()
    }

    /// A future that resolves when shutdown begins (at once if it already
    /// has): select on it to stop accepting, or to close an idle
    /// connection. Any number may wait, on any thread.
    pub fn wait(&self) -> Draining {
        Draining {
            state: self.state.clone(),
            key: None,
            waker: None,
        }
    }
}

impl fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownHandle")
            .field("draining", &self.state.is_draining())
            .field("stopping_now", &self.state.is_hard())
            .field("grace", &self.state.grace)
            .finish()
    }
}

/// Resolves when the run's shutdown begins; from [`ShutdownHandle::wait`].
/// `Send`, `Unpin`, and cheap to keep: it registers its waker once (one
/// short lock) and re-polling it with the same waker takes no lock.
pub struct Draining {
    state: Arc<StopState>,
    key: Option<usize>,
    /// The waker registered under `key`.
    waker: Option<Waker>,
}

impl Future for Draining {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.state.is_draining() {
            return Poll::Ready(());
        }
        if this.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            return Poll::Pending;
        }
        {
            let mut waiters = this.state.waiters.lock();
            match this.key {
                Some(key) => waiters[key] = cx.waker().clone(),
                None => this.key = Some(waiters.insert(cx.waker().clone())),
            }
        }
        this.waker = Some(cx.waker().clone());
        // The drain may have begun before the waker was in the list.
        if this.state.is_draining() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Draining {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            let mut waiters = self.state.waiters.lock();
            waiters.remove(key);
        }
    }
}

impl fmt::Debug for Draining {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Draining")
            .field("draining", &self.state.is_draining())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use futures::{executor::block_on, task::noop_waker_ref};

    #[test]
    fn draining_resolves_when_another_thread_shuts_down() {
        let handle = ShutdownHandle {
            state: StopState::new(2, Duration::from_secs(1)),
        };
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let h = handle.clone();
                std::thread::spawn(move || block_on(h.wait()))
            })
            .collect();
        // A waiter that registers and goes away before the drain.
        let mut early = handle.wait();
        let mut cx = Context::from_waker(noop_waker_ref());
        assert!(Pin::new(&mut early).poll(&mut cx).is_pending());
        drop(early);
        std::thread::spawn({
            let h = handle.clone();
            move || h.shutdown()
        })
        .join()
        .unwrap();
        waiters.into_iter().for_each(|w| w.join().unwrap());
        assert!(handle.is_shutdown() && !handle.state.is_hard());
        assert!(handle.state.deadline().is_some());
        // Resolves at once now.
        block_on(handle.wait());
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use futures::task::noop_waker_ref;
    use loom::{future::block_on, thread};

    fn handle() -> ShutdownHandle {
        ShutdownHandle {
            state: StopState::new(1, Duration::from_secs(1)),
        }
    }

    /// A `Draining` future waiting on one thread while another calls
    /// `shutdown()`: it always resolves (its waker's registration in the
    /// waiters' slab races the `draining` flag and `wake_all`'s walk of the
    /// slab; a lost wake is a deadlock for loom).
    #[test]
    fn loom_draining_resolves_on_shutdown() {
        loom::model(|| {
            let handle = handle();
            let h = handle.clone();
            let stopper = thread::spawn(move || h.shutdown());
            block_on(handle.wait());
            stopper.join().unwrap();
            assert!(handle.is_shutdown());
        });
    }

    /// Another waiter registers and is dropped (its slab entry removed)
    /// while `shutdown()` runs: the waiting one still resolves.
    #[test]
    fn loom_draining_waiter_dropped_during_shutdown() {
        loom::model(|| {
            let handle = handle();
            let h = handle.clone();
            let stopper = thread::spawn(move || h.shutdown());
            let h = handle.clone();
            let quitter = thread::spawn(move || {
                let mut d = h.wait();
                let _ = Pin::new(&mut d).poll(&mut Context::from_waker(noop_waker_ref()));
            });
            block_on(handle.wait());
            stopper.join().unwrap();
            quitter.join().unwrap();
        });
    }
}
