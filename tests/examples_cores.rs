//! The `echo` example with `--cores 2`, run as a real process: both cores
//! share one port (sharded `SO_REUSEPORT` listeners, port 0), 10
//! connections × 10 round trips come back byte for byte, and SIGTERM ends
//! it with exit status 0.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

fn example_binary(name: &str) -> PathBuf {
    // tests run from target/<profile>/deps; cargo builds examples next door.
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    profile_dir.join("examples").join(name)
}

/// Kills the server if the test fails before it is stopped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn echo_two_cores_round_trips_and_stops_on_sigterm() {
    let bin = example_binary("echo");
    assert!(
        bin.exists(),
        "{} missing: cargo test builds examples",
        bin.display()
    );
    let mut server = Guard(
        Command::new(&bin)
            .args(["0", "--cores", "2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("listening on"), "unexpected line {line:?}");
    let port: u16 = line
        .trim_end()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    assert_ne!(port, 0);

    // 10 connections, 10 round trips each, every message distinct.
    let mut conns: Vec<TcpStream> = (0..10)
        .map(|_| {
            let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            s.set_nodelay(true).unwrap();
            s
        })
        .collect();
    let mut round_trips = 0;
    for round in 0..10 {
        for (i, c) in conns.iter_mut().enumerate() {
            let msg: Vec<u8> = (0..64 + 37 * i + round)
                .map(|k| (k * 7 + i * 13 + round) as u8)
                .collect();
            c.write_all(&msg).unwrap();
            let mut back = vec![0u8; msg.len()];
            c.read_exact(&mut back).unwrap();
            assert_eq!(back, msg, "connection {i}, round {round}");
            round_trips += 1;
        }
    }
    assert_eq!(round_trips, 100);
    drop(conns);

    // SIGTERM stops both cores; the process exits 0.
    let pid = server.0.id() as libc::pid_t;
    // SAFETY: kill sends a signal to our own child; no memory involved.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "echo --cores 2 still running 5 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "exit status {status:?}");
}
