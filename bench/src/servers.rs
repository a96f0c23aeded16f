//! Peer servers for the `net` group, run as child processes of the harness
//! (`coring-bench serve ...`, moved from `benches/net_servers.rs`): the same
//! echo and HTTP/1.1 hello servers on coring, monoio (io_uring or epoll)
//! and tokio current-thread, by default each on one thread:
//! `coring-bench serve --server coring|coring-owned|monoio|monoio-epoll|tokio --mode echo|http --port N [--threads N]`
//! (`coring-owned`: the echo server with owned-buffer writes instead of the
//! futures-io write path).
//!
//! `--threads N` (alias `--cores N`, default 1; the two-core echo): coring
//! runs under its launcher (N pinned cores, one `bind_sharded`
//! `SO_REUSEPORT` listener each); monoio runs N threads, each pinned to
//! one of the first N allowed CPUs like coring's cores, with its own runtime
//! and `SO_REUSEPORT` listener on the same port; tokio runs its
//! multi-thread scheduler with N workers (unpinned, work-stealing) and one
//! listener.
//!
//! `coring-bench serve axum-files --dir DIR --port N [--threads N]` (the
//! `files` group's peer): axum with tower-http's `ServeDir` on tokio,
//! current-thread for 1 thread, multi-thread with N workers otherwise,
//! `TCP_NODELAY` on every accepted socket.
//!
//! `coring-bench serve --server coring-hyper|tokio-hyper|tokio-axum --port N
//! [--threads N]` (the `hyper` group): a plain hyper service (`GET /` →
//! `Hello, World!`, `POST /echo` → the body back as JSON) through
//! hyper-util's auto builder (HTTP/1.1 + HTTP/2, the same settings on
//! both: 30 s header-read timeout, keep-alive, `TCP_NODELAY`) on coring
//! (`coring::hyper::Server`, under its launcher) or on tokio
//! (current-thread for 1 thread, multi-thread with N workers otherwise);
//! `tokio-axum` is the axum_hello example's router on tokio with
//! `axum::serve`.

use std::{io, net::SocketAddr};

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!";
const BUF: usize = 16 * 1024;

/// Parses the complete requests at the start of `input` and appends one
/// response per request to `out`. Returns the bytes consumed and whether
/// the connection should close (a `Connection: close` request or a
/// malformed one).
fn http_respond(input: &[u8], out: &mut Vec<u8>) -> (usize, bool) {
    let mut used = 0;
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&input[used..]) {
            Ok(httparse::Status::Complete(n)) => {
                used += n;
                out.extend_from_slice(RESPONSE);
                let close = req.headers.iter().any(|h| {
                    h.name.eq_ignore_ascii_case("connection")
                        && h.value.eq_ignore_ascii_case(b"close")
                });
                if close {
                    return (used, true);
                }
            }
            Ok(httparse::Status::Partial) => return (used, false),
            Err(_) => return (used, true),
        }
    }
}

mod coring_server {
    use super::*;
    use coring::buf::IoBuf;
    use coring::io::{OwnedRead, OwnedWrite};
    use coring::net::{TcpListener, TcpStream};
    use futures::StreamExt;

