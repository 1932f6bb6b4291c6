#!/usr/bin/env bash
# Renders one run's Kubernetes Jobs from the templates in deploy/k8s/:
#   extract-job.yaml            Indexed Job, completions = shards, parallelism = pods at once
#   aggregate-shards-job.yaml   with --aggregate-shards K > 1: Indexed Job of K pods, each
#                               `ksurf aggregate --shard I/K` (its share of the groups), to
#                               start once every extraction shard has completed
#   aggregate-job.yaml          the Job to start last: finds sharded groups current, writes
#                               the run log and the manifest
#
# Usage:
#   deploy/render-jobs.sh (--plan PLAN_JSON | --count N) --out DIR
#                         [--run-id ID] [--max-shards S] [--max-parallel P]
#                         [--aggregate-shards K]
#
# --plan reads the plan `ksurf plan` wrote (_plan/plan.json in the dataset,
# copied here with your object-store tool); its package count is the length
# of the top-level JSON array, or of its "packages" array. --count gives the
# count directly. Shards = min(count, max-shards) (default 64), each shard
# `ksurf extract --shard I/N` taking every N-th package; parallelism =
# min(shards, max-parallel) (default 8). The run id (default: today, UTC,
# YYYYMMDD) names the Jobs, which Kubernetes never reuses. --aggregate-shards
# (default 1: the aggregate Job alone) splits the config's groups by position
# over K pods, min(K, max-parallel) at once.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
plan="" count="" out="" run_id="$(date -u +%Y%m%d)" max_shards=64 max_parallel=8 aggregate_shards=1

die() { echo "render-jobs.sh: $*" >&2; exit 1; }
is_count() { [[ "$1" =~ ^[0-9]+$ ]]; }

while (($#)); do
	case "$1" in
	--plan) plan="${2:?--plan needs a file}"; shift 2 ;;
	--count) count="${2:?--count needs a number}"; shift 2 ;;
	--out) out="${2:?--out needs a directory}"; shift 2 ;;
	--run-id) run_id="${2:?--run-id needs a value}"; shift 2 ;;
	--max-shards) max_shards="${2:?--max-shards needs a number}"; shift 2 ;;
	--max-parallel) max_parallel="${2:?--max-parallel needs a number}"; shift 2 ;;
	--aggregate-shards) aggregate_shards="${2:?--aggregate-shards needs a number}"; shift 2 ;;
	-h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done

[[ -n "$out" ]] || die "--out DIR is required"
if [[ -n "$plan" ]]; then
	[[ -z "$count" ]] || die "give --plan or --count, not both"
	[[ -r "$plan" ]] || die "cannot read plan $plan"
	count="$(python3 - "$plan" <<'PY'
import json, sys
path = sys.argv[1]
try:
    with open(path, encoding="utf-8") as f:
        plan = json.load(f)
except (OSError, ValueError) as e:
    sys.exit(f"render-jobs.sh: plan {path}: {e}")
items = plan.get("packages") if isinstance(plan, dict) else plan
if not isinstance(items, list):
    sys.exit(f"render-jobs.sh: plan {path}: expected a JSON array or an object with a \"packages\" array")
print(len(items))
PY
)"
fi
[[ -n "$count" ]] || die "give --plan PLAN_JSON or --count N"
is_count "$count" || die "--count must be a whole number, got '$count'"
is_count "$max_shards" && ((max_shards > 0)) || die "--max-shards must be a positive whole number, got '$max_shards'"
is_count "$max_parallel" && ((max_parallel > 0)) || die "--max-parallel must be a positive whole number, got '$max_parallel'"
is_count "$aggregate_shards" && ((aggregate_shards > 0)) || die "--aggregate-shards must be a positive whole number, got '$aggregate_shards'"
[[ "$run_id" =~ ^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$ ]] ||
	die "--run-id must be 1-40 characters of [a-z0-9-], starting and ending alphanumeric, got '$run_id'"

mkdir -p "$out"
render() { # template output shards parallelism
	sed -e "s/\${RUN_ID}/$run_id/g" -e "s/\${COMPLETIONS}/$3/g" -e "s/\${PARALLELISM}/$4/g" \
		"$here/k8s/$1" >"$out/$2.tmp"
	if grep -q '\${' "$out/$2.tmp"; then
		rm -f "$out/$2.tmp"
		die "template $1 has a placeholder this script does not fill"
	fi
	mv "$out/$2.tmp" "$out/$2"
}

if ((count == 0)); then
	rm -f "$out/extract-job.yaml"
	echo "plan has no packages: no extraction Job; $out/aggregate-job.yaml re-aggregates"
else
	shards=$((count < max_shards ? count : max_shards))
	parallel=$((shards < max_parallel ? shards : max_parallel))
	render extract-job.template.yaml extract-job.yaml "$shards" "$parallel"
	echo "$count packages: $out/extract-job.yaml (ksurf-extract-$run_id, $shards shards, $parallel at once)"
fi
if ((aggregate_shards > 1)); then
	parallel=$((aggregate_shards < max_parallel ? aggregate_shards : max_parallel))
	render aggregate-shards-job.template.yaml aggregate-shards-job.yaml "$aggregate_shards" "$parallel"
	echo "$out/aggregate-shards-job.yaml (ksurf-aggregate-shards-$run_id, $aggregate_shards shards, $parallel at once), then:"
else
	rm -f "$out/aggregate-shards-job.yaml"
fi
render aggregate-job.template.yaml aggregate-job.yaml 1 1
echo "$out/aggregate-job.yaml (ksurf-aggregate-$run_id)"
