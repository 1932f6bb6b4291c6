#!/usr/bin/env bash
# Cross-checks ksurf's type tables (types, type_members, enum_values) of one
# kernel against that kernel's own .BTF, then asserts known member facts of
# task_struct, request and request_queue (5.10 and 6.1+).
#
#   scripts/real-types-check.sh VMLINUX DATASET [--release R] [--arch A] [--min-agreement PCT]
#   scripts/real-types-check.sh --facts DATASET --release R [--arch A]   # facts only
#   scripts/real-types-check.sh --counts VMLINUX                         # BTF counts only
#
# The partition read is distro=debian/release=R/arch=A: R defaults to what
# follows `vmlinux-` in VMLINUX's file name, A to the only arch= directory of
# that release in DATASET (else the ELF machine of VMLINUX). A VMLINUX
# without .BTF (s390x) gets the facts only. Exits non-zero when the
# agreement with BTF is below 99.9% or a fact fails.
# Needs bpftool (apt-get install bpftool) and DuckDB (pip install duckdb).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
py=$here/types_btf_check.py

case "${1:-}" in
--facts)
	shift
	exec python3 "$py" facts "$@"
	;;
--counts)
	shift
	exec python3 "$py" counts "$@"
	;;
"" | -h | --help)
	sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac

vmlinux=$1
dataset=$2
shift 2
release=
arch=
rest=()
while [ $# -gt 0 ]; do
	case "$1" in
	--release) release=$2; shift 2 ;;
	--arch) arch=$2; shift 2 ;;
	*) rest+=("$1"); shift ;;
	esac
done
[ -n "$release" ] || release=$(basename "$vmlinux" | sed -n 's/^vmlinux-//p')
if [ -z "$release" ]; then
	echo "cannot tell the release from $vmlinux; pass --release" >&2
	exit 2
fi
opts=(--release "$release")
[ -z "$arch" ] || opts+=(--arch "$arch")

status=0
if readelf -S -W "$vmlinux" | grep ' \.BTF ' >/dev/null; then
	echo "== BTF against the type tables"
	python3 "$py" compare "$vmlinux" "$dataset" "${opts[@]}" ${rest[@]+"${rest[@]}"} || status=1
else
	echo "== $vmlinux has no .BTF section: BTF comparison skipped"
fi
echo "== known facts"
if [ -z "$arch" ]; then
	opts+=(--arch "$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import types_btf_check as t; print(t.discover_arch(sys.argv[2], sys.argv[3], sys.argv[4]))' "$here" "$dataset" "$release" "$vmlinux")")
fi
python3 "$py" facts "$dataset" "${opts[@]}" || status=1
exit $status
