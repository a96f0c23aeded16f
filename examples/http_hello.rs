//! Minimal HTTP/1.1 server for load tests (`wrk`): parses requests with
//! httparse, keeps connections alive (pipelining included), and answers
//! every request with a fixed "Hello, World!".
//!
//! `cargo run --release --example http_hello -- [PORT] [--cores N|all]`
//! (defaults: port 8080, 1 core), then
//! `wrk -t1 -c64 -d10s http://127.0.0.1:8080/`. With `--cores` every core
//! runs its own accept loop on its own `SO_REUSEPORT` listener.
//! SIGINT/SIGTERM shut it down gracefully: the listeners close, each
//! connection is closed after the responses to what it already sent, and
//! the process exits 0 (a second signal stops at once).

use coring::io::{OwnedRead, OwnedWrite};
use coring::net::{TcpListener, TcpStream};
use coring::runtime::{shutdown_handle, Builder, Cores, Draining};
use futures::{
    future::{select, Either},
    StreamExt,
};
use std::{io, pin::pin};

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!";
const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// Answers every complete request at the start of `input`; returns the
/// bytes consumed and whether to close the connection afterwards.
fn respond(input: &[u8], out: &mut Vec<u8>) -> (usize, bool) {
    let mut used = 0;
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&input[used..]) {
            Ok(httparse::Status::Complete(n)) => {
                used += n;
                out.extend_from_slice(RESPONSE);
                let close = req.version == Some(0)
                    || req.headers.iter().any(|h| {
                        h.name.eq_ignore_ascii_case("connection")
                            && h.value.eq_ignore_ascii_case(b"close")
                    });
                if close {
                    return (used, true);
                }
            }
            Ok(httparse::Status::Partial) => return (used, false),
            Err(_) => {
                out.extend_from_slice(BAD_REQUEST);
                return (input.len(), true);
            }
        }
    }
}

async fn serve(mut conn: TcpStream, mut draining: Draining) -> io::Result<()> {
    let mut input: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut out = Vec::with_capacity(16 * 1024);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        // Every complete request read so far has been answered: a shutdown
        // closes the connection here, between requests.
        let (res, b) = match select(&mut draining, pin!(conn.read(buf))).await {
            Either::Left(((), _)) => return Ok(()),
            Either::Right((read, _)) => read,
        };
        buf = b;
        let n = res?;
        if n == 0 {
            return Ok(());
        }
        input.extend_from_slice(&buf[..n]);
        if input.len() > 64 * 1024 {
            // A request head this large is not something we serve.
            let (res, _) = conn.write_all(BAD_REQUEST).await;
            return res;
        }
        let (used, close) = respond(&input, &mut out);
        input.drain(..used);
        if !out.is_empty() {
            let (res, o) = conn.write_all(out).await;
            out = o;
            out.clear();
            res?;
        }
        if close {
            return Ok(());
        }
    }
}

/// `[PORT] [--cores N|all]`.
fn parse_args() -> io::Result<(u16, Cores)> {
    let bad = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
    let (mut port, mut cores) = (8080, Cores::Count(1));
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--cores" => {
                let n = args
                    .next()
                    .ok_or_else(|| bad("--cores needs N or all".into()))?;
                cores = Cores::parse(&n)?;
            }
            p => port = p.parse().map_err(|e| bad(format!("port {p:?}: {e}")))?,
        }
    }
    Ok((port, cores))
}

fn main() -> io::Result<()> {
    let (port, cores) = parse_args()?;
    // One copy of this future per core; SIGINT/SIGTERM shut them all down.
    let outputs = Builder::new().cores(cores).run(move |core| async move {
        // Each core has its own SO_REUSEPORT listener on the same port (with
        // port 0, the one the first core got); the kernel spreads connections.
        let listener = TcpListener::bind_sharded(("0.0.0.0", port)).await?;
        if core.index == 0 {
            println!("http_hello listening on {}", listener.local_addr()?);
        }
        let shutdown = shutdown_handle();
        let mut draining = shutdown.wait();
        let mut incoming = listener.incoming();
        // Accept until shutdown begins; the runtime then waits for the
        // connection tasks (up to the grace period).
        while let Either::Left((Some(conn), _)) = select(incoming.next(), &mut draining).await {
            let conn = conn?;
            conn.set_nodelay(true)?;
            let draining = shutdown.wait();
            coring::spawn(async move {
                if let Err(e) = serve(conn, draining).await {
                    tracing::debug!("connection: {e}");
                }
            });
        }
        Ok::<(), io::Error>(())
    })?;
    // `None`: the core was stopped hard (second signal or deadline).
    outputs.into_iter().flatten().collect()
}
