#!/usr/bin/env bash
# The chart's pods run from the image with podman, the way the rendered objects say. For each
# values file: tests/image/pod_plan.mjs renders the chart and resolves the agent container of
# the DaemonSet and the coordinator of the `helm test` Job (every Kubernetes stand-in is
# there); this script is the podman runner of that plan. Each pod gets a network namespace of
# its own (eth0 on a bridge in a "node" namespace, where the probes come from, as kubelet's
# do). Checked, with no RDMA device on this host:
#   - the coordinator pod starts first, as `helm test` may, with its user, fsGroup, no
#     capability, no_new_privs and read-only root, and waits for the agents;
#   - every agent starts with the plan's user, exactly its capabilities (IPC_LOCK only unless
#     privileged), no_new_privs, read-only root; its readiness probe (/healthz) passes;
#     /v1/inventory refuses a request without the token and answers one with it, naming its
#     node and pod (the downward API and env stand-ins) and no RDMA interface;
#   - the coordinator finds every agent through the headless Service's name, then stops with
#     exit 2 and "no rail" (docs/cluster.md: could not run). Its log (as `kubectl logs` gives
#     it) is kept in WORK/VALUES/coordinator.log.
# Usage: tests/image/pods_test.sh [--keep] [VALUES.yaml...]   (default: tests/chart/values/*)
# Needs root, the image (scripts/image build, run here: cached) and the chart tools
# (scripts/install-chart-tools). Env: IMAGE_TEST_DIR (default <repo>/.lab, git-ignored).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
# shellcheck source=tests/image/lib.sh
. tests/image/lib.sh
keep=0 files=()
while (($#)); do
  case $1 in
    --keep) keep=1 ;;
    -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "pods_test.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) files+=("$1") ;;
  esac
  shift
done
[ ${#files[@]} -gt 0 ] || files=(tests/chart/values/*.yaml)
[ "$(id -u)" = 0 ] || { echo "pods_test.sh: needs root (podman, network namespaces)" >&2; exit 2; }

ref=$(scripts/image build)
image_uid=$(scripts/image podman image inspect --format '{{.Config.User}}' "$ref" | cut -d: -f1)
id=rcimg$$
mkdir -p "${IMAGE_TEST_DIR:-$repo/.lab}"
work=$(mktemp -d "${IMAGE_TEST_DIR:-$repo/.lab}/image-pods.XXXXXX")
pm() { scripts/image podman "$@"; }
ulimits=(--ulimit nofile=1024:1024 --ulimit nproc=1000:1000)
nodes=2 node_ip=10.244.0.1
pod_ip() { echo "10.244.0.$((10 + $1))"; }
coord_ip=10.244.0.100

cleanup() {
  local c
  for c in $(pm ps -aq --filter "label=railcheck.test=$id" 2>/dev/null); do pm rm -f -t 0 "$c" >/dev/null 2>&1 || true; done
  net_down
  if ((keep)); then echo "pods_test.sh: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The pods' network: namespace $id-node holds bridge br0 ($node_ip/24); pod I's namespace
# $id-pI and the coordinator's $id-c each have eth0 on it.
net_up() {
  ip netns add "$id-node"
  ip -n "$id-node" link add br0 type bridge
  ip -n "$id-node" addr add "$node_ip/24" dev br0
  ip -n "$id-node" link set br0 up
  ip -n "$id-node" link set lo up
  local i ns ip
  for i in $(seq 0 $((nodes - 1))) c; do
    if [ "$i" = c ]; then ns=$id-c ip=$coord_ip; else ns=$id-p$i ip=$(pod_ip "$i"); fi
    ip netns add "$ns"
    ip -n "$id-node" link add "v$i" type veth peer name eth0 netns "$ns"
    ip -n "$id-node" link set "v$i" master br0 up
    ip -n "$ns" addr add "$ip/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
  done
}
net_down() {
  local ns
  for ns in $(ip netns list | awk -v p="^$id-" '$1 ~ p {print $1}'); do ip netns del "$ns" 2>/dev/null || true; done
}

# podman_args CONTAINER_JSON NETNS NAME: `podman run` for one container of the plan. The
# runner only translates what the plan resolved; it stands in for nothing itself.
podman_args() {
  local c=$1 ns=$2 name=$3 v
  args=(run -d --name "$name" --label "railcheck.test=$id" --pull=never "${ulimits[@]}"
        --network "ns:/run/netns/$ns" --hostname "$(jq -r .hostname <<<"$c")")
  [ "$(jq -r .hostNetwork <<<"$c")" != true ] || { echo "hostNetwork is not run here"; return 1; }
  v=$(jq -r '.user // empty' <<<"$c")
  [ -z "$v" ] || args+=(--user "$v$(jq -r '.group // empty | ":\(.)"' <<<"$c")")
  for v in $(jq -r '.supplementalGroups[]' <<<"$c"); do args+=(--group-add "$v"); done
  if [ "$(jq -r .privileged <<<"$c")" = true ]; then args+=(--privileged)
  else
    args+=(--cap-drop ALL)
    for v in $(jq -r '.capabilities[]' <<<"$c"); do args+=(--cap-add "$v"); done
  fi
  [ "$(jq -r .noNewPrivileges <<<"$c")" != true ] || args+=(--security-opt no-new-privileges)
  [ "$(jq -r .readOnlyRootFilesystem <<<"$c")" != true ] || args+=(--read-only --read-only-tmpfs=false)
  while IFS=$'\t' read -r src dst ro; do
    args+=(--volume "$src:$dst:$([ "$ro" = true ] && echo ro || echo rw)")
  done < <(jq -r '.mounts[] | [.source, .target, .readOnly] | @tsv' <<<"$c")
  while IFS= read -r v; do args+=(--env "$v"); done < <(jq -r '.env | to_entries[] | "\(.key)=\(.value)"' <<<"$c")
  v=$(jq -r '.limits.memory // empty | sub("Ki$"; "k") | sub("Mi$"; "m") | sub("Gi$"; "g")' <<<"$c")
  [ -z "$v" ] || args+=(--memory "$v")
  v=$(jq -r '.limits.cpu // empty | tostring | if endswith("m") then (.[:-1] | tonumber / 1000 | tostring) else . end' <<<"$c")
  [ -z "$v" ] || args+=(--cpus "$v")
  if [ "$(jq -r '.command != null' <<<"$c")" = true ]; then args+=(--entrypoint "$(jq -c .command <<<"$c")"); fi
  args+=("$(jq -r .image <<<"$c")")
  while IFS= read -r v; do args+=("$v"); done < <(jq -r '.args[]' <<<"$c")
}

start() {  # CONTAINER_JSON NETNS NAME: prints the container's main PID
  local args
  podman_args "$1" "$2" "$3" || return 1
  pm "${args[@]}" >/dev/null
  pm inspect --format '{{.State.Pid}}' "$3"
}

http() {  # URL [TOKEN]: the HTTP status, and the body in $work/body, from the node namespace
  local auth=()
  [ -z "${2:-}" ] || auth=(-H "Authorization: Bearer $2")
  ip netns exec "$id-node" curl -s -o "$work/body" -w '%{http_code}' --max-time 5 "${auth[@]}" "$1" || true
}

run_values() {  # VALUES.yaml: one chart rendering, its pods run and checked
  local f=$1 label dir plan set=() token c pid i ip port path code waited rc expect
  label=$(basename "$f" .yaml)
  dir=$work/$label
  expect=$(node -e 'const y=require(process.argv[1]).load(require("fs").readFileSync(process.argv[2],"utf8"))||{};
                    console.log((y.coordinator||{}).expectNodes||0)' \
           "$(scripts/install-chart-tools --print-dir)/node/node_modules/js-yaml" "$f")
  # A values file expecting more nodes than run here would only make the coordinator wait.
  if ((expect > nodes)); then set=(--set "coordinator.expectNodes=$nodes"); fi
  local ips=() ; for ((i = 0; i < nodes; i++)); do ips+=("$(pod_ip "$i")"); done
  if ! node tests/image/pod_plan.mjs --out "$dir" --image "$ref" --values "$f" "${set[@]}" \
         --pod-ips "$(IFS=,; echo "${ips[*]}")" --coordinator-ip "$coord_ip" 2>"$work/plan.err"; then
    not_ok "$label: the chart renders into a plan" "$(cat "$work/plan.err")"
    return
  fi
  plan=$dir/plan.json
  ok "$label: rendered: $(jq -c '{release, service: .service.name}' "$plan")${set[*]:+ (${set[*]})}"
  token=$(jq -r .token "$plan")

  # helm test's pod may start before the agents are ready: the coordinator waits for them.
  c=$(jq -c .coordinator "$plan")
  if ! pid=$(start "$c" "$id-c" "$id-$label-coordinator" 2>&1); then
    not_ok "$label: the coordinator container starts" "$pid"
    return
  fi
  ok "$label: the coordinator container starts ($(jq -r '.args | join(" ")' <<<"$c"))"
  check_process "$label: coordinator" "$pid" "$c"

  for ((i = 0; i < nodes; i++)); do
    c=$(jq -c ".agents[$i]" "$plan")
    ip=$(jq -r .ip <<<"$c")
    if ! pid=$(start "$c" "$id-p$i" "$id-$label-agent-$i" 2>&1); then
      not_ok "$label: agent $i starts" "$pid"
      continue
    fi
    port=$(jq -r '.readinessProbe.port' <<<"$c") path=$(jq -r '.readinessProbe.path' <<<"$c")
    for ((waited = 0; waited < 60; waited++)); do
      code=$(http "http://$ip:$port$path")
      [ "$code" != 200 ] || break
      sleep 0.5
    done
    if [ "$code" = 200 ]; then ok "$label: agent $i is ready: GET $path on $ip:$port (the readiness probe) answers 200"
    else not_ok "$label: agent $i is ready (GET $path on $ip:$port)" "HTTP ${code:-none} after 30 s" \
           "$(pm logs "$id-$label-agent-$i" 2>&1 | tail -n 5)"; continue; fi
    check_process "$label: agent $i" "$pid" "$c"
    check "$label: agent $i's podinfo annotations are the pod template's (downward API)" \
      cmp "/proc/$pid/root/etc/podinfo/annotations" "$(jq -r '.mounts[] | select(.target == "/etc/podinfo") | .source' <<<"$c")/annotations"
    code=$(http "http://$ip:$port/v1/inventory")
    [ "$code" = 401 ] && ok "$label: agent $i refuses /v1/inventory without the token (401)" ||
      not_ok "$label: agent $i refuses /v1/inventory without the token" "HTTP $code"
    code=$(http "http://$ip:$port/v1/inventory" "$token")
    if [ "$code" = 200 ] && jq -e --arg n "$(jq -r .node <<<"$c")" --arg p "$(jq -r .pod <<<"$c")" \
         '.node == $n and .pod == $p and ([.interfaces[]? | select(.rdma_device // "" != "")] | length == 0)' \
         "$work/body" >/dev/null 2>&1; then
      ok "$label: agent $i's /v1/inventory with the token: node $(jq -r .node "$work/body"), pod $(jq -r .pod "$work/body"), no RDMA interface"
    else
      not_ok "$label: agent $i's /v1/inventory with the token names its node and pod" "HTTP $code: $(head -c 300 "$work/body")"
    fi
  done

  rc=$(timeout 180 scripts/image podman wait "$id-$label-coordinator" 2>&1) || rc="none (still running after 180 s)"
  pm logs "$id-$label-coordinator" >"$dir/coordinator.log" 2>&1 || true
  # Here, later: railcheck report --from-log "$dir/coordinator.log" (what `kubectl logs` gives).
  if [ "$rc" = 2 ] && grep -q "could not run: no rail" "$dir/coordinator.log" &&
     grep -q "^$nodes agent(s), $nodes answering" "$dir/coordinator.log"; then
    ok "$label: the coordinator found the $nodes agents through ${set[*]:+}$(jq -r .service.name "$plan") and stops with 2: $(grep -o 'no rail:.*' "$dir/coordinator.log" | head -n 1)"
  else
    not_ok "$label: the coordinator finds the agents and stops with 2 (no rail)" "exit $rc" "$(tail -n 8 "$dir/coordinator.log")"
  fi
  for c in $(pm ps -aq --filter "label=railcheck.test=$id"); do pm rm -f -t 0 "$c" >/dev/null 2>&1 || true; done
}

net_up
ok "image $ref (USER uid $image_uid); pods on 10.244.0.0/24 in namespaces $id-*"
for f in "${files[@]}"; do run_values "$f"; done
[ "$image_failed" = 0 ] && echo "pods: all checks passed" || echo "pods: some checks failed"
exit "$image_failed"
