#!/usr/bin/env bash
# Issue 14: a generated 140-panel, 280-query Grafana dashboard against the built-in
# 8-panel dashboard, in the same run, at a 5 s refresh against Prometheus 2.42 scraping
# promdash-service under load: promdash's CPU time per minute (target: the large one
# <= 1.5x the built-in one) and requests per refresh counted at a proxy (target: the
# distinct expressions of the panels on screen). Used for docs/BENCHMARKS.md.
#
#   [PROFILE=debug] tui/benches/grafana_cpu.sh [SECONDS] [ROUNDS]
#   (default: release build, 60 s, 2 rounds; needs prometheus and tmux)
#   PROMDASH_BIN=/path/to/promdash tui/benches/grafana_cpu.sh ...: that binary instead
#   (e.g. a copy of an earlier build, to compare before and after a change)
# See tests/examples/grafana_refresh_cpu.rs for what each phase does.
set -euo pipefail
cd "$(dirname "$0")/../.."
PROFILE="${PROFILE:-release}"   # PROFILE=debug: the dev build (no release build at hand)
FLAG=--release; DIR=release
[ "$PROFILE" = release ] || { FLAG=; DIR=debug; }
# The promdash binary and the example (`--example` alone builds no binary).
cargo build $FLAG --quiet -p promdash --bin promdash
cargo build $FLAG --quiet -p promdash-tests --example grafana_refresh_cpu
PROMDASH_BIN="${PROMDASH_BIN:-$PWD/target/$DIR/promdash}" "target/$DIR/examples/grafana_refresh_cpu" "${1:-60}" "${2:-2}"
