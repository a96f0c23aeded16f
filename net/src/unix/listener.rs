//! [`UnixListener`]: a listening Unix stream socket, single-shot `accept`
//! and the multishot [`UnixIncoming`] stream.

use super::{label, path_addr, unix_addr, UnixStream};
use crate::{
    accept::{Acceptor, RawIncoming},
    error::annotate,
};
use coring_runtime::fd::SharedFd;
use futures::Stream;
use socket2::{Domain, SockRef, Socket, Type};
use std::{
    fmt, io,
    os::{
        fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd},
        unix::net::SocketAddr,
    },
    path::Path,
    pin::Pin,
    task::{Context, Poll},
};

/// A Unix stream socket listening for connections.
pub struct UnixListener {
    acceptor: Acceptor,
}

impl UnixListener {
    /// Binds to `path` (which must not exist) and listens (backlog 1024).
    /// A path with a NUL byte is an `InvalidInput` error, as in std.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let path = path.as_ref();
        let res = (|| {
            let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
            socket.bind(&path_addr(path)?)?;
            socket.listen(1024)?;
            Ok::<_, io::Error>(socket)
        })();
        res.map(|s| UnixListener::from_owned(s.into()))
            .map_err(|e| annotate(e, "bind", &path.display()))
    }

    fn from_owned(fd: OwnedFd) -> UnixListener {
        let local = SockRef::from(&fd)
            .local_addr()
            .ok()
            .and_then(|a| a.as_unix());
        UnixListener {
            acceptor: Acceptor::new(SharedFd::new(fd), label(local.as_ref())),
        }
    }

    /// Accepts one connection; backs off after `EMFILE` like
    /// [`TcpListener::accept`](crate::TcpListener::accept).
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (fd, addr) = self.acceptor.accept().await?;
        let addr = unix_addr(&addr)?;
        let peer = label(Some(&addr));
        Ok((UnixStream::from_parts(fd, peer.into()), addr))
    }

    /// Accepted connections from one multishot accept; see
    /// [`TcpListener::incoming`](crate::TcpListener::incoming).
    pub fn incoming(&self) -> UnixIncoming<'_> {
        UnixIncoming {
            raw: self.acceptor.incoming(),
        }
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        unix_addr(&SockRef::from(self).local_addr()?)
    }

    /// Wraps a listening std listener.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> UnixListener {
        UnixListener::from_owned(listener.into())
    }

    /// Gives the listener back as a std listener; fails while an accept is
    /// in flight.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        let label = self.acceptor.label().to_owned();
        self.acceptor
            .into_fd()
            .try_unwrap()
            .map(Into::into)
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::ResourceBusy,
                    format!("into_std on {label}: an accept is still in flight"),
                )
            })
    }
}

/// Connections accepted by [`UnixListener::incoming`].
pub struct UnixIncoming<'a> {
    raw: RawIncoming<'a>,
}

impl Stream for UnixIncoming<'_> {
    type Item = io::Result<UnixStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut()
            .raw
            .poll_next_fd(cx)
            .map(|o| o.map(|r| r.map(UnixStream::from_accepted)))
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnixListener({})", self.acceptor.label())
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.acceptor.fd().raw()
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.acceptor.fd().as_fd()
    }
}

impl FromRawFd for UnixListener {
    /// # Safety
    ///
    /// `fd` must be an open, listening Unix stream socket owned by nothing
    /// else.
    unsafe fn from_raw_fd(fd: RawFd) -> Self {
        // SAFETY: per this function's contract.
        UnixListener::from_owned(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

impl std::fmt::Debug for UnixIncoming<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixIncoming").finish_non_exhaustive()
    }
}
