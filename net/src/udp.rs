//! [`UdpSocket`]: UDP over io_uring (send/recv on a connected socket,
//! send_to/recv_from with `sendmsg`/`recvmsg`).

use crate::{
    error::{annotate, ip_addr, End},
    op::{Recv, RecvFrom, Send, SendTo},
    resolve::{describe, resolve, ToSocketAddrs},
};
use coring_runtime::{
    buf::{IoBuf, IoBufMut},
    fd::SharedFd,
    op::Op,
};
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use std::{
    fmt, io,
    net::SocketAddr,
    os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd},
};

/// A UDP socket.
///
/// ```
/// # coring_runtime::Runtime::new()?.block_on(async {
/// use coring_net::UdpSocket;
/// let a = UdpSocket::bind("127.0.0.1:0").await?;
/// let b = UdpSocket::bind("127.0.0.1:0").await?;
/// let (res, _) = a.send_to(b"ping".as_slice(), b.local_addr()?).await;
/// res?;
/// let (res, buf) = b.recv_from(vec![0u8; 64]).await;
/// let (n, from) = res?;
/// assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UdpSocket {
    fd: SharedFd,
    label: String,
}

impl UdpSocket {
    /// Binds to the first address that works.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        let addrs = resolve(&addr)
            .await
            .map_err(|e| annotate(e, "bind", &describe(&addr)))?;
        let mut last = None;
        for a in addrs {
            let res = Socket::new(Domain::for_address(a), Type::DGRAM, Some(Protocol::UDP))
                .and_then(|s| s.bind(&a.into()).map(|()| s));
            match res {
                Ok(s) => return Ok(UdpSocket::from_owned(s.into())),
                Err(e) => last = Some(annotate(e, "bind", &a)),
            }
        }
        Err(last.expect("resolve returns at least one address"))
    }

    fn from_owned(fd: OwnedFd) -> UdpSocket {
        let label = SockRef::from(&fd)
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .map_or_else(|| format!("fd {}", fd.as_raw_fd()), |a| a.to_string());
        UdpSocket {
            fd: SharedFd::new(fd),
            label,
        }
    }

    /// Sets the default peer for [`send`](UdpSocket::send) and
    /// [`recv`](UdpSocket::recv) (and filters what is received).
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        let addrs = resolve(&addr)
            .await
            .map_err(|e| annotate(e, "connect", &describe(&addr)))?;
        let mut last = None;
        for a in addrs {
            match SockRef::from(self).connect(&a.into()) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(annotate(e, "connect", &a)),
            }
        }
        Err(last.expect("resolve returns at least one address"))
    }

    fn error(&self, e: io::Error, op: &str) -> io::Error {
        let peer = SockRef::from(self)
            .peer_addr()
            .ok()
            .and_then(|a| a.as_socket());
        match peer {
            Some(p) => annotate(e, op, &p),
            None => annotate(e, op, &self.label),
        }
    }

    /// Sends one datagram to the connected peer.
    pub async fn send<B: IoBuf>(&self, buf: B) -> (io::Result<usize>, B) {
        let (res, buf) = Op::new(Send::datagram(&self.fd, buf)).await;
        (res.map_err(|e| self.error(e, "send to")), buf)
    }

    /// Receives one datagram from the connected peer into the start of
    /// `buf` (a longer datagram is truncated).
    pub async fn recv<B: IoBufMut>(&self, buf: B) -> (io::Result<usize>, B) {
        let (res, buf) = Op::new(Recv::new(&self.fd, buf)).await;
        (res.map_err(|e| self.error(e, "recv from")), buf)
    }

    /// Sends one datagram to `addr` (the first address it resolves to).
    pub async fn send_to<B: IoBuf, A: ToSocketAddrs>(
        &self,
        buf: B,
        addr: A,
    ) -> (io::Result<usize>, B) {
        let target = match resolve(&addr).await {
            Ok(a) => a[0],
            Err(e) => return (Err(annotate(e, "send to", &describe(&addr))), buf),
        };
        let (res, buf) = Op::new(SendTo::new(&self.fd, buf, target.into())).await;
        (res.map_err(|e| annotate(e, "send to", &target)), buf)
    }

    /// Receives one datagram into the start of `buf`, with its sender.
    pub async fn recv_from<B: IoBufMut>(&self, buf: B) -> (io::Result<(usize, SocketAddr)>, B) {
        let (res, buf) = Op::new(RecvFrom::new(&self.fd, buf)).await;
        let res = res
            .map_err(|e| annotate(e, "recv_from on", &self.label))
            .and_then(|(n, a)| match a.as_socket() {
                Some(a) => Ok((n, a)),
                None => Err(annotate(
                    io::Error::other("sender is not an IP address"),
                    "recv_from on",
                    &self.label,
                )),
            });
        (res, buf)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        ip_addr(self, End::Local)
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        ip_addr(self, End::Peer)
    }

    /// Sets the time-to-live of outgoing datagrams (`IP_TTL`, or
    /// `IPV6_UNICAST_HOPS` for IPv6).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        crate::tcp::set_ttl(&SockRef::from(self), ttl)
    }

    /// The time-to-live (see [`set_ttl`](Self::set_ttl)).
    pub fn ttl(&self) -> io::Result<u32> {
        crate::tcp::ttl(&SockRef::from(self))
    }

    /// Sets `SO_BROADCAST` (sending to broadcast addresses).
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        SockRef::from(self).set_broadcast(on)
    }

    /// Wraps a std socket.
    pub fn from_std(socket: std::net::UdpSocket) -> UdpSocket {
        UdpSocket::from_owned(socket.into())
    }

    /// Gives the socket back as a std socket; fails (`ResourceBusy`) while
    /// an op on it is in flight.
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        let label = self.label;
        self.fd.try_unwrap().map(Into::into).map_err(|_| {
            io::Error::new(
                io::ErrorKind::ResourceBusy,
                format!("into_std on {label}: an op is still in flight"),
            )
        })
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UdpSocket({})", self.label)
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.raw()
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl FromRawFd for UdpSocket {
    /// # Safety
    ///
    /// `fd` must be an open UDP socket owned by nothing else.
    unsafe fn from_raw_fd(fd: RawFd) -> Self {
        // SAFETY: per this function's contract.
        UdpSocket::from_owned(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}
