//! [`RenameAt`]: rename a path (`IORING_OP_RENAMEAT`).

use coring_runtime::{
    io_uring::{opcode, squeue, types},
    op::{Completion, OpCode},
};
use std::{ffi::CString, io};

/// `renameat2(AT_FDCWD, from, AT_FDCWD, to, 0)` through the ring.
#[derive(Debug)]
pub struct RenameAt {
    from: CString,
    to: CString,
}

impl RenameAt {
    /// Renames `from` to `to`, replacing `to` if it exists.
    pub fn new(from: CString, to: CString) -> Self {
        RenameAt { from, to }
    }
}

// SAFETY: the SQE points at both CStrings' heap bytes, owned by the op.
unsafe impl OpCode for RenameAt {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::RenameAt::CODE;

    fn build(&mut self) -> squeue::Entry {
        let cwd = types::Fd(libc::AT_FDCWD);
        opcode::RenameAt::new(cwd, self.from.as_ptr(), cwd, self.to.as_ptr()).build()
    }

    fn complete(self, cqe: Completion) -> io::Result<()> {
        cqe.result().map(drop)
    }
}
