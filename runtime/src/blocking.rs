//! [`spawn_blocking`]: a small pool of std threads for calls that have no
//! io_uring op (`read_dir`, the `ftruncate` fallback, name resolution, a
//! user's CPU-heavy or blocking code) so they never run on an executor
//! thread. One pool per process, shared by all runtimes and cores.
//!
//! Jobs go through a mutex-protected queue; a thread is started only when
//! no idle thread can take a new job (up to [`MAX_THREADS`]), and a thread
//! idle for [`IDLE_TIMEOUT`] exits. The result comes back through a
//! `futures::channel::oneshot`, so awaiting it wakes the runtime normally.

use futures::channel::oneshot;
use std::{
    collections::VecDeque,
    future::Future,
    io,
    panic::{catch_unwind, AssertUnwindSafe},
    pin::Pin,
    sync::{Condvar, Mutex, OnceLock},
    task::{Context, Poll},
    time::Duration,
};

/// Most threads the pool runs at once.
pub(crate) const MAX_THREADS: usize = 16;

/// How long an idle pool thread waits for work before exiting.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    state: Mutex<State>,
    work: Condvar,
}

struct State {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            threads: 0,
            idle: 0,
        }),
        work: Condvar::new(),
    })
}

/// Runs `f` on the blocking pool and resolves to its result.
///
/// The future fails with an `io::Error` (kind `Other`) if `f` panicked or a
/// pool thread could not be started. Dropping the future does not stop `f`;
/// its result is discarded.
///
/// ```
/// # coring_runtime::Runtime::new()?.block_on(async {
/// let n = coring_runtime::spawn_blocking(|| 6 * 7).await?;
/// assert_eq!(n, 42);
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn spawn_blocking<F, R>(f: F) -> BlockingTask<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let job: Job = Box::new(move || {
        let result = catch_unwind(AssertUnwindSafe(f));
        // The receiver may be gone (future dropped): nothing to do then.
        let _ = tx.send(result.map_err(|_| ()));
    });
    let spawn_error = submit(job).err();
    BlockingTask { rx, spawn_error }
}

/// Queues `job` on the pool (the readiness driver's file ops come here).
pub(crate) fn submit(job: Job) -> io::Result<()> {
    let pool = pool();
    let mut st = pool.state.lock().unwrap_or_else(|e| e.into_inner());
    st.queue.push_back(job);
    if st.queue.len() > st.idle && st.threads < MAX_THREADS {
        st.threads += 1;
        let started = std::thread::Builder::new()
            .name("coring-blocking".into())
            .spawn(worker);
        if let Err(e) = started {
            st.threads -= 1;
            if st.threads == 0 {
                st.queue.pop_back();
                return Err(e);
            }
            tracing::warn!("coring: could not start a blocking thread: {e}");
        }
    }
    drop(st);
    pool.work.notify_one();
    Ok(())
}

fn worker() {
    let pool = pool();
    let mut st = pool.state.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if let Some(job) = st.queue.pop_front() {
            drop(st);
            job();
            st = pool.state.lock().unwrap_or_else(|e| e.into_inner());
            continue;
        }
        st.idle += 1;
        let (guard, timeout) = pool
            .work
            .wait_timeout(st, IDLE_TIMEOUT)
            .unwrap_or_else(|e| e.into_inner());
        st = guard;
        st.idle -= 1;
        if timeout.timed_out() && st.queue.is_empty() {
            st.threads -= 1;
            tracing::trace!("coring: idle blocking thread exits");
            return;
        }
    }
}

/// The number of pool threads alive now (for tests and diagnostics).
pub fn blocking_threads() -> usize {
    pool()
        .state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .threads
}

/// The result of [`spawn_blocking`].
#[must_use = "a BlockingTask's result is lost unless awaited"]
#[derive(Debug)]
pub struct BlockingTask<R> {
    rx: oneshot::Receiver<Result<R, ()>>,
    spawn_error: Option<io::Error>,
}

impl<R> Future for BlockingTask<R> {
    type Output = io::Result<R>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        let this = self.get_mut();
        if let Some(e) = this.spawn_error.take() {
            return Poll::Ready(Err(io::Error::new(
                e.kind(),
                format!("spawn_blocking: could not start a pool thread: {e}"),
            )));
        }
        match Pin::new(&mut this.rx).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(Ok(v))) => Poll::Ready(Ok(v)),
            Poll::Ready(Ok(Err(()))) | Poll::Ready(Err(_)) => Poll::Ready(Err(io::Error::other(
                "spawn_blocking: the blocking task panicked",
            ))),
        }
    }
}
