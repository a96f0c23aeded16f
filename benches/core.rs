//! Runtime core, side by side in one process: spawn + join of many tasks,
//! and one-op round trips through the ring — coring vs tokio
//! (current-thread) vs monoio (io_uring driver).
//!
//! Run: `cargo bench --bench core` (prints medians of 15 rounds and
//! coring's speedup over each peer).

mod util;

use coring::runtime::{
    fd::SharedFd,
    op::{Nop, Op, Read},
};
use std::os::fd::OwnedFd;
use util::{median_ns, print_table, timed, Row};

const ROUNDS: usize = 15;
const TASKS: u64 = 10_000;
const OPS: u64 = 20_000;

fn spawn_join() {
    let coring = coring::runtime::Runtime::new().unwrap();
    let tokio = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut monoio = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
        .with_entries(1024)
        .build()
        .unwrap();
    let rows = [
        Row {
            name: "coring",
            ns_per_op: median_ns(ROUNDS, TASKS, || {
                coring.block_on(async {
                    timed_async(async {
                        let hs: Vec<_> = (0..TASKS)
                            .map(|i| coring::spawn(async move { i }))
                            .collect();
                        for h in hs {
                            std::hint::black_box(h.await.unwrap());
                        }
                    })
                    .await
                })
            }),
        },
        Row {
            name: "tokio current_thread",
            ns_per_op: median_ns(ROUNDS, TASKS, || {
                tokio.block_on(async {
                    timed_async(async {
                        let hs: Vec<_> =
                            (0..TASKS).map(|i| tokio::spawn(async move { i })).collect();
                        for h in hs {
                            std::hint::black_box(h.await.unwrap());
                        }
                    })
                    .await
                })
            }),
        },
        Row {
            name: "monoio (io_uring)",
            ns_per_op: median_ns(ROUNDS, TASKS, || {
                monoio.block_on(async {
                    timed_async(async {
                        let hs: Vec<_> = (0..TASKS)
                            .map(|i| monoio::spawn(async move { i }))
                            .collect();
                        for h in hs {
                            std::hint::black_box(h.await);
                        }
                    })
                    .await
                })
            }),
        },
    ];
    print_table(
        &format!("spawn + join, {TASKS} tasks per round (ns per task)"),
        &rows,
    );
}

async fn timed_async(f: impl std::future::Future<Output = ()>) -> std::time::Duration {
    let t = std::time::Instant::now();
    f.await;
    t.elapsed()
}

/// One op at a time, awaited before the next: the full round trip (push,
/// submit, kernel, reap, wake, poll).
fn op_round_trip() {
    let coring = coring::runtime::Runtime::new().unwrap();
    let mut monoio = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
        .with_entries(1024)
        .build()
        .unwrap();
    let zero = SharedFd::new(OwnedFd::from(std::fs::File::open("/dev/zero").unwrap()));
    let mono_file = monoio.block_on(async { monoio::fs::File::open("/dev/zero").await.unwrap() });
    let tokio = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let rows = [
        Row {
            name: "coring NOP",
            ns_per_op: median_ns(ROUNDS, OPS, || {
                coring.block_on(timed_async(async {
                    for _ in 0..OPS {
                        Op::new(Nop).await.unwrap();
                    }
                }))
            }),
        },
        Row {
            name: "coring read 64 B /dev/zero",
            ns_per_op: median_ns(ROUNDS, OPS, || {
                coring.block_on(timed_async(async {
                    let mut buf = Vec::with_capacity(64);
                    for _ in 0..OPS {
                        let (r, b) = Op::new(Read::new(&zero, buf, 0)).await;
                        r.unwrap();
                        buf = b;
                        buf.clear();
                    }
                }))
            }),
        },
        Row {
            name: "monoio read 64 B /dev/zero",
            ns_per_op: median_ns(ROUNDS, OPS, || {
                monoio.block_on(timed_async(async {
                    let mut buf = Vec::with_capacity(64);
                    for _ in 0..OPS {
                        let (r, b) = mono_file.read_at(buf, 0).await;
                        r.unwrap();
                        buf = b;
                        buf.clear();
                    }
                }))
            }),
        },
        Row {
            name: "tokio::fs read 64 B",
            ns_per_op: median_ns(5, OPS / 10, || {
                tokio.block_on(timed_async(async {
                    use tokio::io::AsyncReadExt;
                    let mut f = tokio::fs::File::open("/dev/zero").await.unwrap();
                    let mut buf = [0u8; 64];
                    for _ in 0..OPS / 10 {
                        f.read_exact(&mut buf).await.unwrap();
                    }
                }))
            }),
        },
    ];
    print_table(
        &format!("one op round trip, {OPS} sequential ops per round (ns per op)"),
        &rows,
    );
}

/// Many ops in flight at once: 256 tasks each doing ops in a loop.
fn concurrent_ops() {
    let coring = coring::runtime::Runtime::new().unwrap();
    let mut monoio = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
        .with_entries(1024)
        .build()
        .unwrap();
    const TASKS: u64 = 256;
    const PER: u64 = 200;
    let rows = [
        Row {
            name: "coring read /dev/zero",
            ns_per_op: median_ns(ROUNDS, TASKS * PER, || {
                coring.block_on(timed_async(async {
                    let zero =
                        SharedFd::new(OwnedFd::from(std::fs::File::open("/dev/zero").unwrap()));
                    let hs: Vec<_> = (0..TASKS)
                        .map(|_| {
                            let zero = zero.clone();
                            coring::spawn(async move {
                                let mut buf = Vec::with_capacity(64);
                                for _ in 0..PER {
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
                }))
            }),
        },
        Row {
            name: "monoio read /dev/zero",
            ns_per_op: median_ns(ROUNDS, TASKS * PER, || {
                monoio.block_on(timed_async(async {
                    let f = std::rc::Rc::new(monoio::fs::File::open("/dev/zero").await.unwrap());
                    let hs: Vec<_> = (0..TASKS)
                        .map(|_| {
                            let f = f.clone();
                            monoio::spawn(async move {
                                let mut buf = Vec::with_capacity(64);
                                for _ in 0..PER {
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
                }))
            }),
        },
    ];
    print_table(
        &format!("{TASKS} tasks x {PER} reads in flight together (ns per op)"),
        &rows,
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // `cargo bench --bench core -- spawn` runs only the cases matching "spawn".
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let want = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let _ = timed(|| {});
    if want("spawn") {
        spawn_join();
    }
    if want("round_trip") {
        op_round_trip();
    }
    if want("concurrent") {
        concurrent_ops();
    }
}
