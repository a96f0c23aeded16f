//! Scheduling: where a woken task goes. A wake on the runtime's own thread
//! pushes to its local queue (no lock, no syscall); a wake from another
//! thread pushes to the shared remote queue and, only if the runtime is
//! parked in the kernel, writes its eventfd.

use super::context;
use crate::{
    driver::WakeFd,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst},
        Mutex,
    },
};
use async_task::Runnable;
// `std`'s `Arc` even under loom: a `Waker` is made from a `std::sync::Arc`.
use std::{collections::VecDeque, sync::Arc, task::Wake};

/// Work sent from another thread to run on this runtime's thread (e.g.
/// `spawn_on`): a closure that typically spawns a task here.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// How a wake from another thread ends the runtime's park: a write to its
/// eventfd (a syscall). A trait so that the loom tests can see "would have
/// written the eventfd" without one.
pub(crate) trait Unpark: Send + Sync + 'static {
    /// Wakes the parked runtime.
    fn unpark(&self);
}

impl Unpark for WakeFd {
    fn unpark(&self) {
        self.wake();
    }
}

/// The part of a runtime that other threads can reach.
pub(crate) struct Shared<U: Unpark = WakeFd> {
    pub(crate) id: usize,
    remote: Mutex<VecDeque<Runnable>>,
    jobs: Mutex<Vec<Job>>,
    /// Counters this runtime publishes for other threads to read.
    pub(crate) published: super::published::PublishedStats,
    remote_len: AtomicUsize,
    /// Set while the runtime is (about to be) blocked in the kernel.
    parked: AtomicBool,
    wake: U,
}

