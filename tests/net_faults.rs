//! Faults on real sockets: each is an `io::Error` of the right kind that
//! names the address, and nothing hangs or kills the process.

use coring::io::{OwnedRead, OwnedWrite};
use coring::net::{TcpListener, TcpStream, UdpSocket};
use std::{io, net::Shutdown, time::Duration};

/// Every test body runs under this limit: a hang is a failure, not a
/// stuck CI job.
async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    coring::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("test body hung")
}

#[coring::test]
async fn connection_refused_names_the_address() {
    within(async {
        let e = TcpStream::connect("127.0.0.1:1").await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        assert!(e.to_string().starts_with("connect 127.0.0.1:1: "), "{e}");
        // The errno is one call away, and the context is typed.
        assert_eq!(
            e.raw_os_error(),
            None,
            "wrapped, so std's accessor misses it"
        );
        assert_eq!(coring::runtime::raw_os_error(&e), Some(libc::ECONNREFUSED));
        let inner = e
            .get_ref()
            .and_then(|i| i.downcast_ref::<coring::net::AddrError>());
        assert_eq!(inner.map(|a| a.context()), Some("connect 127.0.0.1:1"));
    })
    .await
}

#[coring::test]
async fn address_in_use_names_the_address() -> io::Result<()> {
    within(async {
        let first = TcpListener::bind("127.0.0.1:0").await?;
        let addr = first.local_addr()?;
        let e = TcpListener::bind(addr).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
        assert!(e.to_string().contains(&addr.to_string()), "{e}");
        // With SO_REUSEPORT on both, a second listener may share the port.
        let a = TcpListener::builder()
            .reuse_port(true)
            .bind("127.0.0.1:0")
            .await?;
        let shared = a.local_addr()?;
        TcpListener::builder()
            .reuse_port(true)
            .backlog(16)
            .bind(shared)
            .await?;
        Ok(())
    })
    .await
}

/// A std client that resets the connection when dropped (linger 0).
fn resetting_client(addr: std::net::SocketAddr) -> io::Result<socket2::Socket> {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    s.connect(&addr.into())?;
    s.set_linger(Some(Duration::ZERO))?;
    Ok(s)
}

#[coring::test]
async fn peer_reset_mid_read_is_an_error_naming_the_peer() -> io::Result<()> {
    within(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let client = resetting_client(listener.local_addr()?)?;
        let peer = client.local_addr()?.as_socket().unwrap();
        let (mut conn, _) = listener.accept().await?;
        let reader = coring::spawn(async move { conn.read(vec![0u8; 100]).await.0 });
        coring::time::sleep(Duration::from_millis(20)).await;
        drop(client); // RST while the read is in flight
        let e = reader.await?.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
        assert!(e.to_string().contains(&peer.to_string()), "{e}");
        Ok(())
    })
    .await
}

#[coring::test]
async fn writing_to_a_closed_peer_is_epipe_not_sigpipe() -> io::Result<()> {
    within(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let client = std::net::TcpStream::connect(addr)?;
        let (mut conn, peer) = listener.accept().await?;
        drop(client);
        // The first writes may succeed (the peer answers them with RST);
        // after that every write fails. No SIGPIPE kills us on the way.
        let mut last = None;
        for _ in 0..100 {
            let (res, _) = conn.write(vec![1u8; 1000]).await;
            if let Err(e) = res {
                last = Some(e);
                break;
            }
            coring::time::sleep(Duration::from_millis(5)).await;
        }
        let first = last.expect("writes to a closed peer kept succeeding");
        assert!(
            matches!(
                first.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            ),
            "{first}"
        );
        let (res, _) = conn.write(vec![1u8; 10]).await;
        let e = res.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe, "{e}");
        assert!(e.to_string().contains(&peer.to_string()), "{e}");
        // The AsyncWrite path reports it too (on the write or the flush).
        let e = match futures::io::AsyncWriteExt::write_all(&mut conn, b"more").await {
            Err(e) => e,
            Ok(()) => futures::io::AsyncWriteExt::flush(&mut conn)
                .await
                .unwrap_err(),
        };
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe, "{e}");
        Ok(())
    })
    .await
}

#[coring::test]
async fn read_after_peer_close_is_end_of_stream() -> io::Result<()> {
    within(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let mut client = std::net::TcpStream::connect(listener.local_addr()?)?;
        let (mut conn, _) = listener.accept().await?;
        std::io::Write::write_all(&mut client, b"last words")?;
        client.shutdown(Shutdown::Both)?;
        drop(client);
        let (res, buf) = conn.read_exact(vec![0u8; 10]).await;
        res?;
        assert_eq!(buf, b"last words");
        let (res, _) = conn.read(vec![0u8; 10]).await;
        assert_eq!(res?, 0);
        // read_exact past the end is UnexpectedEof.
        let (res, _) = conn.read_exact(vec![0u8; 10]).await;
        assert_eq!(res.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        Ok(())
    })
    .await
}

#[coring::test]
async fn connect_timeout_ends_and_names_the_address() {
    within(async {
        // A listener that never accepts, with the smallest backlog: once
        // its accept queue is full the kernel drops further SYNs, so a
        // connect hangs until our time limit.
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket
            .bind(
                &"127.0.0.1:0"
                    .parse::<std::net::SocketAddr>()
                    .unwrap()
                    .into(),
            )
            .unwrap();
        socket.listen(0).unwrap();
        let addr = socket.local_addr().unwrap().as_socket().unwrap();
        let mut kept = Vec::new();
        let mut timed_out = None;
        for _ in 0..8 {
            let started = std::time::Instant::now();
            match TcpStream::connect_timeout(addr, Duration::from_millis(200)).await {
                Ok(s) => kept.push(s),
                Err(e) => {
                    assert!(started.elapsed() < Duration::from_secs(2));
                    timed_out = Some(e);
                    break;
                }
            }
        }
        let e = timed_out.expect("every connect succeeded");
        assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
        assert!(e.to_string().contains(&addr.to_string()), "{e}");
    })
    .await
}

#[coring::test]
async fn unresolvable_name_is_an_error_naming_it() {
    within(async {
        let e = TcpStream::connect_timeout("no-such-host.invalid:80", Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("no-such-host.invalid"), "{e}");
    })
    .await
}

#[coring::test]
async fn udp_to_a_closed_port_reports_refused() -> io::Result<()> {
    within(async {
        let closed = std::net::UdpSocket::bind("127.0.0.1:0")?;
        let target = closed.local_addr()?;
        drop(closed);
        let s = UdpSocket::bind("127.0.0.1:0").await?;
        s.connect(target).await?;
        let (res, _) = s.send(b"anyone?".as_slice()).await;
        res?;
        let (res, _) = s.recv(vec![0u8; 16]).await;
        let e = res.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        assert!(e.to_string().contains(&target.to_string()), "{e}");
        Ok(())
    })
    .await
}
