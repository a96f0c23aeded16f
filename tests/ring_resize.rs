//! Adaptive ring sizing against the real kernel (Linux 6.13+ resizes live
//! rings): a burst grows a small ring step by step and the quiet shrinks
//! it back, returning its memlock; two cores under a real 2 MiB
//! `RLIMIT_MEMLOCK` share one budget; forced resizes during checksummed
//! echo traffic, pending cancels and a full SQ lose nothing; registered
//! things survive; a kernel that refuses (`EINVAL`) leaves the ring working
//! at its start size.
//!
//! The tests in this file run one at a time (`SERIAL`): they read the
//! process's memlock ledger, which every ring of the process shares.

mod common;

use coring::io::{OwnedRead, OwnedWrite};
use coring::runtime::{
    fd::SharedFd,
    op::{Nop, Op, Read, Timeout},
    resize_ring,
    ring::{memlock, ResizeCall, ResizeReason, Resizing, RingSize},
    Builder, Cores, Runtime,
};
use coring::spawn;
use std::{
    io,
    os::unix::process::CommandExt,
    process::Command,
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex, MutexGuard,
    },
    time::{Duration, Instant},
};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const HOME: RingSize = RingSize { sq: 64, cq: 128 };
const MAX: RingSize = RingSize { sq: 1024, cq: 4096 };

fn sizes(v: &[(u32, u32)]) -> Vec<RingSize> {
    v.iter().map(|&(sq, cq)| RingSize { sq, cq }).collect()
}

/// A ring that starts at (64, 128) and may grow to (1024, 4096).
fn small_adaptive(quiet: Duration) -> Runtime {
    let rt = Builder::new()
        .entries(MAX.sq)
        .cq_entries(MAX.cq)
        .start_size(HOME.sq, HOME.cq)
        .floor(HOME.sq, HOME.cq)
        .resize_quiet(quiet)
        .build()
        .unwrap();
    let info = rt.ring_info();
    assert_eq!(info.size, HOME, "{info:?}");
    assert_eq!(info.max, MAX, "{info:?}");
    assert_eq!(info.resizing, Resizing::On, "{info:?}");
    rt
}

/// `n` concurrent ops, half NOPs and half kernel timeouts of 20–60 ms;
/// returns how many times each op's task saw its completion.
async fn burst(n: usize) -> Vec<u32> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            spawn(async move {
                if i % 2 == 0 {
                    Op::new(Nop).await.unwrap();
                } else {
                    let ms = 20 + (i as u64 % 5) * 10;
                    Op::new(Timeout::new(Duration::from_millis(ms)))
                        .await
                        .unwrap();
                }
                i
            })
        })
        .collect();
    let mut seen = vec![0u32; n];
    for t in tasks {
        seen[t.await.unwrap()] += 1;
    }
    seen
}

