#!/usr/bin/env bash
# Resident memory of the dashboard when every query of a 40-panel dashboard is answered
# with 20,000 series, each with a label name of its own (about 1.2 MB of JSON per answer):
# the case of issue 18 item 4, where the first version grew to 2.7 GB. --memory-budget
# (default 256 MiB) bounds what the panels hold together.
#
#   tui/benches/memory_wide.sh [SECONDS] [BUDGET]   (defaults 180 and the default budget)
#
# PROMDASH_BIN picks the binary (default: target/release/promdash, built here). Prints the
# RSS every 15 s, then the peak. The server is Python on a free loopback port and stops by
# itself after SECONDS + 60 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS="${1:-180}"
BUDGET="${2:-}"
BIN="${PROMDASH_BIN:-}"
if [ -z "$BIN" ]; then
    cargo build --release --quiet -p promdash
    BIN=target/release/promdash
fi
TMP=$(mktemp -d)
SOCK="promdash-memwide-$$"
SERVER=""
cleanup() {
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

cat >"$TMP/wide.py" <<'PY'
import http.server, json, sys, threading, time
SERIES = 20000
def answer(kind, now):
    result = []
    for i in range(SERIES):
        metric = {"__name__": "wide", "label_%05d" % i: "value-%d" % i}
        if kind == "matrix":
            result.append({"metric": metric, "values": [[now - 60, "1"], [now, str(i)]]})
        else:
            result.append({"metric": metric, "value": [now, str(i)]})
    return json.dumps({"status": "success", "data": {"resultType": kind, "result": result}}).encode()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        now = time.time()
        if self.path.startswith("/api/v1/query_range"):
            body = answer("matrix", now)
        elif self.path.startswith("/api/v1/query"):
            body = answer("vector", now)
        else:
            body = b'{"status":"success","data":{}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_POST = do_GET
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
print(srv.server_address[1], flush=True)
threading.Timer(float(sys.argv[1]), srv.shutdown).start()
srv.serve_forever()
PY
python3 "$TMP/wide.py" "$((SECS + 60))" >"$TMP/port" &
SERVER=$!
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
URL="http://127.0.0.1:$(cat "$TMP/port")"
{
    echo 'title = "Wide answers"'
    for i in $(seq 40); do
        kind=graph
        [ $((i % 4)) = 0 ] && kind=stat
        printf '[[panels]]\ntitle = "p%d"\nkind = "%s"\nquery = "wide{p=\\"%d\\"}"\nwidth = 3\n' "$i" "$kind" "$i"
    done
} >"$TMP/dash.toml"
extra=()
[ -n "$BUDGET" ] && extra=(--memory-budget "$BUDGET")
tmux -L "$SOCK" -f /dev/null new-session -d -x 200 -y 60 \
    "$BIN --url $URL --dashboard $TMP/dash.toml --refresh 5s --log-file $TMP/promdash.log ${extra[*]}"
PD=""
for _ in $(seq 200); do
    PD=$(tmux -L "$SOCK" list-panes -F '#{pane_pid}' 2>/dev/null || true)
    [ -n "$PD" ] && break
    sleep 0.05
done
printf 'binary %s, budget %s, 40 panels x 20,000 series with distinct label names\n' "$BIN" "${BUDGET:-default}"
for t in $(seq 15 15 "$SECS"); do
    sleep 15
    [ -e "/proc/$PD" ] || { echo "promdash exited"; exit 1; }
    printf '%4d s  RSS %s\n' "$t" "$(awk '/VmRSS/ {print $2, $3}' "/proc/$PD/status")"
done
echo "peak RSS $(awk '/VmHWM/ {print $2, $3}' "/proc/$PD/status")"
