//! The thread-per-core launcher: one pinned OS thread, one runtime and one
//! ring per core; cross-core [`spawn_on`]; per-core identity and stats;
//! graceful shutdown (drain) of all cores.
//!
//! ```no_run
//! use coring_runtime::{launcher::Cores, Builder};
//!
//! let outputs = Builder::new().cores(Cores::All).run(|core| async move {
//!     // One copy of this future runs on every core.
//!     Ok::<_, std::io::Error>(core.index)
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod affinity;
mod cross;
mod drain;
mod run;
mod shutdown;

pub use crate::executor::CoreStats;
pub use affinity::{allowed_cpus, pin_current_thread};
pub use cross::{spawn_on, RemoteHandle};
pub(crate) use run::run;
pub use shutdown::{Draining, ShutdownHandle};

use crate::executor::{context, Shared};
use std::{
    any::{Any, TypeId},
    collections::HashMap,
    io,
    sync::Arc,
    time::Duration,
};

/// Default for [`Builder::shutdown_grace`](crate::Builder::shutdown_grace).
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(30);

/// Which cores to run on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Cores {
    /// Every CPU in the process's allowed set (`taskset`, cpusets).
    #[default]
    All,
    /// The first `n` CPUs of the allowed set.
    Count(usize),
    /// These CPUs (each must be in the allowed set, and listed once: one
    /// core per CPU).
    List(Vec<usize>),
}

impl Cores {
    /// Parses `"all"` or a number of cores (as in `#[coring::main(cores = "4")]`).
    pub fn parse(s: &str) -> io::Result<Cores> {
        match s.trim() {
            "all" => Ok(Cores::All),
            n => match n.parse::<usize>() {
                Ok(n) if n > 0 => Ok(Cores::Count(n)),
                _ => Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("cores = {s:?}: expected \"all\" or a positive number"),
                )),
            },
        }
    }

    /// The CPUs this selects from `allowed`.
    pub fn resolve(&self, allowed: &[usize]) -> io::Result<Vec<usize>> {
        match self {
            Cores::All => Ok(allowed.to_vec()),
            Cores::Count(n) if *n == 0 => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cores: zero cores",
            )),
            Cores::Count(n) if *n <= allowed.len() => Ok(allowed[..*n].to_vec()),
            Cores::Count(n) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "asked for {n} cores but this process may run on only {} CPUs {allowed:?}",
                    allowed.len()
                ),
            )),
            Cores::List(list) => {
                if let Some(bad) = list.iter().find(|c| !allowed.contains(c)) {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("CPU {bad} is not in this process's allowed set {allowed:?}"),
                    ));
                }
                if list.is_empty() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "cores: empty CPU list",
                    ));
                }
                if let Some((i, cpu)) = list
                    .iter()
                    .enumerate()
                    .find(|(i, c)| list[..*i].contains(c))
                {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "cores: CPU {cpu} is listed twice in {list:?} (again at index {i}); \
                             each core needs a CPU of its own"
                        ),
                    ));
                }
                Ok(list.clone())
            }
        }
    }
}

/// Who a core is, given to the per-core closure of [`Builder::run`](crate::Builder::run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreInfo {
    /// The core's index, `0..cores`.
    pub index: usize,
    /// The CPU its thread is pinned to (`None` if pinning is off).
    pub cpu: Option<usize>,
    /// How many cores run.
    pub cores: usize,
}

