//! `epoll`: coring on its readiness (epoll) driver, the one the runtime
//! falls back to where io_uring is blocked (seccomp in containers), forced
//! with `CORING_DRIVER=epoll` (read when a runtime is built; `uring`,
//! `epoll`, `auto`). One core: every server pinned to the server CPU, the
//! load generator to the load CPU, contenders interleaved in every round.
//!
//! 1. echo ping-pong at 64 conns × 128 B and 512 conns × 1 KiB, the `net`
//!    group's runs (`net::Net::echo`, `examples/echo_client`);
//! 2. HTTP/1.1 hello under `wrk -t1 -c64` (`net::Net::http`);
//!
//!    contenders for both: `coring-epoll` (`coring-bench serve --server
//!    coring` with `CORING_DRIVER=epoll`), `tokio` (current-thread),
//!    `monoio-epoll` (monoio's LegacyDriver) and `coring` (the same coring
//!    server with `CORING_DRIVER=uring`);
//! 3. the `file_server` example, 1 KiB and 64 KiB files at 64 connections
//!    under `wrk -t1` (the `files` group's `Files::saturate`, its files and
//!    nginx config): `coring-epoll`, `nginx`, `coring` (io_uring).
//!
//! The variable is set on each coring server's process alone
//! (`harness::with_env`); the harness's environment is left as it is, so
//! the echo client (a coring program) stays on io_uring — and the group
//! refuses to run if `CORING_DRIVER` is already set to anything but
//! `uring` in the harness's own environment, which every child would
//! inherit. Before the rounds, one start of each coring server is checked
//! for the driver it really runs (its `anon_inode:[eventpoll]` and
//! `anon_inode:[io_uring]` fds): a coring-epoll server without an epoll
//! instance is recorded as "coring-epoll (ran on io_uring)", so a coring
//! without the epoll driver cannot pass its figures off as epoll ones (the
//! goals then say "not measured").

use crate::groups::files::{self, Files, Peer, Plan, FILES, K1, K64};
use crate::groups::net::{Net, NetServer};
use crate::harness::{ensure_tool, print_measurement, Ctx, Mode};
use crate::results::GroupResult;
use std::{io, time::Duration};

/// The variable coring's runtime builder reads.
const DRIVER: &str = "CORING_DRIVER";
const EPOLL: &[(&str, &str)] = &[(DRIVER, "epoll")];
const URING: &[(&str, &str)] = &[(DRIVER, "uring")];
/// The name of a coring-epoll server seen to hold no epoll instance.
const NOT_EPOLL: &str = "coring-epoll (ran on io_uring)";

/// What one mode runs.
struct Knobs {
    rounds: usize,
    /// Echo seconds measured after `warmup` seconds; wrk (HTTP hello) runs
    /// `dur` seconds rounded, at least 1.
    dur: f64,
    warmup: f64,
    /// Echo (connections, message bytes).
    echo: Vec<(usize, usize)>,
    /// File-server wrk seconds, and an unrecorded wrk run before (0: none).
    file_dur: u32,
    file_warmup: u32,
    /// Files served (indices into `files::FILES`), at `FILE_CONNS`.
    files: Vec<usize>,
}

const FILE_CONNS: usize = 64;

fn knobs(mode: Mode) -> Knobs {
    let echo = vec![(64, 128), (512, 1024)];
    let files = vec![K1, K64];
    match mode {
        Mode::Full => Knobs {
            rounds: 5,
            dur: 5.0,
            warmup: 1.0,
            echo,
            file_dur: 4,
            file_warmup: 1,
            files,
        },
        Mode::Quick => Knobs {
            rounds: 3,
            dur: 1.0,
            warmup: 0.5,
            echo,
            file_dur: 1,
            file_warmup: 0,
            files,
        },
        Mode::Smoke => Knobs {
            rounds: 1,
            dur: 0.5,
            warmup: 0.2,
            echo,
            file_dur: 1,
            file_warmup: 0,
            files,
        },
    }
}

/// The echo and HTTP contenders, in run order (coring-epoll first: the
/// baseline of the table's ratio column); `epoll_name` is coring-epoll's
/// recorded name (see `NOT_EPOLL`).
fn net_servers(epoll_name: &'static str) -> [NetServer; 4] {
    [
        NetServer {
            name: epoll_name,
            server: "coring",
            env: EPOLL,
        },
        NetServer {
            name: "tokio",
            server: "tokio",
            env: &[],
        },
        NetServer {
            name: "monoio-epoll",
            server: "monoio-epoll",
            env: &[],
        },
        NetServer {
            name: "coring",
            server: "coring",
            env: URING,
        },
    ]
}

