//! Graceful shutdown (drain) against real processes, sockets and signals:
//! the `file_server` example run as a child, SIGTERM sent to it while
//! downloads are in flight. In-flight downloads finish intact and the
//! process exits 0; a client that stopped reading is cut at the grace
//! deadline; a second SIGTERM stops at once; new connections are refused
//! as soon as the drain starts. An in-process server (this test binary
//! re-run as a child) shows a request in a slow handler completing.

mod common;

use std::{
    io::{self, BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::PathBuf,
    process::{Child, Command, ExitStatus, Stdio},
    sync::{mpsc, Arc, Mutex},
    time::{Duration, Instant},
};

/// Size of the big file: large enough that a client reading nothing more
/// keeps the server's splice blocked.
const BIG: usize = 64 << 20;
/// The big file repeats a pseudo-random block of this (odd) length, so a
/// lost, repeated or reordered chunk shows as a mismatch.
const PERIOD: usize = (1 << 20) + 7;

fn example_binary(name: &str) -> PathBuf {
    // tests run from target/<profile>/deps; cargo builds examples next door.
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    profile_dir.join("examples").join(name)
}

fn block() -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..PERIOD)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn sigterm(child: &Child) {
    // SAFETY: kill sends a signal to our own child; no memory involved.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
}

/// Waits up to `limit` for the child to exit.
fn wait_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The `file_server` example serving a directory with `big.bin`.
struct Server {
    child: Child,
    port: u16,
    root: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(name: &str, extra: &[&str]) -> Server {
        let root = std::env::temp_dir().join(format!("coring-drain-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        let block = block();
        let mut f = std::fs::File::create(root.join("big.bin")).unwrap();
        let mut left = BIG;
        while left > 0 {
            let n = left.min(PERIOD);
            f.write_all(&block[..n]).unwrap();
            left -= n;
        }
        drop(f);
        let bin = example_binary("file_server");
        assert!(
            bin.exists(),
            "{} missing: cargo test builds examples",
            bin.display()
        );
        let cores = if std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2 {
            "2"
        } else {
            "1"
        };
        let mut child = Command::new(bin)
            .args(["0", "--cores", cores, "--dir"])
            .arg(&root)
            .args(extra)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (stderr, l) = (child.stderr.take().unwrap(), log.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                l.lock().unwrap().push(line);
            }
        });
        let port = common::listening_port(&mut child);
        Server {
            child,
            port,
            root,
            log,
        }
    }

    fn connect(&self) -> io::Result<TcpStream> {
        let s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(s)
    }

    /// Starts `GET /big.bin` and reads the head and the first `first`
    /// bytes of the body.
    fn start_download(&self, first: usize) -> Download {
        let mut c = BufReader::new(self.connect().unwrap());
        c.get_mut()
            .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut len = None;
        loop {
            let mut l = String::new();
            c.read_line(&mut l).unwrap();
            let l = l.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().ok();
            }
        }
        assert_eq!(len, Some(BIG), "content-length");
        let mut d = Download {
            conn: c,
            got: 0,
            block: Arc::new(block()),
        };
        d.read_up_to(first).unwrap();
        d
    }

    /// Waits until a connection attempt is refused (the drain closed every
    /// listener), at most `limit`.
    fn wait_refused(&self, limit: Duration) -> Duration {
        let start = Instant::now();
        loop {
            match self.connect() {
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => return start.elapsed(),
                // Caught in the listener's backlog as it closed: not
                // accepted either; the next attempt is refused.
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
                Err(e) => panic!("connect: {e}"),
                Ok(c) => drop(c),
            }
            assert!(
                start.elapsed() < limit,
                "connections still accepted {limit:?} after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn log_has(&self, text: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(text))
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// One download of `big.bin`, checked byte for byte as it is read.
struct Download {
    conn: BufReader<TcpStream>,
    got: usize,
    block: Arc<Vec<u8>>,
}

impl Download {
    /// Reads until `want` body bytes have arrived (or the connection ends).
    fn read_up_to(&mut self, want: usize) -> io::Result<()> {
        let mut buf = vec![0u8; 256 << 10];
        while self.got < want {
            let n = self
                .conn
                .read(&mut buf[..(want - self.got).min(256 << 10)])?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("connection closed after {} of {BIG} bytes", self.got),
                ));
            }
            let mut off = 0;
            while off < n {
                let at = (self.got + off) % PERIOD;
                let k = (n - off).min(PERIOD - at);
                assert!(
                    buf[off..off + k] == self.block[at..at + k],
                    "body differs near byte {}",
                    self.got + off
                );
                off += k;
            }
            self.got += n;
        }
        Ok(())
    }
}

