//! [`ReadState`]: the receive side of a connected stream socket (TCP or
//! Unix).
//!
//! Reads are served from a multishot receive into the runtime's provided
//! buffer ring: one SQE stays armed for the life of the stream and every
//! chunk the kernel receives arrives as a completion naming a ring buffer,
//! which is copied out to the caller. No SQE and no poll arming per read.
//! When the ring runs dry (`ENOBUFS`) or is unavailable, a single-shot
//! receive into the stream's own spare buffer is used instead.
//!
//! Every in-flight op and every received byte lives in this state, never
//! in a read future: a read that is dropped mid-flight loses nothing, and
//! the next read picks up where it left off. That is also what makes the
//! poll-style `AsyncRead` correct.

use crate::{
    buf_ring::{BufRing, RecvChunk},
    error::annotate,
    op::{Recv, RecvMulti},
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
    Spare { pos: usize },
}

enum Ring {
    Unknown,
    Absent,
    Present(Rc<BufRing>),
}

/// Receive state of one stream: the armed op and undelivered bytes.
pub(crate) struct ReadState {
    fd: SharedFd,
    peer: Rc<str>,
    ring: Ring,
    multi: Option<MultiOp<RecvMulti>>,
    single: Option<Op<Recv<Vec<u8>>>>,
    spare: Vec<u8>,
    data: Data,
    eof: bool,
}

impl ReadState {
    pub(crate) fn new(fd: SharedFd, peer: Rc<str>) -> Self {
        ReadState {
            fd,
            peer,
            ring: Ring::Unknown,
            multi: None,
            single: None,
            spare: Vec::new(),
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
        self.multi.is_some() || self.single.is_some() || !self.available().is_empty()
    }

    /// Received bytes not yet handed out.
    pub(crate) fn available(&self) -> &[u8] {
        match &self.data {
            Data::Empty => &[],
            Data::Ring { chunk, pos } => &chunk.bytes()[*pos..],
            Data::Spare { pos } => &self.spare[*pos..],
        }
    }

    /// Marks `n` available bytes as handed out.
    pub(crate) fn consume(&mut self, n: usize) {
        let left = self.available().len() - n;
        match &mut self.data {
            Data::Empty => debug_assert_eq!(n, 0),
            Data::Ring { pos, .. } | Data::Spare { pos } => *pos += n,
        }
        if left == 0 {
            if let Data::Spare { .. } = self.data {
                self.spare.clear();
            }
            self.data = Data::Empty;
        }
    }

    fn ring(&mut self) -> Option<Rc<BufRing>> {
        if let Ring::Unknown = self.ring {
            self.ring = match BufRing::current() {
                Some(r) => Ring::Present(r),
                None => Ring::Absent,
            };
        }
        match &self.ring {
            Ring::Present(r) => Some(r.clone()),
            _ => None,
        }
    }

    fn start_single(&mut self) {
        let mut buf = std::mem::take(&mut self.spare);
        buf.clear();
        buf.reserve(SPARE);
        self.single = Some(Op::new(Recv::new(&self.fd, buf)));
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
            if let Some(op) = &mut self.single {
                let (res, buf) = ready!(Pin::new(op).poll(cx));
                self.single = None;
                self.spare = buf;
                match res {
                    Ok(0) => self.eof = true,
                    Ok(_) => self.data = Data::Spare { pos: 0 },
                    Err(e) => return Poll::Ready(Err(self.error(e))),
                }
                continue;
            }
            if let Some(multi) = &mut self.multi {
                match ready!(multi.poll_next_unpin(cx)) {
                    Some(Ok(Some(chunk))) => self.data = Data::Ring { chunk, pos: 0 },
                    Some(Ok(None)) => {
                        self.eof = true;
                        self.multi = None;
                    }
                    Some(Err(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                        tracing::trace!("buffer ring empty; single-shot receive");
                        self.multi = None;
                        self.start_single();
                    }
                    // Kernels before 6.0 have provided buffer rings but
                    // reject multishot receive: use single-shot receives on
                    // this stream from now on.
                    Some(Err(e)) if e.raw_os_error() == Some(libc::EINVAL) => {
                        tracing::debug!(
                            "multishot receive rejected (EINVAL); single-shot receives"
                        );
                        self.multi = None;
                        self.ring = Ring::Absent;
                        self.start_single();
                    }
                    Some(Err(e)) => {
                        self.multi = None;
                        return Poll::Ready(Err(self.error(e)));
                    }
                    // The multishot ended (e.g. CQ overflow): re-arm.
                    None => self.multi = None,
                }
                continue;
            }
            match self.ring() {
                Some(ring) => self.multi = Some(MultiOp::new(RecvMulti::new(&self.fd, ring))),
                None => self.start_single(),
            }
        }
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
