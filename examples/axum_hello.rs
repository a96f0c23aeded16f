//! axum on coring: one `Router`, served on every core with
//! `coring::axum::serve` (HTTP/1.1 and HTTP/2, header-read timeout,
//! graceful shutdown).
//!
//! `cargo run --release --features axum --example axum_hello -- [PORT] [--cores N|all]`
//! (defaults: port 8080, 1 core). Routes:
//!
//! - `GET /` → `Hello, World!`
//! - `POST /echo` → the JSON body back (`application/json`; a body of
//!   another content type is 415, invalid JSON 400)
//! - `GET /slow` → waits 200 ms on a coring timer (a `Send` future, as
//!   axum needs), then `done`
//!
//! SIGINT/SIGTERM: the listeners close, requests in flight finish (up to
//! the 30 s grace period), and the process exits 0.

use axum::{
    routing::{get, post},
    Json, Router,
};
use coring::net::TcpListener;
use coring::runtime::{Builder, Cores};
use std::{io, time::Duration};

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "Hello, World!" }))
        .route(
            "/echo",
            post(|Json(body): Json<serde_json::Value>| async move { Json(body) }),
        )
        .route(
            "/slow",
            get(|| async {
                coring::time::sleep(Duration::from_millis(200)).await;
                "done"
            }),
        )
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
    let app = app();
    // One accept loop per core, each on its own SO_REUSEPORT listener.
    let outputs = Builder::new().cores(cores).run(move |core| {
        let app = app.clone();
        async move {
            let listener = TcpListener::bind_sharded(("0.0.0.0", port)).await?;
            if core.index == 0 {
                println!(
                    "listening on {}, {} core(s)",
                    listener.local_addr()?,
                    core.cores
                );
            }
            coring::axum::serve(listener, app).await
        }
    })?;
    // `None`: the core was stopped hard (second signal or deadline).
    outputs.into_iter().flatten().collect()
}
