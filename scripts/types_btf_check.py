#!/usr/bin/env python3
"""Cross-checks ksurf's type tables against the kernel's own BTF.

    scripts/types_btf_check.py compare VMLINUX DATASET [--release R] [--arch A]
                                       [--btf-raw FILE] [--min-agreement 99.9]
    scripts/types_btf_check.py facts DATASET --release R [--arch A]
    scripts/types_btf_check.py counts VMLINUX [--btf-raw FILE]

`compare` reads the .BTF of VMLINUX (`bpftool btf dump file VMLINUX format
raw`, or the raw text in --btf-raw) and the `types`, `type_members` and
`enum_values` tables of the partition distro=debian/release=R/arch=A of
DATASET (R defaults to what follows `vmlinux-` in the file name; A to the
only arch= directory of that release, else the ELF machine). Every BTF
STRUCT, UNION, ENUM and ENUM64 with a name, every anonymous one a TYPEDEF
names (checked under the typedef's name, as ksurf names it) and every other
anonymous ENUM (ksurf's `(anon:FIRST_ENUMERATOR)`) must have a ksurf row of
the same kind and name with the same byte size and, for a struct or union,
the same direct members (depth 0) in order: name (BTF `(anon)` is null),
bit offset and bitfield size; for an enum, the same enumerators in order
(BTF values as signed 64-bit two's complement, as ksurf stores them; a
BTF that marks no enum SIGNED, as pahole before 1.24 wrote 5.10's, only
knows them modulo 2^(8*size), and is compared so). When
several BTF types or ksurf rows share a kind and name, a BTF type agrees
when any one of the rows agrees. Prints per kind the BTF types, matched,
mismatched and missing, the agreement, and per kind of difference a count
and up to 5 examples; exits 1 when the agreement is below --min-agreement
percent (99.9).

`facts` asserts known member facts of task_struct, request and
request_queue for 5.10 and 6.1+ kernels, by member name at any depth.

`counts` prints the BTF's per-kind counts only (no dataset needed).
"""

import argparse
import collections
import glob
import os
import re
import subprocess
import sys
import time

HEAD = re.compile(r"^\[(\d+)\] (\S+) '([^']*)'(.*)$")
ATTR = re.compile(r"(\w+)=(\S+)")
MEMBER = re.compile(r"^\t'([^']*)' type_id=(\d+) bits_offset=(\d+)(?: bitfield_size=(\d+))?")
ENUMERATOR = re.compile(r"^\t'([^']*)' val=(-?\d+)(?:U?LL)?\s*$")

AGGREGATES = {"STRUCT": "struct", "UNION": "union", "ENUM": "enum", "ENUM64": "enum"}
ANON = "(anon)"
EXAMPLES = 5


class BtfType:
    __slots__ = ("id", "kind", "name", "attrs", "members", "values")

    def __init__(self, tid, kind, name, attrs):
        self.id = tid
        self.kind = kind
        self.name = name
        self.attrs = attrs
        self.members = []  # (name or None, type_id, bit_offset, bitfield_size or None)
        self.values = []  # (name, int)


def parse_btf_raw(text):
    """Parses `bpftool btf dump ... format raw` into {id: BtfType}."""
    types = {}
    cur = None
    for line in text.splitlines():
        if not line:
            continue
        if line[0] == "[":
            m = HEAD.match(line)
            if not m:
                raise ValueError(f"unparsed BTF line: {line!r}")
            attrs = dict(ATTR.findall(m.group(4)))
            cur = BtfType(int(m.group(1)), m.group(2), m.group(3), attrs)
            types[cur.id] = cur
            continue
        if cur is None:
            continue
        if cur.kind in ("STRUCT", "UNION"):
            m = MEMBER.match(line)
            if not m:
                raise ValueError(f"unparsed member line of [{cur.id}]: {line!r}")
            name = None if m.group(1) in ("", ANON) else m.group(1)
            bits = int(m.group(4)) if m.group(4) else None
            cur.members.append((name, int(m.group(2)), int(m.group(3)), bits or None))
        elif cur.kind in ("ENUM", "ENUM64"):
            m = ENUMERATOR.match(line)
            if not m:
                raise ValueError(f"unparsed enumerator line of [{cur.id}]: {line!r}")
            cur.values.append((m.group(1), int(m.group(2))))
        # FUNC_PROTO parameters, DATASEC entries: not needed.
    return types


