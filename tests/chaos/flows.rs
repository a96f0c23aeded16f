//! Stream flows: one writer and one reader on a TCP connection, a Unix
//! connection (through a listener, or a socketpair) or a pipe, moving a
//! known stretch of the pattern with every write and read method the API
//! has (owned buffers, vectored, `AsyncWrite`/`AsyncRead`, `splice_to`),
//! under timeouts, drops mid-flight and aborts.
//!
//! What may be asserted depends on what was cut:
//! - every byte received must be the stream's next pattern byte (always);
//! - if the reader was not cut it must see EOF, having received at least
//!   every byte the writer saw reported written (`Ok(n)`), and at most
//!   that plus the one write that was in flight when the writer was
//!   aborted or gave up after a dropped (non-cancel-safe) write;
//! - if nothing was cut, exactly the whole stream.

use crate::pipe::{pipe_reader, pipe_writer};
use crate::rng::Rng;
use crate::round::{Level, Round, PLEN};
use crate::sock::{sock_pair, sock_reader, sock_writer, Sock};
use crate::watch::{track, G};
use coring::net::{TcpStream, UnixStream};
use coring::runtime::fd::SharedFd;
use coring::time::sleep;
use std::{cell::RefCell, io, rc::Rc};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Tcp = 0,
    Unix = 1,
    UnixPair = 2,
    Pipe = 3,
}

pub const KINDS: [Kind; 4] = [Kind::Tcp, Kind::Unix, Kind::UnixPair, Kind::Pipe];

pub struct Flow {
    pub id: u64,
    pub kind: Kind,
    pub base: usize,
    pub len: usize,
    pub level: Level,
    pub st: RefCell<FlowState>,
}

#[derive(Default, Debug)]
pub struct FlowState {
    pub started: bool,
    /// Bytes the writer saw reported written.
    pub confirmed: usize,
    /// Size of the write in flight right now (0 for cancel-safe ones).
    pub pending: usize,
    /// Bytes that may or may not have gone out (a cut write).
    pub in_doubt: usize,
    pub writer_done: bool,
    pub writer_cut: bool,
    pub writer_gave_up: bool,
    pub writer_err: Option<String>,
    pub received: usize,
    pub reader_done: bool,
    pub eof: bool,
    pub reader_cut: bool,
    pub reader_err: Option<String>,
    pub mismatch: Option<String>,
    pub writer: Option<usize>,
    pub reader: Option<usize>,
    /// The writer's / reader's future has not been dropped yet.
    pub writer_alive: bool,
    pub reader_alive: bool,
    pub ending: &'static str,
}

/// Marks a side's future alive until it is dropped (finished or aborted).
struct Alive(Rc<Flow>, bool);

impl Alive {
    fn new(f: &Rc<Flow>, writer: bool) -> Alive {
        let mut st = f.st.borrow_mut();
        if writer {
            st.writer_alive = true;
        } else {
            st.reader_alive = true;
        }
        Alive(f.clone(), writer)
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        let mut st = self.0.st.borrow_mut();
        if self.1 {
            st.writer_alive = false;
        } else {
            st.reader_alive = false;
        }
    }
}

/// Spawns one side of `f`, marked alive while its future lives.
pub fn spawn_side(
    r: &Round,
    f: &Rc<Flow>,
    writer: bool,
    fut: impl std::future::Future<Output = ()> + 'static,
) -> usize {
    let alive = Alive::new(f, writer);
    r.spawn(G::FlowTasks, async move {
        let _alive = alive;
        fut.await
    })
}

impl Flow {
    pub fn cut_writer(&self, r: &Round) {
        let mut st = self.st.borrow_mut();
        let Some(w) = st.writer.filter(|_| !st.writer_done && !st.writer_cut) else {
            return;
        };
        st.writer_cut = true;
        st.in_doubt = st.in_doubt.max(st.pending);
        drop(st);
        r.abort(w);
    }

    pub fn cut_reader(&self, r: &Round) {
        let mut st = self.st.borrow_mut();
        let Some(rd) = st.reader.filter(|_| !st.reader_done && !st.reader_cut) else {
            return;
        };
        st.reader_cut = true;
        drop(st);
        r.abort(rd);
    }

    /// Checks the flow after every task ended; returns whether every byte
    /// was delivered (nothing was cut).
    pub fn verify(&self, r: &Round) -> bool {
        let st = self.st.borrow();
        let what = format!(
            "{:?} flow {} ({:?}, len {}, base {}, ending {:?}): {st:?}",
            self.kind, self.id, self.level, self.len, self.base, st.ending
        );
        if let Some(m) = &st.mismatch {
            r.fail(format!("CORRUPTED: {m} — {what}"));
            return false;
        }
        if st.reader_cut {
            return false;
        }
        if let Some(e) = st.reader_err.as_ref().or(st.writer_err.as_ref()) {
            r.fail(format!("unexpected error {e} — {what}"));
            return false;
        }
        if !st.eof {
            r.fail(format!("reader ended without EOF — {what}"));
            return false;
        }
        let (lo, hi) = (st.confirmed, st.confirmed + st.in_doubt);
        if st.received < lo || st.received > hi {
            r.fail(format!(
                "received {} bytes, expected {lo}..={hi} (bytes reported written were lost) — {what}",
                st.received
            ));
            return false;
        }
        if st.writer_cut || st.writer_gave_up {
            return false;
        }
        if st.confirmed != self.len {
            r.fail(format!("writer stopped early — {what}"));
            return false;
        }
        true
    }
}

fn any_len(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..=49 => rng.range(0, 4096) as usize,
        50..=79 => rng.range(4096, 64 << 10) as usize,
        80..=94 => rng.range(64 << 10, 512 << 10) as usize,
        _ => rng.range(512 << 10, 2 << 20) as usize,
    }
}

