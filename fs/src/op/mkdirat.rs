//! [`MkDirAt`]: create a directory (`IORING_OP_MKDIRAT`).

use coring_runtime::{
    io_uring::{opcode, squeue, types},
    op::{Completion, OpCode},
};
use std::{ffi::CString, io};

/// `mkdirat(AT_FDCWD, path, mode)` through the ring.
#[derive(Debug)]
pub struct MkDirAt {
    path: CString,
    mode: u32,
}

impl MkDirAt {
    /// Creates directory `path` with `mode` (before the umask).
    pub fn new(path: CString, mode: u32) -> Self {
        MkDirAt { path, mode }
    }
}

// SAFETY: the SQE points at the CString's heap bytes, owned by the op.
unsafe impl OpCode for MkDirAt {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::MkDirAt::CODE;

    fn build(&mut self) -> squeue::Entry {
        opcode::MkDirAt::new(types::Fd(libc::AT_FDCWD), self.path.as_ptr())
            .mode(self.mode)
            .build()
    }

    fn complete(self, cqe: Completion) -> io::Result<()> {
        cqe.result().map(drop)
    }
}