def dump_btf(vmlinux):
    """The raw text of VMLINUX's .BTF, from bpftool."""
    try:
        out = subprocess.run(
            ["bpftool", "btf", "dump", "file", vmlinux, "format", "raw"],
            check=True,
            capture_output=True,
            text=True,
        )
    except FileNotFoundError:
        sys.exit("bpftool is not installed (apt-get install bpftool)")
    except subprocess.CalledProcessError as e:
        sys.exit(f"bpftool could not read the BTF of {vmlinux} (no .BTF section?):\n{e.stderr.strip()}")
    return out.stdout


def load_btf(args):
    if args.btf_raw:
        with open(args.btf_raw) as f:
            return parse_btf_raw(f.read())
    return parse_btf_raw(dump_btf(args.vmlinux))


def to_i64(v):
    """A BTF enumerator value as ksurf stores it: signed 64-bit two's complement."""
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >= 1 << 63 else v


def resolve_int(types, tid):
    """The INT behind tid through typedefs and qualifiers, or None."""
    for _ in range(32):
        t = types.get(tid)
        if t is None:
            return None
        if t.kind == "INT":
            return t
        if t.kind in ("TYPEDEF", "CONST", "VOLATILE", "RESTRICT", "TYPE_TAG"):
            tid = int(t.attrs.get("type_id", -1))
            continue
        return None
    return None


def btf_members(types, t):
    """Direct members as (name, bit_offset, bit_size): bitfield_size when the
    struct has kind_flag, else an INT member narrower than its size (old
    style bitfield, the offset within the INT added)."""
    out = []
    for name, tid, off, bits in t.members:
        if bits is None:
            i = resolve_int(types, tid)
            if i is not None:
                nr = int(i.attrs.get("nr_bits", 0))
                size = int(i.attrs.get("size", 0))
                ioff = int(i.attrs.get("bits_offset", 0))
                if nr and (nr != size * 8 or ioff):
                    bits = nr
                    off += ioff
        out.append((name, off, bits))
    return out


def btf_expected(types):
    """The BTF types ksurf must have: [(kind, name, origin, BtfType)], origin
    being 'named', 'typedef' (anonymous, named by a typedef) or 'anon-enum'."""
    typedef_named = {}
    for t in types.values():
        if t.kind == "TYPEDEF" and t.name:
            target = types.get(int(t.attrs["type_id"]))
            if target is not None and target.kind in AGGREGATES and target.name in ("", ANON):
                typedef_named.setdefault(target.id, []).append(t.name)
    out = []
    for t in types.values():
        if t.kind not in AGGREGATES:
            continue
        kind = AGGREGATES[t.kind]
        if t.name not in ("", ANON):
            out.append((kind, t.name, "named", t))
        elif t.id in typedef_named:
            for name in typedef_named[t.id]:
                out.append((kind, name, "typedef", t))
        elif kind == "enum" and t.values:
            out.append((kind, f"(anon:{t.values[0][0]})", "anon-enum", t))
    return out


