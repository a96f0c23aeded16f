//! TCP on loopback: echo round trips checked byte for byte, many
//! concurrent connections, half-close, split halves, cancel-safe reads,
//! futures-io compatibility, vectored I/O and std conversions.

mod common;

use coring::buf::IoBuf;
use coring::io::{OwnedRead, OwnedWrite};
use coring::net::{TcpListener, TcpStream};
// futures' AsyncReadExt/AsyncWriteExt are called by path here: imported
// beside OwnedRead/OwnedWrite, `read`/`write_all` would be ambiguous.
use futures::{
    io::{AsyncBufReadExt, BufReader},
    StreamExt,
};
use std::{io, net::Shutdown, net::SocketAddr, os::fd::AsRawFd, time::Duration};

/// Raises the soft fd limit (the 1,000-connection test needs ~2,000 fds);
/// as root also the hard limit, if it is lower.
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read/write the struct we pass.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        if lim.rlim_max < 65536 {
            let want = libc::rlimit {
                rlim_cur: 65536,
                rlim_max: 65536,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                return;
            }
        }
        lim.rlim_cur = lim.rlim_max.min(65536);
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
}

/// An echo server on a multishot accept; returns its address.
async fn echo_server() -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    coring::spawn(async move {
        let mut incoming = listener.incoming();
        while let Some(Ok(conn)) = incoming.next().await {
            coring::spawn(common::echo(conn, 8192));
        }
    });
    Ok(addr)
}

fn pattern(round: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + round * 7) as u8).collect()
}

#[coring::test]
async fn ten_thousand_echo_round_trips_byte_for_byte() -> io::Result<()> {
    let addr = echo_server().await?;
    let mut client = TcpStream::connect(addr).await?;
    client.set_nodelay(true)?;
    let mut back = Vec::with_capacity(10_000);
    for round in 0..10_000usize {
        // Mostly small messages, some spanning several ring buffers.
        let len = if round % 100 == 0 {
            9_000
        } else {
            1 + round % 1_500
        };
        let msg = pattern(round, len);
        let (res, msg) = client.write_all(msg).await;
        res?;
        back.clear();
        back.reserve(len);
        // Exactly `len` bytes: read_exact fills the buffer's capacity.
        let (res, b) = client.read_exact(back.slice(..len)).await;
        res?;
        back = b.into_inner();
        assert_eq!(back, msg, "round {round}");
    }
    Ok(())
}

