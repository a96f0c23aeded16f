//! Sharded listeners: one `SO_REUSEPORT` listener per core on one address.

use coring::net::TcpListener;
use coring::runtime::{
    core_id, launcher::allowed_cpus, run_shared, shutdown_handle, Builder, Cores,
};
use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
};

#[test]
fn connections_spread_over_cores_sharing_one_port() {
    let cores = allowed_cpus().unwrap().len().min(2);
    const CONNS: usize = 200;
    let counts: Arc<Vec<AtomicUsize>> = Arc::new((0..cores).map(|_| AtomicUsize::new(0)).collect());
    let addrs: Arc<Mutex<Vec<SocketAddr>>> = Arc::default();
    let (c, a) = (counts.clone(), addrs.clone());
    Builder::new()
        .cores(Cores::Count(cores))
        .shutdown_on_signals(false)
        .run(move |_| {
            let (counts, addrs) = (c.clone(), a.clone());
            async move {
                let listener = TcpListener::bind_sharded("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let ready = {
                    let mut addrs = addrs.lock().unwrap();
                    addrs.push(addr);
                    addrs.len() == cores
                };
                if ready {
                    // The last core to bind starts the client.
                    std::thread::spawn(move || {
                        for _ in 0..CONNS {
                            drop(std::net::TcpStream::connect(addr).unwrap());
                        }
                    });
                }
                let total = run_shared(|| AtomicUsize::new(0));
                loop {
                    let (_stream, _) = listener.accept().await.unwrap();
                    counts[core_id()].fetch_add(1, Ordering::SeqCst);
                    if total.fetch_add(1, Ordering::SeqCst) + 1 == CONNS {
                        // Stop every core now; accepts still pending are
                        // cancelled.
                        shutdown_handle().shutdown_now();
                    }
                }
            }
        })
        .unwrap();
    let addrs = addrs.lock().unwrap();
    assert!(
        addrs.iter().all(|a| *a == addrs[0]),
        "cores bound different ports: {addrs:?}"
    );
    let per_core: Vec<usize> = counts.iter().map(|c| c.load(Ordering::SeqCst)).collect();
    assert_eq!(per_core.iter().sum::<usize>(), CONNS, "{per_core:?}");
    if cores > 1 {
        assert!(
            per_core.iter().all(|&n| n > 0),
            "the kernel gave one core nothing: {per_core:?}"
        );
    }
}

#[coring::test]
async fn bind_sharded_with_a_fixed_port_allows_a_second_listener() {
    let first = TcpListener::bind_sharded("127.0.0.1:0").await.unwrap();
    let addr = first.local_addr().unwrap();
    // SO_REUSEPORT: another listener on the same port is allowed.
    let second = TcpListener::bind_sharded(addr).await.unwrap();
    assert_eq!(second.local_addr().unwrap(), addr);
}

#[coring::test]
async fn a_bad_sharded_address_is_an_error_naming_it() {
    let e = TcpListener::bind_sharded("127.0.0.1:notaport")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("127.0.0.1:notaport"), "{e}");
}
