//! Minimal HTTP/1.1 server for load tests (`wrk`): parses requests with
//! httparse, keeps connections alive (pipelining included), and answers
//! every request with a fixed "Hello, World!".
//!
//! `cargo run --release --example http_hello -- [PORT]` (default 8080),
//! then `wrk -t1 -c64 -d10s http://127.0.0.1:8080/`.

use coring::net::{TcpListener, TcpStream};
use futures::StreamExt;
use std::io;

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

async fn serve(mut conn: TcpStream) -> io::Result<()> {
    let mut input: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut out = Vec::with_capacity(16 * 1024);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let (res, b) = conn.read(buf).await;
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

#[coring::main]
async fn main() -> io::Result<()> {
    let port: u16 = match std::env::args().nth(1) {
        Some(p) => p
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("port {p:?}: {e}")))?,
        None => 8080,
    };
    let listener = TcpListener::bind(("0.0.0.0", port)).await?;
    eprintln!("http_hello listening on {}", listener.local_addr()?);
    let mut incoming = listener.incoming();
    while let Some(conn) = incoming.next().await {
        let conn = conn?;
        conn.set_nodelay(true)?;
        coring::spawn(async move {
            if let Err(e) = serve(conn).await {
                tracing::debug!("connection: {e}");
            }
        });
    }
    Ok(())
}
