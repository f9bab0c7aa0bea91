#!/usr/bin/env bash
# Resident memory of promdash on the built-in dashboard at a 24 h range, against a real
# Prometheus holding 24 h of the reference service's metrics (backfilled with promtool)
# and scraping a live promdash-service under 50 requests/s. promdash runs in a 200x50
# tmux at its default refresh (5 s); VmRSS is read from /proc every SAMPLE_SECS (default
# 60) for SAMPLES samples (default 10: a 10-minute run). Quick look: SAMPLE_SECS=5.
#
#   tui/benches/memory.sh          (needs prometheus, promtool, tmux, python3)
set -euo pipefail
cd "$(dirname "$0")/../.."
SAMPLE_SECS="${SAMPLE_SECS:-60}"
SAMPLES="${SAMPLES:-10}"
RANGE="${RANGE:-24h}"
cargo build --release --quiet -p promdash -p promdash-service
. tui/benches/lib.sh
bench_init promdash-mem

# 24 h of history at a 15 s interval, ending a minute ago, in OpenMetrics for promtool.
python3 - "$TMP/history.om" <<'PY'
import math, sys, time
end = int(time.time()) - 60
start = end - 86400
les = ["0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1.0", "2.5", "5.0", "7.5", "10.0", "+Inf"]
share = [0.0, 0.01, 0.3, 0.75, 0.9, 0.95, 0.99, 0.997, 0.999, 1, 1, 1, 1, 1, 1]
routes = ["/process", "/healthz"]
base = 'instance="backfill",job="history"'
with open(sys.argv[1], "w") as f:
    f.write("# TYPE app_request_count counter\n")
    for r in routes:
        for status in ["200", "500"]:
            for t in range(start, end, 15):
                n = (t - start) * (50 if r == "/process" else 1) * (0.99 if status == "200" else 0.01)
                f.write(f'app_request_count_total{{{base},method="GET",route="{r}",status="{status}"}} {n:.1f} {t}\n')
    f.write("# TYPE app_error_count counter\n")
    for t in range(start, end, 15):
        f.write(f'app_error_count_total{{{base},method="GET",route="/process",status="500"}} {(t - start) * 0.5:.1f} {t}\n')
    f.write("# TYPE app_in_flight_requests gauge\n")
    for t in range(start, end, 15):
        f.write(f'app_in_flight_requests{{{base}}} {int(3 + 2 * math.sin(t / 600))} {t}\n')
    f.write("# TYPE app_request_latency_seconds histogram\n")
    for r in routes:
        for le, s in zip(les, share):
            for t in range(start, end, 15):
                f.write(f'app_request_latency_seconds_bucket{{{base},method="GET",route="{r}",le="{le}"}} {(t - start) * 50 * s:.1f} {t}\n')
        for t in range(start, end, 15):
            f.write(f'app_request_latency_seconds_count{{{base},method="GET",route="{r}"}} {(t - start) * 50:.1f} {t}\n')
            f.write(f'app_request_latency_seconds_sum{{{base},method="GET",route="{r}"}} {(t - start) * 50 * 0.04:.3f} {t}\n')
    f.write("# EOF\n")
PY
mkdir -p "$TMP/data"
promtool tsdb create-blocks-from openmetrics "$TMP/history.om" "$TMP/data" >"$TMP/backfill.log" 2>&1 \
    || { cat "$TMP/backfill.log"; exit 1; }
rm -f "$TMP/history.om"

start_stack "$((SAMPLE_SECS * SAMPLES + 120))"
hist=$(curl -fsG "$URL/api/v1/query" \
    --data-urlencode "query=count_over_time(app_in_flight_requests{job=\"history\"}[1d])" \
    --data-urlencode "time=$(date +%s)" | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
echo "history in Prometheus: $hist samples of app_in_flight_requests over the last 24 h"

tmux -L "$SOCK" -f /dev/null new-session -d -x 200 -y 50 \
    "$BIN/promdash --url $URL --range $RANGE --no-bell --log-file $TMP/promdash.log"
sleep 2
PD=$(pgrep -n -f "^$BIN/promdash --url $URL")
[ -n "$PD" ] || { echo "promdash did not start"; exit 1; }
echo "promdash pid $PD, range $RANGE, built-in dashboard, 200x50; load average $(cut -d' ' -f1-3 /proc/loadavg)"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$PD/status"; }
SAMPLES_KB=()
for i in $(seq "$SAMPLES"); do
    sleep "$SAMPLE_SECS"
    kb=$(rss)
    SAMPLES_KB+=("$kb")
    printf 'after %5d s: RSS %6.1f MiB\n' "$((i * SAMPLE_SECS))" "$(echo "$kb / 1024" | bc -l)"
done
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$PD/status")
printf '%s\n' "${SAMPLES_KB[@]}" | awk -v hwm="$hwm" '
    { v[NR] = $1; if (NR == 1 || $1 > max) max = $1 }
    END {
        printf "RSS first sample %.1f MiB, last %.1f MiB, max %.1f MiB, growth first->last %+.1f MiB; peak (VmHWM) %.1f MiB\n",
            v[1] / 1024, v[NR] / 1024, max / 1024, (v[NR] - v[1]) / 1024, hwm / 1024
    }'
tmux -L "$SOCK" capture-pane -p | head -12
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
