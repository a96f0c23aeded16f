//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::os::fd::{FromRawFd, OwnedFd};

/// A pipe: (read end, write end).
pub fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two fds into the array.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: both fds are fresh and owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Number of open fds of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Whether we run as root (some tests need it and say so when skipped).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Number of this process's fds open on `path`.
pub fn fds_open_on(path: &std::path::Path) -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target == path)
        .count()
}

/// A directory unique to one test, removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    /// A fresh directory unique to this process and `name`.
    pub fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("coring-fs-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A runtime with the default configuration.
pub fn rt() -> coring::runtime::Runtime {
    coring::runtime::Runtime::new().expect("runtime")
}

/// Deterministic pseudo-random bytes (xorshift), different per seed.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let take = (len - v.len()).min(8);
        v.extend_from_slice(&x.to_le_bytes()[..take]);
    }
    v
}

/// Reads a child server's first stdout line (`listening on 0.0.0.0:PORT,
/// ...`) and returns the port.
pub fn listening_port(child: &mut std::process::Child) -> u16 {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout piped"))
        .read_line(&mut line)
        .unwrap();
    line.split_whitespace()
        .find_map(|w| w.trim_end_matches(',').rsplit(':').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"))
}

/// Echoes `conn` through owned-buffer reads of up to `buf_size` bytes
/// until the peer closes or an error.
pub async fn echo(mut conn: coring::net::TcpStream, buf_size: usize) {
    use coring::buf::IoBuf;
    use coring::io::{OwnedRead, OwnedWrite};
    let mut buf = Vec::with_capacity(buf_size);
    loop {
        let (res, b) = conn.read(buf).await;
        let n = match res {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let (res, b) = conn.write_all(b.slice(..n)).await;
        if res.is_err() {
            return;
        }
        buf = b.into_inner();
    }
}

/// A `pre_exec` hook for a child process: `RLIMIT_MEMLOCK` set to
/// `bytes` and `CAP_IPC_LOCK` dropped from the bounding set, so ring memory
/// is charged against the limit as for an ordinary user.
pub fn drop_ipc_lock_and_limit_memlock(
    bytes: u64,
) -> impl FnMut() -> std::io::Result<()> + Send + Sync {
    move || {
        let rl = libc::rlimit {
            rlim_cur: bytes,
            rlim_max: bytes,
        };
        // SAFETY: setrlimit reads the struct we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &rl) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        const CAP_IPC_LOCK: libc::c_ulong = 14;
        // SAFETY: prctl(PR_CAPBSET_DROP) takes a capability number only.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, CAP_IPC_LOCK, 0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}
