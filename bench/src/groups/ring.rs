//! `ring`: ring sizing costs (moved from `benches/ring.rs`): set-up time
//! and memory per size from 64 to 32768 SQ entries (CQ = 2 × SQ, coring's
//! preferred flags); a NOP storm through fixed small and large rings and an
//! adaptive one that starts small (where the per-reap CQ budget makes the
//! driver reap every 16 SQEs on the tiniest); the locked memory each holds
//! once idle; and 8 rings under an 8 MiB memlock limit, each grown alone
//! (a child process with the limit set and `CAP_IPC_LOCK` dropped). Pinned
//! to the server CPU.

use super::{interleave, ns_per, Contender};
use crate::harness::{pin_thread, print_measurement, unpin_thread, Ctx};
use crate::results::GroupResult;
use coring::io::{OwnedRead, OwnedWrite};
use coring::runtime::{
    op::{Nop, Op, Timeout},
    ring::{memlock, setup_ring, RingSize, SetupFlags},
    Builder, Runtime,
};
use std::{
    io,
    os::unix::process::CommandExt,
    process::Command,
    time::{Duration, Instant},
};

pub fn run(ctx: &Ctx, g: &mut GroupResult) {
    let allowed = coring::runtime::launcher::allowed_cpus().unwrap_or_default();
    let _ = pin_thread(ctx.server_cpu);
    let max_sq = ctx.mode.pick(32768, 32768, 1024);
    let rounds = ctx.mode.pick(21, 11, 1);
    g.notes.push(format!(
        "pinned to CPU {}; set-up: {rounds} interleaved creations per size, CQ = 2 × SQ, \
         SUBMIT_ALL | SINGLE_ISSUER | DEFER_TASKRUN | TASKRUN_FLAG | NO_SQARRAY (as granted); \
         bytes are the kernel's formula (memlock: page-aligned; memcg: power-of-two pages)",
        ctx.server_cpu
    ));
    let mut sizes = Vec::new();
    let mut sq = 64;
    while sq <= max_sq {
        sizes.push(RingSize::normalized(sq, 2 * sq));
        sq *= 2;
    }
    let label = |s: &RingSize| format!("SQ {} / CQ {}", s.sq, s.cq);
    interleave(
        g,
        "ring set-up time",
        "µs",
        false,
        rounds,
        sizes
            .iter()
            .map(|&size| {
                Contender::new(label(&size), move || {
                    let t = Instant::now();
                    let ring = setup_ring(size, SetupFlags::PREFERRED).expect("ring set-up");
                    let e = t.elapsed();
                    drop(ring);
                    e.as_secs_f64() * 1e6
                })
            })
            .collect(),
    );
    for s in &sizes {
        g.add(
            "memlock bytes (formula)",
            "bytes",
            false,
            &label(s),
            s.memlock_bytes(true) as f64,
        );
        g.add(
            "memory-cgroup bytes (formula)",
            "bytes",
            false,
            &label(s),
            s.cgroup_bytes(true) as f64,
        );
    }
    for name in ["memlock bytes (formula)", "memory-cgroup bytes (formula)"] {
        print_measurement(g.measurement(name).unwrap());
    }
    nop_storm(ctx, g);
    unpin_thread(&allowed);
    echo_512(ctx, g);
    if let Err(e) = eight_rings(ctx, g) {
        g.notes
            .push(format!("8 rings under 8 MiB: not measured ({e})"));
    }
}

/// The adaptive NOP-storm ring: starts as small as the small fixed one,
/// may grow to the large one; a shorter quiet period than the default 5 s
/// so that the idle figure is measured within the run.
const ADAPTIVE: &str = "coring adaptive (SQ 64 / CQ 128 → SQ 1024 / CQ 4096)";
const QUIET: Duration = Duration::from_millis(500);

fn fixed(sq: u32, cq: u32) -> Runtime {
    Builder::new()
        .entries(sq)
        .cq_entries(cq)
        .floor(sq, cq)
        .adaptive(false)
        .build()
        .unwrap()
}

