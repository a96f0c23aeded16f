//! A per-core pooled HTTP/1.1 client on hyper's `client::conn::http1`,
//! with HTTPS through rustls (feature `client`).
//!
//! A [`Client`] belongs to one core (it is `!Send`: its connections are
//! coring streams); make one per core, e.g. in a `thread_local!` or with
//! `coring::runtime::runtime_local`. It keeps idle keep-alive connections
//! per (scheme, host, port) and reuses them, most recently used first;
//! an idle connection is dropped after [`idle_timeout`](ClientBuilder::idle_timeout)
//! (default 90 s), and at most [`max_idle_per_host`](ClientBuilder::max_idle_per_host)
//! (default 32) are kept. Connecting (DNS, TCP and the TLS handshake) is
//! bounded by [`connect_timeout`](ClientBuilder::connect_timeout) (default
//! 10 s). `https` URLs use rustls (ring) with the webpki roots unless
//! [`tls_config`](ClientBuilder::tls_config) gives a configuration.
//!
//! ```no_run
//! use http_body_util::BodyExt;
//!
//! #[coring::main]
//! async fn main() -> std::io::Result<()> {
//!     let client = coring::hyper::client::Client::new();
//!     let resp = client.get("https://example.com/").await?;
//!     println!("{}", resp.status());
//!     let body = resp.into_body().collect().await.map_err(std::io::Error::other)?;
//!     println!("{}", String::from_utf8_lossy(&body.to_bytes()));
//!     Ok(())
//! }
//! ```

use super::FuturesIo;
use crate::net::TcpStream;
use futures_rustls::{client::TlsStream, TlsConnector};
use http_body_util::Empty;
use hyper::{
    body::{Body, Bytes, Incoming},
    client::conn::http1::{self, SendRequest},
    header::{HeaderValue, HOST},
    rt::{Read, ReadBufCursor, Write},
    Request, Response, Uri,
};
use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
    error::Error as StdError,
    fmt, io,
    pin::Pin,
    rc::Rc,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

type BoxError = Box<dyn StdError + Send + Sync>;

/// (https, host, port)
type Key = (bool, String, u16);

/// A connection: plain TCP or TLS over it. The plain stream stays inline
/// (the common case, no allocation); the much larger TLS state is boxed.
#[allow(clippy::large_enum_variant)]
enum Conn {
    Plain(TcpStream),
    Tls(Box<FuturesIo<TlsStream<TcpStream>>>),
}

impl Read for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(&mut **s).poll_read(cx, buf),
        }
    }
}

impl Write for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(&mut **s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Conn::Tls(s) => Pin::new(&mut **s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(s) => s.is_write_vectored(),
            Conn::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(&mut **s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(&mut **s).poll_shutdown(cx),
        }
    }
}

/// The settings of a [`Client`].
#[derive(Clone)]
pub struct ClientBuilder {
    connect_timeout: Duration,
    idle_timeout: Duration,
    max_idle_per_host: usize,
    nodelay: bool,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("connect_timeout", &self.connect_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_idle_per_host", &self.max_idle_per_host)
            .field("nodelay", &self.nodelay)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(90),
            max_idle_per_host: 32,
            nodelay: true,
            tls: None,
        }
    }
}

impl ClientBuilder {
    /// Bounds name resolution, the TCP connect and the TLS handshake
    /// together (default 10 s).
    pub fn connect_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long an idle connection is kept for reuse (default 90 s).
    pub fn idle_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.idle_timeout = timeout;
        self
    }

    /// Most idle connections kept per (scheme, host, port) (default 32;
    /// 0 turns pooling off).
    pub fn max_idle_per_host(&mut self, max: usize) -> &mut Self {
        self.max_idle_per_host = max;
        self
    }

    /// `TCP_NODELAY` on new connections (default on).
    pub fn nodelay(&mut self, on: bool) -> &mut Self {
        self.nodelay = on;
        self
    }

    /// The rustls configuration for `https` (default: the webpki roots,
    /// ring, TLS 1.2 and 1.3). Its ALPN list should offer only `http/1.1`
    /// (or nothing): this client speaks HTTP/1.1.
    pub fn tls_config(&mut self, config: Arc<rustls::ClientConfig>) -> &mut Self {
        self.tls = Some(config);
        self
    }

    /// The client.
    pub fn build<B>(&self) -> Client<B> {
        Client {
            inner: Rc::new(Inner {
                config: self.clone(),
                pool: RefCell::new(HashMap::new()),
                tls: RefCell::new(self.tls.clone()),
                last_sweep: Cell::new(Instant::now()),
                connects: Cell::new(0),
            }),
        }
    }
}

