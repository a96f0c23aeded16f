//! A static file server over HTTP/1.1: GET and HEAD, Content-Length,
//! keep-alive (and pipelining), 400/403/404/405, bodies sent with coring's
//! zero-copy splice transfer (file → pipe → socket).
//!
//! Hardening: only paths under the root are served (no `..`, no symlink
//! leading out of it, no dotfiles such as `.git/`); a request with a body is
//! refused with 400 and the connection closed (a body can never be read as
//! the next request); a request head must arrive within 30 s of the
//! server's waiting for it (also the keep-alive idle limit), and every
//! 16 MiB of a body must be taken by the client within 60 s.
//!
//! Run: `cargo run --release --example file_server -- [PORT] [--dir DIR] [--cores N|all] [--grace-ms MS]`
//! (defaults: port 8080, the current directory, 1 core, 30 s grace). With
//! more than one core every core binds its own `SO_REUSEPORT` listener, so
//! the kernel spreads connections without a shared accept queue.
//!
//! SIGINT/SIGTERM shut it down gracefully: the listeners close at once (new
//! connections are refused), responses in flight are finished within the
//! grace period, then the process exits 0. At the end of the grace period,
//! or on a second signal, connections still open are cut.

use coring::fs::File;
use coring::net::{TcpListener, TcpStream};
use coring::runtime::{shutdown_handle, Builder, Cores};
use futures::future::{select, Either};
use std::{
    io,
    path::{Component, Path, PathBuf},
    pin::pin,
    rc::Rc,
    time::{Duration, Instant},
};

const MAX_HEAD: usize = 16 * 1024;
/// Longest wait for a complete request head (and keep-alive idle time).
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes of a body handed to one splice, and how long the client may take
/// to accept them.
const SEND_CHUNK: u64 = 16 << 20;
const SEND_TIMEOUT: Duration = Duration::from_secs(60);
const USAGE: &str = "usage: file_server [PORT] [--dir DIR] [--cores N|all] [--grace-ms MS]";

struct Config {
    port: u16,
    root: PathBuf,
    cores: Cores,
    /// How long a shutdown waits for responses in flight.
    grace: Duration,
}

fn parse_args() -> Result<Config, String> {
    let mut port = 8080;
    let mut root = PathBuf::from(".");
    let mut cores = Cores::Count(1);
    let mut grace = Duration::from_secs(30);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dir" => root = args.next().ok_or("--dir needs a path")?.into(),
            "--cores" => {
                let v = args.next().ok_or("--cores needs N or all")?;
                cores = Cores::parse(&v).map_err(|e| e.to_string())?;
            }
            "--grace-ms" => {
                let v = args.next().ok_or("--grace-ms needs milliseconds")?;
                let ms = v
                    .parse()
                    .map_err(|_| format!("--grace-ms {v:?}: not a number"))?;
                grace = Duration::from_millis(ms);
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
    })
}

