//! [`SlotState`]: where one op is in its life, and every transition as a
//! method that changes the state and returns what the driver must do next
//! (wake a task, free the slot, complete an orphan, push a cancel). No ring
//! is involved, so the whole state machine is unit-tested here (and runs
//! under Miri).
//!
//! ```text
//! Waiting(waker) ──CQE──▶ Done(cqe) ──poll──▶ freed
//!     │ drop/detach              │ drop
//!     ▼                          ▼
//! Orphan(resources) ──CQE──▶ freed, orphan completed
//!
//! Stream{queue, waker, finished} ──CQE──▶ queued (finished at the last)
//!     │ drop: queued CQEs to the orphan, then Orphan (cancelled)
//!     └ poll after the last ──▶ freed
//! ```

use super::{Completion, Orphan};
use std::{collections::VecDeque, task::Waker};

/// Where an op is in its life.
pub(crate) enum SlotState {
    /// In the SQ or in the kernel; the future is alive and will be woken.
    Waiting(Option<Waker>),
    /// The CQE arrived; the future has not seen it yet.
    Done(Completion),
    /// The future was dropped while the kernel owned its resources; they
    /// stay here until the CQE arrives.
    Orphan(Box<dyn Orphan>),
    /// A multishot op: completions queue up until the stream takes them;
    /// `finished` once a CQE without `IORING_CQE_F_MORE` arrived.
    Stream {
        queue: CompletionQueue,
        waker: Option<Waker>,
        finished: bool,
    },
}

/// What a single-shot op's poll found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum OpPoll {
    /// The completion: the caller frees the slot and hands it out.
    Done(Completion),
    /// Not yet; the waker is registered.
    Pending,
    /// The slot does not hold a live single-shot op.
    Cancelled,
}

/// What a multishot op's poll found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StreamPoll {
    /// The next completion.
    Item(Completion),
    /// The last one was taken: the caller frees the slot.
    End,
    /// Not yet; the waker is registered.
    Pending,
}

/// What the driver does after a CQE reached a slot.
pub(crate) enum Delivered {
    /// Wake this (the op's future), if any.
    Wake(Option<Waker>),
    /// The op was an orphan and this was its last CQE: free the slot and
    /// complete the orphan with the CQE (outside the driver's borrow).
    Orphan(Box<dyn Orphan>),
}

/// What the driver does after an op's future gave up its resources.
pub(crate) enum Released {
    /// The CQE is already here: free the slot and complete the orphan with
    /// it now (outside the borrow).
    Complete(Box<dyn Orphan>, Completion),
    /// A finished stream: free the slot; the orphan takes the queued CQEs,
    /// the last as its final one.
    StreamEnded(Box<dyn Orphan>, CompletionQueue),
    /// The slot now holds the orphan until its CQE; push a cancel if
    /// `cancel`.
    Held { cancel: bool },
}

impl SlotState {
    /// A single-shot op just pushed.
    pub(crate) fn op(waker: &Waker) -> Self {
        SlotState::Waiting(Some(waker.clone()))
    }

    /// A multishot op just pushed.
    pub(crate) fn stream(waker: &Waker) -> Self {
        SlotState::Stream {
            queue: CompletionQueue::default(),
            waker: Some(waker.clone()),
            finished: false,
        }
    }

    /// Polls a single-shot op.
    pub(crate) fn poll_op(&mut self, waker: &Waker) -> OpPoll {
        match self {
            SlotState::Done(c) => OpPoll::Done(*c),
            SlotState::Waiting(w) => {
                register(w, waker);
                OpPoll::Pending
            }
            SlotState::Orphan(_) | SlotState::Stream { .. } => OpPoll::Cancelled,
        }
    }

    /// Polls a multishot op.
    pub(crate) fn poll_stream(&mut self, waker: &Waker) -> StreamPoll {
        let SlotState::Stream {
            queue,
            waker: w,
            finished,
        } = self
        else {
            return StreamPoll::End;
        };
        if let Some(c) = queue.pop_front() {
            return StreamPoll::Item(c);
        }
        if *finished {
            return StreamPoll::End;
        }
        register(w, waker);
        StreamPoll::Pending
    }

