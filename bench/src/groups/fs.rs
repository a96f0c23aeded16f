//! `fs`: coring-fs against tokio::fs and monoio, side by side in one
//! process (moved from `benches/fs_compare.rs`), on a page-cached file
//! (`/tmp/coring-fs-bench-<MiB>m`, created once; 1 GiB in full runs):
//!
//! 1. random 4 KiB reads, 128 tasks in flight (kIOPS), with fio (io_uring,
//!    QD128, batched) as a contender when it is installed or installable;
//! 2. sequential 1 MiB reads, one task (GB/s);
//! 3. file → loopback TCP socket (GB/s): coring splice_to in each
//!    SpliceMode vs sendfile(2), splice(2) through a 1 MiB pipe, and a
//!    read/write copy with a 64 KiB buffer (each on a plain thread).

use super::{interleave, Contender};
use crate::harness::{ensure_tool, Ctx};
use crate::results::GroupResult;
use std::{
    io::{Read, SeekFrom},
    net::{TcpListener, TcpStream},
    os::fd::AsRawFd,
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
    rc::Rc,
    sync::{Arc, OnceLock},
    thread,
    time::Instant,
};

const TASKS: u64 = 128;
const SEQ_BUF: usize = 1 << 20;

/// (file size, random reads, fio seconds) of this run.
static SIZES: OnceLock<(u64, u64, u64)> = OnceLock::new();

fn file_size() -> u64 {
    SIZES.get().expect("fs sizes set").0
}

fn random_reads() -> u64 {
    SIZES.get().expect("fs sizes set").1
}

fn fio_secs() -> u64 {
    SIZES.get().expect("fs sizes set").2
}

pub fn run(ctx: &crate::harness::Ctx, g: &mut GroupResult) {
    let sizes = ctx.mode.pick(
        (1u64 << 30, 512 * 1024, 3),
        (256 << 20, 128 * 1024, 1),
        (64 << 20, 16 * 1024, 1),
    );
    if SIZES.set(sizes).is_err() && SIZES.get() != Some(&sizes) {
        g.skipped
            .push("fs ran twice with different sizes in one process".into());
        return;
    }
    let rounds = ctx.mode.rounds(5);
    let have_fio = ensure_tool("fio", "fio");
    run_all(ctx, g, rounds, have_fio);
}

fn bench_file() -> PathBuf {
    let path = PathBuf::from(format!("/tmp/coring-fs-bench-{}m", file_size() >> 20));
    if std::fs::metadata(&path).map(|m| m.len()).ok() != Some(file_size()) {
        println!("creating {} ({} MiB)...", path.display(), file_size() >> 20);
        let f = std::fs::File::create(&path).unwrap();
        let mut chunk = vec![0u8; 1 << 20];
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for i in 0..(file_size() >> 20) {
            for w in chunk.chunks_exact_mut(8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                w.copy_from_slice(&x.to_le_bytes());
            }
            f.write_all_at(&chunk, i << 20).unwrap();
        }
    }
    // Make sure it is in the page cache.
    let mut f = std::fs::File::open(&path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    while f.read(&mut buf).unwrap() > 0 {}
    path
}

/// The offsets task `t` reads (xorshift, 4 KiB aligned), same for everyone.
fn offsets(t: u64, n: u64) -> impl Iterator<Item = u64> {
    let mut x = (t + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n).map(move |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % (file_size() / 4096)) * 4096
    })
}

// ---------- random 4 KiB reads ----------

