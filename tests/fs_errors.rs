//! Bad input to coring-fs: each case is an `io::Error` with the right kind
//! whose message names the path; never a panic or a hang.

mod common;

use common::{rt, TempDir};
use coring::fs::{self, File, OpenOptions, PathError};
use std::{io::ErrorKind, path::PathBuf};

/// Asserts `e` has `kind`, names `path`, and (for kernel errors) keeps the
/// errno reachable.
fn check(e: &std::io::Error, kind: ErrorKind, path: &std::path::Path, errno: Option<i32>) {
    assert_eq!(e.kind(), kind, "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains(path.to_str().unwrap()),
        "message lacks the path: {msg}"
    );
    if let Some(errno) = errno {
        let inner = e.get_ref().and_then(|i| i.downcast_ref::<PathError>());
        let inner = inner.expect("a PathError inside");
        assert_eq!(inner.os_error().raw_os_error(), Some(errno), "{msg}");
        assert_eq!(inner.path(), path);
    }
}

#[test]
fn missing_file() {
    let dir = TempDir::new("missing");
    let p = dir.0.join("nope");
    rt().block_on(async {
        let e = File::open(&p).await.unwrap_err();
        check(&e, ErrorKind::NotFound, &p, Some(libc::ENOENT));
        let e = fs::read(&p).await.unwrap_err();
        check(&e, ErrorKind::NotFound, &p, Some(libc::ENOENT));
        let e = fs::metadata(&p).await.unwrap_err();
        check(&e, ErrorKind::NotFound, &p, Some(libc::ENOENT));
        let e = fs::remove_file(&p).await.unwrap_err();
        check(&e, ErrorKind::NotFound, &p, Some(libc::ENOENT));
        let e = fs::read_dir(&p).await.unwrap_err();
        check(&e, ErrorKind::NotFound, &p, None);
    });
}

#[test]
fn directory_as_a_file() {
    let dir = TempDir::new("dir_as_file");
    let p = dir.0.clone();
    rt().block_on(async {
        // Open for write: EISDIR.
        let e = OpenOptions::new().write(true).open(&p).await.unwrap_err();
        check(&e, ErrorKind::IsADirectory, &p, Some(libc::EISDIR));
        let e = fs::write(&p, b"x".to_vec()).await.unwrap_err();
        check(&e, ErrorKind::IsADirectory, &p, Some(libc::EISDIR));
        // Open read-only works; reading the fd gives EISDIR.
        let f = File::open(&p).await.unwrap();
        let (res, _) = f.read_at(Vec::with_capacity(10), 0).await;
        check(
            &res.unwrap_err(),
            ErrorKind::IsADirectory,
            &p,
            Some(libc::EISDIR),
        );
        let e = fs::read(&p).await.unwrap_err();
        check(&e, ErrorKind::IsADirectory, &p, Some(libc::EISDIR));
        let e = fs::remove_file(&p).await.unwrap_err();
        check(&e, ErrorKind::IsADirectory, &p, Some(libc::EISDIR));
    });
}

#[test]
fn writing_a_read_only_file() {
    let dir = TempDir::new("read_only");
    let p = dir.0.join("f");
    std::fs::write(&p, b"data").unwrap();
    rt().block_on(async {
        let f = File::open(&p).await.unwrap();
        let (res, buf) = f.write_at(b"xx".to_vec(), 0).await;
        check(&res.unwrap_err(), ebadf(), &p, Some(libc::EBADF));
        assert_eq!(buf, b"xx", "the buffer comes back");
        let (res, _) = f.write_all_at(b"xx".to_vec(), 0).await;
        check(&res.unwrap_err(), ebadf(), &p, Some(libc::EBADF));
        let e = f.set_len(0).await.unwrap_err();
        check(&e, ErrorKind::InvalidInput, &p, Some(libc::EINVAL));
    });
    assert_eq!(std::fs::read(&p).unwrap(), b"data");
}

#[test]
fn offset_past_end_and_zero_length_buffers() {
    let dir = TempDir::new("zero_len");
    let p = dir.0.join("f");
    std::fs::write(&p, b"data").unwrap();
    rt().block_on(async {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&p)
            .await
            .unwrap();
        let (res, _) = f.read_at(Vec::with_capacity(8), 1 << 40).await;
        assert_eq!(res.unwrap(), 0, "past the end reads 0");
        let (res, _) = f.read_at(Vec::new(), 0).await;
        check(&res.unwrap_err(), ErrorKind::InvalidInput, &p, None);
        let (res, _) = f.write_at(Vec::new(), 0).await;
        check(&res.unwrap_err(), ErrorKind::InvalidInput, &p, None);
        let (res, _) = f.readv_at(vec![Vec::<u8>::new()], 0).await;
        check(&res.unwrap_err(), ErrorKind::InvalidInput, &p, None);
        // Offsets beyond i64::MAX (u64::MAX would mean "file position").
        for pos in [u64::MAX, i64::MAX as u64 + 1] {
            let (res, _) = f.read_at(Vec::with_capacity(8), pos).await;
            check(&res.unwrap_err(), ErrorKind::InvalidInput, &p, None);
            let (res, _) = f.write_all_at(b"zz".to_vec(), pos).await;
            check(&res.unwrap_err(), ErrorKind::InvalidInput, &p, None);
        }
        let (res, _) = f
            .read_exact_at(Vec::with_capacity(8), i64::MAX as u64 - 2)
            .await;
        assert!(res.is_err());
        // The exact variants with nothing to do succeed.
        let (res, _) = f.read_exact_at(Vec::new(), 0).await;
        res.unwrap();
        let (res, _) = f.write_all_at(Vec::new(), 0).await;
        res.unwrap();
    });
}

