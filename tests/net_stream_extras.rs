//! What tokio users reach for on streams: both read/write styles without
//! a name clash, `b"literal"` as a buffer, `peek`, `readable`/`writable`,
//! socket options read back, and `JoinSet`.

use coring::net::{TcpListener, TcpStream, UdpSocket, UnixStream};
use coring::time::sleep;
use coring::JoinSet;
use std::{cell::Cell, io, net::SocketAddr, rc::Rc, time::Duration};

/// A connected pair over loopback: (client, server side).
async fn tcp_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let client = coring::spawn(async move { TcpStream::connect(addr).await });
    let (server, _) = listener.accept().await?;
    Ok((client.await??, server))
}

/// The futures-io style, with only `futures::AsyncReadExt`/`AsyncWriteExt`
/// imported: `s.read(&mut buf)` is futures' read (it used to hit the
/// inherent owned-buffer `read` and fail with "IoBufMut is not satisfied").
mod futures_style {
    use super::tcp_pair;
    use futures::io::{AsyncReadExt, AsyncWriteExt};
    use std::io;

    #[coring::test]
    async fn read_and_write_all_on_slices() -> io::Result<()> {
        let (mut a, mut b) = tcp_pair().await?;
        a.write_all(b"hello futures").await?;
        a.flush().await?;
        let mut buf = [0u8; 13];
        b.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"hello futures");
        b.write_all(b"x").await?;
        let mut one = [0u8; 8];
        let n = a.read(&mut one).await?;
        assert_eq!(&one[..n], b"x");
        Ok(())
    }

    #[coring::test]
    async fn unix_stream_and_halves_too() -> io::Result<()> {
        let (mut a, mut b) = coring::net::UnixStream::pair()?;
        a.write_all(b"unix").await?;
        let mut buf = [0u8; 4];
        b.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"unix");
        let (c, s) = tcp_pair().await?;
        let (mut rd, _w1) = c.into_split();
        let (_r2, mut wr) = s.into_split();
        wr.write_all(b"half").await?;
        let mut buf = [0u8; 4];
        rd.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"half");
        Ok(())
    }
}

/// The owned-buffer style, with `coring::io::{OwnedRead, OwnedWrite}`.
mod owned_style {
    use super::tcp_pair;
    use coring::buf::IoBuf;
    use coring::io::{OwnedRead, OwnedWrite};
    use std::io;

    #[coring::test]
    async fn read_and_write_all_on_owned_buffers() -> io::Result<()> {
        let (mut a, mut b) = tcp_pair().await?;
        // A byte-string literal (`&'static [u8; N]`) is a buffer as is.
        let (res, lit) = a.write_all(b"owned").await;
        res?;
        assert_eq!(lit, b"owned");
        let (res, buf) = b.read_exact(vec![0u8; 5]).await;
        res?;
        assert_eq!(buf, b"owned");
        let (res, _) = a.write(b"abc".slice(1..)).await;
        assert_eq!(res?, 2);
        let (res, buf) = b.read(Vec::with_capacity(16)).await;
        assert_eq!((res?, &buf[..]), (2, &b"bc"[..]));
        Ok(())
    }

    /// Generic code over any stream, through the traits.
    async fn echo_once<S: OwnedRead + OwnedWrite>(s: &mut S) -> io::Result<usize> {
        let (res, buf) = s.read(Vec::with_capacity(64)).await;
        let n = res?;
        let (res, _) = s.write_all(buf).await;
        res.map(|()| n)
    }

    #[coring::test]
    async fn generic_over_tcp_and_unix() -> io::Result<()> {
        let (mut a, mut b) = coring::net::UnixStream::pair()?;
        let (res, _) = a.write_all(b"ping").await;
        res?;
        assert_eq!(echo_once(&mut b).await?, 4);
        let (res, buf) = a.read_exact(vec![0u8; 4]).await;
        res?;
        assert_eq!(buf, b"ping");
        let (mut c, mut s) = tcp_pair().await?;
        let (res, _) = c.write_all(b"tcp").await;
        res?;
        assert_eq!(echo_once(&mut s).await?, 3);
        Ok(())
    }
}

mod peek {
    use super::*;
    use coring::io::{OwnedRead, OwnedWrite};

