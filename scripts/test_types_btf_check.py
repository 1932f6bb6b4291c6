#!/usr/bin/env python3
"""Tests of scripts/types_btf_check.py's comparison on a small BTF it is
given as bpftool raw text and a dataset made from that BTF in ksurf's
schema (written with DuckDB): identical data passes, and a wrong offset, a
missing member, a missing type, a wrong enumerator value or a wrong size
are each caught under their own kind of difference.

    python3 scripts/test_types_btf_check.py            # the tests (needs duckdb)
    python3 scripts/test_types_btf_check.py fake VMLINUX OUT [RELEASE ARCH]
        # writes OUT as the dataset ksurf should produce for VMLINUX's BTF
        # (to try types_btf_check.py on a real kernel before ksurf has types)
"""

import contextlib
import hashlib
import io
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import types_btf_check as tbc  # noqa: E402

NULL = "<null>"

# A BTF as bpftool prints it: task_struct with an anonymous union holding
# __state and a bitfield; a typedef'd anonymous struct; two different
# struct dup; a signed and an unsigned enum; an ENUM64; an anonymous enum;
# a FWD and an old-style (no kind_flag) bitfield through a narrow INT.
BTF = """\
[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED
[2] INT 'unsigned int' size=4 bits_offset=0 nr_bits=32 encoding=(none)
[3] STRUCT 'task_struct' size=16 vlen=3
\t'thread_info' type_id=1 bits_offset=0
\t'(anon)' type_id=4 bits_offset=32
\t'flags' type_id=2 bits_offset=64 bitfield_size=3
[4] UNION '(anon)' size=4 vlen=2
\t'__state' type_id=2 bits_offset=0
\t'saved' type_id=1 bits_offset=0
[5] STRUCT '(anon)' size=4 vlen=1
\t'counter' type_id=1 bits_offset=0
[6] TYPEDEF 'atomic_t' type_id=5
[7] STRUCT 'dup' size=4 vlen=1
\t'a' type_id=1 bits_offset=0
[8] STRUCT 'dup' size=8 vlen=2
\t'a' type_id=1 bits_offset=0
\t'b' type_id=1 bits_offset=32
[9] ENUM 'sgn' encoding=SIGNED size=4 vlen=2
\t'SGN_INVALID' val=-1
\t'SGN_OK' val=0
[10] ENUM 'uns' encoding=UNSIGNED size=4 vlen=1
\t'UNS_ALL' val=4294967295
[11] ENUM64 'big' encoding=UNSIGNED size=8 vlen=2
\t'BIG_ONE' val=1ULL
\t'BIG_TOP' val=18446744073709551615ULL
[12] ENUM '(anon)' encoding=UNSIGNED size=4 vlen=2
\t'FIRST' val=0
\t'SECOND' val=1
[13] FWD 'request' fwd_kind=struct
[14] STRUCT 'request_queue' size=8 vlen=1
\t'disk' type_id=15 bits_offset=0
[15] PTR '(anon)' type_id=13
[16] INT 'unsigned int' size=4 bits_offset=2 nr_bits=5 encoding=(none)
[17] STRUCT 'oldbits' size=4 vlen=2
\t'x' type_id=2 bits_offset=0
\t'y' type_id=16 bits_offset=4
[18] FUNC_PROTO '(anon)' ret_type_id=1 vlen=1
\t'p' type_id=1
"""


def ksurf_rows(types):
    """The rows ksurf should write for these BTF types: {table: [row dict]}."""
    rows = {"types": [], "type_members": [], "enum_values": []}
    seen = set()
    for kind, name, _origin, t in tbc.btf_expected(types):
        size = int(t.attrs["size"])
        if kind == "enum":
            values = [(n, tbc.to_i64(v)) for n, v in t.values]
            layout = (kind, name, size, tuple(values))
        else:
            members = flatten(types, t, 0, "", 0)
            layout = (kind, name, size, tuple((m["name"], m["bit_offset"], m["bit_size"], m["depth"]) for m in members))
        if layout in seen:
            continue
        seen.add(layout)
        h = hashlib.sha256(repr(layout).encode()).hexdigest()[:32]
        rows["types"].append(
            dict(name=name, kind=kind, size=size, decl_file="x.h", decl_line=1,
                 member_count=len(t.members) + len(t.values), units=1, definition_hash=h, target=None)
        )
        if kind == "enum":
            for i, (n, v) in enumerate(values):
                rows["enum_values"].append(dict(enum_name=name, definition_hash=h, position=i, name=n, value=v, enum_size=size))
        else:
            for i, m in enumerate(members):
                rows["type_members"].append(dict(type_name=name, type_kind=kind, definition_hash=h, position=i, **m))
    return rows


