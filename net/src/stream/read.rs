//! [`ReadState`]: the receive side of a connected stream socket (TCP or
//! Unix).
//!
//! TCP reads are served from a multishot receive into the runtime's
//! provided buffer ring: one SQE stays armed for the life of the stream and
//! every chunk the kernel receives arrives as a completion naming a ring
//! buffer, which is copied out to the caller. No SQE and no poll arming per
//! read. Unix streams use a single-shot receive that also selects from the
//! ring: a multishot receive on AF_UNIX can miss end-of-stream (if the peer
//! wrote more than ~128 KiB and closed before the receive was armed, no
//! terminating completion comes), and a single-shot one always ends with it.
//! Either way an idle stream holds no buffer. When the ring runs dry
//! (`ENOBUFS`) or is unavailable, a single-shot receive into a spare buffer
//! is used for that one receive; the buffer is freed once its bytes are
//! handed out.
//!
//! Every in-flight op and every received byte lives in this state, never
//! in a read future: a read that is dropped mid-flight loses nothing, and
//! the next read picks up where it left off. That is also what makes the
//! poll-style `AsyncRead` correct.

use crate::{
    buf_ring::{BufRing, RecvChunk},
    error::annotate,
    op::{Recv, RecvMulti, RecvSelect},
};
use coring_runtime::{
    fd::SharedFd,
    op::{MultiOp, Op},
};
use futures::{ready, StreamExt};
use std::{
    future::Future,
    io,
    pin::Pin,
    rc::Rc,
    task::{Context, Poll},
};

/// Size of the fallback receive buffer.
const SPARE: usize = 16 * 1024;

enum Data {
    Empty,
    Ring { chunk: RecvChunk, pos: usize },
    Spare { buf: Vec<u8>, pos: usize },
}

/// How a stream receives from the buffer ring.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecvMode {
    /// One multishot receive for the stream's life (TCP).
    Multishot,
    /// A single-shot receive per chunk (Unix streams: see the module doc).
    Single,
}

/// The receive in flight, if any.
enum Armed {
    Idle,
    Multi(MultiOp<RecvMulti>),
    Select(Op<RecvSelect>),
    /// Boxed: rare (the ring ran dry), and the stream stays small.
    Spare(Box<Op<Recv<Vec<u8>>>>),
}

/// Receive state of one stream: the armed op and undelivered bytes.
pub(crate) struct ReadState {
    fd: SharedFd,
    peer: Rc<str>,
    mode: RecvMode,
    armed: Armed,
    data: Data,
    eof: bool,
}

impl ReadState {
    pub(crate) fn new(fd: SharedFd, peer: Rc<str>, mode: RecvMode) -> Self {
        ReadState {
            fd,
            peer,
            mode,
            armed: Armed::Idle,
            data: Data::Empty,
            eof: false,
        }
    }

    pub(crate) fn fd(&self) -> &SharedFd {
        &self.fd
    }

    pub(crate) fn peer(&self) -> &Rc<str> {
        &self.peer
    }

    /// Whether a receive is armed or bytes are buffered (so the fd cannot
    /// be handed out without losing data).
    pub(crate) fn is_busy(&self) -> bool {
        !matches!(self.armed, Armed::Idle) || !self.available().is_empty()
    }

    /// Received bytes not yet handed out.
    pub(crate) fn available(&self) -> &[u8] {
        match &self.data {
            Data::Empty => &[],
            Data::Ring { chunk, pos } => &chunk.bytes()[*pos..],
            Data::Spare { buf, pos } => &buf[*pos..],
        }
    }

    /// Marks `n` available bytes as handed out.
    pub(crate) fn consume(&mut self, n: usize) {
        let left = self.available().len() - n;
        match &mut self.data {
            Data::Empty => debug_assert_eq!(n, 0),
            Data::Ring { pos, .. } | Data::Spare { pos, .. } => *pos += n,
        }
        if left == 0 {
            // Gives a ring buffer back, or frees a spare one: an idle
            // stream holds no buffer.
            self.data = Data::Empty;
        }
    }

    /// The runtime's buffer ring (looked up, not kept: the stream stays
    /// small), or `None` if the kernel refused it.
    fn ring(&self) -> Option<Rc<BufRing>> {
        BufRing::current()
    }

    fn start_spare(&mut self) {
        let op = Op::new(Recv::new(&self.fd, Vec::with_capacity(SPARE)));
        self.armed = Armed::Spare(Box::new(op));
    }

