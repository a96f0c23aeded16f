//! Echo load client: N connections each sending a message and waiting for
//! it to come back (ping-pong), for a duration; prints requests/s and
//! latency percentiles. With `--rate R` the connections together send R
//! requests/s (paced) instead of as many as possible. With `--http PATH`
//! each request is an HTTP/1.1 `GET PATH` on the keep-alive connection
//! instead (the response read to the end of its Content-Length body;
//! `--size` is ignored), for fixed-rate load on an HTTP server.
//!
//! `cargo run --release --example echo_client -- 127.0.0.1:7878 --conns 64
//! --size 128 --duration 10 [--warmup 1] [--rate 50000]`
//!
//! The last line is machine-readable:
//! `RESULT rps=... p50_us=... p99_us=... requests=... errors=... non2xx=...`
//! (`errors`: connections that failed; `non2xx`: HTTP responses whose
//! status was not 2xx, counted in `requests` too).

use coring::buf::IoBuf;
use coring::io::{OwnedRead, OwnedWrite};
use coring::net::TcpStream;
use std::{
    cell::RefCell,
    io,
    net::SocketAddr,
    rc::Rc,
    time::{Duration, Instant},
};

struct Opts {
    addr: SocketAddr,
    conns: usize,
    size: usize,
    duration: Duration,
    warmup: Duration,
    rate: Option<f64>,
    /// `--http PATH`: GET this path instead of echoing.
    http: Option<String>,
}

const USAGE: &str = "usage: echo_client [IP:PORT] [--conns N] [--size BYTES] \
                     [--duration SECS] [--warmup SECS] [--rate REQ_PER_SEC] [--http PATH]";

fn parse_opts() -> io::Result<Opts> {
    let bad =
        |what: String| io::Error::new(io::ErrorKind::InvalidInput, format!("{what}\n{USAGE}"));
    let mut opts = Opts {
        addr: "127.0.0.1:7878".parse().expect("a valid default address"),
        conns: 64,
        size: 128,
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(1),
        rate: None,
        http: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        if !arg.starts_with("--") {
            opts.addr = arg
                .parse()
                .map_err(|_| bad(format!("address {arg:?}: expected IP:PORT")))?;
            continue;
        }
        let value = args
            .next()
            .ok_or_else(|| bad(format!("{arg} needs a value")))?;
        let count = |what: &str| -> io::Result<usize> {
            value
                .parse()
                .map_err(|_| bad(format!("{what} {value:?}: expected a whole number")))
        };
        let secs = |what: &str| -> io::Result<Duration> {
            value
                .parse::<f64>()
                .ok()
                .and_then(|v| Duration::try_from_secs_f64(v).ok())
                .ok_or_else(|| bad(format!("{what} {value:?}: expected seconds >= 0")))
        };
        match arg.as_str() {
            "--conns" => opts.conns = count("--conns")?,
            "--size" => opts.size = count("--size")?,
            "--duration" => opts.duration = secs("--duration")?,
            "--warmup" => opts.warmup = secs("--warmup")?,
            "--rate" => {
                let rate = value
                    .parse::<f64>()
                    .ok()
                    .filter(|r| r.is_finite() && *r > 0.0)
                    .ok_or_else(|| bad(format!("--rate {value:?}: expected requests/s > 0")))?;
                opts.rate = Some(rate);
            }
            "--http" => {
                if !value.starts_with('/') || value.contains(char::is_whitespace) {
                    return Err(bad(format!(
                        "--http {value:?}: expected a path such as /1k.bin"
                    )));
                }
                opts.http = Some(value);
            }
            other => return Err(bad(format!("unknown option {other}"))),
        }
    }
    if opts.conns == 0 || opts.size == 0 || opts.duration.is_zero() {
        return Err(bad("--conns, --size and --duration must be above 0".into()));
    }
    if let Some(rate) = opts.rate {
        // One send per connection per interval: the interval must be
        // representable (at least 1 ns, at most a day).
        let interval = opts.conns as f64 / rate;
        if !(1e-9..=86_400.0).contains(&interval) {
            return Err(bad(format!(
                "--rate {rate:?}: out of range for {} connections",
                opts.conns
            )));
        }
    }
    Ok(opts)
}

#[derive(Default)]
struct Stats {
    latencies_ns: Vec<u64>,
    errors: usize,
    non2xx: usize,
}

async fn connection(
    opts: Rc<Opts>,
    index: usize,
    start: Instant,
    stats: Rc<RefCell<Stats>>,
) -> io::Result<()> {
    let mut local = Vec::with_capacity(1 << 16);
    let mut non2xx = 0;
    let res = ping_pong(&opts, index, start, &mut local, &mut non2xx).await;
    // Requests completed before a failure still count.
    let mut stats = stats.borrow_mut();
    stats.latencies_ns.extend_from_slice(&local);
    stats.non2xx += non2xx;
    res
}

