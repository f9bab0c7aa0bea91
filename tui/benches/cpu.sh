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
. tui/benches/lib.sh
bench_init promdash-cpu
start_stack "$((SECONDS_PER_PHASE * 2 + 60))"

tmux -L "$SOCK" -f /dev/null new-session -d -x 200 -y 50 \
    "$BIN/promdash --url $URL --refresh 1s --no-bell --log-file $TMP/promdash.log"
sleep 2
PD=$(pgrep -f -n "^$BIN/promdash --url $URL" || true)
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
