//! `ring`: ring sizing costs (moved from `benches/ring.rs`): set-up time
//! and memory per size from 64 to 32768 SQ entries (CQ = 2 × SQ, coring's
//! preferred flags), and a NOP storm through a tiny CQ (where the per-reap
//! CQ budget makes the driver reap every 16 SQEs) vs a large CQ. Pinned to
//! the server CPU.

use super::{interleave, ns_per, Contender};
use crate::harness::{pin_thread, print_measurement, unpin_thread, Ctx};
use crate::results::GroupResult;
use coring::runtime::{
    op::{Nop, Op},
    ring::{setup_ring, RingSize, SetupFlags},
    Builder,
};
use std::time::Instant;

pub fn run(ctx: &Ctx, g: &mut GroupResult) {
    let allowed = coring::runtime::launcher::allowed_cpus().unwrap_or_default();
    let _ = pin_thread(ctx.server_cpu);
    let max_sq = ctx.mode.pick(32768, 32768, 1024);
    let rounds = ctx.mode.pick(21, 11, 1);
    g.notes.push(format!(
        "pinned to CPU {}; set-up: {rounds} interleaved creations per size, CQ = 2 × SQ, \
         SUBMIT_ALL | SINGLE_ISSUER | DEFER_TASKRUN | TASKRUN_FLAG | NO_SQARRAY (as granted); \
         bytes are the kernel's formula (memlock: page-aligned; memcg: power-of-two pages)",
        ctx.server_cpu
    ));
    let mut sizes = Vec::new();
    let mut sq = 64;
    while sq <= max_sq {
        sizes.push(RingSize::normalized(sq, 2 * sq));
        sq *= 2;
    }
    let label = |s: &RingSize| format!("SQ {} / CQ {}", s.sq, s.cq);
    interleave(
        g,
        "ring set-up time",
        "µs",
        false,
        rounds,
        sizes
            .iter()
            .map(|&size| {
                Contender::new(label(&size), move || {
                    let t = Instant::now();
                    let ring = setup_ring(size, SetupFlags::PREFERRED).expect("ring set-up");
                    let e = t.elapsed();
                    drop(ring);
                    e.as_secs_f64() * 1e6
                })
            })
            .collect(),
    );
    for s in &sizes {
        g.add(
            "memlock bytes (formula)",
            "bytes",
            false,
            &label(s),
            s.memlock_bytes(true) as f64,
        );
        g.add(
            "memory-cgroup bytes (formula)",
            "bytes",
            false,
            &label(s),
            s.cgroup_bytes(true) as f64,
        );
    }
    for name in ["memlock bytes (formula)", "memory-cgroup bytes (formula)"] {
        print_measurement(g.measurement(name).unwrap());
    }
    nop_storm(ctx, g);
    unpin_thread(&allowed);
}

fn nop_storm(ctx: &Ctx, g: &mut GroupResult) {
    const TASKS: u64 = 1024;
    let per: u64 = ctx.mode.pick(100, 100, 10);
    let rounds = ctx.mode.pick(11, 5, 1);
    let rings: Vec<(u32, u32)> = vec![(1024, 4096), (64, 128), (8, 16)];
    let built: Vec<_> = rings
        .iter()
        .map(|&(sq, cq)| {
            Builder::new()
                .entries(sq)
                .cq_entries(cq)
                .floor(sq, cq)
                .build()
                .unwrap()
        })
        .collect();
    interleave(
        g,
        &format!("NOP storm: {TASKS} tasks × {per} NOPs"),
        "ns per NOP",
        false,
        rounds,
        rings
            .iter()
            .zip(&built)
            .map(|(&(sq, cq), rt)| {
                Contender::new(format!("SQ {sq} / CQ {cq}"), move || {
                    let d = rt.block_on(async {
                        let t = Instant::now();
                        let hs: Vec<_> = (0..TASKS)
                            .map(|_| {
                                coring::spawn(async move {
                                    for _ in 0..per {
                                        Op::new(Nop).await.unwrap();
                                    }
                                })
                            })
                            .collect();
                        for h in hs {
                            h.await.unwrap();
                        }
                        t.elapsed()
                    });
                    ns_per(d, TASKS * per)
                })
            })
            .collect(),
    );
    let m = "reaps forced by the per-reap CQ budget (whole storm)";
    for (&(sq, cq), rt) in rings.iter().zip(&built) {
        let s = rt.stats().driver;
        assert_eq!(s.ops_in_flight, 0, "every completion delivered");
        g.add(
            m,
            "reaps",
            false,
            &format!("SQ {sq} / CQ {cq}"),
            s.budget_reaps as f64,
        );
    }
    print_measurement(g.measurement(m).unwrap());
}
