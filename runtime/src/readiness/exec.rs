//! One attempt at an op's syscall on the executor thread, without blocking:
//! sockets, pipes and eventfds with `MSG_DONTWAIT` / `RWF_NOWAIT`, and
//! what to do when it would block ([`Step`]). Calls that may block on a
//! disk (opens, stats, fsync, file reads that miss the page cache) are
//! sent to the pool (`pool.rs`).
//!
//! Every pointer used here comes from the op's SQE: the op keeps that
//! memory alive and in place until its completion (the `OpCode` safety
//! contract), and the readiness driver only posts the completion after
//! the last syscall on it returned.

use super::{
    bufsel::BufRings,
    fds::Interest,
    sqe::{RawSqe, ACCEPT_MULTISHOT, BUFFER_SELECT, CQE_BUFFER_SHIFT, CQE_F_BUFFER, FIXED_FILE},
    sqe::{ORDERING, POLL_ADD_MULTI, RECV_MULTISHOT},
};
use io_uring::opcode as op;
use std::io;

/// What one attempt came to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// The op's (last) completion: result and CQE flags.
    Done(i32, u32),
    /// A multishot op's completion; more follow (attempt again).
    More(i32, u32),
    /// A multishot op's completion (more follow) after which the fd has
    /// nothing more for now (a poll fired, a stream receive came back
    /// short): post it, then wait for the next edge without another try.
    Fired(i32, u32, Interest),
    /// It would block: wait until the fd is ready, then attempt again (or,
    /// if the fd cannot be polled, run it on the pool).
    Wait(Interest),
    /// Run it on the blocking pool.
    Pool,
}

pub(crate) fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// One non-blocking attempt: the SQE, the op's progress across attempts,
/// the provided buffer rings, and whether the fd's peer hung up.
pub(crate) type Attempt = fn(&RawSqe, &mut u64, &mut BufRings, bool) -> Step;

/// How the readiness driver carries out an opcode: the one table of the
/// opcodes it knows.
pub(crate) enum Way {
    /// Non-blocking attempts on the executor thread.
    Direct(Attempt),
    /// The blocking pool.
    Pool,
    /// The driver itself (`EpollRing::push`): close, timeout, cancel.
    Driver,
}

/// How `opcode` is carried out; `None` for an opcode this driver does not
/// know (it fails like one the kernel lacks).
pub(crate) fn way(opcode: u8) -> Option<Way> {
    Some(match opcode {
        op::Nop::CODE => Way::Direct(|_, _, _, _| Step::Done(0, 0)),
        op::Read::CODE | op::Readv::CODE | op::Write::CODE | op::Writev::CODE => {
            Way::Direct(|s, progress, _, _| rw(s, progress))
        }
        op::Recv::CODE => Way::Direct(recv),
        op::Send::CODE => Way::Direct(|s, progress, _, _| send(s, progress)),
        op::RecvMsg::CODE | op::SendMsg::CODE => Way::Direct(|s, _, _, _| msg(s)),
        op::Accept::CODE => Way::Direct(|s, progress, _, _| accept(s, progress)),
        op::Connect::CODE => Way::Direct(|s, progress, _, _| connect(s, progress)),
        op::PollAdd::CODE => Way::Direct(|s, _, _, _| poll(s)),
        op::Shutdown::CODE => Way::Direct(|s, _, _, _| shutdown(s)),
        op::Close::CODE | op::Timeout::CODE | op::AsyncCancel::CODE => Way::Driver,
        op::Fsync::CODE
        | op::Fallocate::CODE
        | op::Ftruncate::CODE
        | op::OpenAt::CODE
        | op::OpenAt2::CODE
        | op::Statx::CODE
        | op::UnlinkAt::CODE
        | op::RenameAt::CODE
        | op::MkDirAt::CODE
        | op::SymlinkAt::CODE
        | op::LinkAt::CODE
        | op::Splice::CODE => Way::Pool,
        _ => return None,
    })
}

/// One attempt at `s` (see [`Attempt`]): `progress` holds bytes already
/// moved for `MSG_WAITALL`, a connect in progress, a file with no
/// `RWF_NOWAIT`; `hup` says an event already reported the peer gone.
pub(crate) fn attempt(s: &RawSqe, progress: &mut u64, bufs: &mut BufRings, hup: bool) -> Step {
    if s.flags & (FIXED_FILE | ORDERING) != 0 {
        // coring's ops use neither; a third-party op that does gets a
        // clear error rather than a silently different meaning.
        return Step::Done(-libc::EINVAL, 0);
    }
    match way(s.opcode) {
        Some(Way::Direct(f)) => f(s, progress, bufs, hup),
        Some(Way::Pool) => Step::Pool,
        // The driver's own opcodes never reach an attempt.
        Some(Way::Driver) | None => Step::Done(-libc::EOPNOTSUPP, 0),
    }
}

