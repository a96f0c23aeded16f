//! Directory and path operations: create, remove, rename, link, symlink
//! through io_uring; [`read_dir`] (no io_uring op exists) on the blocking
//! pool.

use crate::{
    blocking,
    error::{self, cstring},
    metadata::{FileType, Metadata},
    op::{LinkAt, MkDirAt, RenameAt, Statx, SymlinkAt, UnlinkAt},
};
use coring_runtime::op::Op;
use std::{
    ffi::OsString,
    io,
    path::{Path, PathBuf},
};

/// Creates directory `path` (mode `0o777` before the umask;
/// `IORING_OP_MKDIRAT`). Fails if it exists or its parent is missing.
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    mkdir(path)
        .await
        .map_err(|e| error::with_path(e, "create_dir", path))
}

async fn mkdir(path: &Path) -> io::Result<()> {
    Op::new(MkDirAt::new(cstring("create_dir", path)?, 0o777)).await
}

async fn is_dir(path: &Path) -> bool {
    metadata(path).await.is_ok_and(|m| m.is_dir())
}

/// Creates `path` and any missing parents. Succeeds if `path` already is
/// a directory.
///
/// ```
/// # coring_runtime::Runtime::new()?.block_on(async {
/// let base = std::env::temp_dir().join(format!("coring-fs-doc-dir-{}", std::process::id()));
/// coring_fs::create_dir_all(base.join("a/b/c")).await?;
/// assert!(coring_fs::metadata(base.join("a/b/c")).await?.is_dir());
/// # std::fs::remove_dir_all(&base)?;
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    let wrap = |e| error::with_path(e, "create_dir_all", path);
    // Walk up until a directory exists (or is created), then create the
    // missing ones top-down.
    let mut missing: Vec<&Path> = Vec::new();
    let mut cur = Some(path);
    while let Some(p) = cur.filter(|p| !p.as_os_str().is_empty()) {
        match mkdir(p).await {
            Ok(()) => break,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if is_dir(p).await {
                    break;
                }
                return Err(wrap(e));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                missing.push(p);
                cur = p.parent();
            }
            Err(e) => return Err(wrap(e)),
        }
    }
    for p in missing.into_iter().rev() {
        match mkdir(p).await {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && is_dir(p).await => {}
            Err(e) => return Err(wrap(e)),
        }
    }
    Ok(())
}

/// Removes file (or symlink) `path` (`IORING_OP_UNLINKAT`).
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    let op = UnlinkAt::new(cstring("remove_file", path)?, false);
    Op::new(op)
        .await
        .map_err(|e| error::with_path(e, "remove_file", path))
}

/// Removes the empty directory `path` (`IORING_OP_UNLINKAT` with
/// `AT_REMOVEDIR`).
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    let op = UnlinkAt::new(cstring("remove_dir", path)?, true);
    Op::new(op)
        .await
        .map_err(|e| error::with_path(e, "remove_dir", path))
}

/// Renames `from` to `to`, replacing `to` if it exists
/// (`IORING_OP_RENAMEAT`). Errors name both paths.
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let (from, to) = (from.as_ref(), to.as_ref());
    let both = two_paths(from, to);
    let op = RenameAt::new(cstring("rename", from)?, cstring("rename", to)?);
    Op::new(op)
        .await
        .map_err(|e| error::with_path(e, "rename", &both))
}

/// Makes `link` a hard link to `original` (`IORING_OP_LINKAT`).
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (original, link) = (original.as_ref(), link.as_ref());
    let both = two_paths(original, link);
    let op = LinkAt::new(cstring("hard_link", original)?, cstring("hard_link", link)?);
    Op::new(op)
        .await
        .map_err(|e| error::with_path(e, "hard_link", &both))
}

/// Makes `link` a symbolic link pointing at `original`
/// (`IORING_OP_SYMLINKAT`).
pub async fn symlink(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let (original, link) = (original.as_ref(), link.as_ref());
    let both = two_paths(original, link);
    let op = SymlinkAt::new(cstring("symlink", original)?, cstring("symlink", link)?);
    Op::new(op)
        .await
        .map_err(|e| error::with_path(e, "symlink", &both))
}

fn two_paths(a: &Path, b: &Path) -> PathBuf {
    PathBuf::from(format!("{} -> {}", a.display(), b.display()))
}

/// Metadata of `path`, following symlinks (`IORING_OP_STATX`).
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    stat(path.as_ref(), true, "metadata").await
}

/// Metadata of `path` itself, not following a final symlink.
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    stat(path.as_ref(), false, "symlink_metadata").await
}

async fn stat(path: &Path, follow: bool, op: &'static str) -> io::Result<Metadata> {
    let stx = Op::new(Statx::path(cstring(op, path)?, follow))
        .await
        .map_err(|e| error::with_path(e, op, path))?;
    Ok(Metadata::from_statx(&stx))
}

/// Lists directory `path`. There is no io_uring op for `getdents`, so the
/// listing runs on the blocking pool ([`coring_runtime::spawn_blocking`]);
/// the executor thread never blocks. `.` and `..` are skipped.
///
/// ```
/// # coring_runtime::Runtime::new()?.block_on(async {
/// let dir = std::env::temp_dir().join(format!("coring-fs-doc-rd-{}", std::process::id()));
/// coring_fs::create_dir_all(&dir).await?;
/// coring_fs::write(dir.join("x"), b"1".to_vec()).await?;
/// let names: Vec<_> = coring_fs::read_dir(&dir).await?.map(|e| e.file_name()).collect();
/// assert_eq!(names, ["x"]);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path = path.as_ref().to_path_buf();
    let p = path.clone();
    let entries = blocking::run(move || {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&p)? {
            let entry = entry?;
            let file_type = entry.file_type().ok().map(FileType::from_std);
            out.push(DirEntry {
                path: entry.path(),
                name: entry.file_name(),
                file_type,
            });
        }
        Ok(out)
    })
    .await
    .map_err(|e| error::with_path(e, "read_dir", &path))?;
    Ok(ReadDir {
        entries: entries.into_iter(),
    })
}

/// The entries of a directory, read by [`read_dir`].
#[derive(Debug)]
pub struct ReadDir {
    entries: std::vec::IntoIter<DirEntry>,
}

impl Iterator for ReadDir {
    type Item = DirEntry;
    fn next(&mut self) -> Option<DirEntry> {
        self.entries.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl ExactSizeIterator for ReadDir {}

/// One directory entry.
#[derive(Debug, Clone)]
pub struct DirEntry {
    path: PathBuf,
    name: OsString,
    file_type: Option<FileType>,
}

impl DirEntry {
    /// The full path (the directory joined with the name).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The bare file name.
    pub fn file_name(&self) -> OsString {
        self.name.clone()
    }

    /// The type from the directory listing (`d_type`), without a `stat`;
    /// `None` if the filesystem does not report it.
    pub fn file_type(&self) -> Option<FileType> {
        self.file_type
    }

    /// Full metadata of the entry (not following a symlink).
    pub async fn metadata(&self) -> io::Result<Metadata> {
        symlink_metadata(&self.path).await
    }
}
