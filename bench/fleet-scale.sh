#!/usr/bin/env bash
# The fleet, simulated from real kernels: N images derived from the given
# real vmlinux files (default: work/kernels/vmlinux-*, e.g. 6.1.0-56 and -57
# cloud-amd64) under other identities — F flavors × N/F consecutive ABI
# revisions of one release, the real kernels alternating so that revision
# to revision the images differ as real consecutive builds do — with a
# fleet's groups: a consecutive Revision group per flavor and a baseline
# Flavor group per revision. Each (kernel, flavor) is extracted once; the
# revisions are copies of its partitions under new release names.
#
# Prints, for that N: dataset bytes (extracted, aggregated), `ksurf
# aggregate` wall time and peak RSS, a second aggregation with nothing new,
# a nightly increment (INCREMENT new revisions spread over the flavors),
# `ksurf site` wall time, bytes and peak RSS, and the wall time of every
# docs/queries.md query against the dataset (their fixture filters select
# nothing here: the figure is the scan's cost).
#
#   N=100 F=4 INCREMENT=20 [KSURF=path/to/ksurf] bench/fleet-scale.sh [VMLINUX...]
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. bench/lib.sh

N=${N:-100}
F=${F:-4}
INCREMENT=${INCREMENT:-20}
if [ $# -eq 0 ]; then
	set -- $(ls work/kernels/vmlinux-* 2>/dev/null || true)
fi
[ $# -gt 0 ] || {
	echo "no vmlinux given or found in work/kernels (see .ci/run)" >&2
	exit 1
}
((N % F == 0 && INCREMENT % F == 0)) || {
	echo "N ($N) and INCREMENT ($INCREMENT) must be multiples of F ($F)" >&2
	exit 1
}
if [ -n "${KSURF:-}" ]; then
	ksurf=$(realpath "$KSURF")
else
	cargo build --release --quiet
	ksurf=$PWD/target/release/ksurf
fi
kernels=("$@")
flavors=()
for f in $(seq 1 "$F"); do flavors+=("fleet$f"); done

# One extraction per (kernel, flavor).
master=$tmp/master
for flavor in "${flavors[@]}"; do
	for k in "${!kernels[@]}"; do
		"$ksurf" extract "${kernels[$k]}" --out "$master" --distro fleet \
			--release "6.1.0-$((k + 1))-$flavor" --flavor "$flavor" --arch amd64 >/dev/null
	done
done

ds=$tmp/ds
# Revision r of every flavor: a copy of kernel r mod K's partitions.
add_revisions() { # first last
	for r in $(seq "$1" "$2"); do
		for flavor in "${flavors[@]}"; do
			src="6.1.0-$(((r % ${#kernels[@]}) + 1))-$flavor"
			for table in $(ls "$master"); do
				[ -d "$master/$table/distro=fleet/release=$src" ] || continue
				mkdir -p "$ds/$table/distro=fleet"
				cp -r "$master/$table/distro=fleet/release=$src" \
					"$ds/$table/distro=fleet/release=6.1.0-$((100 + r))-$flavor"
			done
		done
	done
}
groups() { # revisions
	for flavor in "${flavors[@]}"; do
		printf '[[group]]\nname = "Revision-%s"\nmode = "consecutive"\nflavor = "%s"\nlabel = "revision"\n\n' "$flavor" "$flavor"
	done
	for r in $(seq 1 "$1"); do
		printf '[[group]]\nname = "Flavor-%s"\nmode = "baseline"\nbaseline = "fleet/6.1.0-%s-%s/amd64"\nrelease = "6.1.0-%s-*"\nlabel = "flavor"\n\n' \
			"$((100 + r))" "$((100 + r))" "${flavors[0]}" "$((100 + r))"
	done
}
mib() { du -sm "$@" | awk '{s += $1} END {print s}'; }
aggregated_dirs() { ls -d "$ds"/{function_status,function_changes,type_changes,tracepoint_changes,syscall_changes,kfunc_changes,lsm_hook_changes,kconfig_changes,comparison_groups} 2>/dev/null; }

R=$((N / F))
add_revisions 1 "$R"
groups "$R" >"$tmp/groups.toml"
echo "N = $N images ($F flavors × $R revisions, from ${#kernels[@]} real kernels); $((F + R)) groups"
echo "extracted: $(mib "$ds") MiB"

measure aggregate "$ksurf" aggregate --dataset "$ds" --config "$tmp/groups.toml"
read -r wall rss _ <"$tmp/last"
echo "ksurf aggregate: ${wall} s, peak RSS $((rss / 1024)) MiB; aggregated tables $(mib $(aggregated_dirs)) MiB"
measure noop "$ksurf" aggregate --dataset "$ds" --config "$tmp/groups.toml"
read -r wall rss _ <"$tmp/last"
echo "ksurf aggregate, nothing new: ${wall} s, peak RSS $((rss / 1024)) MiB"

added=$((INCREMENT / F))
add_revisions $((R + 1)) $((R + added))
groups $((R + added)) >"$tmp/groups.toml"
measure increment "$ksurf" aggregate --dataset "$ds" --config "$tmp/groups.toml"
read -r wall rss _ <"$tmp/last"
echo "nightly increment of $INCREMENT images ($added revisions × $F flavors): ${wall} s, peak RSS $((rss / 1024)) MiB ($(grep -c . "$tmp/stderr" || true) stderr lines)"

measure site "$ksurf" site --dataset "$ds" --out "$tmp/site"
read -r wall rss _ <"$tmp/last"
echo "ksurf site: ${wall} s, peak RSS $((rss / 1024)) MiB, $(mib "$tmp/site") MiB"
rm -rf "$tmp/site"

python3 - "$ds" docs/queries.md <<'PY'
import re, sys, time
import duckdb
ds, doc = sys.argv[1:3]
text = open(doc, encoding="utf-8").read()
blocks = re.findall(r"```sql\n(.*?)```", text, re.S)
times = []
for sql in blocks:
    sql = sql.replace("'dataset/", f"'{ds}/")
    start = time.perf_counter()
    try:
        duckdb.sql(sql).fetchall()
        times.append(time.perf_counter() - start)
    except duckdb.Error as e:
        times.append(float("nan"))
        print(f"query failed: {e}".splitlines()[0])
ok = [t for t in times if t == t]
print(f"docs/queries.md: {len(blocks)} queries, slowest {max(ok):.2f} s, median {sorted(ok)[len(ok) // 2]:.2f} s, "
      f"each: {' '.join(f'{t:.2f}' for t in times)}")
PY
