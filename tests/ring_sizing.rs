//! Adaptive ring sizing against the real kernel: injected setup failures,
//! a real `RLIMIT_MEMLOCK` without `CAP_IPC_LOCK`, a real memory cgroup, and
//! a tiny ring completing 100,000 ops without losing one.

mod common;

use coring::runtime::{
    fd::SharedFd,
    op::{Nop, Op, Read, Timeout},
    ring::{setup_ring, RingSize, SetupFlags},
    Builder, Runtime,
};
use coring::spawn;
use std::{
    io,
    io::Write as _,
    os::unix::process::CommandExt,
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

const CHILD_ENV: &str = "CORING_SIZING_CHILD";

fn enomem() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOMEM)
}

#[test]
fn injected_enomem_falls_back_and_reports_steps() {
    // Set-up's fallback from the size asked for: adaptive sizing would
    // start at (256, 1024), below the injected failures.
    let rt = Builder::new()
        .entries(4096)
        .cq_entries(65536)
        .adaptive(false)
        .setup_fn(Arc::new(|size: RingSize, flags| {
            if size.cq > 2048 {
                Err(enomem())
            } else {
                setup_ring(size, flags)
            }
        }))
        .build()
        .expect("fallback should find a size");
    let info = rt.ring_info();
    assert_eq!(
        info.wanted,
        RingSize {
            sq: 4096,
            cq: 65536
        }
    );
    assert!(info.size.cq <= 2048, "{info:?}");
    assert!(info.fell_back());
    let failed: Vec<_> = info
        .attempts
        .iter()
        .filter(|a| a.errno == Some(libc::ENOMEM))
        .collect();
    assert!(failed.len() >= 5, "{:?}", info.attempts);
    assert_eq!(info.attempts.last().unwrap().errno, None);
    // Each step is smaller than the one before.
    for w in info.attempts.windows(2) {
        assert!(w[1].size.memlock_bytes(false) < w[0].size.memlock_bytes(false));
    }
    // And the ring works.
    rt.block_on(async { Op::new(Nop).await }).unwrap();
}

#[test]
fn injected_einval_drops_newest_flags_first() {
    let rt = Builder::new()
        .setup_fn(Arc::new(|size, flags: SetupFlags| {
            // Pretend to be a 5.19 kernel: nothing newer than TASKRUN_FLAG.
            if flags.contains(SetupFlags::NO_SQARRAY)
                || flags.contains(SetupFlags::DEFER_TASKRUN)
                || flags.contains(SetupFlags::SINGLE_ISSUER)
            {
                Err(io::Error::from_raw_os_error(libc::EINVAL))
            } else {
                setup_ring(size, flags)
            }
        }))
        .build()
        .unwrap();
    let info = rt.ring_info();
    assert_eq!(
        info.flags,
        SetupFlags::SUBMIT_ALL
            .union(SetupFlags::COOP_TASKRUN)
            .union(SetupFlags::TASKRUN_FLAG)
    );
    assert_eq!(info.attempts.len(), 4, "{:?}", info.attempts);
    // The runtime works with the older flag set.
    rt.block_on(async {
        spawn(async { Op::new(Nop).await }).await.unwrap().unwrap();
        coring::time::sleep(Duration::from_millis(2)).await;
    });
}

#[test]
fn floor_failure_is_a_clear_error() {
    let err = Builder::new()
        .setup_fn(Arc::new(|_, _| Err(enomem())))
        .build()
        .expect_err("every size fails");
    assert_eq!(err.kind(), io::ErrorKind::OutOfMemory);
    let msg = err.to_string();
    assert!(msg.contains("ulimit -l"), "{msg}");
    assert!(msg.contains("(SQ 64, CQ 128"), "floor not listed: {msg}");
    assert!(msg.contains("ENOMEM"), "{msg}");
}

