//! Unix domain sockets: [`UnixListener`], [`UnixStream`] (same I/O as
//! `TcpStream`), [`UnixDatagram`].

mod datagram;
mod listener;
mod stream;

pub use datagram::UnixDatagram;
pub use listener::{UnixIncoming, UnixListener};
pub use stream::UnixStream;

use std::{
    io,
    os::unix::{ffi::OsStrExt, net::SocketAddr},
    path::Path,
};

/// The address of the socket file at `path`. Like std, a path with a NUL
/// byte anywhere is an `InvalidInput` error (the kernel would stop at the
/// NUL and use the truncated path; a leading NUL would make an abstract
/// name).
pub(crate) fn path_addr(path: &Path) -> io::Result<socket2::SockAddr> {
    if let Some(at) = path.as_os_str().as_bytes().iter().position(|&b| b == 0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unix socket path {path:?} has a NUL byte at index {at}"),
        ));
    }
    socket2::SockAddr::unix(path)
}

/// A unix address from socket2's form: a path, an abstract name, or
/// unnamed.
pub(crate) fn unix_addr(a: &socket2::SockAddr) -> io::Result<SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    if let Some(path) = a.as_unix() {
        return Ok(path);
    }
    if let Some(name) = a.as_abstract_namespace() {
        return SocketAddr::from_abstract_name(name);
    }
    // An unbound sender's datagram comes with an empty address (length 0,
    // family unset): that is the unnamed address, not an error.
    if a.is_unix() || a.len() == 0 {
        // The empty path makes std's unnamed address (no path, no name).
        return SocketAddr::from_pathname("");
    }
    Err(io::Error::other(format!(
        "not a unix socket address (address family {})",
        a.family()
    )))
}

/// A label for errors: the path, or what kind of address it is.
pub(crate) fn label(a: Option<&SocketAddr>) -> String {
    match a {
        Some(a) => {
            use std::os::linux::net::SocketAddrExt;
            match (a.as_pathname(), a.as_abstract_name()) {
                (Some(p), _) => p.display().to_string(),
                (None, Some(name)) => format!("@{}", String::from_utf8_lossy(name)),
                (None, None) => "(unnamed unix socket)".to_owned(),
            }
        }
        None => "(unix socket)".to_owned(),
    }
}