    /// A wrong peek (one that consumed) would leave a read waiting for
    /// bytes that never come: fail instead of hanging.
    async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
        coring::time::timeout(Duration::from_secs(10), f)
            .await
            .expect("timed out: bytes a peek saw were not read back")
    }

    /// On a fresh connection (nothing armed) the peek goes to the socket
    /// with MSG_PEEK; the read then returns the same bytes.
    #[coring::test]
    async fn peek_then_read_returns_the_same_bytes() -> io::Result<()> {
        let (mut a, mut b) = tcp_pair().await?;
        let (res, _) = a.write_all(b"GET / HTTP/1.1\r\n").await;
        res?;
        let (res, peeked) = within(b.peek(vec![0u8; 3])).await;
        assert_eq!(res?, 3);
        assert_eq!(peeked, b"GET");
        // Peeking again sees the same bytes: nothing was consumed.
        let (res, again) = within(b.peek(Vec::with_capacity(64))).await;
        assert!(res? >= 3);
        assert!(again.starts_with(b"GET"));
        let (res, read) = within(b.read_exact(vec![0u8; 16])).await;
        res?;
        assert_eq!(read, b"GET / HTTP/1.1\r\n");
        Ok(())
    }

    /// After a read armed the multishot receive and left bytes buffered,
    /// a peek returns the buffered bytes, then the read returns them.
    #[coring::test]
    async fn peek_sees_bytes_already_buffered() -> io::Result<()> {
        let (mut a, mut b) = tcp_pair().await?;
        let (res, _) = a.write_all(b"0123456789").await;
        res?;
        let (res, first) = within(b.read_exact(vec![0u8; 2])).await;
        res?;
        assert_eq!(first, b"01");
        let (res, peeked) = within(b.peek(vec![0u8; 4])).await;
        assert_eq!(res?, 4);
        assert_eq!(peeked, b"2345");
        let (res, rest) = within(b.read_exact(vec![0u8; 8])).await;
        res?;
        assert_eq!(rest, b"23456789");
        // With a receive armed and nothing buffered, a peek waits for the
        // next bytes and still does not consume them.
        let later = coring::spawn(async move {
            sleep(Duration::from_millis(20)).await;
            let (res, _) = a.write_all(b"late").await;
            res.map(|()| a)
        });
        let (res, peeked) = within(b.peek(vec![0u8; 4])).await;
        assert_eq!((res?, &peeked[..]), (4, &b"late"[..]));
        let (res, read) = within(b.read_exact(vec![0u8; 4])).await;
        res?;
        assert_eq!(read, b"late");
        // End of stream: peek returns 0.
        drop(later.await??);
        let (res, _) = within(b.peek(vec![0u8; 4])).await;
        assert_eq!(res?, 0);
        Ok(())
    }

    #[coring::test]
    async fn peek_on_unix_streams() -> io::Result<()> {
        let (mut a, mut b) = UnixStream::pair()?;
        let (res, _) = a.write_all(b"unix").await;
        res?;
        let (res, p) = within(b.peek(vec![0u8; 4])).await;
        assert_eq!((res?, &p[..]), (4, &b"unix"[..]));
        let (res, r) = within(b.read_exact(vec![0u8; 4])).await;
        res?;
        assert_eq!(r, b"unix");
        Ok(())
    }
}

mod readiness {
    use super::*;
    use coring::io::{OwnedRead, OwnedWrite};
    use coring::time::timeout;

    #[coring::test]
    async fn readable_waits_for_data() -> io::Result<()> {
        let (mut a, mut b) = tcp_pair().await?;
        // Nothing sent: not readable.
        assert!(timeout(Duration::from_millis(30), b.readable())
            .await
            .is_err());
        let (res, _) = a.write_all(b"x").await;
        res?;
        timeout(Duration::from_secs(5), b.readable())
            .await
            .expect("readable after a write")?;
        let (res, buf) = b.read(Vec::with_capacity(4)).await;
        assert_eq!((res?, &buf[..]), (1, &b"x"[..]));
        // A receive is armed now: readable waits on it, not on a poll the
        // armed receive could race.
        assert!(timeout(Duration::from_millis(30), b.readable())
            .await
            .is_err());
        let (res, _) = a.write_all(b"yz").await;
        res?;
        timeout(Duration::from_secs(5), b.readable())
            .await
            .expect("readable with a receive armed")?;
        // Readable with bytes buffered returns at once; the bytes are
        // still there.
        b.readable().await?;
        let (res, buf) = b.read_exact(vec![0u8; 2]).await;
        res?;
        assert_eq!(buf, b"yz");
        // The peer closed: readable (the read returns 0).
        drop(a);
        timeout(Duration::from_secs(5), b.readable())
            .await
            .expect("readable at end of stream")?;
        let (res, _) = b.read(vec![0u8; 4]).await;
        assert_eq!(res?, 0);
        Ok(())
    }

