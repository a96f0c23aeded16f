//! [`LinkAt`]: create a hard link (`IORING_OP_LINKAT`).

use coring_runtime::{
    io_uring::{opcode, squeue, types},
    op::{Completion, OpCode},
};
use std::{ffi::CString, io};

/// `linkat(AT_FDCWD, original, AT_FDCWD, link, 0)` through the ring.
#[derive(Debug)]
pub struct LinkAt {
    original: CString,
    link: CString,
}

impl LinkAt {
    /// Makes `link` a new name for `original` (symlinks are not followed).
    pub fn new(original: CString, link: CString) -> Self {
        LinkAt { original, link }
    }
}

// SAFETY: the SQE points at both CStrings' heap bytes, owned by the op.
unsafe impl OpCode for LinkAt {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::LinkAt::CODE;

    fn build(&mut self) -> squeue::Entry {
        let cwd = types::Fd(libc::AT_FDCWD);
        opcode::LinkAt::new(cwd, self.original.as_ptr(), cwd, self.link.as_ptr()).build()
    }

    fn complete(self, cqe: Completion) -> io::Result<()> {
        cqe.result().map(drop)
    }
}
