//! Resizing a live ring (`IORING_REGISTER_RESIZE_RINGS`, Linux 6.13) and
//! re-mapping it. All the `unsafe` that resizing needs is in this file.
//!
//! The io-uring crate (0.7) has no resize call, so coring makes the
//! `io_uring_register` call itself and then maps the new rings through the
//! crate's own public constructor, [`IoUring::from_fd`], with the
//! parameters the kernel filled in. The crate maps exactly what it maps at
//! set-up (the SQ/CQ ring area and the SQE array, at the kernel's fixed
//! offsets); the kernel points those offsets at the new rings once the
//! resize returned.
//!
//! The new `IoUring` is built on a *duplicate* of the ring's fd, taken
//! before the kernel call, so the old `IoUring` can be dropped the ordinary
//! way afterwards: it unmaps the old (now stale) rings and closes its own
//! fd number, while the ring lives on behind the duplicate. Nothing in
//! coring keeps the ring's fd number; registrations (files, buffers,
//! buffer rings, eventfd, io-wq limits) belong to the ring, not to an fd
//! number, and survive. See DESIGN.md, "Resizing a live ring".

use super::RingSize;
use io_uring::IoUring;
use std::{
    fmt, io,
    os::fd::{AsRawFd, BorrowedFd, IntoRawFd},
    sync::Arc,
};

/// `IORING_REGISTER_RESIZE_RINGS`.
const IORING_REGISTER_RESIZE_RINGS: libc::c_uint = 33;
/// `IORING_SETUP_CQSIZE`: the only flag the resize call needs from us.
const IORING_SETUP_CQSIZE: u32 = 1 << 3;

/// The kernel's `struct io_sqring_offsets` / `io_cqring_offsets` (same
/// layout: eight `u32` and a `u64`).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
struct RawOffsets {
    f: [u32; 8],
    user_addr: u64,
}

/// The kernel's `struct io_uring_params` (120 bytes), which
/// `io_uring::Parameters` wraps transparently.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
struct RawParams {
    sq_entries: u32,
    cq_entries: u32,
    flags: u32,
    sq_thread_cpu: u32,
    sq_thread_idle: u32,
    features: u32,
    wq_fd: u32,
    resv: [u32; 3],
    sq_off: RawOffsets,
    cq_off: RawOffsets,
}

const _: () = assert!(std::mem::size_of::<RawParams>() == 120);
const _: () = assert!(std::mem::size_of::<io_uring::Parameters>() == 120);
const _: () = assert!(std::mem::align_of::<io_uring::Parameters>() == 8);

/// One resize about to be made, handed to a [`ResizeFn`]: the sizes, and
/// [`kernel`](ResizeCall::kernel), which makes the real call.
pub struct ResizeCall<'a> {
    fd: BorrowedFd<'a>,
    from: RingSize,
    to: RingSize,
    out: &'a mut Option<RawParams>,
}

impl ResizeCall<'_> {
    /// The ring's size now.
    pub fn from(&self) -> RingSize {
        self.from
    }

    /// The size asked for.
    pub fn to(&self) -> RingSize {
        self.to
    }

    /// Makes the `io_uring_register(IORING_REGISTER_RESIZE_RINGS)` call.
    /// Once it succeeded the driver re-maps the ring, whatever the
    /// [`ResizeFn`] returns.
    pub fn kernel(self) -> io::Result<()> {
        let mut p = RawParams {
            sq_entries: self.to.sq,
            cq_entries: self.to.cq,
            flags: IORING_SETUP_CQSIZE,
            ..RawParams::default()
        };
        // SAFETY: io_uring_register reads and writes `p`, a live, owned
        // struct of the kernel's `io_uring_params` layout, and nothing
        // else; the fd is borrowed for the call.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_io_uring_register,
                self.fd.as_raw_fd(),
                IORING_REGISTER_RESIZE_RINGS,
                &mut p as *mut RawParams,
                1 as libc::c_uint,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        *self.out = Some(p);
        Ok(())
    }
}

impl fmt::Debug for ResizeCall<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResizeCall")
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

