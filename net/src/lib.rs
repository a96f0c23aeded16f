//! coring-net: TCP, UDP and Unix sockets over io_uring.
//!
//! - [`TcpListener`] (bind options in [`TcpListenerBuilder`]; `accept`, and
//!   [`incoming`](TcpListener::incoming) on one multishot accept),
//!   [`TcpStream`] (`connect`, `connect_timeout`, owned-buffer I/O,
//!   `AsyncRead`/`AsyncWrite`, [`into_split`](TcpStream::into_split)).
//! - [`UdpSocket`]; [`UnixListener`], [`UnixStream`], [`UnixDatagram`].
//!
//! How it is fast: a stream's reads come from one multishot receive that
//! stays armed for the life of the stream, filling buffers from a provided
//! buffer ring registered once per runtime; a read costs no SQE and no poll
//! arming, only a completion and a copy out. Sends are single SQEs
//! submitted in batches with everything else in the loop turn.
//!
//! How it is hard to misuse: buffers are owned (`(io::Result<T>, B)`),
//! reads are cancel-safe (the stream, not the future, owns in-flight state),
//! sends never raise `SIGPIPE`, accept loops back off when out of fds, and
//! every error names the address it happened on while keeping its
//! [`io::ErrorKind`](std::io::ErrorKind).
//!
//! ```
//! use coring_net::{TcpListener, TcpStream};
//! use coring_runtime::{buf::IoBuf, io::{OwnedRead, OwnedWrite}};
//! use futures::StreamExt;
//!
//! coring_runtime::Runtime::new()?.block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     coring_runtime::spawn(async move {
//!         let mut incoming = listener.incoming();
//!         while let Some(Ok(mut conn)) = incoming.next().await {
//!             coring_runtime::spawn(async move {
//!                 let mut buf = vec![0u8; 4096];
//!                 loop {
//!                     let (res, b) = conn.read(buf).await;
//!                     let n = match res { Ok(0) | Err(_) => return, Ok(n) => n };
//!                     let (res, b) = conn.write_all(b.slice(..n)).await;
//!                     buf = b.into_inner();
//!                     if res.is_err() { return }
//!                 }
//!             });
//!         }
//!     });
//!     let mut client = TcpStream::connect(addr).await?;
//!     let (res, _) = client.write_all(b"echo".as_slice()).await;
//!     res?;
//!     let (res, buf) = client.read_exact(vec![0u8; 4]).await;
//!     res?;
//!     assert_eq!(buf, b"echo");
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
#![deny(missing_docs)]
#![warn(unreachable_pub)]
#![deny(unsafe_op_in_unsafe_fn)]

mod accept;
mod buf_ring;
mod error;
mod op;
mod resolve;
mod stream;
mod tcp;
mod udp;
mod unix;

pub use error::AddrError;
pub use resolve::ToSocketAddrs;
/// socket2's keepalive timing, for
/// [`TcpStream::set_tcp_keepalive`](TcpStream::set_tcp_keepalive).
pub use socket2::TcpKeepalive;
pub use tcp::{
    Incoming, OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpListenerBuilder, TcpStream,
};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixIncoming, UnixListener, UnixStream};
