//! Finding and sending files for the file server: mapping a request
//! target to a file under the root, and the response that carries it.

use crate::http::{content_type, percent_decode, Request};
use crate::plan::{plan, BodyRange, FileFacts};
use crate::{respond_error, respond_simple, SEND_CHUNK, SEND_TIMEOUT};
use coring::fs::File;
use coring::net::TcpStream;
use std::{
    io,
    path::{Component, Path, PathBuf},
};

/// Sends a file (or a 404) as `req` asks: whole, a range of it (206), or
/// only the head (HEAD, 304, 416), with the body spliced from the file to
/// the socket.
pub(crate) async fn send_file(
    stream: &mut TcpStream,
    path: &Path,
    req: &Request,
) -> io::Result<()> {
    let keep_alive = req.keep_alive;
    let file = match File::open(path).await {
        Ok(f) => f,
        Err(e) => return respond_error(stream, &e, keep_alive).await,
    };
    let meta = match file.metadata().await {
        Ok(m) => m,
        Err(e) => return respond_error(stream, &e, keep_alive).await,
    };
    if !meta.is_file() {
        return respond_simple(stream, 404, "Not Found", keep_alive).await;
    }
    // Status, head and body range: the HTTP side (plan.rs).
    let plan = plan(req, &FileFacts::from_metadata(&meta), content_type(path));
    tracing::trace!(status = plan.status, path = %path.display(), "file response");
    let (res, _) = stream.write_all(plan.head).await;
    res?;
    let Some(BodyRange { offset, len }) = plan.body else {
        return Ok(());
    };
    let mut sent = 0;
    while sent < len {
        // In chunks, each with a deadline: a client that stops reading
        // does not hold the file, the socket and a pipe forever.
        let chunk = (len - sent).min(SEND_CHUNK);
        let splice = coring::fs::splice_to(&file, offset + sent, chunk, &*stream);
        let n = coring::time::timeout(SEND_TIMEOUT, splice)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client stopped reading"))??;
        sent += n;
        if n < chunk {
            // The file shrank under us: the response is broken; close.
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{} shrank while sending: {sent} of {len} bytes",
                    path.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Maps a request target to a file under `root` (which is canonical).
/// Outside the root (`..`, a symlink leading out), a dotfile, or an
/// undecodable target is `PermissionDenied` (403); a missing file is the
/// lookup's own error (404, or 503 when out of fds).
pub(crate) fn resolve(root: &Path, target: &str) -> io::Result<PathBuf> {
    let forbidden = || io::Error::from(io::ErrorKind::PermissionDenied);
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let decoded = percent_decode(path).ok_or_else(forbidden)?;
    let mut out = root.to_path_buf();
    for comp in Path::new(&decoded).components() {
        match comp {
            Component::Normal(c) if c.to_string_lossy().starts_with('.') => return Err(forbidden()),
            Component::Normal(c) => out.push(c),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => return Err(forbidden()),
        }
    }
    // Symlinks may point anywhere: serve only what really lies under the
    // root. (Blocking metadata calls; fine for a local tree.)
    let mut real = std::fs::canonicalize(&out)?;
    if real.is_dir() {
        real = std::fs::canonicalize(real.join("index.html"))?;
    }
    if real.starts_with(root) {
        Ok(real)
    } else {
        Err(forbidden())
    }
}
