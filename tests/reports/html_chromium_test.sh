#!/usr/bin/env bash
# Renders the fixture's HTML report with the real binary and opens it in headless Chromium
# (html_check.mjs): one heatmap per rail and metric, no console errors, no sideways scrolling
# at 1440 px, printable. Leaves report.html, report.png and report.pdf in OUTDIR.
# Skipped (77) only when no Chromium is installed (scripts/install-deps installs Debian's).
# Usage: html_chromium_test.sh RAILCHECK FIXTURE OUTDIR CHECK_SCRIPT
set -uo pipefail
bin=$1 fixture=$2 out=$3 check=$4
chromium=""
for c in chromium chromium-browser google-chrome; do
  if command -v "$c" >/dev/null; then chromium=$(command -v "$c"); break; fi
done
if [ -z "$chromium" ]; then
  echo "SKIP: no chromium installed (scripts/install-deps installs Debian's chromium)" >&2
  exit 77
fi
command -v node >/dev/null || { echo "node not found: install nodejs (scripts/install-deps does)" >&2; exit 1; }
rm -rf "$out" && mkdir -p "$out"
"$bin" report "$fixture" --format html -o "$out" 2>/dev/null
[ -s "$out/report.html" ] || { echo "no report.html written" >&2; exit 1; }
rails=$(grep -o 'data-rail="[^"]*" data-metric="bandwidth"' "$out/report.html" | sed 's/data-rail="\([^"]*\)".*/\1/' |
        sort -u | paste -sd, -)
# The fixture's rails, named here so that a page with none would fail rather than pass.
[ "$rails" = "rail-1,rail-2" ] || { echo "the page names rails '$rails', want rail-1,rail-2" >&2; exit 1; }
exec node "$check" "$chromium" "$out/report.html" "$out/report.png" "$out/report.pdf" "$rails"
