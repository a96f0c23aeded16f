//! The `RLIMIT_MEMLOCK` budget for ring memory.
//!
//! Without `CAP_IPC_LOCK` the kernel charges ring pages to the *user's*
//! locked-memory count, shared by all of that user's processes, against
//! `RLIMIT_MEMLOCK`. coring cannot see what other processes have charged,
//! but it knows what its own live rings cost, so it can split the rest
//! between the rings it is about to create instead of letting the last
//! ones fail. `ENOMEM` fallback still covers what it cannot see.

use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes charged by this process's live coring rings.
static CHARGED: AtomicU64 = AtomicU64::new(0);

/// Records `bytes` as charged by a new ring; undone by [`release`].
pub(crate) fn charge(bytes: u64) {
    CHARGED.fetch_add(bytes, Ordering::Relaxed);
}

/// Undoes [`charge`] when a ring closes.
pub(crate) fn release(bytes: u64) {
    CHARGED.fetch_sub(bytes, Ordering::Relaxed);
}

/// What is left for new rings, or `None` when ring memory is not charged
/// to memlock (the process has `CAP_IPC_LOCK`, or the limit is infinite).
pub fn available() -> Option<u64> {
    if has_cap_ipc_lock() {
        return None;
    }
    let limit = memlock_limit()?;
    Some(limit.saturating_sub(CHARGED.load(Ordering::Relaxed)))
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
