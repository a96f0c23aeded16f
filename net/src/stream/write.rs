//! [`WriteState`]: the send side of a connected stream socket (TCP or
//! Unix).
//!
//! Owned-buffer writes send the caller's buffer directly. The poll-style
//! `AsyncWrite` path copies into a buffer of the stream's and keeps the
//! send op here (write-behind): `poll_write` returns as soon as the bytes
//! are queued, the next write or `poll_flush` waits for them, and errors
//! surface there. A dropped write future never loses track of a send. The
//! buffer is freed once sent, so an idle stream holds none (one allocation
//! per `poll_write`, against one send each).
//!
//! On the epoll driver, `AsyncWrite` first tries one non-blocking
//! `sendmsg` straight from the caller's slices (the readiness model's own
//! way, with no copy and no op); only a full socket buffer queues.
//!
//! Stream sends use `MSG_WAITALL`, so io_uring itself finishes a short send
//! and a queued send needs no driving from user code to complete.

use crate::{
    error::annotate,
    op::{Send, Shutdown},
};
use coring_runtime::{
    buf::{IoBuf, Slice},
    fd::SharedFd,
    op::Op,
    ring::DriverKind,
};
use futures::ready;
use std::{
    future::Future,
    io, net,
    pin::Pin,
    rc::Rc,
    task::{Context, Poll},
    time::Duration,
};

