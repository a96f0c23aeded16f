//! The fs crate's own io_uring ops, one small file each. Each owns what the
//! kernel touches (paths as heap `CString`s, the `statx` buffer, fd handles)
//! and implements [`OpCode`](coring_runtime::op::OpCode).
//!
//! Opening files uses the runtime's [`OpenAt`](coring_runtime::op::OpenAt)
//! ([`OpenAt2`] for opens confined to a directory);
//! reads and writes use its `Read`/`Write`/`Readv`/`Writev`.

mod fallocate;
mod fsync;
mod ftruncate;
mod linkat;
mod mkdirat;
mod openat2;
mod renameat;
mod splice;
mod statx;
mod symlinkat;
mod unlinkat;

pub use fallocate::Fallocate;
pub use fsync::Fsync;
pub use ftruncate::Ftruncate;
pub use linkat::LinkAt;
pub use mkdirat::MkDirAt;
pub use openat2::OpenAt2;
pub use renameat::RenameAt;
pub use splice::Splice;
pub use statx::Statx;
pub use symlinkat::SymlinkAt;
pub use unlinkat::UnlinkAt;