/// (a) SIGTERM during ten 64 MiB downloads: every one finishes intact,
/// then the process exits 0.
#[test]
fn sigterm_lets_in_flight_downloads_finish_then_exits_zero() {
    let mut s = Server::start("downloads", &[]);
    let (ready_tx, ready_rx) = mpsc::channel();
    let mut go = Vec::new();
    let mut clients = Vec::new();
    for _ in 0..10 {
        let mut d = s.start_download(1 << 20);
        let (go_tx, go_rx) = mpsc::channel::<()>();
        go.push(go_tx);
        let ready = ready_tx.clone();
        clients.push(std::thread::spawn(move || {
            ready.send(()).unwrap();
            // Stalled (the server's splice is blocked) until the test says go.
            go_rx.recv().unwrap();
            d.read_up_to(BIG).map(|()| d.got)
        }));
    }
    for _ in 0..10 {
        ready_rx.recv().unwrap();
    }
    sigterm(&s.child);
    let signalled = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        s.child.try_wait().unwrap().is_none(),
        "the server exited with 10 downloads in flight; log: {:?}",
        s.log()
    );
    for g in go {
        g.send(()).unwrap();
    }
    for (i, c) in clients.into_iter().enumerate() {
        match c.join().unwrap() {
            Ok(n) => assert_eq!(n, BIG, "download {i}"),
            Err(e) => panic!("download {i}: {e}; log: {:?}", s.log()),
        }
    }
    let status = wait_exit(&mut s.child, Duration::from_secs(10))
        .expect("still running 10 s after its downloads finished");
    let took = signalled.elapsed();
    assert_eq!(
        status.code(),
        Some(0),
        "exit {status:?}; log: {:?}",
        s.log()
    );
    assert!(s.log_has("draining"), "no drain logged: {:?}", s.log());
    eprintln!("10 downloads in flight at SIGTERM: all complete, exit 0 after {took:?}");
}

/// (c) A client that stops reading is cut at the deadline (`--grace-ms
/// 1000`), and the process exits soon after it, with status 0.
#[test]
fn a_stalled_download_is_cut_at_the_grace_deadline() {
    const GRACE: Duration = Duration::from_millis(1000);
    let mut s = Server::start("stalled", &["--grace-ms", "1000"]);
    let mut d = s.start_download(1 << 20);
    sigterm(&s.child);
    let signalled = Instant::now();
    let status = wait_exit(&mut s.child, GRACE + Duration::from_secs(5))
        .expect("still running 5 s after the deadline");
    let took = signalled.elapsed();
    assert_eq!(
        status.code(),
        Some(0),
        "exit {status:?}; log: {:?}",
        s.log()
    );
    assert!(
        took >= GRACE - Duration::from_millis(100),
        "exited after {took:?}, before the {GRACE:?} grace was over"
    );
    assert!(
        took < GRACE + Duration::from_millis(1500),
        "exited {took:?} after SIGTERM, grace {GRACE:?}"
    );
    // The client never gets the whole body: the connection was cut.
    let err = d.read_up_to(BIG).unwrap_err();
    assert!(d.got < BIG, "{err}");
    assert!(
        s.log_has("grace period over"),
        "no hard stop logged: {:?}",
        s.log()
    );
    eprintln!(
        "stalled download cut at {} MiB; exit {took:?} after SIGTERM (grace {GRACE:?})",
        d.got >> 20
    );
}

/// (d) A second SIGTERM during the drain stops at once.
#[test]
fn a_second_sigterm_stops_at_once() {
    let mut s = Server::start("second", &[]);
    let _stalled = s.start_download(1 << 20);
    sigterm(&s.child);
    // The drain has begun once the listeners are closed.
    s.wait_refused(Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        s.child.try_wait().unwrap().is_none(),
        "exited on the first SIGTERM with a download in flight"
    );
    sigterm(&s.child);
    let second = Instant::now();
    let status = wait_exit(&mut s.child, Duration::from_secs(5))
        .expect("still running 5 s after the second SIGTERM");
    let took = second.elapsed();
    assert_eq!(
        status.code(),
        Some(0),
        "exit {status:?}; log: {:?}",
        s.log()
    );
    assert!(
        took < Duration::from_millis(1500),
        "the second SIGTERM took {took:?} to stop"
    );
    assert!(
        s.log_has("stopping now"),
        "no hard stop logged: {:?}",
        s.log()
    );
    eprintln!("second SIGTERM: exit after {took:?}");
}

