#!/usr/bin/env bash
# Checks deploy/: renders the per-run Jobs with deploy/render-jobs.sh (from a
# count and from a plan file), checks the rendered numbers and the refusals of
# bad input, and validates every manifest against the Kubernetes API schemas
# with kubernetes-validate (PyPI; .ci/run installs it). Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")"

python3 -c 'import kubernetes_validate' 2>/dev/null ||
	{ echo "validate.sh: kubernetes-validate is not installed (python3 -m pip install kubernetes-validate)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "validate.sh: $*" >&2; exit 1; }
expect_line() { # file line
	grep -qxF -- "$2" "$1" || fail "$1 lacks the line '$2'"
}

# From a count: 37 packages, 64 shards at most, 8 pods at once.
./render-jobs.sh --count 37 --run-id 20250114 --out "$tmp/count" >/dev/null
expect_line "$tmp/count/extract-job.yaml" "  name: ksurf-extract-20250114"
expect_line "$tmp/count/extract-job.yaml" "  completionMode: Indexed"
expect_line "$tmp/count/extract-job.yaml" "  completions: 37"
expect_line "$tmp/count/extract-job.yaml" "  parallelism: 8"
expect_line "$tmp/count/extract-job.yaml" '            - $(JOB_COMPLETION_INDEX)/37'
expect_line "$tmp/count/aggregate-job.yaml" "  name: ksurf-aggregate-20250114"

# From a plan file: 3 packages → 3 shards, 3 at once; capped shards.
printf '{"packages": [{}, {}, {}]}\n' >"$tmp/plan.json"
./render-jobs.sh --plan "$tmp/plan.json" --run-id nightly-1 --out "$tmp/plan" >/dev/null
expect_line "$tmp/plan/extract-job.yaml" "  completions: 3"
expect_line "$tmp/plan/extract-job.yaml" "  parallelism: 3"
printf '[%s{}]\n' "$(printf '{},%.0s' $(seq 1 199))" >"$tmp/big.json"
./render-jobs.sh --plan "$tmp/big.json" --max-shards 50 --max-parallel 10 --run-id big --out "$tmp/big" >/dev/null
expect_line "$tmp/big/extract-job.yaml" "  completions: 50"
expect_line "$tmp/big/extract-job.yaml" "  parallelism: 10"
expect_line "$tmp/big/extract-job.yaml" '            - $(JOB_COMPLETION_INDEX)/50'

# Sharded aggregation: an Indexed Job of K pods before the aggregate Job.
./render-jobs.sh --count 5 --aggregate-shards 12 --run-id agg --out "$tmp/agg" >/dev/null
expect_line "$tmp/agg/aggregate-shards-job.yaml" "  name: ksurf-aggregate-shards-agg"
expect_line "$tmp/agg/aggregate-shards-job.yaml" "  completionMode: Indexed"
expect_line "$tmp/agg/aggregate-shards-job.yaml" "  completions: 12"
expect_line "$tmp/agg/aggregate-shards-job.yaml" "  parallelism: 8"
expect_line "$tmp/agg/aggregate-shards-job.yaml" '            - $(JOB_COMPLETION_INDEX)/12'
expect_line "$tmp/agg/aggregate-job.yaml" "            - --manifest"
[[ ! -e "$tmp/count/aggregate-shards-job.yaml" ]] || fail "no --aggregate-shards must render no shards Job"

# Nothing to extract: only the aggregation Job.
./render-jobs.sh --count 0 --run-id empty --out "$tmp/empty" >/dev/null
[[ ! -e "$tmp/empty/extract-job.yaml" && -e "$tmp/empty/aggregate-job.yaml" ]] ||
	fail "--count 0 must render only the aggregation Job"

# Bad input is refused with a message naming it.
refuses() { # expected-message args...
	local want="$1"; shift
	if ./render-jobs.sh "$@" --out "$tmp/bad" 2>"$tmp/err" >/dev/null; then
		fail "render-jobs.sh $* succeeded"
	fi
	grep -qF -- "$want" "$tmp/err" || fail "render-jobs.sh $*: expected '$want', got: $(cat "$tmp/err")"
}
refuses "--count must be a whole number, got 'many'" --count many
refuses "--run-id must be 1-40 characters" --count 3 --run-id Bad_Id
refuses "--aggregate-shards must be a positive whole number, got '0'" --count 3 --aggregate-shards 0
printf '{"packages": 3}' >"$tmp/bad.json"
refuses "plan $tmp/bad.json: expected a JSON array" --plan "$tmp/bad.json"
printf '{"packages": [' >"$tmp/cut.json"
refuses "plan $tmp/cut.json: Expecting value" --plan "$tmp/cut.json"

# Every manifest, against the API schemas, rejecting unknown fields: the
# validator's current Kubernetes and the oldest we support (1.31: Indexed
# Jobs with backoffLimitPerIndex, CronJob timeZone).
for version in "" 1.31.0; do
	python3 -m kubernetes_validate --strict --quiet ${version:+-k "$version"} \
		k8s/namespace.yaml k8s/configmap.yaml k8s/secret.template.yaml k8s/plan-cronjob.yaml \
		"$tmp/count/extract-job.yaml" "$tmp/count/aggregate-job.yaml" \
		"$tmp/agg/aggregate-shards-job.yaml" \
		"$tmp/big/extract-job.yaml"
done
# The validator itself rejects a misspelt field (so a pass above means something).
sed 's/backoffLimitPerIndex:/backoffLimitPerIndx:/' "$tmp/count/extract-job.yaml" >"$tmp/misspelt.yaml"
if python3 -m kubernetes_validate --strict --quiet "$tmp/misspelt.yaml" >/dev/null 2>&1; then
	fail "kubernetes-validate accepted a misspelt field"
fi
echo "deploy/: manifests valid, render-jobs.sh checked"
