//! Adaptive ring sizing: when a live ring grows or shrinks. A ring starts
//! small, grows by powers of two toward the size it was asked for while
//! its load shows it needs room, and after a quiet period shrinks back one
//! step at a time, never below the size it started at.
//!
//! This file is the policy only (no ring, no clock of its own: the driver
//! feeds it counters and the time), so it is unit-tested here; the driver
//! (`driver/resize.rs`) carries its decisions out at a safe point of its
//! loop, and `resize.rs` beside this file makes the kernel call.
//!
//! Pressure, per driver turn (one submit-and-reap or park): a reap forced
//! by the per-reap CQ budget, a full SQ, completions in the kernel's
//! overflow list, or ops in flight at three quarters of the CQ or more.
//! Hysteresis: a pressured turn adds 2 to a score, a quiet one takes 1
//! away; the ring grows one step when the score reaches 8 (four pressured
//! turns in a row, or pressure in more than a third of the turns for a
//! while), and the score restarts from zero. It shrinks one step once no
//! turn was pressured for the quiet period (default 5 s), then one more
//! step every tenth of it while the quiet lasts.

use super::RingSize;
use std::time::{Duration, Instant};

/// Default start size: a ring asked for more starts at no more than this.
pub const DEFAULT_START: RingSize = RingSize { sq: 256, cq: 1024 };
/// Default quiet period before a grown ring starts shrinking.
pub const DEFAULT_QUIET: Duration = Duration::from_secs(5);
/// How many resizes [`RingInfo::resizes`](super::RingInfo::resizes) keeps.
pub const HISTORY: usize = 64;

const SCORE_UP: u32 = 2;
const SCORE_GROW: u32 = 8;
/// After a grow that did not fit (budget or `ENOMEM`), wait this long
/// before trying again.
const RETRY_GROW: Duration = Duration::from_millis(250);

/// Why a ring was resized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResizeReason {
    /// The per-reap CQ budget forced reaps: bursts of SQEs bigger than the CQ.
    BudgetReaps,
    /// The SQ filled up and was submitted to make room.
    SqFull,
    /// Completions overflowed into the kernel's list.
    Overflow,
    /// Ops in flight stayed at three quarters of the CQ or more.
    InFlight,
    /// No pressure for the quiet period: one step back toward the start size.
    Idle,
    /// Asked for directly ([`resize_ring`](crate::resize_ring)).
    Forced,
}

/// Whether a ring resizes itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resizing {
    /// On: the ring grows and shrinks between its start and maximum size.
    On,
    /// Turned off by configuration (`adaptive(false)`).
    Off,
    /// The kernel refused (`EINVAL`: before Linux 6.13, or a ring without
    /// `DEFER_TASKRUN`); the ring keeps its size.
    Unsupported {
        /// The errno of the refused call (0: not tried, e.g. no
        /// `DEFER_TASKRUN` in the flags granted).
        errno: i32,
    },
}

/// One resize of a live ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingResize {
    /// When it happened.
    pub at: Instant,
    /// How long after the ring was set up.
    pub after: Duration,
    /// The size before.
    pub from: RingSize,
    /// The size after.
    pub to: RingSize,
    /// Why.
    pub reason: ResizeReason,
    /// Estimated memlock bytes charged for the new size.
    pub memlock_bytes: u64,
}

/// Counters the driver feeds in every turn (cumulative, as in
/// `DriverStats`) and what it sees now.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Signals {
    pub(crate) budget_reaps: u64,
    pub(crate) sq_full: u64,
    pub(crate) overflow_waits: u64,
    pub(crate) in_flight: usize,
}

/// The sizing state of one ring.
#[derive(Debug)]
pub(crate) struct Resizer {
    /// Policy on (grow and shrink by itself).
    auto: bool,
    /// The kernel can resize this ring (forced resizes work too).
    supported: bool,
    home: RingSize,
    max: RingSize,
    /// From `home` to `max`, see [`Resizer::ladder`].
    ladder: Vec<RingSize>,
    cur: RingSize,
    quiet: Duration,
    score: u32,
    seen: Signals,
    /// The last pressured turn (or grow), when the ring is above home.
    last_pressure: Instant,
    last_shrink: Instant,
    retry_grow_after: Option<Instant>,
    forced: Option<RingSize>,
}

