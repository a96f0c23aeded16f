//! The per-runtime provided buffer ring used by multishot receive.
//!
//! One ring of [`SIZE`]-byte buffers is registered with each
//! runtime's io_uring (buffer group [`BGID`]) the first time a stream reads,
//! and kept as a `runtime_local` value, which the runtime drops only after
//! its ring has shut down. The kernel picks a free buffer for each chunk a
//! multishot receive gets; the chunk ([`RecvChunk`]) gives the buffer back
//! to the ring when dropped. If registration fails (a kernel before 5.19,
//! or no memory) streams fall back to single-shot receives.

use coring_runtime::{
    io_uring::{cqueue, types::BufRingEntry},
    op::Completion,
};
use std::{
    alloc::{self, Layout},
    cell::Cell,
    io,
    ptr::NonNull,
    rc::Rc,
    sync::atomic::{AtomicU16, Ordering},
};

/// The buffer group id coring-net registers its ring under.
pub(crate) const BGID: u16 = 0x6e74;
/// Fewest and most buffers in a runtime's ring (powers of two).
const MIN_COUNT: u16 = 64;
const MAX_COUNT: u16 = 1024;
/// Size of each buffer: the most one multishot completion delivers.
pub(crate) const SIZE: usize = 4096;
const PAGE: usize = 4096;
/// The buffers are aligned to a transparent huge page and advised to use
/// one: the ring hands buffers out round-robin, so with 4 KiB pages every
/// receive would touch a cold TLB entry.
const HUGE_PAGE: usize = 2 << 20;
/// Distance between buffer starts: one cache line more than a buffer, so
/// that the first lines of consecutive buffers (all a small message
/// touches) fall in different cache sets instead of competing for one.
const STRIDE: usize = SIZE + 64;

/// How many buffers a runtime whose CQ holds `cq_entries` gets: a quarter
/// of the CQ, from 64 (256 KiB, the floor ring) to 1024 (4 MiB, the
/// default ring). The CQ size already reflects what the process may lock
/// (coring shrinks rings to fit `RLIMIT_MEMLOCK` and memory cgroups), and
/// a ring that small cannot reap more chunks than this at once anyway; a
/// receive that finds the ring empty falls back to its own buffer.
fn count_for(cq_entries: u32) -> u16 {
    let quarter = (cq_entries / 4).clamp(MIN_COUNT as u32, MAX_COUNT as u32);
    quarter.next_power_of_two() as u16
}

/// A registered provided-buffer ring and its buffers.
pub(crate) struct BufRing {
    entries: NonNull<BufRingEntry>,
    bufs: NonNull<u8>,
    /// Number of buffers (a power of two).
    count: u16,
    tail: Cell<u16>,
}

