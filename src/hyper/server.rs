//! [`serve`], [`Server`] (every core, through the launcher) and
//! [`serve_on`]/[`Serve`] (one core's accept loop); HTTPS with
//! [`ConnConfig::tls`] (feature `tls`).

use super::{Executor, Timer};
use crate::net::{TcpListener, TcpStream};
use futures::future::{select, Either, FutureExt, LocalBoxFuture, Shared};
use hyper::{
    body::{Body, Incoming},
    Request, Response,
};
use hyper_util::server::conn::auto;
use std::{
    error::Error as StdError,
    fmt,
    future::{Future, IntoFuture},
    io,
    net::SocketAddr,
    pin::pin,
    rc::Rc,
    sync::Arc,
    time::Duration,
};

/// Which protocols a connection may speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// HTTP/1.1, or HTTP/2 when the connection starts with its preface
    /// (prior knowledge, cleartext).
    Auto,
    Http1,
    Http2,
}

/// How each connection is served: protocols, header-read timeout,
/// keep-alive, `TCP_NODELAY`. The defaults suit a public server:
/// HTTP/1.1 and HTTP/2 auto-detected, a 30 s header-read timeout,
/// keep-alive on, `TCP_NODELAY` on.
#[derive(Debug, Clone)]
pub struct ConnConfig {
    protocol: Protocol,
    header_read_timeout: Option<Duration>,
    keep_alive: bool,
    nodelay: bool,
    http2_keep_alive_interval: Option<Duration>,
    http2_max_concurrent_streams: Option<u32>,
    #[cfg(feature = "tls")]
    tls: Option<Arc<rustls::ServerConfig>>,
}

/// What a connection's TLS handshake needs: an acceptor (feature `tls`),
/// or nothing that can exist.
#[cfg(feature = "tls")]
type Acceptor = futures_rustls::TlsAcceptor;
#[cfg(not(feature = "tls"))]
#[derive(Clone)]
enum Acceptor {}

