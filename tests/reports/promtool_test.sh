#!/usr/bin/env bash
# Renders the fixture's Prometheus text with the real binary and runs `promtool check metrics`
# on it (lint included). Skipped (77) when promtool is not installed; scripts/install-deps
# installs it from Debian's prometheus package. Usage: promtool_test.sh RAILCHECK FIXTURE OUTDIR
set -uo pipefail
bin=$1 fixture=$2 out=$3
if ! command -v promtool >/dev/null; then
  echo "SKIP: promtool not found (scripts/install-deps installs it); prometheus_test covers the format" >&2
  exit 77
fi
rm -rf "$out" && mkdir -p "$out"
"$bin" report "$fixture" --format prometheus -o "$out" 2>/dev/null
[ -s "$out/metrics.prom" ] || { echo "no metrics.prom written" >&2; exit 1; }
promtool check metrics <"$out/metrics.prom" || exit 1
echo "metrics.prom passes promtool check metrics"
