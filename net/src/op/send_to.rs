//! [`SendTo`]: `IORING_OP_SENDMSG` of one owned buffer to an address
//! (`MSG_NOSIGNAL`), for datagram `send_to`.

use coring_runtime::{
    buf::IoBuf,
    fd::SharedFd,
    io_uring::{opcode, squeue, types},
    op::{Completion, OpCode},
};
use socket2::SockAddr;
use std::io;

/// The message header and what it points at, kept together on the heap.
struct Msg {
    hdr: libc::msghdr,
    iov: libc::iovec,
    addr: SockAddr,
}

/// Sends the initialized bytes of `buf` to `addr`.
pub(crate) struct SendTo<B> {
    fd: SharedFd,
    buf: B,
    msg: Box<Msg>,
}

impl<B: IoBuf> SendTo<B> {
    pub(crate) fn new(fd: &SharedFd, buf: B, addr: SockAddr) -> Self {
        // SAFETY: an all-zero msghdr/iovec is valid (null pointers, zero
        // lengths); build() fills them in.
        let (hdr, iov) = unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
        SendTo {
            fd: fd.clone(),
            buf,
            msg: Box::new(Msg { hdr, iov, addr }),
        }
    }
}

// SAFETY: the SQE points at the boxed msghdr, whose iovec and name point
// into the same box and into `buf`; all are owned by the op and stable on
// the heap. The fd is kept open by the SharedFd clone.
unsafe impl<B: IoBuf> OpCode for SendTo<B> {
    type Output = (io::Result<usize>, B);
    const CODE: u8 = opcode::SendMsg::CODE;

    fn build(&mut self) -> squeue::Entry {
        let msg = &mut *self.msg;
        msg.iov.iov_base = self.buf.stable_ptr() as *mut _;
        msg.iov.iov_len = self.buf.bytes_init();
        msg.hdr.msg_iov = &mut msg.iov;
        msg.hdr.msg_iovlen = 1;
        msg.hdr.msg_name = msg.addr.as_ptr() as *mut _;
        msg.hdr.msg_namelen = msg.addr.len();
        opcode::SendMsg::new(types::Fd(self.fd.raw()), &msg.hdr)
            .flags(libc::MSG_NOSIGNAL as u32)
            .build()
    }

    fn complete(self, cqe: Completion) -> Self::Output {
        (cqe.result().map(|n| n as usize), self.buf)
    }
}
