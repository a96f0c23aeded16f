//! TCP and Unix stream sockets in flows: one trait over both, the
//! round's acceptors (multishot accept) and the hand-over of accepted
//! streams to their connectors, and the socket writer and reader with
//! every method the API offers.

use crate::flows::{chunk_len, read_cap, take_read, wrote, Flow, Wrote};
use crate::rng::Rng;
use crate::round::{chaos, pick_cut, Level, Round, PLEN};
use crate::watch::{track, G};
use coring::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use coring::time::sleep;
use futures::{channel::oneshot, AsyncReadExt, AsyncWriteExt, StreamExt};
use std::{cell::RefCell, collections::HashMap, io, net::Shutdown, os::fd::AsRawFd, rc::Rc};

/// The stream sockets, seen alike.
pub(crate) trait Sock:
    futures::AsyncRead + futures::AsyncWrite + AsRawFd + Unpin + Sized + 'static
{
    const READ: G;
    const WRITE: G;
    const CONNECT: G;
    fn pending(r: &Round) -> &RefCell<HashMap<u64, oneshot::Sender<Self>>>;
    async fn connect_to(r: &Round) -> io::Result<Self>;
    async fn o_write(&mut self, b: Vec<u8>) -> (io::Result<usize>, Vec<u8>);
    async fn o_write_all(&mut self, b: Vec<u8>) -> (io::Result<()>, Vec<u8>);
    async fn o_writev(&mut self, b: Vec<Vec<u8>>) -> (io::Result<usize>, Vec<Vec<u8>>);
    async fn o_read(&mut self, b: Vec<u8>) -> (io::Result<usize>, Vec<u8>);
    async fn o_readv(&mut self, b: Vec<Vec<u8>>) -> (io::Result<usize>, Vec<Vec<u8>>);
    async fn o_read_exact(&mut self, b: Vec<u8>) -> (io::Result<()>, Vec<u8>);
    async fn o_shutdown(&mut self) -> io::Result<()>;
}

macro_rules! impl_sock {
    ($t:ty, $r:ident, $w:ident, $c:ident, $pending:ident, |$round:ident| $connect:expr) => {
        impl Sock for $t {
            const READ: G = G::$r;
            const WRITE: G = G::$w;
            const CONNECT: G = G::$c;
            fn pending(r: &Round) -> &RefCell<HashMap<u64, oneshot::Sender<Self>>> {
                &r.$pending
            }
            async fn connect_to($round: &Round) -> io::Result<Self> {
                $connect.await
            }
            async fn o_write(&mut self, b: Vec<u8>) -> (io::Result<usize>, Vec<u8>) {
                coring::io::OwnedWrite::write(self, b).await
            }
            async fn o_write_all(&mut self, b: Vec<u8>) -> (io::Result<()>, Vec<u8>) {
                coring::io::OwnedWrite::write_all(self, b).await
            }
            async fn o_writev(&mut self, b: Vec<Vec<u8>>) -> (io::Result<usize>, Vec<Vec<u8>>) {
                coring::io::OwnedWrite::writev(self, b).await
            }
            async fn o_read(&mut self, b: Vec<u8>) -> (io::Result<usize>, Vec<u8>) {
                coring::io::OwnedRead::read(self, b).await
            }
            async fn o_readv(&mut self, b: Vec<Vec<u8>>) -> (io::Result<usize>, Vec<Vec<u8>>) {
                coring::io::OwnedRead::readv(self, b).await
            }
            async fn o_read_exact(&mut self, b: Vec<u8>) -> (io::Result<()>, Vec<u8>) {
                coring::io::OwnedRead::read_exact(self, b).await
            }
            async fn o_shutdown(&mut self) -> io::Result<()> {
                self.shutdown(Shutdown::Write).await
            }
        }
    };
}