#[test]
fn closed_fd() {
    let dir = TempDir::new("closed");
    let p = dir.0.join("f");
    std::fs::write(&p, b"data").unwrap();
    let std_file = std::fs::File::open(&p).unwrap();
    // A high fd number, so that no other test reuses it once closed.
    let fd = 900;
    // SAFETY: dup2 onto an fd number nothing in this process uses.
    let rc = unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&std_file), fd) };
    assert_eq!(rc, fd);
    // SAFETY: fd 900 is ours (just created by dup2).
    let std_file = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    rt().block_on(async {
        let f = File::from_std(std_file);
        // Close the fd behind the File's back.
        // SAFETY: deliberately closing an fd we own, to test EBADF.
        unsafe { libc::close(fd) };
        let name = PathBuf::from(format!("<fd {fd}>"));
        let (res, _) = f.read_at(Vec::with_capacity(4), 0).await;
        check(&res.unwrap_err(), ebadf(), &name, Some(libc::EBADF));
        let e = f.metadata().await.unwrap_err();
        check(&e, ebadf(), &name, Some(libc::EBADF));
        let e = f.sync_all().await.unwrap_err();
        check(&e, ebadf(), &name, Some(libc::EBADF));
        std::mem::forget(f); // its fd is gone; do not close it twice
    });
}

#[test]
fn nul_byte_and_bad_options() {
    rt().block_on(async {
        let p = PathBuf::from("/tmp/a\0b");
        let e = File::open(&p).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("NUL"), "{e}");
        let e = fs::create_dir(&p).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let q = PathBuf::from("/tmp/whatever");
        let e = OpenOptions::new().open(&q).await.unwrap_err();
        check(&e, ErrorKind::InvalidInput, &q, None);
    });
}

#[test]
fn invalid_utf8_in_read_to_string() {
    let dir = TempDir::new("utf8");
    let p = dir.0.join("f");
    std::fs::write(&p, [0xff, 0xfe, b'a']).unwrap();
    rt().block_on(async {
        let e = fs::read_to_string(&p).await.unwrap_err();
        check(&e, ErrorKind::InvalidData, &p, None);
    });
}

/// The kind std gives EBADF (not nameable on stable).
fn ebadf() -> ErrorKind {
    std::io::Error::from_raw_os_error(libc::EBADF).kind()
}

/// A file larger than memory can hold (sparse, 128 TiB on tmpfs: more
/// than the address space, so no overcommit setting lets the buffer be
/// allocated) is an `OutOfMemory` error naming the path, not an abort.
#[test]
fn reading_a_file_larger_than_memory_is_an_error() {
    let dir = std::path::Path::new("/dev/shm");
    if !dir.is_dir() {
        eprintln!("skipped: needs tmpfs at /dev/shm for a 128 TiB sparse file");
        return;
    }
    let path = dir.join(format!("coring-fs-huge-{}", std::process::id()));
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(1 << 47).unwrap();
    drop(f);
    let res = rt().block_on(fs::read(&path));
    std::fs::remove_file(&path).unwrap();
    let e = res.expect_err("a 128 TiB read cannot succeed");
    check(&e, ErrorKind::OutOfMemory, &path, None);
}

#[test]
fn open_beneath_never_leaves_its_directory() {
    let dir = TempDir::new("open_beneath");
    let root = dir.join("www");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("sub/page.html"), b"page").unwrap();
    std::fs::write(dir.join("secret"), b"secret").unwrap();
    std::os::unix::fs::symlink("sub/page.html", root.join("inside")).unwrap();
    std::os::unix::fs::symlink("../secret", root.join("outside")).unwrap();
    std::os::unix::fs::symlink(dir.join("secret"), root.join("absolute")).unwrap();
    rt().block_on(async {
        let www = File::open(&root).await.unwrap();
        let opts = OpenOptions::new().read(true).clone();
        for ok in [
            "sub/page.html",
            "inside",
            "sub/../sub/page.html",
            "./sub//page.html",
        ] {
            let f = opts.open_beneath(&www, ok).await.unwrap();
            let (res, buf) = f.read_at(Vec::with_capacity(16), 0).await;
            res.unwrap();
            assert_eq!(buf, b"page", "{ok}");
            assert_eq!(f.path(), root.join(ok));
        }
        for escape in [
            "../secret",
            "outside",
            "absolute",
            "/etc/passwd",
            "sub/../../secret",
        ] {
            let e = opts.open_beneath(&www, escape).await.unwrap_err();
            check(&e, e.kind(), &root.join(escape), Some(libc::EXDEV));
        }
        let e = opts.open_beneath(&www, "missing").await.unwrap_err();
        check(
            &e,
            ErrorKind::NotFound,
            &root.join("missing"),
            Some(libc::ENOENT),
        );
        let e = opts.open_beneath(&www, "a\0b").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        // Creating beneath works too (mode counts with O_CREAT).
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .mode(0o600)
            .open_beneath(&www, "sub/new.txt")
            .await
            .unwrap();
        f.write_all_at(b"new".to_vec(), 0).await.0.unwrap();
        assert_eq!(std::fs::read(root.join("sub/new.txt")).unwrap(), b"new");
    });
}