fn file_peers(epoll_name: &'static str, nginx: bool) -> Vec<Peer> {
    let mut v = vec![Peer::Coring {
        name: epoll_name,
        env: EPOLL,
    }];
    if nginx {
        v.push(Peer::Nginx);
    }
    v.push(Peer::Coring {
        name: "coring",
        env: URING,
    });
    v
}

pub fn run(ctx: &Ctx, g: &mut GroupResult) -> io::Result<()> {
    if let Some(v) = std::env::var_os(DRIVER).filter(|v| v != "uring") {
        return Err(io::Error::other(format!(
            "{DRIVER}={} is set in coring-bench's own environment: every child would inherit \
             it, the echo client (a coring program that must stay on io_uring) included; unset \
             it (this group sets it on each coring server's process alone)",
            v.to_string_lossy()
        )));
    }
    let k = knobs(ctx.mode);
    let bins = ctx.example(g, &["file_server", "echo_client"])?;
    let have_wrk = ensure_tool("wrk", "wrk");
    if !have_wrk {
        g.skipped
            .push("HTTP hello and file_server rows (wrk not installed and not installable)".into());
    }
    let have_nginx = have_wrk && ensure_tool("nginx", "nginx-light");
    if have_wrk && !have_nginx {
        g.skipped
            .push("nginx (not installed and not installable)".into());
    }
    // 512 connections: the servers inherit the raised limit.
    files::raise_nofile();
    let work = std::env::temp_dir().join(format!("coring-bench-epoll-{}", std::process::id()));
    files::write_files(&work.join("root"), &k.files)?;
    notes(ctx, g, &k);
    let net = Net::new(ctx, bins[1].clone(), k.dur, k.warmup)?;
    let f = Files {
        ctx,
        p: Plan {
            rounds: k.rounds,
            dur: k.file_dur,
            warmup: k.file_warmup,
            one_core: k.files.iter().map(|&f| (f, FILE_CONNS)).collect(),
            two_core: Vec::new(),
            rates: Vec::new(),
            rate_dur: 0.0,
        },
        work,
        coring: bins[0].clone(),
        client: bins[1].clone(),
        exe: std::env::current_exe()?,
    };
    let res = rounds(g, &k, &net, &f, have_wrk, have_nginx);
    let _ = std::fs::remove_dir_all(&f.work);
    res?;
    for m in &g.measurements {
        print_measurement(m);
    }
    Ok(())
}

fn rounds(
    g: &mut GroupResult,
    k: &Knobs,
    net: &Net,
    f: &Files,
    have_wrk: bool,
    have_nginx: bool,
) -> io::Result<()> {
    let (net_epoll, file_epoll) = driver_check(g, net, f)?;
    let servers = net_servers(net_epoll);
    let peers = file_peers(file_epoll, have_nginx);
    for round in 1..=k.rounds {
        println!("epoll: round {round} of {}", k.rounds);
        for &(conns, size) in &k.echo {
            for s in &servers {
                net.echo(g, s, conns, size, None)?;
            }
        }
        if have_wrk {
            for s in &servers {
                net.http(g, s)?;
            }
            for &file in &k.files {
                for &peer in &peers {
                    f.saturate(g, peer, file, FILE_CONNS, 1, round)?;
                }
            }
        }
    }
    Ok(())
}

/// io_uring and epoll instances `pid` holds (its fds' link targets).
fn event_fds(pid: u32) -> (usize, usize) {
    let (mut uring, mut epoll) = (0, 0);
    for e in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
    {
        match std::fs::read_link(e.path()) {
            Ok(t) if t.as_os_str() == "anon_inode:[io_uring]" => uring += 1,
            Ok(t) if t.as_os_str() == "anon_inode:[eventpoll]" => epoll += 1,
            _ => {}
        }
    }
    (uring, epoll)
}

