#!/usr/bin/env bash
# Try promdash: the reference service under load, a real Prometheus scraping it, and the
# dashboard on top. Press `f` to toggle a latency fault (the p95 alert goes PENDING, then
# FIRING), `?` for every key, `q` to quit.
#
# Installs Prometheus with apt-get when it is missing and this is Debian/Ubuntu run as
# root; otherwise says how to install it. Extra arguments go to `promdash demo`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v prometheus >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing Prometheus (apt-get install prometheus)…" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
    else
        echo "Prometheus is not installed. Debian/Ubuntu: sudo apt-get install prometheus;" \
             "macOS: brew install prometheus. Or pass --prometheus-bin PATH." >&2
        exit 1
    fi
fi

exec cargo run --release -p promdash -- demo "$@"
