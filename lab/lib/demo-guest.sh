#!/usr/bin/env bash
# Runs inside the lab for lab/demo (needs $LAB_MAP and railcheck on PATH).
set -euo pipefail
out=railcheck-results
mkdir -p "$out"
pod() { jq -r ".pods[$1].$2" "$LAB_MAP"; }
n=$(jq '.pods | length' "$LAB_MAP")
rails=$(jq '.pods[0].rails | length' "$LAB_MAP")

for ((i = 0; i < n; i++)); do
  echo; echo "== railcheck devices, in pod$i"
  ip netns exec "pod$i" railcheck devices
done

server_ip=$(pod 1 eth0)
status=0
for ((r = 0; r < rails; r++)); do
  rail=$(jq -r ".pods[0].rails[$r].interface" "$LAB_MAP")
  echo; echo "== rail $rail: pod0 -> pod1"
  ip netns exec pod1 railcheck serve --rail "$rail" --podinfo "$(pod 1 podinfo)" >"$out/serve-$rail.log" 2>&1 &
  srv=$!
  for ((w = 0; w < 100; w++)); do grep -q listening "$out/serve-$rail.log" && break; sleep 0.1; done
  for t in lat bw; do
    # shellcheck disable=SC2054 # the commas are part of the size lists
    if [ "$t" = lat ]; then extra=(-s 2,4K -n 2000); else extra=(-s 64K,1M -n 200); fi
    ip netns exec pod0 railcheck "$t" "$server_ip" --rail "$rail" --podinfo "$(pod 0 podinfo)" \
        "${extra[@]}" --format json -o "$out/$t-$rail.json" || status=1
    ip netns exec pod0 jq -r --arg t "$t" '
      .records[] | if $t == "lat"
        then "  lat write \(.size_bytes) B: p50 \(.latency_us.p50 * 100 | round / 100) us, p99 \(.latency_us.p99 * 100 | round / 100) us, max \(.latency_us.max * 100 | round / 100) us"
        else "  bw write \(.size_bytes) B: avg \(.bandwidth.avg_gbps * 1000 | round / 1000) Gb/s, peak \(.bandwidth.peak_gbps * 1000 | round / 1000) Gb/s" end' \
        "$out/$t-$rail.json" 2>/dev/null || true
  done
  kill "$srv"; wait "$srv" 2>/dev/null || true
done
echo; echo "== report over every rail, judged with the lab profile (Soft-RoCE under qemu)"
railcheck report "$out"/lat-*.json "$out"/bw-*.json --profile lab || status=1
railcheck report "$out"/lat-*.json "$out"/bw-*.json --profile lab -o "$out/report" \
  --format terminal,json,junit,html,prometheus 2>/dev/null || true
echo; echo "== results: $out/ (schema railcheck.results/v1); every report format in $out/report/"
exit $status
