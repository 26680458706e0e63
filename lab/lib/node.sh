#!/bin/bash
# The lab's nodes (lab/run --nodes 2): one guest per node, each with its own NIC
# and Soft-RoCE device, the NICs joined by lab/run over a qemu UDP socket network.
#
#   usage: node.sh up NODE NODES WORK   this guest is node NODE (0-based) of NODES
#                                       (2); WORK gets the map (map.json)
#
# Node i: the guest's only NIC, eth0 (virtio-net, MAC 02:00:ac:10:0b:<10+i>),
# gets 172.16.11.(10+i)/24 and the rdma device rxe_n<i>; loopback is up; the
# hostname is lab-node<i>. `up` waits until the device is ACTIVE and every other
# node answers ping, writes the map and prints a table of the nodes on stdout; on
# failure it names the step that failed on stderr and exits 1. The nodes have one
# device each, in different kernels: no policy routing is needed, and rdma_cm
# between them really crosses the network (within one kernel it would not).
set -euo pipefail

fail() { echo "node.sh: $*" >&2; exit 1; }

step() {   # step WHAT COMMAND...: run one setup step; on failure, say which and why
    local what=$1 out
    shift
    out=$("$@" 2>&1) || fail "step failed: $what: ${out//$'\n'/ | }"
}

netdev=eth0

up() {
    local node=$1 nodes=$2 work=$3 ip dev state tries j peer map this deadline
    [ "$nodes" = 2 ] || fail "NODES=$nodes: must be 2"
    if ! [[ $node =~ ^[0-9]+$ ]] || ((node >= nodes)); then fail "NODE=$node: must be 0..$((nodes - 1))"; fi
    ip=172.16.11.$((10 + node)) dev=rxe_n$node
    [ -d /sys/module/rdma_rxe ] || fail "step failed: check rdma_rxe: the module is not loaded"
    [ -e "/sys/class/net/$netdev" ] || fail "step failed: find the NIC: no $netdev (did qemu give the guest a virtio NIC?)"
    step "create $work" mkdir -p "$work"
    { echo "lab-node$node" >/proc/sys/kernel/hostname; } 2>/dev/null || true

    step "configure $netdev and lo" ip -batch - <<EOF
addr add $ip/24 dev $netdev
link set $netdev up
link set lo up
EOF
    # (crc32_generic is loaded: `rdma link add` fails without it.)
    step "create the rxe device" rdma link add "$dev" type rxe netdev "$netdev"
    for ((tries = 0; ; tries++)); do
        state=
        read -r _ state <"/sys/class/infiniband/$dev/ports/1/state" 2>/dev/null || true
        [ "$state" != ACTIVE ] || break
        ((tries < 300)) || fail "step failed: wait for $dev: not ACTIVE after 30 s (state '$state')"
        sleep 0.1
    done

    # The other guest boots at the same time, give or take seconds under load.
    # (The host has no ping of its own; busybox-static is a lab package.)
    for ((j = 0; j < nodes; j++)); do
        ((j != node)) || continue
        peer=172.16.11.$((10 + j)) deadline=$((SECONDS + 60))
        until busybox ping -q -c 1 -W 1 "$peer" >/dev/null 2>&1; do
            ((SECONDS < deadline)) ||
                fail "step failed: reach node$j: $peer does not answer ping after 60 s (from $ip on $netdev)"
        done
    done

    map="{\"mode\": \"guest\", \"node\": $node, \"nodes\": ["
    printf 'lab: node%d of %d nodes, guest mode; map: %s\n' "$node" "$nodes" "$work/map.json"
    printf '  %-6s %-13s %-7s %s\n' node ip netdev rdma-device
    for ((j = 0; j < nodes; j++)); do
        peer=172.16.11.$((10 + j)) this=""
        ((j != node)) || this=" (this node)"
        map+=$'\n'"  {\"name\": \"node$j\", \"ip\": \"$peer\", \"rdma_device\": \"rxe_n$j\", \"netdev\": \"$netdev\"}"
        ((j == nodes - 1)) || map+=","
        printf '  %-6s %-13s %-7s %s%s\n' "node$j" "$peer" "$netdev" "rxe_n$j" "$this"
    done
    map+=$'\n'"]}"
    printf '%s\n' "$map" >"$work/map.json"
}

case ${1:-} in
up) shift; (($# == 3)) || fail "usage: node.sh up NODE NODES WORK"; up "$@" ;;
*) fail "usage: node.sh up NODE NODES WORK" ;;
esac
