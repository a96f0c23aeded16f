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
    rc::Rc,
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
#[must_use = "a Sleep does nothing until awaited"]
pub struct Sleep {
    deadline: Instant,
    entry: Option<(Rc<Timers>, TimerKey)>,
}

impl Sleep {
    /// When this sleep ends.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Moves the deadline (re-registers the timer).
    pub fn reset(&mut self, deadline: Instant) {
        if let Some((timers, key)) = self.entry.take() {
            timers.remove(key);
        }
        self.deadline = deadline;
    }

    /// Whether the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some((timers, key)) = &self.entry {
            if timers.update(*key, cx.waker()) {
                return Poll::Pending;
            }
            // Fired: the executor removed it.
            self.entry = None;
            return Poll::Ready(());
        }
        if Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        let timers = context::with_current("sleep", |c| c.timers.clone());
        let key = timers.insert(self.deadline, cx.waker().clone());
        self.entry = Some((timers, key));
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some((timers, key)) = self.entry.take() {
            timers.remove(key);
        }
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
