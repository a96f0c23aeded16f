//! The other op families under chaos: UDP datagrams (each checked whole),
//! file blocks written and read back at offsets, timers and kernel
//! timeouts (never early), NOPs.

use crate::rng::Rng;
use crate::round::{chaos, pick_cut, Level, Round, PLEN};
use crate::watch::{track, G};
use coring::fs::File;
use coring::net::UdpSocket;
use coring::runtime::op::{Nop, Op, Timeout};
use coring::time::{interval, sleep, timeout};
use std::{cell::Cell, rc::Rc, time::Instant};

const HDR: usize = 16;
const END: u32 = u32::MAX;

fn datagram(r: &Round, id: u64, seq: u32, len: usize) -> Vec<u8> {
    let mut d = Vec::with_capacity(HDR + len);
    d.extend_from_slice(&id.to_le_bytes());
    d.extend_from_slice(&seq.to_le_bytes());
    d.extend_from_slice(&(len as u32).to_le_bytes());
    let base = (id as usize)
        .wrapping_mul(7919)
        .wrapping_add(seq as usize * 131)
        % PLEN;
    d.extend_from_slice(&r.pattern_at(base, 0, len));
    d
}

/// A pair of connected UDP sockets: up to 32 datagrams one way, then an
/// end marker repeated until the receiver saw it. Every datagram received
/// must be one that was sent, whole and once; none may go missing other
/// than to a receive that was dropped mid-flight (loopback, small volume).
pub async fn udp_task(r: Rc<Round>, mut rng: Rng) {
    let level = Level::pick(&mut rng);
    let (a, b) = match (
        UdpSocket::bind("127.0.0.1:0").await,
        UdpSocket::bind("127.0.0.1:0").await,
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => return r.fail(format!("udp bind: {:?} {:?}", a.err(), b.err())),
    };
    if let Err(e) = a.connect(b.local_addr().unwrap()).await {
        return r.fail(format!("udp connect: {e}"));
    }
    if let Err(e) = b.connect(a.local_addr().unwrap()).await {
        return r.fail(format!("udp connect: {e}"));
    }
    let id = r.id();
    let k = rng.range(1, 33) as u32;
    let (sent_ok, sent_maybe, done) = (Cell::new(0u32), Cell::new(0u32), Cell::new(false));
    let mut srng = rng.fork();
    let sender = async {
        for seq in 0..k {
            let d = datagram(&r, id, seq, srng.range(0, 1200) as usize);
            let want = d.len();
            match chaos(pick_cut(&mut srng, level), track(G::UdpSend, a.send(d))).await {
                None => sent_maybe.set(sent_maybe.get() + 1),
                Some((Ok(n), _)) if n == want => sent_ok.set(sent_ok.get() + 1),
                Some((res, _)) => r.fail(format!("udp send of {want} bytes: {res:?}")),
            }
            if srng.chance(10) {
                track(G::Sleep, sleep(srng.micros(0, 1000))).await;
            }
        }
        while !done.get() {
            let (res, _) = track(G::UdpSend, a.send(datagram(&r, id, END, 0))).await;
            if let Err(e) = res {
                return r.fail(format!("udp send of the end marker: {e}"));
            }
            track(G::Sleep, sleep(std::time::Duration::from_millis(3))).await;
        }
    };
    let receiver = async {
        let (mut seen, mut got, mut dropped) = (vec![false; k as usize], 0u32, 0u32);
        loop {
            let cut = pick_cut(&mut rng, level);
            let (n, buf) =
                match chaos(cut, track(G::UdpRecv, b.recv(Vec::with_capacity(2048)))).await {
                    None => {
                        dropped += 1;
                        r.tally().reads_dropped += 1;
                        continue;
                    }
                    Some((Ok(n), buf)) => (n, buf),
                    Some((Err(e), _)) => {
                        r.fail(format!("udp recv: {e}"));
                        break;
                    }
                };
            let word = |at: usize| u32::from_le_bytes(buf[at..at + 4].try_into().unwrap());
            let seq = if n >= HDR { word(8) } else { 0 };
            let ok = n >= HDR && u64::from_le_bytes(buf[..8].try_into().unwrap()) == id && {
                let len = word(12) as usize;
                n == HDR + len && buf[..n] == datagram(&r, id, seq, len)[..]
            };
            if !ok {
                r.fail(format!("CORRUPTED udp datagram of {n} bytes on pair {id}"));
                break;
            }
            if seq == END {
                break;
            }
            if seq >= k || seen[seq as usize] {
                r.fail(format!(
                    "udp datagram {seq} of pair {id} unexpected or duplicated"
                ));
                break;
            }
            seen[seq as usize] = true;
            got += 1;
            r.tally().udp_datagrams += 1;
        }
        done.set(true);
        (got, dropped)
    };
    let ((), (got, dropped)) = futures::join!(sender, receiver);
    if got > sent_ok.get() + sent_maybe.get() || got + dropped < sent_ok.get() {
        r.fail(format!(
            "udp pair {id}: received {got} of {} sent ({} maybe sent, {dropped} receives dropped)",
            sent_ok.get(),
            sent_maybe.get()
        ));
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Block {
    Unwritten,
    /// Holds the pattern from this offset.
    Holds(usize),
    /// A write to it was dropped mid-flight and may still land: its
    /// contents are unknown for the rest of the task.
    Poisoned,
}

/// A file of 16 blocks: random writes and read-backs at block offsets,
/// syncs and statx; each read of a block must return what the last
/// completed write put there.
pub async fn file_task(r: Rc<Round>, mut rng: Rng) {
    let level = Level::pick(&mut rng);
    let path = r.dir.join(format!("file-{}", r.id()));
    let mut opts = File::options();
    opts.read(true).write(true).create(true).truncate(true);
    let file = match track(G::FileOpen, opts.open(&path)).await {
        Ok(f) => f,
        Err(e) => return r.fail(format!("open {}: {e}", path.display())),
    };
    let bs = [512usize, 4096, 12_288][rng.below(3)];
    let mut blocks = [Block::Unwritten; 16];
    for _ in 0..rng.range(4, 40) {
        let i = rng.below(blocks.len());
        let cut = pick_cut(&mut rng, level);
        let at = (i * bs) as u64;
        match rng.below(10) {
            0..=4 if blocks[i] != Block::Poisoned => {
                let from = rng.below(PLEN);
                let data = r.pattern_at(from, 0, bs);
                match chaos(cut, track(G::FileWrite, file.write_all_at(data, at))).await {
                    Some((Ok(()), _)) => blocks[i] = Block::Holds(from),
                    Some((Err(e), _)) => return r.fail(format!("file write: {e}")),
                    None => {
                        r.tally().writes_dropped += 1;
                        blocks[i] = Block::Poisoned;
                    }
                }
            }
            5..=8 => {
                let Block::Holds(from) = blocks[i] else {
                    continue;
                };
                let read = file.read_exact_at(Vec::with_capacity(bs), at);
                match chaos(cut, track(G::FileRead, read)).await {
                    Some((Ok(()), buf)) if r.mismatch(from, 0, &buf).is_none() => {
                        r.tally().file_blocks += 1;
                    }
                    Some((Ok(()), _)) => {
                        return r.fail(format!("CORRUPTED file block {i} of {}", path.display()))
                    }
                    Some((Err(e), _)) => return r.fail(format!("file read: {e}")),
                    None => r.tally().reads_dropped += 1,
                }
            }
            _ => {
                let end = blocks
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| matches!(b, Block::Holds(_)))
                    .map(|(i, _)| (i + 1) * bs)
                    .max();
                if rng.chance(50) {
                    if let Some(Err(e)) = chaos(cut, track(G::FileSync, file.sync_data())).await {
                        return r.fail(format!("sync_data: {e}"));
                    }
                } else {
                    match chaos(cut, track(G::FileSync, file.metadata())).await {
                        Some(Ok(m)) if m.len() >= end.unwrap_or(0) as u64 => {}
                        Some(m) => return r.fail(format!("statx: {m:?}, blocks end at {end:?}")),
                        None => {}
                    }
                }
            }
        }
    }
    if rng.chance(50) {
        if let Err(e) = track(G::FileClose, file.close()).await {
            r.fail(format!("close: {e}"));
        }
    } else {
        drop(file);
    }
    if let Err(e) = track(G::FileClose, coring::fs::remove_file(&path)).await {
        r.fail(format!("remove_file: {e}"));
    }
}

/// One timer, kernel timeout or NOP, under chaos; none may fire early.
pub async fn timer_task(r: Rc<Round>, mut rng: Rng) {
    let level = Level::pick(&mut rng);
    let cut = pick_cut(&mut rng, level);
    let (d1, d2) = (rng.micros(0, 3000), rng.micros(0, 3000));
    let t = Instant::now();
    let early = match rng.below(6) {
        0 => {
            track(G::Sleep, sleep(d1)).await;
            (t.elapsed() < d1).then(|| format!("sleep({d1:?}) woke after {:?}", t.elapsed()))
        }
        1 => match track(G::Sleep, timeout(d1, sleep(d2))).await {
            Ok(()) => (t.elapsed() < d2).then(|| format!("sleep({d2:?}) under timeout woke early")),
            Err(_) => (t.elapsed() < d1).then(|| format!("timeout({d1:?}) fired early")),
        },
        2 => match chaos(cut, track(G::KernelTimeout, Op::new(Timeout::new(d1)))).await {
            Some(Ok(())) => {
                (t.elapsed() < d1).then(|| format!("kernel timeout {d1:?} fired early"))
            }
            Some(Err(e)) => Some(format!("kernel timeout failed: {e}")),
            None => None,
        },
        3 => {
            let p = rng.micros(100, 1000);
            let mut iv = interval(p);
            for _ in 0..3 {
                track(G::Sleep, iv.tick()).await;
            }
            (t.elapsed() < 2 * p)
                .then(|| format!("3 ticks of interval({p:?}) took {:?}", t.elapsed()))
        }
        _ => match chaos(cut, track(G::Nop, Op::new(Nop))).await {
            Some(Err(e)) => Some(format!("nop failed: {e}")),
            _ => None,
        },
    };
    match early {
        Some(msg) => r.fail(msg),
        None => r.tally().timer_checks += 1,
    }
}
