//! The project's goals (`GOALS`) and the "Goals in this run" table: each
//! goal names a group, the measurements it covers (by name), the coring
//! contender judged (the baseline unless named) and the peer, and a
//! threshold on their ratio; `goals_text` judges every covered measurement
//! of a run (never a smoke run) and is printed after a run and in the
//! report.

use crate::harness::fmt;
use crate::results::{GroupResult, RunFile};
use std::fmt::Write as _;

/// A goal of the project, checked against a run.
struct Goal {
    group: &'static str,
    text: &'static str,
    /// Measurements whose name contains this.
    pattern: &'static str,
    /// The coring contender judged; `None`: the baseline (the first coring
    /// row).
    subject: Option<&'static str>,
    /// Peer to compare with; `None`: the better of the non-coring peers.
    peer: Option<&'static str>,
    /// coring ÷ peer must be ≥ this (higher is better) or ≤ this (lower).
    threshold: f64,
}

const GOALS: &[Goal] = &[
    Goal {
        group: "ring",
        text: "adaptive NOP storm within 3% of the fixed large ring",
        pattern: "NOP storm",
        subject: None,
        peer: Some("fixed SQ 1024 / CQ 4096"),
        threshold: 1.03,
    },
    Goal {
        group: "ring",
        text: "adaptive 512-connection echo within 3% of the fixed large ring",
        pattern: "echo, 512 connections",
        subject: None,
        peer: Some("fixed SQ 1024 / CQ 4096"),
        threshold: 0.97,
    },
    Goal {
        group: "ring",
        text: "adaptive ring idle holds no more locked memory than the small ring",
        pattern: "memlock bytes once idle",
        subject: None,
        peer: Some("fixed SQ 64 / CQ 128"),
        threshold: 1.0,
    },
    Goal {
        group: "ring",
        text: "a lone busy ring of 8 under 8 MiB grows to CQ 65536 (2× the set-up split)",
        pattern: "CQ entries of a lone busy ring",
        subject: None,
        peer: Some("fixed, budget split at set-up"),
        threshold: 2.0,
    },
    Goal {
        group: "core",
        text: "spawn + join at least as fast as monoio",
        pattern: "spawn + join",
        subject: None,
        peer: Some("monoio (io_uring)"),
        threshold: 1.0,
    },
    Goal {
        group: "core",
        text: "op round trip at least as fast as monoio",
        pattern: "one op round trip",
        subject: None,
        peer: Some("monoio (io_uring)"),
        threshold: 1.0,
    },
    Goal {
        group: "fs",
        text: "random reads ≥ 3× tokio::fs",
        pattern: "random 4 KiB",
        subject: None,
        peer: Some("tokio::fs (seek + read_exact)"),
        threshold: 3.0,
    },
    Goal {
        group: "fs",
        text: "random reads ≥ 0.9× fio (same run)",
        pattern: "random 4 KiB",
        subject: None,
        peer: Some("fio io_uring QD128 batched"),
        threshold: 0.9,
    },
    Goal {
        group: "fs",
        text: "splice (default mode) ≥ 0.9× sendfile",
        pattern: "file → loopback",
        subject: None,
        peer: Some("sendfile(2), thread"),
        threshold: 0.9,
    },
    Goal {
        group: "fs",
        text: "splice (default mode) ≥ 1.5× read/write",
        pattern: "file → loopback",
        subject: None,
        peer: Some("read/write 64 KiB, thread"),
        threshold: 1.5,
    },
    Goal {
        group: "files",
        text: "requests/s ≥ 1.0× nginx (one core)",
        pattern: "requests/s",
        subject: None,
        peer: Some("nginx"),
        threshold: 1.0,
    },
    Goal {
        group: "files",
        text: "p99 no worse than nginx (one core)",
        pattern: "p99 latency",
        subject: None,
        peer: Some("nginx"),
        threshold: 1.0,
    },
    Goal {
        group: "files",
        text: "requests/s ≥ 2× tower-http ServeDir (one core)",
        pattern: "requests/s",
        subject: None,
        peer: Some("axum + tower-http ServeDir"),
        threshold: 2.0,
    },
    Goal {
        group: "hyper",
        text: "requests/s ≥ 1.2× tokio (one core, same hyper/axum service)",
        pattern: "requests/s",
        subject: None,
        peer: Some("tokio current-thread"),
        threshold: 1.2,
    },
    Goal {
        group: "hyper",
        text: "server CPU per request lower than tokio (fixed rate)",
        pattern: "server CPU per request",
        subject: None,
        peer: Some("tokio current-thread"),
        threshold: 1.0,
    },
    Goal {
        group: "net",
        text: "throughput ≥ 1.1× the better peer",
        pattern: "throughput",
        subject: None,
        peer: None,
        threshold: 1.1,
    },
    Goal {
        group: "net",
        text: "server CPU per request ≤ 0.75× the better peer",
        pattern: "server CPU per request",
        subject: None,
        peer: None,
        threshold: 0.75,
    },
    Goal {
        group: "epoll",
        text: "on epoll, throughput ≥ 1.0× tokio current-thread",
        pattern: "throughput",
        subject: Some("coring-epoll"),
        peer: Some("tokio"),
        threshold: 1.0,
    },
    Goal {
        group: "epoll",
        text: "on io_uring, throughput ≥ 1.1× tokio current-thread",
        pattern: "throughput",
        subject: Some("coring"),
        peer: Some("tokio"),
        threshold: 1.1,
    },
    Goal {
        group: "epoll",
        text: "on io_uring, throughput ≥ 1.1× monoio on epoll",
        pattern: "throughput",
        subject: Some("coring"),
        peer: Some("monoio-epoll"),
        threshold: 1.1,
    },
    Goal {
        group: "epoll",
        text: "file_server on epoll: requests/s ≥ 0.9× nginx (one core)",
        pattern: "requests/s",
        subject: Some("coring-epoll"),
        peer: Some("nginx"),
        threshold: 0.9,
    },
];

