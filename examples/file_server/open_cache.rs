//! The per-core open-file cache (nginx's `open_file_cache`): request paths
//! map to files opened under the root with `openat2(RESOLVE_BENEATH)`
//! through the ring, kept open with their metadata for a short validity
//! (1 s by default, `--open-cache-ms`; 0 turns the cache off), so a
//! popular file costs no open, `statx` or close per request.
//!
//! A hit re-reads the open file's metadata with a direct `statx` (about a
//! microsecond; `File::metadata_now`), so a file changed in place is
//! served with its new length, `Last-Modified` and `ETag` at once. What a
//! cached entry can miss for up to its validity is a file *replaced* by a
//! rename or deleted: the old file, still open, is served whole and
//! consistent. Errors are not cached.

use coring::fs::{File, Metadata, OpenOptions};
use std::{
    cell::RefCell,
    collections::HashMap,
    io,
    path::Path,
    rc::Rc,
    time::{Duration, Instant},
};

/// Most entries per core; past it, expired entries go first, then any.
/// Each holds an fd, so the cache also keeps to a quarter of the process's
/// fd limit ([`max_entries`]): with the common soft limit of 1024, a
/// cache of 1024 files would leave no fd to accept a connection with.
const MAX_ENTRIES: usize = 1024;

/// The entry cap for this process: `MAX_ENTRIES`, or a quarter of
/// `RLIMIT_NOFILE` if that is less (at least 16).
fn max_entries() -> usize {
    // SAFETY: getrlimit writes one rlimit struct, which lives on the stack.
    let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: as above; `lim` is a valid, writable rlimit.
    let soft = match unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } {
        0 => lim.rlim_cur,
        _ => 1024,
    };
    ((soft / 4) as usize).clamp(16, MAX_ENTRIES)
}

/// A file ready to serve.
#[derive(Clone)]
pub(crate) struct Opened {
    pub(crate) file: Rc<File>,
    pub(crate) meta: Metadata,
}

struct Entry {
    opened: Opened,
    at: Instant,
}

/// One core's cache, over its root directory.
pub(crate) struct OpenFiles {
    root: File,
    valid: Duration,
    max: usize,
    entries: RefCell<HashMap<Box<str>, Entry>>,
}

impl OpenFiles {
    /// A cache over `root` (a directory), entries valid for `valid`.
    pub(crate) async fn new(root: &Path, valid: Duration) -> io::Result<OpenFiles> {
        let root = File::open(root).await?;
        Ok(OpenFiles {
            root,
            valid,
            max: max_entries(),
            entries: RefCell::new(HashMap::new()),
        })
    }

    /// The file at `rel` under the root (a relative path without `..`),
    /// or its `index.html` if it is a directory (the file's `path()` says
    /// which). A path that leaves the root through a symlink is `EXDEV`.
    pub(crate) async fn get(&self, rel: &str) -> io::Result<Opened> {
        let now = Instant::now();
        if let Some(e) = self.entries.borrow_mut().get_mut(rel) {
            if now.duration_since(e.at) < self.valid {
                e.opened.meta = e.opened.file.metadata_now()?;
                return Ok(e.opened.clone());
            }
        }
        let opened = self.open(rel).await?;
        if !self.valid.is_zero() {
            self.insert(rel, opened.clone(), now);
        }
        Ok(opened)
    }

    async fn open(&self, rel: &str) -> io::Result<Opened> {
        let opts = OpenOptions::new().read(true).clone();
        let rel = if rel.is_empty() { "." } else { rel };
        let file = opts.open_beneath(&self.root, rel).await?;
        let meta = file.metadata().await?;
        if !meta.is_dir() {
            return Ok(Opened {
                file: Rc::new(file),
                meta,
            });
        }
        let index = Path::new(rel).join("index.html");
        let file = opts.open_beneath(&self.root, &index).await?;
        let meta = file.metadata().await?;
        Ok(Opened {
            file: Rc::new(file),
            meta,
        })
    }

    fn insert(&self, rel: &str, opened: Opened, now: Instant) {
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= self.max {
            entries.retain(|_, e| now.duration_since(e.at) < self.valid);
            if entries.len() >= self.max {
                if let Some(k) = entries.keys().next().cloned() {
                    entries.remove(&k);
                }
            }
        }
        entries.insert(rel.into(), Entry { opened, at: now });
    }
}
