//! [`SymlinkAt`]: create a symbolic link (`IORING_OP_SYMLINKAT`).

use coring_runtime::{
    io_uring::{opcode, squeue, types},
    op::{Completion, OpCode},
};
use std::{ffi::CString, io};

/// `symlinkat(target, AT_FDCWD, link)` through the ring.
#[derive(Debug)]
pub struct SymlinkAt {
    target: CString,
    link: CString,
}

impl SymlinkAt {
    /// Makes `link` a symlink whose content is `target`.
    pub fn new(target: CString, link: CString) -> Self {
        SymlinkAt { target, link }
    }
}

// SAFETY: the SQE points at both CStrings' heap bytes, owned by the op.
unsafe impl OpCode for SymlinkAt {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::SymlinkAt::CODE;

    fn build(&mut self) -> squeue::Entry {
        opcode::SymlinkAt::new(
            types::Fd(libc::AT_FDCWD),
            self.target.as_ptr(),
            self.link.as_ptr(),
        )
        .build()
    }

    fn complete(self, cqe: Completion) -> io::Result<()> {
        cqe.result().map(drop)
    }
}
