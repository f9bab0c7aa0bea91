#!/usr/bin/env bash
# RSS of `promdash --scrape` over time (issue 12: "RSS flat over 10 minutes"):
# promdash-service under 50 requests/s, and two promdash in 200x50 tmux windows scraping
# it every second (`--scrape-interval 1s --refresh 1s`, the built-in dashboard) — one
# with the default retention (1 h: the store grows by the samples it keeps for the
# whole run) and one with `--retention 1m` (the store is full after a minute, so
# anything that still grows is a leak). Every SAMPLE_SECS (default 30) for SAMPLES
# samples (default 20: a 10-minute run) it prints VmRSS of both, then the growth from
# the first sample to the last and from the middle one to the last.
#
#   tui/benches/embedded_rss.sh        (needs tmux, python3)
#   SAMPLE_SECS=5 SAMPLES=4 tui/benches/embedded_rss.sh    (a quick look)
set -euo pipefail
cd "$(dirname "$0")/../.."
SAMPLE_SECS="${SAMPLE_SECS:-30}"
SAMPLES="${SAMPLES:-20}"
cargo build --release --quiet -p promdash -p promdash-service
. tui/benches/lib.sh
BIN="${BIN_DIR:-$BIN}"
bench_init promdash-embrss

SVC_PORT=$(free_port)
"$BIN/promdash-service" --listen "127.0.0.1:$SVC_PORT" --latency-ms 20 --jitter-ms 10 \
    --error-rate 0.01 >"$TMP/service.log" 2>&1 &
PIDS+=($!)
"$BIN/promdash-service" load --target "http://127.0.0.1:$SVC_PORT/process" --rps 50 \
    --duration "$((SAMPLE_SECS * SAMPLES + 60))s" >"$TMP/load.log" 2>&1 &
PIDS+=($!)

tmux -L "$SOCK" -f /dev/null new-session -d -x 200 -y 50 -n hour \
    "$BIN/promdash --scrape 127.0.0.1:$SVC_PORT --scrape-interval 1s --refresh 1s --no-bell --log-file $TMP/hour.log"
tmux -L "$SOCK" new-window -d -n minute \
    "$BIN/promdash --scrape 127.0.0.1:$SVC_PORT --scrape-interval 1s --refresh 1s --retention 1m --no-bell --log-file $TMP/minute.log"
H=""; M=""
for _ in $(seq 50); do
    H=$(pgrep -n -f "^$BIN/promdash --scrape 127.0.0.1:$SVC_PORT --scrape-interval 1s --refresh 1s --no-bell" || true)
    M=$(pgrep -n -f "^$BIN/promdash --scrape 127.0.0.1:$SVC_PORT .* --retention 1m" || true)
    [ -n "$H" ] && [ -n "$M" ] && break
    sleep 0.2
done
[ -n "$H" ] && [ -n "$M" ] || { echo "a promdash did not start"; exit 1; }
echo "promdash --retention 1h pid $H, --retention 1m pid $M; load average $(cut -d' ' -f1-3 /proc/loadavg)"

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
sleep 10   # the first scrapes, the first frame
printf '%8s  %16s  %16s\n' "after" "retention 1h" "retention 1m"
hs=(); ms=()
for i in $(seq "$SAMPLES"); do
    sleep "$SAMPLE_SECS"
    h=$(rss_kib "$H"); m=$(rss_kib "$M")
    hs+=("$h"); ms+=("$m")
    printf '%6d s  %12.1f MiB  %12.1f MiB\n' "$((i * SAMPLE_SECS))" \
        "$(echo "$h / 1024" | bc -l)" "$(echo "$m / 1024" | bc -l)"
done
mid=$((SAMPLES / 2))
awk -v h0="${hs[0]}" -v hm="${hs[$mid]}" -v hl="${hs[-1]}" \
    -v m0="${ms[0]}" -v mm="${ms[$mid]}" -v ml="${ms[-1]}" \
    'BEGIN {
        printf "growth first -> last: retention 1h %+.1f MiB, retention 1m %+.1f MiB\n", (hl - h0) / 1024, (ml - m0) / 1024
        printf "growth middle -> last: retention 1h %+.1f MiB, retention 1m %+.1f MiB\n", (hl - hm) / 1024, (ml - mm) / 1024
    }'
echo "peak RSS (VmHWM): retention 1h $(awk '/VmHWM/ {print $2, $3}' "/proc/$H/status")," \
    "retention 1m $(awk '/VmHWM/ {print $2, $3}' "/proc/$M/status")"
tmux -L "$SOCK" capture-pane -p -t minute | tail -1
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
