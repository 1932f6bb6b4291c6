#!/usr/bin/env bash
# Aggregates real Debian kernels and prints the reports and signature
# changes the aggregator finds between 5.10 and 6.1. Needs root for apt
# (the 5.10 package comes from bullseye through a temporary source that
# uses the machine's own mirror; see scripts/lib/bullseye-kernel.sh).
#
#   scripts/real-aggregate-check.sh [WORKDIR]     # default: work/
#
# Vmlinux files already in WORKDIR/kernels/ (or /work/kernels/) are reused.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/debian-kernel.sh
. scripts/lib/bullseye-kernel.sh

work=${1:-work}
kernels=$work/kernels
dataset=$work/aggregate-dataset
mkdir -p "$kernels"

cargo build --release --quiet
ksurf=target/release/ksurf

# A vmlinux for one of bookworm's kernels: reuse a copy in /work/kernels.
bookworm_vmlinux() {
	local flavor=$1 arch=$2 found
	found=$(ls /work/kernels/vmlinux-6.1.0-*-"$flavor" 2>/dev/null | head -n1 || true)
	if [ -n "$found" ]; then
		echo "$found"
	else
		debian_vmlinux "$flavor" "$arch" "$kernels"
	fi
}

old=$(bullseye_vmlinux cloud-amd64 "$kernels")
new=$(bookworm_vmlinux cloud-amd64 amd64)
arm=$(bookworm_vmlinux arm64 arm64)
old_release=${old##*/vmlinux-}
new_release=${new##*/vmlinux-}
arm_release=${arm##*/vmlinux-}

rm -rf "$dataset"
"$ksurf" extract "$old" --out "$dataset"
"$ksurf" extract "$new" --out "$dataset"
"$ksurf" extract "$arm" --out "$dataset" --arch arm64

config=$work/real-groups.toml
cat >"$config" <<TOML
[[group]]
name = "Regular"
mode = "consecutive"
images = ["debian/$old_release/amd64", "debian/$new_release/amd64"]

[[group]]
name = "Arch"
mode = "baseline"
baseline = "debian/$new_release/amd64"
images = ["debian/$arm_release/arm64"]
TOML
# Regular's label is the short version (5.10, 6.1), Arch's the arch.
/usr/bin/time -f "aggregate: %e s, peak RSS %M KiB" "$ksurf" aggregate --dataset "$dataset" --config "$config"

for f in vfs_read kimage_alloc_page; do
	"$ksurf" report "$f" --dataset "$dataset" >"$work/report-$f.md"
	"$ksurf" report "$f" --dataset "$dataset" --format html >"$work/report-$f.html"
	echo "== $work/report-$f.md ($(wc -l <"$work/report-$f.md") lines)"
	sed -n '/^## Differences/,$p' "$work/report-$f.md"
done

python3 - "$dataset" <<'PY'
import sys
import duckdb

ds = sys.argv[1]
changes = f"read_parquet('{ds}/function_changes/**/*.parquet', hive_partitioning = true)"
status = f"read_parquet('{ds}/function_status/**/*.parquet', hive_partitioning = true)"
print("== changes per kind, Regular 5.10 -> 6.1")
for row in duckdb.sql(f"select change, count(*) from {changes} where \"group\" = 'Regular' group by 1 order by 2 desc").fetchall():
    print(f"  {row[0]}: {row[1]}")
print("== some signature changes of external functions 5.10 -> 6.1 (old prototype -> new prototype)")
q = f"""
with c as (select distinct name from {changes}
           where "group" = 'Regular' and change in ('Param added', 'Param removed', 'Param type changed', 'Return type changed', 'Param reordered')),
     s as (select name, position, prototypes[1] as proto, instances[1].external as ext
           from {status} where "group" = 'Regular' and present and len(prototypes) = 1)
select c.name, o.proto, n.proto from c
join s o on o.name = c.name and o.position = 0
join s n on n.name = c.name and n.position = 1
where o.ext and n.ext and c.name in ('vfs_read', 'kimage_alloc_page', 'do_sys_open', 'tcp_sendmsg', 'vfs_write', 'kernel_read', 'filemap_fault', 'security_file_open', 'do_filp_open', 'vfs_fsync_range', 'kernel_clone', 'tcp_v4_connect', 'inet_csk_accept', 'dev_queue_xmit', 'vfs_unlink', 'vfs_rename', 'vfs_mkdir', 'vfs_create', 'blk_mq_start_request', 'submit_bio')
order by c.name
"""
for name, old, new in duckdb.sql(q).fetchall():
    print(f"  {name}: {old} ➡️ {new}")
PY

# The type kind: the member renames and removals between 5.10 and 6.1 that
# broke real CO-RE programs must be in type_changes, and the pages render.
"$ksurf" report struct task_struct --dataset "$dataset" >"$work/report-struct-task_struct.md"
echo "== $work/report-struct-task_struct.md ($(wc -l <"$work/report-struct-task_struct.md") lines)"
python3 - "$dataset" <<'PY'
import sys
import duckdb

ds = sys.argv[1]
changes = f"read_parquet('{ds}/type_changes/**/*.parquet', hive_partitioning = true)"
print("== type changes per kind of change, Regular 5.10 -> 6.1 and Arch amd64 -> arm64")
for row in duckdb.sql(f"select \"group\", change, count(*) from {changes} group by 1, 2 order by 1 desc, 3 desc").fetchall():
    print(f"  {row[0]}: {row[1]}: {row[2]}")
want = [
    ("task_struct", "Field removed", "state"),
    ("task_struct", "Field added", "__state"),
    ("request", "Field removed", "rq_disk"),
    ("request_queue", "Field added", "disk"),
]
failed = 0
for name, change, member in want:
    n = duckdb.sql(
        f"select count(*) from {changes} where \"group\" = 'Regular' and kind = 'struct' "
        f"and name = '{name}' and change = '{change}' and member = '{member}'"
    ).fetchone()[0]
    ok = n == 1
    failed += not ok
    print(("ok   " if ok else "FAIL ") + f"Regular 5.10 -> 6.1: struct {name}: {change} {member}")
sys.exit(1 if failed else 0)
PY
