//! Provided buffer rings on the readiness driver: the program registers a
//! ring of buffers exactly as for io_uring, and a receive with
//! `IOSQE_BUFFER_SELECT` takes the next buffer from it here, as the kernel
//! would: entries between the driver's head and the program's published
//! tail are the driver's until a completion names them (`IORING_CQE_F_BUFFER`
//! with the buffer id).

use std::sync::atomic::{AtomicU16, Ordering};

/// One buffer offered by a ring.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Offered {
    pub(crate) addr: u64,
    pub(crate) len: u32,
    pub(crate) bid: u16,
}

struct Ring {
    bgid: u16,
    /// The `io_uring_buf` array (16 bytes each; the tail is the `resv`
    /// field of entry 0).
    base: *const u8,
    mask: u16,
    head: u16,
}

/// The registered rings, by buffer group.
#[derive(Default)]
pub(crate) struct BufRings {
    rings: Vec<Ring>,
}

impl BufRings {
    /// Registers the ring at `addr` with `entries` (a power of two) entries
    /// for group `bgid`.
    ///
    /// # Safety
    ///
    /// As for `IORING_REGISTER_PBUF_RING`: the memory stays valid until
    /// unregistered or until no op selecting from `bgid` is left.
    pub(crate) unsafe fn register(
        &mut self,
        addr: u64,
        entries: u16,
        bgid: u16,
    ) -> Result<(), i32> {
        if !entries.is_power_of_two() || addr == 0 || self.rings.iter().any(|r| r.bgid == bgid) {
            return Err(libc::EINVAL);
        }
        self.rings.push(Ring {
            bgid,
            base: addr as *const u8,
            mask: entries - 1,
            head: 0,
        });
        Ok(())
    }

    /// The next buffer of group `bgid`, not taken yet; `None` if the ring
    /// is empty (the op fails with `ENOBUFS`, as on io_uring).
    pub(crate) fn peek(&self, bgid: u16) -> Option<Offered> {
        let r = self.rings.iter().find(|r| r.bgid == bgid)?;
        // SAFETY: the registered ring's memory is valid (register's
        // contract); the tail is a u16 at byte 14 that the program stores
        // with release ordering.
        let tail =
            unsafe { AtomicU16::from_ptr(r.base.add(14) as *mut u16) }.load(Ordering::Acquire);
        if tail == r.head {
            return None;
        }
        let at = (r.head & r.mask) as usize * 16;
        // SAFETY: entry `at` is inside the ring and was published (it lies
        // between head and tail), so the program does not write it now.
        unsafe {
            let e = r.base.add(at);
            Some(Offered {
                addr: (e as *const u64).read_unaligned(),
                len: (e.add(8) as *const u32).read_unaligned(),
                bid: (e.add(12) as *const u16).read_unaligned(),
            })
        }
    }

    /// Takes the buffer [`peek`](Self::peek) offered.
    pub(crate) fn commit(&mut self, bgid: u16) {
        if let Some(r) = self.rings.iter_mut().find(|r| r.bgid == bgid) {
            r.head = r.head.wrapping_add(1);
        }
    }
}
