#!/bin/bash
# Tests of lab/lib/fault.sh, the lab's fault kit (docs/lab.md, "Fault kit"), in one boot of
# lab/run --pods 4 --rails 2: for each kind, inject on pod 1 rail 0 (p1n1), check the
# kernel shows it, that pod 1 rail 1 (p1n2) and pod 2 rail 0 (p2n1) are untouched, clear,
# and check pod 1 rail 0 is as it was; usage errors; real traffic under `loss 20%`.
# Prints one `ok - NAME` or `not ok - NAME` line per case (TAP-like), exits non-zero if
# any failed.
#
#   usage: tests/labtool/lab_fault_test.sh
#   env:   LAB_TEST_DIR  where to work (default <repo>/.lab; not under /tmp, which
#                        the guest replaces with its own)
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
base=${LAB_TEST_DIR:-$repo/.lab}
mkdir -p "$base"
work=$(mktemp -d "$base/lab_fault_test.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

cat >in-guest.sh <<'EOF'
# Runs in the guest: $1 = lab/lib/fault.sh.
fault=$1
failed=0 cases=0
ok() { cases=$((cases + 1)); echo "ok - $1"; }
not_ok() {
    cases=$((cases + 1)) failed=$((failed + 1))
    echo "not ok - $1"
    shift
    local l
    for l in "$@"; do printf '%s\n' "$l" | sed 's/^/#   /'; done
}
check() {   # check NAME CONDITION-COMMAND... [-- DIAGNOSTIC...]
    local name=$1 cond=() diag=()
    shift
    while (($#)) && [ "$1" != -- ]; do cond+=("$1"); shift; done
    (($#)) && { shift; diag=("$@"); }
    if "${cond[@]}"; then ok "$name"; else not_ok "$name" "${diag[@]}"; fi
}
has() { [[ $1 =~ $2 ]]; }    # has TEXT ERE (^ and $: the whole text's ends)
lacks() { ! [[ $1 =~ $2 ]]; }
hasline() { grep -qE -- "$2" <<<"$1"; }   # hasline TEXT ERE: a line matches

# What the kernel shows of one pod's rail (the link-local IPv6 address aside, which is
# made anew whenever IPv6 comes back), in few processes: each costs under TCG.
snap() {   # snap POD RAIL
    local nd=p$1n$(($2 + 1)) t=$((($2 + 1) * 100 + 10 + $1))
    printf 'link show dev %s\nrule show oif %s\nroute show table %s\naddr show dev %s\n' "$nd" "$nd" "$t" "$nd" |
        ip -4 -o -batch -
    printf 'rule show oif %s\nroute show table %s\naddr show dev %s scope global\n' "$nd" "$t" "$nd" |
        ip -6 -o -batch -
    printf 'qdisc show dev %s\nqdisc show dev %s-br\n' "$nd" "$nd" | tc -batch -
    rdma link show "rxe_$nd/1" 2>&1
}
wait_active() {   # wait_active DEV: 10 s
    local s="" i
    for ((i = 0; i < 100; i++)); do
        read -r _ s <"/sys/class/infiniband/$1/ports/1/state" 2>/dev/null && [ "$s" = ACTIVE ] && return 0
        sleep 0.1
    done
    return 1
}
for p in "1 0" "1 1" "2 0"; do
    # shellcheck disable=SC2086
    snap $p >"base.${p/ /.}"
done
ann=/run/railcheck-lab/pods/pod1/podinfo/annotations
cp "$ann" base.ann
same() {   # same NAME POD RAIL: the pod's rail as it was
    if snap "$2" "$3" | diff "base.$2.$3" - >diff; then ok "$1"; else not_ok "$1" "$(cat diff)"; fi
}
untouched() {   # untouched WHAT: pod 1 rail 1 and pod 2 rail 0 are as they were
    same "$1: pod 1 rail 1 (p1n2) untouched" 1 1
    same "$1: pod 2 rail 0 (p2n1) untouched" 2 0
}
cleared() {   # cleared WHAT: clear 1 0 exits 0 and pod 1 rail 0 (and pod1's annotations) is as it was
    local out rc=0
    out=$("$fault" clear 1 0 2>&1) || rc=$?
    check "$1: clear 1 0 exits 0" test "$rc" = 0 -- "$out"
    wait_active rxe_p1n1 || true
    same "$1: cleared, pod 1 rail 0 as it was" 1 0
    check "$1: cleared, pod1's annotations as they were" cmp -s base.ann "$ann"
}
inject() {   # inject WHAT ARGS...: fault.sh inject ARGS, exit 0; the output in $out
    local rc=0
    out=$("$fault" inject "$@" 2>&1) || rc=$?
    check "$1: inject $* exits 0" test "$rc" = 0 -- "$out"
}
qdiscs() { tc qdisc show dev p1n1; echo ---; tc qdisc show dev p1n1-br; }

echo "# t=$SECONDS s: baseline taken"
# ---- the qdisc kinds: both directions ----------------------------------------------
for spec in "delay||netem .*delay 2ms" "delay|10ms|netem .*delay 10ms" "loss||netem .*loss 2%" \
            "loss|5%|netem .*loss 5%" "corrupt||netem .*corrupt 1%" "reorder||netem .*delay 1ms reorder 25%" \
            "rate||tbf .*rate 20Mbit" "rate|1gbit|tbf .*rate 1Gbit"; do
    IFS='|' read -r kind arg want <<<"$spec"
    name="$kind${arg:+ $arg}"
    inject "$kind" 1 0 ${arg:+"$arg"}
    q=$(qdiscs)
    check "$name: tc shows '$want' on p1n1 and p1n1-br" \
        test "$(grep -cE "^qdisc $want" <<<"$q")" = 2 -- "$q"
    untouched "$name"
    cleared "$name"
done

echo "# t=$SECONDS s"
# ---- down, now and later --------------------------------------------------------------
inject down 1 0
l=$(ip link show dev p1n1)
check "down: p1n1 state DOWN" has "$l" 'state DOWN' -- "$l"
l=$(rdma link show rxe_p1n1/1)
check "down: rxe_p1n1 DOWN" has "$l" 'state DOWN' -- "$l"
untouched down
cleared down

pid=""
rc=0
pid=$("$fault" inject down 1 0 8 2>err) || rc=$?
check "down 8: exits 0 at once, prints a pid" test "$rc" = 0 -a -n "$pid" -a -d "/proc/${pid:-none}" \
    -- "rc $rc, stdout '$pid'" "$(cat err)"
l=$(ip link show dev p1n1)
check "down 8: p1n1 still UP at first" has "$l" 'state UP' -- "$l"
l=$("$fault" list)
check "down 8: list says pending" has "$l" '^pod 1 rail 0 p1n1 down 8 \(pending, pid [0-9]+\)$' -- "$l"
for ((i = 0; i < 200; i++)); do
    has "$(ip link show dev p1n1)" 'state DOWN' && break
    sleep 0.1
done
l=$(ip link show dev p1n1)
check "down 8: p1n1 DOWN a few seconds later" has "$l" 'state DOWN' -- "$l"
l=$("$fault" list)
check "down 8: list says fired" has "$l" '^pod 1 rail 0 p1n1 down 8 \(fired\)$' -- "$l"
untouched "down 8"
cleared "down 8"

rc=0
pid=$("$fault" inject down 1 0 60 2>err) || rc=$?
check "down 60: exits 0, prints a pid" test "$rc" = 0 -a -d "/proc/${pid:-none}" -- "rc $rc, stdout '$pid'" "$(cat err)"
cleared "down 60"
sleep 0.2
check "down 60: clear killed the pending job (pid $pid)" test ! -d "/proc/$pid" -- "$(cat "/proc/$pid/cmdline" 2>&1 | tr '\0' ' ')"

echo "# t=$SECONDS s"
# ---- mtu ------------------------------------------------------------------------------
mtu_of() { ibv_devinfo -d "$1" | awk '$1 == "active_mtu:" {print $2}'; }
for spec in "|1000|512" "1200|1200|1024"; do
    IFS='|' read -r arg want rxe <<<"$spec"
    inject mtu 1 0 ${arg:+"$arg"}
    l=$(ip link show dev p1n1)
    check "mtu $want: p1n1 mtu $want" has "$l" " mtu $want " -- "$l"
    check "mtu $want: rxe_p1n1 active_mtu $rxe ($(mtu_of rxe_p1n1)), rxe_p2n1 1024 ($(mtu_of rxe_p2n1))" \
        test "$(mtu_of rxe_p1n1)" = "$rxe" -a "$(mtu_of rxe_p2n1)" = 1024
    l=$(ip -6 addr show dev p1n1 scope global)
    check "mtu $want: IPv6 on p1n1 only from 1280 up" test "$(grep -c fd16:11::11 <<<"$l")" = "$((want >= 1280))" -- "$l"
    untouched "mtu $want"
    cleared "mtu $want"
done
check "mtu cleared: rxe_p1n1 active_mtu 1024 again" test "$(mtu_of rxe_p1n1)" = 1024

echo "# t=$SECONDS s"
# ---- norule ---------------------------------------------------------------------------
inject norule 1 0
check "norule: no IPv4 rule oif p1n1" test -z "$(ip -4 rule show oif p1n1)" -- "$(ip -4 rule show)"
check "norule: no IPv6 rule oif p1n1" test -z "$(ip -6 rule show oif p1n1)" -- "$(ip -6 rule show)"
l=$(ip -4 rule show oif p1n2)
check "norule: the pod's other rail keeps its rule" has "$l" '^11:.*oif p1n2 lookup 211' -- "$l"
l=$(ip -6 route get fd16:11::12 oif p1n1 from fd16:11::11 2>&1)
check "norule: IPv6 p1n1 -> pod2 now local, over lo" has "$l" '^local fd16:11::12 .*dev lo ' -- "$l"
l=$(ip -4 route get 10.1.2.3 oif p1n1 from 172.16.11.11 2>&1)
check "norule: IPv4 p1n1 off-subnet: no gateway" lacks "$l" 'via 172.16.11.1' -- "$l"
untouched norule
cleared norule
l=$(ip -6 route get fd16:11::12 oif p1n1 from fd16:11::11 2>&1)
check "norule cleared: IPv6 p1n1 -> pod2 by table 111 again" has "$l" 'dev p1n1 table 111' -- "$l"
l=$(ip -4 route get 10.1.2.3 oif p1n1 from 172.16.11.11 2>&1)
check "norule cleared: IPv4 p1n1 off-subnet via the gateway again" has "$l" 'via 172.16.11.1 dev p1n1 table 111' -- "$l"

echo "# t=$SECONDS s"
# ---- norail ---------------------------------------------------------------------------
inject norail 1 0
l=$(rdma link)
check "norail: rdma link lacks rxe_p1n1" lacks "$l" 'rxe_p1n1' -- "$l"
check "norail: no /sys/class/infiniband/rxe_p1n1" test ! -e /sys/class/infiniband/rxe_p1n1
l=$(ip link show dev p1n1)
check "norail: p1n1 DOWN" has "$l" 'state DOWN' -- "$l"
a=$(cat "$ann")
check "norail: pod1's network-status lacks net1 / rxe_p1n1" lacks "$a" 'net1|rxe_p1n1|gpu1-sriov' -- "$a"
check "norail: pod1's network-status keeps eth0 and net2 / rxe_p1n2" \
    has "$a" '\\"interface\\": \\"eth0\\".*\\"interface\\": \\"net2\\".*rxe_p1n2' -- "$a"
check "norail: pod1's networks = gpu2 only" hasline "$a" '^k8s.v1.cni.cncf.io/networks="spiderpool/gpu2-sriov"$' -- "$a"
check "norail: annotations end without a newline" test "$(tail -c 1 "$ann" | od -An -c | tr -d ' ')" = '"'
if command -v python3 >/dev/null; then
    l=$(python3 - "$ann" <<'PY' 2>&1
import json, sys
kv = dict(l.split("=", 1) for l in open(sys.argv[1]).read().split("\n"))
st = json.loads(json.loads(kv["k8s.v1.cni.cncf.io/network-status"]))
assert [e["interface"] for e in st] == ["eth0", "net2"], st
PY
    )
    check "norail: network-status still decodes (eth0, net2)" test $? = 0 -- "$l"
fi
l=$(cat /run/railcheck-lab/pods/pod2/podinfo/annotations)
check "norail: pod2's annotations keep net1" has "$l" 'rxe_p2n1' -- "$l"
untouched norail
cleared norail
l=$(rdma link show rxe_p1n1/1)
check "norail cleared: rxe_p1n1 back, ACTIVE" has "$l" 'state ACTIVE' -- "$l"

echo "# t=$SECONDS s"
# ---- shared (the RDMA netns mode) -------------------------------------------------------
rc=0
out=$("$fault" inject shared 1 0 2>&1) || rc=$?
check "shared: refused, exit 1, pointing at lab/run --rdma-netns" test "$rc" = 1 -- "rc $rc: $out"
check "shared: the message names --rdma-netns exclusive" has "$out" 'lab/run --rdma-netns shared.*exclusive' -- "$out"
echo "# shared: $out"
l=$(rdma system show)
check "shared: mode unchanged ($l)" has "$l" 'netns shared'

echo "# t=$SECONDS s"
# ---- idempotence, replacing, list, clear-all ---------------------------------------------
inject loss 1 0 5%
out2=$("$fault" inject loss 1 0 5% 2>&1)
check "same fault twice: says already injected" has "$out2" 'already injected' -- "$out2"
inject delay 1 0 3ms
q=$(qdiscs)
check "another fault replaces it: delay 3ms, no loss" \
    test "$(grep -c 'delay 3ms' <<<"$q")" = 2 -a "$(grep -c loss <<<"$q")" = 0 -- "$q"
inject norule 2 1
l=$("$fault" list)
check "list: one line per fault" test "$l" = "pod 1 rail 0 p1n1 delay 3ms
pod 2 rail 1 p2n2 norule" -- "$l"
rc=0
out=$("$fault" clear-all 2>&1) || rc=$?
check "clear-all exits 0" test "$rc" = 0 -- "$out"
same "clear-all: pod 1 rail 0 as it was" 1 0
l=$(ip -4 rule show oif p2n2)
check "clear-all: pod 2 rail 1's rule back" has "$l" '^11:.*oif p2n2 lookup 212' -- "$l"
check "clear-all: list is empty" test -z "$("$fault" list)"
out=$("$fault" clear 1 0 2>&1)
check "clear with nothing injected: exit 0, says so" has "$out" 'nothing injected' -- "$out"

echo "# t=$SECONDS s"
# ---- usage errors: exit 2, the bad argument and the choices named --------------------------
usage() {   # usage WANT-ERE ARGS...
    local want=$1 rc=0 o
    shift
    o=$("$fault" "$@" 2>&1) || rc=$?
    check "usage error: fault.sh $*: exit 2, says '$want'" test "$rc" = 2 -a "$o" != "${o/$want/}" -- "rc $rc: $o"
}
usage "KIND 'bogus': must be one of: delay loss corrupt reorder rate down mtu norule norail shared" inject bogus 1 0
usage "POD '4': must be a pod number 0..3" inject loss 4 0
usage "POD 'x': must be" clear x 0
usage "RAIL '2': must be a rail number 0..1" inject delay 0 2
usage "loss '120%': must be a percentage" inject loss 1 0 120%
usage "delay '5': must be a time" inject delay 1 0 5
usage "rate 'fast': must be a rate" inject rate 1 0 fast
usage "mtu '1500': BYTES must be 68..1499" inject mtu 1 0 1500
usage "down 'soon': AFTER_S must be" inject down 1 0 soon
usage "norule takes no argument" inject norule 1 0 x
usage "needs POD and RAIL" inject loss 1
usage "command 'frob': must be one of" frob
same "usage errors changed nothing" 1 0
o=$("$fault" --help)
bad=""
for kind in delay loss corrupt reorder rate down mtu norule norail shared clear-all list; do
    hasline "$o" "^  $kind( |$)" || bad+=" $kind"
done
check "--help explains every kind and command" test -z "$bad" -- "missing:$bad"

echo "# t=$SECONDS s"
# ---- traffic: ping over pod 1's rail 0 to the rail's gateway, under loss 20% ----------------
# (to the gateway: ping -I p1n1 to another pod's IP would get its reply over lo, the
# policy rules applying to output only, which a socket bound to p1n1 never sees)
png() { busybox ping -q -c 20 -i 0.2 -W 1 -I p1n1 172.16.11.1 2>&1 | sed -n 's/.* \([0-9]*\) packets received.*/\1/p'; }
got=$(png)
check "ping p1n1 -> gateway, no fault: 20 of 20 ($got)" test "${got:-0}" = 20
inject loss 1 0 20%
got=$(png)
echo "# loss 20% on both directions: $got of 20 echo replies"
check "ping under loss 20%: some lost ($got of 20)" test "${got:-20}" -lt 20
"$fault" clear 1 0 >/dev/null
got=$(png)
check "ping after clear: 20 of 20 ($got)" test "${got:-0}" = 20

echo "# $((cases - failed)) of $cases passed"
((failed == 0))
EOF

start=$SECONDS
rc=0
timeout -k 5 600 "$repo/lab/run" -q --pods 4 --rails 2 --timeout 400 -- bash in-guest.sh "$repo/lab/lib/fault.sh" \
    >out 2>err || rc=$?
cat out
if ((rc == 1)) && grep -q '^# [0-9]* of [0-9]* passed$' out; then
    echo "# lab run: $((SECONDS - start)) s"
    exit 1   # (failures listed above)
elif ((rc != 0)); then
    echo "not ok - the lab run (exit $rc, $((SECONDS - start)) s)"
    sed 's/^/#   /' err | tail -n 30
    exit 1
fi
echo "ok - the lab run ($((SECONDS - start)) s)"
