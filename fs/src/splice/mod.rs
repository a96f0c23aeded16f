//! Zero-copy file transfer: [`splice_to`] moves file bytes to a socket or a
//! file through a pooled pipe with `IORING_OP_SPLICE`, without copying
//! them through user space.
//!
//! - Pipes come from a per-runtime pool ([`pipe_pool_stats`]), each grown
//!   to 1 MiB with `F_SETPIPE_SZ`; a pipe returns to the pool only empty.
//! - Short splices are normal and loop; the two halves are not linked.
//! - A source that cannot splice (`EINVAL`) is copied with read/write and a
//!   pooled buffer instead, transparently.
//! - A peer that closes mid-transfer gives `EPIPE`/`ECONNRESET`.

mod fallback;
mod pipe_pool;
mod transfer;

pub use pipe_pool::{PipePoolStats, MAX_IDLE_PIPES, PIPE_SIZE};
pub(crate) use transfer::run as transfer;

use crate::{error, File};
use coring_runtime::fd::SharedFd;
use std::{
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
};

/// How a transfer issues its splices. The default, [`DirectSend`], won or
/// tied in every run of the `fs` benchmark group (`bench/src/groups/fs.rs`) (see BENCHMARKS.md and `bench/ARCHIVE.md`).
///
/// [`DirectSend`]: SpliceMode::DirectSend
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpliceMode {
    /// Every splice through `IORING_OP_SPLICE` (which the kernel always
    /// runs on an io-wq worker thread).
    Uring,
    /// File → pipe through the ring; pipe → destination first as a
    /// non-blocking `splice(2)` on the executor thread when the
    /// destination is `O_NONBLOCK` (falling back to waiting for `POLLOUT`
    /// on `EAGAIN`), else through the ring. Never blocks the executor
    /// thread. The default.
    #[default]
    DirectSend,
    /// Both halves first as non-blocking `splice(2)` on the executor
    /// thread, falling back to the ring on `EAGAIN`. Reading a file that
    /// is not in the page cache then blocks the executor thread on the
    /// disk, and it was not faster: kept for measurement.
    Direct,
}

/// Sends `len` bytes of `file` starting at `offset` to `dest` (a socket, a
/// file, a pipe: anything with an fd, including a `SharedFd` or another
/// [`File`]), zero-copy through a pooled pipe. Returns the bytes sent:
/// fewer than `len` only if the file ended first (pass `u64::MAX` to send
/// to the end of the file).
///
/// As for [`File::read_at`], an `offset` above `i64::MAX` is an
/// `InvalidInput` error (io_uring would read `u64::MAX` as "the file's
/// current position"), and so is an `offset + len` past `u64::MAX` (other
/// than a `len` of `u64::MAX`).
///
/// `dest` is written at its current position (a file opened with
/// `O_APPEND` cannot be spliced to: `InvalidInput`). `dest` is duplicated
/// for the transfer, so dropping the future mid-way is safe even if `dest`
/// is closed right after; the bytes already sent stay sent.
///
/// ```
/// use std::io::Read;
/// # coring_runtime::Runtime::new()?.block_on(async {
/// let dir = std::env::temp_dir().join(format!("coring-fs-doc-splice-{}", std::process::id()));
/// coring_fs::create_dir_all(&dir).await?;
/// coring_fs::write(dir.join("src"), b"spliced bytes".to_vec()).await?;
/// let src = coring_fs::File::open(dir.join("src")).await?;
/// let (mut rx, tx) = std::os::unix::net::UnixStream::pair()?;
/// let sent = coring_fs::splice_to(&src, 0, u64::MAX, &tx).await?;
/// assert_eq!(sent, 13);
/// drop(tx);
/// let mut got = String::new();
/// rx.read_to_string(&mut got)?;
/// assert_eq!(got, "spliced bytes");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn splice_to<D: AsRawFd + ?Sized>(
    file: &File,
    offset: u64,
    len: u64,
    dest: &D,
) -> io::Result<u64> {
    splice_to_with(file, offset, len, dest, SpliceMode::default()).await
}

/// [`splice_to`] with an explicit [`SpliceMode`].
pub async fn splice_to_with<D: AsRawFd + ?Sized>(
    file: &File,
    offset: u64,
    len: u64,
    dest: &D,
    mode: SpliceMode,
) -> io::Result<u64> {
    check_range(file, offset, len)?;
    let wrap = |e| error::with_path(e, "splice_to", file.path());
    let dest = dup(dest.as_raw_fd()).map_err(wrap)?;
    let res = transfer::run(file.shared_fd(), offset, len, &dest, mode).await;
    // Close the duplicate now, synchronously: the caller's fd still refers
    // to the same file, so this only drops a reference and cannot block,
    // and a peer waiting for EOF after the caller closes its fd is not
    // left waiting for a ring close that has not been submitted yet.
    // (The kernel may still hold the socket a moment longer: a finished
    // io-wq splice can be freed by task work that, with DEFER_TASKRUN, runs
    // the next time this thread enters the ring. A runtime that keeps
    // running releases it at once; one whose thread blocks delays the
    // peer's end-of-stream until it runs again.)
    if let Ok(owned) = dest.try_unwrap() {
        drop(owned);
    }
    res.map_err(wrap)
}

/// The offset checks of [`splice_to`]: `offset` as `File::read_at` takes
/// it, and `offset + len` within `u64` unless `len` is the "to the end"
/// `u64::MAX`.
pub(crate) fn check_range(file: &File, offset: u64, len: u64) -> io::Result<()> {
    file.check_pos("splice_to", offset)?;
    if len != u64::MAX && offset.checked_add(len).is_none() {
        let msg = format!("offset {offset} + length {len} overflows u64");
        return Err(file.invalid("splice_to", &msg));
    }
    Ok(())
}

/// Counters of the current runtime's pipe pool.
///
/// Panics outside a coring runtime.
pub fn pipe_pool_stats() -> PipePoolStats {
    pipe_pool::stats()
}

/// An owned duplicate of `fd`, so an op in flight keeps the destination
/// open even if the caller closes its fd after dropping the future.
fn dup(fd: i32) -> io::Result<SharedFd> {
    // SAFETY: F_DUPFD_CLOEXEC returns a new fd or -1; no memory involved.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if new < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!("destination fd {fd} is not usable: {e}"),
        ));
    }
    // SAFETY: `new` was just created and nothing else owns it.
    Ok(SharedFd::new(unsafe { OwnedFd::from_raw_fd(new) }))
}