/// What all cores of one run share.
pub(crate) struct CoreSet {
    shareds: Vec<Arc<Shared>>,
    shutdown: ShutdownHandle,
    /// Values shared by all cores of the run (see [`run_shared`]).
    values: std::sync::Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

/// A core's place in its run; kept in the runtime's opaque core slot.
pub(crate) struct CoreContext {
    pub(crate) index: usize,
    pub(crate) set: Arc<CoreSet>,
}

/// Runs `f` with the current runtime's context and its core's place in a
/// launcher run (`None` for a single runtime); panics naming `what`
/// outside a runtime.
pub(crate) fn with_core<R>(
    what: &str,
    f: impl FnOnce(&context::Context, Option<&CoreContext>) -> R,
) -> R {
    context::with_current(what, |ctx| {
        let slot = ctx.core.borrow();
        let core = slot.as_ref().and_then(|c| c.downcast_ref::<CoreContext>());
        f(ctx, core)
    })
}

/// The current core's index: `0..cores` under the launcher, 0 in a
/// single runtime. Panics outside a coring runtime.
pub fn core_id() -> usize {
    with_core("coring::core_id", |_, core| core.map_or(0, |c| c.index))
}

/// How many cores the current run has (1 for a single runtime).
pub fn core_count() -> usize {
    with_core("coring::core_count", |_, core| {
        core.map_or(1, |c| c.set.shareds.len())
    })
}

/// The counters core `index` last published (any core may ask). `None` if
/// there is no such core.
pub fn core_stats(index: usize) -> Option<CoreStats> {
    with_core("coring::core_stats", |ctx, core| match core {
        Some(c) => c.set.shareds.get(index).map(|s| s.published.read()),
        None if index == 0 => Some(crate::executor::stats_of(ctx).into()),
        None => None,
    })
}

/// A value of type `T` shared by every core of the current launcher run,
/// created by `init` the first time any core asks for it (a single runtime
/// counts as a run of one core). For start-up coordination between cores,
/// e.g. the port a sharded listener bound.
///
/// Panics outside a coring runtime.
pub fn run_shared<T: Send + Sync + 'static>(init: impl FnOnce() -> T) -> Arc<T> {
    with_core("coring::run_shared", |ctx, core| {
        let Some(c) = core else {
            // A single runtime is a run of one core: keep it per runtime.
            struct Single<T>(Arc<T>);
            return ctx.local(|| Single(Arc::new(init()))).0.clone();
        };
        let mut values = c.set.values.lock().unwrap_or_else(|e| e.into_inner());
        let v = values
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(init()) as Arc<dyn Any + Send + Sync>)
            .clone();
        v.downcast::<T>().expect("keyed by TypeId")
    })
}

/// The handle that shuts down every core of the current run (see
/// [`ShutdownHandle`]). Panics outside a launcher run.
pub fn shutdown_handle() -> ShutdownHandle {
    with_core("coring::shutdown_handle", |_, core| {
        match core {
        Some(c) => c.set.shutdown.clone(),
        None => panic!("coring::shutdown_handle needs the multi-core launcher (Builder::run or #[coring::main(cores = ..)])"),
    }
    })
}

/// The shutdown handle of the current launcher run, or `None` in a
/// single runtime (which has no launcher shutdown): for code that works in
/// both, such as a server that drains under the launcher and otherwise
/// runs until told to stop. Panics outside a coring runtime.
pub fn try_shutdown_handle() -> Option<ShutdownHandle> {
    with_core("coring::runtime::try_shutdown_handle", |_, core| {
        core.map(|c| c.set.shutdown.clone())
    })
}

/// Whether the current launcher run is shutting down (draining or
/// stopping): a cheap check (a thread-local and an atomic load) for code
/// that decides between requests, e.g. to close a keep-alive connection
/// after the current response. `false` in a single runtime, which has no
/// launcher shutdown. To be woken when it happens, await
/// [`shutdown_handle().wait()`](ShutdownHandle::wait) instead.
///
/// Panics outside a coring runtime.
pub fn is_shutting_down() -> bool {
    with_core("coring::runtime::is_shutting_down", |_, core| {
        core.is_some_and(|c| c.set.shutdown.is_shutdown())
    })
}

/// How the per-core results of `#[coring::main(cores = ..)]` become the
/// process's result: `()` stays `()`, `Result`s give the first error.
pub trait MainOutput: Sized {
    /// Combines the outputs of the cores (`None`: a core whose main future
    /// was dropped by a hard stop).
    fn combine(outputs: Vec<Option<Self>>) -> Self;

    /// The run failed: a core could not start or one panicked (`()`
    /// panics with the error; a `Result` returns it).
    fn start_error(error: io::Error) -> Self;
}

impl MainOutput for () {
    fn combine(_: Vec<Option<()>>) {}

    fn start_error(error: io::Error) {
        // The error says which core and what happened ("core 1 could not
        // start: ...", "core 0 panicked: ...").
        panic!("coring: {error}")
    }
}

impl<E: From<io::Error>> MainOutput for Result<(), E> {
    fn combine(outputs: Vec<Option<Self>>) -> Self {
        outputs.into_iter().flatten().collect()
    }

    fn start_error(error: io::Error) -> Self {
        Err(error.into())
    }
}

impl CoreSet {
    pub(crate) fn shared(&self, index: usize) -> Option<&Arc<Shared>> {
        self.shareds.get(index)
    }
}

/// Launcher options kept on the [`Builder`](crate::Builder).
#[derive(Debug, Clone)]
pub(crate) struct LaunchOptions {
    pub(crate) cores: Cores,
    pub(crate) pin: bool,
    pub(crate) shutdown_on_signals: bool,
    pub(crate) grace: Duration,
}

impl Default for LaunchOptions {
    fn default() -> Self {
        LaunchOptions {
            cores: Cores::All,
            pin: true,
            shutdown_on_signals: true,
            grace: DEFAULT_GRACE,
        }
    }
}

/// The text of a panic payload (`&str` or `String`), for error messages.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".into())
}