fn main() -> io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(io::stderr)
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
        async move {
            // One SO_REUSEPORT listener per core; with port 0 all cores
            // share the port the first one got.
            let listener = TcpListener::bind_sharded(("0.0.0.0", port)).await?;
            let addr = listener.local_addr()?;
            if core.index == 0 {
                // Tests and scripts read this line to find the port.
                println!("listening on {addr}, serving {}", root.display());
            }
            let root = Rc::new(root);
            let mut draining = shutdown_handle().wait();
            loop {
                let accepted = match select(pin!(listener.accept()), &mut draining).await {
                    Either::Left((accepted, _)) => accepted,
                    // Shutdown began: stop accepting (the listener closes
                    // here); the runtime waits for the connection tasks.
                    Either::Right(((), _)) => break,
                };
                let (stream, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        coring::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let root = root.clone();
                drop(coring::spawn(async move {
                    if let Err(e) = serve(stream, &root).await {
                        tracing::debug!(%peer, error = %e, "connection ended");
                    }
                }));
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
async fn serve(mut stream: TcpStream, root: &Path) -> io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    loop {
        // Read until a full request head is buffered, within HEAD_TIMEOUT.
        let deadline = Instant::now() + HEAD_TIMEOUT;
        let mut scanned = 0;
        let head_len = loop {
            if let Some(n) = find_head_end(&buf, scanned) {
                break n;
            }
            scanned = buf.len();
            if buf.len() >= MAX_HEAD {
                respond_simple(&mut stream, 431, "Request Header Fields Too Large", false).await?;
                return Ok(());
            }
            let spare = Vec::with_capacity(4096);
            let Ok((res, chunk)) = coring::time::timeout_at(deadline, stream.read(spare)).await
            else {
                return Ok(()); // idle or too slow: close
            };
            if res? == 0 {
                return Ok(()); // the client closed the connection
            }
            buf.extend_from_slice(&chunk);
        };
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        let parsed = req.parse(&buf[..head_len]);
        // httparse also accepts bare-LF line ends, so the head may end
        // before the CRLFCRLF found above: what it consumed is the request.
        let Ok(httparse::Status::Complete(used)) = parsed else {
            respond_simple(&mut stream, 400, "Bad Request", false).await?;
            return Ok(());
        };
        if has_body(&req) {
            // GET and HEAD take no body, and reading past one we do not
            // parse would treat its bytes as the next request.
            respond_simple(&mut stream, 400, "Bad Request", false).await?;
            return Ok(());
        }
        let keep_alive = keep_alive(&req);
        let method = req.method.unwrap_or("").to_string();
        let target = req.path.unwrap_or("/").to_string();
        buf.drain(..used);
        let head_only = match method.as_str() {
            "GET" => false,
            "HEAD" => true,
            _ => {
                respond_simple(&mut stream, 405, "Method Not Allowed", keep_alive).await?;
                if keep_alive {
                    continue;
                }
                return Ok(());
            }
        };
        match resolve(root, &target) {
            Target::Forbidden => respond_simple(&mut stream, 403, "Forbidden", keep_alive).await?,
            Target::Missing => respond_simple(&mut stream, 404, "Not Found", keep_alive).await?,
            Target::File(path) => send_file(&mut stream, &path, head_only, keep_alive).await?,
        }
        if !keep_alive {
            return Ok(());
        }
    }
}

/// Whether the request announces a body (a non-zero `Content-Length` or
/// any `Transfer-Encoding`).
fn has_body(req: &httparse::Request<'_, '_>) -> bool {
    req.headers.iter().any(|h| {
        h.name.eq_ignore_ascii_case("transfer-encoding")
            || (h.name.eq_ignore_ascii_case("content-length")
                && h.value
                    .iter()
                    .any(|&b| b != b'0' && !b.is_ascii_whitespace()))
    })
}

/// Sends a file (or a 404), with the body spliced from the file to the
/// socket.
async fn send_file(
    stream: &mut TcpStream,
    path: &Path,
    head_only: bool,
    keep_alive: bool,
) -> io::Result<()> {
    let file = match File::open(path).await {
        Ok(f) => f,
        Err(_) => return respond_simple(stream, 404, "Not Found", keep_alive).await,
    };
    let meta = file.metadata().await?;
    if !meta.is_file() {
        return respond_simple(stream, 404, "Not Found", keep_alive).await;
    }
    let len = meta.len();
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nContent-Type: {}\r\nConnection: {}\r\n\r\n",
        content_type(path),
        if keep_alive { "keep-alive" } else { "close" }
    );
    let (res, _) = stream.write_all(head.into_bytes()).await;
    res?;
    let mut sent = 0;
    while !head_only && sent < len {
        // In chunks, each with a deadline: a client that stops reading
        // does not hold the file, the socket and a pipe forever.
        let chunk = (len - sent).min(SEND_CHUNK);
        let splice = coring::fs::splice_to(&file, sent, chunk, &*stream);
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

async fn respond_simple(
    stream: &mut TcpStream,
    code: u16,
    reason: &str,
    keep_alive: bool,
) -> io::Result<()> {
    let body = format!("{code} {reason}\n");
    let msg = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Length: {}\r\nContent-Type: text/plain\r\nConnection: {}\r\n\r\n{body}",
        body.len(),
        if keep_alive { "keep-alive" } else { "close" }
    );
    let (res, _) = stream.write_all(msg.into_bytes()).await;
    res
}

/// Where the request head in `buf` ends (after CRLFCRLF), looking only at
/// bytes from `from` on (minus three, for a CRLFCRLF split across reads).
fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let start = from.saturating_sub(3);
    buf[start..]
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| start + i + 4)
}

fn keep_alive(req: &httparse::Request<'_, '_>) -> bool {
    let conn = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("connection"))
        .map(|h| String::from_utf8_lossy(h.value).to_ascii_lowercase());
    match (req.version, conn.as_deref()) {
        (_, Some(c)) if c.contains("close") => false,
        (Some(0), Some(c)) => c.contains("keep-alive"),
        (Some(0), None) => false,
        _ => true,
    }
}

/// What a request target names.
enum Target {
    File(PathBuf),
    Missing,
    /// Outside the root (`..`, a symlink leading out), a dotfile, or
    /// undecodable.
    Forbidden,
}

/// Maps a request target to a file under `root` (which is canonical).
fn resolve(root: &Path, target: &str) -> Target {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let Some(decoded) = percent_decode(path) else {
        return Target::Forbidden;
    };
    let mut out = root.to_path_buf();
    for comp in Path::new(&decoded).components() {
        match comp {
            Component::Normal(c) if c.to_string_lossy().starts_with('.') => {
                return Target::Forbidden
            }
            Component::Normal(c) => out.push(c),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => return Target::Forbidden,
        }
    }
    // Symlinks may point anywhere: serve only what really lies under the
    // root. (Blocking metadata calls; fine for a local tree.)
    let Ok(mut real) = std::fs::canonicalize(&out) else {
        return Target::Missing;
    };
    if real.is_dir() {
        match std::fs::canonicalize(real.join("index.html")) {
            Ok(index) => real = index,
            Err(_) => return Target::Missing,
        }
    }
    if real.starts_with(root) {
        Target::File(real)
    } else {
        Target::Forbidden
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let s = String::from_utf8(out).ok()?;
    (!s.contains('\0')).then_some(s)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") | Some("htm") => "text/html; charset=utf-8",
        Some("txt") | Some("md") | Some("rs") | Some("toml") => "text/plain; charset=utf-8",
        Some("css") => "text/css",
        Some("js") => "application/javascript",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("jpg") | Some("jpeg") => "image/jpeg",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}
