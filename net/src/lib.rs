//! coring-net: TCP, UDP and Unix sockets over io_uring.
//!
//! - [`TcpListener`] (bind options in [`TcpListenerBuilder`]; `accept`, and
//!   [`incoming`](TcpListener::incoming) on one multishot accept),
//!   [`TcpStream`] (`connect`, `connect_timeout`, owned-buffer I/O,
//!   `AsyncRead`/`AsyncWrite` — futures' and, with `tokio-io`, tokio's —
//!   [`into_split`](TcpStream::into_split); see [I/O styles](#io-styles)).
//! - [`UdpSocket`]; [`UnixListener`], [`UnixStream`], [`UnixDatagram`].
//! - With feature `hyper`: hyper 1's `rt::Read`/`rt::Write` on the streams
//!   ([`hyper_io`]).
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
//!
//! # I/O styles
//!
//! Streams ([`TcpStream`], [`UnixStream`], [`OwnedReadHalf`],
//! [`OwnedWriteHalf`]) offer two styles over the same receive buffer, so
//! they mix on one stream without losing or reordering bytes:
//!
//! - owned buffers: `read(buf)`, `write_all(buf)`, … from
//!   [`coring_runtime::io::OwnedRead`] and
//!   [`OwnedWrite`](coring_runtime::io::OwnedWrite) (`coring::io` in the
//!   facade); the buffer comes back with the result;
//! - poll traits: futures-io's `AsyncRead`, `AsyncBufRead`, `AsyncWrite`
//!   always, and tokio's with the **`tokio-io`** feature, so
//!   `futures::AsyncReadExt`/`tokio::io::AsyncReadExt` give the familiar
//!   `read(&mut buf)`.
//!
//! Import the style a module uses; a scope that imports both an owned
//! trait and an `AsyncReadExt` calls one of them by path.
//!
//! With `tokio-io`, crates that only use tokio's I/O traits run on these
//! streams: tokio-util's codecs (`Framed`, tested with `LinesCodec`),
//! tokio-rustls (tested), tokio's `io-util` helpers and `tokio::select!`
//! (tested), and — by their signatures, untested here — tokio-native-tls,
//! tokio-tungstenite's `client_async`/`accept_async`, async-compression's
//! tokio codecs. Crates that call `tokio::spawn`, `tokio::time`,
//! `tokio::net` or need a tokio reactor do not (they panic with "no
//! reactor running" or open tokio sockets of their own). The README's
//! "Coming from tokio" section maps tokio's API to coring's.
//!
//! Also on streams: `peek` (consistent with bytes already received),
//! `readable`/`writable` (poll-based readiness), and on [`TcpStream`] TTL,
//! linger, keepalive ([`TcpKeepalive`]) and socket buffer sizes.
#![deny(missing_docs)]
#![warn(unreachable_pub)]
#![deny(unsafe_op_in_unsafe_fn)]

mod accept;
mod buf_ring;
mod error;
#[cfg(feature = "hyper")]
pub mod hyper_io;
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
