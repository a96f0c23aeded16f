//! HTTP/1.1 exchanges with hyper 1 over coring's streams themselves: they
//! implement hyper's `rt::Read`/`rt::Write` (feature `hyper` of
//! coring-net), so no adapter sits between them.

use coring::io::OwnedWrite;
use coring::net::{TcpListener, TcpStream, UnixStream};
use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, server::conn::http1, service::service_fn, Request, Response};
use std::{convert::Infallible, io};

async fn handle(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    Ok(Response::new(Full::new(Bytes::from(format!(
        "{path}: {} bytes",
        body.len()
    )))))
}

#[coring::test]
async fn hyper_server_and_client_keep_alive() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    coring::spawn(async move {
        let (conn, _) = listener.accept().await.unwrap();
        http1::Builder::new()
            .serve_connection(conn, service_fn(handle))
            .await
            .unwrap();
    });

    let stream = TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(stream)
        .await
        .map_err(io::Error::other)?;
    let driver = coring::spawn(conn);
    for i in 0..20usize {
        let body = vec![b'x'; i * 1000];
        let req = Request::post(format!("/upload/{i}"))
            .header(hyper::header::HOST, addr.to_string())
            .body(Full::new(Bytes::from(body)))
            .map_err(io::Error::other)?;
        let resp = sender.send_request(req).await.map_err(io::Error::other)?;
        assert_eq!(resp.status(), 200);
        let text = resp
            .into_body()
            .collect()
            .await
            .map_err(io::Error::other)?
            .to_bytes();
        assert_eq!(
            &text[..],
            format!("/upload/{i}: {} bytes", i * 1000).as_bytes()
        );
    }
    drop(sender);
    driver.await?.map_err(io::Error::other)?;
    Ok(())
}

#[coring::test]
async fn hyper_server_answers_a_raw_request() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    coring::spawn(async move {
        let (conn, _) = listener.accept().await.unwrap();
        let _ = http1::Builder::new()
            .serve_connection(conn, service_fn(handle))
            .await;
    });
    let mut c = TcpStream::connect(addr).await?;
    let req = b"GET /raw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let (res, _) = c.write_all(req.as_slice()).await;
    res?;
    let mut resp = Vec::new();
    futures::io::AsyncReadExt::read_to_end(&mut c, &mut resp).await?;
    let text = String::from_utf8_lossy(&resp);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.ends_with("/raw: 0 bytes"), "{text}");
    Ok(())
}

#[coring::test]
async fn hyper_over_a_unix_stream_pair() -> io::Result<()> {
    let (server, client) = UnixStream::pair()?;
    coring::spawn(async move {
        let _ = http1::Builder::new()
            .serve_connection(server, service_fn(handle))
            .await;
    });
    let (mut sender, conn) = hyper::client::conn::http1::handshake(client)
        .await
        .map_err(io::Error::other)?;
    coring::spawn(conn);
    let body = vec![7u8; 200_000];
    let req = Request::post("/unix")
        .header(hyper::header::HOST, "x")
        .body(Full::new(Bytes::from(body)))
        .map_err(io::Error::other)?;
    let resp = sender.send_request(req).await.map_err(io::Error::other)?;
    let text = resp
        .into_body()
        .collect()
        .await
        .map_err(io::Error::other)?
        .to_bytes();
    assert_eq!(&text[..], b"/unix: 200000 bytes");
    Ok(())
}

#[coring::test]
async fn hyper_client_over_split_tcp_halves() -> io::Result<()> {
    // The halves implement hyper's traits too: join them back into one
    // I/O type for hyper with a small wrapper.
    struct Joined(coring::net::OwnedReadHalf, coring::net::OwnedWriteHalf);
    impl hyper::rt::Read for Joined {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: hyper::rt::ReadBufCursor<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
        }
    }
    impl hyper::rt::Write for Joined {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<io::Result<usize>> {
            std::pin::Pin::new(&mut self.1).poll_write(cx, buf)
        }
        fn poll_flush(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::pin::Pin::new(&mut self.1).poll_flush(cx)
        }
        fn poll_shutdown(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::pin::Pin::new(&mut self.1).poll_shutdown(cx)
        }
    }
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    coring::spawn(async move {
        let (conn, _) = listener.accept().await.unwrap();
        let _ = http1::Builder::new()
            .serve_connection(conn, service_fn(handle))
            .await;
    });
    let (rd, wr) = TcpStream::connect(addr).await?.into_split();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(Joined(rd, wr))
        .await
        .map_err(io::Error::other)?;
    coring::spawn(conn);
    let req = Request::get("/halves")
        .header(hyper::header::HOST, "x")
        .body(Full::new(Bytes::new()))
        .map_err(io::Error::other)?;
    let resp = sender.send_request(req).await.map_err(io::Error::other)?;
    let text = resp
        .into_body()
        .collect()
        .await
        .map_err(io::Error::other)?
        .to_bytes();
    assert_eq!(&text[..], b"/halves: 0 bytes");
    Ok(())
}
