//! [`Metadata`], [`FileType`] and [`Permissions`]: what `statx` reports
//! about a file.

use std::{
    fmt, io,
    time::{Duration, SystemTime},
};

/// Metadata of a file, from `statx(2)` (see [`File::metadata`](crate::File::metadata),
/// [`metadata`](crate::metadata) and [`symlink_metadata`](crate::symlink_metadata)).
#[derive(Clone)]
pub struct Metadata {
    stx: libc::statx,
}

impl Metadata {
    pub(crate) fn from_statx(stx: &libc::statx) -> Self {
        Metadata { stx: *stx }
    }

    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.stx.stx_size
    }

    /// Whether the size is zero.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The file's type.
    pub fn file_type(&self) -> FileType {
        FileType::from_mode(u32::from(self.stx.stx_mode))
    }

    /// A regular file?
    pub fn is_file(&self) -> bool {
        self.file_type().is_file()
    }

    /// A directory?
    pub fn is_dir(&self) -> bool {
        self.file_type().is_dir()
    }

    /// A symbolic link (only from [`symlink_metadata`](crate::symlink_metadata))?
    pub fn is_symlink(&self) -> bool {
        self.file_type().is_symlink()
    }

    /// Permission bits.
    pub fn permissions(&self) -> Permissions {
        Permissions {
            mode: u32::from(self.stx.stx_mode) & 0o7777,
        }
    }

    /// Last modification time.
    pub fn modified(&self) -> io::Result<SystemTime> {
        self.time(libc::STATX_MTIME, self.stx.stx_mtime, "modification")
    }

    /// Last access time.
    pub fn accessed(&self) -> io::Result<SystemTime> {
        self.time(libc::STATX_ATIME, self.stx.stx_atime, "access")
    }

    /// Creation (birth) time; `Unsupported` where the filesystem lacks it.
    pub fn created(&self) -> io::Result<SystemTime> {
        self.time(libc::STATX_BTIME, self.stx.stx_btime, "creation")
    }

    /// Last status change time.
    pub fn changed(&self) -> io::Result<SystemTime> {
        self.time(libc::STATX_CTIME, self.stx.stx_ctime, "status change")
    }

    /// Inode number.
    pub fn ino(&self) -> u64 {
        self.stx.stx_ino
    }

    /// Device holding the file (`makedev(major, minor)`).
    pub fn dev(&self) -> u64 {
        libc::makedev(self.stx.stx_dev_major, self.stx.stx_dev_minor)
    }

    /// Number of hard links.
    pub fn nlink(&self) -> u64 {
        u64::from(self.stx.stx_nlink)
    }

    /// Owner user id.
    pub fn uid(&self) -> u32 {
        self.stx.stx_uid
    }

    /// Owner group id.
    pub fn gid(&self) -> u32 {
        self.stx.stx_gid
    }

    /// Preferred I/O block size.
    pub fn blksize(&self) -> u64 {
        u64::from(self.stx.stx_blksize)
    }

    /// Number of 512-byte blocks allocated.
    pub fn blocks(&self) -> u64 {
        self.stx.stx_blocks
    }

    fn time(&self, bit: u32, ts: libc::statx_timestamp, what: &str) -> io::Result<SystemTime> {
        if self.stx.stx_mask & bit == 0 {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("the {what} time is not available on this filesystem"),
            ));
        }
        let since = |secs: u64| Duration::new(secs, ts.tv_nsec);
        Ok(if ts.tv_sec >= 0 {
            SystemTime::UNIX_EPOCH + since(ts.tv_sec as u64)
        } else {
            SystemTime::UNIX_EPOCH - Duration::from_secs(ts.tv_sec.unsigned_abs())
                + Duration::from_nanos(u64::from(ts.tv_nsec))
        })
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metadata")
            .field("file_type", &self.file_type())
            .field("len", &self.len())
            .field("permissions", &self.permissions())
            .field("ino", &self.ino())
            .field("modified", &self.modified().ok())
            .finish_non_exhaustive()
    }
}

/// The type of a file.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileType {
    fmt: u32,
}

impl FileType {
    pub(crate) fn from_mode(mode: u32) -> Self {
        FileType {
            fmt: mode & libc::S_IFMT,
        }
    }

    pub(crate) fn from_std(t: std::fs::FileType) -> Self {
        use std::os::unix::fs::FileTypeExt;
        let fmt = if t.is_file() {
            libc::S_IFREG
        } else if t.is_dir() {
            libc::S_IFDIR
        } else if t.is_symlink() {
            libc::S_IFLNK
        } else if t.is_fifo() {
            libc::S_IFIFO
        } else if t.is_socket() {
            libc::S_IFSOCK
        } else if t.is_block_device() {
            libc::S_IFBLK
        } else {
            libc::S_IFCHR
        };
        FileType { fmt }
    }

    /// A regular file?
    pub fn is_file(&self) -> bool {
        self.fmt == libc::S_IFREG
    }

    /// A directory?
    pub fn is_dir(&self) -> bool {
        self.fmt == libc::S_IFDIR
    }

    /// A symbolic link?
    pub fn is_symlink(&self) -> bool {
        self.fmt == libc::S_IFLNK
    }

    /// A named pipe?
    pub fn is_fifo(&self) -> bool {
        self.fmt == libc::S_IFIFO
    }

    /// A socket?
    pub fn is_socket(&self) -> bool {
        self.fmt == libc::S_IFSOCK
    }

    /// A block device?
    pub fn is_block_device(&self) -> bool {
        self.fmt == libc::S_IFBLK
    }

    /// A character device?
    pub fn is_char_device(&self) -> bool {
        self.fmt == libc::S_IFCHR
    }
}

impl fmt::Debug for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.fmt {
            libc::S_IFREG => "file",
            libc::S_IFDIR => "dir",
            libc::S_IFLNK => "symlink",
            libc::S_IFIFO => "fifo",
            libc::S_IFSOCK => "socket",
            libc::S_IFBLK => "block device",
            libc::S_IFCHR => "char device",
            _ => "unknown",
        };
        f.write_str(name)
    }
}

/// Unix permission bits of a file.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Permissions {
    mode: u32,
}

impl Permissions {
    /// The permission bits (`0o7777` mask), e.g. `0o644`.
    pub fn mode(&self) -> u32 {
        self.mode
    }

    /// Whether nobody has write permission.
    pub fn readonly(&self) -> bool {
        self.mode & 0o222 == 0
    }
}

impl fmt::Debug for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Permissions({:#o})", self.mode)
    }
}
