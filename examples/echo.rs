//! Echo server: every connection gets back what it sends.
//!
//! `cargo run --release --example echo -- [PORT] [--cores N|all]` (defaults:
//! port 7878, 1 core), then e.g.
//! `cargo run --release --example echo_client -- 127.0.0.1:7878`.
//! With `--cores` every core runs its own accept loop on its own
//! `SO_REUSEPORT` listener. SIGINT/SIGTERM shut it down gracefully: the
//! listeners close, each connection is closed once it has echoed what it
//! read, and the process exits 0 (a second signal stops at once).

use coring::net::{TcpListener, TcpStream};
use coring::runtime::{shutdown_handle, Builder, Cores, Draining};
use futures::{
    future::{select, Either},
    io::{AsyncBufReadExt, AsyncWriteExt},
    StreamExt,
};
use std::{future::Future, io};

/// Echoes one connection. Waiting for the next message holds no buffer:
/// `fill_buf` hands out bytes where the runtime's buffer ring received
/// them, and `write_all` (futures' `AsyncWrite`) copies them into a send
/// that is freed once done. So an idle connection costs well under 1 KiB.
///
/// The stream is split before the `async move` block (and `echo` is a
/// plain `fn`): an `async fn` taking it by value, or a split inside the
/// block, would keep a second copy of it in the task.
#[allow(clippy::manual_async_fn)] // on purpose: see above
fn echo(conn: TcpStream, mut draining: Draining) -> impl Future<Output = ()> {
    let _ = conn.set_nodelay(true);
    let (mut rd, mut wr) = conn.into_split();
    async move {
        loop {
            // Waiting for the next message is where a shutdown closes the
            // connection; a message already read is echoed first.
            let chunk = match select(&mut draining, rd.fill_buf()).await {
                Either::Left(((), _)) => break,
                Either::Right((Ok([]), _)) => break, // the peer closed
                Either::Right((Ok(chunk), _)) => chunk,
                Either::Right((Err(e), _)) => {
                    tracing::debug!("read: {e}");
                    return;
                }
            };
            let n = chunk.len();
            if let Err(e) = AsyncWriteExt::write_all(&mut wr, chunk).await {
                tracing::debug!("write: {e}");
                return;
            }
            rd.consume_unpin(n);
        }
        // Send what is still queued before the connection closes.
        let _ = wr.flush().await;
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
    // One copy of this future per core; SIGINT/SIGTERM shut them all down.
    let outputs = Builder::new().cores(cores).run(move |core| async move {
        // Each core has its own SO_REUSEPORT listener on the same port (with
        // port 0, the one the first core got); the kernel spreads connections.
        let listener = TcpListener::bind_sharded(("0.0.0.0", port)).await?;
        if core.index == 0 {
            println!("echo server listening on {}", listener.local_addr()?);
        }
        let shutdown = shutdown_handle();
        let mut draining = shutdown.wait();
        let mut incoming = listener.incoming();
        // Accept until shutdown begins; the runtime then waits for the
        // connection tasks (up to the grace period).
        while let Either::Left((Some(conn), _)) = select(incoming.next(), &mut draining).await {
            coring::spawn(echo(conn?, shutdown.wait()));
        }
        Ok::<(), io::Error>(())
    })?;
    // `None`: the core was stopped hard (second signal or deadline).
    outputs.into_iter().flatten().collect()
}
