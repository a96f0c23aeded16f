//! [`Shutdown`]: `IORING_OP_SHUTDOWN` of one or both directions.

use coring_runtime::{
    fd::SharedFd,
    io_uring::{opcode, squeue, types},
    op::{Completion, OpCode},
};
use std::{io, net};

/// Shuts down reading, writing or both.
pub(crate) struct Shutdown {
    fd: SharedFd,
    how: i32,
}

impl Shutdown {
    pub(crate) fn new(fd: &SharedFd, how: net::Shutdown) -> Self {
        let how = match how {
            net::Shutdown::Read => libc::SHUT_RD,
            net::Shutdown::Write => libc::SHUT_WR,
            net::Shutdown::Both => libc::SHUT_RDWR,
        };
        Shutdown {
            fd: fd.clone(),
            how,
        }
    }
}

// SAFETY: the SQE names only the fd, kept open by the SharedFd clone.
unsafe impl OpCode for Shutdown {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::Shutdown::CODE;

    fn build(&mut self) -> squeue::Entry {
        opcode::Shutdown::new(types::Fd(self.fd.raw()), self.how).build()
    }

    fn complete(self, cqe: Completion) -> io::Result<()> {
        cqe.result().map(drop)
    }
}