/// Starts each coring server once (echo server and file_server, with each
/// driver setting) and records which driver it holds; returns the names
/// coring-epoll's echo/HTTP and file rows are recorded under.
fn driver_check(
    g: &mut GroupResult,
    net: &Net,
    f: &Files,
) -> io::Result<(&'static str, &'static str)> {
    let settle = Duration::from_millis(100);
    let mut seen = Vec::new();
    let mut names = ["coring-epoll"; 2];
    for (i, program) in ["echo server", "file_server"].into_iter().enumerate() {
        for (label, env) in [("coring-epoll", EPOLL), ("coring", URING)] {
            let (uring, epoll) = if i == 0 {
                let s = NetServer {
                    name: label,
                    server: "coring",
                    env,
                };
                let (srv, _) = net.server(g, &s, "echo", 1)?;
                std::thread::sleep(settle);
                event_fds(srv.pid())
            } else {
                let r = f.start(g, Peer::Coring { name: label, env }, 1)?;
                std::thread::sleep(settle);
                event_fds(r.cpu_pid)
            };
            seen.push(format!(
                "{label} {program} ({DRIVER}={}): {uring} io_uring, {epoll} epoll",
                env[0].1
            ));
            if env == EPOLL && epoll == 0 {
                names[i] = NOT_EPOLL;
                let msg = format!(
                    "the coring-epoll {program} held no epoll instance ({uring} io_uring): this \
                     coring build ignores {DRIVER} or has no epoll driver, so its rows measure \
                     io_uring and are recorded as \"{NOT_EPOLL}\" (the coring-epoll goals are \
                     not measured)"
                );
                println!("warning: {msg}");
                g.notes.push(msg);
            }
        }
    }
    g.notes.push(format!(
        "driver check, one start of each coring server, fds 100 ms after it accepted: {}",
        seen.join("; ")
    ));
    Ok((names[0], names[1]))
}

fn notes(ctx: &Ctx, g: &mut GroupResult, k: &Knobs) {
    g.notes.push(format!(
        "one core: servers pinned to CPU {}, the load (echo_client, wrk -t1) to CPU {}; echo {} s \
         measured after {} s warm-up, HTTP hello wrk -c64 for {} s, file_server {} s{} per run; \
         {} interleaved rounds, a fresh server per run",
        ctx.server_cpu,
        ctx.load_cpu,
        k.dur,
        k.warmup,
        k.dur.max(1.0).round(),
        k.file_dur,
        if k.file_warmup > 0 {
            format!(" after a {} s unrecorded wrk warm-up", k.file_warmup)
        } else {
            String::new()
        },
        k.rounds
    ));
    g.notes.push(format!(
        "contenders: coring-epoll = coring's server (echo/HTTP: `coring-bench serve --server \
         coring`; files: `examples/file_server`) started with {DRIVER}=epoll in its own \
         environment only; coring = the same server with {DRIVER}=uring; tokio = current-thread \
         (epoll); monoio-epoll = monoio's LegacyDriver (epoll); nginx as in the `files` group \
         (1 worker, sendfile); the echo client (a coring program) and wrk get no {DRIVER}, and \
         the harness refuses to run with it set in its own environment"
    ));
    g.notes.push(format!(
        "files: {} of random bytes (page-cached) at {FILE_CONNS} connections, `wrk -t1 \
         --latency`; a run with errors is left out (NaN)",
        k.files
            .iter()
            .map(|&i| FILES[i].2)
            .collect::<Vec<_>>()
            .join(" and ")
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_stay_within_their_budgets() {
        // Seconds of load per mode (server starts add ~0.1 s per run).
        let secs = |m: Mode| {
            let k = knobs(m);
            let echo = k.echo.len() as f64 * 4.0 * (k.dur + k.warmup);
            let http = 4.0 * k.dur.max(1.0).round();
            let files = k.files.len() as f64 * 3.0 * f64::from(k.file_dur + k.file_warmup);
            (echo + http + files) * k.rounds as f64
        };
        assert!(secs(Mode::Full) < 10.0 * 60.0, "{}", secs(Mode::Full));
        assert!(secs(Mode::Quick) < 1.5 * 60.0, "{}", secs(Mode::Quick));
        assert!(secs(Mode::Smoke) < 20.0, "{}", secs(Mode::Smoke));
        assert!(knobs(Mode::Full).rounds >= 3 && knobs(Mode::Quick).rounds >= 3);
    }

    #[test]
    fn coring_epoll_is_the_baseline_and_only_its_server_gets_epoll() {
        let s = net_servers("coring-epoll");
        assert_eq!(s[0].name, "coring-epoll");
        assert!(s
            .iter()
            .all(|s| (s.env == EPOLL) == (s.name == "coring-epoll")));
        assert_eq!(s.iter().filter(|s| s.env == URING).count(), 1);
        let p = file_peers("coring-epoll", true);
        assert_eq!(p[0].name(), "coring-epoll");
        assert_eq!(p.len(), 3);
    }
}
