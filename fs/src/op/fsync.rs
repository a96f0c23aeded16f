//! [`Fsync`]: flush a file's data (and metadata) to storage (`IORING_OP_FSYNC`).

use coring_runtime::{
    fd::SharedFd,
    io_uring::{opcode, squeue, types},
    op::{Completion, OpCode},
};
use std::io;

/// `fsync(2)` / `fdatasync(2)` through the ring.
#[derive(Debug)]
pub struct Fsync {
    fd: SharedFd,
    data_only: bool,
}

impl Fsync {
    /// Syncs `fd`; `data_only` gives `fdatasync` semantics.
    pub fn new(fd: &SharedFd, data_only: bool) -> Self {
        Fsync {
            fd: fd.clone(),
            data_only,
        }
    }
}

// SAFETY: the SQE names only `fd`, kept open by the SharedFd clone.
unsafe impl OpCode for Fsync {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::Fsync::CODE;

    fn build(&mut self) -> squeue::Entry {
        let flags = if self.data_only {
            types::FsyncFlags::DATASYNC
        } else {
            types::FsyncFlags::empty()
        };
        opcode::Fsync::new(types::Fd(self.fd.raw()))
            .flags(flags)
            .build()
    }

    fn complete(self, cqe: Completion) -> io::Result<()> {
        cqe.result().map(drop)
    }
}
