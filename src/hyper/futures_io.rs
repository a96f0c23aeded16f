//! [`FuturesIo`]: hyper's I/O traits over any futures-io stream.

use futures::io::{AsyncRead, AsyncWrite};
use std::{
    io::{self, IoSlice},
    mem::MaybeUninit,
    pin::Pin,
    task::{ready, Context, Poll},
};

/// Most bytes of hyper's buffer one read initialises (a TLS record's
/// payload is at most 16 KiB, so larger reads would gain nothing).
const MAX_READ: usize = 16 * 1024;

/// hyper's `rt::Read`/`rt::Write` over a futures-io stream — for streams
/// that are not coring's own, such as futures-rustls's `TlsStream` over a
/// `TcpStream`. (coring's streams implement hyper's traits directly and
/// need no wrapper.)
///
/// futures-io reads need initialised memory, so each read zeroes up to
/// 16 KiB of hyper's buffer first; for TLS that is small beside the
/// decryption.
#[derive(Debug)]
pub struct FuturesIo<T>(pub T);

impl<T> FuturesIo<T> {
    /// The wrapped stream.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: AsyncRead + Unpin> hyper::rt::Read for FuturesIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // SAFETY: only initialised bytes are written into the cursor's
        // spare memory below, and `advance` counts only bytes the read
        // filled.
        let spare: &mut [MaybeUninit<u8>] = unsafe { buf.as_mut() };
        let len = spare.len().min(MAX_READ);
        let spare = &mut spare[..len];
        for b in spare.iter_mut() {
            b.write(0);
        }
        // SAFETY: every byte of `spare` was just initialised, and
        // `MaybeUninit<u8>` has the layout of `u8`.
        let bytes = unsafe { &mut *(spare as *mut [MaybeUninit<u8>] as *mut [u8]) };
        let n = ready!(Pin::new(&mut self.get_mut().0).poll_read(cx, bytes))?;
        // SAFETY: the read filled (initialised) the first `n <= len` bytes.
        unsafe { buf.advance(n.min(len)) };
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for FuturesIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_close(cx)
    }
}
