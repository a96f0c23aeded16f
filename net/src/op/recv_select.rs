//! [`RecvSelect`]: single-shot `IORING_OP_RECV` into a buffer the kernel
//! picks from the runtime's provided buffer ring when data arrives.

use crate::buf_ring::{BufRing, RecvChunk, BGID};
use coring_runtime::{
    fd::SharedFd,
    io_uring::{cqueue, opcode, squeue, types},
    op::{Completion, OpCode},
};
use std::{io, rc::Rc};

/// Receives once; while it waits it holds no buffer. Output: `Ok(Some)` a
/// chunk, `Ok(None)` end of stream, `ENOBUFS` if the ring was empty.
pub(crate) struct RecvSelect {
    fd: SharedFd,
    ring: Rc<BufRing>,
}

impl RecvSelect {
    pub(crate) fn new(fd: &SharedFd, ring: Rc<BufRing>) -> Self {
        RecvSelect {
            fd: fd.clone(),
            ring,
        }
    }
}

// SAFETY: the SQE names the fd (kept open by the SharedFd clone) and the
// buffer group, whose memory the Rc<BufRing> keeps alive until the CQE.
unsafe impl OpCode for RecvSelect {
    type Output = io::Result<Option<RecvChunk>>;
    const CODE: u8 = opcode::Recv::CODE;

    fn build(&mut self) -> squeue::Entry {
        opcode::Recv::new(
            types::Fd(self.fd.raw()),
            std::ptr::null_mut(),
            crate::buf_ring::SIZE as u32,
        )
        .buf_group(BGID)
        .build()
        .flags(squeue::Flags::BUFFER_SELECT)
    }

    fn complete(self, cqe: Completion) -> Self::Output {
        self.ring.chunk(cqe)
    }

    fn complete_orphan(self, cqe: Completion) {
        if let Some(bid) = cqueue::buffer_select(cqe.flags()) {
            self.ring.recycle(bid);
        }
    }
}
