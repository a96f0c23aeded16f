//! [`Writev`]: gather write from several owned buffers.

use super::{usize_result, Completion, OpCode};
use crate::{buf::IoBuf, fd::SharedFd};
use io_uring::{opcode, squeue, types};
use std::io;

/// `IORING_OP_WRITEV`: writes the initialized bytes of `bufs` in order, at
/// `offset` (`u64::MAX`: the file position).
#[derive(Debug)]
pub struct Writev<B> {
    fd: SharedFd,
    bufs: Vec<B>,
    iovecs: Vec<libc::iovec>,
    offset: u64,
}

impl<B: IoBuf> Writev<B> {
    /// A vectored write of `bufs`.
    pub fn new(fd: &SharedFd, bufs: Vec<B>, offset: u64) -> Self {
        Writev {
            fd: fd.clone(),
            bufs,
            iovecs: Vec::new(),
            offset,
        }
    }
}

// SAFETY: the SQE points at `iovecs` (a heap Vec the op owns, not resized
// after build) whose entries point into `bufs`, owned and stable.
unsafe impl<B: IoBuf> OpCode for Writev<B> {
    type Output = (io::Result<usize>, Vec<B>);
    const CODE: u8 = opcode::Writev::CODE;

    fn build(&mut self) -> squeue::Entry {
        self.iovecs = crate::buf::iovecs_init(&self.bufs);
        opcode::Writev::new(
            types::Fd(self.fd.raw()),
            self.iovecs.as_ptr(),
            self.iovecs.len() as u32,
        )
        .offset(self.offset)
        .build()
    }

    fn complete(self, cqe: Completion) -> Self::Output {
        (usize_result(cqe), self.bufs)
    }
}
