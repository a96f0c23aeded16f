//! Chaos: thousands of tasks doing random mixes of pipe, TCP, Unix-stream
//! (listener and socketpair), file, splice, UDP and timer ops, with random
//! timeouts, `JoinHandle::abort`s and futures dropped mid-flight, next to
//! ~190 ops that wait indefinitely (idle pipe reads, silent connections,
//! accepts nobody connects to) — on the default ring and on the floor-size
//! ring (64 SQ, 128 CQ).
//!
//! Every stream carries a known stretch of one pseudo-random pattern, so
//! every byte is checked where it lands (see `chaos/flows.rs` for what is
//! asserted about cut streams). Each round then asserts:
//! - no task panicked, no byte was corrupted, no byte reported written on
//!   a stream whose reader was not cut went missing, every idle waiter
//!   completed with what it was sent;
//! - 0 ops in flight (`DriverStats`) once the tasks
//!   ended, and no task but the monitor alive;
//! - open fds back to where they were before the first round (less the
//!   splice pipe pool's idle pipes);
//!
//! and at the end: fds back to the baseline once the runtime is dropped,
//! RSS flat from round 2 to the last (≤ 10 % or 8 MiB growth), and every
//! kind of op actually exercised.
//!
//! A watchdog thread aborts the process if a round outlives its limit,
//! printing which ops the test was waiting on and the driver's counters.
//! Each ring runs in a child process (this binary, re-executed), so fd and
//! RSS counts are its own and a hang fails only that ring's test.
//!
//! `CORING_CHAOS_SECS` (default 10): seconds of traffic per ring.
//! `CORING_CHAOS_SEED`: replay the choices of an earlier run (printed by
//! every run; the kernel's timing still varies).
//! `CORING_CHAOS_IDLE` (default 192): idle waiters per round (more than
//! the floor ring's 128 CQ entries, which starved the old driver).

mod common;
#[path = "chaos/flows.rs"]
mod flows;
#[path = "chaos/idle.rs"]
mod idle;
#[path = "chaos/misc.rs"]
mod misc;
#[path = "chaos/pipe.rs"]
mod pipe;
#[path = "chaos/rng.rs"]
mod rng;
#[path = "chaos/round.rs"]
mod round;
#[path = "chaos/sock.rs"]
mod sock;
#[path = "chaos/watch.rs"]
mod watch;

use coring::net::{TcpListener, UnixListener};
use coring::runtime::{ring::RingSize, Builder, Runtime};
use coring::time::sleep;
use flows::{Kind, KINDS};
use rng::Rng;
use round::{Round, Tally, PLEN};
use std::{
    collections::BTreeMap,
    io::Read as _,
    path::PathBuf,
    process::{Command, Stdio},
    rc::Rc,
    sync::Arc,
    time::{Duration, Instant},
};
use watch::{gauge, Watch, G};

thread_local! {
    /// The round in progress, for the monitor's report of what is unfinished.
    static CURRENT: std::cell::RefCell<std::rc::Weak<Round>> = Default::default();
}

const CHILD_ENV: &str = "CORING_CHAOS_CHILD";
const SEED_ENV: &str = "CORING_CHAOS_SEED";
const SECS_ENV: &str = "CORING_CHAOS_SECS";

#[test]
fn chaos_default_ring() {
    parent("default");
}

/// Expected to hang (and the watchdog to fail it) while ops in flight are
/// capped at the CQ size: the idle waiters hold the 128 slots.
#[test]
fn chaos_floor_ring() {
    parent("floor");
}

#[test]
#[ignore = "entry point of the child process that chaos_*_ring re-execute"]
fn chaos_child() {
    let ring = std::env::var(CHILD_ENV)
        .unwrap_or_else(|_| panic!("run chaos_default_ring or chaos_floor_ring instead"));
    child(&ring);
}

fn secs() -> u64 {
    std::env::var(SECS_ENV).map_or(10, |s| s.parse().expect("CORING_CHAOS_SECS: seconds"))
}

