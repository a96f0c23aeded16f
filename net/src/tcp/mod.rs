//! TCP: [`TcpListener`] (with [`TcpListenerBuilder`] and the multishot
//! [`Incoming`] stream), [`TcpStream`], and its owned halves
//! ([`OwnedReadHalf`], [`OwnedWriteHalf`]).

mod listener;
mod sharded;
mod split;
mod stream;

pub use listener::{Incoming, TcpListener, TcpListenerBuilder};
pub use split::{OwnedReadHalf, OwnedWriteHalf};
pub use stream::TcpStream;

/// `IP_TTL` or `IPV6_UNICAST_HOPS`, by the socket's family.
pub(crate) fn set_ttl(s: &socket2::SockRef<'_>, ttl: u32) -> std::io::Result<()> {
    if is_v6(s)? {
        s.set_unicast_hops_v6(ttl)
    } else {
        s.set_ttl_v4(ttl)
    }
}

pub(crate) fn ttl(s: &socket2::SockRef<'_>) -> std::io::Result<u32> {
    if is_v6(s)? {
        s.unicast_hops_v6()
    } else {
        s.ttl_v4()
    }
}

fn is_v6(s: &socket2::SockRef<'_>) -> std::io::Result<bool> {
    Ok(s.local_addr()?.is_ipv6())
}
