#!/usr/bin/env bash
# The Dockerfile, checked without a container engine:
#   - every file it copies from the context exists and is not excluded by .dockerignore, and
#     nothing the CMake build reads is excluded either;
#   - every file it copies from a stage is written by that stage;
#   - both stages are Debian 12; the runtime stage installs no compiler and no -dev package,
#     only packages Debian 12 has, and runs as a non-root user;
#   - the runtime packages provide every library of the built binary: each library it
#     links directly (readelf NEEDED) is named in the list, each library ldd resolves is in
#     what apt installs for that list (the list and its dependencies, apt-cache depends),
#     and ibverbs-providers (loaded by libibverbs at run time) is in the list.
# Env: RAILCHECK_BIN_DIR (the build's bin/). Prints ok/not ok per check.
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
bin=${RAILCHECK_BIN_DIR:?set RAILCHECK_BIN_DIR to the build\'s bin folder}/railcheck
dockerfile=${DOCKERFILE:-Dockerfile}
failed=0
ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1"; shift; for l in "$@"; do echo "  # $l"; done; failed=1; }

# Instructions with continuation lines joined, comments dropped: "LINENO<TAB>INSTRUCTION".
instructions=$(awk '
  /^[[:space:]]*#/ && cont == "" { next }
  { line = $0; sub(/^[[:space:]]+/, "", line)
    if (cont == "") start = NR
    if (line ~ /\\$/) { sub(/\\$/, "", line); cont = cont line " "; next }
    print start "\t" cont line; cont = "" }' "$dockerfile")
# Stage of each instruction: "STAGE<TAB>INSTRUCTION".
staged=$(awk -F'\t' '
  toupper($2) ~ /^FROM / { n = split($2, w, /[[:space:]]+/); stage = (n >= 4 && toupper(w[3]) == "AS") ? w[4] : "stage" ++i }
  { print stage "\t" $2 }' <<<"$instructions")
stage_of_last_from=$(awk -F'\t' 'toupper($2) ~ /^FROM /{s=$1} END{print s}' <<<"$staged")
runtime_stage=$stage_of_last_from

# --- FROM: Debian 12 -------------------------------------------------------------------
base=$(sed -nE 's/^ARG DEBIAN_IMAGE=(.*)$/\1/p' "$dockerfile")
froms=$(awk -F'\t' 'toupper($2) ~ /^FROM /{print $2}' <<<"$staged")
if [[ $base =~ ^debian:(12|bookworm)(-slim)?$ ]] && ! grep -vq 'FROM \${DEBIAN_IMAGE} AS' <<<"$froms"; then
  ok "every stage is FROM \${DEBIAN_IMAGE} = $base (Debian 12)"
else
  not_ok "every stage is FROM \${DEBIAN_IMAGE} (Debian 12)" "DEBIAN_IMAGE=$base" "$froms"
fi

# --- COPY from the context ---------------------------------------------------------------
ignored=$(grep -vE '^[[:space:]]*(#|$)' .dockerignore 2>/dev/null | sed -E 's#^/##; s#/$##')
is_ignored() {  # PATH: excluded by .dockerignore (its top-level names, the only kind used)
  local top=${1%%/*}
  grep -qxF -- "$top" <<<"$ignored" || grep -qxF -- "$1" <<<"$ignored"
}
copies=$(awk -F'\t' 'toupper($2) ~ /^COPY / && $2 !~ /--from=/ {print $2}' <<<"$staged")
[ -n "$copies" ] || not_ok "the Dockerfile copies from the context" "no COPY found"
while read -r _ src _; do
  [ -n "$src" ] || continue
  if [ "$src" = . ]; then
    ok "COPY . (the whole context)"
  elif [ -e "$src" ] && ! is_ignored "$src"; then
    ok "COPY $src exists and is sent"
  else
    not_ok "COPY $src exists and is sent" "missing or excluded by .dockerignore"
  fi
done <<<"$copies"
if grep -qE '^COPY \. ' <<<"$copies"; then
  needed=(CMakeLists.txt cmake scripts/install-deps)
  while read -r d; do needed+=("$d"); done < <(sed -nE 's/^add_subdirectory\(([^)]+)\)/\1/p' CMakeLists.txt)
  bad=()
  for p in "${needed[@]}"; do { [ -e "$p" ] && ! is_ignored "$p"; } || bad+=("$p"); done
  if [ ${#bad[@]} -eq 0 ]; then ok "the build's inputs (${#needed[@]}: CMake files, every module) are sent"
  else not_ok "the build's inputs are sent" "missing or in .dockerignore: ${bad[*]}"; fi
fi
build_flags=$(awk -F'\t' '$1 == "build" && $2 ~ /cmake -S/' <<<"$staged")
if grep -q -- '-DRAILCHECK_BUILD_TESTS=OFF' <<<"$build_flags" && grep -q -- '-DRAILCHECK_BUILD_BENCH=OFF' <<<"$build_flags"; then
  ok "tests and bench (add_subdirectory'd only when on) are off in the image build"
else
  not_ok "tests and bench are off in the image build" "$build_flags"
fi

# --- COPY --from a stage -----------------------------------------------------------------
while IFS=$'\t' read -r stage ins; do
  from=$(sed -nE 's/.*--from=([^ ]+).*/\1/p' <<<"$ins")
  src=$(awk '{for (i = 2; i <= NF; i++) if ($i !~ /^--/) {print $i; exit}}' <<<"$ins")
  writes=$(awk -F'\t' -v s="$from" '$1 == s && toupper($2) ~ /^RUN /' <<<"$staged")
  if [ -z "$writes" ]; then
    not_ok "$ins: stage $from exists and runs something" "no RUN in a stage named $from"
  elif grep -qE -- "(-o|>|mkdir -p|cp [^ ]+|install [^ ]+) *$src( |$)" <<<"$writes"; then
    ok "COPY --from=$from $src: written by stage $from"
  else
    not_ok "COPY --from=$from $src: written by stage $from" "no RUN of $from writes $src"
  fi
done < <(awk -F'\t' 'toupper($2) ~ /^COPY / && $2 ~ /--from=/' <<<"$staged")

# --- the runtime stage's packages --------------------------------------------------------
runtime_pkgs=$(awk -F'\t' -v s="$runtime_stage" '$1 == s && $2 ~ /apt-get install/ {print $2}' <<<"$staged" |
  sed -E 's/.*apt-get install//; s/&&.*//' | tr ' ' '\n' | grep -vE '^(-.*|)$' | sort -u)
if [ -n "$runtime_pkgs" ]; then ok "runtime stage '$runtime_stage' installs: $(echo $runtime_pkgs)"
else not_ok "runtime stage installs packages" "no apt-get install in stage $runtime_stage"; fi
dev=$(grep -E -- '-dev$|^(g\+\+|gcc|cpp|clang|cmake|make|ninja-build|build-essential|binutils)(-[0-9.]+)?$' <<<"$runtime_pkgs")
if [ -z "$dev" ]; then ok "no compiler or -dev package at run time"; else not_ok "no compiler or -dev package at run time" "$dev"; fi
grep -qx ibverbs-providers <<<"$runtime_pkgs" && ok "ibverbs-providers (the verbs drivers libibverbs loads) installed" ||
  not_ok "ibverbs-providers installed" "libibverbs finds no device without its provider"
unknown=()
for p in $runtime_pkgs; do
  cand=$(apt-cache policy "$p" 2>/dev/null | sed -nE 's/^ +Candidate: //p')
  { [ -n "$cand" ] && [ "$cand" != "(none)" ]; } || unknown+=("$p")
done
if [ ${#unknown[@]} -eq 0 ]; then ok "every runtime package exists in this Debian's archive"
else not_ok "every runtime package exists in this Debian's archive" "unknown: ${unknown[*]} (or no apt lists: apt-get update)"; fi
user=$(awk -F'\t' -v s="$runtime_stage" '$1 == s && toupper($2) ~ /^USER /{u=$2} END{print u}' <<<"$staged" | awk '{print $2}')
if [ -n "$user" ] && [[ ${user%%:*} != 0 && ${user%%:*} != root ]]; then ok "runs as non-root user $user"
else not_ok "runs as a non-root user" "USER: '${user:-none}'"; fi
grep -qE '^ENTRYPOINT \["(/usr/local/bin/)?railcheck"\]' "$dockerfile" && grep -q '/usr/local/bin/railcheck' <<<"$staged" &&
  ok "ENTRYPOINT is railcheck, copied to /usr/local/bin" || not_ok "ENTRYPOINT is railcheck in /usr/local/bin"

# --- the binary's libraries ----------------------------------------------------------------
pkg_of() {  # a library path -> its Debian package (merged /usr tried both ways)
  local f=$1 real alt p
  real=$(readlink -f "$f")
  for c in "$f" "$real" "${f#/usr}" "/usr$f" "${real#/usr}" "/usr$real"; do
    p=$(dpkg -S "$c" 2>/dev/null | head -1 | cut -d: -f1) && [ -n "$p" ] && { echo "$p"; return; }
  done
}
if [ ! -x "$bin" ]; then
  not_ok "the built binary is there" "$bin (build it first)"
else
  base_pkgs="libc6 libgcc-s1 libstdc++6"   # in every Debian 12 image (apt needs them)
  closure=$( { echo "$runtime_pkgs"; tr ' ' '\n' <<<"$base_pkgs";
               apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
                 --no-replaces --no-enhances $runtime_pkgs 2>/dev/null | grep -E '^[a-z0-9]' ; } |
             sed -E 's/:.*//' | sort -u)
  mapfile -t needed < <(readelf -d "$bin" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p')
  ok "the binary links ${#needed[@]} libraries directly: ${needed[*]}"
  while read -r name path; do
    [ -n "$path" ] || continue
    if [[ $name =~ ^lib(asan|ubsan|tsan|lsan)\. ]]; then
      ok "$name: a sanitizer's runtime (this is an asan build; the image's build has none)"; continue
    fi
    p=$(pkg_of "$path")
    if [ -z "$p" ]; then not_ok "$name belongs to a Debian package" "dpkg -S knows no $path"; continue; fi
    direct=no
    for n in "${needed[@]}"; do [ "$n" = "$name" ] && direct=yes; done
    if [ $direct = yes ] && ! grep -qx "$p" <<<"$runtime_pkgs" && ! grep -qw "$p" <<<"$base_pkgs"; then
      not_ok "$name ($p): linked directly, so named in the runtime packages" "add $p to the runtime stage's apt-get install"
    elif ! grep -qx "$p" <<<"$closure"; then
      not_ok "$name ($p): installed at run time" "$p is not among the runtime packages or their dependencies"
    else
      ok "$name ($p) installed at run time"
    fi
  done < <(ldd "$bin" | sed -nE 's/^[[:space:]]*([^ ]+) => (\/[^ ]+) .*/\1 \2/p')
fi

[ "$failed" = 0 ] && echo "dockerfile: all checks passed" || echo "dockerfile: some checks failed"
exit "$failed"
