#!/bin/bash
# Builds, once, the lab guest: Debian's stock kernel (it ships rdma_rxe) and a ~2 MB
# busybox initramfs holding only the modules the lab needs and lab/lib/init.
#
#   usage: guest-build.sh CACHE_DIR
#   prints the guest's directory (holding `kernel` and `initrd.gz`) on stdout.
#
# The guest is stored in CACHE_DIR/guest-KEY, KEY being a hash of the files that
# define it (this script and lab/lib/init): edit either and the next run rebuilds.
# An flock on CACHE_DIR/build.lock makes concurrent runs share one build.
# Host packages the lab needs are installed here, when missing (CI machines
# start bare); the kernel package is only downloaded and unpacked, never installed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${1:?usage: guest-build.sh CACHE_DIR}

# The modules the guest loads, in addition to their dependencies. crc32_generic is
# not a dependency of rdma_rxe but `rdma link add` fails without it (no autoload).
# af_packet: tcpdump's capture socket (the lab tests that read the wire).
# sch_netem, sch_tbf: the fault kit's qdiscs (lab/lib/fault.sh: delay, loss, corrupt,
# reorder, rate); tc needs no classifier or action module for a root qdisc.
modules=(crc32_generic rdma_rxe rdma_ucm ib_uverbs veth bridge virtio_net
         9p 9pnet_virtio virtio_pci virtio_console af_packet sch_netem sch_tbf)
# What the host needs: qemu and the initramfs tools for the guest; iproute2 (ip,
# rdma), the rxe verbs provider and the tools for the commands run in the guest,
# which uses the host's / as its root (tcpdump: the lab tests that read the wire).
packages=(qemu-system-x86 busybox-static kmod cpio xz-utils util-linux iproute2
          ibverbs-providers ibverbs-utils perftest tcpdump)

say() { echo "lab: $*" >&2; }
die() { echo "lab: guest build failed: $*" >&2; exit 1; }

ensure_packages() {
    command -v dpkg-query >/dev/null || return 0   # not Debian: trust the PATH
    local missing
    missing=$({ dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${packages[@]}" 2>/dev/null || true; } |
              awk '$1 == "ii" {ok[$2] = 1} END {for (p in ok) print p}' |
              sort | comm -13 - <(printf '%s\n' "${packages[@]}" | sort) | tr '\n' ' ')
    [ -n "$missing" ] || return 0
    [ "$(id -u)" = 0 ] ||
        die "missing packages: ${missing}(install them: sudo apt-get install --no-install-recommends ${missing% })"
    say "installing ${missing}..."
    # shellcheck disable=SC2086  # $missing is a list of package names
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends $missing; } >"$cache/apt.log" 2>&1 ||
        { tail -n 20 "$cache/apt.log" >&2; die "apt-get install $missing failed (log: $cache/apt.log)"; }
}

kernel_package() {   # the versioned package linux-image-amd64 depends on
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ {print $2; exit}'
}

build() {   # build the guest into the empty directory $1
    local out=$1 tmp kpkg kver z off m f
    tmp=$out/tmp
    mkdir -p "$tmp/ir"/{bin,dev,proc,sys,mnt,lib/modules}

    kpkg=$(kernel_package)
    if [ -z "$kpkg" ]; then       # fresh machines have no package lists yet
        apt-get update -qq >"$cache/apt.log" 2>&1 || die "apt-get update failed (log: $cache/apt.log)"
        kpkg=$(kernel_package)
    fi
    [ -n "$kpkg" ] || die "cannot resolve the package linux-image-amd64 depends on"
    say "downloading $kpkg..."
    local sandbox=()
    [ "$(id -u)" != 0 ] || sandbox=(-o APT::Sandbox::User=root)   # _apt cannot write here
    (cd "$tmp" && apt-get download -qq "${sandbox[@]}" "$kpkg") >"$cache/apt.log" 2>&1 ||
        die "apt-get download $kpkg failed (log: $cache/apt.log)"
    dpkg -x "$tmp"/*.deb "$tmp/k"
    kver=$(ls "$tmp/k/lib/modules")
    depmod -b "$tmp/k" "$kver"

    # Modules and their dependencies, dependencies first, each once; decompressed
    # because busybox insmod does not read .ko.xz.
    for m in "${modules[@]}"; do
        modprobe -d "$tmp/k" -S "$kver" --show-depends "$m" || die "module $m not found in $kpkg"
    done | awk '$1 == "insmod" && !seen[$2]++ {print $2}' |
    while read -r f; do
        m=$(basename "${f%.xz}")
        case $f in *.xz) xz -dc "$f" ;; *) cat "$f" ;; esac >"$tmp/ir/lib/modules/$m"
        echo "$m"
    done >"$tmp/ir/modules"

    cp /bin/busybox "$tmp/ir/bin/busybox"
    cp "$here/init" "$tmp/ir/init"
    chmod 755 "$tmp/ir/init"
    (cd "$tmp/ir" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -6) >"$out/initrd.gz"

    # qemu boots an uncompressed vmlinux through its PVH entry point directly: no
    # firmware, no decompressor, ~3 s per boot instead of ~6. Debian's bzImage
    # carries it as an xz stream: cut it out. Fall back to the bzImage otherwise.
    # (tail dies of SIGPIPE once xz has its one stream: hence no pipe for tail.)
    z=$(echo "$tmp"/k/boot/vmlinuz-*)
    off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$z" | head -n 1 | cut -d: -f1)
    if [ -z "$off" ] ||
       ! xz -dc --single-stream <(tail -c +"$((off + 1))" "$z") >"$out/kernel" 2>/dev/null ||
       [ "$(head -c 4 "$out/kernel")" != $'\x7fELF' ]; then
        say "no xz-compressed vmlinux in $z: booting the bzImage (slower)"
        cp "$z" "$out/kernel"
    fi
    echo "$kpkg" >"$out/kernel-package"
    rm -rf "$tmp"
}

mkdir -p "$cache"
exec 9>"$cache/build.lock"
flock 9
ensure_packages

key=$(cat "${BASH_SOURCE[0]}" "$here/init" | sha256sum | cut -c1-16)
guest=$cache/guest-$key
if [ ! -s "$guest/kernel" ] || [ ! -s "$guest/initrd.gz" ]; then
    say "building the guest in $guest (once; ~20 s)..."
    start=$SECONDS
    rm -rf "$guest.new"
    mkdir -p "$guest.new"
    build "$guest.new"
    rm -rf "$guest"
    mv "$guest.new" "$guest"
    say "guest built in $((SECONDS - start)) s ($(cat "$guest/kernel-package"))"
    # Guests of other keys (~70 MB each) go once unused for an hour: every run
    # touches its guest, and qemu holds its files open once started.
    find "$cache" -maxdepth 1 -name 'guest-*' ! -name "guest-$key" -mmin +60 -exec rm -rf {} + 2>/dev/null || true
fi
touch "$guest"
echo "$guest"