#[coring::test]
async fn thousand_concurrent_connections() -> io::Result<()> {
    raise_fd_limit();
    let addr = echo_server().await?;
    let tasks: Vec<_> = (0..1_000usize)
        .map(|i| {
            coring::spawn(async move {
                let mut c = TcpStream::connect(addr).await?;
                for round in 0..3 {
                    let msg = pattern(i * 3 + round, 100 + i % 200);
                    let (res, msg) = c.write_all(msg).await;
                    res?;
                    let (res, back) = c.read_exact(vec![0u8; msg.len()]).await;
                    res?;
                    assert_eq!(back, msg, "connection {i}");
                }
                Ok::<_, io::Error>(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    Ok(())
}

#[coring::test]
async fn half_close_lets_the_peer_answer() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = coring::spawn(async move {
        let (mut conn, _) = listener.accept().await?;
        // Read everything until the client's FIN...
        let mut got = Vec::new();
        loop {
            let (res, buf) = conn.read(vec![0u8; 1000]).await;
            match res? {
                0 => break,
                n => got.extend_from_slice(&buf[..n]),
            }
        }
        // ...then answer on the still-open direction.
        let (res, _) = conn
            .write_all(format!("got {}", got.len()).into_bytes())
            .await;
        res?;
        conn.shutdown(Shutdown::Write).await?;
        Ok::<_, io::Error>(got)
    });
    let mut client = TcpStream::connect(addr).await?;
    let (res, _) = client.write_all(vec![7u8; 50_000]).await;
    res?;
    client.shutdown(Shutdown::Write).await?;
    let mut answer = Vec::new();
    futures::io::AsyncReadExt::read_to_end(&mut client, &mut answer).await?;
    assert_eq!(answer, b"got 50000");
    assert_eq!(server.await??, vec![7u8; 50_000]);
    // Reads after end of stream keep returning 0.
    let (res, _) = client.read(vec![0u8; 10]).await;
    assert_eq!(res?, 0);
    Ok(())
}

#[coring::test]
async fn split_halves_work_from_two_tasks() -> io::Result<()> {
    let addr = echo_server().await?;
    let (mut rd, mut wr) = TcpStream::connect(addr).await?.into_split();
    let writer = coring::spawn(async move {
        for i in 0..200u32 {
            let (res, _) = wr.write_all(i.to_le_bytes().to_vec()).await;
            res?;
        }
        wr.shutdown().await
    });
    let (res, buf) = rd.read_exact(vec![0u8; 800]).await;
    res?;
    for (i, chunk) in buf.chunks(4).enumerate() {
        assert_eq!(chunk, (i as u32).to_le_bytes());
    }
    writer.await??;
    let (res, _) = rd.read(vec![0u8; 1]).await;
    assert_eq!(res?, 0, "echo server closes after our FIN");
    Ok(())
}

#[coring::test]
async fn dropped_reads_lose_no_data() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    const TOTAL: usize = 300_000;
    let sender = coring::spawn(async move {
        let (mut conn, _) = listener.accept().await?;
        let data = pattern(1, TOTAL);
        for chunk in data.chunks(1_000) {
            let (res, _) = conn.write_all(chunk.to_vec()).await;
            res?;
            if chunk[0] % 3 == 0 {
                coring::time::sleep(Duration::from_micros(50)).await;
            }
        }
        Ok::<_, io::Error>(())
    });
    let mut client = TcpStream::connect(addr).await?;
    let mut got = Vec::with_capacity(TOTAL);
    let mut abandoned = 0;
    while got.len() < TOTAL {
        // Race each read against a very short timer: many reads are
        // dropped mid-flight.
        let read = client.read(vec![0u8; 777]);
        match coring::time::timeout(Duration::from_micros(20), read).await {
            Ok((res, buf)) => {
                let n = res?;
                assert!(n > 0, "unexpected end of stream");
                got.extend_from_slice(&buf[..n]);
            }
            Err(_) => abandoned += 1,
        }
    }
    sender.await??;
    assert_eq!(got, pattern(1, TOTAL));
    assert!(
        abandoned > 0,
        "no read was abandoned; the test proved nothing"
    );
    Ok(())
}

#[coring::test]
async fn futures_io_codecs_work() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = coring::spawn(async move {
        let (conn, _) = listener.accept().await?;
        let mut lines = BufReader::new(conn).lines();
        let mut seen = Vec::new();
        while let Some(line) = lines.next().await {
            seen.push(line?);
        }
        Ok::<_, io::Error>(seen)
    });
    let mut client = TcpStream::connect(addr).await?;
    for i in 0..1_000 {
        futures::io::AsyncWriteExt::write_all(&mut client, format!("line {i}\n").as_bytes())
            .await?;
    }
    futures::io::AsyncWriteExt::close(&mut client).await?;
    let seen = server.await??;
    assert_eq!(seen.len(), 1_000);
    assert!(seen
        .iter()
        .enumerate()
        .all(|(i, l)| *l == format!("line {i}")));
    Ok(())
}

#[coring::test]
async fn bytes_written_through_async_write_survive_dropping_the_stream() -> io::Result<()> {
    // The peer does not read until the writer is gone. The writer writes
    // 64 KiB chunks (one `poll_write` each) until one blocks: the socket
    // buffers are full, so the chunk before it was reported written but
    // its send is still pending in the ring. Then it drops the stream
    // without flushing; every byte reported written must still arrive.
    const CHUNK: usize = 64 * 1024;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let writer = coring::spawn(async move {
        let mut c = TcpStream::connect(addr).await?;
        let data = pattern(7, 64 << 20);
        let mut written = 0;
        for chunk in data.chunks(CHUNK) {
            let write = futures::io::AsyncWriteExt::write_all(&mut c, chunk);
            match coring::time::timeout(Duration::from_millis(200), write).await {
                Ok(res) => res?,
                Err(_blocked) => break,
            }
            written += chunk.len();
        }
        drop(c); // no flush, no close
        Ok::<_, io::Error>((written, data))
    });
    let (mut conn, _) = listener.accept().await?;
    let (written, data) = writer.await??;
    assert!(written < data.len(), "the writer never blocked");
    let mut got = Vec::with_capacity(written);
    futures::io::AsyncReadExt::read_to_end(&mut conn, &mut got).await?;
    assert_eq!(got.len(), written, "bytes reported written were lost");
    assert!(got == data[..written], "bytes changed in transit");
    Ok(())
}

#[coring::test]
async fn poll_write_then_owned_write_keeps_order() -> io::Result<()> {
    let addr = echo_server().await?;
    let mut c = TcpStream::connect(addr).await?;
    futures::io::AsyncWriteExt::write_all(&mut c, b"abc").await?;
    let (res, _) = c.write_all(b"def".as_slice()).await;
    res?;
    let mut buf = [0u8; 6];
    futures::io::AsyncReadExt::read_exact(&mut c, &mut buf).await?;
    assert_eq!(&buf, b"abcdef");
    Ok(())
}

#[coring::test]
async fn vectored_io() -> io::Result<()> {
    let addr = echo_server().await?;
    let mut c = TcpStream::connect(addr).await?;
    let (res, _) = c
        .writev(vec![
            b"hello ".to_vec(),
            b"vectored ".to_vec(),
            b"world".to_vec(),
        ])
        .await;
    assert_eq!(res?, 20);
    let mut got = Vec::new();
    while got.len() < 20 {
        let (res, bufs) = c
            .readv(vec![Vec::with_capacity(4), Vec::with_capacity(100)])
            .await;
        let n = res?;
        let mut left = n;
        for b in &bufs {
            let take = left.min(b.len());
            got.extend_from_slice(&b[..take]);
            left -= take;
        }
    }
    assert_eq!(got, b"hello vectored world");
    Ok(())
}

/// Borrows a raw fd for a socket2 query.
fn unsafe_borrow(fd: i32) -> std::os::fd::BorrowedFd<'static> {
    // SAFETY: the callers hold the stream that owns `fd` for the whole
    // (immediate) use of the borrow.
    unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }
}

