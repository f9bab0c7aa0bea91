#!/usr/bin/env bash
# Throughput of GET /process?delay_ms=0 on loopback, measured with wrk in one run:
#   1. promdash-service (release build, metrics layer on)
#   2. the same router without the metrics layer (hidden flag --no-metrics-layer)
#   3. the seed Flask app (not part of this repository: SEED=path/to/seed_app.py) under
#      gunicorn -w 1 --threads 4
#   4. the same router instrumented with the axum-prometheus crate instead of its own
#      layer (service/examples/axum_prometheus.rs)
# Rounds alternate between the servers so background load hits them alike; the median of
# the rounds is reported, with the ratios the goals are stated in. The server CPU time
# per request (from /proc/PID/stat around each run) is reported too: on a small machine
# wrk needs a core of its own to drive the Rust service, so req/s is partly a measure of
# the client, while CPU per request is the server's cost alone.
#
# Settings (environment): ROUNDS=3 DURATION=10s CONNECTIONS=64 THREADS=2 WARMUP=2s
#   PIN=1 (servers on CPU 0, wrk on CPU 1, when taskset and 2+ CPUs exist)
#   SEED=path/to/seed_app.py (required: the Flask app the service is compared with)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-2s}
SEED=${SEED:-}
PIN=${PIN:-1}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
[ -x /usr/bin/gunicorn ] || need+=(gunicorn)
/usr/bin/python3 -c 'import flask' 2>/dev/null || need+=(python3-flask)
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null || need+=(python3-prometheus-client)
if [ "${#need[@]}" -gt 0 ]; then
    echo "==> installing ${need[*]}" >&2
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
fi
[ -n "$SEED" ] || { echo "set SEED=path/to/seed_app.py: the seed Flask app this compares with is not part of this repository" >&2; exit 1; }
[ -f "$SEED" ] || { echo "seed app not found at $SEED (set SEED=path/to/seed_app.py)" >&2; exit 1; }

echo "==> cargo build --release -p promdash-service (and --example axum_prometheus)" >&2
cargo build --quiet --release -p promdash-service
cargo build --quiet --release -p promdash-service --example axum_prometheus
BIN=target/release/promdash-service

server_cpu=()
client_cpu=()
if [ "$PIN" = 1 ] && command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
    server_cpu=(taskset -c 0)
    client_cpu=(taskset -c 1)
fi

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

wait_up() { # url
    for _ in $(seq 1 100); do
        if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "server at $1 did not come up" >&2
    return 1
}

logdir=$(mktemp -d)
p_inst=$(free_port)
RUST_LOG=warn "${server_cpu[@]}" "$BIN" --listen "127.0.0.1:$p_inst" --latency-ms 0 --jitter-ms 0 \
    >"$logdir/instrumented.log" 2>&1 &
pids+=($!)
p_bare=$(free_port)
RUST_LOG=warn "${server_cpu[@]}" "$BIN" --listen "127.0.0.1:$p_bare" --latency-ms 0 --jitter-ms 0 \
    --no-metrics-layer >"$logdir/bare.log" 2>&1 &
pids+=($!)
p_seed=$(free_port)
(cd "$(dirname "$SEED")" && exec "${server_cpu[@]}" /usr/bin/gunicorn -w 1 --threads 4 \
    -b "127.0.0.1:$p_seed" --log-level warning "$(basename "$SEED" .py):app") \
    >"$logdir/seed.log" 2>&1 &
pids+=($!)

p_ap=$(free_port)
RUST_LOG=warn "${server_cpu[@]}" target/release/examples/axum_prometheus "127.0.0.1:$p_ap" \
    >"$logdir/axum-prometheus.log" 2>&1 &
pids+=($!)

declare -A url=(
    [instrumented]="http://127.0.0.1:$p_inst/process?delay_ms=0"
    [uninstrumented]="http://127.0.0.1:$p_bare/process?delay_ms=0"
    [seed]="http://127.0.0.1:$p_seed/process?delay_ms=0"
    [axum-prometheus]="http://127.0.0.1:$p_ap/process?delay_ms=0"
)
names=(instrumented uninstrumented seed axum-prometheus)
for n in "${names[@]}"; do wait_up "${url[$n]}"; done

# CPU time (clock ticks) used so far by a server: the process and its children
# (gunicorn's worker), all threads included.
declare -A server_pid=([instrumented]=${pids[0]} [uninstrumented]=${pids[1]} [seed]=${pids[2]} [axum-prometheus]=${pids[3]})
cpu_ticks() { # pid
    local total=0 p
    for p in "$1" $(pgrep -P "$1" || true); do
        # fields 14 and 15 of /proc/PID/stat: utime, stime (after the "(comm)" field)
        total=$((total + $(sed 's/.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 }')))
    done
    echo "$total"
}
hz=$(getconf CLK_TCK)

wrk_run() { # url duration -> "requests/sec requests"
    "${client_cpu[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2" "$1" |
        awk '/requests in/ { n = $1 } /^Requests\/sec:/ { r = $2 } END { print r, n }'
}

declare -A results=() cpu_us=()
for round in $(seq 1 "$ROUNDS"); do
    for n in "${names[@]}"; do
        wrk_run "${url[$n]}" "$WARMUP" >/dev/null
        before=$(cpu_ticks "${server_pid[$n]}")
        read -r r count < <(wrk_run "${url[$n]}" "$DURATION")
        after=$(cpu_ticks "${server_pid[$n]}")
        us=$(awk -v t=$((after - before)) -v hz="$hz" -v c="$count" 'BEGIN { printf "%.2f", t / hz * 1e6 / c }')
        echo "round $round  $n  $r req/s  $us server CPU-us/request" >&2
        results[$n]="${results[$n]:-} $r"
        cpu_us[$n]="${cpu_us[$n]:-} $us"
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
inst=$(echo "${results[instrumented]}" | median)
bare=$(echo "${results[uninstrumented]}" | median)
seed=$(echo "${results[seed]}" | median)
ap=$(echo "${results[axum-prometheus]}" | median)

# Check the instrumented service counted what it served.
counted=$(curl -fsS "http://127.0.0.1:$p_inst/metrics" |
    awk '/^app_request_count_total\{/ { s += $2 } END { printf "%d", s }')

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS rounds (median), pinned: ${server_cpu[*]:-no}"
echo
echo "| server | req/s (median) | server CPU µs/request (median) | req/s per round |"
echo "|---|---:|---:|---|"
for n in "${names[@]}"; do
    echo "| $n | $(echo "${results[$n]}" | median) | $(echo "${cpu_us[$n]}" | median) |${results[$n]} |"
done
echo
ci=$(echo "${cpu_us[instrumented]}" | median)
cb=$(echo "${cpu_us[uninstrumented]}" | median)
cs=$(echo "${cpu_us[seed]}" | median)
ca=$(echo "${cpu_us[axum-prometheus]}" | median)
awk -v i="$inst" -v b="$bare" -v s="$seed" -v a="$ap" -v ci="$ci" -v cb="$cb" -v cs="$cs" -v ca="$ca" 'BEGIN {
    printf "throughput: instrumented / uninstrumented = %.3f (goal >= 0.95)\n", i / b
    printf "throughput: instrumented / seed           = %.1fx (goal >= 20x)\n", i / s
    printf "throughput: instrumented / axum-prometheus = %.3f (goal >= 1.0)\n", i / a
    printf "CPU per request: uninstrumented / instrumented = %.3f, seed / instrumented = %.1fx, axum-prometheus / instrumented = %.3f\n", cb / ci, cs / ci, ca / ci
}'
echo "requests counted by the instrumented service: $counted"
