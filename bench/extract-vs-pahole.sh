#!/usr/bin/env bash
# Benchmark: `ksurf extract` against `pahole -j --btf_encode_detached` on the
# same vmlinux, in one run, alternating the two tools. Prints each run's wall
# time and peak RSS, the medians, and the ratios ksurf/pahole.
#
#   bench/extract-vs-pahole.sh [VMLINUX] [RUNS]
#
# Without VMLINUX it uses the current Debian cloud-amd64 kernel (needs root
# for apt). The bar (issue 11, with the type tables): wall ratio <= 0.75
# and ksurf peak RSS < 1 GiB;
# the exit status is 1 when the bar is missed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/debian-kernel.sh

vmlinux=${1:-}
runs=${2:-5}
work=${KSURF_WORK:-work}
command -v pahole >/dev/null || apt-get install -y -qq dwarves >/dev/null
if [ -z "$vmlinux" ]; then
	vmlinux=$(debian_vmlinux cloud-amd64 amd64 "$work/kernels")
fi
cargo build --release --quiet
ksurf=$PWD/target/release/ksurf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. bench/lib.sh

echo "vmlinux: $vmlinux ($(du -h "$vmlinux" | cut -f1)), $(nproc) cores, $runs runs each"
echo "pahole: $(pahole --version)"

# One untimed run each warms the page cache for both.
"$ksurf" extract "$vmlinux" --out "$tmp/warm" >/dev/null
pahole -j --btf_encode_detached="$tmp/warm.btf" "$vmlinux" >/dev/null
for i in $(seq "$runs"); do
	rm -rf "$tmp/ds" "$tmp/out.btf"
	measure ksurf "$ksurf" extract "$vmlinux" --out "$tmp/ds"
	measure pahole pahole -j --btf_encode_detached="$tmp/out.btf" "$vmlinux"
done

compare ksurf pahole "wall <= 0.75 and ours_rss_max < 1024"
