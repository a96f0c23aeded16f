//! [`Connect`]: `IORING_OP_CONNECT` to an address.

use coring_runtime::{
    fd::SharedFd,
    io_uring::{opcode, squeue, types},
    op::{Completion, OpCode},
};
use socket2::SockAddr;
use std::io;

/// Connects a socket to `addr`.
pub(crate) struct Connect {
    fd: SharedFd,
    addr: Box<SockAddr>,
}

impl Connect {
    pub(crate) fn new(fd: &SharedFd, addr: SockAddr) -> Self {
        Connect {
            fd: fd.clone(),
            addr: Box::new(addr),
        }
    }
}

// SAFETY: the SQE points at the boxed address, owned by the op and stable
// on the heap; the fd is kept open by the SharedFd clone.
unsafe impl OpCode for Connect {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::Connect::CODE;

    fn build(&mut self) -> squeue::Entry {
        opcode::Connect::new(
            types::Fd(self.fd.raw()),
            self.addr.as_ptr().cast(),
            self.addr.len(),
        )
        .build()
    }

    fn complete(self, cqe: Completion) -> io::Result<()> {
        cqe.result().map(drop)
    }
}
