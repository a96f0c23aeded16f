//! [`Close`]: close an fd through the ring.

use super::{Completion, OpCode};
use io_uring::{opcode, squeue, types};
use std::{
    io,
    os::fd::{IntoRawFd, OwnedFd, RawFd},
};

/// `IORING_OP_CLOSE`: takes ownership of the fd and closes it.
pub struct Close {
    fd: RawFd,
}

impl Close {
    /// Closes `fd`.
    pub fn new(fd: OwnedFd) -> Self {
        Close {
            fd: fd.into_raw_fd(),
        }
    }
}

// SAFETY: the SQE refers to no memory; the fd is ours to close.
unsafe impl OpCode for Close {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::Close::CODE;

    fn build(&mut self) -> squeue::Entry {
        opcode::Close::new(types::Fd(self.fd)).build()
    }

    fn complete(self, cqe: Completion) -> io::Result<()> {
        cqe.result().map(drop)
    }
}
