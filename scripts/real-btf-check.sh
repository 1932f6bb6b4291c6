#!/usr/bin/env bash
# BTF from DWARF on a real kernel without .BTF: Debian's current 6.1 s390x
# debug package (big-endian, built without CONFIG_DEBUG_INFO_BTF) is
# extracted with `ksurf extract --btf-from-dwarf`; asserts that the image's
# stored BTF came from pahole, is big-endian, is what pahole gives on the
# same vmlinux (byte for byte, one thread), that `bpftool btf dump` reads
# the kernel's task_struct in it (`__state`, 6.1), and that `ksurf btfgen`
# minimizes it for every libbpf-tools object (work/libbpf-tools, from
# scripts/real-check.sh).
#
#   scripts/real-btf-check.sh
#
# The package is downloaded once (work/kernels keeps the vmlinux). Needs
# pahole, bpftool, python3 with duckdb; KSURF (default target/release/ksurf).
set -euo pipefail
ksurf=${KSURF:-target/release/ksurf}
. scripts/lib/debian-kernel.sh
vmlinux=$(debian_vmlinux s390x s390x work/kernels)
release=${vmlinux##*/vmlinux-}
image="debian/$release/s390x"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if readelf -S "$vmlinux" | grep -q ' \.BTF '; then
	echo "$vmlinux has a .BTF section: this check needs a kernel without one" >&2
	exit 1
fi
start=$(date +%s.%N)
"$ksurf" extract "$vmlinux" --out "$tmp/ds" --btf-from-dwarf >/dev/null
end=$(date +%s.%N)
"$ksurf" btf --dataset "$tmp/ds" --image "$image" --out "$tmp/served.btf"
pahole --btf_encode_detached="$tmp/pahole.btf" --lang_exclude=rust -j1 "$vmlinux"
cmp "$tmp/pahole.btf" "$tmp/served.btf" ||
	{ echo "ksurf btf $image differs from pahole's BTF of the same vmlinux" >&2; exit 1; }
[ "$(head -c2 "$tmp/served.btf" | od -An -tx1 | tr -d ' ')" = eb9f ] ||
	{ echo "$image: BTF is not big-endian" >&2; exit 1; }
bpftool btf dump file "$tmp/served.btf" >"$tmp/dump.txt"
grep -q "^\[[0-9]*\] STRUCT 'task_struct' " "$tmp/dump.txt" ||
	{ echo "$image: no struct task_struct in its BTF" >&2; exit 1; }
awk "/STRUCT 'task_struct' /{on=1; next} /^\[/{on=0} on && /'__state'/{found=1} END{exit !found}" "$tmp/dump.txt" ||
	{ echo "$image: task_struct has no __state in its BTF" >&2; exit 1; }
python3 - "$tmp/ds" "$tmp/served.btf" <<'PY'
import hashlib, sys, duckdb
ds, blob = sys.argv[1:3]
row = duckdb.sql(f"select btf_source, btf_size, btf_sha256, btf_types, btf_error from read_parquet('{ds}/images/**/*.parquet')").fetchall()
data = open(blob, "rb").read()
want = ("pahole", len(data), hashlib.sha256(data).hexdigest())
assert len(row) == 1 and row[0][:3] == want and row[0][4] is None, (row, want)
print(f"images row: btf_source pahole, {row[0][1]} bytes, {row[0][3]} types")
PY
tools=work/libbpf-tools
if [ -d "$tools/usr/sbin" ]; then
	"$ksurf" btfgen "$tools"/usr/sbin/* --dataset "$tmp/ds" --out "$tmp/min" >/dev/null
	bpftool btf dump file "$tmp/min/debian/s390x/$release.btf" >/dev/null
	echo "ksurf btfgen: $(stat -c %s "$tmp/min/debian/s390x/$release.btf") bytes for $(ls "$tools"/usr/sbin | wc -l) libbpf-tools executables"
fi
python3 -c "import sys; print(f'$image: ksurf extract --btf-from-dwarf {float(sys.argv[2]) - float(sys.argv[1]):.1f} s; BTF identical to pahole -j1, big-endian, task_struct::__state present')" "$start" "$end"
