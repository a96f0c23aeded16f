//! An HTTP/1.1 exchange with hyper 1 over coring's TcpStream, through a
//! small adapter from futures-io to hyper's `rt::Read`/`rt::Write`: the
//! poll-style I/O is complete enough for a real protocol stack.

use coring::io::OwnedWrite;
use coring::net::{TcpListener, TcpStream};
use futures::io::{AsyncRead, AsyncWrite};
use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, server::conn::http1, service::service_fn, Request, Response};
use std::{
    convert::Infallible,
    io,
    mem::MaybeUninit,
    pin::Pin,
    task::{ready, Context, Poll},
};

/// futures-io → hyper I/O.
struct HyperIo<T>(T);

impl<T: AsyncRead + Unpin> hyper::rt::Read for HyperIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // SAFETY: we only write into the cursor's spare capacity, and only
        // after initializing it.
        let spare: &mut [MaybeUninit<u8>] = unsafe { buf.as_mut() };
        for b in spare.iter_mut() {
            b.write(0);
        }
        // SAFETY: every byte was just initialized.
        let bytes = unsafe { &mut *(spare as *mut [MaybeUninit<u8>] as *mut [u8]) };
        let n = ready!(Pin::new(&mut self.get_mut().0).poll_read(cx, bytes))?;
        // SAFETY: the read filled the first n bytes.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for HyperIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_close(cx)
    }
}

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
            .serve_connection(HyperIo(conn), service_fn(handle))
            .await
            .unwrap();
    });

    let stream = TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(HyperIo(stream))
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
            .serve_connection(HyperIo(conn), service_fn(handle))
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
