//! The `RLIMIT_MEMLOCK` budget for ring memory.
//!
//! Without `CAP_IPC_LOCK` the kernel charges ring pages to the *user's*
//! locked-memory count, shared by all of that user's processes, against
//! `RLIMIT_MEMLOCK`. coring cannot see what other processes have charged,
//! but it knows what its own live rings cost, so it can split the rest
//! between the rings it is about to create instead of letting the last
//! ones fail. `ENOMEM` fallback still covers what it cannot see.
//!
//! The count is one ledger for the whole process (`Ledger`): every ring
//! charges its bytes there at set-up and releases them when it closes, and
//! a ring that wants to grow reserves the new size first
//! (`Ledger::try_charge`), so rings on different cores growing at the
//! same moment can never together pass the limit.

use crate::sync::atomic::{AtomicU64, Ordering};

/// Bytes of ring memory charged by this process's live rings, shared by
/// every core.
pub(crate) struct Ledger {
    charged: AtomicU64,
}

impl Ledger {
    pub(crate) fn new() -> Self {
        Ledger {
            charged: AtomicU64::new(0),
        }
    }

    /// Records `bytes` as charged (a ring was created; it may have got
    /// past a budget check because the kernel accepted it).
    pub(crate) fn charge(&self, bytes: u64) {
        self.charged.fetch_add(bytes, Ordering::AcqRel);
    }

    /// Charges `bytes` only if the total stays within `limit`; `false`
    /// (nothing charged) if it would not fit.
    pub(crate) fn try_charge(&self, bytes: u64, limit: Option<u64>) -> bool {
        let Some(limit) = limit else {
            self.charge(bytes);
            return true;
        };
        let mut c = self.charged.load(Ordering::Acquire);
        loop {
            match c.checked_add(bytes) {
                Some(t) if t <= limit => {}
                _ => return false,
            }
            match self.charged.compare_exchange_weak(
                c,
                c + bytes,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(now) => c = now,
            }
        }
    }

    /// Undoes a charge.
    pub(crate) fn release(&self, bytes: u64) {
        self.charged.fetch_sub(bytes, Ordering::AcqRel);
    }

    pub(crate) fn charged(&self) -> u64 {
        self.charged.load(Ordering::Acquire)
    }
}

/// The process's ledger.
#[cfg(not(loom))]
pub(crate) fn ledger() -> &'static Ledger {
    static LEDGER: std::sync::OnceLock<Ledger> = std::sync::OnceLock::new();
    LEDGER.get_or_init(Ledger::new)
}

/// Under loom the process ledger is never used (no ring runs in a model);
/// each model builds its own `Ledger`.
#[cfg(loom)]
pub(crate) fn ledger() -> &'static Ledger {
    unreachable!("no ring under loom")
}

/// Records `bytes` as charged by a new ring; undone by [`release`].
pub(crate) fn charge(bytes: u64) {
    ledger().charge(bytes);
}

/// Undoes [`charge`] when a ring closes.
pub(crate) fn release(bytes: u64) {
    ledger().release(bytes);
}

/// Bytes of ring memory this process's live coring rings are charged now
/// (coring's estimate, by the kernel's formula), across all cores.
pub fn charged() -> u64 {
    ledger().charged()
}

/// The limit ring memory is charged against, or `None` when it is not
/// charged to memlock (the process has `CAP_IPC_LOCK`, or the limit is
/// infinite).
pub fn budget_limit() -> Option<u64> {
    if has_cap_ipc_lock() {
        return None;
    }
    memlock_limit()
}

/// What is left for new rings, or `None` when ring memory is not charged
/// to memlock (the process has `CAP_IPC_LOCK`, or the limit is infinite).
pub fn available() -> Option<u64> {
    let limit = budget_limit()?;
    Some(limit.saturating_sub(charged()))
}

/// The soft `RLIMIT_MEMLOCK`, or `None` if unlimited.
pub fn memlock_limit() -> Option<u64> {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the rlimit we pass and nothing else.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut rl) };
    if rc != 0 || rl.rlim_cur == libc::RLIM_INFINITY {
        None
    } else {
        Some(rl.rlim_cur)
    }
}

/// Whether the process holds `CAP_IPC_LOCK` in its effective set.
pub fn has_cap_ipc_lock() -> bool {
    const CAP_IPC_LOCK: u32 = 14;
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_IPC_LOCK) != 0)
}

#[cfg(test)]
mod tests {
    use super::Ledger;

    #[test]
    fn try_charge_stays_within_the_limit() {
        let l = Ledger::new();
        l.charge(100);
        assert!(l.try_charge(50, Some(200)));
        assert!(!l.try_charge(51, Some(200)));
        assert_eq!(l.charged(), 150);
        assert!(l.try_charge(1 << 40, None));
        l.release(1 << 40);
        l.release(150);
        assert_eq!(l.charged(), 0);
    }
}

/// Rings on several cores grow at once: their reservations together never
/// pass the limit, and every release is seen.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::Ledger;
    use crate::sync::Arc;

    #[test]
    fn loom_concurrent_grows_never_pass_the_limit() {
        loom::model(|| {
            // Two rings of 10 charged; limit 50; each tries to grow by 20
            // (the new size is reserved while the old is still charged).
            let l = Arc::new(Ledger::new());
            l.charge(10);
            l.charge(10);
            let grow = |l: Arc<Ledger>| {
                move || {
                    if l.try_charge(20, Some(50)) {
                        assert!(l.charged() <= 50);
                        l.release(10); // the old rings go
                        true
                    } else {
                        false
                    }
                }
            };
            let a = loom::thread::spawn(grow(l.clone()));
            let b = loom::thread::spawn(grow(l.clone()));
            let (ga, gb) = (a.join().unwrap(), b.join().unwrap());
            // 10 + 10 + 20 fits, 10 + 10 + 20 + 20 does not — unless one
            // released its old ring first (then 10 + 20 + 20 = 50 fits).
            assert!(ga || gb);
            let want = 20 + if ga { 10 } else { 0 } + if gb { 10 } else { 0 };
            assert_eq!(l.charged(), want);
        });
    }
}
