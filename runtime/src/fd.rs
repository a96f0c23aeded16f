//! [`SharedFd`]: an owned file descriptor that ops can share.
//!
//! Every op on an fd holds a clone, so the fd stays open (and its number is
//! not reused) while the kernel may still use it, even if the file or
//! socket object was dropped. The last clone closes it: through the ring
//! (a fire-and-forget `IORING_OP_CLOSE`, so the executor thread never
//! blocks in `close`) when a runtime is running on this thread, else with
//! `close(2)`.
//!
//! [`AsWriteFd`]: the write side of a stream as a `SharedFd`, for ops that
//! send on it directly (`coring_fs::send_file`).

use std::{
    fmt, io,
    os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd},
    rc::Rc,
};

/// A reference-counted owned fd.
#[derive(Clone)]
pub struct SharedFd {
    inner: Rc<Inner>,
}

struct Inner {
    fd: RawFd,
}

impl SharedFd {
    /// Takes ownership of `fd`.
    pub fn new(fd: OwnedFd) -> Self {
        SharedFd {
            inner: Rc::new(Inner {
                fd: fd.into_raw_fd(),
            }),
        }
    }

    /// Takes ownership of a raw fd.
    ///
    /// # Safety
    ///
    /// `fd` must be open and owned by nothing else.
    pub unsafe fn from_raw(fd: RawFd) -> Self {
        SharedFd {
            inner: Rc::new(Inner { fd }),
        }
    }

    /// A new, independent fd for the same file (`F_DUPFD_CLOEXEC`), e.g.
    /// for a blocking call on another thread.
    pub fn try_clone_to_owned(&self) -> io::Result<OwnedFd> {
        self.as_fd().try_clone_to_owned()
    }

    /// The fd number.
    pub fn raw(&self) -> RawFd {
        self.inner.fd
    }

    /// Gives up ownership if this is the last clone; otherwise returns
    /// `self` unchanged (an op still uses the fd).
    pub fn try_unwrap(self) -> Result<OwnedFd, SharedFd> {
        match Rc::try_unwrap(self.inner) {
            Ok(inner) => {
                let fd = inner.fd;
                std::mem::forget(inner);
                if let Some(driver) = crate::driver::current::try_current() {
                    // Out of coring's hands: the epoll driver forgets it.
                    driver.release_fd(fd);
                }
                // SAFETY: we own the fd and just stopped `Inner` from closing it.
                Ok(unsafe { OwnedFd::from_raw_fd(fd) })
            }
            Err(inner) => Err(SharedFd { inner }),
        }
    }

    // `close(self)`, which needs the `Close` op, is in `op/close.rs`.
}

/// The fd of something an op may send on directly, bypassing its own
/// write path: a connected stream socket (`TcpStream`, `UnixStream`, their
/// write halves), or a [`SharedFd`] the caller vouches for.
///
/// Taking it needs `&mut`, and a stream refuses while a write of its own is
/// still in flight (`ResourceBusy`), so bytes sent through the fd cannot
/// interleave with bytes queued by `poll_write`.
pub trait AsWriteFd {
    /// The fd to send on, once nothing else is writing to it.
    fn write_fd(&mut self) -> io::Result<&SharedFd>;
}

impl AsWriteFd for SharedFd {
    fn write_fd(&mut self) -> io::Result<&SharedFd> {
        Ok(self)
    }
}

impl AsFd for SharedFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the fd stays open while `self` (one of its owners) lives,
        // which the borrow's lifetime guarantees.
        unsafe { BorrowedFd::borrow_raw(self.inner.fd) }
    }
}

impl AsRawFd for SharedFd {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.fd
    }
}

impl fmt::Debug for SharedFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedFd({})", self.inner.fd)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // SAFETY: we own the fd and nothing uses it after this.
        let fd = unsafe { OwnedFd::from_raw_fd(self.fd) };
        if let Some(driver) = crate::driver::current::try_current() {
            // Handed back when the driver cannot take it: dropped, so
            // closed with close(2).
            let _ = driver.close_detached(fd);
        }
    }
}
