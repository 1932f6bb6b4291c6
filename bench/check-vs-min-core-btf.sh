#!/usr/bin/env bash
# `ksurf check` on every BPF object of Debian's libbpf-tools against every
# image of DATASET, beside its closest peer: `bpftool gen min_core_btf`
# (BTFHub's per-image step, which resolves the same objects' CO-RE
# relocations against one kernel's .BTF) run once per VMLINUX with all the
# objects. Three runs each; prints walls, peak RSS, the ratio, and the
# number of dependency × image verdicts ksurf gave. Bar (issue 15): ksurf
# under 10 s.
#
#   bench/check-vs-min-core-btf.sh DATASET VMLINUX...   # the vmlinux files of DATASET's images that have .BTF
#
# Needs the libbpf-tools package unpacked by scripts/real-check.sh
# (work/libbpf-tools), bpftool, target/release/ksurf and
# target/release/examples/read_objects.
set -euo pipefail
cd "$(dirname "$0")/.."
dataset=${1:?usage: check-vs-min-core-btf.sh DATASET VMLINUX...}
shift
[ $# -gt 0 ] || { echo "give the vmlinux files of the dataset's images" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. bench/lib.sh
ksurf=${KSURF:-target/release/ksurf}
read_objects=${READ_OBJECTS:-target/release/examples/read_objects}

mkdir -p "$tmp/objects"
"$read_objects" --summary --extract "$tmp/objects" work/libbpf-tools/usr/sbin/* >"$tmp/summary.txt"
objects=("$tmp"/objects/*.bpf.o)

# ksurf exits 1 when some program breaks somewhere: that is a result, not an error.
cat >"$tmp/ours.sh" <<SH
"$ksurf" check "$tmp"/objects/*.bpf.o --dataset "$dataset" --format json >"$tmp/check.json" || [ \$? -eq 1 ]
SH
{
	for v in "$@"; do echo "bpftool gen min_core_btf '$v' '$tmp/min.btf' '$tmp'/objects/*.bpf.o"; done
} >"$tmp/peer.sh"
for _ in 1 2 3; do
	measure ksurf bash "$tmp/ours.sh"
	measure bpftool bash "$tmp/peer.sh"
done
python3 - "$tmp/check.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
n = sum(len(d["verdicts"]) for o in r["objects"] for d in o["dependencies"])
print(f"ksurf check: {len(r['objects'])} objects × {len(r['images'])} images = {n} dependency × image verdicts")
PY
echo "bpftool: gen min_core_btf over the same ${#objects[@]} objects, once per vmlinux ($# images)"
compare ksurf bpftool "ours_wall < 10"
