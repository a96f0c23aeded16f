//! [`Send`]: `IORING_OP_SEND` from an owned buffer, with `MSG_NOSIGNAL`
//! (and `MSG_WAITALL` for streams: io_uring then retries a short send
//! itself and completes once the whole buffer went out, or failed).

use super::{Completion, OpCode};
use crate::{buf::IoBuf, fd::SharedFd};
use io_uring::{opcode, squeue, types};
use std::io;

/// Sends the initialized bytes of `buf` (short only for datagrams, or
/// when an error cuts a stream send off).
#[derive(Debug)]
pub struct Send<B> {
    fd: SharedFd,
    buf: B,
    flags: i32,
}

impl<B: IoBuf> Send<B> {
    /// A send on a stream socket: all of `buf` or an error.
    pub fn stream(fd: &SharedFd, buf: B) -> Self {
        Send {
            fd: fd.clone(),
            buf,
            flags: libc::MSG_NOSIGNAL | libc::MSG_WAITALL,
        }
    }

    /// A stream send (as [`stream`](Send::stream)) with `MSG_MORE`: more
    /// data follows at once, so TCP holds a partial segment back for it
    /// (even with `TCP_NODELAY`) until a send without `MSG_MORE`.
    pub fn stream_more(fd: &SharedFd, buf: B) -> Self {
        Send {
            fd: fd.clone(),
            buf,
            flags: libc::MSG_NOSIGNAL | libc::MSG_WAITALL | libc::MSG_MORE,
        }
    }

    /// A send of one datagram.
    pub fn datagram(fd: &SharedFd, buf: B) -> Self {
        Send {
            fd: fd.clone(),
            buf,
            flags: libc::MSG_NOSIGNAL,
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
            .flags(self.flags)
            .build()
    }

    fn complete(self, cqe: Completion) -> Self::Output {
        (cqe.result().map(|n| n as usize), self.buf)
    }
}
