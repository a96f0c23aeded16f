//! The ops the readiness driver runs on the blocking pool (the stand-in
//! for io_uring's io-wq): opens, stats, directory changes, fsync,
//! fallocate, ftruncate, splices, and file reads and writes that would
//! wait for the disk. [`PoolDone`] carries results back and wakes the
//! driver's epoll through an eventfd.
//!
//! A job owns a copy of the SQE; the memory it points at belongs to the op,
//! which the driver keeps alive until this job's result has been posted as
//! the op's completion (so a dropped op's buffer outlives the call).

use super::{exec::rw_call, sqe::RawSqe, sqe::FSYNC_DATASYNC};
use io_uring::opcode as op;
use std::{
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
    sync::{Arc, Mutex},
};

/// Results of pool jobs, and the eventfd that tells the driver about them.
pub(crate) struct PoolDone {
    results: Mutex<Vec<(usize, i32)>>,
    wake: OwnedFd,
}

impl PoolDone {
    pub(crate) fn new() -> io::Result<Arc<PoolDone>> {
        // SAFETY: eventfd takes no pointers; we own the returned fd.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!("coring: eventfd for the epoll driver's pool results: {e}"),
            ));
        }
        Ok(Arc::new(PoolDone {
            results: Mutex::new(Vec::new()),
            // SAFETY: a fresh fd nothing else owns.
            wake: unsafe { OwnedFd::from_raw_fd(fd) },
        }))
    }

    pub(crate) fn fd(&self) -> RawFd {
        self.wake.as_raw_fd()
    }

    /// Takes the results that arrived (and clears the eventfd).
    pub(crate) fn take(&self, out: &mut Vec<(usize, i32)>) {
        let mut n = 0u64;
        // SAFETY: reads 8 bytes into a valid u64 from our eventfd.
        unsafe { libc::read(self.wake.as_raw_fd(), (&mut n as *mut u64).cast(), 8) };
        out.append(&mut self.results.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn post(&self, key: usize, res: i32) {
        self.results
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((key, res));
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a valid u64 to our eventfd.
        unsafe { libc::write(self.wake.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }
}

/// Runs op `key`'s SQE on the pool; its result comes back through `done`.
/// `Err` if no pool thread could take it.
pub(crate) fn submit(sqe: RawSqe, key: usize, done: &Arc<PoolDone>) -> io::Result<()> {
    let done = done.clone();
    crate::blocking::submit(Box::new(move || {
        let res = call(&sqe);
        done.post(key, res);
    }))
}

fn ret(rc: i64) -> i32 {
    if rc < 0 {
        -super::exec::errno()
    } else {
        rc as i32
    }
}

/// The blocking call of one SQE.
fn call(s: &RawSqe) -> i32 {
    let path = s.addr as *const libc::c_char;
    // SAFETY: every pointer comes from the op's SQE and stays valid until
    // the op's completion, which is posted after this returns (module doc).
    unsafe {
        match s.opcode {
            op::Read::CODE | op::Readv::CODE | op::Write::CODE | op::Writev::CODE => {
                ret(rw_call(s, s.pos(), s.op_flags as i32) as i64)
            }
            op::Fsync::CODE if s.op_flags & FSYNC_DATASYNC != 0 => {
                ret(libc::fdatasync(s.fd) as i64)
            }
            op::Fsync::CODE => ret(libc::fsync(s.fd) as i64),
            op::Fallocate::CODE => ret(libc::fallocate(
                s.fd,
                s.len as i32,
                s.off as libc::off_t,
                s.addr as libc::off_t,
            ) as i64),
            op::Ftruncate::CODE => ret(libc::ftruncate(s.fd, s.off as libc::off_t) as i64),
            op::OpenAt::CODE => ret(libc::openat(s.fd, path, s.op_flags as i32, s.len) as i64),
            op::OpenAt2::CODE => ret(libc::syscall(
                libc::SYS_openat2,
                s.fd,
                path,
                s.off as *const libc::c_void,
                s.len as usize,
            )),
            op::Statx::CODE => ret(libc::statx(
                s.fd,
                path,
                s.op_flags as i32,
                s.len,
                s.off as *mut libc::statx,
            ) as i64),
            op::UnlinkAt::CODE => ret(libc::unlinkat(s.fd, path, s.op_flags as i32) as i64),
            op::RenameAt::CODE => ret(libc::syscall(
                libc::SYS_renameat2,
                s.fd,
                path,
                s.len as i32,
                s.off as *const libc::c_char,
                s.op_flags,
            )),
            op::MkDirAt::CODE => ret(libc::mkdirat(s.fd, path, s.len) as i64),
            op::SymlinkAt::CODE => {
                ret(libc::symlinkat(path, s.fd, s.off as *const libc::c_char) as i64)
            }
            op::LinkAt::CODE => ret(libc::linkat(
                s.fd,
                path,
                s.len as i32,
                s.off as *const libc::c_char,
                s.op_flags as i32,
            ) as i64),
            op::Splice::CODE => {
                // u64::MAX: no offset (a pipe, or the file's position).
                let (mut oi, mut oo) = (s.addr as i64, s.off as i64);
                let off_in: *mut i64 = if s.addr == u64::MAX {
                    std::ptr::null_mut()
                } else {
                    &mut oi
                };
                let off_out: *mut i64 = if s.off == u64::MAX {
                    std::ptr::null_mut()
                } else {
                    &mut oo
                };
                // SPLICE_F_FD_IN_FIXED is never set: fixed files are refused.
                ret(libc::splice(
                    s.splice_fd_in,
                    off_in,
                    s.fd,
                    off_out,
                    s.len as usize,
                    s.op_flags,
                ) as i64)
            }
            _ => -libc::EOPNOTSUPP,
        }
    }
}