fn nop_storm(ctx: &Ctx, g: &mut GroupResult) {
    const TASKS: u64 = 1024;
    let per: u64 = ctx.mode.pick(100, 100, 10);
    let rounds = ctx.mode.pick(11, 5, 1);
    let adaptive = || {
        Builder::new()
            .entries(1024)
            .cq_entries(4096)
            .start_size(64, 128)
            .floor(64, 128)
            .resize_quiet(QUIET)
            .build()
            .unwrap()
    };
    let rings: Vec<(String, Runtime)> = vec![
        (ADAPTIVE.to_string(), adaptive()),
        ("fixed SQ 1024 / CQ 4096".into(), fixed(1024, 4096)),
        ("fixed SQ 64 / CQ 128".into(), fixed(64, 128)),
        ("fixed SQ 8 / CQ 16".into(), fixed(8, 16)),
    ];
    let built = &rings;
    g.notes.push(format!(
        "NOP storm: the adaptive ring is built once and grows in the warm-up round \
         (it keeps its size between rounds: its quiet period is {QUIET:?}); \
         \"adaptive, fresh\" builds a new one, at SQ 64 / CQ 128, for every round, \
         so its figure includes growing"
    ));
    interleave(
        g,
        &format!("NOP storm: {TASKS} tasks × {per} NOPs"),
        "ns per NOP",
        false,
        rounds,
        built
            .iter()
            .map(|(name, rt)| (name.clone(), Some(rt)))
            .chain(std::iter::once((
                "coring adaptive, fresh ring each round".to_string(),
                None,
            )))
            .map(|(name, rt)| {
                Contender::new(name, move || {
                    let fresh;
                    let rt = match rt {
                        Some(rt) => rt,
                        None => {
                            fresh = adaptive();
                            &fresh
                        }
                    };
                    let d = rt.block_on(async {
                        let t = Instant::now();
                        let hs: Vec<_> = (0..TASKS)
                            .map(|_| {
                                coring::spawn(async move {
                                    for _ in 0..per {
                                        Op::new(Nop).await.unwrap();
                                    }
                                })
                            })
                            .collect();
                        for h in hs {
                            h.await.unwrap();
                        }
                        t.elapsed()
                    });
                    ns_per(d, TASKS * per)
                })
            })
            .collect(),
    );
    let m = "reaps forced by the per-reap CQ budget (whole storm)";
    for (name, rt) in built {
        let s = rt.stats().driver;
        assert_eq!(s.ops_in_flight, 0, "every completion delivered");
        g.add(m, "reaps", false, name, s.budget_reaps as f64);
    }
    print_measurement(g.measurement(m).unwrap());
    let m = "ring size reached in the storm (CQ entries)";
    for (name, rt) in built {
        g.add(m, "entries", true, name, rt.ring_info().size.cq as f64);
    }
    print_measurement(g.measurement(m).unwrap());
    // Idle: the adaptive ring shrinks back after its quiet period.
    let m = "ring memlock bytes once idle (after the storm)";
    for (name, rt) in built {
        let start = Instant::now();
        rt.block_on(async {
            let info = coring::runtime::ring_info();
            while coring::runtime::ring_info().size != info.start
                && start.elapsed() < 4 * QUIET + Duration::from_secs(1)
            {
                coring::time::sleep(Duration::from_millis(10)).await;
            }
        });
        let info = rt.ring_info();
        g.add(m, "bytes", false, name, info.memlock_bytes as f64);
        if info.resize_count > 0 {
            g.notes.push(format!(
                "{name}: {} resizes, {:?} → {:?} in the storm, back at {:?} {:?} after it",
                info.resize_count,
                info.start,
                info.resizes
                    .iter()
                    .map(|r| r.to)
                    .max_by_key(|s| s.cq)
                    .unwrap_or(info.start),
                info.size,
                start.elapsed()
            ));
        }
    }
    print_measurement(g.measurement(m).unwrap());
}

/// Makes the server's builder for one echo contender.
type MakeBuilder = fn() -> Builder;

