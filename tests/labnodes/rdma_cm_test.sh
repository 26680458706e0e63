#!/usr/bin/env bash
# railcheck with --rdma-cm between two lab guests ("nodes": inside one guest rdma_cm would
# silently run device-to-itself). Node 0 serves; node 1 runs lat and bw (2 QPs) over rdma_cm.
# Prints ok/not ok per check and exits non-zero when any failed.
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
work=$(mktemp -d "$repo/build/rdma-cm-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@" >/dev/null 2>&1; then echo "ok - $name"; else echo "not ok - $name"; failed=1; fi
}

# Node 0 serves two clients (one at a time); node 1 retries until the server listens.
# shellcheck disable=SC2016 # expanded inside the guests
script='
if [ "$LAB_NODE" = 0 ]; then
  railcheck serve --device rxe_n0 --once && railcheck serve --device rxe_n0 --once
else
  try() { for _ in $(seq 60); do "$@" && return 0; sleep 1; done; return 1; }
  try railcheck lat 172.16.11.10 --device rxe_n1 --rdma-cm -n 100 --format json -o "$W/lat.json" --connect-timeout 2 &&
  try railcheck bw 172.16.11.10 --device rxe_n1 --rdma-cm --qps 2 -s 64K -n 100 --format json -o "$W/bw.json" --connect-timeout 2
fi'
RAILCHECK_W=$work lab/run -q --nodes 2 --timeout 600 -- "W=\$RAILCHECK_W; $script" >"$work/out.log" 2>&1
rc=$?
check "both nodes exit 0 (rc $rc)" test "$rc" = 0
[ "$rc" = 0 ] || sed 's/^/  # /' "$work/out.log"
check "lat JSON says rdma_cm" test "$(jq -r .meta.connection "$work/lat.json" 2>/dev/null)" = rdma_cm
check "lat counted 100 samples" test "$(jq -r '.records[0].latency_us.count' "$work/lat.json" 2>/dev/null)" = 100
check "lat p50 > 0" jq -e '.records[0].latency_us.p50 > 0' "$work/lat.json"
check "lat remote device is node 0's" test "$(jq -r .records[0].dst.device "$work/lat.json" 2>/dev/null)" = rxe_n0
check "bw JSON says rdma_cm" test "$(jq -r .meta.connection "$work/bw.json" 2>/dev/null)" = rdma_cm
check "bw moved 200 messages over 2 QPs" test "$(jq -r '.records[0].bandwidth.messages' "$work/bw.json" 2>/dev/null)" = 200
check "bw average > 0" jq -e '.records[0].bandwidth.avg_gbps > 0' "$work/bw.json"
check "path MTU from rdma_cm" jq -e '.notes[] | select(startswith("path MTU")) | ltrimstr("path MTU ") | split(" ")[0] | tonumber >= 256' "$work/bw.json"
[ "$failed" = 0 ] && echo "rdma_cm: all checks passed" || echo "rdma_cm: some checks failed"
exit "$failed"
