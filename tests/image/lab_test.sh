#!/usr/bin/env bash
# The lab cluster from the image: `lab/demo --image` (4 pods x 2 rails, the agents and the
# coordinator chrooted into the image's exported root, run as the chart's rendered pods say)
# must pass with the lab profile, every check of lab/lib/image-pods.sh must hold, and the
# report must hold every pair of both rails: for each rail, all 6 pairs of the 4 pods, each
# with a passing record of every test (write_lat, write_bw).
# Usage: tests/image/lab_test.sh   (needs root; works in IMAGE_TEST_DIR, default <repo>/.lab)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/image/lib.sh
. "$repo/tests/image/lib.sh"
case ${1:-} in
  "") ;;
  -h | --help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "lab_test.sh: no arguments (see --help)" >&2; exit 2 ;;
esac
pods=4 rails=2 tests=(write_lat write_bw)
base=${IMAGE_TEST_DIR:-$repo/.lab}
mkdir -p "$base"
cd "$repo"   # lab/demo puts the export and the plan in ./.lab (git-ignored), shared with the guest
out=$(mktemp -d "$base/image-lab.XXXXXX")
trap 'rm -rf "$out"' EXIT
rc=0
timeout 900 "$repo/lab/demo" --image --pods "$pods" --rails "$rails" -o "$out/report" >"$out/log" 2>&1 || rc=$?
cat "$out/log"
echo "== lab_test.sh"
[ "$rc" = 0 ] && ok "lab/demo --image exits 0 (the coordinator passed with the lab profile)" ||
  not_ok "lab/demo --image exits 0" "exit $rc"
checks=$(grep -c '^ok - ' "$out/log" || true)
if grep -q '^not ok - ' "$out/log"; then not_ok "every check inside the guest holds" "$(grep -A2 '^not ok - ' "$out/log")"
elif ((checks >= 1 + pods * 3)); then ok "the $checks checks inside the guest hold"
else not_ok "the checks inside the guest ran" "only $checks ok lines"; fi

results=$out/report/results.json
if [ ! -s "$results" ]; then
  not_ok "the coordinator wrote results.json" "no $results"
else
  names=$(jq -r '[.records[].rail] | unique | join(" ")' "$results")
  [ "$(wc -w <<<"$names")" = "$rails" ] && ok "records on $rails rails: $names" ||
    not_ok "records on $rails rails" "rails: ${names:-none}"
  want=$((pods * (pods - 1) / 2))
  for rail in $names; do
    for t in "${tests[@]}"; do
      # Unordered pairs of distinct nodes on the rail with a record of the test; records not
      # passed (a warning passes).
      read -r pairs failed < <(jq -r --arg rail "$rail" --arg t "$t" '
        [.records[] | select(.rail == $rail and .test == $t and .src.node != .dst.node)]
        | "\(map([.src.node, .dst.node] | sort | join(" ")) | unique | length) \(map(select(.verdict != "pass" and .verdict != "warn")) | length)"' "$results")
      [ "$pairs" = "$want" ] && [ "$failed" = 0 ] && ok "rail $rail, $t: all $want pairs measured, none failed" ||
        not_ok "rail $rail, $t: all $want pairs measured and passed" "$pairs pairs, $failed records not passed"
    done
  done
fi
[ "$image_failed" = 0 ] && echo "image lab: all checks passed" || echo "image lab: some checks failed"
exit "$image_failed"