def flatten(types, t, depth, prefix, base):
    """Direct members, each anonymous struct/union member followed by its own
    members (depth + 1, offsets accumulated), as ksurf lists them."""
    out = []
    for (name, off, bits), (_, tid, _, _) in zip(tbc.btf_members(types, t), t.members):
        path = prefix + (name or "(anon)")
        out.append(dict(name=name, path=path, depth=depth, type=f"btf#{tid}", bit_offset=base + off, bit_size=bits))
        inner = types.get(tid)
        if name is None and inner is not None and inner.kind in ("STRUCT", "UNION"):
            out.extend(flatten(types, inner, depth + 1, path + ".", base + off))
    return out


COLUMNS = {
    "types": [("name", "VARCHAR"), ("kind", "VARCHAR"), ("size", "UBIGINT"), ("decl_file", "VARCHAR"),
              ("decl_line", "UINTEGER"), ("member_count", "UINTEGER"), ("units", "UINTEGER"),
              ("definition_hash", "VARCHAR"), ("target", "VARCHAR")],
    "type_members": [("type_name", "VARCHAR"), ("type_kind", "VARCHAR"), ("definition_hash", "VARCHAR"),
                     ("position", "UINTEGER"), ("name", "VARCHAR"), ("path", "VARCHAR"), ("depth", "UINTEGER"),
                     ("type", "VARCHAR"), ("bit_offset", "UBIGINT"), ("bit_size", "UINTEGER")],
    "enum_values": [("enum_name", "VARCHAR"), ("definition_hash", "VARCHAR"), ("position", "UINTEGER"),
                    ("name", "VARCHAR"), ("value", "BIGINT"), ("enum_size", "UBIGINT")],
}


def write_dataset(rows, dataset, release, arch):
    """Writes rows as DATASET/<table>/distro=debian/release=R/arch=A/part-0.parquet."""
    con = tbc.connect()
    with tempfile.TemporaryDirectory() as tmp:
        for table, cols in COLUMNS.items():
            src = os.path.join(tmp, table + ".tsv")
            with open(src, "w") as f:
                for r in rows[table]:
                    f.write("\t".join(NULL if r[c] is None else str(r[c]) for c, _ in cols) + "\n")
            out = tbc.partition(dataset, table, release, arch)
            os.makedirs(out, exist_ok=True)
            types = ", ".join(f"'{c}': '{t}'" for c, t in cols)
            con.execute(
                f"COPY (SELECT * FROM read_csv('{src}', delim='\t', header=false, auto_detect=false, quote='', escape='',"
                f" nullstr='{NULL}', columns={{{types}}})) TO '{out}/part-0.parquet' (FORMAT parquet)"
            )


def run(argv):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = tbc.main(argv)
    return code, buf.getvalue()


