//! [`RawSqe`]: an SQE read back as the kernel's `struct io_uring_sqe`, so
//! the readiness driver can carry out the very operation an op built for
//! io_uring. The layout is the kernel's ABI (stable since 5.1); only the
//! fields coring's ops use are named.

use io_uring::squeue;

/// The 64 bytes of one SQE, by the kernel's field names.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawSqe {
    pub(crate) opcode: u8,
    pub(crate) flags: u8,
    pub(crate) ioprio: u16,
    pub(crate) fd: i32,
    /// `off` / `addr2`.
    pub(crate) off: u64,
    /// `addr` / `splice_off_in`.
    pub(crate) addr: u64,
    pub(crate) len: u32,
    /// The per-opcode flags union (`rw_flags`, `msg_flags`, `open_flags`, ...).
    pub(crate) op_flags: u32,
    pub(crate) user_data: u64,
    /// `buf_index` / `buf_group`.
    pub(crate) buf_group: u16,
    pub(crate) personality: u16,
    /// `splice_fd_in` / `file_index`.
    pub(crate) splice_fd_in: i32,
    pub(crate) addr3: u64,
    pub(crate) pad: u64,
}

const _: () = assert!(size_of::<squeue::Entry>() == 64 && size_of::<RawSqe>() == 64);

/// `IOSQE_FIXED_FILE`: `fd` is an index into registered files.
pub(crate) const FIXED_FILE: u8 = 1 << 0;
/// `IOSQE_IO_LINK` / `IOSQE_IO_HARDLINK` / `IOSQE_IO_DRAIN`.
pub(crate) const ORDERING: u8 = (1 << 1) | (1 << 2) | (1 << 3);
/// `IOSQE_BUFFER_SELECT`: pick a buffer from group `buf_group`.
pub(crate) const BUFFER_SELECT: u8 = 1 << 5;
/// `IORING_RECV_MULTISHOT` (in `ioprio` of a recv).
pub(crate) const RECV_MULTISHOT: u16 = 1 << 1;
/// `IORING_ACCEPT_MULTISHOT` (in `ioprio` of an accept).
pub(crate) const ACCEPT_MULTISHOT: u16 = 1 << 0;
/// `IORING_POLL_ADD_MULTI` (in `len` of a poll add).
pub(crate) const POLL_ADD_MULTI: u32 = 1 << 0;
/// `IORING_ASYNC_CANCEL_ALL` / `_FD` / `_ANY`.
pub(crate) const CANCEL_ALL: u32 = 1 << 0;
pub(crate) const CANCEL_FD: u32 = 1 << 1;
pub(crate) const CANCEL_ANY: u32 = 1 << 2;
/// `IORING_TIMEOUT_ABS`.
pub(crate) const TIMEOUT_ABS: u32 = 1 << 0;
/// `IORING_FSYNC_DATASYNC`.
pub(crate) const FSYNC_DATASYNC: u32 = 1 << 0;
/// `IORING_CQE_F_BUFFER` / `IORING_CQE_F_MORE` and the buffer id's shift.
pub(crate) const CQE_F_BUFFER: u32 = 1 << 0;
pub(crate) const CQE_F_MORE: u32 = 1 << 1;
pub(crate) const CQE_BUFFER_SHIFT: u32 = 16;

impl RawSqe {
    /// The SQE `entry` holds.
    pub(crate) fn of(entry: &squeue::Entry) -> RawSqe {
        // SAFETY: `squeue::Entry` is `#[repr(C)]` around the kernel's
        // 64-byte `io_uring_sqe` (asserted above), which `RawSqe` mirrors
        // field for field; every field is a plain integer, so any bit
        // pattern is a valid `RawSqe`.
        unsafe { std::mem::transmute_copy::<squeue::Entry, RawSqe>(entry) }
    }

    /// Whether this op delivers several completions (multishot recv,
    /// accept or poll).
    #[cfg(test)]
    fn is_multishot(&self) -> bool {
        use io_uring::opcode as op;
        match self.opcode {
            op::Recv::CODE => self.ioprio & RECV_MULTISHOT != 0,
            op::Accept::CODE => self.ioprio & ACCEPT_MULTISHOT != 0,
            op::PollAdd::CODE => self.len & POLL_ADD_MULTI != 0,
            _ => false,
        }
    }

    /// `off` as a file position: `u64::MAX` (the file's own position)
    /// becomes -1, as `preadv2` wants it.
    pub(crate) fn pos(&self) -> i64 {
        if self.off == u64::MAX {
            -1
        } else {
            self.off as i64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use io_uring::{opcode, types};

    #[test]
    fn fields_read_back_where_the_io_uring_crate_put_them() {
        let mut buf = [0u8; 16];
        let e = opcode::Recv::new(types::Fd(7), buf.as_mut_ptr(), 16)
            .flags(libc::MSG_WAITALL)
            .build()
            .user_data(42);
        let s = RawSqe::of(&e);
        assert_eq!(s.opcode, opcode::Recv::CODE);
        assert_eq!(s.fd, 7);
        assert_eq!(s.addr, buf.as_ptr() as u64);
        assert_eq!(s.len, 16);
        assert_eq!(s.op_flags, libc::MSG_WAITALL as u32);
        assert_eq!(s.user_data, 42);

        let e = opcode::RecvMulti::new(types::Fd(3), 0x6e74).build();
        let s = RawSqe::of(&e);
        assert!(s.is_multishot());
        assert_eq!(s.buf_group, 0x6e74);
        assert_eq!(s.flags & BUFFER_SELECT, BUFFER_SELECT);

        let e = opcode::Splice::new(types::Fd(4), 100, types::Fd(5), -1, 9).build();
        let s = RawSqe::of(&e);
        assert_eq!(
            (s.splice_fd_in, s.addr, s.fd, s.off as i64, s.len),
            (4, 100, 5, -1, 9)
        );

        let e = opcode::Read::new(types::Fd(1), buf.as_mut_ptr(), 4)
            .offset(u64::MAX)
            .build();
        assert_eq!(RawSqe::of(&e).pos(), -1);
    }
}
