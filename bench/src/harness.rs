//! What every group shares: the run mode (full, quick, smoke), the machine
//! description, CPU pinning, child processes (servers pinned to one CPU,
//! load generators to another), installing missing tools with apt, and
//! printing a measurement as a table of medians, min–max and ratios.

use crate::results::{GroupResult, Machine, Measurement};
use std::{
    io,
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// How long and how often each group measures.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// The figures for BENCHMARKS.md.
    Full,
    /// Every group, fewer and shorter rounds (under 3 minutes in all).
    Quick,
    /// Every group for about a second: proves the harness works end to end.
    Smoke,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Quick => "quick",
            Mode::Smoke => "smoke",
        }
    }

    /// Picks the full, quick or smoke value of a knob.
    pub fn pick<T>(self, full: T, quick: T, smoke: T) -> T {
        match self {
            Mode::Full => full,
            Mode::Quick => quick,
            Mode::Smoke => smoke,
        }
    }

    /// Interleaved rounds per contender: at least 3 when measuring.
    pub fn rounds(self, full: usize) -> usize {
        self.pick(full, 3, 1)
    }
}

/// The context a group runs in.
pub struct Ctx {
    pub mode: Mode,
    /// The workspace root (cargo is run there).
    pub root: PathBuf,
    /// `target/release` of the workspace (examples are in `examples/`).
    pub release_dir: PathBuf,
    /// CPU for servers and for single-thread in-process benchmarks, and the
    /// CPU for load generators.
    pub server_cpu: usize,
    pub load_cpu: usize,
}

impl Ctx {
    pub fn new(mode: Mode) -> io::Result<Ctx> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("bench/ has a parent")
            .to_path_buf();
        let exe = std::env::current_exe()?;
        // target/<profile>/coring-bench → target/release
        let target = exe
            .parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_else(|| root.join("target"));
        let cpus = coring::runtime::launcher::allowed_cpus()?;
        let server_cpu = cpus[0];
        let load_cpu = *cpus.get(1).unwrap_or(&cpus[0]);
        if cpus.len() < 2 {
            eprintln!("warning: only one CPU allowed; servers and load share it");
        }
        Ok(Ctx {
            mode,
            root,
            release_dir: target.join("release"),
            server_cpu,
            load_cpu,
        })
    }

    /// Builds coring's example binaries (release) and returns the path of
    /// `name`.
    pub fn example(&self, g: &mut GroupResult, names: &[&str]) -> io::Result<Vec<PathBuf>> {
        self.example_with_features(g, names, &[])
    }

    /// Like `example`, with features of the coring package enabled (for
    /// examples with `required-features`).
    pub fn example_with_features(
        &self,
        g: &mut GroupResult,
        names: &[&str],
        features: &[&str],
    ) -> io::Result<Vec<PathBuf>> {
        let mut args = vec!["build", "--release", "-p", "coring"];
        for n in names {
            args.extend(["--example", n]);
        }
        let features = features.join(",");
        if !features.is_empty() {
            args.extend(["--features", &features]);
        }
        let target_dir = self.release_dir.parent().unwrap().to_path_buf();
        let cmd = format!("cargo {}", args.join(" "));
        println!("building: {cmd}");
        g.command(cmd);
        let st = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(&args)
            .env("CARGO_TARGET_DIR", &target_dir)
            .current_dir(&self.root)
            .status()?;
        if !st.success() {
            return Err(io::Error::other(format!("cargo build failed: {st}")));
        }
        Ok(names
            .iter()
            .map(|n| self.release_dir.join("examples").join(n))
            .collect())
    }
}

/// Makes sure `tool` is on the PATH, installing `package` with apt if not
/// (saying so). Returns false if it is still missing.
pub fn ensure_tool(tool: &str, package: &str) -> bool {
    if have(tool) {
        return true;
    }
    println!("{tool} not found: installing {package} (apt-get install -y {package})");
    let ok = Command::new("sh")
        .args([
            "-c",
            &format!("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {package}"),
        ])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        println!("could not install {package}; the contenders that need {tool} are skipped");
    }
    have(tool)
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool} >/dev/null")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Pins the calling thread to `cpu`.
pub fn pin_thread(cpu: usize) -> io::Result<()> {
    coring::runtime::launcher::pin_current_thread(cpu)
}