#[coring::test]
async fn std_conversions_and_addresses() -> io::Result<()> {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = std_listener.local_addr()?;
    let listener = TcpListener::from_std(std_listener);
    assert_eq!(listener.local_addr()?, addr);
    let client = coring::spawn(async move { TcpStream::connect(addr).await });
    let (conn, peer) = listener.accept().await?;
    let client = client.await??;
    assert_eq!(client.peer_addr()?, addr);
    assert_eq!(conn.peer_addr()?, peer);
    assert_eq!(client.local_addr()?, peer);
    client.set_nodelay(true)?;
    assert!(client.nodelay()?);
    // coring's stream sockets are non-blocking (a direct splice to a slow
    // peer must not block); std's block again.
    let nonblocking = |fd: i32| {
        socket2::SockRef::from(&unsafe_borrow(fd))
            .nonblocking()
            .unwrap()
    };
    assert!(nonblocking(conn.as_raw_fd()), "accepted stream");
    assert!(nonblocking(client.as_raw_fd()), "connected stream");
    // Before any I/O, the stream converts back to std.
    let mut std_client = client.into_std()?;
    assert!(!nonblocking(std_client.as_raw_fd()), "std stream blocks");
    std::io::Write::write_all(&mut std_client, b"x")?;
    let mut conn = conn;
    let (res, buf) = conn.read(vec![0u8; 1]).await;
    assert_eq!((res?, buf[0]), (1, b'x'));
    // After a read the receive stays armed: into_std refuses.
    let e = conn.into_std().unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::ResourceBusy);
    Ok(())
}

#[coring::test]
async fn connect_resolves_names() -> io::Result<()> {
    let listener = TcpListener::bind("localhost:0").await?;
    let port = listener.local_addr()?.port();
    let accept = coring::spawn(async move { listener.accept().await.map(|_| ()) });
    let c = TcpStream::connect(&format!("localhost:{port}")).await?;
    assert_eq!(c.peer_addr()?.port(), port);
    accept.await??;
    Ok(())
}
