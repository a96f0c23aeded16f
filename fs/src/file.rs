//! [`File`]: an open file with positional, owned-buffer I/O through the
//! ring (read/write/readv/writev at an offset), sync, metadata, length and
//! space management, and an async close.

use crate::{
    blocking, error,
    metadata::Metadata,
    op::{Fallocate, Fsync, Ftruncate, Statx},
    OpenOptions,
};
use coring_runtime::{
    buf::{IoBuf, IoBufMut},
    fd::SharedFd,
    op::{Op, Read, Readv, Write, Writev},
};
use std::{
    fmt, io,
    os::fd::{AsRawFd, OwnedFd, RawFd},
    path::{Path, PathBuf},
};

/// An open file. All I/O is positional (`*_at`) and takes buffers by value,
/// handing them back with the result, because the kernel owns them while
/// an op is in flight.
///
/// Dropping a `File` closes it through the ring without blocking the
/// executor thread; [`close`](File::close) does the same and reports the
/// result. Errors name the file's path.
///
/// ```
/// use coring_fs::File;
/// # coring_runtime::Runtime::new()?.block_on(async {
/// let path = std::env::temp_dir().join(format!("coring-fs-doc-file-{}", std::process::id()));
/// let file = File::options().read(true).write(true).create(true).truncate(true).open(&path).await?;
/// let (res, _buf) = file.write_all_at(b"hello world".to_vec(), 0).await;
/// res?;
/// let (res, buf) = file.read_at(Vec::with_capacity(5), 6).await;
/// assert_eq!(res?, 5);
/// assert_eq!(buf, b"world");
/// assert_eq!(file.metadata().await?.len(), 11);
/// file.close().await?;
/// # coring_fs::remove_file(&path).await?;
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct File {
    fd: SharedFd,
    path: PathBuf,
    direct: bool,
}

impl File {
    pub(crate) fn from_parts(fd: SharedFd, path: PathBuf, direct: bool) -> File {
        File { fd, path, direct }
    }

    /// Opens `path` read-only.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens `path` write-only, creating it or truncating it.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// A blank [`OpenOptions`].
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps a `std::fs::File` (errors then name it as `<fd N>`).
    pub fn from_std(file: std::fs::File) -> File {
        let fd = OwnedFd::from(file);
        let path = PathBuf::from(format!("<fd {}>", fd.as_raw_fd()));
        // O_DIRECT is tracked only for the error message; read it back.
        // SAFETY: F_GETFL on an fd we own has no preconditions.
        let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
        let direct = flags >= 0 && flags & libc::O_DIRECT != 0;
        File::from_parts(SharedFd::new(fd), path, direct)
    }

    /// The path the file was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The shared fd handle (ops hold clones of it while in flight).
    pub fn shared_fd(&self) -> &SharedFd {
        &self.fd
    }

    /// Reads up to `buf.bytes_total()` bytes at `pos` into `buf` (from its
    /// start). `Ok(0)` means end of file. A buffer of capacity 0 is an
    /// `InvalidInput` error (a 0 result would look like end of file).
    pub async fn read_at<B: IoBufMut>(&self, buf: B, pos: u64) -> (io::Result<usize>, B) {
        if let Err(e) = self.check_pos("read_at", pos) {
            return (Err(e), buf);
        }
        if buf.bytes_total() == 0 {
            let e = self.invalid("read_at", "zero-length buffer (capacity 0)");
            return (Err(e), buf);
        }
        let (res, buf) = Op::new(Read::new(&self.fd, buf, pos)).await;
        let res = res.map_err(|e| self.io_err(e, "read_at", buf.stable_ptr(), pos));
        (res, buf)
    }

    /// Fills all of `buf` (`bytes_total()` bytes) from `pos`, looping over
    /// short reads. End of file first is `UnexpectedEof`; `buf` then holds
    /// what was read.
    pub async fn read_exact_at<B: IoBufMut>(&self, mut buf: B, pos: u64) -> (io::Result<()>, B) {
        if let Err(e) = self.check_pos("read_exact_at", pos) {
            return (Err(e), buf);
        }
        let total = buf.bytes_total();
        let mut done = 0;
        while done < total {
            let op = Read::new(
                &self.fd,
                buf.slice(done..total),
                pos.saturating_add(done as u64),
            );
            let (res, slice) = Op::new(op).await;
            buf = slice.into_inner();
            match res {
                Ok(0) => {
                    let msg = format!(
                        "end of file at offset {} with {} of {total} bytes read",
                        pos.saturating_add(done as u64),
                        done
                    );
                    let e = io::Error::new(io::ErrorKind::UnexpectedEof, msg);
                    return (Err(error::with_path(e, "read_exact_at", &self.path)), buf);
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let ptr = buf.stable_ptr();
                    return (Err(self.io_err(e, "read_exact_at", ptr, pos)), buf);
                }
            }
        }
        (Ok(()), buf)
    }

