//! [`send_file`]: a response head and a file range sent on a stream socket
//! as one unit — the head never waits for the client's delayed ACK (no
//! Nagle stall), the fd is not duplicated, and data in the page cache
//! never makes a trip through an io-wq worker thread.
//!
//! How ([`SendFileMode::Auto`] picks by body size). The split comes from
//! same-day spot checks of 2026-12-02: the file_server example with
//! `--send-mode copy` and `--send-mode splice` beside nginx, wrk on the
//! other CPU, one file size at a time (not a harness run; the end-to-end
//! result of the choice against nginx is the `files` group in
//! BENCHMARKS.md):
//! - **Copy** (bodies up to 128 KiB, and above 1 MiB): the head and the
//!   first chunk of the body share one pooled buffer: the body is read in
//!   behind the head (`IORING_OP_READ`, which a page-cache hit completes
//!   inline, on this thread) and both go out in one `IORING_OP_SEND`. A
//!   small response is two ops, one send, one segment. A larger body
//!   continues in chunks of 256 KiB read into the same buffer, each sent
//!   with `MSG_MORE` but the last, so segments stay full.
//! - **Splice** (bodies over 128 KiB up to 1 MiB, one pipe's worth): the
//!   head with `MSG_MORE`, then the body through a pooled pipe, file →
//!   pipe → socket, without copying it through user space. Each splice
//!   runs on an io-wq worker (pinned to the core's CPU, see
//!   `coring_runtime::ring::IoWorkers`): two thread hops per pipe fill,
//!   which beats two copies of a body that size, but not of a small body
//!   (16 KiB: 0.6× the copy path's requests/s), and not the steady copy
//!   loop of a multi-megabyte body (4 and 64 MiB: 0.65–0.7×).
//!
//! On the epoll driver (where io_uring is blocked) `Auto` sends bodies over
//! 16 KiB with `sendfile(2)` instead, chunk by chunk while the page cache
//! holds them (`sendfile.rs`): there the copy path costs two copies
//! (29% of the server's CPU at 64 KiB) and a splice one pool-thread hop
//! per chunk.

mod copy;
mod sendfile;

use crate::{error, File};
use coring_runtime::{
    fd::AsWriteFd,
    op::{Op, Send},
    ring::DriverKind,
};
use std::io;

/// How [`send_file_with`] moves the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SendFileMode {
    /// The default: [`Splice`](SendFileMode::Splice) for bodies over
    /// 128 KiB up to 1 MiB, [`Copy`](SendFileMode::Copy) otherwise; on the
    /// epoll driver `sendfile(2)` for bodies over 16 KiB (see the module
    /// docs).
    #[default]
    Auto,
    /// Read into pooled buffers and send (head with the first chunk).
    Copy,
    /// The head sent with `MSG_MORE`, then the body spliced through a
    /// pooled pipe ([`splice_to`](crate::splice_to)'s transfer).
    Splice,
}

/// Bodies over this go by `sendfile(2)` on the epoll driver (smaller
/// ones share one send with the head; see `sendfile.rs`).
const SENDFILE_MIN: u64 = 16 * 1024;

/// Smallest body [`SendFileMode::Auto`] splices.
const SPLICE_MIN: u64 = 128 * 1024;

impl SendFileMode {
    /// The mode used for a body of `len` bytes.
    fn resolve(self, len: u64) -> SendFileMode {
        match self {
            SendFileMode::Auto if len > SPLICE_MIN && len <= crate::PIPE_SIZE as u64 => {
                SendFileMode::Splice
            }
            SendFileMode::Auto => SendFileMode::Copy,
            mode => mode,
        }
    }
}

/// Sends `head` and then `len` bytes of `file` from `offset` on `dest` (a
/// connected stream socket: a coring `TcpStream`, `UnixStream` or write
/// half), as one unit. Returns the body bytes sent: fewer than `len` only
/// if the file ended first (then the response is short, and the caller
/// should close the connection). `len` of `u64::MAX` sends to the end of
/// the file.
///
/// An `offset` above `i64::MAX`, or an `offset + len` past `u64::MAX`, is
/// `InvalidInput`; a stream with a write of its own still in flight is
/// `ResourceBusy`; a peer that goes away mid-way gives `EPIPE` or
/// `ECONNRESET`. Dropping the future mid-way is safe (the buffers and fds
/// live until their completions), but leaves the response cut off.
///
/// ```
/// # coring_runtime::Runtime::new()?.block_on(async {
/// use futures::io::AsyncReadExt;
/// let dir = std::env::temp_dir().join(format!("coring-fs-doc-send-file-{}", std::process::id()));
/// coring_fs::create_dir_all(&dir).await?;
/// coring_fs::write(dir.join("page.html"), b"<h1>hi</h1>".to_vec()).await?;
/// let file = coring_fs::File::open(dir.join("page.html")).await?;
/// let (mut server, mut client) = coring_net::UnixStream::pair()?;
/// let head = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n";
/// let sent = coring_fs::send_file(&mut server, head, &file, 0, u64::MAX).await?;
/// assert_eq!(sent, 11);
/// drop(server);
/// let mut got = String::new();
/// client.read_to_string(&mut got).await?;
/// assert!(got.ends_with("\r\n\r\n<h1>hi</h1>"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn send_file<D: AsWriteFd + ?Sized>(
    dest: &mut D,
    head: &[u8],
    file: &File,
    offset: u64,
    len: u64,
) -> io::Result<u64> {
    send_file_with(dest, head, file, offset, len, SendFileMode::Auto).await
}

/// [`send_file`] with an explicit [`SendFileMode`].
pub async fn send_file_with<D: AsWriteFd + ?Sized>(
    dest: &mut D,
    head: &[u8],
    file: &File,
    offset: u64,
    len: u64,
    mode: SendFileMode,
) -> io::Result<u64> {
    crate::splice::check_range(file, offset, len)?;
    let wrap = |e| error::with_path(e, "send_file", file.path());
    let dest = dest.write_fd()?.clone();
    let src = file.shared_fd();
    if mode == SendFileMode::Auto
        && len > SENDFILE_MIN
        && coring_runtime::driver_kind() == DriverKind::Epoll
    {
        return sendfile::send(&dest, head, src, offset, len)
            .await
            .map_err(wrap);
    }
    match mode.resolve(len) {
        SendFileMode::Auto | SendFileMode::Copy => copy::send(&dest, head, src, offset, len)
            .await
            .map_err(wrap),
        SendFileMode::Splice => {
            if !head.is_empty() {
                send_all(&dest, head.to_vec(), len > 0)
                    .await
                    .map_err(wrap)?;
            }
            crate::splice::transfer(src, offset, len, &dest, crate::SpliceMode::DirectSend)
                .await
                .map_err(wrap)
        }
    }
}

/// Sends all of `buf` (`MSG_WAITALL`; a short send that is not an error
/// is retried for the rest), with `MSG_MORE` if `more`. Returns the
/// buffer for reuse.
async fn send_all(
    dest: &coring_runtime::fd::SharedFd,
    buf: Vec<u8>,
    more: bool,
) -> io::Result<Vec<u8>> {
    use coring_runtime::buf::IoBuf;
    let total = buf.len();
    let mut done = 0;
    let mut buf = buf;
    while done < total {
        let slice = buf.slice(done..total);
        let op = if more {
            Send::stream_more(dest, slice)
        } else {
            Send::stream(dest, slice)
        };
        let (res, slice) = Op::new(op).await;
        buf = slice.into_inner();
        match res {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOTSOCK) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("send_file: fd {} is not a socket", dest.raw()),
                ))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(buf)
}
