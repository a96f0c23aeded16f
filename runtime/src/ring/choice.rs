//! Which driver a runtime runs on: [`DriverKind`], the choice a program or
//! the environment makes ([`DriverChoice`], `CORING_DRIVER`), and
//! [`UringBlocked`], the set-up error that makes the automatic choice fall
//! back to the readiness (epoll) driver.

use std::{fmt, io};

/// The environment variable that forces a driver: `uring` (or
/// `io_uring`), `epoll`, or `auto` (the default).
pub const DRIVER_ENV: &str = "CORING_DRIVER";

/// Which driver a runtime runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DriverKind {
    /// io_uring: one ring per runtime.
    Uring,
    /// The readiness driver on epoll, for where io_uring is blocked.
    Epoll,
}

impl fmt::Display for DriverKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DriverKind::Uring => "io_uring",
            DriverKind::Epoll => "epoll",
        })
    }
}

/// How a runtime picks its driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DriverChoice {
    /// `CORING_DRIVER` if set, else io_uring, falling back to epoll when
    /// io_uring is blocked (`io_uring_setup` fails with `EPERM`, `ENOSYS`,
    /// `EOPNOTSUPP` or `EACCES`) or lacks an opcode the runtime needs.
    #[default]
    Auto,
    /// This driver and no other; forcing io_uring where it is blocked is
    /// the set-up error.
    Force(DriverKind),
}

impl DriverChoice {
    /// The choice `CORING_DRIVER` makes (`Auto` when unset or `auto`); a
    /// clear error for any other value.
    pub fn from_env() -> io::Result<DriverChoice> {
        match std::env::var(DRIVER_ENV) {
            Err(std::env::VarError::NotPresent) => Ok(DriverChoice::Auto),
            Err(std::env::VarError::NotUnicode(v)) => Err(bad_env(&v.to_string_lossy())),
            Ok(v) => Self::parse(&v).ok_or_else(|| bad_env(&v)),
        }
    }

    /// Parses `uring`, `io_uring`, `epoll` or `auto` (any case).
    pub fn parse(s: &str) -> Option<DriverChoice> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Some(DriverChoice::Auto),
            "uring" | "io_uring" | "io-uring" => Some(DriverChoice::Force(DriverKind::Uring)),
            "epoll" => Some(DriverChoice::Force(DriverKind::Epoll)),
            _ => None,
        }
    }
}

fn bad_env(v: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{DRIVER_ENV}={v:?}: expected `uring`, `epoll` or `auto`"),
    )
}

/// The error `io_uring_setup` gave when io_uring is blocked for this
/// process (seccomp, `kernel.io_uring_disabled`, a kernel without it).
/// Set-up errors carrying it make [`DriverChoice::Auto`] fall back to
/// epoll.
#[derive(Debug)]
pub struct UringBlocked {
    /// The errno (`EPERM`, `ENOSYS`, `EOPNOTSUPP` or `EACCES`).
    pub errno: i32,
    /// What it means and how to allow io_uring.
    pub message: String,
}

impl fmt::Display for UringBlocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UringBlocked {}

impl UringBlocked {
    /// Whether `errno` from `io_uring_setup` means io_uring is blocked.
    pub fn is_blocking_errno(errno: i32) -> bool {
        matches!(
            errno,
            libc::EPERM | libc::ENOSYS | libc::EOPNOTSUPP | libc::EACCES
        )
    }

    /// The `UringBlocked` inside a set-up error, if it is one.
    pub fn of(err: &io::Error) -> Option<&UringBlocked> {
        err.get_ref()?.downcast_ref::<UringBlocked>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_values_and_nothing_else() {
        assert_eq!(DriverChoice::parse("auto"), Some(DriverChoice::Auto));
        assert_eq!(
            DriverChoice::parse(" EPOLL "),
            Some(DriverChoice::Force(DriverKind::Epoll))
        );
        assert_eq!(
            DriverChoice::parse("io_uring"),
            Some(DriverChoice::Force(DriverKind::Uring))
        );
        assert_eq!(DriverChoice::parse("kqueue"), None);
    }

    #[test]
    fn blocked_errors_are_recognised_through_io_error() {
        let e = io::Error::new(
            io::ErrorKind::Unsupported,
            UringBlocked {
                errno: libc::EPERM,
                message: "blocked".into(),
            },
        );
        assert_eq!(UringBlocked::of(&e).map(|b| b.errno), Some(libc::EPERM));
        assert!(UringBlocked::of(&io::Error::other("x")).is_none());
    }
}