impl Resizer {
    pub(crate) fn new(
        auto: bool,
        supported: bool,
        home: RingSize,
        max: RingSize,
        quiet: Duration,
        now: Instant,
    ) -> Self {
        let max = RingSize {
            sq: max.sq.max(home.sq),
            cq: max.cq.max(home.cq),
        };
        Resizer {
            auto: auto && supported && max != home,
            supported,
            home,
            max,
            ladder: Self::ladder(home, max),
            cur: home,
            quiet,
            score: 0,
            seen: Signals::default(),
            last_pressure: now,
            last_shrink: now,
            retry_grow_after: None,
            forced: None,
        }
    }

    /// The sizes a ring steps through from `home` to `max`: the CQ doubles
    /// every step; the SQ doubles too, but starts late enough to reach its
    /// maximum on the same step as the CQ (so the step before the top is
    /// half the top in both: the kernel charges the new rings before it
    /// frees the old, and a half-size old ring keeps that peak at 1.5×).
    pub(crate) fn ladder(home: RingSize, max: RingSize) -> Vec<RingSize> {
        let doublings = |lo: u32, hi: u32| (hi.max(lo) / lo).trailing_zeros();
        let n = doublings(home.sq, max.sq).max(doublings(home.cq, max.cq));
        (0..=n)
            .map(|k| {
                let at = |lo: u32, hi: u32| (hi.max(lo) >> (n - k)).max(lo);
                let sq = at(home.sq, max.sq);
                RingSize {
                    sq,
                    cq: at(home.cq, max.cq).max(sq),
                }
            })
            .collect()
    }

    /// The next size up from `s` on the ladder (`s` itself at the top).
    fn grow_step(&self, s: RingSize) -> RingSize {
        let next = self
            .ladder
            .iter()
            .find(|l| l.sq >= s.sq && l.cq >= s.cq && **l != s)
            .copied()
            .unwrap_or(s);
        RingSize {
            sq: next.sq.max(s.sq),
            cq: next.cq.max(s.cq),
        }
    }

    /// The next size down from `s` on the ladder (`s` itself at home).
    fn shrink_step(&self, s: RingSize) -> RingSize {
        self.ladder
            .iter()
            .rev()
            .find(|l| l.sq <= s.sq && l.cq <= s.cq && **l != s)
            .copied()
            .unwrap_or(s)
    }

    #[cfg(test)]
    fn current(&self) -> RingSize {
        self.cur
    }

    /// Asks for a resize to `size` at the next safe point.
    pub(crate) fn force(&mut self, size: RingSize) {
        self.forced = Some(size);
    }

    /// Whether a turn must consult [`observe`](Self::observe)'s clock:
    /// something could be decided.
    fn may_act(&self) -> bool {
        self.supported && (self.auto || self.forced.is_some())
    }

    /// One driver turn: `s` are the counters now. Returns the size to
    /// resize to, and why, if the policy wants a resize now.
    pub(crate) fn observe(
        &mut self,
        s: Signals,
        cq_entries: usize,
        now: impl FnOnce() -> Instant,
    ) -> Option<(RingSize, ResizeReason)> {
        if !self.may_act() {
            return None;
        }
        let reason = if s.overflow_waits != self.seen.overflow_waits {
            Some(ResizeReason::Overflow)
        } else if s.budget_reaps != self.seen.budget_reaps {
            Some(ResizeReason::BudgetReaps)
        } else if s.sq_full != self.seen.sq_full {
            Some(ResizeReason::SqFull)
        } else if s.in_flight * 4 >= cq_entries * 3 {
            Some(ResizeReason::InFlight)
        } else {
            None
        };
        self.seen = s;
        if let Some(size) = self.forced.take() {
            return Some((size, ResizeReason::Forced));
        }
        match reason {
            Some(reason) => {
                self.score = (self.score + SCORE_UP).min(SCORE_GROW);
                let grown = self.cur != self.home;
                let ready = self.score >= SCORE_GROW && self.cur != self.max;
                if !grown && !ready {
                    return None;
                }
                let now = now();
                self.last_pressure = now;
                if !ready || self.retry_grow_after.is_some_and(|t| now < t) {
                    return None;
                }
                self.score = 0;
                Some((self.grow_step(self.cur), reason))
            }
            None => {
                self.score = self.score.saturating_sub(1);
                if self.cur == self.home {
                    return None;
                }
                let now = now();
                let step = self.quiet / 10;
                let quiet_for = now.saturating_duration_since(self.last_pressure);
                let since_shrink = now.saturating_duration_since(self.last_shrink);
                (quiet_for >= self.quiet && since_shrink >= step)
                    .then(|| (self.shrink_step(self.cur), ResizeReason::Idle))
            }
        }
    }

