#!/usr/bin/env bash
# The README's main command on real kernels, checked: downloads the two
# newest Debian cloud-amd64 debug packages into work/debs (keeping what is
# there), runs `ksurf run --config configs/debian-local.toml` into a fresh
# dataset, checks that both images and the Revision group were written,
# that a second run extracts nothing, and that the snapshot verifies.
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
echo "real run check passed"
