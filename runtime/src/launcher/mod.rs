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
mod shutdown;
mod stats;

pub use affinity::{allowed_cpus, pin_current_thread};
pub use cross::{spawn_on, RemoteHandle};
pub use shutdown::{Draining, ShutdownHandle};
pub use stats::CoreStats;
pub(crate) use stats::PublishedStats;

use crate::{
    executor::{context, Shared},
    signal::SignalWatch,
    Builder,
};
use std::{
    any::{Any, TypeId},
    collections::HashMap,
    future::Future,
    io,
    sync::{mpsc, Arc},
    time::Duration,
};

/// Default for [`Builder::shutdown_grace`].
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

/// Who a core is, given to the per-core closure of [`Builder::run`].
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
    fallbacks: Vec<u64>,
    shutdown: ShutdownHandle,
    /// Values shared by all cores of the run (see [`run_shared`]).
    values: std::sync::Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

/// A core's place in its run.
pub(crate) struct CoreContext {
    pub(crate) index: usize,
    pub(crate) set: Arc<CoreSet>,
}

/// The current core's index: `0..cores` under the launcher, 0 in a
/// single runtime. Panics outside a coring runtime.
pub fn core_id() -> usize {
    let ctx = context::current("coring::core_id");
    let core = ctx.core.borrow();
    core.as_ref().map_or(0, |c| c.index)
}

/// How many cores the current run has (1 for a single runtime).
pub fn core_count() -> usize {
    let ctx = context::current("coring::core_count");
    let core = ctx.core.borrow();
    core.as_ref().map_or(1, |c| c.set.shareds.len())
}

/// The counters core `index` last published (any core may ask). `None` if
/// there is no such core.
pub fn core_stats(index: usize) -> Option<CoreStats> {
    let ctx = context::current("coring::core_stats");
    let core = ctx.core.borrow();
    match core.as_ref() {
        Some(c) => c.set.shareds.get(index).map(|s| s.published.read()),
        None if index == 0 => {
            let s = crate::executor::stats_of(&ctx);
            Some(CoreStats {
                tasks_spawned: s.tasks_spawned,
                ops_submitted: s.driver.ops_submitted,
                ops_completed: s.driver.ops_completed,
                ops_in_flight: s.driver.ops_in_flight,
                ring_fallbacks: ctx.driver.info().attempts.len() as u64 - 1,
                overflow_waits: s.driver.overflow_waits,
            })
        }
        None => None,
    }
}

/// A value of type `T` shared by every core of the current launcher run,
/// created by `init` the first time any core asks for it (a single runtime
/// counts as a run of one core). For start-up coordination between cores,
/// e.g. the port a sharded listener bound.
///
/// Panics outside a coring runtime.
pub fn run_shared<T: Send + Sync + 'static>(init: impl FnOnce() -> T) -> Arc<T> {
    let ctx = context::current("coring::run_shared");
    let core = ctx.core.borrow();
    let Some(c) = core.as_ref() else {
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
}

