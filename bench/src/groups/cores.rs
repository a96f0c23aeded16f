//! `cores`: cross-core message throughput, side by side in one process
//! (moved from `benches/cores.rs`): a producer on one core sends 1,000,000
//! `u64`s through a bounded channel (capacity 1024) to a consumer on the
//! other core. coring (launcher, 2 pinned cores, `spawn_on`) vs monoio (2
//! threads, `sync` feature) vs tokio multi-thread (2 workers). coring runs
//! with its own `coring::runtime::channel` and with
//! `futures::channel::mpsc`; monoio with `futures::channel::mpsc` (it has
//! no cross-thread channel); tokio with both `futures::channel::mpsc` and
//! `tokio::sync::mpsc`.

use super::{interleave, ns_per, Contender};
use crate::harness::Ctx;
use crate::results::GroupResult;
use coring::runtime::{
    core_count, launcher::allowed_cpus, shutdown_handle, spawn_on, Builder, Cores,
};
use futures::{SinkExt, StreamExt};
use std::time::{Duration, Instant};

const CAP: usize = 1024;

pub fn run(ctx: &Ctx, g: &mut GroupResult) {
    let n: u64 = ctx.mode.pick(1_000_000, 1_000_000, 100_000);
    let rounds = ctx.mode.pick(7, 3, 1);
    g.notes.push(format!(
        "{n} u64 through a bounded({CAP}) channel per round, {rounds} interleaved rounds; \
         coring pins its 2 cores, monoio and tokio threads are unpinned; runtime defaults"
    ));
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let tokio = &tokio;
    interleave(
        g,
        &format!("cross-core messages, bounded({CAP}) channel"),
        "ns per message",
        false,
        rounds,
        vec![
            Contender::new("coring channel (2 cores)", move || {
                ns_per(coring_round(true, n), n)
            }),
            Contender::new("coring + futures mpsc", move || {
                ns_per(coring_round(false, n), n)
            }),
            Contender::new("monoio 2 threads (futures mpsc)", move || {
                ns_per(monoio_round(n), n)
            }),
            Contender::new("tokio mt 2 workers (futures mpsc)", move || {
                ns_per(tokio_round(tokio, false, n), n)
            }),
            Contender::new("tokio mt 2 workers (tokio mpsc)", move || {
                ns_per(tokio_round(tokio, true, n), n)
            }),
        ],
    );
}

fn coring_round(native: bool, n: u64) -> Duration {
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
                for i in 0..n {
                    tx.send(i).await.unwrap();
                }
                drop(tx);
                assert_eq!(consumer.await.unwrap(), n * (n - 1) / 2);
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
                for i in 0..n {
                    tx.send(i).await.unwrap();
                }
                drop(tx);
                assert_eq!(consumer.await.unwrap(), n * (n - 1) / 2);
            }
            let took = t.elapsed();
            shutdown_handle().shutdown();
            Some(took)
        })
        .unwrap();
    outs[0].unwrap().unwrap()
}

fn monoio_round(n: u64) -> Duration {
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
        for i in 0..n {
            tx.send(i).await.unwrap();
        }
        drop(tx);
        t
    });
    assert_eq!(consumer.join().unwrap(), n * (n - 1) / 2);
    took.elapsed()
}

fn tokio_round(rt: &tokio::runtime::Runtime, native: bool, n: u64) -> Duration {
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
                for i in 0..n {
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
                for i in 0..n {
                    tx.send(i).await.unwrap();
                }
            });
            consumer.await.unwrap()
        };
        assert_eq!(sum, n * (n - 1) / 2);
        t.elapsed()
    })
}