fn seed() -> u64 {
    match std::env::var(SEED_ENV) {
        Ok(s) => match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => s.parse(),
        }
        .expect("CORING_CHAOS_SEED: a number (decimal or 0x-hex)"),
        Err(_) => {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            t.as_nanos() as u64 ^ u64::from(std::process::id()) << 32
        }
    }
}

/// Runs the child for `ring` and fails with its output if it fails.
fn parent(ring: &str) {
    let seed = seed();
    let secs = secs();
    println!("chaos {ring} ring: seed {seed:#x} ({SEED_ENV}={seed:#x} to replay), {secs} s");
    let start = Instant::now();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "chaos_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, ring)
        .env(SEED_ENV, format!("{seed:#x}"))
        .env(SECS_ENV, secs.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the chaos child");
    let collect = |mut p: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = p.read_to_string(&mut s);
            s
        })
    };
    let out = collect(Box::new(child.stdout.take().unwrap()));
    let err = collect(Box::new(child.stderr.take().unwrap()));
    // The child's watchdog ends a hang; this only guards the watchdog.
    let limit = Duration::from_secs(secs * 3 + 120);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    let ours: String = out
        .lines()
        .filter(|l| l.starts_with("chaos"))
        .map(|l| format!("{l}\n"))
        .collect();
    print!("{ours}");
    match status {
        Some(st) if st.success() => {
            println!(
                "chaos {ring} ring passed in {:.1} s",
                start.elapsed().as_secs_f64()
            );
        }
        Some(st) => panic!(
            "chaos {ring} ring FAILED ({st}) after {:.1} s; replay with {SEED_ENV}={seed:#x}\n\
             --- child stdout ---\n{out}\n--- child stderr ---\n{err}",
            start.elapsed().as_secs_f64()
        ),
        None => panic!(
            "chaos {ring} ring: the child neither finished nor was stopped by its watchdog \
             within {limit:?}; replay with {SEED_ENV}={seed:#x}\n{out}\n{err}"
        ),
    }
}

/// What every round shares.
struct Env {
    ring: String,
    seed: u64,
    round_time: Duration,
    limit: Duration,
    tmp: common::TempDir,
    pattern: Rc<Vec<u8>>,
    watch: Arc<Watch>,
}

/// Stream-flow tasks alive at once (about three per flow).
const MAX_FLOW_TASKS: i64 = 120;
/// Idle waiters per round (more than the floor ring's 128 CQ slots);
/// `CORING_CHAOS_IDLE` overrides it (0: none, to tell starvation by idle
/// ops from other trouble).
fn idle_count() -> usize {
    std::env::var("CORING_CHAOS_IDLE")
        .map_or(192, |s| s.parse().expect("CORING_CHAOS_IDLE: a count"))
}
/// Timer/NOP tasks spawned every 100 ms.
const BURST: usize = 100;

fn build(ring: &str) -> Runtime {
    let (rt, want) = match ring {
        "default" => (Builder::new().build(), RingSize { sq: 1024, cq: 4096 }),
        "floor" => (
            Builder::new().entries(64).cq_entries(128).build(),
            RingSize { sq: 64, cq: 128 },
        ),
        other => panic!("unknown ring {other}"),
    };
    let rt = rt.expect("runtime");
    // The default ring is adaptive: asked for (1024, 4096), it starts at
    // (256, 1024) and grows and shrinks during the run; the floor ring
    // asked for (64, 128) and starts there, with nothing to grow into.
    // (On the epoll driver there is no ring: the same chaos, no sizes.)
    let info = rt.ring_info();
    assert_eq!(info.wanted, want, "{info:?}");
    if rt.driver_kind() == coring::DriverKind::Uring {
        assert_eq!(info.size, info.initial, "{info:?}");
    }
    rt
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64
}

