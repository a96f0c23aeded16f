//! The smallest coring program: spawn tasks, sleep, do a NOP round trip
//! through the ring, and print what ring the kernel granted.
//!
//! Run: `cargo run --example hello`

use coring::runtime::op::{Nop, Op};
use std::time::{Duration, Instant};

#[coring::main]
async fn main() -> std::io::Result<()> {
    let info = coring::runtime::ring_info();
    if let Some(why) = &info.driver_reason {
        // io_uring is blocked here (a container's seccomp profile, say).
        println!("driver: {} ({why})", info.driver);
    }
    println!(
        "ring: SQ {} CQ {} flags {} (wanted SQ {} CQ {}, {} setup attempt(s))",
        info.size.sq,
        info.size.cq,
        info.flags,
        info.wanted.sq,
        info.wanted.cq,
        info.attempts.len()
    );
    let start = Instant::now();
    let tasks: Vec<_> = (0..10_000u64)
        .map(|i| coring::spawn(async move { Op::new(Nop).await.map(|()| i) }))
        .collect();
    let mut sum = 0;
    for t in tasks {
        sum += t.await??;
    }
    coring::time::sleep(Duration::from_millis(10)).await;
    println!(
        "10,000 tasks each did a NOP through the ring: sum {sum}, {:?}",
        start.elapsed()
    );
    Ok(())
}
