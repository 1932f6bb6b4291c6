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

# Issue 12's bar: the interface tables (tracepoints, syscalls, kfuncs, LSM
# hooks) add <= 20% to extract's wall time. One more run with the phase
# timings prints extract with them and without them (their phase runs after
# the DWARF and type passes, beside the attach verdicts; its timing includes
# the reading of the image's data and .BTF_ids sets that both share).
start=$(date +%s.%N)
KSURF_LOG=debug "$ksurf" extract "$vmlinux" --out "$tmp/phases" 2>"$tmp/phases.log" >/dev/null
end=$(date +%s.%N)
python3 - "$tmp/phases.log" "$start" "$end" <<'PY' || iface_missed=1
import re, sys
text = re.sub(r"\x1b\[[0-9;]*m", "", open(sys.argv[1]).read())
m = re.search(r"interfaces read elapsed=([0-9.]+)(ns|µs|us|ms|s)\b", text)
if not m:
    sys.exit("no 'interfaces read' timing in the debug log")
scale = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}[m.group(2)]
iface = float(m.group(1)) * scale
wall = float(sys.argv[3]) - float(sys.argv[2])
share = iface / (wall - iface)
print(f"interface tables: {iface:.2f} s; extract {wall:.2f} s with them, "
      f"{wall - iface:.2f} s without: +{share:.1%} (bar: <= 20%)")
sys.exit(0 if share <= 0.20 else 1)
PY
compare ksurf pahole "wall <= 0.75 and ours_rss_max < 1024"
[ -z "${iface_missed:-}" ] || { echo "interface tables: bar missed"; exit 1; }
