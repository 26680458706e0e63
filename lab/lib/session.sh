#!/bin/bash
# One lab session, the part shared by guest and host mode: set up the pods (or,
# with --nodes 2, this guest's node), show them, run the command, record its exit
# status.
#
#   usage: session.sh CTL
#
# CTL is the run's control directory, written by lab/run: env.sh (the command's
# environment plus the session settings LAB_CWD, LAB_QUIET, LAB_WORK_DIR,
# LAB_RUN_MODE, LAB_RDMA_NETNS), cmd.sh (the command), lib/ (this script and pods.sh). It gets back
# `rc` (the command's exit status) or `fail` (a one-line cause: the lab broke).
# Node mode (env.sh sets LAB_NODES): lib/node.sh sets up this node; then the
# session writes `ready` and waits for `go`, which lab/run writes into every
# node's CTL once all are ready, so that each node's command starts only when the
# other node is up and reachable (and no node ends before the other has seen it).
# In the guest it runs chrooted in the host's root under `env -i`, stdout and
# stderr on their virtio-serial ports; in host mode lab/run runs it directly.
set -uo pipefail
ctl=${1:?usage: session.sh CTL}
# shellcheck source=/dev/null
. "$ctl/env.sh"

broke() {   # the lab itself failed: the caller exits 125
    echo "$*" >"$ctl/fail"
    exit 125
}

# The pod table goes to stderr (fd 3), unless -q.
if [ "$LAB_QUIET" = 1 ]; then exec 3>/dev/null; else exec 3>&2; fi
if [ -n "${LAB_NODES:-}" ]; then
    setup=(node.sh up "$LAB_NODE" "$LAB_NODES" "$LAB_WORK_DIR") what="node network setup failed"
else
    setup=(pods.sh up "$LAB_PODS" "$LAB_RAILS" "$LAB_WORK_DIR" "$LAB_RUN_MODE" "${LAB_RDMA_NETNS:-shared}")
    what="pod network setup failed"
fi
if ! bash "$ctl/lib/${setup[0]}" "${setup[@]:1}" >&3 2>"$ctl/pods.err"; then
    cat "$ctl/pods.err" >&2
    broke "$what: $(grep -m1 'failed' "$ctl/pods.err" || tail -n 1 "$ctl/pods.err")"
fi
[ ! -s "$ctl/pods.err" ] || cat "$ctl/pods.err" >&2   # warnings
if [ -n "${LAB_NODES:-}" ]; then   # the barrier: see above
    : >"$ctl/ready"
    for ((t = 0; ; t++)); do
        [ ! -e "$ctl/go" ] || break
        ((t < 600)) || broke "node $LAB_NODE: the other node was not ready after 120 s"
        sleep 0.2
    done
fi

cd "$LAB_CWD" || broke "cannot cd to $LAB_CWD"
unset LAB_CWD LAB_QUIET LAB_WORK_DIR LAB_RUN_MODE LAB_RDMA_NETNS   # session settings, not the command's
# cmd.sh is one `exec ...` line: a subshell runs it without a bash of its own.
# shellcheck source=/dev/null
(. "$ctl/cmd.sh") </dev/null 3>&-
rc=$?
echo "$rc" >"$ctl/rc"
exit "$rc"
