//! Cross-core message throughput, side by side in one process: a producer
//! on one core sends 1,000,000 `u64`s through a bounded channel (capacity
//! 1024) to a consumer on the other core. coring (launcher, 2 pinned
//! cores, `spawn_on`) vs monoio (2 threads, `sync` feature) vs tokio
//! multi-thread (2 workers). coring runs with its own
//! `coring::runtime::channel` and with `futures::channel::mpsc`; monoio
//! with `futures::channel::mpsc` (it has no cross-thread channel); tokio with
//! both `futures::channel::mpsc` and `tokio::sync::mpsc`.
//!
//! Run: `cargo bench --bench cores`

mod util;

use coring::runtime::{
    core_count, launcher::allowed_cpus, shutdown_handle, spawn_on, Builder, Cores,
};
use futures::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use util::{print_table, Row};

const N: u64 = 1_000_000;
const CAP: usize = 1024;
const ROUNDS: usize = 7;

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_nanos() as f64 / N as f64
}

fn coring_round(native: bool) -> Duration {
    let outs = Builder::new()
        .cores(Cores::Count(2.min(allowed_cpus().unwrap().len())))
        .shutdown_on_signals(false)
        .run(move |core| async move {
            if core.index != 0 {
                // Until core 0 shuts the run down.
                shutdown_handle().wait().await;
                return None;
            }
            let t = Instant::now();
            if native {
                let (tx, mut rx) = coring::runtime::channel::channel::<u64>(CAP);
                let consumer = spawn_on(core_count() - 1, move || async move {
                    let mut sum = 0u64;
                    while let Some(v) = rx.recv().await {
                        sum += v;
                    }
                    sum
                })
                .unwrap();
                for i in 0..N {
                    tx.send(i).await.unwrap();
                }
                drop(tx);
                assert_eq!(consumer.await.unwrap(), N * (N - 1) / 2);
            } else {
                let (mut tx, mut rx) = futures::channel::mpsc::channel::<u64>(CAP);
                let consumer = spawn_on(core_count() - 1, move || async move {
                    let mut sum = 0u64;
                    while let Some(v) = rx.next().await {
                        sum += v;
                    }
                    sum
                })
                .unwrap();
                for i in 0..N {
                    tx.send(i).await.unwrap();
                }
                drop(tx);
                assert_eq!(consumer.await.unwrap(), N * (N - 1) / 2);
            }
            let took = t.elapsed();
            shutdown_handle().shutdown();
            Some(took)
        })
        .unwrap();
    outs[0].unwrap().unwrap()
}

fn monoio_round() -> Duration {
    let (mut tx, mut rx) = futures::channel::mpsc::channel::<u64>(CAP);
    let consumer = std::thread::spawn(move || {
        let mut rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut sum = 0u64;
            while let Some(v) = rx.next().await {
                sum += v;
            }
            sum
        })
    });
    let mut rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
        .build()
        .unwrap();
    let took = rt.block_on(async move {
        let t = Instant::now();
        for i in 0..N {
            tx.send(i).await.unwrap();
        }
        drop(tx);
        t
    });
    assert_eq!(consumer.join().unwrap(), N * (N - 1) / 2);
    took.elapsed()
}

fn tokio_round(rt: &tokio::runtime::Runtime, native: bool) -> Duration {
    rt.block_on(async {
        let t = Instant::now();
        let sum = if native {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(CAP);
            let consumer = tokio::spawn(async move {
                let mut sum = 0u64;
                while let Some(v) = rx.recv().await {
                    sum += v;
                }
                sum
            });
            tokio::spawn(async move {
                for i in 0..N {
                    tx.send(i).await.unwrap();
                }
            });
            consumer.await.unwrap()
        } else {
            let (mut tx, mut rx) = futures::channel::mpsc::channel::<u64>(CAP);
            let consumer = tokio::spawn(async move {
                let mut sum = 0u64;
                while let Some(v) = rx.next().await {
                    sum += v;
                }
                sum
            });
            tokio::spawn(async move {
                for i in 0..N {
                    tx.send(i).await.unwrap();
                }
            });
            consumer.await.unwrap()
        };
        assert_eq!(sum, N * (N - 1) / 2);
        t.elapsed()
    })
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let mut c = Vec::new();
    let mut cf = Vec::new();
    let mut m = Vec::new();
    let mut tf = Vec::new();
    let mut tn = Vec::new();
    // Interleave contenders so machine noise hits all of them alike.
    for _ in 0..ROUNDS {
        c.push(coring_round(true));
        cf.push(coring_round(false));
        m.push(monoio_round());
        tf.push(tokio_round(&tokio, false));
        tn.push(tokio_round(&tokio, true));
    }
    print_table(
        &format!("cross-core messages, {N} u64 through a bounded({CAP}) channel, median of {ROUNDS} (ns per message)"),
        &[
            Row { name: "coring channel (2 cores)", ns_per_op: median(c) },
            Row { name: "coring + futures mpsc", ns_per_op: median(cf) },
            Row { name: "monoio (2 threads)", ns_per_op: median(m) },
            Row { name: "tokio mt (futures mpsc)", ns_per_op: median(tf) },
            Row { name: "tokio mt (tokio mpsc)", ns_per_op: median(tn) },
        ],
    );
}
