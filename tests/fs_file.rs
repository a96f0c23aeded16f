//! coring-fs files against real files: round trips of awkward sizes byte
//! for byte, 1,000 concurrent readers, vectored I/O, metadata, length and
//! space management, sync, close, O_DIRECT.

mod common;

use common::{pattern, rt, TempDir};
use coring::fs::{self, AlignedBuf, File, OpenOptions};
use std::{
    path::Path,
    rc::Rc,
    time::{Duration, SystemTime},
};

const SIZES: [usize; 7] = [0, 1, 4095, 4096, 4097, (1 << 20) + 7, 64 << 20];

#[test]
fn round_trip_sizes_byte_for_byte() {
    let dir = TempDir::new("round_trip");
    rt().block_on(async {
        for (i, &size) in SIZES.iter().enumerate() {
            let path = dir.join(&format!("f{size}"));
            let data = pattern(size, i as u64 + 1);
            // write_all_at + read_exact_at through File.
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
                .await
                .unwrap();
            if size > 0 {
                let (res, back) = file.write_all_at(data.clone(), 0).await;
                res.unwrap();
                assert_eq!(back.len(), size);
            }
            assert_eq!(file.metadata().await.unwrap().len(), size as u64);
            let (res, got) = file.read_exact_at(Vec::with_capacity(size), 0).await;
            res.unwrap();
            assert!(got == data, "size {size}: read_exact_at differs");
            file.close().await.unwrap();
            // std sees the same bytes.
            assert!(
                std::fs::read(&path).unwrap() == data,
                "size {size}: std differs"
            );
            // fs::read / fs::write.
            let p2 = dir.join(&format!("g{size}"));
            fs::write(&p2, data.clone()).await.unwrap();
            assert!(
                fs::read(&p2).await.unwrap() == data,
                "size {size}: fs::read differs"
            );
            assert!(std::fs::read(&p2).unwrap() == data);
            std::fs::remove_file(&path).unwrap();
            std::fs::remove_file(&p2).unwrap();
        }
    });
}

#[test]
fn read_at_short_read_at_end_and_zero_past_end() {
    let dir = TempDir::new("short");
    let path = dir.join("f");
    std::fs::write(&path, b"0123456789").unwrap();
    rt().block_on(async {
        let f = File::open(&path).await.unwrap();
        let (res, buf) = f.read_at(Vec::with_capacity(100), 6).await;
        assert_eq!(res.unwrap(), 4);
        assert_eq!(buf, b"6789");
        let (res, buf) = f.read_at(Vec::with_capacity(100), 10_000).await;
        assert_eq!(res.unwrap(), 0, "read past the end returns 0");
        assert!(buf.is_empty());
        // read_exact_at past the end: UnexpectedEof naming the path.
        let (res, _) = f.read_exact_at(Vec::with_capacity(20), 0).await;
        let e = res.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
        assert!(e.to_string().contains(path.to_str().unwrap()), "{e}");
        // Reading into a slice of a larger buffer.
        let buf = vec![b'x'; 8];
        let (res, slice) = f.read_at(coring::buf::IoBuf::slice(buf, 2..5), 0).await;
        assert_eq!(res.unwrap(), 3);
        assert_eq!(slice.into_inner(), b"xx012xxx");
    });
}

#[test]
fn concurrent_reads_from_1000_tasks() {
    let dir = TempDir::new("concurrent");
    let path = dir.join("f");
    let data = pattern(4 << 20, 7);
    std::fs::write(&path, &data).unwrap();
    let data = Rc::new(data);
    rt().block_on(async {
        let file = Rc::new(File::open(&path).await.unwrap());
        let tasks: Vec<_> = (0..1000u64)
            .map(|i| {
                let (file, data) = (file.clone(), data.clone());
                coring::spawn(async move {
                    let off = (i * 4093 * 7) % (data.len() as u64 - 8192);
                    let (res, buf) = file.read_exact_at(Vec::with_capacity(8192), off).await;
                    res.unwrap();
                    assert!(
                        buf[..] == data[off as usize..off as usize + 8192],
                        "task {i}"
                    );
                    i
                })
            })
            .collect();
        let mut sum = 0;
        for t in tasks {
            sum += t.await.unwrap();
        }
        assert_eq!(sum, 999 * 1000 / 2);
    });
}

#[test]
fn vectored_read_and_write() {
    let dir = TempDir::new("vectored");
    let path = dir.join("f");
    rt().block_on(async {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .await
            .unwrap();
        let bufs = vec![b"hello ".to_vec(), b"vectored ".to_vec(), b"world".to_vec()];
        let (res, _) = f.writev_at(bufs, 3).await;
        assert_eq!(res.unwrap(), 20);
        assert_eq!(std::fs::read(&path).unwrap(), b"\0\0\0hello vectored world");
        let bufs = vec![Vec::with_capacity(4), Vec::with_capacity(100)];
        let (res, bufs) = f.readv_at(bufs, 3).await;
        assert_eq!(res.unwrap(), 20);
        assert_eq!(bufs[0], b"hell");
        assert_eq!(bufs[1], b"o vectored world");
    });
}

