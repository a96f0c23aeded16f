//! Scheduling: where a woken task goes. A wake on the runtime's own thread
//! pushes to its local queue (no lock, no syscall); a wake from another
//! thread pushes to the shared remote queue and, only if the runtime is
//! parked in the kernel, writes its eventfd.

use super::context;
use crate::driver::WakeFd;
use async_task::Runnable;
use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst},
        Arc, Mutex,
    },
    task::Wake,
};

/// Work sent from another thread to run on this runtime's thread (e.g.
/// `spawn_on`): a closure that typically spawns a task here.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// The part of a runtime that other threads can reach.
pub(crate) struct Shared {
    pub(crate) id: usize,
    remote: Mutex<VecDeque<Runnable>>,
    jobs: Mutex<Vec<Job>>,
    /// Counters this runtime publishes for other threads to read.
    pub(crate) published: super::published::PublishedStats,
    remote_len: AtomicUsize,
    /// Set while the runtime is (about to be) blocked in the kernel.
    parked: AtomicBool,
    wake: WakeFd,
}

impl Shared {
    pub(crate) fn new(id: usize, wake: WakeFd) -> Self {
        Shared {
            id,
            remote: Mutex::new(VecDeque::new()),
            jobs: Mutex::new(Vec::new()),
            published: Default::default(),
            remote_len: AtomicUsize::new(0),
            parked: AtomicBool::new(false),
            wake,
        }
    }

    /// Schedules a woken task.
    pub(crate) fn schedule(&self, runnable: Runnable) {
        let mut runnable = Some(runnable);
        context::with_if(self.id, |ctx| {
            ctx.local
                .borrow_mut()
                .push_back(runnable.take().expect("scheduled once"));
        });
        if let Some(r) = runnable {
            self.remote
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_back(r);
            self.remote_len.fetch_add(1, SeqCst);
            self.notify();
        }
    }

    /// Wakes the runtime if it is parked; free if it is running.
    pub(crate) fn notify(&self) {
        if self.parked.swap(false, SeqCst) {
            self.wake.wake();
        }
    }

    /// Whether remote wakes are waiting.
    pub(crate) fn has_remote(&self) -> bool {
        self.remote_len.load(SeqCst) > 0
    }

    /// Sends a job to run on this runtime's thread (from any thread).
    pub(crate) fn push_job(&self, job: Job) {
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(job);
        self.remote_len.fetch_add(1, SeqCst);
        self.notify();
    }

    /// Moves remote wakes into `local` and returns the jobs sent here; the
    /// caller runs them once `local` is no longer borrowed.
    pub(crate) fn drain_remote(&self, local: &mut VecDeque<Runnable>) -> Vec<Job> {
        if !self.has_remote() {
            return Vec::new();
        }
        let mut q = self.remote.lock().unwrap_or_else(|e| e.into_inner());
        self.remote_len.fetch_sub(q.len(), SeqCst);
        local.extend(q.drain(..));
        drop(q);
        let jobs = std::mem::take(&mut *self.jobs.lock().unwrap_or_else(|e| e.into_inner()));
        self.remote_len.fetch_sub(jobs.len(), SeqCst);
        jobs
    }

    /// Announces a park; `false` if work arrived meanwhile (don't park).
    pub(crate) fn begin_park(&self, main: &MainWaker) -> bool {
        self.parked.store(true, SeqCst);
        if self.has_remote() || main.woken.load(SeqCst) {
            self.parked.store(false, SeqCst);
            return false;
        }
        true
    }

    pub(crate) fn end_park(&self) {
        self.parked.store(false, SeqCst);
    }
}

/// The waker of the future given to `block_on` (not a spawned task).
pub(crate) struct MainWaker {
    pub(crate) woken: AtomicBool,
    pub(crate) shared: Arc<Shared>,
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, SeqCst);
        self.shared.notify();
    }
}
