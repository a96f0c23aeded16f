//! `send_file` against real sockets: head and body arrive intact for every
//! size and both modes (checked byte for byte by a std client thread),
//! ranges and short files, one unit with Nagle on (no delayed-ACK stall
//! per response), pooled buffers and pipes reused across responses, and
//! clear errors for a busy stream, a non-socket and a vanished peer.

mod common;

use common::{pattern, rt, TempDir};
use coring::fs::{self, File, SendFileMode};
use coring::io::OwnedRead;
use coring::net::{TcpListener, TcpStream};
use coring::runtime::fd::SharedFd;
use std::{
    io::{ErrorKind, Read, Write},
    net::SocketAddr,
    thread,
    time::{Duration, Instant},
};

const MODES: [SendFileMode; 2] = [SendFileMode::Copy, SendFileMode::Splice];

/// A coring listener and a std client thread that reads `expect` bytes
/// (or to EOF if `None`) and returns them.
async fn connected(expect: Option<usize>) -> (TcpStream, thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let client = thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut got = Vec::new();
        match expect {
            Some(n) => {
                got.resize(n, 0);
                s.read_exact(&mut got).unwrap();
            }
            None => {
                s.read_to_end(&mut got).unwrap();
            }
        }
        got
    });
    let (stream, _) = listener.accept().await.unwrap();
    (stream, client)
}

/// Waits for the client thread without blocking the runtime thread.
async fn join(client: thread::JoinHandle<Vec<u8>>) -> Vec<u8> {
    coring::spawn_blocking(move || client.join().expect("client thread"))
        .await
        .unwrap()
}

#[test]
fn head_and_body_arrive_for_every_size_and_mode() {
    let dir = TempDir::new("send_file_sizes");
    let data = pattern((5 << 20) + 3, 5);
    let path = dir.join("src");
    std::fs::write(&path, &data).unwrap();
    rt().block_on(async {
        let file = File::open(&path).await.unwrap();
        for mode in MODES {
            for size in [
                0usize,
                1,
                1000,
                16 << 10,
                (256 << 10) + 1,
                1 << 20,
                (5 << 20) + 3,
            ] {
                let head = format!("HEAD {size}\r\n\r\n").into_bytes();
                let (mut stream, client) = connected(None).await;
                let sent = fs::send_file_with(&mut stream, &head, &file, 0, size as u64, mode)
                    .await
                    .unwrap();
                assert_eq!(sent, size as u64, "{mode:?} {size}");
                drop(stream);
                let got = join(client).await;
                assert_eq!(&got[..head.len()], &head[..], "{mode:?} {size}: head");
                assert!(
                    got[head.len()..] == data[..size],
                    "{mode:?} {size}: body differs ({} bytes received)",
                    got.len() - head.len()
                );
            }
        }
    });
}

#[test]
fn ranges_to_the_end_and_past_the_end_of_the_file() {
    let dir = TempDir::new("send_file_ranges");
    let data = pattern((1 << 20) + 7, 9);
    let path = dir.join("src");
    std::fs::write(&path, &data).unwrap();
    rt().block_on(async {
        let file = File::open(&path).await.unwrap();
        let len = data.len() as u64;
        // (offset, len asked, bytes expected)
        let cases = [
            (1000, 5000, 5000),
            (len - 7, 7, 7),
            (300_000, u64::MAX, len - 300_000),
            (len - 10, 100, 10), // the file ends first: a short count
            (len, 10, 0),
            (len + 5, 10, 0),
        ];
        for mode in MODES {
            for (offset, want, expect) in cases {
                let (mut stream, client) = connected(None).await;
                let sent = fs::send_file_with(&mut stream, b"", &file, offset, want, mode)
                    .await
                    .unwrap();
                assert_eq!(sent, expect, "{mode:?} {offset}+{want}");
                drop(stream);
                let got = join(client).await;
                let from = (offset as usize).min(data.len());
                assert!(
                    got == data[from..from + expect as usize],
                    "{mode:?} {offset}+{want}"
                );
            }
        }
        let (mut stream, _client) = connected(Some(0)).await;
        let e = fs::send_file(&mut stream, b"", &file, u64::MAX - 1, 1)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        let e = fs::send_file(&mut stream, b"", &file, 10, u64::MAX - 5)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    });
}

/// With Nagle on (no `TCP_NODELAY`), a response written as two sends waits
/// ~40 ms for the client's delayed ACK before its second part leaves. As
/// one unit, 50 keep-alive request/response round trips take a few ms;
/// with the stall they would take 2 s.
#[test]
fn small_responses_do_not_wait_for_delayed_acks() {
    let dir = TempDir::new("send_file_nagle");
    let path = dir.join("1k");
    std::fs::write(&path, pattern(1024, 3)).unwrap();
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n";
    let rounds = 50;
    rt().block_on(async {
        let file = File::open(&path).await.unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let response = head.len() + 1024;
        let client = thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            let mut buf = vec![0; response];
            let start = Instant::now();
            for _ in 0..rounds {
                s.write_all(b"GET\n").unwrap();
                s.read_exact(&mut buf).unwrap();
            }
            start.elapsed()
        });
        let (mut stream, _) = listener.accept().await.unwrap();
        assert!(!stream.nodelay().unwrap(), "Nagle stays on for this test");
        for _ in 0..rounds {
            let (res, _) = stream.read_exact(vec![0u8; 4]).await;
            res.unwrap();
            let sent = fs::send_file(&mut stream, head, &file, 0, 1024)
                .await
                .unwrap();
            assert_eq!(sent, 1024);
        }
        let took = coring::spawn_blocking(move || client.join().unwrap())
            .await
            .unwrap();
        assert!(
            took < Duration::from_millis(1000),
            "{rounds} round trips took {took:?}: responses waited for delayed ACKs"
        );
    });
}