    /// Echo with owned buffers both ways: each write waits for its send.
    async fn echo_owned(mut c: TcpStream) {
        let mut buf = vec![0u8; BUF];
        loop {
            let (res, b) = c.read(buf).await;
            let n = match res {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let (res, b) = c.write_all(b.slice(..n)).await;
            buf = b.into_inner();
            if res.is_err() {
                return;
            }
        }
    }

    /// Echo with the futures-io write path: a write returns once its bytes
    /// are queued for sending (like a socket write that fits the socket
    /// buffer), errors come with the next write.
    async fn echo(mut c: TcpStream) {
        use futures::io::AsyncWriteExt;
        let mut buf = vec![0u8; BUF];
        loop {
            let (res, b) = c.read(buf).await;
            buf = b;
            let n = match res {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if AsyncWriteExt::write_all(&mut c, &buf[..n]).await.is_err() {
                return;
            }
        }
    }

    async fn http(mut c: TcpStream) {
        use futures::io::AsyncWriteExt;
        let mut input: Vec<u8> = Vec::with_capacity(BUF);
        let mut out = Vec::with_capacity(BUF);
        let mut buf = vec![0u8; BUF];
        loop {
            let (res, b) = c.read(buf).await;
            buf = b;
            let n = match res {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            input.extend_from_slice(&buf[..n]);
            let (used, close) = http_respond(&input, &mut out);
            input.drain(..used);
            if !out.is_empty() {
                if AsyncWriteExt::write_all(&mut c, &out).await.is_err() {
                    return;
                }
                out.clear();
            }
            if close {
                let _ = c.close().await;
                return;
            }
        }
    }

    #[derive(Clone, Copy)]
    enum Mode {
        Http,
        Echo,
        EchoOwned,
    }

    pub fn run(
        addr: SocketAddr,
        mode: &str,
        owned: bool,
        spin: std::time::Duration,
        threads: usize,
    ) -> io::Result<()> {
        let mode = match (mode, owned) {
            ("http", _) => Mode::Http,
            (_, false) => Mode::Echo,
            (_, true) => Mode::EchoOwned,
        };
        let mut builder = coring::runtime::Builder::new();
        builder.spin_before_park(spin);
        if threads == 1 {
            let rt = builder.build()?;
            return rt.block_on(async move { serve(TcpListener::bind(addr).await?, mode).await });
        }
        // One pinned core per thread, each with its own SO_REUSEPORT listener.
        let outputs =
            builder
                .cores(coring::runtime::Cores::Count(threads))
                .run(move |_| async move {
                    serve(TcpListener::bind_sharded(addr).await?, mode).await
                })?;
        outputs.into_iter().flatten().collect()
    }

    async fn serve(listener: TcpListener, mode: Mode) -> io::Result<()> {
        let mut incoming = listener.incoming();
        while let Some(c) = incoming.next().await {
            let c = c?;
            c.set_nodelay(true)?;
            match mode {
                Mode::Http => coring::spawn(http(c)),
                Mode::Echo => coring::spawn(echo(c)),
                Mode::EchoOwned => coring::spawn(echo_owned(c)),
            };
        }
        Ok(())
    }
}

mod monoio_server {
    use super::*;
    use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
    use monoio::net::{TcpListener, TcpStream};

    async fn echo(mut c: TcpStream) {
        let mut buf = vec![0u8; BUF];
        loop {
            let (res, b) = c.read(buf).await;
            let n = match res {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let (res, b) = c.write_all(monoio::buf::IoBuf::slice(b, ..n)).await;
            buf = b.into_inner();
            if res.is_err() {
                return;
            }
        }
    }

    async fn http(mut c: TcpStream) {
        let mut input: Vec<u8> = Vec::with_capacity(BUF);
        let mut out = Vec::with_capacity(BUF);
        let mut buf = vec![0u8; BUF];
        loop {
            let (res, b) = c.read(buf).await;
            buf = b;
            let n = match res {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            input.extend_from_slice(&buf[..n]);
            let (used, close) = http_respond(&input, &mut out);
            input.drain(..used);
            if !out.is_empty() {
                let (res, o) = c.write_all(out).await;
                out = o;
                out.clear();
                if res.is_err() {
                    return;
                }
            }
            if close {
                return;
            }
        }
    }

    async fn serve(addr: SocketAddr, http_mode: bool, reuse_port: bool) -> io::Result<()> {
        let listener = if reuse_port {
            let opts = monoio::net::ListenerOpts::new().reuse_port(true);
            TcpListener::bind_with_config(addr, &opts)?
        } else {
            TcpListener::bind(addr)?
        };
        loop {
            let (c, _) = listener.accept().await?;
            c.set_nodelay(true)?;
            if http_mode {
                monoio::spawn(http(c));
            } else {
                monoio::spawn(echo(c));
            }
        }
    }

    fn run_one(addr: SocketAddr, http_mode: bool, epoll: bool, reuse_port: bool) -> io::Result<()> {
        if epoll {
            monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
                .build()?
                .block_on(serve(addr, http_mode, reuse_port))
        } else {
            monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
                .build()?
                .block_on(serve(addr, http_mode, reuse_port))
        }
    }

    pub fn run(addr: SocketAddr, mode: &str, epoll: bool, threads: usize) -> io::Result<()> {
        let http_mode = mode == "http";
        if threads == 1 {
            return run_one(addr, http_mode, epoll, false);
        }
        // Thread-per-core like coring: thread i pinned to allowed CPU i, its
        // own runtime and SO_REUSEPORT listener on the shared port.
        let cpus = coring::runtime::launcher::allowed_cpus()?;
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let cpu = cpus[i % cpus.len()];
                std::thread::spawn(move || {
                    coring::runtime::launcher::pin_current_thread(cpu)?;
                    run_one(addr, http_mode, epoll, true)
                })
            })
            .collect();
        for h in handles {
            h.join().expect("monoio server thread panicked")?;
        }
        Ok(())
    }
}

mod tokio_server {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    async fn echo(mut c: TcpStream) {
        let mut buf = vec![0u8; BUF];
        loop {
            let n = match c.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if AsyncWriteExt::write_all(&mut c, &buf[..n]).await.is_err() {
                return;
            }
        }
    }

    async fn http(mut c: TcpStream) {
        let mut input: Vec<u8> = Vec::with_capacity(BUF);
        let mut out = Vec::with_capacity(BUF);
        let mut buf = vec![0u8; BUF];
        loop {
            let n = match c.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            input.extend_from_slice(&buf[..n]);
            let (used, close) = http_respond(&input, &mut out);
            input.drain(..used);
            if !out.is_empty() {
                if AsyncWriteExt::write_all(&mut c, &out).await.is_err() {
                    return;
                }
                out.clear();
            }
            if close {
                return;
            }
        }
    }

    pub fn run(addr: SocketAddr, mode: &str, threads: usize) -> io::Result<()> {
        let http_mode = mode == "http";
        let mut builder = if threads == 1 {
            tokio::runtime::Builder::new_current_thread()
        } else {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(threads);
            b
        };
        builder.enable_all().build()?.block_on(async move {
            let listener = TcpListener::bind(addr).await?;
            loop {
                let (c, _) = listener.accept().await?;
                c.set_nodelay(true)?;
                if http_mode {
                    tokio::spawn(http(c));
                } else {
                    tokio::spawn(echo(c));
                }
            }
        })
    }
}

mod axum_files {
    use super::*;
    use axum::serve::ListenerExt;

    pub fn run(addr: SocketAddr, dir: std::path::PathBuf, threads: usize) -> io::Result<()> {
        let mut builder = if threads == 1 {
            tokio::runtime::Builder::new_current_thread()
        } else {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(threads);
            b
        };
        builder.enable_all().build()?.block_on(async move {
            let listener = tokio::net::TcpListener::bind(addr).await?.tap_io(|c| {
                let _ = c.set_nodelay(true);
            });
            let app =
                axum::Router::new().fallback_service(tower_http::services::ServeDir::new(dir));
            axum::serve(listener, app).await
        })
    }
}

/// The `hyper` group's servers (see the module doc).
mod hyper_peers {
    use super::*;
    use http_body_util::{BodyExt, Full};
    use hyper::{
        body::{Bytes, Incoming},
        header::CONTENT_TYPE,
        service::service_fn,
        Method, Request, Response,
    };
    use std::convert::Infallible;

    /// `GET /` → hello; `POST /echo` → the body back as JSON.
    pub async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
        if req.method() == Method::POST && req.uri().path() == "/echo" {
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let mut resp = Response::new(Full::new(body));
            resp.headers_mut()
                .insert(CONTENT_TYPE, "application/json".parse().unwrap());
            return Ok(resp);
        }
        let mut resp = Response::new(Full::new(Bytes::from_static(b"Hello, World!")));
        resp.headers_mut()
            .insert(CONTENT_TYPE, "text/plain".parse().unwrap());
        Ok(resp)
    }

    pub fn axum_app() -> axum::Router {
        use axum::routing::{get, post};
        axum::Router::new()
            .route("/", get(|| async { "Hello, World!" }))
            .route(
                "/echo",
                post(|axum::Json(v): axum::Json<serde_json::Value>| async move { axum::Json(v) }),
            )
    }

    pub fn coring_hyper(addr: SocketAddr, threads: usize) -> io::Result<()> {
        coring::hyper::Server::bind(addr)
            .cores(coring::runtime::Cores::Count(threads))
            .run(|| service_fn(hello))
    }

    fn tokio_rt(threads: usize) -> io::Result<tokio::runtime::Runtime> {
        let mut builder = if threads == 1 {
            tokio::runtime::Builder::new_current_thread()
        } else {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(threads);
            b
        };
        builder.enable_all().build()
    }

    pub fn tokio_hyper(addr: SocketAddr, threads: usize) -> io::Result<()> {
        use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
        tokio_rt(threads)?.block_on(async move {
            let listener = tokio::net::TcpListener::bind(addr).await?;
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .keep_alive(true)
                .header_read_timeout(std::time::Duration::from_secs(30));
            builder.http2().timer(TokioTimer::new());
            let builder = std::sync::Arc::new(builder);
            loop {
                let (stream, _) = listener.accept().await?;
                let _ = stream.set_nodelay(true);
                let builder = builder.clone();
                tokio::spawn(async move {
                    let _ = builder
                        .serve_connection(TokioIo::new(stream), service_fn(hello))
                        .await;
                });
            }
        })
    }

    pub fn tokio_axum(addr: SocketAddr, threads: usize) -> io::Result<()> {
        use axum::serve::ListenerExt;
        tokio_rt(threads)?.block_on(async move {
            let listener = tokio::net::TcpListener::bind(addr).await?.tap_io(|c| {
                let _ = c.set_nodelay(true);
            });
            axum::serve(listener, axum_app()).await
        })
    }
}

/// `coring-bench serve ARGS`.
pub fn main(args: &[String]) -> io::Result<()> {
    let get = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let server = if args.first().is_some_and(|a| a == "axum-files") {
        Some("axum-files".to_string())
    } else {
        get("--server")
    };
    let Some(server) = server else {
        eprintln!("usage: coring-bench serve --server coring|coring-owned|monoio|monoio-epoll|tokio --mode echo|http --port N [--threads N]\n       coring-bench serve --server coring-hyper|tokio-hyper|tokio-axum --port N [--threads N]\n       coring-bench serve axum-files --dir DIR --port N [--threads N]");
        return Ok(());
    };
    let mode = get("--mode").unwrap_or_else(|| "echo".into());
    let port: u16 = get("--port")
        .unwrap_or_else(|| "7878".into())
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("--port: {e}")))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    // coring only: how long the runtime spins before parking (0 = park at
    // once, like the peers).
    let spin_us: u64 = get("--spin-us")
        .unwrap_or_else(|| "0".into())
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("--spin-us: {e}")))?;
    let spin = std::time::Duration::from_micros(spin_us);
    // Server threads (coring: cores); 1 = the single-thread servers.
    let threads: usize = get("--threads")
        .or_else(|| get("--cores"))
        .unwrap_or_else(|| "1".into())
        .parse()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "--threads: expected N > 0"))?;
    match server.as_str() {
        "coring" => coring_server::run(addr, &mode, false, spin, threads),
        "coring-owned" => coring_server::run(addr, &mode, true, spin, threads),
        "monoio" => monoio_server::run(addr, &mode, false, threads),
        "monoio-epoll" => monoio_server::run(addr, &mode, true, threads),
        "tokio" => tokio_server::run(addr, &mode, threads),
        "coring-hyper" => hyper_peers::coring_hyper(addr, threads),
        "tokio-hyper" => hyper_peers::tokio_hyper(addr, threads),
        "tokio-axum" => hyper_peers::tokio_axum(addr, threads),
        "axum-files" => {
            let dir = get("--dir").ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "axum-files needs --dir DIR")
            })?;
            axum_files::run(addr, dir.into(), threads)
        }
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown server {other:?}"),
        )),
    }
}
