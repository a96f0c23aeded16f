//! `files`: static file serving end to end: coring's `file_server` example
//! vs nginx (sendfile, one worker; nginx-light installed with apt when
//! missing) vs axum + tower-http's `ServeDir` on tokio (`coring-bench
//! serve axum-files`), on the same files (1 KiB … 64 MiB of random bytes,
//! written once to a temp dir, so page-cached).
//!
//! 1. one core: each server pinned to the server CPU, `wrk -t1 --latency`
//!    pinned to the load CPU, 64 and 256 connections (8 for 64 MiB):
//!    requests/s, transfer/s, p99;
//! 2. server CPU per request at a fixed rate below saturation: the
//!    `echo_client` example's `--http PATH` mode (paced GETs, pinned to the
//!    load CPU), the server's utime + stime (nginx: its worker's) over the
//!    run ÷ the requests done, and the p99 at that rate;
//! 3. two cores: coring `--cores 2`, nginx `worker_processes 2`, axum on 2
//!    tokio workers, no taskset, `wrk -t2` sharing the same two CPUs.
//!
//! Every run starts a fresh server; contenders are interleaved (every
//! contender once per configuration per round). A run with non-2xx
//! responses or socket errors is not averaged in: its sample is recorded
//! as NaN (left out of median and min–max) and the group's notes say so.

pub(crate) mod runs;

use crate::harness::{ensure_tool, print_measurement, Ctx, Mode};
use crate::results::GroupResult;
pub(crate) use runs::Files;
use std::{
    io::{self, Write},
    path::Path,
};

/// Served files: size, name, label.
pub(crate) const FILES: [(u64, &str, &str); 5] = [
    (1 << 10, "1k.bin", "1 KiB"),
    (16 << 10, "16k.bin", "16 KiB"),
    (64 << 10, "64k.bin", "64 KiB"),
    (1 << 20, "1m.bin", "1 MiB"),
    (64 << 20, "64m.bin", "64 MiB"),
];
// Indices into FILES.
pub(crate) const K1: usize = 0;
const K16: usize = 1;
pub(crate) const K64: usize = 2;
const M1: usize = 3;
const M64: usize = 4;
/// Seconds added to the measured wrk run for 64 MiB (few requests a second).
const M64_EXTRA: u32 = 2;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peer {
    /// The file_server example, recorded as `name`, with `env` set on its
    /// process only (`harness::with_env`).
    Coring {
        name: &'static str,
        env: &'static [(&'static str, &'static str)],
    },
    Nginx,
    Axum,
}

/// This group's coring contender.
const CORING: Peer = Peer::Coring {
    name: "coring file_server",
    env: &[],
};

impl Peer {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Peer::Coring { name, .. } => name,
            Peer::Nginx => "nginx",
            Peer::Axum => "axum + tower-http ServeDir",
        }
    }
}

/// What one mode runs (`Files::saturate` reads only `dur` and `warmup`).
pub(crate) struct Plan {
    pub rounds: usize,
    /// wrk seconds measured, and an unrecorded wrk run before it (0: none).
    pub dur: u32,
    pub warmup: u32,
    /// (file, connections) on one core.
    pub one_core: Vec<(usize, usize)>,
    /// (file, connections) on two cores.
    pub two_core: Vec<(usize, usize)>,
    /// (file, requests/s) at 64 connections, and seconds per run.
    pub rates: Vec<(usize, u32)>,
    pub rate_dur: f64,
}

fn plan(mode: Mode) -> Plan {
    let both = |f: usize| [(f, 64), (f, 256)];
    let rates = vec![(K1, 5_000), (K64, 3_000)];
    match mode {
        Mode::Full => Plan {
            rounds: 3,
            dur: 4,
            warmup: 1,
            one_core: [K1, K16, K64, M1]
                .into_iter()
                .flat_map(both)
                .chain([(M64, 8)])
                .collect(),
            two_core: vec![(K1, 256), (M1, 256)],
            rates,
            rate_dur: 4.0,
        },
        Mode::Quick => Plan {
            rounds: 3,
            dur: 1,
            warmup: 0,
            one_core: vec![
                (K1, 64),
                (K1, 256),
                (K16, 64),
                (K64, 64),
                (M1, 64),
                (M1, 256),
                (M64, 8),
            ],
            two_core: vec![(K1, 256), (M1, 256)],
            rates,
            rate_dur: 1.0,
        },
        Mode::Smoke => Plan {
            rounds: 1,
            dur: 1,
            warmup: 0,
            one_core: vec![(K1, 64), (M1, 64)],
            two_core: vec![(K1, 256)],
            rates: vec![(K1, 5_000)],
            rate_dur: 1.0,
        },
    }
}

