#!/usr/bin/env bash
# Benchmark: ksurf-fetcher's streaming unpack (fetcher/examples/unpack.rs)
# against `dpkg-deb --fsys-tarfile DEB | tar -xO vmlinux > file` on the same
# kernel debug package, alternating the two. Both write the vmlinux to a
# file in the same directory (ours also fsyncs it and renames it into place).
# Prints each run's wall time and peak RSS, the medians, and the ratios
# ours/dpkg; the bar is a wall ratio <= 1.0 (exit status 1 when missed).
#
#   bench/unpack-vs-dpkg.sh DEB [RUNS]
#
# KSURF_XZ_THREADS sets our xz decoder threads (default 0: one per core).
set -euo pipefail
cd "$(dirname "$0")/.."

deb=${1:?usage: bench/unpack-vs-dpkg.sh DEB [RUNS]}
runs=${2:-5}
deb=$(realpath "$deb")
threads=${KSURF_XZ_THREADS:-0}
cargo build --release --quiet -p ksurf-fetcher --example unpack
unpack=${CARGO_TARGET_DIR:-$PWD/target}/release/examples/unpack
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. bench/lib.sh
mkdir "$tmp/ours" "$tmp/dpkg"

echo "package: $deb ($(du -h "$deb" | cut -f1)), $(nproc) cores, $runs runs each, xz threads $threads"
echo "dpkg-deb: $(dpkg-deb --version | head -1)"

# The dpkg side as one command, for /usr/bin/time (peak RSS is the largest
# process in the pipeline).
dpkg_unpack=(sh -c 'dpkg-deb --fsys-tarfile "$1" | tar -xO --wildcards "./usr/lib/debug/boot/vmlinux-*" >"$2"'
	sh "$deb" "$tmp/dpkg/vmlinux")

# One untimed run each warms the page cache and checks the two agree.
"$unpack" "$deb" "$tmp/ours" "$threads" >"$tmp/ours.txt"
"${dpkg_unpack[@]}"
ours_sha=$(cut -d' ' -f1 "$tmp/ours.txt")
dpkg_sha=$(sha256sum "$tmp/dpkg/vmlinux" | cut -d' ' -f1)
[ "$ours_sha" = "$dpkg_sha" ] || {
	echo "sha256 differs: ours $ours_sha, dpkg $dpkg_sha" >&2
	exit 1
}
echo "vmlinux sha256 $ours_sha (both)"
for _ in $(seq "$runs"); do
	rm -f "$tmp"/ours/* "$tmp"/dpkg/*
	measure ours "$unpack" "$deb" "$tmp/ours" "$threads"
	rm -f "$tmp"/ours/* "$tmp"/dpkg/*
	measure dpkg "${dpkg_unpack[@]}"
done

compare ours dpkg "wall <= 1.0"
