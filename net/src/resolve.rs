//! Address resolution: the [`ToSocketAddrs`] trait taken by `connect`,
//! `bind` and `send_to`. Literal addresses are parsed inline; host names
//! are looked up with `std::net::ToSocketAddrs` on the runtime's blocking
//! pool, so the executor never blocks in `getaddrinfo`.

use std::{
    io,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6},
};

/// Something that names one or more socket addresses: a [`SocketAddr`],
/// `(IpAddr, u16)`, `"127.0.0.1:80"`, `("example.com", 80)`, a `String`, or
/// a slice of addresses. Host names are resolved off the executor thread.
pub trait ToSocketAddrs: sealed::Sealed {}

pub(crate) mod sealed {
    use super::*;

    /// What an address argument turns into.
    #[derive(Debug)]
    pub enum Resolve {
        /// Already known.
        Done(Vec<SocketAddr>),
        /// A `host:port` string to look up.
        Lookup(String),
    }

    /// Hidden conversion behind [`ToSocketAddrs`](super::ToSocketAddrs).
    pub trait Sealed {
        /// Parses literals; names are left for a lookup.
        fn to_resolve(&self) -> Resolve;
    }
}

use sealed::{Resolve, Sealed};

macro_rules! literal {
    ($($t:ty),*) => {$(
        impl ToSocketAddrs for $t {}
        impl Sealed for $t {
            fn to_resolve(&self) -> Resolve {
                Resolve::Done(vec![SocketAddr::from(*self)])
            }
        }
    )*};
}

literal!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl ToSocketAddrs for str {}
impl Sealed for str {
    fn to_resolve(&self) -> Resolve {
        match self.parse::<SocketAddr>() {
            Ok(a) => Resolve::Done(vec![a]),
            Err(_) => Resolve::Lookup(self.to_owned()),
        }
    }
}

impl ToSocketAddrs for String {}
impl Sealed for String {
    fn to_resolve(&self) -> Resolve {
        self.as_str().to_resolve()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl Sealed for (&str, u16) {
    fn to_resolve(&self) -> Resolve {
        match self.0.parse::<IpAddr>() {
            Ok(ip) => Resolve::Done(vec![SocketAddr::new(ip, self.1)]),
            Err(_) => Resolve::Lookup(format!("{}:{}", self.0, self.1)),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl Sealed for (String, u16) {
    fn to_resolve(&self) -> Resolve {
        (self.0.as_str(), self.1).to_resolve()
    }
}

impl ToSocketAddrs for [SocketAddr] {}
impl Sealed for [SocketAddr] {
    fn to_resolve(&self) -> Resolve {
        Resolve::Done(self.to_vec())
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: Sealed + ?Sized> Sealed for &T {
    fn to_resolve(&self) -> Resolve {
        (**self).to_resolve()
    }
}

/// Resolves `addr` to a non-empty list of addresses. Errors name the
/// address that failed to resolve.
pub(crate) async fn resolve<A: ToSocketAddrs + ?Sized>(addr: &A) -> io::Result<Vec<SocketAddr>> {
    let addrs = match addr.to_resolve() {
        Resolve::Done(addrs) => addrs,
        Resolve::Lookup(name) => lookup(name).await?,
    };
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no socket address to use",
        ));
    }
    Ok(addrs)
}

/// A label for `addr` in error messages, without resolving it.
pub(crate) fn describe<A: ToSocketAddrs + ?Sized>(addr: &A) -> String {
    match addr.to_resolve() {
        Resolve::Done(a) if a.len() == 1 => a[0].to_string(),
        Resolve::Done(a) => format!("{a:?}"),
        Resolve::Lookup(name) => name,
    }
}

/// `getaddrinfo` on the runtime's blocking pool.
async fn lookup(name: String) -> io::Result<Vec<SocketAddr>> {
    let label = name.clone();
    let res = coring_runtime::spawn_blocking(move || {
        std::net::ToSocketAddrs::to_socket_addrs(&name).map(Iterator::collect::<Vec<_>>)
    })
    .await;
    res.and_then(|r| r)
        .map_err(|e| crate::error::annotate(e, "resolve", &label))
}