/// (e) Once the drain starts, new connections are refused while the
/// in-flight download goes on (and then completes).
#[test]
fn draining_refuses_new_connections_while_finishing_old_ones() {
    let mut s = Server::start("refuse", &[]);
    let mut d = s.start_download(1 << 20);
    sigterm(&s.child);
    let refused_after = s.wait_refused(Duration::from_secs(2));
    for _ in 0..20 {
        let e = s
            .connect()
            .expect_err("a new connection was accepted while draining");
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
    }
    assert!(
        s.child.try_wait().unwrap().is_none(),
        "the server exited with a download in flight"
    );
    d.read_up_to(BIG).unwrap();
    // The client closes its (keep-alive) connection, as curl does when it
    // is done; file_server's serve() does not close idle keep-alive
    // connections on shutdown yet, so an idle one would hold the drain.
    drop(d);
    let status = wait_exit(&mut s.child, Duration::from_secs(10))
        .expect("still running 10 s after its download finished");
    assert_eq!(
        status.code(),
        Some(0),
        "exit {status:?}; log: {:?}",
        s.log()
    );
    eprintln!("new connections refused {refused_after:?} after SIGTERM");
}

// ---- (b) a request in a slow handler, in-process (this binary as a child) --

const CHILD_ENV: &str = "CORING_DRAIN_CHILD";
/// How long the child's handler works on a request before answering.
const SLOW: Duration = Duration::from_millis(800);
const SLOW_BODY: usize = 256 << 10;

/// The server for `a_request_in_a_slow_handler_completes_after_sigterm`:
/// every core accepts until shutdown begins; each request is answered
/// after `SLOW`.
#[test]
fn slow_handler_server_child() {
    use coring::io::{OwnedRead, OwnedWrite};
    use coring::net::TcpListener;
    use coring::runtime::{is_shutting_down, shutdown_handle, Builder, Cores};
    use futures::future::{select, Either};
    use std::pin::pin;

    if std::env::var(CHILD_ENV).is_err() {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
    let outs = Builder::new()
        .cores(Cores::Count(cores))
        .run(|core| async move {
            let listener = TcpListener::bind_sharded("127.0.0.1:0").await.unwrap();
            if core.index == 0 {
                println!("PORT {}", listener.local_addr().unwrap().port());
            }
            let mut draining = shutdown_handle().wait();
            loop {
                let (mut conn, _) = match select(pin!(listener.accept()), &mut draining).await {
                    Either::Left((conn, _)) => conn.unwrap(),
                    Either::Right(((), _)) => break,
                };
                coring::spawn(async move {
                    let mut head = Vec::new();
                    while !head.ends_with(b"\r\n\r\n") {
                        let (res, buf) = conn.read(vec![0u8; 1024]).await;
                        match res.unwrap() {
                            0 => return,
                            n => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    println!("HANDLING");
                    coring::time::sleep(SLOW).await;
                    let mut response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {SLOW_BODY}\r\nConnection: close\r\n\r\n"
                    )
                    .into_bytes();
                    response.resize(response.len() + SLOW_BODY, b'x');
                    let (res, _) = conn.write_all(response).await;
                    res.unwrap();
                });
            }
            is_shutting_down()
        })
        .expect("run");
    println!("STOPPED {outs:?}");
}

/// (b) SIGTERM while a handler is in the middle of a request: the response
/// still arrives whole, then the process exits 0 with every core's main
/// future having returned (it saw the shutdown).
#[test]
fn a_request_in_a_slow_handler_completes_after_sigterm() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "slow_handler_server_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (line_tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = line_tx.send(line);
        }
    });
    let next_line = |what: &str| -> String {
        loop {
            let l = lines
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("no {what} line from the child"));
            if l.contains(what) {
                return l;
            }
        }
    };
    let port: u16 = next_line("PORT")
        .rsplit(' ')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    conn.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    next_line("HANDLING");
    sigterm(&child);
    let signalled = Instant::now();
    let mut response = Vec::new();
    conn.read_to_end(&mut response).unwrap();
    let head_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {} bytes", response.len()))
        + 4;
    let head = String::from_utf8_lossy(&response[..head_end]);
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert_eq!(response.len() - head_end, SLOW_BODY, "body cut short");
    let status = wait_exit(&mut child, Duration::from_secs(5))
        .expect("still running 5 s after its request was answered");
    assert_eq!(status.code(), Some(0), "exit {status:?}");
    let stopped = next_line("STOPPED");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
    assert_eq!(
        stopped.trim(),
        format!("STOPPED {:?}", vec![Some(true); cores]),
        "every core's main future returns once it saw the shutdown"
    );
    eprintln!(
        "slow response finished {:?} after SIGTERM; child exited 0",
        signalled.elapsed()
    );
}
