//! [`Readv`]: scatter read into several owned buffers.

use super::{usize_result, Completion, OpCode};
use crate::{buf::IoBufMut, fd::SharedFd};
use io_uring::{opcode, squeue, types};
use std::io;

/// `IORING_OP_READV`: fills `bufs` in order, from `offset` (`u64::MAX`: the
/// file position).
#[derive(Debug)]
pub struct Readv<B> {
    fd: SharedFd,
    bufs: Vec<B>,
    iovecs: Vec<libc::iovec>,
    offset: u64,
}

impl<B: IoBufMut> Readv<B> {
    /// A vectored read into `bufs`.
    pub fn new(fd: &SharedFd, bufs: Vec<B>, offset: u64) -> Self {
        Readv {
            fd: fd.clone(),
            bufs,
            iovecs: Vec::new(),
            offset,
        }
    }
}

// SAFETY: the SQE points at `iovecs` (a heap Vec the op owns, not resized
// after build) whose entries point into `bufs`, owned and stable.
unsafe impl<B: IoBufMut> OpCode for Readv<B> {
    type Output = (io::Result<usize>, Vec<B>);
    const CODE: u8 = opcode::Readv::CODE;

    fn build(&mut self) -> squeue::Entry {
        self.iovecs = crate::buf::iovecs_total(&mut self.bufs);
        opcode::Readv::new(
            types::Fd(self.fd.raw()),
            self.iovecs.as_ptr(),
            self.iovecs.len() as u32,
        )
        .offset(self.offset)
        .build()
    }

    fn complete(mut self, cqe: Completion) -> Self::Output {
        let res = usize_result(cqe);
        if let Ok(mut n) = res {
            for b in &mut self.bufs {
                let filled = n.min(b.bytes_total());
                // SAFETY: the kernel filled the buffers in order; this one
                // got its first `filled` bytes.
                unsafe { b.set_init(filled) };
                n -= filled;
            }
        }
        (res, self.bufs)
    }
}
