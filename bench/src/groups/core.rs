//! `core`: the runtime core, side by side in one process (moved from
//! `benches/core.rs`): spawn + join of many tasks, one-op round trips
//! through the ring, and many ops in flight — coring vs tokio
//! (current-thread) vs monoio (io_uring driver). The process runs pinned to
//! the server CPU while it measures.

use super::{interleave, ns_per, timed_async, Contender};
use crate::harness::{pin_thread, unpin_thread, Ctx};
use crate::results::GroupResult;
use coring::runtime::{
    fd::SharedFd,
    op::{Nop, Op, Read},
};
use std::os::fd::OwnedFd;

fn monoio_rt() -> monoio::Runtime<monoio::IoUringDriver> {
    monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
        .with_entries(1024)
        .build()
        .unwrap()
}

fn tokio_ct() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

pub fn run(ctx: &Ctx, g: &mut GroupResult) {
    let rounds = ctx.mode.pick(15, 7, 1);
    let tasks: u64 = ctx.mode.pick(10_000, 10_000, 1_000);
    let ops: u64 = ctx.mode.pick(20_000, 20_000, 2_000);
    let allowed = coring::runtime::launcher::allowed_cpus().unwrap_or_default();
    let _ = pin_thread(ctx.server_cpu);
    g.notes.push(format!(
        "in one process pinned to CPU {}; {rounds} interleaved rounds after one warm-up; \
         {tasks} tasks per spawn round, {ops} ops per round-trip round",
        ctx.server_cpu
    ));
    spawn_join(g, rounds, tasks);
    op_round_trip(g, rounds, ops);
    concurrent_ops(g, rounds, ctx.mode.pick(200, 200, 20));
    unpin_thread(&allowed);
}

fn spawn_join(g: &mut GroupResult, rounds: usize, tasks: u64) {
    let coring = coring::runtime::Runtime::new().unwrap();
    let tokio = tokio_ct();
    let mut monoio = monoio_rt();
    interleave(
        g,
        &format!("spawn + join, {tasks} tasks"),
        "ns per task",
        false,
        rounds,
        vec![
            Contender::new("coring", || {
                let d = coring.block_on(timed_async(async {
                    let hs: Vec<_> = (0..tasks)
                        .map(|i| coring::spawn(async move { i }))
                        .collect();
                    for h in hs {
                        std::hint::black_box(h.await.unwrap());
                    }
                }));
                ns_per(d, tasks)
            }),
            Contender::new("tokio current-thread", || {
                let d = tokio.block_on(timed_async(async {
                    let hs: Vec<_> = (0..tasks).map(|i| tokio::spawn(async move { i })).collect();
                    for h in hs {
                        std::hint::black_box(h.await.unwrap());
                    }
                }));
                ns_per(d, tasks)
            }),
            Contender::new("monoio (io_uring)", || {
                let d = monoio.block_on(timed_async(async {
                    let hs: Vec<_> = (0..tasks)
                        .map(|i| monoio::spawn(async move { i }))
                        .collect();
                    for h in hs {
                        std::hint::black_box(h.await);
                    }
                }));
                ns_per(d, tasks)
            }),
        ],
    );
}

/// One op at a time, awaited before the next: the full round trip (push,
/// submit, kernel, reap, wake, poll).
fn op_round_trip(g: &mut GroupResult, rounds: usize, ops: u64) {
    let coring = coring::runtime::Runtime::new().unwrap();
    let mut monoio = monoio_rt();
    let zero = SharedFd::new(OwnedFd::from(std::fs::File::open("/dev/zero").unwrap()));
    let mono_file = monoio.block_on(async { monoio::fs::File::open("/dev/zero").await.unwrap() });
    let monoio = std::cell::RefCell::new(monoio);
    let tokio = tokio_ct();
    interleave(
        g,
        "NOP round trip",
        "ns per op",
        false,
        rounds,
        vec![Contender::new("coring", || {
            let d = coring.block_on(timed_async(async {
                for _ in 0..ops {
                    Op::new(Nop).await.unwrap();
                }
            }));
            ns_per(d, ops)
        })],
    );
    interleave(
        g,
        "one op round trip: read 64 B from /dev/zero",
        "ns per op",
        false,
        rounds,
        vec![
            Contender::new("coring", || {
                let d = coring.block_on(timed_async(async {
                    let mut buf = Vec::with_capacity(64);
                    for _ in 0..ops {
                        let (r, b) = Op::new(Read::new(&zero, buf, 0)).await;
                        r.unwrap();
                        buf = b;
                        buf.clear();
                    }
                }));
                ns_per(d, ops)
            }),
            Contender::new("monoio (io_uring)", || {
                let d = monoio.borrow_mut().block_on(timed_async(async {
                    let mut buf = Vec::with_capacity(64);
                    for _ in 0..ops {
                        let (r, b) = mono_file.read_at(buf, 0).await;
                        r.unwrap();
                        buf = b;
                        buf.clear();
                    }
                }));
                ns_per(d, ops)
            }),
            // tokio::fs goes through the blocking pool: a tenth of the ops.
            Contender::new("tokio::fs", || {
                let n = (ops / 10).max(1);
                let d = tokio.block_on(timed_async(async {
                    use tokio::io::AsyncReadExt;
                    let mut f = tokio::fs::File::open("/dev/zero").await.unwrap();
                    let mut buf = [0u8; 64];
                    for _ in 0..n {
                        f.read_exact(&mut buf).await.unwrap();
                    }
                }));
                ns_per(d, n)
            }),
        ],
    );
}

/// Many ops in flight at once: 256 tasks each doing `per` reads in a loop.
fn concurrent_ops(g: &mut GroupResult, rounds: usize, per: u64) {
    const TASKS: u64 = 256;
    let coring = coring::runtime::Runtime::new().unwrap();
    let mut monoio = monoio_rt();
    interleave(
        g,
        &format!("{TASKS} tasks × {per} reads of /dev/zero in flight"),
        "ns per op",
        false,
        rounds,
        vec![
            Contender::new("coring", || {
                let d = coring.block_on(timed_async(async {
                    let zero =
                        SharedFd::new(OwnedFd::from(std::fs::File::open("/dev/zero").unwrap()));
                    let hs: Vec<_> = (0..TASKS)
                        .map(|_| {
                            let zero = zero.clone();
                            coring::spawn(async move {
                                let mut buf = Vec::with_capacity(64);
                                for _ in 0..per {
                                    let (r, b) = Op::new(Read::new(&zero, buf, 0)).await;
                                    r.unwrap();
                                    buf = b;
                                    buf.clear();
                                }
                            })
                        })
                        .collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                }));
                ns_per(d, TASKS * per)
            }),
            Contender::new("monoio (io_uring)", || {
                let d = monoio.block_on(timed_async(async {
                    let f = std::rc::Rc::new(monoio::fs::File::open("/dev/zero").await.unwrap());
                    let hs: Vec<_> = (0..TASKS)
                        .map(|_| {
                            let f = f.clone();
                            monoio::spawn(async move {
                                let mut buf = Vec::with_capacity(64);
                                for _ in 0..per {
                                    let (r, b) = f.read_at(buf, 0).await;
                                    r.unwrap();
                                    buf = b;
                                    buf.clear();
                                }
                            })
                        })
                        .collect();
                    for h in hs {
                        h.await;
                    }
                }));
                ns_per(d, TASKS * per)
            }),
        ],
    );
}
