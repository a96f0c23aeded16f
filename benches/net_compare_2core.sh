#!/usr/bin/env bash
# Two-core echo ping-pong (issue 6): coring (launcher, 2 pinned cores, one
# bind_sharded SO_REUSEPORT listener per core) vs monoio (2 threads pinned
# like coring's cores, each its own runtime and SO_REUSEPORT listener) vs
# tokio multi-thread (2 workers, one listener).
#
# No taskset: the server's 2 threads and the load generator
# (examples/echo_client, one coring thread, unpinned) share the machine's
# CPUs, so the client's CPU time is taken from the server. On a 2-CPU
# machine that is the honest setup; the numbers are not server-only
# capacity.
#
# Each config is run $REPS times with the servers interleaved; the summary
# gives medians and coring's ratio to the better peer.
#
# Usage: bash benches/net_compare_2core.sh
# Knobs (env): DUR=10 REPS=3 THREADS=2 SERVERS="coring monoio tokio"
#              CONFIGS="64x128 512x128"
set -euo pipefail
cd "$(dirname "$0")/.."

DUR=${DUR:-10}
REPS=${REPS:-3}
THREADS=${THREADS:-2}
SERVERS=${SERVERS:-"coring monoio tokio"}
CONFIGS=${CONFIGS:-"64x128 512x128"}

cargo build --release --example echo_client
BENCH=$(cargo bench --bench net_servers --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*net_servers-[0-9a-f]*\)).*/\1/p' | head -1)
CLIENT=target/release/examples/echo_client
[ -x "$BENCH" ] || { echo "net_servers bench binary not found" >&2; exit 1; }

OUT=$(mktemp -d /tmp/net_compare_2core.XXXXXX)
ulimit -n 65536 2>/dev/null || true
port=$((20000 + RANDOM % 10000)) # below the ephemeral range
SPID=

start_server() { # server
    port=$((port + 1))
    "$BENCH" --server "$1" --mode echo --port "$port" --threads "$THREADS" &
    SPID=$!
    for _ in $(seq 100); do
        if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "server $1 did not start" >&2
    exit 1
}
stop_server() {
    kill "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
}
trap stop_server EXIT
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

echo "machine: $(nproc) CPUs, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "setup: no taskset; each server runs $THREADS threads (coring and monoio pin them to the first"
echo "       $THREADS CPUs, tokio does not) and the load generator (echo_client, 1 thread, unpinned)"
echo "       runs on the same CPUs: req/s include the client's CPU cost, not server-only capacity"
echo "runs: DUR=${DUR}s REPS=$REPS; results in $OUT"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

for rep in $(seq "$REPS"); do
    for cfg in $CONFIGS; do
        conns=${cfg%x*}
        size=${cfg#*x}
        for s in $SERVERS; do
            start_server "$s"
            r=$("$CLIENT" "127.0.0.1:$port" --conns "$conns" --size "$size" \
                --duration "$DUR" --warmup 1 | grep RESULT)
            stop_server
            rps=$(echo "$r" | field rps)
            errors=$(echo "$r" | field errors)
            echo "echo $cfg $s $rps errors=$errors" | tee -a "$OUT/raw"
            echo "echo $cfg $s $rps" >>"$OUT/results"
        done
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "## medians ($REPS runs each, $THREADS server threads, client on the same CPUs)"
echo
echo "| test | config | $(echo $SERVERS | sed 's/ / | /g') | coring / best peer |"
echo "|---|---|$(for _ in $SERVERS; do printf -- '---|'; done)---|"
awk -v servers="$SERVERS" '
    { key = $1 " " $2; vals[key, $3] = vals[key, $3] " " $4; if (!(key in seen)) { seen[key] = 1; order[++n] = key } }
    function median(list,   a, m, i, j, t) {
        m = split(list, a, " ")
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    END {
        ns = split(servers, s, " ")
        for (k = 1; k <= n; k++) {
            key = order[k]; split(key, kk, " ")
            line = "| " kk[1] " (req/s) | " kk[2] " |"
            best = ""; mine = ""
            for (i = 1; i <= ns; i++) {
                v = median(vals[key, s[i]]); line = line " " v " |"
                if (s[i] == "coring") mine = v
                else if (best == "" || v > best) best = v
            }
            ratio = (best > 0 && mine != "") ? sprintf("%.2f", mine / best) : "-"
            print line " " ratio " |"
        }
    }' "$OUT/results" | tee "$OUT/summary.md"
