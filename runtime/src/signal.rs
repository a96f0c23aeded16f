//! Signals as futures: [`ctrl_c`] (SIGINT), [`terminate`] (SIGTERM),
//! [`shutdown_signal`] (either).
//!
//! The first listener installs a process-wide handler for its signal; from
//! then on the signal no longer kills the process but completes every
//! waiting future. The handler only writes to eventfds (async-signal-safe);
//! each listener reads its eventfd through its ring, so a signal wakes a
//! parked core like any completion.
//!
//! The launcher listens the same way without a ring: its thread waits on
//! the eventfds with `poll(2)` (`SignalWatch`), so signals reach a run
//! whatever its cores are doing.
//!
//! Why not `signalfd`: it needs the signal blocked in every thread of the
//! process, which a library cannot ensure for threads it did not create.

use crate::{
    fd::SharedFd,
    op::{Op, Read},
};
use std::{
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    sync::{
        atomic::{AtomicBool, AtomicI32, Ordering::SeqCst},
        Arc, Once,
    },
};

/// A signal coring can wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

const SLOTS: usize = 64;

struct Slot {
    claimed: AtomicBool,
    /// An eventfd created on first claim and never closed, so the handler
    /// can never write into an fd number that was reused.
    fd: AtomicI32,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot {
    claimed: AtomicBool::new(false),
    fd: AtomicI32::new(-1),
};

static SLOTS_BY_SIGNAL: [[Slot; SLOTS]; 2] = [[EMPTY; SLOTS], [EMPTY; SLOTS]];
static INSTALL: [Once; 2] = [Once::new(), Once::new()];

fn index(sig: Signal) -> usize {
    match sig {
        Signal::Interrupt => 0,
        Signal::Terminate => 1,
    }
}

fn signo(sig: Signal) -> libc::c_int {
    match sig {
        Signal::Interrupt => libc::SIGINT,
        Signal::Terminate => libc::SIGTERM,
    }
}

extern "C" fn on_signal(signo: libc::c_int) {
    let i = if signo == libc::SIGINT { 0 } else { 1 };
    let one: u64 = 1;
    for slot in &SLOTS_BY_SIGNAL[i] {
        let fd = slot.fd.load(SeqCst);
        if fd >= 0 && slot.claimed.load(SeqCst) {
            // SAFETY: write(2) is async-signal-safe; fd is an eventfd that is
            // never closed; we write 8 bytes from a valid u64.
            unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
        }
    }
}

/// `e` with what was being done, keeping its kind.
fn context(e: io::Error, what: String) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

fn install(sig: Signal) -> io::Result<()> {
    let mut result = Ok(());
    INSTALL[index(sig)].call_once(|| {
        // SAFETY: sigaction is plain data; zeroed is a valid empty action.
        let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
        act.sa_sigaction = on_signal as *const () as usize;
        act.sa_flags = libc::SA_RESTART;
        // SAFETY: installs a handler that only calls async-signal-safe
        // functions; the structs are valid for the call.
        let rc = unsafe { libc::sigaction(signo(sig), &act, std::ptr::null_mut()) };
        if rc != 0 {
            result = Err(context(
                io::Error::last_os_error(),
                format!("install a {sig:?} handler (sigaction)"),
            ));
        }
    });
    result
}

/// A claimed slot; unclaimed on drop.
struct Claim<'a>(&'a Slot);

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.0.claimed.store(false, SeqCst);
    }
}

fn claim(sig: Signal) -> io::Result<(Claim<'static>, OwnedFd)> {
    for slot in &SLOTS_BY_SIGNAL[index(sig)] {
        if slot
            .claimed
            .compare_exchange(false, true, SeqCst, SeqCst)
            .is_err()
        {
            continue;
        }
        let claim = Claim(slot);
        let mut fd = slot.fd.load(SeqCst);
        if fd < 0 {
            // SAFETY: eventfd takes no pointers.
            fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
            if fd < 0 {
                let e = io::Error::last_os_error();
                return Err(context(e, format!("eventfd for {sig:?}")));
            }
            slot.fd.store(fd, SeqCst);
        }
        // Forget a signal that arrived for an earlier listener of this slot.
        let mut stale = 0u64;
        // SAFETY: a non-blocking read of 8 bytes into a u64 we own.
        unsafe { libc::read(fd, (&mut stale as *mut u64).cast(), 8) };
        // The ring reads a duplicate, so closing it never closes the
        // handler's fd.
        // SAFETY: dup of an fd we keep open; the result is ours.
        let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
        if dup < 0 {
            let e = io::Error::last_os_error();
            return Err(context(e, format!("duplicate the {sig:?} eventfd {fd}")));
        }
        // SAFETY: dup is a fresh fd that nothing else owns.
        return Ok((claim, unsafe { OwnedFd::from_raw_fd(dup) }));
    }
    Err(io::Error::other(format!(
        "coring: more than {SLOTS} futures wait for {sig:?} at once"
    )))
}

