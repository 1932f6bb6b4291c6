#!/usr/bin/env bash
# What kernel modules cost: one real Debian debug package, package → tables
# (`ksurf run` on a local source: unpack, extract, write), with its modules
# (`modules = true`: every .ko unpacked in the same pass and extracted into
# the image's tables) against the same package without them. Prints the
# wall time and peak RSS of both, three runs each, and their ratios.
# Bar (issue 14): with modules ≤ 2× the time without, peak RSS < 1.5 GiB.
#
#   bench/modules.sh [PACKAGE.deb]   # default: the newest work/debs/linux-image-*-cloud-amd64-dbg_*.deb
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. bench/lib.sh

deb=${1:-$(ls work/debs/linux-image-*-cloud-amd64-dbg_*.deb 2>/dev/null | sort -V | tail -n 1)}
[ -n "$deb" ] && [ -f "$deb" ] || {
	echo "no package given or found in work/debs (scripts/get-debian-kernels.sh downloads one)" >&2
	exit 1
}
cargo build --release --quiet
ksurf=$PWD/target/release/ksurf
mkdir -p "$tmp/debs"
ln -s "$(realpath "$deb")" "$tmp/debs/"
for modules in true false; do
	cat >"$tmp/$modules.toml" <<TOML
[[source]]
name = "bench"
kind = "local"
path = "$tmp/debs"
flavors = ["*"]
revision = "all"
modules = $modules
TOML
done
echo "package: $deb ($(dpkg-deb -c "$deb" | grep -c '\.ko\(\.xz\|\.zst\)\?$') modules)"
for run in 1 2 3; do
	for modules in true false; do
		rm -rf "$tmp/ds" "$tmp/work"
		name=$([ $modules = true ] && echo modules || echo vmlinux)
		measure "$name" "$ksurf" run --config "$tmp/$modules.toml" --dataset "$tmp/ds" --work "$tmp/work"
	done
done
"$ksurf" run --config "$tmp/true.toml" --dataset "$tmp/ds-rows" --work "$tmp/work" >/dev/null
python3 - "$tmp/ds-rows" <<'PY'
import sys, duckdb
ds = sys.argv[1]
n = duckdb.sql(f"select modules, modules_failed from read_parquet('{ds}/images/**/*.parquet')").fetchall()[0]
rows = duckdb.sql(f"""select module = 'vmlinux', count(*) from read_parquet('{ds}/functions/**/*.parquet')
                      group by all order by 1""").fetchall()
print(f"modules {n[0]} ({n[1]} failed); function names: modules {rows[0][1]}, vmlinux {rows[1][1]}")
PY
compare modules vmlinux "wall <= 2.0 and ours_rss_max < 1536"
