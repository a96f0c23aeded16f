//! Echo server: every connection gets back what it sends.
//!
//! `cargo run --release --example echo -- [PORT] [--cores N|all]` (defaults:
//! port 7878, 1 core), then e.g.
//! `cargo run --release --example echo_client -- 127.0.0.1:7878`.
//! With `--cores` every core runs its own accept loop on its own
//! `SO_REUSEPORT` listener. SIGINT/SIGTERM stop it gracefully (exit 0).

use coring::buf::IoBuf;
use coring::net::{TcpListener, TcpStream};
use coring::runtime::{Builder, Cores};
use futures::StreamExt;
use std::io;

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

/// `[PORT] [--cores N|all]`.
fn parse_args() -> io::Result<(u16, Cores)> {
    let bad = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
    let (mut port, mut cores) = (7878, Cores::Count(1));
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
    // One copy of this future per core; SIGINT/SIGTERM stop them all.
    let outputs = Builder::new().cores(cores).run(move |core| async move {
        // Each core has its own SO_REUSEPORT listener on the same port (with
        // port 0, the one the first core got); the kernel spreads connections.
        let listener = TcpListener::bind_sharded(("0.0.0.0", port)).await?;
        if core.index == 0 {
            println!("echo server listening on {}", listener.local_addr()?);
        }
        let mut incoming = listener.incoming();
        while let Some(conn) = incoming.next().await {
            coring::spawn(echo(conn?));
        }
        Ok::<(), io::Error>(())
    })?;
    // `None`: the core was stopped by a signal.
    outputs.into_iter().flatten().collect()
}
