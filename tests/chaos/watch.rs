//! What the chaos test is waiting on, and the watchdog that turns a hang
//! into a clear failure.
//!
//! Every op the test awaits is wrapped in [`track`], which counts it in a
//! per-kind gauge for as long as the future lives (a future dropped
//! mid-flight leaves the gauge at once). A monitor task on the runtime
//! publishes the runtime's stats every few milliseconds. The watchdog
//! thread reads both; if a round outlives its limit it prints them and
//! aborts the process.

use coring::runtime::RuntimeStats;
use std::{
    fmt::Write as _,
    future::Future,
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

macro_rules! gauges {
    ($($name:ident = $label:literal,)*) => {
        /// Kinds of op (and of task) the test counts while they are pending.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[allow(clippy::upper_case_acronyms)]
        pub enum G { $($name,)* }
        const NAMES: &[&str] = &[$($label,)*];
    };
}

gauges! {
    TcpConnect = "tcp connect",
    UnixConnect = "unix connect",
    Handover = "accepted stream: header read",
    TcpRead = "tcp read",
    TcpWrite = "tcp write",
    UnixRead = "unix read",
    UnixWrite = "unix write",
    Flush = "stream flush (write-behind drain)",
    Shutdown = "stream shutdown",
    Splice = "splice_to",
    PipeRead = "pipe read",
    PipePoll = "pipe poll",
    PipeWrite = "pipe write",
    UdpSend = "udp send",
    UdpRecv = "udp recv",
    FileOpen = "file open",
    FileWrite = "file write",
    FileRead = "file read",
    FileSync = "file sync/statx",
    FileClose = "file close/unlink",
    Sleep = "sleep/interval",
    KernelTimeout = "kernel timeout op",
    Nop = "nop",
    IdlePipeRead = "IDLE pipe read (written only at round end)",
    IdleTcpRead = "IDLE tcp read (written only at round end)",
    IdleAccept = "IDLE accept (connected only at round end)",
    FlowTasks = "(tasks) stream flow tasks alive",
    IdleTasks = "(tasks) idle waiter tasks alive",
    UdpTasks = "(tasks) udp pair tasks alive",
    FileTasks = "(tasks) file tasks alive",
    TimerTasks = "(tasks) timer/nop tasks alive",
}

const N: usize = NAMES.len();
static GAUGES: [AtomicI64; N] = [const { AtomicI64::new(0) }; N];

/// Counts one `G` while alive.
pub struct Guard(G);

impl Guard {
    pub fn new(g: G) -> Guard {
        GAUGES[g as usize].fetch_add(1, Ordering::Relaxed);
        Guard(g)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        GAUGES[self.0 as usize].fetch_sub(1, Ordering::Relaxed);
    }
}

/// Awaits `f`, counted under `g` while pending.
pub async fn track<F: Future>(g: G, f: F) -> F::Output {
    let _g = Guard::new(g);
    f.await
}

pub fn gauge(g: G) -> i64 {
    GAUGES[g as usize].load(Ordering::Relaxed)
}

/// Every non-zero gauge, one per line.
pub fn gauges_report() -> String {
    let mut s = String::new();
    for (i, name) in NAMES.iter().enumerate() {
        let v = GAUGES[i].load(Ordering::Relaxed);
        if v != 0 {
            let _ = writeln!(s, "    {v:6}  {name}");
        }
    }
    if s.is_empty() {
        s.push_str("    (none)\n");
    }
    s
}

struct State {
    round: usize,
    phase: &'static str,
    phase_since: Instant,
    round_start: Instant,
    deadline: Option<Instant>,
    stats: Option<(Instant, RuntimeStats)>,
    detail: String,
}

/// Shared between the runtime thread and the watchdog thread.
pub struct Watch {
    label: String,
    cq: u32,
    state: Mutex<State>,
}

impl Watch {
    /// Starts the watchdog thread. `label` names the run (ring, seed, how
    /// to reproduce); `cq` is the ring's CQ size (its op budget).
    pub fn start(label: String, cq: u32) -> Arc<Watch> {
        let now = Instant::now();
        let w = Arc::new(Watch {
            label,
            cq,
            state: Mutex::new(State {
                round: 0,
                phase: "start",
                phase_since: now,
                round_start: now,
                deadline: None,
                stats: None,
                detail: String::new(),
            }),
        });
        let watch = w.clone();
        std::thread::Builder::new()
            .name("chaos-watchdog".into())
            .spawn(move || loop {
                std::thread::sleep(Duration::from_millis(50));
                let expired = {
                    let s = watch.state.lock().unwrap();
                    s.deadline.is_some_and(|d| Instant::now() > d)
                };
                if expired {
                    eprintln!("{}", watch.report());
                    std::process::abort();
                }
            })
            .expect("spawn watchdog");
        w
    }

    /// A round starts; it must finish within `limit`.
    pub fn arm(&self, round: usize, limit: Duration) {
        let mut s = self.state.lock().unwrap();
        let now = Instant::now();
        s.round = round;
        s.round_start = now;
        s.deadline = Some(now + limit);
        s.phase = "start";
        s.phase_since = now;
    }

    pub fn phase(&self, phase: &'static str) {
        let mut s = self.state.lock().unwrap();
        s.phase = phase;
        s.phase_since = Instant::now();
    }

    pub fn disarm(&self) {
        self.state.lock().unwrap().deadline = None;
    }

    pub fn publish(&self, stats: RuntimeStats) {
        self.state.lock().unwrap().stats = Some((Instant::now(), stats));
    }

    /// How long the current phase has lasted.
    pub fn phase_age(&self) -> Duration {
        self.state.lock().unwrap().phase_since.elapsed()
    }

    /// What the test's own bookkeeping says is unfinished (published by
    /// the runtime thread once a phase drags on).
    pub fn detail(&self, detail: String) {
        self.state.lock().unwrap().detail = detail;
    }

    fn report(&self) -> String {
        let s = self.state.lock().unwrap();
        let now = Instant::now();
        let mut r = String::new();
        let _ = writeln!(
            r,
            "\n==== CHAOS WATCHDOG: {} — round {} did not finish within {:.1} s ====",
            self.label,
            s.round,
            s.deadline
                .map_or(0.0, |d| (d - s.round_start).as_secs_f64())
        );
        let _ = writeln!(
            r,
            "stuck in phase \"{}\" for {:.1} s",
            s.phase,
            (now - s.phase_since).as_secs_f64()
        );
        let _ = writeln!(
            r,
            "ops the test is waiting on, by kind:\n{}",
            gauges_report()
        );
        if !s.detail.is_empty() {
            let _ = writeln!(r, "unfinished, by the test's bookkeeping:\n{}", s.detail);
        }
        match &s.stats {
            Some((at, st)) => {
                let d = &st.driver;
                let _ = writeln!(
                    r,
                    "driver, {} ms ago (the runtime loop was alive then): ops_in_flight {} \
                     (CQ {}), submitted {}, completed {}, cancelled {}, budget reaps {}, \
                     overflow_waits {}, lost {}; tasks alive {}, timers {}",
                    (now - *at).as_millis(),
                    d.ops_in_flight,
                    self.cq,
                    d.ops_submitted,
                    d.ops_completed,
                    d.ops_cancelled,
                    d.budget_reaps,
                    d.overflow_waits,
                    d.lost_completions,
                    st.tasks_alive,
                    st.timers
                );
            }
            None => {
                let _ = writeln!(r, "driver: no stats were ever published");
            }
        }
        r
    }
}
