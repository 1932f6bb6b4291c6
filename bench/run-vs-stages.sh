#!/usr/bin/env bash
# Benchmark: `ksurf run` (fetch, extract and aggregate with the stages
# overlapped) against the same work done by its stages one after another:
# `ksurf fetch` of every package, then `ksurf extract` of each vmlinux, then
# `ksurf aggregate --manifest`. Real Debian -dbg packages are served by a
# loopback mirror (dpkg-scanpackages + InRelease signed with a throwaway
# key, scripts/lib/loopback-mirror.sh), so both sides download over HTTP and
# check the signature, sizes and SHA-256. The mirror's total bandwidth is
# capped (KSURF_BENCH_RATE) as a remote archive's would be: the overlap
# `ksurf run` is built for hides extraction behind the network, which a
# loopback server without a cap (GB/s) does not model. Both sides start from an empty
# dataset and an empty package cache each time; the two alternate (the
# order flips every round). Prints each measurement's wall time, CPU time,
# peak RSS and load average, the medians, the ratio run/stages and the
# images per hour of each side; checks that the two datasets' tables are
# byte-identical (function_instances must be, exit status 1 otherwise);
# the bar is a wall ratio <= 0.9 (exit status 1 when missed).
#
#   bench/run-vs-stages.sh [DEB_DIR] [ROUNDS]
#
# DEB_DIR (default work/bench-debs) receives the packages apt-get downloads;
# packages already there, or in a directory of KSURF_DEB_DIRS (colon-
# separated, e.g. a directory of kernels downloaded earlier), are reused.
#   KSURF_BENCH_PACKAGES  "package:arch ..." to serve (default below: three
#                         6.1 cloud-amd64 ABI revisions and 6.1 arm64)
#   KSURF_BENCH_WORK      scratch directory (default: a temp dir); needs
#                         about 4 GB for these packages
#   KSURF_BIN             the ksurf binary to time (default: build it)
#   KSURF_BENCH_RATE      the mirror's bandwidth in MB/s (10^6 bytes), all
#                         downloads together; default 100, about what
#                         `apt-get download` of these four packages got from
#                         the Debian mirror on the machine the README's
#                         figures come from (1.65 GB in 16 s); 0: no cap
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/debian-kernel.sh
. scripts/lib/loopback-mirror.sh

deb_dir=${1:-work/bench-debs}
rounds=${2:-2}
packages=${KSURF_BENCH_PACKAGES:-linux-image-6.1.0-47-cloud-amd64-dbg:amd64 linux-image-6.1.0-53-cloud-amd64-dbg:amd64 linux-image-6.1.0-56-cloud-amd64-dbg:amd64 linux-image-6.1.0-47-arm64-dbg:arm64}
search=()
[ -n "${KSURF_DEB_DIRS:-}" ] && IFS=: read -ra search <<<"$KSURF_DEB_DIRS"

