//! Owned buffers for io_uring ops.
//!
//! The kernel reads from and writes into a buffer after the op that named it
//! was submitted, possibly after the future that owned it was dropped. So ops
//! take buffers by value and hand them back with the result
//! (`(io::Result<T>, B)`); while the op is in flight the buffer lives in the
//! op, and if the op future is dropped it moves into the driver until the
//! completion arrives.
//!
//! [`IoBuf`] is a buffer the kernel may read from, [`IoBufMut`] one it may
//! write into. Both promise a pointer that stays put when the buffer value is
//! moved (heap memory or `'static` memory), which is why they are `unsafe`
//! traits.

mod slice;

pub use slice::Slice;

use std::ops::{Bound, RangeBounds};

/// A buffer the kernel may read from.
///
/// # Safety
///
/// `stable_ptr` must point to `bytes_total` bytes of memory, the first
/// `bytes_init` of them initialized, and the pointer must stay valid and
/// unchanged when the value is moved, for as long as the value is alive and
/// not mutated through `&mut` methods other than those of this crate's
/// traits.
pub unsafe trait IoBuf: Unpin + 'static {
    /// Pointer to the start of the buffer.
    fn stable_ptr(&self) -> *const u8;

    /// Number of initialized bytes (what a write sends).
    fn bytes_init(&self) -> usize;

    /// Total capacity in bytes (what a read may fill).
    fn bytes_total(&self) -> usize;

    /// A view of `range` of this buffer, which keeps ownership of it.
    ///
    /// Panics if the range is out of bounds of [`bytes_total`](IoBuf::bytes_total)
    /// (including `..=usize::MAX`, whose end does not fit in `usize`).
    fn slice(self, range: impl RangeBounds<usize>) -> Slice<Self>
    where
        Self: Sized,
    {
        let total = self.bytes_total();
        let begin = match range.start_bound() {
            Bound::Included(&n) => n,
            Bound::Excluded(&n) => n.checked_add(1).unwrap_or_else(|| {
                panic!(
                    "slice range starting after usize::MAX out of bounds for a buffer of \
                     {total} bytes"
                )
            }),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&n) => n.checked_add(1).unwrap_or_else(|| {
                panic!("slice range ..=usize::MAX out of bounds for a buffer of {total} bytes")
            }),
            Bound::Excluded(&n) => n,
            Bound::Unbounded => total,
        };
        assert!(
            begin <= end && end <= total,
            "slice range {begin}..{end} out of bounds for a buffer of {total} bytes"
        );
        Slice::new(self, begin, end)
    }
}

/// One `iovec` per buffer over its initialized bytes: what a gather write
/// (`writev`, `sendmsg`) sends. The pointers stay valid while `bufs` is
/// neither moved out of nor resized.
pub fn iovecs_init<B: IoBuf>(bufs: &[B]) -> Vec<libc::iovec> {
    bufs.iter()
        .map(|b| libc::iovec {
            iov_base: b.stable_ptr() as *mut _,
            iov_len: b.bytes_init(),
        })
        .collect()
}

/// One `iovec` per buffer over its whole capacity: what a scatter read
/// (`readv`, `recvmsg`) may fill.
pub fn iovecs_total<B: IoBufMut>(bufs: &mut [B]) -> Vec<libc::iovec> {
    bufs.iter_mut()
        .map(|b| libc::iovec {
            iov_base: b.stable_mut_ptr().cast(),
            iov_len: b.bytes_total(),
        })
        .collect()
}

/// A buffer the kernel may write into.
///
/// # Safety
///
/// As for [`IoBuf`]; in addition `stable_mut_ptr` must be valid for writes
/// of `bytes_total` bytes.
pub unsafe trait IoBufMut: IoBuf {
    /// Mutable pointer to the start of the buffer.
    fn stable_mut_ptr(&mut self) -> *mut u8;

    /// Marks the first `pos` bytes as initialized, if that is more than now.
    ///
    /// # Safety
    ///
    /// The first `pos` bytes must have been initialized (written by the
    /// kernel or by the caller).
    unsafe fn set_init(&mut self, pos: usize);
}

// SAFETY: a Vec's heap pointer does not move when the Vec value moves, and
// the traits' users never grow the Vec while an op holds it.
unsafe impl IoBuf for Vec<u8> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.capacity()
    }
}

// SAFETY: see the IoBuf impl; capacity bytes are writable.
unsafe impl IoBufMut for Vec<u8> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, pos: usize) {
        if self.len() < pos {
            // SAFETY: the caller promises the first `pos` bytes are
            // initialized, and `pos <= capacity` by the op contracts.
            unsafe { self.set_len(pos) };
        }
    }
}

