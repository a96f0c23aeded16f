//! hyper 1's I/O traits ([`hyper::rt::Read`], [`hyper::rt::Write`]) on the
//! streams themselves (feature `hyper`): [`TcpStream`], [`UnixStream`],
//! and TCP's [`OwnedReadHalf`] (read) and [`OwnedWriteHalf`] (write), so
//! `hyper::server::conn`/`hyper::client::conn` take a stream as it is.
//!
//! - **Read** copies from the stream's received bytes — the buffer-ring
//!   chunk the kernel received into, handed out by `AsyncBufRead::fill_buf`
//!   — straight into hyper's uninitialised buffer with
//!   [`ReadBufCursor::put_slice`](hyper::rt::ReadBufCursor::put_slice): one
//!   copy, no zeroing, no buffer of the adapter's, and no `unsafe`. Bytes
//!   that do not fit stay in the stream for the next read.
//! - **Write** is the stream's `AsyncWrite` (write-behind: `poll_write`
//!   queues up to 64 KiB in one send and returns). `poll_write_vectored`
//!   (`is_write_vectored` is `true`) first waits for the previous send,
//!   then gathers the slices — hyper's head and body chunks — into that
//!   one send: a response is one `send`, one TCP segment when small, and
//!   no slice is copied more often than in `poll_write`.
//! - **Shutdown** flushes, then shuts down the write direction.

use crate::{OwnedReadHalf, OwnedWriteHalf, TcpStream, UnixStream};
use futures::io::{AsyncBufRead, AsyncWrite};
use hyper::rt::ReadBufCursor;
use std::{
    cell::RefCell,
    io::{self, IoSlice},
    pin::Pin,
    task::{ready, Context, Poll},
};

/// Most bytes one gathered write queues (the stream's own per-send cap).
const MAX_GATHER: usize = 64 * 1024;

thread_local! {
    /// Where a gathered write's slices are put together before the
    /// stream copies them into its send buffer (kept per thread, so a
    /// gathered write allocates nothing of its own).
    static GATHER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn poll_read<T: AsyncBufRead + Unpin>(
    io: &mut T,
    cx: &mut Context<'_>,
    mut buf: ReadBufCursor<'_>,
) -> Poll<io::Result<()>> {
    if buf.remaining() == 0 {
        return Poll::Ready(Ok(()));
    }
    let avail = ready!(Pin::new(&mut *io).poll_fill_buf(cx))?;
    let n = avail.len().min(buf.remaining());
    buf.put_slice(&avail[..n]);
    Pin::new(io).consume(n);
    Poll::Ready(Ok(()))
}

fn poll_write_vectored<T: AsyncWrite + Unpin>(
    io: &mut T,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
) -> Poll<io::Result<usize>> {
    let mut nonempty = bufs.iter().filter(|b| !b.is_empty());
    let first = match nonempty.next() {
        None => return Poll::Ready(Ok(0)),
        Some(b) => b,
    };
    if first.len() >= MAX_GATHER || nonempty.next().is_none() {
        return Pin::new(io).poll_write(cx, first);
    }
    // The previous send must be done before the stream takes new bytes:
    // wait for it first, so the slices are not gathered for nothing.
    ready!(Pin::new(&mut *io).poll_flush(cx))?;
    GATHER.with(|g| {
        let mut gather = match g.try_borrow_mut() {
            Ok(g) => g,
            // Re-entered (cannot happen through the stream, which runs no
            // user code in poll_write): fall back to the first slice.
            Err(_) => return Pin::new(&mut *io).poll_write(cx, first),
        };
        gather.clear();
        // Sized once (per thread): never grown past the cap below.
        gather.reserve_exact(MAX_GATHER);
        for b in bufs {
            let room = MAX_GATHER - gather.len();
            if room == 0 {
                break;
            }
            gather.extend_from_slice(&b[..b.len().min(room)]);
        }
        Pin::new(&mut *io).poll_write(cx, &gather)
    })
}

macro_rules! hyper_read {
    ($ty:ty) => {
        /// hyper's read: received bytes are copied straight into hyper's
        /// buffer (see the [module doc](self)).
        impl hyper::rt::Read for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: ReadBufCursor<'_>,
            ) -> Poll<io::Result<()>> {
                poll_read(self.get_mut(), cx, buf)
            }
        }
    };
}

macro_rules! hyper_write {
    ($ty:ty) => {
        /// hyper's write: the stream's write-behind send, gathering
        /// vectored writes into one send (see the [module doc](self)).
        impl hyper::rt::Write for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                AsyncWrite::poll_write(self, cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                AsyncWrite::poll_flush(self, cx)
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                AsyncWrite::poll_close(self, cx)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                poll_write_vectored(self.get_mut(), cx, bufs)
            }
        }
    };
}

hyper_read!(TcpStream);
hyper_write!(TcpStream);
hyper_read!(UnixStream);
hyper_write!(UnixStream);
hyper_read!(OwnedReadHalf);
hyper_write!(OwnedWriteHalf);