#[test]
fn buffers_and_pipes_are_reused_across_responses() {
    let dir = TempDir::new("send_file_pools");
    let path = dir.join("64k");
    let data = pattern(64 << 10, 4);
    std::fs::write(&path, &data).unwrap();
    rt().block_on(async {
        let file = File::open(&path).await.unwrap();
        let n = 40;
        for mode in MODES {
            let (mut stream, client) = connected(Some(n * data.len())).await;
            let pipes = fs::pipe_pool_stats();
            let bufs = fs::buf_pool_stats();
            for _ in 0..n {
                fs::send_file_with(&mut stream, b"", &file, 0, u64::MAX, mode)
                    .await
                    .unwrap();
            }
            let got = join(client).await;
            assert!(got.chunks(data.len()).all(|c| c == &data[..]), "{mode:?}");
            let (pipes2, bufs2) = (fs::pipe_pool_stats(), fs::buf_pool_stats());
            match mode {
                SendFileMode::Splice => {
                    assert!(
                        pipes2.created - pipes.created <= 1,
                        "{pipes:?} → {pipes2:?}"
                    );
                    assert!(pipes2.reused - pipes.reused >= n as u64 - 1, "{pipes2:?}");
                }
                _ => {
                    assert!(
                        bufs2.allocated - bufs.allocated <= 1,
                        "{bufs:?} → {bufs2:?}"
                    );
                    assert!(bufs2.reused - bufs.reused >= n as u64 - 1, "{bufs2:?}");
                    assert_eq!(pipes2.created, pipes.created, "the copy path uses no pipe");
                }
            }
        }
    });
}

#[test]
fn busy_stream_non_socket_and_vanished_peer_are_clear_errors() {
    let dir = TempDir::new("send_file_errors");
    let path = dir.join("big");
    std::fs::write(&path, pattern(8 << 20, 2)).unwrap();
    rt().block_on(async {
        let file = File::open(&path).await.unwrap();

        // A write of the stream's own still in flight: the peer stays
        // connected and reads nothing, so 32 MiB cannot all be sent.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _silent = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut stream, _) = listener.accept().await.unwrap();
        let big = vec![7u8; 32 << 20];
        let write = futures::io::AsyncWriteExt::write_all(&mut stream, &big);
        assert!(coring::time::timeout(Duration::from_millis(50), write)
            .await
            .is_err());
        let e = fs::send_file(&mut stream, b"x", &file, 0, 10)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ResourceBusy, "{e}");

        // A pipe is not a socket.
        let (_r, w) = common::pipe();
        let mut w = SharedFd::new(w);
        let e = fs::send_file(&mut w, b"head", &file, 0, 10)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains("not a socket"), "{e}");

        // The peer closes without reading.
        for mode in MODES {
            let (mut stream, client) = connected(Some(0)).await;
            join(client).await;
            let e = fs::send_file_with(&mut stream, b"", &file, 0, u64::MAX, mode)
                .await
                .unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
                "{mode:?}: {e}"
            );
            assert!(
                e.to_string().contains("big"),
                "the error names the file: {e}"
            );
        }
    });
}

/// Clients that stop reading must not stall other transfers: the pipe →
/// socket half of a splice runs on the core's thread against a
/// non-blocking socket (waiting for `POLLOUT` in the ring), never in an
/// io-wq worker blocked on the socket. With two io-wq workers and four
/// stalled 16 MiB downloads, a fifth client still gets its 512 KiB at once
/// (with blocking drains the stalled ones would hold both workers).
#[test]
fn stalled_clients_do_not_hold_the_io_workers() {
    use coring::runtime::{ring::IoWorkers, Builder};
    let dir = TempDir::new("send_file_stalled");
    let path = dir.join("big");
    let data = pattern(16 << 20, 6);
    std::fs::write(&path, &data).unwrap();
    let rt = Builder::new()
        .io_workers(IoWorkers {
            bounded: 2,
            unbounded: 2,
            follow_affinity: false,
        })
        .build()
        .unwrap();
    rt.block_on(async {
        let file = std::rc::Rc::new(File::open(&path).await.unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut stalled = Vec::new();
        let mut transfers = Vec::new();
        for _ in 0..4 {
            // A client with a tiny receive window that never reads.
            let sock =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            sock.set_recv_buffer_size(4096).unwrap();
            sock.connect(&addr.into()).unwrap();
            stalled.push(sock);
            let (mut stream, _) = listener.accept().await.unwrap();
            let file = file.clone();
            transfers.push(coring::spawn(async move {
                let mode = SendFileMode::Splice;
                let _ = fs::send_file_with(&mut stream, b"", &file, 0, 16 << 20, mode).await;
            }));
        }
        coring::time::sleep(Duration::from_millis(200)).await;
        let want = 512 << 10;
        let (mut stream, client) = connected(Some(want)).await;
        let send = fs::send_file_with(
            &mut stream,
            b"",
            &file,
            0,
            want as u64,
            SendFileMode::Splice,
        );
        let sent = coring::time::timeout(Duration::from_secs(5), send)
            .await
            .expect("a transfer stalled behind clients that stopped reading")
            .unwrap();
        assert_eq!(sent, want as u64);
        assert!(join(client).await == data[..want]);
        for t in transfers {
            t.abort();
        }
        drop(stalled);
    });
}
