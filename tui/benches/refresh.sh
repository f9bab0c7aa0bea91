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
. tui/benches/lib.sh
bench_init promdash-refresh
start_stack 600
sleep "${WARMUP:-20}"   # enough samples for rate(...[1m]) and the quantiles
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for d in "${DELAYS[@]}"; do
    echo "--- delay ${d} ms"
    "$BIN/examples/refresh" "$URL" "$ROUNDS" "$d"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