#[test]
fn unavailable_io_uring_says_how_to_fix() {
    for errno in [libc::EPERM, libc::ENOSYS, libc::EOPNOTSUPP, libc::EACCES] {
        let blocked = move || -> coring::runtime::ring::SetupFn {
            Arc::new(move |_, _| Err(io::Error::from_raw_os_error(errno)))
        };
        // Forced onto io_uring: the error says why and how to fix it.
        let err = Builder::new()
            .setup_fn(blocked())
            .driver(coring::DriverKind::Uring)
            .build()
            .err()
            .unwrap();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        let msg = err.to_string();
        assert!(msg.contains("io_uring is not available"), "{msg}");
        assert!(msg.contains("io_uring_disabled"), "{msg}");
        // By default: the epoll driver, with that reason.
        let rt = Builder::new().setup_fn(blocked()).build().unwrap();
        assert_eq!(rt.driver_kind(), coring::DriverKind::Epoll, "errno {errno}");
        let why = rt.ring_info().driver_reason.unwrap();
        assert!(why.contains("io_uring is not available"), "{why}");
        assert_eq!(rt.block_on(async { 6 * 7 }), 42);
    }
    // Other set-up errors are not a reason to fall back.
    let err = Builder::new()
        .setup_fn(Arc::new(|_, _| {
            Err(io::Error::from_raw_os_error(libc::EFAULT))
        }))
        .build()
        .err()
        .unwrap();
    assert!(err.to_string().contains("io_uring_setup failed"), "{err}");
}

#[test]
fn sizes_are_normalized_and_granted() {
    let rt = Builder::new().entries(100).cq_entries(300).build().unwrap();
    let info = rt.ring_info();
    assert_eq!(info.size, RingSize { sq: 128, cq: 512 });
    assert!(info.features.contains(&"NODROP"));
    assert!(!info.fell_back());
}

/// A tiny ring (8 SQ, 16 CQ) completes 100,000 concurrent ops — NOPs,
/// kernel timeouts and pipe reads — each delivered exactly once.
#[test]
fn tiny_ring_completes_100k_mixed_ops_exactly_once() {
    let rt = Builder::new()
        .entries(8)
        .cq_entries(16)
        .floor(8, 16)
        .build()
        .unwrap();
    assert_eq!(rt.ring_info().size, RingSize { sq: 8, cq: 16 });
    const PIPES: usize = 200;
    const READS_PER_PIPE: usize = 100;
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for _ in 0..PIPES {
        let (r, w) = common::pipe();
        readers.push(SharedFd::new(r));
        writers.push(std::fs::File::from(w));
    }
    let (nops, timeouts, bytes) = rt.block_on(async {
        let mut nop_tasks = Vec::new();
        let mut timeout_tasks = Vec::new();
        let mut read_tasks = Vec::new();
        for i in 0..40_000usize {
            nop_tasks.push(spawn(async { Op::new(Nop).await.map(|()| 1u32) }));
            timeout_tasks.push(spawn(async move {
                Op::new(Timeout::new(Duration::from_micros(
                    100 + (i as u64 % 7) * 50,
                )))
                .await
                .map(|()| 1u32)
            }));
            if i < PIPES * READS_PER_PIPE {
                let fd = readers[i % PIPES].clone();
                read_tasks.push(spawn(async move {
                    let (res, buf) = Op::new(Read::new(&fd, Vec::with_capacity(1), u64::MAX)).await;
                    assert_eq!(res.unwrap(), 1);
                    (i % PIPES, buf[0])
                }));
            }
        }
        let writer = std::thread::spawn(move || {
            for round in 0..READS_PER_PIPE {
                for w in writers.iter_mut() {
                    w.write_all(&[round as u8]).unwrap();
                }
            }
        });
        let mut nops = 0;
        for t in nop_tasks {
            nops += t.await.unwrap().unwrap();
        }
        let mut timeouts = 0;
        for t in timeout_tasks {
            timeouts += t.await.unwrap().unwrap();
        }
        let mut bytes = vec![Vec::new(); PIPES];
        for t in read_tasks {
            let (pipe, b) = t.await.unwrap();
            bytes[pipe].push(b);
        }
        writer.join().unwrap();
        (nops, timeouts, bytes)
    });
    assert_eq!(nops, 40_000);
    assert_eq!(timeouts, 40_000);
    for mut b in bytes {
        b.sort();
        assert_eq!(b, (0..READS_PER_PIPE as u8).collect::<Vec<_>>());
    }
    let s = rt.stats().driver;
    assert_eq!(s.ops_in_flight, 0);
    assert!(
        s.budget_reaps > 0 && s.sq_full > 0,
        "neither the SQ nor the per-reap CQ budget was ever full: {s:?}"
    );
    assert_eq!(s.lost_completions, 0);
}

