//! [`TcpListener`]: a listening TCP socket, its [`TcpListenerBuilder`]
//! (SO_REUSEADDR on, SO_REUSEPORT and backlog optional), single-shot
//! `accept` and the multishot [`Incoming`] stream.

use super::TcpStream;
use crate::{
    accept::{Acceptor, RawIncoming},
    error::{annotate, ip_addr, End},
    resolve::{describe, resolve, ToSocketAddrs},
};
use coring_runtime::fd::SharedFd;
use futures::Stream;
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use std::{
    fmt, io,
    net::SocketAddr,
    os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd},
    pin::Pin,
    task::{Context, Poll},
};

/// A TCP socket listening for connections.
///
/// ```
/// # coring_runtime::Runtime::new()?.block_on(async {
/// use coring_net::{TcpListener, TcpStream};
/// use coring_runtime::io::{OwnedRead, OwnedWrite};
///
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let client = coring_runtime::spawn(async move { TcpStream::connect(addr).await });
/// let (mut conn, peer) = listener.accept().await?;
/// let (res, _) = conn.write_all(b"hi".as_slice()).await;
/// res?;
/// let mut client = client.await??;
/// assert_eq!(client.local_addr()?, peer);
/// let (res, buf) = client.read_exact(vec![0u8; 2]).await;
/// res?;
/// assert_eq!(buf, b"hi");
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpListener {
    acceptor: Acceptor,
}

/// Options for [`TcpListener`]: `SO_REUSEADDR` is always on.
#[derive(Debug, Clone)]
pub struct TcpListenerBuilder {
    reuse_port: bool,
    backlog: i32,
    only_v6: Option<bool>,
}

impl Default for TcpListenerBuilder {
    fn default() -> Self {
        TcpListenerBuilder {
            reuse_port: false,
            backlog: 1024,
            only_v6: None,
        }
    }
}

impl TcpListenerBuilder {
    /// Sets `SO_REUSEPORT`, so several listeners (one per core) can bind
    /// the same address and the kernel spreads connections over them.
    pub fn reuse_port(&mut self, on: bool) -> &mut Self {
        self.reuse_port = on;
        self
    }

    /// The listen backlog (default 1024; the kernel caps it at
    /// `net.core.somaxconn`).
    pub fn backlog(&mut self, backlog: u32) -> &mut Self {
        self.backlog = backlog.min(i32::MAX as u32) as i32;
        self
    }

    /// For IPv6 addresses: accept only IPv6 (`IPV6_V6ONLY`).
    pub fn only_v6(&mut self, on: bool) -> &mut Self {
        self.only_v6 = Some(on);
        self
    }

    /// Binds to the first address that works and listens. Errors name the
    /// address (`bind 127.0.0.1:80: Address already in use`).
    pub async fn bind<A: ToSocketAddrs>(&self, addr: A) -> io::Result<TcpListener> {
        let addrs = resolve(&addr)
            .await
            .map_err(|e| annotate(e, "bind", &describe(&addr)))?;
        let mut last = None;
        for a in addrs {
            match self.bind_one(a) {
                Ok(l) => return Ok(l),
                Err(e) => last = Some(annotate(e, "bind", &a)),
            }
        }
        Err(last.expect("resolve returns at least one address"))
    }

    pub(super) fn bind_one(&self, addr: SocketAddr) -> io::Result<TcpListener> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        if self.reuse_port {
            socket.set_reuse_port(true)?;
        }
        if let (Some(on), SocketAddr::V6(_)) = (self.only_v6, addr) {
            socket.set_only_v6(on)?;
        }
        socket.bind(&addr.into())?;
        socket.listen(self.backlog)?;
        Ok(TcpListener::from_owned(socket.into()))
    }
}

impl TcpListener {
    /// Binds a listener with the default options (`SO_REUSEADDR`, backlog
    /// 1024). Host names are resolved off the executor thread.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        TcpListenerBuilder::default().bind(addr).await
    }

    /// Options: `TcpListener::builder().reuse_port(true).backlog(4096).bind(addr)`.
    pub fn builder() -> TcpListenerBuilder {
        TcpListenerBuilder::default()
    }

    fn from_owned(fd: OwnedFd) -> TcpListener {
        let label = SockRef::from(&fd)
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .map_or_else(|| format!("fd {}", fd.as_raw_fd()), |a| a.to_string());
        TcpListener {
            acceptor: Acceptor::new(SharedFd::new(fd), label),
        }
    }

    /// Accepts one connection. After running out of file descriptors
    /// (`EMFILE`) it returns that error and the next call waits a growing
    /// delay before trying again, so a retrying loop does not spin.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (fd, addr) = self.acceptor.accept().await?;
        let addr = addr.as_socket().ok_or_else(|| {
            io::Error::other(format!(
                "accept on {}: peer address is not an IP address",
                self.acceptor.label()
            ))
        })?;
        Ok((TcpStream::from_parts(fd, addr.to_string().into()), addr))
    }

    /// A stream of accepted connections from one multishot accept (one SQE
    /// for any number of connections). Running out of descriptors or
    /// memory is logged and waited out with back-off, and connections that
    /// failed before being accepted are skipped; any other error is
    /// yielded and ends the stream.
    ///
    /// ```no_run
    /// # coring_runtime::Runtime::new()?.block_on(async {
    /// use coring_runtime::io::OwnedWrite;
    /// use futures::StreamExt;
    /// let listener = coring_net::TcpListener::bind("0.0.0.0:8080").await?;
    /// let mut incoming = listener.incoming();
    /// while let Some(conn) = incoming.next().await {
    ///     let mut conn = conn?;
    ///     coring_runtime::spawn(async move {
    ///         let (_res, _buf) = conn.write_all(b"hello\n").await;
    ///     });
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming {
            raw: self.acceptor.incoming(),
        }
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        ip_addr(self, End::Local)
    }

    /// Sets the time-to-live of the packets it sends (`IP_TTL`, or
    /// `IPV6_UNICAST_HOPS` for IPv6); accepted streams inherit it.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        super::set_ttl(&SockRef::from(self), ttl)
    }

    /// The time-to-live (see [`set_ttl`](Self::set_ttl)).
    pub fn ttl(&self) -> io::Result<u32> {
        super::ttl(&SockRef::from(self))
    }

    /// Wraps a listening std listener.
    pub fn from_std(listener: std::net::TcpListener) -> TcpListener {
        TcpListener::from_owned(listener.into())
    }

    /// Gives the listener back as a std listener. Fails if an accept is
    /// still in flight.
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        let label = self.acceptor.label().to_owned();
        match self.acceptor.into_fd().try_unwrap() {
            Ok(fd) => Ok(fd.into()),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::ResourceBusy,
                format!("into_std on {label}: an accept is still in flight"),
            )),
        }
    }
}

/// Connections accepted by [`TcpListener::incoming`].
pub struct Incoming<'a> {
    raw: RawIncoming<'a>,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        this.raw
            .poll_next_fd(cx)
            .map(|o| o.map(|r| r.map(TcpStream::from_accepted)))
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TcpListener({})", self.acceptor.label())
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.acceptor.fd().raw()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.acceptor.fd().as_fd()
    }
}

impl FromRawFd for TcpListener {
    /// # Safety
    ///
    /// `fd` must be an open, listening TCP socket owned by nothing else.
    unsafe fn from_raw_fd(fd: RawFd) -> Self {
        // SAFETY: per this function's contract.
        TcpListener::from_owned(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

impl std::fmt::Debug for Incoming<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incoming").finish_non_exhaustive()
    }
}
