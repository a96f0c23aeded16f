//! Blocking calls with no io_uring op (`read_dir`, the `ftruncate`
//! fallback) run on the runtime's blocking pool
//! ([`coring_runtime::spawn_blocking`]), never on the executor thread.

use std::io;

/// Runs a blocking io call on the pool, flattening the result.
pub(crate) async fn run<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    coring_runtime::spawn_blocking(f).await?
}
