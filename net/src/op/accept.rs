//! [`Accept`]: one `IORING_OP_ACCEPT`, with the peer's address.

use coring_runtime::{
    fd::SharedFd,
    io_uring::{opcode, squeue, types},
    op::{Completion, OpCode},
};
use socket2::{SockAddr, SockAddrStorage};
use std::{
    io,
    os::fd::{FromRawFd, OwnedFd},
};

/// Accepts one connection on a listening socket (`SOCK_CLOEXEC | SOCK_NONBLOCK`). A
/// connection accepted after the future was dropped is closed.
pub(crate) struct Accept {
    fd: SharedFd,
    addr: Box<(SockAddrStorage, libc::socklen_t)>,
}

impl Accept {
    pub(crate) fn new(fd: &SharedFd) -> Self {
        let storage = SockAddrStorage::zeroed();
        let len = storage.size_of();
        Accept {
            fd: fd.clone(),
            addr: Box::new((storage, len)),
        }
    }
}

// SAFETY: the SQE points at the boxed address storage and length, owned by
// the op and stable on the heap; the fd is kept open by the SharedFd clone.
unsafe impl OpCode for Accept {
    type Output = io::Result<(OwnedFd, SockAddr)>;
    const CODE: u8 = opcode::Accept::CODE;

    fn build(&mut self) -> squeue::Entry {
        let (storage, len) = &mut *self.addr;
        opcode::Accept::new(
            types::Fd(self.fd.raw()),
            (storage as *mut SockAddrStorage).cast(),
            len,
        )
        .flags(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK)
        .build()
    }

    fn complete(self, cqe: Completion) -> Self::Output {
        let fd = cqe.result()? as i32;
        // SAFETY: a successful accept returns a new fd owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let (storage, len) = *self.addr;
        // SAFETY: the kernel initialized `len` bytes of the storage.
        let addr = unsafe { SockAddr::new(storage, len) };
        Ok((fd, addr))
    }

    fn complete_orphan(self, cqe: Completion) {
        if let Ok(fd) = cqe.result() {
            // SAFETY: the fd was created for this op and nobody has seen it.
            drop(unsafe { OwnedFd::from_raw_fd(fd as i32) });
        }
    }
}