pub fn run(ctx: &Ctx, g: &mut GroupResult) -> io::Result<()> {
    let p = plan(ctx.mode);
    let bins = ctx.example(g, &["file_server", "echo_client"])?;
    let have_wrk = ensure_tool("wrk", "wrk");
    if !have_wrk {
        g.skipped
            .push("requests/s and two-core rows (wrk not installed and not installable)".into());
    }
    let mut peers = vec![CORING];
    if ensure_tool("nginx", "nginx-light") {
        peers.push(Peer::Nginx);
    } else {
        g.skipped
            .push("nginx (not installed and not installable)".into());
    }
    peers.push(Peer::Axum);
    raise_nofile();
    let work = std::env::temp_dir().join(format!("coring-bench-files-{}", std::process::id()));
    let used: Vec<usize> = (0..FILES.len())
        .filter(|&i| {
            let conns = p.one_core.iter().chain(&p.two_core).map(|c| c.0);
            conns.chain(p.rates.iter().map(|r| r.0)).any(|f| f == i)
        })
        .collect();
    write_files(&work.join("root"), &used)?;
    notes(ctx, g, &p, &work);
    let f = Files {
        ctx,
        p,
        work,
        coring: bins[0].clone(),
        client: bins[1].clone(),
        exe: std::env::current_exe()?,
    };
    let res = f.rounds(g, &peers, have_wrk);
    let _ = std::fs::remove_dir_all(&f.work);
    res?;
    for m in &g.measurements {
        print_measurement(m);
    }
    Ok(())
}

fn notes(ctx: &Ctx, g: &mut GroupResult, p: &Plan, work: &Path) {
    g.notes.push(format!(
        "files of random bytes written once to {} (page-cached); one core: servers pinned to \
         CPU {}, `wrk -t1 --latency` pinned to CPU {}; {} s measured{} per run ({} s for 64 MiB), \
         {} interleaved round(s), a fresh server per run; 64 MiB with 8 connections and \
         `--timeout 30s` (a few hundred requests per run at most: its p99 is close to the \
         slowest request)",
        work.join("root").display(),
        ctx.server_cpu,
        ctx.load_cpu,
        p.dur,
        if p.warmup > 0 {
            format!(" after a {} s unrecorded wrk warm-up", p.warmup)
        } else {
            String::new()
        },
        p.dur + M64_EXTRA,
        p.rounds
    ));
    g.notes.push(
        "nginx: 1 worker (2 with `worker_cpu_affinity auto` for two cores), `sendfile on; \
         tcp_nopush on; tcp_nodelay on; access_log off`, `keepalive_requests 1000000` so wrk's \
         connections are never recycled, other keep-alive settings and open_file_cache at their \
         defaults (off); axum 0.8 + tower-http 0.6 ServeDir on tokio current-thread (one core) \
         or 2 workers, TCP_NODELAY; tokio::fs runs on tokio's blocking threads, which on one \
         core inherit the taskset of the server CPU; the servers' CPU includes their io_uring \
         worker and blocking threads"
            .into(),
    );
    g.notes.push(format!(
        "CPU per request: echo_client --http (coring, paced, 64 connections, pinned to CPU {}) \
         for {} s per run, the server's utime+stime (nginx: the worker's) ÷ requests completed",
        ctx.load_cpu, p.rate_dur
    ));
    g.notes.push(
        "two cores: no taskset; coring's launcher pins its 2 cores, nginx pins its 2 workers \
         (worker_cpu_affinity auto), tokio's 2 workers are unpinned; `wrk -t2` shares the two \
         CPUs, so these figures include wrk's CPU cost and are not server-only capacity"
            .into(),
    );
}

/// Raises this process's soft RLIMIT_NOFILE to its hard limit (servers
/// started after it inherit it).
pub(crate) fn raise_nofile() {
    // SAFETY: getrlimit/setrlimit with valid structs.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
}

/// Random bytes (xorshift64*), one file per used size (indices into
/// `FILES`), in `root`.
pub(crate) fn write_files(root: &Path, used: &[usize]) -> io::Result<()> {
    std::fs::create_dir_all(root)?;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for &i in used {
        let (size, name, _) = FILES[i];
        let mut f = io::BufWriter::new(std::fs::File::create(root.join(name))?);
        for _ in 0..size / 8 {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            f.write_all(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes())?;
        }
        f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::shown;

    #[test]
    fn ports_are_hidden_in_recorded_commands() {
        let line = "taskset -c 0 /x/file_server 20123 --dir /tmp/coring-bench-files-20123/root";
        assert_eq!(
            shown(line, 20123),
            "taskset -c 0 /x/file_server $PORT --dir /tmp/coring-bench-files-20123/root"
        );
        assert_eq!(
            shown("wrk -t1 http://127.0.0.1:20123/1k.bin", 20123),
            "wrk -t1 http://127.0.0.1:$PORT/1k.bin"
        );
    }

    #[test]
    fn plans_stay_within_their_budgets() {
        // Seconds of load per mode (server starts add ~0.1 s per run).
        let secs = |m: Mode| {
            let p = plan(m);
            let per_round = (p.one_core.len() + p.two_core.len()) as f64
                * f64::from(p.dur + p.warmup)
                + f64::from(M64_EXTRA)
                + p.rates.len() as f64 * p.rate_dur;
            per_round * 3.0 * p.rounds as f64
        };
        assert!(secs(Mode::Full) < 11.0 * 60.0, "{}", secs(Mode::Full));
        assert!(secs(Mode::Quick) < 2.5 * 60.0, "{}", secs(Mode::Quick));
        assert!(secs(Mode::Smoke) < 30.0, "{}", secs(Mode::Smoke));
        assert!(plan(Mode::Full).rounds >= 3 && plan(Mode::Quick).rounds >= 3);
    }
}
