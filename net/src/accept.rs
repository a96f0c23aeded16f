//! Accepting connections, shared by `TcpListener` and `UnixListener`:
//! single-shot [`Acceptor::accept`], the multishot [`RawIncoming`] stream,
//! and the back-off that keeps both from spinning when the process is out
//! of file descriptors (`EMFILE`, `ENFILE`) or memory (`ENOBUFS`,
//! `ENOMEM`).
//!
//! After such an error the next accept waits first: 10 ms, doubling up to
//! 1 s, reset by the next success. The pending connections stay in the
//! kernel's backlog meanwhile and are accepted once descriptors free up.

use crate::{error::annotate, op};
use coring_runtime::{
    fd::SharedFd,
    op::{MultiOp, Op},
    time::{sleep_until, Sleep},
};
use futures::{ready, StreamExt};
use socket2::SockAddr;
use std::{
    cell::Cell,
    future::Future,
    io,
    os::fd::OwnedFd,
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, Instant},
};

const FIRST_DELAY: Duration = Duration::from_millis(10);
const MAX_DELAY: Duration = Duration::from_secs(1);

/// Whether `e` means the process or system ran out of a resource, so
/// accepting again at once would fail again.
pub(crate) fn is_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Whether `e` concerns only the one connection being accepted (it went
/// away before we took it, or a filter refused it).
pub(crate) fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::ECONNABORTED
                | libc::ECONNRESET
                | libc::EPROTO
                | libc::EPERM
                | libc::EINTR
                | libc::ETIMEDOUT
                | libc::EHOSTUNREACH
                | libc::ENETUNREACH
        )
    )
}

/// A listening socket with its back-off state.
pub(crate) struct Acceptor {
    fd: SharedFd,
    label: String,
    retry_at: Cell<Option<Instant>>,
    delay: Cell<Duration>,
}

impl Acceptor {
    pub(crate) fn new(fd: SharedFd, label: String) -> Self {
        Acceptor {
            fd,
            label,
            retry_at: Cell::new(None),
            delay: Cell::new(FIRST_DELAY),
        }
    }

    pub(crate) fn fd(&self) -> &SharedFd {
        &self.fd
    }

    pub(crate) fn into_fd(self) -> SharedFd {
        self.fd
    }

    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    fn succeeded(&self) {
        self.retry_at.set(None);
        self.delay.set(FIRST_DELAY);
    }

    /// Records an error; for exhaustion, schedules the back-off.
    fn failed(&self, e: io::Error) -> io::Error {
        if is_exhaustion(&e) {
            let delay = self.delay.get();
            tracing::warn!(
                listener = %self.label,
                error = %e,
                retry_in = ?delay,
                "accept: out of resources; backing off"
            );
            self.retry_at.set(Some(Instant::now() + delay));
            self.delay.set((delay * 2).min(MAX_DELAY));
        }
        annotate(e, "accept on", &self.label)
    }

    /// Accepts one connection (waiting out a back-off first).
    pub(crate) async fn accept(&self) -> io::Result<(OwnedFd, SockAddr)> {
        if let Some(at) = self.retry_at.get() {
            sleep_until(at).await;
        }
        match Op::new(op::Accept::new(&self.fd)).await {
            Ok(conn) => {
                self.succeeded();
                Ok(conn)
            }
            Err(e) => Err(self.failed(e)),
        }
    }

    pub(crate) fn incoming(&self) -> RawIncoming<'_> {
        RawIncoming {
            acceptor: self,
            multi: None,
            sleep: None,
            done: false,
        }
    }
}

/// Accepted fds from a multishot accept, re-armed as needed.
pub(crate) struct RawIncoming<'a> {
    acceptor: &'a Acceptor,
    multi: Option<MultiOp<op::AcceptMulti>>,
    sleep: Option<Sleep>,
    done: bool,
}

impl RawIncoming<'_> {
    /// The next accepted fd. Exhaustion and per-connection errors are
    /// logged and absorbed (with back-off); any other error is yielded
    /// once and ends the stream.
    pub(crate) fn poll_next_fd(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Result<OwnedFd>>> {
        loop {
            if self.done {
                return Poll::Ready(None);
            }
            if let Some(at) = self.acceptor.retry_at.get() {
                let sleep = self.sleep.get_or_insert_with(|| sleep_until(at));
                ready!(Pin::new(sleep).poll(cx));
                self.sleep = None;
                self.acceptor.retry_at.set(None);
            }
            let multi = self
                .multi
                .get_or_insert_with(|| MultiOp::new(op::AcceptMulti::new(&self.acceptor.fd)));
            match ready!(multi.poll_next_unpin(cx)) {
                Some(Ok(fd)) => {
                    self.acceptor.succeeded();
                    return Poll::Ready(Some(Ok(fd)));
                }
                Some(Err(e)) => {
                    // An error ends a multishot accept: re-arm next time.
                    self.multi = None;
                    if is_per_connection(&e) {
                        tracing::debug!(listener = %self.acceptor.label, error = %e, "accept: connection lost before it was accepted");
                        continue;
                    }
                    let exhausted = is_exhaustion(&e);
                    let e = self.acceptor.failed(e);
                    if exhausted {
                        continue;
                    }
                    self.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                None => self.multi = None,
            }
        }
    }
}
