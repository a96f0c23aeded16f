//! One round's shared state: the seeded choices, the pattern every stream
//! carries, the tasks spawned (to abort and to join), failures, tallies;
//! and the chaos wrapper that drops futures mid-flight.

use crate::flows::Flow;
use crate::rng::Rng;
use crate::watch::{Guard, G};
use coring::fs::File;
use coring::net::{TcpStream, UnixStream};
use coring::JoinHandle;
use futures::channel::oneshot;
use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
    future::Future,
    net::SocketAddr,
    path::PathBuf,
    pin::pin,
    rc::Rc,
    task::Poll,
    time::Duration,
};

/// Length of the pattern (a prime, so stream offsets never line up with
/// buffer sizes). Byte `p` of a stream whose base is `b` is
/// `PATTERN[(b + p) % PLEN]`; the pattern file holds the same bytes, so a
/// splice from it at `(b + p) % PLEN` continues the stream.
pub const PLEN: usize = 1_048_573;

/// How much chaos a task applies to its own ops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// No timeouts, no drops: everything must go through.
    Calm,
    Mild,
    Wild,
}

impl Level {
    pub fn pick(rng: &mut Rng) -> Level {
        match rng.below(100) {
            0..=39 => Level::Calm,
            40..=74 => Level::Mild,
            _ => Level::Wild,
        }
    }
}

/// How an op's future is cut short.
#[derive(Clone, Copy, Debug)]
pub enum Cut {
    /// `coring::time::timeout` (may fire before or after submission).
    Timeout(Duration),
    /// Polled once (submitted), then dropped.
    PollOnce,
}

/// The cut (if any) for the next op of a task at `level`.
pub fn pick_cut(rng: &mut Rng, level: Level) -> Option<Cut> {
    let (timeout, once) = match level {
        Level::Calm => return None,
        Level::Mild => (6, 2),
        Level::Wild => (20, 8),
    };
    let roll = rng.range(0, 100);
    if roll < timeout {
        // Mostly tiny (often before the op completes), sometimes zero.
        Some(Cut::Timeout(rng.micros(0, 1500)))
    } else if roll < timeout + once {
        Some(Cut::PollOnce)
    } else {
        None
    }
}

/// Runs `f` under `cut`: `None` if the future was dropped before it
/// finished.
pub async fn chaos<F: Future>(cut: Option<Cut>, f: F) -> Option<F::Output> {
    match cut {
        None => Some(f.await),
        Some(Cut::Timeout(d)) => coring::time::timeout(d, f).await.ok(),
        Some(Cut::PollOnce) => {
            let mut f = pin!(f);
            match futures::poll!(f.as_mut()) {
                Poll::Ready(v) => Some(v),
                Poll::Pending => None,
            }
        }
    }
}

/// Counters of what a round did (summed over rounds, and checked to be
/// non-zero where a zero would mean the test exercised nothing).
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Per flow kind (see `flows::Kind`): flows that started, flows whose
    /// every byte was checked end to end, bytes verified.
    pub flows: [u64; 4],
    pub intact: [u64; 4],
    pub bytes: [u64; 4],
    pub cut_flows: u64,
    pub splices: u64,
    pub poll_writes: u64,
    pub writes_dropped: u64,
    pub reads_dropped: u64,
    pub aborts: u64,
    pub udp_datagrams: u64,
    pub file_blocks: u64,
    pub timer_checks: u64,
    pub idle_released: u64,
    pub idle_aborted: u64,
    pub tasks: u64,
}

impl Tally {
    pub fn add(&mut self, o: &Tally) {
        for i in 0..4 {
            self.flows[i] += o.flows[i];
            self.intact[i] += o.intact[i];
            self.bytes[i] += o.bytes[i];
        }
        self.cut_flows += o.cut_flows;
        self.splices += o.splices;
        self.poll_writes += o.poll_writes;
        self.writes_dropped += o.writes_dropped;
        self.reads_dropped += o.reads_dropped;
        self.aborts += o.aborts;
        self.udp_datagrams += o.udp_datagrams;
        self.file_blocks += o.file_blocks;
        self.timer_checks += o.timer_checks;
        self.idle_released += o.idle_released;
        self.idle_aborted += o.idle_aborted;
        self.tasks += o.tasks;
    }
}

