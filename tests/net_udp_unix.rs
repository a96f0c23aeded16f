//! UDP and Unix-domain round trips on real sockets.

mod common;

use coring::buf::IoBuf;
use coring::io::{OwnedRead, OwnedWrite};
use coring::net::{UdpSocket, UnixDatagram, UnixListener, UnixStream};
// futures' AsyncReadExt/AsyncWriteExt are called by path: imported beside
// OwnedRead/OwnedWrite, `read`/`write_all` would be ambiguous.
use futures::StreamExt;
use std::{io, path::PathBuf};

fn temp_path(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("coring-net-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

#[coring::test]
async fn udp_send_to_recv_from_round_trips() -> io::Result<()> {
    let server = UdpSocket::bind("127.0.0.1:0").await?;
    let server_addr = server.local_addr()?;
    let echo = coring::spawn(async move {
        let mut buf = vec![0u8; 2048];
        for _ in 0..100 {
            let (res, b) = server.recv_from(buf).await;
            let (n, from) = res?;
            let (res, b) = server.send_to(b.slice(..n), from).await;
            res?;
            buf = b.into_inner();
        }
        Ok::<_, io::Error>(())
    });
    let client = UdpSocket::bind("127.0.0.1:0").await?;
    // Not connected: the error says which call on which fd.
    let e = client.peer_addr().unwrap_err();
    assert_eq!(e.raw_os_error(), None, "annotated, not bare: {e}");
    assert_eq!(e.kind(), io::ErrorKind::NotConnected, "{e}");
    let fd = std::os::fd::AsRawFd::as_raw_fd(&client);
    assert!(
        e.to_string()
            .starts_with(&format!("getpeername on fd {fd}: ")),
        "{e}"
    );
    for i in 0..100usize {
        let msg: Vec<u8> = (0..(1 + i * 13)).map(|j| (i + j) as u8).collect();
        let (res, msg) = client.send_to(msg, server_addr).await;
        assert_eq!(res?, msg.len());
        let (res, buf) = client.recv_from(vec![0u8; 2048]).await;
        let (n, from) = res?;
        assert_eq!(from, server_addr);
        assert_eq!(&buf[..n], &msg[..]);
    }
    echo.await??;
    Ok(())
}

#[coring::test]
async fn udp_connected_send_recv() -> io::Result<()> {
    let a = UdpSocket::bind("127.0.0.1:0").await?;
    let b = UdpSocket::bind("127.0.0.1:0").await?;
    a.connect(b.local_addr()?).await?;
    b.connect(a.local_addr()?).await?;
    assert_eq!(a.peer_addr()?, b.local_addr()?);
    let (res, _) = a.send(b"ping".as_slice()).await;
    res?;
    let (res, buf) = b.recv(vec![0u8; 8]).await;
    assert_eq!(&buf[..res?], b"ping");
    let (res, _) = b.send(b"pong".as_slice()).await;
    res?;
    let (res, buf) = a.recv(vec![0u8; 8]).await;
    assert_eq!(&buf[..res?], b"pong");
    let std = a.into_std()?;
    assert_eq!(std.peer_addr()?, b.local_addr()?);
    Ok(())
}

#[coring::test]
async fn unix_stream_echo_through_a_listener() -> io::Result<()> {
    let path = temp_path("stream.sock");
    let listener = UnixListener::bind(&path)?;
    assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
    let server = coring::spawn(async move {
        let mut incoming = listener.incoming();
        let mut conn = incoming.next().await.unwrap()?;
        let mut buf = vec![0u8; 4096];
        loop {
            let (res, b) = conn.read(buf).await;
            let n = res?;
            if n == 0 {
                return Ok::<_, io::Error>(());
            }
            let (res, b) = conn.write_all(b.slice(..n)).await;
            res?;
            buf = b.into_inner();
        }
    });
    let mut client = UnixStream::connect(&path).await?;
    for i in 0..1_000usize {
        let msg: Vec<u8> = (0..(1 + i % 700)).map(|j| (i * 3 + j) as u8).collect();
        let (res, msg) = client.write_all(msg).await;
        res?;
        let (res, back) = client.read_exact(vec![0u8; msg.len()]).await;
        res?;
        assert_eq!(back, msg);
    }
    client.shutdown(std::net::Shutdown::Write).await?;
    server.await??;
    std::fs::remove_file(&path)?;
    Ok(())
}

#[coring::test]
async fn unix_accept_and_async_io_on_a_pair() -> io::Result<()> {
    let path = temp_path("accept.sock");
    let listener = UnixListener::bind(&path)?;
    let connect = coring::spawn({
        let path = path.clone();
        async move { UnixStream::connect(&path).await }
    });
    let (mut conn, _peer) = listener.accept().await?;
    let mut client = connect.await??;
    futures::io::AsyncWriteExt::write_all(&mut client, b"over futures-io").await?;
    futures::io::AsyncWriteExt::close(&mut client).await?;
    let mut got = String::new();
    futures::io::AsyncReadExt::read_to_string(&mut conn, &mut got).await?;
    assert_eq!(got, "over futures-io");

    let (mut a, mut b) = UnixStream::pair()?;
    let (res, _) = a.write_all(vec![9u8; 100_000]).await;
    res?;
    drop(a);
    let mut all = Vec::new();
    futures::io::AsyncReadExt::read_to_end(&mut b, &mut all).await?;
    assert_eq!(all, vec![9u8; 100_000]);
    std::fs::remove_file(&path)?;
    Ok(())
}

#[coring::test]
async fn unix_datagram_round_trips() -> io::Result<()> {
    let (pa, pb) = (temp_path("dgram-a.sock"), temp_path("dgram-b.sock"));
    let a = UnixDatagram::bind(&pa)?;
    let b = UnixDatagram::bind(&pb)?;
    let (res, _) = a.send_to(b"to b".as_slice(), &pb).await;
    res?;
    let (res, buf) = b.recv_from(vec![0u8; 16]).await;
    let (n, from) = res?;
    assert_eq!(&buf[..n], b"to b");
    assert_eq!(from.as_pathname(), Some(pa.as_path()));
    // From an unbound socket: the datagram arrives, its sender is unnamed.
    let anon = UnixDatagram::unbound()?;
    let (res, _) = anon.send_to(b"anon".as_slice(), &pb).await;
    res?;
    let (res, buf) = b.recv_from(vec![0u8; 16]).await;
    let (n, from) = res?;
    assert_eq!(&buf[..n], b"anon");
    assert!(from.is_unnamed(), "{from:?}");

    b.connect(&pa)?;
    let (res, _) = b.send(b"to a".as_slice()).await;
    res?;
    let (res, buf) = a.recv(vec![0u8; 16]).await;
    assert_eq!(&buf[..res?], b"to a");

    let (x, y) = UnixDatagram::pair()?;
    let (res, _) = x.send(b"paired".as_slice()).await;
    res?;
    let (res, buf) = y.recv(vec![0u8; 16]).await;
    assert_eq!(&buf[..res?], b"paired");

    let e = UnixDatagram::bind(&pa).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
    assert!(e.to_string().contains(&pa.display().to_string()), "{e}");
    std::fs::remove_file(&pa)?;
    std::fs::remove_file(&pb)?;
    Ok(())
}

#[coring::test]
async fn unix_paths_with_a_nul_byte_are_rejected() -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let good = temp_path("nul.sock");
    let with_nul = |tail: &[u8]| {
        let mut bytes = good.as_os_str().as_bytes().to_vec();
        bytes.extend_from_slice(tail);
        PathBuf::from(std::ffi::OsStr::from_bytes(&bytes))
    };
    let check = |e: io::Error, op: &str, path: &std::path::Path| {
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!("{op} {}: ", path.display())),
            "{msg}"
        );
        assert!(msg.contains("NUL byte"), "{msg}");
    };
    // Like std: a NUL anywhere, and no binding of the truncated path.
    let abstract_like = PathBuf::from("\0coring-nul-test");
    for bad in [with_nul(b"\0tail"), with_nul(b"\0"), abstract_like] {
        check(UnixListener::bind(&bad).unwrap_err(), "bind", &bad);
        check(UnixDatagram::bind(&bad).unwrap_err(), "bind", &bad);
        assert!(
            !good.exists(),
            "bound the truncated path {}",
            good.display()
        );
    }
    // Connecting must not reach the socket at the truncated path either.
    let bad = with_nul(b"\0tail");
    let listener = UnixListener::bind(&good)?;
    check(
        UnixStream::connect(&bad).await.unwrap_err(),
        "connect",
        &bad,
    );
    std::fs::remove_file(&good)?;
    let server = UnixDatagram::bind(&good)?;
    let client = UnixDatagram::unbound()?;
    check(client.connect(&bad).unwrap_err(), "connect", &bad);
    let (res, _) = client.send_to(b"x".as_slice(), &bad).await;
    check(res.unwrap_err(), "send to", &bad);
    drop((listener, server));
    std::fs::remove_file(&good)?;
    Ok(())
}

