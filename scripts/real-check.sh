#!/usr/bin/env bash
# `ksurf check` on real programs and a real kernel: every executable of
# Debian's libbpf-tools package (their BPF objects are embedded) and the
# checker's own fixtures, against the image of VMLINUX already extracted
# into DATASET. Asserts the known verdicts of Debian's 6.1 and 5.10
# kernels, then compares, object by object, the (struct, member) pairs
# ksurf resolves on the image with those `bpftool gen min_core_btf` keeps
# for the same object against the same kernel (equal sets), and prints
# the time and the number of verdicts.
#
#   scripts/real-check.sh VMLINUX DATASET
#
# The libbpf-tools package is downloaded once into work/debs (apt-get
# download: no dependency is installed) and unpacked into
# work/libbpf-tools. Needs bpftool, python3; KSURF (default
# target/release/ksurf) and READ_OBJECTS (default
# target/release/examples/read_objects, built by `cargo test --release`).
set -euo pipefail
vmlinux=${1:?usage: real-check.sh VMLINUX DATASET}
dataset=${2:?usage: real-check.sh VMLINUX DATASET}
ksurf=${KSURF:-target/release/ksurf}
read_objects=${READ_OBJECTS:-target/release/examples/read_objects}
release=${vmlinux##*/vmlinux-}

mkdir -p work/debs
deb=$(ls work/debs/libbpf-tools_*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
	(cd work/debs && apt-get download libbpf-tools >/dev/null 2>&1)
	deb=$(ls work/debs/libbpf-tools_*.deb | head -1)
fi
tools=work/libbpf-tools
if [ ! -d "$tools/usr/sbin" ]; then
	rm -rf "$tools.part"
	dpkg-deb -x "$deb" "$tools.part"
	mv "$tools.part" "$tools"
fi
echo "libbpf-tools: $(basename "$deb"), $(ls "$tools/usr/sbin" | wc -l) executables"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fixtures=checker/tests/fixtures
start=$(date +%s.%N)
set +e
"$ksurf" check "$tools"/usr/sbin/* "$fixtures"/switch.bpf.o "$fixtures"/task_state_old.bpf.o \
	"$fixtures"/task_state_new.bpf.o --dataset "$dataset" --images "*/$release/*" \
	--format json >"$tmp/check.json"
rc=$?
set -e
end=$(date +%s.%N)
[ "$rc" -eq 1 ] || { echo "expected exit code 1 (some program breaks on $release), got $rc" >&2; exit 1; }

# The objects embedded in the executables, for bpftool.
mkdir -p "$tmp/objects"
"$read_objects" --summary --extract "$tmp/objects" "$tools"/usr/sbin/* >"$tmp/summary.txt"
for obj in "$tmp"/objects/*.bpf.o; do
	name=$(basename "$obj" .bpf.o)
	bpftool gen min_core_btf "$vmlinux" "$tmp/objects/$name.min.btf" "$obj" >/dev/null 2>&1 ||
		{ echo "bpftool gen min_core_btf failed on $obj" >&2; exit 1; }
	bpftool btf dump file "$tmp/objects/$name.min.btf" >"$tmp/objects/$name.min.txt"
done

# BTF per image: `ksurf btf` serves the vmlinux's .BTF section byte for
# byte, and `ksurf btfgen` over every libbpf-tools executable gives what
# `bpftool gen min_core_btf` gives on the vmlinux with the same objects.
image_dir=$(ls -d "$dataset"/images/distro=*/release="$release"/arch=* | head -n1)
arch=${image_dir##*/arch=}
distro=${image_dir%/release=*}
distro=${distro##*/distro=}
image="$distro/$release/$arch"
python3 - "$vmlinux" "$tmp/section.btf" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:4] == b"\x7fELF" and data[4] == 2, "a 64-bit ELF"
e = "<" if data[5] == 1 else ">"
shoff, = struct.unpack_from(e + "Q", data, 0x28)
shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", data, 0x3a)
def section(i):
    name, _, _, _, off, size = struct.unpack_from(e + "IIQQQQ", data, shoff + i * shentsize)
    return name, off, size
_, stroff, _ = section(shstrndx)
for i in range(shnum):
    name, off, size = section(i)
    if data[stroff + name:data.index(b"\0", stroff + name)] == b".BTF":
        open(sys.argv[2], "wb").write(data[off:off + size])
        break
else:
    sys.exit("no .BTF section in " + sys.argv[1])
PY
"$ksurf" btf --dataset "$dataset" --image "$image" --out "$tmp/served.btf"
cmp "$tmp/section.btf" "$tmp/served.btf" ||
	{ echo "ksurf btf $image differs from the vmlinux's .BTF section" >&2; exit 1; }
bpftool gen min_core_btf "$vmlinux" "$tmp/peer.min.btf" "$tmp"/objects/*.bpf.o
"$ksurf" btfgen "$tools"/usr/sbin/* --dataset "$dataset" --images "$image" --out "$tmp/btfgen" >/dev/null
cmp "$tmp/peer.min.btf" "$tmp/btfgen/$distro/$arch/$release.btf" ||
	{ echo "ksurf btfgen on $image differs from bpftool gen min_core_btf on the vmlinux" >&2; exit 1; }
echo "ksurf btf $image: the .BTF section ($(stat -c %s "$tmp/served.btf") bytes); ksurf btfgen: $(stat -c %s "$tmp/peer.min.btf") bytes for $(ls "$tmp"/objects/*.bpf.o | wc -l) objects, identical to bpftool gen min_core_btf"

python3 - "$tmp/check.json" "$tmp/objects" "$release" "$start" "$end" <<'PY'
import json, os, re, sys

report_path, objects_dir, release, start, end = sys.argv[1:6]
seconds = float(end) - float(start)
report = json.load(open(report_path))
failed = []

def check(cond, what):
    if not cond:
        failed.append(what)

check(report["errors"] == [], f"inputs that could not be read: {report['errors']}")
objects = {o["label"]: o for o in report["objects"]}
by_tool = {os.path.basename(label.split("#")[0]): o for label, o in objects.items()}

def dep(tool, name):
    for d in by_tool[tool]["dependencies"]:
        if d["name"] == name:
            return d["verdicts"][0]
    raise SystemExit(f"{tool}: no dependency {name!r}")

def program(tool, section):
    for p in by_tool[tool]["programs"]:
        if p["section"] == section:
            return p["outcomes"][0]
    raise SystemExit(f"{tool}: no program {section!r}")

def letters(tool, section):
    for p in by_tool[tool]["programs"]:
        if p["section"] == section:
            return p.get("depsurf", [""])[0]
    raise SystemExit(f"{tool}: no program {section!r}")

major = tuple(int(x) for x in re.match(r"(\d+)\.(\d+)", release).groups())
if major == (6, 1):
    v = dep("biosnoop", "fentry blk_account_io_start")
    check((v["outcome"], v["class"]) == ("hard", "full_inline"), f"biosnoop fentry/blk_account_io_start on 6.1: {v}")
    for tp in ("block_rq_insert", "block_rq_issue", "block_rq_complete"):
        o = program("biosnoop", f"tp_btf/{tp}")
        check(o in ("ok", "fallback"), f"biosnoop tp_btf/{tp} on 6.1: {o}")
    # DepSurf's letters for the same functions: fully inlined; a clone.
    check(letters("biosnoop", "fentry/blk_account_io_start") == "F",
          f"DepSurf letters of blk_account_io_start on 6.1: {letters('biosnoop', 'fentry/blk_account_io_start')!r}")
    v = dep("switch.bpf.o", "kprobe finish_task_switch")
    check((v["outcome"], v["class"]) == ("hard", "renamed") and "finish_task_switch.isra.0" in v["reason"],
          f"kprobe/finish_task_switch on 6.1: {v}")
    check("T" in letters("switch.bpf.o", "kprobe/finish_task_switch"),
          f"DepSurf letters of finish_task_switch on 6.1: {letters('switch.bpf.o', 'kprobe/finish_task_switch')!r}")
    v = dep("task_state_old.bpf.o", "task_struct::state (field_byte_offset)")
    check((v["outcome"], v["class"]) == ("hard", "field_missing"), f"task_struct::state on 6.1: {v}")
    v = dep("task_state_new.bpf.o", "task_struct::__state (field_byte_offset)")
    check(v["outcome"] == "ok", f"task_struct::__state on 6.1: {v}")
    v = dep("runqslower", "task_struct___o::state (field_byte_offset)")
    check((v["outcome"], v["class"]) == ("fallback", "guarded"), f"runqslower's guarded state read on 6.1: {v}")
elif major == (5, 10):
    v = dep("biosnoop", "fentry blk_account_io_start")
    check(v["outcome"] == "ok", f"biosnoop fentry/blk_account_io_start on 5.10: {v}")
    v = dep("task_state_new.bpf.o", "task_struct::__state (field_byte_offset)")
    check((v["outcome"], v["class"]) == ("hard", "field_missing"), f"task_struct::__state on 5.10: {v}")
    v = dep("task_state_old.bpf.o", "task_struct::state (field_byte_offset)")
    check(v["outcome"] == "ok", f"task_struct::state on 5.10: {v}")

# CO-RE (struct, member) pairs: ksurf's, on the relocations it resolves on
# this image, against what bpftool gen min_core_btf keeps.
def flavorless(name):
    at = name.find("___")
    return name[:at] if at > 0 else name

def bpftool_pairs(path):
    pairs, current = set(), None
    for line in open(path):
        m = re.match(r"\[\d+\] (STRUCT|UNION) '([^']*)'", line)
        if m:
            current = m.group(2) or None
            continue
        if line.startswith("["):
            current = None
            continue
        m = re.match(r"\s+'([^']*)' type_id=", line)
        if m and current and current != "(anon)" and m.group(1) not in ("", "(anon)"):
            pairs.add((current, m.group(1)))
    return pairs

compared = 0
for label, o in objects.items():
    if "#" not in label:
        continue
    tool, n = os.path.basename(label).split("#")
    path = os.path.join(objects_dir, f"{tool}.{n}.min.txt")
    ours = set()
    for d in o["dependencies"]:
        r = d.get("relocation")
        # ok, or followed as far as the dataset lists members (unchecked
        # inside a named member of anonymous type)
        v = d["verdicts"][0]
        resolved = v["outcome"] == "ok" or (v["outcome"] == "unchecked" and "checked up to" in v["reason"])
        if not r or not resolved or not r["kind"].startswith("field"):
            continue
        for step in r["steps"]:
            if step["member"] and step["container"]:
                ours.add((flavorless(step["container"]), step["member"]))
    theirs = bpftool_pairs(path)
    if ours != theirs:
        failed.append(f"{label}: CO-RE pairs differ from bpftool gen min_core_btf: only ksurf {sorted(ours - theirs)}, only bpftool {sorted(theirs - ours)}")
    compared += 1

verdicts = sum(len(d["verdicts"]) for o in report["objects"] for d in o["dependencies"])
outcomes = {}
for o in report["objects"]:
    outcomes[o["outcomes"][0]] = outcomes.get(o["outcomes"][0], 0) + 1
print(f"ksurf check: {len(report['objects'])} objects against {report['images']}: "
      f"{verdicts} dependency × image verdicts in {seconds:.2f} s; objects by outcome {dict(sorted(outcomes.items()))}; "
      f"CO-RE pairs equal to bpftool gen min_core_btf for {compared} objects")
if failed:
    print("FAILED:\n  " + "\n  ".join(failed), file=sys.stderr)
    sys.exit(1)
PY
