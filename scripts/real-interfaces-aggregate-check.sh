#!/usr/bin/env bash
# The interface kinds' changes on real Debian kernels, checked by hand
# (CI has only the 6.1 cloud-amd64 kernels; scripts/real-run-check.sh checks
# their pages): extracts 5.10, 6.1 and 6.12 cloud-amd64, 6.1 arm64 and 6.1
# s390x from WORKDIR/kernels (vmlinux-<release> files, e.g. unpacked with
# scripts/lib/debian-kernel.sh), aggregates a Regular and an Arch group and
# asserts issue 12's facts in tracepoint_changes, syscall_changes and
# lsm_hook_changes and issue 13's attach changes in function_changes
# (finish_task_switch renamed to its .isra clone, blk_account_io_start fully
# inlined, vfs_unlink's parameters moved), then prints the change counts per
# group and kind.
#
#   scripts/real-interfaces-aggregate-check.sh [WORKDIR]   # default: work/
#
# KSURF=path/to/ksurf uses that binary instead of `cargo build --release`.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-work}
kernels=$work/kernels
dataset=$work/interfaces-dataset
ksurf=${KSURF:-}
if [ -z "$ksurf" ]; then
	cargo build --release --quiet
	ksurf=target/release/ksurf
fi

pick() { # the one vmlinux of kernels/ matching a glob
	local found
	found=$(ls $kernels/vmlinux-$1 2>/dev/null | sort -V | tail -n1 || true)
	[ -n "$found" ] || { echo "no $kernels/vmlinux-$1: unpack that kernel first" >&2; exit 2; }
	echo "$found"
}
v510=$(pick '5.10.*-cloud-amd64')
v61=$(pick '6.1.0-*-cloud-amd64')
v612=$(pick '6.12.*-cloud-amd64')
arm=$(pick '6.1.0-*-arm64')
s390=$(pick '6.1.0-*-s390x')

rm -rf "$dataset"
for v in "$v510" "$v61" "$v612"; do "$ksurf" extract "$v" --out "$dataset" >/dev/null; done
"$ksurf" extract "$arm" --out "$dataset" --arch arm64 >/dev/null
"$ksurf" extract "$s390" --out "$dataset" --arch s390x >/dev/null
r() { echo "${1##*/vmlinux-}"; }
config=$work/interfaces-groups.toml
cat >"$config" <<TOML
[[group]]
name = "Regular"
mode = "consecutive"
images = ["debian/$(r "$v510")/amd64", "debian/$(r "$v61")/amd64", "debian/$(r "$v612")/amd64"]

[[group]]
name = "Arch"
mode = "baseline"
baseline = "debian/$(r "$v61")/amd64"
images = ["debian/$(r "$arm")/arm64", "debian/$(r "$s390")/s390x"]
TOML
/usr/bin/time -f "aggregate: %e s, peak RSS %M KiB" "$ksurf" aggregate --dataset "$dataset" --config "$config"

python3 - "$dataset" <<'PY'
import sys
import duckdb

d = sys.argv[1]
def rows(table, where):
    return duckdb.sql(f"""select new_label, change, subject, old, new
        from read_parquet('{d}/{table}/**/*.parquet', hive_partitioning = true)
        where {where} order by pair, change, subject""").fetchall()
failed = 0
def check(what, got, want):
    global failed
    ok = got == want
    failed += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {what}: {got}" + ("" if ok else f", expected {want}"))

check("kfree_skb arguments added (Regular)",
      [(l, s, n) for l, c, s, _, n in rows("tracepoint_changes", "\"group\" = 'Regular' and name = 'kfree_skb'") if c == "Argument added"],
      [("6.1", "reason", "enum skb_drop_reason"), ("6.12", "rx_sk", "struct sock *")])
check("kmalloc_node removed in 6.1 (Regular)",
      [(l, c) for l, c, *_ in rows("tracepoint_changes", "\"group\" = 'Regular' and name = 'kmalloc_node'")],
      [("6.1", "Tracepoint removed")])
check("getpid: no syscall change (Arch)", rows("syscall_changes", "\"group\" = 'Arch' and name = 'getpid'"), [])
check("path_rename gains flags (Regular)",
      [(l, c, s, n) for l, c, s, _, n in rows("lsm_hook_changes", "\"group\" = 'Regular' and name = 'path_rename'")],
      [("6.1", "Param added", "flags", "unsigned int")])
def fchanges(name, kinds):
    got = duckdb.sql(f"""select new_label, change, param, old, new
        from read_parquet('{d}/function_changes/**/*.parquet', hive_partitioning = true)
        where "group" = 'Regular' and name = '{name}' order by pair""").fetchall()
    return [r for r in got if r[1] in kinds]
check("finish_task_switch: 5.10 -> 6.1 renamed to its clone, fentry lost",
      fchanges("finish_task_switch", ("Symbol renamed", "Kprobe changed", "Fentry changed")),
      [("6.1", "Symbol renamed", None, "finish_task_switch", "finish_task_switch.isra.0"),
       ("6.1", "Kprobe changed", None, "yes: symbol finish_task_switch",
        "yes: clone finish_task_switch.isra.0: the source name has no usable symbol"),
       ("6.1", "Fentry changed", None, "yes: in .BTF with an ftrace call site",
        "no: not in .BTF: no symbol named finish_task_switch, only finish_task_switch.isra.0")])
# Inlined everywhere in 6.1, out of line again in 6.12.
check("blk_account_io_start: fully inlined in 6.1, back in 6.12",
      [(r[0], r[3], r[4]) for r in fchanges("blk_account_io_start", ("Inline type changed",))],
      [("6.1", "No", "Full"), ("6.12", "Full", "Selective")])
check("blk_account_io_start: kprobe lost in 6.1, back in 6.12",
      [(r[0], r[3], r[4]) for r in fchanges("blk_account_io_start", ("Kprobe changed",))],
      [("6.1", "yes: symbol blk_account_io_start", "no: no symbol: inlined at every call site (8)"),
       ("6.12", "no: no symbol: inlined at every call site (8)",
        "yes: symbol blk_account_io_start; misses 1 inlined call site")])
check("vfs_unlink: parameters moved by mnt_userns in 6.1",
      [(r[0], r[2], r[3], r[4]) for r in fchanges("vfs_unlink", ("Param moved",))],
      [("6.1", "dir", "arg 1", "arg 2"), ("6.1", "dentry", "arg 2", "arg 3"),
       ("6.1", "delegated_inode", "arg 3", "arg 4")])
for row in duckdb.sql(f"""select "group", new_label, change, count(*)
        from read_parquet('{d}/function_changes/**/*.parquet', hive_partitioning = true)
        group by all order by all""").fetchall():
    print("function_changes", *row)
for table in ["tracepoint_changes", "syscall_changes", "kfunc_changes", "lsm_hook_changes"]:
    for row in duckdb.sql(f"""select "group", new_label, change, count(*)
            from read_parquet('{d}/{table}/**/*.parquet', hive_partitioning = true)
            group by all order by all""").fetchall():
        print(table, *row)
sys.exit(1 if failed else 0)
PY
"$ksurf" report tracepoint kfree_skb --dataset "$dataset" | grep '<b>Argument added. </b><code>rx_sk</code>: <code>struct sock \*</code>' >/dev/null
echo "real interfaces aggregate check passed"