/// 512 connections ping-ponging 64 B through an in-process echo server
/// (one runtime pinned to the server CPU) from an in-process client (one
/// fixed-size runtime pinned to the load CPU): the server's ring fixed
/// small, fixed large, or adaptive (from small to large). A fresh server
/// per round; the window starts after a warm-up in which the adaptive
/// ring grows.
fn echo_512(ctx: &Ctx, g: &mut GroupResult) {
    use coring::buf::IoBuf;
    use coring::net::{TcpListener, TcpStream};
    use futures::StreamExt;
    use std::{cell::Cell, rc::Rc, sync::mpsc};
    const CONNS: usize = 512;
    const SIZE: usize = 64;
    let rounds = ctx.mode.pick(7, 3, 1);
    let warm = ctx.mode.pick(
        Duration::from_millis(500),
        Duration::from_millis(300),
        Duration::from_millis(100),
    );
    let window = ctx.mode.pick(
        Duration::from_secs(2),
        Duration::from_secs(1),
        Duration::from_millis(200),
    );
    let (server_cpu, load_cpu) = (ctx.server_cpu, ctx.load_cpu);
    let configs: Vec<(&str, MakeBuilder)> = vec![
        (ADAPTIVE, || {
            let mut b = Builder::new();
            b.entries(1024)
                .cq_entries(4096)
                .start_size(64, 128)
                .floor(64, 128);
            b
        }),
        ("fixed SQ 1024 / CQ 4096", || {
            let mut b = Builder::new();
            b.entries(1024).cq_entries(4096).adaptive(false);
            b
        }),
        ("fixed SQ 64 / CQ 128", || {
            let mut b = Builder::new();
            b.entries(64).cq_entries(128).floor(64, 128).adaptive(false);
            b
        }),
    ];
    let sizes = std::cell::RefCell::new(Vec::new());
    let m = format!("echo, {CONNS} connections × {SIZE} B ping-pong, in-process server");
    interleave(
        g,
        &m,
        "round trips/s",
        true,
        rounds,
        configs
            .iter()
            .map(|&(name, make)| {
                let sizes = &sizes;
                Contender::new(name, move || {
                    let (addr_tx, addr_rx) = mpsc::channel();
                    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
                    let server = std::thread::spawn({
                        let stop = stop.clone();
                        move || {
                            let _ = pin_thread(server_cpu);
                            let rt = make().build().expect("server runtime");
                            rt.block_on(async move {
                                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                                coring::spawn(async move {
                                    let mut incoming = listener.incoming();
                                    while let Some(Ok(mut c)) = incoming.next().await {
                                        let _ = c.set_nodelay(true);
                                        coring::spawn(async move {
                                            let mut buf = vec![0u8; 4096];
                                            loop {
                                                let (res, b) = c.read(buf).await;
                                                let n = match res {
                                                    Ok(0) | Err(_) => return,
                                                    Ok(n) => n,
                                                };
                                                let (res, b) = c.write_all(b.slice(..n)).await;
                                                buf = b.into_inner();
                                                if res.is_err() {
                                                    return;
                                                }
                                            }
                                        });
                                    }
                                });
                                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                                    coring::time::sleep(Duration::from_millis(5)).await;
                                }
                                coring::runtime::ring_info().size
                            })
                        }
                    });
                    let addr = addr_rx.recv().expect("server address");
                    let client = std::thread::spawn(move || {
                        let _ = pin_thread(load_cpu);
                        let rt = Builder::new()
                            .entries(1024)
                            .cq_entries(4096)
                            .adaptive(false)
                            .build()
                            .expect("client runtime");
                        rt.block_on(async move {
                            let count = Rc::new(Cell::new(0u64));
                            let done = Rc::new(Cell::new(false));
                            let mut hs = Vec::new();
                            for _ in 0..CONNS {
                                let mut c = TcpStream::connect(addr).await.unwrap();
                                c.set_nodelay(true).unwrap();
                                let (count, done) = (count.clone(), done.clone());
                                hs.push(coring::spawn(async move {
                                    let mut msg = vec![7u8; SIZE];
                                    let mut back = Vec::with_capacity(SIZE);
                                    while !done.get() {
                                        let (res, m) = c.write_all(msg).await;
                                        msg = m;
                                        if res.is_err() {
                                            return;
                                        }
                                        back.clear();
                                        let (res, b) = c.read_exact(back.slice(..SIZE)).await;
                                        back = b.into_inner();
                                        if res.is_err() {
                                            return;
                                        }
                                        count.set(count.get() + 1);
                                    }
                                }));
                            }
                            coring::time::sleep(warm).await;
                            let c0 = count.get();
                            let t = Instant::now();
                            coring::time::sleep(window).await;
                            let n = count.get() - c0;
                            let secs = t.elapsed().as_secs_f64();
                            done.set(true);
                            for h in hs {
                                let _ = h.await;
                            }
                            n as f64 / secs
                        })
                    });
                    let rate = client.join().expect("client");
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    let size = server.join().expect("server");
                    sizes.borrow_mut().push((name, size));
                    rate
                })
            })
            .collect(),
    );
    let reached: Vec<String> = sizes
        .borrow()
        .iter()
        .filter(|(n, _)| *n == ADAPTIVE)
        .map(|(_, s)| format!("SQ {} / CQ {}", s.sq, s.cq))
        .collect();
    g.notes.push(format!(
        "echo: server pinned to CPU {server_cpu}, client (fixed SQ 1024 / CQ 4096) to CPU {load_cpu}; \
         {warm:?} warm-up, then a {window:?} window; the adaptive server's ring at the end of each round: {}",
        reached.join(", ")
    ));
}

