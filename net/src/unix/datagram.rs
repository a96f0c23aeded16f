//! [`UnixDatagram`]: a Unix datagram socket.

use super::{label, path_addr, unix_addr};
use crate::{
    error::annotate,
    op::{Recv, RecvFrom, Send, SendTo},
};
use coring_runtime::{
    buf::{IoBuf, IoBufMut},
    fd::SharedFd,
    op::Op,
};
use socket2::{Domain, SockRef, Socket, Type};
use std::{
    fmt, io,
    os::{
        fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd},
        unix::net::SocketAddr,
    },
    path::Path,
};

/// A Unix datagram socket.
///
/// ```
/// # coring_runtime::Runtime::new()?.block_on(async {
/// let (a, b) = coring_net::UnixDatagram::pair()?;
/// let (res, _) = a.send(b"ping".as_slice()).await;
/// res?;
/// let (res, buf) = b.recv(vec![0u8; 16]).await;
/// assert_eq!(&buf[..res?], b"ping");
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixDatagram {
    fd: SharedFd,
    label: String,
}

impl UnixDatagram {
    /// A socket bound to `path` (a path with a NUL byte is an
    /// `InvalidInput` error, as in std).
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        let path = path.as_ref();
        let res = (|| {
            let socket = Socket::new(Domain::UNIX, Type::DGRAM, None)?;
            socket.bind(&path_addr(path)?)?;
            Ok::<_, io::Error>(socket)
        })();
        res.map(|s| UnixDatagram::from_owned(s.into()))
            .map_err(|e| annotate(e, "bind", &path.display()))
    }

    /// A socket bound to no address.
    pub fn unbound() -> io::Result<UnixDatagram> {
        Ok(UnixDatagram::from_owned(
            Socket::new(Domain::UNIX, Type::DGRAM, None)?.into(),
        ))
    }

    /// A connected pair of sockets.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = Socket::pair(Domain::UNIX, Type::DGRAM, None)?;
        Ok((
            UnixDatagram::from_owned(a.into()),
            UnixDatagram::from_owned(b.into()),
        ))
    }

    fn from_owned(fd: OwnedFd) -> UnixDatagram {
        let local = SockRef::from(&fd)
            .local_addr()
            .ok()
            .and_then(|a| a.as_unix());
        UnixDatagram {
            fd: SharedFd::new(fd),
            label: label(local.as_ref()),
        }
    }

    /// Sets the default peer for [`send`](UnixDatagram::send) and
    /// [`recv`](UnixDatagram::recv). A path with a NUL byte is an
    /// `InvalidInput` error.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path = path.as_ref();
        path_addr(path)
            .and_then(|a| SockRef::from(self).connect(&a))
            .map_err(|e| annotate(e, "connect", &path.display()))
    }

    /// Sends one datagram to the connected peer.
    pub async fn send<B: IoBuf>(&self, buf: B) -> (io::Result<usize>, B) {
        let (res, buf) = Op::new(Send::datagram(&self.fd, buf)).await;
        (res.map_err(|e| annotate(e, "send on", &self.label)), buf)
    }

    /// Receives one datagram into the start of `buf`.
    pub async fn recv<B: IoBufMut>(&self, buf: B) -> (io::Result<usize>, B) {
        let (res, buf) = Op::new(Recv::new(&self.fd, buf)).await;
        (res.map_err(|e| annotate(e, "recv on", &self.label)), buf)
    }

    /// Sends one datagram to the socket at `path` (a path with a NUL byte
    /// is an `InvalidInput` error).
    pub async fn send_to<B: IoBuf>(
        &self,
        buf: B,
        path: impl AsRef<Path>,
    ) -> (io::Result<usize>, B) {
        let path = path.as_ref();
        let addr = match path_addr(path) {
            Ok(a) => a,
            Err(e) => return (Err(annotate(e, "send to", &path.display())), buf),
        };
        let (res, buf) = Op::new(SendTo::new(&self.fd, buf, addr)).await;
        (
            res.map_err(|e| annotate(e, "send to", &path.display())),
            buf,
        )
    }

    /// Receives one datagram into the start of `buf`, with its sender.
    pub async fn recv_from<B: IoBufMut>(&self, buf: B) -> (io::Result<(usize, SocketAddr)>, B) {
        let (res, buf) = Op::new(RecvFrom::new(&self.fd, buf)).await;
        let res = res
            .map_err(|e| annotate(e, "recv_from on", &self.label))
            .and_then(|(n, a)| Ok((n, unix_addr(&a)?)));
        (res, buf)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        unix_addr(&SockRef::from(self).local_addr()?)
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        unix_addr(&SockRef::from(self).peer_addr()?)
    }

    /// Wraps a std socket.
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> UnixDatagram {
        UnixDatagram::from_owned(socket.into())
    }

    /// Gives the socket back as a std socket; fails (`ResourceBusy`) while
    /// an op on it is in flight.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        let label = self.label;
        self.fd.try_unwrap().map(Into::into).map_err(|_| {
            io::Error::new(
                io::ErrorKind::ResourceBusy,
                format!("into_std on {label}: an op is still in flight"),
            )
        })
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnixDatagram({})", self.label)
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.raw()
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl FromRawFd for UnixDatagram {
    /// # Safety
    ///
    /// `fd` must be an open Unix datagram socket owned by nothing else.
    unsafe fn from_raw_fd(fd: RawFd) -> Self {
        // SAFETY: per this function's contract.
        UnixDatagram::from_owned(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}
