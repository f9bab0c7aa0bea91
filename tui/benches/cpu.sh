#!/usr/bin/env bash
# CPU time and peak RSS of the promdash dashboard against a real Prometheus scraping
# promdash-service under load: live at a 1 s refresh for SECONDS seconds, then paused
# for SECONDS seconds. Prints one line per phase; used for docs/BENCHMARKS.md.
#
#   tui/benches/cpu.sh [SECONDS]      (default 60; needs prometheus and tmux)
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_PHASE="${1:-60}"
cargo build --release --quiet -p promdash -p promdash-service
BIN=target/release
TMP=$(mktemp -d)
SOCK="promdash-cpu-$$"
PIDS=()
cleanup() {
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SVC_PORT=$(free_port)
PROM_PORT=$(free_port)

"$BIN/promdash-service" --listen "127.0.0.1:$SVC_PORT" --latency-ms 20 --jitter-ms 10 >"$TMP/service.log" 2>&1 &
PIDS+=($!)
cat >"$TMP/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: promdash-service
    static_configs:
      - targets: ['127.0.0.1:$SVC_PORT']
YAML
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$TMP/prometheus.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null 2>&1 && break
    sleep 0.2
done
"$BIN/promdash-service" load --target "http://127.0.0.1:$SVC_PORT/process" --rps 50 \
    --duration "$((SECONDS_PER_PHASE * 2 + 60))s" >"$TMP/load.log" 2>&1 &
PIDS+=($!)

tmux -L "$SOCK" -f /dev/null new-session -d -x 200 -y 50 \
    "$BIN/promdash --url http://127.0.0.1:$PROM_PORT --refresh 1s --no-bell --log-file $TMP/promdash.log"
sleep 2
PD=$(pgrep -f -n "^$BIN/promdash --url http://127.0.0.1:$PROM_PORT" || true)
[ -n "$PD" ] || { echo "promdash did not start"; exit 1; }

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
measure() {
    local label=$1 t0 t1
    t0=$(ticks "$PD")
    sleep "$SECONDS_PER_PHASE"
    t1=$(ticks "$PD")
    awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v s="$SECONDS_PER_PHASE" -v l="$label" \
        'BEGIN { cpu = (b - a) / hz; printf "%-28s CPU %.2f s over %d s = %.3f%% of one core\n", l, cpu, s, 100 * cpu / s }'
}
sleep 8   # warm up: first rounds, connection pool
measure "live, 1s refresh, 200x50"
tmux -L "$SOCK" send-keys p
sleep 2
measure "paused"
echo "peak RSS $(awk '/VmHWM/ {print $2, $3}' "/proc/$PD/status")"
grep -c . "$TMP/promdash.log" >/dev/null || true
