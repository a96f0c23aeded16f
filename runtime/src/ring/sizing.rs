//! Ring sizes: what a size costs in memory, and the ladder of smaller sizes
//! tried after `ENOMEM`.
//!
//! Sizes are (SQ entries, CQ entries), both powers of two, CQ ≥ SQ,
//! SQ ≤ 32768, CQ ≤ 65536. One step down halves the CQ while it is more
//! than twice the SQ, then halves both, never below the floor.

/// Largest SQ the kernel accepts (`IORING_MAX_ENTRIES`).
pub const MAX_SQ_ENTRIES: u32 = 32768;
/// Largest CQ the kernel accepts (`IORING_MAX_CQ_ENTRIES`).
pub const MAX_CQ_ENTRIES: u32 = 65536;

const PAGE: u64 = 4096;

/// One ring size: entries in the submission and the completion queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RingSize {
    /// Submission queue entries.
    pub sq: u32,
    /// Completion queue entries.
    pub cq: u32,
}

impl RingSize {
    /// A size rounded and clamped to what the kernel accepts: powers of two,
    /// `1 <= sq <= 32768`, `sq <= cq <= 65536`. A `cq` of 0 means twice `sq`.
    pub fn normalized(sq: u32, cq: u32) -> RingSize {
        let sq = sq.clamp(1, MAX_SQ_ENTRIES).next_power_of_two();
        let cq = if cq == 0 { sq.saturating_mul(2) } else { cq };
        let cq = cq.clamp(sq, MAX_CQ_ENTRIES).next_power_of_two();
        RingSize { sq, cq }
    }

    /// Bytes the kernel charges against `RLIMIT_MEMLOCK` for a ring of this
    /// size: page_align(64 + 16·cq (+ 4·sq without NO_SQARRAY)) +
    /// page_align(64·sq).
    pub fn memlock_bytes(self, no_sqarray: bool) -> u64 {
        let rings = 64 + 16 * self.cq as u64 + if no_sqarray { 0 } else { 4 * self.sq as u64 };
        page_align(rings) + page_align(64 * self.sq as u64)
    }

    /// Bytes a memory cgroup is charged: each of the two areas is one
    /// contiguous allocation rounded up to a power-of-two number of pages.
    pub fn cgroup_bytes(self, no_sqarray: bool) -> u64 {
        let rings = 64 + 16 * self.cq as u64 + if no_sqarray { 0 } else { 4 * self.sq as u64 };
        pow2_pages(rings) + pow2_pages(64 * self.sq as u64)
    }

    /// The next smaller size to try after `ENOMEM`, or `None` at the floor.
    pub fn step_down(self, floor: RingSize) -> Option<RingSize> {
        let next = if self.cq > 2 * self.sq && self.cq / 2 >= floor.cq {
            RingSize {
                sq: self.sq,
                cq: self.cq / 2,
            }
        } else if self.sq / 2 >= floor.sq {
            RingSize {
                sq: self.sq / 2,
                cq: (self.cq / 2).max(floor.cq).max(self.sq / 2),
            }
        } else if self.cq / 2 >= floor.cq.max(self.sq) {
            RingSize {
                sq: self.sq,
                cq: self.cq / 2,
            }
        } else {
            return None;
        };
        (next != self).then_some(next)
    }

    /// The largest size at or below `self` (walking the same ladder) that
    /// costs at most `budget` bytes of memlock, or `None` if not even the
    /// floor fits.
    pub fn fit_budget(self, floor: RingSize, budget: u64, no_sqarray: bool) -> Option<RingSize> {
        let mut size = self;
        loop {
            if size.memlock_bytes(no_sqarray) <= budget {
                return Some(size);
            }
            size = size.step_down(floor)?;
        }
    }
}

fn page_align(n: u64) -> u64 {
    n.div_ceil(PAGE) * PAGE
}

fn pow2_pages(n: u64) -> u64 {
    n.div_ceil(PAGE).next_power_of_two() * PAGE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_match_the_kernel_formula() {
        // (4096, 65536) = 325 pages, measured on this kernel's memlock.
        let s = RingSize {
            sq: 4096,
            cq: 65536,
        };
        assert_eq!(s.memlock_bytes(false), 325 * 4096);
        // cgroup: 257 pages rounds to 512, 64 to 64: 2.25 MiB.
        assert_eq!(s.cgroup_bytes(false), (512 + 64) * 4096);
    }

    #[test]
    fn normalize_rounds_and_clamps() {
        assert_eq!(RingSize::normalized(100, 0), RingSize { sq: 128, cq: 256 });
        assert_eq!(
            RingSize::normalized(1 << 20, 1 << 20),
            RingSize {
                sq: 32768,
                cq: 65536
            }
        );
        assert_eq!(RingSize::normalized(64, 16), RingSize { sq: 64, cq: 64 });
    }

    #[test]
    fn ladder_halves_cq_then_both_and_stops_at_floor() {
        let floor = RingSize { sq: 64, cq: 128 };
        let mut s = RingSize {
            sq: 4096,
            cq: 65536,
        };
        let mut steps = vec![s];
        while let Some(n) = s.step_down(floor) {
            assert!(n.memlock_bytes(false) < s.memlock_bytes(false));
            assert!(n.cq >= n.sq && n.sq >= floor.sq && n.cq >= floor.cq);
            s = n;
            steps.push(s);
        }
        assert_eq!(
            steps[1],
            RingSize {
                sq: 4096,
                cq: 32768
            }
        );
        assert_eq!(steps[3], RingSize { sq: 4096, cq: 8192 });
        assert_eq!(steps[4], RingSize { sq: 2048, cq: 4096 });
        assert_eq!(s, floor);
    }

    #[test]
    fn budget_picks_the_largest_fitting_size() {
        let floor = RingSize { sq: 64, cq: 128 };
        let want = RingSize {
            sq: 4096,
            cq: 65536,
        };
        let got = want.fit_budget(floor, 512 * 1024, false).unwrap();
        assert!(got.memlock_bytes(false) <= 512 * 1024);
        assert!(got.step_down(floor).is_some());
        assert!(want.fit_budget(floor, 4096, false).is_none());
    }
}
