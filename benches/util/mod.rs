//! Timing helpers shared by the side-by-side benchmarks: run a case a few
//! rounds, take the median, print a table with ratios.
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// One contender's result: median nanoseconds per operation.
pub struct Row {
    pub name: &'static str,
    pub ns_per_op: f64,
}

/// Runs `f` (which performs `ops` operations and returns its own elapsed
/// time) `rounds` times and returns the median ns per operation.
pub fn median_ns(rounds: usize, ops: u64, mut f: impl FnMut() -> Duration) -> f64 {
    let _warmup = f();
    let mut v: Vec<f64> = (0..rounds)
        .map(|_| f().as_nanos() as f64 / ops as f64)
        .collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Times a closure.
pub fn timed(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

/// Prints a table: each row's time per op, ops/s, and how many times
/// faster the first row (coring) is than it.
pub fn print_table(title: &str, rows: &[Row]) {
    println!("\n{title}");
    println!(
        "{:<28} {:>12} {:>14} {:>16}",
        "contender", "ns/op", "ops/s", "coring speedup"
    );
    let base = rows[0].ns_per_op;
    for r in rows {
        println!(
            "{:<28} {:>12.1} {:>14.0} {:>15.2}x",
            r.name,
            r.ns_per_op,
            1e9 / r.ns_per_op,
            r.ns_per_op / base
        );
    }
}