/// A peer that wrote more than ~128 KiB and closed before the first read
/// was armed: every byte arrives, then end of stream. (A multishot receive
/// on AF_UNIX misses the end in that case — the kernel posts no
/// terminating completion — so Unix streams must not rely on it.)
#[coring::test]
async fn unix_stream_sees_eof_after_a_large_write_and_close() -> io::Result<()> {
    use std::io::Write;
    for len in [64 * 1024, 130 * 1024, 1 << 20] {
        let (mut a, b) = std::os::unix::net::UnixStream::pair()?;
        // Write what the socket buffer takes without blocking, then close.
        a.set_nonblocking(true)?;
        let data = common::pattern(len, len as u64);
        let mut sent = 0;
        while sent < len {
            match a.write(&data[sent..]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        drop(a);
        let mut b = UnixStream::from_std(b);
        let mut got = Vec::new();
        let read = coring::time::timeout(
            std::time::Duration::from_secs(5),
            futures::io::AsyncReadExt::read_to_end(&mut b, &mut got),
        );
        assert!(
            read.await.is_ok(),
            "no end of stream after {} of {sent} bytes",
            got.len()
        );
        assert!(
            got == data[..sent],
            "{} of {sent} bytes, or corrupted",
            got.len()
        );
    }
    Ok(())
}