/// "Goals" as markdown: every goal against every measurement it covers.
pub fn goals_text(run: &RunFile) -> String {
    let mut s = String::from("### Goals in this run\n\n| group | goal | measurement | coring ÷ peer | result |\n|---|---|---|---:|---|\n");
    let mut any = false;
    for goal in GOALS {
        let Some(g) = run.group(goal.group) else {
            continue;
        };
        for m in g
            .measurements
            .iter()
            .filter(|m| m.name.contains(goal.pattern))
        {
            if matches!(goal.group, "net" | "files" | "hyper") && m.name.starts_with("two-core") {
                continue; // the client shares the CPUs there: no goal
            }
            any = true;
            let subject = match goal.subject {
                Some(c) => m.entry(c),
                None => m.baseline(),
            };
            let ratio_to = |p: &str| subject.and_then(|c| m.ratio_of(&c.contender, p));
            let (ratio, peer) = match goal.peer {
                Some(p) => (ratio_to(p), p.to_string()),
                None => {
                    let peers = m
                        .entries
                        .iter()
                        .filter(|e| !e.contender.starts_with("coring") && e.median.is_finite());
                    let bestp = if m.higher_is_better {
                        peers.max_by(|a, b| a.median.total_cmp(&b.median))
                    } else {
                        peers.min_by(|a, b| a.median.total_cmp(&b.median))
                    };
                    match bestp {
                        Some(p) => (ratio_to(&p.contender), p.contender.clone()),
                        None => (None, "peer".into()),
                    }
                }
            };
            let result = match ratio {
                None => "not measured".to_string(),
                Some(_) if run.mode == "smoke" => "smoke run: not judged".to_string(),
                Some(r) => {
                    let met = if m.higher_is_better {
                        r >= goal.threshold
                    } else {
                        r <= goal.threshold
                    };
                    let word = if met { "**met**" } else { "**missed**" };
                    // The ratio's range over the two spreads: if the goal
                    // lies inside it, the median alone decided.
                    let straddles = match (subject, m.entry(&peer)) {
                        (Some(c), Some(p)) if p.min > 0.0 && p.max > 0.0 => {
                            let (lo, hi) = (c.min / p.max, c.max / p.min);
                            lo < goal.threshold && goal.threshold < hi
                        }
                        _ => false,
                    };
                    if straddles {
                        format!("{word} by the median; the spreads straddle the goal")
                    } else {
                        word.to_string()
                    }
                }
            };
            let vs = match goal.subject {
                Some(c) => format!("{c} vs {peer}"),
                None => format!("vs {peer}"),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} ({vs}) | {result} |",
                goal.group,
                goal.text,
                m.name,
                ratio.map_or("–".into(), |r| format!("{r:.2}"))
            );
        }
    }
    let p99 = |g: &GroupResult| -> Vec<(String, f64)> {
        g.measurements
            .iter()
            .filter(|m| m.name.contains("p99"))
            .flat_map(|m| {
                m.entries
                    .iter()
                    .filter(|e| e.contender.starts_with("coring"))
                    .map(move |e| (format!("{} — {}", m.name, e.contender), e.median))
            })
            .collect()
    };
    if let Some(g) = run.group("idle") {
        for (what, v) in p99(g) {
            any = true;
            let result = if run.mode == "smoke" {
                "smoke run: not judged"
            } else if v < 10.0 {
                "**met**"
            } else {
                "**missed**"
            };
            let _ = writeln!(
                s,
                "| idle | new connection p99 under 10 ms | {what} | {} ms | {result} |",
                fmt(v)
            );
        }
    }
    if !any {
        s.push_str("| – | no group with a goal ran | | | |\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::render;

    /// A full run of `command` holding one group.
    fn run_of(g: GroupResult, command: &str) -> RunFile {
        RunFile {
            schema: crate::results::SCHEMA,
            date: "2026-12-01T00:00:00Z".into(),
            commit: "abc1234".into(),
            dirty: false,
            mode: "full".into(),
            command: command.into(),
            machine: Default::default(),
            groups: vec![g],
            seconds: 1.0,
        }
    }
    #[test]
    fn goals_are_judged_from_the_same_run() {
        let mut g = GroupResult::new("fs", "Files");
        for (c, v) in [("coring", 400.0), ("tokio::fs (seek + read_exact)", 100.0)] {
            for _ in 0..3 {
                g.add(
                    "random 4 KiB reads, 128 tasks in flight",
                    "kIOPS",
                    true,
                    c,
                    v,
                );
            }
        }
        let run = run_of(g, "coring-bench fs");
        let text = goals_text(&run);
        assert!(text.contains("| fs | random reads ≥ 3× tokio::fs |"));
        assert!(text.contains("4.00 (vs tokio::fs (seek + read_exact)) | **met**"));
        // fio did not run: not measured, not missed.
        assert!(text.contains("not measured"));
        let md = render(&run, &[]);
        assert!(md.contains("| random 4 KiB reads, 128 tasks in flight (kIOPS) | coring | 400 |"));
    }

    #[test]
    fn a_goal_judges_its_own_coring_contender() {
        let mut g = GroupResult::new("epoll", "epoll");
        let m = "echo 64×128 B: throughput";
        for (c, v) in [("coring-epoll", 90.0), ("tokio", 100.0), ("coring", 120.0)] {
            g.add(m, "req/s", true, c, v);
        }
        let run = run_of(g, "coring-bench epoll");
        let text = goals_text(&run);
        // The baseline (coring-epoll) and the io_uring row, each on its own.
        assert!(
            text.contains("0.90 (coring-epoll vs tokio) | **missed**"),
            "{text}"
        );
        assert!(text.contains("1.20 (coring vs tokio) | **met**"), "{text}");
        // monoio-epoll did not run.
        assert!(
            text.contains("– (coring vs monoio-epoll) | not measured"),
            "{text}"
        );
    }
}
