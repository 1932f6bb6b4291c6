#!/usr/bin/env bash
# The README's main command on real kernels, checked: downloads the two
# newest Debian cloud-amd64 debug packages into work/debs (keeping what is
# there), runs `ksurf run --config configs/debian-local.toml` into a fresh
# dataset, checks that both images and the Revision group were written,
# that a second run extracts and aggregates nothing, and that the snapshot
# verifies.
# Needs root for apt (run as root, or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
ksurf=target/release/ksurf
scripts/get-debian-kernels.sh work/debs 2 cloud-amd64 >/dev/null
dataset=${KSURF_WORK:-work}/run-dataset
rm -rf "$dataset"

# Other packages in work/debs are part of the run too; count what is there.
debs=$(ls work/debs/linux-image-*-dbg_*.deb | wc -l)
first=$("$ksurf" run --config configs/debian-local.toml --dataset "$dataset" --work work/run)
echo "$first"
grep -qx "$debs images planned: $debs to do, 0 already in $dataset" <<<"$first"
grep -q ": $debs images extracted, 0 unchanged, 0 failed;" <<<"$first"
grep -q "^group Revision: [0-9]* function names, [0-9]* changes, [0-9]* type names, [0-9]* type changes, [0-9]* tracepoint changes, [0-9]* syscall changes, [0-9]* kfunc changes, [0-9]* lsm changes, [0-9]* config changes$" <<<"$first"

second=$("$ksurf" run --config configs/debian-local.toml --dataset "$dataset" --work work/run)
echo "$second"
grep -qx "$debs images planned: 0 to do, $debs already in $dataset" <<<"$second"
grep -q ": 0 images extracted, $debs unchanged, 0 failed;" <<<"$second"
# Nor is the group aggregated again: its images and their files are as they were.
grep -qx "group Revision: unchanged (same images, files and definition as when aggregated)" <<<"$second"

"$ksurf" verify --dataset "$dataset"
"$ksurf" report vfs_read --dataset "$dataset" | grep '^# Function: <code>vfs_read</code>$' >/dev/null
# The interface kinds' pages, on the 6.1 facts of issue 12.
"$ksurf" report tracepoint kfree_skb --dataset "$dataset" >"$dataset.kfree_skb.md"
grep -q '^# Tracepoint: <code>kfree_skb</code>$' "$dataset.kfree_skb.md"
grep -q 'struct sk_buff \*skb, void \*location, enum skb_drop_reason reason</code>' "$dataset.kfree_skb.md"
"$ksurf" report syscall getpid --dataset "$dataset" | grep '^\*\*native\*\* #39: entry <code>__x64_sys_getpid</code>$' >/dev/null
"$ksurf" report lsm path_rename --dataset "$dataset" | grep 'unsigned int flags' >/dev/null
"$ksurf" report kfunc bpf_lookup_user_key --dataset "$dataset" >"$dataset.kfunc.md"
grep -q '^# Kfunc: <code>bpf_lookup_user_key</code>$' "$dataset.kfunc.md"
grep -q 'u32 serial, u64 flags' "$dataset.kfunc.md"
rm -f "$dataset.kfree_skb.md" "$dataset.kfunc.md"
python3 - "$dataset" "$debs" <<'PY'
import sys
import duckdb

dataset, debs = sys.argv[1], int(sys.argv[2])
rows = duckdb.sql(f"""
    select run, outcome, count(*) from read_parquet('{dataset}/run_log/**/*.parquet', hive_partitioning = true)
    where image is not null group by all order by run, outcome""").fetchall()
assert [(o, n) for _, o, n in rows] == [("done", debs), ("skipped", debs)], rows
images = duckdb.sql(f"""
    select count(*) from read_parquet('{dataset}/images/**/*.parquet', hive_partitioning = true)
    where package_sha256 is not null""").fetchall()[0][0]
assert images == debs, images
print(f"run_log: {rows}; {images} images with their package SHA-256")
PY

