#!/usr/bin/env bash
# Side-by-side network benchmark: coring vs monoio (io_uring) vs tokio
# (current-thread), every server on CPU 0 and the same load generator on
# CPU 1.
#
#   1. echo ping-pong at saturation (examples/echo_client, a coring client):
#      64 and 512 connections x 128 B and 1 KiB messages -> requests/s, and
#      the server's CPU time per request over the measured window
#      ("cpu-sat": utime+stime from /proc/<pid>/stat);
#   2. server CPU per request at fixed rates below saturation (64 x 128 B,
#      each of $RATES req/s);
#   3. HTTP/1.1 hello with `wrk -t1 -c64` -> requests/s and server CPU per
#      request ("cpu-http").
#
# Each measurement is repeated $REPS times with the servers interleaved;
# the summary gives medians and coring's ratio to the better peer.
#
# Usage: bash benches/net_compare.sh
# Knobs (env): DUR=10 REPS=3 RATES="40000 80000" SERVERS="coring monoio tokio"
#              CONFIGS="64x128 64x1024 512x128 512x1024" SKIP_HTTP= SKIP_CPU=
set -euo pipefail
cd "$(dirname "$0")/.."

DUR=${DUR:-10}
REPS=${REPS:-3}
RATES=${RATES:-${RATE:-40000 80000}}
SERVERS=${SERVERS:-"coring monoio tokio"}
CONFIGS=${CONFIGS:-"64x128 64x1024 512x128 512x1024"}

cargo build --release --example echo_client
BENCH=$(cargo bench --bench net_servers --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*net_servers-[0-9a-f]*\)).*/\1/p' | head -1)
CLIENT=target/release/examples/echo_client
[ -x "$BENCH" ] || { echo "net_servers bench binary not found" >&2; exit 1; }
if [ -z "${SKIP_HTTP:-}" ] && ! command -v wrk >/dev/null; then
    echo "wrk not found (apt-get install -y wrk); skipping HTTP" >&2
    SKIP_HTTP=1
fi

OUT=$(mktemp -d /tmp/net_compare.XXXXXX)
ulimit -n 65536 2>/dev/null || true
port=$((20000 + RANDOM % 10000)) # below the ephemeral range
SPID=

start_server() { # server mode
    port=$((port + 1))
    taskset -c 0 "$BENCH" --server "$1" --mode "$2" --port "$port" &
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
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
us_per_request() { # ticks requests
    awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", (n > 0 ? t * 1e6 / hz / n : 0) }'
}

echo "machine: $(nproc) CPUs, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "runs: DUR=${DUR}s REPS=$REPS RATES=\"$RATES\"; results in $OUT"

for rep in $(seq "$REPS"); do
    for cfg in $CONFIGS; do
        conns=${cfg%x*}
        size=${cfg#*x}
        for s in $SERVERS; do
            start_server "$s" echo
            taskset -c 1 "$CLIENT" "127.0.0.1:$port" --conns "$conns" --size "$size" \
                --duration "$DUR" --warmup 1 >"$OUT/client.txt" &
            cpid=$!
            sleep 1 # the client's warm-up
            a=$(cpu_ticks "$SPID")
            wait "$cpid"
            b=$(cpu_ticks "$SPID")
            stop_server
            r=$(grep RESULT "$OUT/client.txt")
            rps=$(echo "$r" | field rps)
            echo "echo $cfg $s $rps" | tee -a "$OUT/results"
            echo "cpu-sat $cfg $s $(us_per_request $((b - a)) "$(echo "$r" | field requests)")" |
                tee -a "$OUT/results"
        done
    done
    if [ -z "${SKIP_CPU:-}" ]; then
        for rate in $RATES; do
            for s in $SERVERS; do
                start_server "$s" echo
                a=$(cpu_ticks "$SPID")
                r=$(taskset -c 1 "$CLIENT" "127.0.0.1:$port" --conns 64 --size 128 \
                    --duration "$DUR" --warmup 0 --rate "$rate" | grep RESULT)
                b=$(cpu_ticks "$SPID")
                stop_server
                echo "cpu 64x128@$rate $s $(us_per_request $((b - a)) "$(echo "$r" | field requests)")" |
                    tee -a "$OUT/results"
            done
        done
    fi
    if [ -z "${SKIP_HTTP:-}" ]; then
        for s in $SERVERS; do
            start_server "$s" http
            a=$(cpu_ticks "$SPID")
            taskset -c 1 wrk -t1 -c64 -d"${DUR}s" "http://127.0.0.1:$port/" >"$OUT/wrk.txt"
            b=$(cpu_ticks "$SPID")
            stop_server
            rps=$(awk '/Requests\/sec/ { print $2 }' "$OUT/wrk.txt")
            req=$(awk '/requests in/ { print $1 }' "$OUT/wrk.txt")
            echo "http wrk-c64 $s $rps" | tee -a "$OUT/results"
            echo "cpu-http wrk-c64 $s $(us_per_request $((b - a)) "$req")" | tee -a "$OUT/results"
        done
    fi
done

echo
echo "## medians ($REPS runs each)"
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
            key = order[k]; split(key, kk, " "); lower = (kk[1] ~ /^cpu/)
            line = "| " kk[1] (lower ? " (server CPU us/req, lower is better)" : " (req/s)") " | " kk[2] " |"
            best = ""; mine = ""
            for (i = 1; i <= ns; i++) {
                v = median(vals[key, s[i]]); line = line " " v " |"
                if (s[i] == "coring") mine = v
                else if (best == "" || (lower ? v < best : v > best)) best = v
            }
            ratio = (best > 0 && mine != "") ? sprintf("%.2f", mine / best) : "-"
            print line " " ratio " |"
        }
    }' "$OUT/results" | tee "$OUT/summary.md"
