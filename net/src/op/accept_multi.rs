//! [`AcceptMulti`]: multishot `IORING_OP_ACCEPT`, one CQE per connection.

use coring_runtime::{
    fd::SharedFd,
    io_uring::{opcode, squeue, types},
    op::{Completion, MultishotCode},
};
use std::{
    io,
    os::fd::{FromRawFd, OwnedFd},
};

/// Accepts connections until cancelled or an error ends it
/// (`SOCK_CLOEXEC | SOCK_NONBLOCK`). Connections accepted after the stream was dropped
/// are closed.
pub(crate) struct AcceptMulti {
    fd: SharedFd,
}

impl AcceptMulti {
    pub(crate) fn new(fd: &SharedFd) -> Self {
        AcceptMulti { fd: fd.clone() }
    }
}

// SAFETY: the SQE names only the fd, kept open by the SharedFd clone.
unsafe impl MultishotCode for AcceptMulti {
    type Item = io::Result<OwnedFd>;
    const CODE: u8 = opcode::AcceptMulti::CODE;

    fn build(&mut self) -> squeue::Entry {
        opcode::AcceptMulti::new(types::Fd(self.fd.raw()))
            .flags(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK)
            .build()
    }

    fn item(&mut self, cqe: Completion) -> Self::Item {
        let fd = cqe.result()? as i32;
        // SAFETY: a successful accept returns a new fd owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    fn orphan_item(&mut self, cqe: Completion) {
        if let Ok(fd) = cqe.result() {
            // SAFETY: the fd was created for this op and nobody has seen it.
            drop(unsafe { OwnedFd::from_raw_fd(fd as i32) });
        }
    }
}
