//! [`RecvMulti`]: multishot `IORING_OP_RECV` into the runtime's provided
//! buffer ring: one SQE keeps receiving, each CQE names a filled buffer.

use crate::buf_ring::{BufRing, RecvChunk, BGID};
use coring_runtime::{
    fd::SharedFd,
    io_uring::{cqueue, opcode, squeue, types},
    op::{Completion, MultishotCode},
};
use std::{io, rc::Rc};

/// Receives until cancelled, end of stream, an error, or the ring running
/// out of buffers (`ENOBUFS`). Items: `Ok(Some(chunk))`, `Ok(None)` at end
/// of stream. Buffers of completions after the stream was dropped go back
/// to the ring.
pub(crate) struct RecvMulti {
    fd: SharedFd,
    ring: Rc<BufRing>,
}

impl RecvMulti {
    pub(crate) fn new(fd: &SharedFd, ring: Rc<BufRing>) -> Self {
        RecvMulti {
            fd: fd.clone(),
            ring,
        }
    }
}

// SAFETY: the SQE names the fd (kept open by the SharedFd clone) and the
// buffer group, whose memory the Rc<BufRing> keeps alive until the last CQE.
unsafe impl MultishotCode for RecvMulti {
    type Item = io::Result<Option<RecvChunk>>;
    const CODE: u8 = opcode::RecvMulti::CODE;

    fn build(&mut self) -> squeue::Entry {
        opcode::RecvMulti::new(types::Fd(self.fd.raw()), BGID).build()
    }

    fn item(&mut self, cqe: Completion) -> Self::Item {
        self.ring.chunk(cqe)
    }

    fn orphan_item(&mut self, cqe: Completion) {
        if let Some(bid) = cqueue::buffer_select(cqe.flags()) {
            self.ring.recycle(bid);
        }
    }
}