fn shutdown(s: &RawSqe) -> Step {
    // SAFETY: plain fd and flag.
    done(unsafe { libc::shutdown(s.fd, s.len as i32) } as isize)
}

/// A syscall's return as a final step.
fn done(rc: isize) -> Step {
    if rc < 0 {
        Step::Done(-errno(), 0)
    } else {
        Step::Done(rc as i32, 0)
    }
}

fn is_read(s: &RawSqe) -> bool {
    matches!(s.opcode, op::Read::CODE | op::Readv::CODE)
}

/// The iovecs of a read or write: one built from `addr`/`len`, or the
/// op's own array.
fn iovecs(s: &RawSqe, one: &mut libc::iovec) -> (*const libc::iovec, i32) {
    match s.opcode {
        op::Read::CODE | op::Write::CODE => {
            *one = libc::iovec {
                iov_base: s.addr as *mut libc::c_void,
                iov_len: s.len as usize,
            };
            (one, 1)
        }
        _ => (s.addr as *const libc::iovec, s.len as i32),
    }
}

/// `preadv2`/`pwritev2` with `flags` at `pos`.
pub(crate) fn rw_call(s: &RawSqe, pos: i64, flags: i32) -> isize {
    let mut one = libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    };
    let (iov, n) = iovecs(s, &mut one);
    // SAFETY: the iovecs point at the op's buffers (see the module doc).
    unsafe {
        if is_read(s) {
            libc::preadv2(s.fd, iov, n, pos, flags)
        } else {
            libc::pwritev2(s.fd, iov, n, pos, flags)
        }
    }
}

/// `progress` bit: the file has no `RWF_NOWAIT`, so after readiness the
/// call is made without it.
const NO_NOWAIT: u64 = 1;
/// `progress` bit: the fd is a stream (a pipe): its offset is ignored.
const STREAM: u64 = 2;

fn rw(s: &RawSqe, progress: &mut u64) -> Step {
    let read = is_read(s);
    let interest = if read {
        Interest::Read
    } else {
        Interest::Write
    };
    let mut pos = if *progress & STREAM != 0 { -1 } else { s.pos() };
    loop {
        let nowait = *progress & NO_NOWAIT == 0;
        if !nowait && read && poll_now(s.fd, libc::POLLIN) == 0 {
            // No RWF_NOWAIT, so read only what readiness says is there.
            return Step::Wait(interest);
        }
        let flags = s.op_flags as i32 | if nowait { libc::RWF_NOWAIT } else { 0 };
        let rc = rw_call(s, pos, flags);
        if rc >= 0 {
            return Step::Done(rc as i32, 0);
        }
        match errno() {
            // A socket or pipe with nothing to read (or no room), or a
            // file read that would wait for the disk (then the fd is not
            // pollable, and it goes to the pool).
            libc::EAGAIN => return Step::Wait(interest),
            libc::ESPIPE if pos != -1 => {
                // io_uring ignores the offset of a pipe; preadv2 does not.
                *progress |= STREAM;
                pos = -1;
            }
            // No RWF_NOWAIT for this file (buffered writes on many file
            // systems, some pipes): io_uring would hand it to io-wq; so
            // does this driver, except for reads of pollable fds, which
            // read what readiness reports instead of holding a thread.
            libc::EOPNOTSUPP if nowait => {
                if !read || !is_pollable_kind(s.fd) {
                    return Step::Pool;
                }
                *progress |= NO_NOWAIT;
            }
            e => return Step::Done(-e, 0),
        }
    }
}

/// Marks op state after the pool returned `EAGAIN` for a read or write:
/// the fd is non-blocking and lacks `RWF_NOWAIT`, so plain calls on
/// readiness are safe.
pub(crate) fn pool_said_eagain(progress: &mut u64) {
    *progress |= NO_NOWAIT;
}

/// Whether `fd` is something epoll can watch (not a regular file, block
/// device or directory, whose reads would block on the disk).
fn is_pollable_kind(fd: i32) -> bool {
    // SAFETY: fstat into a zeroed stat buffer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstat(fd, &mut st) } < 0 {
        return false;
    }
    !matches!(
        st.st_mode & libc::S_IFMT,
        libc::S_IFREG | libc::S_IFBLK | libc::S_IFDIR
    )
}