/// The handle that shuts down every core of the current run (see
/// [`ShutdownHandle`]). Panics outside a launcher run.
pub fn shutdown_handle() -> ShutdownHandle {
    let ctx = context::current("coring::shutdown_handle");
    let core = ctx.core.borrow();
    match core.as_ref() {
        Some(c) => c.set.shutdown.clone(),
        None => panic!("coring::shutdown_handle needs the multi-core launcher (Builder::run or #[coring::main(cores = ..)])"),
    }
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
    context::with_current("coring::runtime::is_shutting_down", |ctx| {
        let core = ctx.core.borrow();
        core.as_ref().is_some_and(|c| c.set.shutdown.is_shutdown())
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

impl Builder {
    /// Runs `f(core)` once on each core — one pinned thread, one runtime,
    /// one ring per core — and returns when every core has finished, with
    /// each core's output, or the first start-up error (a ring that could
    /// not get even the floor size; the other cores are shut down cleanly
    /// first).
    ///
    /// A core finishes when its main future `f(core)` returns; its tasks
    /// still alive are then dropped. During a shutdown (see
    /// [`ShutdownHandle`]) a core instead drains: its main future runs on
    /// until it returns, then the core waits for its spawned tasks, all
    /// within [`shutdown_grace`](Builder::shutdown_grace). A core whose main
    /// future had not returned by a hard stop (the deadline, a second
    /// signal, [`ShutdownHandle::shutdown_now`]) gives `None`. The first
    /// SIGINT or SIGTERM starts the drain and the next one stops at once,
    /// unless [`shutdown_on_signals(false)`](Builder::shutdown_on_signals);
    /// the calling thread waits for them while the cores run. A panicking
    /// core starts the drain of the others and `run` returns its panic.
    ///
    /// Rings are created on their own threads (so `SINGLE_ISSUER` and
    /// `DEFER_TASKRUN` hold) and share the memlock budget.
    pub fn run<F, Fut>(&self, f: F) -> io::Result<Vec<Option<Fut::Output>>>
    where
        F: Fn(CoreInfo) -> Fut + Send + Sync + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let allowed = allowed_cpus()?;
        let cpus = self.launch.cores.resolve(&allowed)?;
        let n = cpus.len();
        let span = tracing::info_span!("coring_launcher", cores = n);
        let _enter = span.enter();
        tracing::info!(?cpus, pin = self.launch.pin, "starting cores");
        let f = Arc::new(f);
        let shutdown = ShutdownHandle {
            state: shutdown::StopState::new(n, self.launch.grace),
        };
        let watch = match self.launch.shutdown_on_signals {
            true => Some(SignalWatch::new(&drain::SIGNALS)?),
            false => None,
        };
        let left = Arc::new(drain::CoresLeft::new(
            n,
            watch.as_ref().map(SignalWatch::stopper),
        ));
        let (ready_tx, ready_rx) = mpsc::channel();
        let mut go_txs = Vec::new();
        let mut threads = Vec::new();
        for (index, &cpu) in cpus.iter().enumerate() {
            let (go_tx, go_rx) = mpsc::channel::<Option<Arc<CoreSet>>>();
            go_txs.push(go_tx);
            let mut builder = self.clone();
            builder.memlock_share(n as u32);
            let ready_tx = ready_tx.clone();
            let f = f.clone();
            let pin_cpu = self.launch.pin.then_some(cpu);
            let shutdown = shutdown.clone();
            let exit = drain::CoreExit(left.clone());
            let thread = std::thread::Builder::new()
                .name(format!("coring-core-{index}"))
                .spawn(move || -> Result<Option<Fut::Output>, String> {
                    let _exit = exit;
                    let start = || -> io::Result<crate::Runtime> {
                        if let Some(cpu) = pin_cpu {
                            pin_current_thread(cpu)?;
                        }
                        builder.build()
                    };
                    // A panic while starting (in an injected ring set-up,
                    // say) is reported like an error: the other cores wait
                    // for every core's report before they run.
                    let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(start))
                        .unwrap_or_else(|panic| {
                            Err(io::Error::other(format!(
                                "core {index} panicked while starting: {}",
                                panic_message(&*panic)
                            )))
                        });
                    let rt = match started {
                        Ok(rt) => rt,
                        Err(e) => {
                            let _ = ready_tx.send((index, Err(e)));
                            return Ok(None);
                        }
                    };
                    let fallbacks = rt.ring_info().attempts.len() as u64 - 1;
                    let _ = ready_tx.send((index, Ok((rt.shared(), fallbacks))));
                    let Ok(Some(set)) = go_rx.recv() else {
                        return Ok(None); // another core failed to start
                    };
                    rt.set_core(CoreContext { index, set });
                    let info = CoreInfo {
                        index,
                        cpu: pin_cpu,
                        cores: n,
                    };
                    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        rt.block_on(drain::run_core(f(info), &shutdown.state, index))
                    }));
                    rt.publish_stats();
                    match out {
                        Ok(out) => Ok(out),
                        Err(panic) => {
                            // The other cores drain (and stop at the
                            // deadline); `run` reports the panic.
                            shutdown.shutdown();
                            Err(format!("core {index} panicked: {}", panic_message(&*panic)))
                        }
                    }
                })?;
            threads.push(thread);
        }
        drop(ready_tx);
        // Wait until every core has a ring (or failed to get one).
        let mut shareds: Vec<Option<Arc<Shared>>> = vec![None; n];
        let mut fallbacks = vec![0; n];
        let mut first_error: Option<(usize, io::Error)> = None;
        for _ in 0..n {
            let Ok((index, res)) = ready_rx.recv() else {
                break;
            };
            match res {
                Ok((shared, fb)) => {
                    shareds[index] = Some(shared);
                    fallbacks[index] = fb;
                }
                Err(e) => {
                    tracing::error!(core = index, error = %e, "core failed to start");
                    if first_error.as_ref().is_none_or(|(i, _)| index < *i) {
                        first_error = Some((index, e));
                    }
                }
            }
        }
        // The signal handlers are armed before any core runs `f`.
        let signal_error = match (&first_error, &watch) {
            (None, Some(watch)) => watch.install().err(),
            _ => None,
        };
        let set = match (&first_error, &signal_error) {
            (None, None) => Some(Arc::new(CoreSet {
                shareds: shareds
                    .into_iter()
                    .map(|s| s.expect("every core reported"))
                    .collect(),
                fallbacks,
                shutdown: shutdown.clone(),
                values: Default::default(),
            })),
            _ => None,
        };
        for tx in &go_txs {
            let _ = tx.send(set.clone());
        }
        if let (Some(_), Some(watch)) = (&set, &watch) {
            // Until every core has ended.
            drain::watch_signals(watch, &shutdown);
        }
        drop(set);
        let mut outputs = Vec::with_capacity(n);
        let mut panic_error = None;
        for t in threads {
            match t.join() {
                Ok(Ok(out)) => outputs.push(out),
                Ok(Err(msg)) => {
                    outputs.push(None);
                    panic_error.get_or_insert(msg);
                }
                Err(_) => {
                    outputs.push(None);
                    panic_error.get_or_insert_with(|| "a core thread panicked".into());
                }
            }
        }
        if let Some((index, e)) = first_error {
            return Err(io::Error::new(
                e.kind(),
                format!("core {index} could not start: {e}"),
            ));
        }
        if let Some(e) = signal_error {
            return Err(e);
        }
        if let Some(msg) = panic_error {
            return Err(io::Error::other(msg));
        }
        tracing::info!("all cores finished");
        Ok(outputs)
    }
}

impl CoreSet {
    pub(crate) fn shared(&self, index: usize) -> Option<&Arc<Shared>> {
        self.shareds.get(index)
    }

    #[allow(dead_code)]
    pub(crate) fn fallbacks(&self, index: usize) -> u64 {
        self.fallbacks.get(index).copied().unwrap_or(0)
    }
}

/// Launcher options kept on the [`Builder`].
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