class CompareTest(unittest.TestCase):
    release, arch = "6.1.0-1-test", "amd64"

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.raw = os.path.join(self.tmp.name, "btf.raw")
        with open(self.raw, "w") as f:
            f.write(BTF)
        self.types = tbc.parse_btf_raw(BTF)
        self.rows = ksurf_rows(self.types)
        self.dataset = os.path.join(self.tmp.name, "dataset")

    def compare(self):
        write_dataset(self.rows, self.dataset, self.release, self.arch)
        return run(["compare", "vmlinux-x", self.dataset, "--release", self.release,
                    "--arch", self.arch, "--btf-raw", self.raw])

    def member(self, type_name, name):
        return next(m for m in self.rows["type_members"] if m["type_name"] == type_name and m["name"] == name)

    def test_parse(self):
        t = self.types
        self.assertEqual(t[3].members[1], (None, 4, 32, None))
        self.assertEqual(t[3].members[2], ("flags", 2, 64, 3))
        self.assertEqual(t[11].values[1], ("BIG_TOP", 2**64 - 1))
        self.assertEqual(tbc.to_i64(2**64 - 1), -1)
        self.assertEqual(tbc.btf_members(t, t[17]), [("x", 0, None), ("y", 6, 5)])
        names = sorted((k, n, o) for k, n, o, _ in tbc.btf_expected(t))
        self.assertIn(("struct", "atomic_t", "typedef"), names)
        self.assertIn(("enum", "(anon:FIRST)", "anon-enum"), names)
        self.assertNotIn("request", [n for _, n, _ in names])  # a FWD is no definition
        self.assertEqual(len([n for _, n, _ in names if n == "dup"]), 2)

    def test_identical_passes(self):
        code, out = self.compare()
        self.assertEqual(code, 0, out)
        self.assertIn("100.000%", out)
        self.assertIn("all               10       10        0        0", out)

    def test_wrong_offset(self):
        self.member("task_struct", "flags")["bit_offset"] = 72
        code, out = self.compare()
        self.assertEqual(code, 1, out)
        self.assertIn("member bit_offset: 1", out)
        self.assertIn("struct task_struct [BTF id 3]: flags BTF 64 ksurf 72", out)

    def test_missing_member(self):
        self.rows["type_members"].remove(self.member("oldbits", "y"))
        code, out = self.compare()
        self.assertEqual(code, 1, out)
        self.assertIn("member count: 1", out)
        self.assertIn("only in BTF: y", out)

    def test_nested_member_does_not_count_as_direct(self):
        # Dropping a depth-1 member leaves the direct members as they were.
        self.rows["type_members"].remove(self.member("task_struct", "saved"))
        code, out = self.compare()
        self.assertEqual(code, 0, out)

    def test_missing_type(self):
        self.rows["types"] = [r for r in self.rows["types"] if r["name"] != "atomic_t"]
        code, out = self.compare()
        self.assertEqual(code, 1, out)
        self.assertIn("missing in ksurf: 1", out)
        self.assertIn("struct atomic_t [BTF id 5, via typedef]", out)

    def test_one_of_two_same_name_missing(self):
        self.rows["types"] = [r for r in self.rows["types"] if not (r["name"] == "dup" and r["size"] == 8)]
        code, out = self.compare()
        self.assertEqual(code, 1, out)
        self.assertIn("struct dup [BTF id 8]: BTF 8 ksurf 4", out)

    def test_wrong_size(self):
        next(r for r in self.rows["types"] if r["name"] == "request_queue")["size"] = 16
        code, out = self.compare()
        self.assertEqual(code, 1, out)
        self.assertIn("size: 1", out)

    def test_enum_sign(self):
        # UNS_ALL is 4294967295 (unsigned int); -1 is the sign-extended mistake.
        next(r for r in self.rows["enum_values"] if r["name"] == "UNS_ALL")["value"] = -1
        code, out = self.compare()
        self.assertEqual(code, 1, out)
        self.assertIn("enumerator value (sign/width only): 1", out)

    def test_enum_sign_blind_btf(self):
        # A BTF from pahole < 1.24 (5.10) marks no enum signed and prints -1
        # as 4294967295: ksurf's -1 (from DWARF) agrees modulo 2^32.
        with open(self.raw, "w") as f:
            f.write(BTF.replace("encoding=SIGNED size=4", "encoding=UNSIGNED size=4").replace("val=-1", "val=4294967295"))
        self.assertTrue(tbc.sign_blind(tbc.parse_btf_raw(open(self.raw).read())))
        self.assertFalse(tbc.sign_blind(self.types))
        code, out = self.compare()
        self.assertEqual(code, 0, out)
        self.assertIn("compared modulo 2^(8*size)", out)
        next(r for r in self.rows["enum_values"] if r["name"] == "SGN_INVALID")["value"] = -2
        code, out = self.compare()
        self.assertEqual(code, 1, out)
        self.assertIn("SGN_INVALID BTF 4294967295 ksurf -2", out)

    def test_enum64_value(self):
        next(r for r in self.rows["enum_values"] if r["name"] == "BIG_TOP")["value"] = 7
        code, out = self.compare()
        self.assertEqual(code, 1, out)
        self.assertIn("enumerator value: 1", out)
        self.assertIn("BIG_TOP BTF -1 ksurf 7", out)

    def test_facts(self):
        write_dataset(self.rows, self.dataset, self.release, self.arch)
        code, out = run(["facts", self.dataset, "--release", self.release])
        # task_struct has __state (in the anonymous union) and no state: ok;
        # the request struct is not in this BTF: the request facts fail.
        self.assertEqual(code, 1, out)
        self.assertIn("ok   struct task_struct has member __state: 1 struct row(s), found at (anon).__state (depth 1)", out)
        self.assertIn("ok   struct task_struct has no member state", out)
        self.assertIn("ok   struct request_queue has member disk", out)
        self.assertIn("FAIL struct request has no member rq_disk: 0 struct row(s)", out)
        write_dataset(self.rows, self.dataset, "5.10.0-32-cloud-amd64", self.arch)
        code, out = run(["facts", self.dataset, "--release", "5.10.0-32-cloud-amd64"])
        self.assertEqual(code, 1, out)
        self.assertIn("FAIL struct task_struct has member state", out)


def fake(vmlinux, out, release=None, arch=None):
    types = tbc.parse_btf_raw(tbc.dump_btf(vmlinux))
    release = release or tbc.release_of(vmlinux)
    arch = arch or tbc.elf_machine(vmlinux)
    rows = ksurf_rows(types)
    write_dataset(rows, out, release, arch)
    print(f"{out}: distro=debian/release={release}/arch={arch}: "
          + ", ".join(f"{t} {len(r)} rows" for t, r in rows.items()))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "fake":
        fake(*sys.argv[2:])
    else:
        unittest.main()