/// One non-blocking `sendmsg` of `bufs` (`MSG_DONTWAIT | MSG_NOSIGNAL`):
/// the bytes the socket took, possibly fewer than offered.
fn send_now(fd: &SharedFd, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
    // SAFETY: zeroed is a valid empty msghdr.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // `IoSlice` is ABI-compatible with `iovec` on Unix.
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = bufs.len().min(libc::UIO_MAXIOV as usize) as _;
    // SAFETY: msg points at `bufs`, which outlive the call; the kernel only
    // reads them.
    let n = unsafe { libc::sendmsg(fd.raw(), &msg, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// Most bytes one `poll_write` queues.
const MAX_BUFFERED: usize = 64 * 1024;

/// Send state of one stream.
pub(crate) struct WriteState {
    fd: SharedFd,
    peer: Rc<str>,
    inflight: Option<Op<Send<Slice<Vec<u8>>>>>,
    /// Boxed: once per stream at most, and the stream stays small.
    shutdown: Option<Box<Op<Shutdown>>>,
    closed: bool,
}

impl WriteState {
    pub(crate) fn new(fd: SharedFd, peer: Rc<str>) -> Self {
        WriteState {
            fd,
            peer,
            inflight: None,
            shutdown: None,
            closed: false,
        }
    }

    pub(crate) fn fd(&self) -> &SharedFd {
        &self.fd
    }

    pub(crate) fn is_busy(&self) -> bool {
        self.inflight.is_some() || self.shutdown.is_some()
    }

    /// The socket for a direct send, if no write or shutdown of ours is in
    /// flight.
    pub(crate) fn write_fd(&self) -> io::Result<&SharedFd> {
        if self.is_busy() {
            return Err(io::Error::new(
                io::ErrorKind::ResourceBusy,
                format!(
                    "the stream to {}: a write or shutdown is still in flight (flush it first)",
                    self.peer
                ),
            ));
        }
        Ok(&self.fd)
    }

    pub(crate) fn error(&self, e: io::Error) -> io::Error {
        annotate(e, "send to", &self.peer)
    }

    /// Waits until every byte queued by `poll_write` was sent.
    pub(crate) fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(op) = &mut self.inflight {
            let (res, slice) = ready!(Pin::new(op).poll(cx));
            self.inflight = None;
            let (begin, end) = (slice.begin(), slice.end());
            // Once sent, the buffer is freed: an idle stream holds none.
            let buf = slice.into_inner();
            match res {
                Ok(n) if n > 0 && begin + n < end => {
                    self.inflight =
                        Some(Op::new(Send::stream(&self.fd, buf.slice(begin + n..end))));
                }
                Ok(n) => {
                    if n == 0 {
                        return Poll::Ready(Err(self.error(io::ErrorKind::WriteZero.into())));
                    }
                }
                Err(e) => {
                    return Poll::Ready(Err(self.error(e)));
                }
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Queues up to 64 KiB of `data` for sending (after the previous
    /// queued bytes went out).
    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[io::IoSlice::new(data)])
    }

    /// Queues up to 64 KiB of `bufs`, in order, as one send.
    pub(crate) fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_drain(cx))?;
        let total = bufs.iter().map(|b| b.len()).sum::<usize>();
        if total == 0 {
            return Poll::Ready(Ok(0));
        }
        if coring_runtime::driver_kind() == DriverKind::Epoll {
            // On the readiness driver a send is a non-blocking syscall
            // anyway: make it here, from the caller's slices, as tokio
            // does; only a full socket buffer takes the queued path (whose
            // send op waits for room).
            match send_now(&self.fd, bufs) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(self.error(e))),
            }
        }
        let n = total.min(MAX_BUFFERED);
        let mut buf = Vec::with_capacity(n);
        for b in bufs {
            let take = b.len().min(n - buf.len());
            buf.extend_from_slice(&b[..take]);
            if buf.len() == n {
                break;
            }
        }
        self.inflight = Some(Op::new(Send::stream(&self.fd, buf.slice(0..n))));
        // Submit now, with a waker that wakes nobody: the send's completion
        // matters only to the next write or flush, which polls it with its
        // own waker, so finishing it costs no task wake-up. A failure to
        // even start is reported instead of Ok.
        let mut quiet = Context::from_waker(futures::task::noop_waker_ref());
        match self.poll_drain(&mut quiet) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(n)),
        }
    }

    /// Drains queued bytes, then shuts down the write direction (`how` may
    /// widen it to both). Idempotent once it succeeded.
    pub(crate) fn poll_shutdown(
        &mut self,
        cx: &mut Context<'_>,
        how: net::Shutdown,
    ) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        if self.closed && how == net::Shutdown::Write {
            return Poll::Ready(Ok(()));
        }
        let op = self
            .shutdown
            .get_or_insert_with(|| Box::new(Op::new(Shutdown::new(&self.fd, how))));
        let res = ready!(Pin::new(op).poll(cx));
        self.shutdown = None;
        match res {
            Ok(()) => {
                self.closed = true;
                Poll::Ready(Ok(()))
            }
            // The peer is already gone: nothing left to shut down.
            Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => {
                self.closed = true;
                Poll::Ready(Ok(()))
            }
            Err(e) => Poll::Ready(Err(annotate(e, "shutdown", &self.peer))),
        }
    }

    /// Waits until queued bytes were sent and the socket polls writable.
    pub(crate) async fn writable(&mut self) -> io::Result<()> {
        futures::future::poll_fn(|cx| self.poll_drain(cx)).await?;
        Op::new(coring_runtime::op::PollAdd::new(
            &self.fd,
            libc::POLLOUT as u32,
        ))
        .await
        .map(drop)
        .map_err(|e| self.error(e))
    }

    /// Sends `buf` directly (after queued bytes); may be short.
    pub(crate) async fn write<B: IoBuf>(&mut self, buf: B) -> (io::Result<usize>, B) {
        if let Err(e) = futures::future::poll_fn(|cx| self.poll_drain(cx)).await {
            return (Err(e), buf);
        }
        let (res, buf) = Op::new(Send::stream(&self.fd, buf)).await;
        (res.map_err(|e| self.error(e)), buf)
    }

    /// Sends all of `buf`.
    pub(crate) async fn write_all<B: IoBuf>(&mut self, mut buf: B) -> (io::Result<()>, B) {
        let len = buf.bytes_init();
        let mut pos = 0;
        while pos < len {
            let (res, slice) = self.write(buf.slice(pos..len)).await;
            buf = slice.into_inner();
            match res {
                Ok(0) => return (Err(self.error(io::ErrorKind::WriteZero.into())), buf),
                Ok(n) => pos += n,
                Err(e) => return (Err(e), buf),
            }
        }
        (Ok(()), buf)
    }

    /// Sends the initialized bytes of `bufs` with one `sendmsg`; may be
    /// short.
    pub(crate) async fn writev<B: IoBuf>(&mut self, bufs: Vec<B>) -> (io::Result<usize>, Vec<B>) {
        if let Err(e) = futures::future::poll_fn(|cx| self.poll_drain(cx)).await {
            return (Err(e), bufs);
        }
        let (res, bufs) = Op::new(crate::op::SendVectored::new(&self.fd, bufs)).await;
        (res.map_err(|e| self.error(e)), bufs)
    }
}

/// How long a send queued by `poll_write` may still run after its stream
/// was dropped before it is cancelled.
const DROPPED_SEND_LIMIT: Duration = Duration::from_secs(30);

impl Drop for WriteState {
    /// Bytes `poll_write` reported as written are still sent when the
    /// stream is dropped: the queued send is left to finish instead of
    /// being cancelled (it keeps its own handle on the socket, so the fd
    /// closes once it is done), for up to 30 s — a peer that stopped
    /// reading does not pin the socket forever. Errors it meets are no
    /// longer reported.
    fn drop(&mut self) {
        if let Some(op) = self.inflight.take() {
            op.detach_for(DROPPED_SEND_LIMIT);
        }
    }
}
