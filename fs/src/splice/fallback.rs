//! The read/write copy used when the source cannot splice (`EINVAL`):
//! reads into a buffer from the per-runtime pool and writes it out.

use crate::buf_pool::{self, CHUNK};
use coring_runtime::{
    buf::IoBuf,
    fd::SharedFd,
    op::{Op, PollAdd, Read, Write},
};
use std::io;

/// Copies up to `len` bytes from `src` at `offset` to `dest` (at its file
/// position); stops early at end of file. Returns the bytes copied.
pub(crate) async fn copy(
    src: &SharedFd,
    offset: u64,
    len: u64,
    dest: &SharedFd,
) -> io::Result<u64> {
    let pool = buf_pool::pool();
    let mut buf = pool.take(CHUNK);
    let mut copied = 0u64;
    while copied < len {
        buf.clear();
        let want = (len - copied).min(CHUNK as u64) as usize;
        let (res, slice) = Op::new(Read::new(
            src,
            buf.slice(..want),
            offset.saturating_add(copied),
        ))
        .await;
        buf = slice.into_inner();
        let n = match res {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let mut done = 0;
        while done < n {
            let (res, slice) = Op::new(Write::new(dest, buf.slice(done..n), u64::MAX)).await;
            buf = slice.into_inner();
            match res {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(m) => done += m,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    Op::new(PollAdd::new(dest, libc::POLLOUT as u32)).await?;
                }
                Err(e) => return Err(e),
            }
        }
        copied += n as u64;
    }
    pool.give(buf);
    Ok(copied)
}
