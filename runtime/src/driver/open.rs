//! Picking and opening a runtime's driver: io_uring when it can be used,
//! the readiness (epoll) driver when it is blocked or lacks an opcode the
//! runtime needs at its core, or whichever the program or
//! `CORING_DRIVER` forces.

use super::Io;
use crate::{
    readiness::EpollRing,
    ring::{create_ring, DriverChoice, DriverKind, RingConfig, RingInfo, UringBlocked, DRIVER_ENV},
};
use io_uring::{opcode as op, IoUring, Probe};
use std::{
    io,
    mem::ManuallyDrop,
    sync::atomic::{AtomicBool, Ordering},
};

/// Opcodes every runtime uses (sockets, files, timers, cancels, closes).
const CORE_OPCODES: &[(u8, &str)] = &[
    (op::Read::CODE, "READ"),
    (op::Write::CODE, "WRITE"),
    (op::Recv::CODE, "RECV"),
    (op::Send::CODE, "SEND"),
    (op::Accept::CODE, "ACCEPT"),
    (op::Connect::CODE, "CONNECT"),
    (op::Close::CODE, "CLOSE"),
    (op::PollAdd::CODE, "POLL_ADD"),
    (op::AsyncCancel::CODE, "ASYNC_CANCEL"),
    (op::OpenAt::CODE, "OPENAT"),
    (op::Statx::CODE, "STATX"),
];

/// The first fallback of the process is a warning; the other cores' are
/// the same news, logged at debug.
static WARNED: AtomicBool = AtomicBool::new(false);

/// Opens the driver `config` asks for (see [`DriverChoice`]).
pub(crate) fn open(config: &RingConfig) -> io::Result<(Io, RingInfo)> {
    let (choice, by) = match config.driver {
        DriverChoice::Auto => (
            DriverChoice::from_env()?,
            "the environment (CORING_DRIVER=epoll)",
        ),
        forced => (forced, "Builder::driver / RingConfig::driver"),
    };
    match choice {
        DriverChoice::Force(DriverKind::Epoll) => {
            let reason = format!("forced by {by}");
            tracing::info!(%reason, "running on the epoll driver");
            epoll(config, reason)
        }
        DriverChoice::Force(_) => uring(create_ring(config)?),
        DriverChoice::Auto => match create_ring(config) {
            Ok((ring, info)) => match missing_opcodes(&ring) {
                None => uring((ring, info)),
                Some(missing) => {
                    drop(ring);
                    fall_back(
                        config,
                        format!("the kernel's io_uring lacks opcodes the runtime needs: {missing}"),
                    )
                }
            },
            Err(e) => match UringBlocked::of(&e) {
                Some(blocked) => fall_back(config, blocked.message.clone()),
                None => Err(e),
            },
        },
    }
}

fn uring((ring, info): (IoUring, RingInfo)) -> io::Result<(Io, RingInfo)> {
    Ok((Io::Uring(ManuallyDrop::new(ring)), info))
}

fn epoll(config: &RingConfig, reason: String) -> io::Result<(Io, RingInfo)> {
    let ring = EpollRing::new()?;
    Ok((
        Io::Epoll(Box::new(ring)),
        RingInfo::readiness(config, reason),
    ))
}

fn fall_back(config: &RingConfig, reason: String) -> io::Result<(Io, RingInfo)> {
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            %reason,
            "io_uring cannot be used; running on the epoll driver (set {DRIVER_ENV}=uring to make this an error)"
        );
    } else {
        tracing::debug!(%reason, "io_uring cannot be used; running on the epoll driver");
    }
    epoll(config, reason)
}

/// The core opcodes `ring`'s kernel lacks, named; `None` if it has all
/// (or cannot be probed, as before 5.6: then ops report it themselves).
fn missing_opcodes(ring: &IoUring) -> Option<String> {
    let mut probe = Probe::new();
    ring.submitter().register_probe(&mut probe).ok()?;
    let missing: Vec<&str> = CORE_OPCODES
        .iter()
        .filter(|(code, _)| !probe.is_supported(*code))
        .map(|&(_, name)| name)
        .collect();
    (!missing.is_empty()).then(|| missing.join(", "))
}
