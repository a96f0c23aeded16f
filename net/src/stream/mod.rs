//! The machinery shared by connected stream sockets (TCP and Unix): the
//! receive side ([`ReadState`]), the send side ([`WriteState`]), and the
//! macros that give `TcpStream`, `UnixStream` and their halves the same
//! owned-buffer methods and `futures::io::{AsyncRead, AsyncWrite}` impls.
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

/// Owned-buffer reads, `AsyncRead` and `AsyncBufRead` for a type with a
/// `ReadState` field.
macro_rules! impl_read {
    ($ty:ty, $field:ident) => {
        impl $ty {
            /// Reads into the start of `buf`, up to its capacity
            /// (`bytes_total`), and returns how many bytes were read
            /// (`0`: the peer closed its side) with the buffer.
            ///
            /// Cancel-safe: if the future is dropped, no received byte is
            /// lost; the next read returns it.
            pub async fn read<B: coring_runtime::buf::IoBufMut>(
                &mut self,
                buf: B,
            ) -> (std::io::Result<usize>, B) {
                self.$field.read(buf).await
            }

            /// Reads until `buf` is full (its whole capacity). Ending early
            /// is an `UnexpectedEof` error.
            pub async fn read_exact<B: coring_runtime::buf::IoBufMut>(
                &mut self,
                buf: B,
            ) -> (std::io::Result<()>, B) {
                self.$field.read_exact(buf).await
            }

            /// Reads into `bufs` in order (scatter), each up to its
            /// capacity; returns the total.
            pub async fn readv<B: coring_runtime::buf::IoBufMut>(
                &mut self,
                bufs: Vec<B>,
            ) -> (std::io::Result<usize>, Vec<B>) {
                self.$field.readv(bufs).await
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
                let this = self.get_mut();
                futures::ready!(this.$field.poll_fill(cx))?;
                std::task::Poll::Ready(Ok(this.$field.available()))
            }

            fn consume(self: std::pin::Pin<&mut Self>, amt: usize) {
                let rd = &mut self.get_mut().$field;
                let amt = amt.min(rd.available().len());
                rd.consume(amt);
            }
        }
    };
}

/// Owned-buffer writes and `AsyncWrite` for a type with a `WriteState`
/// field.
macro_rules! impl_write {
    ($ty:ty, $field:ident) => {
        impl $ty {
            /// Sends the initialized bytes of `buf`; returns how many were
            /// sent (possibly fewer) with the buffer.
            pub async fn write<B: coring_runtime::buf::IoBuf>(
                &mut self,
                buf: B,
            ) -> (std::io::Result<usize>, B) {
                self.$field.write(buf).await
            }

            /// Sends all initialized bytes of `buf`.
            pub async fn write_all<B: coring_runtime::buf::IoBuf>(
                &mut self,
                buf: B,
            ) -> (std::io::Result<()>, B) {
                self.$field.write_all(buf).await
            }

            /// Sends the initialized bytes of `bufs` in order with one
            /// `sendmsg` (gather); returns how many were sent.
            pub async fn writev<B: coring_runtime::buf::IoBuf>(
                &mut self,
                bufs: Vec<B>,
            ) -> (std::io::Result<usize>, Vec<B>) {
                self.$field.writev(bufs).await
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
    };
}

pub(crate) use impl_read;
pub(crate) use impl_write;
