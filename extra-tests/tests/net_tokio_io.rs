//! tokio's `AsyncRead`/`AsyncWrite`/`AsyncBufRead` on coring's streams
//! (the `tokio-io` feature), used by tokio-based crates directly
//! (tokio-util's `Framed`, tokio-rustls, tokio's io-util and `select!`):
//! no `compat` wrapper, no tokio runtime.

use coring::net::{TcpListener, TcpStream, UnixStream};
use futures::{SinkExt, StreamExt};
use std::io::{self, IoSlice};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::{Framed, LinesCodec};

async fn tcp_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let client = coring::spawn(async move { TcpStream::connect(addr).await });
    let (server, _) = listener.accept().await?;
    Ok((client.await??, server))
}

/// tokio-util's `Framed` with `LinesCodec` over a `TcpStream`, both ways:
/// an upper-casing line server and a client.
#[coring::test]
async fn framed_lines_round_trip() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = coring::spawn(async move {
        let (conn, _) = listener.accept().await?;
        let mut lines = Framed::new(conn, LinesCodec::new());
        let mut n = 0;
        while let Some(line) = lines.next().await {
            let line = line.map_err(io::Error::other)?;
            lines
                .send(line.to_uppercase())
                .await
                .map_err(io::Error::other)?;
            n += 1;
        }
        Ok::<_, io::Error>(n)
    });
    let mut client = Framed::new(TcpStream::connect(addr).await?, LinesCodec::new());
    for i in 0..200 {
        // Some lines span several receive buffers.
        let line = format!(
            "line {i} {}",
            "x".repeat(if i % 50 == 0 { 20_000 } else { i })
        );
        client.send(line.clone()).await.map_err(io::Error::other)?;
        let back = client
            .next()
            .await
            .expect("an answer")
            .map_err(io::Error::other)?;
        assert_eq!(back, line.to_uppercase(), "line {i}");
    }
    // poll_shutdown: the server's stream ends. (`TcpStream` has an
    // inherent std-like `shutdown(how)`, which method calls find first, so
    // tokio's is called by path.)
    AsyncWriteExt::shutdown(client.get_mut()).await?;
    assert_eq!(server.await??, 200);
    Ok(())
}

/// `read` into a slice and `read_buf` into a `Vec`'s spare capacity (a
/// `ReadBuf` over uninitialised memory) get the bytes in order.
#[coring::test]
async fn read_into_slices_and_uninitialised_buffers() -> io::Result<()> {
    let (mut a, mut b) = tcp_pair().await?;
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let sender = {
        let data = data.clone();
        coring::spawn(async move {
            a.write_all(&data).await?;
            a.flush().await?;
            Ok::<_, io::Error>(a)
        })
    };
    let mut first = [0u8; 10];
    b.read_exact(&mut first).await?;
    assert_eq!(&first[..], &data[..10]);
    let mut rest = Vec::with_capacity(100_000);
    while rest.len() < 100_000 - 10 {
        let n = b.read_buf(&mut rest).await?;
        assert!(n > 0, "early end after {}", rest.len());
    }
    assert!(rest == data[10..]);
    drop(sender.await??);
    let mut end = Vec::new();
    assert_eq!(b.read_to_end(&mut end).await?, 0);
    Ok(())
}

/// A vectored write goes out as one gathered send, not slice by slice.
#[coring::test]
async fn vectored_writes_gather() -> io::Result<()> {
    let (mut a, mut b) = tcp_pair().await?;
    assert!(tokio::io::AsyncWrite::is_write_vectored(&a));
    let bufs = [
        IoSlice::new(b"one "),
        IoSlice::new(b""),
        IoSlice::new(b"two "),
        IoSlice::new(b"three"),
    ];
    let n = a.write_vectored(&bufs).await?;
    assert_eq!(n, 13, "all slices in one write");
    AsyncWriteExt::shutdown(&mut a).await?;
    let mut got = String::new();
    b.read_to_string(&mut got).await?;
    assert_eq!(got, "one two three");
    Ok(())
}