impl BufRing {
    /// This runtime's ring, registered on first use; `None` if the kernel
    /// refused it (callers then use single-shot receives).
    pub(crate) fn current() -> Option<Rc<BufRing>> {
        let slot = coring_runtime::runtime_local(|| match BufRing::register() {
            Ok(ring) => Some(Rc::new(ring)),
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "provided buffer ring unavailable; sockets use single-shot receives"
                );
                None
            }
        });
        (*slot).clone()
    }

    fn entries_layout(count: u16) -> Layout {
        Layout::from_size_align(count as usize * size_of::<BufRingEntry>(), PAGE)
            .expect("valid layout")
    }

    fn bufs_layout(count: u16) -> Layout {
        let size = count as usize * STRIDE;
        // A huge page only pays when the buffers fill most of one.
        let align = if size >= HUGE_PAGE { HUGE_PAGE } else { PAGE };
        Layout::from_size_align(size, align).expect("valid layout")
    }

    fn register() -> io::Result<BufRing> {
        // Sized for the most the ring may grow to (an adaptive ring starts
        // small, and the buffer ring is registered once) — unless set-up
        // already had to shrink the ring (memlock, a cgroup): then memory
        // is tight and the ring will not grow far, so its size now.
        let info = coring_runtime::ring_info();
        let cq = if info.driver == coring_runtime::ring::DriverKind::Epoll {
            // No ring and no memlock: as many buffers as the ring that was
            // asked for would get.
            info.wanted.cq
        } else if info.start == info.initial {
            info.max.cq
        } else {
            info.size.cq
        };
        let count = count_for(cq);
        // SAFETY: both layouts have a non-zero size.
        let (entries, bufs) = unsafe {
            (
                alloc::alloc_zeroed(Self::entries_layout(count)),
                alloc::alloc(Self::bufs_layout(count)),
            )
        };
        let entries = NonNull::new(entries.cast::<BufRingEntry>());
        let bufs = NonNull::new(bufs);
        let (Some(entries), Some(bufs)) = (entries, bufs) else {
            return Err(io::Error::from(io::ErrorKind::OutOfMemory));
        };
        // SAFETY: advice on memory we own; failure (no THP) is harmless.
        unsafe {
            libc::madvise(
                bufs.as_ptr().cast(),
                Self::bufs_layout(count).size(),
                libc::MADV_HUGEPAGE,
            )
        };
        let ring = BufRing {
            entries,
            bufs,
            count,
            tail: Cell::new(0),
        };
        // SAFETY: the entries are page-aligned memory of `count` entries
        // that lives until this BufRing is dropped. The driver reads them
        // (and writes the buffers) only for an op that selects from group
        // BGID, and every such op holds an Rc to this ring (orphans too,
        // even ones a timed-out shutdown leaks), so the memory outlives
        // every op that can touch it. The registration itself stays until
        // the driver closes; with no op left it is never used.
        unsafe { coring_runtime::register_buf_ring(ring.entries.as_ptr() as u64, count, BGID) }?;
        tracing::debug!(
            buffers = count,
            bytes = count as usize * SIZE,
            "provided buffer ring registered"
        );
        for bid in 0..count {
            ring.push(bid);
        }
        ring.publish();
        Ok(ring)
    }

    /// The `len` bytes the kernel wrote into buffer `bid`.
    fn bytes(&self, bid: u16, len: usize) -> &[u8] {
        debug_assert!(bid < self.count && len <= SIZE);
        // SAFETY: buffer `bid` is SIZE bytes at bid * STRIDE in the allocation; the
        // kernel wrote its first `len` bytes and handed it to us (it is not
        // in the ring until recycled, so the kernel does not write it now).
        unsafe { std::slice::from_raw_parts(self.bufs.as_ptr().add(bid as usize * STRIDE), len) }
    }

    /// Writes buffer `bid` into the next free ring entry (not yet visible
    /// to the kernel).
    fn push(&self, bid: u16) {
        let tail = self.tail.get();
        let idx = (tail & (self.count - 1)) as usize;
        // SAFETY: idx < count; the kernel only reads entries between its
        // head and the published tail, and this one is past the tail.
        let entry = unsafe { &mut *self.entries.as_ptr().add(idx) };
        // SAFETY: bid < count, so the offset stays in the allocation.
        entry.set_addr(unsafe { self.bufs.as_ptr().add(bid as usize * STRIDE) } as u64);
        entry.set_len(SIZE as u32);
        entry.set_bid(bid);
        self.tail.set(tail.wrapping_add(1));
    }

    /// Makes pushed entries visible to the kernel.
    fn publish(&self) {
        // SAFETY: the tail field lives in the first entry, in our
        // allocation; the kernel reads it concurrently, hence the atomic
        // release store.
        unsafe {
            let tail = BufRingEntry::tail(self.entries.as_ptr()) as *mut u16;
            AtomicU16::from_ptr(tail).store(self.tail.get(), Ordering::Release);
        }
    }

    /// Gives buffer `bid` back to the kernel.
    pub(crate) fn recycle(&self, bid: u16) {
        self.push(bid);
        self.publish();
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        // SAFETY: allocated in `register` with these layouts. Every op that
        // could pick a buffer holds an Rc to this ring, so none is in flight.
        unsafe {
            alloc::dealloc(
                self.entries.as_ptr().cast(),
                Self::entries_layout(self.count),
            );
            alloc::dealloc(self.bufs.as_ptr(), Self::bufs_layout(self.count));
        }
    }
}

impl BufRing {
    /// What a receive that selected from this ring produced: a chunk, end
    /// of stream (`None`), or the error (any buffer it named goes back).
    pub(crate) fn chunk(self: &Rc<Self>, cqe: Completion) -> io::Result<Option<RecvChunk>> {
        let bid = cqueue::buffer_select(cqe.flags());
        let n = match cqe.result() {
            Ok(n) => n,
            Err(e) => {
                if let Some(bid) = bid {
                    self.recycle(bid);
                }
                return Err(e);
            }
        };
        match bid {
            Some(bid) if n > 0 => Ok(Some(RecvChunk::new(self.clone(), bid, n))),
            Some(bid) => {
                self.recycle(bid);
                Ok(None)
            }
            None if n == 0 => Ok(None),
            None => Err(io::Error::other("receive completed without a buffer")),
        }
    }
}

/// Bytes a receive delivered into a ring buffer; the buffer goes
/// back to the ring when this is dropped.
pub(crate) struct RecvChunk {
    ring: Rc<BufRing>,
    bid: u16,
    len: u32,
}

impl RecvChunk {
    pub(crate) fn new(ring: Rc<BufRing>, bid: u16, len: u32) -> Self {
        RecvChunk { ring, bid, len }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        self.ring.bytes(self.bid, self.len as usize)
    }
}

impl Drop for RecvChunk {
    fn drop(&mut self) {
        self.ring.recycle(self.bid);
    }
}

#[cfg(test)]
mod tests {
    use super::count_for;

    #[test]
    fn buffer_count_follows_the_cq() {
        assert_eq!(count_for(16), 64);
        assert_eq!(count_for(128), 64);
        assert_eq!(count_for(1024), 256);
        assert_eq!(count_for(1000), 256);
        assert_eq!(count_for(4096), 1024);
        assert_eq!(count_for(65536), 1024);
    }
}