/// 100,000 concurrent ops on a (64, 128) ring: it grows step by step to
/// (1024, 4096), every op completes exactly once, and after the quiet
/// period it shrinks back one step at a time; the memlock ledger returns
/// to its start figure.
#[test]
fn burst_grows_the_ring_step_by_step_and_quiet_shrinks_it_back() {
    let _serial = serial();
    let base = memlock::charged();
    let quiet = Duration::from_millis(400);
    let rt = small_adaptive(quiet);
    let start = rt.ring_info();
    assert_eq!(memlock::charged(), base + start.memlock_bytes);
    let peak = Arc::new(AtomicU64::new(0));
    let seen = rt.block_on({
        let peak = peak.clone();
        async move {
            let sampler = spawn(async move {
                loop {
                    peak.fetch_max(memlock::charged(), Ordering::Relaxed);
                    coring::time::sleep(Duration::from_millis(1)).await;
                }
            });
            let seen = burst(100_000).await;
            sampler.abort();
            seen
        }
    });
    assert!(
        seen.iter().all(|&n| n == 1),
        "an op completed other than once"
    );
    let grown = rt.ring_info();
    let s = rt.stats().driver;
    assert_eq!(s.lost_completions, 0);
    assert_eq!(
        grown.size, MAX,
        "the burst did not grow the ring to its max: {grown:#?}"
    );
    let ladder = sizes(&[
        (64, 128),
        (64, 256),
        (128, 512),
        (256, 1024),
        (512, 2048),
        (1024, 4096),
    ]);
    let grows: Vec<_> = grown.resizes.iter().map(|r| (r.from, r.to)).collect();
    let want: Vec<_> = ladder.windows(2).map(|w| (w[0], w[1])).collect();
    assert_eq!(grows, want, "grow steps: {:#?}", grown.resizes);
    assert!(grown
        .resizes
        .iter()
        .all(|r| r.reason != ResizeReason::Idle && r.reason != ResizeReason::Forced));
    assert_eq!(s.ring_grows, 5);
    let peak = peak.load(Ordering::Relaxed);
    println!(
        "grew {:?} in {:?}; memlock charged: start {} B, peak sampled {} B, at max {} B",
        grown
            .resizes
            .iter()
            .map(|r| (r.to.sq, r.to.cq, r.reason))
            .collect::<Vec<_>>(),
        grown.resizes.last().unwrap().after,
        start.memlock_bytes,
        peak - base,
        grown.memlock_bytes
    );
    assert_eq!(grown.memlock_bytes, MAX.memlock_bytes(true));
    // Idle: back at the start size within twice the quiet period (plus
    // slack for a loaded machine), one step at a time.
    let idle_from = Instant::now();
    rt.block_on(async {
        while coring::runtime::ring_info().size != HOME {
            assert!(
                idle_from.elapsed() < 2 * quiet + Duration::from_secs(3),
                "not shrunk back: {:#?}",
                coring::runtime::ring_info()
            );
            coring::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let idle_took = idle_from.elapsed();
    let back = rt.ring_info();
    let shrinks: Vec<_> = back.resizes[5..].iter().map(|r| (r.from, r.to)).collect();
    let mut down = want.clone();
    down.reverse();
    let down: Vec<_> = down.into_iter().map(|(a, b)| (b, a)).collect();
    assert_eq!(shrinks, down, "shrink steps: {:#?}", back.resizes);
    assert!(back.resizes[5..]
        .iter()
        .all(|r| r.reason == ResizeReason::Idle));
    assert_eq!(rt.stats().driver.ring_shrinks, 5);
    assert_eq!(back.memlock_bytes, start.memlock_bytes);
    assert_eq!(memlock::charged(), base + start.memlock_bytes);
    println!("back at {:?} {idle_took:?} after the burst", back.size);
    // And the ring still works.
    rt.block_on(async { Op::new(Nop).await }).unwrap();
    drop(rt);
    assert_eq!(memlock::charged(), base);
}

/// An adaptive ring from `HOME` toward `MAX` whose resize call is `f`.
fn injected_rt(f: coring::runtime::ring::ResizeFn) -> Builder {
    let mut b = Builder::new();
    b.entries(MAX.sq)
        .cq_entries(MAX.cq)
        .start_size(HOME.sq, HOME.cq)
        .resize_fn(f);
    b
}

/// Counts `ResizeCall`s and fails the first `fail` of them with `errno`.
fn injected(errno: i32, fail: usize) -> (Arc<AtomicUsize>, coring::runtime::ring::ResizeFn) {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let f = Arc::new(move |call: ResizeCall<'_>| {
        if c.fetch_add(1, Ordering::Relaxed) < fail {
            Err(io::Error::from_raw_os_error(errno))
        } else {
            call.kernel()
        }
    });
    (calls, f)
}

/// A kernel that refuses resizing (`EINVAL`, as before 6.13): the ring
/// keeps its start size, says so once, and runs the whole burst.
#[test]
fn injected_einval_keeps_the_start_size_and_works() {
    let _serial = serial();
    let (calls, f) = injected(libc::EINVAL, usize::MAX);
    let rt = injected_rt(f).build().unwrap();
    let seen = rt.block_on(burst(20_000));
    assert!(seen.iter().all(|&n| n == 1));
    let info = rt.ring_info();
    assert_eq!(info.size, HOME);
    assert_eq!(
        info.resizing,
        Resizing::Unsupported {
            errno: libc::EINVAL
        }
    );
    assert!(info.resizes.is_empty());
    assert_eq!(
        calls.load(Ordering::Relaxed),
        1,
        "resize tried again after EINVAL"
    );
    let s = rt.stats().driver;
    assert_eq!((s.ring_grows, s.ring_shrinks), (0, 0));
    assert_eq!(s.ops_in_flight, 0);
    // Forced resizes are ignored too.
    rt.block_on(async {
        resize_ring(MAX);
        Op::new(Nop).await.unwrap();
        coring::time::sleep(Duration::from_millis(5)).await;
    });
    assert_eq!(rt.ring_info().size, HOME);
    assert_eq!(calls.load(Ordering::Relaxed), 1);
}

/// A ring set up without `DEFER_TASKRUN` (the flag fallback of a kernel
/// older than 6.1) cannot be resized: it says so and never tries.
#[test]
fn ring_without_defer_taskrun_does_not_try_to_resize() {
    use coring::runtime::ring::{setup_ring, SetupFlags};
    let _serial = serial();
    let (calls, f) = injected(0, 0);
    let rt = injected_rt(f)
        .setup_fn(Arc::new(|size, flags: SetupFlags| {
            if flags.contains(SetupFlags::DEFER_TASKRUN) {
                Err(io::Error::from_raw_os_error(libc::EINVAL))
            } else {
                setup_ring(size, flags)
            }
        }))
        .build()
        .unwrap();
    let info = rt.ring_info();
    assert!(!info.flags.contains(SetupFlags::DEFER_TASKRUN));
    assert_eq!(info.resizing, Resizing::Unsupported { errno: 0 });
    assert_eq!(info.max, HOME);
    let seen = rt.block_on(async {
        resize_ring(MAX);
        burst(20_000).await
    });
    assert!(seen.iter().all(|&n| n == 1));
    assert_eq!(rt.ring_info().size, HOME);
    assert_eq!(calls.load(Ordering::Relaxed), 0);
}

/// `ENOMEM` from the kernel is a skipped step, counted, and tried again.
#[test]
fn injected_enomem_is_a_skipped_grow() {
    let _serial = serial();
    let (calls, f) = injected(libc::ENOMEM, 2);
    let rt = injected_rt(f).build().unwrap();
    let base = memlock::charged();
    let seen = rt.block_on(async {
        let mut seen = burst(20_000).await;
        // Long enough for the retries (250 ms apart).
        for _ in 0..10 {
            if coring::runtime::stats().driver.ring_grows > 0 {
                break;
            }
            seen.extend(burst(20_000).await);
        }
        seen
    });
    assert!(seen.iter().all(|&n| n == 1));
    let s = rt.stats().driver;
    assert_eq!(s.ring_grows_skipped, 2, "{s:?}");
    assert!(s.ring_grows >= 1, "{s:?}");
    assert!(calls.load(Ordering::Relaxed) >= 3);
    assert_eq!(rt.ring_info().resizing, Resizing::On);
    // The failed attempts released what they reserved.
    assert_eq!(
        memlock::charged(),
        base - rt.ring_info().start_memlock_bytes + rt.ring_info().memlock_bytes
    );
}

/// Resizes forced every few milliseconds, between sizes from (64, 128) to
/// (1024, 4096), while 32 connections echo checksummed messages over
/// multishot receives (provided buffer ring), reads on a silent pipe are
/// started and dropped (pending cancels), and bursts of NOPs overflow the
/// 64-entry SQ: every byte comes back, every op completes once, and
/// registrations (buffer ring, eventfd, file table) survive.
#[test]
fn forced_resizes_during_echo_cancels_and_full_sq_lose_nothing() {
    let _serial = serial();
    let rt = small_adaptive(Duration::from_secs(60));
    let resizes = rt.block_on(async {
        use coring::net::{TcpListener, TcpStream};
        use futures::StreamExt;
        // Registered before any resize: an eventfd and a file table.
        let efd = {
            // SAFETY: eventfd has no preconditions; the fd is owned below.
            let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
            assert!(fd >= 0);
            // SAFETY: fresh fd, owned by nobody else.
            unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) }
        };
        use std::os::fd::AsRawFd;
        coring::runtime::with_submitter(|s| s.register_eventfd(efd.as_raw_fd())).unwrap();
        let (pr, pw) = common::pipe();
        coring::runtime::with_submitter(|s| s.register_files(&[pw.as_raw_fd()])).unwrap();

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        spawn(async move {
            let mut incoming = listener.incoming();
            while let Some(Ok(conn)) = incoming.next().await {
                spawn(common::echo(conn, 8192));
            }
        });
        let done = Rc::new(Cell::new(false));
        // Forced resizes through a cycle of sizes.
        let resizer = spawn({
            let done = done.clone();
            async move {
                let cycle = sizes(&[
                    (1024, 4096),
                    (64, 128),
                    (256, 1024),
                    (128, 256),
                    (512, 2048),
                    (64, 256),
                ]);
                let mut i = 0;
                while !done.get() {
                    resize_ring(cycle[i % cycle.len()]);
                    i += 1;
                    coring::time::sleep(Duration::from_millis(2)).await;
                }
            }
        });
        // Reads on a silent pipe, dropped while pending: their cancels are
        // in flight across resizes.
        let canceller = spawn({
            let done = done.clone();
            let fd = SharedFd::new(pr);
            async move {
                let mut dropped = 0u64;
                while !done.get() {
                    for _ in 0..16 {
                        let fd = fd.clone();
                        let read = Op::new(Read::new(&fd, vec![0u8; 8], u64::MAX));
                        let r = coring::time::timeout(Duration::from_micros(300), read).await;
                        assert!(r.is_err(), "nobody writes this pipe");
                        dropped += 1;
                    }
                    coring::yield_now().await;
                }
                dropped
            }
        });
        // NOP bursts of 4× the small SQ.
        let filler = spawn({
            let done = done.clone();
            async move {
                let mut nops = 0u64;
                while !done.get() {
                    let hs: Vec<_> = (0..256)
                        .map(|_| spawn(async { Op::new(Nop).await }))
                        .collect();
                    for h in hs {
                        h.await.unwrap().unwrap();
                        nops += 1;
                    }
                }
                nops
            }
        });
        // Checksummed echo traffic.
        let clients: Vec<_> = (0..32u64)
            .map(|c| {
                spawn(async move {
                    let mut conn = TcpStream::connect(addr).await.unwrap();
                    conn.set_nodelay(true).unwrap();
                    let mut bytes = 0u64;
                    let mut back = Vec::new();
                    for round in 0..150u64 {
                        let len = 1 + ((c * 7919 + round * 104_729) % 12_000) as usize;
                        let msg: Vec<u8> = (0..len)
                            .map(|i| (i as u64 ^ (c << 3) ^ round.wrapping_mul(31)) as u8)
                            .collect();
                        let sum: u64 = msg.iter().map(|&b| b as u64).sum();
                        let (res, msg) = conn.write_all(msg).await;
                        res.unwrap();
                        back.clear();
                        back.reserve(len);
                        use coring::buf::IoBuf;
                        let (res, b) = conn.read_exact(back.slice(..len)).await;
                        res.unwrap();
                        back = b.into_inner();
                        let got: u64 = back.iter().map(|&b| b as u64).sum();
                        assert_eq!(got, sum, "client {c} round {round}: checksum");
                        assert!(back == msg, "client {c} round {round}: bytes differ");
                        bytes += len as u64;
                    }
                    bytes
                })
            })
            .collect();
        let mut bytes = 0;
        for c in clients {
            bytes += c.await.unwrap();
        }
        done.set(true);
        resizer.await.unwrap();
        let dropped = canceller.await.unwrap();
        let nops = filler.await.unwrap();
        let info = coring::runtime::ring_info();
        let s = coring::runtime::stats().driver;
        println!(
            "echoed {bytes} B over 32 connections; {} resizes ({} grows, {} shrinks), \
             {dropped} reads dropped mid-flight, {nops} NOPs, SQ full {} times",
            info.resize_count, s.ring_grows, s.ring_shrinks, s.sq_full
        );
        assert!(info.resize_count >= 20, "too few resizes: {info:#?}");
        assert!(s.sq_full > 0, "the SQ never filled: {s:?}");
        assert!(dropped > 0 && s.ops_cancelled > 0);
        assert_eq!(s.lost_completions, 0);
        // The eventfd registered before the resizes still counts CQEs.
        let mut n = 0u64;
        // SAFETY: reads 8 bytes into `n`.
        let r = unsafe { libc::read(efd.as_raw_fd(), (&mut n as *mut u64).cast(), 8) };
        assert_eq!(r, 8, "registered eventfd not signalled");
        Op::new(Nop).await.unwrap();
        // SAFETY: as above.
        let r = unsafe { libc::read(efd.as_raw_fd(), (&mut n as *mut u64).cast(), 8) };
        assert_eq!(r, 8, "registered eventfd not signalled after the resizes");
        // The file table is still registered (updating it needs one).
        let upd =
            coring::runtime::with_submitter(|s| s.register_files_update(0, &[pw.as_raw_fd()]));
        assert_eq!(upd.unwrap(), 1, "registered file table lost");
        // Buffer ring: one more echo through a multishot receive.
        let mut conn = TcpStream::connect(addr).await.unwrap();
        let (res, _) = conn.write_all(b"after".to_vec()).await;
        res.unwrap();
        let (res, b) = conn.read_exact(Vec::with_capacity(5)).await;
        res.unwrap();
        assert_eq!(&b[..], b"after");
        drop(pw);
        info.resize_count
    });
    assert!(resizes >= 20);
    let s = rt.stats().driver;
    assert_eq!(s.lost_completions, 0);
}