/// Waits for one of `signals`; returns which arrived.
async fn wait_any(signals: &[Signal]) -> io::Result<Signal> {
    let mut claims = Vec::new();
    for &sig in signals {
        let (claim, fd) = claim(sig)?;
        install(sig)?;
        claims.push((sig, claim, SharedFd::new(fd)));
    }
    let reads = claims.iter().map(|(sig, _, fd)| {
        let sig = *sig;
        let op = Op::new(Read::new(fd, vec![0u8; 8], u64::MAX));
        Box::pin(async move { (sig, op.await.0) })
    });
    let ((sig, res), _, _) = futures::future::select_all(reads).await;
    res.map(|_| sig)
}

/// Resolves at the next SIGINT (Ctrl-C). From the first call on, SIGINT
/// no longer terminates the process.
pub async fn ctrl_c() -> io::Result<()> {
    wait_any(&[Signal::Interrupt]).await.map(drop)
}

/// Resolves at the next SIGTERM. From the first call on, SIGTERM no
/// longer terminates the process.
pub async fn terminate() -> io::Result<()> {
    wait_any(&[Signal::Terminate]).await.map(drop)
}

/// Resolves at the next SIGINT or SIGTERM, saying which.
pub async fn shutdown_signal() -> io::Result<Signal> {
    wait_any(&[Signal::Interrupt, Signal::Terminate]).await
}

/// Blocking signal listening for a thread without a ring (the launcher's):
/// [`wait`](SignalWatch::wait) blocks in `poll(2)` until a signal arrives
/// or a [`WatchStop`] ends the wait.
pub(crate) struct SignalWatch {
    signals: Vec<(Signal, Claim<'static>, OwnedFd)>,
    stop: Arc<OwnedFd>,
}

/// Ends a [`SignalWatch::wait`] (from any thread, any number of times).
#[derive(Clone)]
pub(crate) struct WatchStop(Arc<OwnedFd>);

impl WatchStop {
    pub(crate) fn stop(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a valid u64 to an eventfd we own. A
        // failure can only be a saturated counter: the wait ends anyway.
        unsafe { libc::write(self.0.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }
}

impl SignalWatch {
    /// Claims a slot for each of `signals`; the handlers are installed
    /// only by [`install`](SignalWatch::install).
    pub(crate) fn new(signals: &[Signal]) -> io::Result<SignalWatch> {
        // SAFETY: eventfd takes no pointers.
        let stop = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if stop < 0 {
            let e = io::Error::last_os_error();
            return Err(context(e, "eventfd for the launcher's signal watch".into()));
        }
        // SAFETY: a fresh fd that nothing else owns.
        let stop = Arc::new(unsafe { OwnedFd::from_raw_fd(stop) });
        let mut claimed = Vec::new();
        for &sig in signals {
            let (claim, fd) = claim(sig)?;
            claimed.push((sig, claim, fd));
        }
        Ok(SignalWatch {
            signals: claimed,
            stop,
        })
    }

    /// Installs the handlers: from now on these signals no longer kill the
    /// process but end [`wait`](SignalWatch::wait).
    pub(crate) fn install(&self) -> io::Result<()> {
        self.signals
            .iter()
            .try_for_each(|(sig, _, _)| install(*sig))
    }

    /// What ends [`wait`](SignalWatch::wait) from another thread.
    pub(crate) fn stopper(&self) -> WatchStop {
        WatchStop(self.stop.clone())
    }

    /// Blocks until one of the signals arrives — `Some((signal, how many
    /// times since the last wait))` — or the stopper was used (`None`).
    pub(crate) fn wait(&self) -> io::Result<Option<(Signal, u64)>> {
        let mut fds: Vec<libc::pollfd> = std::iter::once(self.stop.as_raw_fd())
            .chain(self.signals.iter().map(|(_, _, fd)| fd.as_raw_fd()))
            .map(|fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        loop {
            // SAFETY: fds is a valid array of fds.len() pollfds.
            let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
            if rc < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue; // the signal itself interrupts poll
                }
                return Err(context(e, "wait for signals (poll)".into()));
            }
            if fds[0].revents != 0 {
                return Ok(None);
            }
            for (pfd, (sig, _, fd)) in fds[1..].iter().zip(&self.signals) {
                if pfd.revents == 0 {
                    continue;
                }
                let mut count = 0u64;
                // SAFETY: a non-blocking read of 8 bytes into a u64 we own.
                let n = unsafe { libc::read(fd.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
                if n == 8 && count > 0 {
                    return Ok(Some((*sig, count)));
                }
            }
        }
    }
}
