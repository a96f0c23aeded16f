//! Finding and sending files for the file server: mapping a request
//! target to a path under the root, and the response that carries the
//! file (coring's `send_file`: the head and the body as one unit).

use crate::http::{content_type, Request};
use crate::open_cache::Opened;
use crate::plan::{plan, BodyRange, FileFacts};
use crate::{respond_simple, SEND_CHUNK, SEND_TIMEOUT};
use coring::fs::SendFileMode;
use coring::net::TcpStream;
use std::io;

/// Sends a file as `req` asks: whole, a range of it (206), or only the
/// head (HEAD, 304, 416). The head goes out with the first chunk of the
/// body in one send.
pub(crate) async fn send_file(
    stream: &mut TcpStream,
    opened: &Opened,
    req: &Request,
    mode: SendFileMode,
) -> io::Result<()> {
    let keep_alive = req.keep_alive;
    if !opened.meta.is_file() {
        return respond_simple(stream, 404, "Not Found", keep_alive).await;
    }
    let path = opened.file.path();
    // Status, head and body range: the HTTP side (plan.rs).
    let plan = plan(
        req,
        &FileFacts::from_metadata(&opened.meta),
        content_type(path),
    );
    tracing::trace!(status = plan.status, path = %path.display(), "file response");
    let BodyRange { offset, len } = plan.body.unwrap_or(BodyRange { offset: 0, len: 0 });
    let mut head = plan.head;
    let mut sent = 0;
    loop {
        // In chunks, each with a deadline: a client that stops reading
        // does not hold the file, the socket and a buffer forever.
        let chunk = (len - sent).min(SEND_CHUNK);
        let send =
            coring::fs::send_file_with(stream, &head, &opened.file, offset + sent, chunk, mode);
        let n = coring::time::timeout(SEND_TIMEOUT, send)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client stopped reading"))??;
        head.clear();
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
        if sent == len {
            return Ok(());
        }
    }
}