fn recv(s: &RawSqe, progress: &mut u64, bufs: &mut BufRings, hup: bool) -> Step {
    let multishot = s.ioprio & RECV_MULTISHOT != 0;
    let waitall = s.op_flags as i32 & libc::MSG_WAITALL != 0;
    let flags = (s.op_flags as i32 & !libc::MSG_WAITALL) | libc::MSG_DONTWAIT;
    if s.flags & BUFFER_SELECT != 0 {
        let Some(buf) = bufs.peek(s.buf_group) else {
            return Step::Done(-libc::ENOBUFS, 0);
        };
        let len = if s.len == 0 {
            buf.len
        } else {
            buf.len.min(s.len)
        };
        // SAFETY: the buffer is one the program put in its provided
        // buffer ring (and so gave to the kernel, here: to this driver)
        // and does not touch until the completion hands it back.
        let rc = unsafe { libc::recv(s.fd, buf.addr as *mut libc::c_void, len as usize, flags) };
        if rc > 0 {
            bufs.commit(s.buf_group);
            let cflags = CQE_F_BUFFER | ((buf.bid as u32) << CQE_BUFFER_SHIFT);
            if !multishot {
                return Step::Done(rc as i32, cflags);
            }
            // A stream socket that filled less than the buffer had no more
            // queued: wait for the next edge instead of a receive that
            // would only say EAGAIN (a datagram says nothing by its size).
            // Not once the peer closed: its FIN may already be queued
            // behind these bytes, and no edge would follow.
            if (rc as u32) < len && !hup && is_stream(s.fd, progress) {
                return Step::Fired(rc as i32, cflags, Interest::Read);
            }
            return Step::More(rc as i32, cflags);
        }
        return match rc {
            0 => Step::Done(0, 0),
            _ => match errno() {
                libc::EAGAIN => Step::Wait(Interest::Read),
                e => Step::Done(-e, 0),
            },
        };
    }
    loop {
        let done = *progress as usize;
        let left = s.len as usize - done;
        // SAFETY: the op's buffer of `len` bytes (module doc); `done` of
        // them are filled.
        let rc = unsafe { libc::recv(s.fd, (s.addr as *mut u8).add(done).cast(), left, flags) };
        if rc > 0 {
            *progress += rc as u64;
            if waitall && (*progress as usize) < s.len as usize {
                continue;
            }
            return Step::Done(*progress as i32, 0);
        }
        if rc == 0 {
            return Step::Done(done as i32, 0);
        }
        return match errno() {
            libc::EAGAIN => Step::Wait(Interest::Read),
            _ if done > 0 => Step::Done(done as i32, 0),
            e => Step::Done(-e, 0),
        };
    }
}

/// `progress` bits of a multishot receive: its socket's type is known,
/// and is `SOCK_STREAM`.
const TYPE_KNOWN: u64 = 4;
const TYPE_STREAM: u64 = 8;

