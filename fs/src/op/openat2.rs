//! [`OpenAt2`]: open a path relative to a directory fd with `openat2(2)`'s
//! resolve restrictions (`IORING_OP_OPENAT2`, Linux 5.6).

use coring_runtime::{
    fd::SharedFd,
    io_uring::{opcode, squeue, types},
    op::{new_fd, Completion, OpCode},
};
use std::{ffi::CString, io};

/// Opens `path` relative to the directory `dir` with `flags`, `mode` and
/// `resolve` (`RESOLVE_*` bits). A completion that arrives after the future
/// was dropped has its fd closed, not leaked.
#[derive(Debug)]
pub struct OpenAt2 {
    dir: SharedFd,
    path: CString,
    /// Boxed: the SQE points at it.
    how: Box<types::OpenHow>,
}

impl OpenAt2 {
    /// An open of `path` under `dir`; `O_CLOEXEC` is always added. `mode`
    /// only counts with `O_CREAT` or `O_TMPFILE` (openat2 refuses a mode
    /// without them).
    pub fn new(dir: &SharedFd, path: CString, flags: i32, mode: u32, resolve: u64) -> Self {
        let creates = flags & libc::O_CREAT != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE;
        let mode = if creates { mode } else { 0 };
        let how = types::OpenHow::new()
            .flags((flags | libc::O_CLOEXEC) as u64)
            .mode(mode as u64)
            .resolve(resolve);
        OpenAt2 {
            dir: dir.clone(),
            path,
            how: Box::new(how),
        }
    }
}

// SAFETY: the SQE points at the CString's and the boxed OpenHow's heap
// memory, both owned by the op; the directory fd is kept open by the
// SharedFd clone.
unsafe impl OpCode for OpenAt2 {
    type Output = io::Result<SharedFd>;
    const CODE: u8 = opcode::OpenAt2::CODE;

    fn build(&mut self) -> squeue::Entry {
        opcode::OpenAt2::new(types::Fd(self.dir.raw()), self.path.as_ptr(), &*self.how).build()
    }

    fn complete(self, cqe: Completion) -> io::Result<SharedFd> {
        // SAFETY: a successful OPENAT2 returns a new fd that nothing else
        // owns.
        unsafe { new_fd(&cqe) }
    }

    fn complete_orphan(self, cqe: Completion) {
        // SAFETY: as in `complete`; nobody has seen the fd, so it closes.
        drop(unsafe { new_fd(&cqe) });
    }
}
