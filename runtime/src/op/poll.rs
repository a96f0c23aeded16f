//! [`PollAdd`]: wait until an fd is ready (`IORING_OP_POLL_ADD`).

use super::{Completion, OpCode};
use crate::fd::SharedFd;
use io_uring::{opcode, squeue, types};
use std::io;

/// One-shot poll for `events` (`libc::POLLIN`, `POLLOUT`, ...).
#[derive(Debug)]
pub struct PollAdd {
    fd: SharedFd,
    events: u32,
}

impl PollAdd {
    /// Waits for any of `events` on `fd`.
    pub fn new(fd: &SharedFd, events: u32) -> Self {
        PollAdd {
            fd: fd.clone(),
            events,
        }
    }
}

// SAFETY: the SQE names `fd`, kept open by the SharedFd clone; no memory.
unsafe impl OpCode for PollAdd {
    /// The events that are ready.
    type Output = io::Result<u32>;
    const CODE: u8 = opcode::PollAdd::CODE;

    fn build(&mut self) -> squeue::Entry {
        opcode::PollAdd::new(types::Fd(self.fd.raw()), self.events).build()
    }

    fn complete(self, cqe: Completion) -> io::Result<u32> {
        cqe.result()
    }
}
