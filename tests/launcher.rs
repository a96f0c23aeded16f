//! The thread-per-core launcher against real threads, CPUs and rings.

mod common;

use coring::runtime::{
    core_count, core_id, core_stats,
    fd::SharedFd,
    is_shutting_down,
    launcher::{allowed_cpus, CoreInfo},
    op::{Op, Read},
    ring::setup_ring,
    shutdown_handle, spawn_on, Builder, Cores,
};
use futures::StreamExt;
use std::{
    io,
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

const CHILD_ENV: &str = "CORING_LAUNCHER_CHILD";

fn two_or_fewer() -> Cores {
    let n = allowed_cpus().unwrap().len().min(2);
    Cores::Count(n)
}

#[test]
fn every_core_is_pinned_to_its_cpu_and_knows_its_id() {
    let allowed = allowed_cpus().unwrap();
    let outs = Builder::new()
        .cores(Cores::All)
        .shutdown_on_signals(false)
        .run(|core: CoreInfo| async move {
            let mine = allowed_cpus().unwrap();
            (core, core_id(), core_count(), mine)
        })
        .unwrap();
    assert_eq!(outs.len(), allowed.len());
    for (i, out) in outs.into_iter().enumerate() {
        let (info, id, count, mine) = out.expect("core finished");
        assert_eq!(info.index, i);
        assert_eq!(id, i);
        assert_eq!(count, allowed.len());
        assert_eq!(info.cpu, Some(allowed[i]));
        assert_eq!(
            mine,
            vec![allowed[i]],
            "core {i} not pinned to CPU {}",
            allowed[i]
        );
    }
}

#[test]
fn subset_of_cores_and_bad_selections() {
    let allowed = allowed_cpus().unwrap();
    let last = *allowed.last().unwrap();
    let outs = Builder::new()
        .cores(Cores::List(vec![last]))
        .shutdown_on_signals(false)
        .run(|core| async move { (core.cpu, allowed_cpus().unwrap()) })
        .unwrap();
    assert_eq!(outs.len(), 1);
    let (cpu, mine) = outs[0].clone().unwrap();
    assert_eq!(cpu, Some(last));
    assert_eq!(mine, vec![last]);

    let too_many = Builder::new()
        .cores(Cores::Count(allowed.len() + 1))
        .run(|_| async {})
        .unwrap_err();
    assert_eq!(too_many.kind(), io::ErrorKind::InvalidInput);
    assert!(too_many.to_string().contains("CPUs"), "{too_many}");
    let not_allowed = Builder::new()
        .cores(Cores::List(vec![100_000]))
        .run(|_| async {})
        .unwrap_err();
    assert!(not_allowed.to_string().contains("100000"), "{not_allowed}");
}

#[test]
fn a_cpu_listed_twice_is_rejected() {
    let allowed = allowed_cpus().unwrap();
    let first = allowed[0];
    let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let res = Builder::new()
        .cores(Cores::List(vec![first, first]))
        .shutdown_on_signals(false)
        .run({
            let started = started.clone();
            move |_| {
                started.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async {}
            }
        });
    let e = res.expect_err("two cores on one CPU");
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains(&format!("CPU {first}")), "{e}");
    assert!(e.to_string().contains("twice"), "{e}");
    assert_eq!(started.load(std::sync::atomic::Ordering::SeqCst), 0);
    // Not adjacent, and through resolve directly.
    if let [a, b, ..] = allowed[..] {
        let e = Cores::List(vec![a, b, a]).resolve(&allowed).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains(&format!("CPU {a}")), "{e}");
    }
}

#[test]
fn spawn_on_reaches_every_core() {
    let outs = Builder::new()
        .cores(two_or_fewer())
        .shutdown_on_signals(false)
        .run(|core| async move {
            if core.index != 0 {
                // Stay alive until core 0 is done with us.
                coring::time::sleep(Duration::from_millis(300)).await;
                return Vec::new();
            }
            let mut seen = Vec::new();
            for target in 0..core_count() {
                let h = spawn_on(target, move || {
                    // A !Send future, built on the target core.
                    let rc = std::rc::Rc::new(target);
                    async move { (*rc, core_id()) }
                })
                .unwrap();
                seen.push(h.await.unwrap());
            }
            assert!(spawn_on(99, || async {}).is_err());
            seen
        })
        .unwrap();
    let seen = outs[0].clone().unwrap();
    for (target, ran_on) in seen {
        assert_eq!(target, ran_on);
    }
}

#[test]
fn spawn_on_propagates_panics_as_join_errors() {
    let outs = Builder::new()
        .cores(Cores::Count(1))
        .shutdown_on_signals(false)
        .run(|_| async {
            let h = spawn_on(0, || async { panic!("remote boom") }).unwrap();
            let e = h.await.unwrap_err();
            e.panic_message().map(str::to_string)
        })
        .unwrap();
    assert_eq!(outs[0].clone().unwrap().as_deref(), Some("remote boom"));
}

