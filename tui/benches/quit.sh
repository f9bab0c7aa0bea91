#!/usr/bin/env bash
# How long `q` takes with a 10,000-panel dashboard whose every request hangs (issue 18
# item 5: at most 200 ms whatever is in flight), and how many connections promdash holds
# open meanwhile (bounded by --max-in-flight, default 16).
#
#   tui/benches/quit.sh [ROUNDS] [PANELS]      (defaults 5 and 10000; needs tmux, python3)
#
# PROMDASH_BIN picks the binary (default: target/release/promdash, built here). The server
# is a Python one on a free loopback port that answers the API's status calls at once and
# holds every query for 60 s; it stops by itself after 10 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS="${1:-5}"
PANELS="${2:-10000}"
BIN="${PROMDASH_BIN:-}"
if [ -z "$BIN" ]; then
    cargo build --release --quiet -p promdash
    BIN=target/release/promdash
fi
TMP=$(mktemp -d)
SOCK="promdash-quit-$$"
SERVER=""
cleanup() {
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

cat >"$TMP/slow.py" <<'PY'
import http.server, json, select, socket, sys, threading, time
open_now = 0
most = 0
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def reply(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        global open_now, most
        if self.path.startswith("/most"):
            self.reply({"most": most})
            return
        if self.path.startswith("/reset"):
            with lock:
                most = open_now
            self.reply({"most": most})
            return
        if not self.path.startswith("/api/v1/query"):
            self.reply({"status": "success", "data": {}})
            return
        with lock:
            open_now += 1
            most = max(most, open_now)
        try:
            # Hold the query for 60 s, or until the client hangs up.
            for _ in range(600):
                ready, _, _ = select.select([self.connection], [], [], 0.1)
                if ready and self.connection.recv(1, socket.MSG_PEEK) == b"":
                    return
            self.reply({"status": "success", "data": {"resultType": "vector", "result": []}})
        except OSError:
            pass
        finally:
            with lock:
                open_now -= 1
    do_POST = do_GET
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
print(srv.server_address[1], flush=True)
threading.Timer(600, srv.shutdown).start()
srv.serve_forever()
PY
python3 "$TMP/slow.py" >"$TMP/port" &
SERVER=$!
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
PORT=$(cat "$TMP/port")
URL="http://127.0.0.1:$PORT"

{
    echo 'title = "Ten thousand panels"'
    for i in $(seq "$PANELS"); do
        printf '[[panels]]\ntitle = "p%d"\nkind = "graph"\nquery = "up{p=\\"%d\\"}"\nwidth = 3\n' "$i" "$i"
    done
} >"$TMP/dash.toml"

printf 'binary %s, %d panels, every query held 60 s\n' "$BIN" "$PANELS"
for round in $(seq "$ROUNDS"); do
    # Wait for the previous round's connections to be gone.
    for _ in $(seq 100); do
        [ "$(curl -s "$URL/reset" | python3 -c 'import json,sys; print(json.load(sys.stdin)["most"])')" = 0 ] && break
        sleep 0.1
    done
    tmux -L "$SOCK" -f /dev/null new-session -d -x 200 -y 50 \
        "$BIN --url $URL --dashboard $TMP/dash.toml --log-file $TMP/promdash.log"
    PD=""
    for _ in $(seq 200); do
        PD=$(tmux -L "$SOCK" list-panes -F '#{pane_pid}' 2>/dev/null || true)
        [ -n "$PD" ] && break
        sleep 0.05
    done
    # Wait until requests are hanging at the server, then some more.
    for _ in $(seq 200); do
        most=$(curl -s "$URL/most" | python3 -c 'import json,sys; print(json.load(sys.stdin)["most"])')
        [ "$most" -gt 0 ] && break
        sleep 0.05
    done
    # Past start-up (the first round of 10,000 requests queued): a steady state.
    sleep "${SETTLE:-5}"
    t0=$(date +%s%N)
    tmux -L "$SOCK" send-keys q
    # Gone, or a zombie tmux has not reaped yet.
    while [ -e "/proc/$PD" ] && [ "$(awk '{print $3}' "/proc/$PD/stat" 2>/dev/null)" != Z ]; do
        sleep 0.002
    done
    t1=$(date +%s%N)
    most=$(curl -s "$URL/most" | python3 -c 'import json,sys; print(json.load(sys.stdin)["most"])')
    printf 'round %d: q to exit %d ms; most queries open at the server at once %d\n' \
        "$round" "$(((t1 - t0) / 1000000))" "$most"
    tmux -L "$SOCK" kill-server 2>/dev/null || true
done
