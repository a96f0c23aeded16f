//! The epoll driver's way for [`send_file`](super::send_file) to move a
//! body: `sendfile(2)` straight from the page cache to the socket, as the
//! readiness model (and nginx) does. The head goes first with `MSG_MORE`.
//! A socket with no room waits for `POLLOUT` through the driver.
//!
//! `sendfile` reads the file on the calling thread, so each chunk is only
//! sent this way if its first page is in the page cache (a one-byte
//! `RWF_NOWAIT` read says so). A chunk that would wait for the disk goes
//! through the copy path instead, whose read runs on the blocking pool.
//! Readahead makes a cached first page a good sign for the rest of the
//! chunk; a chunk that is only partly cached can still make this thread
//! wait for its missing pages.

use super::{copy, send_all};
use crate::buf_pool::{self, CHUNK};
use coring_runtime::{
    fd::SharedFd,
    op::{Op, PollAdd},
};
use std::io;

/// Sends `head`, then up to `len` bytes of `src` from `offset`; returns the
/// body bytes sent (fewer only at end of file).
pub(super) async fn send(
    dest: &SharedFd,
    head: &[u8],
    src: &SharedFd,
    offset: u64,
    len: u64,
) -> io::Result<u64> {
    if !head.is_empty() {
        let pool = buf_pool::pool();
        let mut buf = pool.take(head.len());
        buf.extend_from_slice(head);
        pool.give(send_all(dest, buf, len > 0).await?);
    }
    let mut sent = 0u64;
    while sent < len {
        let pos = offset + sent;
        let want = (len - sent).min(CHUNK as u64);
        if !first_page_cached(src, pos) {
            let got = copy::send(dest, b"", src, pos, want).await?;
            sent += got;
            if got < want {
                break; // end of file
            }
            continue;
        }
        let mut off = pos as libc::off_t;
        // SAFETY: plain fds the caller keeps open for the call, and a
        // valid offset to update.
        let rc = unsafe { libc::sendfile(dest.raw(), src.raw(), &mut off, want as usize) };
        if rc > 0 {
            sent += rc as u64;
            continue;
        }
        if rc == 0 {
            break; // end of file
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EAGAIN) => {
                Op::new(PollAdd::new(dest, libc::POLLOUT as u32)).await?;
            }
            Some(libc::EINTR) => {}
            Some(libc::ENOTSOCK) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("send_file: fd {} is not a socket", dest.raw()),
                ))
            }
            // A file sendfile cannot read (EINVAL: no page-cache reads,
            // e.g. O_DIRECT): the rest through the copy path.
            Some(libc::EINVAL) | Some(libc::ENOSYS) => {
                sent += copy::send(dest, b"", src, pos, len - sent).await?;
                break;
            }
            _ => return Err(e),
        }
    }
    Ok(sent)
}

/// Whether the page holding byte `pos` of `src` is in the page cache (or
/// `pos` is at or past the end: then `sendfile` just reports it).
fn first_page_cached(src: &SharedFd, pos: u64) -> bool {
    let mut byte = 0u8;
    let iov = libc::iovec {
        iov_base: (&mut byte as *mut u8).cast(),
        iov_len: 1,
    };
    // SAFETY: one valid iovec over a local byte.
    let rc = unsafe { libc::preadv2(src.raw(), &iov, 1, pos as libc::off_t, libc::RWF_NOWAIT) };
    rc >= 0
}
