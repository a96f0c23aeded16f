//! A static file server over HTTP/1.1: GET and HEAD, Content-Length,
//! keep-alive (and pipelining), 400/403/404/405, bodies sent with coring's
//! zero-copy splice transfer (file → pipe → socket).
//!
//! HTTP semantics (RFC 9110; plan.rs decides, files.rs sends):
//! - every response carries `Date` (IMF-fixdate, formatted once a second
//!   per thread); a file's carries `Last-Modified`, a strong `ETag`
//!   (`"<mtime ns hex>-<length hex>"`) and `Accept-Ranges: bytes`;
//! - conditional GET/HEAD: `If-None-Match` (`*` or a list, weak
//!   comparison), else `If-Modified-Since`, answer 304 with no body;
//! - one byte range (`bytes=a-b`, `a-`, `-n`) on a GET is a 206 with
//!   `Content-Range`, an unsatisfiable one a 416 (`bytes */len`); several
//!   ranges, a malformed or non-bytes one, one on a HEAD, or one whose
//!   `If-Range` (strong tag or exact date) names another version, get the
//!   whole file (200).
//!
//! Hardening: only paths under the root are served (no `..`, no symlink
//! leading out of it, no dotfiles such as `.git/`); a request with a body is
//! refused with 400 and the connection closed (a body can never be read as
//! the next request); a request head must arrive within 30 s of the
//! server's waiting for it (also the keep-alive idle limit), and every
//! 16 MiB of a body must be taken by the client within 60 s.
//!
//! Run: `cargo run --release --example file_server -- [PORT] [--dir DIR] [--cores N|all] [--grace-ms MS] [--head-timeout-ms MS]`
//! (defaults: port 8080, the current directory, 1 core, 30 s grace, 30 s
//! head timeout). With
//! more than one core every core binds its own `SO_REUSEPORT` listener, so
//! the kernel spreads connections without a shared accept queue.
//!
//! SIGINT/SIGTERM shut it down gracefully: the listeners close at once (new
//! connections are refused), responses in flight are finished within the
//! grace period, then the process exits 0. At the end of the grace period,
//! or on a second signal, connections still open are cut.

mod conditional;
mod date;
mod files;
mod http;
mod open_cache;
mod plan;
mod range;

use coring::fs::SendFileMode;
use coring::io::OwnedWrite;
use coring::net::{TcpListener, TcpStream};
use coring::runtime::{shutdown_handle, Builder, Cores, Draining};
use files::send_file;
use futures::future::{select, Either};
use futures::io::AsyncBufReadExt;
use http::{parse_head, request_path, Head, Method, Request};
use open_cache::OpenFiles;
use std::{
    future::Future,
    io,
    path::PathBuf,
    pin::pin,
    rc::Rc,
    time::{Duration, Instant},
};

const MAX_HEAD: usize = 16 * 1024;
/// Default longest wait for a complete request head (and keep-alive idle
/// time).
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes of a body handed to one `send_file`, and how long the client may
/// take to accept them.
pub(crate) const SEND_CHUNK: u64 = 16 << 20;
pub(crate) const SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// Default validity of an open-file cache entry.
const OPEN_CACHE: Duration = Duration::from_secs(1);
const USAGE: &str = "usage: file_server [PORT] [--dir DIR] [--cores N|all] [--grace-ms MS] \
                     [--head-timeout-ms MS] [--open-cache-ms MS] \
                     [--send-mode auto|copy|splice]";

struct Config {
    port: u16,
    root: PathBuf,
    cores: Cores,
    /// How long a shutdown waits for responses in flight.
    grace: Duration,
    head_timeout: Duration,
    open_cache: Duration,
    send_mode: SendFileMode,
}

/// What every connection of a core shares.
struct Site {
    /// The root's files, opened beneath it and cached.
    files: OpenFiles,
    head_timeout: Duration,
    /// How bodies are sent (`--send-mode`, for measuring).
    send_mode: SendFileMode,
}

