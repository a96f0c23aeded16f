//! The benchmark groups, one module each, and the interleaving loop they
//! share: every contender runs once per round, rounds repeat (A B C A B C
//! …), so slow drifts of the machine's load hit every contender alike.
//!
//! Adding a group (`http` is planned): a module with
//! `pub fn run(ctx: &Ctx, g: &mut GroupResult)` that records every sample
//! with `g.add(measurement, unit, higher_is_better, contender, value)`
//! (or `interleave` for in-process contenders; `Ctx::example` builds
//! coring's example binaries, `harness::Server` and `pinned` start pinned
//! servers and load generators, `ensure_tool` installs missing ones), its
//! name in `GROUPS` and `title`, a "what this means" line in
//! `report::meaning`, and its goals in `goals::GOALS`.

pub mod core;
pub mod cores;
pub mod epoll;
pub mod files;
pub mod fs;
pub mod hyper;
pub mod idle;
pub mod net;
pub mod ring;

use crate::harness::{print_measurement, Ctx};
use crate::results::GroupResult;

/// Every group, in the order `all` runs them.
pub const GROUPS: &[&str] = &[
    "core", "ring", "cores", "fs", "net", "idle", "files", "hyper", "epoll",
];

/// Groups the issue names that have no benchmark yet.
pub const PLANNED: &[&str] = &["http"];

pub fn title(name: &str) -> &'static str {
    match name {
        "core" => "Runtime core: spawn, op round trips, ops in flight",
        "ring" => "Ring sizing: set-up cost per size, NOP storms through small CQs",
        "cores" => "Thread-per-core: cross-core channel messages",
        "fs" => "Files: random and sequential reads, file → socket",
        "net" => "Network: echo and HTTP hello, one pinned server thread; two-core echo",
        "idle" => "Idle connections: memory per connection and new-connection latency vs nginx",
        "files" => "Static files end to end: coring's file_server vs nginx and tower-http ServeDir",
        "hyper" => "hyper and axum: the same services on coring and on tokio, one and two cores",
        "epoll" => "coring's readiness (epoll) driver: echo, HTTP hello and file_server vs tokio, monoio on epoll, nginx",
        _ => "unknown group",
    }
}

/// Runs group `name` and returns what it measured.
pub fn run(name: &str, ctx: &Ctx) -> std::io::Result<GroupResult> {
    let mut g = GroupResult::new(name, title(name));
    match name {
        "core" => core::run(ctx, &mut g),
        "ring" => ring::run(ctx, &mut g),
        "cores" => cores::run(ctx, &mut g),
        "fs" => fs::run(ctx, &mut g),
        "net" => net::run(ctx, &mut g)?,
        "idle" => idle::run(ctx, &mut g)?,
        "files" => files::run(ctx, &mut g)?,
        "hyper" => hyper::run(ctx, &mut g)?,
        "epoll" => epoll::run(ctx, &mut g)?,
        other => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("unknown group {other:?}"),
            ))
        }
    }
    Ok(g)
}

/// One contender of an in-process measurement: a closure that runs the
/// workload once and returns its figure (e.g. ns per op).
pub struct Contender<'a> {
    pub name: String,
    pub run: Box<dyn FnMut() -> f64 + 'a>,
}

impl<'a> Contender<'a> {
    pub fn new(name: impl Into<String>, run: impl FnMut() -> f64 + 'a) -> Contender<'a> {
        Contender {
            name: name.into(),
            run: Box::new(run),
        }
    }
}

/// Runs every contender once untimed (warm-up), then `rounds` interleaved
/// rounds, records each figure in `g` under `measurement` and prints the
/// medians.
pub fn interleave(
    g: &mut GroupResult,
    measurement: &str,
    unit: &str,
    higher_is_better: bool,
    rounds: usize,
    mut contenders: Vec<Contender<'_>>,
) {
    for c in &mut contenders {
        let _ = (c.run)();
    }
    for _ in 0..rounds {
        for c in &mut contenders {
            let v = (c.run)();
            g.add(measurement, unit, higher_is_better, &c.name, v);
        }
    }
    if let Some(m) = g.measurement(measurement) {
        print_measurement(m);
    }
}

/// Elapsed time of an async block, for the in-process benchmarks.
pub async fn timed_async(f: impl std::future::Future<Output = ()>) -> std::time::Duration {
    let t = std::time::Instant::now();
    f.await;
    t.elapsed()
}

/// Nanoseconds per op of a duration.
pub fn ns_per(d: std::time::Duration, ops: u64) -> f64 {
    d.as_nanos() as f64 / ops as f64
}