impl Default for ConnConfig {
    fn default() -> Self {
        ConnConfig {
            protocol: Protocol::Auto,
            header_read_timeout: Some(Duration::from_secs(30)),
            keep_alive: true,
            nodelay: true,
            http2_keep_alive_interval: None,
            http2_max_concurrent_streams: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl ConnConfig {
    /// How long an HTTP/1 connection may take to send a request's head
    /// (from the first byte of it, or from the start of an idle keep-alive
    /// wait); the connection is closed when it passes. `None` turns it off.
    /// Default 30 s.
    pub fn header_read_timeout(&mut self, timeout: Option<Duration>) -> &mut Self {
        self.header_read_timeout = timeout;
        self
    }

    /// HTTP/1 keep-alive (default on).
    pub fn keep_alive(&mut self, on: bool) -> &mut Self {
        self.keep_alive = on;
        self
    }

    /// `TCP_NODELAY` on accepted connections (default on).
    pub fn nodelay(&mut self, on: bool) -> &mut Self {
        self.nodelay = on;
        self
    }

    /// Serves only HTTP/1.
    pub fn http1_only(&mut self) -> &mut Self {
        self.protocol = Protocol::Http1;
        self
    }

    /// Serves only HTTP/2 (prior knowledge).
    pub fn http2_only(&mut self) -> &mut Self {
        self.protocol = Protocol::Http2;
        self
    }

    /// HTTP/2 keep-alive pings at this interval (default off).
    pub fn http2_keep_alive_interval(&mut self, interval: Option<Duration>) -> &mut Self {
        self.http2_keep_alive_interval = interval;
        self
    }

    /// Most concurrent streams per HTTP/2 connection (hyper's default:
    /// 200).
    pub fn http2_max_concurrent_streams(&mut self, max: u32) -> &mut Self {
        self.http2_max_concurrent_streams = Some(max);
        self
    }

    /// Serves HTTPS with `config`: every accepted connection first
    /// completes a TLS handshake (within the header-read timeout, or 30 s
    /// when that is off), then speaks HTTP/2 or HTTP/1.1 as ALPN chose. A
    /// `config` without ALPN protocols gets `h2` and `http/1.1` (or just
    /// the one [`http1_only`](ConnConfig::http1_only)/
    /// [`http2_only`](ConnConfig::http2_only) allows).
    #[cfg(feature = "tls")]
    pub fn tls(&mut self, config: Arc<rustls::ServerConfig>) -> &mut Self {
        self.tls = Some(config);
        self
    }

    /// The TLS acceptor for this configuration, if it serves HTTPS.
    fn acceptor(&self) -> Option<Acceptor> {
        #[cfg(feature = "tls")]
        if let Some(config) = &self.tls {
            let mut config = config.clone();
            if config.alpn_protocols.is_empty() {
                let alpn: &[&[u8]] = match self.protocol {
                    Protocol::Auto => &[b"h2", b"http/1.1"],
                    Protocol::Http1 => &[b"http/1.1"],
                    Protocol::Http2 => &[b"h2"],
                };
                Arc::make_mut(&mut config).alpn_protocols =
                    alpn.iter().map(|p| p.to_vec()).collect();
            }
            return Some(futures_rustls::TlsAcceptor::from(config));
        }
        None
    }

    /// How long a TLS handshake may take.
    #[cfg(feature = "tls")]
    fn handshake_timeout(&self) -> Duration {
        self.header_read_timeout.unwrap_or(Duration::from_secs(30))
    }

    fn builder(&self) -> auto::Builder<Executor> {
        let mut b = auto::Builder::new(Executor);
        b.http1()
            .timer(Timer)
            .keep_alive(self.keep_alive)
            .header_read_timeout(self.header_read_timeout);
        b.http2()
            .timer(Timer)
            .keep_alive_interval(self.http2_keep_alive_interval);
        if let Some(max) = self.http2_max_concurrent_streams {
            b.http2().max_concurrent_streams(max);
        }
        match self.protocol {
            Protocol::Auto => b,
            Protocol::Http1 => b.http1_only(),
            Protocol::Http2 => b.http2_only(),
        }
    }
}

type BoxError = Box<dyn StdError + Send + Sync>;

/// One core's accept loop serving a hyper service (see [`serve_on`]); an
/// [`IntoFuture`]: `.await` it on the core.
#[must_use = "Serve does nothing until awaited"]
pub struct Serve<S> {
    listener: TcpListener,
    service: S,
    config: ConnConfig,
    signal: Option<LocalBoxFuture<'static, ()>>,
}

impl<S> fmt::Debug for Serve<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener.local_addr().ok())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Serves `service` (cloned for every connection) on `listener` from the
/// current core: accepts until shutdown, each connection in its own task
/// (HTTP/1.1 or HTTP/2 per [`ConnConfig`]).
///
/// Shutdown is graceful. It starts when the launcher drains (SIGINT,
/// SIGTERM or [`ShutdownHandle::shutdown`](crate::runtime::ShutdownHandle::shutdown))
/// or when the future given to [`Serve::with_graceful_shutdown`]
/// resolves: the listener closes (new connections are refused), every
/// connection gets hyper's `graceful_shutdown` (idle keep-alive
/// connections close at once, requests in flight finish, HTTP/2 sends
/// `GOAWAY`), and the future returns. Under the launcher the core then
/// waits for those connection tasks, up to `Builder::shutdown_grace`; in a
/// single runtime, await the connections yourself or keep the runtime
/// running.
pub fn serve_on<S>(listener: TcpListener, service: S) -> Serve<S> {
    Serve {
        listener,
        service,
        config: ConnConfig::default(),
        signal: None,
    }
}

impl<S> Serve<S> {
    /// Replaces the connection settings.
    pub fn config(mut self, config: ConnConfig) -> Self {
        self.config = config;
        self
    }

    /// Changes the connection settings in place.
    pub fn configure(mut self, f: impl FnOnce(&mut ConnConfig)) -> Self {
        f(&mut self.config);
        self
    }

    /// Also shuts down gracefully when `signal` resolves (the launcher's
    /// drain does so anyway).
    pub fn with_graceful_shutdown<F>(mut self, signal: F) -> Self
    where
        F: Future<Output = ()> + 'static,
    {
        self.signal = Some(signal.boxed_local());
        self
    }

    /// The listener's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

impl<S, B> IntoFuture for Serve<S>
where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Clone + 'static,
    S::Future: 'static,
    S::Error: Into<BoxError>,
    B: Body + 'static,
    B::Error: Into<BoxError>,
{
    type Output = io::Result<()>;
    type IntoFuture = LocalBoxFuture<'static, io::Result<()>>;

    fn into_future(self) -> Self::IntoFuture {
        run(self).boxed_local()
    }
}

/// Resolves when serving should stop: the launcher's drain or the user's
/// signal, whichever comes first.
fn stop_signal(user: Option<LocalBoxFuture<'static, ()>>) -> Shared<LocalBoxFuture<'static, ()>> {
    let draining = crate::runtime::try_shutdown_handle().map(|h| h.wait());
    async move {
        match (draining, user) {
            (Some(d), Some(u)) => drop(select(d, u).await),
            (Some(d), None) => d.await,
            (None, Some(u)) => u.await,
            (None, None) => futures::future::pending().await,
        }
    }
    .boxed_local()
    .shared()
}

async fn run<S, B>(serve: Serve<S>) -> io::Result<()>
where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Clone + 'static,
    S::Future: 'static,
    S::Error: Into<BoxError>,
    B: Body + 'static,
    B::Error: Into<BoxError>,
{
    let Serve {
        listener,
        service,
        config,
        signal,
    } = serve;
    let builder = Rc::new(config.builder());
    let acceptor = config.acceptor();
    let stop = stop_signal(signal);
    loop {
        let accepted = match select(pin!(listener.accept()), stop.clone()).await {
            Either::Left((accepted, _)) => accepted,
            // Stop accepting: the listener closes when this returns.
            Either::Right(((), _)) => return Ok(()),
        };
        match accepted {
            Ok((stream, peer)) => {
                let conn = Connection {
                    peer,
                    builder: builder.clone(),
                    stop: stop.clone(),
                    acceptor: acceptor.clone(),
                    #[cfg(feature = "tls")]
                    handshake_timeout: config.handshake_timeout(),
                };
                if config.nodelay {
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::debug!("TCP_NODELAY on {peer}: {e}");
                    }
                }
                drop(crate::spawn(conn.serve(stream, service.clone())));
            }
            Err(e) => {
                // Out of fds, or the peer left before the accept: the
                // listener itself is fine. Back off a little and go on.
                tracing::debug!("accept failed: {e}");
                crate::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// One accepted connection's serving state.
struct Connection {
    peer: SocketAddr,
    builder: Rc<auto::Builder<Executor>>,
    stop: Shared<LocalBoxFuture<'static, ()>>,
    acceptor: Option<Acceptor>,
    #[cfg(feature = "tls")]
    handshake_timeout: Duration,
}

impl Connection {
    /// Serves the connection (after the TLS handshake, if any) until it
    /// ends or, once shutdown begins, its requests in flight are done.
    async fn serve<S, B>(self, stream: TcpStream, service: S)
    where
        S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + 'static,
        S::Future: 'static,
        S::Error: Into<BoxError>,
        B: Body + 'static,
        B::Error: Into<BoxError>,
    {
        let peer = self.peer;
        let res = match &self.acceptor {
            None => self.drive(stream, service).await,
            #[cfg(feature = "tls")]
            Some(acceptor) => {
                let handshake = acceptor.accept(stream);
                match crate::time::timeout(self.handshake_timeout, handshake).await {
                    Ok(Ok(tls)) => self.drive(super::FuturesIo(tls), service).await,
                    Ok(Err(e)) => Err(format!("TLS handshake: {e}").into()),
                    Err(_) => Err("TLS handshake timed out".into()),
                }
            }
            #[cfg(not(feature = "tls"))]
            Some(never) => match *never {},
        };
        if let Err(e) = res {
            tracing::debug!("connection from {peer}: {e}");
        }
    }

    async fn drive<I, S, B>(&self, io: I, service: S) -> Result<(), BoxError>
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + 'static,
        S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + 'static,
        S::Future: 'static,
        S::Error: Into<BoxError>,
        B: Body + 'static,
        B::Error: Into<BoxError>,
    {
        let mut conn = pin!(self.builder.serve_connection(io, service));
        match select(conn.as_mut(), self.stop.clone()).await {
            Either::Left((res, _)) => res,
            Either::Right(((), _)) => {
                // Finish what is in flight, take nothing new.
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        }
    }
}

/// A hyper server on every core: one `SO_REUSEPORT` listener per core
/// ([`TcpListener::bind_sharded`]), each core's accept loop a [`Serve`].
/// See [`serve`] for the shortest form.
pub struct Server {
    addr: io::Result<SocketAddr>,
    runtime: crate::runtime::Builder,
    config: ConnConfig,
    on_listen: Option<Arc<dyn Fn(SocketAddr) + Send + Sync>>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr.as_ref().ok())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server for `addr` (resolved now; the first address is used) on
    /// every allowed core (the launcher's default; see
    /// [`cores`](Server::cores)).
    pub fn bind(addr: impl std::net::ToSocketAddrs) -> Server {
        let addr = addr.to_socket_addrs().and_then(|mut a| {
            a.next().ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the address resolved to nothing",
                )
            })
        });
        Server {
            addr,
            runtime: crate::runtime::Builder::new(),
            config: ConnConfig::default(),
            on_listen: None,
        }
    }

    /// Which cores serve (default: every allowed CPU).
    pub fn cores(&mut self, cores: crate::runtime::Cores) -> &mut Self {
        self.runtime.cores(cores);
        self
    }

    /// How long a graceful shutdown may take (the launcher's
    /// `shutdown_grace`, default 30 s).
    pub fn shutdown_grace(&mut self, grace: Duration) -> &mut Self {
        self.runtime.shutdown_grace(grace);
        self
    }

    /// The runtime builder, for ring sizes and the other launcher options.
    pub fn runtime(&mut self) -> &mut crate::runtime::Builder {
        &mut self.runtime
    }

    /// The connection settings ([`ConnConfig`]).
    pub fn conn(&mut self) -> &mut ConnConfig {
        &mut self.config
    }

    /// Shortcut for `conn().header_read_timeout(..)`.
    pub fn header_read_timeout(&mut self, timeout: Option<Duration>) -> &mut Self {
        self.config.header_read_timeout(timeout);
        self
    }

    /// Called once with the bound address (core 0's listener) before the
    /// first accept, e.g. to print it.
    pub fn on_listen(&mut self, f: impl Fn(SocketAddr) + Send + Sync + 'static) -> &mut Self {
        self.on_listen = Some(Arc::new(f));
        self
    }

    /// Serves until shutdown: `make_service` runs once on every core and
    /// its service (which may be `!Send`) is cloned for each connection
    /// there. Returns when every core has drained (SIGINT/SIGTERM or
    /// `ShutdownHandle::shutdown`, then up to the grace period), with the
    /// first core's error if one failed (e.g. to bind).
    pub fn run<M, S, B>(&self, make_service: M) -> io::Result<()>
    where
        M: Fn() -> S + Send + Sync + 'static,
        S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Clone + 'static,
        S::Future: 'static,
        S::Error: Into<BoxError>,
        B: Body + 'static,
        B::Error: Into<BoxError>,
    {
        let addr = match &self.addr {
            Ok(a) => *a,
            Err(e) => return Err(io::Error::new(e.kind(), e.to_string())),
        };
        let config = self.config.clone();
        let on_listen = self.on_listen.clone();
        let make_service = Arc::new(make_service);
        let outputs = self.runtime.run(move |core| {
            let config = config.clone();
            let on_listen = on_listen.clone();
            let make_service = make_service.clone();
            async move {
                let listener = TcpListener::bind_sharded(addr).await?;
                if core.index == 0 {
                    if let Some(f) = &on_listen {
                        f(listener.local_addr()?);
                    }
                }
                serve_on(listener, make_service()).config(config).await
            }
        })?;
        outputs
            .into_iter()
            .flatten()
            .collect::<io::Result<Vec<()>>>()?;
        Ok(())
    }
}

/// Serves `make_service`'s service on `addr` on every allowed core until
/// SIGINT/SIGTERM, with the default [`ConnConfig`] and a graceful drain of
/// up to 30 s: `Server::bind(addr).cores(Cores::All).run(make_service)`.
pub fn serve<M, S, B>(addr: impl std::net::ToSocketAddrs, make_service: M) -> io::Result<()>
where
    M: Fn() -> S + Send + Sync + 'static,
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Clone + 'static,
    S::Future: 'static,
    S::Error: Into<BoxError>,
    B: Body + 'static,
    B::Error: Into<BoxError>,
{
    Server::bind(addr)
        .cores(crate::runtime::Cores::All)
        .run(make_service)
}