debs=()
for spec in $packages; do
	debs+=("$(debian_named_deb "${spec%%:*}" "${spec##*:}" "$deb_dir" "${search[@]}")")
done
images=${#debs[@]}
rate_mb=${KSURF_BENCH_RATE:-100}
rate=$(python3 -c "import sys; print(int(float(sys.argv[1]) * 1e6))" "$rate_mb")

if [ -n "${KSURF_BIN:-}" ]; then
	ksurf=$(realpath "$KSURF_BIN")
else
	cargo build --release --quiet -p ksurf
	ksurf=${CARGO_TARGET_DIR:-$PWD/target}/release/ksurf
fi
tmp=${KSURF_BENCH_WORK:-$(mktemp -d)}
mkdir -p "$tmp"
tmp=$(realpath "$tmp")
trap 'loopback_stop; rm -rf "$tmp"' EXIT
. bench/lib.sh

if [ "$rate" = 0 ]; then link="no bandwidth cap"; else link="mirror capped at $rate_mb MB/s"; fi
echo "== packages ($images), $(nproc) cores, $rounds rounds, $link"
for deb in "${debs[@]}"; do
	echo "  $(basename "$deb") ($(du -h "$(realpath "$deb")" | cut -f1))"
done

suite=ksurf-bench
loopback_mirror "$tmp/mirror" "$suite" "$tmp/keyring.gpg" "${debs[@]}"
loopback_serve "$tmp/mirror" "$tmp/http.log" "$rate"
arches=$(for deb in "${debs[@]}"; do dpkg-deb -f "$deb" Architecture; done | sort -u |
	sed 's/.*/"&"/' | paste -sd, -)

# Groups: Revision over the cloud-amd64 images; Arch: each other arch's
# image against the cloud-amd64 image of the same ABI, when there is one.
releases=$(for deb in "${debs[@]}"; do
	name=$(dpkg-deb -f "$deb" Package)
	name=${name#linux-image-}
	echo "${name%-dbg} $(dpkg-deb -f "$deb" Architecture)"
done)
{
	cat <<EOF
[[source]]
name = "loopback"
kind = "debian"
url = "$LOOPBACK_URL"
suites = ["$suite"]
components = ["main"]
arches = [$arches]
revision = "all"
keyring = "$tmp/keyring.gpg"

[[group]]
name = "Revision"
mode = "consecutive"
distro = "debian"
arch = "amd64"
flavor = "cloud-amd64"
EOF
	# Arch: the other arches' images of the first such ABI that has a
	# cloud-amd64 image too, each against that one.
	other=$(awk '$2 != "amd64"' <<<"$releases")
	for abi in $(awk '{sub(/-[^-]*$/, "", $1); print $1}' <<<"$other" | sort -u); do
		grep -qx "${abi}-cloud-amd64 amd64" <<<"$releases" || continue
		cat <<EOF

[[group]]
name = "Arch"
mode = "baseline"
baseline = "debian/${abi}-cloud-amd64/amd64"
distro = "debian"
release = "${abi}-*"
arch = [$(awk -v abi="$abi" 'index($1, abi "-") == 1 {print "\"" $2 "\""}' <<<"$other" | sort -u | paste -sd, -)]
EOF
		break
	done
} >"$tmp/config.toml"
echo "== config $tmp/config.toml (mirror $LOOPBACK_URL)"
"$ksurf" fetch --config "$tmp/config.toml" --plan

# The stages side as one command, so /usr/bin/time gives its total wall
# time and the peak RSS of its largest process; each stage also records
# its own "wall rss user sys" in stage-<name>.times.
cat >"$tmp/stages.sh" <<'EOF'
#!/usr/bin/env bash
# stages.sh KSURF CONFIG DIR TIMES_DIR
set -euo pipefail
ksurf=$1 config=$2 dir=$3 times=$4
stage() {
	local name=$1 rc=0
	shift
	/usr/bin/time -f "%e %M %U %S" -a -o "$times/stage-$name.tmp" "$@" >>"$dir/stdout" || rc=$?
	# 3: extracted, but some compile units failed (as `ksurf run` allows).
	[ "$rc" = 0 ] || [ "$rc" = 3 ]
}
stage fetch "$ksurf" fetch --config "$config" --out "$dir/work" --cache "$dir/work/cache" --dataset "$dir/dataset"
for vmlinux in $(find "$dir/work/vmlinux" -name 'vmlinux-*' | sort); do
	release=${vmlinux##*/vmlinux-}
	arch=$(basename "$(dirname "$vmlinux")")
	distro=$(basename "$(dirname "$(dirname "$vmlinux")")")
	flavor=$(sed -E 's/^[0-9]+\.[0-9]+(\.[0-9]+)?(-[0-9]+|\+deb[0-9]+)-//' <<<"$release")
	stage extract "$ksurf" extract "$vmlinux" --out "$dir/dataset" \
		--distro "$distro" --release "$release" --flavor "$flavor" --arch "$arch"
done
stage aggregate "$ksurf" aggregate --dataset "$dir/dataset" --config "$config" --manifest
EOF
cat >"$tmp/run.sh" <<'EOF'
#!/usr/bin/env bash
# run.sh KSURF CONFIG DIR
set -euo pipefail
rc=0
# The pipeline's debug events: per image, fetch and extract times and how
# long each side waited for the other.
KSURF_LOG=warn,ksurf::pipeline=debug \
	"$1" run --config "$2" --dataset "$3/dataset" --work "$3/work" >>"$3/stdout" 2>>"$3/stderr" || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 3 ]
EOF
chmod +x "$tmp/stages.sh" "$tmp/run.sh"

# Warm the page cache with the packages (the server reads them).
cat "${debs[@]}" >/dev/null

measure_side() {
	local side=$1 round=$2
	rm -rf "$tmp/$side"
	mkdir -p "$tmp/$side"
	local load
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	if [ "$side" = run ]; then
		measure run "$tmp/run.sh" "$ksurf" "$tmp/config.toml" "$tmp/run"
	else
		rm -f "$tmp"/stage-*.tmp
		measure stages "$tmp/stages.sh" "$ksurf" "$tmp/config.toml" "$tmp/stages" "$tmp"
		# One line per round and stage: the stage's summed wall and CPU,
		# its largest RSS.
		for f in "$tmp"/stage-*.tmp; do
			name=$(basename "$f" .tmp)
			awk '{w+=$1; u+=$3; s+=$4; if ($2>m) m=$2} END {print w, m, u, s}' "$f" >>"$tmp/$name.times"
		done
	fi
	read -r wall rss user sys <"$tmp/last"
	printf '%-6s round %d: wall %7.2f s, cpu %7.2f s (user %.2f, sys %.2f), peak RSS %5d MiB, load before %s, after %s\n' \
		"$side" "$round" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}')" "$user" "$sys" $((rss / 1024)) \
		"$load" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# The columns whose values differ between the two datasets' TABLE (all
# rows), when Python's duckdb is installed.
differing_columns() {
	python3 - "$tmp/run/dataset/$1" "$tmp/stages/dataset/$1" <<'PY' || true
import sys
try:
    import duckdb
except ImportError:
    sys.exit(0)
a, b = (f"read_parquet('{d}/**/*.parquet', hive_partitioning = true)" for d in sys.argv[1:])
con = duckdb.connect()
columns = [r[0] for r in con.execute(f"describe select * from {a}").fetchall()]
differ = []
for c in columns:
    q = f'select count(*) from ((select "{c}" from {a} except all select "{c}" from {b}) union all (select "{c}" from {b} except all select "{c}" from {a}))'
    if con.execute(q).fetchone()[0]:
        differ.append(c)
print(f"    columns that differ: {', '.join(differ) or 'none (encoding only)'}")
PY
}

# The tables of the two datasets, file by file (paths relative to the
# dataset); run_log and _manifest.json exist only on one side or name the
# run, and are listed apart.
identical=1
check_same_tables() {
	local a=$tmp/run/dataset b=$tmp/stages/dataset table same differ only
	(cd "$a" && find . -name '*.parquet' | sort) >"$tmp/files.run"
	(cd "$b" && find . -name '*.parquet' | sort) >"$tmp/files.stages"
	for table in $(cut -d/ -f2 "$tmp/files.run" "$tmp/files.stages" | sort -u); do
		same=0 differ=0 only=0
		while read -r f; do
			if [ ! -f "$b/$f" ] || [ ! -f "$a/$f" ]; then
				only=$((only + 1))
			elif cmp -s "$a/$f" "$b/$f"; then
				same=$((same + 1))
			else
				differ=$((differ + 1))
			fi
		done < <(sort -u "$tmp/files.run" "$tmp/files.stages" | grep "^\./$table/")
		echo "  $table: $same files byte-identical, $differ differ, $only on one side only"
		if [ "$differ" != 0 ]; then
			differing_columns "$table"
		fi
		if [ "$table" = function_instances ] && { [ "$differ" != 0 ] || [ "$only" != 0 ] || [ "$same" = 0 ]; }; then
			identical=0
		fi
	done
}

echo "== measurements"
for round in $(seq "$rounds"); do
	if [ $((round % 2)) = 1 ]; then order="run stages"; else order="stages run"; fi
	for side in $order; do
		measure_side "$side" "$round"
	done
	if [ "$round" = 1 ]; then
		echo "== tables, run vs stages (round 1)"
		check_same_tables
		cp "$tmp/run/stdout" "$tmp/run-round1.stdout"
		cp "$tmp/run/stderr" "$tmp/run-round1.stderr"
	fi
	rm -rf "$tmp/run" "$tmp/stages"
done

echo "== ksurf run, round 1"
cat "$tmp/run-round1.stdout"
echo "== ksurf run, round 1: where the time went (KSURF_LOG=ksurf::pipeline=debug)"
python3 - "$tmp/run-round1.stderr" <<'PY'
import re, sys
from datetime import datetime
events = {}
first = last = None
for line in open(sys.argv[1]):
    line = re.sub(r"\x1b\[[0-9;]*m", "", line)
    m = re.match(r"(\S+)\s+DEBUG\s+ksurf::pipeline::process: (.*?) image=(\S+) seconds=([0-9.e-]+)", line)
    if not m:
        continue
    ts = datetime.fromisoformat(m[1].replace("Z", "+00:00")).timestamp()
    message, image, seconds = m[2], m[3], float(m[4])
    events.setdefault(image, {})[message] = seconds
    if message == "fetched":
        first = min(first, ts - seconds) if first is not None else ts - seconds
    if message == "extracted and written":
        last = ts
keys = ["fetched", "extraction waited for the fetch", "extracted and written", "fetch waited for the extraction"]
print(f"  {'image':36s} {'fetch s':>8s} {'extract waited s':>17s} {'extract+write s':>16s} {'fetch waited s':>15s}")
totals = [0.0] * 4
for image, e in events.items():
    values = [e.get(k, 0.0) for k in keys]
    totals = [t + v for t, v in zip(totals, values)]
    print(f"  {image:36s} " + " ".join(f"{v:{w}.2f}" for v, w in zip(values, (8, 17, 16, 15))))
print(f"  {'total':36s} " + " ".join(f"{v:{w}.2f}" for v, w in zip(totals, (8, 17, 16, 15))))
if first is not None and last is not None:
    print(f"  first fetch start to last image written: {last - first:.2f} s")
PY
echo "== stages (median of the rounds)"
python3 - "$tmp" "$images" <<'PY'
import statistics, sys
tmp, images = sys.argv[1], int(sys.argv[2])
def rows(name):
    return [tuple(map(float, l.split())) for l in open(f"{tmp}/{name}.times")]
for stage in ("fetch", "extract", "aggregate"):
    r = rows(f"stage-{stage}")
    print(f"  {stage:9s} wall {statistics.median(x[0] for x in r):7.2f} s, "
          f"cpu {statistics.median(x[2] + x[3] for x in r):7.2f} s, peak RSS {max(x[1] for x in r) / 1024:5.0f} MiB")
print("== images per hour (median wall)")
for side in ("run", "stages"):
    r = rows(side)
    wall = statistics.median(x[0] for x in r)
    cpu = statistics.median(x[2] + x[3] for x in r)
    print(f"  {side:6s} {images} images in {wall:.2f} s: {images * 3600 / wall:.0f} images/hour "
          f"(cpu {cpu:.2f} s, {cpu / wall:.2f} cores busy on average)")
PY
status=0
compare run stages "wall <= 0.9" || status=1
if [ "$identical" = 1 ]; then
	echo "function_instances: byte-identical between run and stages"
else
	echo "function_instances: DIFFER between run and stages" >&2
	status=1
fi
exit $status
