#!/usr/bin/env bash
# Throughput of GET /process?delay_ms=0 on loopback, measured with wrk in one run:
#   1. promdash-service (release build, metrics layer on)
#   2. the same router without the metrics layer (hidden flag --no-metrics-layer)
#   3. the seed Flask app (../shared/reference/seed_app.py) under gunicorn -w 1 --threads 4
# Rounds alternate between the three so background load hits them alike; the median of
# the rounds is reported, with the ratios the goals are stated in.
#
# Settings (environment): ROUNDS=3 DURATION=10s CONNECTIONS=64 THREADS=2 WARMUP=2s
#   PIN=1 (servers on CPU 0, wrk on CPU 1, when taskset and 2+ CPUs exist)
#   SEED=../shared/reference/seed_app.py
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-2s}
SEED=${SEED:-../shared/reference/seed_app.py}
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
[ -f "$SEED" ] || { echo "seed app not found at $SEED (set SEED=...)" >&2; exit 1; }

echo "==> cargo build --release -p promdash-service" >&2
cargo build --quiet --release -p promdash-service
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

declare -A url=(
    [instrumented]="http://127.0.0.1:$p_inst/process?delay_ms=0"
    [uninstrumented]="http://127.0.0.1:$p_bare/process?delay_ms=0"
    [seed]="http://127.0.0.1:$p_seed/process?delay_ms=0"
)
names=(instrumented uninstrumented seed)
for n in "${names[@]}"; do wait_up "${url[$n]}"; done

rps() { # url duration -> requests/sec
    "${client_cpu[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2" "$1" |
        awk '/^Requests\/sec:/ { print $2 }'
}

declare -A results=()
for round in $(seq 1 "$ROUNDS"); do
    for n in "${names[@]}"; do
        rps "${url[$n]}" "$WARMUP" >/dev/null
        r=$(rps "${url[$n]}" "$DURATION")
        echo "round $round  $n  $r req/s" >&2
        results[$n]="${results[$n]:-} $r"
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
inst=$(echo "${results[instrumented]}" | median)
bare=$(echo "${results[uninstrumented]}" | median)
seed=$(echo "${results[seed]}" | median)

# Check the instrumented service counted what it served.
counted=$(curl -fsS "http://127.0.0.1:$p_inst/metrics" |
    awk '/^app_request_count_total\{/ { s += $2 } END { printf "%d", s }')

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS rounds (median), pinned: ${server_cpu[*]:-no}"
echo
echo "| server | req/s (median) | rounds |"
echo "|---|---:|---|"
for n in "${names[@]}"; do
    echo "| $n | $(echo "${results[$n]}" | median) |${results[$n]} |"
done
echo
awk -v i="$inst" -v b="$bare" -v s="$seed" 'BEGIN {
    printf "instrumented / uninstrumented = %.3f (goal >= 0.95)\n", i / b
    printf "instrumented / seed           = %.1fx (goal >= 20x)\n", i / s
}'
echo "requests counted by the instrumented service: $counted"
