//! [`Io`]: what the driver submits to and reaps from — an io_uring ring,
//! or the readiness driver that stands in for one (`crate::readiness`)
//! where io_uring is blocked. Both take SQEs and give back completions
//! with io_uring's meaning, so the rest of the driver (slots, orphans,
//! cancels, backpressure, shutdown) is the same for both.

use super::Completion;
use crate::{readiness::EpollRing, ring::DriverKind};
use io_uring::{squeue, IoUring};
use std::{io, mem::ManuallyDrop};

// One per runtime, so the ring's size inline costs nothing, and the hot
// path reaches the ring without a pointer hop.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Io {
    /// Dropped in `Driver::drop` unless shutdown had to leak it.
    Uring(ManuallyDrop<IoUring>),
    Epoll(Box<EpollRing>),
}

impl Io {
    pub(crate) fn kind(&self) -> DriverKind {
        match self {
            Io::Uring(_) => DriverKind::Uring,
            Io::Epoll(_) => DriverKind::Epoll,
        }
    }

    /// Pushes one SQE into the SQ (the readiness driver starts it at
    /// once); `false` if the SQ is full.
    pub(crate) fn sq_push(&mut self, entry: &squeue::Entry) -> bool {
        match self {
            // SAFETY: the entry's pointers refer to resources its op keeps
            // alive until the CQE (the OpCode contract), or to the driver's
            // own wake buffer, which lives as long as the ring.
            Io::Uring(ring) => unsafe { ring.submission().push(entry) }.is_ok(),
            Io::Epoll(e) => {
                e.push(entry, false);
                true
            }
        }
    }

    /// SQEs pushed and not yet submitted.
    pub(crate) fn sq_len(&mut self) -> usize {
        match self {
            Io::Uring(ring) => ring.submission().len(),
            Io::Epoll(_) => 0,
        }
    }

    /// Submits what is in the SQ without waiting.
    pub(crate) fn submit(&mut self) -> io::Result<usize> {
        match self {
            Io::Uring(ring) => ring.submit(),
            Io::Epoll(_) => Ok(0),
        }
    }

    /// Submits and waits for `want` completions (io_uring only; the
    /// readiness driver waits in `EpollRing::turn`).
    pub(crate) fn submit_and_wait(&mut self, want: usize) -> io::Result<usize> {
        match self {
            Io::Uring(ring) => ring.submitter().submit_and_wait(want),
            Io::Epoll(_) => Ok(0),
        }
    }

    /// Copies up to `batch.len()` completions out; how many.
    pub(crate) fn take(&mut self, batch: &mut [(u64, Completion)]) -> usize {
        match self {
            Io::Uring(ring) => {
                let mut n = 0;
                for cqe in ring.completion().take(batch.len()) {
                    batch[n] = (cqe.user_data(), Completion::new(cqe.result(), cqe.flags()));
                    n += 1;
                }
                n
            }
            Io::Epoll(e) => {
                let (max, mut n) = (batch.len(), 0);
                for (b, (data, res, flags)) in batch.iter_mut().zip(e.take(max)) {
                    *b = (data, Completion::new(res, flags));
                    n += 1;
                }
                n
            }
        }
    }
}
