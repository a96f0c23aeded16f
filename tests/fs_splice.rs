//! splice_to against real sockets and files: every size checked by hash on
//! the receiving side, all three modes, cancellation mid-transfer (no stale
//! pipe reaches the pool), a peer that closes early, the read/write
//! fallback for sources that cannot splice, and destinations that cannot
//! be spliced to.

mod common;

use common::{pattern, rt, TempDir};
use coring::fs::{self, File, OpenOptions, SpliceMode};
use std::{
    io::{ErrorKind, Read},
    net::{TcpListener, TcpStream},
    sync::mpsc,
    thread,
    time::Duration,
};

/// FNV-1a over 8-byte words (fast enough unoptimised for 64 MiB) plus the
/// length.
#[derive(Default)]
struct Hash {
    h: u64,
    len: u64,
    tail: Vec<u8>,
}

impl Hash {
    fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if !self.tail.is_empty() {
            let need = 8 - self.tail.len();
            let take = need.min(data.len());
            self.tail.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.tail.len() < 8 {
                return;
            }
            let w = u64::from_le_bytes(self.tail[..].try_into().unwrap());
            self.word(w);
            self.tail.clear();
        }
        let mut chunks = data.chunks_exact(8);
        for c in &mut chunks {
            self.word(u64::from_le_bytes(c.try_into().unwrap()));
        }
        self.tail.extend_from_slice(chunks.remainder());
    }
    fn word(&mut self, w: u64) {
        self.h = (self.h ^ w).wrapping_mul(0x0000_0100_0000_01B3);
    }
    fn finish(mut self) -> (u64, u64) {
        let tail = std::mem::take(&mut self.tail);
        for b in tail {
            self.word(u64::from(b) | 1 << 63);
        }
        (self.h, self.len)
    }
}

fn hash_of(data: &[u8]) -> (u64, u64) {
    let mut h = Hash::default();
    h.update(data);
    h.finish()
}

/// A listener whose reader thread hashes everything one connection sends
/// (after waiting `delay`), and reports (hash, len).
fn hashing_peer(delay: Duration) -> (std::net::SocketAddr, mpsc::Receiver<(u64, u64)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        thread::sleep(delay);
        let mut h = Hash::default();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => h.update(&buf[..n]),
            }
        }
        let _ = tx.send(h.finish());
    });
    (addr, rx)
}

/// Waits for the peer's report without blocking the runtime's thread: the
/// socket's last reference can be a finished io-wq splice that the kernel
/// frees only when this thread next enters the ring (`DEFER_TASKRUN`), so
/// the peer sees end-of-stream only while the runtime keeps running.
async fn peer_report(rx: mpsc::Receiver<(u64, u64)>) -> (u64, u64) {
    coring::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(30)))
        .await
        .expect("the blocking pool ran the wait")
        .expect("the peer reported within 30 s")
}

const SIZES: [usize; 7] = [0, 1, 4095, 4096, 4097, (1 << 20) + 7, 64 << 20];
const MODES: [SpliceMode; 3] = [
    SpliceMode::Uring,
    SpliceMode::DirectSend,
    SpliceMode::Direct,
];

#[test]
fn splice_to_socket_all_sizes_and_modes() {
    let dir = TempDir::new("splice_socket");
    let data = pattern(64 << 20, 11);
    let path = dir.0.join("src");
    std::fs::write(&path, &data).unwrap();
    rt().block_on(async {
        let file = File::open(&path).await.unwrap();
        for mode in MODES {
            for size in SIZES {
                let (addr, rx) = hashing_peer(Duration::ZERO);
                let stream = TcpStream::connect(addr).unwrap();
                // Non-blocking sockets exercise the EAGAIN → poll path.
                stream.set_nonblocking(mode != SpliceMode::Uring).unwrap();
                let sent = fs::splice_to_with(&file, 0, size as u64, &stream, mode)
                    .await
                    .unwrap();
                assert_eq!(sent, size as u64, "{mode:?} size {size}");
                drop(stream);
                let got = peer_report(rx).await;
                assert_eq!(
                    got,
                    hash_of(&data[..size]),
                    "{mode:?} size {size}: bytes differ"
                );
            }
        }
        // An offset, and a length past the end (stops at end of file).
        let (addr, rx) = hashing_peer(Duration::ZERO);
        let stream = TcpStream::connect(addr).unwrap();
        let off = data.len() - 5000;
        let sent = file.splice_to(off as u64, u64::MAX, &stream).await.unwrap();
        assert_eq!(sent, 5000);
        drop(stream);
        assert_eq!(peer_report(rx).await, hash_of(&data[off..]));
        let stats = fs::pipe_pool_stats();
        assert!(stats.created >= 1 && stats.idle >= 1, "{stats:?}");
        assert_eq!(stats.discarded, 0, "{stats:?}");
        assert_eq!(stats.pipe_capacity, fs::PIPE_SIZE, "{stats:?}");
    });
}

