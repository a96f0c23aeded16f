//! hyper 1 on coring (feature `hyper`): an executor, a timer, and
//! [`serve`] — HTTP/1.1 and HTTP/2 on every core, with a header-read
//! timeout and graceful shutdown.
//!
//! The streams themselves implement hyper's `rt::Read`/`rt::Write`
//! ([`coring::net::hyper_io`](crate::net::hyper_io)), so
//! `hyper::server::conn::http1::Builder::serve_connection(stream, svc)` and
//! `hyper::client::conn::http1::handshake(stream)` take a `TcpStream` as it
//! is. What hyper needs besides I/O:
//!
//! - [`Executor`]: `hyper::rt::Executor<F>` for any `F: Future + 'static`
//!   (`!Send` included); it spawns on the current core (`coring::spawn`).
//!   HTTP/2 streams and client connections run there.
//! - [`Timer`]: `hyper::rt::Timer` on the core's timers. hyper asks for
//!   `Send + Sync` sleeps; [`coring::time::Sleep`](crate::time::Sleep) is
//!   both because it owns only plain data (its deadline, and once waiting
//!   its runtime's id and timer key) and reaches the core's `!Send` timer
//!   map through the current thread's runtime, panicking if polled on
//!   another core. hyper polls a connection's sleeps in that connection's
//!   task, which a `!Send` stream keeps on its core. No `unsafe impl Send`.
//!   With it, hyper's header-read timeout (on by default here, 30 s) and
//!   HTTP/2 keep-alive pings work.
//!
//! ```no_run
//! use coring::hyper::{serve, Server};
//! use http_body_util::Full;
//! use hyper::{body::Bytes, service::service_fn, Response};
//! use std::{convert::Infallible, time::Duration};
//!
//! fn main() -> std::io::Result<()> {
//!     Server::bind("0.0.0.0:8080")
//!         .cores(coring::runtime::Cores::All)
//!         .header_read_timeout(Some(Duration::from_secs(10)))
//!         .run(|| {
//!             service_fn(|_req| async {
//!                 Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("Hello, World!"))))
//!             })
//!         })
//! }
//! ```

mod futures_io;
mod server;

#[cfg(feature = "client")]
pub mod client;

pub use futures_io::FuturesIo;
pub use server::{serve, serve_on, ConnConfig, Serve, Server};

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, Instant},
};

/// hyper's executor on coring: spawns every future (`Send` or not) on the
/// current core with [`coring::spawn`](crate::spawn), detached. Panics if
/// used outside a coring runtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct Executor;

impl<F> hyper::rt::Executor<F> for Executor
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn execute(&self, fut: F) {
        drop(crate::spawn(fut));
    }
}

/// hyper's timer on coring's timers (see the [module doc](self) for why
/// its `Send + Sync` sleeps are sound). The sleeps must be polled on a
/// coring core; hyper does so from the connection's task.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timer;

/// A coring sleep as hyper's `rt::Sleep`.
#[derive(Debug)]
struct HyperSleep(crate::time::Sleep);

impl Future for HyperSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl hyper::rt::Sleep for HyperSleep {}

impl hyper::rt::Timer for Timer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep(crate::time::sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep(crate::time::sleep_until(deadline)))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<HyperSleep>() {
            Some(mut s) => s.0.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }

    fn now(&self) -> Instant {
        Instant::now()
    }
}

#[cfg(test)]
mod tests {
    fn send_sync<T: Send + Sync + 'static>() {}

    #[test]
    fn the_timer_and_its_sleeps_are_send_and_sync() {
        send_sync::<super::Timer>();
        send_sync::<super::HyperSleep>();
    }
}