#[test]
fn cross_core_channel_passes_a_million_messages_in_order() {
    const N: u64 = 1_000_000;
    let cores = two_or_fewer();
    let outs = Builder::new()
        .cores(cores)
        .shutdown_on_signals(false)
        .run(|core| async move {
            if core.index != 0 {
                // A core ends when its main future does; stay up until core 0
                // shuts everyone down.
                shutdown_handle().wait().await;
                return None;
            }
            let (tx, mut rx) = coring::runtime::channel::channel::<u64>(1024);
            let receiver_core = core_count() - 1;
            let consumer = spawn_on(receiver_core, move || async move {
                let mut expected = 0;
                while let Some(v) = rx.recv().await {
                    assert_eq!(v, expected, "out of order");
                    expected += 1;
                }
                (expected, core_id())
            })
            .unwrap();
            let start = Instant::now();
            for i in 0..N {
                tx.send(i).await.unwrap();
            }
            drop(tx);
            let (got, on) = consumer.await.unwrap();
            let took = start.elapsed();
            shutdown_handle().shutdown();
            Some((got, on, took))
        })
        .unwrap();
    let (got, on, took) = outs[0].unwrap().expect("core 0 reports");
    assert_eq!(got, N);
    assert_eq!(on, outs.len() - 1);
    eprintln!("1,000,000 cross-core messages in {took:?}");
}

#[test]
fn one_core_failing_to_get_a_ring_fails_startup_cleanly() {
    if allowed_cpus().unwrap().len() < 2 {
        eprintln!("SKIPPED one_core_failing_to_get_a_ring_fails_startup_cleanly: needs 2 CPUs");
        return;
    }
    let start = Instant::now();
    let ran = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let r = ran.clone();
    let err = Builder::new()
        .cores(Cores::Count(2))
        .shutdown_on_signals(false)
        .setup_fn(Arc::new(|size, flags| {
            if std::thread::current().name() == Some("coring-core-1") {
                Err(io::Error::from_raw_os_error(libc::ENOMEM))
            } else {
                setup_ring(size, flags)
            }
        }))
        .run(move |_| {
            let r = r.clone();
            async move {
                r.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        })
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::OutOfMemory);
    let msg = err.to_string();
    assert!(msg.contains("core 1 could not start"), "{msg}");
    assert!(msg.contains("ulimit -l"), "{msg}");
    assert_eq!(
        ran.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no core may run its future"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_core_panicking_while_starting_fails_startup_instead_of_hanging() {
    if allowed_cpus().unwrap().len() < 2 {
        eprintln!("SKIPPED a_core_panicking_while_starting_fails_startup_instead_of_hanging: needs 2 CPUs");
        return;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let res = Builder::new()
            .cores(Cores::Count(2))
            .shutdown_on_signals(false)
            .setup_fn(Arc::new(|size, flags| {
                if std::thread::current().name() == Some("coring-core-1") {
                    panic!("injected set-up panic");
                }
                setup_ring(size, flags)
            }))
            .run(|_| async {});
        let _ = tx.send(res.map(drop));
    });
    let res = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("start-up hung after a core panicked");
    let msg = res.unwrap_err().to_string();
    assert!(msg.contains("core 1"), "{msg}");
    assert!(msg.contains("injected set-up panic"), "{msg}");
}

/// `shutdown_now` (as at the end of a drain) drops every task at once.
#[test]
fn shutdown_now_with_1000_ops_in_flight_per_core_is_prompt() {
    let start = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let s = start.clone();
    let outs = Builder::new()
        .cores(two_or_fewer())
        .shutdown_on_signals(false)
        .run(move |core| {
            let s = s.clone();
            async move {
                let (r, w) = common::pipe();
                let fd = SharedFd::new(r);
                for _ in 0..1000 {
                    let fd = fd.clone();
                    drop(coring::spawn(async move {
                        Op::new(Read::new(&fd, vec![0u8; 8], u64::MAX)).await
                    }));
                }
                let t = Instant::now();
                while coring::runtime::stats().driver.ops_in_flight < 1000 {
                    assert!(t.elapsed() < Duration::from_secs(5));
                    coring::yield_now().await;
                }
                // Every core shows its ops to the others.
                coring::time::sleep(Duration::from_millis(50)).await;
                if core.index == 0 {
                    for i in 0..core_count() {
                        let st = core_stats(i).unwrap();
                        assert!(st.ops_in_flight >= 1000, "core {i}: {st:?}");
                    }
                    *s.lock().unwrap() = Some(Instant::now());
                    shutdown_handle().shutdown_now();
                }
                // Never finishes on its own.
                coring::time::sleep(Duration::from_secs(3600)).await;
                drop(w);
            }
        })
        .unwrap();
    let took = start.lock().unwrap().unwrap().elapsed();
    assert!(
        outs.iter().all(|o| o.is_none()),
        "cores were stopped, not finished"
    );
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
}

