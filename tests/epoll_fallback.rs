//! Where io_uring is blocked, coring runs on its epoll driver. A child
//! process installs a seccomp filter that makes `io_uring_setup`,
//! `io_uring_enter` and `io_uring_register` fail with `EPERM` (as Docker's
//! and containerd's default profiles do), then builds runtimes: forcing
//! io_uring is the clear set-up error; the default falls back to epoll,
//! says so (a `tracing` warning and `RingInfo::driver_reason`), and serves
//! TCP echo, file downloads (copy, splice and sendfile paths) and file writes byte
//! for byte. Also: `CORING_DRIVER` forces a driver and rejects nonsense.

mod common;

use common::{pattern, TempDir};
use coring::buf::IoBuf;
use coring::fs::{self, File, OpenOptions, SendFileMode};
use coring::io::{OwnedRead, OwnedWrite};
use coring::net::TcpListener;
use coring::runtime::{ring::UringBlocked, Builder};
use coring::DriverKind;
use std::{
    io::{Read, Write},
    os::unix::process::CommandExt,
    process::Command,
    sync::{Arc, Mutex},
    thread,
    time::Duration,
};

const CHILD_ENV: &str = "CORING_EPOLL_FALLBACK_CHILD";

/// `SECCOMP_RET_ALLOW`, `SECCOMP_RET_ERRNO`.
const RET_ALLOW: u32 = 0x7fff_0000;
const RET_ERRNO: u32 = 0x0005_0000;

/// A classic-BPF seccomp program: the three io_uring syscalls (425-427 on
/// every architecture) fail with `EPERM`; everything else is allowed.
fn filter() -> [libc::sock_filter; 6] {
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jeq = |k: u32, jt: u8| libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf: 0,
        k,
    };
    [
        // A = seccomp_data.nr
        stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0),
        jeq(libc::SYS_io_uring_setup as u32, 3),
        jeq(libc::SYS_io_uring_enter as u32, 2),
        jeq(libc::SYS_io_uring_register as u32, 1),
        stmt(libc::BPF_RET | libc::BPF_K, RET_ALLOW),
        stmt(libc::BPF_RET | libc::BPF_K, RET_ERRNO | libc::EPERM as u32),
    ]
}

