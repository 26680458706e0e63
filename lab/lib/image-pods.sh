#!/usr/bin/env bash
# Runs inside the lab for `lab/demo --image` (needs $LAB_MAP): the chart's pods from the image's
# exported root file system over the lab's rxe devices. The plan (tests/image/pod_plan.mjs,
# rendered on the host) says what each container is; image-pod-exec.sh starts one, chrooted
# into ROOT. Agent I runs in the lab's pod I namespace; the coordinator in a pod of its own
# (namespace rc-coord, eth0 on the pods' control bridge cbr0), started first, as `helm test`
# may, and waiting for the agents. Prints an "ok -"/"not ok -" line per check: each
# container's user, capabilities, no_new_privs, read-only root and root directory; each
# agent's readiness probe and inventory (its rxe devices); after the run, that the agents'
# verbs provider, libibverbs and hwloc are the image's (their /proc/PID/maps). The
# coordinator's log (what `kubectl logs` would give) is OUT/coordinator.log and is printed;
# its report files are copied into OUT.
# Exit status: the coordinator's; 1 if it passed but a check failed; 125 if a pod did not start.
# Usage: image-pods.sh ROOT PLAN.json OUT
set -euo pipefail
lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=${1:?usage: image-pods.sh ROOT PLAN.json OUT} plan=${2:?usage: image-pods.sh ROOT PLAN.json OUT}
out=${3:?usage: image-pods.sh ROOT PLAN.json OUT}
# shellcheck source=tests/image/lib.sh
. "$lib/../../tests/image/lib.sh"
image_uid=$(jq -r '.User // "0" | split(":")[0]' "$root/.railcheck-image.json")
mkdir -p "$out"
work=$(mktemp -d "$out/.pods.XXXXXX")
pids=() coord_pid=""
cleanup() {
  ((${#pids[@]} == 0)) || kill "${pids[@]}" 2>/dev/null || true
  [ -z "$coord_pid" ] || kill "$coord_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  ip netns del rc-coord 2>/dev/null || true
  ip link del rc-coord-eth0 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
broke() { echo "image-pods.sh: $*" >&2; exit 125; }

n=$(jq '.agents | length' "$plan")
[ "$n" = "$(jq '.pods | length' "$LAB_MAP")" ] || broke "the plan has $n agents, the lab $(jq '.pods | length' "$LAB_MAP") pods"
coord_ip=$(jq -r .coordinator.ip "$plan")
ip netns add rc-coord
ip link add rc-coord-eth0 type veth peer name eth0 netns rc-coord
ip link set rc-coord-eth0 master cbr0 up
ip -n rc-coord addr add "$coord_ip/24" dev eth0
ip -n rc-coord link set eth0 up
ip -n rc-coord link set lo up

# start NETNS INDEX|coordinator LOG: one container in the background; its PID in $started.
start() {
  local f=$work/$2.json
  if [ "$2" = coordinator ]; then jq .coordinator "$plan" >"$f"; else jq ".agents[$2]" "$plan" >"$f"; fi
  ip netns exec "$1" unshare --uts -- bash "$lib/image-pod-exec.sh" "$root" "$f" >"$3" 2>&1 &
  started=$!
}
# wait_exec PID: until the container's process runs the image's program (past chroot, setpriv
# and env, which exec it in turn); 1 if it ended first.
wait_exec() {
  local t e
  for ((t = 0; t < 150; t++)); do
    # (Paths in another mount namespace read relative to its mounts: compare files, not names.)
    [ -e "/proc/$1/exe" ] || return 1
    [ ! "/proc/$1/exe" -ef "$root/usr/local/bin/railcheck" ] || return 0
    sleep 0.2
  done
  return 1
}

echo "== the coordinator pod (the helm test Job's), from the image: $(jq -r '.coordinator.args | join(" ")' "$plan")"
start rc-coord coordinator "$out/coordinator.log"
coord_pid=$started
wait_exec "$coord_pid" || broke "the coordinator did not start: $(tail -n 3 "$out/coordinator.log")"
check_process "coordinator" "$coord_pid" "$(jq -c .coordinator "$plan")" "$root"

echo "== an agent in each of the $n pods (the DaemonSet's), from the image"
token=$(jq -r .token "$plan")
for ((i = 0; i < n; i++)); do
  c=$(jq -c ".agents[$i]" "$plan")
  start "pod$i" "$i" "$out/agent-$i.log"
  pids+=("$started")
done
for ((i = 0; i < n; i++)); do
  c=$(jq -c ".agents[$i]" "$plan")
  ip=$(jq -r .ip <<<"$c") port=$(jq -r .readinessProbe.port <<<"$c") path=$(jq -r .readinessProbe.path <<<"$c")
  [ "$ip" = "$(jq -r ".pods[$i].eth0" "$LAB_MAP")" ] || broke "agent $i: the plan's pod IP $ip is not pod$i's eth0"
  code=""
  for ((t = 0; t < 120; t++)); do
    code=$(ip netns exec rc-coord curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://$ip:$port$path" || true)
    [ "$code" != 200 ] || break
    kill -0 "${pids[i]}" 2>/dev/null || break
    sleep 0.5
  done
  [ "$code" = 200 ] || broke "agent $i is not ready (GET $path: ${code:-none}): $(tail -n 3 "$out/agent-$i.log")"
  ok "agent $i is ready: GET $path on $ip:$port answers 200"
  check_process "agent $i" "${pids[i]}" "$c" "$root"
  devs=$(ip netns exec rc-coord curl -s --max-time 10 -H "Authorization: Bearer $token" "http://$ip:$port/v1/inventory" |
    jq -r '[.interfaces[]? | .rdma_device // empty] | join(" ")' 2>/dev/null || true)
  want=$(jq -r ".pods[$i].rails | map(.rdma_device) | join(\" \")" "$LAB_MAP")
  [ "$devs" = "$want" ] && ok "agent $i's inventory (with the token): its RDMA interfaces $devs" ||
    not_ok "agent $i's inventory lists its rxe devices" "got '${devs}', want '$want'"
done

echo "== the coordinator's run (its log)"
rc=0
wait "$coord_pid" || rc=$?
coord_pid=""
cat "$out/coordinator.log"
# Here, later: railcheck report --from-log "$out/coordinator.log", as from `kubectl logs`.
echo "== the agents' libraries"
for ((i = 0; i < n; i++)); do
  # The mapped files' inodes against the image's files (paths in the pod's mount namespace
  # do not read as the image's from here).
  inodes=" $(awk '{print $5}' "/proc/${pids[i]}/maps" 2>/dev/null | sort -u | tr '\n' ' ') "
  miss=()
  for l in libibverbs/librxe-rdmav34.so libibverbs.so.1 libhwloc.so.15 librdmacm.so.1; do
    f=$(ls "$root"/usr/lib/*/"$l" 2>/dev/null | head -n 1)
    { [ -n "$f" ] && [[ $inodes == *" $(stat -L -c %i "$f") "* ]]; } || miss+=("$l")
  done
  [ ${#miss[@]} = 0 ] && ok "agent $i ran verbs through the image's rxe provider, libibverbs, librdmacm and hwloc" ||
    not_ok "agent $i loaded the image's libraries" "not mapped from $root: ${miss[*]}"
done
report=$(jq -r '.coordinator.mounts[] | select(.target == "/report") | .source' "$plan")
cp -r "$report"/. "$out"/
((rc != 0 || image_failed == 0)) || rc=1
exit "$rc"
