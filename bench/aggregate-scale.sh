#!/usr/bin/env bash
# How `ksurf aggregate` scales with the number of images: N = 1, 2, 4, 8
# images built from the real Debian kernels (the same vmlinux files
# extracted again under other identities with `ksurf extract --release`),
# aggregated as one consecutive group. Prints wall time and peak RSS per N
# and their ratios to N = 1: time should grow about linearly, peak RSS stay
# about flat (a group's images are visited one after the other, at most
# two open at a time). Then `ksurf site` over the aggregated dataset: it
# streams every image's status file of the group in step, one small batch
# per file, so its RSS grows a little with N; its size with runs of images
# that differ only in addresses collapsed (the default) and without.
#
#   bench/aggregate-scale.sh [VMLINUX...]   # default: /work/kernels/vmlinux-* and work/kernels/vmlinux-*
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. bench/lib.sh

if [ $# -eq 0 ]; then
	set -- $(ls /work/kernels/vmlinux-* work/kernels/vmlinux-* 2>/dev/null || true)
fi
[ $# -gt 0 ] || {
	echo "no vmlinux given or found (run scripts/real-aggregate-check.sh first)" >&2
	exit 1
}
cargo build --release --quiet
ksurf=$PWD/target/release/ksurf
kernels=("$@")

# Eight images, cycling over the given kernels, releases 1.N.0-N-bench.
master=$tmp/all
for i in 1 2 3 4 5 6 7 8; do
	vmlinux=${kernels[$(((i - 1) % ${#kernels[@]}))]}
	"$ksurf" extract "$vmlinux" --out "$master" --distro bench --release "6.$i.0-$i-bench" --flavor bench --arch amd64 >/dev/null
done

cat >"$tmp/groups.toml" <<'TOML'
[[group]]
name = "Regular"
mode = "consecutive"
distro = "bench"
TOML

echo "N  wall_s  peak_rss_MiB  wall/N_s  rss/rss(1)  site_wall_s  site_rss_MiB  site_MB  site_MB_uncollapsed"
base_rss=
for n in 1 2 4 8; do
	ds=$tmp/ds-$n
	# Every per-image table (and the BTF blobs) of the first n images.
	for table in $(ls "$master"); do
		[ -d "$master/$table/distro=bench" ] || continue
		for i in $(seq 1 "$n"); do
			mkdir -p "$ds/$table/distro=bench"
			cp -r "$master/$table/distro=bench/release=6.$i.0-$i-bench" "$ds/$table/distro=bench/"
		done
	done
	measure "n$n" "$ksurf" aggregate --dataset "$ds" --config "$tmp/groups.toml"
	read -r wall rss _ <"$tmp/last"
	rss_mib=$((rss / 1024))
	base_rss=${base_rss:-$rss}
	measure "site$n" "$ksurf" site --dataset "$ds" --out "$tmp/site-$n"
	read -r site_wall site_rss _ <"$tmp/last"
	# The same site listing every image (DepSurf's layout): what collapsing
	# runs of images that differ only in addresses saves.
	"$ksurf" site --dataset "$ds" --out "$tmp/site-full-$n" --collapse-runs 0 >/dev/null
	site_mb=$(du -sm "$tmp/site-$n" | cut -f1)
	full_mb=$(du -sm "$tmp/site-full-$n" | cut -f1)
	python3 -c "print(f'{$n:<2} {$wall:7.2f}  {$rss_mib:12d}  {$wall / $n:8.2f}  {$rss / $base_rss:10.2f}  {$site_wall:11.2f}  {$site_rss // 1024:12d}  {$site_mb:7d}  {$full_mb:19d}')"
	rm -rf "$ds" "$tmp/site-$n" "$tmp/site-full-$n"
done