    /// Writes up to `buf.bytes_init()` bytes at `pos`; returns how many
    /// were written. An empty buffer is an `InvalidInput` error.
    pub async fn write_at<B: IoBuf>(&self, buf: B, pos: u64) -> (io::Result<usize>, B) {
        if let Err(e) = self.check_pos("write_at", pos) {
            return (Err(e), buf);
        }
        if buf.bytes_init() == 0 {
            return (Err(self.invalid("write_at", "empty buffer")), buf);
        }
        let (res, buf) = Op::new(Write::new(&self.fd, buf, pos)).await;
        let res = res.map_err(|e| self.io_err(e, "write_at", buf.stable_ptr(), pos));
        (res, buf)
    }

    /// Writes all of `buf`'s initialized bytes at `pos`, looping over short
    /// writes.
    pub async fn write_all_at<B: IoBuf>(&self, mut buf: B, pos: u64) -> (io::Result<()>, B) {
        if let Err(e) = self.check_pos("write_all_at", pos) {
            return (Err(e), buf);
        }
        let total = buf.bytes_init();
        let mut done = 0;
        while done < total {
            let op = Write::new(
                &self.fd,
                buf.slice(done..total),
                pos.saturating_add(done as u64),
            );
            let (res, slice) = Op::new(op).await;
            buf = slice.into_inner();
            match res {
                Ok(0) => {
                    let e = io::Error::new(io::ErrorKind::WriteZero, "write returned 0 bytes");
                    return (Err(error::with_path(e, "write_all_at", &self.path)), buf);
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let ptr = buf.stable_ptr();
                    return (Err(self.io_err(e, "write_all_at", ptr, pos)), buf);
                }
            }
        }
        (Ok(()), buf)
    }

    /// Reads into `bufs` in order (scatter) from `pos`; returns the total
    /// read.
    pub async fn readv_at<B: IoBufMut>(
        &self,
        bufs: Vec<B>,
        pos: u64,
    ) -> (io::Result<usize>, Vec<B>) {
        if let Err(e) = self.check_pos("readv_at", pos) {
            return (Err(e), bufs);
        }
        if bufs.iter().all(|b| b.bytes_total() == 0) {
            return (Err(self.invalid("readv_at", "zero-length buffers")), bufs);
        }
        let (res, bufs) = Op::new(Readv::new(&self.fd, bufs, pos)).await;
        let ptr = bufs.first().map_or(std::ptr::null(), |b| b.stable_ptr());
        (res.map_err(|e| self.io_err(e, "readv_at", ptr, pos)), bufs)
    }

    /// Writes `bufs`' initialized bytes in order (gather) at `pos`; returns
    /// the total written.
    pub async fn writev_at<B: IoBuf>(&self, bufs: Vec<B>, pos: u64) -> (io::Result<usize>, Vec<B>) {
        if let Err(e) = self.check_pos("writev_at", pos) {
            return (Err(e), bufs);
        }
        if bufs.iter().all(|b| b.bytes_init() == 0) {
            return (Err(self.invalid("writev_at", "empty buffers")), bufs);
        }
        let (res, bufs) = Op::new(Writev::new(&self.fd, bufs, pos)).await;
        let ptr = bufs.first().map_or(std::ptr::null(), |b| b.stable_ptr());
        (res.map_err(|e| self.io_err(e, "writev_at", ptr, pos)), bufs)
    }

    /// Flushes data and metadata to storage (`fsync`).
    pub async fn sync_all(&self) -> io::Result<()> {
        Op::new(Fsync::new(&self.fd, false))
            .await
            .map_err(|e| self.path_err(e, "sync_all"))
    }

    /// Flushes data (and only the metadata needed to read it back) to
    /// storage (`fdatasync`).
    pub async fn sync_data(&self) -> io::Result<()> {
        Op::new(Fsync::new(&self.fd, true))
            .await
            .map_err(|e| self.path_err(e, "sync_data"))
    }

