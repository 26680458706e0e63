# Sourced by the image tests (tests/image/*_test.sh) and lab/lib/image-pods.sh: one "ok -" or
# "not ok -" line per check, and the check that a running process has what its plan says
# (tests/image/pod_plan.mjs): user, groups, capabilities, no_new_privs, read-only root.
# shellcheck shell=bash
image_failed=0
ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1"; shift; local l; for l in "$@"; do echo "  # $l"; done; image_failed=1; }
# check WHAT COMMAND...: ok when COMMAND succeeds, else not ok with its output.
check() {
  local what=$1 out
  shift
  if out=$("$@" 2>&1); then ok "$what"; else not_ok "$what" "${out:-(no output)}"; fi
}

# The capability numbers of linux/capability.h, by name.
declare -A cap_bit=([CHOWN]=0 [DAC_OVERRIDE]=1 [DAC_READ_SEARCH]=2 [FOWNER]=3 [FSETID]=4 [KILL]=5
  [SETGID]=6 [SETUID]=7 [SETPCAP]=8 [LINUX_IMMUTABLE]=9 [NET_BIND_SERVICE]=10 [NET_BROADCAST]=11
  [NET_ADMIN]=12 [NET_RAW]=13 [IPC_LOCK]=14 [IPC_OWNER]=15 [SYS_MODULE]=16 [SYS_RAWIO]=17
  [SYS_CHROOT]=18 [SYS_PTRACE]=19 [SYS_PACCT]=20 [SYS_ADMIN]=21 [SYS_BOOT]=22 [SYS_NICE]=23
  [SYS_RESOURCE]=24 [SYS_TIME]=25 [SYS_TTY_CONFIG]=26 [MKNOD]=27 [LEASE]=28 [AUDIT_WRITE]=29
  [AUDIT_CONTROL]=30 [SETFCAP]=31 [MAC_OVERRIDE]=32 [MAC_ADMIN]=33 [SYSLOG]=34 [WAKE_ALARM]=35
  [BLOCK_SUSPEND]=36 [AUDIT_READ]=37 [PERFMON]=38 [BPF]=39 [CHECKPOINT_RESTORE]=40)
# cap_mask NAME...: the 16-hex-digit mask /proc/PID/status shows; ALL is this host's bounding set.
cap_mask() {
  local m=0 c
  for c; do
    if [ "$c" = ALL ]; then
      m=$((m | 16#$(awk '/^CapBnd:/ {print $2}' /proc/self/status)))
    else
      [ -n "${cap_bit[$c]:-}" ] || { echo "unknown capability $c" >&2; return 1; }
      m=$((m | 1 << cap_bit[$c]))
    fi
  done
  printf '%016x\n' "$m"
}

# check_process LABEL PID CONTAINER_JSON [ROOT]: the process has the plan's uid, gid,
# supplementary groups, exactly its capabilities, no_new_privs, and a read-only root when the
# plan says so; ROOT (a chroot's) is what its / must be.
check_process() {
  local label=$1 pid=$2 c=$3 root=${4:-} status want got uid gid groups rootmnt
  if ! status=$(cat "/proc/$pid/status" 2>/dev/null); then
    not_ok "$label: the process is running" "no /proc/$pid"
    return
  fi
  uid=$(jq -r '.user // empty' <<<"$c")
  gid=$(jq -r '.group // empty' <<<"$c")
  got=$(awk '/^Uid:/ {print $2}' <<<"$status")
  if [ -z "$uid" ]; then uid=$image_uid; fi   # the image's USER (set by the caller)
  [ "$got" = "$uid" ] && ok "$label: runs as uid $uid" || not_ok "$label: runs as uid $uid" "uid $got"
  if [ -n "$gid" ]; then
    got=$(awk '/^Gid:/ {print $2}' <<<"$status")
    [ "$got" = "$gid" ] && ok "$label: primary group $gid" || not_ok "$label: primary group $gid" "gid $got"
  fi
  groups=$(jq -r '.supplementalGroups | map(tostring) | join(" ")' <<<"$c")
  if [ -n "$groups" ]; then
    got=$(awk '/^Groups:/ {$1 = ""; print}' <<<"$status")
    local g miss=()
    for g in $groups; do [[ " $got " == *" $g "* ]] || miss+=("$g"); done
    [ ${#miss[@]} = 0 ] && ok "$label: supplementary groups include $groups (fsGroup)" ||
      not_ok "$label: supplementary groups include $groups" "Groups:$got"
  fi
  local caps
  caps=$(jq -r '.capabilities | join(" ")' <<<"$c")
  # A non-root process keeps no capability: Kubernetes adds none to a non-root user's
  # effective set (no ambient capabilities).
  if [ "$uid" != 0 ] && [ "$(jq -r .privileged <<<"$c")" != true ]; then want=$(cap_mask); else want=$(cap_mask $caps); fi
  got=$(awk '/^CapEff:/ {print $2}' <<<"$status")
  [ "$got" = "$want" ] && ok "$label: effective capabilities ${caps:-none} ($got)" ||
    not_ok "$label: effective capabilities ${caps:-none}" "CapEff $got, want $want"
  if [ "$(jq -r .noNewPrivileges <<<"$c")" = true ]; then
    got=$(awk '/^NoNewPrivs:/ {print $2}' <<<"$status")
    [ "$got" = 1 ] && ok "$label: no_new_privs (allowPrivilegeEscalation: false)" ||
      not_ok "$label: no_new_privs" "NoNewPrivs: $got"
  fi
  if [ "$(jq -r .readOnlyRootFilesystem <<<"$c")" = true ]; then
    # mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ...; the process's / is "/".
    rootmnt=$(awk '$5 == "/" {print $6}' "/proc/$pid/mountinfo" | tail -n 1)
    [[ ,$rootmnt, == *,ro,* ]] && ok "$label: read-only root file system" ||
      not_ok "$label: read-only root file system" "/ mounted ${rootmnt:-?}"
  fi
  if [ -n "$root" ]; then
    [ "/proc/$pid/root" -ef "$root" ] && ok "$label: runs in the image's root ($root)" ||
      not_ok "$label: runs in $root" "root $(readlink "/proc/$pid/root")"
  fi
}