impl_sock!(TcpStream, TcpRead, TcpWrite, TcpConnect, tcp_pending, |r| {
    TcpStream::connect(r.tcp_addr)
});
impl_sock!(
    UnixStream,
    UnixRead,
    UnixWrite,
    UnixConnect,
    unix_pending,
    |r| UnixStream::connect(&r.unix_path)
);

/// Accepts TCP connections for the round (one multishot accept).
pub async fn tcp_acceptor(r: Rc<Round>, l: TcpListener) {
    let mut incoming = l.incoming();
    while let Some(res) = incoming.next().await {
        match res {
            Ok(c) => drop(r.spawn(G::FlowTasks, handover(r.clone(), c))),
            Err(e) => return r.fail(format!("tcp accept failed: {e}")),
        }
    }
}

pub async fn unix_acceptor(r: Rc<Round>, l: UnixListener) {
    let mut incoming = l.incoming();
    while let Some(res) = incoming.next().await {
        match res {
            Ok(c) => drop(r.spawn(G::FlowTasks, handover(r.clone(), c))),
            Err(e) => return r.fail(format!("unix accept failed: {e}")),
        }
    }
}

/// Reads the connector's id and hands the accepted stream to it.
async fn handover<S: Sock>(r: Rc<Round>, mut s: S) {
    let (res, id) = track(G::Handover, s.o_read_exact(vec![0u8; 8])).await;
    // An error: the connector's connect was cut short and it went away.
    if res.is_ok() {
        let id = u64::from_le_bytes(id[..8].try_into().unwrap());
        if let Some(tx) = S::pending(&r).borrow_mut().remove(&id) {
            let _ = tx.send(s);
        }
    }
}

/// A connected pair through the round's listener: (connector, accepted).
/// `None` if the connect was cut short by chaos.
pub async fn sock_pair<S: Sock>(r: &Round, rng: &mut Rng, level: Level) -> Option<(S, S)> {
    let id = r.id();
    let (tx, rx) = oneshot::channel();
    S::pending(r).borrow_mut().insert(id, tx);
    let cut = if level == Level::Wild {
        pick_cut(rng, level)
    } else {
        None
    };
    let c = match chaos(cut, track(S::CONNECT, S::connect_to(r))).await {
        Some(Ok(c)) => Some(c),
        Some(Err(e)) => {
            r.fail(format!("connect failed: {e}"));
            None
        }
        None => None,
    };
    let Some(mut c) = c else {
        S::pending(r).borrow_mut().remove(&id);
        return None;
    };
    let (res, _) = track(S::WRITE, c.o_write_all(id.to_le_bytes().to_vec())).await;
    if let Err(e) = res {
        r.fail(format!("writing the connection id failed: {e}"));
        return None;
    }
    match track(G::Handover, rx).await {
        Ok(s) => Some((c, s)),
        Err(_) => {
            r.fail(format!(
                "connection {id} was never handed over by the acceptor"
            ));
            None
        }
    }
}