/// Limit of the 8-ring run: the default `RLIMIT_MEMLOCK`.
const EIGHT_LIMIT: u64 = 8 * 1024 * 1024;
const BIG: RingSize = RingSize {
    sq: 4096,
    cq: 65536,
};

/// 8 runtimes on 8 threads (standing in for 8 cores) asking for
/// (4096, 65536) each under an 8 MiB memlock, in a child process: the
/// rings one gets with the budget split at set-up, and with adaptive
/// sizing the size each reaches when it alone is busy.
fn eight_rings(ctx: &Ctx, g: &mut GroupResult) -> io::Result<()> {
    let busy = ctx.mode.pick(8, 8, 2);
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["ring-eight-child", &busy.to_string()]);
    // SAFETY: the closure only makes async-signal-safe syscalls
    // (setrlimit, geteuid, prctl).
    unsafe {
        cmd.pre_exec(|| {
            let rl = libc::rlimit {
                rlim_cur: EIGHT_LIMIT,
                rlim_max: EIGHT_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_MEMLOCK, &rl) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::geteuid() == 0 {
                const CAP_IPC_LOCK: libc::c_ulong = 14;
                if libc::prctl(libc::PR_CAPBSET_DROP, CAP_IPC_LOCK, 0, 0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        })
    };
    let out = cmd.output()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "child failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let fields = |tag: &str| -> Vec<Vec<f64>> {
        text.lines()
            .filter_map(|l| l.strip_prefix(tag))
            .map(|l| {
                l.split_whitespace()
                    .filter_map(|f| f.parse().ok())
                    .collect()
            })
            .collect()
    };
    let cq = "8 rings under an 8 MiB memlock: CQ entries of a lone busy ring";
    for f in fields("FIXED ") {
        g.add(cq, "entries", true, "fixed, budget split at set-up", f[2]);
    }
    for f in fields("ADAPTIVE ") {
        g.add(cq, "entries", true, "coring adaptive", f[4]);
    }
    let grow = "8 rings under an 8 MiB memlock: time for a lone busy ring to reach its top size";
    for f in fields("ADAPTIVE ") {
        g.add(grow, "ms", false, "coring adaptive", f[5]);
    }
    let idle = "8 rings under an 8 MiB memlock: memlock charged, all idle";
    for (tag, name) in [
        ("IDLE_FIXED ", "fixed, budget split at set-up"),
        ("IDLE_ADAPTIVE ", "coring adaptive"),
    ] {
        for f in fields(tag) {
            g.add(idle, "bytes", false, name, f[0]);
        }
    }
    for f in fields("PEAK ") {
        g.notes.push(format!(
            "8 rings: highest memlock charged (coring's ledger, sampled) {} of {EIGHT_LIMIT} bytes; \
             {busy} of the 8 adaptive rings were made busy in turn (60,000 kernel timeouts in \
             flight), each left to shrink back before the next",
            f[0]
        ));
    }
    for m in [cq, grow, idle] {
        if let Some(m) = g.measurement(m) {
            print_measurement(m);
        }
    }
    Ok(())
}