struct Idle<B> {
    sender: SendRequest<B>,
    since: Instant,
}

struct Inner<B> {
    config: ClientBuilder,
    pool: RefCell<HashMap<Key, Vec<Idle<B>>>>,
    tls: RefCell<Option<Arc<rustls::ClientConfig>>>,
    last_sweep: Cell<Instant>,
    connects: Cell<u64>,
}

/// A per-core pooled HTTP/1.1 client (see the [module doc](self)).
/// Cloning shares the pool. `B` is the request body type.
pub struct Client<B = Empty<Bytes>> {
    inner: Rc<Inner<B>>,
}

impl<B> Clone for Client<B> {
    fn clone(&self) -> Self {
        Client {
            inner: self.inner.clone(),
        }
    }
}

impl<B> fmt::Debug for Client<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .field("connects", &self.inner.connects.get())
            .finish_non_exhaustive()
    }
}

impl Client<Empty<Bytes>> {
    /// A client with the default settings.
    pub fn new() -> Self {
        ClientBuilder::default().build()
    }

    /// Settings to build a client from (`build::<B>()` picks the request
    /// body type; annotate `let c: Client = ..` for empty bodies).
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }
}

impl Default for Client<Empty<Bytes>> {
    fn default() -> Self {
        Client::new()
    }
}

impl Client<Empty<Bytes>> {
    /// `GET uri` with an empty body.
    pub async fn get(&self, uri: impl AsRef<str>) -> io::Result<Response<Incoming>> {
        let uri: Uri = uri
            .as_ref()
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let req = Request::get(uri)
            .body(Empty::new())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        self.request(req).await
    }
}

impl<B> Client<B> {
    /// How many connections this client opened (a pooled request opens
    /// none).
    pub fn connections_opened(&self) -> u64 {
        self.inner.connects.get()
    }

    /// How many idle connections the pool holds now.
    pub fn idle_connections(&self) -> usize {
        self.inner.pool.borrow().values().map(Vec::len).sum()
    }
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.into())
}

/// Lets a connection that leaves the pool finish the response it may
/// still be receiving (dropping its `SendRequest` at once would close it
/// under the body being read), then closes it.
fn retire<B: 'static>(mut sender: SendRequest<B>) {
    drop(crate::spawn(async move {
        let _ = sender.ready().await;
    }));
}

