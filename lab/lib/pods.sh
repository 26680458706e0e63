#!/bin/bash
# The lab's pods: network namespaces standing in for Kubernetes pods, each with a
# control ("calico") interface and one Soft-RoCE device per rail, plus the files a
# pod would see (a downward-API podinfo folder) and a JSON map of it all.
#
#   usage: pods.sh up N M WORK [MODE [NETNS]]
#                                       N pods (1..16), M rails (1..8); WORK gets the
#                                       map (map.json) and pods/podI/podinfo/;
#                                       MODE (guest|host) is only recorded in the map;
#                                       NETNS (shared|exclusive, default shared) is the
#                                       RDMA netns mode, set before any pod exists
#          pods.sh down N M [WORK]      undo `up` (host mode), ignoring what is gone
#
# `up` prints a table of the pods on stdout; on failure it names the step that
# failed on stderr and exits 1. Layout, for pod i (0-based) and rail r (0-based,
# K = r+1):
#   control  netns podI: eth0 10.233.0.(10+i)/24, its peer pI-eth0 a port of the
#            bridge cbr0 (initial netns)
#   rail r   bridge br-netK; veth pInK (172.16.(11+r).(10+i)/24, rdma device
#            rxe_pInK) <-> pInK-br (a port of br-netK), both in the initial netns;
#            policy rule `pref 10+r oif pInK lookup T`, T = K*100 + 10+i, table T
#            holding a /32 route via pInK to every other pod's IP on the rail, a
#            default route via the rail's gateway, and `throw` for pInK's own IP
#   gateway  netns gw: gw-netK 172.16.(11+r).1/24, its peer gw-netK-br a port of
#            br-netK: the rails' router (answers ARP and ping, forwards nothing)
# rxe devices cannot move to another netns on Debian's 6.1/6.12 kernels, so the pods
# use them in shared mode: a pod runs verbs on "its" device from its own netns and
# exchanges connection data over its eth0.
#
# Every process costs tens of milliseconds under TCG, so the work is batched (one
# `ip -batch` for all links, addresses, rules and routes, one `rdma -b`), numbers
# are computed inline, and state is read from /sys with builtins.
set -euo pipefail

fail() { echo "pods.sh: $*" >&2; exit 1; }

# step WHAT COMMAND...: run one setup step; on failure, say which step and why.
step() {
    local what=$1 out
    shift
    out=$("$@" 2>&1) || fail "step failed: $what: ${out//$'\n'/ | }"
}

conf() {   # conf DEV/KEY VALUE: set net.ipv4.conf.DEV.KEY
    { echo "$2" >"/proc/sys/net/ipv4/conf/$1"; } 2>/dev/null ||
        fail "step failed: set net.ipv4.conf.${1/\//.} = $2"
}

check_counts() {
    if ! [[ $1 =~ ^[0-9]+$ ]] || (($1 < 1 || $1 > 16)); then fail "N=$1: pods must be 1..16"; fi
    if ! [[ $2 =~ ^[0-9]+$ ]] || (($2 < 1 || $2 > 8)); then fail "M=$2: rails must be 1..8"; fi
}

# quote VAR STRING: VAR = STRING quoted as Go's strconv.Quote does (for our ASCII
# values), the quoting kubelet uses in downward-API files.
quote() {
    local s=$2
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}
    s=${s//$'\t'/\\t}
    printf -v "$1" '"%s"' "$s"
}

# Locally administered MACs that spell the interface's IP: 02:00 + the 4 octets.
mac_of() { printf -v "$1" '02:00:%02x:%02x:%02x:%02x' "$2" "$3" "$4" "$5"; }   # VAR A B C D
# rxe has no PCI function: each device gets a synthetic address in PCI domain
# 0x01ab ("lab"), which no real host has: bus f<rail>, device <pod>, function 0.
pci_of() { printf -v "$1" '01ab:f%x:%02x.0' "$3" "$2"; }   # VAR POD RAIL