# Kernel modules (configs/debian-local.toml: modules = true): every .ko of
# each package is a `modules` row without error; xfs_file_read_iter and
# btrfs_sync_file are in their modules with their prototypes; vfs_read and
# _printk, which modules call, come from the vmlinux only; ksurf check
# finds mdflush's fentry target in module md_mod.
expected=""
for deb in work/debs/linux-image-*-dbg_*.deb; do
	release=$(dpkg-deb -f "$deb" Package)
	release=${release#linux-image-}
	release=${release%-dbg}
	expected="$expected $release=$(dpkg-deb -c "$deb" | grep -c '\.ko$')"
done
python3 - "$dataset" $expected <<'PY'
import sys
import duckdb

dataset, expected = sys.argv[1], dict(a.split("=") for a in sys.argv[2:])
got = {r: (m, f, n) for r, m, f, n in duckdb.sql(f"""
    select i.release, i.modules, i.modules_failed, (select count(*) from read_parquet('{dataset}/modules/**/*.parquet', hive_partitioning = true) m
        where m.release = i.release and m.error is null)
    from read_parquet('{dataset}/images/**/*.parquet', hive_partitioning = true) i""").fetchall()}
assert {r: (int(n), 0, int(n)) for r, n in expected.items()} == got, (expected, got)
for name, module, prototype in [
    ("xfs_file_read_iter", "xfs", "ssize_t xfs_file_read_iter(struct kiocb *iocb, struct iov_iter *to);"),
    ("btrfs_sync_file", "btrfs", "int btrfs_sync_file(struct file *file, loff_t start, loff_t end, int datasync);"),
    ("vfs_read", "vmlinux", "ssize_t vfs_read(struct file *file, char *buf, size_t count, loff_t *pos);"),
    ("_printk", "vmlinux", "int _printk(const char *fmt, ...);"),
]:
    rows = duckdb.sql(f"""
        select distinct release, module, prototype from read_parquet('{dataset}/function_instances/**/*.parquet', hive_partitioning = true)
        where name = '{name}' order by all""").fetchall()
    assert rows == [(r, module, prototype) for r in sorted(expected)], (name, rows)
print(f"modules: {got} (release: modules, failed, rows without error); xfs, btrfs, vfs_read, _printk where they belong")
# The aggregation knows where the group's vmlinux functions are in the
# modules: function_status.modules against the module rows themselves, and
# the moves (built-in <-> module) against the images' rows (two
# consecutive revisions, as scripts/get-debian-kernels.sh downloads).
status = set((r, n, tuple(m)) for r, n, m in duckdb.sql(f"""
    select split_part(image, '/', 2), name, modules from read_parquet('{dataset}/function_status/**/*.parquet', hive_partitioning = true)
    where len(modules) > 0""").fetchall())
own = set((r, n, tuple(m)) for r, n, m in duckdb.sql(f"""
    with f as (select * from read_parquet('{dataset}/functions/**/*.parquet', hive_partitioning = true))
    select release, name, list(distinct module order by module) from f
    where module != 'vmlinux' and name in (select name from f where module = 'vmlinux')
    group by release, name""").fetchall())
assert status == own and len(status) > 0, (len(status), len(own), sorted(status ^ own)[:5])
moves = duckdb.sql(f"""
    select count(*) from read_parquet('{dataset}/function_changes/**/*.parquet', hive_partitioning = true)
    where change in ('Moved to module', 'Moved to vmlinux')""").fetchall()[0][0]
expected_moves = duckdb.sql(f"""
    with f as (select * from read_parquet('{dataset}/functions/**/*.parquet', hive_partitioning = true))
    select count(*) from (
        select distinct o.release, n.release, o.name from f o, f n
        where o.module = 'vmlinux' and n.module != 'vmlinux' and o.name = n.name and o.release < n.release
          and not exists (select 1 from f v where v.release = n.release and v.module = 'vmlinux' and v.name = o.name)
        union all
        select distinct o.release, n.release, o.name from f o, f n
        where o.module != 'vmlinux' and n.module = 'vmlinux' and o.name = n.name and o.release < n.release
          and not exists (select 1 from f v where v.release = o.release and v.module = 'vmlinux' and v.name = o.name))""").fetchall()[0][0]
assert moves == expected_moves, (moves, expected_moves)
print(f"function_status: {len(status)} (image, name) rows name the modules defining a vmlinux function; {moves} moves built-in <-> module")
# docs/queries.md's cross-module collisions (a bare-name kprobe on a vmlinux
# function that a module also has a symbol of), the doc's own SQL on the
# real images: every image has some, each named module really has the
# symbol, and chacha_permute (vmlinux and chacha_x86_64) is among them.
import re
doc = open("docs/queries.md", encoding="utf-8").read()
section = doc.split("## Which vmlinux functions a kernel module defines too", 1)[1]
sql = re.search(r"```sql\n(.*?)```", section, re.S).group(1).replace("'dataset/", f"'{dataset}/")
collisions = duckdb.sql(sql).fetchall()
per_image = {}
for image, name, modules in collisions:
    per_image.setdefault(image, {})[name] = modules
assert len(per_image) == len(got) and all(per_image.values()), {i: len(n) for i, n in per_image.items()}
symbols = set(duckdb.sql(f"""
    select distro || '/' || release || '/' || arch, name, module
    from read_parquet('{dataset}/symbols/**/modules-0.parquet', hive_partitioning = true)""").fetchall())
for image, names in per_image.items():
    assert names.get("chacha_permute") == ["chacha_x86_64"], (image, names.get("chacha_permute"))
    for name, modules in names.items():
        assert all((image, name, m) in symbols for m in modules), (image, name, modules)
print(f"cross-module collisions (docs/queries.md): {[len(n) for n in per_image.values()]} names per image")
PY
"$ksurf" check work/libbpf-tools/usr/sbin/mdflush --dataset "$dataset" --format json >"$dataset.mdflush.json" || true
python3 - "$dataset.mdflush.json" "$debs" <<'PY'
import json, sys
report, debs = json.load(open(sys.argv[1])), int(sys.argv[2])
verdicts = [v for o in report["objects"] for d in o["dependencies"]
            if d["name"] == "fentry md_flush_request" for v in d["verdicts"]]
assert len(verdicts) == debs and all(v["class"] == "in_module" and v["reason"].startswith("in module md_mod: ")
                                    for v in verdicts), verdicts
print(f"mdflush: fentry md_flush_request: {verdicts[0]['reason']}")
PY
rm -f "$dataset.mdflush.json"

# The modules' attach verdicts: xfs_file_read_iter attaches both ways once
# xfs is loaded, and the xfs rows in .BTF are exactly the BTF_KIND_FUNCs
# bpftool reads from xfs.ko's split .BTF on the vmlinux's (dataset's copy).
deb=$(ls work/debs/linux-image-*-dbg_*.deb | head -1)
release=$(dpkg-deb -f "$deb" Package)
release=${release#linux-image-}
release=${release%-dbg}
ko=$(mktemp -d)
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$ko" "./usr/lib/debug/lib/modules/$release/kernel/fs/xfs/xfs.ko"
bpftool -B "$dataset/btf/distro=debian/release=$release/arch=amd64/vmlinux.btf" \
	btf dump file "$ko/usr/lib/debug/lib/modules/$release/kernel/fs/xfs/xfs.ko" |
	sed -n "s/^\[[0-9]*\] FUNC '\([^']*\)'.*/\1/p" | sort -u >"$ko/btf-funcs"
rm -rf "$ko/usr"
python3 - "$dataset" "$release" "$ko/btf-funcs" <<'PY'
import sys
import duckdb

dataset, release, funcs = sys.argv[1:]
btf = set(open(funcs).read().split())
rows = duckdb.sql(f"""
    select name, kprobe, fentry, fentry_reason, in_btf, ftrace from read_parquet('{dataset}/function_attach/**/*.parquet', hive_partitioning = true)
    where release = '{release}' and module = 'xfs'""").fetchall()
by_name = {r[0]: r for r in rows}
assert by_name["xfs_file_read_iter"][1:4] == ("yes", True, "in .BTF with an ftrace call site"), by_name["xfs_file_read_iter"]
in_btf = {r[0] for r in rows if r[4]}
assert len(btf) > 1000 and in_btf == btf, (len(btf), len(in_btf), sorted(btf ^ in_btf)[:10])
fentry = sum(1 for r in rows if r[2])
print(f"xfs: {len(rows)} functions with verdicts, {len(in_btf)} in its .BTF (= bpftool's FUNCs), {fentry} fentry-attachable")
PY
rm -rf "$ko"
# A function only a module defines has a page that says which.
"$ksurf" report xfs_file_read_iter --dataset "$dataset" >"$dataset.xfs.md"
grep -q "^Built into no image's vmlinux" "$dataset.xfs.md"
test "$(grep -c '^In <code>[^<]*</code>: Absent ⚠️ (in module <code>xfs</code>)$' "$dataset.xfs.md")" = "$debs"
rm -f "$dataset.xfs.md"
echo "real run check passed"
