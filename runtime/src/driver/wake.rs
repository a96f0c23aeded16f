//! [`WakeFd`]: the eventfd that lets another thread wake a parked ring.
//!
//! The driver keeps one read of the eventfd armed on its ring; a write from
//! any thread completes that read, which ends the ring's wait in
//! `io_uring_enter`. Writers only write when the executor said it was about
//! to park, so waking a running executor costs no syscall.

use io_uring::{opcode, squeue, types};
use std::{
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    sync::Arc,
};

/// An eventfd shared by the ring's read and any number of writers.
#[derive(Clone)]
pub(crate) struct WakeFd {
    fd: Arc<OwnedFd>,
}

impl WakeFd {
    pub(crate) fn new() -> io::Result<Self> {
        // SAFETY: eventfd takes no pointers; we own the returned fd.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!("coring: eventfd for cross-thread wakes: {e}"),
            ));
        }
        Ok(WakeFd {
            // SAFETY: fd is a fresh eventfd that nothing else owns.
            fd: Arc::new(unsafe { OwnedFd::from_raw_fd(fd) }),
        })
    }

    /// The read SQE the driver keeps armed; the kernel writes the counter
    /// into `buf`, which the driver owns for as long as the ring lives.
    pub(crate) fn read_entry(&self, buf: *mut u64) -> squeue::Entry {
        opcode::Read::new(types::Fd(self.fd.as_raw_fd()), buf.cast(), 8).build()
    }

    /// Wakes the ring (from any thread).
    pub(crate) fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a valid u64 to an eventfd we own.
        let rc = unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            // EAGAIN: the counter is saturated, so a wake is pending anyway.
            if e.raw_os_error() != Some(libc::EAGAIN) {
                tracing::error!(error = %e, "coring: writing the wake eventfd failed");
            }
        }
    }
}
