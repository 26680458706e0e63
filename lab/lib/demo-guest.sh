#!/usr/bin/env bash
# Runs inside the lab for lab/demo (needs $LAB_MAP and railcheck on PATH): the cluster run as
# the chart does it. An agent in every pod (each reading its own podinfo annotation and the
# shared token), the coordinator in pod0 running every rail's all-pairs matrix, the report in
# every format in $1 (default ./railcheck-report).
set -euo pipefail
out=${1:-railcheck-report}
iters=${RAILCHECK_DEMO_ITERS:-300}
mkdir -p "$out"
pod() { jq -r ".pods[$1].$2" "$LAB_MAP"; }
n=$(jq '.pods | length' "$LAB_MAP")

token=/run/railcheck-demo/token
mkdir -p "$(dirname "$token")"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$token"

echo "== pod0's rail map (railcheck topo) and setup checks (railcheck check)"
ip netns exec pod0 railcheck topo --podinfo "$(pod 0 podinfo)" || true
echo "(in the lab the rail netdevs and their policy rules stay in the host namespace, since rxe"
echo " devices cannot move: from inside a pod the routing checks fail, as they should)"
ip netns exec pod0 railcheck check --podinfo "$(pod 0 podinfo)" || true

echo; echo "== starting an agent in each of the $n pods"
agents=() pids=()
for ((i = 0; i < n; i++)); do
  ip netns exec "pod$i" railcheck agent --listen "$(pod "$i" eth0)" --podinfo "$(pod "$i" podinfo)" \
      --node "node-$i" --pod "rdma-tools-$i" --token-file "$token" >"$out/agent-$i.log" 2>&1 &
  pids+=($!)
  agents+=("$(pod "$i" eth0):7400")
done
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
list=$(IFS=,; echo "${agents[*]}")

echo; echo "== railcheck coordinator --agents $list --profile lab"
status=0
ip netns exec pod0 railcheck coordinator --agents "$list" --token-file "$token" --wait 30 \
    --tests write_lat,write_bw -n "$iters" --timeout 20 --profile lab -o "$out" || status=$?
echo; echo "== every format is in $out/: report.txt, results.json, junit.xml, report.html, metrics.prom"
exit $status
