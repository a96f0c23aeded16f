//! The op API against the real ring: every shipped op, owned buffers,
//! cancellation on drop, late completions, shutdown with ops in flight.

mod common;

use common::{fds_open_on, pipe};
use coring::buf::{IoBuf, IoBufMut};
use coring::runtime::{
    fd::SharedFd,
    op::{CancelFd, Close, Nop, Op, OpenAt, PollAdd, Read, Readv, Timeout, Write, Writev},
    Runtime,
};
use coring::{spawn, yield_now};
use std::{
    cell::Cell,
    io::Write as _,
    os::fd::OwnedFd,
    rc::Rc,
    time::{Duration, Instant},
};

fn rt() -> Runtime {
    Runtime::new().expect("runtime")
}

fn temp_file(name: &str) -> (std::path::PathBuf, std::fs::File) {
    let dir = std::env::temp_dir().join(format!("coring-ops-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    (path, f)
}

#[test]
fn nop_round_trips() {
    let rt = rt();
    rt.block_on(async {
        for _ in 0..1000 {
            Op::new(Nop).await.unwrap();
        }
    });
    assert_eq!(rt.stats().driver.ops_in_flight, 0);
}

#[test]
fn write_then_read_at_offsets() {
    let rt = rt();
    let (_path, f) = temp_file("rw");
    let fd = SharedFd::new(OwnedFd::from(f));
    rt.block_on(async {
        let (n, buf) = Op::new(Write::new(&fd, b"hello world".to_vec(), 0)).await;
        assert_eq!(n.unwrap(), 11);
        assert_eq!(buf, b"hello world");
        let (n, _) = Op::new(Write::new(&fd, &b"WORLD"[..], 6)).await;
        assert_eq!(n.unwrap(), 5);
        let (n, buf) = Op::new(Read::new(&fd, Vec::with_capacity(64), 0)).await;
        assert_eq!(n.unwrap(), 11);
        assert_eq!(buf, b"hello WORLD");
        // Past the end: zero bytes, not an error.
        let (n, buf) = Op::new(Read::new(&fd, Vec::with_capacity(8), 1000)).await;
        assert_eq!(n.unwrap(), 0);
        assert!(buf.is_empty());
        // A slice reads into part of a buffer.
        let (n, slice) = Op::new(Read::new(&fd, vec![b'.'; 10].slice(2..7), 6)).await;
        assert_eq!(n.unwrap(), 5);
        assert_eq!(slice.into_inner(), b"..WORLD...");
    });
}

#[test]
fn readv_writev_scatter_gather() {
    let rt = rt();
    let (_path, f) = temp_file("vec");
    let fd = SharedFd::new(OwnedFd::from(f));
    rt.block_on(async {
        let bufs = vec![b"ab".to_vec(), b"cde".to_vec(), b"f".to_vec()];
        let (n, bufs) = Op::new(Writev::new(&fd, bufs, 0)).await;
        assert_eq!(n.unwrap(), 6);
        assert_eq!(bufs.len(), 3);
        let out = vec![Vec::with_capacity(4), Vec::with_capacity(4)];
        let (n, out) = Op::new(Readv::new(&fd, out, 0)).await;
        assert_eq!(n.unwrap(), 6);
        assert_eq!(out[0], b"abcd");
        assert_eq!(out[1], b"ef");
    });
}

#[test]
fn read_on_bad_fd_is_an_error_not_a_panic() {
    let rt = rt();
    let (r, w) = pipe();
    let fd = SharedFd::new(r);
    drop(w);
    rt.block_on(async {
        // A write to the read end of a pipe fails with EBADF.
        let (res, _) = Op::new(Write::new(&fd, b"x".to_vec(), u64::MAX)).await;
        assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::EBADF));
    });
}

#[test]
fn timeout_op_fires() {
    let rt = rt();
    rt.block_on(async {
        let start = Instant::now();
        Op::new(Timeout::new(Duration::from_millis(15)))
            .await
            .unwrap();
        assert!(start.elapsed() >= Duration::from_millis(15));
    });
}

#[test]
fn timeout_op_takes_huge_durations_like_sleep() {
    let rt = rt();
    rt.block_on(async {
        // The kernel rejects a timespec whose seconds do not fit in i64
        // (EINVAL); sleep clamps such durations, and so must the op.
        for d in [Duration::MAX, Duration::from_secs(i64::MAX as u64 + 1)] {
            let r =
                coring::time::timeout(Duration::from_millis(20), Op::new(Timeout::new(d))).await;
            assert!(r.is_err(), "Timeout::new({d:?}) finished: {r:?}");
            let r = coring::time::timeout(Duration::from_millis(20), coring::time::sleep(d)).await;
            assert!(r.is_err(), "sleep({d:?}) finished");
        }
    });
}

