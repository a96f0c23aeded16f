//! [`SendVectored`]: `IORING_OP_SENDMSG` gathering several owned buffers
//! (`MSG_NOSIGNAL`), for stream `writev`.

use coring_runtime::{
    buf::IoBuf,
    fd::SharedFd,
    io_uring::{opcode, squeue, types},
    op::{Completion, OpCode},
};
use std::io;

/// Sends the initialized bytes of `bufs`, in order.
pub(crate) struct SendVectored<B> {
    fd: SharedFd,
    bufs: Vec<B>,
    iovecs: Vec<libc::iovec>,
    hdr: Box<libc::msghdr>,
}

impl<B: IoBuf> SendVectored<B> {
    pub(crate) fn new(fd: &SharedFd, bufs: Vec<B>) -> Self {
        SendVectored {
            fd: fd.clone(),
            bufs,
            iovecs: Vec::new(),
            // SAFETY: an all-zero msghdr is valid (null pointers, zero
            // lengths); build() fills it in.
            hdr: Box::new(unsafe { std::mem::zeroed() }),
        }
    }
}

// SAFETY: the SQE points at the boxed msghdr, which points at `iovecs` (a
// heap Vec not resized after build), whose entries point into `bufs`; all
// owned by the op and stable. The fd is kept open by the SharedFd clone.
unsafe impl<B: IoBuf> OpCode for SendVectored<B> {
    type Output = (io::Result<usize>, Vec<B>);
    const CODE: u8 = opcode::SendMsg::CODE;

    fn build(&mut self) -> squeue::Entry {
        self.iovecs = coring_runtime::buf::iovecs_init(&self.bufs);
        self.hdr.msg_iov = self.iovecs.as_mut_ptr();
        self.hdr.msg_iovlen = self.iovecs.len() as _;
        opcode::SendMsg::new(types::Fd(self.fd.raw()), &*self.hdr)
            .flags(libc::MSG_NOSIGNAL as u32)
            .build()
    }

    fn complete(self, cqe: Completion) -> Self::Output {
        (cqe.result().map(|n| n as usize), self.bufs)
    }
}
