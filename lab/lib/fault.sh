#!/bin/bash
# lab/lib/fault.sh: the lab's fault kit. Injects one fault into one pod's rail with the
# kernel's own tools (tc, ip, rdma) and undoes it. Runs as root inside the lab (lab/run),
# where lab/lib/pods.sh made the pods; see `fault.sh --help` and docs/lab.md ("Fault kit").
#
# State lives in $RAILCHECK_LAB_FAULTS (default: the lab's work directory, i.e. the folder
# of $LAB_MAP, /run/railcheck-lab in the guest, + /faults): one folder per pod and rail,
# pod<P>-rail<R>/, holding `fault` ("KIND ARG") and what `clear` needs to put back
# (routes, rules, addresses, the MTU, the annotations, a background pid).
set -euo pipefail

prog=fault.sh

usage() {
    cat <<'EOF'
usage: fault.sh inject KIND POD RAIL [ARG]
       fault.sh clear POD RAIL
       fault.sh clear-all
       fault.sh list
       fault.sh --help

The lab's fault kit: injects one fault into ONE pod's rail of the lab (lab/run, as root
in the guest) with the kernel's own tools, and undoes it. POD and RAIL count from 0, as
in lab/run: pod i rail r (K = r+1) is netdev pInK (172.16.(11+r).(10+i), fd16:(11+r)::(10+i)),
its bridge port pInK-br on br-netK, rdma device rxe_pInK, policy rule
`pref 10+r oif pInK lookup T` (T = K*100+10+i), IPv4 and IPv6.

kinds (ARG optional, default in brackets):
  delay [2ms]     netem delay TIME (us, ms, s) on both directions of the rail: the egress
                  of pInK (from the pod) and of pInK-br (towards the pod); a round trip
                  gains 2 x TIME.                      A congested or long path.
  loss [2%]       netem loss PCT, both directions.     A lossy port, a dirty cable.
  corrupt [1%]    netem corrupt PCT (one bit flipped), both directions: the receiver's
                  checksums (rxe's ICRC) drop them.    A bad cable or optic (CRC errors).
  reorder [25%]   netem delay 1ms reorder PCT: PCT of the packets go at once, the rest
                  1 ms late, both directions.          Multipath or ECMP reordering.
  rate [20mbit]   tbf rate RATE (kbit, mbit, gbit; burst max(32kbit, 10 ms of RATE),
                  latency 50ms), both directions.      A downtrained or rate-limited link.
  down [AFTER_S]  ip link set pInK down (rxe_pInK goes DOWN; the kernel drops pInK's
                  routes and IPv6 addresses: clear puts them back). With AFTER_S, it
                  happens in the background AFTER_S seconds later ("the link goes down
                  mid-run"): inject returns at once and prints the background pid alone
                  on stdout; clear kills it if it is still pending.   A flapping link.
  mtu [1000]      ip link set pInK mtu BYTES (68..1499; the lab's veths have 1500).
                  rxe's active_mtu follows: 1024 for 1104..1500, 512 for 1103 and
                  below (the others stay 1024); below 1280 the kernel also takes
                  IPv6 off pInK (clear puts it back). Packets larger than BYTES
                  towards the pod are dropped.         An MTU mismatch.
  norule          delete the pod's policy rule(s) for the rail (IPv4 and IPv6; saved
                  for clear). IPv6: rxe_pInK's packets to the rail's other pods take
                  the local table, over lo, where rxe drops them (RoCE over IPv6
                  GIDs hangs). IPv4: an oif-bound lookup skips the other netdevs'
                  local routes and leaves by pInK's connected /24, so RoCE on the
                  rail's subnet still works; only the gateway route (off-subnet) is
                  gone.                                A missing Spiderpool policy route.
  norail          the pod loses the rail: rdma link delete rxe_pInK, pInK down, and the
                  rail's entry leaves the pod's podinfo annotations (Multus
                  network-status and networks), so railcheck's agent on that pod no
                  longer sees it ($LAB_MAP is left as built). clear re-adds rxe_pInK
                  (same name), brings pInK up with its routes and puts the annotations
                  back.                                A pod missing a rail's VF.
  shared          (POD RAIL optional) switch the RDMA netns mode: always refused, exit 1:
                  the mode is global and the kernel refuses to change it (EBUSY) while
                  any other netns exists, i.e. once the pods exist. Choose it at boot:
                  lab/run --rdma-netns shared (default) | exclusive.

One fault per pod and rail: injecting the same fault again does nothing, another one
replaces it (cleared first). Rails of other pods and the pod's other rails are untouched.

  clear POD RAIL  undo what was injected there (nothing injected: says so, exit 0)
  clear-all       undo every fault
  list            one line per fault: `pod P rail R NETDEV KIND ARG [note]`; nothing if none

exit status: 0 done; 1 a step failed (the message names it); 2 usage error (a bad
  command, kind, pod, rail or argument: the message names it and the valid choices).

environment: RAILCHECK_LAB_FAULTS  state folder (default: $LAB_MAP's folder/faults,
  /run/railcheck-lab/faults in the guest)

examples:
  lab/run --pods 4 --rails 2 -- 'lab/lib/fault.sh inject loss 1 0 5%; ...; lab/lib/fault.sh clear 1 0'
  fault.sh inject delay 2 1 10ms
  pid=$(fault.sh inject down 1 0 5)     # p1n1 goes down 5 s from now
  fault.sh list; fault.sh clear-all
EOF
}

bad() { echo "$prog: $*" >&2; exit 2; }   # usage error
die() { echo "$prog: $*" >&2; exit 1; }   # a step failed

kinds="delay loss corrupt reorder rate down mtu norule norail shared"

# ---- the lab as the kernel shows it ---------------------------------------------------
lab_size() {   # sets npods, nrails: pods p0n1, p1n1, ...; rails br-net1, br-net2, ...
    npods=0 nrails=0
    while [ -e "/sys/class/net/p${npods}n1" ]; do npods=$((npods + 1)); done
    while [ -e "/sys/class/net/br-net$((nrails + 1))" ]; do nrails=$((nrails + 1)); done
    ((npods > 0 && nrails > 0)) ||
        die "not in the lab: no netdev p0n1 or bridge br-net1 (run it inside lab/run, as root)"
}

check_pod_rail() {   # check_pod_rail POD RAIL: validate, set pod rail k nd table slot
    if ! [[ $1 =~ ^[0-9]+$ ]] || ((10#$1 >= npods)); then
        bad "POD '$1': must be a pod number 0..$((npods - 1)) (the lab has $npods pods)"
    fi
    if ! [[ $2 =~ ^[0-9]+$ ]] || ((10#$2 >= nrails)); then
        bad "RAIL '$2': must be a rail number 0..$((nrails - 1)) (the lab has $nrails rails)"
    fi
    pod=$((10#$1)) rail=$((10#$2))
    k=$((rail + 1))
    nd=p${pod}n$k
    table=$((k * 100 + 10 + pod))
    slot=$state/pod$pod-rail$rail
}

work=${LAB_MAP:-/run/railcheck-lab/map.json}
work=${work%/*}
state=${RAILCHECK_LAB_FAULTS:-$work/faults}

# run WHAT COMMAND...: one step; on failure, name it and the tool's message.
run() {
    local what=$1 out
    shift
    out=$("$@" 2>&1) || die "step failed: $what: ${out//$'\n'/ | }"
}

# ---- arguments of each kind ---------------------------------------------------------
pct() {   # pct KIND VALUE: a percentage 0..100, '%' optional; prints it with '%'
    local v=${2%\%}
    if ! [[ $v =~ ^[0-9]+(\.[0-9]+)?$ ]] || ! awk -v v="$v" 'BEGIN {exit !(v >= 0 && v <= 100)}'; then
        bad "$1 '$2': must be a percentage 0..100, e.g. 5% or 0.5%"
    fi
    echo "$v%"
}

check_arg() {   # check_arg KIND ARG: prints the normalized argument (the default if empty)
    local kind=$1 a=$2
    case $kind in
    delay)
        a=${a:-2ms}
        [[ $a =~ ^[0-9]+(\.[0-9]+)?(us|ms|s)$ ]] || bad "delay '$a': must be a time like 2ms, 500us or 0.1s"
        echo "$a" ;;
    loss) pct loss "${a:-2%}" ;;
    corrupt) pct corrupt "${a:-1%}" ;;
    reorder) pct reorder "${a:-25%}" ;;
    rate)
        a=${a:-20mbit}
        [[ $a =~ ^[1-9][0-9]*(kbit|mbit|gbit)$ ]] || bad "rate '$a': must be a rate like 20mbit, 500kbit or 1gbit"
        echo "$a" ;;
    down)
        if [ -n "$a" ] && { ! [[ $a =~ ^[0-9]+$ ]] || ((10#$a > 86400)); }; then
            bad "down '$a': AFTER_S must be a number of seconds 0..86400 (or nothing: now)"
        fi
        ((10#${a:-0} == 0)) || echo $((10#$a)) ;;   # (0: now)
    mtu)
        a=${a:-1000}
        if ! [[ $a =~ ^[0-9]+$ ]] || ((10#$a < 68 || 10#$a >= 1500)); then
            bad "mtu '$a': BYTES must be 68..1499 (lower than the lab's 1500)"
        fi
        echo $((10#$a)) ;;
    norule | norail | shared)
        [ -z "$a" ] || bad "$kind takes no argument (got '$a')" ;;
    esac
}

# ---- what clear needs ----------------------------------------------------------------
# The kernel drops a netdev's routes when it goes down, and its IPv6 addresses (and the
# IPv6 routes through it) when it goes down or its MTU falls below 1280; up again, or
# back to 1280, they do not return. Save the pod's table T and its global IPv6 addresses.
save_routes() {
    local fam line
    for fam in 4 6; do
        ip "-$fam" route show table "$table" | while IFS= read -r line; do
            line=${line% } line=${line/ linkdown/} line=${line/ dead/}
            # (throw routes name no device: they stay)
            [ -z "$line" ] || [[ $line == throw* ]] || printf 'route replace %s table %s\n' "$line" "$table"
        done >"$slot/routes$fam"
    done
    ip -6 -o addr show dev "$nd" scope global | awk '{print "addr replace " $4 " dev '"$nd"' nodad"}' >"$slot/addrs6"
}

restore_routes() {   # (the link is up)
    local fam
    [ ! -s "$slot/addrs6" ] || run "restore $nd's IPv6 addresses" ip -6 -batch "$slot/addrs6"
    for fam in 4 6; do
        [ ! -s "$slot/routes$fam" ] || run "restore table $table (IPv$fam)" ip "-$fam" -batch "$slot/routes$fam"
    done
}

wait_active() {   # wait_active DEV: rxe port 1 ACTIVE (10 s)
    local s="" tries
    for ((tries = 0; tries < 100; tries++)); do
        read -r _ s <"/sys/class/infiniband/$1/ports/1/state" 2>/dev/null || true
        [ "$s" = ACTIVE ] && return 0
        sleep 0.1
    done
    die "step failed: wait for $1: port 1 is ${s:-missing}, not ACTIVE after 10 s"
}

# The pod's podinfo annotations without rail K: its network-status entry (interface netK)
# and its network in `networks`. Both are Go-quoted (pods.sh): the network-status value
# is "[{...},{...}]" whose entries are joined by "},{", which occurs nowhere else.
drop_rail_annotations() {   # drop_rail_annotations FILE K
    local f=$1 k=$2 kv key val rest e out nets=() net
    while IFS= read -r kv || [ -n "$kv" ]; do
        key=${kv%%=*} val=${kv#*=}
        case $key in
        k8s.v1.cni.cncf.io/network-status)
            rest=${val#\"\[} rest=${rest%\]\"} out=""
            while [ -n "$rest" ]; do
                if [[ $rest == *'},{'* ]]; then
                    e=${rest%%'},{'*}'}' rest='{'${rest#*'},{'}
                else
                    e=$rest rest=""
                fi
                [[ $e == *'\"interface\": \"net'"$k"'\"'* ]] || out+=${out:+,}$e
            done
            kv="$key=\"[$out]\"" ;;
        k8s.v1.cni.cncf.io/networks)
            rest=${val#\"} rest=${rest%\"} out=""
            IFS=, read -ra nets <<<"$rest"
            for net in "${nets[@]}"; do
                [ "$net" = "spiderpool/gpu$k-sriov" ] || out+=${out:+,}$net
            done
            kv="$key=\"$out\"" ;;
        esac
        printf '%s\n' "$kv"
    done <"$f" >"$f.new"
    # (kubelet's file has no newline after the last line)
    truncate -s -1 "$f.new"
    mv "$f.new" "$f"
}

# ---- inject ---------------------------------------------------------------------------
qdisc_both() {   # qdisc_both WHAT QDISC-ARGS...: the same root qdisc on pInK and pInK-br
    local what=$1 d
    shift
    for d in "$nd" "$nd-br"; do
        run "$what on $d: tc qdisc replace dev $d root $*" tc qdisc replace dev "$d" root "$@"
    done
}

apply() {   # apply KIND ARG: the kernel change (the slot folder exists)
    local kind=$1 a=$2 bits burst pid
    case $kind in
    delay) qdisc_both delay netem delay "$a" ;;
    loss) qdisc_both loss netem loss "$a" ;;
    corrupt) qdisc_both corrupt netem corrupt "$a" ;;
    reorder) qdisc_both reorder netem delay 1ms reorder "$a" ;;
    rate)
        case $a in
        *kbit) bits=$((${a%kbit} * 1000)) ;;
        *mbit) bits=$((${a%mbit} * 1000000)) ;;
        *gbit) bits=$((${a%gbit} * 1000000000)) ;;
        esac
        burst=$((bits / 8 / 100))           # 10 ms of the rate, in bytes
        ((burst >= 4000)) || burst=4000      # (32kbit: above a full-size frame)
        qdisc_both rate tbf rate "$a" burst "$burst" latency 50ms ;;
    down)
        save_routes
        if [ -z "$a" ]; then
            run "set $nd down" ip link set dev "$nd" down
        else
            # shellcheck disable=SC2016  # expanded by that bash
            # Own session and process group (clear kills the group), none of our stdio,
            # nor our lock (fd 9: the next fault.sh would wait for the job).
            setsid bash -c 'sleep "$1" && ip link set dev "$2" down && : >"$3/fired"' down-after \
                "$a" "$nd" "$slot" </dev/null >/dev/null 2>&1 9>&- &
            pid=$!
            echo "$pid" >"$slot/pid"
        fi ;;
    mtu)
        save_routes
        cat "/sys/class/net/$nd/mtu" >"$slot/mtu"
        run "set $nd's MTU to $a" ip link set dev "$nd" mtu "$a" ;;
    norule)
        local fam line
        for fam in 4 6; do
            ip "-$fam" rule show oif "$nd" >"$slot/rules$fam"
        done
        [ -s "$slot/rules4" ] || [ -s "$slot/rules6" ] || die "no policy rule with oif $nd to delete"
        for fam in 4 6; do
            while IFS= read -r line; do
                [ -n "$line" ] || continue
                # "10:	from all oif p1n1 lookup 111" -> pref 10 from all oif p1n1 lookup 111
                # shellcheck disable=SC2086  # the rule's words
                run "delete the IPv$fam rule '$line'" ip "-$fam" rule del pref "${line%%:*}" ${line#*:}
            done <"$slot/rules$fam"
        done ;;
    norail)
        save_routes
        local ann=$work/pods/pod$pod/podinfo/annotations
        if [ -f "$ann" ]; then
            cp "$ann" "$slot/annotations"
            echo "$ann" >"$slot/annotations.path"
            drop_rail_annotations "$ann" "$k"
        fi
        if [ -e "/sys/class/infiniband/rxe_$nd" ]; then
            run "delete rxe_$nd" rdma link delete "rxe_$nd"
        fi
        run "set $nd down" ip link set dev "$nd" down ;;
    esac
}

describe() {   # describe KIND ARG: what inject did, in words
    case $1 in
    delay | loss | corrupt | reorder) echo "netem $1 $2 on $nd and $nd-br" ;;
    rate) echo "tbf rate $2 on $nd and $nd-br" ;;
    down) if [ -n "$2" ]; then echo "$nd goes down in $2 s"; else echo "$nd down"; fi ;;
    mtu) echo "$nd mtu $2 (was $(cat "$slot/mtu"))" ;;
    norule) echo "policy rules oif $nd deleted" ;;
    norail) echo "rxe_$nd deleted, $nd down, rail $rail gone from pod$pod's annotations" ;;
    esac
}

shared() {
    local now was want err
    now=$(rdma system show 2>&1) || die "rdma system show failed: $now"
    case $now in *"netns exclusive"*) was=exclusive want=shared ;; *) was=shared want=exclusive ;; esac
    if err=$(rdma system set netns "$want" 2>&1); then
        # (only possible with no other netns, i.e. no pods: put it back)
        rdma system set netns "$was" >/dev/null 2>&1 || true
        die "shared: the kernel accepted 'rdma system set netns $want' (no pods?) and it was put back; choose the mode with lab/run --rdma-netns shared | exclusive"
    fi
    die "shared: the RDMA netns mode is global and cannot change once the pods exist: 'rdma system show' says '${now//$'\n'/ }', and 'rdma system set netns $want' fails (${err//$'\n'/ }) while any other netns exists. Choose it when the lab boots: lab/run --rdma-netns shared (the default: every pod sees every device) or --rdma-netns exclusive (the pods see no RDMA device)"
}

inject() {
    local kind=$1 a old
    [ -n "$kind" ] || bad "inject: no KIND (one of: $kinds)"
    [[ " $kinds " == *" $kind "* ]] || bad "KIND '$kind': must be one of: $kinds"
    if [ "$kind" = shared ]; then
        (($# <= 3)) || bad "shared takes no argument (got '$4')"
        (($# != 2)) || bad "inject shared: give POD and RAIL, or neither (the mode is global)"
        (($# != 3)) || check_pod_rail "$2" "$3"
        shared
    fi
    (($# >= 3)) || bad "inject $kind: needs POD and RAIL (fault.sh inject $kind POD RAIL [ARG])"
    (($# <= 4)) || bad "inject $kind: too many arguments (fault.sh inject $kind POD RAIL [ARG])"
    check_pod_rail "$2" "$3"
    a=$(check_arg "$kind" "${4:-}") || exit $?
    if [ -f "$slot/fault" ]; then
        read -r old <"$slot/fault" || old=""
        if [ "$old" = "$kind${a:+ $a}" ]; then
            echo "$prog: pod $pod rail $rail: $kind${a:+ $a} is already injected"
            [ "$kind" != down ] || [ -z "$a" ] || [ ! -s "$slot/pid" ] || cat "$slot/pid"
            return 0
        fi
        echo "$prog: pod $pod rail $rail: replacing $old with $kind${a:+ $a}" >&2
        clear_slot
    fi
    mkdir -p "$slot"
    echo "$kind${a:+ $a}" >"$slot/fault"
    # A step that fails: undo what was done, then fail. (set -e holds in the subshell
    # only outside a tested context, hence no `if ! (apply)`.)
    local rc=0
    set +e
    (set -e; apply "$kind" "$a")
    rc=$?
    set -e
    if ((rc != 0)); then
        clear_slot >/dev/null 2>&1 || true
        exit 1
    fi
    if [ "$kind" = down ] && [ -n "$a" ]; then
        echo "$prog: pod $pod rail $rail: $(describe "$kind" "$a") (background pid $(cat "$slot/pid"))" >&2
        cat "$slot/pid"
    else
        echo "$prog: pod $pod rail $rail: $(describe "$kind" "$a")"
    fi
}

# ---- clear ----------------------------------------------------------------------------
pending() {   # pending SLOT: its background job still runs (its own process group)
    local pid stat
    [ -s "$1/pid" ] || return 1
    read -r pid <"$1/pid"
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    # shellcheck disable=SC2086  # its fields: state ppid pgrp ...
    set -- $stat
    [ "$3" = "$pid" ] && [ "$1" != Z ]
}

clear_slot() {   # undo the fault in $slot (pod, rail, nd, table set)
    local kind a line d
    [ -f "$slot/fault" ] || { rm -rf "$slot"; return 0; }
    read -r kind a <"$slot/fault" || true
    case $kind in
    delay | loss | corrupt | reorder | rate)
        for d in "$nd" "$nd-br"; do
            line=$(tc qdisc show dev "$d")
            if [[ $line =~ ^qdisc\ (netem|tbf)\ [0-9a-f]+:\ root ]]; then
                run "remove the root qdisc of $d" tc qdisc del dev "$d" root
            fi
        done ;;
    down | norail)
        if pending "$slot"; then
            read -r line <"$slot/pid"
            kill -- "-$line" 2>/dev/null || true
        fi
        run "set $nd up" ip link set dev "$nd" up
        restore_routes
        if [ "$kind" = norail ]; then
            [ -e "/sys/class/infiniband/rxe_$nd" ] ||
                run "re-add rxe_$nd" rdma link add "rxe_$nd" type rxe netdev "$nd"
            if [ -f "$slot/annotations" ]; then
                read -r line <"$slot/annotations.path"
                cp "$slot/annotations" "$line.new" && mv "$line.new" "$line"
            fi
        fi
        [ ! -e "/sys/class/infiniband/rxe_$nd" ] || wait_active "rxe_$nd" ;;
    mtu)
        [ ! -s "$slot/mtu" ] || run "set $nd's MTU back" ip link set dev "$nd" mtu "$(cat "$slot/mtu")"
        restore_routes
        wait_active "rxe_$nd" ;;
    norule)
        local fam
        for fam in 4 6; do
            [ -f "$slot/rules$fam" ] || continue
            while IFS= read -r line; do
                [ -n "$line" ] || continue
                # (already back: nothing to do)
                [ -z "$(ip "-$fam" rule show pref "${line%%:*}" oif "$nd")" ] || continue
                # shellcheck disable=SC2086  # the rule's words
                run "restore the IPv$fam rule '$line'" ip "-$fam" rule add pref "${line%%:*}" ${line#*:}
            done <"$slot/rules$fam"
        done ;;
    esac
    rm -rf "$slot"
    echo "$prog: pod $pod rail $rail: cleared $kind${a:+ $a}"
}

slots() {   # the injected slots, as "POD RAIL" lines, in order
    local d
    for d in "$state"/pod*-rail*; do
        [ -d "$d" ] || continue
        d=${d##*/pod}
        echo "${d%-rail*} ${d#*-rail}"
    done | sort -n -k1,1 -k2,2
}

list() {
    local p r kind a note
    while read -r p r; do
        check_pod_rail "$p" "$r"
        [ -f "$slot/fault" ] || continue
        read -r kind a <"$slot/fault" || true
        note=""
        if [ "$kind" = down ] && [ -n "$a" ]; then
            if pending "$slot"; then note=" (pending, pid $(cat "$slot/pid"))"
            elif [ -e "$slot/fired" ]; then note=" (fired)"
            else note=" (background job gone)"; fi
        fi
        echo "pod $p rail $r $nd $kind${a:+ $a}$note"
    done < <(slots)
}

# ---- main -------------------------------------------------------------------------------
case ${1:-} in
-h | --help | help) usage; exit 0 ;;
"") bad "no command: fault.sh inject KIND POD RAIL [ARG] | clear POD RAIL | clear-all | list (see fault.sh --help)" ;;
inject | clear | clear-all | list) ;;
*) bad "command '$1': must be one of: inject, clear, clear-all, list (see fault.sh --help)" ;;
esac
cmd=$1
shift
((EUID == 0)) || die "needs root (run it inside lab/run)"
lab_size
[ -d "$state" ] || mkdir -p "$state"
# One fault.sh at a time (the state and the kernel changes stay consistent).
exec 9>"$state/.lock"
flock 9
case $cmd in
inject) inject "${1:-}" "${@:2}" ;;
clear)
    (($# == 2)) || bad "clear: needs POD and RAIL (fault.sh clear POD RAIL)"
    check_pod_rail "$1" "$2"
    if [ -d "$slot" ]; then clear_slot; else echo "$prog: pod $pod rail $rail: nothing injected"; fi ;;
clear-all)
    (($# == 0)) || bad "clear-all takes no argument (got '$1')"
    while read -r p r; do
        check_pod_rail "$p" "$r"
        clear_slot
    done < <(slots) ;;
list)
    (($# == 0)) || bad "list takes no argument (got '$1')"
    list ;;
esac
