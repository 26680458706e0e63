#!/usr/bin/env bash
# The built image (scripts/image build: the Dockerfile as it is, on a local Debian 12 base),
# run with podman:
#   - its default command, `railcheck version`, runs and says GPU memory (GPUDirect) is built
#     in (the driver API, loaded at run time);
#   - `railcheck devices` fails cleanly where there is no RDMA device: exit 1, one line on
#     stderr saying why, nothing on stdout;
#   - the runtime packages hold every library the binary loads: ldd inside the image finds
#     every library of railcheck and of each verbs provider libibverbs loads at run time;
#   - no compiler and no -dev package is installed at run time;
#   - it runs as uid 10001 (USER 10001:10001) when nothing else is asked.
# Usage: tests/image/image_test.sh   (needs root; builds the image if the cache lacks it)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
# shellcheck source=tests/image/lib.sh
. tests/image/lib.sh
case ${1:-} in
  "") ;;
  -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "image_test.sh: no arguments (see --help)" >&2; exit 2 ;;
esac
ref=$(scripts/image build)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# run ARGS...: podman run of the image, its stdout, stderr and exit status in $tmp.
run() {
  local rc=0
  scripts/image podman run --rm --pull=never --network=none --ulimit nofile=1024:1024 \
    --ulimit nproc=1000:1000 "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
  echo "$rc" >"$tmp/rc"
}
size=$(scripts/image podman image inspect --format '{{.Size}}' "$ref")
ok "image $ref, $((size >> 20)) MiB"

run "$ref"
line=$(grep -iE '^(cuda|gpudirect)[^:]*: ' "$tmp/out" | head -n 1 || true)
# GPUDirect must be in the shipped binary (the driver API is loaded at run time: no toolkit at
# build time), so "not built in" fails the check.
if [ "$(cat "$tmp/rc")" = 0 ] && grep -q '^railcheck ' "$tmp/out" && [[ $line =~ built\ in ]] &&
  ! [[ $line =~ not\ built\ in ]]; then
  ok "railcheck version (the default command) runs: $(head -n 1 "$tmp/out"); $(tr -s ' ' <<<"$line")"
else
  not_ok "railcheck version runs and says GPUDirect is built in" "exit $(cat "$tmp/rc")" "$(cat "$tmp/out" "$tmp/err")"
fi

run "$ref" devices
rc=$(cat "$tmp/rc")
# (Here the kernel has no RDMA at all, so the reason is libibverbs' ENOSYS; on a node whose
# driver is loaded but gives the pod no device, "no RDMA device is visible".)
if [ "$rc" = 1 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && [ ! -s "$tmp/out" ] && grep -q '^railcheck devices: ' "$tmp/err"; then
  ok "railcheck devices without an RDMA device: exit 1, one line: $(cat "$tmp/err")"
else
  not_ok "railcheck devices without an RDMA device: exit 1 and one line on stderr" "exit $rc" \
    "stdout: $(head -c 300 "$tmp/out")" "stderr: $(head -c 600 "$tmp/err")"
fi

# shellcheck disable=SC2016  # the image's shell expands them
run --entrypoint /bin/sh "$ref" -c 'set -e
  for f in /usr/local/bin/railcheck /usr/lib/*/libibverbs/*.so; do echo "== $f"; ldd "$f"; done'
providers=$(grep -c '^== .*/libibverbs/' "$tmp/out" || true)
missing=$(grep 'not found' "$tmp/out" || true)
if [ "$(cat "$tmp/rc")" = 0 ] && [ -z "$missing" ] && grep -q 'libibverbs.so.1 => /' "$tmp/out" && [ "$providers" -gt 0 ]; then
  ok "ldd in the image: railcheck ($(awk '/^== \/usr\/local/{f=1; next} /^==/{f=0} f' "$tmp/out" | grep -c '=>') libraries) and $providers verbs providers (rxe among them: $(grep -c 'librxe' "$tmp/out")), nothing not found"
else
  not_ok "ldd in the image: every library found" "exit $(cat "$tmp/rc")" "${missing:-$(tail -n 5 "$tmp/out" "$tmp/err")}"
fi

run --entrypoint dpkg-query "$ref" -W -f '${Package}\n'
dev=$(grep -E -- '-dev$|^(g\+\+|gcc|cpp|clang|cmake|ninja-build|make)(-[0-9.]+)?$' "$tmp/out" || true)
if [ "$(cat "$tmp/rc")" = 0 ] && [ -s "$tmp/out" ] && [ -z "$dev" ]; then
  ok "no compiler and no -dev package among the image's $(wc -l <"$tmp/out") packages"
else
  not_ok "no compiler or -dev package in the image" "exit $(cat "$tmp/rc")" "${dev:-$(cat "$tmp/err")}"
fi

user=$(scripts/image podman image inspect --format '{{.Config.User}}' "$ref")
run --entrypoint /bin/sh "$ref" -c 'echo "$(id -u) $(id -g)"'
if [ "$user" = 10001:10001 ] && [ "$(cat "$tmp/out")" = "10001 10001" ]; then
  ok "runs as uid 10001, gid 10001 by default (USER $user)"
else
  not_ok "runs as uid 10001 by default" "USER '$user'; id: $(cat "$tmp/out" "$tmp/err")"
fi
[ "$image_failed" = 0 ] && echo "image: all checks passed" || echo "image: some checks failed"
exit "$image_failed"
