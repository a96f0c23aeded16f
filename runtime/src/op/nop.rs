//! [`Nop`]: an op that does nothing; it measures the ring round trip.

use super::{Completion, OpCode};
use io_uring::{opcode, squeue};
use std::io;

/// `IORING_OP_NOP`.
#[derive(Debug, Default)]
pub struct Nop;

// SAFETY: the SQE refers to no memory.
unsafe impl OpCode for Nop {
    type Output = io::Result<()>;
    const CODE: u8 = opcode::Nop::CODE;

    fn build(&mut self) -> squeue::Entry {
        opcode::Nop::new().build()
    }

    fn complete(self, cqe: Completion) -> io::Result<()> {
        cqe.result().map(drop)
    }
}
