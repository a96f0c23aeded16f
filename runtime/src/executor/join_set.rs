//! [`JoinSet`]: a group of spawned tasks, awaited in the order they finish
//! and aborted together (at the latest when the set is dropped).

use super::task::{spawn, JoinError, JoinHandle};
use futures::stream::{FuturesUnordered, StreamExt};
use std::{fmt, future::Future};

/// Tasks spawned on the current core as a group, like tokio's `JoinSet`.
///
/// [`join_next`](JoinSet::join_next) returns outputs as tasks finish;
/// [`abort_all`](JoinSet::abort_all) cancels every task still running;
/// [`shutdown`](JoinSet::shutdown) cancels them and waits until each one's
/// future has been dropped. **Dropping the set aborts every task in it**
/// (unlike a [`JoinHandle`], whose drop detaches), so a connection's helper
/// tasks end with the connection.
///
/// ```
/// use coring_runtime::{JoinSet, Runtime};
///
/// Runtime::new()?.block_on(async {
///     let mut set = JoinSet::new();
///     for i in 0..3u64 {
///         set.spawn(async move { i * 10 });
///     }
///     let mut sum = 0;
///     while let Some(res) = set.join_next().await {
///         sum += res.unwrap();
///     }
///     assert_eq!(sum, 30);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// Tasks are `!Send` and stay on the core that spawned them, as with
/// [`spawn`]; the set itself must be used on that core too.
pub struct JoinSet<T> {
    tasks: FuturesUnordered<JoinHandle<T>>,
}

impl<T: 'static> JoinSet<T> {
    /// An empty set.
    pub fn new() -> Self {
        JoinSet {
            tasks: FuturesUnordered::new(),
        }
    }

    /// Spawns `future` on the current runtime as a task of this set.
    ///
    /// Panics outside a coring runtime.
    pub fn spawn<F>(&mut self, future: F)
    where
        F: Future<Output = T> + 'static,
    {
        self.tasks.push(spawn(future));
    }

    /// Tasks in the set: running, or finished but not yet returned by
    /// [`join_next`](JoinSet::join_next).
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Waits for the next task to finish and returns its output (or why it
    /// has none: panicked, aborted); `None` once the set is empty.
    ///
    /// Cancel-safe: a dropped `join_next` loses no output.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.tasks.next().await
    }

    /// The output of a task that already finished, if any, without
    /// waiting.
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        use futures::FutureExt;
        self.tasks.next().now_or_never().flatten()
    }

    /// Aborts every task in the set. They stay in the set:
    /// [`join_next`](JoinSet::join_next) returns each one's output if it
    /// had already finished, else a [`JoinError`] that
    /// [`is_cancelled`](JoinError::is_cancelled). A task's future is
    /// dropped at the latest when the runtime next runs it.
    pub fn abort_all(&mut self) {
        for task in self.tasks.iter() {
            task.abort();
        }
    }

    /// Removes every task from the set without aborting it: they keep
    /// running, detached.
    pub fn detach_all(&mut self) {
        // A JoinHandle's drop detaches its task.
        self.tasks.clear();
    }

    /// Aborts every task and waits until each one has stopped (its future
    /// dropped, destructors run); the set is then empty. Outputs of tasks
    /// that had finished are discarded.
    pub async fn shutdown(&mut self) {
        let stopping: FuturesUnordered<_> = std::mem::take(&mut self.tasks)
            .into_iter()
            .map(|task| task.cancel_and_wait())
            .collect();
        stopping.collect::<()>().await;
    }
}

impl<T: 'static> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet::new()
    }
}

impl<T> Drop for JoinSet<T> {
    /// Aborts every task still in the set.
    fn drop(&mut self) {
        for task in self.tasks.iter() {
            task.abort();
        }
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet")
            .field("len", &self.tasks.len())
            .finish()
    }
}
