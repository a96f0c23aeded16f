//! Whole-file conveniences: [`read`], [`read_to_string`], [`write()`].

use crate::{error, File};
use coring_runtime::buf::IoBuf;
use std::{io, path::Path};

/// Reads the whole file at `path` into a `Vec`.
///
/// ```
/// # coring_runtime::Runtime::new()?.block_on(async {
/// let path = std::env::temp_dir().join(format!("coring-fs-doc-rw-{}", std::process::id()));
/// coring_fs::write(&path, b"contents".to_vec()).await?;
/// assert_eq!(coring_fs::read(&path).await?, b"contents");
/// assert_eq!(coring_fs::read_to_string(&path).await?, "contents");
/// # coring_fs::remove_file(&path).await?;
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let path = path.as_ref();
    let file = File::open(path).await?;
    // The size is a hint (procfs reports 0, files grow): read until EOF.
    let hint = file.metadata().await.map_or(0, |m| m.len());
    let hint = usize::try_from(hint).unwrap_or(usize::MAX);
    // A file larger than memory (a sparse 1 TiB file, say) is an error,
    // not an aborted process.
    let no_memory = |e: std::collections::TryReserveError| {
        let e = io::Error::new(io::ErrorKind::OutOfMemory, e);
        error::with_path(e, "read", path)
    };
    let mut buf = Vec::new();
    buf.try_reserve_exact(hint.saturating_add(1).max(4096))
        .map_err(no_memory)?;
    loop {
        if buf.len() == buf.capacity() {
            buf.try_reserve(buf.capacity().max(4096))
                .map_err(no_memory)?;
        }
        let (len, cap) = (buf.len(), buf.capacity());
        let (res, slice) = file.read_at(buf.slice(len..cap), len as u64).await;
        buf = slice.into_inner();
        match res {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    // The fd closes through the ring when `file` drops.
    Ok(buf)
}

/// Reads the whole file at `path` as UTF-8.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref();
    let bytes = read(path).await?;
    String::from_utf8(bytes).map_err(|e| {
        let e = io::Error::new(io::ErrorKind::InvalidData, e.utf8_error());
        error::with_path(e, "read_to_string", path)
    })
}

/// Writes `contents` to `path`, creating or truncating it. `contents` is
/// any owned buffer (`Vec<u8>`, `&'static [u8]`, `&'static str`, ...).
pub async fn write<B: IoBuf>(path: impl AsRef<Path>, contents: B) -> io::Result<()> {
    let file = File::create(path).await?;
    if contents.bytes_init() > 0 {
        file.write_all_at(contents, 0).await.0?;
    }
    file.close().await
}
