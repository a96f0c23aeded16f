#!/usr/bin/env bash
# RSS per idle keep-alive connection: coring's file_server and echo
# examples side by side with nginx (one worker), same files, same client.
#
# Each server is warmed up (4,000 requests on a few connections, so fixed
# pools such as coring's buffer ring are already touched), then N
# connections are opened, each makes one request and stays open; the
# server's RSS growth divided by N is the cost of one idle connection.
# While they wait, 200 new connections each make one request (p50/p99 of
# connect + request + response), then every idle connection is used once
# more. Servers run on CPU 0, the client on CPU 1. The last file_server
# run has RLIMIT_MEMLOCK at 12 KiB without CAP_IPC_LOCK, which shrinks its
# ring to the floor (64 SQ / 128 CQ).
#
# Run: N=10000 bash benches/idle_memory.sh   (as root for nginx; needs
# python3, nginx-light: apt-get install nginx-light)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-10000}
PORT=${PORT:-18480}
command -v nginx >/dev/null || { apt-get update -qq && apt-get install -y -qq nginx-light; }
cargo build --release --example file_server --example echo >/dev/null 2>&1
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/root"
head -c 1024 /dev/urandom >"$work/root/1k.bin"
ulimit -n "$(ulimit -Hn)"

client() { # kind pid
  taskset -c 1 python3 - "$1" "$2" "$PORT" "$N" <<'PY'
import resource, socket, sys, time
kind, pid, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
def rss(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
def exchange(s):
    if kind == "echo":
        s.sendall(b"x"); assert s.recv(16) == b"x"; return
    s.sendall(b"GET /1k.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    got = b""
    while b"\r\n\r\n" not in got:
        got += s.recv(4096)
    head, body = got.split(b"\r\n\r\n", 1)
    length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0].split(b":")[1])
    while len(body) < length:
        body += s.recv(4096)
def connect():
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s
# Warm-up: 4,000 requests on 8 connections, enough to cycle every buffer
# of coring's provided buffer ring (a fixed per-core pool, like nginx's).
for _ in range(8):
    s = connect()
    for _ in range(500):
        exchange(s)
    s.close()
time.sleep(0.5)
before = rss(pid)
conns = []
for _ in range(n):
    s = connect(); exchange(s); conns.append(s)
time.sleep(1.0)
after = rss(pid)
# New connections while the idle ones wait: each connects, makes one
# request and closes.
lat = []
for _ in range(200):
    t = time.perf_counter()
    s = connect(); exchange(s); s.close()
    lat.append(time.perf_counter() - t)
lat.sort()
for s in conns:
    exchange(s)   # every idle connection is still served
print(f"{(after - before) / n:5.0f} B/conn  (RSS {before/1e6:.1f} -> {after/1e6:.1f} MB)  "
      f"new conn p50 {lat[100]*1e3:.2f} ms p99 {lat[197]*1e3:.2f} ms max {lat[-1]*1e3:.2f} ms")
PY
}

wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && return; sleep 0.05; done; echo "no server on $PORT"; exit 1; }

echo "RSS per idle keep-alive connection, N=$N ($(date -u +%F), $(git rev-parse --short HEAD))"
cat >"$work/nginx.conf" <<NGX
worker_processes 1;
worker_rlimit_nofile 65536;
daemon off;
master_process on;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 65536; }
http {
  access_log off;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_timeout 300s; keepalive_requests 100000;
  server { listen 127.0.0.1:$PORT reuseport; root $work/root; }
}
NGX
taskset -c 0 nginx -c "$work/nginx.conf" & sleep 0.3; wait_port
worker=$(pgrep -P "$(cat "$work/nginx.pid")" | head -1)
printf "%-22s " "nginx (worker)"; client http "$worker"
kill "$(cat "$work/nginx.pid")"; wait 2>/dev/null || true; sleep 0.3

taskset -c 0 target/release/examples/file_server "$PORT" --dir "$work/root" >/dev/null 2>&1 & pid=$!; wait_port
printf "%-22s " "coring file_server"; client http "$pid"
kill "$pid"; wait 2>/dev/null || true; sleep 0.3

taskset -c 0 prlimit --memlock=12288:12288 setpriv --bounding-set=-ipc_lock --inh-caps=-ipc_lock \
  target/release/examples/file_server "$PORT" --dir "$work/root" >/dev/null 2>"$work/floor.log" & pid=$!; wait_port
grep -q "ring ready.*sq.*=.*64.*cq.*=.*128 " "$work/floor.log" || { echo "floor ring not granted:"; cat "$work/floor.log"; exit 1; }
printf "%-22s " "file_server 64/128 ring"; client http "$pid"
kill "$pid"; wait 2>/dev/null || true; sleep 0.3

taskset -c 0 target/release/examples/echo "$PORT" >/dev/null 2>&1 & pid=$!; wait_port
printf "%-22s " "coring echo"; client echo "$pid"
kill "$pid"; wait 2>/dev/null || true