pub async fn sock_writer<S: Sock>(r: Rc<Round>, f: Rc<Flow>, mut s: S, mut rng: Rng) {
    if f.level != Level::Calm && rng.chance(10) {
        track(G::Sleep, sleep(rng.micros(0, 3000))).await;
    }
    let mut pos = 0;
    while pos < f.len {
        let n = chunk_len(&mut rng).min(f.len - pos);
        let data = r.pattern_at(f.base, pos, n);
        let cut = pick_cut(&mut rng, f.level);
        let method = rng.below(10);
        f.st.borrow_mut().pending = if method == 6 || method == 7 { 0 } else { n };
        let (res, cancel_safe): (Wrote, bool) = match method {
            0..=2 => (
                chaos(cut, track(S::WRITE, s.o_write(data)))
                    .await
                    .map(|r| r.0),
                false,
            ),
            3 | 4 => {
                let res = chaos(cut, track(S::WRITE, s.o_write_all(data))).await;
                (res.map(|r| r.0.map(|()| n)), false)
            }
            5 => {
                let mid = rng.below(n + 1);
                let bufs = vec![data[..mid].to_vec(), data[mid..].to_vec()];
                (
                    chaos(cut, track(S::WRITE, s.o_writev(bufs)))
                        .await
                        .map(|r| r.0),
                    false,
                )
            }
            6 | 7 => {
                // AsyncWrite: write-behind, and cancel-safe by design.
                r.tally().poll_writes += 1;
                (chaos(cut, track(S::WRITE, s.write(&data))).await, true)
            }
            _ => {
                // Bytes queued by AsyncWrite must go out before a splice
                // bypasses the stream's send state.
                if chaos(cut, track(G::Flush, s.flush())).await.is_none() {
                    r.tally().writes_dropped += 1;
                    continue;
                }
                let off = (f.base + pos) % PLEN;
                let len = n.min(PLEN - off) as u64;
                f.st.borrow_mut().pending = len as usize;
                let cut = pick_cut(&mut rng, f.level);
                let splice = coring::fs::splice_to(&r.pattern_file, off as u64, len, &s);
                let res = chaos(cut, track(G::Splice, splice)).await;
                if let Some(Ok(_)) = res {
                    r.tally().splices += 1;
                }
                (res.map(|r| r.map(|k| k as usize)), false)
            }
        };
        if !wrote(&r, &f, n, res, cancel_safe, &mut pos) {
            break;
        }
        if f.level != Level::Calm && rng.chance(4) {
            track(G::Sleep, sleep(rng.micros(0, 2000))).await;
        }
    }
    let clean = {
        let st = f.st.borrow();
        st.writer_err.is_none() && !st.writer_gave_up
    };
    let ending = if !clean {
        "dropped after a failed or cut write"
    } else {
        match rng.below(3) {
            0 => {
                if let Err(e) = track(G::Shutdown, s.o_shutdown()).await {
                    f.st.borrow_mut().writer_err = Some(format!("shutdown: {e}"));
                }
                "shutdown(Write), then dropped"
            }
            1 => {
                if let Err(e) = track(G::Flush, s.flush()).await {
                    f.st.borrow_mut().writer_err = Some(format!("flush: {e}"));
                }
                "flushed, then dropped"
            }
            _ => "dropped at once (write-behind must still deliver)",
        }
    };
    drop(s);
    let mut st = f.st.borrow_mut();
    st.ending = ending;
    st.writer_done = true;
}

pub async fn sock_reader<S: Sock>(r: Rc<Round>, f: Rc<Flow>, mut s: S, mut rng: Rng) {
    if f.level == Level::Wild && rng.chance(10) {
        track(G::Sleep, sleep(rng.micros(0, 5000))).await;
    }
    loop {
        let cap = read_cap(&mut rng);
        // Every read method is cancel-safe: a dropped read loses nothing.
        let cut = pick_cut(&mut rng, f.level);
        let res = match rng.below(4) {
            0 | 1 => chaos(cut, track(S::READ, s.o_read(Vec::with_capacity(cap))))
                .await
                .map(|(res, buf)| res.map(|_| buf)),
            2 => {
                let bufs = vec![Vec::with_capacity(cap / 2 + 1), Vec::with_capacity(cap)];
                chaos(cut, track(S::READ, s.o_readv(bufs)))
                    .await
                    .map(|(res, bufs)| res.map(|_| bufs.concat()))
            }
            _ => {
                let mut buf = vec![0u8; cap];
                chaos(cut, track(S::READ, s.read(&mut buf)))
                    .await
                    .map(|res| res.map(|n| buf[..n].to_vec()))
            }
        };
        match res {
            None => r.tally().reads_dropped += 1,
            Some(res) => {
                if !take_read(&r, &f, res, "read") {
                    break;
                }
            }
        }
        if f.level != Level::Calm && rng.chance(3) {
            track(G::Sleep, sleep(rng.micros(0, 2000))).await;
        }
    }
    f.st.borrow_mut().reader_done = true;
}
