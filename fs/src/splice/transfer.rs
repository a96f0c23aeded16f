//! The splice transfer loop: file → pooled pipe → destination, looping on
//! short splices, draining the pipe fully before the next fill.

use super::{fallback, pipe_pool, SpliceMode};
use crate::op::Splice;
use coring_runtime::{
    fd::SharedFd,
    op::{Op, PollAdd},
};
use std::{io, ptr};

/// Result of one transfer, before errors are given the path.
pub(crate) async fn run(
    src: &SharedFd,
    offset: u64,
    len: u64,
    dest: &SharedFd,
    mode: SpliceMode,
) -> io::Result<u64> {
    if len == 0 {
        return Ok(0);
    }
    // Direct syscalls on the executor thread are only safe towards a
    // destination that cannot block (O_NONBLOCK).
    let dest_nonblocking = is_nonblocking(dest)?;
    let direct_fill = mode == SpliceMode::Direct;
    let direct_drain = mode != SpliceMode::Uring && dest_nonblocking;

    let pipe = pipe_pool::pool().take()?;
    let p = pipe.pipe();
    let mut sent = 0u64;
    while sent < len {
        let pos = offset.saturating_add(sent);
        let chunk = (len - sent).min(p.capacity as u64) as usize;
        let filled = if direct_fill {
            match splice_now(src.raw(), Some(pos), p.write.raw(), chunk) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => fill(src, pos, p, chunk).await,
                res => res,
            }
        } else {
            fill(src, pos, p, chunk).await
        };
        let mut in_pipe = match filled {
            Ok(0) => break, // end of file
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                // The source cannot splice: the pipe is empty (the fill
                // failed), so it can go back; copy the rest by read/write.
                tracing::debug!("coring-fs: source cannot splice (EINVAL); read/write fallback");
                pipe.release();
                return Ok(sent + fallback::copy(src, pos, len - sent, dest).await?);
            }
            Err(e) => return Err(e),
        };
        while in_pipe > 0 {
            let res = if direct_drain {
                splice_now(p.read.raw(), None, dest.raw(), in_pipe)
            } else {
                let op = Splice::new(&p.read, None, dest, None, in_pipe as u32, 0);
                Op::new(op).await
            };
            match res {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the destination accepted 0 bytes",
                    ))
                }
                Ok(m) => {
                    in_pipe -= m;
                    sent += m as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // A non-blocking destination is full: wait until it
                    // can take more (an error or hang-up also wakes this,
                    // and the next splice reports it).
                    Op::new(PollAdd::new(dest, libc::POLLOUT as u32)).await?;
                }
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "the destination cannot be spliced to (an O_APPEND file, or a \
                             file type without splice support): {e}"
                        ),
                    ))
                }
                Err(e) => return Err(e),
            }
        }
    }
    pipe.release();
    Ok(sent)
}

/// file → pipe through IORING_OP_SPLICE.
async fn fill(src: &SharedFd, pos: u64, p: &pipe_pool::Pipe, chunk: usize) -> io::Result<usize> {
    let op = Splice::new(src, Some(pos), &p.write, None, chunk as u32, 0);
    Op::new(op).await
}

/// A non-blocking `splice(2)` on this thread (`SPLICE_F_NONBLOCK` makes the
/// pipe side non-blocking; the other side must be non-blocking itself).
fn splice_now(fd_in: i32, off_in: Option<u64>, fd_out: i32, len: usize) -> io::Result<usize> {
    let mut off = off_in.map(|o| o as libc::loff_t);
    let off_ptr = off
        .as_mut()
        .map_or(ptr::null_mut(), |o| o as *mut libc::loff_t);
    // SAFETY: both fds are open (the caller holds them); `off_ptr` is null
    // or points at a local that outlives the call.
    let n = unsafe {
        libc::splice(
            fd_in,
            off_ptr,
            fd_out,
            ptr::null_mut(),
            len,
            libc::SPLICE_F_NONBLOCK | libc::SPLICE_F_MOVE,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

fn is_nonblocking(fd: &SharedFd) -> io::Result<bool> {
    // SAFETY: F_GETFL on an fd we hold open.
    let flags = unsafe { libc::fcntl(fd.raw(), libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(flags & libc::O_NONBLOCK != 0)
}