#[test]
fn metadata_fields() {
    let dir = TempDir::new("metadata");
    let path = dir.join("f");
    let before = SystemTime::now() - Duration::from_secs(2);
    rt().block_on(async {
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .mode(0o640)
            .open(&path)
            .await
            .unwrap();
        f.write_all_at(vec![1u8; 5000], 0).await.0.unwrap();
        let m = f.metadata().await.unwrap();
        let std_m = std::fs::metadata(&path).unwrap();
        assert_eq!(m.len(), 5000);
        assert!(m.is_file() && !m.is_dir() && !m.is_symlink());
        assert!(m.file_type().is_file());
        assert_eq!(m.permissions().mode() & 0o777, 0o640 & !umask());
        assert!(!m.permissions().readonly());
        use std::os::unix::fs::MetadataExt;
        assert_eq!(m.ino(), std_m.ino());
        assert_eq!(m.dev(), std_m.dev());
        assert_eq!(m.nlink(), 1);
        assert_eq!(m.uid(), std_m.uid());
        let modified = m.modified().unwrap();
        assert_eq!(modified, std_m.modified().unwrap());
        assert!(modified >= before && modified <= SystemTime::now() + Duration::from_secs(1));
        assert!(m.accessed().is_ok());
        if let Ok(c) = m.created() {
            assert!(c >= before);
        }
        // Path metadata agrees, and sees a directory as one.
        let pm = fs::metadata(&path).await.unwrap();
        assert_eq!((pm.len(), pm.ino()), (5000, m.ino()));
        let dm = fs::metadata(&dir.0).await.unwrap();
        assert!(dm.is_dir() && dm.file_type().is_dir() && !dm.is_file());
        // A symlink: metadata follows it, symlink_metadata does not.
        let link = dir.join("link");
        fs::symlink(&path, &link).await.unwrap();
        assert!(fs::metadata(&link).await.unwrap().is_file());
        assert!(fs::symlink_metadata(&link).await.unwrap().is_symlink());
    });
}

fn umask() -> u32 {
    // SAFETY: umask has no preconditions; we set it back at once.
    unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m as u32
    }
}

#[test]
fn set_len_allocate_sync_close() {
    let dir = TempDir::new("set_len");
    let path = dir.join("f");
    rt().block_on(async {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .open(&path)
            .await
            .unwrap();
        f.write_all_at(b"abcdef".to_vec(), 0).await.0.unwrap();
        f.set_len(3).await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"abc");
        f.set_len(10).await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"abc\0\0\0\0\0\0\0");
        f.allocate(0, 1 << 20).await.unwrap();
        let m = f.metadata().await.unwrap();
        assert_eq!(m.len(), 1 << 20, "fallocate mode 0 extends the file");
        assert!(m.blocks() * 512 >= 1 << 20, "space allocated");
        f.sync_data().await.unwrap();
        f.sync_all().await.unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&f);
        f.close().await.unwrap();
        // The fd is really closed.
        // SAFETY: F_GETFD on a closed fd number just fails with EBADF.
        let rc = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        assert!(
            rc < 0 || std::fs::read_link(format!("/proc/self/fd/{fd}")).ok() != Some(path.clone()),
            "fd {fd} still open on the file after close"
        );
    });
}

#[test]
fn dropped_file_is_closed_through_the_ring() {
    let dir = TempDir::new("drop_close");
    let path = dir.join("f");
    std::fs::write(&path, b"x").unwrap();
    let open_on = |p: &Path| {
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .filter(|t| t == p)
            .count()
    };
    rt().block_on(async {
        let f = File::open(&path).await.unwrap();
        assert_eq!(open_on(&path), 1);
        drop(f);
        // The close was pushed to the ring; one trip through the loop
        // submits it.
        coring::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(open_on(&path), 0);
    });
}

#[test]
fn o_direct_round_trip_and_alignment_error() {
    let dir = TempDir::new("direct");
    let path = dir.join("f");
    rt().block_on(async {
        let f = match OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .direct(true)
            .open(&path)
            .await
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
                eprintln!("skipped: {} does not support O_DIRECT: {e}", path.display());
                return;
            }
            Err(e) => panic!("{e}"),
        };
        let data = pattern(8192, 3);
        let (res, _) = f.write_all_at(AlignedBuf::from_slice(&data), 0).await;
        res.unwrap();
        let (res, buf) = f.read_exact_at(AlignedBuf::with_capacity(8192), 0).await;
        res.unwrap();
        assert!(buf[..] == data[..]);
        // A misaligned length (on written data: ext4 does not check
        // alignment when reading a hole).
        let (res, _) = f.read_at(AlignedBuf::with_capacity(100), 0).await;
        let e = res.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        let msg = e.to_string();
        assert!(
            msg.contains("O_DIRECT") && msg.contains("multiples"),
            "{msg}"
        );
        assert!(msg.contains(path.to_str().unwrap()), "{msg}");
        let (res, _) = f.write_at(vec![1u8; 100], 0).await;
        assert!(res.unwrap_err().to_string().contains("O_DIRECT"));
        // A misaligned address (virtio-blk wants 512-byte alignment; a
        // device with a looser DMA alignment may accept it).
        let (res, _) = f
            .read_at(coring::buf::IoBuf::slice(vec![0u8; 8192], 1..4097), 0)
            .await;
        if let Err(e) = res {
            assert!(e.to_string().contains("O_DIRECT"), "{e}");
        }
        // A misaligned offset.
        let (res, _) = f.read_at(AlignedBuf::with_capacity(4096), 1).await;
        assert!(res.unwrap_err().to_string().contains("O_DIRECT"));
    });
}
