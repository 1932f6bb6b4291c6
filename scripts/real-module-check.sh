#!/usr/bin/env bash
# Checks ksurf's module extraction (ksurf_extractor::extract_module) on the
# real xfs and btrfs modules of one kernel debug package: each module's name
# (from .modinfo), a known function's prototype in it, and its number of
# function names against llvm-dwarfdump's (distinct DW_AT_name of
# DW_TAG_subprogram DIEs, declarations included, without the
# __compiletime_assert_* ones ksurf drops; llvm-dwarfdump applies the
# .rela.debug_* relocations itself), and that every out-of-line definition's
# (relocated, rebased) address falls in a symbol of its name. Prints both
# counts and the extraction time of each module; exits non-zero on any
# mismatch.
#
#   scripts/real-module-check.sh PACKAGE.deb
#
# The module_rows example is built with `cargo build --release` (honouring
# CARGO_TARGET_DIR) unless MODULE_ROWS names a built one. Needs dpkg-deb,
# llvm-dwarfdump, and xz/zstd for compressed modules.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -ne 1 ]; then
	sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
fi
deb=$1

if [ -z "${MODULE_ROWS:-}" ]; then
	cargo build --release --quiet -p ksurf-extractor --example module_rows
	MODULE_ROWS=${CARGO_TARGET_DIR:-target}/release/examples/module_rows
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" --wildcards '*/xfs.ko*' '*/btrfs.ko*'

# module function prototype (types only)
checks=(
	"xfs xfs_file_read_iter ssize_t xfs_file_read_iter(struct kiocb *, struct iov_iter *)"
	"btrfs btrfs_sync_file int btrfs_sync_file(struct file *, loff_t, loff_t, int)"
)

# The distinct subprogram names llvm-dwarfdump sees in a module.
peer_names() {
	llvm-dwarfdump --debug-info "$1" | awk '
		/^0x[0-9a-f]+: +DW_TAG_/ { in_sub = ($2 == "DW_TAG_subprogram"); next }
		in_sub && $1 == "DW_AT_name" {
			n = $0; sub(/^[^(]*\("/, "", n); sub(/"\)$/, "", n)
			if (n !~ /^__compiletime_assert_/) print n
			in_sub = 0
		}' | sort -u | wc -l
}

status=0
for check in "${checks[@]}"; do
	read -r module function proto <<<"$check"
	found=$(find "$work" -name "$module.ko*" -print | head -n 1)
	if [ -z "$found" ]; then
		echo "FAIL $module: no $module.ko in $deb"
		status=1
		continue
	fi
	ko=$work/$module.ko
	case $found in
	*.ko) mv "$found" "$ko" ;;
	*.ko.xz) xz -dc "$found" >"$ko" ;;
	*.ko.zst) zstd -qdc "$found" >"$ko" ;;
	*)
		echo "FAIL $module: unknown compression of $found"
		status=1
		continue
		;;
	esac
	out=$("$MODULE_ROWS" "$ko" "$function") || {
		echo "FAIL $module: extraction failed"
		status=1
		continue
	}
	summary=$(printf '%s\n' "$out" | sed -n '1p')
	name=$(printf '%s\n' "$summary" | awk '{print $2}')
	ours=$(printf '%s\n' "$summary" | sed -n 's/.* names=\([0-9]*\) .*/\1/p')
	ms=$(printf '%s\n' "$summary" | sed -n 's/.* elapsed_ms=\([0-9]*\).*/\1/p')
	got=$(printf '%s\n' "$out" | awk -F '\t' -v f="$function" '$1 == "function" && $2 == f {print $4}')
	decl=$(printf '%s\n' "$out" | awk -F '\t' -v f="$function" '$1 == "function" && $2 == f {print $3}')
	peer=$(peer_names "$ko")
	echo "$module: $summary"
	echo "$module: function names: ksurf $ours, llvm-dwarfdump $peer; extraction ${ms} ms"
	if [ "$name" != "$module" ]; then
		echo "FAIL $module: module name is '$name'"
		status=1
	fi
	if [ "$got" != "$proto" ]; then
		echo "FAIL $module: $function is '$got', want '$proto'"
		status=1
	else
		echo "ok   $module: $function ($decl): $got"
	fi
	matched=$(printf '%s\n' "$summary" | sed -n 's/.* addr_matched=\([0-9]*\)\/.*/\1/p')
	placed=$(printf '%s\n' "$summary" | sed -n 's/.* addr_matched=[0-9]*\/\([0-9]*\) .*/\1/p')
	if [ -z "$matched" ] || [ "$matched" != "$placed" ]; then
		echo "FAIL $module: only $matched of $placed out-of-line definitions are at a symbol of their name"
		status=1
	fi
	if [ "$ours" != "$peer" ]; then
		echo "FAIL $module: $ours function names, llvm-dwarfdump has $peer"
		status=1
	fi
	if printf '%s\n' "$out" | awk '/^unit_error / {found = 1} END {exit !found}'; then
		echo "FAIL $module: unit errors:"
		printf '%s\n' "$out" | sed -n 's/^unit_error /  /p'
		status=1
	fi
done
exit $status