impl<U: Unpark> Shared<U> {
    pub(crate) fn new(id: usize, wake: U) -> Self {
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
            self.remote.lock().push_back(r);
            self.remote_len.fetch_add(1, SeqCst);
            self.notify();
        }
    }

    /// Wakes the runtime if it is parked; free if it is running.
    pub(crate) fn notify(&self) {
        if self.parked.swap(false, SeqCst) {
            self.wake.unpark();
        }
    }

    /// Whether remote wakes are waiting.
    pub(crate) fn has_remote(&self) -> bool {
        self.remote_len.load(SeqCst) > 0
    }

    /// Sends a job to run on this runtime's thread (from any thread).
    pub(crate) fn push_job(&self, job: Job) {
        self.jobs.lock().push(job);
        self.remote_len.fetch_add(1, SeqCst);
        self.notify();
    }

    /// Moves remote wakes into `local` and returns the jobs sent here; the
    /// caller runs them once `local` is no longer borrowed.
    pub(crate) fn drain_remote(&self, local: &mut VecDeque<Runnable>) -> Vec<Job> {
        if !self.has_remote() {
            return Vec::new();
        }
        let mut q = self.remote.lock();
        self.remote_len.fetch_sub(q.len(), SeqCst);
        local.extend(q.drain(..));
        drop(q);
        let jobs = std::mem::take(&mut *self.jobs.lock());
        self.remote_len.fetch_sub(jobs.len(), SeqCst);
        jobs
    }

    /// Announces a park; `false` if work arrived meanwhile (don't park).
    pub(crate) fn begin_park(&self, main: &MainWaker<U>) -> bool {
        // A swap, not a store: a waker pushes, then swaps the flag down in
        // `notify`. Either its swap comes after ours (it sees `true` and
        // writes the eventfd) or ours reads what its swap wrote, which
        // makes its push visible to the re-check below. A store would
        // leave that to SeqCst's single total order alone (the
        // store-buffering pattern), which loom does not model: with a
        // store it reports this wake as lost. On x86-64 a SeqCst store is
        // an `xchg` anyway.
        self.parked.swap(true, SeqCst);
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
pub(crate) struct MainWaker<U: Unpark = WakeFd> {
    pub(crate) woken: AtomicBool,
    pub(crate) shared: Arc<Shared<U>>,
}

impl<U: Unpark> Wake for MainWaker<U> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        // A swap where a store would do: loom 0.7 lets a plain store slip
        // between the read and the write of a concurrent swap (loom issue
        // #254), and then reports the runtime's `woken.swap(false)` as
        // missing this wake. Same instruction (`xchg`) on x86-64.
        self.woken.swap(true, SeqCst);
        self.shared.notify();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::sync::atomic::Ordering::Relaxed;
    use std::task::Waker;

    /// Counts the eventfd writes a real runtime would have made.
    #[derive(Default)]
    struct CountWrites(AtomicUsize);

    impl Unpark for CountWrites {
        fn unpark(&self) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    #[test]
    fn the_eventfd_is_written_only_after_a_park_was_announced() {
        let shared = Arc::new(Shared::new(0, CountWrites::default()));
        let main = MainWaker {
            woken: AtomicBool::new(false),
            shared: shared.clone(),
        };
        let writes = || shared.wake.0.load(Relaxed);
        // Running: a job from another thread costs no write, and stops the
        // next park.
        let s = shared.clone();
        std::thread::spawn(move || s.push_job(Box::new(|| ())))
            .join()
            .unwrap();
        assert_eq!(writes(), 0);
        assert!(!shared.begin_park(&main));
        let mut local = VecDeque::new();
        let jobs = shared.drain_remote(&mut local);
        assert_eq!(jobs.len(), 1);
        jobs.into_iter().for_each(|job| job());
        assert!(!shared.has_remote());
        // Parked: the first wake writes, the next ones find the flag down.
        assert!(shared.begin_park(&main));
        let s = shared.clone();
        std::thread::spawn(move || {
            s.push_job(Box::new(|| ()));
            s.notify();
        })
        .join()
        .unwrap();
        assert_eq!(writes(), 1);
        shared.end_park();
        assert_eq!(shared.drain_remote(&mut local).len(), 1);
        // The main waker's wake (no park announced: no write) stops the
        // next park too.
        let main = Arc::new(main);
        Waker::from(main.clone()).wake_by_ref();
        assert!(!shared.begin_park(&main));
        assert_eq!(writes(), 1);
    }
}

/// The runtime thread's side of the remote wake path, reduced to what
/// crosses threads, for the loom tests here and in `launcher/cross.rs`.
#[cfg(all(test, loom))]
pub(crate) mod loom_model {
    use super::{MainWaker, Shared, Unpark};
    use crate::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    use std::{collections::VecDeque, sync::Arc, task::Waker};

    /// The eventfd and the ring's read armed on it: a write is counted and
    /// gives a loom `Notify` its permit (a counter, as the eventfd's is: any
    /// number of writes before the read completes it once), which the park
    /// waits for. A park nobody writes for never returns: loom reports
    /// the deadlock.
    #[derive(Default)]
    pub(crate) struct Eventfd {
        writes: AtomicUsize,
        read: loom::sync::Notify,
    }

    impl Unpark for Eventfd {
        fn unpark(&self) {
            self.writes.fetch_add(1, SeqCst);
            self.read.notify();
        }
    }

    /// What the runtime loop did.
    #[derive(Debug, Default)]
    pub(crate) struct Parks {
        /// `begin_park` calls (park announcements).
        pub(crate) announced: usize,
        /// Parks that waited for the eventfd.
        pub(crate) parked: usize,
    }

    /// One runtime without a ring.
    pub(crate) struct Core {
        pub(crate) shared: Arc<Shared<Eventfd>>,
        main: Arc<MainWaker<Eventfd>>,
    }

    impl Core {
        pub(crate) fn new() -> Self {
            let shared = Arc::new(Shared::new(0, Eventfd::default()));
            let main = Arc::new(MainWaker {
                // The main future was polled and waits.
                woken: AtomicBool::new(false),
                shared: shared.clone(),
            });
            Core { shared, main }
        }

        /// The `block_on` future's waker.
        pub(crate) fn main_waker(&self) -> Waker {
            Waker::from(self.main.clone())
        }

        pub(crate) fn eventfd_writes(&self) -> usize {
            self.shared.wake.writes.load(SeqCst)
        }

        /// `Runtime::block_on`'s loop (`executor/runtime.rs`) with the ring
        /// taken out: take the main waker's wake, run the jobs and tasks
        /// sent here, stop once `done(main_woken)`; with nothing to run,
        /// announce the park, re-check (`begin_park`), wait for the eventfd,
        /// `end_park`.
        pub(crate) fn run_until(&self, mut done: impl FnMut(bool) -> bool) -> Parks {
            let mut local = VecDeque::new();
            let mut woken = false;
            let mut parks = Parks::default();
            loop {
                woken |= self.main.woken.swap(false, SeqCst);
                for job in self.shared.drain_remote(&mut local) {
                    job();
                }
                while let Some(runnable) = local.pop_front() {
                    runnable.run();
                }
                if done(woken) {
                    return parks;
                }
                if self.main.woken.load(SeqCst) {
                    continue;
                }
                parks.announced += 1;
                if self.shared.begin_park(&self.main) {
                    parks.parked += 1;
                    self.shared.wake.read.wait();
                    self.shared.end_park();
                }
            }
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::loom_model::Core;
    use crate::sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst},
        oneshot, Arc,
    };
    use loom::thread;

    /// A job pushed from another thread while the runtime runs, announces
    /// its park, re-checks and parks: it is always run (a lost wake is a
    /// park nobody ends, which loom reports as a deadlock), and the eventfd
    /// is written at most once per announced park (never for a runtime
    /// that did not announce one).
    #[test]
    fn loom_remote_job_is_never_slept_through() {
        loom::model(|| {
            let core = Core::new();
            let ran = Arc::new(AtomicUsize::new(0));
            let shared = core.shared.clone();
            let r = ran.clone();
            let remote = thread::spawn(move || {
                shared.push_job(Box::new(move || {
                    r.fetch_add(1, SeqCst);
                }));
            });
            let parks = core.run_until(|_| ran.load(SeqCst) == 1);
            remote.join().unwrap();
            assert!(core.eventfd_writes() <= parks.announced, "{parks:?}");
        });
    }

    /// Two threads send jobs at once: both run.
    #[test]
    fn loom_two_remote_jobs() {
        loom::model(|| {
            let core = Core::new();
            let ran = Arc::new(AtomicUsize::new(0));
            let remotes: Vec<_> = (0..2)
                .map(|_| {
                    let shared = core.shared.clone();
                    let r = ran.clone();
                    thread::spawn(move || {
                        shared.push_job(Box::new(move || {
                            r.fetch_add(1, SeqCst);
                        }))
                    })
                })
                .collect();
            let parks = core.run_until(|_| ran.load(SeqCst) == 2);
            remotes.into_iter().for_each(|t| t.join().unwrap());
            assert!(core.eventfd_writes() <= parks.announced, "{parks:?}");
        });
    }

    /// The `block_on` future woken from another thread (its `MainWaker`:
    /// the `woken` flag, then `notify`) racing the park.
    #[test]
    fn loom_main_waker_is_never_slept_through() {
        loom::model(|| {
            let core = Core::new();
            let waker = core.main_waker();
            let remote = thread::spawn(move || waker.wake());
            let parks = core.run_until(|woken| woken);
            remote.join().unwrap();
            assert!(core.eventfd_writes() <= parks.announced, "{parks:?}");
        });
    }

    /// A task woken from another thread goes through `Shared::schedule`
    /// (the remote queue: no runtime is current on the waking thread) and
    /// runs on the runtime thread.
    #[test]
    fn loom_remote_task_wake_runs_the_task() {
        loom::model(|| {
            let core = Core::new();
            let done = Arc::new(AtomicBool::new(false));
            let (tx, rx) = oneshot::channel::<()>();
            let d = done.clone();
            let shared = core.shared.clone();
            let (runnable, task) = async_task::spawn(
                async move {
                    let _ = rx.await;
                    d.store(true, SeqCst);
                },
                move |r| shared.schedule(r),
            );
            task.detach();
            // First poll on the runtime thread: the task waits for `tx`.
            runnable.run();
            let remote = thread::spawn(move || {
                let _ = tx.send(());
            });
            core.run_until(|_| done.load(SeqCst));
            remote.join().unwrap();
        });
    }
}
