//! [`Write`]: write an owned buffer at an offset.

use super::{usize_result, Completion, OpCode};
use crate::{buf::IoBuf, fd::SharedFd};
use io_uring::{opcode, squeue, types};
use std::io;

/// `IORING_OP_WRITE`: writes `buf`'s initialized bytes to `fd` at `offset`
/// (`u64::MAX`: the file position, for pipes and sockets).
#[derive(Debug)]
pub struct Write<B> {
    fd: SharedFd,
    buf: B,
    offset: u64,
}

impl<B: IoBuf> Write<B> {
    /// A write of `buf.bytes_init()` bytes to `fd` at `offset`.
    pub fn new(fd: &SharedFd, buf: B, offset: u64) -> Self {
        Write {
            fd: fd.clone(),
            buf,
            offset,
        }
    }
}

// SAFETY: the SQE points into `buf`, owned by the op and stable by the
// IoBuf contract; `fd` is kept open by the SharedFd clone.
unsafe impl<B: IoBuf> OpCode for Write<B> {
    type Output = (io::Result<usize>, B);
    const CODE: u8 = opcode::Write::CODE;

    fn build(&mut self) -> squeue::Entry {
        let len = self.buf.bytes_init().min(u32::MAX as usize) as u32;
        opcode::Write::new(types::Fd(self.fd.raw()), self.buf.stable_ptr(), len)
            .offset(self.offset)
            .build()
    }

    fn complete(self, cqe: Completion) -> Self::Output {
        (usize_result(cqe), self.buf)
    }
}
