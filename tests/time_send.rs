//! `coring::time::sleep` is `Send`: a sleep can cross threads before it
//! waits, fires where it registered, and panics with a clear message if it
//! is polled on another core after it registered.

use coring::Runtime;
use futures::FutureExt;
use std::time::{Duration, Instant};

#[test]
fn a_sleep_made_on_one_thread_waits_on_another() {
    let sleep = coring::time::sleep(Duration::from_millis(20));
    let start = Instant::now();
    std::thread::spawn(move || Runtime::new().unwrap().block_on(sleep))
        .join()
        .unwrap();
    assert!(start.elapsed() >= Duration::from_millis(20));
}

#[test]
fn a_registered_sleep_polled_on_another_core_panics_clearly() {
    let mut sleep = Box::pin(coring::time::sleep(Duration::from_secs(10)));
    Runtime::new().unwrap().block_on(async {
        // Registers with this runtime's timers.
        assert!((&mut sleep).now_or_never().is_none());
    });
    let err = std::thread::spawn(move || {
        Runtime::new().unwrap().block_on(async move {
            let _ = (&mut sleep).now_or_never();
        })
    })
    .join()
    .unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(
        msg.contains("polled on a thread other than the core"),
        "{msg}"
    );
}

#[test]
fn a_registered_sleep_dropped_on_another_thread_is_harmless() {
    let rt = Runtime::new().unwrap();
    let mut sleep = Box::pin(coring::time::sleep(Duration::from_millis(30)));
    rt.block_on(async {
        assert!((&mut sleep).now_or_never().is_none());
    });
    std::thread::spawn(move || drop(sleep)).join().unwrap();
    // The orphaned entry fires at its deadline and is forgotten.
    rt.block_on(coring::time::sleep(Duration::from_millis(50)));
    assert_eq!(rt.block_on(async { coring::runtime::stats().timers }), 0);
}