#[test]
fn a_panicking_core_stops_the_others_and_reports() {
    // The panic starts the drain of the others; this one ignores it and is
    // stopped at the deadline.
    let start = Instant::now();
    let err = Builder::new()
        .cores(two_or_fewer())
        .shutdown_on_signals(false)
        .shutdown_grace(Duration::from_millis(200))
        .run(|core| async move {
            if core.index == 0 {
                panic!("core zero fails");
            }
            coring::time::sleep(Duration::from_secs(3600)).await;
        })
        .unwrap_err();
    assert!(
        err.to_string().contains("core 0 panicked: core zero fails"),
        "{err}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

// ---- Drain, without signals -----------------------------------------------

/// `shutdown()` resolves every `wait()` (on cores and on other threads);
/// each core's main future returns, and the core then waits for the tasks
/// it spawned before `run` returns the outputs.
#[test]
fn shutdown_waits_for_spawned_tasks_after_the_main_future_returns() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    let n = match two_or_fewer() {
        Cores::Count(n) => n,
        _ => unreachable!(),
    };
    let finished = Arc::new(AtomicUsize::new(0));
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let handle: coring::runtime::ShutdownHandle = handle_rx.recv().unwrap();
        futures::executor::block_on(handle.wait());
        handle.is_shutdown()
    });
    let f = finished.clone();
    let start = Instant::now();
    let outs = Builder::new()
        .cores(Cores::Count(n))
        .shutdown_on_signals(false)
        .run(move |core| {
            let (f, handle_tx) = (f.clone(), handle_tx.clone());
            async move {
                // In-flight work that is not told about the shutdown.
                drop(coring::spawn(async move {
                    coring::time::sleep(Duration::from_millis(300)).await;
                    f.fetch_add(1, SeqCst);
                }));
                if core.index == 0 {
                    assert!(!is_shutting_down());
                    handle_tx.send(shutdown_handle()).unwrap();
                    coring::time::sleep(Duration::from_millis(20)).await;
                    shutdown_handle().shutdown();
                }
                shutdown_handle().wait().await;
                assert!(is_shutting_down());
                core.index
            }
        })
        .unwrap();
    let took = start.elapsed();
    assert_eq!(outs, (0..n).map(Some).collect::<Vec<_>>());
    assert_eq!(
        finished.load(SeqCst),
        n,
        "a task was dropped, not waited for"
    );
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(waiter.join().unwrap(), "wait() on another thread");
}

/// The grace period bounds the drain: a main future that ignores the
/// shutdown is dropped (`None`), and so are tasks of a core whose main
/// future returned (`Some`).
#[test]
fn the_deadline_drops_main_futures_and_tasks_still_running() {
    struct SetOnDrop(Arc<std::sync::atomic::AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    const GRACE: Duration = Duration::from_millis(300);
    let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d = dropped.clone();
    let start = Instant::now();
    let outs = Builder::new()
        .cores(two_or_fewer())
        .shutdown_on_signals(false)
        .shutdown_grace(GRACE)
        .run(move |core| {
            let d = d.clone();
            async move {
                if core.index == 0 {
                    let guard = SetOnDrop(d);
                    drop(coring::spawn(async move {
                        let _guard = guard;
                        coring::time::sleep(Duration::from_secs(3600)).await;
                    }));
                    shutdown_handle().shutdown();
                    shutdown_handle().wait().await;
                    return Some(7);
                }
                // Ignores the shutdown.
                coring::time::sleep(Duration::from_secs(3600)).await;
                None
            }
        })
        .unwrap();
    let took = start.elapsed();
    assert_eq!(outs[0], Some(Some(7)));
    assert!(outs[1..].iter().all(Option::is_none), "{outs:?}");
    assert!(dropped.load(std::sync::atomic::Ordering::SeqCst));
    assert!(took >= GRACE, "{took:?}");
    assert!(took < GRACE + Duration::from_secs(2), "{took:?}");
}

#[coring::test]
async fn a_single_runtime_is_never_shutting_down() {
    assert!(!is_shutting_down());
}

#[test]
#[should_panic(expected = "coring::runtime::is_shutting_down was used outside a coring runtime")]
fn is_shutting_down_outside_a_runtime_panics_clearly() {
    is_shutting_down();
}

#[coring::test(cores = "all")]
async fn test_attribute_runs_once_per_core() {
    assert!(core_id() < core_count());
    let h = coring::spawn(async { core_id() });
    assert_eq!(h.await.unwrap(), core_id());
}

// ---- SIGTERM, in a child process -----------------------------------------

#[test]
#[ignore = "entry point of the child process that the SIGTERM test re-executes"]
fn launcher_child_entry() {
    if std::env::var(CHILD_ENV).is_err() {
        return;
    }
    let outs = Builder::new()
        .cores(two_or_fewer())
        .run(|core| async move {
            if core.index == 0 {
                println!("\nREADY");
            }
            // Returns once the signal starts the drain.
            let told = coring::time::timeout(Duration::from_secs(30), shutdown_handle().wait());
            told.await.is_ok()
        })
        .expect("run");
    assert!(outs.iter().all(|o| *o == Some(true)), "{outs:?}");
    println!("STOPPED");
}

#[test]
fn sigterm_drains_all_cores_and_exits_zero() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "launcher_child_entry",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let start = Instant::now();
    loop {
        let line = lines.next().expect("child exited before READY").unwrap();
        if line.trim() == "READY" {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10));
    }
    // The handlers are armed before any core runs.
    // SAFETY: kill sends a signal to our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let signalled = Instant::now();
    let status = child.wait().unwrap();
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "{:?}",
        signalled.elapsed()
    );
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(status.success(), "child exit {status:?}, output {rest:?}");
    assert!(rest.iter().any(|l| l.contains("STOPPED")), "{rest:?}");
}