    /// A receive from the ring ended with `e`: falls back where that is
    /// the answer (`Ok`), or returns the error.
    fn ring_error(&mut self, e: io::Error) -> io::Result<()> {
        match e.raw_os_error() {
            Some(libc::ENOBUFS) => {
                tracing::trace!("buffer ring empty; one receive into a spare buffer");
                self.start_spare();
                Ok(())
            }
            // Kernels before 6.0 have provided buffer rings but reject
            // multishot receive: use single-shot receives from now on.
            Some(libc::EINVAL) if self.mode == RecvMode::Multishot => {
                tracing::debug!("multishot receive rejected (EINVAL); single-shot receives");
                self.mode = RecvMode::Single;
                Ok(())
            }
            _ => Err(self.error(e)),
        }
    }

    fn error(&self, e: io::Error) -> io::Error {
        annotate(e, "recv from", &self.peer)
    }

    /// Waits until bytes are available or the peer closed its side (then
    /// `available()` is empty).
    pub(crate) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if self.eof || !matches!(self.data, Data::Empty) {
                return Poll::Ready(Ok(()));
            }
            let got = match &mut self.armed {
                Armed::Spare(op) => {
                    let (res, buf) = ready!(Pin::new(op).poll(cx));
                    self.armed = Armed::Idle;
                    match res {
                        Ok(0) => self.eof = true,
                        Ok(_) => self.data = Data::Spare { buf, pos: 0 },
                        Err(e) => return Poll::Ready(Err(self.error(e))),
                    }
                    continue;
                }
                Armed::Select(op) => {
                    let res = ready!(Pin::new(op).poll(cx));
                    self.armed = Armed::Idle;
                    res
                }
                Armed::Multi(multi) => match ready!(multi.poll_next_unpin(cx)) {
                    Some(res) => {
                        if !matches!(res, Ok(Some(_))) {
                            // An error or the end ends the multishot too.
                            self.armed = Armed::Idle;
                        }
                        res
                    }
                    // The multishot ended (e.g. the CQ was full): re-arm.
                    None => {
                        self.armed = Armed::Idle;
                        continue;
                    }
                },
                Armed::Idle => {
                    self.armed = match (self.ring(), self.mode) {
                        (Some(ring), RecvMode::Multishot) => {
                            Armed::Multi(MultiOp::new(RecvMulti::new(&self.fd, ring)))
                        }
                        (Some(ring), RecvMode::Single) => {
                            Armed::Select(Op::new(RecvSelect::new(&self.fd, ring)))
                        }
                        (None, _) => {
                            self.start_spare();
                            continue;
                        }
                    };
                    continue;
                }
            };
            match got {
                Ok(Some(chunk)) => self.data = Data::Ring { chunk, pos: 0 },
                Ok(None) => self.eof = true,
                Err(e) => {
                    if let Err(e) = self.ring_error(e) {
                        return Poll::Ready(Err(e));
                    }
                }
            }
        }
    }

    /// Waits for bytes, then hands out what is available (empty: end of
    /// stream): `AsyncBufRead::poll_fill_buf`.
    pub(crate) fn poll_fill_buf(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        ready!(self.poll_fill(cx))?;
        Poll::Ready(Ok(self.available()))
    }

    /// `AsyncBufRead::consume`: marks up to `amt` bytes as handed out.
    pub(crate) fn consume_at_most(&mut self, amt: usize) {
        let amt = amt.min(self.available().len());
        self.consume(amt);
    }

    /// tokio's `poll_read`: copies available bytes straight into the
    /// unfilled part of `dst` (`put_slice` initializes exactly what it
    /// copies; nothing is zeroed first).
    #[cfg(feature = "tokio-io")]
    pub(crate) fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        dst: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if dst.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        ready!(self.poll_fill(cx))?;
        let src = self.available();
        let n = src.len().min(dst.remaining());
        dst.put_slice(&src[..n]);
        self.consume(n);
        Poll::Ready(Ok(()))
    }

    /// Copies available bytes into `dst`, after waiting for some.
    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if dst.is_empty() {
            return Poll::Ready(Ok(0));
        }
        ready!(self.poll_fill(cx))?;
        let src = self.available();
        let n = src.len().min(dst.len());
        dst[..n].copy_from_slice(&src[..n]);
        self.consume(n);
        Poll::Ready(Ok(n))
    }
}

