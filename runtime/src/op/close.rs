//! [`Close`]: close an fd through the ring.

use super::{Completion, OpCode};
use io_uring::{opcode, squeue, types};
use std::{
    io,
    os::fd::{AsRawFd, IntoRawFd, OwnedFd},
};

/// `IORING_OP_CLOSE`: takes ownership of the fd and closes it.
///
/// The fd stays owned here until the kernel reports the close: an op
/// dropped before it reached the kernel (still in the driver's backlog,
/// or refused at submit) closes the fd with `close(2)` instead of leaking
/// it.
pub struct Close {
    fd: Option<OwnedFd>,
}

impl Close {
    /// Closes `fd`.
    pub fn new(fd: OwnedFd) -> Self {
        Close { fd: Some(fd) }
    }

    /// The kernel has the fd now (it closed it, or the close failed and
    /// the fd is gone anyway, as with `close(2)`): forget it.
    fn disown(&mut self, cqe: &Completion) -> io::Result<()> {
        let Some(fd) = self.fd.take() else {
            return Ok(());
        };
        if cqe.reached_kernel() {
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