    #[coring::test]
    async fn writable_waits_for_room() -> io::Result<()> {
        let (mut a, b) = tcp_pair().await?;
        timeout(Duration::from_secs(5), a.writable())
            .await
            .expect("a fresh stream is writable")?;
        // Fill the socket buffers (the peer never reads) with a small send
        // buffer, until writable stops answering.
        a.set_send_buffer_size(4096)?;
        b.set_recv_buffer_size(4096)?;
        let mut full = false;
        for _ in 0..10_000 {
            let fd = std::os::fd::AsRawFd::as_raw_fd(&a);
            let chunk = [7u8; 4096];
            // SAFETY: a nonblocking send of our own stack buffer.
            let n = unsafe {
                libc::send(
                    fd,
                    chunk.as_ptr().cast(),
                    chunk.len(),
                    libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                )
            };
            if n < 0 {
                assert_eq!(io::Error::last_os_error().kind(), io::ErrorKind::WouldBlock);
                full = true;
                break;
            }
        }
        assert!(full, "the socket buffer never filled");
        assert!(
            timeout(Duration::from_millis(50), a.writable())
                .await
                .is_err(),
            "writable with a full send buffer"
        );
        // The peer drains: writable again.
        let drain = coring::spawn(async move {
            let mut b = b;
            let mut total = 0usize;
            loop {
                let (res, _) = b.read(Vec::with_capacity(65536)).await;
                match res {
                    Ok(0) | Err(_) => return total,
                    Ok(n) => total += n,
                }
            }
        });
        timeout(Duration::from_secs(5), a.writable())
            .await
            .expect("writable once the peer reads")?;
        let (res, _) = a.write_all(b"end").await;
        res?;
        drop(a);
        assert!(drain.await? > 3);
        Ok(())
    }

    #[coring::test]
    async fn unix_streams_and_halves_have_readiness_too() -> io::Result<()> {
        let (mut a, b) = UnixStream::pair()?;
        a.writable().await?;
        let (res, _) = a.write_all(b"r").await;
        res?;
        let (mut c, s) = tcp_pair().await?;
        let (mut rd, _wr) = s.into_split();
        let (_rd2, mut wr) = tcp_pair().await?.0.into_split();
        wr.writable().await?;
        let (res, _) = c.write_all(b"h").await;
        res?;
        timeout(Duration::from_secs(5), rd.readable())
            .await
            .expect("read half readable")?;
        let mut b = b;
        timeout(Duration::from_secs(5), b.readable())
            .await
            .expect("unix stream readable")?;
        Ok(())
    }
}

mod options {
    use super::*;

    #[coring::test]
    async fn tcp_stream_options_read_back() -> io::Result<()> {
        let (a, _b) = tcp_pair().await?;
        a.set_ttl(42)?;
        assert_eq!(a.ttl()?, 42);

        assert_eq!(a.linger()?, None);
        a.set_linger(Some(Duration::from_secs(3)))?;
        assert_eq!(a.linger()?, Some(Duration::from_secs(3)));
        a.set_linger(None)?;
        assert_eq!(a.linger()?, None);

        a.set_keepalive(true)?;
        assert!(a.keepalive()?);
        a.set_keepalive(false)?;
        assert!(!a.keepalive()?);
        a.set_tcp_keepalive(
            &coring::net::TcpKeepalive::new()
                .with_time(Duration::from_secs(61))
                .with_interval(Duration::from_secs(7))
                .with_retries(4),
        )?;
        assert!(a.keepalive()?);
        assert_eq!(a.keepalive_time()?, Duration::from_secs(61));
        assert_eq!(a.keepalive_interval()?, Duration::from_secs(7));
        assert_eq!(a.keepalive_retries()?, 4);

        // The kernel doubles the value (bookkeeping) and clamps it to
        // net.core.[rw]mem_max; a small value always fits.
        a.set_recv_buffer_size(8192)?;
        assert_eq!(a.recv_buffer_size()?, 16384);
        a.set_send_buffer_size(8192)?;
        assert_eq!(a.send_buffer_size()?, 16384);
        Ok(())
    }

    #[coring::test]
    async fn ttl_on_ipv6_streams_listeners_and_udp() -> io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        listener.set_ttl(17)?;
        assert_eq!(listener.ttl()?, 17);
        let udp = UdpSocket::bind("127.0.0.1:0").await?;
        udp.set_ttl(9)?;
        assert_eq!(udp.ttl()?, 9);
        // IPv6 (where the machine has ::1): IPV6_UNICAST_HOPS.
        if let Ok(l6) = TcpListener::bind("[::1]:0").await {
            let addr: SocketAddr = l6.local_addr()?;
            let c = coring::spawn(async move { TcpStream::connect(addr).await });
            let (s, _) = l6.accept().await?;
            s.set_ttl(33)?;
            assert_eq!(s.ttl()?, 33);
            l6.set_ttl(5)?;
            assert_eq!(l6.ttl()?, 5);
            drop(c.await??);
        }
        Ok(())
    }
}

