//! Error annotation: every error that leaves this crate names what was
//! being done and to which address (`connect 127.0.0.1:1: Connection
//! refused (os error 111)`), keeping the original [`io::ErrorKind`] and the
//! OS error as its [`source`](std::error::Error::source).

use std::{error::Error, fmt, io, net::SocketAddr, os::fd::AsFd};

/// An I/O error with the operation and address it happened on: the
/// payload of every error coring-net returns for a socket call (`connect
/// 127.0.0.1:1: Connection refused (os error 111)`), like
/// `coring::fs::PathError` for paths. `coring::runtime::raw_os_error`
/// finds the errno through it in one call.
pub struct AddrError {
    what: String,
    source: io::Error,
}

impl AddrError {
    /// What was being done, and to which address or fd (`connect
    /// 127.0.0.1:1`).
    pub fn context(&self) -> &str {
        &self.what
    }

    /// The error the OS (or the layer below) reported.
    pub fn os_error(&self) -> &io::Error {
        &self.source
    }
}

impl fmt::Display for AddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.source)
    }
}

impl fmt::Debug for AddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {:?}", self.what, self.source)
    }
}

impl Error for AddrError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

/// Wraps `e` as "`op` `addr`: `e`", keeping its kind. Errors that were
/// already annotated are returned unchanged.
pub(crate) fn annotate(e: io::Error, op: &str, addr: &dyn fmt::Display) -> io::Error {
    if e.get_ref().is_some_and(|inner| inner.is::<AddrError>()) {
        return e;
    }
    io::Error::new(
        e.kind(),
        AddrError {
            what: format!("{op} {addr}"),
            source: e,
        },
    )
}

/// Which end of a socket [`ip_addr`] asks for.
#[derive(Clone, Copy)]
pub(crate) enum End {
    Local,
    Peer,
}

/// The local or peer IP address of `sock`; errors name the fd and the
/// call (`getpeername on fd 7: Transport endpoint is not connected`).
pub(crate) fn ip_addr(sock: &impl AsFd, end: End) -> io::Result<SocketAddr> {
    let fd = sock.as_fd();
    let label = format!("fd {}", std::os::fd::AsRawFd::as_raw_fd(&fd));
    let call = match end {
        End::Local => "getsockname on",
        End::Peer => "getpeername on",
    };
    ip_addr_named(sock, end, call, &label)
}

/// [`ip_addr`] with errors reading "`call` `what`: ..." (a stream names its
/// peer rather than its fd).
pub(crate) fn ip_addr_named(
    sock: &impl AsFd,
    end: End,
    call: &str,
    what: &dyn fmt::Display,
) -> io::Result<SocketAddr> {
    let sock = socket2::SockRef::from(sock);
    let addr = match end {
        End::Local => sock.local_addr(),
        End::Peer => sock.peer_addr(),
    };
    addr.map_err(|e| annotate(e, call, what))?
        .as_socket()
        .ok_or_else(|| annotate(io::Error::other("not an IP socket"), call, what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_keeps_kind_and_errno() {
        let e = annotate(
            io::Error::from_raw_os_error(libc::ECONNREFUSED),
            "connect",
            &"127.0.0.1:1",
        );
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        assert!(e.to_string().starts_with("connect 127.0.0.1:1: "), "{e}");
        let source = e.get_ref().and_then(|i| i.source()).unwrap();
        let os = source.downcast_ref::<io::Error>().unwrap();
        assert_eq!(os.raw_os_error(), Some(libc::ECONNREFUSED));
        let again = annotate(e, "recv from", &"x");
        assert!(!again.to_string().contains("recv from"));
    }
}
