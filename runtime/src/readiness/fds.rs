//! [`FdTable`]: which fds the readiness driver registered with its epoll
//! instance, and which pending ops wait on each for reading or writing.
//!
//! An fd is added (edge-triggered, reading and writing at once) the first
//! time an op on it would block, and stays registered until the driver
//! sees it closed ([`FdTable::forget`]); the kernel drops the registration
//! itself when the file closes. Because every op tries its syscall before
//! it waits, and the registration is in place before it waits, an edge can
//! never fall between the try and the wait.

use std::{io, os::fd::RawFd};

/// What an op waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interest {
    Read,
    Write,
}

#[derive(Default)]
struct FdEntry {
    registered: bool,
    /// An event said the peer closed (or the fd failed): a short read no
    /// longer means "nothing more", since no further edge will come.
    hup: bool,
    readers: Vec<usize>,
    writers: Vec<usize>,
}

/// Registrations and waiters, indexed by fd number.
#[derive(Default)]
pub(crate) struct FdTable {
    entries: Vec<FdEntry>,
}

/// The fd cannot be polled (a regular file or a directory): its op runs
/// on the blocking pool instead.
pub(crate) struct NotPollable;

impl FdTable {
    /// Makes op `key` wait on `fd`, registering `fd` with `epoll` first if
    /// needed.
    pub(crate) fn wait(
        &mut self,
        epoll: RawFd,
        fd: RawFd,
        interest: Interest,
        key: usize,
    ) -> Result<(), NotPollable> {
        let Ok(i) = usize::try_from(fd) else {
            return Err(NotPollable);
        };
        if i >= self.entries.len() {
            self.entries.resize_with(i + 1, FdEntry::default);
        }
        let e = &mut self.entries[i];
        if !e.registered {
            let mut ev = libc::epoll_event {
                events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
                u64: fd as u64,
            };
            // SAFETY: `ev` is a valid epoll_event for the duration of the
            // call; epoll and fd are plain fd numbers.
            let rc = unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, fd, &mut ev) };
            if rc < 0 {
                match io::Error::last_os_error().raw_os_error() {
                    // Registered before, and closed and reopened behind the
                    // driver's back with a dup still open: still ours.
                    Some(libc::EEXIST) => {}
                    _ => return Err(NotPollable),
                }
            }
            e.registered = true;
        }
        match interest {
            Interest::Read => e.readers.push(key),
            Interest::Write => e.writers.push(key),
        }
        Ok(())
    }

    /// Takes the ops an event with `events` on `fd` makes ready.
    pub(crate) fn ready(&mut self, fd: RawFd, events: u32, out: &mut Vec<usize>) {
        let Some(e) = usize::try_from(fd)
            .ok()
            .and_then(|i| self.entries.get_mut(i))
        else {
            return;
        };
        let hup = (libc::EPOLLHUP | libc::EPOLLERR) as u32;
        if events & (hup | libc::EPOLLRDHUP as u32) != 0 {
            e.hup = true;
        }
        if events & (libc::EPOLLIN as u32 | libc::EPOLLRDHUP as u32 | hup) != 0 {
            out.append(&mut e.readers);
        }
        if events & (libc::EPOLLOUT as u32 | hup) != 0 {
            out.append(&mut e.writers);
        }
    }

    /// Whether an event on `fd` reported a hang-up (see `FdEntry::hup`).
    pub(crate) fn hup(&self, fd: RawFd) -> bool {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.entries.get(i))
            .is_some_and(|e| e.hup)
    }

    /// Stops op `key` waiting on `fd`.
    pub(crate) fn remove(&mut self, fd: RawFd, key: usize) {
        if let Some(e) = usize::try_from(fd)
            .ok()
            .and_then(|i| self.entries.get_mut(i))
        {
            e.readers.retain(|&k| k != key);
            e.writers.retain(|&k| k != key);
        }
    }

    /// `fd` is being closed (or handed away): drop its registration so a
    /// later file with the same number is registered afresh. Ops still
    /// waiting on it are returned (to fail with `EBADF`).
    pub(crate) fn forget(&mut self, epoll: RawFd, fd: RawFd, out: &mut Vec<usize>) {
        let Some(e) = usize::try_from(fd)
            .ok()
            .and_then(|i| self.entries.get_mut(i))
        else {
            return;
        };
        if e.registered {
            // SAFETY: plain fd numbers; a null event is allowed for DEL.
            unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut()) };
        }
        e.registered = false;
        e.hup = false;
        out.append(&mut e.readers);
        out.append(&mut e.writers);
        e.readers = Vec::new();
        e.writers = Vec::new();
    }
}