mod join_set {
    use super::*;

    #[coring::test]
    async fn join_next_returns_outputs_as_tasks_finish() {
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        let mut set = JoinSet::new();
        assert!(set.is_empty());
        // The first task spawned cannot finish before the second.
        set.spawn(async move {
            rx.await.unwrap();
            "second"
        });
        set.spawn(async { "first" });
        assert_eq!(set.len(), 2);
        assert_eq!(set.join_next().await.unwrap().unwrap(), "first");
        assert_eq!(set.len(), 1);
        assert!(set.try_join_next().is_none());
        tx.send(()).unwrap();
        assert_eq!(set.join_next().await.unwrap().unwrap(), "second");
        assert!(set.is_empty());
        assert!(set.join_next().await.is_none());
    }

    /// Runs `f` in a detached task; resolves once it ran.
    async fn detached_ran(f: impl FnOnce() + 'static) -> bool {
        let (tx, rx) = futures::channel::oneshot::channel();
        drop(coring::spawn(async move {
            sleep(Duration::from_millis(5)).await;
            f();
            let _ = tx.send(());
        }));
        coring::time::timeout(Duration::from_secs(10), rx)
            .await
            .is_ok_and(|r| r.is_ok())
    }

    #[coring::test]
    async fn dropping_the_set_aborts_its_tasks() {
        let flag = Rc::new(Cell::new(false));
        let mut set = JoinSet::new();
        let f = flag.clone();
        set.spawn(async move {
            sleep(Duration::from_millis(20)).await;
            f.set(true);
        });
        // Let it start and wait on its timer.
        coring::yield_now().await;
        drop(set);
        sleep(Duration::from_millis(60)).await;
        assert!(!flag.get(), "a task of a dropped JoinSet ran on");
        // A plain JoinHandle's drop detaches: that task does run.
        let f = flag.clone();
        assert!(detached_ran(move || f.set(true)).await);
        assert!(flag.get());
    }

    #[coring::test]
    async fn abort_all_cancels_and_join_next_reports_it() {
        let mut set = JoinSet::new();
        set.spawn(async { 1 });
        set.spawn(async {
            sleep(Duration::from_secs(10)).await;
            2
        });
        // The quick one finishes first.
        sleep(Duration::from_millis(5)).await;
        set.abort_all();
        let mut done = Vec::new();
        let mut cancelled = 0;
        while let Some(res) = set.join_next().await {
            match res {
                Ok(v) => done.push(v),
                Err(e) => {
                    assert!(e.is_cancelled());
                    cancelled += 1;
                }
            }
        }
        assert_eq!((done, cancelled), (vec![1], 1));
    }

    #[coring::test]
    async fn shutdown_waits_until_every_task_was_dropped() {
        struct SetOnDrop(Rc<Cell<u32>>);
        impl Drop for SetOnDrop {
            fn drop(&mut self) {
                self.0.set(self.0.get() + 1);
            }
        }
        let dropped = Rc::new(Cell::new(0));
        let mut set = JoinSet::new();
        for _ in 0..3 {
            let guard = SetOnDrop(dropped.clone());
            set.spawn(async move {
                let _guard = guard;
                sleep(Duration::from_secs(10)).await;
            });
        }
        coring::yield_now().await;
        set.shutdown().await;
        assert_eq!(
            dropped.get(),
            3,
            "shutdown returned before the tasks were dropped"
        );
        assert!(set.is_empty());
        // detach_all: the tasks keep running after the set is gone.
        let (tx, rx) = futures::channel::oneshot::channel();
        set.spawn(async move {
            sleep(Duration::from_millis(5)).await;
            let _ = tx.send(());
        });
        set.detach_all();
        assert!(set.is_empty());
        drop(set);
        let ran = coring::time::timeout(Duration::from_secs(10), rx).await;
        assert!(ran.is_ok_and(|r| r.is_ok()), "a detached task did not run");
    }

    #[coring::test]
    async fn a_panicking_task_is_a_join_error() {
        let mut set = JoinSet::new();
        set.spawn(async { panic!("boom") });
        let e: coring::JoinError = set.join_next().await.unwrap().unwrap_err();
        assert!(e.is_panic());
        assert_eq!(e.panic_message(), Some("boom"));
    }
}
