//! The `file_server` example as a child process, and the clients the
//! tests drive it with (a raw socket, curl, Python's http.client): shared
//! by tests/file_server.rs and tests/file_server_http.rs.
// Each of the two uses only part of it.
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

pub fn example_binary() -> PathBuf {
    // tests run from target/<profile>/deps; cargo builds examples next door.
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    profile_dir.join("examples").join("file_server")
}

pub struct Server {
    pub child: Child,
    pub port: u16,
    pub root: PathBuf,
}

impl Server {
    pub fn start(name: &str) -> Server {
        Server::start_with(name, &[], None)
    }

    /// `start` with more command-line arguments, and the fd limit set to
    /// `nofile` if given.
    pub fn start_with(name: &str, extra: &[&str], nofile: Option<u64>) -> Server {
        let root =
            std::env::temp_dir().join(format!("coring-fileserver-{name}-{}", std::process::id()));
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("hello.txt"), b"hello coring\n").unwrap();
        std::fs::write(root.join("sub/index.html"), b"<h1>index</h1>").unwrap();
        let big: Vec<u8> = (0..(1 << 20) + 7).map(|i| (i * 31 % 251) as u8).collect();
        std::fs::write(root.join("big.bin"), &big).unwrap();
        let bin = example_binary();
        assert!(
            bin.exists(),
            "{} missing: cargo test builds examples",
            bin.display()
        );
        let mut cmd = Command::new(bin);
        cmd.args(["0", "--dir"])
            .arg(&root)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(n) = nofile {
            use std::os::unix::process::CommandExt;
            let lim = libc::rlimit {
                rlim_cur: n,
                rlim_max: n,
            };
            // SAFETY: setrlimit is async-signal-safe and reads a valid
            // rlimit; it runs in the child between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        let mut child = cmd.spawn().unwrap();
        let port = crate::common::listening_port(&mut child);
        Server { child, port, root }
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Reads one response: (status, headers, body). A 304 has no body, and
/// needs no Content-Length.
pub fn read_response(
    r: &mut BufReader<TcpStream>,
    head_request: bool,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut status = String::new();
    r.read_line(&mut status).unwrap();
    let code = status.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        let l = l.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').unwrap();
        headers.push((k.to_ascii_lowercase(), v.trim().to_string()));
    }
    let len: usize = if head_request || code == 304 {
        0
    } else {
        headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .unwrap()
            .1
            .parse()
            .unwrap()
    };
    let mut body = vec![0; len];
    r.read_exact(&mut body).unwrap();
    (code, headers, body)
}

pub fn get(s: &Server, req: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut c = s.connect();
    c.write_all(req.as_bytes()).unwrap();
    read_response(&mut BufReader::new(c), req.starts_with("HEAD"))
}

/// A response as a real client saw it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// Names in lower case, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The value of the one field `name` (lower case), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut found = self.headers.iter().filter(|(k, _)| k == name);
        let value = found.next().map(|(_, v)| v.as_str());
        assert!(found.next().is_none(), "{name} sent twice: {self:?}");
        value
    }
}

/// Fails, naming the package to install, unless `probe` (a command and
/// its arguments) runs and succeeds: these tests exist to check real
/// clients, so a missing one must not pass silently.
pub fn require(probe: &[&str], package: &str) {
    let ran = Command::new(probe[0])
        .args(&probe[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(
        ran.is_ok_and(|s| s.success()),
        "`{}` failed: these tests need {}; install it (apt-get install {package}; .ci/run does)",
        probe.join(" "),
        probe[0],
    );
}

/// GETs `path` with curl and these extra arguments; the reply as curl
/// received it.
pub fn curl(s: &Server, path: &str, args: &[&str]) -> Reply {
    require(&["curl", "--version"], "curl");
    let out = Command::new("curl")
        // -D -: the head to stdout, before the body.
        .args(["-sS", "--max-time", "10", "-D", "-"])
        .args(args)
        .arg(format!("http://127.0.0.1:{}{path}", s.port))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl {args:?} {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let split = out
        .stdout
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in curl's output: {:?}", out.stdout));
    let head = String::from_utf8(out.stdout[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("status line {status_line:?}"));
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    Reply {
        status,
        headers,
        body: out.stdout[split + 4..].to_vec(),
    }
}

/// Runs a Python script (`python3 -c`) with `args`; its stdout.
pub fn python(script: &str, args: &[&str]) -> String {
    require(&["python3", "-c", "import http.client"], "python3");
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
