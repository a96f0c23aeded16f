//! Executor behaviour against the real ring: spawning, joining, aborting,
//! panics, cross-thread wakes, timers.

use coring::runtime::{Runtime, RuntimeStats};
use coring::time::{interval, sleep, sleep_until, timeout};
use coring::{spawn, yield_now};
use std::{
    cell::RefCell,
    rc::Rc,
    time::{Duration, Instant},
};

fn rt() -> Runtime {
    Runtime::new().expect("runtime")
}

#[test]
fn spawn_and_join_100k_tasks() {
    let rt = rt();
    let sum = rt.block_on(async {
        let handles: Vec<_> = (0..100_000u64)
            .map(|i| spawn(async move { i * 2 }))
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, 2 * (100_000u64 * 99_999 / 2));
    let s: RuntimeStats = rt.stats();
    assert_eq!(s.tasks_spawned, 100_000);
    assert_eq!(s.tasks_alive, 0);
}

#[test]
fn nested_spawn_and_not_send_futures() {
    let rt = rt();
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    rt.block_on(async move {
        let outer = spawn(async move {
            let l2 = l.clone();
            let inner = spawn(async move {
                l2.borrow_mut().push("inner");
                5
            });
            let v = inner.await.unwrap();
            l.borrow_mut().push("outer");
            v + 1
        });
        assert_eq!(outer.await.unwrap(), 6);
    });
    assert_eq!(*log.borrow(), vec!["inner", "outer"]);
}

#[test]
fn abort_cancels_and_drops_the_future() {
    let rt = rt();
    rt.block_on(async {
        struct Flag(Rc<RefCell<bool>>);
        impl Drop for Flag {
            fn drop(&mut self) {
                *self.0.borrow_mut() = true;
            }
        }
        let dropped = Rc::new(RefCell::new(false));
        let flag = Flag(dropped.clone());
        let h = spawn(async move {
            let _f = flag;
            sleep(Duration::from_secs(3600)).await;
            1
        });
        yield_now().await;
        assert!(!h.is_finished());
        h.abort();
        assert!(h.is_finished());
        let err = h.await.unwrap_err();
        assert!(err.is_cancelled(), "{err}");
        yield_now().await;
        assert!(*dropped.borrow(), "aborted task's future was not dropped");
        assert_eq!(
            coring::runtime::stats().timers,
            0,
            "aborted sleep left a timer"
        );
    });
}

#[test]
fn abort_after_finish_keeps_output() {
    let rt = rt();
    rt.block_on(async {
        let h = spawn(async { 9 });
        yield_now().await;
        yield_now().await;
        assert!(h.is_finished());
        h.abort();
        assert_eq!(h.await.unwrap(), 9);
    });
}

#[test]
fn panicking_task_gives_join_error_and_runtime_survives() {
    let rt = rt();
    rt.block_on(async {
        let h = spawn(async {
            if true {
                panic!("boom in task");
            }
            1
        });
        let err = h.await.unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.panic_message(), Some("boom in task"));
        // The runtime keeps going.
        assert_eq!(spawn(async { 2 }).await.unwrap(), 2);
    });
    assert_eq!(rt.block_on(async { 3 }), 3);
}

#[test]
fn dropped_join_handle_detaches() {
    let rt = rt();
    let done = Rc::new(RefCell::new(false));
    let d = done.clone();
    rt.block_on(async move {
        drop(spawn(async move {
            sleep(Duration::from_millis(5)).await;
            *d.borrow_mut() = true;
        }));
        sleep(Duration::from_millis(30)).await;
    });
    assert!(*done.borrow());
}

#[test]
fn wake_from_another_thread_unparks_promptly() {
    let rt = rt();
    rt.block_on(async {
        for _ in 0..20 {
            let (tx, rx) = futures::channel::oneshot::channel::<Instant>();
            let t = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                tx.send(Instant::now()).unwrap();
            });
            // Nothing else to do: the runtime parks in the kernel.
            let sent = rx.await.unwrap();
            let latency = sent.elapsed();
            assert!(latency < Duration::from_millis(50), "wake took {latency:?}");
            t.join().unwrap();
        }
    });
    assert!(rt.stats().driver.remote_wakes >= 1);
}

#[test]
fn wake_of_spawned_task_from_another_thread() {
    let rt = rt();
    rt.block_on(async {
        let (tx, rx) = futures::channel::oneshot::channel::<u32>();
        let h = spawn(async move { rx.await.unwrap() + 1 });
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            tx.send(41).unwrap();
        });
        assert_eq!(h.await.unwrap(), 42);
    });
}

#[test]
fn sleeps_complete_in_deadline_order() {
    let rt = rt();
    let order = Rc::new(RefCell::new(Vec::new()));
    let o = order.clone();
    rt.block_on(async move {
        let start = Instant::now();
        let mut hs = Vec::new();
        for (i, ms) in [30u64, 10, 50, 20, 40, 0].into_iter().enumerate() {
            let o = o.clone();
            hs.push(spawn(async move {
                sleep_until(start + Duration::from_millis(ms)).await;
                o.borrow_mut().push(i);
                assert!(start.elapsed() >= Duration::from_millis(ms));
            }));
        }
        for h in hs {
            h.await.unwrap();
        }
    });
    assert_eq!(*order.borrow(), vec![5, 1, 3, 0, 4, 2]);
}

#[test]
fn many_concurrent_sleeps() {
    let rt = rt();
    rt.block_on(async {
        let start = Instant::now();
        let hs: Vec<_> = (0..100_000u64)
            .map(|i| spawn(async move { sleep(Duration::from_millis(1 + i % 50)).await }))
            .collect();
        assert_eq!(coring::runtime::stats().tasks_alive, 100_000);
        for h in hs {
            h.await.unwrap();
        }
        assert!(start.elapsed() >= Duration::from_millis(50));
    });
    assert_eq!(rt.stats().timers, 0);
}

