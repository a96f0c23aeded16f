//! [`Ftruncate`]: set a file's length (`IORING_OP_FTRUNCATE`, Linux 6.9).

use coring_runtime::{
    fd::SharedFd,
    io_uring::{opcode, squeue, types},
    op::{Completion, OpCode},
};
use std::io;

/// `ftruncate(2)` through the ring. On kernels before 6.9 the op fails
/// with `ErrorKind::Unsupported` (from the runtime's probe);
/// [`File::set_len`](crate::File::set_len) then falls back to the blocking
/// pool.
#[derive(Debug)]
pub struct Ftruncate {
    fd: SharedFd,
    len: u64,
}

impl Ftruncate {
    /// Truncates or extends `fd` to `len` bytes.
    pub fn new(fd: &SharedFd, len: u64) -> Self {
        Ftruncate {
            fd: fd.clone(),
            len,
        }
    }
}

// SAFETY: the SQE names only `fd`, kept open by the SharedFd clone.
unsafe impl OpCode for Ftruncate {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::Ftruncate::CODE;

    fn build(&mut self) -> squeue::Entry {
        opcode::Ftruncate::new(types::Fd(self.fd.raw()), self.len).build()
    }

    fn complete(self, cqe: Completion) -> io::Result<()> {
        cqe.result().map(drop)
    }
}