#[test]
fn poll_add_sees_readiness() {
    let rt = rt();
    let (r, w) = pipe();
    let rfd = SharedFd::new(r);
    rt.block_on(async move {
        let mut w = std::fs::File::from(w);
        let h = spawn({
            let rfd = rfd.clone();
            async move { Op::new(PollAdd::new(&rfd, libc::POLLIN as u32)).await }
        });
        yield_now().await;
        assert!(!h.is_finished());
        w.write_all(b"x").unwrap();
        let ev = h.await.unwrap().unwrap();
        assert!(ev & libc::POLLIN as u32 != 0);
    });
}

#[test]
fn close_op_closes() {
    let rt = rt();
    let (r, w) = pipe();
    rt.block_on(async move {
        Op::new(Close::new(r)).await.unwrap();
    });
    // With the only read end closed, a write fails with EPIPE (Rust ignores
    // SIGPIPE). Checking the fd number would race with other tests' opens.
    let mut w = std::fs::File::from(w);
    let e = w.write(b"x").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EPIPE));
}

#[test]
fn cancel_fd_cancels_pending_reads() {
    let rt = rt();
    let (r, _w) = pipe();
    let fd = SharedFd::new(r);
    rt.block_on(async move {
        let reads: Vec<_> = (0..3)
            .map(|_| {
                let fd = fd.clone();
                spawn(async move { Op::new(Read::new(&fd, vec![0u8; 8], u64::MAX)).await.0 })
            })
            .collect();
        yield_now().await;
        yield_now().await;
        let n = Op::new(CancelFd::new(&fd)).await.unwrap();
        assert_eq!(n, 3);
        for r in reads {
            let e = r.await.unwrap().unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::ECANCELED));
        }
    });
}

/// A buffer that records when it is dropped.
struct TrackedBuf {
    data: Vec<u8>,
    dropped: Rc<Cell<bool>>,
}

impl Drop for TrackedBuf {
    fn drop(&mut self) {
        self.dropped.set(true);
    }
}

// SAFETY: delegates to the Vec, whose heap memory is stable.
unsafe impl IoBuf for TrackedBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.data.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.data.len()
    }
    fn bytes_total(&self) -> usize {
        self.data.capacity()
    }
}

// SAFETY: as above.
unsafe impl IoBufMut for TrackedBuf {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.data.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, pos: usize) {
        // SAFETY: forwarded contract.
        unsafe { self.data.set_init(pos) }
    }
}

