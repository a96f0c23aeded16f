//! [`Completion`]: what the kernel reported for one op (its CQE, copied out
//! of the ring).

use std::io;

/// The result and flags of one completion queue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    result: i32,
    flags: u32,
    unsupported: Option<u8>,
    /// Made up by the driver: the op never reached the kernel.
    local: bool,
}

impl Completion {
    /// A completion as the kernel posted it.
    pub fn new(result: i32, flags: u32) -> Self {
        Completion {
            result,
            flags,
            unsupported: None,
            local: false,
        }
    }

    /// A completion made up by the driver for an op whose opcode this
    /// kernel lacks (found by the driver's probe); it was never submitted.
    pub(crate) fn unsupported(opcode: u8) -> Self {
        Completion {
            result: -libc::EOPNOTSUPP,
            flags: 0,
            unsupported: Some(opcode),
            local: true,
        }
    }

    /// A completion made up by the driver for an op it could not submit,
    /// e.g. because the runtime is shutting down.
    pub(crate) fn error(errno: i32) -> Self {
        Completion {
            local: true,
            ..Completion::new(-errno, 0)
        }
    }

    /// Whether the kernel saw the op. `false` for a completion the driver
    /// made up for an op it never submitted (unsupported opcode, runtime
    /// shutting down, submit failure): whatever the op would have consumed
    /// (an fd to close, say) is still the caller's.
    pub fn reached_kernel(&self) -> bool {
        !self.local
    }

    /// The raw `res` field: a byte count, an fd, or a negated errno.
    pub fn raw_result(&self) -> i32 {
        self.result
    }

    /// The CQE flags (`IORING_CQE_F_*`).
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// `res` as an `io::Result`: negative values become the matching OS
    /// error; an opcode this kernel lacks becomes `ErrorKind::Unsupported`
    /// with a message naming it.
    pub fn result(&self) -> io::Result<u32> {
        if let Some(op) = self.unsupported {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "io_uring opcode {op} ({}) is not supported by this kernel ({})",
                    opcode_name(op),
                    crate::ring::kernel_release()
                ),
            ));
        }
        if self.result < 0 {
            Err(io::Error::from_raw_os_error(-self.result))
        } else {
            Ok(self.result as u32)
        }
    }
}

/// The name of an io_uring opcode, for error messages.
pub(crate) fn opcode_name(op: u8) -> &'static str {
    use io_uring::opcode as o;
    match op {
        o::Nop::CODE => "NOP",
        o::Readv::CODE => "READV",
        o::Writev::CODE => "WRITEV",
        o::Fsync::CODE => "FSYNC",
        o::PollAdd::CODE => "POLL_ADD",
        o::Timeout::CODE => "TIMEOUT",
        o::Accept::CODE => "ACCEPT",
        o::AsyncCancel::CODE => "ASYNC_CANCEL",
        o::Connect::CODE => "CONNECT",
        o::Fallocate::CODE => "FALLOCATE",
        o::OpenAt::CODE => "OPENAT",
        o::Close::CODE => "CLOSE",
        o::Statx::CODE => "STATX",
        o::Read::CODE => "READ",
        o::Write::CODE => "WRITE",
        o::Send::CODE => "SEND",
        o::Recv::CODE => "RECV",
        o::Splice::CODE => "SPLICE",
        o::Shutdown::CODE => "SHUTDOWN",
        o::RenameAt::CODE => "RENAMEAT",
        o::UnlinkAt::CODE => "UNLINKAT",
        o::MkDirAt::CODE => "MKDIRAT",
        o::SymlinkAt::CODE => "SYMLINKAT",
        o::LinkAt::CODE => "LINKAT",
        o::MsgRingData::CODE => "MSG_RING",
        o::SendZc::CODE => "SEND_ZC",
        o::Ftruncate::CODE => "FTRUNCATE",
        _ => "see io_uring.h",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_result_is_os_error() {
        let e = Completion::new(-libc::ENOENT, 0).result().unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
        assert_eq!(Completion::new(42, 0).result().unwrap(), 42);
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "the message names the kernel, read from /proc: no file system under Miri's isolation"
    )]
    fn unsupported_names_the_opcode() {
        let e = Completion::unsupported(io_uring::opcode::Splice::CODE)
            .result()
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Unsupported);
        assert!(e.to_string().contains("SPLICE"), "{e}");
    }
}
