//! coring-fs: files, directories and zero-copy file transfer over
//! io_uring, for the coring runtime.
//!
//! - [`File`] and [`OpenOptions`]: open through `IORING_OP_OPENAT`;
//!   positional reads and writes with owned buffers (`read_at`,
//!   `read_exact_at`, `write_at`, `write_all_at`, `readv_at`, `writev_at`),
//!   `sync_all`/`sync_data`, `metadata` (statx), `set_len`, `allocate`,
//!   `close`. [`AlignedBuf`] for `O_DIRECT`.
//! - Whole files: [`read`], [`read_to_string`], [`write()`].
//! - Paths: [`create_dir`], [`create_dir_all`], [`remove_file`],
//!   [`remove_dir`], [`rename`], [`hard_link`], [`symlink`], [`metadata`],
//!   [`symlink_metadata`]; [`read_dir`] on the blocking pool.
//! - [`send_file`]: a response head and a file range on a stream socket as
//!   one unit (pooled buffers, no Nagle stall, no io-wq hop for cached
//!   data); [`buf_pool_stats`].
//! - [`splice_to`]: file → socket/file through a pooled pipe.
//! - blocking-only calls (`read_dir`) run on the runtime's pool ([`coring_runtime::spawn_blocking`]).
//!
//! Every error that concerns a path names it (see [`PathError`]).
//!
//! ```
//! # coring_runtime::Runtime::new()?.block_on(async {
//! let path = std::env::temp_dir().join(format!("coring-fs-doc-lib-{}", std::process::id()));
//! coring_fs::write(&path, b"hello".to_vec()).await?;
//! let file = coring_fs::File::open(&path).await?;
//! let (res, buf) = file.read_at(Vec::with_capacity(16), 0).await;
//! assert_eq!(res?, 5);
//! assert_eq!(buf, b"hello");
//! # coring_fs::remove_file(&path).await?;
//! # Ok::<(), std::io::Error>(())
//! # })?;
//! # Ok::<(), std::io::Error>(())
//! ```
#![deny(missing_docs)]
#![warn(unreachable_pub)]
#![deny(unsafe_op_in_unsafe_fn)]

mod aligned;
mod blocking;
mod buf_pool;
mod dir;
mod error;
mod file;
mod metadata;
pub mod op;
mod open_options;
mod send_file;
mod splice;
mod whole_file;

pub use aligned::AlignedBuf;
pub use buf_pool::BufPoolStats;
pub use dir::{
    create_dir, create_dir_all, hard_link, metadata, read_dir, remove_dir, remove_file, rename,
    symlink, symlink_metadata, DirEntry, ReadDir,
};
pub use error::PathError;
pub use file::File;
pub use metadata::{FileType, Metadata, Permissions};
pub use open_options::OpenOptions;
pub use send_file::{send_file, send_file_with, SendFileMode};
pub use splice::{
    pipe_pool_stats, splice_to, splice_to_with, PipePoolStats, SpliceMode, MAX_IDLE_PIPES,
    PIPE_SIZE,
};
pub use whole_file::{read, read_to_string, write};

/// Counters of the current runtime's copy-buffer pool (used by
/// [`send_file`] and the read/write fallback of [`splice_to`]).
///
/// Panics outside a coring runtime.
pub fn buf_pool_stats() -> BufPoolStats {
    buf_pool::pool().stats()
}
