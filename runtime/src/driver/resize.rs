//! The driver's side of adaptive sizing: at the safe point of each turn
//! (everything pushed is submitted, the CQ is reaped empty, no overflow)
//! feed the policy (`ring/adaptive.rs`) its signals and carry out what it
//! decides — reserve the new size in the process's memlock ledger, make
//! the resize call and re-map (`ring/resize.rs`), report it.

use super::{Driver, Io};
use crate::ring::SetupFlags;
use crate::ring::{
    memlock, resize, ResizeReason, Resizing, RingResize, RingSize, Signals, HISTORY,
};
use std::time::{Duration, Instant};

impl Driver {
    /// One turn's look at the ring's size; resizes if the policy says so
    /// and this is a safe point.
    pub(super) fn consider_resize(&mut self) {
        if self.closed {
            return;
        }
        let signals = Signals {
            budget_reaps: self.stats.budget_reaps,
            sq_full: self.stats.sq_full,
            overflow_waits: self.stats.overflow_waits,
            in_flight: self.in_flight,
        };
        let Some((to, reason)) = self.resizer.observe(signals, self.cq_entries, Instant::now)
        else {
            return;
        };
        // The safe point: nothing pushed waits in the SQ, nothing posted
        // waits in the CQ, nothing sits in the overflow list. (The kernel
        // would copy pending entries, but then there are none to lose.)
        let Io::Uring(ring) = &mut self.io else {
            return;
        };
        let sq = ring.submission();
        let safe = sq.is_empty() && !sq.cq_overflow();
        drop(sq);
        if !safe || !ring.completion().is_empty() {
            if reason == ResizeReason::Forced {
                self.resizer.force(to); // next turn
            }
            return;
        }
        self.resize_to(RingSize::normalized(to.sq, to.cq), reason);
    }

    /// The park timeout, shortened so that a grown ring wakes up in time
    /// to shrink back even if nothing else happens.
    pub(super) fn resize_timeout(&self, timeout: Option<Duration>) -> Option<Duration> {
        let Some(at) = self.resizer.next_check() else {
            return timeout;
        };
        // A little after the deadline, so the check finds it passed.
        let until = at.saturating_duration_since(Instant::now()) + Duration::from_millis(1);
        Some(timeout.map_or(until, |t| t.min(until)))
    }

    fn resize_to(&mut self, to: RingSize, reason: ResizeReason) {
        let from = self.info.size;
        let now = Instant::now();
        if to == from {
            self.resizer.resized(to, reason, now);
            return;
        }
        let grow = to.sq > from.sq || to.cq > from.cq;
        let no_sqarray = self.info.flags.contains(SetupFlags::NO_SQARRAY);
        let old_bytes = self.info.memlock_bytes;
        let new_bytes = to.memlock_bytes(no_sqarray);
        // The kernel charges the new rings before it frees the old ones,
        // so the new size must fit next to the old one.
        let ledger = memlock::ledger();
        let limit = memlock::budget_limit();
        if !ledger.try_charge(new_bytes, limit) {
            self.resizer.skipped(now);
            if grow {
                self.stats.ring_grows_skipped += 1;
            }
            tracing::debug!(
                from_sq = from.sq,
                from_cq = from.cq,
                sq = to.sq,
                cq = to.cq,
                charged = ledger.charged(),
                limit,
                "io_uring resize skipped: no room in the memlock budget"
            );
            return;
        }
        let Io::Uring(ring) = &mut self.io else {
            return;
        };
        match resize::resize(ring, to, self.resize_fn.as_ref()) {
            Ok(new) => {
                let got = RingSize {
                    sq: new.params().sq_entries(),
                    cq: new.params().cq_entries(),
                };
                // The old rings are stale now: unmap them (their own fd
                // number closes with them; the ring lives on behind the
                // new one's).
                drop(std::mem::replace(&mut **ring, new));
                let got_bytes = got.memlock_bytes(no_sqarray);
                ledger.release(old_bytes);
                if got_bytes != new_bytes {
                    ledger.charge(got_bytes);
                    ledger.release(new_bytes);
                }
                self.cq_entries = got.cq as usize;
                self.since_reap = 0;
                self.info.size = got;
                self.info.memlock_bytes = got_bytes;
                self.info.resize_count += 1;
                if self.info.resizes.len() == HISTORY {
                    self.info.resizes.remove(0);
                }
                self.info.resizes.push(RingResize {
                    at: now,
                    after: now.saturating_duration_since(self.created),
                    from,
                    to: got,
                    reason,
                    memlock_bytes: got_bytes,
                });
                if grow {
                    self.stats.ring_grows += 1;
                } else {
                    self.stats.ring_shrinks += 1;
                }
                self.resizer.resized(got, reason, now);
                tracing::info!(
                    from_sq = from.sq,
                    from_cq = from.cq,
                    sq = got.sq,
                    cq = got.cq,
                    reason = ?reason,
                    memlock_bytes = got_bytes,
                    charged = ledger.charged(),
                    "io_uring ring resized"
                );
            }
            Err(e) => {
                ledger.release(new_bytes);
                let errno = e.raw_os_error().unwrap_or(0);
                match errno {
                    libc::EINVAL | libc::EOPNOTSUPP | libc::EEXIST | libc::EPERM => {
                        // No resize on this kernel (before 6.13), for this
                        // ring (no DEFER_TASKRUN), or from this thread.
                        self.resizer.disable();
                        self.info.resizing = Resizing::Unsupported { errno };
                        tracing::warn!(
                            error = %e,
                            sq = from.sq,
                            cq = from.cq,
                            "io_uring ring resizing unavailable (needs Linux 6.13 and DEFER_TASKRUN); \
                             the ring keeps its size"
                        );
                    }
                    _ => {
                        // ENOMEM (the user's memlock, counted across
                        // processes, or a memory cgroup), EOVERFLOW, ...:
                        // a skipped step, tried again later.
                        self.resizer.skipped(now);
                        if grow {
                            self.stats.ring_grows_skipped += 1;
                        }
                        tracing::debug!(
                            error = %e,
                            from_sq = from.sq,
                            from_cq = from.cq,
                            sq = to.sq,
                            cq = to.cq,
                            "io_uring resize skipped"
                        );
                    }
                }
            }
        }
    }
}