// ---- real limits, in a child process -------------------------------------

/// Child side: start `n` runtimes of (4096, 65536) on `n` threads, each
/// sharing the memlock budget, do real I/O on each, print what they got.
fn child_main(n: u32) {
    let handles: Vec<_> = (0..n)
        .map(|i| {
            std::thread::spawn(move || {
                // The set-up split of the budget, from the size asked
                // for (adaptive rings start small and would all fit;
                // tests/ring_resize.rs covers growing inside the limit).
                let rt = Builder::new()
                    .entries(4096)
                    .cq_entries(65536)
                    .adaptive(false)
                    .memlock_share(n)
                    .build();
                match rt {
                    Ok(rt) => {
                        let info = rt.ring_info();
                        let (r, w) = common::pipe();
                        let fd = SharedFd::new(r);
                        let mut w = std::fs::File::from(w);
                        w.write_all(b"ping").unwrap();
                        let got = rt.block_on(async move {
                            Op::new(Nop).await.unwrap();
                            let (res, buf) =
                                Op::new(Read::new(&fd, Vec::with_capacity(8), u64::MAX)).await;
                            res.map(|_| buf)
                        });
                        let io = if got.as_deref().ok() == Some(&b"ping"[..]) {
                            "io-ok"
                        } else {
                            "io-failed"
                        };
                        // Keep the ring alive until every thread has one.
                        std::thread::sleep(Duration::from_millis(300));
                        format!(
                            "RING {i} {} {} {} {io}",
                            info.size.sq,
                            info.size.cq,
                            info.attempts.len()
                        )
                    }
                    Err(e) => format!("ERROR {i} {e}"),
                }
            })
        })
        .collect();
    // The harness printed "test ... " without a newline; start clean.
    println!();
    for h in handles {
        println!("{}", h.join().unwrap());
    }
}

#[test]
#[ignore = "entry point of the child process that the real-limit tests re-execute"]
fn sizing_child_entry() {
    // Runs only when re-executed by the tests below.
    if let Ok(n) = std::env::var(CHILD_ENV) {
        child_main(n.parse().unwrap());
    }
}

/// Re-runs this test binary as the child with `pre_exec` applied.
fn run_child(
    rings: u32,
    pre: impl FnMut() -> io::Result<()> + Send + Sync + 'static,
) -> (String, i32) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "sizing_child_entry",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, rings.to_string());
    // SAFETY: the closure only makes async-signal-safe syscalls
    // (setrlimit, prctl, open/write/close).
    unsafe { cmd.pre_exec(pre) };
    let out = cmd.output().expect("spawn child");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    (
        format!("{stdout}\n{stderr}"),
        out.status.code().unwrap_or(-1),
    )
}

fn rings_in(out: &str) -> Vec<(u32, u32, usize, bool)> {
    out.lines()
        .filter_map(|l| l.strip_prefix("RING "))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
                f[4] == "io-ok",
            )
        })
        .collect()
}

#[test]
fn real_memlock_limit_shrinks_four_rings() {
    if !common::is_root() {
        eprintln!("SKIPPED real_memlock_limit_shrinks_four_rings: needs root to drop CAP_IPC_LOCK from the bounding set (CI runs as root)");
        return;
    }
    let (out, code) = run_child(4, common::drop_ipc_lock_and_limit_memlock(2 * 1024 * 1024));
    assert_eq!(code, 0, "child failed:\n{out}");
    let rings = rings_in(&out);
    assert_eq!(rings.len(), 4, "not every ring started:\n{out}");
    for (sq, cq, _attempts, io_ok) in &rings {
        assert!(io_ok, "I/O failed on a fallback ring:\n{out}");
        assert!(
            RingSize { sq: *sq, cq: *cq }.memlock_bytes(false)
                < RingSize {
                    sq: 4096,
                    cq: 65536
                }
                .memlock_bytes(false),
            "ring not shrunk:\n{out}"
        );
    }
    let total: u64 = rings
        .iter()
        .map(|(sq, cq, ..)| RingSize { sq: *sq, cq: *cq }.memlock_bytes(false))
        .sum();
    assert!(
        total <= 2 * 1024 * 1024,
        "rings exceed the memlock limit: {total}\n{out}"
    );
}

