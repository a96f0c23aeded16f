//! [`raw_os_error`]: the OS error behind an `io::Error`, also when coring
//! wrapped it to name a path (`coring::fs::PathError`) or an address
//! (`coring::net::AddrError`).

use std::{error::Error, io};

/// The errno behind `e`: `e.raw_os_error()`, or that of the first
/// `io::Error` in its chain of wrapped errors and sources. One call for
/// matching an OS error whatever coring added to the message:
///
/// ```
/// use std::io;
/// let e = io::Error::from_raw_os_error(libc::ECONNREFUSED);
/// let wrapped = io::Error::new(e.kind(), Box::<dyn std::error::Error + Send + Sync>::from(
///     format!("connect 127.0.0.1:1: {e}")));
/// assert_eq!(coring_runtime::raw_os_error(&e), Some(libc::ECONNREFUSED));
/// assert_eq!(coring_runtime::raw_os_error(&wrapped), None); // a message only
/// ```
pub fn raw_os_error(e: &io::Error) -> Option<i32> {
    if let Some(code) = e.raw_os_error() {
        return Some(code);
    }
    let mut err: &(dyn Error + 'static) = e.get_ref()?;
    loop {
        if let Some(code) = err.downcast_ref::<io::Error>().and_then(raw_os_error) {
            return Some(code);
        }
        err = err.source()?;
    }
}

#[cfg(test)]
mod tests {
    use super::raw_os_error;
    use std::{error::Error, fmt, io};

    #[derive(Debug)]
    struct Wrapped(io::Error);

    impl fmt::Display for Wrapped {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "doing it: {}", self.0)
        }
    }

    impl Error for Wrapped {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn finds_the_errno_through_wrappers() {
        let os = io::Error::from_raw_os_error(libc::EMFILE);
        let once = io::Error::new(os.kind(), Wrapped(os));
        let twice = io::Error::new(
            once.kind(),
            Wrapped(io::Error::new(once.kind(), Wrapped(once))),
        );
        assert_eq!(raw_os_error(&twice), Some(libc::EMFILE));
        assert_eq!(raw_os_error(&io::Error::other("no errno")), None);
    }
}