up() {
    local n=$1 m=$2 work=$3 mode=${4:-guest} netns_mode=${5:-shared} i j r k nd t b ip mac batch dirs=()
    check_counts "$n" "$m"
    case $netns_mode in shared | exclusive) ;; *) fail "NETNS=$netns_mode: must be shared or exclusive" ;; esac

    if [ "$mode" = host ]; then   # (the guest's init has loaded them)
        local missing=()
        for k in crc32_generic rdma_rxe rdma_ucm veth bridge; do
            [ -d "/sys/module/$k" ] || missing+=("$k")
        done
        ((${#missing[@]} == 0)) || step "load the kernel modules" modprobe -a "${missing[@]}"
    fi
    [ -d /sys/module/rdma_rxe ] || fail "step failed: check rdma_rxe: the module is not loaded"
    if [ -e /sys/class/net/cbr0 ] || [ -e /run/netns/pod0 ] || [ -e /run/netns/gw ]; then
        fail "step failed: check for leftovers: cbr0, netns pod0 or netns gw exists already (another lab? pods.sh down $n $m)"
    fi
    for ((i = 0; i < n; i++)); do dirs+=("$work/pods/pod$i/podinfo"); done
    step "create $work" mkdir -p "${dirs[@]}"

    # The RDMA netns mode can only change while no other netns exists: before the pods.
    # `down` puts the saved mode back (host mode).
    b=$(rdma system show 2>/dev/null) || b=""
    b=${b#*netns } b=${b%% *}
    echo "${b:-shared}" >"$work/rdma-netns.saved"
    if [ "$b" != "$netns_mode" ]; then
        step "set the RDMA netns mode: rdma system set netns $netns_mode" rdma system set netns "$netns_mode"
    fi

    # Settings that `down` restores (host mode).
    : >"$work/sysctl.saved"
    for k in all/accept_local all/rp_filter default/accept_local default/rp_filter; do
        read -r b <"/proc/sys/net/ipv4/conf/$k"
        echo "$k $b" >>"$work/sysctl.saved"
    done
    # A packet from one local address to another must cross the bridge, not `lo`:
    # accept local source addresses, no reverse-path filter (defaults first: the
    # new interfaces inherit them).
    for k in all default; do
        conf "$k/accept_local" 1
        conf "$k/rp_filter" 0
    done

    # One batch: bridges, pods and their eth0 veths, rail veths, addresses, and the
    # policy routing. A packet an rxe device sends must leave through its own
    # netdev: rule `oif DEV lookup T`, T holding a /32 route to each other pod of
    # the rail. The `local` table, moved behind those rules (pref 0 -> 100), no
    # longer short-cuts it over `lo`, where rxe would drop it.
    # (Lines are collected in an array: appending to a long string is quadratic.)
    batch=("link add cbr0 type bridge" "link set cbr0 up")
    for ((i = 0; i < n; i++)); do
        mac_of mac 10 233 0 $((10 + i))
        batch+=("netns add pod$i"
                "link add p$i-eth0 type veth peer name eth0 address $mac netns pod$i"
                "link set p$i-eth0 master cbr0 up")
    done
    batch+=("rule add pref 100 lookup local" "rule del pref 0 lookup local" "netns add gw")
    for ((r = 0; r < m; r++)); do
        k=$((r + 1))
        batch+=("link add br-net$k type bridge" "link set br-net$k up"
                "link add gw-net$k-br type veth peer name gw-net$k netns gw"
                "link set gw-net$k-br master br-net$k up")
        for ((i = 0; i < n; i++)); do
            nd=p${i}n$k
            ip=172.16.$((11 + r)).$((10 + i))
            t=$((k * 100 + 10 + i))
            mac_of mac 172 16 $((11 + r)) $((10 + i))
            batch+=("link add $nd address $mac type veth peer name $nd-br"
                    "link set $nd-br master br-net$k up"
                    "addr add $ip/24 dev $nd" "link set $nd up"
                    "rule add pref $((10 + r)) oif $nd lookup $t")
            for ((j = 0; j < n; j++)); do
                ((j == i)) || batch+=("route add 172.16.$((11 + r)).$((10 + j))/32 dev $nd table $t")
            done
            # Off the rail's subnet: the gateway. The device's own IP is thrown back to
            # the next rules (the local table), so device-to-itself traffic stays local.
            batch+=("route add default via 172.16.$((11 + r)).1 dev $nd table $t"
                    "route add throw $ip/32 table $t")
        done
    done
    printf -v b '%s\n' "${batch[@]}"
    step "create the bridges, pods, veths, addresses and policy routes" ip -batch - <<<"$b"

    # The same for IPv6 (dual-stack rails, for the IPv6 RoCEv2 GIDs): a global address
    # fd16:R::I per rail netdev (nodad: usable at once), the same oif rules, /128 routes to
    # the rail's other pods, the local table behind them. Neighbour discovery answers only
    # on the interface holding the address, as arp_ignore makes ARP do below.
    batch=("rule add pref 100 lookup local" "rule del pref 0 lookup local")
    for ((r = 0; r < m; r++)); do
        k=$((r + 1))
        for ((i = 0; i < n; i++)); do
            nd=p${i}n$k
            t=$((k * 100 + 10 + i))
            batch+=("addr add fd16:$((11 + r))::$((10 + i))/64 dev $nd nodad"
                    "rule add pref $((10 + r)) oif $nd lookup $t")
            for ((j = 0; j < n; j++)); do
                ((j == i)) || batch+=("route add fd16:$((11 + r))::$((10 + j))/128 dev $nd table $t")
            done
            batch+=("route add throw fd16:$((11 + r))::$((10 + i))/128 table $t")
        done
    done
    printf -v b '%s\n' "${batch[@]}"
    step "add the rails' IPv6 addresses and policy routes" ip -6 -batch - <<<"$b"

    batch=("link set lo up")
    for ((r = 0; r < m; r++)); do
        batch+=("addr add 172.16.$((11 + r)).1/24 dev gw-net$((r + 1))" "link set gw-net$((r + 1)) up")
    done
    printf -v b '%s\n' "${batch[@]}"
    step "configure the rails' gateway (netns gw)" ip -n gw -batch - <<<"$b"
    # (A new netns inherits the initial one's ip_forward: the gateway forwards nothing.)
    step "turn forwarding off in netns gw" ip netns exec gw bash -c 'echo 0 >/proc/sys/net/ipv4/ip_forward'

    # All the rail interfaces share one netns and one subnet per rail: ARP must
    # answer only for the interface's own address, or a packet may reach the wrong
    # netdev, hence the wrong rxe device.
    # The rail bridges own no address but sit in the same netns as every rail IP:
    # with the default arp_ignore they would answer ARP for them too, with their own
    # MAC, and win the race whenever a neighbour entry is learned afresh.
    for ((r = 0; r < m; r++)); do
        conf "br-net$((r + 1))/arp_ignore" 8
        for ((i = 0; i < n; i++)); do
            nd=p${i}n$((r + 1))
            conf "$nd/accept_local" 1
            conf "$nd/rp_filter" 0
            conf "$nd/arp_ignore" 1
            conf "$nd/arp_announce" 2
        done
    done

    for ((i = 0; i < n; i++)); do
        step "configure eth0 in pod$i" ip -n "pod$i" -batch - <<EOF
addr add 10.233.0.$((10 + i))/24 dev eth0
link set eth0 up
link set lo up
EOF
    done

    # rxe devices (crc32_generic must be loaded first: `rdma link add` fails without).
    batch=()
    for ((r = 0; r < m; r++)); do
        for ((i = 0; i < n; i++)); do
            batch+=("link add rxe_p${i}n$((r + 1)) type rxe netdev p${i}n$((r + 1))")
        done
    done
    printf -v b '%s\n' "${batch[@]}"
    step "create the rxe devices" rdma -b - <<<"$b"
    local state tries
    for ((tries = 0; ; tries++)); do
        b=0
        for ((r = 0; r < m; r++)); do
            for ((i = 0; i < n; i++)); do
                state=
                read -r _ state </sys/class/infiniband/rxe_p${i}n$((r + 1))/ports/1/state 2>/dev/null || true
                [ "$state" = ACTIVE ] || b=$((b + 1))
            done
        done
        ((b > 0)) || break
        ((tries < 100)) || fail "step failed: wait for the rxe devices: $b of $((n * m)) not ACTIVE after 10 s"
        sleep 0.1
    done

    write_podinfo_and_map "$n" "$m" "$work" "$mode" "$netns_mode"
}

write_podinfo_and_map() {
    local n=$1 m=$2 work=$3 mode=$4 netns_mode=$5 i r k nd ip eth0 mac pci dir status networks map rails sep q1 q2
    local note=""
    [ "$netns_mode" = shared ] || note=", rdma netns $netns_mode"
    map="{"$'\n'"  \"mode\": \"$mode\","$'\n'"  \"node\": \"lab-node0\","$'\n'"  \"rdma_netns\": \"$netns_mode\","
    map+=$'\n'"  \"gateway_netns\": \"gw\","$'\n'"  \"pods\": ["
    printf 'lab: %d pod(s) x %d rail(s), %s mode%s; map: %s\n' "$n" "$m" "$mode" "$note" "$work/map.json"
    printf '  %-5s %-12s %-4s %-5s %-11s %-7s %s\n' pod eth0 rail iface rdma-device netdev ip
    for ((i = 0; i < n; i++)); do
        dir=$work/pods/pod$i/podinfo
        eth0=10.233.0.$((10 + i))
        mac_of mac 10 233 0 $((10 + i))
        # network-status as Multus writes it: each entry json.MarshalIndent-ed with
        # 4 spaces, the entries joined by "," inside [ ]; fields in Go struct order.
        status="[{
    \"name\": \"kube-system/calico\",
    \"interface\": \"eth0\",
    \"ips\": [
        \"$eth0\"
    ],
    \"mac\": \"$mac\",
    \"default\": true,
    \"dns\": {}
}"
        networks=""
        rails=""
        sep=""
        for ((r = 0; r < m; r++)); do
            k=$((r + 1))
            nd=p${i}n$k
            ip=172.16.$((11 + r)).$((10 + i))
            read -r mac <"/sys/class/net/$nd/address"   # the real one (set from the IP above)
            pci_of pci "$i" "$r"
            networks+="${networks:+,}spiderpool/gpu$k-sriov"
            status+=",{
    \"name\": \"spiderpool/gpu$k-sriov\",
    \"interface\": \"net$k\",
    \"ips\": [
        \"$ip\"
    ],
    \"mac\": \"$mac\",
    \"dns\": {},
    \"device-info\": {
        \"type\": \"pci\",
        \"version\": \"1.1.0\",
        \"pci\": {
            \"pci-address\": \"$pci\",
            \"rdma-device\": \"rxe_$nd\"
        }
    },
    \"gateway\": [
        \"172.16.$((11 + r)).1\"
    ]
}"
            rails+="$sep"$'\n'"        {\"rail\": $r, \"interface\": \"net$k\", \"network\": \"spiderpool/gpu$k-sriov\", \"ip\": \"$ip\", \"ip6\": \"fd16:$((11 + r))::$((10 + i))\", \"rdma_device\": \"rxe_$nd\", \"netdev\": \"$nd\", \"mac\": \"$mac\", \"pci_address\": \"$pci\", \"gateway\": \"172.16.$((11 + r)).1\", \"table\": $((k * 100 + 10 + i))}"
            sep=,
            printf '  %-5s %-12s %-4s %-5s %-11s %-7s %s\n' "pod$i" "$eth0" "$r" "net$k" "rxe_$nd" "$nd" "$ip"
        done
        status+="]"
        # The downward-API file: key="value" lines sorted by key (bytewise:
        # "network-status" < "networks"), no newline at the end.
        quote q1 "$status"
        quote q2 "$networks"
        printf 'k8s.v1.cni.cncf.io/network-status=%s\nk8s.v1.cni.cncf.io/networks=%s' "$q1" "$q2" >"$dir/annotations"
        printf 'pod%d' "$i" >"$dir/name"
        printf 'default' >"$dir/namespace"
        printf 'lab-node0' >"$dir/node"
        q1=${dir//\\/\\\\}
        map+=$'\n'"    {\"name\": \"pod$i\", \"netns\": \"pod$i\", \"eth0\": \"$eth0\", \"podinfo\": \"${q1//\"/\\\"}\", \"rails\": [$rails"$'\n'"    ]}"
        ((i == n - 1)) || map+=","
    done
    map+=$'\n'"  ]"$'\n'"}"
    printf '%s\n' "$map" >"$work/map.json"
}

