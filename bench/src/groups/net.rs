//! `net`: the network comparison (what `benches/net_compare.sh` and
//! `benches/net_compare_2core.sh` did). The servers are this binary's
//! `serve` subcommand (coring, monoio, tokio); every run starts a fresh
//! server process.
//!
//! 1. echo ping-pong at saturation: the server pinned to the server CPU,
//!    `examples/echo_client` (a coring client) pinned to the load CPU;
//!    req/s, p50/p99 latency, and the server's CPU time per request over
//!    the measured window (utime + stime from `/proc/<pid>/stat`);
//! 2. server CPU per request at fixed rates below saturation (64 × 128 B);
//! 3. HTTP/1.1 hello under `wrk -t1 -c64 --latency` (installed with apt
//!    when missing): req/s, p50/p99, server CPU per request;
//! 4. two-core echo: 2 server threads per runtime, no taskset, the client
//!    on the same CPUs (req/s include the client's CPU cost).
//!
//! Servers are interleaved: every round runs coring, monoio, tokio in turn
//! for every configuration.

use crate::harness::{
    cpu_seconds, ensure_tool, next_port, pinned, print_measurement, shown, with_env, Ctx, Server,
};
use crate::results::GroupResult;
use std::{io, path::PathBuf, process::Stdio, time::Duration};

const SERVERS: &[NetServer] = &[
    NetServer::plain("coring"),
    NetServer::plain("monoio"),
    NetServer::plain("tokio"),
];

/// One server contender: `coring-bench serve --server <server>`, recorded
/// as `name`, with `env` set on the server process only (`with_env`; the
/// echo client and wrk never see it).
pub(crate) struct NetServer {
    pub name: &'static str,
    pub server: &'static str,
    pub env: &'static [(&'static str, &'static str)],
}

impl NetServer {
    const fn plain(server: &'static str) -> NetServer {
        NetServer {
            name: server,
            server,
            env: &[],
        }
    }
}

struct Knobs {
    dur: f64,
    warmup: f64,
    rounds: usize,
    configs: Vec<(usize, usize)>,
    rates: Vec<u32>,
    two_core: Vec<(usize, usize)>,
}

pub fn run(ctx: &Ctx, g: &mut GroupResult) -> io::Result<()> {
    let k = match ctx.mode {
        crate::harness::Mode::Full => Knobs {
            dur: 5.0,
            warmup: 1.0,
            rounds: 5,
            configs: vec![(64, 128), (64, 1024), (512, 128), (512, 1024)],
            rates: vec![40_000, 80_000],
            two_core: vec![(64, 128), (512, 128)],
        },
        crate::harness::Mode::Quick => Knobs {
            dur: 1.0,
            warmup: 0.5,
            rounds: 3,
            configs: vec![(64, 128)],
            rates: vec![40_000],
            two_core: vec![(64, 128)],
        },
        crate::harness::Mode::Smoke => Knobs {
            dur: 0.5,
            warmup: 0.2,
            rounds: 1,
            configs: vec![(64, 128)],
            rates: vec![20_000],
            two_core: vec![(64, 128)],
        },
    };
    let client = ctx.example(g, &["echo_client"])?.remove(0);
    let exe = std::env::current_exe()?;
    let have_wrk = ensure_tool("wrk", "wrk");
    if !have_wrk {
        g.skipped
            .push("HTTP hello (wrk not installed and not installable)".into());
    }
    // SAFETY: setrlimit with a valid struct; failure is harmless.
    unsafe {
        let lim = libc::rlimit {
            rlim_cur: 65536,
            rlim_max: 65536,
        };
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
    g.notes.push(format!(
        "servers (`coring-bench serve`) pinned to CPU {}, load (echo_client, wrk -t1) to CPU {}; \
         {} s measured after {} s warm-up, {} interleaved rounds; TCP_NODELAY, runtime defaults; \
         CPU = server utime+stime over the measured window ÷ requests counted in it",
        ctx.server_cpu, ctx.load_cpu, k.dur, k.warmup, k.rounds
    ));
    g.notes.push(
        "two-core echo: no taskset; coring and monoio pin their 2 threads, tokio (2 workers) does \
         not; the client shares the CPUs, so its req/s are not server-only capacity"
            .into(),
    );
    let n = Net {
        ctx,
        exe,
        client,
        k,
    };
    for _ in 0..n.k.rounds {
        for &(conns, size) in &n.k.configs {
            for s in SERVERS {
                n.echo(g, s, conns, size, None)?;
            }
        }
        for &rate in &n.k.rates {
            for s in SERVERS {
                n.echo(g, s, 64, 128, Some(rate))?;
            }
        }
        if have_wrk {
            for s in SERVERS {
                n.http(g, s)?;
            }
        }
        for &(conns, size) in &n.k.two_core {
            for s in SERVERS {
                n.two_core(g, s, conns, size)?;
            }
        }
    }
    for m in &g.measurements {
        print_measurement(m);
    }
    Ok(())
}

/// The echo and HTTP runs against one server contender (also used by the
/// `epoll` group through `Net::new`).
pub(crate) struct Net<'a> {
    ctx: &'a Ctx,
    exe: PathBuf,
    client: PathBuf,
    k: Knobs,
}

