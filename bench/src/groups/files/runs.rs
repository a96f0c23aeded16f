//! The `files` group's runs: starting a contender, one wrk run at
//! saturation, one paced run for CPU per request (`start` and `saturate`
//! are also the `epoll` group's file-server runs).

use super::{Peer, Plan, FILES, M64, M64_EXTRA};
use crate::groups::idle::nginx_worker;
use crate::groups::net::{field, run_wrk, Wrk};
use crate::harness::{cpu_seconds, next_port, pinned, shown, with_env, Ctx, Server};
use crate::results::GroupResult;
use std::{
    io,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

/// A running contender: the server and the pid whose CPU is counted.
pub(crate) struct Running {
    _srv: Server,
    pub port: u16,
    pub cpu_pid: u32,
}

pub(crate) struct Files<'a> {
    pub ctx: &'a Ctx,
    pub p: Plan,
    pub work: PathBuf,
    pub coring: PathBuf,
    pub client: PathBuf,
    pub exe: PathBuf,
}

impl Files<'_> {
    pub fn rounds(&self, g: &mut GroupResult, peers: &[Peer], have_wrk: bool) -> io::Result<()> {
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
    pub(crate) fn start(
        &self,
        g: &mut GroupResult,
        peer: Peer,
        cores: usize,
    ) -> io::Result<Running> {
        let port = next_port();
        let root = self.work.join("root").display().to_string();
        let pin = (cores == 1).then_some(self.ctx.server_cpu);
        let (cmd, line) = match peer {
            Peer::Coring { env, .. } => {
                let mut args = vec![port.to_string(), "--dir".into(), root];
                if cores > 1 {
                    args.extend(["--cores".into(), cores.to_string()]);
                }
                with_env(pinned(pin, &self.coring, &args), env)
            }
            Peer::Nginx => {
                let conf = self.nginx_conf(g, port, cores)?;
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

    /// Writes nginx's config (recorded, flattened, with the commands).
    fn nginx_conf(&self, g: &mut GroupResult, port: u16, workers: usize) -> io::Result<String> {
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
        std::fs::write(&path, &conf)?;
        g.command(format!(
            "# {}: {}",
            path.display(),
            conf.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .replace(&format!(":{port} "), ":$PORT ")
        ));
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
        run_wrk(g, (threads == 1).then_some(self.ctx.load_cpu), &args, port)
    }

    /// One wrk run of `file` on `conns` connections against a fresh
    /// `peer` with `cores` threads (after the plan's warm-up run, if any):
    /// requests/s, transfer and p99, NaN for a run with errors.
    pub(crate) fn saturate(
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
        let secs = self.p.dur + if file == M64 { M64_EXTRA } else { 0 };
        let w = self.wrk(g, srv.port, file, conns, cores, secs)?;
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