def counts(types):
    """Per-kind counts of a BTF: every kind, then named/anonymous aggregates."""
    by_kind = collections.Counter(t.kind for t in types.values())
    lines = ["BTF types: %d" % len(types)]
    lines.append("  " + ", ".join(f"{k} {n}" for k, n in sorted(by_kind.items(), key=lambda kv: -kv[1])))
    expected = btf_expected(types)
    per = collections.Counter((t.kind, origin) for _, _, origin, t in expected)
    anon_untyped = collections.Counter(
        t.kind
        for t in types.values()
        if t.kind in ("STRUCT", "UNION") and t.name in ("", ANON)
    )
    for k in ("STRUCT", "UNION", "ENUM", "ENUM64"):
        lines.append(
            f"  {k:7} named {per[(k, 'named')]:6}  anonymous via typedef {per[(k, 'typedef')]:5}"
            + (f"  other anonymous enums {per[(k, 'anon-enum')]:5}" if k.startswith("ENUM") else
               f"  anonymous (members of others) {anon_untyped[k] - per[(k, 'typedef')]:5}")
        )
    dup = collections.Counter((kind, name) for kind, name, origin, _ in expected if origin != "anon-enum")
    dups = {k: n for k, n in dup.items() if n > 1}
    lines.append(f"  names with several BTF definitions: {len(dups)} ({sum(dups.values())} types)")
    top = sorted(dups.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
    if top:
        lines.append("    e.g. " + ", ".join(f"{k} {n} x{c}" for (k, n), c in top))
    return "\n".join(lines)


# ---------------------------------------------------------------- the dataset

def partition(dataset, table, release, arch):
    return os.path.join(dataset, table, "distro=debian", f"release={release}", f"arch={arch}")


def discover_arch(dataset, release, vmlinux):
    archs = sorted(
        os.path.basename(p)[len("arch="):]
        for p in glob.glob(os.path.join(dataset, "types", "distro=debian", f"release={release}", "arch=*"))
    )
    if len(archs) == 1:
        return archs[0]
    machine = elf_machine(vmlinux) if vmlinux else None
    if machine:
        return machine
    sys.exit(f"cannot tell the arch of release {release} in {dataset} (found {archs}); pass --arch")


ELF_MACHINES = {62: "amd64", 183: "arm64", 22: "s390x", 21: "ppc64el", 243: "riscv64", 3: "i386", 40: "armhf"}


def elf_machine(path):
    try:
        with open(path, "rb") as f:
            h = f.read(20)
    except OSError:
        return None
    if h[:4] != b"\x7fELF":
        return None
    order = "little" if h[5] == 1 else "big"
    return ELF_MACHINES.get(int.from_bytes(h[18:20], order))


def release_of(vmlinux):
    base = os.path.basename(vmlinux)
    return base[len("vmlinux-"):] if base.startswith("vmlinux-") else None


def connect():
    try:
        import duckdb
    except ImportError:
        sys.exit("duckdb is not installed (python3 -m pip install duckdb)")
    return duckdb.connect()


def parquet(dataset, table, release, arch):
    d = partition(dataset, table, release, arch)
    files = sorted(glob.glob(os.path.join(d, "*.parquet")))
    if not files:
        sys.exit(f"no parquet file in {d}")
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"


class Ksurf:
    """ksurf's rows: by (kind, name) a list of definition hashes; per hash the
    size, direct members and enumerators."""

    def __init__(self, dataset, release, arch):
        con = connect()
        t = parquet(dataset, "types", release, arch)
        m = parquet(dataset, "type_members", release, arch)
        e = parquet(dataset, "enum_values", release, arch)
        self.by_name = collections.defaultdict(list)
        self.size = {}
        for name, kind, size, h in con.execute(
            f"SELECT name, kind, size, definition_hash FROM read_parquet({t})"
        ).fetchall():
            self.by_name[(kind, name)].append(h)
            self.size[h] = size
        self.members = collections.defaultdict(list)
        for h, name, off, bits in con.execute(
            f"SELECT definition_hash, name, bit_offset, bit_size FROM read_parquet({m}) "
            "WHERE depth = 0 ORDER BY definition_hash, position"
        ).fetchall():
            self.members[h].append((name, off, bits))
        self.values = collections.defaultdict(list)
        for h, name, value in con.execute(
            f"SELECT definition_hash, name, value FROM read_parquet({e}) ORDER BY definition_hash, position"
        ).fetchall():
            self.values[h].append((name, value))


def differences(kind, size, members, values, k, h, sign_blind=False):
    """The kinds of difference between one BTF type and ksurf row h, each as
    (category, detail). sign_blind: the BTF has no enum signedness (pahole
    before 1.24 wrote none: 5.10's -1 is 4294967295), so enumerator values
    are compared modulo 2^(8 * size)."""
    out = []
    if k.size.get(h) != size:
        out.append(("size", f"BTF {size} ksurf {k.size.get(h)}"))
    if kind == "enum":
        kv = k.values.get(h, [])
        if len(kv) != len(values):
            out.append(("enumerator count", f"BTF {len(values)} ksurf {len(kv)}"))
        for i, ((bn, bv), (kn, kval)) in enumerate(zip(values, kv)):
            if bn != kn:
                out.append(("enumerator name", f"#{i} BTF {bn} ksurf {kn}"))
                break
        for i, ((bn, bv), (kn, kval)) in enumerate(zip(values, kv)):
            width = 8 * (size or 8)
            mask = (1 << width) - 1
            if bn == kn and bv != kval and not (sign_blind and (bv & mask) == (kval & mask)):
                cat = "enumerator value (sign/width only)" if (bv & mask) == (kval & mask) else "enumerator value"
                out.append((cat, f"{bn} BTF {bv} ksurf {kval}"))
                break
        return out
    km = k.members.get(h, [])
    if len(km) != len(members):
        bn = {m[0] for m in members}
        kn = {m[0] for m in km}
        detail = f"BTF {len(members)} ksurf {len(km)}"
        only_b = sorted(str(x) for x in bn - kn)[:3]
        only_k = sorted(str(x) for x in kn - bn)[:3]
        if only_b:
            detail += f"; only in BTF: {', '.join(only_b)}"
        if only_k:
            detail += f"; only in ksurf: {', '.join(only_k)}"
        out.append(("member count", detail))
    if len(km) != len(members):
        # Positions no longer line up: compare the members both sides name once.
        bc = collections.Counter(m[0] for m in members)
        kc = collections.Counter(m[0] for m in km)
        kmap = {m[0]: m for m in km if m[0] is not None and kc[m[0]] == 1}
        pairs = [(bm, kmap[bm[0]]) for bm in members if bc[bm[0]] == 1 and bm[0] in kmap]
    else:
        pairs = list(zip(members, km))
        for i, (bm, kmm) in enumerate(pairs):
            if bm[0] != kmm[0]:
                out.append(("member name", f"#{i} BTF {bm[0]} ksurf {kmm[0]}"))
                break
    for bm, kmm in pairs:
        if bm[1] != kmm[1]:
            out.append(("member bit_offset", f"{bm[0]} BTF {bm[1]} ksurf {kmm[1]}"))
            break
    for bm, kmm in pairs:
        if bm[2] != kmm[2]:
            out.append(("bitfield size", f"{bm[0]} BTF {bm[2]} ksurf {kmm[2]}"))
            break
    return out


def sign_blind(types):
    """True when the BTF marks no enum SIGNED: written by a pahole that did
    not record enum signedness, its values are only known modulo the size."""
    return not any(t.attrs.get("encoding") == "SIGNED" for t in types.values() if t.kind in ("ENUM", "ENUM64"))


def compare(types, k):
    """Per kind [btf, matched, mismatched, missing], difference categories
    with examples, and the ksurf names no BTF type has."""
    blind = sign_blind(types)
    stats = collections.defaultdict(lambda: [0, 0, 0, 0])
    cats = collections.defaultdict(list)
    expected = btf_expected(types)
    btf_names = set()
    for kind, name, origin, t in expected:
        btf_names.add((kind, name))
        label = kind if origin != "anon-enum" else "enum (anon)"
        s = stats[label]
        s[0] += 1
        size = int(t.attrs["size"])
        members = btf_members(types, t) if kind != "enum" else None
        values = [(n, to_i64(v)) for n, v in t.values] if kind == "enum" else None
        hashes = k.by_name.get((kind, name))
        where = f"{kind} {name} [BTF id {t.id}{', via typedef' if origin == 'typedef' else ''}]"
        if not hashes:
            s[3] += 1
            cats["missing in ksurf"].append(where)
            continue
        best = None
        for h in hashes:
            d = differences(kind, size, members, values, k, h, blind)
            if not d:
                best = None
                break
            if best is None or len(d) < len(best):
                best = d
        else:
            s[2] += 1
            for cat, detail in best:
                cats[cat].append(f"{where}: {detail}" + (f" (ksurf has {len(hashes)} rows)" if len(hashes) > 1 else ""))
            continue
        s[1] += 1
    extra = sorted(
        key for key in k.by_name if key[0] in ("struct", "union", "enum") and key not in btf_names
    )
    return stats, cats, extra


def cmd_compare(args):
    t0 = time.monotonic()
    release = args.release or release_of(args.vmlinux)
    if not release:
        sys.exit("cannot tell the release from the file name; pass --release")
    arch = args.arch or discover_arch(args.dataset, release, args.vmlinux)
    types = load_btf(args)
    t1 = time.monotonic()
    k = Ksurf(args.dataset, release, arch)
    t2 = time.monotonic()
    stats, cats, extra = compare(types, k)
    t3 = time.monotonic()
    print(f"BTF of {args.vmlinux} against distro=debian/release={release}/arch={arch} of {args.dataset}")
    print(f"{'kind':12} {'BTF':>7} {'matched':>8} {'mismatch':>8} {'missing':>8} {'agreement':>10}")
    total = [0, 0, 0, 0]
    for label in ("struct", "union", "enum", "enum (anon)"):
        s = stats.get(label, [0, 0, 0, 0])
        total = [a + b for a, b in zip(total, s)]
        pct = 100.0 * s[1] / s[0] if s[0] else 100.0
        print(f"{label:12} {s[0]:7} {s[1]:8} {s[2]:8} {s[3]:8} {pct:9.3f}%")
    pct = 100.0 * total[1] / total[0] if total[0] else 0.0
    print(f"{'all':12} {total[0]:7} {total[1]:8} {total[2]:8} {total[3]:8} {pct:9.3f}%")
    for cat in sorted(cats, key=lambda c: -len(cats[c])):
        print(f"\n{cat}: {len(cats[cat])}")
        for ex in cats[cat][:EXAMPLES]:
            print(f"  {ex}")
    if sign_blind(types):
        print("\nthe BTF marks no enum signed (pahole < 1.24): enumerator values compared modulo 2^(8*size)")
    print(f"\nksurf struct/union/enum names with no BTF type of that kind and name: {len(extra)}")
    for kind, name in extra[:EXAMPLES]:
        print(f"  {kind} {name}")
    print(
        f"\nruntime: {t3 - t0:.2f} s (BTF {t1 - t0:.2f} s, dataset {t2 - t1:.2f} s, compare {t3 - t2:.2f} s)"
    )
    if total[0] == 0:
        print("FAIL: no BTF type to compare")
        return 1
    if pct < args.min_agreement:
        print(f"FAIL: agreement {pct:.3f}% is below {args.min_agreement}%")
        return 1
    print(f"OK: agreement {pct:.3f}% (at least {args.min_agreement}%)")
    return 0


# ---------------------------------------------------------------- facts

def version_of(release):
    m = re.match(r"(\d+)\.(\d+)", release)
    if not m:
        sys.exit(f"cannot read a kernel version in {release!r}")
    return int(m.group(1)), int(m.group(2))


def known_facts(release):
    """[(type, member, present)] known for the release's kernel version;
    checked with pahole (DWARF and BTF) on Debian's 5.10.0-32-cloud-amd64,
    6.1.0-57-cloud-amd64, 6.1.0-57-arm64, 6.1.0-50-s390x (DWARF only) and
    6.12.117+deb12-cloud-amd64: all these members are direct (depth 0)."""
    v = version_of(release)
    if v <= (5, 10):
        return [
            ("task_struct", "state", True),
            ("task_struct", "__state", False),
            ("request", "rq_disk", True),
        ]
    if v >= (6, 1):
        return [
            ("task_struct", "__state", True),
            ("task_struct", "state", False),
            ("request", "rq_disk", False),
            ("request_queue", "disk", True),
        ]
    return []


def cmd_facts(args):
    facts = known_facts(args.release)
    if not facts:
        print(f"no known facts for release {args.release}")
        return 0
    arch = args.arch or discover_arch(args.dataset, args.release, None)
    con = connect()
    t = parquet(args.dataset, "types", args.release, arch)
    m = parquet(args.dataset, "type_members", args.release, arch)
    failed = 0
    for ty, member, present in facts:
        rows = con.execute(f"SELECT count(*) FROM read_parquet({t}) WHERE kind = 'struct' AND name = ?", [ty]).fetchone()[0]
        hits = con.execute(
            f"SELECT DISTINCT path, depth FROM read_parquet({m}) "
            "WHERE type_kind = 'struct' AND type_name = ? AND name = ? ORDER BY path",
            [ty, member],
        ).fetchall()
        ok = rows > 0 and bool(hits) == present
        failed += not ok
        where = ", ".join(f"{p} (depth {d})" for p, d in hits) or "-"
        print(
            f"{'ok  ' if ok else 'FAIL'} struct {ty} {'has' if present else 'has no'} member {member}: "
            f"{rows} struct row(s), found at {where}"
        )
    print(f"{len(facts) - failed} passed, {failed} failed")
    return 1 if failed else 0


def cmd_counts(args):
    t0 = time.monotonic()
    types = load_btf(args)
    print(counts(types))
    print(f"runtime: {time.monotonic() - t0:.2f} s")
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compare")
    c.add_argument("vmlinux")
    c.add_argument("dataset")
    c.add_argument("--release")
    c.add_argument("--arch")
    c.add_argument("--btf-raw", help="bpftool's raw dump of the BTF, instead of running bpftool")
    c.add_argument("--min-agreement", type=float, default=99.9)
    f = sub.add_parser("facts")
    f.add_argument("dataset")
    f.add_argument("--release", required=True)
    f.add_argument("--arch")
    n = sub.add_parser("counts")
    n.add_argument("vmlinux")
    n.add_argument("--btf-raw")
    args = p.parse_args(argv)
    return {"compare": cmd_compare, "facts": cmd_facts, "counts": cmd_counts}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
