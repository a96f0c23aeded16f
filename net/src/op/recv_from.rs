//! [`RecvFrom`]: `IORING_OP_RECVMSG` into one owned buffer, with the
//! sender's address, for datagram `recv_from`.

use coring_runtime::{
    buf::IoBufMut,
    fd::SharedFd,
    io_uring::{opcode, squeue, types},
    op::{Completion, OpCode},
};
use socket2::{SockAddr, SockAddrStorage};
use std::io;

/// The message header and what it points at, kept together on the heap.
struct Msg {
    hdr: libc::msghdr,
    iov: libc::iovec,
    addr: SockAddrStorage,
}

/// Receives one datagram into the start of `buf` and its source address.
pub(crate) struct RecvFrom<B> {
    fd: SharedFd,
    buf: B,
    msg: Box<Msg>,
}

impl<B: IoBufMut> RecvFrom<B> {
    pub(crate) fn new(fd: &SharedFd, buf: B) -> Self {
        // SAFETY: an all-zero msghdr/iovec is valid (null pointers, zero
        // lengths); build() fills them in.
        let (hdr, iov) = unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
        RecvFrom {
            fd: fd.clone(),
            buf,
            msg: Box::new(Msg {
                hdr,
                iov,
                addr: SockAddrStorage::zeroed(),
            }),
        }
    }
}

// SAFETY: the SQE points at the boxed msghdr, whose iovec and name point
// into the same box and into `buf` (writable, stable by IoBufMut); all
// owned by the op. The fd is kept open by the SharedFd clone.
unsafe impl<B: IoBufMut> OpCode for RecvFrom<B> {
    type Output = (io::Result<(usize, SockAddr)>, B);
    const CODE: u8 = opcode::RecvMsg::CODE;

    fn build(&mut self) -> squeue::Entry {
        let msg = &mut *self.msg;
        msg.iov.iov_base = self.buf.stable_mut_ptr().cast();
        msg.iov.iov_len = self.buf.bytes_total();
        msg.hdr.msg_iov = &mut msg.iov;
        msg.hdr.msg_iovlen = 1;
        msg.hdr.msg_name = (&mut msg.addr as *mut SockAddrStorage).cast();
        msg.hdr.msg_namelen = msg.addr.size_of();
        opcode::RecvMsg::new(types::Fd(self.fd.raw()), &mut msg.hdr).build()
    }

    fn complete(mut self, cqe: Completion) -> Self::Output {
        let res = cqe.result().map(|n| {
            let n = n as usize;
            // SAFETY: the kernel wrote n bytes at the start of the buffer.
            unsafe { self.buf.set_init(n) };
            let msg = *self.msg;
            // SAFETY: the kernel wrote msg_namelen bytes of the address.
            let addr = unsafe { SockAddr::new(msg.addr, msg.hdr.msg_namelen) };
            (n, addr)
        });
        (res, self.buf)
    }
}
