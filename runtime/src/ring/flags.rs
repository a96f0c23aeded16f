//! [`SetupFlags`]: the `IORING_SETUP_*` flags coring knows how to use, and
//! the order in which it gives them up when a kernel rejects them.

use std::fmt;

/// A set of io_uring setup flags (the kernel's `IORING_SETUP_*` bits).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SetupFlags(u32);

impl SetupFlags {
    /// No flags.
    pub const NONE: SetupFlags = SetupFlags(0);
    /// Keep submitting after an SQE fails to prepare (5.18).
    pub const SUBMIT_ALL: SetupFlags = SetupFlags(1 << 7);
    /// Do not interrupt the task to run completion work (5.19).
    pub const COOP_TASKRUN: SetupFlags = SetupFlags(1 << 8);
    /// Tell userspace through the SQ flags when completion work is pending (5.19).
    pub const TASKRUN_FLAG: SetupFlags = SetupFlags(1 << 9);
    /// Only one thread submits (6.0).
    pub const SINGLE_ISSUER: SetupFlags = SetupFlags(1 << 12);
    /// Run completion work only when the issuer waits for it (6.1).
    pub const DEFER_TASKRUN: SetupFlags = SetupFlags(1 << 13);
    /// No SQ index array: smaller ring, one indirection less (6.6).
    pub const NO_SQARRAY: SetupFlags = SetupFlags(1 << 16);

    /// What coring asks for by default: the fastest set for one thread per
    /// ring.
    pub const PREFERRED: SetupFlags = SetupFlags(
        Self::SUBMIT_ALL.0
            | Self::SINGLE_ISSUER.0
            | Self::DEFER_TASKRUN.0
            | Self::TASKRUN_FLAG.0
            | Self::NO_SQARRAY.0,
    );

    /// Newest first: the order in which flags are dropped after `EINVAL`.
    const BY_AGE: [(SetupFlags, &'static str); 6] = [
        (Self::NO_SQARRAY, "NO_SQARRAY"),
        (Self::DEFER_TASKRUN, "DEFER_TASKRUN"),
        (Self::SINGLE_ISSUER, "SINGLE_ISSUER"),
        (Self::TASKRUN_FLAG, "TASKRUN_FLAG"),
        (Self::COOP_TASKRUN, "COOP_TASKRUN"),
        (Self::SUBMIT_ALL, "SUBMIT_ALL"),
    ];

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: SetupFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union of two sets.
    pub const fn union(self, other: SetupFlags) -> SetupFlags {
        SetupFlags(self.0 | other.0)
    }

    /// `self` without the flags of `other`.
    pub const fn difference(self, other: SetupFlags) -> SetupFlags {
        SetupFlags(self.0 & !other.0)
    }

    /// The set to try after the kernel rejected `self` with `EINVAL`: the
    /// newest flag removed. When `DEFER_TASKRUN` goes, `COOP_TASKRUN` takes
    /// its place so `TASKRUN_FLAG` stays valid. `None` once nothing is left
    /// to drop.
    pub fn step_down(self) -> Option<SetupFlags> {
        let (newest, _) = Self::BY_AGE.iter().find(|(f, _)| self.contains(*f))?;
        let mut next = self.difference(*newest);
        if *newest == Self::DEFER_TASKRUN && next.contains(Self::TASKRUN_FLAG) {
            next = next.union(Self::COOP_TASKRUN);
        }
        if *newest == Self::TASKRUN_FLAG {
            // COOP_TASKRUN came in the same release; it goes next anyway.
            next = next.difference(Self::COOP_TASKRUN);
        }
        Some(next)
    }
}

impl fmt::Debug for SetupFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("NONE");
        }
        let mut first = true;
        for (flag, name) in Self::BY_AGE.iter().rev() {
            if self.contains(*flag) {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl fmt::Display for SetupFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_down_walks_to_none() {
        let mut f = SetupFlags::PREFERRED;
        let mut seen = vec![f];
        while let Some(next) = f.step_down() {
            f = next;
            seen.push(f);
        }
        assert_eq!(f, SetupFlags::NONE);
        assert!(!seen[1].contains(SetupFlags::NO_SQARRAY));
        // DEFER_TASKRUN gives way to COOP_TASKRUN, keeping TASKRUN_FLAG valid.
        assert!(seen[2].contains(SetupFlags::COOP_TASKRUN));
        assert!(seen[2].contains(SetupFlags::TASKRUN_FLAG));
        assert!(seen.iter().all(|f| !f.contains(SetupFlags::TASKRUN_FLAG)
            || f.contains(SetupFlags::COOP_TASKRUN)
            || f.contains(SetupFlags::DEFER_TASKRUN)));
    }

    #[test]
    fn debug_lists_names() {
        let s = format!("{:?}", SetupFlags::SUBMIT_ALL.union(SetupFlags::NO_SQARRAY));
        assert_eq!(s, "SUBMIT_ALL|NO_SQARRAY");
    }
}
