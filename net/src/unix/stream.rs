//! [`UnixStream`]: a connected Unix stream socket, with the same
//! owned-buffer I/O, `AsyncRead`/`AsyncWrite` and cancel-safety as
//! [`TcpStream`](crate::TcpStream).

use super::{label, path_addr, unix_addr};
use crate::{
    error::annotate,
    op::Connect,
    stream::{impl_read, impl_write, into_owned_fd, ReadState, RecvMode, WriteState},
};
use coring_runtime::{fd::SharedFd, op::Op};
use socket2::{Domain, SockRef, Socket, Type};
use std::{
    fmt, io,
    net::Shutdown,
    os::{
        fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd},
        unix::net::SocketAddr,
    },
    path::Path,
    rc::Rc,
};

/// A Unix stream connection.
///
/// ```
/// use coring_runtime::io::{OwnedRead, OwnedWrite};
/// # coring_runtime::Runtime::new()?.block_on(async {
/// let (mut a, mut b) = coring_net::UnixStream::pair()?;
/// let (res, _) = a.write_all(b"ping".as_slice()).await;
/// res?;
/// let (res, buf) = b.read_exact(vec![0u8; 4]).await;
/// res?;
/// assert_eq!(buf, b"ping");
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixStream {
    rd: ReadState,
    wr: WriteState,
}

impl UnixStream {
    pub(crate) fn from_parts(fd: OwnedFd, peer: Rc<str>) -> UnixStream {
        crate::stream::ensure_nonblocking(&fd);
        let fd = SharedFd::new(fd);
        UnixStream {
            rd: ReadState::new(fd.clone(), peer.clone(), RecvMode::Single),
            wr: WriteState::new(fd, peer),
        }
    }

    pub(crate) fn from_accepted(fd: OwnedFd) -> UnixStream {
        let peer = SockRef::from(&fd)
            .peer_addr()
            .ok()
            .and_then(|a| a.as_unix());
        let peer = label(peer.as_ref());
        UnixStream::from_parts(fd, peer.into())
    }

    /// Connects to the socket at `path` (a path with a NUL byte is an
    /// `InvalidInput` error, as in std).
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let path = path.as_ref();
        let res = async {
            let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
            let fd = SharedFd::new(socket.into());
            Op::new(Connect::new(&fd, path_addr(path)?)).await?;
            fd.try_unwrap()
                .map_err(|_| io::Error::other("connect op still holds the socket"))
        }
        .await;
        match res {
            Ok(fd) => Ok(UnixStream::from_parts(
                fd,
                path.display().to_string().into(),
            )),
            Err(e) => Err(annotate(e, "connect", &path.display())),
        }
    }

    /// A connected pair of sockets.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = Socket::pair(Domain::UNIX, Type::STREAM, None)?;
        let peer: Rc<str> = Rc::from("(socketpair peer)");
        Ok((
            UnixStream::from_parts(a.into(), peer.clone()),
            UnixStream::from_parts(b.into(), peer),
        ))
    }

    /// Shuts down reading, writing or both (queued `AsyncWrite` bytes are
    /// sent first).
    pub async fn shutdown(&mut self, how: Shutdown) -> io::Result<()> {
        if how == Shutdown::Read {
            return Op::new(crate::op::Shutdown::new(self.wr.fd(), how))
                .await
                .map_err(|e| annotate(e, "shutdown", self.rd.peer()));
        }
        futures::future::poll_fn(|cx| self.wr.poll_shutdown(cx, how)).await
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        unix_addr(&SockRef::from(self).local_addr()?)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        unix_addr(&SockRef::from(self).peer_addr()?)
    }

    /// Wraps a connected std stream.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> UnixStream {
        UnixStream::from_accepted(stream.into())
    }

    /// Gives the socket back as a std stream; fails (`ResourceBusy`) once
    /// a receive is armed or bytes are unread.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        into_owned_fd(self.rd, self.wr).map(Into::into)
    }
}

impl_read!(UnixStream, rd);
impl_write!(UnixStream, wr);

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnixStream(peer {})", self.rd.peer())
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.rd.fd().raw()
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.rd.fd().as_fd()
    }
}

impl FromRawFd for UnixStream {
    /// # Safety
    ///
    /// `fd` must be an open, connected Unix stream socket owned by nothing
    /// else.
    unsafe fn from_raw_fd(fd: RawFd) -> Self {
        // SAFETY: per this function's contract.
        UnixStream::from_accepted(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}