/// The child of [`eight_rings`] (`coring-bench ring-eight-child N`).
pub fn eight_child(args: &[String]) -> io::Result<()> {
    let busy: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(8);
    // Fixed: the budget split at set-up.
    {
        let rts: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(|| {
                    let rt = Builder::new()
                        .entries(BIG.sq)
                        .cq_entries(BIG.cq)
                        .adaptive(false)
                        .memlock_share(8)
                        .build();
                    let size = match &rt {
                        Ok(rt) => Ok(rt.ring_info().size),
                        Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
                    };
                    // Keep the ring until all have one.
                    std::thread::sleep(Duration::from_millis(200));
                    drop(rt);
                    size
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(100));
        println!("IDLE_FIXED {}", memlock::charged());
        for (i, h) in rts.into_iter().enumerate() {
            let size = h.join().unwrap()?;
            println!("FIXED {i} {} {}", size.sq, size.cq);
        }
    }
    std::thread::sleep(Duration::from_millis(100));
    // Adaptive: 8 rings at their start size; one at a time busy.
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut cmds = Vec::new();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let mut threads = Vec::new();
    for i in 0..8 {
        let (tx, rx) = std::sync::mpsc::channel::<bool>();
        cmds.push(tx);
        let done = done_tx.clone();
        let peak = peak.clone();
        threads.push(std::thread::spawn(move || -> io::Result<()> {
            let rt = Builder::new()
                .entries(BIG.sq)
                .cq_entries(BIG.cq)
                .memlock_share(8)
                .resize_quiet(QUIET)
                .build()?;
            done.send(String::new()).unwrap();
            while let Ok(true) = rx.recv() {
                let t = Instant::now();
                let mut reached = None;
                rt.block_on(async {
                    for _ in 0..6 {
                        let hs: Vec<_> = (0..60_000)
                            .map(|_| {
                                coring::spawn(async {
                                    Op::new(Timeout::new(Duration::from_millis(30))).await
                                })
                            })
                            .collect();
                        for h in hs {
                            h.await.unwrap().unwrap();
                        }
                        peak.fetch_max(memlock::charged(), std::sync::atomic::Ordering::Relaxed);
                        let info = coring::runtime::ring_info();
                        if info.size == info.max {
                            reached = info.resizes.last().map(|r| r.after);
                            break;
                        }
                    }
                    // Back to idle: wait for the shrink.
                    let start = coring::runtime::ring_info().start;
                    let t = Instant::now();
                    while coring::runtime::ring_info().size != start
                        && t.elapsed() < 4 * QUIET + Duration::from_secs(2)
                    {
                        peak.fetch_max(memlock::charged(), std::sync::atomic::Ordering::Relaxed);
                        coring::time::sleep(Duration::from_millis(5)).await;
                    }
                });
                let info = rt.ring_info();
                let top = info
                    .resizes
                    .iter()
                    .map(|r| r.to)
                    .max_by_key(|s| s.cq)
                    .unwrap_or(info.start);
                let ms = reached.map_or(t.elapsed(), |d| d).as_secs_f64() * 1e3;
                done.send(format!(
                    "ADAPTIVE {i} {} {} {} {} {ms:.1}",
                    info.start.sq, info.start.cq, top.sq, top.cq
                ))
                .unwrap();
            }
            Ok(())
        }));
    }
    for _ in 0..8 {
        done_rx.recv().unwrap();
    }
    println!("IDLE_ADAPTIVE {}", memlock::charged());
    for tx in cmds.iter().take(busy) {
        tx.send(true).unwrap();
        println!("{}", done_rx.recv().unwrap());
    }
    drop(cmds);
    for t in threads {
        t.join().unwrap()?;
    }
    println!("PEAK {}", peak.load(std::sync::atomic::Ordering::Relaxed));
    Ok(())
}
