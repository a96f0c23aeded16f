//! Ring sizing costs: set-up time and memory per size from 64 to 32768
//! entries, and a NOP storm through a tiny CQ (where the per-reap CQ budget
//! makes the driver reap every 16 SQEs) vs a large CQ.
//!
//! Run: `cargo bench --bench ring`

mod util;

use coring::runtime::{
    op::{Nop, Op},
    ring::{setup_ring, RingSize, SetupFlags},
    Builder,
};
use std::time::{Duration, Instant};
use util::{median_ns, print_table, Row};

fn setup_cost() {
    println!("\nring set-up per size (CQ = 2 x SQ, coring's preferred flags; median of 21)");
    println!(
        "{:>6} {:>7} {:>14} {:>16} {:>16}",
        "SQ", "CQ", "setup µs", "memlock bytes", "memcg bytes"
    );
    let mut sq = 64;
    while sq <= 32768 {
        let size = RingSize::normalized(sq, 2 * sq);
        let mut times: Vec<Duration> = (0..21)
            .map(|_| {
                let t = Instant::now();
                let ring = setup_ring(size, SetupFlags::PREFERRED).expect("setup");
                let e = t.elapsed();
                drop(ring);
                e
            })
            .collect();
        times.sort();
        println!(
            "{:>6} {:>7} {:>14.1} {:>16} {:>16}",
            size.sq,
            size.cq,
            times[times.len() / 2].as_secs_f64() * 1e6,
            size.memlock_bytes(true),
            size.cgroup_bytes(true)
        );
        sq *= 2;
    }
}

fn nop_storm() {
    const TASKS: u64 = 1024;
    const PER: u64 = 100;
    let storm = |sq: u32, cq: u32| {
        let rt = Builder::new()
            .entries(sq)
            .cq_entries(cq)
            .floor(sq, cq)
            .build()
            .unwrap();
        let ns = median_ns(11, TASKS * PER, || {
            rt.block_on(async {
                let t = Instant::now();
                let hs: Vec<_> = (0..TASKS)
                    .map(|_| {
                        coring::spawn(async {
                            for _ in 0..PER {
                                Op::new(Nop).await.unwrap();
                            }
                        })
                    })
                    .collect();
                for h in hs {
                    h.await.unwrap();
                }
                t.elapsed()
            })
        });
        let s = rt.stats().driver;
        assert_eq!(s.ops_in_flight, 0);
        (ns, s.budget_reaps)
    };
    let (large, _) = storm(1024, 4096);
    let (mid, mid_waits) = storm(64, 128);
    let (tiny, tiny_waits) = storm(8, 16);
    print_table(
        &format!("NOP storm: {TASKS} tasks x {PER} NOPs, ns per NOP (speedup column: large-CQ ring vs each)"),
        &[
            Row { name: "SQ 1024 / CQ 4096", ns_per_op: large },
            Row { name: "SQ 64 / CQ 128", ns_per_op: mid },
            Row { name: "SQ 8 / CQ 16", ns_per_op: tiny },
        ],
    );
    println!(
        "reaps forced by the per-reap CQ budget: CQ 128: {mid_waits}, CQ 16: {tiny_waits} (every completion delivered)"
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    setup_cost();
    nop_storm();
}
