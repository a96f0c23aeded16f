//! [`TcpStream`]: a connected TCP socket with owned-buffer I/O,
//! `AsyncRead`/`AsyncWrite`, and [`into_split`](TcpStream::into_split).

use super::{OwnedReadHalf, OwnedWriteHalf};
use crate::{
    error::{annotate, ip_addr, ip_addr_named, End},
    op::Connect,
    resolve::{describe, resolve, ToSocketAddrs},
    stream::{impl_read, impl_write, into_owned_fd, ReadState, RecvMode, WriteState},
};
use coring_runtime::{fd::SharedFd, op::Op};
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use std::{
    fmt, io,
    net::{Shutdown, SocketAddr},
    os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd},
    rc::Rc,
    time::Duration,
};

/// A TCP connection.
///
/// Reads come from a multishot receive into the runtime's provided buffer
/// ring (one SQE for the life of the stream) and are cancel-safe; writes
/// send the caller's buffer (`MSG_NOSIGNAL`: a closed peer is an `EPIPE`
/// error, not a signal). Errors name the peer address.
///
/// Owned-buffer methods (`read`, `write`, `read_exact`, `write_all`,
/// `readv`, `writev`, from the [`OwnedRead`](coring_runtime::io::OwnedRead)
/// and [`OwnedWrite`](coring_runtime::io::OwnedWrite) traits) take a buffer
/// and hand it back with the result; [`futures::io::AsyncRead`],
/// [`AsyncBufRead`](futures::io::AsyncBufRead) and
/// [`futures::io::AsyncWrite`] are implemented too, so futures-io codecs
/// work, and with the `tokio-io` feature tokio's `AsyncRead`,
/// `AsyncBufRead` and `AsyncWrite` (tokio-util codecs, tokio-rustls) (`AsyncWrite` buffers up to
/// 64 KiB per write and reports errors on the next write or flush; bytes it
/// reported written are still sent if the stream is dropped without a
/// flush, but their errors are then lost — flush or close to see them).
pub struct TcpStream {
    rd: ReadState,
    wr: WriteState,
}

impl TcpStream {
    pub(crate) fn from_parts(fd: OwnedFd, peer: Rc<str>) -> TcpStream {
        crate::stream::ensure_nonblocking(&fd);
        let fd = SharedFd::new(fd);
        TcpStream {
            rd: ReadState::new(fd.clone(), peer.clone(), RecvMode::Multishot),
            wr: WriteState::new(fd, peer),
        }
    }

    /// Wraps an accepted fd, looking up the peer for error messages.
    pub(crate) fn from_accepted(fd: OwnedFd) -> TcpStream {
        let peer = match SockRef::from(&fd)
            .peer_addr()
            .ok()
            .and_then(|a| a.as_socket())
        {
            Some(a) => a.to_string(),
            None => format!("fd {}", fd.as_raw_fd()),
        };
        TcpStream::from_parts(fd, peer.into())
    }

