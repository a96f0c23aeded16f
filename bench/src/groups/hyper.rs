//! `hyper`: hyper and axum on coring vs the same services on tokio.
//!
//! Contenders (fresh server process per run):
//! - axum: the `axum_hello` example (`coring::axum::serve` under the
//!   launcher) vs the same router on tokio (`coring-bench serve --server
//!   tokio-axum`, `axum::serve`);
//! - hyper: a plain hyper service through hyper-util's auto builder on
//!   coring (`coring-bench serve --server coring-hyper`,
//!   `coring::hyper::Server`) vs on tokio (`tokio-hyper`; same builder
//!   settings: 30 s header-read timeout, keep-alive, `TCP_NODELAY`);
//! - reference: coring's own httparse `http_hello` example (`GET /` only).
//!
//! 1. one core: coring 1 core vs tokio current-thread, each pinned to the
//!    server CPU, `wrk -t1 -c64 --latency` pinned to the load CPU:
//!    `GET /` and `POST /echo` (a 57-byte JSON body, wrk Lua script):
//!    requests/s and p99;
//! 2. two cores: coring 2 cores vs tokio multi-thread with 2 workers, no
//!    taskset, `wrk -t2 -c64` sharing the CPUs (scaling, not server-only
//!    capacity);
//! 3. server CPU per request at a fixed rate (one core): `echo_client
//!    --http /` paced on 64 connections, the server's utime + stime over
//!    the run ÷ requests.
//!
//! Contenders are interleaved, every one once per configuration per round.

use crate::groups::net::{field, run_wrk, Wrk};
use crate::harness::{
    cpu_seconds, ensure_tool, next_port, pinned, print_measurement, shown, Ctx, Mode, Server,
};
use crate::results::GroupResult;
use std::{io, path::PathBuf, process::Stdio, time::Duration};

/// The JSON body `POST /echo` sends.
const JSON: &str = r#"{"id":1,"name":"coring","tags":["a","b","c"],"ok":true}"#;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Framework {
    Axum,
    Hyper,
    /// coring's http_hello example (GET only).
    Reference,
}

