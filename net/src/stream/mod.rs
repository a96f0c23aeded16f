//! The machinery shared by connected stream sockets (TCP and Unix): the
//! receive side ([`ReadState`]), the send side ([`WriteState`]), and the
//! macros that give `TcpStream`, `UnixStream` and their halves the same
//! owned-buffer traits (`coring_runtime::io::{OwnedRead, OwnedWrite}`),
//! `peek`/`readable`/`writable`, and `futures::io::{AsyncRead,
//! AsyncBufRead, AsyncWrite}` impls (tokio's with the `tokio-io` feature).
//!
//! Stream sockets are kept in non-blocking mode (`O_NONBLOCK`): io_uring's
//! socket ops wait for readiness themselves either way, and a syscall or a
//! kernel worker that touches the socket directly (the pipe → socket half
//! of a splice transfer) must never block on a slow peer: a worker thread
//! blocked on a client that stopped reading would hold one of the core's
//! few io-wq workers for as long as that client stalls. `into_std` gives
//! the socket back in blocking mode, as std expects.

mod read;
mod write;

pub(crate) use read::{ReadState, RecvMode};
pub(crate) use write::WriteState;

/// Puts a stream socket into non-blocking mode (one `F_GETFL` when it is
/// already, as accepted sockets are).
pub(crate) fn ensure_nonblocking(fd: &std::os::fd::OwnedFd) {
    let sock = socket2::SockRef::from(fd);
    if !matches!(sock.nonblocking(), Ok(true)) {
        if let Err(e) = sock.set_nonblocking(true) {
            tracing::debug!(error = %e, "could not make a stream socket non-blocking");
        }
    }
}

/// Takes the fd back from both sides if no op holds it and no data is
/// buffered.
pub(crate) fn into_owned_fd(
    rd: ReadState,
    wr: WriteState,
) -> std::io::Result<std::os::fd::OwnedFd> {
    if rd.is_busy() || wr.is_busy() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::ResourceBusy,
            format!(
                "into_std on the stream to {}: I/O is in flight or received bytes are unread",
                rd.peer()
            ),
        ));
    }
    let fd = rd.fd().clone();
    drop((rd, wr));
    let fd = fd.try_unwrap().map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::ResourceBusy,
            "into_std: an op still holds the socket",
        )
    })?;
    // std's sockets block.
    socket2::SockRef::from(&fd).set_nonblocking(false)?;
    Ok(fd)
}

/// Owned-buffer reads ([`OwnedRead`](coring_runtime::io::OwnedRead)),
/// `peek`, `readable`, and futures' `AsyncRead`/`AsyncBufRead` (tokio's
/// too with `tokio-io`) for a type with a `ReadState` field.
macro_rules! impl_read {
    ($ty:ty, $field:ident) => {
        impl coring_runtime::io::OwnedRead for $ty {
            /// Cancel-safe: if the future is dropped, no received byte is
            /// lost; the next read returns it.
            async fn read<B: coring_runtime::buf::IoBufMut>(
                &mut self,
                buf: B,
            ) -> (std::io::Result<usize>, B) {
                self.$field.read(buf).await
            }

            async fn read_exact<B: coring_runtime::buf::IoBufMut>(
                &mut self,
                buf: B,
            ) -> (std::io::Result<()>, B) {
                self.$field.read_exact(buf).await
            }

            async fn readv<B: coring_runtime::buf::IoBufMut>(
                &mut self,
                bufs: Vec<B>,
            ) -> (std::io::Result<usize>, Vec<B>) {
                self.$field.readv(bufs).await
            }
        }

        impl $ty {
            /// Copies received bytes into the start of `buf` (up to its
            /// capacity) without consuming them: the next read returns the
            /// same bytes. Waits until there is at least one (`0`: the peer
            /// closed its side).
            ///
            /// Bytes the stream already received are what a peek sees. When
            /// it holds none and no receive is armed (nothing was read yet,
            /// or between single-shot receives), it peeks at the socket
            /// itself (`recv` with `MSG_PEEK`, through the ring), so a
            /// protocol sniff on a fresh connection arms nothing.
            pub async fn peek<B: coring_runtime::buf::IoBufMut>(
                &mut self,
                buf: B,
            ) -> (std::io::Result<usize>, B) {
                self.$field.peek(buf).await
            }

            /// Waits until a read would not wait: bytes are buffered, the
            /// peer closed its side, or (with no receive of the stream's
            /// armed) the socket polls readable (`IORING_OP_POLL_ADD` with
            /// `POLLIN`). A receive error met while waiting is returned
            /// here.
            pub async fn readable(&mut self) -> std::io::Result<()> {
                self.$field.readable().await
            }
        }

        impl futures::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.get_mut().$field.poll_read(cx, buf)
            }
        }

        /// Reads without a buffer of the caller's: `fill_buf` hands out the
        /// received bytes where they landed (in the runtime's buffer ring),
        /// so a stream waiting for data holds no buffer at all.
        impl futures::io::AsyncBufRead for $ty {
            fn poll_fill_buf(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<&[u8]>> {
                self.get_mut().$field.poll_fill_buf(cx)
            }

            fn consume(self: std::pin::Pin<&mut Self>, amt: usize) {
                self.get_mut().$field.consume_at_most(amt);
            }
        }

        /// Copies the received bytes straight into the unfilled part of
        /// the `ReadBuf` (no zeroing, no extra buffer).
        #[cfg(feature = "tokio-io")]
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.get_mut().$field.poll_read_buf(cx, buf)
            }
        }

        /// As futures' `AsyncBufRead`: the bytes where they landed.
        #[cfg(feature = "tokio-io")]
        impl tokio::io::AsyncBufRead for $ty {
            fn poll_fill_buf(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<&[u8]>> {
                self.get_mut().$field.poll_fill_buf(cx)
            }

            fn consume(self: std::pin::Pin<&mut Self>, amt: usize) {
                self.get_mut().$field.consume_at_most(amt);
            }
        }
    };
}

