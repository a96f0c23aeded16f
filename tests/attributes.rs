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

#[coring::test]
async fn test_attribute_can_return_result() -> std::io::Result<()> {
    coring::runtime::op::Op::new(coring::runtime::op::Nop).await
}

#[coring::test]
#[should_panic(expected = "inside the body")]
async fn test_attribute_keeps_should_panic() {
    panic!("inside the body");
}