impl Framework {
    fn label(self) -> &'static str {
        match self {
            Framework::Axum => "axum",
            Framework::Hyper => "hyper",
            Framework::Reference => "hyper",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Runtime {
    Coring,
    Tokio,
}

/// (framework, runtime) pairs, in run order (coring first: it is the
/// baseline of each measurement).
const CONTENDERS: &[(Framework, Runtime)] = &[
    (Framework::Axum, Runtime::Coring),
    (Framework::Axum, Runtime::Tokio),
    (Framework::Hyper, Runtime::Coring),
    (Framework::Hyper, Runtime::Tokio),
    (Framework::Reference, Runtime::Coring),
];

fn contender(f: Framework, r: Runtime, cores: usize) -> String {
    match (f, r) {
        (Framework::Reference, _) => "reference: coring http_hello (httparse)".into(),
        (_, Runtime::Coring) => "coring".into(),
        (_, Runtime::Tokio) if cores == 1 => "tokio current-thread".into(),
        (_, Runtime::Tokio) => format!("tokio multi-thread {cores} workers"),
    }
}

struct Plan {
    dur: u32,
    warmup: u32,
    rounds: usize,
    rate: u32,
    rate_dur: f64,
}

struct Hyper<'a> {
    ctx: &'a Ctx,
    p: Plan,
    exe: PathBuf,
    axum_hello: PathBuf,
    http_hello: PathBuf,
    client: PathBuf,
    lua: PathBuf,
}

pub fn run(ctx: &Ctx, g: &mut GroupResult) -> io::Result<()> {
    let p = match ctx.mode {
        Mode::Full => Plan {
            dur: 5,
            warmup: 1,
            rounds: 5,
            rate: 20_000,
            rate_dur: 5.0,
        },
        Mode::Quick => Plan {
            dur: 2,
            warmup: 1,
            rounds: 2,
            rate: 20_000,
            rate_dur: 2.0,
        },
        Mode::Smoke => Plan {
            dur: 1,
            warmup: 0,
            rounds: 1,
            rate: 2_000,
            rate_dur: 0.5,
        },
    };
    let axum_hello = ctx
        .example_with_features(g, &["axum_hello"], &["axum"])?
        .remove(0);
    let mut built = ctx.example(g, &["http_hello", "echo_client"])?;
    let client = built.remove(1);
    let http_hello = built.remove(0);
    let have_wrk = ensure_tool("wrk", "wrk");
    if !have_wrk {
        g.skipped
            .push("wrk runs (wrk not installed and not installable)".into());
    }
    let work = std::env::temp_dir().join(format!("coring-bench-hyper-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let lua = work.join("post_echo.lua");
    std::fs::write(
        &lua,
        format!(
            "wrk.method = \"POST\"\nwrk.body = '{JSON}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
        ),
    )?;
    g.command(format!(
        "# {}: wrk.method = \"POST\"; wrk.body = '{JSON}'; wrk.headers[\"Content-Type\"] = \"application/json\"",
        lua.display()
    ));
    g.notes.push(format!(
        "one core: servers pinned to CPU {}, wrk -t1 -c64 pinned to CPU {}; two cores: no taskset, \
         wrk -t2 -c64 on the same CPUs; {} s measured after {} s warm-up, {} interleaved rounds; \
         CPU = server utime+stime over the paced run ÷ its requests",
        ctx.server_cpu, ctx.load_cpu, p.dur, p.warmup, p.rounds
    ));
    let h = Hyper {
        ctx,
        p,
        exe: std::env::current_exe()?,
        axum_hello,
        http_hello,
        client,
        lua,
    };
    for round in 1..=h.p.rounds {
        println!("hyper: round {round} of {}", h.p.rounds);
        if have_wrk {
            for cores in [1, 2] {
                for post in [false, true] {
                    for &(f, r) in CONTENDERS {
                        if post && f == Framework::Reference {
                            continue; // http_hello answers GET only
                        }
                        h.saturate(g, f, r, cores, post)?;
                    }
                }
            }
        }
        for &(f, r) in CONTENDERS {
            h.fixed_rate(g, f, r)?;
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    for m in &g.measurements {
        print_measurement(m);
    }
    Ok(())
}

impl Hyper<'_> {
    fn start(
        &self,
        g: &mut GroupResult,
        f: Framework,
        r: Runtime,
        cores: usize,
    ) -> io::Result<(Server, u16)> {
        let port = next_port();
        let pin = (cores == 1).then_some(self.ctx.server_cpu);
        let p = port.to_string();
        let c = cores.to_string();
        let (cmd, line) = match (f, r) {
            (Framework::Axum, Runtime::Coring) => {
                pinned(pin, &self.axum_hello, &[p, "--cores".into(), c])
            }
            (Framework::Reference, _) => pinned(pin, &self.http_hello, &[p, "--cores".into(), c]),
            (f, r) => {
                let server = match (f, r) {
                    (Framework::Hyper, Runtime::Coring) => "coring-hyper",
                    (Framework::Hyper, Runtime::Tokio) => "tokio-hyper",
                    _ => "tokio-axum",
                };
                let args: Vec<String> =
                    ["serve", "--server", server, "--port", &p, "--threads", &c]
                        .iter()
                        .map(|s| s.to_string())
                        .collect();
                pinned(pin, &self.exe, &args)
            }
        };
        g.command(shown(&line, port));
        let srv = Server::start(cmd, port)?;
        if cores > 1 {
            // Every core binds its own listener: let them all.
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok((srv, port))
    }

    fn wrk(
        &self,
        g: &mut GroupResult,
        port: u16,
        cores: usize,
        secs: u32,
        post: bool,
    ) -> io::Result<Wrk> {
        let mut args: Vec<String> = vec![
            format!("-t{cores}"),
            "-c64".into(),
            format!("-d{secs}s"),
            "--latency".into(),
        ];
        if post {
            args.extend(["-s".into(), self.lua.display().to_string()]);
        }
        args.push(format!(
            "http://127.0.0.1:{port}/{}",
            if post { "echo" } else { "" }
        ));
        run_wrk(g, (cores == 1).then_some(self.ctx.load_cpu), &args, port)
    }

    fn saturate(
        &self,
        g: &mut GroupResult,
        f: Framework,
        r: Runtime,
        cores: usize,
        post: bool,
    ) -> io::Result<()> {
        let (srv, port) = self.start(g, f, r, cores)?;
        if self.p.warmup > 0 {
            self.wrk(g, port, cores, self.p.warmup, post)?;
        }
        let w = self.wrk(g, port, cores, self.p.dur, post)?;
        drop(srv);
        let prefix = if cores > 1 { "two-core " } else { "one core " };
        let req = if post { "POST /echo" } else { "GET /" };
        let cfg = format!("{prefix}{} {req}, wrk -c64", f.label());
        let name = contender(f, r, cores);
        let ok = w.non2xx + w.socket_errors == 0.0 && w.requests > 0.0;
        if !ok {
            g.notes.push(format!(
                "{name} {cfg}: {} requests, {} non-2xx, {} socket errors: sample left out",
                w.requests, w.non2xx, w.socket_errors
            ));
        }
        let v = |x: f64| if ok { x } else { f64::NAN };
        g.add(
            &format!("{cfg}: requests/s"),
            "req/s",
            true,
            &name,
            v(w.rps),
        );
        g.add(
            &format!("{cfg}: p99 latency"),
            "µs",
            false,
            &name,
            v(w.p99_us),
        );
        Ok(())
    }

    fn fixed_rate(&self, g: &mut GroupResult, f: Framework, r: Runtime) -> io::Result<()> {
        let (srv, port) = self.start(g, f, r, 1)?;
        let args: Vec<String> = vec![
            format!("127.0.0.1:{port}"),
            "--http".into(),
            "/".into(),
            "--conns".into(),
            "64".into(),
            "--rate".into(),
            self.p.rate.to_string(),
            "--duration".into(),
            self.p.rate_dur.to_string(),
            "--warmup".into(),
            "0".into(),
        ];
        let (mut cmd, line) = pinned(Some(self.ctx.load_cpu), &self.client, &args);
        g.command(shown(&line, port));
        let child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let a = cpu_seconds(srv.pid());
        let out = child.wait_with_output()?;
        let b = cpu_seconds(srv.pid());
        drop(srv);
        let text = String::from_utf8_lossy(&out.stdout);
        let res = text.lines().find(|l| l.starts_with("RESULT")).unwrap_or("");
        let requests = field(res, "requests");
        let bad = field(res, "errors") + field(res, "non2xx");
        let name = contender(f, r, 1);
        let cfg = format!("one core {} GET / at {} req/s", f.label(), self.p.rate);
        let ok = requests > 0.0 && bad == 0.0;
        if !ok {
            g.notes
                .push(format!("{name} {cfg}: {res:?}: sample left out"));
        }
        let cpu_us = if ok {
            (b - a) * 1e6 / requests
        } else {
            f64::NAN
        };
        g.add(
            &format!("{cfg}: server CPU per request"),
            "µs/req",
            false,
            &name,
            cpu_us,
        );
        g.add(
            &format!("{cfg}: p99 latency"),
            "µs",
            false,
            &name,
            if ok { field(res, "p99_us") } else { f64::NAN },
        );
        Ok(())
    }
}
