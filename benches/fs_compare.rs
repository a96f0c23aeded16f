//! coring-fs against tokio::fs and monoio, side by side in one process, on
//! a 1 GiB page-cached file (/tmp/coring-fs-bench-1g, created once):
//!
//! 1. random 4 KiB reads, 128 tasks in flight (IOPS);
//! 2. sequential 1 MiB reads, one task (GB/s);
//! 3. file → loopback TCP socket, 1 GiB (GB/s): coring splice_to in each
//!    SpliceMode vs sendfile(2), splice(2) through a 1 MiB pipe, and a
//!    read/write copy with a 64 KiB buffer (each on a plain thread).
//!
//! Run: `cargo bench --bench fs_compare` (prints the median of ROUNDS runs
//! of each contender and ratios). `FS_BENCH_ROUNDS=n` changes the rounds.

use std::{
    io::{Read, SeekFrom},
    net::{TcpListener, TcpStream},
    os::fd::AsRawFd,
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
    rc::Rc,
    sync::Arc,
    thread,
    time::Instant,
};

const FILE_SIZE: u64 = 1 << 30;
const TASKS: u64 = 128;
const RANDOM_READS: u64 = 512 * 1024;
const SEQ_BUF: usize = 1 << 20;

fn rounds() -> usize {
    std::env::var("FS_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
}

fn bench_file() -> PathBuf {
    let path = PathBuf::from("/tmp/coring-fs-bench-1g");
    if std::fs::metadata(&path).map(|m| m.len()).ok() != Some(FILE_SIZE) {
        eprintln!("creating {} (1 GiB)...", path.display());
        let f = std::fs::File::create(&path).unwrap();
        let mut chunk = vec![0u8; 1 << 20];
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for i in 0..(FILE_SIZE >> 20) {
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
        (x % (FILE_SIZE / 4096)) * 4096
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

struct Contender<'a> {
    name: &'a str,
    /// Runs once; returns the seconds taken.
    run: Box<dyn FnMut() -> f64 + 'a>,
}

/// Runs every contender `rounds` times, interleaved, and prints medians of
/// `units / seconds` with ratios to the first contender.
fn compare(title: &str, unit: &str, units: f64, scale: f64, contenders: Vec<Contender<'_>>) {
    let mut contenders = contenders;
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    for _ in 0..rounds() {
        for (c, r) in contenders.iter_mut().zip(&mut results) {
            r.push(units / (c.run)() / scale);
        }
    }
    println!("\n## {title}");
    println!("{:<34} {:>12} {:>10}   runs", "contender", unit, "1st/this");
    let medians: Vec<f64> = results.iter().map(|r| median(r.clone())).collect();
    for ((c, r), m) in contenders.iter().zip(&results).zip(&medians) {
        let runs: Vec<String> = r.iter().map(|v| format!("{v:.2}")).collect();
        println!(
            "{:<34} {:>12.2} {:>9.2}x   [{}]",
            c.name,
            m,
            medians[0] / m,
            runs.join(", ")
        );
    }
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
                    for off in offsets(t, RANDOM_READS / TASKS) {
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
                    for off in offsets(t, RANDOM_READS / TASKS) {
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
                    for off in offsets(t as u64, RANDOM_READS / TASKS) {
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
                    for off in offsets(t, RANDOM_READS / TASKS) {
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
        for off in offsets(t, RANDOM_READS / TASKS) {
            file.read_exact_at(&mut buf, off).unwrap();
        }
    }
    t0.elapsed().as_secs_f64()
}

/// fio's own figure for the same workload (io_uring, QD128, batched
/// submission, 3 s), converted to the seconds RANDOM_READS would take at
/// that rate; `None` if fio is not installed.
fn fio_random(path: &Path) -> Option<f64> {
    let out = std::process::Command::new("fio")
        .args([
            "--name=rr",
            &format!("--filename={}", path.display()),
            "--rw=randread",
            "--bs=4k",
            "--size=1g",
            "--ioengine=io_uring",
            "--iodepth=128",
            "--iodepth_batch_submit=32",
            "--iodepth_batch_complete_min=1",
            "--invalidate=0",
            "--time_based",
            "--runtime=3",
            "--output-format=terse",
            "--terse-version=3",
        ])
        .output()
        .ok()?;
    // Terse v3: field 8 (1-based) is the read IOPS.
    let text = String::from_utf8_lossy(&out.stdout);
    let iops: f64 = text.lines().next()?.split(';').nth(7)?.parse().ok()?;
    Some(RANDOM_READS as f64 / iops)
}

// ---------- sequential 1 MiB reads ----------

fn coring_seq(rt: &coring::runtime::Runtime, path: &Path) -> f64 {
    rt.block_on(async {
        let file = coring::fs::File::open(path).await.unwrap();
        let t0 = Instant::now();
        let mut buf = Vec::with_capacity(SEQ_BUF);
        let mut pos = 0;
        while pos < FILE_SIZE {
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
        while pos < FILE_SIZE {
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
        assert_eq!(total, FILE_SIZE);
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
    assert_eq!(got, FILE_SIZE);
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
        let n = coring::fs::splice_to_with(&file, 0, FILE_SIZE, &stream, mode)
            .await
            .unwrap();
        drop(stream);
        assert_eq!(n, FILE_SIZE);
        assert_eq!(h.join().unwrap(), FILE_SIZE);
        t0.elapsed().as_secs_f64()
    })
}

fn sendfile_copy(path: &Path) -> f64 {
    let file = std::fs::File::open(path).unwrap();
    timed_transfer(|s| {
        let mut off: libc::off_t = 0;
        while (off as u64) < FILE_SIZE {
            let left = (FILE_SIZE - off as u64) as usize;
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
        while (off as u64) < FILE_SIZE {
            let left = ((FILE_SIZE - off as u64) as usize).min(1 << 20);
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
        while off < FILE_SIZE {
            let n = file.read_at(&mut buf, off).unwrap();
            s.write_all(&buf[..n]).unwrap();
            off += n as u64;
        }
    })
}

fn main() {
    // `cargo bench` passes --bench; ignore arguments.
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
    println!(
        "fs_compare: 1 GiB cached file, {} rounds, {} cores",
        rounds(),
        thread::available_parallelism().map_or(0, |n| n.get())
    );

    let p = path.as_path();
    compare(
        &format!("random 4 KiB reads, {TASKS} tasks in flight, {RANDOM_READS} reads"),
        "kIOPS",
        RANDOM_READS as f64,
        1e3,
        vec![
            Contender {
                name: "coring",
                run: Box::new(|| coring_random(&coring, p)),
            },
            Contender {
                name: "monoio",
                run: Box::new(|| monoio_random(&mut monoio.borrow_mut(), p)),
            },
            Contender {
                name: "tokio::fs (seek + read_exact)",
                run: Box::new(|| tokio_fs_random(&tokio, p)),
            },
            Contender {
                name: "tokio spawn_blocking(pread)",
                run: Box::new(|| tokio_pread_random(&tokio, p)),
            },
            Contender {
                name: "pread loop, 1 thread (ceiling)",
                run: Box::new(|| pread_loop(p)),
            },
        ]
        .into_iter()
        .chain(fio_random(p).map(|_| Contender {
            name: "fio io_uring QD128 batched",
            run: Box::new(|| fio_random(p).unwrap_or(f64::NAN)),
        }))
        .collect(),
    );
    compare(
        "sequential 1 MiB reads, 1 GiB, one task",
        "GB/s",
        FILE_SIZE as f64,
        1e9,
        vec![
            Contender {
                name: "coring",
                run: Box::new(|| coring_seq(&coring, p)),
            },
            Contender {
                name: "monoio",
                run: Box::new(|| monoio_seq(&mut monoio.borrow_mut(), p)),
            },
            Contender {
                name: "tokio::fs",
                run: Box::new(|| tokio_seq(&tokio, p)),
            },
        ],
    );
    use coring::fs::SpliceMode;
    compare(
        "file -> loopback TCP, 1 GiB",
        "GB/s",
        FILE_SIZE as f64,
        1e9,
        vec![
            Contender {
                name: "coring splice_to (Uring)",
                run: Box::new(|| coring_splice(&coring, p, SpliceMode::Uring)),
            },
            Contender {
                name: "coring splice_to (DirectSend)",
                run: Box::new(|| coring_splice(&coring, p, SpliceMode::DirectSend)),
            },
            Contender {
                name: "coring splice_to (Direct)",
                run: Box::new(|| coring_splice(&coring, p, SpliceMode::Direct)),
            },
            Contender {
                name: "sendfile(2), thread",
                run: Box::new(|| sendfile_copy(p)),
            },
            Contender {
                name: "splice(2) 1 MiB pipe, thread",
                run: Box::new(|| splice_syscall_copy(p)),
            },
            Contender {
                name: "read/write 64 KiB, thread",
                run: Box::new(|| read_write_copy(p)),
            },
        ],
    );
}
