//! The kernel's io-wq workers behind a core stay on that core's CPU and
//! within the configured limits: 32 concurrent file → /dev/null splices
//! (every one punted to io-wq) on a core pinned to the first allowed CPU,
//! with a thread sampling `/proc/self/task` for `iou-wrk-*` threads
//! meanwhile. (One test in this binary: other tests' workers would be
//! counted too.)

mod common;

use coring::runtime::{launcher::allowed_cpus, ring::IoWorkers, Builder, Cores};
use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

/// Every io-wq worker thread of this process now: tid → `Cpus_allowed_list`.
fn io_workers_now() -> BTreeMap<u64, String> {
    let mut out = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for t in tasks.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if !comm.starts_with("iou-wrk-") {
            continue;
        }
        let status = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
        let Some(cpus) = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .map(|v| v.trim().to_string())
        else {
            // The worker exited between the listing and the read (idle
            // workers time out): nothing to check.
            continue;
        };
        let tid = t.file_name().to_string_lossy().parse().unwrap_or(0);
        out.insert(tid, cpus);
    }
    out
}

#[test]
fn io_wq_workers_are_pinned_to_the_core_and_bounded() {
    let cpus = allowed_cpus().unwrap();
    let cpu = cpus[0];
    if cpus.len() < 2 {
        eprintln!(
            "note: only CPU {cpu} is allowed: pinning cannot be told apart from no pinning here"
        );
    }
    let dir = common::TempDir::new("io-workers");
    let src = dir.join("src.bin");
    std::fs::write(&src, common::pattern(4 << 20, 7)).unwrap();

    // Sample the worker threads while the core runs.
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new((0usize, BTreeMap::new())));
    let sampler = {
        let (stop, seen) = (stop.clone(), seen.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let now = io_workers_now();
                let mut s = seen.lock().unwrap();
                s.0 = s.0.max(now.len());
                s.1.extend(now);
                drop(s);
                std::thread::sleep(Duration::from_micros(500));
            }
        })
    };
    let workers = IoWorkers {
        bounded: 2,
        unbounded: 3,
        follow_affinity: true,
    };
    let out = Builder::new()
        .cores(Cores::List(vec![cpu]))
        .io_workers(workers)
        .shutdown_on_signals(false)
        .run(move |_core| {
            let src = src.clone();
            async move {
                let info = coring::runtime::ring_info().io_workers;
                let mut transfers = Vec::new();
                for _ in 0..32 {
                    let src = src.clone();
                    transfers.push(coring::spawn(async move {
                        let file = coring::fs::File::open(&src).await.unwrap();
                        let null = std::fs::OpenOptions::new()
                            .write(true)
                            .open("/dev/null")
                            .unwrap();
                        let mut sent = 0;
                        for _ in 0..4 {
                            sent += coring::fs::splice_to(&file, 0, u64::MAX, &null)
                                .await
                                .unwrap();
                        }
                        sent
                    }));
                }
                let mut total = 0;
                for t in transfers {
                    total += t.await.unwrap();
                }
                (info, total)
            }
        })
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let (info, total) = out.into_iter().next().flatten().unwrap();
    assert_eq!(total, 32 * 4 * (4 << 20), "every splice completed");
    assert_eq!(
        info.cpus,
        Some(vec![cpu]),
        "workers pinned to the core's CPU"
    );
    assert_eq!(info.limits, Some([2, 3]), "limits registered");

    let (peak, all) = std::mem::take(&mut *seen.lock().unwrap());
    assert!(
        !all.is_empty(),
        "no io-wq worker was ever seen: the splices did not reach io-wq?"
    );
    let expected = cpu.to_string();
    for (tid, allowed) in &all {
        assert_eq!(
            allowed, &expected,
            "io-wq worker {tid} may run on CPUs {allowed}, not only the core's CPU {cpu}"
        );
    }
    assert!(
        peak <= 5,
        "{peak} io-wq workers at once; the limits allow 2 bounded + 3 unbounded"
    );
}