use std::{cell::Cell, rc::Rc};

// ---- one budget across cores, under a real limit (child process) ---------

const CHILD_ENV: &str = "CORING_RESIZE_CHILD";
const LIMIT: u64 = 2 * 1024 * 1024;
const WANT: RingSize = RingSize {
    sq: 4096,
    cq: 65536,
};

/// Child: two cores asking for (4096, 65536) each (start (256, 1024));
/// core 0 runs bursts of 60,000 kernel timeouts, core 1 idles. Prints each
/// core's final size and counters, and the highest memlock charge seen
/// (coring's ledger, sampled every millisecond).
fn child_main() {
    let peak = Arc::new(AtomicU64::new(0));
    let busy_done = Arc::new(AtomicBool::new(false));
    let out = Builder::new()
        .entries(WANT.sq)
        .cq_entries(WANT.cq)
        .cores(Cores::Count(2))
        .pin(false)
        .shutdown_on_signals(false)
        .resize_quiet(Duration::from_secs(60))
        .run({
            let peak = peak.clone();
            let busy_done = busy_done.clone();
            move |core| {
                let peak = peak.clone();
                let busy_done = busy_done.clone();
                async move {
                    let sample = {
                        let peak = peak.clone();
                        move || peak.fetch_max(memlock::charged(), Ordering::Relaxed)
                    };
                    if core.index == 0 {
                        for _ in 0..4 {
                            let hs: Vec<_> = (0..60_000)
                                .map(|_| {
                                    spawn(async {
                                        Op::new(Timeout::new(Duration::from_millis(40))).await
                                    })
                                })
                                .collect();
                            for h in hs {
                                h.await.unwrap().unwrap();
                            }
                            sample();
                            if coring::runtime::ring_info().size == WANT {
                                break;
                            }
                        }
                        busy_done.store(true, Ordering::SeqCst);
                    } else {
                        while !busy_done.load(Ordering::SeqCst) {
                            sample();
                            coring::time::sleep(Duration::from_millis(1)).await;
                        }
                        // The busy core's published counters, read here.
                        let t = Instant::now();
                        let mut other = coring::runtime::core_stats(0).unwrap();
                        while other.ring_cq != WANT.cq as u64
                            && t.elapsed() < Duration::from_secs(2)
                        {
                            coring::time::sleep(Duration::from_millis(5)).await;
                            other = coring::runtime::core_stats(0).unwrap();
                        }
                        println!(
                            "CORESTATS0 {} {} {} {}",
                            other.ring_sq,
                            other.ring_cq,
                            other.ring_grows,
                            other.ring_grows_skipped
                        );
                    }
                    let info = coring::runtime::ring_info();
                    let s = coring::runtime::stats().driver;
                    format!(
                        "CORE {} {} {} {} {} {} {}",
                        core.index,
                        info.size.sq,
                        info.size.cq,
                        s.ring_grows,
                        s.ring_grows_skipped,
                        info.memlock_budget.unwrap_or(0),
                        info.resizes
                            .iter()
                            .map(|r| format!("{}x{}", r.to.sq, r.to.cq))
                            .collect::<Vec<_>>()
                            .join(",")
                    )
                }
            }
        });
    println!();
    match out {
        Ok(lines) => {
            for l in lines.into_iter().flatten() {
                println!("{l}");
            }
        }
        Err(e) => println!("ERROR {e}"),
    }
    println!("PEAK {}", peak.load(Ordering::Relaxed));
}

