#!/usr/bin/env bash
# Starts one container of a pod plan (tests/image/pod_plan.mjs) from an exported image root,
# as a container runtime would, in the current network namespace: a mount namespace of its
# own (`ip netns exec` gives one), the image's root bind-mounted onto itself (read-only when
# the plan says readOnlyRootFilesystem), a fresh /proc, the netns's /sys and the node's /dev
# (the RDMA device nodes a device plugin would give), the plan's volumes at their paths, then
# chroot and the image's setpriv: the plan's uid, gid and groups, every capability but the
# plan's dropped from the bounding set, no_new_privs; the image's entrypoint (or the plan's
# command) with the plan's args and env. It execs, so the caller's $! is the container's
# main process.
# Usage: image-pod-exec.sh ROOT CONTAINER_JSON_FILE
set -euo pipefail
root=${1:?usage: image-pod-exec.sh ROOT CONTAINER_JSON_FILE} c=$(cat "${2:?usage: image-pod-exec.sh ROOT CONTAINER_JSON_FILE}")
fail() { echo "image-pod-exec.sh: $*" >&2; exit 125; }
config=$root/.railcheck-image.json   # the image's config, written by scripts/image export
[ -r "$config" ] || fail "$config is missing: export the image with scripts/image export $root"

mount --make-rslave / 2>/dev/null || true
mount --bind "$root" "$root" || fail "cannot bind-mount $root"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
while IFS=$'\t' read -r src dst ro; do
  [ -e "$src" ] || fail "volume source $src is missing"
  # The runtime makes the mount point (in a container's writable layer; here in the export).
  if [ -d "$src" ]; then mkdir -p "$root$dst"; else mkdir -p "$(dirname "$root$dst")"; [ -e "$root$dst" ] || : >"$root$dst"; fi
  mount --bind "$src" "$root$dst" || fail "cannot mount $src on $dst"
  [ "$ro" != true ] || mount -o remount,bind,ro "$root$dst"
done < <(jq -r '.mounts[] | [.source, .target, .readOnly] | @tsv' <<<"$c")
[ "$(jq -r .readOnlyRootFilesystem <<<"$c")" != true ] || mount -o remount,bind,ro "$root"
hostname "$(jq -r .hostname <<<"$c")"

user=$(jq -r '.user // empty' <<<"$c")
[ -n "$user" ] || user=$(jq -r '.User // "0" | split(":")[0]' "$config")
group=$(jq -r '.group // empty' <<<"$c")
if [ -z "$group" ]; then   # the user's group in the image's /etc/passwd, else the image's, else 0
  group=$(awk -F: -v u="$user" '$3 == u {print $4; exit}' "$root/etc/passwd")
  [ -n "$group" ] || group=$(jq -r '.User // "0:0" | split(":")[1] // "0"' "$config")
fi
groups=$(jq -r '.supplementalGroups | map(tostring) | join(",")' <<<"$c")
priv=(--reuid="$user" --regid="$group")
if [ -n "$groups" ]; then priv+=(--groups="$groups"); else priv+=(--clear-groups); fi
if [ "$(jq -r .privileged <<<"$c")" != true ]; then
  bset=$(jq -r '["-all"] + (.capabilities | map("+" + ascii_downcase)) | join(",")' <<<"$c")
  priv+=(--inh-caps=-all --bounding-set="$bset")
fi
[ "$(jq -r .noNewPrivileges <<<"$c")" != true ] || priv+=(--no-new-privs)

mapfile -t env < <(jq -r --arg h "$(jq -r .hostname <<<"$c")" \
  '{PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOSTNAME: $h} + .env | to_entries[] | "\(.key)=\(.value)"' <<<"$c")
if [ "$(jq -r '.command != null' <<<"$c")" = true ]; then mapfile -t argv < <(jq -r '.command[]' <<<"$c")
else mapfile -t argv < <(jq -r '.Entrypoint // [] | .[]' "$config"); fi
while IFS= read -r a; do argv+=("$a"); done < <(jq -r '.args[]' <<<"$c")
exec chroot "$root" /usr/bin/setpriv "${priv[@]}" -- /usr/bin/env -i "${env[@]}" "${argv[@]}"