fn coring_random(rt: &coring::runtime::Runtime, path: &Path) -> f64 {
    rt.block_on(async {
        let file = Rc::new(coring::fs::File::open(path).await.unwrap());
        let t0 = Instant::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let file = file.clone();
                coring::spawn(async move {
                    let mut buf = Vec::with_capacity(4096);
                    for off in offsets(t, random_reads() / TASKS) {
                        let (res, b) = file.read_at(buf, off).await;
                        assert_eq!(res.unwrap(), 4096);
                        buf = b;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        t0.elapsed().as_secs_f64()
    })
}

fn monoio_random(rt: &mut monoio::Runtime<monoio::IoUringDriver>, path: &Path) -> f64 {
    rt.block_on(async {
        let file = Rc::new(monoio::fs::File::open(path).await.unwrap());
        let t0 = Instant::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let file = file.clone();
                monoio::spawn(async move {
                    let mut buf = Vec::with_capacity(4096);
                    for off in offsets(t, random_reads() / TASKS) {
                        let (res, b) = file.read_at(buf, off).await;
                        assert_eq!(res.unwrap(), 4096);
                        buf = b;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await;
        }
        t0.elapsed().as_secs_f64()
    })
}

fn tokio_fs_random(rt: &tokio::runtime::Runtime, path: &Path) -> f64 {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    rt.block_on(async {
        let mut files = Vec::new();
        for _ in 0..TASKS {
            files.push(tokio::fs::File::open(path).await.unwrap());
        }
        let t0 = Instant::now();
        let tasks: Vec<_> = files
            .into_iter()
            .enumerate()
            .map(|(t, mut file)| {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    for off in offsets(t as u64, random_reads() / TASKS) {
                        file.seek(SeekFrom::Start(off)).await.unwrap();
                        file.read_exact(&mut buf).await.unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        t0.elapsed().as_secs_f64()
    })
}

fn tokio_pread_random(rt: &tokio::runtime::Runtime, path: &Path) -> f64 {
    let file = Arc::new(std::fs::File::open(path).unwrap());
    rt.block_on(async {
        let t0 = Instant::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let file = file.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    for off in offsets(t, random_reads() / TASKS) {
                        let f = file.clone();
                        buf = tokio::task::spawn_blocking(move || {
                            f.read_exact_at(&mut buf, off).unwrap();
                            buf
                        })
                        .await
                        .unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        t0.elapsed().as_secs_f64()
    })
}

fn pread_loop(path: &Path) -> f64 {
    let file = std::fs::File::open(path).unwrap();
    let mut buf = vec![0u8; 4096];
    let t0 = Instant::now();
    for t in 0..TASKS {
        for off in offsets(t, random_reads() / TASKS) {
            file.read_exact_at(&mut buf, off).unwrap();
        }
    }
    t0.elapsed().as_secs_f64()
}

/// fio's own figure for the same workload (io_uring, QD128, batched
/// submission, 3 s), converted to the seconds random_reads() would take at
/// that rate; `None` if fio is not installed.
fn fio_random(path: &Path) -> Option<f64> {
    let args = [
        "--name=rr",
        &format!("--filename={}", path.display()),
        "--rw=randread",
        "--bs=4k",
        &format!("--size={}", file_size()),
        "--ioengine=io_uring",
        "--iodepth=128",
        "--iodepth_batch_submit=32",
        "--iodepth_batch_complete_min=1",
        "--invalidate=0",
        "--time_based",
        &format!("--runtime={}", fio_secs()),
        "--output-format=terse",
        "--terse-version=3",
    ];
    let out = std::process::Command::new("fio").args(args).output().ok()?;
    // Terse v3: field 8 (1-based) is the read IOPS.
    let text = String::from_utf8_lossy(&out.stdout);
    let iops: f64 = text.lines().next()?.split(';').nth(7)?.parse().ok()?;
    Some(random_reads() as f64 / iops)
}

// ---------- sequential 1 MiB reads ----------

fn coring_seq(rt: &coring::runtime::Runtime, path: &Path) -> f64 {
    rt.block_on(async {
        let file = coring::fs::File::open(path).await.unwrap();
        let t0 = Instant::now();
        let mut buf = Vec::with_capacity(SEQ_BUF);
        let mut pos = 0;
        while pos < file_size() {
            let (res, b) = file.read_at(buf, pos).await;
            pos += res.unwrap() as u64;
            buf = b;
        }
        t0.elapsed().as_secs_f64()
    })
}

fn monoio_seq(rt: &mut monoio::Runtime<monoio::IoUringDriver>, path: &Path) -> f64 {
    rt.block_on(async {
        let file = monoio::fs::File::open(path).await.unwrap();
        let t0 = Instant::now();
        let mut buf = Vec::with_capacity(SEQ_BUF);
        let mut pos = 0;
        while pos < file_size() {
            let (res, b) = file.read_at(buf, pos).await;
            pos += res.unwrap() as u64;
            buf = b;
        }
        t0.elapsed().as_secs_f64()
    })
}

fn tokio_seq(rt: &tokio::runtime::Runtime, path: &Path) -> f64 {
    use tokio::io::AsyncReadExt;
    rt.block_on(async {
        let mut file = tokio::fs::File::open(path).await.unwrap();
        let t0 = Instant::now();
        let mut buf = vec![0u8; SEQ_BUF];
        let mut total = 0u64;
        loop {
            let n = file.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            total += n as u64;
        }
        assert_eq!(total, file_size());
        t0.elapsed().as_secs_f64()
    })
}

// ---------- file → socket ----------

/// A loopback connection whose far end a thread drains to EOF; returns
/// the sending stream and the thread (which returns the bytes received).
fn sink() -> (TcpStream, thread::JoinHandle<u64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let h = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n as u64,
            }
        }
    });
    (TcpStream::connect(addr).unwrap(), h)
}

fn timed_transfer(send: impl FnOnce(&TcpStream)) -> f64 {
    let (stream, h) = sink();
    let t0 = Instant::now();
    send(&stream);
    drop(stream);
    let got = h.join().unwrap();
    let secs = t0.elapsed().as_secs_f64();
    assert_eq!(got, file_size());
    secs
}

fn coring_splice(rt: &coring::runtime::Runtime, path: &Path, mode: coring::fs::SpliceMode) -> f64 {
    rt.block_on(async {
        let file = coring::fs::File::open(path).await.unwrap();
        let (stream, h) = sink();
        stream
            .set_nonblocking(mode != coring::fs::SpliceMode::Uring)
            .unwrap();
        let t0 = Instant::now();
        let n = coring::fs::splice_to_with(&file, 0, file_size(), &stream, mode)
            .await
            .unwrap();
        drop(stream);
        assert_eq!(n, file_size());
        assert_eq!(h.join().unwrap(), file_size());
        t0.elapsed().as_secs_f64()
    })
}

fn sendfile_copy(path: &Path) -> f64 {
    let file = std::fs::File::open(path).unwrap();
    timed_transfer(|s| {
        let mut off: libc::off_t = 0;
        while (off as u64) < file_size() {
            let left = (file_size() - off as u64) as usize;
            // SAFETY: valid fds; `off` is a live local.
            let n = unsafe { libc::sendfile(s.as_raw_fd(), file.as_raw_fd(), &mut off, left) };
            assert!(n > 0, "sendfile: {}", std::io::Error::last_os_error());
        }
    })
}

fn splice_syscall_copy(path: &Path) -> f64 {
    let file = std::fs::File::open(path).unwrap();
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: F_SETPIPE_SZ on our pipe.
    unsafe { libc::fcntl(fds[1], libc::F_SETPIPE_SZ, 1 << 20) };
    let secs = timed_transfer(|s| {
        let mut off: libc::loff_t = 0;
        while (off as u64) < file_size() {
            let left = ((file_size() - off as u64) as usize).min(1 << 20);
            // SAFETY: valid fds; `off` is a live local.
            let mut n = unsafe {
                libc::splice(
                    file.as_raw_fd(),
                    &mut off,
                    fds[1],
                    std::ptr::null_mut(),
                    left,
                    0,
                )
            };
            assert!(n > 0);
            while n > 0 {
                // SAFETY: valid fds, no offsets.
                let m = unsafe {
                    libc::splice(
                        fds[0],
                        std::ptr::null_mut(),
                        s.as_raw_fd(),
                        std::ptr::null_mut(),
                        n as usize,
                        0,
                    )
                };
                assert!(m > 0);
                n -= m;
            }
        }
    });
    // SAFETY: closing our pipe fds.
    unsafe {
        libc::close(fds[0]);
        libc::close(fds[1]);
    }
    secs
}

fn read_write_copy(path: &Path) -> f64 {
    use std::io::Write;
    let file = std::fs::File::open(path).unwrap();
    timed_transfer(|s| {
        let mut s = s;
        let mut buf = vec![0u8; 64 * 1024];
        let mut off = 0u64;
        while off < file_size() {
            let n = file.read_at(&mut buf, off).unwrap();
            s.write_all(&buf[..n]).unwrap();
            off += n as u64;
        }
    })
}

fn run_all(_ctx: &Ctx, g: &mut GroupResult, rounds: usize, have_fio: bool) {
    let path = bench_file();
    let coring = coring::runtime::Runtime::new().unwrap();
    let monoio = std::cell::RefCell::new(
        monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
            .with_entries(1024)
            .build()
            .unwrap(),
    );
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mib = file_size() >> 20;
    g.notes.push(format!(
        "{mib} MiB page-cached file {}, {rounds} interleaved rounds after one warm-up, \
         unpinned (tokio uses its thread pools); random reads: {} reads, same offsets for everyone",
        path.display(),
        random_reads()
    ));
    let p = path.as_path();
    let gb = |secs: f64| file_size() as f64 / secs / 1e9;
    let kiops = |secs: f64| random_reads() as f64 / secs / 1e3;
    let mut random = vec![
        Contender::new("coring", || kiops(coring_random(&coring, p))),
        Contender::new("monoio", || {
            kiops(monoio_random(&mut monoio.borrow_mut(), p))
        }),
        Contender::new("tokio::fs (seek + read_exact)", || {
            kiops(tokio_fs_random(&tokio, p))
        }),
        Contender::new("tokio spawn_blocking(pread)", || {
            kiops(tokio_pread_random(&tokio, p))
        }),
        Contender::new("pread loop, 1 thread (ceiling)", || kiops(pread_loop(p))),
    ];
    if have_fio {
        g.command(format!(
            "fio --name=rr --filename={} --rw=randread --bs=4k --size={} --ioengine=io_uring \
             --iodepth=128 --iodepth_batch_submit=32 --iodepth_batch_complete_min=1 \
             --invalidate=0 --time_based --runtime={} --output-format=terse --terse-version=3",
            p.display(),
            file_size(),
            fio_secs()
        ));
        random.push(Contender::new("fio io_uring QD128 batched", || {
            fio_random(p).map_or(f64::NAN, kiops)
        }));
    } else {
        g.skipped
            .push("fio (not installed and not installable)".into());
    }
    interleave(
        g,
        &format!("random 4 KiB reads, {TASKS} tasks in flight"),
        "kIOPS",
        true,
        rounds,
        random,
    );
    interleave(
        g,
        &format!("sequential 1 MiB reads, {mib} MiB, one task"),
        "GB/s",
        true,
        rounds,
        vec![
            Contender::new("coring", || gb(coring_seq(&coring, p))),
            Contender::new("monoio", || gb(monoio_seq(&mut monoio.borrow_mut(), p))),
            Contender::new("tokio::fs", || gb(tokio_seq(&tokio, p))),
        ],
    );
    use coring::fs::SpliceMode;
    interleave(
        g,
        &format!("file → loopback TCP, {mib} MiB"),
        "GB/s",
        true,
        rounds,
        vec![
            // The default mode first: it is the baseline of the ratios.
            Contender::new("coring splice_to (DirectSend, default)", || {
                gb(coring_splice(&coring, p, SpliceMode::DirectSend))
            }),
            Contender::new("coring splice_to (Uring)", || {
                gb(coring_splice(&coring, p, SpliceMode::Uring))
            }),
            Contender::new("coring splice_to (Direct)", || {
                gb(coring_splice(&coring, p, SpliceMode::Direct))
            }),
            Contender::new("sendfile(2), thread", || gb(sendfile_copy(p))),
            Contender::new("splice(2) 1 MiB pipe, thread", || {
                gb(splice_syscall_copy(p))
            }),
            Contender::new("read/write 64 KiB, thread", || gb(read_write_copy(p))),
        ],
    );
}
