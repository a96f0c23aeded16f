//! Cross-core work: [`spawn_on`] builds a future on another core (it may
//! be `!Send` there) and gives back a `Send` [`RemoteHandle`] to its output.

use crate::{executor::Job, sync::oneshot, JoinError};
use futures::FutureExt;
use std::{
    future::Future,
    io,
    panic::AssertUnwindSafe,
    pin::Pin,
    task::{Context, Poll},
};

/// Runs `make()` on core `core` and spawns the future it returns there.
/// `make` is `Send`; the future it builds need not be. The target core is
/// woken at once if it is parked (no syscall if it is running).
///
/// Errors if `core` does not exist. Panics outside a coring runtime.
pub fn spawn_on<F, Fut>(core: usize, make: F) -> io::Result<RemoteHandle<Fut::Output>>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future + 'static,
    Fut::Output: Send + 'static,
{
    let (job, handle) = remote_job(make, SpawnHere);
    super::with_core("coring::spawn_on", |ctx, c| match c {
        Some(c) => match c.set.shared(core) {
            Some(shared) => {
                shared.push_job(job);
                Ok(())
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "spawn_on: no core {core} (this run has {})",
                    c.set.shareds.len()
                ),
            )),
        },
        None if core == 0 => {
            ctx.shared.push_job(job);
            Ok(())
        }
        None => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("spawn_on: no core {core}: this is a single runtime (core 0 only)"),
        )),
    })?;
    Ok(handle)
}

/// Spawns a task on the runtime of the thread it is called on.
trait Spawner: Send + 'static {
    /// Spawns `task` here (it need not be `Send`).
    fn spawn<T: Future<Output = ()> + 'static>(self, task: T);
}

/// The current runtime's [`spawn`](crate::spawn).
struct SpawnHere;

impl Spawner for SpawnHere {
    fn spawn<T: Future<Output = ()> + 'static>(self, task: T) {
        drop(crate::spawn(task));
    }
}

/// The job [`spawn_on`] sends to the target core and the handle to its
/// output: run there, the job builds `make()`'s future and gives `spawner`
/// the task that runs it and sends its output (or panic) back. Dropping
/// the job unrun cancels the handle.
fn remote_job<F, Fut, S>(make: F, spawner: S) -> (Job, RemoteHandle<Fut::Output>)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future + 'static,
    Fut::Output: Send + 'static,
    S: Spawner,
{
    let (tx, rx) = oneshot::channel();
    let job = Box::new(move || {
        spawner.spawn(async move {
            let out = AssertUnwindSafe(make()).catch_unwind().await;
            let _ = tx.send(out.map_err(JoinError::panic));
        });
    });
    (job, RemoteHandle { rx })
}

/// The output of a task started with [`spawn_on`]; `Send`, awaitable from
/// any core. Dropping it does not cancel the task.
pub struct RemoteHandle<T> {
    rx: oneshot::Receiver<Result<T, JoinError>>,
}

impl<T> std::fmt::Debug for RemoteHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteHandle").finish_non_exhaustive()
    }
}

impl<T> Future for RemoteHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match Pin::new(&mut self.rx).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(out)) => Poll::Ready(out),
            // The target core shut down before running the task.
            Poll::Ready(Err(oneshot::Canceled)) => Poll::Ready(Err(JoinError::cancelled())),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use futures::executor::block_on;

    /// Runs the task to its end on the calling thread.
    struct BlockOn;

    impl Spawner for BlockOn {
        fn spawn<T: Future<Output = ()> + 'static>(self, task: T) {
            block_on(task)
        }
    }

    #[test]
    fn remote_job_runs_elsewhere_and_sends_its_output_back() {
        let (job, handle) = remote_job(|| async { 7 }, BlockOn);
        std::thread::spawn(job).join().unwrap();
        assert_eq!(block_on(handle).unwrap(), 7);
        let (job, handle) = remote_job(|| async { panic!("boom") }, BlockOn);
        std::thread::spawn(job).join().unwrap();
        let err: JoinError = block_on(handle).unwrap_err();
        assert_eq!(err.panic_message(), Some("boom"));
        let (job, handle) = remote_job(|| async { 7 }, BlockOn);
        drop(job);
        assert!(block_on(handle).unwrap_err().is_cancelled());
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::{
        executor::loom_model::Core,
        sync::{
            atomic::{AtomicBool, Ordering::SeqCst},
            Arc,
        },
    };
    use loom::{future::block_on, thread};
    use std::collections::VecDeque;

    /// Runs the task to its end on the thread the job runs on.
    struct BlockOn;

    impl Spawner for BlockOn {
        fn spawn<T: Future<Output = ()> + 'static>(self, task: T) {
            block_on(task)
        }
    }

    /// `spawn_on`'s hand-off: the job goes through the target core's job
    /// list (a remote wake that may find the core announcing its park),
    /// runs there, and its output comes back through the oneshot to the
    /// thread waiting on the handle.
    #[test]
    fn loom_spawn_on_output_comes_back() {
        loom::model(|| {
            let core = Core::new();
            let shared = core.shared.clone();
            let ran = Arc::new(AtomicBool::new(false));
            let r = ran.clone();
            let caller = thread::spawn(move || {
                let (job, handle) = remote_job(
                    move || async move {
                        r.store(true, SeqCst);
                        7
                    },
                    BlockOn,
                );
                shared.push_job(job);
                assert_eq!(block_on(handle).unwrap(), 7);
            });
            core.run_until(|_| ran.load(SeqCst));
            caller.join().unwrap();
        });
    }

    /// The handle dropped at once: the task still runs on the target core
    /// and its send, finding no receiver, is dropped.
    #[test]
    fn loom_spawn_on_handle_dropped_early() {
        loom::model(|| {
            let core = Core::new();
            let shared = core.shared.clone();
            let ran = Arc::new(AtomicBool::new(false));
            let r = ran.clone();
            let caller = thread::spawn(move || {
                let (job, handle) =
                    remote_job(move || async move { r.store(true, SeqCst) }, BlockOn);
                shared.push_job(job);
                drop(handle);
            });
            core.run_until(|_| ran.load(SeqCst));
            caller.join().unwrap();
        });
    }

    /// The target core shuts down with the job unrun (a runtime's drop
    /// drops the jobs it was sent) while another thread waits on the
    /// handle: the handle resolves to a cancelled `JoinError`.
    #[test]
    fn loom_spawn_on_job_dropped_unrun_cancels_the_handle() {
        loom::model(|| {
            let core = Core::new();
            let (job, handle) = remote_job(|| async { 7 }, BlockOn);
            core.shared.push_job(job);
            let waiter = thread::spawn(move || block_on(handle));
            drop(core.shared.drain_remote(&mut VecDeque::new()));
            assert!(waiter.join().unwrap().unwrap_err().is_cancelled());
        });
    }
}
