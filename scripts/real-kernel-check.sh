#!/usr/bin/env bash
# Extracts a real Debian kernel and checks facts that hold on any recent
# kernel. Needs root for apt (run as root, or with sudo).
#
#   scripts/real-kernel-check.sh                  # current cloud-amd64 kernel
#   scripts/real-kernel-check.sh arm64 arm64      # FLAVOR DPKG_ARCH
#
# Leaves the vmlinux in work/kernels/ and the dataset in work/dataset/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/debian-kernel.sh

flavor=${1:-cloud-amd64}
arch=${2:-$(dpkg --print-architecture)}
work=${KSURF_WORK:-work}

cargo build --release --quiet
ksurf=target/release/ksurf
vmlinux=$(debian_vmlinux "$flavor" "$arch" "$work/kernels")
release=${vmlinux##*/vmlinux-}
echo "vmlinux: $vmlinux ($(du -h "$vmlinux" | cut -f1))"

# Extract with one thread and with all cores: the tables must be identical.
rm -rf "$work/dataset-1thread"
"$ksurf" --threads 1 extract "$vmlinux" --out "$work/dataset-1thread" >/dev/null
"$ksurf" extract "$vmlinux" --out "$work/dataset"
part="distro=debian/release=$release/arch=$arch"
for table in function_instances functions symbols function_attach types type_members enum_values unit_errors images; do
	cmp "$work/dataset-1thread/$table/$part/part-0.parquet" "$work/dataset/$table/$part/part-0.parquet"
done
rm -rf "$work/dataset-1thread"
echo "tables identical with 1 thread and $(nproc) threads"

"$ksurf" export depsurf-groups --dataset "$work/dataset" --image "debian/$release/$arch" >"$work/func_groups-$release.jsonl"

python3 - "$work/dataset" "$work/func_groups-$release.jsonl" "$part" <<'PY'
import json, sys
import duckdb

dataset, groups_path, part = sys.argv[1:]
groups = {}
with open(groups_path) as f:
    for line in f:
        g = json.loads(line)
        groups[g["name"]] = g

def table(name):
    return f"read_parquet('{dataset}/{name}/{part}/part-0.parquet')"

failures = []
def check(what, ok):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)

n = len(groups)
check(f"tens of thousands of function names ({n})", n >= 20000)

vfs = groups.get("vfs_read")
check("vfs_read is Unique Global with a global symbol",
      vfs is not None and vfs["collision_type"] == "Unique Global"
      and any(s["name"] == "vfs_read" and s["bind"] == "STB_GLOBAL" for s in vfs["symbols"]))

kap = groups.get("kimage_alloc_page")
callers = set(kap["funcs"][0]["caller_func"]) if kap else set()
check("kimage_alloc_page is Unique Static in kernel/kexec_core.c",
      kap is not None and kap["collision_type"] == "Unique Static"
      and kap["funcs"][0]["file"] == "kernel/kexec_core.c")
check(f"kimage_alloc_page's direct callers are kimage_add_entry and kimage_load_segment ({sorted(callers)})",
      callers == {"kernel/kexec_core.c:kimage_add_entry", "kernel/kexec_core.c:kimage_load_segment"})
proto = duckdb.sql(f"select prototype from {table('function_instances')} where name = 'kimage_alloc_page'").fetchall()
check(f"kimage_alloc_page's prototype ({proto})",
      proto == [("struct page *kimage_alloc_page(struct kimage *image, gfp_t gfp_mask, long unsigned int destination);",)])

from collections import Counter
collisions = Counter(g["collision_type"] for g in groups.values())
inlines = Counter(g["inline_type"] for g in groups.values())
transformed = sum(1 for g in groups.values() if any("." in s["name"] for s in g["symbols"]))
print("collision types:", dict(sorted(collisions.items())))
print("inline types:", dict(sorted(inlines.items())))
print("transformed names:", transformed)
for kind in ["Unique Global", "Unique Static", "Static Duplication", "Static-Static Collision", "Static-Global Collision"]:
    check(f"some {kind} names", collisions[kind] > 0)
for kind in ["Full", "Selective", "No"]:
    check(f"some {kind} inline names", inlines[kind] > 0)
check("some transformed names", transformed > 100)

# Issue 13's faults: a discarded __weak definition is a row of its own and
# lends nothing to the kept one; a source compiled twice (arm64's
# vgic-v3-sr.c) is two instances.
mprotect = duckdb.sql(f"""select decl_file, addr is not null, discarded from {table('function_instances')}
    where name = '__x64_sys_mprotect' order by decl_file""").fetchall()
if mprotect:
    check(f"__x64_sys_mprotect: discarded sys_ni.c row, kept mm/mprotect.c row with the address ({mprotect})",
          mprotect == [("kernel/sys_ni.c", False, True), ("mm/mprotect.c", True, False)])
vgic = duckdb.sql(f"""select collision_type, instance_count from {table('functions')}
    where name = '__vgic_v3_read_ctlr'""").fetchall()
if vgic:
    check(f"__vgic_v3_read_ctlr: two instances of one location ({vgic})", vgic == [("Static Duplication", 2)])
discarded = duckdb.sql(f"select count(distinct name) from {table('function_instances')} where discarded").fetchall()[0][0]
print(f"names with a discarded definition: {discarded}")

bad_paths = duckdb.sql(f"""select count(*) from {table('function_instances')}
    where decl_file like 'debian/%' or cu_path like 'debian/%' or cu_path like '/build/%'
       or decl_file like '/build/%' or decl_file like '%/../%'""").fetchall()[0][0]
check(f"no build prefix left in paths ({bad_paths} rows)", bad_paths == 0)
unit_errors = duckdb.sql(f"select count(*) from {table('unit_errors')}").fetchall()[0][0]
check(f"no unit errors ({unit_errors})", unit_errors == 0)
image = duckdb.sql(f"select compile_units, function_names, function_instances, symbols from {table('images')}").fetchall()[0]
print(f"image: {image[0]} units, {image[1]} names, {image[2]} instances, {image[3]} function symbols")

if failures:
    print(f"{len(failures)} checks failed", file=sys.stderr)
    sys.exit(1)
print("all real-kernel checks passed")
PY
