//! The per-runtime pool of pipes used by splice transfers.
//!
//! Pipes are made with `pipe2(O_CLOEXEC)` and enlarged with `F_SETPIPE_SZ`
//! to [`PIPE_SIZE`] (or `/proc/sys/fs/pipe-max-size` if that is lower). A
//! pipe goes back to the pool only through [`PooledPipe::release`], which
//! checks (`FIONREAD`) that it is empty; a pipe dropped any other way (an
//! error, a transfer future dropped mid-way) is closed, so no stale bytes
//! can leak into the next transfer.

use coring_runtime::{fd::SharedFd, runtime_local};
use std::{
    cell::{Cell, RefCell},
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    rc::Rc,
};

/// The pipe size asked for with `F_SETPIPE_SZ`.
pub const PIPE_SIZE: usize = 1 << 20;

/// Most idle pipes a runtime keeps.
pub const MAX_IDLE_PIPES: usize = 8;

/// Counters of the current runtime's pipe pool, from
/// [`pipe_pool_stats`](crate::pipe_pool_stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PipePoolStats {
    /// Empty pipes waiting in the pool.
    pub idle: usize,
    /// Pipes created.
    pub created: u64,
    /// Transfers that took a pipe from the pool.
    pub reused: u64,
    /// Pipes closed instead of pooled (errors, dropped transfers, or the
    /// pool was full).
    pub discarded: u64,
    /// Capacity of the pipes in bytes (0 before the first one is made).
    pub pipe_capacity: usize,
}

#[derive(Default)]
pub(crate) struct PipePool {
    idle: RefCell<Vec<Pipe>>,
    created: Cell<u64>,
    reused: Cell<u64>,
    discarded: Cell<u64>,
    capacity: Cell<usize>,
}

/// A pipe: both ends, and its capacity.
pub(crate) struct Pipe {
    pub(crate) read: SharedFd,
    pub(crate) write: SharedFd,
    pub(crate) capacity: usize,
}

/// The current runtime's pool.
pub(crate) fn pool() -> Rc<PipePool> {
    runtime_local(PipePool::default)
}

pub(crate) fn stats() -> PipePoolStats {
    let p = pool();
    let idle = p.idle.borrow().len();
    PipePoolStats {
        idle,
        created: p.created.get(),
        reused: p.reused.get(),
        discarded: p.discarded.get(),
        pipe_capacity: p.capacity.get(),
    }
}

impl PipePool {
    /// An empty pipe from the pool, or a new one.
    pub(crate) fn take(self: &Rc<Self>) -> io::Result<PooledPipe> {
        let pipe = match self.idle.borrow_mut().pop() {
            Some(p) => {
                self.reused.set(self.reused.get() + 1);
                p
            }
            None => {
                let p = new_pipe()?;
                self.created.set(self.created.get() + 1);
                self.capacity.set(p.capacity);
                p
            }
        };
        Ok(PooledPipe {
            pipe: Some(pipe),
            pool: self.clone(),
        })
    }

    fn discard(&self, why: &str) {
        self.discarded.set(self.discarded.get() + 1);
        tracing::trace!("coring-fs: pipe closed, not pooled: {why}");
    }
}

/// A pipe borrowed from the pool. Dropping it closes the pipe; only
/// [`release`](PooledPipe::release) returns it.
pub(crate) struct PooledPipe {
    pipe: Option<Pipe>,
    pool: Rc<PipePool>,
}

impl PooledPipe {
    pub(crate) fn pipe(&self) -> &Pipe {
        self.pipe.as_ref().expect("pipe present until release/drop")
    }

    /// Returns the pipe to the pool if it is verifiably empty.
    pub(crate) fn release(mut self) {
        let Some(pipe) = self.pipe.take() else { return };
        match bytes_in(&pipe.read) {
            Ok(0) if self.pool.idle.borrow().len() < MAX_IDLE_PIPES => {
                self.pool.idle.borrow_mut().push(pipe);
            }
            Ok(0) => self.pool.discard("pool full"),
            Ok(n) => {
                tracing::warn!("coring-fs: pipe still held {n} bytes after a transfer; closed");
                self.pool.discard("not empty");
            }
            Err(e) => {
                tracing::warn!("coring-fs: FIONREAD on a pooled pipe failed: {e}");
                self.pool.discard("FIONREAD failed");
            }
        }
    }
}

impl Drop for PooledPipe {
    fn drop(&mut self) {
        if self.pipe.take().is_some() {
            self.pool.discard("transfer failed or was dropped");
        }
    }
}

/// Bytes waiting in a pipe.
fn bytes_in(fd: &SharedFd) -> io::Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int; the fd is open (we hold it).
    if unsafe { libc::ioctl(fd.raw(), libc::FIONREAD, &mut n) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

fn new_pipe() -> io::Result<Pipe> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two fds into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("splice: pipe2: {e}")));
    }
    // SAFETY: both fds are fresh and owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let capacity = grow(&write);
    Ok(Pipe {
        read: SharedFd::new(read),
        write: SharedFd::new(write),
        capacity,
    })
}

/// Enlarges the pipe to PIPE_SIZE or the system maximum; returns the size.
fn grow(fd: &OwnedFd) -> usize {
    let set = |want: usize| {
        // SAFETY: F_SETPIPE_SZ on a pipe fd we own.
        let got = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, want as libc::c_int) };
        (got > 0).then_some(got as usize)
    };
    if let Some(got) = set(PIPE_SIZE) {
        return got;
    }
    // Unprivileged and PIPE_SIZE is above the system maximum: ask for that.
    let max = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok());
    if let Some(got) = max.and_then(|m| set(m.min(PIPE_SIZE))) {
        return got;
    }
    // SAFETY: F_GETPIPE_SZ on a pipe fd we own.
    let got = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETPIPE_SZ) };
    tracing::debug!("coring-fs: F_SETPIPE_SZ refused; pipe keeps {got} bytes");
    if got > 0 {
        got as usize
    } else {
        64 * 1024
    }
}