/// Copies as much of `src` as fits into `buf` from its start.
fn copy_into<B: coring_runtime::buf::IoBufMut>(src: &[u8], buf: &mut B) -> usize {
    let n = src.len().min(buf.bytes_total());
    // SAFETY: `buf` has bytes_total writable bytes at stable_mut_ptr, and
    // `src` (our own memory) cannot overlap a buffer the caller owns.
    unsafe {
        std::ptr::copy_nonoverlapping(src.as_ptr(), buf.stable_mut_ptr(), n);
        buf.set_init(n);
    }
    n
}

impl ReadState {
    /// Reads into the start of `buf` (up to its capacity).
    pub(crate) async fn read<B: coring_runtime::buf::IoBufMut>(
        &mut self,
        mut buf: B,
    ) -> (io::Result<usize>, B) {
        if buf.bytes_total() == 0 {
            return (Ok(0), buf);
        }
        if let Err(e) = futures::future::poll_fn(|cx| self.poll_fill(cx)).await {
            return (Err(e), buf);
        }
        let n = copy_into(self.available(), &mut buf);
        self.consume(n);
        (Ok(n), buf)
    }

    /// Copies received bytes into `buf` without consuming them (see
    /// `peek` on the streams).
    pub(crate) async fn peek<B: coring_runtime::buf::IoBufMut>(
        &mut self,
        mut buf: B,
    ) -> (io::Result<usize>, B) {
        if buf.bytes_total() == 0 {
            return (Ok(0), buf);
        }
        if !self.eof && self.available().is_empty() && matches!(self.armed, Armed::Idle) {
            // Nothing received and nothing armed that could take bytes off
            // the socket before us: peek at the socket itself.
            let (res, buf) = Op::new(Recv::peek(&self.fd, buf)).await;
            return (res.map_err(|e| self.error(e)), buf);
        }
        // A receive is armed (it may already hold bytes, completed but not
        // yet handed to us): peek at what it delivers, so a peek never sees
        // bytes a later read would not return first.
        if let Err(e) = futures::future::poll_fn(|cx| self.poll_fill(cx)).await {
            return (Err(e), buf);
        }
        let n = copy_into(self.available(), &mut buf);
        (Ok(n), buf)
    }

    /// Waits until a read would return at once (see `readable` on the
    /// streams).
    pub(crate) async fn readable(&mut self) -> io::Result<()> {
        if self.eof || !self.available().is_empty() {
            return Ok(());
        }
        if !matches!(self.armed, Armed::Idle) {
            // The armed receive takes the bytes off the socket, so a poll
            // could miss them: wait for the receive itself.
            return futures::future::poll_fn(|cx| self.poll_fill(cx)).await;
        }
        Op::new(coring_runtime::op::PollAdd::new(
            &self.fd,
            libc::POLLIN as u32,
        ))
        .await
        .map(drop)
        .map_err(|e| self.error(e))
    }

    /// Fills `buf` to its capacity.
    pub(crate) async fn read_exact<B: coring_runtime::buf::IoBufMut>(
        &mut self,
        buf: B,
    ) -> (io::Result<()>, B) {
        let total = buf.bytes_total();
        let mut buf = buf;
        let mut filled = 0;
        while filled < total {
            let (res, s) = self.read(buf.slice(filled..)).await;
            buf = s.into_inner();
            match res {
                Ok(0) => {
                    let e = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("stream ended after {filled} of {total} bytes"),
                    );
                    return (Err(self.error(e)), buf);
                }
                Ok(n) => filled += n,
                Err(e) => return (Err(e), buf),
            }
        }
        (Ok(()), buf)
    }

    /// Reads into `bufs` in order, each up to its capacity.
    pub(crate) async fn readv<B: coring_runtime::buf::IoBufMut>(
        &mut self,
        mut bufs: Vec<B>,
    ) -> (io::Result<usize>, Vec<B>) {
        if bufs.iter().all(|b| b.bytes_total() == 0) {
            return (Ok(0), bufs);
        }
        if let Err(e) = futures::future::poll_fn(|cx| self.poll_fill(cx)).await {
            return (Err(e), bufs);
        }
        let mut total = 0;
        for buf in &mut bufs {
            let n = copy_into(self.available(), buf);
            self.consume(n);
            total += n;
            if self.available().is_empty() {
                break;
            }
        }
        (Ok(total), bufs)
    }
}
