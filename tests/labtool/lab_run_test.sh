#!/bin/bash
# Tests of lab/run, the Soft-RoCE lab (docs/lab.md). Prints one `ok - NAME` or
# `not ok - NAME` line per case (TAP-like) and exits non-zero if any failed.
# Guest boots cost seconds each: the in-guest checks share one boot.
#
#   usage: tests/labtool/lab_run_test.sh
#   env:   LAB_TEST_DIR  where to work (default <repo>/.lab; not under /tmp, which
#                        the guest replaces with its own)
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
run=$repo/lab/run
base=${LAB_TEST_DIR:-$repo/.lab}
mkdir -p "$base"
work=$(mktemp -d "$base/lab_run_test.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
id=labtest-$$-$RANDOM   # in qemu's -name: finds strays of this test only
failed=0
cases=0

ok() { cases=$((cases + 1)); echo "ok - $1"; }
not_ok() {
    cases=$((cases + 1))
    failed=$((failed + 1))
    echo "not ok - $1"
    shift
    local line
    for line in "$@"; do printf '#   %s\n' "$line"; done
}
check() {   # check NAME CONDITION-COMMAND... [-- DIAGNOSTIC...]
    local name=$1 diag=()
    shift
    local cond=()
    while (($#)) && [ "$1" != -- ]; do cond+=("$1"); shift; done
    (($#)) && { shift; diag=("$@"); }
    if "${cond[@]}"; then ok "$name"; else not_ok "$name" "${diag[@]}"; fi
}
no_stray() { ! pgrep -f "railcheck-lab-$1" >/dev/null; }
lines() { local n=0 l; while IFS= read -r l || [ -n "$l" ]; do n=$((n + 1)); done <"$1"; echo "$n"; }
lab() {   # lab RUN-ID ARGS...: lab/run with a marker and a safety net; rc in $rc
    local rid=$1
    shift
    rc=0
    RAILCHECK_LAB_RUN_ID=$rid timeout -k 5 600 "$run" "$@" >out 2>err || rc=$?
}

# ---- usage errors: exit 2, one line on stderr, no guest --------------------------
# An empty cache directory that must stay empty proves no guest was built or started.
usage_case() {   # NAME ARGS...
    local name=$1
    shift
    rc=0
    RAILCHECK_LAB_CACHE=$work/nocache RAILCHECK_LAB_RUN_ID=$id-usage \
        timeout 60 "$run" "$@" >out 2>err || rc=$?
    if [ "$rc" = 2 ] && [ "$(lines err)" = 1 ] && [ ! -s out ] && [ ! -e "$work/nocache" ]; then
        ok "usage error: $name"
    else
        not_ok "usage error: $name" "exit $rc (want 2), stderr lines $(lines err) (want 1):" "$(head -c 600 err)"
    fi
}
usage_case "--pods 0" --pods 0 -- true
usage_case "--rails 99" --rails 99 -- true
usage_case "no command" --pods 2
usage_case "no command after --" --
usage_case "unknown option" --bogus -- true
usage_case "--timeout abc" --timeout abc -- true
usage_case "--nodes 3" --nodes 3 -- true
usage_case "--nodes 2 --pods 3" --nodes 2 --pods 3 -- true
usage_case "--nodes 2 --mode host" --nodes 2 --mode host -- true
usage_case "--rdma-netns bogus" --rdma-netns bogus -- true
usage_case "--nodes 2 --rdma-netns exclusive" --nodes 2 --rdma-netns exclusive -- true
check "usage errors start no qemu" no_stray "$id-usage"
rc=0
"$run" --help >out 2>err || rc=$?
check "--help exits 0 and explains exit codes" test "$rc" = 0 -a -s out -a "$(grep -c '124\|125' out)" -ge 1 \
    -- "exit $rc"

# ---- a guest that cannot boot: 125, a one-line cause, quickly, no stray -----------
head -c 65536 /dev/urandom >garbage-kernel
start=$SECONDS
RAILCHECK_LAB_KERNEL=$work/garbage-kernel lab "$id-kernel" -- true
secs=$((SECONDS - start))
first=$(head -n 1 err)
if [ "$rc" = 125 ] && [[ $first == "lab/run: the lab broke: "* ]] && ((secs < 60)); then
    ok "broken kernel: exit 125 with a one-line cause (${secs} s)"
else
    not_ok "broken kernel: exit 125 with a one-line cause" "exit $rc after ${secs} s:" "$(head -c 800 err)"
fi
sleep 0.5
check "broken kernel: no stray qemu" no_stray "$id-kernel"

# ---- timeout: 124, guest killed ------------------------------------------------------
start=$SECONDS
lab "$id-timeout" -q --timeout 10 -- sleep 600
secs=$((SECONDS - start))
check "--timeout 10 -- sleep 600: exit 124 (${secs} s)" test "$rc" = 124 -a "$secs" -lt 60 \
    -- "exit $rc after ${secs} s" "$(tail -n 5 err)"
sleep 0.5
check "--timeout: no stray qemu" no_stray "$id-timeout"

# ---- killed from outside: TERM (timeout's default) and KILL leave no qemu ------------
for sig in TERM KILL; do
    rc=0   # (the subshell keeps bash's "Killed" job report off the output)
    (RAILCHECK_LAB_RUN_ID=$id-outer$sig timeout -s "$sig" 8 "$run" -q -- sleep 100 >out 2>err
     exit $?) 2>/dev/null || rc=$?
    sleep 1   # KILL: qemu gets its parent-death signal when lab/run is gone
    check "timeout -s $sig 8 lab/run -- sleep 100: no stray qemu (exit $rc)" no_stray "$id-outer$sig" \
        -- "$(pgrep -af "railcheck-lab-$id-outer$sig")"
done

# ---- exit status and output ---------------------------------------------------------
lab "$id-exit" -q -- 'echo hello-out; echo hello-err >&2; exit 7'
check "exit status comes back ('exit 7' -> 7)" test "$rc" = 7 -- "exit $rc" "$(tail -n 20 err)"
check "stdout comes back" test "$(cat out)" = hello-out -- "stdout: $(head -c 300 out)"
check "stderr comes back, apart from stdout" grep -qx hello-err err -- "stderr: $(head -c 300 err)"

# ---- one boot, 3 pods x 2 rails: map, devices, podinfo, env, traffic ----------------
cat >in-guest.sh <<'EOF'
# Runs in the guest (argv form: $1 must arrive as one word).
printf 'argv1=%s\n' "$1" >argv.txt
env >env.txt
cp "$LAB_MAP" map.json
for i in 0 1 2; do cp "/run/railcheck-lab/pods/pod$i/podinfo/annotations" "annotations.pod$i"; done
ls /run/railcheck-lab/pods/pod0/podinfo >podinfo-files.txt
rdma link >rdma-link.txt
# ib_write_bw: server in pod1 on its rxe device; once it listens, the client in
# pod0, with pod1's eth0 IP as the out-of-band (TCP) peer.
# perftest's default GID 0 is the link-local IPv6 one, which every rail netdev of the
# initial netns shares a prefix with: it intermittently hangs under load. Use the IPv4
# RoCEv2 GID, as railcheck does.
gidx() { for i in $(seq 0 15); do case $(cat "/sys/class/infiniband/$1/ports/1/gids/$i") in
    0000:0000:0000:0000:0000:ffff:*) echo "$i"; return ;; esac; done; echo 1; }
ip netns exec pod1 timeout 120 ib_write_bw -d rxe_p1n1 -x "$(gidx rxe_p1n1)" -s 65536 -n 500 >bw-server.txt 2>&1 &
for try in $(seq 240); do
    ip netns exec pod1 ss -Hltn 'sport = :18515' | grep -q . && break
    sleep 0.5
done
ip netns exec pod0 timeout 120 ib_write_bw -d rxe_p0n1 -x "$(gidx rxe_p0n1)" -s 65536 -n 500 10.233.0.11 >bw-client.txt 2>&1
wait
EOF
RAILCHECK_LABTEST_VAR="two words" GTEST_COLOR=no lab "$id-pods" --pods 3 --rails 2 -- bash in-guest.sh "a b"
check "3x2 boot ran (exit 0)" test "$rc" = 0 -- "exit $rc" "$(tail -n 30 err)"
check "argv form keeps words" grep -qx 'argv1=a b' argv.txt -- "$(cat argv.txt 2>&1)"
check "environment: LAB_*, RAILCHECK_*, GTEST_*" \
    grep -qx 'LAB=1' env.txt -- "$(grep -E '^(LAB|RAILCHECK|GTEST)' env.txt 2>&1)"
for v in 'LAB_PODS=3' 'LAB_RAILS=2' 'LAB_MAP=/run/railcheck-lab/map.json' 'RAILCHECK_LABTEST_VAR=two words' 'GTEST_COLOR=no'; do
    check "environment has $v" grep -qxF "$v" env.txt
done

json_check() {   # validate map.json and print its rdma devices, one a line
    if command -v python3 >/dev/null; then
        python3 - map.json <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
assert len(m["pods"]) == 3, "want 3 pods"
for p in m["pods"]:
    assert len(p["rails"]) == 2, "want 2 rails in " + p["name"]
    for r in p["rails"]:
        print(r["rdma_device"])
EOF
    elif command -v jq >/dev/null; then
        jq -e '(.pods | length == 3) and all(.pods[]; .rails | length == 2)' map.json >/dev/null &&
            jq -r '.pods[].rails[].rdma_device' map.json
    else
        echo "SKIP"
    fi
}
devices=$(json_check 2>&1)
st=$?
if [ "$devices" = SKIP ]; then
    ok "map JSON is valid, 3 pods x 2 rails # SKIP neither python3 nor jq"
    devices=$(grep -o '"rdma_device": "[^"]*"' map.json | cut -d'"' -f4)
else
    check "map JSON is valid, 3 pods x 2 rails" test "$st" = 0 -- "$devices"
fi
check "map lists 6 rdma devices" test "$(echo "$devices" | grep -c '^rxe_')" = 6 -- "$devices"
bad=""
for d in $devices; do
    grep -q "^link $d/1 state ACTIVE physical_state LINK_UP" rdma-link.txt || bad+=" $d"
done
check "every device ACTIVE/LINK_UP in rdma link" test -z "$bad" -a -s rdma-link.txt -- "missing:$bad" "$(cat rdma-link.txt 2>&1)"

annotations_ok() {   # key="value" lines, Go-quoted, sorted, the two Multus keys
    local f=$1 line keys=()
    [ -s "$f" ] || return 1
    while IFS= read -r line || [ -n "$line" ]; do
        [[ $line =~ ^([a-zA-Z0-9./_-]+)=\"([^\"\\]|\\.)*\"$ ]] || { echo "bad line: ${line:0:120}"; return 1; }
        keys+=("${BASH_REMATCH[1]}")
    done <"$f"
    [ "${keys[*]}" = "k8s.v1.cni.cncf.io/network-status k8s.v1.cni.cncf.io/networks" ] ||
        { echo "keys: ${keys[*]}"; return 1; }
    grep -q '^k8s.v1.cni.cncf.io/networks="spiderpool/gpu1-sriov,spiderpool/gpu2-sriov"$' "$f"
}
for i in 0 2; do
    msg=$(annotations_ok "annotations.pod$i" 2>&1)
    check "pod$i annotations file parses (key=\"value\" lines)" test $? = 0 -- "$msg"
done
if command -v python3 >/dev/null; then
    msg=$(python3 - annotations.pod2 <<'EOF' 2>&1
import json, sys
kv = dict(l.split("=", 1) for l in open(sys.argv[1]).read().split("\n"))
st = json.loads(json.loads(kv["k8s.v1.cni.cncf.io/network-status"]))  # Go quote == JSON string here
assert [e["name"] for e in st] == ["kube-system/calico", "spiderpool/gpu1-sriov", "spiderpool/gpu2-sriov"], st
assert st[0]["default"] is True and st[0]["ips"] == ["10.233.0.12"], st[0]
assert st[2]["device-info"]["pci"]["rdma-device"] == "rxe_p2n2", st[2]
assert st[2]["ips"] == ["172.16.12.12"] and st[2]["interface"] == "net2", st[2]
EOF
    )
    check "pod2 network-status decodes to the Multus entries" test $? = 0 -- "$msg"
fi
check "podinfo has annotations, name, namespace, node" \
    test "$(tr '\n' ' ' <podinfo-files.txt 2>/dev/null)" = "annotations name namespace node " -- "$(cat podinfo-files.txt 2>&1)"

# perftest exits 0 even after 0 iterations: check the number.
bw=$(awk '$1 == 65536 && NF >= 4 {print $4}' bw-client.txt 2>/dev/null | tail -n 1)
if [ -n "$bw" ] && awk -v b="$bw" 'BEGIN {exit !(b > 0)}'; then
    ok "ib_write_bw 64 KiB pod0 -> pod1 over rxe: $bw MB/s"
else
    not_ok "ib_write_bw 64 KiB pod0 -> pod1 over rxe: non-zero bandwidth" "bw='$bw'" \
        "$(tail -n 8 bw-client.txt 2>&1)" "$(tail -n 8 bw-server.txt 2>&1)"
fi

# ---- two nodes: one run for env, map, output, traffic; one for the exit status ------
cat >in-nodes.sh <<'EOF'
# Runs in each node of a --nodes 2 pair.
n=$LAB_NODE
cp "$LAB_MAP" "map.n$n.json"
rdma link >"rdma-link.n$n.txt"
# (jq may be missing: the map has one node a line.)
ip=$(sed -n 's/.*"ip": "\([^"]*\)".*/\1/p' "$LAB_MAP" | sed -n "$((n + 1))p")
echo "node=$n nodes=$LAB_NODES ip=$ip"
echo "to-stderr $n" >&2
# ib_write_bw over rdma_cm (-R), node1 -> node0: the server on node0; the client
# retries until the server listens (both commands start together).
if [ "$n" = 0 ]; then
    timeout 120 ib_write_bw -d rxe_n0 -R -s 65536 -n 500 >bw-server.txt 2>&1
else
    for try in 1 2 3 4 5; do
        sleep 2
        timeout 120 ib_write_bw -d rxe_n1 -R -s 65536 -n 500 172.16.11.10 >bw-client.txt 2>&1 && break
    done
fi
EOF
start=$SECONDS
lab "$id-nodes" --nodes 2 -- bash in-nodes.sh
secs=$((SECONDS - start))
check "--nodes 2 ran (exit 0, ${secs} s)" test "$rc" = 0 -- "exit $rc" "$(tail -n 30 err)"
for i in 0 1; do
    check "--nodes 2: node $i's line comes back prefixed [n$i]" \
        grep -qxF "[n$i] node=$i nodes=2 ip=172.16.11.1$i" out -- "stdout: $(head -c 600 out)"
done
check "--nodes 2: stderr comes back prefixed, apart from stdout" \
    test "$(grep -c '^\[n[01]\] to-stderr [01]$' err)" = 2 -a "$(grep -vc '^\[n[01]\] ' err)" = 0 \
    -a "$(grep -c to-stderr out)" = 0 -- "stderr: $(head -c 600 err)"
nodes_map_check() {   # nodes_map_check N: map.nN.json is valid and right
    if command -v python3 >/dev/null; then
        python3 - "map.n$1.json" "$1" <<'EOF'
import json, sys
m, n = json.load(open(sys.argv[1])), int(sys.argv[2])
assert m["mode"] == "guest" and m["node"] == n, m
assert [(x["name"], x["ip"], x["rdma_device"]) for x in m["nodes"]] == \
    [("node0", "172.16.11.10", "rxe_n0"), ("node1", "172.16.11.11", "rxe_n1")], m
assert all(x["netdev"] for x in m["nodes"]), m
EOF
    elif command -v jq >/dev/null; then
        jq -e --argjson n "$1" '.mode == "guest" and .node == $n and
            ([.nodes[] | [.name, .ip, .rdma_device]] ==
             [["node0", "172.16.11.10", "rxe_n0"], ["node1", "172.16.11.11", "rxe_n1"]])' "map.n$1.json"
    else
        echo SKIP
    fi
}
for i in 0 1; do
    msg=$(nodes_map_check "$i" 2>&1)
    st=$?
    if [ "$msg" = SKIP ]; then
        ok "--nodes 2: node $i's map # SKIP neither python3 nor jq"
    else
        check "--nodes 2: node $i's map is valid JSON, 2 nodes" test "$st" = 0 -- "$msg" "$(cat "map.n$i.json" 2>&1)"
    fi
    check "--nodes 2: rxe_n$i ACTIVE on node $i" \
        grep -q "^link rxe_n$i/1 state ACTIVE physical_state LINK_UP" "rdma-link.n$i.txt" -- "$(cat "rdma-link.n$i.txt" 2>&1)"
done
bw=$(awk '$1 == 65536 && NF >= 4 {print $4}' bw-client.txt 2>/dev/null | tail -n 1)
if [ -n "$bw" ] && awk -v b="$bw" 'BEGIN {exit !(b > 0)}'; then
    ok "--nodes 2: ib_write_bw -R (rdma_cm) 64 KiB node1 -> node0: $bw MB/s"
else
    not_ok "--nodes 2: ib_write_bw -R (rdma_cm) 64 KiB node1 -> node0: non-zero bandwidth" "bw='$bw'" \
        "$(tail -n 8 bw-client.txt 2>&1)" "$(tail -n 8 bw-server.txt 2>&1)"
fi
# shellcheck disable=SC2016  # expanded in the guests
lab "$id-nodes" -q --nodes 2 -- 'exit $((LAB_NODE == 1 ? 3 : 0))'
check "--nodes 2: node 1 exits 3 -> exit 3" test "$rc" = 3 -- "exit $rc" "$(tail -n 20 err)"

sleep 0.5
check "no stray qemu at the end" no_stray "$id"
echo "# $((cases - failed)) of $cases passed"
((failed == 0))
