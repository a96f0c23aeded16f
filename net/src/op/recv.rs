//! [`Recv`]: single-shot `IORING_OP_RECV` into an owned buffer (optionally
//! `MSG_PEEK`).

use coring_runtime::{
    buf::IoBufMut,
    fd::SharedFd,
    io_uring::{opcode, squeue, types},
    op::{Completion, OpCode},
};
use std::io;

/// Receives up to `buf.bytes_total()` bytes into the start of `buf`.
pub(crate) struct Recv<B> {
    fd: SharedFd,
    buf: B,
    flags: i32,
}

impl<B: IoBufMut> Recv<B> {
    pub(crate) fn new(fd: &SharedFd, buf: B) -> Self {
        Recv {
            fd: fd.clone(),
            buf,
            flags: 0,
        }
    }

    /// A receive with `MSG_PEEK`: the bytes stay in the socket.
    pub(crate) fn peek(fd: &SharedFd, buf: B) -> Self {
        Recv {
            flags: libc::MSG_PEEK,
            ..Recv::new(fd, buf)
        }
    }
}

// SAFETY: the SQE points into `buf`, owned by the op, writable and stable
// by the IoBufMut contract; the fd is kept open by the SharedFd clone.
unsafe impl<B: IoBufMut> OpCode for Recv<B> {
    type Output = (io::Result<usize>, B);
    const CODE: u8 = opcode::Recv::CODE;

    fn build(&mut self) -> squeue::Entry {
        let len = self.buf.bytes_total().min(u32::MAX as usize) as u32;
        opcode::Recv::new(types::Fd(self.fd.raw()), self.buf.stable_mut_ptr(), len)
            .flags(self.flags)
            .build()
    }

    fn complete(mut self, cqe: Completion) -> Self::Output {
        let res = cqe.result().map(|n| n as usize);
        if let Ok(n) = res {
            // SAFETY: the kernel wrote n bytes at the start of the buffer.
            unsafe { self.buf.set_init(n) };
        }
        (res, self.buf)
    }
}