/// `key=value` from the client's `RESULT ...` line.
pub(crate) fn field(line: &str, key: &str) -> f64 {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Runs `wrk` with `args` (pinned to `pin` if given), records the command
/// and parses its report.
pub(crate) fn run_wrk(
    g: &mut GroupResult,
    pin: Option<usize>,
    args: &[String],
    port: u16,
) -> io::Result<Wrk> {
    let (mut cmd, line) = pinned(pin, std::path::Path::new("wrk"), args);
    g.command(shown(&line, port));
    let out = cmd.stderr(Stdio::inherit()).output()?;
    Ok(parse_wrk(&String::from_utf8_lossy(&out.stdout)))
}

impl<'a> Net<'a> {
    /// Echo and HTTP runs of `dur` seconds (echo: after `warmup` seconds)
    /// with `client` (the echo_client example), for another group.
    pub(crate) fn new(ctx: &'a Ctx, client: PathBuf, dur: f64, warmup: f64) -> io::Result<Self> {
        Ok(Net {
            ctx,
            exe: std::env::current_exe()?,
            client,
            k: Knobs {
                dur,
                warmup,
                rounds: 1,
                configs: Vec::new(),
                rates: Vec::new(),
                two_core: Vec::new(),
            },
        })
    }

    /// Starts `s` (`mode` echo or http) on a fresh port: one thread pinned
    /// to the server CPU, or `threads` unpinned.
    pub(crate) fn server(
        &self,
        g: &mut GroupResult,
        s: &NetServer,
        mode: &str,
        threads: usize,
    ) -> io::Result<(Server, u16)> {
        let port = next_port();
        let args: Vec<String> = [
            "serve",
            "--server",
            s.server,
            "--mode",
            mode,
            "--port",
            &port.to_string(),
        ]
        .iter()
        .map(|a| a.to_string())
        .chain(
            (threads > 1)
                .then(|| ["--threads".to_string(), threads.to_string()])
                .into_iter()
                .flatten(),
        )
        .collect();
        let cpu = (threads == 1).then_some(self.ctx.server_cpu);
        let (cmd, line) = with_env(pinned(cpu, &self.exe, &args), s.env);
        g.command(shown(&line, port));
        Ok((Server::start(cmd, port)?, port))
    }

    /// Runs echo_client against `port`; returns its RESULT line and the
    /// server CPU seconds over the measured window.
    fn client(
        &self,
        g: &mut GroupResult,
        port: u16,
        spid: u32,
        args: &[String],
        cpu: Option<usize>,
    ) -> io::Result<(String, f64)> {
        let mut all = vec![format!("127.0.0.1:{port}")];
        all.extend(args.iter().cloned());
        let (mut cmd, line) = pinned(cpu, &self.client, &all);
        g.command(shown(&line, port));
        let child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let warm = all
            .iter()
            .position(|a| a == "--warmup")
            .and_then(|i| all[i + 1].parse::<f64>().ok())
            .unwrap_or(0.0);
        std::thread::sleep(Duration::from_secs_f64(warm));
        let a = cpu_seconds(spid);
        let out = child.wait_with_output()?;
        let b = cpu_seconds(spid);
        let text = String::from_utf8_lossy(&out.stdout);
        let result = text
            .lines()
            .find(|l| l.starts_with("RESULT"))
            .ok_or_else(|| io::Error::other(format!("echo_client printed no RESULT: {text}")))?
            .to_string();
        Ok((result, b - a))
    }

    /// One echo run (at saturation, or paced at `rate`), recorded under
    /// `s.name`.
    pub(crate) fn echo(
        &self,
        g: &mut GroupResult,
        s: &NetServer,
        conns: usize,
        size: usize,
        rate: Option<u32>,
    ) -> io::Result<()> {
        let (srv, port) = self.server(g, s, "echo", 1)?;
        let mut args: Vec<String> = vec![
            "--conns".into(),
            conns.to_string(),
            "--size".into(),
            size.to_string(),
            "--duration".into(),
            self.k.dur.to_string(),
            "--warmup".into(),
            if rate.is_some() {
                "0".into()
            } else {
                self.k.warmup.to_string()
            },
        ];
        if let Some(r) = rate {
            args.extend(["--rate".into(), r.to_string()]);
        }
        let (r, cpu) = self.client(g, port, srv.pid(), &args, Some(self.ctx.load_cpu))?;
        drop(srv);
        let s = s.name;
        let requests = field(&r, "requests");
        let errors = field(&r, "errors");
        if errors > 0.0 {
            g.notes.push(format!(
                "{s} echo {conns}x{size} {rate:?}: {errors} client errors"
            ));
        }
        let cpu_us = cpu * 1e6 / requests;
        let cfg = format!("{conns}×{size} B");
        match rate {
            None => {
                g.add(
                    &format!("echo {cfg}: throughput"),
                    "req/s",
                    true,
                    s,
                    field(&r, "rps"),
                );
                g.add(
                    &format!("echo {cfg}: p50 latency at saturation"),
                    "µs",
                    false,
                    s,
                    field(&r, "p50_us"),
                );
                g.add(
                    &format!("echo {cfg}: p99 latency at saturation"),
                    "µs",
                    false,
                    s,
                    field(&r, "p99_us"),
                );
                g.add(
                    &format!("echo {cfg}: server CPU per request at saturation"),
                    "µs/req",
                    false,
                    s,
                    cpu_us,
                );
            }
            Some(rate) => {
                g.add(
                    &format!("echo {cfg} at {rate} req/s: server CPU per request"),
                    "µs/req",
                    false,
                    s,
                    cpu_us,
                );
                g.add(
                    &format!("echo {cfg} at {rate} req/s: p50 latency"),
                    "µs",
                    false,
                    s,
                    field(&r, "p50_us"),
                );
                g.add(
                    &format!("echo {cfg} at {rate} req/s: p99 latency"),
                    "µs",
                    false,
                    s,
                    field(&r, "p99_us"),
                );
            }
        }
        Ok(())
    }

    /// One `wrk -t1 -c64` run of HTTP hello, recorded under `s.name`.
    pub(crate) fn http(&self, g: &mut GroupResult, s: &NetServer) -> io::Result<()> {
        let (srv, port) = self.server(g, s, "http", 1)?;
        let dur = format!("{}s", self.k.dur.max(1.0).round());
        let args: Vec<String> = [
            "-t1",
            "-c64",
            "--latency",
            "-d",
            &dur,
            &format!("http://127.0.0.1:{port}/"),
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        let (mut cmd, line) = pinned(Some(self.ctx.load_cpu), std::path::Path::new("wrk"), &args);
        g.command(shown(&line, port));
        let a = cpu_seconds(srv.pid());
        let out = cmd.stderr(Stdio::inherit()).output()?;
        let b = cpu_seconds(srv.pid());
        drop(srv);
        let text = String::from_utf8_lossy(&out.stdout);
        let w = parse_wrk(&text);
        let s = s.name;
        g.add("HTTP hello, wrk -c64: throughput", "req/s", true, s, w.rps);
        g.add(
            "HTTP hello, wrk -c64: p50 latency",
            "µs",
            false,
            s,
            w.p50_us,
        );
        g.add(
            "HTTP hello, wrk -c64: p99 latency",
            "µs",
            false,
            s,
            w.p99_us,
        );
        g.add(
            "HTTP hello, wrk -c64: server CPU per request",
            "µs/req",
            false,
            s,
            (b - a) * 1e6 / w.requests,
        );
        Ok(())
    }

    fn two_core(
        &self,
        g: &mut GroupResult,
        s: &NetServer,
        conns: usize,
        size: usize,
    ) -> io::Result<()> {
        let (srv, port) = self.server(g, s, "echo", 2)?;
        let args: Vec<String> = [
            "--conns",
            &conns.to_string(),
            "--size",
            &size.to_string(),
            "--duration",
            &self.k.dur.to_string(),
            "--warmup",
            &self.k.warmup.to_string(),
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        let (r, _) = self.client(g, port, srv.pid(), &args, None)?;
        drop(srv);
        g.add(
            &format!("two-core echo {conns}×{size} B: throughput"),
            "req/s",
            true,
            s.name,
            field(&r, "rps"),
        );
        Ok(())
    }
}

#[derive(Debug, PartialEq)]
pub(crate) struct Wrk {
    pub rps: f64,
    pub requests: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    /// `Transfer/sec`, MiB/s (wrk's KB/MB/GB are binary).
    pub transfer_mib_s: f64,
    /// `Non-2xx or 3xx responses`, and the sum of `Socket errors` (connect,
    /// read, write, timeout); 0 when wrk printed no such line.
    pub non2xx: f64,
    pub socket_errors: f64,
}

/// Requests/sec, the request count, the 50%/99% latencies, transfer/s and
/// the error counts of `wrk --latency` output.
pub(crate) fn parse_wrk(text: &str) -> Wrk {
    let us = |v: &str| -> f64 {
        let (num, mult) = if let Some(n) = v.strip_suffix("us") {
            (n, 1.0)
        } else if let Some(n) = v.strip_suffix("ms") {
            (n, 1e3)
        } else if let Some(n) = v.strip_suffix('s') {
            (n, 1e6)
        } else {
            (v, f64::NAN)
        };
        num.parse::<f64>().map_or(f64::NAN, |x| x * mult)
    };
    let mib = |v: &str| -> f64 {
        let units = [
            ("TB", 1048576.0),
            ("GB", 1024.0),
            ("MB", 1.0),
            ("KB", 1.0 / 1024.0),
        ];
        let (num, mult) = units
            .iter()
            .find_map(|(u, m)| v.strip_suffix(u).map(|n| (n, *m)))
            .or_else(|| v.strip_suffix('B').map(|n| (n, 1.0 / 1048576.0)))
            .unwrap_or((v, f64::NAN));
        num.parse::<f64>().map_or(f64::NAN, |x| x * mult)
    };
    let count = |v: &str| v.trim_end_matches(',').parse::<f64>().unwrap_or(f64::NAN);
    let mut w = Wrk {
        rps: f64::NAN,
        requests: f64::NAN,
        p50_us: f64::NAN,
        p99_us: f64::NAN,
        transfer_mib_s: f64::NAN,
        non2xx: 0.0,
        socket_errors: 0.0,
    };
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            ["Requests/sec:", v, ..] => w.rps = v.parse().unwrap_or(f64::NAN),
            [n, "requests", "in", ..] => w.requests = n.parse().unwrap_or(f64::NAN),
            ["50%", v] => w.p50_us = us(v),
            ["99%", v] => w.p99_us = us(v),
            ["Transfer/sec:", v] => w.transfer_mib_s = mib(v),
            ["Non-2xx", "or", "3xx", "responses:", n] => w.non2xx = count(n),
            ["Socket", "errors:", "connect", c, "read", r, "write", wr, "timeout", t] => {
                w.socket_errors = [c, r, wr, t].iter().map(|v| count(v)).sum();
            }
            _ => {}
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_output_parses() {
        let text = "Running 1s test @ http://127.0.0.1:1/\n  1 threads and 64 connections\n\
            \x20 Latency Distribution\n     50%  412.00us\n     75%  500.00us\n     99%    1.25ms\n\
            \x20 51234 requests in 1.00s, 4.5MB read\nRequests/sec:  51200.12\n";
        let w = parse_wrk(text);
        assert_eq!(w.requests, 51234.0);
        assert_eq!(w.rps, 51200.12);
        assert_eq!(w.p50_us, 412.0);
        assert_eq!(w.p99_us, 1250.0);
        assert!(w.transfer_mib_s.is_nan());
        assert_eq!((w.non2xx, w.socket_errors), (0.0, 0.0));
    }

    #[test]
    fn wrk_errors_and_transfer_parse() {
        let text = "  812 requests in 4.00s, 50.75GB read\n\
            \x20 Socket errors: connect 0, read 3, write 0, timeout 2\n\
            \x20 Non-2xx or 3xx responses: 7\nRequests/sec:    203.00\nTransfer/sec:     12.69GB\n";
        let w = parse_wrk(text);
        assert_eq!(w.requests, 812.0);
        assert_eq!(w.socket_errors, 5.0);
        assert_eq!(w.non2xx, 7.0);
        assert!((w.transfer_mib_s - 12.69 * 1024.0).abs() < 1e-6);
        assert!((parse_wrk("Transfer/sec:    512.00KB\n").transfer_mib_s - 0.5).abs() < 1e-9);
    }

    #[test]
    fn result_fields_parse() {
        let r = "RESULT rps=100 p50_us=12.5 p99_us=40.0 requests=500 errors=0";
        assert_eq!(field(r, "rps"), 100.0);
        assert_eq!(field(r, "p99_us"), 40.0);
        assert!(field(r, "nope").is_nan());
    }
}
