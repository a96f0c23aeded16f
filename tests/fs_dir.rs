//! Directory and path operations through io_uring, read_dir and the
//! blocking pool.

mod common;

use common::{rt, TempDir};
use coring::fs;
use std::{io::ErrorKind, path::PathBuf, time::Duration};

#[test]
fn create_remove_rename_link() {
    let dir = TempDir::new("dirops");
    let d = &dir.0;
    rt().block_on(async {
        fs::create_dir(d.join("a")).await.unwrap();
        assert!(std::fs::metadata(d.join("a")).unwrap().is_dir());
        let e = fs::create_dir(d.join("a")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert!(e.to_string().contains("create_dir"), "{e}");
        let e = fs::create_dir(d.join("x/y")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);

        fs::create_dir_all(d.join("a/b/c/d")).await.unwrap();
        assert!(std::fs::metadata(d.join("a/b/c/d")).unwrap().is_dir());
        fs::create_dir_all(d.join("a/b/c/d")).await.unwrap(); // exists: fine
        std::fs::write(d.join("file"), b"x").unwrap();
        let e = fs::create_dir_all(d.join("file")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        let e = fs::create_dir_all(d.join("file/sub")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotADirectory, "{e}");

        fs::write(d.join("a/f1"), b"one".to_vec()).await.unwrap();
        fs::rename(d.join("a/f1"), d.join("a/b/f2")).await.unwrap();
        assert!(!d.join("a/f1").exists());
        assert_eq!(std::fs::read(d.join("a/b/f2")).unwrap(), b"one");
        let e = fs::rename(d.join("a/f1"), d.join("zz")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(
            e.to_string().contains("a/f1") && e.to_string().contains("zz"),
            "{e}"
        );

        fs::hard_link(d.join("a/b/f2"), d.join("hl")).await.unwrap();
        assert_eq!(fs::metadata(d.join("hl")).await.unwrap().nlink(), 2);
        fs::symlink("a/b/f2", d.join("sl")).await.unwrap();
        assert_eq!(
            std::fs::read_link(d.join("sl")).unwrap(),
            PathBuf::from("a/b/f2")
        );
        assert_eq!(fs::read(d.join("sl")).await.unwrap(), b"one");
        let e = fs::symlink("t", d.join("sl")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);

        let e = fs::remove_dir(d.join("a")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DirectoryNotEmpty);
        fs::remove_file(d.join("sl")).await.unwrap();
        fs::remove_file(d.join("hl")).await.unwrap();
        fs::remove_file(d.join("a/b/f2")).await.unwrap();
        for p in ["a/b/c/d", "a/b/c", "a/b", "a"] {
            fs::remove_dir(d.join(p)).await.unwrap();
        }
        assert!(!d.join("a").exists());
        let e = fs::remove_dir(d.join("file")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotADirectory);
    });
}

#[test]
fn read_dir_lists_entries_with_types() {
    let dir = TempDir::new("read_dir");
    let d = &dir.0;
    std::fs::create_dir(d.join("sub")).unwrap();
    for i in 0..50 {
        std::fs::write(d.join(format!("f{i}")), b"x").unwrap();
    }
    std::os::unix::fs::symlink("f0", d.join("link")).unwrap();
    rt().block_on(async {
        let rd = fs::read_dir(d).await.unwrap();
        assert_eq!(rd.len(), 52);
        let mut names = Vec::new();
        for e in rd {
            let name = e.file_name().into_string().unwrap();
            let t = e.file_type().unwrap();
            match name.as_str() {
                "sub" => assert!(t.is_dir()),
                "link" => assert!(t.is_symlink()),
                _ => assert!(t.is_file(), "{name}"),
            }
            assert_eq!(e.path(), d.join(&name));
            assert_eq!(e.metadata().await.unwrap().is_dir(), name == "sub");
            names.push(name);
        }
        names.sort();
        assert_eq!(names.first().map(String::as_str), Some("f0"));
        assert!(names.contains(&"f49".to_string()));
    });
}

#[test]
fn blocking_pool_runs_off_the_executor_thread_in_parallel() {
    rt().block_on(async {
        let me = std::thread::current().id();
        let t0 = std::time::Instant::now();
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                coring::spawn_blocking(move || {
                    std::thread::sleep(Duration::from_millis(200));
                    std::thread::current().id()
                })
            })
            .collect();
        // The executor stays responsive meanwhile.
        coring::time::sleep(Duration::from_millis(10)).await;
        assert!(t0.elapsed() < Duration::from_millis(150));
        for t in tasks {
            assert_ne!(t.await.unwrap(), me);
        }
        assert!(
            t0.elapsed() < Duration::from_millis(700),
            "{:?}",
            t0.elapsed()
        );
        assert!(coring::runtime::blocking_threads() >= 1);
        // A panic in the closure is an error, not a crash.
        let e = coring::spawn_blocking(|| panic!("boom")).await.unwrap_err();
        assert!(e.to_string().contains("panicked"), "{e}");
    });
}