fn parse_args() -> Result<Config, String> {
    let mut port = 8080;
    let mut root = PathBuf::from(".");
    let mut cores = Cores::Count(1);
    let mut grace = Duration::from_secs(30);
    let mut head_timeout = HEAD_TIMEOUT;
    let mut open_cache = OPEN_CACHE;
    let mut send_mode = SendFileMode::Auto;
    let millis = |flag: &str, v: Option<String>| -> Result<Duration, String> {
        let v = v.ok_or(format!("{flag} needs milliseconds"))?;
        let ms = v
            .parse()
            .map_err(|_| format!("{flag} {v:?}: not a number"))?;
        Ok(Duration::from_millis(ms))
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dir" => root = args.next().ok_or("--dir needs a path")?.into(),
            "--cores" => {
                let v = args.next().ok_or("--cores needs N or all")?;
                cores = Cores::parse(&v).map_err(|e| e.to_string())?;
            }
            "--grace-ms" => grace = millis("--grace-ms", args.next())?,
            "--head-timeout-ms" => head_timeout = millis("--head-timeout-ms", args.next())?,
            "--open-cache-ms" => open_cache = millis("--open-cache-ms", args.next())?,
            "--send-mode" => {
                send_mode = match args.next().as_deref() {
                    Some("auto") => SendFileMode::Auto,
                    Some("copy") => SendFileMode::Copy,
                    Some("splice") => SendFileMode::Splice,
                    v => return Err(format!("--send-mode {v:?}: auto, copy or splice")),
                }
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            p => port = p.parse().map_err(|_| format!("not a port: {p}\n{USAGE}"))?,
        }
    }
    Ok(Config {
        port,
        root,
        cores,
        grace,
        head_timeout,
        open_cache,
        send_mode,
    })
}

