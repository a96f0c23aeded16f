//! [`Slice`]: a range view of an owned buffer that keeps ownership of it.

use super::{IoBuf, IoBufMut};
use std::ops::{Deref, DerefMut};

/// A range `begin..end` of an owned buffer, usable wherever an
/// [`IoBuf`]/[`IoBufMut`] is. Get the buffer back with
/// [`into_inner`](Slice::into_inner).
#[derive(Debug)]
pub struct Slice<T> {
    buf: T,
    begin: usize,
    end: usize,
}

impl<T: IoBuf> Slice<T> {
    pub(crate) fn new(buf: T, begin: usize, end: usize) -> Self {
        Slice { buf, begin, end }
    }

    /// Start of the view in the underlying buffer.
    pub fn begin(&self) -> usize {
        self.begin
    }

    /// End (exclusive) of the view in the underlying buffer.
    pub fn end(&self) -> usize {
        self.end
    }

    /// The underlying buffer.
    pub fn get_ref(&self) -> &T {
        &self.buf
    }

    /// The underlying buffer, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.buf
    }

    /// Gives the underlying buffer back.
    pub fn into_inner(self) -> T {
        self.buf
    }
}

impl<T: IoBuf> Deref for Slice<T> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        let init = self.buf.bytes_init().clamp(self.begin, self.end);
        // SAFETY: begin..init lies within the initialized part of the buffer.
        unsafe {
            std::slice::from_raw_parts(self.buf.stable_ptr().add(self.begin), init - self.begin)
        }
    }
}

impl<T: IoBufMut> DerefMut for Slice<T> {
    fn deref_mut(&mut self) -> &mut [u8] {
        let init = self.buf.bytes_init().clamp(self.begin, self.end);
        // SAFETY: begin..init lies within the initialized part of the buffer,
        // and we hold the buffer mutably.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.buf.stable_mut_ptr().add(self.begin),
                init - self.begin,
            )
        }
    }
}

// SAFETY: the view points into `buf`, whose pointer is stable by its own
// IoBuf contract; begin..end is within bytes_total (checked at creation).
unsafe impl<T: IoBuf> IoBuf for Slice<T> {
    fn stable_ptr(&self) -> *const u8 {
        // SAFETY: begin <= bytes_total, so the offset stays in the allocation.
        unsafe { self.buf.stable_ptr().add(self.begin) }
    }
    fn bytes_init(&self) -> usize {
        self.buf.bytes_init().clamp(self.begin, self.end) - self.begin
    }
    fn bytes_total(&self) -> usize {
        self.end - self.begin
    }
}

// SAFETY: as for IoBuf; the underlying buffer is writable.
unsafe impl<T: IoBufMut> IoBufMut for Slice<T> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        // SAFETY: begin <= bytes_total, so the offset stays in the allocation.
        unsafe { self.buf.stable_mut_ptr().add(self.begin) }
    }
    unsafe fn set_init(&mut self, pos: usize) {
        // Only mark when the initialized prefix already reaches `begin`, so
        // the buffer's initialized part stays contiguous.
        if self.buf.bytes_init() >= self.begin {
            // SAFETY: the caller initialized begin..begin+pos, and 0..begin
            // was initialized already (checked above).
            unsafe { self.buf.set_init(self.begin + pos) };
        }
    }
}
