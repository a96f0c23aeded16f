//! The synchronisation primitives of the code that crosses threads (the
//! channel, the remote run queue and park flag, the launcher's shutdown and
//! `spawn_on` hand-off), in one place so that `cfg(loom)` can swap them for
//! [loom](https://docs.rs/loom)'s model-checked versions, like tokio's
//! `loom` shim. Normal builds get `std`, `futures` and `crossbeam-queue`
//! exactly as before; `RUSTFLAGS="--cfg loom"` builds get `loom::sync`.
//!
//! - [`Mutex`]: a poison-free wrapper (a panic while holding one of these
//!   locks leaves the data consistent, so every caller used
//!   `unwrap_or_else(PoisonError::into_inner)`; now `lock` does it).
//! - [`atomic`], [`Arc`]: `std::sync`'s, or `loom::sync`'s.
//! - [`AtomicWaker`]: `futures`', or `loom::future::AtomicWaker` behind the
//!   same `register(&Waker)` / `wake()` interface.
//! - [`ArrayQueue`] and [`oneshot`]: under loom, stand-ins (see there).
//!
//! Types outside the cross-thread structures (statics, `Rc`s, the `Arc`
//! behind a `Waker`) stay `std`: loom types only live inside `loom::model`.

#[cfg(not(loom))]
pub(crate) use crossbeam_queue::ArrayQueue;
#[cfg(not(loom))]
pub(crate) use futures::{channel::oneshot, task::AtomicWaker};
#[cfg(not(loom))]
use std::sync as raw;
#[cfg(not(loom))]
pub(crate) use std::sync::{atomic, Arc};

#[cfg(loom)]
use loom::sync as raw;
#[cfg(loom)]
pub(crate) use loom::sync::{atomic, Arc};
#[cfg(loom)]
pub(crate) use stand_in::{oneshot, ArrayQueue, AtomicWaker};

/// A mutual-exclusion lock whose `lock` ignores poisoning.
#[derive(Default)]
pub(crate) struct Mutex<T>(raw::Mutex<T>);

/// The guard of a locked [`Mutex`].
pub(crate) type MutexGuard<'a, T> = raw::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Mutex(raw::Mutex::new(value))
    }

    /// Locks; the data of a lock poisoned by a panic is used as it is.
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What loom runs instead of code that is not loom-aware. Each stand-in
/// keeps the interface and the contract (linearizable operations, the
/// same capacity and wake semantics) of the type it replaces, built from
/// loom's primitives so that loom can interleave the code around it; the
/// replaced types' own lock-free internals are not what these tests check.
#[cfg(loom)]
mod stand_in {
    use super::{Arc, Mutex};
    use std::{collections::VecDeque, task::Waker};

    /// Stands in for `crossbeam_queue::ArrayQueue` (not loom-aware): a
    /// `Mutex<VecDeque>` that holds at most `capacity` values.
    pub(crate) struct ArrayQueue<T> {
        queue: Mutex<VecDeque<T>>,
        capacity: usize,
    }

    impl<T> ArrayQueue<T> {
        pub(crate) fn new(capacity: usize) -> Self {
            assert!(capacity > 0, "capacity must be non-zero");
            ArrayQueue {
                queue: Mutex::new(VecDeque::with_capacity(capacity)),
                capacity,
            }
        }

        pub(crate) fn push(&self, value: T) -> Result<(), T> {
            let mut q = self.queue.lock();
            if q.len() == self.capacity {
                return Err(value);
            }
            q.push_back(value);
            Ok(())
        }

        pub(crate) fn pop(&self) -> Option<T> {
            self.queue.lock().pop_front()
        }

        pub(crate) fn len(&self) -> usize {
            self.queue.lock().len()
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.queue.lock().is_empty()
        }
    }

    /// `loom::future::AtomicWaker` with `futures`' `register(&Waker)`.
    #[derive(Default)]
    pub(crate) struct AtomicWaker(loom::future::AtomicWaker);

    impl AtomicWaker {
        pub(crate) fn new() -> Self {
            AtomicWaker(loom::future::AtomicWaker::new())
        }

        pub(crate) fn register(&self, waker: &Waker) {
            self.0.register_by_ref(waker);
        }

        pub(crate) fn wake(&self) {
            self.0.wake();
        }
    }

    /// Stands in for `futures::channel::oneshot` (not loom-aware): the
    /// same `channel`, `Sender::send`, `Receiver` future and `Canceled`,
    /// with the state under one lock.
    pub(crate) mod oneshot {
        use super::{Arc, Mutex};
        use std::{
            future::Future,
            pin::Pin,
            task::{Context, Poll, Waker},
        };

        /// The sender was dropped without sending.
        #[derive(Debug, PartialEq, Eq)]
        pub(crate) struct Canceled;

        struct State<T> {
            value: Option<T>,
            sender_gone: bool,
            receiver_gone: bool,
            waker: Option<Waker>,
        }

        pub(crate) struct Sender<T>(Arc<Mutex<State<T>>>);

        pub(crate) struct Receiver<T>(Arc<Mutex<State<T>>>);

        pub(crate) fn channel<T>() -> (Sender<T>, Receiver<T>) {
            let state = Arc::new(Mutex::new(State {
                value: None,
                sender_gone: false,
                receiver_gone: false,
                waker: None,
            }));
            (Sender(state.clone()), Receiver(state))
        }

        impl<T> Sender<T> {
            /// Sends `value`; gives it back if the receiver is gone.
            pub(crate) fn send(self, value: T) -> Result<(), T> {
                let mut s = self.0.lock();
                if s.receiver_gone {
                    return Err(value);
                }
                s.value = Some(value);
                Ok(())
                // `drop(self)` marks the sender gone and wakes.
            }
        }

        impl<T> Drop for Sender<T> {
            fn drop(&mut self) {
                let waker = {
                    let mut s = self.0.lock();
                    s.sender_gone = true;
                    s.waker.take()
                };
                if let Some(w) = waker {
                    w.wake();
                }
            }
        }

        impl<T> Future for Receiver<T> {
            type Output = Result<T, Canceled>;

            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                let mut s = self.0.lock();
                if let Some(v) = s.value.take() {
                    return Poll::Ready(Ok(v));
                }
                if s.sender_gone {
                    return Poll::Ready(Err(Canceled));
                }
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }

        impl<T> Drop for Receiver<T> {
            fn drop(&mut self) {
                self.0.lock().receiver_gone = true;
            }
        }
    }
}
