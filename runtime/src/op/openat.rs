//! [`OpenAt`]: open a path (`IORING_OP_OPENAT`).

use super::{Completion, OpCode};
use crate::fd::SharedFd;
use io_uring::{opcode, squeue, types};
use std::{ffi::CString, io, os::unix::ffi::OsStrExt, path::Path};

/// Opens `path` relative to the working directory with `flags` and `mode`.
/// A completion that arrives after the future was dropped has its fd
/// closed, not leaked.
#[derive(Debug)]
pub struct OpenAt {
    path: CString,
    flags: i32,
    mode: u32,
}

impl OpenAt {
    /// An open of `path`; `O_CLOEXEC` is always added. Fails if the path
    /// holds a NUL byte.
    pub fn new(path: &Path, flags: i32, mode: u32) -> io::Result<Self> {
        let path = CString::new(path.as_os_str().as_bytes()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("path {} contains a NUL byte", path.display()),
            )
        })?;
        Ok(OpenAt {
            path,
            flags: flags | libc::O_CLOEXEC,
            mode,
        })
    }
}

// SAFETY: the SQE points at the CString's heap bytes, owned by the op.
unsafe impl OpCode for OpenAt {
    type Output = io::Result<SharedFd>;
    const CODE: u8 = opcode::OpenAt::CODE;

    fn build(&mut self) -> squeue::Entry {
        opcode::OpenAt::new(types::Fd(libc::AT_FDCWD), self.path.as_ptr())
            .flags(self.flags)
            .mode(self.mode)
            .build()
    }

    fn complete(self, cqe: Completion) -> io::Result<SharedFd> {
        // SAFETY: a successful OPENAT returns a new fd that nothing else owns.
        unsafe { new_fd(&cqe) }
    }

    fn complete_orphan(self, cqe: Completion) {
        // SAFETY: as in `complete`; nobody has seen the fd, so it closes.
        drop(unsafe { new_fd(&cqe) });
    }
}

/// The fd a successful open-like op (open, openat2, accept) created, now
/// owned; its error otherwise. For `complete` (the caller gets the fd) and
/// `complete_orphan` (dropping the result closes a late fd).
///
/// # Safety
///
/// Only for an op whose non-negative result is a new fd that the kernel
/// installed for it and that nothing else owns.
pub unsafe fn new_fd(cqe: &Completion) -> io::Result<SharedFd> {
    // SAFETY: the caller promises the result is a fresh, unowned fd.
    cqe.result()
        .map(|fd| unsafe { SharedFd::from_raw(fd as i32) })
}