#[test]
fn real_memlock_floor_that_cannot_fit_is_a_clear_error() {
    if !common::is_root() {
        eprintln!("SKIPPED real_memlock_floor_that_cannot_fit_is_a_clear_error: needs root to drop CAP_IPC_LOCK (CI runs as root)");
        return;
    }
    let (out, code) = run_child(1, common::drop_ipc_lock_and_limit_memlock(4096));
    assert_eq!(
        code, 0,
        "child crashed instead of reporting an error:\n{out}"
    );
    let line = out
        .lines()
        .find(|l| l.starts_with("ERROR 0"))
        .unwrap_or_else(|| panic!("no error line:\n{out}"));
    assert!(line.contains("RLIMIT_MEMLOCK"), "{line}");
    assert!(line.contains("ulimit -l"), "{line}");
    assert!(line.contains("ENOMEM"), "{line}");
}

/// A memory cgroup (v1 here; v2 where v1 is absent) with an 8 MiB limit.
struct MemCgroup {
    dir: std::path::PathBuf,
    procs: std::path::PathBuf,
}

impl MemCgroup {
    fn create(limit: u64) -> io::Result<MemCgroup> {
        let name = format!("coring-test-{}", std::process::id());
        let v1 = std::path::Path::new("/sys/fs/cgroup/memory");
        let v2 = std::path::Path::new("/sys/fs/cgroup/unified");
        let (dir, limit_file) = if v1.join("memory.limit_in_bytes").exists() {
            (v1.join(name), "memory.limit_in_bytes")
        } else {
            let base = if v2.join("cgroup.controllers").exists() {
                v2
            } else {
                std::path::Path::new("/sys/fs/cgroup")
            };
            (base.join(name), "memory.max")
        };
        std::fs::create_dir(&dir)?;
        let cg = MemCgroup {
            procs: dir.join("cgroup.procs"),
            dir,
        };
        // On error `cg` is dropped, which removes the directory again.
        std::fs::write(cg.dir.join(limit_file), limit.to_string())?;
        Ok(cg)
    }
}

impl Drop for MemCgroup {
    fn drop(&mut self) {
        // The child has exited; the cgroup is empty and can go.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("could not remove cgroup {}", self.dir.display());
    }
}

