//! axum (and any tower service) on coring (feature `axum`):
//! [`serve`]`(listener, router)`, like `axum::serve`, on the current core.
//!
//! ```ignore
//! // (not compiled here: coring does not depend on axum itself)
//! use axum::{routing::get, Router};
//! use coring::net::TcpListener;
//! use coring::runtime::Builder;
//!
//! fn main() -> std::io::Result<()> {
//!     let app = Router::new().route("/", get(|| async { "Hello, World!" }));
//!     Builder::new().run(move |_core| {
//!         let app = app.clone();
//!         async move {
//!             let listener = TcpListener::bind_sharded("0.0.0.0:8080").await?;
//!             // Drains on SIGINT/SIGTERM: stops accepting, lets requests
//!             // in flight finish.
//!             coring::axum::serve(listener, app).await
//!         }
//!     })?;
//!     Ok(())
//! }
//! ```
//!
//! # `Send` handlers on a thread-per-core runtime
//!
//! axum requires handlers (and so their futures) to be `Send`, although
//! coring never moves them: each connection, and every request on it, runs
//! on the core that accepted it. What a handler can use:
//!
//! - **Timers**: [`coring::time::sleep`](crate::time::sleep),
//!   [`timeout`](crate::time::timeout) and `interval` are `Send`; await them
//!   directly.
//! - **`!Send` I/O** (coring's streams, files, anything holding an `Rc`):
//!   do it in a task on the same core and await its handle,
//!   `coring::spawn(async move { .. }).await` — the `!Send` future moves
//!   into the task at once, and the handler only holds the
//!   [`JoinHandle`](crate::JoinHandle), which is `Send` when the output is.
//!   The output must be `Send` (bytes, a `String`, a status), not the
//!   stream itself.
//! - **Per-core state**: build it per core (a `thread_local!` or
//!   [`runtime_local`](crate::runtime::runtime_local)) and reach it from
//!   the spawned task, not from the handler's state.
//!
//! `hyper` upgrades (WebSockets through `hyper::upgrade`) need a `Send`
//! I/O type and are not served.

use crate::hyper::{serve_on, Serve};
use crate::net::TcpListener;
use hyper_util::service::TowerToHyperService;

/// A tower service (an axum `Router`) as the hyper service
/// [`Server::run`](crate::hyper::Server::run) and
/// [`serve_on`] take.
pub fn service<S>(service: S) -> TowerToHyperService<S> {
    TowerToHyperService::new(service)
}

/// Serves `service` (an axum `Router`, or any cloneable tower service) on
/// `listener` from the current core, like `axum::serve`: HTTP/1.1 and
/// HTTP/2 auto-detected, a 30 s header-read timeout, `TCP_NODELAY`.
/// Await it. It stops accepting and shuts every connection down
/// gracefully when the launcher drains (SIGINT/SIGTERM,
/// `ShutdownHandle::shutdown`), or when the future given to
/// [`Serve::with_graceful_shutdown`] resolves; settings through
/// [`Serve::configure`]. See [`serve_on`] for the details.
pub fn serve<S>(listener: TcpListener, service: S) -> Serve<TowerToHyperService<S>> {
    serve_on(listener, TowerToHyperService::new(service))
}