    /// When the ring should next look at its size even if nothing happens
    /// (so a parked, grown ring still shrinks back): `None` at home.
    pub(crate) fn next_check(&self) -> Option<Instant> {
        if !self.auto || self.cur == self.home {
            return self.forced.map(|_| self.last_shrink);
        }
        Some((self.last_pressure + self.quiet).max(self.last_shrink + self.quiet / 10))
    }

    /// The ring is now `size`.
    pub(crate) fn resized(&mut self, size: RingSize, reason: ResizeReason, now: Instant) {
        let grew = size.cq > self.cur.cq || size.sq > self.cur.sq;
        self.cur = size;
        self.retry_grow_after = None;
        if grew {
            self.last_pressure = now;
        }
        if reason == ResizeReason::Idle || !grew {
            self.last_shrink = now;
        }
        if reason == ResizeReason::Forced {
            self.last_pressure = now;
        }
    }

    /// A resize could not be made now (no budget, `ENOMEM`, entries that
    /// would not fit): try a grow again later; a shrink retries at its
    /// next step.
    pub(crate) fn skipped(&mut self, now: Instant) {
        self.retry_grow_after = Some(now + RETRY_GROW);
        self.last_shrink = now;
    }

    /// The kernel refused resizing: keep the size from now on.
    pub(crate) fn disable(&mut self) {
        self.supported = false;
        self.auto = false;
        self.forced = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: RingSize = RingSize { sq: 64, cq: 128 };
    const MAX: RingSize = RingSize { sq: 1024, cq: 4096 };

    fn pressured(
        r: &mut Resizer,
        s: &mut Signals,
        now: Instant,
    ) -> Option<(RingSize, ResizeReason)> {
        s.budget_reaps += 1;
        r.observe(*s, r.current().cq as usize, || now)
    }

    #[test]
    fn ladder_doubles_to_max_and_halves_to_home() {
        let r = Resizer::new(true, true, HOME, MAX, DEFAULT_QUIET, Instant::now());
        let mut s = HOME;
        let mut up = vec![s];
        while s != MAX {
            s = r.grow_step(s);
            up.push(s);
        }
        let sizes = |v: &[(u32, u32)]| {
            v.iter()
                .map(|&(sq, cq)| RingSize { sq, cq })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            up,
            sizes(&[
                (64, 128),
                (64, 256),
                (128, 512),
                (256, 1024),
                (512, 2048),
                (1024, 4096)
            ])
        );
        assert_eq!(r.grow_step(MAX), MAX);
        let mut down = vec![s];
        while s != HOME {
            s = r.shrink_step(s);
            down.push(s);
        }
        down.reverse();
        assert_eq!(down, up);
        // The default start to the largest ring: the SQ reaches 4096 on
        // the last step, so the step below the top is half of it.
        let big = RingSize {
            sq: 4096,
            cq: 65536,
        };
        let l = Resizer::ladder(DEFAULT_START, big);
        assert_eq!(l.len(), 7);
        assert_eq!(
            l[5],
            RingSize {
                sq: 2048,
                cq: 32768
            }
        );
        assert_eq!(l[6], big);
        // Off-ladder sizes (after a forced resize) step onto it.
        let odd = RingSize { sq: 1024, cq: 1024 };
        assert_eq!(r.grow_step(odd), MAX);
        assert_eq!(r.shrink_step(odd), RingSize { sq: 256, cq: 1024 });
    }

    #[test]
    fn grows_after_sustained_pressure_only() {
        let t0 = Instant::now();
        let mut r = Resizer::new(true, true, HOME, MAX, DEFAULT_QUIET, t0);
        let mut s = Signals::default();
        // Pressure in one turn of three never grows.
        for _ in 0..100 {
            assert_eq!(pressured(&mut r, &mut s, t0), None);
            assert_eq!(r.observe(s, 128, || t0), None);
            assert_eq!(r.observe(s, 128, || t0), None);
        }
        // Four pressured turns in a row do.
        for _ in 0..3 {
            assert_eq!(pressured(&mut r, &mut s, t0), None);
        }
        let (to, why) = pressured(&mut r, &mut s, t0).unwrap();
        assert_eq!(
            (to, why),
            (RingSize { sq: 64, cq: 256 }, ResizeReason::BudgetReaps)
        );
        r.resized(to, why, t0);
        // The score restarts.
        assert_eq!(pressured(&mut r, &mut s, t0), None);
    }

    #[test]
    fn shrinks_after_the_quiet_period_one_step_at_a_time() {
        let t0 = Instant::now();
        let q = Duration::from_secs(5);
        let mut r = Resizer::new(true, true, HOME, MAX, q, t0);
        r.resized(MAX, ResizeReason::Forced, t0);
        let s = Signals::default();
        assert_eq!(r.observe(s, 4096, || t0 + q / 2), None);
        assert_eq!(r.next_check(), Some(t0 + q));
        let mut t = t0 + q;
        let mut steps = 0;
        while r.current() != HOME {
            let (to, why) = r.observe(s, 4096, || t).expect("a shrink step");
            assert_eq!(why, ResizeReason::Idle);
            r.resized(to, why, t);
            steps += 1;
            assert_eq!(r.observe(s, 4096, || t), None, "one step per tenth");
            t += q / 10;
        }
        assert_eq!(steps, 5);
        // Back at home within twice the quiet period.
        assert!(t - t0 <= 2 * q);
        assert_eq!(r.next_check(), None);
    }

    #[test]
    fn defaults_take_the_largest_ring_home_within_ten_seconds_of_idle() {
        let t0 = Instant::now();
        let big = RingSize {
            sq: 4096,
            cq: 65536,
        };
        let mut r = Resizer::new(true, true, DEFAULT_START, big, DEFAULT_QUIET, t0);
        r.resized(big, ResizeReason::Forced, t0);
        let mut t = t0;
        while r.current() != DEFAULT_START {
            if let Some((to, why)) = r.observe(Signals::default(), 65536, || t) {
                r.resized(to, why, t);
            }
            t += Duration::from_millis(10);
            assert!(t - t0 <= Duration::from_secs(10), "{r:?}");
        }
    }

    #[test]
    fn skipped_grow_backs_off_and_disable_stops() {
        let t0 = Instant::now();
        let mut r = Resizer::new(true, true, HOME, MAX, DEFAULT_QUIET, t0);
        let mut s = Signals::default();
        let mut got = None;
        for _ in 0..4 {
            got = pressured(&mut r, &mut s, t0);
        }
        assert!(got.is_some());
        r.skipped(t0);
        for _ in 0..8 {
            assert_eq!(pressured(&mut r, &mut s, t0), None);
        }
        let later = t0 + RETRY_GROW;
        let mut got = None;
        for _ in 0..4 {
            got = got.or(pressured(&mut r, &mut s, later));
        }
        assert!(got.is_some());
        r.disable();
        r.force(MAX);
        for _ in 0..8 {
            assert_eq!(pressured(&mut r, &mut s, later), None);
        }
    }

    #[test]
    fn nothing_to_do_when_start_is_max() {
        let t0 = Instant::now();
        let mut r = Resizer::new(true, true, MAX, MAX, DEFAULT_QUIET, t0);
        let mut s = Signals::default();
        for _ in 0..20 {
            assert_eq!(pressured(&mut r, &mut s, t0), None);
        }
    }
}
