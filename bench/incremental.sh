#!/usr/bin/env bash
# What a nightly run with nothing new costs, against what it cost when every
# run re-aggregated every group and re-hashed every table file: on a copy of
# a real dataset (default: work/dataset, which the README's main command
# writes from configs/debian-local.toml),
#   * `ksurf aggregate` with every group current (no file rewritten) against
#     `ksurf aggregate --force` (every group redone, as before);
#   * `ksurf manifest` reusing the last manifest's entries against the same
#     with its tag record removed (every file read and hashed, as before);
#   * `ksurf run` with nothing new, end to end (no peer: printed alone).
# Three runs each, medians and ratios; bars: the no-op aggregation and the
# reusing manifest each take at most a quarter of their peer's time.
#
#   bench/incremental.sh [DATASET [CONFIG]]
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. bench/lib.sh

src=${1:-work/dataset}
config=${2:-configs/debian-local.toml}
[ -s "$src/_manifest.json" ] || {
	echo "no dataset at $src (run the README's main command first)" >&2
	exit 1
}
cargo build --release --quiet
ksurf=$PWD/target/release/ksurf
ds=$tmp/ds
cp -a "$src" "$ds"
# The copy has other inodes: one aggregation makes its state records its own.
"$ksurf" aggregate --dataset "$ds" --config "$config" >/dev/null
"$ksurf" manifest --dataset "$ds" >/dev/null
echo "dataset: $src ($(du -sh "$ds" | cut -f1)), $(find "$ds" -name '*.parquet' | wc -l) Parquet files"

for _ in 1 2 3; do
	measure noop "$ksurf" aggregate --dataset "$ds" --config "$config"
	measure force "$ksurf" aggregate --dataset "$ds" --config "$config" --force
done
"$ksurf" aggregate --dataset "$ds" --config "$config" | tail -1
aggregate_ok=0
compare noop force 'wall <= 0.25' || aggregate_ok=1

for _ in 1 2 3; do
	measure reuse "$ksurf" manifest --dataset "$ds"
	rm -f "$ds/_manifest.tags.json"
	measure rehash "$ksurf" manifest --dataset "$ds"
done
manifest_ok=0
compare reuse rehash 'wall <= 0.25' || manifest_ok=1

# A whole `ksurf run` with nothing new (discovery, package hashes, no
# extraction, no aggregation, the run log, the manifest).
sources_dir=$(sed -n 's/^path = "\(.*\)"/\1/p' "$config" | head -1)
if [ -n "$sources_dir" ] && [ -d "$sources_dir" ]; then
	for _ in 1 2 3; do
		measure run "$ksurf" run --config "$config" --dataset "$ds"
	done
	python3 - "$tmp/run.times" <<'PY'
import statistics, sys
walls = [float(l.split()[0]) for l in open(sys.argv[1])]
print(f"ksurf run, nothing new: wall s {' '.join(f'{w:.2f}' for w in walls)}  median {statistics.median(walls):.2f}")
PY
fi
exit $((aggregate_ok || manifest_ok))