down() {
    local n=$1 m=$2 work=${3:-} i r k nd b="" b6="" key value fam
    check_counts "$n" "$m"
    for ((r = 0; r < m; r++)); do
        k=$((r + 1))
        for ((i = 0; i < n; i++)); do
            nd=p${i}n$k
            rdma link delete "rxe_$nd" 2>/dev/null || true
            b+="link del $nd"$'\n'   # takes its bridge-side peer along
            b+="rule del pref $((10 + r)) oif $nd lookup $((k * 100 + 10 + i))"$'\n'
            b+="route flush table $((k * 100 + 10 + i))"$'\n'
            b6+="rule del pref $((10 + r)) oif $nd lookup $((k * 100 + 10 + i))"$'\n'
            b6+="route flush table $((k * 100 + 10 + i))"$'\n'
        done
        b+="link del br-net$k"$'\n'
    done
    for ((i = 0; i < n; i++)); do
        b+="netns del pod$i"$'\n'   # takes eth0 and its peer along
    done
    b+="netns del gw"$'\n'   # takes the gateway's veths along
    b+="link del cbr0"$'\n'
    ip -force -batch - <<<"$b" >/dev/null 2>&1 || true
    ip -6 -force -batch - <<<"$b6" >/dev/null 2>&1 || true
    # The local table goes back first in line, where every host expects it (both families).
    for fam in -4 -6; do
        if ! ip "$fam" rule show pref 0 | grep -q 'lookup local'; then
            ip "$fam" rule add pref 0 lookup local ||
                echo "pods.sh: could not restore 'ip $fam rule add pref 0 lookup local'" >&2
        fi
        while ip "$fam" rule show pref 100 | grep -q 'lookup local'; do
            ip "$fam" rule del pref 100 lookup local || break
        done
    done
    if [ -n "$work" ] && [ -f "$work/sysctl.saved" ]; then
        while read -r key value; do
            { echo "$value" >"/proc/sys/net/ipv4/conf/$key"; } 2>/dev/null || true
        done <"$work/sysctl.saved"
    fi
    # The RDMA netns mode back as it was: the kernel refuses (EBUSY) until the deleted
    # namespaces are really gone, which happens asynchronously.
    if [ -n "$work" ] && [ -s "$work/rdma-netns.saved" ]; then
        read -r value <"$work/rdma-netns.saved"
        for ((k = 0; k < 50; k++)); do
            rdma system show 2>/dev/null | grep -q "netns $value" && break
            rdma system set netns "$value" 2>/dev/null && break
            sleep 0.1
        done
        rdma system show 2>/dev/null | grep -q "netns $value" ||
            echo "pods.sh: could not restore 'rdma system set netns $value'" >&2
    fi
}

case ${1:-} in
up) shift; (($# >= 3)) || fail "usage: pods.sh up N M WORK [MODE [NETNS]]"; up "$@" ;;
down) shift; (($# >= 2)) || fail "usage: pods.sh down N M [WORK]"; down "$@" ;;
*) fail "usage: pods.sh up N M WORK [MODE [NETNS]] | pods.sh down N M [WORK]" ;;
esac
