//! The copy path of [`send_file`](super::send_file): the head and the body
//! through one pooled buffer, read in chunks behind the head, each chunk
//! one send.

use super::send_all;
use crate::buf_pool::{self, CHUNK};
use coring_runtime::{
    buf::IoBuf,
    fd::SharedFd,
    op::{Op, Read},
};
use std::io;

/// Sends `head`, then up to `len` bytes of `src` from `offset`; returns the
/// body bytes sent (fewer only at end of file).
pub(super) async fn send(
    dest: &SharedFd,
    head: &[u8],
    src: &SharedFd,
    offset: u64,
    len: u64,
) -> io::Result<u64> {
    let pool = buf_pool::pool();
    let first = len.min(CHUNK as u64) as usize;
    let mut buf = pool.take(head.len() + first);
    buf.extend_from_slice(head);
    let mut sent = 0u64;
    loop {
        let want = (len - sent).min(CHUNK as u64) as usize;
        let start = buf.len();
        buf = read_into(src, buf, want, offset.saturating_add(sent)).await?;
        let got = buf.len() - start;
        if buf.is_empty() {
            break; // nothing left: no head, end of file
        }
        let more = got == want && sent + (got as u64) < len;
        buf = send_all(dest, buf, more).await?;
        sent += got as u64;
        if got < want || sent == len {
            break; // end of file, or done
        }
        buf.clear();
    }
    pool.give(buf);
    Ok(sent)
}

/// Reads up to `want` bytes at `pos` onto the end of `buf` (looping on
/// short reads; stopping at end of file).
async fn read_into(src: &SharedFd, mut buf: Vec<u8>, want: usize, pos: u64) -> io::Result<Vec<u8>> {
    let end = buf.len() + want;
    if buf.capacity() < end {
        buf.reserve_exact(end - buf.len());
    }
    while buf.len() < end {
        let start = buf.len();
        let at = pos + (start + want - end) as u64;
        let (res, slice) = Op::new(Read::new(src, buf.slice(start..end), at)).await;
        buf = slice.into_inner();
        match res {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(buf)
}
