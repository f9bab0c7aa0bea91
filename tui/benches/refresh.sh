#!/usr/bin/env bash
# One refresh round of a 20-panel dashboard against a real Prometheus scraping
# promdash-service under 50 requests/s: wall time against the slowest single query of
# the round, and requests sent against requests counted by Prometheus
# (tui/examples/refresh.rs). Used for docs/BENCHMARKS.md.
#
#   tui/benches/refresh.sh [ROUNDS] [DELAY_MS...]   (default 15 rounds, delays 0 and 20;
#                                                    needs prometheus)
# Each DELAY_MS is one run: 0 is Prometheus on loopback; more holds each request that
# long (a Prometheus across a network).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS="${1:-15}"
shift || true
DELAYS=("$@")
[ ${#DELAYS[@]} -gt 0 ] || DELAYS=(0 20)
cargo build --release --quiet -p promdash-service
cargo build --release --quiet -p promdash --example refresh
BIN=target/release
TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SVC_PORT=$(free_port)
PROM_PORT=$(free_port)
"$BIN/promdash-service" --listen "127.0.0.1:$SVC_PORT" --latency-ms 20 --jitter-ms 10 --error-rate 0.01 >"$TMP/service.log" 2>&1 &
PIDS+=($!)
cat >"$TMP/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
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
    --duration 600s >"$TMP/load.log" 2>&1 &
PIDS+=($!)
sleep "${WARMUP:-20}"   # enough samples for rate(...[1m]) and the quantiles
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for d in "${DELAYS[@]}"; do
    echo "--- delay ${d} ms"
    "$BIN/examples/refresh" "http://127.0.0.1:$PROM_PORT" "$ROUNDS" "$d"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
