//! [`run`]: one launcher run, in three steps — start a pinned thread per
//! core that builds its own runtime ([`start_cores`]), wait until every
//! core has a ring or one failed ([`await_rings`]), then let the cores run
//! and join them ([`join_cores`]). `Builder::run` forwards here with the
//! launcher options and a way to build each core's runtime.

use super::{
    affinity::{allowed_cpus, pin_current_thread},
    drain, panic_message, shutdown, CoreContext, CoreInfo, CoreSet, LaunchOptions, ShutdownHandle,
};
use crate::{executor::Shared, signal::SignalWatch, Runtime};
use std::{
    future::Future,
    io,
    rc::Rc,
    sync::{mpsc, Arc},
    thread::JoinHandle,
};

/// Builds one core's runtime on that core's thread, given how many rings
/// start together (they share the memlock budget).
pub(crate) type BuildRuntime = Arc<dyn Fn(u32) -> io::Result<Runtime> + Send + Sync>;

/// What a core thread returns: its main future's output (`None` if it was
/// dropped by a hard stop or the run never began), or its panic message.
type CoreResult<T> = Result<Option<T>, String>;

/// A core's start-up report: its runtime's shared half, or why it has none.
type Ready = (usize, io::Result<Arc<Shared>>);

/// The core that failed to start, and why.
type StartError = (usize, io::Error);

/// Runs `f(core)` once on each core selected by `opts` (see `Builder::run`
/// for the contract).
pub(crate) fn run<F, Fut>(
    opts: &LaunchOptions,
    build: BuildRuntime,
    f: F,
) -> io::Result<Vec<Option<Fut::Output>>>
where
    F: Fn(CoreInfo) -> Fut + Send + Sync + 'static,
    Fut: Future + 'static,
    Fut::Output: Send + 'static,
{
    let cpus = opts.cores.resolve(&allowed_cpus()?)?;
    let n = cpus.len();
    let span = tracing::info_span!("coring_launcher", cores = n);
    let _enter = span.enter();
    tracing::info!(?cpus, pin = opts.pin, "starting cores");
    let shutdown = ShutdownHandle {
        state: shutdown::StopState::new(n, opts.grace),
    };
    let watch = match opts.shutdown_on_signals {
        true => Some(SignalWatch::new(&drain::SIGNALS)?),
        false => None,
    };
    let left = Arc::new(drain::CoresLeft::new(
        n,
        watch.as_ref().map(SignalWatch::stopper),
    ));
    let (ready_tx, ready_rx) = mpsc::channel();
    let mut go_txs = Vec::with_capacity(n);
    let mut threads = Vec::with_capacity(n);
    let f = Arc::new(f);
    for (index, &cpu) in cpus.iter().enumerate() {
        let (go_tx, go_rx) = mpsc::channel();
        go_txs.push(go_tx);
        let core = CoreStart {
            index,
            cores: n,
            cpu: opts.pin.then_some(cpu),
            build: build.clone(),
            ready: ready_tx.clone(),
            go: go_rx,
            shutdown: shutdown.clone(),
            exit: drain::CoreExit(left.clone()),
        };
        threads.push(start_core(core, f.clone())?);
    }
    drop(ready_tx);
    let (shareds, first_error) = await_rings(&ready_rx, n);
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
    let (outputs, panic_error) = join_cores(threads);
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

/// Everything one core thread needs to start.
struct CoreStart {
    index: usize,
    cores: usize,
    /// The CPU to pin to (`None`: pinning is off).
    cpu: Option<usize>,
    build: BuildRuntime,
    ready: mpsc::Sender<Ready>,
    /// The run's shared set once every core has a ring; `None` if the run
    /// will not happen (another core failed).
    go: mpsc::Receiver<Option<Arc<CoreSet>>>,
    shutdown: ShutdownHandle,
    exit: drain::CoreExit,
}

/// Starts core `c.index`'s thread: pin, build the runtime, report, wait for
/// the go, run `f(core)` under the drain.
fn start_core<F, Fut>(c: CoreStart, f: Arc<F>) -> io::Result<JoinHandle<CoreResult<Fut::Output>>>
where
    F: Fn(CoreInfo) -> Fut + Send + Sync + 'static,
    Fut: Future + 'static,
    Fut::Output: Send + 'static,
{
    std::thread::Builder::new()
        .name(format!("coring-core-{}", c.index))
        .spawn(move || {
            let CoreStart {
                index,
                cores,
                cpu,
                build,
                ready,
                go,
                shutdown,
                exit,
            } = c;
            let _exit = exit;
            let start = || -> io::Result<Runtime> {
                if let Some(cpu) = cpu {
                    pin_current_thread(cpu)?;
                }
                build(cores as u32)
            };
            // A panic while starting (in an injected ring set-up, say) is
            // reported like an error: the other cores wait for every
            // core's report before they run.
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
                    let _ = ready.send((index, Err(e)));
                    return Ok(None);
                }
            };
            let _ = ready.send((index, Ok(rt.shared())));
            let Ok(Some(set)) = go.recv() else {
                return Ok(None); // another core failed to start
            };
            rt.set_core(Rc::new(CoreContext { index, set }));
            let info = CoreInfo { index, cpu, cores };
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                rt.block_on(drain::run_core(f(info), &shutdown.state, index))
            }));
            rt.publish_stats();
            out.map_err(|panic| {
                // The other cores drain (and stop at the deadline); `run`
                // reports the panic.
                shutdown.shutdown();
                format!("core {index} panicked: {}", panic_message(&*panic))
            })
        })
}

/// Waits until each of the `n` cores reported its ring or its start-up
/// error; returns the rings and the lowest-numbered core's error.
fn await_rings(
    ready: &mpsc::Receiver<Ready>,
    n: usize,
) -> (Vec<Option<Arc<Shared>>>, Option<StartError>) {
    let mut shareds = vec![None; n];
    let mut first_error: Option<StartError> = None;
    for _ in 0..n {
        let Ok((index, res)) = ready.recv() else {
            break;
        };
        match res {
            Ok(shared) => shareds[index] = Some(shared),
            Err(e) => {
                tracing::error!(core = index, error = %e, "core failed to start");
                if first_error.as_ref().is_none_or(|(i, _)| index < *i) {
                    first_error = Some((index, e));
                }
            }
        }
    }
    (shareds, first_error)
}

/// Joins every core thread: the outputs in core order, and the first
/// panic message.
fn join_cores<T>(threads: Vec<JoinHandle<CoreResult<T>>>) -> (Vec<Option<T>>, Option<String>) {
    let mut outputs = Vec::with_capacity(threads.len());
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
    (outputs, panic_error)
}