#[test]
fn real_memory_cgroup_shrinks_the_last_rings() {
    if !common::is_root() {
        eprintln!("SKIPPED real_memory_cgroup_shrinks_the_last_rings: needs root to create a memory cgroup (CI runs as root)");
        return;
    }
    let cg = match MemCgroup::create(8 * 1024 * 1024) {
        Ok(cg) => cg,
        Err(e) => {
            eprintln!("SKIPPED real_memory_cgroup_shrinks_the_last_rings: no writable memory cgroup here: {e}");
            return;
        }
    };
    let procs = std::ffi::CString::new(cg.procs.as_os_str().as_encoded_bytes()).unwrap();
    let start = Instant::now();
    let (out, code) = run_child(4, move || {
        // Move this (forked) process into the cgroup before exec.
        // SAFETY: open/write/close on a path we own, with a stack buffer.
        unsafe {
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let n = libc::write(fd, b"0".as_ptr().cast(), 1);
            libc::close(fd);
            if n != 1 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    });
    drop(cg);
    assert_eq!(code, 0, "child failed:\n{out}");
    let rings = rings_in(&out);
    assert_eq!(rings.len(), 4, "not every ring started:\n{out}");
    assert!(rings.iter().all(|r| r.3), "I/O failed:\n{out}");
    let full = RingSize {
        sq: 4096,
        cq: 65536,
    };
    let shrunk = rings
        .iter()
        .filter(|(sq, cq, ..)| RingSize { sq: *sq, cq: *cq } != full)
        .count();
    assert!(
        shrunk >= 1,
        "an 8 MiB cgroup fits at most 3 full rings, yet none shrank:\n{out}"
    );
    assert!(start.elapsed() < Duration::from_secs(30));
}

#[test]
fn runtime_new_works_with_defaults() {
    let rt = Runtime::new().unwrap();
    let info = rt.ring_info();
    assert_eq!(info.wanted, RingSize { sq: 1024, cq: 4096 });
    assert!(info.flags.contains(SetupFlags::SINGLE_ISSUER), "{info:?}");
    assert!(info.flags.contains(SetupFlags::DEFER_TASKRUN), "{info:?}");
}

/// An 8/16 ring: 16 SQEs fill its per-reap CQ budget.
fn tiny_ring() -> coring::runtime::Runtime {
    Builder::new()
        .entries(8)
        .cq_entries(16)
        .floor(8, 16)
        .build()
        .unwrap()
}

/// Spawns `n` reads on `fd` (a pipe nobody writes) and waits until all
/// of them are in flight.
async fn stuck_reads(fd: &SharedFd, n: u64) -> Vec<coring::JoinHandle<std::io::Result<usize>>> {
    let reads: Vec<_> = (0..n)
        .map(|_| {
            let fd = fd.clone();
            spawn(async move { Op::new(Read::new(&fd, vec![0u8; 8], u64::MAX)).await.0 })
        })
        .collect();
    let t = Instant::now();
    while coring::runtime::stats().driver.ops_in_flight < n {
        assert!(t.elapsed() < Duration::from_secs(2));
        coring::yield_now().await;
    }
    reads
}

/// Many more waiting ops than the CQ holds are all in the kernel, can all
/// be dropped (each cancelled, its slot freed at its CQE), and the ring
/// keeps working.
#[test]
fn dropping_many_waiting_ops_frees_them_and_the_ring_goes_on() {
    let rt = tiny_ring();
    let (r, _w) = common::pipe();
    let fd = SharedFd::new(r);
    rt.block_on(async move {
        let reads = stuck_reads(&fd, 100).await;
        for h in &reads {
            h.abort();
        }
        let t = Instant::now();
        while coring::runtime::stats().driver.ops_in_flight != 0 {
            assert!(
                t.elapsed() < Duration::from_secs(2),
                "{:?}",
                coring::runtime::stats()
            );
            coring::time::sleep(Duration::from_millis(1)).await;
        }
        for _ in 0..100 {
            Op::new(Nop).await.unwrap();
        }
        assert_eq!(coring::runtime::stats().driver.ops_in_flight, 0);
    });
}

/// The fd's identity, to tell "closed" from "closed and the number reused
/// by another test thread".
fn fd_identity(fd: i32) -> Option<(u64, u64)> {
    // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat writes into `st`, which is a valid, owned stat buffer.
    (unsafe { libc::fstat(fd, &mut st) } == 0).then_some((st.st_dev, st.st_ino))
}

/// Closes are never lost or held back while more ops wait than the CQ
/// holds: a dropped fd's close and a dropped `close()` op run at once, and
/// shutdown closes whatever is left.
#[test]
fn closes_are_not_lost_when_the_cq_is_full() {
    use std::os::fd::AsRawFd;
    for shut_down_while_full in [false, true] {
        let rt = tiny_ring();
        let (r, _w) = common::pipe();
        let fd = SharedFd::new(r);
        let watched = rt.block_on(async move {
            let reads = stuck_reads(&fd, 40).await;
            // More ops wait than the CQ holds.
            let (a, b) = common::pipe();
            let watched = [
                (a.as_raw_fd(), fd_identity(a.as_raw_fd())),
                (b.as_raw_fd(), fd_identity(b.as_raw_fd())),
            ];
            drop(SharedFd::new(a));
            let mut close = Box::pin(SharedFd::new(b).close());
            assert!(futures::poll!(close.as_mut()).is_pending());
            drop(close);
            if shut_down_while_full {
                drop(reads); // detached; the runtime's drop cancels them
                return watched;
            }
            let t = Instant::now();
            while watched.iter().any(|&(fd, id)| fd_identity(fd) == id) {
                assert!(
                    t.elapsed() < Duration::from_secs(2),
                    "closes held back behind waiting reads"
                );
                coring::time::sleep(Duration::from_millis(1)).await;
            }
            for h in &reads {
                h.abort();
            }
            watched
        });
        drop(rt);
        for (fd, id) in watched {
            assert_ne!(
                fd_identity(fd),
                id,
                "fd {fd} left open (shut down while full: {shut_down_while_full})"
            );
        }
    }
}
