#!/usr/bin/env bash
# Checks docs/queries.md against the fixture dataset: builds the dataset the
# aggregator's tests use (every fixture ELF extracted with the identity of
# aggregator/tests/common/mod.rs, then the groups of
# aggregator/tests/fixtures/groups.toml) with the release ksurf, then runs
# every ```sql block of the doc with DuckDB and compares its rows with the
# ```result block below it (scripts/queries_check.py).
#
#   scripts/queries-check.sh [DATASET_DIR]   # default: a temporary directory
#
# KSURF=path/to/ksurf uses that binary instead of `cargo build --release`.
# Needs python3 with duckdb (pip install duckdb).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${KSURF:-}" ]; then
	cargo build --release --quiet
	KSURF=target/release/ksurf
fi

if [ $# -ge 1 ]; then
	dataset=$1
	rm -rf "$dataset"
else
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	dataset=$work/dataset
fi

# ELF, release, flavor, arch of every fixture image (distro mini), read from
# the IMAGES table of aggregator/tests/common/mod.rs so that there is one list.
images=$(python3 - aggregator/tests/common/mod.rs <<'PY'
import re, sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
m = re.search(r"pub const IMAGES: \[\(&str, &str, &str, &str\); \d+\] = \[(.*?)\n\];", text, re.S)
fields = re.findall(r'"([^"]*)"', m.group(1)) if m else []
if not fields or len(fields) % 4:
    sys.exit(f"{path}: no IMAGES table of (ELF, release, flavor, arch) found")
for i in range(0, len(fields), 4):
    print(*fields[i:i + 4])
PY
)
while read -r elf release flavor arch; do
	"$KSURF" extract "$elf" --out "$dataset" --distro mini \
		--release "$release" --flavor "$flavor" --arch "$arch" >/dev/null
done <<<"$images"
# The paper's four groups and the interface and config kinds' groups, in one
# config (an aggregation replaces every group).
groups=$(mktemp)
cat aggregator/tests/fixtures/groups.toml aggregator/tests/fixtures/interface-groups.toml >"$groups"
"$KSURF" aggregate --dataset "$dataset" --config "$groups" >/dev/null
rm -f "$groups"

python3 scripts/queries_check.py "$dataset" --doc docs/queries.md