/// Capacity 1 and several producers on both cores: every wake-up path of
/// the channel (receiver waiting, senders waiting, close) runs often, and
/// no message is lost or duplicated.
#[test]
fn channel_capacity_one_many_producers_loses_nothing() {
    const PER: u64 = 50_000;
    let outs = Builder::new()
        .cores(two_or_fewer())
        .shutdown_on_signals(false)
        .run(|core| async move {
            if core.index != 0 {
                shutdown_handle().wait().await;
                return None;
            }
            let (tx, rx) = coring::runtime::channel::channel::<(u64, u64)>(1);
            let last = core_count() - 1;
            let consumer = spawn_on(last, move || async move {
                let mut rx = rx;
                let mut next = [0u64; 4];
                let mut n = 0;
                while let Some((p, v)) = rx.next().await {
                    assert_eq!(v, next[p as usize], "producer {p} out of order");
                    next[p as usize] += 1;
                    n += 1;
                }
                n
            })
            .unwrap();
            let mut producers = Vec::new();
            for p in 0..4u64 {
                let tx = tx.clone();
                let target = (p as usize) % core_count();
                producers.push(
                    spawn_on(target, move || async move {
                        for v in 0..PER {
                            tx.send((p, v)).await.unwrap();
                        }
                    })
                    .unwrap(),
                );
            }
            drop(tx);
            for p in producers {
                p.await.unwrap();
            }
            let n = consumer.await.unwrap();
            shutdown_handle().shutdown();
            Some(n)
        })
        .unwrap();
    assert_eq!(outs[0].unwrap().unwrap(), 4 * PER);
}

#[coring::test]
async fn channel_reports_a_dropped_receiver() {
    let (tx, rx) = coring::runtime::channel::channel::<u32>(4);
    tx.send(1).await.unwrap();
    drop(rx);
    let err = tx.send(2).await.unwrap_err();
    assert_eq!(err.0, 2);
    assert!(tx.is_closed());
}

#[coring::test]
async fn channel_ends_when_senders_are_gone() {
    let (tx, mut rx) = coring::runtime::channel::channel::<u32>(4);
    let tx2 = tx.clone();
    let h = coring::spawn(async move {
        tx2.send(7).await.unwrap();
    });
    tx.send(5).await.unwrap();
    drop(tx);
    h.await.unwrap();
    let mut got = vec![rx.recv().await.unwrap(), rx.recv().await.unwrap()];
    got.sort();
    assert_eq!(got, vec![5, 7]);
    assert_eq!(rx.recv().await, None);
}

#[test]
fn run_shared_is_one_value_for_all_cores() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let outs = Builder::new()
        .cores(two_or_fewer())
        .shutdown_on_signals(false)
        .run(|_| async {
            let v = coring::runtime::run_shared(|| AtomicUsize::new(0));
            v.fetch_add(1, Ordering::SeqCst);
            Arc::as_ptr(&v) as usize
        })
        .unwrap();
    let ptrs: Vec<usize> = outs.into_iter().map(Option::unwrap).collect();
    assert!(
        ptrs.windows(2).all(|w| w[0] == w[1]),
        "cores saw different values"
    );
}

#[test]
fn pinning_to_a_cpu_beyond_the_mask_is_an_error() {
    let e = coring::runtime::launcher::pin_current_thread(4096).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("CPU 4096"), "{e}");
}