/// One connection's loop; pushes the latency of every measured request
/// (and counts the measured HTTP responses that were not 2xx).
async fn ping_pong(
    opts: &Opts,
    index: usize,
    start: Instant,
    local: &mut Vec<u64>,
    non2xx: &mut usize,
) -> io::Result<()> {
    let mut c = TcpStream::connect(opts.addr).await?;
    c.set_nodelay(true)?;
    let measure_from = start + opts.warmup;
    let end = measure_from + opts.duration;
    let interval = opts
        .rate
        .map(|r| Duration::from_secs_f64(opts.conns as f64 / r));
    // Spread paced connections over one interval.
    let mut next = start
        + interval.map_or(Duration::ZERO, |iv| {
            iv.mul_f64(index as f64 / opts.conns as f64)
        });
    let mut msg = vec![0u8; opts.size];
    for (i, b) in msg.iter_mut().enumerate() {
        *b = (i + index) as u8;
    }
    let mut back = vec![0u8; opts.size];
    if let Some(path) = &opts.http {
        msg = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", opts.addr).into_bytes();
        back = vec![0u8; 64 << 10];
    }
    loop {
        // Paced, latency counts from when the request was due, not from
        // when a late loop got to send it (no coordinated omission).
        let t0 = match interval {
            Some(iv) => {
                coring::time::sleep_until(next).await;
                let due = next;
                next += iv;
                due
            }
            None => Instant::now(),
        };
        if t0 >= end {
            break;
        }
        let (res, m) = c.write_all(msg).await;
        msg = m;
        res?;
        let ok = if opts.http.is_some() {
            http_response(&mut c, &mut back).await?
        } else {
            let (res, b) = c.read_exact(back.slice(..opts.size)).await;
            back = b.into_inner();
            res?;
            true
        };
        if t0 >= measure_from {
            local.push(t0.elapsed().as_nanos().min(u64::MAX as u128) as u64);
            *non2xx += usize::from(!ok);
        }
    }
    Ok(())
}

/// One read into `buf`; end of stream is an error (mid-response).
async fn read_some(c: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    let (res, b) = c.read(std::mem::take(buf)).await;
    *buf = b;
    match res? {
        0 => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed mid-response",
        )),
        n => Ok(n),
    }
}

/// Reads one HTTP/1.1 response: the head, then its Content-Length body
/// (one request at a time, so nothing may follow it). Returns whether the
/// status was 2xx.
async fn http_response(c: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<bool> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let mut head = Vec::new();
    let head_end = loop {
        let n = read_some(c, buf).await?;
        head.extend_from_slice(&buf[..n]);
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if head.len() > 64 << 10 {
            return Err(bad("response head over 64 KiB"));
        }
    };
    let text = String::from_utf8_lossy(&head[..head_end]).to_ascii_lowercase();
    let ok = text.starts_with("http/1.1 2") || text.starts_with("http/1.0 2");
    let len: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| bad("response without Content-Length"))?;
    let mut have = head.len() - head_end;
    while have < len {
        have += read_some(c, buf).await?;
    }
    if have > len {
        return Err(bad("bytes after the response body"));
    }
    Ok(ok)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

#[coring::main]
async fn main() -> io::Result<()> {
    let opts = match parse_opts() {
        Ok(opts) => Rc::new(opts),
        Err(e) => {
            eprintln!("echo_client: {e}");
            std::process::exit(2);
        }
    };
    let stats = Rc::new(RefCell::new(Stats::default()));
    let start = Instant::now();
    let tasks: Vec<_> = (0..opts.conns)
        .map(|i| coring::spawn(connection(opts.clone(), i, start, stats.clone())))
        .collect();
    for t in tasks {
        if let Err(e) = t.await? {
            eprintln!("connection failed: {e}");
            stats.borrow_mut().errors += 1;
        }
    }
    let mut stats = stats.borrow_mut();
    let (errors, non2xx) = (stats.errors, stats.non2xx);
    let lat = &mut stats.latencies_ns;
    lat.sort_unstable();
    if lat.is_empty() {
        eprintln!("no request completed in the measured window");
    }
    let rps = lat.len() as f64 / opts.duration.as_secs_f64();
    println!(
        "{} connections, {} B messages, {:?}: {:.0} requests/s, latency p50 {:.1} us, p99 {:.1} us",
        opts.conns,
        opts.size,
        opts.duration,
        rps,
        percentile(lat, 0.50),
        percentile(lat, 0.99)
    );
    println!(
        "RESULT rps={rps:.0} p50_us={:.1} p99_us={:.1} requests={} errors={errors} non2xx={non2xx}",
        percentile(lat, 0.50),
        percentile(lat, 0.99),
        lat.len()
    );
    Ok(())
}
