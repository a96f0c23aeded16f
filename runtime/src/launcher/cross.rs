//! Cross-core work: [`spawn_on`] builds a future on another core (it may
//! be `!Send` there) and gives back a `Send` [`RemoteHandle`] to its output.

use crate::JoinError;
use futures::{channel::oneshot, FutureExt};
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
    let (tx, rx) = oneshot::channel();
    let job = Box::new(move || {
        let task = async move {
            let out = AssertUnwindSafe(make()).catch_unwind().await;
            let _ = tx.send(out.map_err(JoinError::panic));
        };
        drop(crate::spawn(task));
    });
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
    Ok(RemoteHandle { rx })
}

/// The output of a task started with [`spawn_on`]; `Send`, awaitable from
/// any core. Dropping it does not cancel the task.
#[derive(Debug)]
pub struct RemoteHandle<T> {
    rx: oneshot::Receiver<Result<T, JoinError>>,
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
