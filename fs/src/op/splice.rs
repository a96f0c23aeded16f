//! [`Splice`]: move bytes between an fd and a pipe in the kernel
//! (`IORING_OP_SPLICE`).

use coring_runtime::{
    fd::SharedFd,
    io_uring::{opcode, squeue, types},
    op::{Completion, OpCode},
};
use std::io;

/// `splice(2)` through the ring. One side must be a pipe; an offset of
/// `None` means "no offset" (required for the pipe side, and for sockets).
/// The kernel always runs it on an io-wq worker thread.
#[derive(Debug)]
pub struct Splice {
    fd_in: SharedFd,
    off_in: i64,
    fd_out: SharedFd,
    off_out: i64,
    len: u32,
    flags: u32,
}

impl Splice {
    /// Moves up to `len` bytes from `fd_in` (at `off_in`) to `fd_out`
    /// (at `off_out`). Offsets above `i64::MAX` are clamped.
    pub fn new(
        fd_in: &SharedFd,
        off_in: Option<u64>,
        fd_out: &SharedFd,
        off_out: Option<u64>,
        len: u32,
        flags: u32,
    ) -> Self {
        let off = |o: Option<u64>| o.map_or(-1, |o| o.min(i64::MAX as u64) as i64);
        Splice {
            fd_in: fd_in.clone(),
            off_in: off(off_in),
            fd_out: fd_out.clone(),
            off_out: off(off_out),
            len,
            flags,
        }
    }
}

// SAFETY: the SQE names only the two fds, kept open by the SharedFd clones;
// it points at no memory.
unsafe impl OpCode for Splice {
    type Output = io::Result<usize>;
    const CODE: u8 = opcode::Splice::CODE;

    fn build(&mut self) -> squeue::Entry {
        opcode::Splice::new(
            types::Fd(self.fd_in.raw()),
            self.off_in,
            types::Fd(self.fd_out.raw()),
            self.off_out,
            self.len,
        )
        .flags(self.flags)
        .build()
    }

    fn complete(self, cqe: Completion) -> io::Result<usize> {
        cqe.result().map(|n| n as usize)
    }
}
