# Shared by the benchmark scripts. Source it after setting $tmp (a scratch
# directory). Defines:
#   measure NAME CMD...      run CMD under /usr/bin/time, append "wall_s max_rss_kib user_s sys_s"
#                            to $tmp/NAME.times (max RSS: the largest process CMD ran)
#   compare OURS PEER BAR    print per-run walls, medians and the ratios OURS/PEER;
#                            BAR is a Python expression over `wall`, `ours_wall` (median s)
#                            and `ours_rss_max` (MiB); exit status 1 when it is false

[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null

measure() {
	local name=$1
	shift
	/usr/bin/time -f "%e %M %U %S" -o "$tmp/last" "$@" >/dev/null 2>"$tmp/stderr" || {
		cat "$tmp/stderr" >&2
		exit 1
	}
	cat "$tmp/last" >>"$tmp/$name.times"
}

compare() {
	python3 - "$tmp" "$1" "$2" "$3" <<'PY'
import statistics, sys
tmp, ours, peer, bar = sys.argv[1:]
def load(name):
    rows = [tuple(map(float, line.split())) for line in open(f"{tmp}/{name}.times")]
    return [r[0] for r in rows], [r[1] / 1024 for r in rows]
ow, om = load(ours)
pw, pm = load(peer)
for name, w, m in ((ours, ow, om), (peer, pw, pm)):
    print(f"{name:7s} wall s: {' '.join(f'{x:.2f}' for x in w)}  median {statistics.median(w):.2f}"
          f" | peak RSS MiB: median {statistics.median(m):.0f} max {max(m):.0f}")
wall = statistics.median(ow) / statistics.median(pw)
rss = statistics.median(om) / statistics.median(pm)
print(f"ratio {ours}/{peer}: wall {wall:.2f}, peak RSS {rss:.2f}")
ok = eval(bar, {}, {"wall": wall, "ours_rss_max": max(om), "ours_wall": statistics.median(ow)})
print(("PASS" if ok else "FAIL") + f": bar is {bar}")
sys.exit(0 if ok else 1)
PY
}
