//! The per-runtime pool of copy buffers used by [`send_file`](crate::send_file)
//! and by the read/write fallback of [`splice_to`](crate::splice_to): three
//! size classes (a head plus a body of up to 16 KiB, 64 KiB, or a 256 KiB
//! copy chunk), each with a bounded number of idle buffers, so a busy
//! server neither allocates and frees one per response (above glibc's
//! mmap threshold that is an mmap, page faults and an munmap each time)
//! nor holds a chunk-sized buffer for a small body.

use coring_runtime::runtime_local;
use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

/// Capacity of a small buffer: a response head plus a body up to 16 KiB.
pub(crate) const SMALL: usize = 16 * 1024 + HEAD_ROOM;
/// Capacity of a medium buffer: a head plus a body up to 64 KiB.
pub(crate) const MEDIUM: usize = 64 * 1024 + HEAD_ROOM;
/// Capacity of a chunk buffer: a head plus [`CHUNK`] bytes of body.
pub(crate) const LARGE: usize = CHUNK + HEAD_ROOM;
/// Bytes of file copied per read (and per send) on the copy path.
pub(crate) const CHUNK: usize = 256 * 1024;
/// Room kept in front of the first chunk for a response head.
pub(crate) const HEAD_ROOM: usize = 4 * 1024;
/// Most idle buffers kept per class: at most 2.5 + 4.3 + 4.1 MiB per
/// runtime, and only after that many responses were in flight at once.
const MAX_IDLE_SMALL: usize = 128;
const MAX_IDLE_MEDIUM: usize = 64;
const MAX_IDLE_LARGE: usize = 16;

#[derive(Default)]
pub(crate) struct BufPool {
    small: RefCell<Vec<Vec<u8>>>,
    medium: RefCell<Vec<Vec<u8>>>,
    large: RefCell<Vec<Vec<u8>>>,
    allocated: Cell<u64>,
    reused: Cell<u64>,
}

/// Counters of the current runtime's copy-buffer pool, from
/// [`buf_pool_stats`](crate::buf_pool_stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BufPoolStats {
    /// Idle buffers kept (all classes).
    pub idle: usize,
    /// Buffers allocated.
    pub allocated: u64,
    /// Takes served by an idle buffer.
    pub reused: u64,
}

/// The current runtime's pool.
pub(crate) fn pool() -> Rc<BufPool> {
    runtime_local(BufPool::default)
}

impl BufPool {
    /// An empty buffer with capacity for at least `want` bytes (buffers
    /// above [`LARGE`] are allocated to size and never pooled).
    pub(crate) fn take(&self, want: usize) -> Vec<u8> {
        let class = match want {
            0..=SMALL => Some((&self.small, SMALL)),
            _ if want <= MEDIUM => Some((&self.medium, MEDIUM)),
            _ if want <= LARGE => Some((&self.large, LARGE)),
            _ => None,
        };
        if let Some((idle, cap)) = class {
            if let Some(mut buf) = idle.borrow_mut().pop() {
                self.reused.set(self.reused.get() + 1);
                buf.clear();
                return buf;
            }
            self.allocated.set(self.allocated.get() + 1);
            return Vec::with_capacity(cap);
        }
        self.allocated.set(self.allocated.get() + 1);
        Vec::with_capacity(want)
    }

    /// Gives a buffer back (kept if its class has room).
    pub(crate) fn give(&self, buf: Vec<u8>) {
        let (idle, max) = match buf.capacity() {
            SMALL => (&self.small, MAX_IDLE_SMALL),
            MEDIUM => (&self.medium, MAX_IDLE_MEDIUM),
            LARGE => (&self.large, MAX_IDLE_LARGE),
            _ => return,
        };
        let mut idle = idle.borrow_mut();
        if idle.len() < max {
            idle.push(buf);
        }
    }

    pub(crate) fn stats(&self) -> BufPoolStats {
        BufPoolStats {
            idle: self.small.borrow().len()
                + self.medium.borrow().len()
                + self.large.borrow().len(),
            allocated: self.allocated.get(),
            reused: self.reused.get(),
        }
    }
}