impl<B> Client<B>
where
    B: Body + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    /// Sends `req` (an absolute `http` or `https` URI) on a pooled
    /// connection, or a new one, and returns the response head; its body
    /// streams from the connection. The connection returns to the pool at
    /// once and is handed out again only when hyper reports it ready (the
    /// body read to its end), so reading bodies to the end is what lets
    /// connections be reused.
    pub async fn request(&self, mut req: Request<B>) -> io::Result<Response<Incoming>> {
        let uri = req.uri().clone();
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            other => {
                return Err(invalid(format!(
                    "{uri}: scheme {other:?} is not http or https"
                )))
            }
        };
        let host = uri
            .host()
            .ok_or_else(|| invalid(format!("{uri}: no host")))?
            .to_owned();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        if !req.headers().contains_key(HOST) {
            let value = match uri.port_u16() {
                Some(p) => format!("{host}:{p}"),
                None => host.clone(),
            };
            let value = HeaderValue::from_str(&value).map_err(|e| invalid(e.to_string()))?;
            req.headers_mut().insert(HOST, value);
        }
        // HTTP/1.1 wants the origin form on the request line.
        let origin = uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .parse::<Uri>()
            .map_err(|e| invalid(e.to_string()))?;
        *req.uri_mut() = origin;
        let key: Key = (https, host, port);
        if let Some(mut sender) = self.checkout(&key).await {
            match sender.try_send_request(req).await {
                Ok(resp) => {
                    self.checkin(key, sender);
                    return Ok(resp);
                }
                Err(mut e) => match e.take_message() {
                    // The pooled connection was closed before the request
                    // went out (the server's keep-alive ended): retry on a
                    // new one.
                    Some(r) => req = r,
                    None => return Err(io::Error::other(e.into_error())),
                },
            }
        }
        let mut sender = self.connect(&key).await?;
        let resp = sender.send_request(req).await.map_err(io::Error::other)?;
        self.checkin(key, sender);
        Ok(resp)
    }

    /// A ready idle connection for `key`, if the pool has one.
    async fn checkout(&self, key: &Key) -> Option<SendRequest<B>> {
        self.sweep();
        let mut busy = Vec::new();
        let mut yielded = false;
        let found = loop {
            let idle = self.inner.pool.borrow_mut().get_mut(key).and_then(Vec::pop);
            let Some(idle) = idle else { break None };
            if idle.sender.is_closed() || idle.since.elapsed() > self.inner.config.idle_timeout {
                continue;
            }
            if idle.sender.is_ready() {
                break Some(idle.sender);
            }
            // Its last response's end may not have reached the connection's
            // task yet: give it one turn.
            if !yielded {
                yielded = true;
                crate::yield_now().await;
                if idle.sender.is_ready() {
                    break Some(idle.sender);
                }
            }
            // Still busy (a body not read to its end): keep it, look on.
            busy.push(idle);
        };
        if !busy.is_empty() {
            let mut pool = self.inner.pool.borrow_mut();
            let list = pool.entry(key.clone()).or_default();
            busy.reverse();
            for b in busy {
                list.insert(0, b);
            }
        }
        found
    }

    fn checkin(&self, key: Key, sender: SendRequest<B>) {
        let max = self.inner.config.max_idle_per_host;
        if sender.is_closed() {
            return;
        }
        if max == 0 {
            retire(sender);
            return;
        }
        let mut pool = self.inner.pool.borrow_mut();
        let list = pool.entry(key).or_default();
        if list.len() >= max {
            retire(list.remove(0).sender);
        }
        list.push(Idle {
            sender,
            since: Instant::now(),
        });
    }

    /// Drops expired and closed idle connections, at most once a second.
    fn sweep(&self) {
        let now = Instant::now();
        if now.duration_since(self.inner.last_sweep.get()) < Duration::from_secs(1) {
            return;
        }
        self.inner.last_sweep.set(now);
        let limit = self.inner.config.idle_timeout;
        self.inner.pool.borrow_mut().retain(|_, list| {
            list.retain(|i| !i.sender.is_closed() && now.duration_since(i.since) <= limit);
            !list.is_empty()
        });
    }

    fn tls(&self) -> io::Result<Arc<rustls::ClientConfig>> {
        if let Some(c) = &*self.inner.tls.borrow() {
            return Ok(c.clone());
        }
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);
        *self.inner.tls.borrow_mut() = Some(config.clone());
        Ok(config)
    }

    async fn connect(&self, key: &Key) -> io::Result<SendRequest<B>> {
        let (https, host, port) = key;
        let limit = self.inner.config.connect_timeout;
        let conn = crate::time::timeout(limit, async {
            let tcp = TcpStream::connect((host.as_str(), *port)).await?;
            if self.inner.config.nodelay {
                tcp.set_nodelay(true)?;
            }
            if !*https {
                return Ok::<_, io::Error>(Conn::Plain(tcp));
            }
            let name = rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|e| invalid(format!("{host}: {e}")))?;
            let tls = TlsConnector::from(self.tls()?).connect(name, tcp).await?;
            Ok(Conn::Tls(Box::new(FuturesIo(tls))))
        })
        .await
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connecting to {host}:{port} took over {limit:?}"),
            )
        })??;
        self.inner.connects.set(self.inner.connects.get() + 1);
        let (sender, conn) = http1::handshake(conn).await.map_err(io::Error::other)?;
        let peer = format!("{host}:{port}");
        drop(crate::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("client connection to {peer}: {e}");
            }
        }));
        Ok(sender)
    }
}