/// Unpins the calling thread (every allowed CPU).
pub fn unpin_thread(cpus: &[usize]) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes
    // within it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &c in cpus {
            libc::CPU_SET(c, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// A command with `taskset -c cpu` in front when `cpu` is given.
pub fn pinned(cpu: Option<usize>, program: &Path, args: &[String]) -> (Command, String) {
    let mut words: Vec<String> = Vec::new();
    if let Some(c) = cpu {
        words.extend(["taskset".into(), "-c".into(), c.to_string()]);
    }
    words.push(program.display().to_string());
    words.extend(args.iter().cloned());
    let mut cmd = Command::new(&words[0]);
    cmd.args(&words[1..]);
    (cmd, words.join(" "))
}

/// `cmd` (as `pinned` returns it) with `env` set on that process alone
/// (and whatever it execs, e.g. past `taskset`): the harness's own
/// environment is unchanged, so other children never see these variables.
/// The recorded line gets `K=V` in front, as a shell would take it.
pub fn with_env((mut cmd, line): (Command, String), env: &[(&str, &str)]) -> (Command, String) {
    let mut words: Vec<String> = Vec::new();
    for (k, v) in env {
        cmd.env(k, v);
        words.push(format!("{k}={v}"));
    }
    words.push(line);
    (cmd, words.join(" "))
}

/// A server child process, killed (and reaped) on drop.
pub struct Server {
    pub child: Child,
}

impl Server {
    /// Starts `cmd` and waits until something accepts on `port`.
    pub fn start(cmd: Command, port: u16) -> io::Result<Server> {
        Server::start_logged(cmd, port, None)
    }

    /// Like `start`, with the server's stderr going to `log`.
    pub fn start_logged(
        mut cmd: Command,
        port: u16,
        log: Option<std::fs::File>,
    ) -> io::Result<Server> {
        let err = log.map_or_else(Stdio::null, Stdio::from);
        let child = cmd.stdout(Stdio::null()).stderr(err).spawn()?;
        let s = Server { child };
        wait_port(port)?;
        Ok(s)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM first (lets nginx's master take its worker down), then
        // SIGKILL if it lingers.
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn wait_port(port: u16) -> io::Result<()> {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10) {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(io::Error::other(format!(
        "no server came up on port {port}"
    )))
}

/// A fresh port below the ephemeral range for every server start.
pub fn next_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 20000 + (std::process::id() % 5000) as u16 * 2;
    base + NEXT.fetch_add(1, Ordering::Relaxed) % 2000
}

/// utime + stime of `pid`, in seconds.
pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    // Fields after the command name (which may contain spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        f.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // utime and stime are fields 14 and 15; `rest` starts at field 3.
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(11) + ticks(12)) / hz
}

/// Resident set size of `pid`, bytes.
pub fn rss_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

pub fn loadavg() -> [f64; 3] {
    let s = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let v: Vec<f64> = s
        .split_whitespace()
        .take(3)
        .filter_map(|x| x.parse().ok())
        .collect();
    [0, 1, 2].map(|i| v.get(i).copied().unwrap_or(f64::NAN))
}

fn output(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    Machine {
        cpu_model: cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or("unknown".into(), |(_, m)| m.trim().to_string()),
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        allowed_cpus: coring::runtime::launcher::allowed_cpus().unwrap_or_default(),
        kernel: output("uname", &["-r"]),
        mem_total_kib: meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0),
        rustc: output("rustc", &["--version"]),
        load_before: loadavg(),
        load_after: [f64::NAN; 3],
    }
}

/// (short commit, dirty?) of the workspace at `root`.
pub fn commit(root: &Path) -> (String, bool) {
    let r = root.display().to_string();
    let c = output("git", &["-C", &r, "rev-parse", "--short", "HEAD"]);
    let dirty = !output(
        "git",
        &["-C", &r, "status", "--porcelain", "--untracked-files=no"],
    )
    .is_empty();
    (if c.is_empty() { "unknown".into() } else { c }, dirty)
}

/// UTC now as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, no date crate).
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Formats a figure with a sensible number of digits.
pub fn fmt(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let a = v.abs();
    if a >= 1000.0 {
        let s = format!("{:.0}", v);
        // thousands separators
        let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
        let mut out = String::new();
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(ch);
        }
        format!("{sign}{out}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// coring's ratio to a peer, worded: "1.23× (better)".
pub fn ratio_words(m: &Measurement, peer: &str) -> String {
    match m.ratio(peer) {
        None => "–".into(),
        Some(r) => {
            let better = if m.higher_is_better { r > 1.0 } else { r < 1.0 };
            let word = if (r - 1.0).abs() < 0.005 {
                "level"
            } else if better {
                "coring better"
            } else {
                "coring worse"
            };
            format!("{r:.2}× ({word})")
        }
    }
}

/// Prints a measurement: median, min–max and coring ÷ this per contender.
pub fn print_measurement(m: &Measurement) {
    let dir = if m.higher_is_better {
        "higher is better"
    } else {
        "lower is better"
    };
    println!("\n  {} [{}, {dir}]", m.name, m.unit);
    for e in &m.entries {
        let ratio = if m
            .baseline()
            .map(|b| b.contender == e.contender)
            .unwrap_or(false)
        {
            "baseline".to_string()
        } else {
            format!("coring/this {}", ratio_words(m, &e.contender))
        };
        println!(
            "    {:<40} {:>12}  ({} – {}, n={})  {ratio}",
            e.contender,
            fmt(e.median),
            fmt(e.min),
            fmt(e.max),
            e.samples.len()
        );
    }
}

/// A command line as recorded: the port (a word of its own, or after
/// `127.0.0.1:`) as `$PORT`, since it changes from run to run.
pub fn shown(line: &str, port: u16) -> String {
    let p = port.to_string();
    line.split(' ')
        .map(|w| if w == p { "$PORT" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
        .replace(&format!("127.0.0.1:{p}"), "127.0.0.1:$PORT")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_is_set_on_the_child_and_recorded_in_front() {
        let (cmd, line) = with_env(
            pinned(Some(0), Path::new("/x/server"), &["7".into()]),
            &[("CORING_DRIVER", "epoll")],
        );
        assert_eq!(line, "CORING_DRIVER=epoll taskset -c 0 /x/server 7");
        let envs: Vec<_> = cmd.get_envs().collect();
        assert_eq!(
            envs,
            [(
                std::ffi::OsStr::new("CORING_DRIVER"),
                Some(std::ffi::OsStr::new("epoll"))
            )]
        );
    }
}
