#!/usr/bin/env bash
# Every figure of issue 7 in one run on one machine, written to docs/BENCHMARKS.md
# (the section between the "bench.sh" markers, replaced on each run; the hand-written
# sections around it are kept). Not part of CI: a full run takes about 30 minutes
# (service 5 min, criterion benches 6 min, grafatui comparison 8 min, refresh 1 min,
# memory 11 min, idle CPU 2 min, builds aside). QUICK=1 cuts it to about 8 minutes
# with fewer rounds and shorter samples (figures for a smoke test, not for the docs).
#
#   scripts/bench.sh                 full run, writes docs/BENCHMARKS.md
#   QUICK=1 scripts/bench.sh         quick run
#   OUT=/tmp/b.md scripts/bench.sh   write the section to another file instead
#
# Installs what it needs: wrk, gunicorn, Flask, prometheus_client (apt, via
# bench-service.sh), prometheus and tmux (apt), grafatui 0.1.18 (cargo install --root
# target/bench-tools, unless GRAFATUI points at one).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

QUICK=${QUICK:-0}
OUT=${OUT:-docs/BENCHMARKS.md}
LOG=$(mktemp -d)
if [ "$QUICK" = 1 ]; then
    SERVICE_ENV=(ROUNDS=2 DURATION=3s WARMUP=1s)
    CRITERION=(--warm-up-time 1 --measurement-time 2)
    GRAFATUI_SECS=20 GRAFATUI_RUNS=1 REFRESH_ROUNDS=5 MEM_SECS=10 MEM_SAMPLES=3 CPU_SECS=15
else
    SERVICE_ENV=(ROUNDS=5 DURATION=10s WARMUP=2s)
    CRITERION=()
    GRAFATUI_SECS=60 GRAFATUI_RUNS=3 REFRESH_ROUNDS=15 MEM_SECS=60 MEM_SAMPLES=10 CPU_SECS=60
fi

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
need=()
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v bc >/dev/null 2>&1 || need+=(bc)
if [ "${#need[@]}" -gt 0 ]; then
    echo "==> installing ${need[*]}" >&2
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
fi
GRAFATUI=${GRAFATUI:-}
if [ -z "$GRAFATUI" ]; then
    if [ -x target/bench-tools/bin/grafatui ]; then
        GRAFATUI=$PWD/target/bench-tools/bin/grafatui
    else
        echo "==> cargo install grafatui --version 0.1.18 --root target/bench-tools" >&2
        cargo install grafatui --version 0.1.18 --locked --root target/bench-tools
        GRAFATUI=$PWD/target/bench-tools/bin/grafatui
    fi
fi
export GRAFATUI