#[test]
fn dropped_read_is_cancelled_and_buffer_lives_until_cqe() {
    let rt = rt();
    let (r, _w) = pipe();
    let fd = SharedFd::new(r);
    rt.block_on(async move {
        let dropped = Rc::new(Cell::new(false));
        let buf = TrackedBuf {
            data: Vec::with_capacity(64),
            dropped: dropped.clone(),
        };
        let mut op = Op::new(Read::new(&fd, buf, u64::MAX));
        // Poll once so the read is submitted, then drop it mid-flight.
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(std::pin::Pin::new(&mut op).poll(&mut cx).is_pending());
        assert_eq!(coring::runtime::stats().driver.ops_in_flight, 1);
        drop(op);
        // The kernel may still write into the buffer: it must be alive.
        assert!(!dropped.get(), "buffer freed while the read was in flight");
        assert_eq!(coring::runtime::stats().driver.ops_in_flight, 1);
        // Let the cancel and the read's CQE come back.
        let start = Instant::now();
        while coring::runtime::stats().driver.ops_in_flight != 0 {
            assert!(
                start.elapsed() < Duration::from_secs(2),
                "cancel never completed"
            );
            coring::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(dropped.get(), "buffer not released after the CQE");
        assert_eq!(coring::runtime::stats().driver.ops_cancelled, 1);
    });
    assert_eq!(rt.stats().driver.ops_in_flight, 0);
}

use std::future::Future as _;

#[test]
fn late_open_completion_closes_its_fd() {
    let rt = rt();
    let (path, f) = temp_file("late-open");
    drop(f);
    rt.block_on(async {
        for _ in 0..50 {
            let mut op = Op::new(OpenAt::new(&path, libc::O_RDONLY, 0).unwrap());
            let waker = futures::task::noop_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            assert!(std::pin::Pin::new(&mut op).poll(&mut cx).is_pending());
            drop(op);
        }
        let start = Instant::now();
        while coring::runtime::stats().driver.ops_in_flight != 0 {
            assert!(start.elapsed() < Duration::from_secs(2));
            coring::time::sleep(Duration::from_millis(1)).await;
        }
        // Closes go through the ring too; give them a turn.
        coring::time::sleep(Duration::from_millis(5)).await;
    });
    assert_eq!(
        fds_open_on(&path),
        0,
        "fds from late OPENAT completions leaked"
    );
}

#[test]
fn open_missing_path_is_enoent() {
    let rt = rt();
    rt.block_on(async {
        let e = Op::new(OpenAt::new("/nonexistent/coring".as_ref(), libc::O_RDONLY, 0).unwrap())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    });
}

#[test]
fn drop_runtime_with_1000_ops_in_flight_returns_promptly() {
    let (r, w) = pipe();
    let fd = SharedFd::new(r);
    let start;
    {
        let rt = rt();
        rt.block_on(async {
            for _ in 0..1000 {
                let fd = fd.clone();
                drop(spawn(async move {
                    Op::new(Read::new(&fd, vec![0u8; 16], u64::MAX)).await
                }));
            }
            // Tasks run 128 per loop turn; wait until all reads are submitted.
            let t = Instant::now();
            while coring::runtime::stats().driver.ops_in_flight < 1000 {
                assert!(t.elapsed() < Duration::from_secs(2));
                yield_now().await;
            }
            assert_eq!(coring::runtime::stats().driver.ops_in_flight, 1000);
        });
        start = Instant::now();
    }
    let took = start.elapsed();
    assert!(took < Duration::from_secs(1), "runtime drop took {took:?}");
    drop(w);
}

#[test]
fn op_future_kept_past_runtime_drop_resolves_cancelled() {
    let (r, _w) = pipe();
    let fd = SharedFd::new(r);
    let mut op = Op::new(Read::new(&fd, vec![0u8; 8], u64::MAX));
    {
        let rt = rt();
        rt.block_on(async {
            let waker = futures::task::noop_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            assert!(std::pin::Pin::new(&mut op).poll(&mut cx).is_pending());
        });
    }
    let waker = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    match std::pin::Pin::new(&mut op).poll(&mut cx) {
        std::task::Poll::Ready((res, buf)) => {
            assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::ECANCELED));
            assert_eq!(buf.capacity(), 8);
        }
        std::task::Poll::Pending => panic!("op pending after its runtime shut down"),
    }
}

#[test]
#[should_panic(expected = "outside a coring runtime")]
fn op_outside_runtime_panics_clearly() {
    let mut op = Op::new(Nop);
    let waker = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    let _ = std::pin::Pin::new(&mut op).poll(&mut cx);
}

#[test]
fn ops_from_many_tasks_all_complete() {
    let rt = rt();
    rt.block_on(async {
        let hs: Vec<_> = (0..10_000)
            .map(|_| spawn(async { Op::new(Nop).await }))
            .collect();
        for h in hs {
            h.await.unwrap().unwrap();
        }
    });
    let s = rt.stats().driver;
    assert_eq!(s.ops_in_flight, 0);
    assert!(s.ops_submitted >= 10_000);
}

/// A multishot poll, defined outside the runtime through the public API.
struct PollMulti {
    fd: SharedFd,
}

// SAFETY: the SQE names the fd, kept open by the SharedFd; no memory.
unsafe impl coring::runtime::op::MultishotCode for PollMulti {
    type Item = std::io::Result<u32>;
    const CODE: u8 = coring::runtime::io_uring::opcode::PollAdd::CODE;

    fn build(&mut self) -> coring::runtime::io_uring::squeue::Entry {
        coring::runtime::io_uring::opcode::PollAdd::new(
            coring::runtime::io_uring::types::Fd(self.fd.raw()),
            libc::POLLIN as u32,
        )
        .multi(true)
        .build()
    }

    fn item(&mut self, cqe: coring::runtime::op::Completion) -> Self::Item {
        cqe.result()
    }
}

#[test]
fn multishot_stream_yields_each_completion_and_cancels_on_drop() {
    use futures::StreamExt;
    use std::io::Read as _;
    let rt = rt();
    let (r, w) = pipe();
    let mut reader = std::fs::File::from(r.try_clone().unwrap());
    let fd = SharedFd::new(r);
    let mut w = std::fs::File::from(w);
    rt.block_on(async move {
        let mut stream = coring::runtime::op::MultiOp::new(PollMulti { fd: fd.clone() });
        for i in 0..5u8 {
            w.write_all(&[i]).unwrap();
            let ev = stream.next().await.expect("stream ended early").unwrap();
            assert!(ev & libc::POLLIN as u32 != 0);
            let mut b = [0u8; 1];
            reader.read_exact(&mut b).unwrap();
            assert_eq!(b[0], i);
        }
        assert_eq!(coring::runtime::stats().driver.ops_in_flight, 1);
        drop(stream);
        let start = Instant::now();
        while coring::runtime::stats().driver.ops_in_flight != 0 {
            assert!(
                start.elapsed() < Duration::from_secs(2),
                "multishot cancel never completed"
            );
            coring::time::sleep(Duration::from_millis(1)).await;
        }
    });
}

