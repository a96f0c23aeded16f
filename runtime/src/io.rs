//! Owned-buffer I/O traits: [`OwnedRead`] and [`OwnedWrite`].
//!
//! Streams (`coring::net::TcpStream`, `UnixStream` and their halves)
//! implement these *and* the poll-style `futures::io` traits (and tokio's
//! with the `tokio-io` feature). The owned-buffer methods are trait
//! methods, not inherent ones, so they never shadow `AsyncReadExt::read`
//! and friends: a file imports the style it uses.
//!
//! ```text
//! use coring::io::{OwnedRead, OwnedWrite}; // s.read(vec![0; 4096]).await -> (res, buf)
//! use futures::AsyncReadExt;               // s.read(&mut buf[..]).await  -> res
//! use tokio::io::AsyncReadExt;             // the same, with `tokio-io`
//! ```
//!
//! Importing both an owned trait and an `AsyncReadExt` in one scope makes
//! `s.read(..)` ambiguous (rustc says so and names both); call one by path
//! there, e.g. `OwnedRead::read(&mut s, buf)`.
//!
//! The futures are not `Send` (nothing in a coring core is); the methods
//! are written `-> impl Future` so implementors may use `async fn`.

use crate::buf::{IoBuf, IoBufMut};
use std::{future::Future, io};

/// Reads into buffers the caller hands over and gets back with the result:
/// `(io::Result<T>, B)`.
///
/// Implementations are cancel-safe: a read future dropped before it
/// finished loses no byte; the next read returns it.
pub trait OwnedRead {
    /// Reads into the start of `buf`, up to its capacity (`bytes_total`),
    /// and returns how many bytes were read (`0`: the peer closed its side)
    /// with the buffer.
    fn read<B: IoBufMut>(&mut self, buf: B) -> impl Future<Output = (io::Result<usize>, B)>;

    /// Reads until `buf` is full (its whole capacity). Ending early is an
    /// `UnexpectedEof` error.
    fn read_exact<B: IoBufMut>(&mut self, buf: B) -> impl Future<Output = (io::Result<()>, B)>;

    /// Reads into `bufs` in order (scatter), each up to its capacity;
    /// returns the total.
    fn readv<B: IoBufMut>(
        &mut self,
        bufs: Vec<B>,
    ) -> impl Future<Output = (io::Result<usize>, Vec<B>)>;
}

/// Writes buffers the caller hands over and gets back with the result.
pub trait OwnedWrite {
    /// Sends the initialized bytes of `buf`; returns how many were sent
    /// (possibly fewer) with the buffer.
    fn write<B: IoBuf>(&mut self, buf: B) -> impl Future<Output = (io::Result<usize>, B)>;

    /// Sends all initialized bytes of `buf`.
    fn write_all<B: IoBuf>(&mut self, buf: B) -> impl Future<Output = (io::Result<()>, B)>;

    /// Sends the initialized bytes of `bufs` in order with one gather
    /// write; returns how many were sent.
    fn writev<B: IoBuf>(
        &mut self,
        bufs: Vec<B>,
    ) -> impl Future<Output = (io::Result<usize>, Vec<B>)>;
}
