#!/usr/bin/env bash
# CPU and RSS of the built-in dashboard on the embedded engine against the same dashboard
# on a real Prometheus, side by side in one run: promdash-service under 50 requests/s,
# Prometheus 2.42 scraping it every second, and two promdash in 200x50 tmux windows at
# `--refresh 1s` — one `--url` on that Prometheus, one `--scrape` of the service itself
# every second (`--scrape-interval 1s`). Every SAMPLE_SECS (default 60) for SAMPLES
# samples (default 10: a 10-minute run) it prints each process's CPU over the window
# (utime + stime from /proc/<pid>/stat, threads that ended included) and its RSS, then
# the totals and the two ratios of issue 12: embedded / promdash-on-Prometheus and
# embedded / (promdash-on-Prometheus + Prometheus).
#
#   tui/benches/embedded_cpu.sh        (needs prometheus, tmux, python3, curl)
#   SAMPLE_SECS=10 SAMPLES=1 tui/benches/embedded_cpu.sh    (a quick look)
#   SKIP_BUILD=1 BIN_DIR=/tmp/bin tui/benches/embedded_cpu.sh   (binaries built beforehand)
set -euo pipefail
cd "$(dirname "$0")/../.."
SAMPLE_SECS="${SAMPLE_SECS:-60}"
SAMPLES="${SAMPLES:-10}"
# SKIP_BUILD=1: use the binaries as they are (e.g. copies in BIN_DIR).
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet -p promdash -p promdash-service
. tui/benches/lib.sh
# BIN_DIR: where the release binaries are when not in target/release (another target dir).
BIN="${BIN_DIR:-$BIN}"
bench_init promdash-embcpu
start_stack "$((SAMPLE_SECS * SAMPLES + 120))"
PROM=${PIDS[1]}

tmux -L "$SOCK" -f /dev/null new-session -d -x 200 -y 50 -n prom \
    "$BIN/promdash --url $URL --refresh 1s --no-bell --log-file $TMP/prom.log"
tmux -L "$SOCK" new-window -d -n embedded \
    "$BIN/promdash --scrape 127.0.0.1:$SVC_PORT --scrape-interval 1s --refresh 1s --no-bell --log-file $TMP/emb.log"
PD=""; EM=""
for _ in $(seq 50); do
    PD=$(pgrep -n -f "^$BIN/promdash --url $URL" || true)
    EM=$(pgrep -n -f "^$BIN/promdash --scrape 127.0.0.1:$SVC_PORT" || true)
    [ -n "$PD" ] && [ -n "$EM" ] && break
    sleep 0.2
done
[ -n "$PD" ] && [ -n "$EM" ] || { echo "a promdash did not start"; exit 1; }
echo "promdash on Prometheus pid $PD, promdash embedded pid $EM, Prometheus pid $PROM;" \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"

HZ=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_mib() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
sleep 10   # warm up: the embedded engine's first scrapes, connection pools
p0=$(ticks "$PD"); e0=$(ticks "$EM"); s0=$(ticks "$PROM")
pa=$p0; ea=$e0; sa=$s0
printf '%8s  %26s  %26s  %26s\n' "after" "promdash on Prometheus" "promdash embedded" "Prometheus"
for i in $(seq "$SAMPLES"); do
    sleep "$SAMPLE_SECS"
    pb=$(ticks "$PD"); eb=$(ticks "$EM"); sb=$(ticks "$PROM")
    awk -v t="$((i * SAMPLE_SECS))" -v hz="$HZ" \
        -v p="$((pb - pa))" -v e="$((eb - ea))" -v s="$((sb - sa))" \
        -v pr="$(rss_mib "$PD")" -v er="$(rss_mib "$EM")" -v sr="$(rss_mib "$PROM")" \
        'BEGIN { printf "%6d s  CPU %6.2f s, RSS %5.1f MiB  CPU %6.2f s, RSS %5.1f MiB  CPU %6.2f s, RSS %5.1f MiB\n",
                 t, p / hz, pr, e / hz, er, s / hz, sr }'
    pa=$pb; ea=$eb; sa=$sb
done
awk -v hz="$HZ" -v secs="$((SAMPLE_SECS * SAMPLES))" \
    -v p="$((pa - p0))" -v e="$((ea - e0))" -v s="$((sa - s0))" \
    'BEGIN {
        printf "total over %d s: promdash on Prometheus %.2f s, promdash embedded %.2f s, Prometheus %.2f s\n",
            secs, p / hz, e / hz, s / hz
        printf "embedded / promdash on Prometheus = %.2f (goal <= 1.5)\n", e / p
        printf "embedded / (promdash on Prometheus + Prometheus) = %.2f (goal <= 0.5)\n", e / (p + s)
    }'
echo "peak RSS (VmHWM): promdash on Prometheus $(awk '/VmHWM/ {print $2, $3}' "/proc/$PD/status")," \
    "embedded $(awk '/VmHWM/ {print $2, $3}' "/proc/$EM/status")," \
    "Prometheus $(awk '/VmHWM/ {print $2, $3}' "/proc/$PROM/status")"
tmux -L "$SOCK" capture-pane -p -t embedded | tail -1
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
