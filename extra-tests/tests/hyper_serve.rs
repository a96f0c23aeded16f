//! `coring::hyper` over real sockets: `serve_on` with the pooled client
//! (bodies 0..1 MiB), HTTP/2 with prior knowledge and multiplexed
//! streams, the header-read timeout against a slowloris client, the
//! client's pool (connections counted by the server), idle expiry,
//! graceful shutdown through `with_graceful_shutdown`.

use coring::hyper::{client::Client, serve_on, Executor};
use coring::io::{OwnedRead, OwnedWrite};
use coring::net::{TcpListener, TcpStream};
use http_body_util::{BodyExt, Full};
use hyper::{
    body::{Bytes, Incoming},
    service::service_fn,
    Request, Response, Version,
};
use std::{
    cell::Cell,
    convert::Infallible,
    io,
    net::SocketAddr,
    rc::Rc,
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

static H2_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static H2_MAX_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// `/echo` returns the body; `/slow` waits 100 ms (a coring timer) first;
/// anything else answers with the path.
async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let out = match path.as_str() {
        "/echo" => body,
        "/big" => Bytes::from(vec![b'b'; 4 << 20]),
        "/slow" => {
            coring::time::sleep(Duration::from_millis(100)).await;
            Bytes::from_static(b"slow done")
        }
        "/slow-h2" => {
            // Counts how many of these run at once (only the HTTP/2 test
            // asks for this path).
            let now = H2_IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
            H2_MAX_IN_FLIGHT.fetch_max(now, Ordering::SeqCst);
            coring::time::sleep(Duration::from_millis(100)).await;
            H2_IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
            Bytes::from_static(b"slow done")
        }
        p => Bytes::from(p.to_owned()),
    };
    Ok(Response::new(Full::new(out)))
}

async fn start_server(
    configure: impl FnOnce(&mut coring::hyper::ConnConfig),
) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    coring::spawn(
        serve_on(listener, service_fn(handle))
            .configure(configure)
            .into_future(),
    );
    Ok(addr)
}

use std::future::IntoFuture;

async fn body_of(resp: Response<Incoming>) -> io::Result<Bytes> {
    Ok(resp
        .into_body()
        .collect()
        .await
        .map_err(io::Error::other)?
        .to_bytes())
}

#[coring::test]
async fn round_trips_bodies_from_0_to_1_mib() -> io::Result<()> {
    let addr = start_server(|_| {}).await?;
    let client: Client<Full<Bytes>> = Client::builder().build();
    let sizes = [
        0usize,
        1,
        1000,
        16 * 1024,
        64 * 1024 - 1,
        64 * 1024,
        64 * 1024 + 1,
        300_000,
        1 << 20,
    ];
    for &n in &sizes {
        let body: Vec<u8> = (0..n).map(|i| (i * 31 % 251) as u8).collect();
        let req = Request::post(format!("http://{addr}/echo"))
            .body(Full::new(Bytes::from(body.clone())))
            .unwrap();
        let resp = client.request(req).await?;
        assert_eq!(resp.status(), 200);
        let got = body_of(resp).await?;
        assert_eq!(got.len(), n, "body of {n} bytes");
        assert!(got[..] == body[..], "body of {n} bytes differs");
    }
    // One keep-alive connection for all of them.
    assert_eq!(client.connections_opened(), 1);
    Ok(())
}

#[coring::test]
async fn http2_prior_knowledge_multiplexes_streams_on_one_connection() -> io::Result<()> {
    let addr = start_server(|_| {}).await?;
    let stream = TcpStream::connect(addr).await?;
    let (sender, conn) = hyper::client::conn::http2::handshake(Executor, stream)
        .await
        .map_err(io::Error::other)?;
    coring::spawn(conn);
    let start = Instant::now();
    let requests: Vec<_> = (0..8)
        .map(|i| {
            let mut sender = sender.clone();
            coring::spawn(async move {
                let path = if i % 2 == 0 { "/slow-h2" } else { "/echo" };
                let req = Request::post(format!("http://{addr}{path}"))
                    .body(Full::new(Bytes::from(vec![b'a' + i as u8; 1000 * i])))
                    .unwrap();
                let resp = sender.send_request(req).await.map_err(io::Error::other)?;
                assert_eq!(resp.version(), Version::HTTP_2);
                let body = body_of(resp).await?;
                Ok::<_, io::Error>((i, body))
            })
        })
        .collect();
    for r in requests {
        let (i, body) = r.await.unwrap()?;
        if i % 2 == 0 {
            assert_eq!(&body[..], b"slow done");
        } else {
            assert_eq!(body.len(), 1000 * i);
        }
    }
    // The four 100 ms requests ran at once on the one connection, not one
    // after another.
    assert_eq!(H2_MAX_IN_FLIGHT.load(Ordering::SeqCst), 4);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    Ok(())
}

/// Sends part of a request head and then nothing; returns how long the
/// server took to close the connection (`None`: not within `limit`).
async fn slowloris(addr: SocketAddr, limit: Duration) -> io::Result<Option<Duration>> {
    let mut c = TcpStream::connect(addr).await?;
    let (res, _) = c
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ".as_slice())
        .await;
    res?;
    let start = Instant::now();
    match coring::time::timeout(limit, c.read(vec![0u8; 1024])).await {
        Ok((Ok(_), _)) | Ok((Err(_), _)) => Ok(Some(start.elapsed())),
        Err(_) => Ok(None),
    }
}

