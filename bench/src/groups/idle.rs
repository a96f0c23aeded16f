//! `idle`: RSS per idle keep-alive connection and new-connection latency
//! while they wait (what `benches/idle_memory.sh` did): coring's
//! file_server (default ring, and the 64/128 floor ring under a 12 KiB
//! memlock limit without `CAP_IPC_LOCK`) and echo examples vs nginx (one
//! worker; nginx-light installed with apt when missing).
//!
//! Each server runs pinned to the server CPU; the client is a thread of
//! this process pinned to the load CPU. Each server is warmed up (4,000
//! requests on 8 connections, so fixed pools such as coring's buffer ring
//! are already touched), then N connections are opened, each makes one
//! request (a 1 KiB file; one byte for echo) and stays open; the server's
//! RSS growth ÷ N is the cost of one idle connection. While they wait, 200
//! new connections each make one request (p50/p99 of connect + request +
//! response), then every idle connection is used once more.

use crate::harness::{ensure_tool, next_port, pinned, print_measurement, rss_bytes, Ctx, Server};
use crate::results::GroupResult;
use std::{
    io::{self, Read, Write},
    net::TcpStream,
    path::Path,
    time::{Duration, Instant},
};

pub fn run(ctx: &Ctx, g: &mut GroupResult) -> io::Result<()> {
    let n: usize = ctx.mode.pick(10_000, 1_000, 200);
    let warm: usize = ctx.mode.pick(500, 200, 20);
    let rounds = ctx.mode.rounds(3);
    let bins = ctx.example(g, &["file_server", "echo"])?;
    let have_nginx = ensure_tool("nginx", "nginx-light");
    if !have_nginx {
        g.skipped
            .push("nginx (not installed and not installable)".into());
    }
    // SAFETY: getrlimit/setrlimit with valid structs; children inherit.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
    let work = std::env::temp_dir().join(format!("coring-bench-idle-{}", std::process::id()));
    std::fs::create_dir_all(work.join("root"))?;
    let body: Vec<u8> = (0..1024u32).map(|i| (i * 7 + 13) as u8).collect();
    std::fs::write(work.join("root/1k.bin"), &body)?;
    g.notes.push(format!(
        "{n} idle connections per run, {rounds} interleaved rounds; servers on CPU {}, client \
         (a thread of coring-bench) on CPU {}; warm-up {} requests on 8 connections; 200 new \
         connections measured while the idle ones wait",
        ctx.server_cpu,
        ctx.load_cpu,
        8 * warm
    ));
    for _ in 0..rounds {
        if have_nginx {
            let port = next_port();
            let conf = nginx_conf(&work, port)?;
            let (cmd, line) = pinned(
                Some(ctx.server_cpu),
                Path::new("nginx"),
                &["-c".into(), conf.display().to_string()],
            );
            g.command(line.replace(&port.to_string(), "$PORT"));
            let srv = Server::start(cmd, port)?;
            let worker = nginx_worker(srv.pid()).unwrap_or(srv.pid());
            let r = measure(ctx, port, worker, n, warm, true)?;
            drop(srv);
            record(g, "nginx (1 worker)", r, n);
        }
        for (name, bin, floor) in [
            ("coring file_server", &bins[0], false),
            ("coring file_server, 64/128 ring", &bins[0], true),
            ("coring echo example", &bins[1], false),
        ] {
            let port = next_port();
            let http = !bin.ends_with("echo");
            let mut args: Vec<String> = vec![port.to_string()];
            if http {
                args.extend(["--dir".into(), work.join("root").display().to_string()]);
            }
            let (cmd, line) = if floor {
                // The floor ring: 12 KiB of memlock and no CAP_IPC_LOCK.
                let mut wrapped: Vec<String> = [
                    "prlimit",
                    "--memlock=12288:12288",
                    "setpriv",
                    "--bounding-set=-ipc_lock",
                    "--inh-caps=-ipc_lock",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect();
                wrapped.push(bin.display().to_string());
                wrapped.extend(args);
                pinned(Some(ctx.server_cpu), Path::new(&wrapped[0]), &wrapped[1..])
            } else {
                pinned(Some(ctx.server_cpu), bin, &args)
            };
            g.command(line.replace(&port.to_string(), "$PORT"));
            let log_path = work.join("server.log");
            let srv = Server::start_logged(cmd, port, Some(std::fs::File::create(&log_path)?))?;
            // prlimit and setpriv exec the server: the pid is the server's.
            let r = measure(ctx, port, srv.pid(), n, warm, http)?;
            drop(srv);
            if floor {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                let granted = log
                    .lines()
                    .any(|l| l.contains("ring ready") && l.contains("64") && l.contains("128"));
                if !granted {
                    g.skipped.push(format!(
                        "{name}: the floor ring was not granted (log: {})",
                        log.lines().next().unwrap_or("")
                    ));
                }
            }
            record(g, name, r, n);
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    for m in &g.measurements {
        print_measurement(m);
    }
    Ok(())
}

struct Idle {
    bytes_per_conn: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn record(g: &mut GroupResult, name: &str, r: Idle, n: usize) {
    g.add(
        &format!("RSS per idle connection ({n} idle)"),
        "bytes",
        false,
        name,
        r.bytes_per_conn,
    );
    g.add(
        &format!("new connection + request, p50 ({n} idle)"),
        "ms",
        false,
        name,
        r.p50_ms,
    );
    g.add(
        &format!("new connection + request, p99 ({n} idle)"),
        "ms",
        false,
        name,
        r.p99_ms,
    );
}

fn nginx_conf(work: &Path, port: u16) -> io::Result<std::path::PathBuf> {
    let w = work.display();
    let conf = format!(
        "worker_processes 1;\nworker_rlimit_nofile 65536;\ndaemon off;\nmaster_process on;\n\
         pid {w}/nginx.pid;\nerror_log {w}/error.log;\nevents {{ worker_connections 65536; }}\n\
         http {{\n  access_log off;\n  sendfile on; tcp_nopush on; tcp_nodelay on;\n  \
         keepalive_timeout 300s; keepalive_requests 100000;\n  \
         server {{ listen 127.0.0.1:{port} reuseport; root {w}/root; }}\n}}\n"
    );
    let path = work.join("nginx.conf");
    std::fs::write(&path, conf)?;
    Ok(path)
}

/// The first child of nginx's master: its one worker.
pub(crate) fn nginx_worker(master: u32) -> Option<u32> {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(2) {
        let kids =
            std::fs::read_to_string(format!("/proc/{master}/task/{master}/children")).ok()?;
        if let Some(pid) = kids.split_whitespace().next().and_then(|p| p.parse().ok()) {
            return Some(pid);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

fn connect(port: u16) -> io::Result<TcpStream> {
    let s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    Ok(s)
}

/// One request and its whole response.
fn exchange(s: &mut TcpStream, http: bool) -> io::Result<()> {
    if !http {
        s.write_all(b"x")?;
        let mut b = [0u8; 1];
        s.read_exact(&mut b)?;
        return Ok(());
    }
    s.write_all(b"GET /1k.bin HTTP/1.1\r\nHost: x\r\n\r\n")?;
    let mut got = Vec::with_capacity(2048);
    let mut buf = [0u8; 4096];
    let head_end = loop {
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed mid-response",
            ));
        }
        got.extend_from_slice(&buf[..n]);
        if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&got[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| io::Error::other("no content-length"))?;
    let mut have = got.len() - head_end;
    while have < len {
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed mid-body",
            ));
        }
        have += n;
    }
    Ok(())
}

/// The client side of one run, on a thread pinned to the load CPU.
fn measure(ctx: &Ctx, port: u16, pid: u32, n: usize, warm: usize, http: bool) -> io::Result<Idle> {
    let cpu = ctx.load_cpu;
    std::thread::scope(|sc| {
        sc.spawn(move || -> io::Result<Idle> {
            crate::harness::pin_thread(cpu)?;
            for _ in 0..8 {
                let mut s = connect(port)?;
                for _ in 0..warm {
                    exchange(&mut s, http)?;
                }
            }
            std::thread::sleep(Duration::from_millis(500));
            let before = rss_bytes(pid);
            let mut idle = Vec::with_capacity(n);
            for _ in 0..n {
                let mut s = connect(port)?;
                exchange(&mut s, http)?;
                idle.push(s);
            }
            std::thread::sleep(Duration::from_secs(1));
            let after = rss_bytes(pid);
            let mut lat: Vec<f64> = (0..200)
                .map(|_| {
                    let t = Instant::now();
                    let mut s = connect(port)?;
                    exchange(&mut s, http)?;
                    Ok(t.elapsed().as_secs_f64() * 1e3)
                })
                .collect::<io::Result<_>>()?;
            lat.sort_by(|a, b| a.total_cmp(b));
            for s in &mut idle {
                exchange(s, http)?; // every idle connection is still served
            }
            Ok(Idle {
                bytes_per_conn: (after as f64 - before as f64) / n as f64,
                p50_ms: lat[100],
                p99_ms: lat[197],
            })
        })
        .join()
        .expect("idle client thread panicked")
    })
}
