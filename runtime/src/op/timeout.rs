//! [`Timeout`]: a kernel timer (`IORING_OP_TIMEOUT`).
//!
//! The runtime's own `sleep` does not use this (it keeps timers in user
//! space and bounds each park instead); this op is for callers who want a
//! kernel-side timeout, e.g. one linked to another op.

use super::{Completion, OpCode};
use io_uring::{opcode, squeue, types};
use std::{
    io,
    time::{Duration, Instant},
};

/// `IORING_OP_TIMEOUT`: completes after `duration`.
#[derive(Debug)]
pub struct Timeout {
    ts: Box<types::Timespec>,
}

impl Timeout {
    /// A timer of `duration`. A duration too long for an `Instant` (such as
    /// `Duration::MAX`) is clamped to ~30 years, as
    /// [`sleep`](crate::time::sleep) does, rather than being rejected by the
    /// kernel.
    pub fn new(duration: Duration) -> Self {
        let duration = clamp_duration(Instant::now(), duration);
        Timeout {
            ts: Box::new(types::Timespec::from(duration)),
        }
    }
}

// SAFETY: the SQE points at the boxed timespec, owned by the op.
unsafe impl OpCode for Timeout {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::Timeout::CODE;

    fn build(&mut self) -> squeue::Entry {
        opcode::Timeout::new(&*self.ts).build()
    }

    /// `Ok(())` when the timer fired (the kernel's `ETIME`).
    fn complete(self, cqe: Completion) -> io::Result<()> {
        match cqe.result() {
            Err(e) if e.raw_os_error() == Some(libc::ETIME) => Ok(()),
            Err(e) => Err(e),
            Ok(_) => Ok(()),
        }
    }
}

/// About 30 years: the deadline used for durations too long for `Instant`.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// The one rule for huge durations: `duration` if `from + duration` fits in
/// an `Instant`, else ~30 years (`FAR_FUTURE`). Used by [`Timeout`] and by
/// [`sleep`](crate::time::sleep); the kernel timer op's timespec must
/// have seconds that fit in `i64` (an `Instant` always does).
///
/// (Kept here, in the op layer, so `time` builds on it rather than the
/// other way round.)
pub(crate) fn clamp_duration(from: Instant, duration: Duration) -> Duration {
    if from.checked_add(duration).is_some() {
        duration
    } else if from.checked_add(FAR_FUTURE).is_some() {
        FAR_FUTURE
    } else {
        Duration::ZERO
    }
}
