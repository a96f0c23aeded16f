//! [`channel`]: a bounded multi-producer, single-consumer channel for
//! sending values between cores.
//!
//! The buffer is `crossbeam-queue`'s lock-free `ArrayQueue`, allocated once:
//! a send is one slot write, no allocation (the general-purpose
//! `futures::channel::mpsc` allocates a node per message, and that
//! allocation dominated cross-core throughput in the `cores` benchmark group (`bench/src/groups/cores.rs`)). A send
//! wakes the receiver through its waker, so a receiving core that is awake
//! (running, or spinning before a park) gets the message with no syscall;
//! only a parked core has its eventfd written.

// From `crate::sync`: under `cfg(loom)` these are loom's, and `ArrayQueue`
// is a lock-based stand-in with the same interface and capacity semantics.
use crate::sync::{
    atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst},
    Arc, ArrayQueue, AtomicWaker, Mutex,
};
use futures::Stream;
use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll, Waker},
};

/// A bounded channel holding up to `capacity` values (at least 1).
pub fn channel<T: Send>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan {
        queue: ArrayQueue::new(capacity.max(1)),
        rx_waker: AtomicWaker::new(),
        rx_waiting: AtomicBool::new(false),
        tx_waiting: AtomicUsize::new(0),
        tx_wakers: Mutex::new(Vec::new()),
        senders: AtomicUsize::new(1),
        rx_closed: AtomicBool::new(false),
    });
    (Sender { chan: chan.clone() }, Receiver { chan })
}

struct Chan<T> {
    queue: ArrayQueue<T>,
    rx_waker: AtomicWaker,
    /// The receiver found the channel empty and waits: only then does a
    /// send pay for waking it (a plain load otherwise, so a busy receiver
    /// costs senders no atomic read-modify-write on its cache line).
    rx_waiting: AtomicBool,
    /// Senders waiting for room (their wakers are in `tx_wakers`).
    tx_waiting: AtomicUsize,
    tx_wakers: Mutex<Vec<Waker>>,
    senders: AtomicUsize,
    rx_closed: AtomicBool,
}

impl<T> Chan<T> {
    fn wake_receiver(&self) {
        if self.rx_waiting.load(SeqCst) && self.rx_waiting.swap(false, SeqCst) {
            self.rx_waker.wake();
        }
    }

    fn wake_senders(&self) {
        if self.tx_waiting.load(SeqCst) == 0 {
            return;
        }
        // The count is reset under the lock that guards the list, so a
        // sender registering concurrently is either taken now or counted
        // for the next wake, never left registered with a zero count.
        let wakers = {
            let mut list = self.tx_wakers.lock();
            self.tx_waiting.store(0, SeqCst);
            std::mem::take(&mut *list)
        };
        for w in wakers {
            w.wake();
        }
    }
}

/// The sending side; clone it for more producers.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving side.
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

/// The receiver is gone; the value comes back.
#[derive(PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the receiver was dropped")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why [`Sender::try_send`] failed; the value comes back.
#[derive(Debug, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The channel is full.
    Full(T),
    /// The receiver was dropped.
    Closed(T),
}

impl<T: Send> Sender<T> {
    /// Sends `value`, waiting while the channel is full.
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture {
            sender: self,
            value: Some(value),
        }
    }

    /// Sends `value` if there is room now.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        if self.chan.rx_closed.load(SeqCst) {
            return Err(TrySendError::Closed(value));
        }
        match self.chan.queue.push(value) {
            Ok(()) => {
                self.chan.wake_receiver();
                Ok(())
            }
            Err(v) => Err(TrySendError::Full(v)),
        }
    }

    /// Whether the receiver was dropped.
    pub fn is_closed(&self) -> bool {
        self.chan.rx_closed.load(SeqCst)
    }
}

/// The future of [`Sender::send`].
#[must_use = "a send does nothing until awaited"]
#[derive(Debug)]
pub struct SendFuture<'a, T> {
    sender: &'a Sender<T>,
    value: Option<T>,
}

impl<T> Unpin for SendFuture<'_, T> {}

impl<T: Send> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let value = self.value.take().expect("Send polled after completion");
        let chan = &self.sender.chan;
        match self.sender.try_send(value) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(TrySendError::Closed(v)) => Poll::Ready(Err(SendError(v))),
            Err(TrySendError::Full(v)) => {
                {
                    let mut list = chan.tx_wakers.lock();
                    list.push(cx.waker().clone());
                    chan.tx_waiting.fetch_add(1, SeqCst);
                }
                // The receiver may have made room before it saw us waiting.
                match self.sender.try_send(v) {
                    Ok(()) => Poll::Ready(Ok(())),
                    Err(TrySendError::Closed(v)) => Poll::Ready(Err(SendError(v))),
                    Err(TrySendError::Full(v)) => {
                        self.value = Some(v);
                        Poll::Pending
                    }
                }
            }
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.senders.fetch_add(1, SeqCst);
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.chan.senders.fetch_sub(1, SeqCst) == 1 {
            self.chan.rx_waiting.store(false, SeqCst);
            self.chan.rx_waker.wake();
        }
    }
}

impl<T> Receiver<T> {
    /// Receives the next value; `None` once every sender is gone and the
    /// channel is empty.
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Receives a value if one is there now.
    pub fn try_recv(&mut self) -> Option<T> {
        let v = self.chan.queue.pop();
        if v.is_some() {
            self.chan.wake_senders();
        }
        v
    }