    /// A CQE for this op arrived (`more`: `IORING_CQE_F_MORE`, more follow).
    /// An orphaned multishot op's `complete_more` runs here, under the
    /// driver's borrow (see [`Orphan::complete_more`]).
    pub(crate) fn deliver(&mut self, c: Completion, more: bool) -> Delivered {
        match self {
            SlotState::Stream {
                queue,
                waker,
                finished,
            } => {
                queue.push_back(c);
                *finished |= !more;
                return Delivered::Wake(waker.take());
            }
            SlotState::Orphan(o) if more => {
                o.complete_more(c);
                return Delivered::Wake(None);
            }
            _ => {}
        }
        match std::mem::replace(self, SlotState::Done(c)) {
            SlotState::Waiting(w) => Delivered::Wake(w),
            SlotState::Orphan(o) => Delivered::Orphan(o),
            // A second final CQE for a single-shot op cannot happen; keep
            // the first.
            old @ SlotState::Done(_) => {
                *self = old;
                Delivered::Wake(None)
            }
            SlotState::Stream { .. } => unreachable!("handled above"),
        }
    }

    /// The op's future is gone and hands over its resources. `cancel`:
    /// the op should be cancelled (a drop) rather than left to finish (a
    /// detach). A stream's queued CQEs go to the orphan first (under the
    /// borrow, like `deliver`); an unfinished stream is always cancelled.
    pub(crate) fn release(&mut self, mut orphan: Box<dyn Orphan>, cancel: bool) -> Released {
        match self {
            SlotState::Stream {
                queue, finished, ..
            } => {
                let mut pending = std::mem::take(queue);
                if *finished {
                    return Released::StreamEnded(orphan, pending);
                }
                while let Some(c) = pending.pop_front() {
                    orphan.complete_more(c);
                }
                *self = SlotState::Orphan(orphan);
                Released::Held { cancel: true }
            }
            SlotState::Done(c) => Released::Complete(orphan, *c),
            _ => {
                *self = SlotState::Orphan(orphan);
                Released::Held { cancel }
            }
        }
    }

    /// Whether the slot holds an orphan (its future is gone).
    pub(crate) fn is_orphan(&self) -> bool {
        matches!(self, SlotState::Orphan(_))
    }
}

/// Stores `waker` in `slot` unless the one there already wakes the same
/// task.
fn register(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(w) if w.will_wake(waker) => {}
        _ => *slot = Some(waker.clone()),
    }
}

/// Hands a finished stream's queued CQEs to its orphan: `complete_more`
/// for each, `complete` for the last (the op's final CQE). Runs outside the
/// driver's borrow.
pub(crate) fn finish_stream(mut orphan: Box<dyn Orphan>, mut pending: CompletionQueue) {
    while let Some(c) = pending.pop_front() {
        if pending.is_empty() {
            orphan.complete(c);
            return;
        }
        orphan.complete_more(c);
    }
}

/// A multishot op's completions not yet taken. Usually one at a time, so
/// the first is held inline; the overflow queue is freed whenever it
/// empties, so an idle stream (an idle connection's receive) holds no
/// allocation.
#[derive(Default)]
pub(crate) struct CompletionQueue {
    first: Option<Completion>,
    rest: VecDeque<Completion>,
}

impl CompletionQueue {
    pub(crate) fn push_back(&mut self, c: Completion) {
        if self.first.is_none() && self.rest.is_empty() {
            self.first = Some(c);
        } else {
            self.rest.push_back(c);
        }
    }

    pub(crate) fn pop_front(&mut self) -> Option<Completion> {
        if let Some(c) = self.first.take() {
            return Some(c);
        }
        let c = self.rest.pop_front();
        if self.rest.is_empty() && self.rest.capacity() > 0 {
            self.rest = VecDeque::new();
        }
        c
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none() && self.rest.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{
        cell::RefCell,
        rc::Rc,
        sync::{
            atomic::{AtomicUsize, Ordering},
            Arc,
        },
        task::Wake,
    };

    /// A waker that counts its wakes.
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }

    /// An orphan that records what it was given.
    #[derive(Clone, Default)]
    struct Log(Rc<RefCell<Vec<String>>>);

    impl Orphan for Log {
        fn complete(self: Box<Self>, cqe: Completion) {
            self.0
                .borrow_mut()
                .push(format!("complete {:?}", cqe.result()));
        }
        fn complete_more(&mut self, cqe: Completion) {
            self.0.borrow_mut().push(format!("more {:?}", cqe.result()));
        }
    }

    fn cqe(res: i32) -> Completion {
        Completion::new(res, 0)
    }

    fn wake_of(d: Delivered) -> Option<Waker> {
        match d {
            Delivered::Wake(w) => w,
            Delivered::Orphan(_) => panic!("expected a wake"),
        }
    }

