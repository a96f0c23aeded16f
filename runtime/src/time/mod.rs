//! Time: [`sleep`], [`sleep_until`], [`timeout`], [`interval`].
//!
//! Timers live in the runtime's `Timers` map, not in the kernel; see
//! there for why.

mod timers;

pub(crate) use timers::Timers;

use crate::executor::context;
use crate::op::clamp_duration;
use pin_project_lite::pin_project;
use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, Instant},
};
use timers::TimerKey;

/// Waits until `duration` has passed.
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(deadline_after(Instant::now(), duration))
}

/// `from + duration`, or a deadline ~30 years out if that overflows
/// `Instant` (`sleep(Duration::MAX)` waits "forever", it does not panic).
fn deadline_after(from: Instant, duration: Duration) -> Instant {
    from + clamp_duration(from, duration)
}

/// Waits until `deadline`.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        entry: None,
    }
}

/// The future of [`sleep`] and [`sleep_until`]. Panics on first poll if
/// not inside a coring runtime.
///
/// `Sleep` is `Send + Sync` (so `Timeout<F>` is `Send` when `F` is, and an
/// axum handler or hyper's timer can hold one) although the timer it
/// registers lives in one core's `!Send` timer map. It holds no pointer to
/// that map: only its deadline and, once polled, the id of the runtime it
/// registered with and its key there — plain data. Every access to the map
/// goes through the thread-local of the runtime running on the current
/// thread, and only if that runtime's id is the one recorded:
///
/// - polled on the thread of the runtime it registered with: as before;
/// - polled on another thread (the future was moved to another core after
///   its first poll): panics with a message saying so — a sleep is bound to
///   its core once it waits;
/// - dropped on another thread, or after its runtime ended: the entry is
///   not touched from there; it stays in its core's map until its deadline,
///   when the core wakes its (`Send`) waker once and forgets it.
///
/// So no `!Send` value is ever reached from a thread it does not belong to,
/// and no `unsafe` is involved.
#[must_use = "a Sleep does nothing until awaited"]
pub struct Sleep {
    deadline: Instant,
    /// The runtime it is registered with (`runtime_id`) and its key there.
    entry: Option<(usize, TimerKey)>,
}

impl Sleep {
    /// When this sleep ends.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Moves the deadline (re-registers the timer).
    pub fn reset(&mut self, deadline: Instant) {
        self.deregister();
        self.deadline = deadline;
    }

    /// Removes the registered timer, if this thread runs the runtime it is
    /// registered with (else it is left to fire unseen; see the type doc).
    fn deregister(&mut self) {
        if let Some((id, key)) = self.entry.take() {
            context::with_if(id, |c| c.timers.remove(key));
        }
    }

    /// Whether the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some((id, key)) = self.entry {
            let pending = context::with_if(id, |c| c.timers.update(key, cx.waker()));
            match pending {
                Some(true) => return Poll::Pending,
                // Fired: the executor removed it.
                Some(false) => {
                    self.entry = None;
                    return Poll::Ready(());
                }
                None => panic!(
                    "coring: a Sleep (or Timeout) was polled on a thread other than the \
                     core whose timer it registered with; a sleep is bound to its core \
                     once it has waited (move it before its first poll, or make a new one)"
                ),
            }
        }
        if Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        let (id, key) = context::with_current("sleep", |c| {
            (c.id, c.timers.insert(self.deadline, cx.waker().clone()))
        });
        self.entry = Some((id, key));
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.deregister();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// The error of [`timeout`]: the deadline passed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(_: Elapsed) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, "deadline has elapsed")
    }
}

/// Runs `future` for at most `duration`; the future is dropped (and its
/// ops cancelled) if time runs out.
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

/// Runs `future` until `deadline` at most.
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep_until(deadline),
    }
}

pin_project! {
    /// The future of [`timeout`].
    #[must_use = "a Timeout does nothing until awaited"]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        sleep: Sleep,
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.future.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Ticks every `period`, the first tick at once.
///
/// Panics if `period` is zero.
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every `period` starting at `start`.
///
/// Panics if `period` is zero.
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(!period.is_zero(), "interval period must be non-zero");
    Interval {
        period,
        sleep: sleep_until(start),
    }
}

/// A periodic timer. Ticks that were missed (the task was busy for more
/// than a period) are skipped, not bursted: the next tick is the next
/// multiple of `period` after now.
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    sleep: Sleep,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled time.
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        let at = self.sleep.deadline();
        match Pin::new(&mut self.sleep).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                let now = Instant::now();
                let mut next = deadline_after(at, self.period);
                if next <= now {
                    // Skip the missed ticks: the first multiple of the
                    // period after now.
                    let period = self.period.as_nanos();
                    let ahead = ((now - at).as_nanos() / period + 1) * period;
                    let ahead = Duration::from_nanos(u64::try_from(ahead).unwrap_or(u64::MAX));
                    next = deadline_after(at, ahead);
                }
                self.sleep.reset(next);
                Poll::Ready(at)
            }
        }
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn sleep_and_timeout_are_send_and_sync() {
        send_sync::<Sleep>();
        send_sync::<Timeout<std::future::Ready<()>>>();
        send_sync::<Interval>();
    }
}
