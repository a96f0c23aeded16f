//! [`CancelFd`]: cancel every op in flight on one fd.
//!
//! Dropping an op future already cancels that op; this is for cancelling
//! ops that other tasks own, e.g. before shutting a socket down.

use super::{Completion, OpCode};
use crate::fd::SharedFd;
use io_uring::{opcode, squeue, types};
use std::io;

/// `IORING_OP_ASYNC_CANCEL` with `IORING_ASYNC_CANCEL_FD | ALL` (5.19).
#[derive(Debug)]
pub struct CancelFd {
    fd: SharedFd,
}

impl CancelFd {
    /// Cancels all ops on `fd`.
    pub fn new(fd: &SharedFd) -> Self {
        CancelFd { fd: fd.clone() }
    }
}

// SAFETY: the SQE names `fd`, kept open by the SharedFd clone; no memory.
unsafe impl OpCode for CancelFd {
    /// The number of ops cancelled.
    type Output = io::Result<usize>;
    const CODE: u8 = opcode::AsyncCancel2::CODE;

    fn build(&mut self) -> squeue::Entry {
        let b = types::CancelBuilder::fd(types::Fd(self.fd.raw())).all();
        opcode::AsyncCancel2::new(b).build()
    }

    fn complete(self, cqe: Completion) -> io::Result<usize> {
        match cqe.result() {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(0),
            r => r.map(|n| n as usize),
        }
    }
}