/// Owned-buffer writes ([`OwnedWrite`](coring_runtime::io::OwnedWrite)),
/// `writable`, `AsWriteFd` and futures' `AsyncWrite` (tokio's too with
/// `tokio-io`) for a type with a `WriteState` field.
macro_rules! impl_write {
    ($ty:ty, $field:ident) => {
        impl coring_runtime::io::OwnedWrite for $ty {
            async fn write<B: coring_runtime::buf::IoBuf>(
                &mut self,
                buf: B,
            ) -> (std::io::Result<usize>, B) {
                self.$field.write(buf).await
            }

            async fn write_all<B: coring_runtime::buf::IoBuf>(
                &mut self,
                buf: B,
            ) -> (std::io::Result<()>, B) {
                self.$field.write_all(buf).await
            }

            /// One `sendmsg`.
            async fn writev<B: coring_runtime::buf::IoBuf>(
                &mut self,
                bufs: Vec<B>,
            ) -> (std::io::Result<usize>, Vec<B>) {
                self.$field.writev(bufs).await
            }
        }

        impl $ty {
            /// Waits until a write would not wait: bytes queued by
            /// `AsyncWrite` were sent, then the socket polls writable
            /// (`IORING_OP_POLL_ADD` with `POLLOUT`).
            pub async fn writable(&mut self) -> std::io::Result<()> {
                self.$field.writable().await
            }
        }

        impl coring_runtime::fd::AsWriteFd for $ty {
            /// The socket, for ops that send on it directly
            /// (`coring_fs::send_file`); `ResourceBusy` while a write
            /// queued by `poll_write` (or a shutdown) is still in flight.
            fn write_fd(&mut self) -> std::io::Result<&coring_runtime::fd::SharedFd> {
                self.$field.write_fd()
            }
        }

        impl futures::io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.get_mut().$field.poll_write(cx, buf)
            }

            /// Gathers the slices into one send (up to 64 KiB).
            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.get_mut().$field.poll_write_vectored(cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.get_mut().$field.poll_drain(cx)
            }

            /// Flushes, then shuts down the write direction.
            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.get_mut()
                    .$field
                    .poll_shutdown(cx, std::net::Shutdown::Write)
            }
        }

        /// The same write-behind as futures' `AsyncWrite`; vectored writes
        /// gather into one send; `poll_shutdown` flushes, then shuts down
        /// the write direction.
        #[cfg(feature = "tokio-io")]
        impl tokio::io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.get_mut().$field.poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.get_mut().$field.poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.get_mut().$field.poll_drain(cx)
            }

            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.get_mut()
                    .$field
                    .poll_shutdown(cx, std::net::Shutdown::Write)
            }
        }
    };
}

pub(crate) use impl_read;
pub(crate) use impl_write;
