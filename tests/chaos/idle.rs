//! Idle waiters: ops that wait indefinitely — pipe reads nobody writes to,
//! reads on connections that stay silent, accepts nobody connects to —
//! alongside the active traffic, as a server with many idle clients has.
//! They are released (written to, connected to) only after the active
//! traffic of the round finished, and each must then complete with what
//! was sent. On a ring whose op budget they exhaust, the active traffic
//! cannot run.

use crate::round::{Level, Round};
use crate::sock::sock_pair;
use crate::watch::{track, G};
use coring::io::{OwnedRead, OwnedWrite};
use coring::net::{TcpListener, TcpStream};
use coring::runtime::{
    fd::SharedFd,
    op::{Op, Read},
};
use std::{cell::RefCell, io::Write as _, net::SocketAddr, rc::Rc};

#[derive(Default)]
pub struct Idle {
    /// Write ends of idle pipes, with the byte each reader expects.
    pipes: RefCell<Vec<(std::fs::File, u8)>>,
    /// The silent ends of idle connections.
    tcp: RefCell<Vec<(TcpStream, u8)>>,
    accepts: RefCell<Vec<SocketAddr>>,
    tasks: RefCell<Vec<usize>>,
    pub spawned: std::cell::Cell<u64>,
}

/// Starts one idle waiter of a kind picked by `n` (mostly pipe reads).
pub fn spawn_one(r: &Rc<Round>, n: usize) {
    let tag = (n % 251) as u8;
    let idx = match n % 8 {
        0 => r.spawn(G::IdleTasks, idle_tcp(r.clone(), tag)),
        1 if n % 3 == 0 => r.spawn(G::IdleTasks, idle_accept(r.clone())),
        _ => {
            let (rd, wr) = crate::common::pipe();
            r.idle
                .pipes
                .borrow_mut()
                .push((std::fs::File::from(wr), tag));
            r.spawn(G::IdleTasks, idle_pipe(r.clone(), SharedFd::new(rd), tag))
        }
    };
    r.idle.tasks.borrow_mut().push(idx);
    r.idle.spawned.set(r.idle.spawned.get() + 1);
}

/// Aborts a random idle waiter (a long-waiting op cancelled).
pub fn abort_one(r: &Round) {
    let idx = {
        let tasks = r.idle.tasks.borrow();
        if tasks.is_empty() {
            return;
        }
        tasks[r.rng.borrow_mut().below(tasks.len())]
    };
    if r.abort(idx) {
        r.tally().idle_aborted += 1;
    }
}

fn released(r: &Round) {
    r.tally().idle_released += 1;
}

async fn idle_pipe(r: Rc<Round>, fd: SharedFd, tag: u8) {
    let op = Op::new(Read::new(&fd, Vec::with_capacity(8), u64::MAX));
    match track(G::IdlePipeRead, op).await {
        (Ok(1), buf) if buf[0] == tag => released(&r),
        (res, buf) => r.fail(format!("idle pipe read: {res:?} {buf:?}, wanted [{tag}]")),
    }
}

async fn idle_tcp(r: Rc<Round>, tag: u8) {
    let mut rng = r.fork_rng();
    let Some((a, mut b)) = sock_pair::<TcpStream>(&r, &mut rng, Level::Calm).await else {
        return r.fail("idle tcp: could not connect".into());
    };
    r.idle.tcp.borrow_mut().push((a, tag));
    match track(G::IdleTcpRead, b.read(Vec::with_capacity(8))).await {
        (Ok(1), buf) if buf[0] == tag => released(&r),
        (res, buf) => r.fail(format!("idle tcp read: {res:?} {buf:?}, wanted [{tag}]")),
    }
}

async fn idle_accept(r: Rc<Round>) {
    let l = match TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => return r.fail(format!("idle listener: {e}")),
    };
    r.idle.accepts.borrow_mut().push(l.local_addr().unwrap());
    match track(G::IdleAccept, l.accept()).await {
        Ok(_) => released(&r),
        Err(e) => r.fail(format!("idle accept: {e}")),
    }
}

/// Wakes every idle waiter; returns what must stay alive until they have
/// all finished (the connecting ends).
pub async fn release(r: &Round) -> Vec<std::net::TcpStream> {
    for (w, tag) in r.idle.pipes.borrow_mut().iter_mut() {
        // EPIPE if the reader was aborted (its read end is closed).
        let _ = w.write_all(&[*tag]);
    }
    let tcp: Vec<_> = r.idle.tcp.borrow_mut().drain(..).collect();
    for (mut s, tag) in tcp {
        // An error is possible only if the reading side was aborted.
        let _ = track(G::TcpWrite, s.write_all(vec![tag])).await;
    }
    // A listener whose accept was aborted is gone: its connect fails.
    let addrs = r.idle.accepts.borrow().clone();
    addrs
        .iter()
        .filter_map(|a| std::net::TcpStream::connect(a).ok())
        .collect()
}

/// Drops the pipes' write ends (after their readers finished).
pub fn clear(r: &Round) {
    r.idle.pipes.borrow_mut().clear();
}