started=$(date +%s)
step() { echo "==> $*" >&2; }
# A part that fails (a build broken meanwhile, a server that did not start) is reported
# and the run goes on with the others.
failed=()
part() { # name output-file command...
    local name=$1 out=$2
    shift 2
    if ! "$@" >"$out" 2>&1; then
        echo "!! $name failed; the end of its output:" >&2
        tail -5 "$out" >&2
        failed+=("$name")
    fi
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# Criterion: "name  time: [low mid high]" -> "| name | mid |" rows.
criterion_rows() {
    awk '
        /^Benchmarking|^Found|^Warning/ { next }
        /^ *change: *$/ { in_change = 1; next }
        /time:/ {
            if (in_change) { in_change = 0; next }
            pre = $0; sub(/ *time:.*/, "", pre); if (pre != "") name = pre
            line = $0; sub(/.*time: *\[/, "", line); split(line, v, " ")
            printf "| `%s` | %s %s |\n", name, v[3], v[4]
            next
        }
        /^[^ ]/ { name = $0; sub(/ +$/, "", name) }
    ' "$1"
}

# Decoding: time of IgnoredAny / time of promdash decode, per body.
decode_ratios() {
    criterion_rows "$1" | awk -F'|' '
        {
            n = $2; gsub(/[ `]/, "", n); split($3, a, " ")
            m = (a[2] == "ms") ? 1e6 : (a[2] == "µs" || a[2] == "us") ? 1e3 : (a[2] == "s") ? 1e9 : 1
            split(n, p, "/")
            if (n ~ /IgnoredAny/) ig[p[1]] = a[1] * m; else if (n ~ /decode/) de[p[1]] = a[1] * m
        }
        END { for (k in ig) if (k in de) printf "- %s: promdash decode at %.2fx the speed of IgnoredAny\n", k, ig[k] / de[k] }'
}

step "service throughput (scripts/bench-service.sh ${SERVICE_ENV[*]})"
load_service=$(loadavg)
part service "$LOG/service.txt" env "${SERVICE_ENV[@]}" scripts/bench-service.sh

step "criterion: /metrics with 10,000 series"
part "/metrics bench" "$LOG/render10k.txt" cargo bench -q -p promdash-service --bench service -- render "${CRITERION[@]}"
step "criterion: decoding"
load_decode=$(loadavg)
part "decode bench" "$LOG/decode.txt" cargo bench -q -p promdash-queries --bench decode -- "${CRITERION[@]}"
step "criterion: frame rendering"
load_render=$(loadavg)
part "render bench" "$LOG/render.txt" cargo bench -q -p promdash --bench render -- "${CRITERION[@]}"

step "promdash vs grafatui ($GRAFATUI_RUNS x ${GRAFATUI_SECS}s, twice)"
load_grafatui=$(loadavg)
part "grafatui (default dashboard)" "$LOG/grafatui.txt" \
    env ROUNDS="$GRAFATUI_RUNS" tui/benches/vs_grafatui.sh "$GRAFATUI_SECS"
# The same panels without the two alert rules: grafatui's dashboard has panels only.
awk '/^\[\[alerts\]\]/ { exit } { print }' dashboards/service.toml >"$LOG/panels.toml"
part "grafatui (panels only)" "$LOG/grafatui-panels.txt" \
    env ROUNDS="$GRAFATUI_RUNS" PROMDASH_DASHBOARD="$LOG/panels.toml" tui/benches/vs_grafatui.sh "$GRAFATUI_SECS"

step "refresh rounds"
part refresh "$LOG/refresh.txt" tui/benches/refresh.sh "$REFRESH_ROUNDS" 0 20

step "memory (${MEM_SAMPLES} samples every ${MEM_SECS}s)"
part memory "$LOG/memory.txt" env SAMPLE_SECS="$MEM_SECS" SAMPLES="$MEM_SAMPLES" tui/benches/memory.sh

step "idle CPU (tui/benches/cpu.sh $CPU_SECS)"
part "idle CPU" "$LOG/cpu.txt" tui/benches/cpu.sh "$CPU_SECS"

took=$(( $(date +%s) - started ))

# --- the section ---
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
gr_ratio() { awk '/^median CPU ratio/ { print $NF }' "$1"; }
gr_rss() { awk '/^peak RSS/ { print $4 " MiB vs grafatui " $7 " MiB" }' "$1"; }

section=$(mktemp)
{
    echo "<!-- bench.sh:begin (generated by scripts/bench.sh; edits here are overwritten) -->"
    echo "## Full run (\`scripts/bench.sh\`)"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $( [ "$QUICK" = 1 ] && echo 'QUICK=1 (short settings: smoke test only), ' )took $((took / 60)) min $((took % 60)) s."
    echo
    echo "Machine: $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r)."
    echo "Versions: $(rustc --version | cut -d' ' -f1-2), $(prometheus --version 2>&1 | head -1 | cut -d' ' -f1-3), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), gunicorn $(/usr/bin/gunicorn --version 2>&1 | awk '{ print $NF }' | tr -d '()'), grafatui $("$GRAFATUI" --version 2>/dev/null | awk '{ print $NF }'), axum-prometheus $(awk '/name = "axum-prometheus"/ { getline; print $3 }' Cargo.lock | tr -d '"')."
    echo "Other processes share the machine; load averages are given per part. Ratios are of figures measured side by side in the same run."
    if [ "${#failed[@]}" -gt 0 ]; then
        echo
        echo "**Parts that failed in this run** (their figures below are missing or partial): ${failed[*]}."
    fi
    echo
    echo "### Service (\`env ${SERVICE_ENV[*]} scripts/bench-service.sh\`, load $load_service)"
    echo
    sed -n '/^| server/,/^requests counted/p' "$LOG/service.txt"
    echo
    echo "### \`/metrics\` with 10,000 series (\`cargo bench -p promdash-service --bench service -- render\`)"
    echo
    echo "| bench | median |"
    echo "|---|---|"
    criterion_rows "$LOG/render10k.txt"
    echo
    echo "Target: under 20 ms."
    echo
    echo "### Decoding (\`cargo bench -p promdash-queries --bench decode\`, load $load_decode)"
    echo
    echo "| bench | median |"
    echo "|---|---|"
    criterion_rows "$LOG/decode.txt"
    echo
    decode_ratios "$LOG/decode.txt"
    echo
    echo "Target: promdash decode at least 0.5x the speed of IgnoredAny (time of IgnoredAny / time of decode)."
    echo
    echo "### Frame rendering (\`cargo bench -p promdash --bench render\`, load $load_render)"
    echo
    echo "| bench | median |"
    echo "|---|---|"
    criterion_rows "$LOG/render.txt"
    echo
    echo "Targets: \`forty_panels_240x70\` under 5 ms, \`graph_50x2000\` under 2 ms."
    echo
    echo "### Refresh round, 20 panels (\`tui/benches/refresh.sh $REFRESH_ROUNDS 0 20\`)"
    echo
    echo '```'
    grep -v '^round ' "$LOG/refresh.txt"
    echo '```'
    echo
    echo "Target: round wall time at most 1.25x its slowest query; requests per round = distinct (expression, range|instant) pairs."
    echo
    echo "### Against grafatui 0.1.18 (\`ROUNDS=$GRAFATUI_RUNS tui/benches/vs_grafatui.sh $GRAFATUI_SECS\`, load $load_grafatui)"
    echo
    echo "Built-in dashboard (8 panels and 2 alert rules evaluated every refresh):"
    echo
    echo '```'
    grep -E '^(window|  promdash|  grafatui|  CPU ratio|median|peak)' "$LOG/grafatui.txt"
    echo '```'
    echo
    echo "The same panels without the alert rules (grafatui's dashboard has panels only; \`PROMDASH_DASHBOARD=panels.toml\`):"
    echo
    echo '```'
    grep -E '^(window|  promdash|  grafatui|  CPU ratio|median|peak)' "$LOG/grafatui-panels.txt"
    echo '```'
    echo
    echo "Median CPU ratio promdash/grafatui: **$(gr_ratio "$LOG/grafatui.txt")** with the alert rules, **$(gr_ratio "$LOG/grafatui-panels.txt")** with the same panels only (target <= 0.5); peak RSS promdash $(gr_rss "$LOG/grafatui.txt") (target: no more)."
    echo
    echo "### Memory at a 24 h range (\`SAMPLE_SECS=$MEM_SECS SAMPLES=$MEM_SAMPLES tui/benches/memory.sh\`)"
    echo
    echo '```'
    grep -E '^(history|promdash pid|after|RSS first)' "$LOG/memory.txt"
    echo '```'
    echo
    echo "Target: under 30 MiB and not growing."
    echo
    echo "### Idle CPU (\`tui/benches/cpu.sh $CPU_SECS\`)"
    echo
    echo '```'
    cat "$LOG/cpu.txt"
    echo '```'
    echo "<!-- bench.sh:end -->"
} >"$section"

if [ -f "$OUT" ] && grep -q '<!-- bench.sh:begin' "$OUT"; then
    awk -v f="$section" '
        /<!-- bench.sh:begin/ { while ((getline l < f) > 0) print l; skip = 1; next }
        /<!-- bench.sh:end -->/ { skip = 0; next }
        !skip { print }
    ' "$OUT" >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"
else
    { [ -f "$OUT" ] && cat "$OUT" && echo; cat "$section"; } >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"
fi
rm -f "$section"
echo "wrote the bench.sh section of $OUT (raw output in $LOG); took $((took / 60)) min $((took % 60)) s" >&2