    #[test]
    fn op_completes_then_is_polled() {
        let (count, w) = waker();
        let mut s = SlotState::op(&w);
        assert_eq!(s.poll_op(&w), OpPoll::Pending);
        wake_of(s.deliver(cqe(5), false)).unwrap().wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(s.poll_op(&w), OpPoll::Done(cqe(5)));
    }

    #[test]
    fn dropped_op_is_held_and_cancelled_then_completed_by_its_cqe() {
        let (_, w) = waker();
        let log = Log::default();
        let mut s = SlotState::op(&w);
        assert!(matches!(
            s.release(Box::new(log.clone()), true),
            Released::Held { cancel: true }
        ));
        assert!(s.is_orphan());
        assert_eq!(s.poll_op(&w), OpPoll::Cancelled);
        let Delivered::Orphan(o) = s.deliver(cqe(-125), false) else {
            panic!("the orphan's last CQE frees it");
        };
        o.complete(cqe(-125));
        assert_eq!(log.0.borrow().len(), 1);
        assert!(log.0.borrow()[0].starts_with("complete Err"));
    }

    #[test]
    fn detached_op_is_not_cancelled() {
        let (_, w) = waker();
        let mut s = SlotState::op(&w);
        assert!(matches!(
            s.release(Box::new(Log::default()), false),
            Released::Held { cancel: false }
        ));
    }

    #[test]
    fn dropped_after_its_cqe_completes_at_once() {
        let (_, w) = waker();
        let mut s = SlotState::op(&w);
        assert!(wake_of(s.deliver(cqe(3), false)).is_some());
        let Released::Complete(_, c) = s.release(Box::new(Log::default()), true) else {
            panic!("the CQE was already here");
        };
        assert_eq!(c, cqe(3));
    }

    #[test]
    fn stream_queues_in_order_and_ends_after_the_last() {
        let (count, w) = waker();
        let mut s = SlotState::stream(&w);
        assert_eq!(s.poll_stream(&w), StreamPoll::Pending);
        wake_of(s.deliver(cqe(1), true)).unwrap().wake();
        // No waker registered again until polled: no second wake.
        assert!(wake_of(s.deliver(cqe(2), true)).is_none());
        assert!(wake_of(s.deliver(cqe(3), false)).is_none());
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        for n in 1..=3 {
            assert_eq!(s.poll_stream(&w), StreamPoll::Item(cqe(n)));
        }
        assert_eq!(s.poll_stream(&w), StreamPoll::End);
    }

    #[test]
    fn dropped_stream_hands_queued_cqes_to_the_orphan_and_is_cancelled() {
        let (_, w) = waker();
        let log = Log::default();
        let mut s = SlotState::stream(&w);
        s.deliver(cqe(1), true);
        s.deliver(cqe(2), true);
        assert!(matches!(
            s.release(Box::new(log.clone()), false),
            Released::Held { cancel: true }
        ));
        assert_eq!(*log.0.borrow(), ["more Ok(1)", "more Ok(2)"]);
        // Later CQEs with MORE go to the orphan too; the last frees it.
        assert!(wake_of(s.deliver(cqe(4), true)).is_none());
        let Delivered::Orphan(o) = s.deliver(cqe(0), false) else {
            panic!("last CQE");
        };
        o.complete(cqe(0));
        assert_eq!(
            *log.0.borrow(),
            ["more Ok(1)", "more Ok(2)", "more Ok(4)", "complete Ok(0)"]
        );
    }

    #[test]
    fn dropped_finished_stream_ends_with_its_last_cqe() {
        let (_, w) = waker();
        let log = Log::default();
        let mut s = SlotState::stream(&w);
        s.deliver(cqe(7), true);
        s.deliver(cqe(0), false);
        let Released::StreamEnded(o, pending) = s.release(Box::new(log.clone()), true) else {
            panic!("finished");
        };
        finish_stream(o, pending);
        assert_eq!(*log.0.borrow(), ["more Ok(7)", "complete Ok(0)"]);
    }

    #[test]
    fn completion_queue_keeps_order_and_frees_its_overflow() {
        let mut q = CompletionQueue::default();
        q.push_back(cqe(1));
        q.push_back(cqe(2));
        assert_eq!(q.pop_front(), Some(cqe(1)));
        q.push_back(cqe(3));
        assert_eq!(q.pop_front(), Some(cqe(2)));
        assert_eq!(q.pop_front(), Some(cqe(3)));
        assert!(q.is_empty());
        assert_eq!(q.rest.capacity(), 0);
        assert_eq!(q.pop_front(), None);
    }
}
