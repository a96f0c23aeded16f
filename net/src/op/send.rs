//! [`Send`]: `IORING_OP_SEND` from an owned buffer, with `MSG_NOSIGNAL`.

use coring_runtime::{
    buf::IoBuf,
    fd::SharedFd,
    io_uring::{opcode, squeue, types},
    op::{Completion, OpCode},
};
use std::io;

/// Sends the initialized bytes of `buf` (a short send is possible).
pub(crate) struct Send<B> {
    fd: SharedFd,
    buf: B,
}

impl<B: IoBuf> Send<B> {
    pub(crate) fn new(fd: &SharedFd, buf: B) -> Self {
        Send {
            fd: fd.clone(),
            buf,
        }
    }
}

// SAFETY: the SQE points into `buf`, owned by the op and stable by the
// IoBuf contract; the fd is kept open by the SharedFd clone.
unsafe impl<B: IoBuf> OpCode for Send<B> {
    type Output = (io::Result<usize>, B);
    const CODE: u8 = opcode::Send::CODE;

    fn build(&mut self) -> squeue::Entry {
        let len = self.buf.bytes_init().min(u32::MAX as usize) as u32;
        opcode::Send::new(types::Fd(self.fd.raw()), self.buf.stable_ptr(), len)
            .flags(libc::MSG_NOSIGNAL)
            .build()
    }

    fn complete(self, cqe: Completion) -> Self::Output {
        (cqe.result().map(|n| n as usize), self.buf)
    }
}
