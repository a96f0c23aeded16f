//! `#[coring::test]` and its options, used for real.

use std::time::Duration;

#[coring::test]
async fn test_attribute_runs_the_body_on_a_runtime() {
    let h = coring::spawn(async { 21 * 2 });
    coring::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(h.await.unwrap(), 42);
}

#[coring::test(entries = 64, cq_entries = 256)]
async fn test_attribute_passes_ring_sizes() {
    let info = coring::runtime::ring_info();
    assert_eq!(
        info.wanted,
        coring::runtime::ring::RingSize { sq: 64, cq: 256 }
    );
    assert_eq!(info.size, info.wanted);
}

#[coring::test(
    entries = 2048,
    cq_entries = 8192,
    start_entries = 128,
    start_cq_entries = 512
)]
async fn test_attribute_passes_start_sizes() {
    use coring::runtime::ring::{Resizing, RingSize};
    let info = coring::runtime::ring_info();
    assert_eq!(info.start, RingSize { sq: 128, cq: 512 });
    assert_eq!(info.max, RingSize { sq: 2048, cq: 8192 });
    assert_eq!(info.resizing, Resizing::On);
}

#[coring::test(entries = 2048, cq_entries = 8192, adaptive = false)]
async fn test_attribute_turns_adaptive_sizing_off() {
    use coring::runtime::ring::{Resizing, RingSize};
    let info = coring::runtime::ring_info();
    assert_eq!(info.resizing, Resizing::Off);
    assert_eq!(info.size, RingSize { sq: 2048, cq: 8192 });
}

#[coring::test]
async fn test_attribute_can_return_result() -> std::io::Result<()> {
    coring::runtime::op::Op::new(coring::runtime::op::Nop).await
}

#[coring::test]
#[should_panic(expected = "inside the body")]
async fn test_attribute_keeps_should_panic() {
    panic!("inside the body");
}