#[coring::test]
async fn header_read_timeout_closes_a_slowloris_connection() -> io::Result<()> {
    let addr = start_server(|c| {
        c.header_read_timeout(Some(Duration::from_millis(300)));
    })
    .await?;
    let closed = slowloris(addr, Duration::from_secs(5)).await?;
    let took = closed.expect("the server kept a stalled request head open");
    assert!(took >= Duration::from_millis(250), "closed after {took:?}");
    assert!(took < Duration::from_secs(2), "closed after {took:?}");
    Ok(())
}

#[coring::test]
async fn without_the_timer_the_slowloris_connection_stays_open() -> io::Result<()> {
    // The control for the test above: no header-read timeout, no close.
    let addr = start_server(|c| {
        c.header_read_timeout(None);
    })
    .await?;
    assert_eq!(slowloris(addr, Duration::from_millis(800)).await?, None);
    Ok(())
}

/// A server that counts the connections it accepts.
async fn counting_server() -> io::Result<(SocketAddr, Rc<Cell<usize>>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let accepts = Rc::new(Cell::new(0));
    let counted = accepts.clone();
    coring::spawn(async move {
        loop {
            let Ok((conn, _)) = listener.accept().await else {
                return;
            };
            counted.set(counted.get() + 1);
            coring::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(coring::hyper::Timer)
                    .serve_connection(conn, service_fn(handle))
                    .await;
            });
        }
    });
    Ok((addr, accepts))
}

#[coring::test]
async fn the_pooled_client_reuses_connections() -> io::Result<()> {
    let (addr, accepts) = counting_server().await?;
    let client = Client::new();
    for i in 0..20 {
        let resp = client.get(format!("http://{addr}/n/{i}")).await?;
        assert_eq!(resp.status(), 200);
        assert_eq!(body_of(resp).await?, format!("/n/{i}"));
    }
    assert_eq!(
        accepts.get(),
        1,
        "the server accepted more than one connection"
    );
    assert_eq!(client.connections_opened(), 1);
    assert_eq!(client.idle_connections(), 1);

    // A response whose (4 MiB) body is still unread keeps its connection
    // busy: a second request meanwhile opens a second connection, and both
    // are reused afterwards.
    let held = client.get(format!("http://{addr}/big")).await?;
    let other = client.get(format!("http://{addr}/other")).await?;
    assert_eq!(body_of(other).await?, "/other");
    assert_eq!(body_of(held).await?.len(), 4 << 20);
    assert_eq!(accepts.get(), 2);
    for _ in 0..5 {
        body_of(client.get(format!("http://{addr}/again")).await?).await?;
    }
    assert_eq!(accepts.get(), 2);
    Ok(())
}

#[coring::test]
async fn without_pooling_each_request_has_its_connection_and_bodies_arrive_whole() -> io::Result<()>
{
    let (addr, accepts) = counting_server().await?;
    let client: Client = Client::builder().max_idle_per_host(0).build();
    for _ in 0..3 {
        let resp = client.get(format!("http://{addr}/big")).await?;
        assert_eq!(body_of(resp).await?.len(), 4 << 20);
    }
    assert_eq!(accepts.get(), 3);
    assert_eq!(client.idle_connections(), 0);
    Ok(())
}

#[coring::test]
async fn idle_connections_expire() -> io::Result<()> {
    let (addr, accepts) = counting_server().await?;
    let client: Client = Client::builder()
        .idle_timeout(Duration::from_millis(100))
        .build();
    body_of(client.get(format!("http://{addr}/a")).await?).await?;
    body_of(client.get(format!("http://{addr}/b")).await?).await?;
    assert_eq!(accepts.get(), 1);
    coring::time::sleep(Duration::from_millis(200)).await;
    body_of(client.get(format!("http://{addr}/c")).await?).await?;
    assert_eq!(accepts.get(), 2, "an expired connection was reused");
    Ok(())
}

#[coring::test]
async fn connect_timeout_bounds_connecting() -> io::Result<()> {
    // A listener whose backlog is full never completes the handshake:
    // fill a backlog of 1 with connections nobody accepts.
    let listener = coring::net::TcpListener::builder()
        .backlog(0)
        .bind("127.0.0.1:0")
        .await?;
    let addr = listener.local_addr()?;
    let mut parked = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(s)) =
            coring::time::timeout(Duration::from_millis(100), TcpStream::connect(addr)).await
        {
            parked.push(s);
        }
    }
    let client: Client = Client::builder()
        .connect_timeout(Duration::from_millis(200))
        .build();
    let start = Instant::now();
    let err = client
        .get(format!("http://{addr}/"))
        .await
        .expect_err("connected through a full backlog");
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    assert!(start.elapsed() < Duration::from_secs(2));
    drop(listener);
    Ok(())
}

#[coring::test]
async fn with_graceful_shutdown_finishes_in_flight_requests_and_stops_accepting() -> io::Result<()>
{
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    let server = coring::spawn(
        serve_on(listener, service_fn(handle))
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .into_future(),
    );
    // A request in flight on its own connection.
    let client = Client::new();
    let slow = {
        let client = client.clone();
        coring::spawn(async move {
            let resp = client.get(format!("http://{addr}/slow")).await?;
            body_of(resp).await
        })
    };
    coring::time::sleep(Duration::from_millis(30)).await;
    tx.send(()).unwrap();
    server.await.unwrap()?;
    // The listener is closed (its fd once the cancelled accept's
    // completion released it): a new connection is refused.
    coring::time::sleep(Duration::from_millis(50)).await;
    let refused = TcpStream::connect(addr).await;
    assert!(refused.is_err(), "connected after the shutdown began");
    // The request in flight still completes.
    assert_eq!(slow.await.unwrap()?, "slow done");
    Ok(())
}
