//! [`Read`]: read into an owned buffer at an offset.

use super::{usize_result, Completion, OpCode};
use crate::{buf::IoBufMut, fd::SharedFd};
use io_uring::{opcode, squeue, types};
use std::io;

/// `IORING_OP_READ`: reads into `buf` from its start
/// (`bytes_total` bytes at most) at `offset` (`u64::MAX`: the file
/// position, for pipes and sockets).
#[derive(Debug)]
pub struct Read<B> {
    fd: SharedFd,
    buf: B,
    offset: u64,
}

impl<B: IoBufMut> Read<B> {
    /// A read of up to `buf.bytes_total()` bytes from `fd` at `offset`.
    pub fn new(fd: &SharedFd, buf: B, offset: u64) -> Self {
        Read {
            fd: fd.clone(),
            buf,
            offset,
        }
    }
}

// SAFETY: the SQE points into `buf`, which the op owns and whose memory is
// stable by the IoBufMut contract; `fd` is kept open by the SharedFd clone.
unsafe impl<B: IoBufMut> OpCode for Read<B> {
    type Output = (io::Result<usize>, B);
    const CODE: u8 = opcode::Read::CODE;

    fn build(&mut self) -> squeue::Entry {
        let len = self.buf.bytes_total().min(u32::MAX as usize) as u32;
        opcode::Read::new(types::Fd(self.fd.raw()), self.buf.stable_mut_ptr(), len)
            .offset(self.offset)
            .build()
    }

    fn complete(mut self, cqe: Completion) -> Self::Output {
        let res = usize_result(cqe);
        if let Ok(n) = res {
            // SAFETY: the kernel wrote n bytes at the start of the buffer.
            unsafe { self.buf.set_init(n) };
        }
        (res, self.buf)
    }
}
