//! Echo server: every connection gets back what it sends.
//!
//! `cargo run --release --example echo -- [PORT]` (default 7878), then e.g.
//! `cargo run --release --example echo_client -- 127.0.0.1:7878`.

use coring::buf::IoBuf;
use coring::net::{TcpListener, TcpStream};
use futures::StreamExt;

async fn echo(mut conn: TcpStream) {
    let _ = conn.set_nodelay(true);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let (res, b) = conn.read(buf).await;
        let n = match res {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) => {
                tracing::debug!("read: {e}");
                return;
            }
        };
        let (res, b) = conn.write_all(b.slice(..n)).await;
        buf = b.into_inner();
        if let Err(e) = res {
            tracing::debug!("write: {e}");
            return;
        }
    }
}

#[coring::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = match std::env::args().nth(1) {
        Some(p) => p.parse().map_err(|e| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("port {p:?}: {e}"))
        })?,
        None => 7878,
    };
    let listener = TcpListener::bind(("0.0.0.0", port)).await?;
    eprintln!("echo server listening on {}", listener.local_addr()?);
    let mut incoming = listener.incoming();
    while let Some(conn) = incoming.next().await {
        coring::spawn(echo(conn?));
    }
    Ok(())
}
