//! [`OwnedReadHalf`] and [`OwnedWriteHalf`]: the two directions of a
//! [`TcpStream`](super::TcpStream), usable from two tasks.

use crate::stream::{impl_read, impl_write, ReadState, WriteState};
use std::{
    fmt, io,
    net::{Shutdown, SocketAddr},
    os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd},
};

/// The read direction of a split [`TcpStream`](super::TcpStream).
pub struct OwnedReadHalf {
    rd: ReadState,
}

/// The write direction of a split [`TcpStream`](super::TcpStream).
/// Dropping it does not shut the socket down; call
/// [`shutdown`](OwnedWriteHalf::shutdown) to send FIN.
pub struct OwnedWriteHalf {
    wr: WriteState,
}

impl OwnedReadHalf {
    pub(crate) fn new(rd: ReadState) -> Self {
        OwnedReadHalf { rd }
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        crate::error::ip_addr(self, crate::error::End::Peer)
    }
}

impl OwnedWriteHalf {
    pub(crate) fn new(wr: WriteState) -> Self {
        OwnedWriteHalf { wr }
    }

    /// Sends queued bytes, then shuts down the write direction (the peer
    /// reads end of stream).
    pub async fn shutdown(&mut self) -> io::Result<()> {
        futures::future::poll_fn(|cx| self.wr.poll_shutdown(cx, Shutdown::Write)).await
    }
}

impl_read!(OwnedReadHalf, rd);
impl_write!(OwnedWriteHalf, wr);

impl fmt::Debug for OwnedReadHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OwnedReadHalf(peer {})", self.rd.peer())
    }
}

impl fmt::Debug for OwnedWriteHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OwnedWriteHalf(fd {})", self.wr.fd().raw())
    }
}

impl AsRawFd for OwnedReadHalf {
    fn as_raw_fd(&self) -> RawFd {
        self.rd.fd().raw()
    }
}

impl AsFd for OwnedReadHalf {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.rd.fd().as_fd()
    }
}

impl AsRawFd for OwnedWriteHalf {
    fn as_raw_fd(&self) -> RawFd {
        self.wr.fd().raw()
    }
}