#[test]
fn splice_to_file_all_sizes() {
    let dir = TempDir::new("splice_file");
    let data = pattern(64 << 20, 12);
    let path = dir.0.join("src");
    std::fs::write(&path, &data).unwrap();
    rt().block_on(async {
        let file = File::open(&path).await.unwrap();
        for (i, size) in SIZES.into_iter().enumerate() {
            let mode = MODES[i % MODES.len()];
            let out_path = dir.0.join(format!("out{size}"));
            let out = File::create(&out_path).await.unwrap();
            let sent = fs::splice_to_with(&file, 0, size as u64, &out, mode)
                .await
                .unwrap();
            assert_eq!(sent, size as u64);
            out.close().await.unwrap();
            let got = std::fs::read(&out_path).unwrap();
            assert!(got == data[..size], "size {size}: file copy differs");
        }
    });
}

#[test]
fn cancelled_transfer_leaves_no_stale_pipe() {
    let dir = TempDir::new("splice_cancel");
    let data = pattern(64 << 20, 13);
    let path = dir.0.join("src");
    std::fs::write(&path, &data).unwrap();
    rt().block_on(async {
        let file = File::open(&path).await.unwrap();
        // Warm the pool: one pipe, idle and empty.
        let (addr, rx) = hashing_peer(Duration::ZERO);
        let s = TcpStream::connect(addr).unwrap();
        file.splice_to(0, 4096, &s).await.unwrap();
        drop(s);
        peer_report(rx).await;
        let before = fs::pipe_pool_stats();
        assert_eq!(before.idle, 1);

        // A slow reader: the transfer blocks with a full pipe, and is
        // dropped by the timeout.
        let (addr, slow_rx) = hashing_peer(Duration::from_millis(1500));
        let slow = TcpStream::connect(addr).unwrap();
        let res = coring::time::timeout(
            Duration::from_millis(200),
            file.splice_to(0, data.len() as u64, &slow),
        )
        .await;
        assert!(res.is_err(), "the transfer should still be running");
        drop(slow);
        let after = fs::pipe_pool_stats();
        assert_eq!(after.discarded, before.discarded + 1, "{after:?}");
        assert_eq!(
            after.idle, 0,
            "the pipe with data must not be pooled: {after:?}"
        );

        // The next transfers are correct (a new pipe, then a pooled one).
        for size in [(1 << 20) + 7, 3 << 20] {
            let (addr, rx) = hashing_peer(Duration::ZERO);
            let s = TcpStream::connect(addr).unwrap();
            assert_eq!(
                file.splice_to(0, size as u64, &s).await.unwrap(),
                size as u64
            );
            drop(s);
            assert_eq!(peer_report(rx).await, hash_of(&data[..size]));
        }
        assert_eq!(fs::pipe_pool_stats().idle, 1);
        // The slow reader got a prefix of the file and then EOF (no hang).
        let (_, n) = peer_report(slow_rx).await;
        assert!(n > 0 && n < data.len() as u64, "slow reader got {n}");
    });
}

#[test]
fn peer_closing_mid_transfer_is_an_error() {
    let dir = TempDir::new("splice_peer_close");
    let path = dir.0.join("src");
    std::fs::write(&path, pattern(64 << 20, 14)).unwrap();
    rt().block_on(async {
        let file = File::open(&path).await.unwrap();
        for mode in MODES {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let peer = thread::spawn(move || {
                let (mut s, _) = listener.accept().unwrap();
                let mut buf = vec![0u8; 64 * 1024];
                s.read_exact(&mut buf).unwrap();
                // Unread data → RST.
            });
            let stream = TcpStream::connect(addr).unwrap();
            stream.set_nonblocking(mode != SpliceMode::Uring).unwrap();
            let res = coring::time::timeout(
                Duration::from_secs(20),
                fs::splice_to_with(&file, 0, 64 << 20, &stream, mode),
            )
            .await
            .expect("no hang");
            let e = res.unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
                "{mode:?}: {e}"
            );
            assert!(e.to_string().contains(path.to_str().unwrap()), "{e}");
            peer.join().unwrap();
        }
    });
}

