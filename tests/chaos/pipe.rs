//! Pipes in flows: raw read/write/writev ops and `splice_to` on the two
//! ends of a pipe. A dropped pipe read may have consumed bytes, so only a
//! poll before the read may be cut short without cutting the flow.

use crate::flows::{chunk_len, read_cap, take_read, wrote, Flow, Wrote};
use crate::rng::Rng;
use crate::round::{chaos, pick_cut, Level, Round, PLEN};
use crate::watch::{track, G};
use coring::runtime::{
    fd::SharedFd,
    op::{Op, PollAdd, Read, Write, Writev},
};
use coring::time::sleep;
use std::rc::Rc;

pub async fn pipe_writer(r: Rc<Round>, f: Rc<Flow>, fd: SharedFd, mut rng: Rng) {
    let mut pos = 0;
    while pos < f.len {
        let n = chunk_len(&mut rng).min(f.len - pos);
        let cut = pick_cut(&mut rng, f.level);
        f.st.borrow_mut().pending = n;
        let res: Wrote = match rng.below(10) {
            0..=5 => {
                let data = r.pattern_at(f.base, pos, n);
                let op = Op::new(Write::new(&fd, data, u64::MAX));
                chaos(cut, track(G::PipeWrite, op)).await.map(|r| r.0)
            }
            6 => {
                let data = r.pattern_at(f.base, pos, n);
                let mid = rng.below(n + 1);
                let bufs = vec![data[..mid].to_vec(), data[mid..].to_vec()];
                let op = Op::new(Writev::new(&fd, bufs, u64::MAX));
                chaos(cut, track(G::PipeWrite, op)).await.map(|r| r.0)
            }
            _ => {
                let off = (f.base + pos) % PLEN;
                let len = n.min(PLEN - off) as u64;
                f.st.borrow_mut().pending = len as usize;
                let splice = coring::fs::splice_to(&r.pattern_file, off as u64, len, &fd);
                let res = chaos(cut, track(G::Splice, splice)).await;
                if let Some(Ok(_)) = res {
                    r.tally().splices += 1;
                }
                res.map(|r| r.map(|k| k as usize))
            }
        };
        if !wrote(&r, &f, n, res, false, &mut pos) {
            break;
        }
        if f.level != Level::Calm && rng.chance(4) {
            track(G::Sleep, sleep(rng.micros(0, 2000))).await;
        }
    }
    let ending = if rng.chance(50) {
        if let Err(e) = track(G::PipeWrite, fd.close()).await {
            f.st.borrow_mut().writer_err = Some(format!("close: {e}"));
        }
        "closed with close().await"
    } else {
        drop(fd);
        "dropped"
    };
    let mut st = f.st.borrow_mut();
    st.ending = ending;
    st.writer_done = true;
}

pub async fn pipe_reader(r: Rc<Round>, f: Rc<Flow>, fd: SharedFd, mut rng: Rng) {
    loop {
        let cap = read_cap(&mut rng);
        let cut = pick_cut(&mut rng, f.level);
        let res = if rng.chance(40) {
            // Poll first (cancel-safe: consumes nothing), then read what
            // is there.
            match chaos(
                cut,
                track(G::PipePoll, Op::new(PollAdd::new(&fd, libc::POLLIN as u32))),
            )
            .await
            {
                None => {
                    r.tally().reads_dropped += 1;
                    continue;
                }
                Some(Err(e)) => Some(Err(e)),
                Some(Ok(_)) => {
                    let op = Op::new(Read::new(&fd, Vec::with_capacity(cap), u64::MAX));
                    let (res, buf) = track(G::PipeRead, op).await;
                    Some(res.map(|_| buf))
                }
            }
        } else {
            let op = Op::new(Read::new(&fd, Vec::with_capacity(cap), u64::MAX));
            chaos(cut, track(G::PipeRead, op))
                .await
                .map(|(res, buf)| res.map(|_| buf))
        };
        match res {
            None => {
                // A dropped pipe read may have consumed bytes: this reader
                // can no longer tell where the stream is, so it is cut.
                r.tally().reads_dropped += 1;
                f.st.borrow_mut().reader_cut = true;
                break;
            }
            Some(res) => {
                if !take_read(&r, &f, res, "pipe read") {
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
