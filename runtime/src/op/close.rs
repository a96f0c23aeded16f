//! [`Close`]: close an fd through the ring, and [`SharedFd::close`] built on it.

use super::{Completion, Op, OpCode};
use crate::fd::SharedFd;
use io_uring::{opcode, squeue, types};
use std::{
    io,
    os::fd::{AsRawFd, IntoRawFd, OwnedFd},
};

/// `IORING_OP_CLOSE`: takes ownership of the fd and closes it.
///
/// The fd stays owned here until the kernel reports the close: an op
/// that never reached the kernel (refused at submit, or pushed after
/// shutdown) closes the fd with `close(2)` instead of leaking
/// it. Dropping the future does not cancel the close; it finishes in the
/// background.
#[derive(Debug)]
pub struct Close {
    fd: Option<OwnedFd>,
}

impl Close {
    /// Closes `fd`.
    pub fn new(fd: OwnedFd) -> Self {
        Close { fd: Some(fd) }
    }

    /// Settles who closes the fd after the op's completion. The kernel
    /// closed it, unless the op never reached the kernel or was cancelled
    /// before it ran (`ECANCELED`: shutdown's cancel-all can catch a close
    /// of a file with a `flush` method, which io_uring runs in a worker
    /// thread) — then the fd is still open and is closed here.
    fn disown(&mut self, cqe: &Completion) -> io::Result<()> {
        let Some(fd) = self.fd.take() else {
            return Ok(());
        };
        let cancelled = cqe.raw_result() == -libc::ECANCELED;
        if cqe.reached_kernel() && !cancelled {
            // Any other error (an I/O error from the flush, say) comes after
            // the kernel removed the fd, as with close(2).
            let _ = fd.into_raw_fd();
            return cqe.result().map(drop);
        }
        let raw = fd.into_raw_fd();
        // SAFETY: we own `raw` (just released from its OwnedFd) and the
        // kernel never saw this close.
        if unsafe { libc::close(raw) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

// SAFETY: the SQE refers to no memory; the fd is ours to close, and it is
// not closed again here once the kernel took it.
unsafe impl OpCode for Close {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::Close::CODE;
    /// A cancelled close leaves the fd open: a dropped close finishes.
    const CANCEL_ON_DROP: bool = false;

    fn build(&mut self) -> squeue::Entry {
        let fd = self.fd.as_ref().map_or(-1, |fd| fd.as_raw_fd());
        opcode::Close::new(types::Fd(fd)).build()
    }

    fn complete(mut self, cqe: Completion) -> io::Result<()> {
        self.disown(&cqe)
    }

    fn complete_orphan(mut self, cqe: Completion) {
        let _ = self.disown(&cqe);
    }
}

impl SharedFd {
    /// Closes the fd through the ring and reports the result. If ops still
    /// hold the fd, it is closed when the last of them finishes and this
    /// returns `Ok(())` at once.
    pub async fn close(self) -> io::Result<()> {
        match self.try_unwrap() {
            Ok(fd) => Op::new(Close::new(fd)).await,
            Err(_still_shared) => Ok(()),
        }
    }
}
