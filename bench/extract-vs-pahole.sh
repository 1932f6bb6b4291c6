#!/usr/bin/env bash
# Benchmark: `ksurf extract` against `pahole -j --btf_encode_detached` on the
# same vmlinux, in one run, alternating the two tools. Prints each run's wall
# time and peak RSS, the medians, and the ratios ksurf/pahole.
#
#   bench/extract-vs-pahole.sh [VMLINUX] [RUNS]
#
# Without VMLINUX it uses the current Debian cloud-amd64 kernel (needs root
# for apt). The bar (issue 2): wall ratio < 1.0 and ksurf peak RSS < 1 GiB;
# the exit status is 1 when the bar is missed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/debian-kernel.sh

vmlinux=${1:-}
runs=${2:-5}
work=${KSURF_WORK:-work}
command -v pahole >/dev/null || apt-get install -y -qq dwarves >/dev/null
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null
if [ -z "$vmlinux" ]; then
	vmlinux=$(debian_vmlinux cloud-amd64 amd64 "$work/kernels")
fi
cargo build --release --quiet
ksurf=$PWD/target/release/ksurf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "vmlinux: $vmlinux ($(du -h "$vmlinux" | cut -f1)), $(nproc) cores, $runs runs each"
echo "pahole: $(pahole --version)"

# measure NAME CMD...: appends "wall_seconds max_rss_kib" to $tmp/NAME
measure() {
	local name=$1
	shift
	/usr/bin/time -f "%e %M" -o "$tmp/last" "$@" >/dev/null 2>"$tmp/stderr" || {
		cat "$tmp/stderr" >&2
		exit 1
	}
	cat "$tmp/last" >>"$tmp/$name"
}

# One untimed run each warms the page cache for both.
"$ksurf" extract "$vmlinux" --out "$tmp/warm" >/dev/null
pahole -j --btf_encode_detached="$tmp/warm.btf" "$vmlinux" >/dev/null
for i in $(seq "$runs"); do
	rm -rf "$tmp/ds" "$tmp/out.btf"
	measure ksurf "$ksurf" extract "$vmlinux" --out "$tmp/ds"
	measure pahole pahole -j --btf_encode_detached="$tmp/out.btf" "$vmlinux"
done

python3 - "$tmp/ksurf" "$tmp/pahole" <<'PY'
import statistics, sys
def load(path):
    rows = [tuple(map(float, line.split())) for line in open(path)]
    return [r[0] for r in rows], [r[1] / 1024 for r in rows]
kw, km = load(sys.argv[1])
pw, pm = load(sys.argv[2])
for name, w, m in (("ksurf", kw, km), ("pahole", pw, pm)):
    print(f"{name:7s} wall s: {' '.join(f'{x:.2f}' for x in w)}  median {statistics.median(w):.2f}"
          f" | peak RSS MiB: median {statistics.median(m):.0f} max {max(m):.0f}")
ratio = statistics.median(kw) / statistics.median(pw)
rss_ratio = statistics.median(km) / statistics.median(pm)
print(f"ratio ksurf/pahole: wall {ratio:.2f}, peak RSS {rss_ratio:.2f}")
ok = ratio < 1.0 and max(km) < 1024
print(("PASS" if ok else "FAIL") + f": bar is wall ratio < 1.0 and ksurf peak RSS < 1024 MiB (max {max(km):.0f})")
sys.exit(0 if ok else 1)
PY