    /// Polls for the next value.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if let Some(v) = self.try_recv() {
            return Poll::Ready(Some(v));
        }
        self.chan.rx_waker.register(cx.waker());
        self.chan.rx_waiting.store(true, SeqCst);
        // A send that missed the flag pushed before it: look again.
        if let Some(v) = self.try_recv() {
            self.chan.rx_waiting.store(false, SeqCst);
            return Poll::Ready(Some(v));
        }
        if self.chan.senders.load(SeqCst) == 0 {
            // Senders may have sent right before leaving.
            return Poll::Ready(self.try_recv());
        }
        Poll::Pending
    }

    /// Values waiting now.
    pub fn len(&self) -> usize {
        self.chan.queue.len()
    }

    /// Whether no value is waiting now.
    pub fn is_empty(&self) -> bool {
        self.chan.queue.is_empty()
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.poll_recv(cx)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.rx_closed.store(true, SeqCst);
        self.chan.tx_waiting.fetch_add(1, SeqCst);
        self.chan.wake_senders();
    }
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use futures::executor::block_on;

    #[test]
    fn try_send_and_recv_in_order_and_full() {
        let (tx, mut rx) = channel(2);
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
        assert_eq!(rx.try_recv(), Some(1));
        assert_eq!(rx.try_recv(), Some(2));
        assert_eq!(rx.try_recv(), None);
        drop(rx);
        assert_eq!(tx.try_send(4), Err(TrySendError::Closed(4)));
    }

    #[test]
    fn values_cross_threads_in_order_through_a_small_buffer() {
        let (tx, mut rx) = channel(2);
        let sender = std::thread::spawn(move || {
            block_on(async {
                for i in 0..20 {
                    tx.send(i).await.unwrap();
                }
            })
        });
        let mut got = Vec::new();
        // The sender's drop ends `recv` once the buffer is empty.
        block_on(async {
            while let Some(v) = rx.recv().await {
                got.push(v);
            }
        });
        sender.join().unwrap();
        assert_eq!(got, (0..20).collect::<Vec<_>>());
    }

    #[test]
    fn dropping_the_receiver_fails_a_waiting_send() {
        let (tx, rx) = channel(1);
        tx.try_send(1).unwrap();
        let receiver = std::thread::spawn(move || drop(rx));
        assert_eq!(block_on(tx.send(2)), Err(SendError(2)));
        receiver.join().unwrap();
        assert!(tx.is_closed());
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::{future::block_on, thread};

    /// Capacity 1, two values: the sender waits for room (the waiting
    /// senders' count and list under one lock) while the receiver parks on
    /// an empty channel (its announced wait, `rx_waiting`): both values
    /// arrive, in order, then `None` once the sender is gone. A lost wake
    /// leaves a thread blocked for ever: loom reports the deadlock.
    #[test]
    fn loom_channel_capacity_one_send_recv() {
        loom::model(|| {
            let (tx, mut rx) = channel::<u32>(1);
            let sender = thread::spawn(move || {
                block_on(async {
                    tx.send(1).await.unwrap();
                    tx.send(2).await.unwrap();
                })
            });
            block_on(async {
                assert_eq!(rx.recv().await, Some(1));
                assert_eq!(rx.recv().await, Some(2));
                assert_eq!(rx.recv().await, None);
            });
            sender.join().unwrap();
        });
    }

    /// Two threads each send one value (`first`, `first + 1`) through
    /// clones of `tx` while this thread receives until every sender is
    /// gone; returns everything received, sorted.
    fn two_senders_then_drain(tx: Sender<u32>, mut rx: Receiver<u32>, first: u32) -> Vec<u32> {
        let senders: Vec<_> = [tx.clone(), tx]
            .into_iter()
            .zip(first..)
            .map(|(tx, v)| thread::spawn(move || block_on(tx.send(v)).unwrap()))
            .collect();
        let mut got = block_on(async {
            let mut got = Vec::new();
            while let Some(v) = rx.recv().await {
                got.push(v);
            }
            got
        });
        senders.into_iter().for_each(|t| t.join().unwrap());
        got.sort();
        got
    }

    /// Two senders on two threads, capacity 1: both values arrive, then
    /// `None` when the last sender is dropped.
    #[test]
    fn loom_channel_two_senders() {
        loom::model(|| {
            let (tx, rx) = channel::<u32>(1);
            assert_eq!(two_senders_then_drain(tx, rx, 0), [0, 1]);
        });
    }

    /// A full channel and two senders waiting for room: each pop wakes
    /// the senders registered so far, and a sender registering while the
    /// receiver takes the list is counted for the next pop (the count is
    /// reset under the list's lock), so neither is left waiting.
    #[test]
    fn loom_channel_two_waiting_senders() {
        loom::model(|| {
            let (tx, rx) = channel::<u32>(1);
            tx.try_send(0).unwrap();
            assert_eq!(two_senders_then_drain(tx, rx, 1), [0, 1, 2]);
        });
    }

    /// The receiver dropped while a sender waits for room: the send ends
    /// with the value back.
    #[test]
    fn loom_channel_close_wakes_a_waiting_sender() {
        loom::model(|| {
            let (tx, rx) = channel::<u32>(1);
            tx.try_send(1).unwrap();
            let receiver = thread::spawn(move || drop(rx));
            assert_eq!(block_on(tx.send(2)), Err(SendError(2)));
            receiver.join().unwrap();
        });
    }

    /// A value sent right before the last sender is dropped, while the
    /// receiver parks: the receiver gets the value, then `None`.
    #[test]
    fn loom_channel_last_sender_drop_ends_recv() {
        loom::model(|| {
            let (tx, mut rx) = channel::<u32>(1);
            let sender = thread::spawn(move || {
                tx.try_send(7).unwrap();
                drop(tx);
            });
            block_on(async {
                assert_eq!(rx.recv().await, Some(7));
                assert_eq!(rx.recv().await, None);
            });
            sender.join().unwrap();
        });
    }
}
