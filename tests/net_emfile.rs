//! Out of file descriptors (EMFILE): the multishot accept stream backs off
//! instead of spinning, and accepts the waiting connections once fds free
//! up. Alone in its own test binary because it lowers the process's fd
//! limit.

use coring::net::TcpListener;
use futures::StreamExt;
use std::{cell::RefCell, io, os::fd::OwnedFd, rc::Rc, time::Duration};

fn set_fd_limit(soft: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read/write the struct we pass.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        lim.rlim_cur = soft.min(lim.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
    }
}

fn highest_open_fd() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .max()
        .unwrap()
}

async fn incoming_backs_off_on_emfile_and_recovers() -> io::Result<()> {
    // io_uring reads the fd limit when an accept is prepared, so lower it
    // before the multishot accept is armed; then use up the fds.
    let limit = highest_open_fd() + 64;
    set_fd_limit(limit);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let accepted = Rc::new(RefCell::new(Vec::new()));
    let acc = accepted.clone();
    let server = coring::spawn(async move {
        let mut incoming = listener.incoming();
        while let Some(conn) = incoming.next().await {
            acc.borrow_mut()
                .push(conn.expect("only exhaustion errors happen here"));
        }
    });
    // Client sockets made while fds are plentiful; connected later.
    let clients: Vec<socket2::Socket> = (0..8)
        .map(|_| socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None))
        .collect::<io::Result<_>>()?;
    coring::time::sleep(Duration::from_millis(20)).await;

    // Use up every fd below the limit.
    let mut fillers: Vec<OwnedFd> = Vec::new();
    loop {
        match std::fs::File::open("/dev/null") {
            Ok(f) => fillers.push(f.into()),
            Err(e) if e.raw_os_error() == Some(libc::EMFILE) => break,
            Err(e) => return Err(e),
        }
    }
    let before = coring::runtime::stats().driver.ops_submitted;
    for c in &clients {
        c.connect(&addr.into())?; // completes in the backlog, no fd needed
    }
    coring::time::sleep(Duration::from_millis(500)).await;
    let attempts = coring::runtime::stats().driver.ops_submitted - before;
    assert_eq!(accepted.borrow().len(), 0, "accepted with no fd free?");
    // Back-off (10, 20, 40, 80, 160 ms...) means a handful of re-arms in
    // half a second, not thousands.
    assert!(attempts < 50, "accept spun: {attempts} ops in 500 ms");

    // Free the fds: every waiting connection gets accepted.
    drop(fillers);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while accepted.borrow().len() < clients.len() {
        assert!(
            std::time::Instant::now() < deadline,
            "did not recover after fds were freed"
        );
        coring::time::sleep(Duration::from_millis(10)).await;
    }
    set_fd_limit(65536);
    server.abort();
    Ok(())
}

async fn accept_returns_emfile_naming_the_listener_then_backs_off() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let client = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    let limit = highest_open_fd() + 8;
    set_fd_limit(limit);
    let mut fillers: Vec<OwnedFd> = Vec::new();
    while let Ok(f) = std::fs::File::open("/dev/null") {
        fillers.push(f.into());
    }
    client.connect(&addr.into())?;
    let e = listener.accept().await.unwrap_err();
    assert_eq!(
        e.raw_os_error().or_else(|| e
            .get_ref()
            .and_then(|i| i.source())
            .and_then(|s| s.downcast_ref::<io::Error>())
            .and_then(|s| s.raw_os_error())),
        Some(libc::EMFILE)
    );
    assert!(e.to_string().contains(&addr.to_string()), "{e}");
    drop(fillers);
    // The next accept waits out the back-off, then succeeds.
    let started = std::time::Instant::now();
    let (_conn, _) = listener.accept().await?;
    assert!(started.elapsed() >= Duration::from_millis(5));
    set_fd_limit(65536);
    Ok(())
}

/// One test, so the two phases never lower the limit at the same time.
#[coring::test]
async fn emfile_backs_off_and_recovers() -> io::Result<()> {
    incoming_backs_off_on_emfile_and_recovers().await?;
    accept_returns_emfile_naming_the_listener_then_backs_off().await
}
