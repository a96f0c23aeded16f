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

use crate::groups::idle::nginx_worker;
use crate::groups::net::{field, parse_wrk, Wrk};
use crate::harness::{
    cpu_seconds, ensure_tool, next_port, pinned, print_measurement, Ctx, Mode, Server,
};
use crate::results::GroupResult;
use std::{
    io::{self, Write},
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

/// Served files: size, name, label.
const FILES: [(u64, &str, &str); 5] = [
    (1 << 10, "1k.bin", "1 KiB"),
    (16 << 10, "16k.bin", "16 KiB"),
    (64 << 10, "64k.bin", "64 KiB"),
    (1 << 20, "1m.bin", "1 MiB"),
    (64 << 20, "64m.bin", "64 MiB"),
];
// Indices into FILES.
const K1: usize = 0;
const K16: usize = 1;
const K64: usize = 2;
const M1: usize = 3;
const M64: usize = 4;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Peer {
    Coring,
    Nginx,
    Axum,
}

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Peer::Coring => "coring file_server",
            Peer::Nginx => "nginx",
            Peer::Axum => "axum + tower-http ServeDir",
        }
    }
}

/// What one mode runs.
struct Plan {
    rounds: usize,
    /// wrk seconds measured, and an unrecorded wrk run before it (0: none).
    dur: u32,
    warmup: u32,
    /// (file, connections) on one core.
    one_core: Vec<(usize, usize)>,
    /// (file, connections) on two cores.
    two_core: Vec<(usize, usize)>,
    /// (file, requests/s) at 64 connections, and seconds per run.
    rates: Vec<(usize, u32)>,
    rate_dur: f64,
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
    let mut peers = vec![Peer::Coring];
    if ensure_tool("nginx", "nginx-light") {
        peers.push(Peer::Nginx);
    } else {
        g.skipped
            .push("nginx (not installed and not installable)".into());
    }
    peers.push(Peer::Axum);
    // SAFETY: getrlimit/setrlimit with valid structs; children inherit.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
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
         CPU {}, `wrk -t1 --latency` pinned to CPU {}; {} s measured{} per run, {} interleaved \
         rounds, a fresh server per run; 64 MiB with 8 connections and `--timeout 30s`",
        work.join("root").display(),
        ctx.server_cpu,
        ctx.load_cpu,
        p.dur,
        if p.warmup > 0 {
            format!(" after a {} s unrecorded wrk warm-up", p.warmup)
        } else {
            String::new()
        },
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

/// Random bytes (xorshift64*), one file per used size, in `root`.
fn write_files(root: &Path, used: &[usize]) -> io::Result<()> {
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

/// A running contender: the server and the pid whose CPU is counted.
struct Running {
    _srv: Server,
    port: u16,
    cpu_pid: u32,
}

struct Files<'a> {
    ctx: &'a Ctx,
    p: Plan,
    work: PathBuf,
    coring: PathBuf,
    client: PathBuf,
    exe: PathBuf,
}

/// A command line as recorded: the port (a word of its own) as `$PORT`.
fn shown(line: &str, port: u16) -> String {
    let p = port.to_string();
    line.split(' ')
        .map(|w| if w == p { "$PORT" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
        .replace(&format!("127.0.0.1:{p}"), "127.0.0.1:$PORT")
}

impl Files<'_> {
    fn rounds(&self, g: &mut GroupResult, peers: &[Peer], have_wrk: bool) -> io::Result<()> {
        for round in 1..=self.p.rounds {
            println!("files: round {round} of {}", self.p.rounds);
            if have_wrk {
                for &(file, conns) in &self.p.one_core {
                    for &peer in peers {
                        self.saturate(g, peer, file, conns, 1, round)?;
                    }
                }
            }
            for &(file, rate) in &self.p.rates {
                for &peer in peers {
                    self.fixed_rate(g, peer, file, rate, round)?;
                }
            }
            if have_wrk {
                for &(file, conns) in &self.p.two_core {
                    for &peer in peers {
                        self.saturate(g, peer, file, conns, 2, round)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Starts `peer` on a fresh port with `cores` server threads (1: pinned
    /// to the server CPU; more: no taskset).
    fn start(&self, g: &mut GroupResult, peer: Peer, cores: usize) -> io::Result<Running> {
        let port = next_port();
        let root = self.work.join("root").display().to_string();
        let pin = (cores == 1).then_some(self.ctx.server_cpu);
        let (cmd, line) = match peer {
            Peer::Coring => {
                let mut args = vec![port.to_string(), "--dir".into(), root];
                if cores > 1 {
                    args.extend(["--cores".into(), cores.to_string()]);
                }
                pinned(pin, &self.coring, &args)
            }
            Peer::Nginx => {
                let conf = self.nginx_conf(port, cores)?;
                pinned(pin, Path::new("nginx"), &["-c".into(), conf])
            }
            Peer::Axum => {
                let args: Vec<String> = ["serve", "axum-files", "--dir", &root, "--port"]
                    .iter()
                    .map(|s| s.to_string())
                    .chain([port.to_string(), "--threads".into(), cores.to_string()])
                    .collect();
                pinned(pin, &self.exe, &args)
            }
        };
        g.command(shown(&line, port));
        let log = self.work.join("server.log");
        let srv =
            Server::start_logged(cmd, port, Some(std::fs::File::create(&log)?)).map_err(|e| {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                io::Error::other(format!("{}: {e}; its log: {}", peer.name(), text.trim()))
            })?;
        if cores > 1 {
            // Every core (worker) binds its own listener: let them all.
            std::thread::sleep(Duration::from_millis(200));
        }
        let cpu_pid = match peer {
            Peer::Nginx => nginx_worker(srv.pid()).unwrap_or(srv.pid()),
            _ => srv.pid(),
        };
        Ok(Running {
            _srv: srv,
            port,
            cpu_pid,
        })
    }

    fn nginx_conf(&self, port: u16, workers: usize) -> io::Result<String> {
        let w = self.work.display();
        let affinity = if workers > 1 {
            "worker_cpu_affinity auto;\n"
        } else {
            ""
        };
        let conf = format!(
            "worker_processes {workers};\n{affinity}worker_rlimit_nofile 65536;\ndaemon off;\n\
             master_process on;\npid {w}/nginx.pid;\nerror_log {w}/nginx-error.log;\n\
             events {{ worker_connections 65536; }}\n\
             http {{\n  access_log off;\n  sendfile on; tcp_nopush on; tcp_nodelay on;\n  \
             keepalive_requests 1000000;\n  \
             server {{ listen 127.0.0.1:{port} reuseport; root {w}/root; }}\n}}\n"
        );
        let path = self.work.join(format!("nginx-{workers}.conf"));
        std::fs::write(&path, conf)?;
        Ok(path.display().to_string())
    }

    /// One wrk run against `port` (`-t1` pinned to the load CPU; more
    /// threads unpinned).
    fn wrk(
        &self,
        g: &mut GroupResult,
        port: u16,
        file: usize,
        conns: usize,
        threads: usize,
        secs: u32,
    ) -> io::Result<Wrk> {
        let mut args: Vec<String> = vec![
            format!("-t{threads}"),
            format!("-c{conns}"),
            format!("-d{secs}s"),
            "--latency".into(),
        ];
        if file == M64 {
            args.extend(["--timeout".into(), "30s".into()]);
        }
        args.push(format!("http://127.0.0.1:{port}/{}", FILES[file].1));
        let pin = (threads == 1).then_some(self.ctx.load_cpu);
        let (mut cmd, line) = pinned(pin, Path::new("wrk"), &args);
        g.command(shown(&line, port));
        let out = cmd.stderr(Stdio::inherit()).output()?;
        Ok(parse_wrk(&String::from_utf8_lossy(&out.stdout)))
    }

    fn saturate(
        &self,
        g: &mut GroupResult,
        peer: Peer,
        file: usize,
        conns: usize,
        cores: usize,
        round: usize,
    ) -> io::Result<()> {
        let srv = self.start(g, peer, cores)?;
        if self.p.warmup > 0 {
            self.wrk(g, srv.port, file, conns, cores, self.p.warmup)?;
        }
        let w = self.wrk(g, srv.port, file, conns, cores, self.p.dur)?;
        drop(srv);
        let prefix = if cores > 1 { "two-core " } else { "" };
        let cfg = format!("{prefix}{}, {conns} conns", FILES[file].2);
        let bad = w.non2xx + w.socket_errors;
        let ok = bad == 0.0 && w.requests > 0.0;
        if !ok {
            g.notes.push(format!(
                "{} {cfg}, round {round}: {} requests, {} non-2xx, {} socket errors: sample \
                 left out",
                peer.name(),
                w.requests,
                w.non2xx,
                w.socket_errors
            ));
        }
        let v = |x: f64| if ok { x } else { f64::NAN };
        let name = peer.name();
        g.add(&format!("{cfg}: requests/s"), "req/s", true, name, v(w.rps));
        g.add(
            &format!("{cfg}: transfer"),
            "MiB/s",
            true,
            name,
            v(w.transfer_mib_s),
        );
        g.add(
            &format!("{cfg}: p99 latency"),
            "µs",
            false,
            name,
            v(w.p99_us),
        );
        Ok(())
    }

    fn fixed_rate(
        &self,
        g: &mut GroupResult,
        peer: Peer,
        file: usize,
        rate: u32,
        round: usize,
    ) -> io::Result<()> {
        let conns = 64;
        let srv = self.start(g, peer, 1)?;
        let args: Vec<String> = vec![
            format!("127.0.0.1:{}", srv.port),
            "--http".into(),
            format!("/{}", FILES[file].1),
            "--conns".into(),
            conns.to_string(),
            "--rate".into(),
            rate.to_string(),
            "--duration".into(),
            self.p.rate_dur.to_string(),
            "--warmup".into(),
            "0".into(),
        ];
        let (mut cmd, line) = pinned(Some(self.ctx.load_cpu), &self.client, &args);
        g.command(shown(&line, srv.port));
        let child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let a = cpu_seconds(srv.cpu_pid);
        let out = child.wait_with_output()?;
        let b = cpu_seconds(srv.cpu_pid);
        drop(srv);
        let text = String::from_utf8_lossy(&out.stdout);
        let r = text
            .lines()
            .find(|l| l.starts_with("RESULT"))
            .unwrap_or("")
            .to_string();
        let (requests, errors, non2xx) = (
            field(&r, "requests"),
            field(&r, "errors"),
            field(&r, "non2xx"),
        );
        let cfg = format!(
            "{} at {} req/s, {conns} conns",
            FILES[file].2,
            crate::harness::fmt(f64::from(rate))
        );
        let ok = errors == 0.0 && non2xx == 0.0 && requests > 0.0;
        if !ok {
            g.notes.push(format!(
                "{} {cfg}, round {round}: {requests} requests, {errors} failed connections, \
                 {non2xx} non-2xx (client said: {}): sample left out",
                peer.name(),
                if r.is_empty() { text.trim() } else { &r }
            ));
        } else if field(&r, "rps") < 0.9 * f64::from(rate) {
            g.notes.push(format!(
                "{} {cfg}, round {round}: only {} req/s reached",
                peer.name(),
                field(&r, "rps")
            ));
        }
        let v = |x: f64| if ok { x } else { f64::NAN };
        let name = peer.name();
        g.add(
            &format!("{cfg}: server CPU per request"),
            "µs/req",
            false,
            name,
            v((b - a) * 1e6 / requests),
        );
        g.add(
            &format!("{cfg}: p99 latency"),
            "µs",
            false,
            name,
            v(field(&r, "p99_us")),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                + p.rates.len() as f64 * p.rate_dur;
            per_round * 3.0 * p.rounds as f64
        };
        assert!(secs(Mode::Full) < 11.0 * 60.0, "{}", secs(Mode::Full));
        assert!(secs(Mode::Quick) < 2.5 * 60.0, "{}", secs(Mode::Quick));
        assert!(secs(Mode::Smoke) < 30.0, "{}", secs(Mode::Smoke));
        assert!(plan(Mode::Full).rounds >= 3 && plan(Mode::Quick).rounds >= 3);
    }
}