pub fn chunk_len(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..=29 => rng.range(1, 1024) as usize,
        30..=69 => rng.range(1024, 16 << 10) as usize,
        70..=94 => rng.range(16 << 10, 128 << 10) as usize,
        _ => rng.range(128 << 10, 512 << 10) as usize,
    }
}

pub fn read_cap(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..=9 => rng.range(1, 64) as usize,
        10..=49 => rng.range(64, 4096) as usize,
        _ => rng.range(4096, 64 << 10) as usize,
    }
}

/// A flow from set-up to the end of its optional deliberate cut.
pub async fn flow_task(r: Rc<Round>, kind: Kind, mut rng: Rng) {
    let level = Level::pick(&mut rng);
    let flow = Rc::new(Flow {
        id: r.id(),
        kind,
        base: rng.below(PLEN),
        len: any_len(&mut rng),
        level,
        st: Default::default(),
    });
    r.flows.borrow_mut().push(flow.clone());
    let started = match kind {
        Kind::Tcp => match sock_pair::<TcpStream>(&r, &mut rng, level).await {
            Some((a, b)) => start_sock(&r, &flow, a, b, &mut rng),
            None => false,
        },
        Kind::Unix => match sock_pair::<UnixStream>(&r, &mut rng, level).await {
            Some((a, b)) => start_sock(&r, &flow, a, b, &mut rng),
            None => false,
        },
        Kind::UnixPair => match UnixStream::pair() {
            Ok((a, b)) => start_sock(&r, &flow, a, b, &mut rng),
            Err(e) => {
                r.fail(format!("socketpair: {e}"));
                false
            }
        },
        Kind::Pipe => {
            let (rd, wr) = crate::common::pipe();
            let (rd, wr) = (SharedFd::new(rd), SharedFd::new(wr));
            let rr = spawn_side(
                &r,
                &flow,
                false,
                pipe_reader(r.clone(), flow.clone(), rd, rng.fork()),
            );
            let ww = spawn_side(
                &r,
                &flow,
                true,
                pipe_writer(r.clone(), flow.clone(), wr, rng.fork()),
            );
            let mut st = flow.st.borrow_mut();
            (st.reader, st.writer) = (Some(rr), Some(ww));
            true
        }
    };
    flow.st.borrow_mut().started = started;
    if started && level == Level::Wild && rng.chance(25) {
        track(G::Sleep, sleep(rng.micros(0, 20_000))).await;
        if rng.chance(50) {
            flow.cut_writer(&r);
        } else {
            flow.cut_reader(&r);
        }
    }
}

fn start_sock<S: Sock>(r: &Rc<Round>, flow: &Rc<Flow>, a: S, b: S, rng: &mut Rng) -> bool {
    let (w, rd) = if rng.chance(50) { (a, b) } else { (b, a) };
    // The reader first: it usually arms its receive before data arrives.
    let rr = spawn_side(
        r,
        flow,
        false,
        sock_reader(r.clone(), flow.clone(), rd, rng.fork()),
    );
    let ww = spawn_side(
        r,
        flow,
        true,
        sock_writer(r.clone(), flow.clone(), w, rng.fork()),
    );
    let mut st = flow.st.borrow_mut();
    (st.reader, st.writer) = (Some(rr), Some(ww));
    true
}

/// Outcome of one write: `None` dropped mid-flight.
pub type Wrote = Option<io::Result<usize>>;

/// Applies a write outcome; returns whether to go on.
pub fn wrote(
    r: &Round,
    f: &Flow,
    n: usize,
    res: Wrote,
    cancel_safe: bool,
    pos: &mut usize,
) -> bool {
    let mut st = f.st.borrow_mut();
    st.pending = 0;
    match res {
        None if cancel_safe => {
            r.tally().writes_dropped += 1;
            true
        }
        None => {
            // Some of it may have gone out: the stream's position is
            // unknown from here, so this writer stops.
            r.tally().writes_dropped += 1;
            st.in_doubt = n;
            st.writer_gave_up = true;
            false
        }
        Some(Ok(0)) if n > 0 => {
            st.writer_err = Some(format!("a write of {n} bytes returned 0"));
            false
        }
        Some(Ok(k)) => {
            *pos += k;
            st.confirmed = *pos;
            true
        }
        Some(Err(e)) => {
            // Expected only if the reader was cut; `verify` decides.
            st.writer_err = Some(format!("write at {pos}: {e}"));
            false
        }
    }
}

/// Takes one finished read of flow `f`: end of stream, bytes (checked by
/// [`received`]) or an error named `what`. `false`: the reader is done.
pub fn take_read(r: &Round, f: &Flow, res: std::io::Result<Vec<u8>>, what: &str) -> bool {
    match res {
        Ok(data) if data.is_empty() => {
            f.st.borrow_mut().eof = true;
            false
        }
        Ok(data) => received(r, f, &data),
        Err(e) => {
            let at = f.st.borrow().received;
            f.st.borrow_mut().reader_err = Some(format!("{what} at {at}: {e}"));
            false
        }
    }
}

/// Checks `data` as the flow's next bytes; returns whether to go on.
pub fn received(r: &Round, f: &Flow, data: &[u8]) -> bool {
    let mut st = f.st.borrow_mut();
    if let Some(i) = r.mismatch(f.base, st.received, data) {
        st.mismatch = Some(format!(
            "byte {} of the stream differs ({} byte read at {})",
            st.received + i,
            data.len(),
            st.received
        ));
        return false;
    }
    st.received += data.len();
    r.tally().bytes[f.kind as usize] += data.len() as u64;
    true
}