/// Whether `fd` is a stream socket (asked once per op).
fn is_stream(fd: i32, progress: &mut u64) -> bool {
    if *progress & TYPE_KNOWN == 0 {
        let mut ty: libc::c_int = 0;
        let mut len = size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: ty and len are valid for the call.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_TYPE,
                (&mut ty as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        *progress |= TYPE_KNOWN;
        if rc == 0 && ty == libc::SOCK_STREAM {
            *progress |= TYPE_STREAM;
        }
    }
    *progress & TYPE_STREAM != 0
}

fn send(s: &RawSqe, progress: &mut u64) -> Step {
    let waitall = s.op_flags as i32 & libc::MSG_WAITALL != 0;
    let flags = (s.op_flags as i32 & !libc::MSG_WAITALL) | libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
    loop {
        let done = *progress as usize;
        let left = s.len as usize - done;
        // SAFETY: the op's buffer of `len` bytes (module doc).
        let rc = unsafe { libc::send(s.fd, (s.addr as *const u8).add(done).cast(), left, flags) };
        if rc >= 0 {
            *progress += rc as u64;
            if waitall && rc > 0 && (*progress as usize) < s.len as usize {
                continue;
            }
            return Step::Done(*progress as i32, 0);
        }
        return match errno() {
            libc::EAGAIN => Step::Wait(Interest::Write),
            _ if done > 0 => Step::Done(done as i32, 0),
            e => Step::Done(-e, 0),
        };
    }
}

fn msg(s: &RawSqe) -> Step {
    let hdr = s.addr as *mut libc::msghdr;
    let flags = s.op_flags as i32 | libc::MSG_DONTWAIT;
    // SAFETY: the op's msghdr and what it points at (module doc).
    let (rc, interest) = unsafe {
        if s.opcode == op::RecvMsg::CODE {
            (libc::recvmsg(s.fd, hdr, flags), Interest::Read)
        } else {
            (
                libc::sendmsg(s.fd, hdr, flags | libc::MSG_NOSIGNAL),
                Interest::Write,
            )
        }
    };
    if rc >= 0 {
        return Step::Done(rc as i32, 0);
    }
    match errno() {
        libc::EAGAIN => Step::Wait(interest),
        e => Step::Done(-e, 0),
    }
}

/// Sets `O_NONBLOCK` on `fd` (a listener or a connecting socket, which
/// io_uring serves in blocking mode too) so that an attempt cannot block.
fn make_nonblocking(fd: i32) -> Result<(), i32> {
    // SAFETY: fcntl on a plain fd number.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if fl < 0 {
        return Err(errno());
    }
    if fl & libc::O_NONBLOCK == 0 {
        // SAFETY: as above.
        if unsafe { libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK) } < 0 {
            return Err(errno());
        }
    }
    Ok(())
}

fn accept(s: &RawSqe, progress: &mut u64) -> Step {
    if *progress == 0 {
        if let Err(e) = make_nonblocking(s.fd) {
            return Step::Done(-e, 0);
        }
        *progress = 1;
    }
    let multishot = s.ioprio & ACCEPT_MULTISHOT != 0;
    let (addr, len) = if multishot {
        (std::ptr::null_mut(), std::ptr::null_mut())
    } else {
        (s.addr as *mut libc::sockaddr, s.off as *mut libc::socklen_t)
    };
    // SAFETY: the op's address buffer and length (or none).
    let rc = unsafe { libc::accept4(s.fd, addr, len, s.op_flags as i32) };
    if rc >= 0 {
        return if multishot {
            Step::More(rc, 0)
        } else {
            Step::Done(rc, 0)
        };
    }
    match errno() {
        libc::EAGAIN => Step::Wait(Interest::Read),
        e => Step::Done(-e, 0),
    }
}

fn connect(s: &RawSqe, progress: &mut u64) -> Step {
    if *progress == 0 {
        if let Err(e) = make_nonblocking(s.fd) {
            return Step::Done(-e, 0);
        }
        // SAFETY: the op's socket address of `off` bytes.
        let rc = unsafe {
            libc::connect(
                s.fd,
                s.addr as *const libc::sockaddr,
                s.off as libc::socklen_t,
            )
        };
        if rc == 0 {
            return Step::Done(0, 0);
        }
        return match errno() {
            libc::EINPROGRESS | libc::EAGAIN => {
                *progress = 1;
                Step::Wait(Interest::Write)
            }
            e => Step::Done(-e, 0),
        };
    }
    if poll_now(s.fd, libc::POLLOUT) == 0 {
        return Step::Wait(Interest::Write);
    }
    let mut err: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: err and len are valid for the call.
    let rc = unsafe {
        libc::getsockopt(
            s.fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut err as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Step::Done(-errno(), 0);
    }
    Step::Done(-err, 0)
}

/// `poll(2)` with no wait: the returned events of `fd`, 0 if none.
fn poll_now(fd: i32, events: i16) -> i16 {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let rc = unsafe { libc::poll(&mut p, 1, 0) };
    if rc <= 0 {
        0
    } else {
        p.revents
    }
}

fn poll(s: &RawSqe) -> Step {
    let events = (s.op_flags & 0xffff) as i16;
    let got = poll_now(s.fd, events);
    let wanted = events | libc::POLLERR | libc::POLLHUP | libc::POLLNVAL;
    let interest = if events & libc::POLLOUT != 0 && events & libc::POLLIN == 0 {
        Interest::Write
    } else {
        Interest::Read
    };
    if got & wanted == 0 {
        return Step::Wait(interest);
    }
    let res = (got & wanted) as u16 as i32;
    if s.len & POLL_ADD_MULTI != 0 {
        // Multishot: one completion per readiness edge, as io_uring posts
        // one per wake-up.
        Step::Fired(res, 0, interest)
    } else {
        Step::Done(res, 0)
    }
}
