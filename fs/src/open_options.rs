//! [`OpenOptions`]: how to open a file (std's options plus `direct` and
//! `custom_flags`), turned into `open(2)` flags and submitted as
//! `IORING_OP_OPENAT` (or `IORING_OP_OPENAT2` for [`OpenOptions::open_beneath`]).

use crate::op::OpenAt2;
use crate::{error, File};
use coring_runtime::op::{Op, OpenAt};
use std::{ffi::CString, io, os::unix::ffi::OsStrExt, path::Path};

/// Options for opening a file, as in `std::fs::OpenOptions`.
///
/// ```
/// use coring_fs::OpenOptions;
/// # coring_runtime::Runtime::new()?.block_on(async {
/// let path = std::env::temp_dir().join(format!("coring-fs-doc-oo-{}", std::process::id()));
/// let file = OpenOptions::new().write(true).create(true).truncate(true).open(&path).await?;
/// file.write_all_at(b"hello".to_vec(), 0).await.0?;
/// file.close().await?;
/// # coring_fs::remove_file(&path).await?;
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    direct: bool,
    mode: u32,
    custom_flags: i32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// All options off; mode `0o666` (before the umask).
    pub fn new() -> Self {
        OpenOptions {
            read: false,
            write: false,
            append: false,
            truncate: false,
            create: false,
            create_new: false,
            direct: false,
            mode: 0o666,
            custom_flags: 0,
        }
    }

    /// Open for reading.
    pub fn read(&mut self, read: bool) -> &mut Self {
        self.read = read;
        self
    }

    /// Open for writing.
    pub fn write(&mut self, write: bool) -> &mut Self {
        self.write = write;
        self
    }

    /// Open for appending (`O_APPEND`; implies write). Positional writes on
    /// Linux still append.
    pub fn append(&mut self, append: bool) -> &mut Self {
        self.append = append;
        self
    }

    /// Truncate to zero length (`O_TRUNC`; needs write).
    pub fn truncate(&mut self, truncate: bool) -> &mut Self {
        self.truncate = truncate;
        self
    }

    /// Create the file if missing (`O_CREAT`; needs write or append).
    pub fn create(&mut self, create: bool) -> &mut Self {
        self.create = create;
        self
    }

    /// Create the file, failing if it exists (`O_CREAT | O_EXCL`).
    pub fn create_new(&mut self, create_new: bool) -> &mut Self {
        self.create_new = create_new;
        self
    }

    /// Bypass the page cache (`O_DIRECT`). Buffers, lengths and offsets
    /// must then be multiples of the device's logical block size: use
    /// [`AlignedBuf`](crate::AlignedBuf) (4096-byte aligned).
    pub fn direct(&mut self, direct: bool) -> &mut Self {
        self.direct = direct;
        self
    }

    /// Permission bits for a created file (default `0o666`, before umask).
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }

    /// Extra `open(2)` flags, or-ed in (the access mode bits are ignored;
    /// `O_CLOEXEC` is always set).
    pub fn custom_flags(&mut self, flags: i32) -> &mut Self {
        self.custom_flags = flags;
        self
    }

    /// Opens `path` with these options through `IORING_OP_OPENAT`.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref();
        let flags = self.flags(path)?;
        let op = OpenAt::new(path, flags, self.mode)
            .map_err(|_| error::invalid("open", path, "path contains a NUL byte".into()))?;
        let fd = Op::new(op)
            .await
            .map_err(|e| error::with_path(e, "open", path))?;
        Ok(File::from_parts(fd, path.to_path_buf(), self.direct))
    }

    /// Opens `path` relative to the directory `dir`, never leaving it:
    /// through `IORING_OP_OPENAT2` with `RESOLVE_BENEATH |
    /// RESOLVE_NO_MAGICLINKS`, so an absolute path, a `..` that climbs out
    /// of `dir`, or a symlink that points outside it fails with `EXDEV`
    /// (symlinks that stay inside `dir` are followed). The kernel resolves
    /// a path whose entries are all in the dentry cache inline, without a
    /// blocking lookup on the calling thread or a worker thread.
    ///
    /// This is how a server maps untrusted request paths to files under a
    /// root without a `canonicalize` walk per request. The returned file's
    /// [`path`](File::path) is `dir`'s path joined with `path`.
    ///
    /// ```
    /// # coring_runtime::Runtime::new()?.block_on(async {
    /// let root = std::env::temp_dir().join(format!("coring-fs-doc-beneath-{}", std::process::id()));
    /// coring_fs::create_dir_all(root.join("www")).await?;
    /// coring_fs::write(root.join("www/index.html"), b"hi".to_vec()).await?;
    /// coring_fs::write(root.join("secret"), b"no".to_vec()).await?;
    /// let www = coring_fs::File::open(root.join("www")).await?;
    /// let opts = coring_fs::OpenOptions::new().read(true).clone();
    /// assert!(opts.open_beneath(&www, "index.html").await.is_ok());
    /// let e = opts.open_beneath(&www, "../secret").await.unwrap_err();
    /// assert_eq!(coring_runtime::raw_os_error(&e), Some(libc::EXDEV));
    /// # std::fs::remove_dir_all(&root)?;
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn open_beneath(&self, dir: &File, path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref();
        let full = dir.path().join(path);
        let flags = self.flags(&full)?;
        let rel = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| error::invalid("open", &full, "path contains a NUL byte".into()))?;
        let resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
        let op = OpenAt2::new(dir.shared_fd(), rel, flags, self.mode, resolve);
        let fd = Op::new(op)
            .await
            .map_err(|e| error::with_path(e, "open", &full))?;
        Ok(File::from_parts(fd, full, self.direct))
    }

    fn flags(&self, path: &Path) -> io::Result<i32> {
        let bad = |msg: &str| error::invalid("open", path, msg.to_string());
        let access = match (self.read, self.write, self.append) {
            (true, false, false) => libc::O_RDONLY,
            (false, true, false) => libc::O_WRONLY,
            (true, true, false) => libc::O_RDWR,
            (false, _, true) => libc::O_WRONLY | libc::O_APPEND,
            (true, _, true) => libc::O_RDWR | libc::O_APPEND,
            (false, false, false) => {
                return Err(bad("no access mode: set read, write or append"));
            }
        };
        if !self.write && !self.append && (self.truncate || self.create || self.create_new) {
            return Err(bad("truncate, create and create_new need write or append"));
        }
        if self.append && self.truncate && !self.create_new {
            return Err(bad("append and truncate cannot be combined"));
        }
        let creation = match (self.create, self.truncate, self.create_new) {
            (_, _, true) => libc::O_CREAT | libc::O_EXCL,
            (false, false, false) => 0,
            (true, false, false) => libc::O_CREAT,
            (false, true, false) => libc::O_TRUNC,
            (true, true, false) => libc::O_CREAT | libc::O_TRUNC,
        };
        let direct = if self.direct { libc::O_DIRECT } else { 0 };
        Ok(access | creation | direct | (self.custom_flags & !libc::O_ACCMODE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_like_std() {
        let p = Path::new("/x");
        let f = OpenOptions::new().read(true).flags(p).unwrap();
        assert_eq!(f, libc::O_RDONLY);
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .flags(p)
            .unwrap();
        assert_eq!(f, libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC);
        let f = OpenOptions::new()
            .append(true)
            .create_new(true)
            .direct(true)
            .flags(p)
            .unwrap();
        assert_eq!(
            f,
            libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_EXCL | libc::O_DIRECT
        );
    }

    #[test]
    fn invalid_combinations_name_the_path() {
        let p = Path::new("/some/path");
        for o in [
            OpenOptions::new(),
            OpenOptions::new().read(true).create(true).clone(),
            OpenOptions::new().append(true).truncate(true).clone(),
        ] {
            let e = o.flags(p).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
            assert!(e.to_string().contains("/some/path"), "{e}");
        }
    }
}
