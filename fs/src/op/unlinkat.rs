//! [`UnlinkAt`]: remove a file or an empty directory (`IORING_OP_UNLINKAT`).

use coring_runtime::{
    io_uring::{opcode, squeue, types},
    op::{Completion, OpCode},
};
use std::{ffi::CString, io};

/// `unlinkat(AT_FDCWD, path, flags)` through the ring.
#[derive(Debug)]
pub struct UnlinkAt {
    path: CString,
    flags: i32,
}

impl UnlinkAt {
    /// Removes `path`; `dir` selects `AT_REMOVEDIR` (an empty directory).
    pub fn new(path: CString, dir: bool) -> Self {
        let flags = if dir { libc::AT_REMOVEDIR } else { 0 };
        UnlinkAt { path, flags }
    }
}

// SAFETY: the SQE points at the CString's heap bytes, owned by the op.
unsafe impl OpCode for UnlinkAt {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::UnlinkAt::CODE;

    fn build(&mut self) -> squeue::Entry {
        opcode::UnlinkAt::new(types::Fd(libc::AT_FDCWD), self.path.as_ptr())
            .flags(self.flags)
            .build()
    }

    fn complete(self, cqe: Completion) -> io::Result<()> {
        cqe.result().map(drop)
    }
}
