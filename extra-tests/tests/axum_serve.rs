//! axum on coring: routes (404, 415) through `coring::axum::serve`,
//! handlers that await coring's timers and run `!Send` I/O in a task on
//! their core, and the axum_hello example draining on SIGTERM.

use axum::{
    routing::{get, post},
    Json, Router,
};
use coring::hyper::client::Client;
use coring::io::OwnedWrite;
use coring::net::{TcpListener, TcpStream};
use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, Request, StatusCode};
use std::{
    io::{self, BufRead, Read, Write},
    net::SocketAddr,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A handler future must be `Send`: this one awaits a coring timeout
/// and does coring (`!Send`) I/O in a task on its core.
async fn fetch_from_self(addr: SocketAddr) -> String {
    let sleep = coring::time::timeout(Duration::from_secs(5), async {
        coring::time::sleep(Duration::from_millis(5)).await;
    });
    sleep.await.unwrap();
    // The `!Send` stream lives only inside the spawned task; the handler
    // holds its JoinHandle (Send, since the output is).
    coring::spawn(async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let req = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        let (res, _) = s.write_all(req.as_slice()).await;
        res.unwrap();
        let mut out = Vec::new();
        futures::io::AsyncReadExt::read_to_end(&mut s, &mut out)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&out).into_owned();
        text.rsplit("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .to_owned()
    })
    .await
    .unwrap()
}

fn app(addr: SocketAddr) -> Router {
    Router::new()
        .route("/", get(|| async { "Hello, World!" }))
        .route(
            "/echo",
            post(|Json(v): Json<serde_json::Value>| async move { Json(v) }),
        )
        .route("/self", get(move || fetch_from_self(addr)))
}

async fn text(
    client: &Client<Full<Bytes>>,
    req: Request<Full<Bytes>>,
) -> (StatusCode, String, String) {
    let resp = client.request(req).await.unwrap();
    let status = resp.status();
    let ctype = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, ctype, String::from_utf8_lossy(&body).into_owned())
}

#[coring::test]
async fn axum_routes_404_and_415() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    coring::spawn(std::future::IntoFuture::into_future(coring::axum::serve(
        listener,
        app(addr),
    )));
    let client: Client<Full<Bytes>> = Client::builder().build();
    let get = |path: &str| {
        Request::get(format!("http://{addr}{path}"))
            .body(Full::default())
            .unwrap()
    };
    assert_eq!(
        text(&client, get("/")).await,
        (
            StatusCode::OK,
            "text/plain; charset=utf-8".into(),
            "Hello, World!".into()
        )
    );
    assert_eq!(text(&client, get("/nope")).await.0, StatusCode::NOT_FOUND);

    let json = r#"{"a":[1,2,{"b":null}],"c":"d"}"#;
    let post = |ctype: &str, body: &str| {
        Request::post(format!("http://{addr}/echo"))
            .header("content-type", ctype)
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap()
    };
    let (status, ctype, body) = text(&client, post("application/json", json)).await;
    assert_eq!(
        (status, ctype.as_str()),
        (StatusCode::OK, "application/json")
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        serde_json::from_str::<serde_json::Value>(json).unwrap()
    );
    assert_eq!(
        text(&client, post("text/plain", json)).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        text(&client, post("application/json", "{not json")).await.0,
        StatusCode::BAD_REQUEST
    );
    // GET on a POST route.
    assert_eq!(
        text(&client, get("/echo")).await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );

    // A Send handler using coring's timers and !Send I/O.
    assert_eq!(text(&client, get("/self")).await.2, "Hello, World!");
    Ok(())
}

fn sigterm(child: &Child) {
    // SAFETY: kill sends a signal to our own child; no memory involved.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
}

/// The example as a child: port 0, its first stdout line names the port.
fn start_axum_hello(cores: &str) -> (Child, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_axum_hello"))
        .args(["0", "--cores", cores])
        .stdout(Stdio::piped())
        .spawn()
        .expect("run axum_hello");
    let mut line = String::new();
    io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("listening on "), "{line:?}");
    let port = line
        .split_whitespace()
        .find_map(|w| w.trim_end_matches(',').rsplit(':').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (child, port)
}

#[test]
fn axum_hello_drains_an_in_flight_request_on_sigterm_and_refuses_new_ones() {
    let (mut child, port) = start_axum_hello("2");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    // Keep-alive connection that is idle at the signal: closed by the
    // drain, not waited for.
    let mut idle = std::net::TcpStream::connect(addr).unwrap();
    idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).unwrap();
    assert!(buf[..n].ends_with(b"Hello, World!"));

    let mut slow = std::net::TcpStream::connect(addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    slow.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let signalled = Instant::now();
    sigterm(&child);

    let mut resp = Vec::new();
    slow.read_to_end(&mut resp).unwrap();
    let resp = String::from_utf8_lossy(&resp);
    assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
    assert!(resp.ends_with("\r\n\r\ndone"), "{resp}");

    // Accepting stopped: new connections are refused.
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "a connection was accepted after SIGTERM"
    );
    // The idle keep-alive connection was closed.
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(idle.read(&mut buf).unwrap_or(0), 0);

    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(signalled.elapsed() < Duration::from_secs(10), "no exit");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "{status:?}");
    // It exited when the drain was done, well inside the 30 s grace.
    assert!(signalled.elapsed() < Duration::from_secs(5));
}
