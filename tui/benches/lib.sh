# Shared set-up of the dashboard benches (sourced, not run): a temp dir and a cleanup
# that ends everything started (by pid) and the bench's tmux server, and the stack the
# dashboards watch: promdash-service under 50 requests/s and a real Prometheus scraping
# it every second, on free loopback ports.
#
#   . "$(dirname "$0")/lib.sh"
#   bench_init promdash-cpu        # TMP, PIDS, SOCK (tmux socket), cleanup on exit
#   start_stack 180                # SVC_PORT, PROM_PORT, URL; load runs for 180 s
#
# A bench may define `before_cleanup` (run first on exit) and may fill "$TMP/data"
# before start_stack (Prometheus then opens those blocks).

BIN=target/release

bench_init() {
    TMP=$(mktemp -d)
    SOCK="$1-$$"
    PIDS=()
    trap bench_cleanup EXIT
}

bench_cleanup() {
    if declare -F before_cleanup >/dev/null; then before_cleanup; fi
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_stack LOAD_SECONDS: service (20 ms ± 10 ms latency, 1% errors), Prometheus
# scraping it every second (waited for until ready), and 50 requests/s of load.
start_stack() {
    SVC_PORT=$(free_port)
    PROM_PORT=$(free_port)
    URL="http://127.0.0.1:$PROM_PORT"
    "$BIN/promdash-service" --listen "127.0.0.1:$SVC_PORT" --latency-ms 20 --jitter-ms 10 \
        --error-rate 0.01 >"$TMP/service.log" 2>&1 &
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
    local ready=""
    for _ in $(seq 150); do
        curl -fs "$URL/-/ready" >/dev/null 2>&1 && { ready=1; break; }
        sleep 0.2
    done
    [ -n "$ready" ] || { echo "Prometheus did not get ready; its log:"; cat "$TMP/prometheus.log"; exit 1; }
    "$BIN/promdash-service" load --target "http://127.0.0.1:$SVC_PORT/process" --rps 50 \
        --duration "$1s" >"$TMP/load.log" 2>&1 &
    PIDS+=($!)
}
