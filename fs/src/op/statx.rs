//! [`Statx`]: file metadata (`IORING_OP_STATX`).

use coring_runtime::{
    fd::SharedFd,
    io_uring::{opcode, squeue, types},
    op::{Completion, OpCode},
};
use std::{ffi::CString, io};

/// `statx(2)` through the ring, of a path or of an open fd. The result
/// buffer is a heap `Box<libc::statx>` owned by the op.
#[derive(Debug)]
pub struct Statx {
    fd: Option<SharedFd>,
    path: CString,
    flags: i32,
    buf: Box<libc::statx>,
}

impl Statx {
    /// Metadata of `path`; `follow` says whether a final symlink is
    /// followed.
    pub fn path(path: CString, follow: bool) -> Self {
        let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
        Statx::build_with(None, path, flags)
    }

    /// Metadata of the open file `fd` (`AT_EMPTY_PATH`).
    pub fn fd(fd: &SharedFd) -> Self {
        Statx::build_with(Some(fd.clone()), CString::default(), libc::AT_EMPTY_PATH)
    }

    fn build_with(fd: Option<SharedFd>, path: CString, flags: i32) -> Self {
        // SAFETY: statx is plain old data; all-zero is a valid value.
        let buf = Box::new(unsafe { std::mem::zeroed::<libc::statx>() });
        Statx {
            fd,
            path,
            flags,
            buf,
        }
    }
}

// SAFETY: the SQE points at the CString and the boxed statx, both heap
// memory owned by the op; the fd (if any) is kept open by the SharedFd.
unsafe impl OpCode for Statx {
    type Output = io::Result<Box<libc::statx>>;
    const CODE: u8 = opcode::Statx::CODE;

    fn build(&mut self) -> squeue::Entry {
        let dirfd = self.fd.as_ref().map_or(libc::AT_FDCWD, SharedFd::raw);
        let buf: *mut libc::statx = &mut *self.buf;
        opcode::Statx::new(
            types::Fd(dirfd),
            self.path.as_ptr(),
            buf.cast::<types::statx>(),
        )
        .flags(self.flags)
        .mask(libc::STATX_BASIC_STATS | libc::STATX_BTIME)
        .build()
    }

    fn complete(self, cqe: Completion) -> Self::Output {
        cqe.result().map(|_| self.buf)
    }
}
