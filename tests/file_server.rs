//! The `file_server` example, run as a real process: GET, HEAD, 404, 403,
//! keep-alive with pipelined requests, a large body sent by splice, and
//! SIGTERM ending it with exit status 0 (tests/drain.rs covers the drain
//! in detail). Its HTTP semantics (ranges, conditional requests, dates)
//! are tests/file_server_http.rs's.

mod common;
mod file_server_support;

use file_server_support::{get, read_response, Server};
use std::{
    io::{BufReader, Read, Write},
    time::{Duration, Instant},
};

#[test]
fn serves_get_head_404_403_and_big_files() {
    let s = Server::start("basic");
    let (code, headers, body) = get(&s, "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(code, 200);
    assert_eq!(body, b"hello coring\n");
    assert!(headers
        .iter()
        .any(|(k, v)| k == "content-length" && v == "13"));

    let (code, headers, body) = get(&s, "HEAD /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(code, 200);
    assert!(body.is_empty());
    assert!(headers
        .iter()
        .any(|(k, v)| k == "content-length" && v == "13"));

    assert_eq!(get(&s, "GET /missing HTTP/1.1\r\n\r\n").0, 404);
    assert_eq!(get(&s, "GET /../../etc/passwd HTTP/1.1\r\n\r\n").0, 403);
    assert_eq!(
        get(&s, "POST /hello.txt HTTP/1.1\r\nContent-Length: 0\r\n\r\n").0,
        405
    );
    assert_eq!(get(&s, "GET /sub/ HTTP/1.1\r\n\r\n").2, b"<h1>index</h1>");
    assert_eq!(get(&s, "garbage\r\n\r\n").0, 400);

    let (code, _, body) = get(&s, "GET /big.bin HTTP/1.1\r\n\r\n");
    assert_eq!(code, 200);
    let want = std::fs::read(s.root.join("big.bin")).unwrap();
    assert_eq!(body.len(), want.len());
    assert!(body == want, "big body differs");
}

#[test]
fn refuses_bodies_dotfiles_and_symlinks_out_of_the_root() {
    let s = Server::start("hardening");
    // A body is refused and the connection closed, so a request hidden in
    // it is never served.
    let mut c = s.connect();
    let smuggled = "GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n";
    let req = format!(
        "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n{smuggled}",
        smuggled.len()
    );
    c.write_all(req.as_bytes()).unwrap();
    let mut r = BufReader::new(c);
    assert_eq!(read_response(&mut r, false).0, 400);
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    assert!(
        rest.is_empty(),
        "served a request hidden in a body: {rest:?}"
    );
    assert_eq!(
        get(
            &s,
            "GET /hello.txt HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        .0,
        400
    );

    std::fs::create_dir_all(s.root.join(".git")).unwrap();
    std::fs::write(s.root.join(".git/config"), b"secret").unwrap();
    assert_eq!(get(&s, "GET /.git/config HTTP/1.1\r\n\r\n").0, 403);
    assert_eq!(get(&s, "GET /%2egit/config HTTP/1.1\r\n\r\n").0, 403);
    assert_eq!(get(&s, "GET /%+1 HTTP/1.1\r\n\r\n").0, 403);

    std::os::unix::fs::symlink("/etc", s.root.join("etc-link")).unwrap();
    assert_eq!(get(&s, "GET /etc-link/passwd HTTP/1.1\r\n\r\n").0, 403);
    std::os::unix::fs::symlink("hello.txt", s.root.join("inside-link")).unwrap();
    let (code, _, body) = get(&s, "GET /inside-link HTTP/1.1\r\n\r\n");
    assert_eq!((code, body.as_slice()), (200, b"hello coring\n".as_slice()));
}

#[test]
fn keep_alive_serves_pipelined_requests_on_one_connection() {
    let s = Server::start("keepalive");
    let mut c = s.connect();
    // Three requests in one write; the last asks to close.
    c.write_all(
        b"GET /hello.txt HTTP/1.1\r\n\r\nGET /big.bin HTTP/1.1\r\n\r\nGET /hello.txt HTTP/1.1\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut r = BufReader::new(c);
    assert_eq!(read_response(&mut r, false).2, b"hello coring\n");
    assert_eq!(read_response(&mut r, false).2.len(), (1 << 20) + 7);
    let (_, headers, body) = read_response(&mut r, false);
    assert_eq!(body, b"hello coring\n");
    assert!(headers
        .iter()
        .any(|(k, v)| k == "connection" && v == "close"));
    let mut rest = Vec::new();
    assert_eq!(
        r.read_to_end(&mut rest).unwrap(),
        0,
        "server kept a closed connection open"
    );
}

#[test]
fn sigterm_makes_the_server_exit_zero() {
    let mut s = Server::start("sigterm");
    // A connection is open and idle when the signal arrives.
    let _idle = s.connect();
    assert_eq!(get(&s, "GET /hello.txt HTTP/1.1\r\n\r\n").0, 200);
    // SAFETY: kill sends SIGTERM to our own child.
    assert_eq!(unsafe { libc::kill(s.child.id() as i32, libc::SIGTERM) }, 0);
    let start = Instant::now();
    loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status:?}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "server did not stop"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Request heads with bare-LF line ends (which HTTP parsers accept) are
/// answered at once, not after the 30 s head timeout.
#[test]
fn bare_lf_request_heads_are_answered_at_once() {
    let s = Server::start("barelf");
    let mut c = s.connect();
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    c.write_all(b"GET /hello.txt HTTP/1.1\nHost: x\n\nGET /missing HTTP/1.1\n\n")
        .unwrap();
    let mut r = BufReader::new(c);
    let (code, _, body) = read_response(&mut r, false);
    assert_eq!((code, body.as_slice()), (200, b"hello coring\n".as_slice()));
    assert_eq!(read_response(&mut r, false).0, 404);
}

/// A file that exists but cannot be opened because the server ran out of
/// fds is a 503 (try again), never a 404.
#[test]
fn out_of_fds_is_503_not_404() {
    let s = Server::start_with("emfile", &[], Some(48));
    let mut first = BufReader::new(s.connect());
    let req = b"GET /hello.txt HTTP/1.1\r\n\r\n";
    first.get_mut().write_all(req).unwrap();
    assert_eq!(read_response(&mut first, false).0, 200);
    // Use up the server's fds with idle connections (the rest wait in the
    // listen queue), and give it time to accept until it has none left.
    let idle: Vec<_> = (0..64).map(|_| s.connect()).collect();
    std::thread::sleep(Duration::from_millis(300));
    // hello.txt is in the open-file cache now, and needs no new fd; a file
    // not opened before does.
    first.get_mut().write_all(req).unwrap();
    assert_eq!(
        read_response(&mut first, false).0,
        200,
        "served from the cache"
    );
    let uncached = b"GET /sub/index.html HTTP/1.1\r\n\r\n";
    first.get_mut().write_all(uncached).unwrap();
    let (code, _, _) = read_response(&mut first, false);
    assert_eq!(code, 503, "an existing file without fds to open it");
    drop(idle);
}

/// The head timeout still closes idle keep-alive connections (and ones
/// that never send a complete head), while a connection in use is served.
#[test]
fn head_timeout_closes_idle_connections() {
    let s = Server::start_with("headtimeout", &["--head-timeout-ms", "300"], None);
    let mut idle = BufReader::new(s.connect());
    idle.get_mut()
        .write_all(b"GET /hello.txt HTTP/1.1\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut idle, false).0, 200);
    let mut partial = s.connect();
    partial
        .write_all(b"GET /hello.txt HTTP/1.1\r\nHost:")
        .unwrap();
    let start = Instant::now();
    let mut rest = Vec::new();
    assert_eq!(
        idle.read_to_end(&mut rest).unwrap(),
        0,
        "idle connection not closed"
    );
    assert_eq!(
        partial.read_to_end(&mut rest).unwrap(),
        0,
        "slow head not closed"
    );
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "closed after {waited:?}"
    );
}

/// The open-file cache: a file changed in place is served with its new
/// length at once (a hit re-reads the metadata); a file replaced by a
/// rename may be served as the old, whole file until the entry expires,
/// then the new one is; a deleted file is a 404 after expiry.
#[test]
fn open_file_cache_follows_changes() {
    let s = Server::start_with("opencache", &["--open-cache-ms", "300"], None);
    let path = s.root.join("hello.txt");
    let body = |s: &Server| get(s, "GET /hello.txt HTTP/1.1\r\n\r\n");
    assert_eq!(body(&s).2, b"hello coring\n");
    // In place: a longer file, the same inode.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"more\n")
        .unwrap();
    assert_eq!(
        body(&s).2,
        b"hello coring\nmore\n",
        "in-place change seen at once"
    );
    // Replaced by a rename: old or new at first, never a mix; new later.
    std::fs::write(s.root.join("new.tmp"), b"replaced\n").unwrap();
    std::fs::rename(s.root.join("new.tmp"), &path).unwrap();
    let (code, _, first) = body(&s);
    assert_eq!(code, 200);
    assert!(
        first == b"hello coring\nmore\n" || first == b"replaced\n",
        "{first:?}"
    );
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        body(&s).2,
        b"replaced\n",
        "new file after the entry expired"
    );
    std::fs::remove_file(&path).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(body(&s).0, 404, "deleted file after the entry expired");
}

/// The open-file cache keeps to a quarter of the fd limit: with
/// `RLIMIT_NOFILE` at 128, serving 200 different files on one connection
/// leaves fds to open the next file and to accept the next connection
/// (a cache of up to 1024 files would have taken them all: 503s).
#[test]
fn open_file_cache_leaves_fds_for_connections() {
    let s = Server::start_with("cachefds", &["--open-cache-ms", "60000"], Some(128));
    for i in 0..200 {
        std::fs::write(s.root.join(format!("f{i}.txt")), format!("file {i}")).unwrap();
    }
    let mut c = BufReader::new(s.connect());
    for i in 0..200 {
        let req = format!("GET /f{i}.txt HTTP/1.1\r\n\r\n");
        c.get_mut().write_all(req.as_bytes()).unwrap();
        let (code, _, body) = read_response(&mut c, false);
        assert_eq!(code, 200, "file {i}");
        assert_eq!(body, format!("file {i}").as_bytes());
    }
    let (code, _, body) = get(&s, "GET /hello.txt HTTP/1.1\r\n\r\n");
    assert_eq!((code, body.as_slice()), (200, b"hello coring\n".as_slice()));
}
