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
//!   queues up to 64 KiB in one send and returns). `is_write_vectored` is
//!   `true`: hyper hands its head and body chunks as separate slices
//!   instead of flattening them into a buffer of its own, and
//!   `poll_write_vectored` gathers them straight into that one send
//!   buffer — a small response is one copy, one `send`, one TCP segment.
//! - **Shutdown** flushes, then shuts down the write direction.

use crate::{OwnedReadHalf, OwnedWriteHalf, TcpStream, UnixStream};
use futures::io::{AsyncBufRead, AsyncWrite};
use hyper::rt::ReadBufCursor;
use std::{
    io::{self, IoSlice},
    pin::Pin,
    task::{ready, Context, Poll},
};

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
                AsyncWrite::poll_write_vectored(self, cx, bufs)
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
