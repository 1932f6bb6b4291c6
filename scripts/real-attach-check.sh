#!/usr/bin/env bash
# Cross-checks the attach verdicts (function_attach) of one extracted real
# kernel: the "in .BTF" part of every fentry verdict against the kernel's
# own .BTF FUNC list (bpftool btf dump), name for name, then the known
# verdicts of Debian's 5.10 and 6.1 kernels; prints the per-image counts.
#
#   scripts/real-attach-check.sh VMLINUX DATASET
#
# The partition read is distro=debian/release=R/arch=A: R is what follows
# `vmlinux-` in VMLINUX's file name, A the only arch= directory of that
# release in DATASET. A VMLINUX without .BTF (s390x 6.1) must have every
# fentry verdict refused for that reason and in_btf null.
# Needs bpftool and DuckDB (pip install duckdb).
set -euo pipefail
vmlinux=${1:?usage: real-attach-check.sh VMLINUX DATASET}
dataset=${2:?usage: real-attach-check.sh VMLINUX DATASET}
release=${vmlinux##*/vmlinux-}
archdirs=("$dataset"/function_attach/distro=debian/release="$release"/arch=*)
[ ${#archdirs[@]} -eq 1 ] || { echo "expected one arch of $release in $dataset, found ${archdirs[*]}" >&2; exit 1; }
table=${archdirs[0]}/part-0.parquet
funcs=$(mktemp)
trap 'rm -f "$funcs"' EXIT
# grep reads the whole listing (-q would stop early and, with pipefail,
# readelf's SIGPIPE would fail the test).
if readelf -SW "$vmlinux" | grep ' \.BTF ' >/dev/null; then
	bpftool btf dump file "$vmlinux" | sed -nE "s/^\[[0-9]+\] FUNC '([^']*)'.*/\1/p" | sort -u >"$funcs"
	has_btf=1
else
	has_btf=0
fi
python3 - "$table" "$funcs" "$has_btf" "$release" <<'PY'
import sys
import duckdb

table, funcs_path, has_btf, release = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]
t = f"read_parquet('{table}')"
rows = {r[0]: r[1:] for r in duckdb.sql(
    f"select name, kprobe, kprobe_symbols, kprobe_reason, fentry, fentry_reason, in_btf, ftrace, inlined_sites from {t}").fetchall()}
failed = []

def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failed.append(what)

if has_btf:
    btf = set(open(funcs_path).read().split())
    ours = {n for n, r in rows.items() if r[5]}
    check(not (btf - rows.keys()), f".BTF FUNC names all in function_attach ({len(btf)}; missing {sorted(btf - rows.keys())[:5]})")
    check(ours == btf & rows.keys(), f"in_btf true for exactly the .BTF FUNC names ({len(ours)}; "
          f"extra {sorted(ours - btf)[:5]}, missing {sorted((btf & rows.keys()) - ours)[:5]})")
else:
    bad = [n for n, r in rows.items() if r[5] is not None or r[3] or not r[4].startswith("the image has no .BTF")]
    check(not bad, f"no .BTF: every fentry verdict refused for it, in_btf null ({len(rows)} names; wrong {bad[:5]})")

def fact(name, kprobe, symbols=None, reason_start=None, fentry=None, fentry_reason_start=None):
    r = rows.get(name)
    if r is None:
        check(False, f"{name}: in function_attach")
        return
    got_k, got_syms, got_reason, got_f, got_freason = r[0], list(r[1]), r[2], r[3], r[4]
    ok = got_k == kprobe
    ok &= symbols is None or got_syms == symbols
    ok &= reason_start is None or got_reason.startswith(reason_start)
    ok &= fentry is None or got_f == fentry
    ok &= fentry_reason_start is None or got_freason.startswith(fentry_reason_start)
    check(ok, f"{name}: kprobe {got_k} {got_syms} ({got_reason}); fentry {got_f} ({got_freason})")

version = release.split("-")[0]
# Before 6.4 no function carries the fexit refusal.
if not version.startswith("6.12"):
    fexit = [n for n, r in rows.items() if "fexit refused" in r[4]]
    check(not fexit, f"no noreturn_deny set before 6.4: no fexit refusal ({fexit[:5]})")
if version == "6.1.0":
    fact("finish_task_switch", "yes", ["finish_task_switch.isra.0"], "clone finish_task_switch.isra.0",
         False, "not in .BTF: no symbol named finish_task_switch, only finish_task_switch.isra.0" if has_btf else None)
    fact("load_elf_phdrs", "ambiguous", [], "2 symbols named load_elf_phdrs")
    fact("vfs_read", "yes", ["vfs_read"], "symbol vfs_read", has_btf)
    if release.endswith("amd64"):
        fact("blk_account_io_start", "no", [], "no symbol: inlined at every call site")
        fact("do_syscall_64", "no", [], "do_syscall_64: in noinstr text")
        fact("migrate_disable", "yes", ["migrate_disable"], None, False, "in the verifier's btf_id_deny set")
elif version.startswith("6.12"):
    # 6.4+ has the verifier's noreturn_deny set: fentry attaches, fexit does not.
    fact("do_exit", "yes", ["do_exit"], "symbol do_exit", True,
         "in .BTF with an ftrace call site; fexit refused: in the verifier's noreturn_deny set")
    fact("vfs_read", "yes", ["vfs_read"], "symbol vfs_read", True, "in .BTF with an ftrace call site")
elif version == "5.10.0":
    fact("finish_task_switch", "yes", ["finish_task_switch"], "symbol finish_task_switch", True)
    fact("blk_account_io_start", "yes", ["blk_account_io_start"], "symbol blk_account_io_start", True)
    fact("load_elf_phdrs", "ambiguous", [], "2 symbols named load_elf_phdrs")

counts = duckdb.sql(f"""select count(*) filter (kprobe = 'yes'), count(*) filter (kprobe = 'ambiguous'),
    count(*) filter (kprobe = 'no'), count(*) filter (fentry), count(*) filter (inlined_sites > 0 and kprobe = 'yes')
    from {t}""").fetchall()[0]
print(f"{release}: {len(rows)} names; kprobe yes {counts[0]}, ambiguous {counts[1]}, no {counts[2]}; "
      f"fentry yes {counts[3]}; kprobe-able but missing inlined call sites {counts[4]}")
sys.exit(1 if failed else 0)
PY