/// Runs this binary's child entry under the io_uring-blocking filter.
fn run_blocked_child() -> (String, i32) {
    let prog = filter();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "blocked_child_entry",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, "1")
    // The default choice is what is under test, whatever the CI pass sets.
    .env_remove("CORING_DRIVER");
    // SAFETY: the closure makes two async-signal-safe syscalls (prctl,
    // seccomp) on a filter built before the fork.
    unsafe {
        cmd.pre_exec(move || {
            let fprog = libc::sock_fprog {
                len: prog.len() as u16,
                filter: prog.as_ptr() as *mut libc::sock_filter,
            };
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &fprog as *const libc::sock_fprog,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    };
    let out = cmd.output().expect("spawn child");
    (
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn blocked_io_uring_falls_back_to_epoll_and_serves() {
    let (out, code) = run_blocked_child();
    assert_eq!(code, 0, "child failed:\n{out}");
    assert!(out.contains("CHILD OK"), "child did not finish:\n{out}");
}

#[test]
#[ignore = "entry point of the child process that blocked_io_uring_falls_back_to_epoll_and_serves re-executes"]
fn blocked_child_entry() {
    if std::env::var(CHILD_ENV).is_ok() {
        child_main();
    }
}

/// A `tracing` writer into a shared buffer, to see the fallback warning.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn child_main() {
    // The filter is really there: the raw syscall fails with EPERM.
    let mut params = [0u8; 120];
    // SAFETY: io_uring_setup with a zeroed params struct of the kernel's size.
    let rc = unsafe { libc::syscall(libc::SYS_io_uring_setup, 4, params.as_mut_ptr()) };
    assert_eq!(rc, -1);
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::EPERM)
    );

    // Forcing io_uring is the clear set-up error, as without a fallback.
    let err = Builder::new()
        .driver(DriverKind::Uring)
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("io_uring is not available"),
        "{err}"
    );
    assert_eq!(UringBlocked::of(&err).map(|b| b.errno), Some(libc::EPERM));

    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let rt = tracing::subscriber::with_default(subscriber, || Builder::new().build())
        .expect("the default choice falls back to epoll");
    assert_eq!(rt.driver_kind(), DriverKind::Epoll);
    let info = rt.ring_info();
    assert_eq!(info.driver, DriverKind::Epoll);
    let reason = info.driver_reason.clone().unwrap();
    assert!(reason.contains("Operation not permitted"), "{reason}");
    let logged = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("WARN") && logged.contains("running on the epoll driver"),
        "no fallback warning in: {logged}"
    );

    let dir = TempDir::new("epoll_fallback");
    let data = pattern((3 << 20) + 11, 9);
    std::fs::write(dir.join("big"), &data).unwrap();
    rt.block_on(async {
        // TCP echo of 1 MiB through a coring server.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sent = pattern(1 << 20, 3);
        let expect = sent.clone();
        let client = thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            let mut w = s.try_clone().unwrap();
            let writer = thread::spawn(move || {
                w.write_all(&sent).unwrap();
                w.shutdown(std::net::Shutdown::Write).unwrap();
            });
            let mut got = Vec::new();
            s.read_to_end(&mut got).unwrap();
            writer.join().unwrap();
            got
        });
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 16 << 10];
        loop {
            let (n, b) = conn.read(buf).await;
            let n = n.unwrap();
            if n == 0 {
                break;
            }
            let (r, b) = conn.write_all(b.slice(..n)).await;
            r.unwrap();
            buf = b.into_inner();
        }
        drop(conn);
        let got = coring::spawn_blocking(move || client.join().unwrap())
            .await
            .unwrap();
        assert!(
            got == expect,
            "echo differs ({} of {} bytes)",
            got.len(),
            expect.len()
        );

        // File downloads: the copy path and the splice path.
        let file = File::open(dir.join("big")).await.unwrap();
        for (mode, len) in [
            (SendFileMode::Copy, data.len()),
            (SendFileMode::Splice, 700 << 10),
            (SendFileMode::Auto, 5000),
            // Over 16 KiB on epoll: sendfile(2), several chunks.
            (SendFileMode::Auto, (2 << 20) + 7),
        ] {
            let head = format!("len {len}\n");
            let total = head.len() + len;
            let client = thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                let mut got = vec![0u8; total];
                s.read_exact(&mut got).unwrap();
                got
            });
            let (mut conn, _) = listener.accept().await.unwrap();
            let n = fs::send_file_with(&mut conn, head.as_bytes(), &file, 0, len as u64, mode)
                .await
                .unwrap();
            assert_eq!(n as usize, len, "{mode:?}: body bytes sent");
            let got = coring::spawn_blocking(move || client.join().unwrap())
                .await
                .unwrap();
            assert_eq!(&got[..head.len()], head.as_bytes(), "{mode:?}");
            assert!(got[head.len()..] == data[..len], "{mode:?}: body differs");
        }

        // Files written and read back through the pool.
        let path = dir.join("written");
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .open(&path)
            .await
            .unwrap();
        let (r, _) = f.write_all_at(data[..100_000].to_vec(), 0).await;
        r.unwrap();
        f.sync_all().await.unwrap();
        drop(f);
        assert!(fs::read(&path).await.unwrap() == data[..100_000]);
    });
    let s = rt.stats();
    assert_eq!(s.driver.ops_in_flight, 0, "{s:?}");
    println!("CHILD OK: {reason}");
}

#[test]
fn coring_driver_env_forces_a_driver_and_rejects_nonsense() {
    let exe = std::env::current_exe().unwrap();
    for (value, want) in [
        ("epoll", "driver=Epoll"),
        ("bogus", "CORING_DRIVER=\"bogus\""),
    ] {
        let out = Command::new(&exe)
            .args(["--exact", "env_child_entry", "--ignored", "--nocapture"])
            .env(CHILD_ENV, "env")
            .env("CORING_DRIVER", value)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{value}: {text}");
        assert!(text.contains(want), "{value}: {text}");
    }
}

#[test]
#[ignore = "entry point of the child process that coring_driver_env_forces_a_driver_and_rejects_nonsense re-executes"]
fn env_child_entry() {
    if std::env::var(CHILD_ENV).as_deref() != Ok("env") {
        return;
    }
    match Builder::new().build() {
        Ok(rt) => println!("driver={:?}", rt.driver_kind()),
        Err(e) => {
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
            println!("{e}");
        }
    }
    // A forced choice in code wins over the environment.
    let rt = Builder::new().driver(DriverKind::Epoll).build().unwrap();
    assert_eq!(rt.driver_kind(), DriverKind::Epoll);
}
