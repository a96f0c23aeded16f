//! coring-bench: every benchmark of coring against its peers, one command.
//!
//! ```text
//! cargo run --release -p coring-bench -- all               # every group, full rounds
//! cargo run --release -p coring-bench -- quick             # every group, short (< 3 min)
//! cargo run --release -p coring-bench -- net fs [--quick]  # some groups
//! cargo run --release -p coring-bench -- all --smoke       # every group for ~1 s (CI)
//! cargo run -p coring-bench -- report bench/results/<file>.json [--out PATH]
//! ```
//!
//! Each run writes `bench/results/<date>-<time>-<commit>-<mode>.json`
//! (see `results.rs`); `report` turns one into BENCHMARKS.md's generated
//! section (see `report.rs`; the goals it judges are in `goals.rs`).
//! `serve` is the peer servers the `net`, `files`, `hyper` and `epoll`
//! groups start (`servers.rs`).

mod goals;
mod groups;
mod harness;
mod report;
mod results;
mod servers;
mod svg;

use harness::{Ctx, Mode};
use results::{RunFile, SCHEMA};
use std::{io, path::PathBuf, time::Instant};

const USAGE: &str = "usage:
  coring-bench <group>...|all|quick [--quick|--smoke] [--out-dir DIR]
      groups: core ring cores fs net idle files hyper epoll (planned: http)
      all: every group, full rounds; quick: every group, short rounds (< 3 min);
      --smoke: every selected group for about a second (checks the harness, measures nothing)
  coring-bench report <results.json> [--out PATH]
      regenerates the generated section of BENCHMARKS.md (or PATH) from a results file
  coring-bench serve --server coring|monoio|tokio|... --mode echo|http --port N [--threads N]
      one of the net group's servers
  coring-bench serve axum-files --dir DIR --port N [--threads N]
      the files group's axum + tower-http ServeDir server";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let res = match args.first().map(String::as_str) {
        None | Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some("serve") => servers::main(&args[1..]),
        Some("report") => report::main(&args[1..]),
        // The `ring` group's child under an 8 MiB memlock limit.
        Some("ring-eight-child") => groups::ring::eight_child(&args[1..]),
        Some(_) => bench(&args),
    };
    if let Err(e) = res {
        eprintln!("coring-bench: {e}");
        std::process::exit(1);
    }
}

fn bench(args: &[String]) -> io::Result<()> {
    let mut mode = Mode::Full;
    let mut names: Vec<String> = Vec::new();
    let mut out_dir: Option<PathBuf> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--smoke" => mode = Mode::Smoke,
            "--quick" => {
                mode = if mode == Mode::Smoke {
                    mode
                } else {
                    Mode::Quick
                }
            }
            "--out-dir" => out_dir = it.next().map(PathBuf::from),
            "all" => names.extend(groups::GROUPS.iter().map(|s| s.to_string())),
            "quick" => {
                if mode != Mode::Smoke {
                    mode = Mode::Quick;
                }
                names.extend(groups::GROUPS.iter().map(|s| s.to_string()));
            }
            g if groups::GROUPS.contains(&g) => names.push(g.to_string()),
            g if groups::PLANNED.contains(&g) => {
                println!("group {g}: not written yet (planned); skipped");
            }
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("unknown argument {other:?}\n{USAGE}"),
                ))
            }
        }
    }
    names.dedup();
    if names.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, USAGE));
    }
    if cfg!(debug_assertions) && mode != Mode::Smoke {
        println!("warning: a debug build of coring-bench measures debug code; use --release");
    }
    let ctx = Ctx::new(mode)?;
    let (commit, dirty) = harness::commit(&ctx.root);
    let mut run = RunFile {
        schema: SCHEMA,
        date: harness::utc_now(),
        commit,
        dirty,
        mode: mode.name().into(),
        command: std::iter::once("coring-bench".to_string())
            .chain(args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" "),
        machine: harness::machine(),
        groups: Vec::new(),
        seconds: 0.0,
    };
    let m = &run.machine;
    println!(
        "coring-bench {} ({}): {} × {}, {} CPUs (allowed {:?}), Linux {}, load {:?}; \
         servers on CPU {}, load generators on CPU {}",
        run.mode,
        run.commit,
        m.cpus,
        m.cpu_model,
        m.cpus,
        m.allowed_cpus,
        m.kernel,
        m.load_before,
        ctx.server_cpu,
        ctx.load_cpu
    );
    if m.load_before[0] > 0.5 * m.cpus as f64 && mode != Mode::Smoke {
        println!(
            "note: 1-minute load {:.2} on {} CPUs: the machine is busy, figures will be noisy",
            m.load_before[0], m.cpus
        );
    }
    let t0 = Instant::now();
    for name in &names {
        println!("\n=== {name}: {}", groups::title(name));
        let load_before = harness::loadavg();
        let t = Instant::now();
        let mut g = match groups::run(name, &ctx) {
            Ok(g) => g,
            Err(e) => {
                println!("group {name} failed: {e}");
                let mut g = results::GroupResult::new(name, groups::title(name));
                g.skipped.push(format!("failed: {e}"));
                g
            }
        };
        g.load_before = load_before;
        g.load_after = harness::loadavg();
        g.seconds = t.elapsed().as_secs_f64();
        println!("({name}: {:.1} s)", g.seconds);
        run.groups.push(g);
    }
    run.seconds = t0.elapsed().as_secs_f64();
    run.machine.load_after = harness::loadavg();
    let dir = out_dir.unwrap_or_else(|| ctx.root.join("bench/results"));
    let path = run.write(&dir)?;
    println!("\n{}", goals::goals_text(&run));
    println!(
        "{:.0} s in all; results: {}\nreport: cargo run -p coring-bench -- report {}",
        run.seconds,
        path.display(),
        path.display()
    );
    let failed: Vec<&str> = run
        .groups
        .iter()
        .filter(|g| g.skipped.iter().any(|s| s.starts_with("failed")))
        .map(|g| g.name.as_str())
        .collect();
    if !failed.is_empty() {
        return Err(io::Error::other(format!(
            "groups failed: {}",
            failed.join(", ")
        )));
    }
    Ok(())
}