#[test]
fn source_that_cannot_splice_falls_back_to_read_write() {
    // /proc/self/cmdline has no splice_read (EINVAL) but supports pread.
    let expected = std::fs::read("/proc/self/cmdline").unwrap();
    rt().block_on(async {
        let file = File::open("/proc/self/cmdline").await.unwrap();
        let (mut rx, tx) = std::os::unix::net::UnixStream::pair().unwrap();
        let sent = fs::splice_to(&file, 0, u64::MAX, &tx).await.unwrap();
        assert_eq!(sent, expected.len() as u64);
        drop(tx);
        let mut got = Vec::new();
        rx.read_to_end(&mut got).unwrap();
        assert_eq!(got, expected);
    });
}

#[test]
fn offsets_io_uring_would_read_as_the_file_position_are_rejected() {
    let dir = TempDir::new("splice_bad_offset");
    let path = dir.0.join("src");
    std::fs::write(&path, b"0123456789").unwrap();
    rt().block_on(async {
        // A source that splices, and one that takes the read/write fallback
        // (whose reads would pass the offset to io_uring as is).
        for src in [path.clone(), "/proc/self/cmdline".into()] {
            let file = File::open(&src).await.unwrap();
            let (_rx, tx) = std::os::unix::net::UnixStream::pair().unwrap();
            let name = src.to_str().unwrap();
            for off in [u64::MAX, i64::MAX as u64 + 1] {
                for len in [5, u64::MAX] {
                    let e = fs::splice_to(&file, off, len, &tx).await.unwrap_err();
                    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{name} {off}: {e}");
                    assert!(e.to_string().contains(&format!("offset {off}")), "{e}");
                    assert!(e.to_string().contains(name), "{e}");
                }
            }
            // offset + len past u64::MAX.
            let e = fs::splice_to(&file, 2, u64::MAX - 1, &tx)
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{name}: {e}");
            assert!(e.to_string().contains("offset 2"), "{e}");
            assert!(e.to_string().contains("overflows"), "{e}");
            assert!(e.to_string().contains(name), "{e}");
            // A length of u64::MAX still means "to the end of the file", at
            // any offset.
            let len = std::fs::read(&src).unwrap().len() as u64;
            let sent = fs::splice_to(&file, 3, u64::MAX, &tx).await.unwrap();
            assert_eq!(sent, len - 3, "{name}");
        }
    });
}

#[test]
fn destinations_that_cannot_take_a_splice() {
    let dir = TempDir::new("splice_bad_dest");
    let path = dir.0.join("src");
    std::fs::write(&path, b"some bytes").unwrap();
    rt().block_on(async {
        let file = File::open(&path).await.unwrap();
        // O_APPEND destination: EINVAL from the kernel, explained.
        let out = OpenOptions::new()
            .append(true)
            .create(true)
            .open(dir.0.join("out"))
            .await
            .unwrap();
        let e = fs::splice_to(&file, 0, 10, &out).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains("O_APPEND"), "{e}");
        assert!(e.to_string().contains(path.to_str().unwrap()), "{e}");
        // A closed destination fd.
        struct Closed;
        impl std::os::fd::AsRawFd for Closed {
            fn as_raw_fd(&self) -> i32 {
                901
            }
        }
        let e = fs::splice_to(&file, 0, 10, &Closed).await.unwrap_err();
        assert!(e.to_string().contains("fd 901"), "{e}");
        // A write-only source: EBADF names the source.
        let wo = OpenOptions::new().write(true).open(&path).await.unwrap();
        let (_rx, tx) = std::os::unix::net::UnixStream::pair().unwrap();
        let e = fs::splice_to(&wo, 0, 10, &tx).await.unwrap_err();
        assert_eq!(e.raw_os_error(), None);
        assert!(e.to_string().contains(path.to_str().unwrap()), "{e}");
        // Zero length is a no-op.
        assert_eq!(fs::splice_to(&file, 0, 0, &tx).await.unwrap(), 0);
    });
}