#[test]
fn timeout_fires_and_passes() {
    let rt = rt();
    rt.block_on(async {
        let start = Instant::now();
        let r = timeout(Duration::from_millis(20), sleep(Duration::from_secs(10))).await;
        assert!(r.is_err());
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(20) && waited < Duration::from_secs(2),
            "{waited:?}"
        );
        let ok = timeout(Duration::from_secs(10), async { 5 }).await;
        assert_eq!(ok, Ok(5));
        let e: std::io::Error = r.unwrap_err().into();
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    });
}

#[test]
fn interval_ticks_at_period() {
    let rt = rt();
    rt.block_on(async {
        let mut iv = interval(Duration::from_millis(10));
        let first = iv.tick().await;
        let mut last = first;
        for _ in 0..5 {
            let t = iv.tick().await;
            assert_eq!(t - last, Duration::from_millis(10));
            last = t;
        }
        assert!(Instant::now() >= first + Duration::from_millis(50));
    });
}

#[test]
fn huge_durations_wait_instead_of_panicking() {
    let rt = rt();
    rt.block_on(async {
        // Instant + Duration::MAX overflows; these must mean "not soon".
        let r = timeout(Duration::from_millis(20), sleep(Duration::MAX)).await;
        assert!(r.is_err(), "sleep(Duration::MAX) must not finish");
        let r = timeout(Duration::MAX, async { 7 }).await;
        assert_eq!(r.unwrap(), 7);
        let mut iv = interval(Duration::MAX);
        iv.tick().await; // the first tick is immediate
        let r = timeout(Duration::from_millis(20), iv.tick()).await;
        assert!(r.is_err(), "the second tick of interval(MAX) must not come");
    });
}

#[test]
fn interval_skips_missed_ticks() {
    let rt = rt();
    rt.block_on(async {
        let mut iv = interval(Duration::from_millis(5));
        let first = iv.tick().await;
        // Block the thread for ~10 periods: those ticks are skipped.
        std::thread::sleep(Duration::from_millis(52));
        let late = iv.tick().await;
        assert_eq!(
            late,
            first + Duration::from_millis(5),
            "the overdue tick reports its scheduled time"
        );
        let next = iv.tick().await;
        let gap = next - first;
        assert!(
            gap > Duration::from_millis(50),
            "missed ticks not skipped: {gap:?}"
        );
        assert_eq!(gap.as_nanos() % Duration::from_millis(5).as_nanos(), 0);
    });
}

#[test]
fn yield_now_lets_others_run() {
    let rt = rt();
    rt.block_on(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let (a, b) = (log.clone(), log.clone());
        let h1 = spawn(async move {
            for i in 0..3 {
                a.borrow_mut().push(("a", i));
                yield_now().await;
            }
        });
        let h2 = spawn(async move {
            for i in 0..3 {
                b.borrow_mut().push(("b", i));
                yield_now().await;
            }
        });
        h1.await.unwrap();
        h2.await.unwrap();
        let l = log.borrow();
        assert_eq!(l[0], ("a", 0));
        assert_eq!(l[1], ("b", 0));
        assert_eq!(l[2], ("a", 1));
    });
}

#[test]
fn busy_tasks_do_not_starve_io() {
    let rt = rt();
    rt.block_on(async {
        let stop = Rc::new(std::cell::Cell::new(false));
        let s = stop.clone();
        let spinner = spawn(async move {
            while !s.get() {
                yield_now().await;
            }
        });
        // A timer and an op still complete while a task spins.
        sleep(Duration::from_millis(5)).await;
        coring::runtime::op::Op::new(coring::runtime::op::Nop)
            .await
            .unwrap();
        stop.set(true);
        spinner.await.unwrap();
    });
}

#[test]
#[should_panic(expected = "outside a coring runtime")]
fn spawn_outside_runtime_panics_clearly() {
    drop(spawn(async {}));
}

#[test]
#[should_panic(expected = "cannot start a runtime from within a running runtime")]
fn nested_block_on_panics_clearly() {
    let rt = rt();
    rt.block_on(async {
        let rt2 = Runtime::new().unwrap();
        rt2.block_on(async {});
    });
}

#[test]
fn runtime_is_reusable_and_sequential_runtimes_work() {
    for _ in 0..3 {
        let rt = rt();
        assert_eq!(rt.block_on(async { spawn(async { 1 }).await.unwrap() }), 1);
        assert_eq!(rt.block_on(async { 2 }), 2);
    }
}

#[test]
fn timers_work_when_parks_use_a_timeout_sqe() {
    // The pre-5.11 path: no EXT_ARG, a kernel timeout SQE bounds each park.
    let rt = coring::runtime::Builder::new()
        .without_ext_arg()
        .build()
        .unwrap();
    rt.block_on(async {
        let start = Instant::now();
        let long = spawn(sleep(Duration::from_secs(3600)));
        for ms in [5u64, 1, 10, 2] {
            let t = Instant::now();
            sleep(Duration::from_millis(ms)).await;
            let took = t.elapsed();
            assert!(
                took >= Duration::from_millis(ms) && took < Duration::from_millis(ms + 200),
                "{took:?}"
            );
        }
        long.abort();
        // The aborted task's future is dropped when the executor next runs it.
        yield_now().await;
        assert!(start.elapsed() < Duration::from_secs(2));
    });
    assert_eq!(rt.stats().timers, 0);
}
