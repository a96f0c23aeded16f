//! [`AlignedBuf`]: a heap buffer aligned to 4096 bytes, for `O_DIRECT`.

use coring_runtime::buf::{IoBuf, IoBufMut};
use std::{
    alloc::{self, Layout},
    fmt,
    ops::{Deref, DerefMut},
    ptr::NonNull,
};

/// A zero-initialised heap buffer whose address is a multiple of
/// [`AlignedBuf::ALIGN`] (4096), as `O_DIRECT` I/O needs. Like a `Vec`, it
/// has a length (the bytes a write sends, set by reads) within a fixed
/// capacity (the bytes a read may fill).
///
/// ```
/// use coring_fs::AlignedBuf;
/// let mut buf = AlignedBuf::zeroed(8192);
/// assert_eq!(buf.as_ptr() as usize % AlignedBuf::ALIGN, 0);
/// buf[..5].copy_from_slice(b"hello");
/// buf.truncate(5);
/// assert_eq!(&buf[..], b"hello");
/// ```
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    len: usize,
    cap: usize,
}

impl AlignedBuf {
    /// The alignment of every `AlignedBuf`.
    pub const ALIGN: usize = 4096;

    /// An empty buffer (length 0) with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        let cap = capacity.max(1);
        let layout = Self::layout(cap);
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc::alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(ptr) else {
            alloc::handle_alloc_error(layout)
        };
        AlignedBuf {
            ptr,
            len: 0,
            cap: capacity,
        }
    }

    /// A buffer of `len` zero bytes (length and capacity `len`).
    pub fn zeroed(len: usize) -> Self {
        let mut b = Self::with_capacity(len);
        b.len = len;
        b
    }

    /// A copy of `data`, with capacity rounded up to a multiple of 4096.
    pub fn from_slice(data: &[u8]) -> Self {
        let cap = data.len().div_ceil(Self::ALIGN).max(1) * Self::ALIGN;
        let mut b = Self::with_capacity(cap);
        b.len = data.len();
        b.copy_from_slice(data);
        b
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the length is 0.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Shortens the length to `len` (no effect if it is already shorter).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Sets the length to anything up to the capacity (the memory is always
    /// initialised: zeroed at allocation).
    pub fn set_len(&mut self, len: usize) {
        self.len = len.min(self.cap);
    }

    fn layout(cap: usize) -> Layout {
        Layout::from_size_align(cap, Self::ALIGN).expect("AlignedBuf capacity overflows isize")
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated in with_capacity with this very layout.
        unsafe { alloc::dealloc(self.ptr.as_ptr(), Self::layout(self.cap.max(1))) }
    }
}

impl Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: the first `len <= cap` bytes are allocated and initialised.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for Deref, and we hold the buffer mutably.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("len", &self.len)
            .field("capacity", &self.cap)
            .finish()
    }
}

// SAFETY: the buffer owns its heap memory exclusively; moving it between
// threads moves ownership, like a Vec.
unsafe impl Send for AlignedBuf {}
// SAFETY: shared access only reads.
unsafe impl Sync for AlignedBuf {}

// SAFETY: heap memory that does not move with the value; `cap` bytes
// allocated, `len` of them counted as initialised (all are, zeroed).
unsafe impl IoBuf for AlignedBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len
    }
    fn bytes_total(&self) -> usize {
        self.cap
    }
}

// SAFETY: as for IoBuf; all `cap` bytes are writable.
unsafe impl IoBufMut for AlignedBuf {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }
    unsafe fn set_init(&mut self, pos: usize) {
        self.len = self.len.max(pos.min(self.cap));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_and_sized() {
        for cap in [0, 1, 4096, 4097, 1 << 20] {
            let b = AlignedBuf::with_capacity(cap);
            assert_eq!(b.as_ptr() as usize % AlignedBuf::ALIGN, 0);
            assert_eq!(b.capacity(), cap);
            assert_eq!(b.len(), 0);
        }
        let b = AlignedBuf::from_slice(b"abc");
        assert_eq!(b.capacity(), 4096);
        assert_eq!(&b[..], b"abc");
    }
}