// SAFETY: a boxed slice is heap memory that stays put when the box moves.
unsafe impl IoBuf for Box<[u8]> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
}

// SAFETY: a boxed slice is fully initialized and writable.
unsafe impl IoBufMut for Box<[u8]> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, _pos: usize) {}
}

// SAFETY: 'static memory never moves or goes away.
unsafe impl IoBuf for &'static [u8] {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
}

// SAFETY: 'static memory never moves or goes away.
unsafe impl IoBuf for &'static str {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
}

// SAFETY: 'static memory never moves or goes away; an array is fully
// initialized. (`b"literal"` is a `&'static [u8; N]`, so it can be written
// without `.as_slice()`.)
unsafe impl<const N: usize> IoBuf for &'static [u8; N] {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        N
    }
    fn bytes_total(&self) -> usize {
        N
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vec_reports_len_and_capacity() {
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(b"abc");
        assert_eq!(v.bytes_init(), 3);
        assert!(v.bytes_total() >= 16);
        // SAFETY: nothing written; pos 2 < len so nothing changes.
        unsafe { v.set_init(2) };
        assert_eq!(v.len(), 3);
    }

    #[test]
    fn a_slice_sees_what_was_written_through_its_pointer() {
        // As the kernel would: write through the slice's stable pointer,
        // then mark the bytes initialized.
        let mut s = Vec::with_capacity(8).slice(0..6);
        assert!(s.is_empty());
        // SAFETY: 4 <= the slice's 6 writable bytes, all then initialized.
        unsafe {
            std::ptr::copy_nonoverlapping(b"abcd".as_ptr(), s.stable_mut_ptr(), 4);
            s.set_init(4);
        }
        assert_eq!(&*s, b"abcd");
        s[1] = b'X';
        let v = s.into_inner();
        assert_eq!(v, b"aXcd");
        // A view starting past the initialized prefix marks nothing, so the
        // initialized part stays contiguous.
        let mut s = v.slice(6..8);
        // SAFETY: 2 bytes within the view's capacity.
        unsafe {
            std::ptr::copy_nonoverlapping(b"yz".as_ptr(), s.stable_mut_ptr(), 2);
            s.set_init(2);
        }
        assert_eq!((s.bytes_init(), &*s), (0, &b""[..]));
        assert_eq!(s.into_inner().len(), 4);
        // A view in the middle of a boxed slice.
        let b: Box<[u8]> = vec![1, 2, 3, 4, 5].into_boxed_slice();
        let s = b.slice(1..4);
        assert_eq!(
            (&*s, s.bytes_init(), s.bytes_total()),
            (&[2, 3, 4][..], 3, 3)
        );
    }

    #[test]
    fn static_arrays_slices_and_strs_are_buffers() {
        fn init<B: IoBuf>(b: B) -> (usize, usize) {
            (b.bytes_init(), b.bytes_total())
        }
        assert_eq!(init(b"abcd"), (4, 4));
        assert_eq!(init(&[0u8; 0]), (0, 0));
        assert_eq!(init(b"abc".as_slice()), (3, 3));
        assert_eq!(init("hé"), (3, 3));
        let s = b"hello".slice(1..3);
        assert_eq!(&*s, b"el");
    }

    #[test]
    fn slice_bounds() {
        let s = vec![0u8; 10].slice(2..5);
        assert_eq!(s.begin(), 2);
        assert_eq!(s.end(), 5);
        assert_eq!(s.bytes_total(), 3);
        assert_eq!(s.into_inner().len(), 10);
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn slice_out_of_bounds_panics() {
        let _ = vec![0u8; 4].slice(2..9);
    }

    #[test]
    fn inclusive_slice_up_to_the_last_byte() {
        let s = vec![0u8; 4].slice(1..=3);
        assert_eq!((s.begin(), s.end()), (1, 4));
    }

    #[test]
    #[should_panic(expected = "slice range ..=usize::MAX out of bounds for a buffer of 4 bytes")]
    fn slice_ending_at_usize_max_inclusive_panics_clearly() {
        let _ = vec![0u8; 4].slice(..=usize::MAX);
    }

    #[test]
    #[should_panic(
        expected = "slice range starting after usize::MAX out of bounds for a buffer of 4 bytes"
    )]
    fn slice_starting_after_usize_max_panics_clearly() {
        use std::ops::Bound;
        let _ = vec![0u8; 4].slice((Bound::Excluded(usize::MAX), Bound::Unbounded));
    }
}