/// `AsyncBufRead` on the stream itself: lines straight out of the
/// receive buffers, no `BufReader`.
#[coring::test]
async fn buf_read_lines_without_a_bufreader() -> io::Result<()> {
    let (mut a, mut b) = tcp_pair().await?;
    a.write_all(b"alpha\nbeta\ngam").await?;
    a.write_all(b"ma\n").await?;
    AsyncWriteExt::shutdown(&mut a).await?;
    let mut lines = Vec::new();
    let mut line = String::new();
    while b.read_line(&mut line).await? > 0 {
        lines.push(std::mem::take(&mut line));
    }
    assert_eq!(lines, ["alpha\n", "beta\n", "gamma\n"]);
    Ok(())
}

/// Unix streams and TCP halves: `tokio::io::copy` from a read half into a
/// write half echoes.
#[coring::test]
async fn unix_streams_and_split_halves() -> io::Result<()> {
    let (mut u1, mut u2) = UnixStream::pair()?;
    u1.write_all(b"over unix").await?;
    AsyncWriteExt::shutdown(&mut u1).await?;
    let mut got = Vec::new();
    u2.read_to_end(&mut got).await?;
    assert_eq!(got, b"over unix");

    let (mut client, server) = tcp_pair().await?;
    let echo = coring::spawn(async move {
        let (mut rd, mut wr) = server.into_split();
        let n = tokio::io::copy(&mut rd, &mut wr).await?;
        wr.shutdown().await?;
        Ok::<_, io::Error>(n)
    });
    client.write_all(&[5u8; 70_000]).await?;
    AsyncWriteExt::shutdown(&mut client).await?;
    let mut back = Vec::new();
    client.read_to_end(&mut back).await?;
    assert_eq!(back.len(), 70_000);
    assert!(back.iter().all(|&b| b == 5));
    assert_eq!(echo.await??, 70_000);
    Ok(())
}

/// `tokio::select!` needs no tokio runtime: it polls coring futures (a
/// coring timer, a read) like any others, fair or `biased;`.
#[coring::test]
async fn tokio_select_over_coring_futures() -> io::Result<()> {
    use std::time::Duration;
    let (mut a, mut b) = tcp_pair().await?;
    let mut buf = [0u8; 4];
    let timed_out = tokio::select! {
        res = b.read(&mut buf) => { res?; false }
        () = coring::time::sleep(Duration::from_millis(20)) => true,
    };
    assert!(timed_out, "nothing was sent");
    a.write_all(b"ping").await?;
    a.flush().await?;
    let n = tokio::select! {
        biased;
        res = b.read(&mut buf) => res?,
        () = coring::time::sleep(Duration::from_secs(10)) => 0,
    };
    assert_eq!(&buf[..n], b"ping");
    Ok(())
}

/// tokio-rustls over coring's streams: a TLS 1.3 handshake with a
/// certificate made here, then data both ways, then close_notify.
#[coring::test]
async fn tokio_rustls_round_trip() -> io::Result<()> {
    use std::sync::Arc;
    use tokio_rustls::rustls::{
        self,
        pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName},
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .map_err(io::Error::other)?;
    let cert_der = cert.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
    let server_config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone()], key)
        .map_err(io::Error::other)?;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert_der).map_err(io::Error::other)?;
    let client_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth();

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
    let server = coring::spawn(async move {
        let (tcp, _) = listener.accept().await?;
        let mut tls = acceptor.accept(tcp).await?;
        // Echo until the client's close_notify.
        let mut buf = vec![0u8; 16 * 1024];
        let mut total = 0;
        loop {
            let n = tls.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            tls.write_all(&buf[..n]).await?;
            total += n;
        }
        tls.shutdown().await?;
        Ok::<_, io::Error>(total)
    });
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config));
    let tcp = TcpStream::connect(addr).await?;
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await?;
    let (_, session) = tls.get_ref();
    assert_eq!(
        session.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    let msg: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let (mut rd, mut wr) = tokio::io::split(tls);
    let writer = {
        let msg = msg.clone();
        coring::spawn(async move {
            wr.write_all(&msg).await?;
            wr.shutdown().await?; // close_notify, then FIN
            Ok::<_, io::Error>(())
        })
    };
    let mut back = Vec::new();
    rd.read_to_end(&mut back).await?;
    writer.await??;
    assert!(back == msg, "{} bytes back of {}", back.len(), msg.len());
    assert_eq!(server.await??, msg.len());
    Ok(())
}