    /// Connects to `addr`, trying each resolved address in turn (host
    /// names are resolved off the executor thread). Errors name the
    /// address: `connect 127.0.0.1:1: Connection refused (os error 111)`.
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        let addrs = resolve(&addr)
            .await
            .map_err(|e| annotate(e, "connect", &describe(&addr)))?;
        let mut last = None;
        for a in addrs {
            match Self::connect_one(a).await {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(annotate(e, "connect", &a)),
            }
        }
        Err(last.expect("resolve returns at least one address"))
    }

    async fn connect_one(addr: SocketAddr) -> io::Result<TcpStream> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        let fd = SharedFd::new(socket.into());
        Op::new(Connect::new(&fd, addr.into())).await?;
        let fd = fd
            .try_unwrap()
            .map_err(|_| io::Error::other("connect op still holds the socket"))?;
        Ok(TcpStream::from_parts(fd, addr.to_string().into()))
    }

    /// [`connect`](TcpStream::connect) with a time limit over resolution and
    /// all attempts; running out is a `TimedOut` error naming the address.
    pub async fn connect_timeout<A: ToSocketAddrs>(
        addr: A,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        match coring_runtime::time::timeout(timeout, Self::connect(&addr)).await {
            Ok(res) => res,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connect {}: timed out after {timeout:?}", describe(&addr)),
            )),
        }
    }

    /// Shuts down reading, writing or both. Bytes queued by `AsyncWrite`
    /// are sent first.
    pub async fn shutdown(&mut self, how: Shutdown) -> io::Result<()> {
        if how == Shutdown::Read {
            return Op::new(crate::op::Shutdown::new(self.wr.fd(), how))
                .await
                .map_err(|e| annotate(e, "shutdown", self.rd.peer()));
        }
        futures::future::poll_fn(|cx| self.wr.poll_shutdown(cx, how)).await
    }

    /// Sets `TCP_NODELAY` (send small writes at once, no Nagle delay).
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        SockRef::from(self).set_tcp_nodelay(on)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        SockRef::from(self).tcp_nodelay()
    }

    /// Sets the time-to-live of outgoing packets: `IP_TTL` on an IPv4
    /// socket, `IPV6_UNICAST_HOPS` on an IPv6 one (std's `set_ttl` is
    /// IPv4 only).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        super::set_ttl(&SockRef::from(self), ttl)
    }

    /// The time-to-live of outgoing packets (see [`set_ttl`](Self::set_ttl)).
    pub fn ttl(&self) -> io::Result<u32> {
        super::ttl(&SockRef::from(self))
    }

    /// Sets `SO_LINGER`: `Some(d)` makes close wait up to `d` for unsent
    /// data (`Some(0)`: close resets the connection), `None` is the default
    /// (close returns at once, the kernel sends what is left).
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        SockRef::from(self).set_linger(linger)
    }

    /// The `SO_LINGER` setting.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        SockRef::from(self).linger()
    }

    /// Turns `SO_KEEPALIVE` on or off, with the system's probe timing.
    pub fn set_keepalive(&self, on: bool) -> io::Result<()> {
        SockRef::from(self).set_keepalive(on)
    }

    /// Whether `SO_KEEPALIVE` is on.
    pub fn keepalive(&self) -> io::Result<bool> {
        SockRef::from(self).keepalive()
    }

    /// Turns keepalive on with the given timing (idle time before the
    /// first probe, interval, retries; unset fields keep the system's):
    ///
    /// ```no_run
    /// # async fn f(s: coring_net::TcpStream) -> std::io::Result<()> {
    /// use coring_net::TcpKeepalive;
    /// use std::time::Duration;
    /// s.set_tcp_keepalive(
    ///     &TcpKeepalive::new()
    ///         .with_time(Duration::from_secs(60))
    ///         .with_interval(Duration::from_secs(10))
    ///         .with_retries(3),
    /// )?;
    /// # Ok(()) }
    /// ```
    pub fn set_tcp_keepalive(&self, params: &socket2::TcpKeepalive) -> io::Result<()> {
        SockRef::from(self).set_tcp_keepalive(params)
    }

    /// Idle time before the first keepalive probe (`TCP_KEEPIDLE`).
    pub fn keepalive_time(&self) -> io::Result<Duration> {
        SockRef::from(self).tcp_keepalive_time()
    }

    /// Time between keepalive probes (`TCP_KEEPINTVL`).
    pub fn keepalive_interval(&self) -> io::Result<Duration> {
        SockRef::from(self).tcp_keepalive_interval()
    }

    /// Unanswered probes before the connection is dropped (`TCP_KEEPCNT`).
    pub fn keepalive_retries(&self) -> io::Result<u32> {
        SockRef::from(self).tcp_keepalive_retries()
    }

    /// Sets `SO_RCVBUF` (the kernel doubles the value for its bookkeeping
    /// and clamps it to `net.core.rmem_max`; read it back to see what
    /// applies).
    pub fn set_recv_buffer_size(&self, size: usize) -> io::Result<()> {
        SockRef::from(self).set_recv_buffer_size(size)
    }

    /// The `SO_RCVBUF` size in effect.
    pub fn recv_buffer_size(&self) -> io::Result<usize> {
        SockRef::from(self).recv_buffer_size()
    }

    /// Sets `SO_SNDBUF` (doubled and clamped to `net.core.wmem_max` by
    /// the kernel, as for [`set_recv_buffer_size`](Self::set_recv_buffer_size)).
    pub fn set_send_buffer_size(&self, size: usize) -> io::Result<()> {
        SockRef::from(self).set_send_buffer_size(size)
    }

    /// The `SO_SNDBUF` size in effect.
    pub fn send_buffer_size(&self) -> io::Result<usize> {
        SockRef::from(self).send_buffer_size()
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        ip_addr_named(self, End::Peer, "peer_addr of", self.rd.peer())
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        ip_addr(self, End::Local)
    }

    /// Splits into a read half and a write half that can move to
    /// different tasks; each keeps the socket open.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        (OwnedReadHalf::new(self.rd), OwnedWriteHalf::new(self.wr))
    }

    /// Wraps a connected std stream.
    pub fn from_std(stream: std::net::TcpStream) -> TcpStream {
        TcpStream::from_accepted(stream.into())
    }

    /// Gives the socket back as a std stream. Fails (`ResourceBusy`) if a
    /// receive is armed, received bytes are unread, or a send is in flight:
    /// convert before doing I/O on the stream.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        into_owned_fd(self.rd, self.wr).map(Into::into)
    }
}

impl_read!(TcpStream, rd);
impl_write!(TcpStream, wr);

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TcpStream(peer {})", self.rd.peer())
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.rd.fd().raw()
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.rd.fd().as_fd()
    }
}

impl FromRawFd for TcpStream {
    /// # Safety
    ///
    /// `fd` must be an open, connected TCP socket owned by nothing else.
    unsafe fn from_raw_fd(fd: RawFd) -> Self {
        // SAFETY: per this function's contract.
        TcpStream::from_accepted(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}
