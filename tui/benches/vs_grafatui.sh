#!/usr/bin/env bash
# promdash and grafatui side by side, in one run, against the same Prometheus scraping
# promdash-service under 50 requests/s: each in its own 200x50 tmux, equivalent
# dashboards (built-in service dashboard / tui/benches/grafatui/service.json), 1 s
# refresh, 15 m range. Prints the CPU time of each over SECONDS (default 60), ROUNDS
# times in a row (default 1) with the median ratio, and the peak RSS of each.
# PROMDASH_DASHBOARD=FILE runs promdash on FILE instead of the built-in dashboard.
#
#   GRAFATUI=/path/to/grafatui [ROUNDS=5] tui/benches/vs_grafatui.sh [SECONDS]
# (cargo install grafatui --version 0.1.18 --locked; needs prometheus and tmux)
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS="${1:-60}"
ROUNDS="${ROUNDS:-1}"
GRAFATUI="${GRAFATUI:-$(command -v grafatui || true)}"
[ -x "$GRAFATUI" ] || { echo "grafatui not found: cargo install grafatui --version 0.1.18 --locked, or set GRAFATUI"; exit 1; }
cargo build --release --quiet -p promdash -p promdash-service
. tui/benches/lib.sh
bench_init promdash-vs
PD=""
GT=""
before_cleanup() {
    # The dashboards first, by pid: grafatui 0.1.18 does not exit when its terminal
    # goes away but spins at full CPU (and ignores SIGTERM then), so killing only the
    # tmux server leaves it behind.
    [ -n "${PD:-}" ] && { kill "$PD" 2>/dev/null || true; }
    [ -n "${GT:-}" ] && { kill -9 "$GT" 2>/dev/null || true; }
}
start_stack "$((SECS * ROUNDS + 60))"
sleep 5

tmux -L "$SOCK" -f /dev/null new-session -d -s promdash -x 200 -y 50 \
    "$BIN/promdash ${PROMDASH_DASHBOARD:+--dashboard $PROMDASH_DASHBOARD} --url $URL --refresh 1s --range 15m --no-bell --log-file $TMP/promdash.log"
tmux -L "$SOCK" new-session -d -s grafatui -x 200 -y 50 \
    "cd $TMP && $GRAFATUI --prometheus-url $URL --grafana-json $PWD/tui/benches/grafatui/service.json --refresh-rate 1000 --range 15m"
sleep 2
PD=$(pgrep -n -f "^$BIN/promdash .*--url $URL")
GT=$(pgrep -n -f "^$GRAFATUI --prometheus-url $URL")
# CPU time in nanoseconds: the sum over the process's threads of /proc/.../schedstat
# (both dashboards keep the same threads for the whole run; clock ticks, 10 ms each, are
# too coarse for figures of a few tens of milliseconds).
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{s += $1} END {printf "%d", s}'; }
threads() { ls /proc/"$1"/task | tr '\n' ' '; }
sleep 8
# ROUNDS consecutive windows of SECS each (the work comes in bursts, once a second, so
# one window's ratio varies by about 10%): every window's figures, then the median ratio.
RATIOS=()
for round in $(seq "$ROUNDS"); do
    a0=$(cpu_ns "$PD"); b0=$(cpu_ns "$GT"); ta=$(threads "$PD"); tb=$(threads "$GT")
    sleep "$SECS"
    a1=$(cpu_ns "$PD"); b1=$(cpu_ns "$GT")
    [ "$ta" = "$(threads "$PD")" ] && [ "$tb" = "$(threads "$GT")" ] ||
        echo "warning: a dashboard started or ended threads during the run: the CPU figure misses theirs"
    echo "window $round:"
    awk -v a="$((a1 - a0))" -v b="$((b1 - b0))" -v s="$SECS" 'BEGIN {
        printf "  promdash  CPU %.1f ms over %d s (%.3f%% of a core)\n", a / 1e6, s, 100 * a / 1e9 / s
        printf "  grafatui  CPU %.1f ms over %d s (%.3f%% of a core)\n", b / 1e6, s, 100 * b / 1e9 / s
        printf "  CPU ratio promdash/grafatui = %.2f\n", a / b
    }'
    RATIOS+=("$(awk -v a="$((a1 - a0))" -v b="$((b1 - b0))" 'BEGIN {printf "%.3f", a / b}')")
done
rss() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
printf '%s\n' "${RATIOS[@]}" | sort -n | awk -v n="$ROUNDS" -v ra="$(rss "$PD")" -v rb="$(rss "$GT")" '
    { r[NR] = $1 }
    END {
        printf "median CPU ratio promdash/grafatui over %d windows = %.2f\n", n, r[int((n + 1) / 2)]
        printf "peak RSS promdash %.1f MiB, grafatui %.1f MiB\n", ra / 1024, rb / 1024
    }'
tmux -L "$SOCK" capture-pane -p -t grafatui | head -5