pub struct Round {
    pub rng: RefCell<Rng>,
    pub pattern: Rc<Vec<u8>>,
    /// The pattern, as a file (the splice source).
    pub pattern_file: File,
    /// Scratch directory of this round.
    pub dir: PathBuf,
    pub tcp_addr: SocketAddr,
    pub unix_path: PathBuf,
    /// Connectors waiting for the acceptor to hand over their peer, by id.
    pub tcp_pending: RefCell<HashMap<u64, oneshot::Sender<TcpStream>>>,
    pub unix_pending: RefCell<HashMap<u64, oneshot::Sender<UnixStream>>>,
    pub handles: RefCell<Vec<JoinHandle<()>>>,
    pub flows: RefCell<Vec<Rc<Flow>>>,
    pub failures: RefCell<Vec<String>>,
    pub tally: RefCell<Tally>,
    pub idle: crate::idle::Idle,
    next_id: Cell<u64>,
}

impl Round {
    pub fn new(
        rng: Rng,
        pattern: Rc<Vec<u8>>,
        pattern_file: File,
        dir: PathBuf,
        tcp_addr: SocketAddr,
        unix_path: PathBuf,
    ) -> Round {
        Round {
            rng: RefCell::new(rng),
            pattern,
            pattern_file,
            dir,
            tcp_addr,
            unix_path,
            tcp_pending: Default::default(),
            unix_pending: Default::default(),
            handles: Default::default(),
            flows: Default::default(),
            failures: Default::default(),
            tally: Default::default(),
            idle: Default::default(),
            next_id: Cell::new(1),
        }
    }

    /// A generator of its own for a new task.
    pub fn fork_rng(&self) -> Rng {
        self.rng.borrow_mut().fork()
    }

    pub fn id(&self) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        id
    }

    /// Spawns `f`, counted under `g` until it ends (also when aborted or
    /// panicking); returns its index for [`abort`](Round::abort).
    pub fn spawn(&self, g: G, f: impl Future<Output = ()> + 'static) -> usize {
        let guard = Guard::new(g);
        let h = coring::spawn(async move {
            let _alive = guard;
            f.await
        });
        self.tally.borrow_mut().tasks += 1;
        let mut hs = self.handles.borrow_mut();
        hs.push(h);
        hs.len() - 1
    }

    /// Aborts task `idx` if it is still running; returns whether it was.
    pub fn abort(&self, idx: usize) -> bool {
        let hs = self.handles.borrow();
        match hs.get(idx) {
            Some(h) if !h.is_finished() => {
                h.abort();
                self.tally.borrow_mut().aborts += 1;
                true
            }
            _ => false,
        }
    }

    pub fn fail(&self, msg: String) {
        self.failures.borrow_mut().push(msg);
    }

    pub fn tally(&self) -> std::cell::RefMut<'_, Tally> {
        self.tally.borrow_mut()
    }

    /// `n` stream bytes starting at stream position `pos` of base `base`.
    pub fn pattern_at(&self, base: usize, pos: usize, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n);
        let mut at = (base + pos) % PLEN;
        while v.len() < n {
            let take = (n - v.len()).min(PLEN - at);
            v.extend_from_slice(&self.pattern[at..at + take]);
            at = 0;
        }
        v
    }

    /// Index of the first byte of `data` that differs from the stream of
    /// base `base` at position `pos`.
    pub fn mismatch(&self, base: usize, pos: usize, data: &[u8]) -> Option<usize> {
        let mut at = (base + pos) % PLEN;
        let mut done = 0;
        while done < data.len() {
            let take = (data.len() - done).min(PLEN - at);
            let want = &self.pattern[at..at + take];
            let got = &data[done..done + take];
            if want != got {
                let i = want.iter().zip(got).position(|(a, b)| a != b).unwrap();
                return Some(done + i);
            }
            done += take;
            at = 0;
        }
        None
    }

    /// Flows whose writer or reader has not finished, and idle waiters
    /// still waiting (for the watchdog's report).
    pub fn unfinished(&self) -> String {
        let mut s = String::new();
        let mut n = 0;
        for f in self.flows.borrow().iter() {
            let st = f.st.borrow();
            if st.writer_alive || st.reader_alive {
                n += 1;
                if n <= 20 {
                    s += &format!(
                        "    {:?} flow {} ({:?}, len {}): {st:?}\n",
                        f.kind, f.id, f.level, f.len
                    );
                }
            }
        }
        if n > 20 {
            s += &format!("    ... {} more flows\n", n - 20);
        }
        s
    }
}