#[test]
#[ignore = "entry point of the child process that the real-limit test re-executes"]
fn resize_child_entry() {
    if std::env::var(CHILD_ENV).is_ok() {
        child_main();
    }
}

/// Under a real 2 MiB `RLIMIT_MEMLOCK` without `CAP_IPC_LOCK`, two cores
/// each asking for (4096, 65536) (1.27 MiB: both cannot have it; an even
/// split allows (4096, 32768)): the busy core grows to the full size, past
/// its even split, the idle one stays at its start size, and the memlock
/// charged never passes the limit.
#[test]
fn busy_core_grows_past_an_even_split_of_a_real_memlock_limit() {
    let _serial = serial();
    if !common::is_root() {
        eprintln!("SKIPPED busy_core_grows_past_an_even_split_of_a_real_memlock_limit: needs root to drop CAP_IPC_LOCK (CI runs as root)");
        return;
    }
    if coring::runtime::launcher::allowed_cpus().unwrap().len() < 2 {
        eprintln!(
            "SKIPPED busy_core_grows_past_an_even_split_of_a_real_memlock_limit: needs 2 CPUs"
        );
        return;
    }
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "resize_child_entry",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, "1");
    // SAFETY: the closure only makes async-signal-safe syscalls.
    unsafe { cmd.pre_exec(common::drop_ipc_lock_and_limit_memlock(LIMIT)) };
    let out = cmd.output().expect("spawn child");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "child failed:\n{text}");
    let cores: Vec<Vec<&str>> = text
        .lines()
        .filter_map(|l| l.strip_prefix("CORE "))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(cores.len(), 2, "{text}");
    let size = |c: &[&str]| RingSize {
        sq: c[1].parse().unwrap(),
        cq: c[2].parse().unwrap(),
    };
    let peak: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("PEAK "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let even = WANT
        .fit_budget(RingSize { sq: 64, cq: 128 }, LIMIT / 2, true)
        .unwrap();
    let busy = size(&cores[0]);
    let idle = size(&cores[1]);
    println!(
        "busy core: {busy:?} ({} B; steps {}), idle core: {idle:?}; even split allows {even:?} ({} B); \
         peak charged {peak} B of {LIMIT}",
        busy.memlock_bytes(true),
        cores[0].get(6).unwrap_or(&""),
        even.memlock_bytes(true)
    );
    assert!(
        busy.memlock_bytes(true) > even.memlock_bytes(true),
        "busy core did not grow past an even split:\n{text}"
    );
    assert_eq!(busy, WANT, "{text}");
    // The busy core's counters as `core_stats(0)` showed them to the idle
    // core.
    let cs: Vec<u64> = text
        .lines()
        .find_map(|l| l.split("CORESTATS0 ").nth(1))
        .unwrap_or_else(|| panic!("no core_stats line:\n{text}"))
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect();
    assert_eq!((cs[0], cs[1]), (WANT.sq as u64, WANT.cq as u64), "{text}");
    assert_eq!(cs[2], cores[0][3].parse::<u64>().unwrap(), "{text}");
    assert!(cs[2] >= 6, "{text}");
    assert_eq!(idle, RingSize { sq: 256, cq: 1024 }, "{text}");
    assert!(peak <= LIMIT, "memlock charged {peak} > {LIMIT}:\n{text}");
    assert!(
        busy.memlock_bytes(true) + idle.memlock_bytes(true) <= LIMIT,
        "{text}"
    );
}
