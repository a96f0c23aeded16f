//! [`Timers`]: the runtime's timer registry.
//!
//! An ordered map from (deadline, sequence) to waker. Registering, moving
//! and cancelling a sleep are O(log n) with no kernel involvement; the
//! executor fires due timers once per loop turn and bounds each park by the
//! earliest deadline, so 100,000 sleeps cost 100,000 map entries and one
//! kernel timeout per park, not 100,000 SQEs. A hashed wheel would make
//! insertion O(1) but costs more per idle tick and rounds deadlines; an
//! ordered map keeps exact deadlines and strict deadline order.

use std::{
    cell::{Cell, RefCell},
    collections::BTreeMap,
    task::Waker,
    time::Instant,
};

/// A registered timer's key: its deadline and a tie-breaking sequence
/// number, so equal deadlines fire in registration order.
pub(crate) type TimerKey = (Instant, u64);

#[derive(Default)]
pub(crate) struct Timers {
    map: RefCell<BTreeMap<TimerKey, Waker>>,
    seq: Cell<u64>,
}

impl Timers {
    pub(crate) fn insert(&self, deadline: Instant, waker: Waker) -> TimerKey {
        let seq = self.seq.get();
        self.seq.set(seq + 1);
        let key = (deadline, seq);
        self.map.borrow_mut().insert(key, waker);
        key
    }

    /// Updates the waker of a pending timer; `false` if it already fired.
    pub(crate) fn update(&self, key: TimerKey, waker: &Waker) -> bool {
        match self.map.borrow_mut().get_mut(&key) {
            Some(w) => {
                if !w.will_wake(waker) {
                    *w = waker.clone();
                }
                true
            }
            None => false,
        }
    }

    pub(crate) fn remove(&self, key: TimerKey) {
        self.map.borrow_mut().remove(&key);
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.map.borrow().first_key_value().map(|(k, _)| k.0)
    }

    /// Wakes every timer that is due; returns the time used, if timers
    /// exist (so the caller need not read the clock again).
    pub(crate) fn fire_due(&self) -> Option<Instant> {
        if self.map.borrow().is_empty() {
            return None;
        }
        let now = Instant::now();
        loop {
            let due = {
                let mut map = self.map.borrow_mut();
                match map.first_key_value() {
                    Some((k, _)) if k.0 <= now => map.pop_first().map(|(_, w)| w),
                    _ => None,
                }
            };
            match due {
                Some(w) => w.wake(),
                None => return Some(now),
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.map.borrow().len()
    }

    pub(crate) fn clear(&self) {
        let map = std::mem::take(&mut *self.map.borrow_mut());
        drop(map);
    }
}