/// Open fds by kind ("socket", "pipe", "anon_inode:[io_uring]", a path).
fn fd_kinds() -> BTreeMap<String, i64> {
    let mut m = BTreeMap::new();
    for e in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        if let Ok(t) = std::fs::read_link(e.path()) {
            let t = t.to_string_lossy().into_owned();
            let kind = match t.split_once(":[") {
                Some((k, _)) if k != "anon_inode" => k.to_string(),
                _ => t,
            };
            *m.entry(kind).or_insert(0) += 1;
        }
    }
    m
}

/// `now - base`, kinds that differ only.
fn fd_diff(base: &BTreeMap<String, i64>, now: &BTreeMap<String, i64>) -> String {
    let mut d = String::new();
    for k in base
        .keys()
        .chain(now.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let (a, b) = (
            base.get(k).copied().unwrap_or(0),
            now.get(k).copied().unwrap_or(0),
        );
        if a != b {
            d += &format!("{k}: {a} -> {b}; ");
        }
    }
    d
}

fn child(ring: &str) {
    let seed = seed();
    let secs = secs().max(3);
    let rounds = (secs / 2).max(3) as usize;
    let round_time = Duration::from_secs_f64(secs as f64 / rounds as f64);
    let tmp = common::TempDir::new(&format!("chaos-{ring}"));
    let pattern = Rc::new(common::pattern(PLEN, 0xC4A0_5EED));
    std::fs::write(tmp.join("pattern"), &*pattern).unwrap();
    let base_fds = fd_kinds();
    let rt = build(ring);
    let cq = rt.ring_info().size.cq;
    let label = format!(
        "{ring} ring (SQ {}, CQ {cq}), seed {seed:#x} ({SEED_ENV}={seed:#x} to replay)",
        rt.ring_info().size.sq
    );
    println!("chaos: {label}: {rounds} rounds of {round_time:?}");
    let env = Env {
        ring: ring.to_string(),
        seed,
        round_time,
        limit: round_time + Duration::from_secs(10),
        tmp,
        pattern,
        watch: Watch::start(label, cq),
    };
    let mut rng = Rng::new(seed);
    let (totals, rss) = rt.block_on(async {
        let w = env.watch.clone();
        let monitor = coring::spawn(async move {
            loop {
                w.publish(coring::runtime::stats());
                if w.phase_age() > Duration::from_secs(2) {
                    w.detail(CURRENT.with(|c| c.borrow().upgrade()).map_or_else(String::new, |r| r.unfinished()));
                }
                sleep(Duration::from_millis(10)).await;
            }
        });
        let fds_in_rt = fd_kinds();
        let mut totals = Tally::default();
        let mut rss = Vec::new();
        for round in 0..rounds {
            let t0 = Instant::now();
            env.watch.arm(round, env.limit);
            let t = run_round(&env, round, rng.fork()).await;
            env.watch.phase("checking fds");
            check_fds(&fds_in_rt, round).await;
            env.watch.disarm();
            rss.push(rss_bytes());
            println!(
                "chaos: round {round} ok in {:.1} s: {} tasks, flows {:?} (intact {:?}), {} cut, \
                 {} splices, {} writes and {} reads dropped, {} aborts, {} idle released, RSS {} KiB",
                t0.elapsed().as_secs_f64(),
                t.tasks,
                t.flows,
                t.intact,
                t.cut_flows,
                t.splices,
                t.writes_dropped,
                t.reads_dropped,
                t.aborts,
                t.idle_released,
                rss.last().unwrap() >> 10
            );
            totals.add(&t);
        }
        monitor.abort();
        let _ = monitor.await;
        (totals, rss)
    });
    drop(rt);
    let now = fd_kinds();
    assert_eq!(
        now,
        base_fds,
        "fds leaked once the runtime was dropped: {}",
        fd_diff(&base_fds, &now)
    );
    let (second, last) = (rss[1], *rss.last().unwrap());
    let allowed = (second / 10).max(8 << 20);
    assert!(
        last <= second + allowed,
        "RSS grew from {} KiB after round 1 to {} KiB after round {} (allowed +{} KiB): {:?}",
        second >> 10,
        last >> 10,
        rss.len() - 1,
        allowed >> 10,
        rss.iter().map(|b| b >> 10).collect::<Vec<_>>()
    );
    println!(
        "chaos: totals for the {} ring, seed {:#x}: {totals:?}",
        env.ring, env.seed
    );
    for k in KINDS {
        let i = k as usize;
        assert!(
            totals.intact[i] > 0 && totals.bytes[i] > 0,
            "no {k:?} flow was delivered whole: {totals:?}"
        );
    }
    let t = &totals;
    for (what, n) in [
        ("splices", t.splices),
        ("AsyncWrite writes", t.poll_writes),
        ("writes dropped mid-flight", t.writes_dropped),
        ("reads dropped mid-flight", t.reads_dropped),
        ("aborts", t.aborts),
        ("deliberately cut flows", t.cut_flows),
        ("udp datagrams checked", t.udp_datagrams),
        ("file blocks checked", t.file_blocks),
        ("timer checks", t.timer_checks),
        ("idle waiters released", t.idle_released),
        ("idle waiters aborted", t.idle_aborted),
    ] {
        let idle_check = what.starts_with("idle");
        assert!(
            n > 0 || idle_check && idle_count() == 0,
            "the run exercised no {what}: {totals:?}"
        );
    }
}

