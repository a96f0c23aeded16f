//! [`Fallocate`]: reserve or punch file space (`IORING_OP_FALLOCATE`).

use coring_runtime::{
    fd::SharedFd,
    io_uring::{opcode, squeue, types},
    op::{Completion, OpCode},
};
use std::io;

/// `fallocate(2)` through the ring.
#[derive(Debug)]
pub struct Fallocate {
    fd: SharedFd,
    offset: u64,
    len: u64,
    mode: i32,
}

impl Fallocate {
    /// `fallocate(fd, mode, offset, len)`.
    pub fn new(fd: &SharedFd, offset: u64, len: u64, mode: i32) -> Self {
        Fallocate {
            fd: fd.clone(),
            offset,
            len,
            mode,
        }
    }
}

// SAFETY: the SQE names only `fd`, kept open by the SharedFd clone.
unsafe impl OpCode for Fallocate {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::Fallocate::CODE;

    fn build(&mut self) -> squeue::Entry {
        opcode::Fallocate::new(types::Fd(self.fd.raw()), self.len)
            .offset(self.offset)
            .mode(self.mode)
            .build()
    }

    fn complete(self, cqe: Completion) -> io::Result<()> {
        cqe.result().map(drop)
    }
}