#[test]
fn runtime_local_is_per_runtime_and_dropped_after_the_ring() {
    struct Pool(Rc<Cell<u32>>);
    impl Drop for Pool {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let drops = Rc::new(Cell::new(0));
    {
        let rt = rt();
        let d = drops.clone();
        rt.block_on(async move {
            let a = coring::runtime::runtime_local(|| Pool(d.clone()));
            let b = coring::runtime::runtime_local(|| Pool(d.clone()));
            assert!(Rc::ptr_eq(&a, &b));
            assert!(coring::runtime::runtime_id().is_some());
        });
        assert_eq!(drops.get(), 0);
    }
    assert_eq!(drops.get(), 1);
}

#[test]
fn probe_answers_for_known_opcodes_and_shared_fd_clones() {
    let rt = rt();
    rt.block_on(async {
        use coring::runtime::io_uring::opcode;
        assert!(coring::runtime::op::is_supported(opcode::Nop::CODE));
        assert!(coring::runtime::op::is_supported(opcode::Read::CODE));
        let (r, w) = pipe();
        let fd = SharedFd::new(r);
        let dup = fd.try_clone_to_owned().unwrap();
        drop(fd);
        // The duplicate still reads the pipe.
        let mut w = std::fs::File::from(w);
        w.write_all(b"z").unwrap();
        let mut f = std::fs::File::from(dup);
        let mut b = [0u8; 1];
        std::io::Read::read_exact(&mut f, &mut b).unwrap();
        assert_eq!(&b, b"z");
    });
}

/// Bytes waiting in a pipe.
fn pipe_bytes(fd: &SharedFd) -> i32 {
    use std::os::fd::AsRawFd;
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int into `n`.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) };
    assert_eq!(rc, 0);
    n
}

async fn wait_until_no_ops_in_flight(what: &str) {
    let t = Instant::now();
    while coring::runtime::stats().driver.ops_in_flight != 0 {
        assert!(t.elapsed() < Duration::from_secs(2), "{what}");
        coring::time::sleep(Duration::from_millis(1)).await;
    }
}

#[test]
fn a_detached_op_finishes_in_the_background() {
    let rt = rt();
    let (r, w) = pipe();
    let r = SharedFd::new(r);
    let mut w = std::fs::File::from(w);
    rt.block_on(async {
        // Never polled: detach submits it, and does not cancel it.
        Op::new(Read::new(&r, vec![0u8; 4], u64::MAX)).detach();
        yield_now().await;
        assert_eq!(coring::runtime::stats().driver.ops_in_flight, 1);
        coring::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(coring::runtime::stats().driver.ops_in_flight, 1);
        w.write_all(b"data").unwrap();
        wait_until_no_ops_in_flight("detached read never finished").await;
        assert_eq!(pipe_bytes(&r), 0, "the detached read consumed the bytes");
    });
}

#[test]
fn a_detached_op_with_a_limit_is_cancelled_when_it_runs_out() {
    let rt = rt();
    let (r, w) = pipe();
    let r = SharedFd::new(r);
    let mut w = std::fs::File::from(w);
    rt.block_on(async {
        let mut read = Op::new(Read::new(&r, vec![0u8; 4], u64::MAX));
        assert!(futures::poll!(&mut read).is_pending());
        read.detach_for(Duration::from_millis(30));
        yield_now().await;
        assert_eq!(coring::runtime::stats().driver.ops_in_flight, 1);
        wait_until_no_ops_in_flight("limit passed but the op was not cancelled").await;
        w.write_all(b"data").unwrap();
        assert_eq!(pipe_bytes(&r), 4, "a cancelled read must not take bytes");
    });
}

#[test]
fn a_limited_detached_op_that_finishes_leaves_no_task_or_timer() {
    let rt = rt();
    rt.block_on(async {
        let base = coring::runtime::stats();
        for _ in 0..100 {
            Op::new(Nop).detach_for(Duration::from_secs(3600));
        }
        let t = Instant::now();
        loop {
            let s = coring::runtime::stats();
            if s.driver.ops_in_flight == 0
                && s.timers == base.timers
                && s.tasks_alive == base.tasks_alive
            {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(2), "left behind: {s:?}");
            yield_now().await;
        }
    });
}