    /// Metadata of the open file (`statx` with `AT_EMPTY_PATH`).
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let stx = Op::new(Statx::fd(&self.fd))
            .await
            .map_err(|e| self.path_err(e, "metadata"))?;
        Ok(Metadata::from_statx(&stx))
    }

    /// Metadata of the open file with a direct `statx(2)` on this thread,
    /// not through the ring. `IORING_OP_STATX` always runs on an io-wq
    /// worker thread (two context switches); for an open file on a local
    /// filesystem the kernel answers a direct call from the in-memory
    /// inode without I/O, in about a microsecond. Use it where metadata is
    /// checked per request (a server revalidating a cached file); on a
    /// network filesystem, where it may wait for the server, use
    /// [`metadata`](File::metadata).
    pub fn metadata_now(&self) -> io::Result<Metadata> {
        // SAFETY: statx is plain old data; all-zero is a valid value.
        let mut stx: libc::statx = unsafe { std::mem::zeroed() };
        // SAFETY: the fd is open (self holds it), the path is an empty C
        // string (AT_EMPTY_PATH), and `stx` is a valid buffer for the call.
        let rc = unsafe {
            libc::statx(
                self.fd.raw(),
                c"".as_ptr(),
                libc::AT_EMPTY_PATH,
                libc::STATX_BASIC_STATS | libc::STATX_BTIME,
                &mut stx,
            )
        };
        if rc != 0 {
            return Err(self.path_err(io::Error::last_os_error(), "metadata"));
        }
        Ok(Metadata::from_statx(&stx))
    }

    /// Truncates or extends the file to `len` bytes. Uses
    /// `IORING_OP_FTRUNCATE` (Linux 6.9+); on older kernels `ftruncate(2)`
    /// runs on the blocking pool.
    pub async fn set_len(&self, len: u64) -> io::Result<()> {
        match Op::new(Ftruncate::new(&self.fd, len)).await {
            Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                tracing::debug!("IORING_OP_FTRUNCATE unsupported; ftruncate(2) on the pool");
                let fd = self.dup().map_err(|e| self.path_err(e, "set_len"))?;
                let len = libc::off_t::try_from(len)
                    .map_err(|_| self.invalid("set_len", &format!("length {len} exceeds off_t")))?;
                blocking::run(move || {
                    // SAFETY: `fd` is a valid fd owned by this closure.
                    if unsafe { libc::ftruncate(fd.as_raw_fd(), len) } == 0 {
                        Ok(())
                    } else {
                        Err(io::Error::last_os_error())
                    }
                })
                .await
                .map_err(|e| self.path_err(e, "set_len"))
            }
            res => res.map_err(|e| self.path_err(e, "set_len")),
        }
    }

    /// Allocates disk space for `offset..offset + len` (`fallocate` mode
    /// 0: the file grows if needed).
    pub async fn allocate(&self, offset: u64, len: u64) -> io::Result<()> {
        Op::new(Fallocate::new(&self.fd, offset, len, 0))
            .await
            .map_err(|e| self.path_err(e, "allocate"))
    }

    /// Zero-copy transfer of `len` bytes from `offset` to `dest`; see
    /// [`splice_to`](crate::splice_to).
    pub async fn splice_to<D: AsRawFd + ?Sized>(
        &self,
        offset: u64,
        len: u64,
        dest: &D,
    ) -> io::Result<u64> {
        crate::splice_to(self, offset, len, dest).await
    }

    /// Closes the file through the ring and reports the result. If an op
    /// still uses the fd it is closed when that op finishes.
    pub async fn close(self) -> io::Result<()> {
        let File { fd, path, .. } = self;
        fd.close()
            .await
            .map_err(|e| error::with_path(e, "close", &path))
    }

    /// A duplicate of the fd, owned (for the blocking pool).
    fn dup(&self) -> io::Result<OwnedFd> {
        self.fd.try_clone_to_owned()
    }

    /// Offsets above `i64::MAX` are invalid (and `u64::MAX` would mean
    /// "the file position" to io_uring).
    pub(crate) fn check_pos(&self, op: &'static str, pos: u64) -> io::Result<()> {
        if pos > i64::MAX as u64 {
            return Err(self.invalid(op, &format!("offset {pos} exceeds i64::MAX")));
        }
        Ok(())
    }

    fn path_err(&self, e: io::Error, op: &'static str) -> io::Error {
        error::with_path(e, op, &self.path)
    }

    pub(crate) fn invalid(&self, op: &'static str, msg: &str) -> io::Error {
        error::invalid(op, &self.path, msg.to_string())
    }

    /// An I/O error; `EINVAL` on an `O_DIRECT` file explains the alignment
    /// rule.
    fn io_err(&self, e: io::Error, op: &'static str, ptr: *const u8, pos: u64) -> io::Error {
        if self.direct && e.raw_os_error() == Some(libc::EINVAL) {
            let msg = format!(
                "O_DIRECT needs the buffer address, the length and the file offset to be \
                 multiples of the device's logical block size (4096 always works: use \
                 coring_fs::AlignedBuf); buffer at {ptr:p}, offset {pos} ({e})"
            );
            return error::invalid(op, &self.path, msg);
        }
        self.path_err(e, op)
    }
}

impl AsRawFd for File {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.raw()
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("fd", &self.fd.raw())
            .field("path", &self.path)
            .field("direct", &self.direct)
            .finish()
    }
}

impl TryFrom<File> for std::fs::File {
    type Error = File;

    /// Gives the fd back as a `std::fs::File`, unless an op still holds it.
    fn try_from(file: File) -> Result<std::fs::File, File> {
        let File { fd, path, direct } = file;
        match fd.try_unwrap() {
            Ok(owned) => Ok(std::fs::File::from(owned)),
            Err(fd) => Err(File { fd, path, direct }),
        }
    }
}
