//! Echo load client: N connections each sending a message and waiting for
//! it to come back (ping-pong), for a duration; prints requests/s and
//! latency percentiles. With `--rate R` the connections together send R
//! requests/s (paced) instead of as many as possible.
//!
//! `cargo run --release --example echo_client -- 127.0.0.1:7878 --conns 64
//! --size 128 --duration 10 [--warmup 1] [--rate 50000]`
//!
//! The last line is machine-readable:
//! `RESULT rps=... p50_us=... p99_us=... requests=... errors=...`.

use coring::buf::IoBuf;
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
}

fn parse_opts() -> io::Result<Opts> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, what.to_string());
    let get = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let num = |name: &str, default: f64| -> io::Result<f64> {
        get(name).map_or(Ok(default), |v| {
            v.parse().map_err(|_| bad(&format!("{name} {v}")))
        })
    };
    let addr = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .map_or("127.0.0.1:7878", |a| a.as_str())
        .parse()
        .map_err(|_| bad("address: expected IP:PORT"))?;
    let rate = num("--rate", 0.0)?;
    Ok(Opts {
        addr,
        conns: num("--conns", 64.0)? as usize,
        size: num("--size", 128.0)? as usize,
        duration: Duration::from_secs_f64(num("--duration", 10.0)?),
        warmup: Duration::from_secs_f64(num("--warmup", 1.0)?),
        rate: (rate > 0.0).then_some(rate),
    })
}

#[derive(Default)]
struct Stats {
    latencies_ns: Vec<u32>,
    errors: usize,
}

async fn connection(
    opts: Rc<Opts>,
    index: usize,
    start: Instant,
    stats: Rc<RefCell<Stats>>,
) -> io::Result<()> {
    let mut c = TcpStream::connect(opts.addr).await?;
    c.set_nodelay(true)?;
    let measure_from = start + opts.warmup;
    let end = measure_from + opts.duration;
    let interval = opts
        .rate
        .map(|r| Duration::from_secs_f64(opts.conns as f64 / r));
    // Spread paced connections over one interval.
    let mut next =
        start + interval.map_or(Duration::ZERO, |iv| iv * index as u32 / opts.conns as u32);
    let mut msg = vec![0u8; opts.size];
    for (i, b) in msg.iter_mut().enumerate() {
        *b = (i + index) as u8;
    }
    let mut back = vec![0u8; opts.size];
    let mut local = Vec::with_capacity(1 << 16);
    loop {
        if let Some(iv) = interval {
            coring::time::sleep_until(next).await;
            next += iv;
        }
        let t0 = Instant::now();
        if t0 >= end {
            break;
        }
        let (res, m) = c.write_all(msg).await;
        msg = m;
        res?;
        let (res, b) = c.read_exact(back.slice(..opts.size)).await;
        back = b.into_inner();
        res?;
        if t0 >= measure_from {
            local.push(t0.elapsed().as_nanos().min(u32::MAX as u128) as u32);
        }
    }
    stats.borrow_mut().latencies_ns.extend_from_slice(&local);
    Ok(())
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

#[coring::main]
async fn main() -> io::Result<()> {
    let opts = Rc::new(parse_opts()?);
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
    let errors = stats.errors;
    let lat = &mut stats.latencies_ns;
    lat.sort_unstable();
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
        "RESULT rps={rps:.0} p50_us={:.1} p99_us={:.1} requests={} errors={errors}",
        percentile(lat, 0.50),
        percentile(lat, 0.99),
        lat.len()
    );
    Ok(())
}
