#!/usr/bin/env bash
# Try promdash: the reference service under load, scraped by promdash's embedded engine,
# and the dashboard on top. Nothing to install. Press `f` to toggle a latency fault (the
# p95 alert goes PENDING, then FIRING), `?` for every key, `q` to quit.
#
# Extra arguments go to `promdash demo`. With `--prometheus` the demo runs a real
# Prometheus instead: it is installed with apt-get when missing and this is Debian/Ubuntu
# run as root; otherwise this says how to install it.
set -euo pipefail
cd "$(dirname "$0")/.."

for arg in "$@"; do
    if [ "$arg" = "--prometheus" ] && ! command -v prometheus >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "Installing Prometheus (apt-get install prometheus)…" >&2
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
        else
            echo "Prometheus is not installed. Debian/Ubuntu: sudo apt-get install prometheus;" \
                 "macOS: brew install prometheus. Or pass --prometheus-bin PATH," \
                 "or leave out --prometheus." >&2
            exit 1
        fi
    fi
done

exec cargo run --release -p promdash -- demo "$@"
