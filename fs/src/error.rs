//! Error helpers: every error from this crate that concerns a path names
//! it. [`PathError`] wraps the kernel's error, keeping its `kind()` and its
//! errno (reachable through [`PathError::os_error`]).

use std::{
    error::Error,
    ffi::CString,
    fmt, io,
    os::unix::ffi::OsStrExt,
    path::{Path, PathBuf},
};

/// What failed, on which path, and the underlying error. Found behind the
/// `io::Error`s this crate returns: `err.get_ref()` downcasts to it.
///
/// ```
/// # coring_runtime::Runtime::new()?.block_on(async {
/// let err = coring_fs::File::open("/no/such/file").await.unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// assert!(err.to_string().contains("/no/such/file"));
/// let inner = err.get_ref().unwrap().downcast_ref::<coring_fs::PathError>().unwrap();
/// assert_eq!(inner.os_error().raw_os_error(), Some(libc::ENOENT));
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct PathError {
    op: &'static str,
    path: PathBuf,
    source: io::Error,
}

impl PathError {
    /// The operation that failed (`"open"`, `"read_at"`, ...).
    pub fn operation(&self) -> &'static str {
        self.op
    }

    /// The path it failed on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The underlying error (with `raw_os_error()` when it came from the
    /// kernel).
    pub fn os_error(&self) -> &io::Error {
        &self.source
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.op, self.path.display(), self.source)
    }
}

impl Error for PathError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

/// Wraps `err` into an error naming `op` and `path`, keeping its kind.
pub(crate) fn with_path(err: io::Error, op: &'static str, path: &Path) -> io::Error {
    io::Error::new(
        err.kind(),
        PathError {
            op,
            path: path.to_path_buf(),
            source: err,
        },
    )
}

/// An `InvalidInput` error naming `op` and `path`.
pub(crate) fn invalid(op: &'static str, path: &Path, msg: String) -> io::Error {
    with_path(io::Error::new(io::ErrorKind::InvalidInput, msg), op, path)
}

/// `path` as a C string for the kernel; a NUL byte is an `InvalidInput`
/// error naming the path.
pub(crate) fn cstring(op: &'static str, path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| invalid(op, path, "path contains a NUL byte".into()))
}
