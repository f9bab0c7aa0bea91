#!/usr/bin/env bash
# The project's test command: installs the real servers the end-to-end tests run against
# (if missing), then runs the format check, clippy with -D warnings and every test.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Run as root, or through sudo when not root.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    else
        sudo "$@"
    fi
}

# binary -> Debian package
declare -A packages=(
    [prometheus]=prometheus
    [promtool]=prometheus
    [victoria-metrics]=victoria-metrics
    [prometheus-alertmanager]=prometheus-alertmanager
    [tmux]=tmux
    [wrk]=wrk
    [nginx]=nginx
    [prlimit]=util-linux
    [openssl]=openssl
    [prometheus-node-exporter]=prometheus-node-exporter
    [python3]=python3
)
# Python module -> Debian package (tests/exporter/exporter.py, the second exporter of the
# scrape tests)
declare -A python_modules=(
    [prometheus_client]=python3-prometheus-client
)
missing=()
for bin in "${!packages[@]}"; do
    if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "/usr/bin/$bin" ]; then
        missing+=("${packages[$bin]}")
    fi
done
# data file -> Debian package (real third-party files the tests load)
declare -A data_packages=(
    [/etc/grafana/dashboards/ceph-dashboard/host-details.json]=ceph-grafana-dashboards
)
for file in "${!data_packages[@]}"; do
    if [ ! -e "$file" ]; then
        missing+=("${data_packages[$file]}")
    fi
done
# Debian's python3 (where its packages install), as the tests run it.
python=/usr/bin/python3
[ -x "$python" ] || python=python3
for module in "${!python_modules[@]}"; do
    if ! "$python" -c "import ${module}" >/dev/null 2>&1; then
        missing+=("${python_modules[$module]}")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    # De-duplicate the package list.
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    echo "==> installing ${missing[*]}"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

for component in rustfmt clippy; do
    if command -v rustup >/dev/null 2>&1 &&
        ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
        echo "==> rustup component add ${component}"
        rustup component add "${component}"
    fi
done

echo "==> cargo fmt --all --check"
cargo fmt --all --check
echo "==> cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
echo "==> cargo test --workspace --no-fail-fast"
cargo test --workspace --no-fail-fast