/// The function through which the driver resizes its ring. The default
/// calls [`ResizeCall::kernel`]; tests swap in their own (to fail with
/// `EINVAL` or `ENOMEM`, or to count calls) through
/// [`RingConfig::resize_fn`](super::RingConfig::resize_fn). An error
/// returned without calling `kernel` is handled as if the kernel had
/// returned it.
pub type ResizeFn = Arc<dyn Fn(ResizeCall<'_>) -> io::Result<()> + Send + Sync>;

/// Resizes the live `ring` to `to` (already normalized) through `call`, and
/// returns an `IoUring` that maps the new rings. The caller must replace
/// `ring` with it at once and drop the old one: after a successful resize
/// the old mappings are stale (the kernel reads the new rings).
///
/// Call it only at a point where the SQ is empty (all pushed SQEs
/// submitted) and the CQ has been reaped; the kernel copies pending
/// entries anyway, but then nothing can be lost even if it did not.
///
/// Errors are the kernel's (or the injected function's): the ring is then
/// unchanged and `ring` stays valid. Panics if the kernel resized the ring
/// but it could not be mapped (the process is out of address space): the
/// old mapping is stale then, and going on would lose every completion.
pub(crate) fn resize(ring: &IoUring, to: RingSize, call: Option<&ResizeFn>) -> io::Result<IoUring> {
    let from = RingSize {
        sq: ring.params().sq_entries(),
        cq: ring.params().cq_entries(),
    };
    // SAFETY: the fd is the live ring's, owned by `ring`, which outlives
    // this borrow.
    let fd = unsafe { BorrowedFd::borrow_raw(ring.as_raw_fd()) };
    // Duplicate first: if the process is out of fds, nothing has changed.
    let dup = fd.try_clone_to_owned()?;
    let mut out = None;
    let c = ResizeCall {
        fd,
        from,
        to,
        out: &mut out,
    };
    let result = match call {
        Some(f) => f(c),
        None => c.kernel(),
    };
    let Some(kernel) = out else {
        return Err(match result {
            Err(e) => e,
            Ok(()) => io::Error::other("resize_fn returned Ok without calling ResizeCall::kernel"),
        });
    };
    // SAFETY: `Parameters` is `#[repr(transparent)]` over the kernel's
    // `io_uring_params`, which `RawParams` mirrors field for field (sizes
    // checked above); reading it as `RawParams` copies plain integers.
    let mut p: RawParams =
        unsafe { std::ptr::read(ring.params() as *const io_uring::Parameters as *const RawParams) };
    // The kernel filled in the new sizes and offsets; the set-up flags and
    // features (which the resize call does not report) stay the ring's.
    p.sq_entries = kernel.sq_entries;
    p.cq_entries = kernel.cq_entries;
    p.sq_off = kernel.sq_off;
    p.cq_off = kernel.cq_off;
    // SAFETY: as above, the layouts are identical, and every bit pattern
    // of these integers is a valid `io_uring_params`.
    let params: io_uring::Parameters = unsafe { std::mem::transmute::<RawParams, _>(p) };
    // SAFETY: `dup` is an owned fd referring to this io_uring (a dup of
    // its fd), handed over to the new `IoUring`; `params` are what the
    // kernel filled in for the ring as it is now (its resize output,
    // with the set-up's flags and features), as `from_fd` requires.
    let mut new = match unsafe { IoUring::from_fd(dup.into_raw_fd(), params) } {
        Ok(new) => new,
        Err(e) => panic!(
            "io_uring ring resized from {from:?} to {to:?} but the new rings could not be mapped ({e}); \
             the old mapping is stale, so the ring cannot go on"
        ),
    };
    // The crate read the entry counts out of the new mapping; they must be
    // the ones it sized its mappings by.
    let sq_cap = new.submission().capacity();
    let cq_cap = new.completion().capacity();
    assert_eq!(
        (sq_cap, cq_cap),
        (kernel.sq_entries as usize, kernel.cq_entries as usize),
        "re-mapped ring disagrees with the resize's parameters"
    );
    let _ = result;
    Ok(new)
}