fn main() -> io::Result<()> {
    // RUST_LOG as `level` or `target=level,...` (tracing-subscriber's
    // `Targets`: no regex engine to build); info by default.
    use tracing_subscriber::{filter::Targets, prelude::*};
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(io::stderr))
        .with(filter)
        .init();
    let config = match parse_args() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("file_server: {e}");
            std::process::exit(2);
        }
    };
    let root = std::fs::canonicalize(&config.root)
        .map_err(|e| io::Error::new(e.kind(), format!("--dir {}: {e}", config.root.display())))?;
    let port = config.port;
    let mut builder = Builder::new();
    builder.cores(config.cores).shutdown_grace(config.grace);
    let outputs = builder.run(move |core| {
        let root = root.clone();
        let head_timeout = config.head_timeout;
        let open_cache = config.open_cache;
        let send_mode = config.send_mode;
        async move {
            // One SO_REUSEPORT listener per core; with port 0 all cores
            // share the port the first one got.
            let listener = TcpListener::bind_sharded(("0.0.0.0", port)).await?;
            let addr = listener.local_addr()?;
            if core.index == 0 {
                // Tests and scripts read this line to find the port.
                println!("listening on {addr}, serving {}", root.display());
            }
            let files = OpenFiles::new(&root, open_cache).await?;
            let site = Rc::new(Site {
                files,
                head_timeout,
                send_mode,
            });
            let mut draining = shutdown_handle().wait();
            loop {
                let accepted = match select(pin!(listener.accept()), &mut draining).await {
                    Either::Left((accepted, _)) => accepted,
                    // Shutdown began: stop accepting (the listener closes
                    // here); the runtime waits for the connection tasks.
                    Either::Right(((), _)) => break,
                };
                let (stream, _peer) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        coring::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    }
                };
                drop(coring::spawn(serve(stream, site.clone())));
            }
            Ok::<(), io::Error>(())
        }
    })?;
    for out in outputs.into_iter().flatten() {
        out?;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Serves requests on one connection until the client closes it or asks
/// to.
///
/// Kept small while idle (about 1 KiB per keep-alive connection in all):
/// waiting for a request holds no buffer (`fill_buf` hands out bytes where
/// the runtime's buffer ring received them; only a head split across
/// packets is copied into `partial`), and the response's larger state is
/// boxed only while a response is being sent.
///
/// (A plain `fn` returning an `async move` block that uses the stream in
/// place: an `async fn` taking the stream by value, or a block that moves
/// it into a local, keeps a second copy of it in the task.)
#[allow(clippy::manual_async_fn)] // on purpose: see above
fn serve(mut stream: TcpStream, site: Rc<Site>) -> impl Future<Output = ()> {
    async move {
        if let Err(e) = serve_requests(&mut stream, &site).await {
            // The stream's Debug names the peer.
            tracing::debug!(?stream, error = %e, "connection ended");
        }
    }
}

async fn serve_requests(stream: &mut TcpStream, site: &Site) -> io::Result<()> {
    // Head and body go out as two sends: without this each response would
    // wait for the client's delayed ACK (Nagle).
    let _ = stream.set_nodelay(true);
    let mut partial: Vec<u8> = Vec::new();
    let mut draining = shutdown_handle().wait();
    loop {
        let head = read_head(stream, &mut partial, &mut draining, site.head_timeout);
        let mut req = match head.await? {
            Next::Request(req) => req,
            Next::Close => return Ok(()),
            Next::Refuse(code, reason) => {
                Box::pin(respond_simple(stream, code, reason, false)).await?;
                return Ok(());
            }
        };
        // Draining: finish this response, then close.
        req.keep_alive &= !coring::runtime::is_shutting_down();
        let keep_alive = req.keep_alive;
        Box::pin(respond(stream, site, req)).await?;
        if !keep_alive {
            return Ok(());
        }
    }
}

/// What to do after waiting for a request head.
enum Next {
    Request(Request),
    /// The client closed, or went idle (or was too slow) for the head
    /// timeout.
    Close,
    /// Answer with this status, then close.
    Refuse(u16, &'static str),
}

/// Waits for the next request head, within `timeout`. A connection
/// with no request under way closes as soon as shutdown begins. (It awaits
/// nothing but the stream, so the connection's future stays small.)
async fn read_head(
    stream: &mut TcpStream,
    partial: &mut Vec<u8>,
    draining: &mut Draining,
    timeout: Duration,
) -> io::Result<Next> {
    let deadline = Instant::now() + timeout;
    loop {
        let waited = if partial.is_empty() {
            let wait = coring::time::timeout_at(deadline, stream.fill_buf());
            match select(pin!(wait), &mut *draining).await {
                Either::Left((waited, _)) => waited,
                Either::Right(((), _)) => return Ok(Next::Close),
            }
        } else {
            coring::time::timeout_at(deadline, stream.fill_buf()).await
        };
        let Ok(chunk) = waited else {
            return Ok(Next::Close);
        };
        let chunk = chunk?;
        if chunk.is_empty() {
            return Ok(Next::Close);
        }
        let parsed = if partial.is_empty() {
            // The usual case: the whole head is in one received chunk.
            parse_head(chunk)
        } else {
            partial.extend_from_slice(chunk);
            parse_head(partial)
        };
        let chunk_len = chunk.len();
        match parsed {
            Head::Complete(req, used) => {
                if partial.is_empty() {
                    stream.consume_unpin(used);
                } else {
                    // What follows the head in `partial` came from this
                    // chunk: leave it unconsumed for the next request.
                    let rest = partial.len() - used;
                    stream.consume_unpin(chunk_len - rest);
                    *partial = Vec::new();
                }
                return Ok(Next::Request(req));
            }
            Head::Bad => return Ok(Next::Refuse(400, "Bad Request")),
            Head::Partial => {
                if partial.is_empty() {
                    partial.extend_from_slice(chunk);
                }
                stream.consume_unpin(chunk_len);
                if partial.len() >= MAX_HEAD {
                    return Ok(Next::Refuse(431, "Request Header Fields Too Large"));
                }
            }
        }
    }
}

/// Answers one request.
async fn respond(stream: &mut TcpStream, site: &Site, req: Request) -> io::Result<()> {
    let keep_alive = req.keep_alive;
    if let Method::Other = req.method {
        return respond_simple(stream, 405, "Method Not Allowed", keep_alive).await;
    }
    let opened = match request_path(&req.target) {
        Ok(rel) => site.files.get(&rel).await,
        Err(e) => Err(e),
    };
    match opened {
        Ok(opened) => send_file(stream, &opened, &req, site.send_mode).await,
        Err(e) => respond_error(stream, &e, keep_alive).await,
    }
}

/// Answers with the status that fits an error finding or opening a file.
pub(crate) async fn respond_error(
    stream: &mut TcpStream,
    e: &io::Error,
    keep_alive: bool,
) -> io::Result<()> {
    let (code, reason) = match coring::runtime::raw_os_error(e) {
        Some(libc::ENOENT | libc::ENOTDIR | libc::ENAMETOOLONG | libc::ELOOP) => (404, "Not Found"),
        // EXDEV: a symlink that leads out of the root (open_beneath).
        Some(libc::EACCES | libc::EPERM | libc::EXDEV) => (403, "Forbidden"),
        // Out of fds or file table: a moment later it may work.
        Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM) => (503, "Service Unavailable"),
        _ if e.kind() == io::ErrorKind::NotFound => (404, "Not Found"),
        _ if e.kind() == io::ErrorKind::PermissionDenied => (403, "Forbidden"),
        _ => (500, "Internal Server Error"),
    };
    if code >= 500 {
        tracing::warn!(error = %e, code, "request failed");
    }
    respond_simple(stream, code, reason, keep_alive).await
}

pub(crate) async fn respond_simple(
    stream: &mut TcpStream,
    code: u16,
    reason: &str,
    keep_alive: bool,
) -> io::Result<()> {
    let msg = http::simple_response(code, reason, keep_alive);
    let (res, _) = stream.write_all(msg.into_bytes()).await;
    res
}