/// Waits (up to 2 s: closes are asynchronous) for the fds to be back to
/// `base`, not counting the splice pipe pool's idle pipes.
async fn check_fds(base: &BTreeMap<String, i64>, round: usize) {
    let t = Instant::now();
    loop {
        let mut now = fd_kinds();
        let pooled = 2 * coring::fs::pipe_pool_stats().idle as i64;
        if let Some(p) = now.get_mut("pipe") {
            *p -= pooled;
        }
        now.retain(|_, n| *n != 0);
        if &now == base {
            return;
        }
        if t.elapsed() > Duration::from_secs(2) {
            panic!("fds leaked by round {round}: {}", fd_diff(base, &now));
        }
        sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until every gauge in `gs` is zero (the watchdog bounds it).
async fn until_zero(gs: &[G]) {
    while gs.iter().any(|&g| gauge(g) != 0) {
        sleep(Duration::from_millis(1)).await;
    }
}

async fn run_round(env: &Env, round: usize, mut rng: Rng) -> Tally {
    let w = &env.watch;
    let dir: PathBuf = env.tmp.join(&format!("round-{round}"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = coring::fs::File::open(env.tmp.join("pattern"))
        .await
        .expect("open the pattern");
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind tcp");
    let tcp_addr = tcp.local_addr().unwrap();
    let unix_path = dir.join("sock");
    let unix = UnixListener::bind(&unix_path).expect("bind unix");
    let r = Rc::new(Round::new(
        rng.fork(),
        env.pattern.clone(),
        file,
        dir.clone(),
        tcp_addr,
        unix_path,
    ));
    CURRENT.with(|c| *c.borrow_mut() = Rc::downgrade(&r));
    let acceptors = [
        coring::spawn(sock::tcp_acceptor(r.clone(), tcp)),
        coring::spawn(sock::unix_acceptor(r.clone(), unix)),
    ];

    w.phase("active traffic");
    active(&r, env.round_time, &mut rng).await;
    w.phase("waiting for the round's flow, udp, file and timer tasks to end");
    until_zero(&[G::FlowTasks, G::UdpTasks, G::FileTasks, G::TimerTasks]).await;
    w.phase("idle waiters released, waiting for them to complete");
    let conns = idle::release(&r).await;
    until_zero(&[G::IdleTasks]).await;
    drop(conns);
    idle::clear(&r);
    w.phase("stopping the acceptors");
    for a in acceptors {
        a.abort();
        let _ = a.await;
    }

    let handles = r.handles.take();
    for h in handles {
        if let Err(e) = h.await {
            if e.is_panic() {
                r.fail(format!(
                    "a task panicked: {}",
                    e.panic_message().unwrap_or("?")
                ));
            }
        }
    }
    for f in r.flows.borrow().iter() {
        let mut t = r.tally();
        if !f.st.borrow().started {
            continue;
        }
        t.flows[f.kind as usize] += 1;
        drop(t);
        let intact = f.verify(&r);
        let mut t = r.tally();
        if intact {
            t.intact[f.kind as usize] += 1;
        } else {
            t.cut_flows += 1;
        }
    }
    {
        let t = r.tally();
        if t.idle_released + t.idle_aborted != r.idle.spawned.get() {
            let msg = format!(
                "idle waiters: {} spawned, {} released, {} aborted",
                r.idle.spawned.get(),
                t.idle_released,
                t.idle_aborted
            );
            drop(t);
            r.fail(msg);
        }
    }
    let tally = r.tally().clone();
    let mut failures = r.failures.take();
    drop(r);

    w.phase("draining: waiting for ops in flight to reach 0");
    let t = Instant::now();
    loop {
        let s = coring::runtime::stats();
        if s.driver.ops_in_flight == 0 && s.tasks_alive == 1 && s.timers <= 1 {
            break;
        }
        if t.elapsed() > Duration::from_secs(5) {
            failures.push(format!(
                "5 s after every task of the round ended, still: {s:?}"
            ));
            break;
        }
        sleep(Duration::from_millis(1)).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    if !failures.is_empty() {
        let n = failures.len();
        failures.truncate(20);
        panic!(
            "chaos {} ring, seed {:#x}, round {round}: {n} failures:\n  {}",
            env.ring,
            env.seed,
            failures.join("\n  ")
        );
    }
    tally
}

/// The round's traffic: keeps flows, UDP pairs and file tasks going,
/// bursts of timers, idle waiters ramped up over the first half, and
/// random cuts and aborts.
async fn active(r: &Rc<Round>, time: Duration, rng: &mut Rng) {
    let start = Instant::now();
    let mut idle_n = 0;
    let mut next_burst = start;
    let mut misc = Vec::new();
    let idle = idle_count();
    while start.elapsed() < time {
        let ramp = (start.elapsed().as_secs_f64() * 2.0 / time.as_secs_f64()).min(1.0);
        while idle_n < (ramp * idle as f64) as usize {
            idle::spawn_one(r, idle_n);
            idle_n += 1;
        }
        while gauge(G::FlowTasks) < MAX_FLOW_TASKS {
            let kind: Kind = KINDS[rng.below(KINDS.len())];
            r.spawn(G::FlowTasks, flows::flow_task(r.clone(), kind, rng.fork()));
        }
        if gauge(G::UdpTasks) < 3 {
            misc.push(r.spawn(G::UdpTasks, misc::udp_task(r.clone(), rng.fork())));
        }
        if gauge(G::FileTasks) < 3 {
            misc.push(r.spawn(G::FileTasks, misc::file_task(r.clone(), rng.fork())));
        }
        if Instant::now() >= next_burst {
            for _ in 0..BURST {
                misc.push(r.spawn(G::TimerTasks, misc::timer_task(r.clone(), rng.fork())));
            }
            next_burst += Duration::from_millis(100);
        }
        if rng.chance(5) {
            let f = {
                let flows = r.flows.borrow();
                let n = flows.len();
                (n > 0).then(|| flows[n - 1 - rng.below(n.min(64))].clone())
            };
            if let Some(f) = f.filter(|f| f.st.borrow().started) {
                if rng.chance(50) {
                    f.cut_writer(r);
                } else {
                    f.cut_reader(r);
                }
            }
        }
        if rng.chance(2) {
            idle::abort_one(r);
        }
        if rng.chance(10) && !misc.is_empty() {
            r.abort(misc[misc.len() - 1 - rng.below(misc.len().min(200))]);
        }
        sleep(rng.micros(200, 1500)).await;
    }
}
