//! The type kind on the mini-kernel fixtures: every `types`,
//! `type_members` and `enum_values` row of every build equals what the
//! independent pyelftools oracle (`tests/fixtures/dwarf_facts.py`, stored
//! in `tests/fixtures/facts/<build>.json`) read from the same ELF; plus
//! exact rows for the cases the fixtures were built for.

mod common;

use common::extract_fixture;
use ksurf_extractor::types::{TypeDef, TypeKind};
use ksurf_extractor::Extraction;
use serde_json::{json, Value};

/// The builds the oracle can read (the zstd one it cannot).
const BUILDS: [&str; 10] = [
    "x86_64-dwarf5",
    "x86_64-dwarf4",
    "x86_64-dwarf5-zlib",
    "x86_64-dwarf5-rela",
    "aarch64",
    "arm",
    "s390x",
    "ppc64le",
    "riscv64",
    "i686",
];

fn facts(build: &str) -> Value {
    let facts = if build == "x86_64-dwarf5-zlib" {
        "x86_64-dwarf5"
    } else {
        build
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/facts")
        .join(format!("{facts}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// ksurf's rows in the oracle's shape.
fn rows(x: &Extraction) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    let types = x
        .types
        .iter()
        .map(|t| {
            json!({
                "name": t.name, "kind": t.kind.as_str(), "size": t.size,
                "decl_file": t.decl_file.as_deref(), "decl_line": t.decl_line,
                "member_count": t.member_count, "units": t.units, "target": t.target,
            })
        })
        .collect();
    let mut members = Vec::new();
    let mut values = Vec::new();
    for t in &x.types {
        for (i, m) in t.members.iter().enumerate() {
            members.push(json!({
                "type_name": t.name, "type_kind": t.kind.as_str(), "position": i,
                "name": m.name, "path": m.path, "depth": m.depth, "type": m.ty,
                "bit_offset": m.bit_offset, "bit_size": m.bit_size,
            }));
        }
        for (i, e) in t.enumerators.iter().enumerate() {
            values.push(json!({
                "enum_name": t.name, "position": i, "name": e.name,
                "value": e.value, "enum_size": t.size,
            }));
        }
    }
    (types, members, values)
}

#[test]
fn every_build_has_the_oracles_type_rows() {
    for build in BUILDS {
        let x = extract_fixture(build);
        assert!(x.unit_errors.is_empty(), "{build}: {:?}", x.unit_errors);
        let facts = facts(build);
        let (types, members, values) = rows(&x);
        for (what, ours) in [
            ("types", types),
            ("type_members", members),
            ("enum_values", values),
        ] {
            let want = facts[what].as_array().unwrap();
            assert_eq!(ours.len(), want.len(), "{build}: {what} row count");
            for (i, (a, b)) in ours.iter().zip(want).enumerate() {
                assert_eq!(a, b, "{build}: {what} row {i}");
            }
        }
    }
}

fn one<'a>(x: &'a Extraction, kind: TypeKind, name: &str) -> &'a TypeDef {
    let found: Vec<&TypeDef> = x
        .types
        .iter()
        .filter(|t| t.kind == kind && t.name == name)
        .collect();
    assert_eq!(found.len(), 1, "{kind:?} {name}: {found:?}");
    found[0]
}

/// (path, depth, type, bit offset, bit size) of each member.
fn layout(t: &TypeDef) -> Vec<(&str, u32, &str, u64, Option<u32>)> {
    t.members
        .iter()
        .map(|m| {
            (
                m.path.as_str(),
                m.depth,
                m.ty.as_str(),
                m.bit_offset,
                m.bit_size,
            )
        })
        .collect()
}

#[test]
fn the_fixture_cases_have_exact_rows() {
    let x = extract_fixture("x86_64-dwarf5");
    // Two different definitions of one name are two rows, by location.
    let drv: Vec<(Option<&str>, Option<u64>, Vec<&str>)> = x
        .types
        .iter()
        .filter(|t| t.name == "drv_private")
        .map(|t| {
            (
                t.decl_file.as_deref(),
                t.size,
                t.members.iter().map(|m| m.path.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        drv,
        [
            (Some("drivers/a.c"), Some(4), vec!["x"]),
            (Some("drivers/b.c"), Some(16), vec!["y", "z"]),
        ]
    );
    // A header type defined identically in three units is one row.
    assert_eq!(one(&x, TypeKind::Struct, "list_head").units, 3);
    // Members of anonymous members are listed with their path.
    let task = one(&x, TypeKind::Struct, "task_struct");
    let paths: Vec<&str> = task.members.iter().map(|m| m.path.as_str()).collect();
    assert!(paths.contains(&"(anon).state"), "{paths:?}");
    assert!(!paths.contains(&"__state"), "{paths:?}");
    // The typedef'd anonymous struct is named by its typedef, and the
    // typedef says what it names.
    let atomic = one(&x, TypeKind::Struct, "fixture_atomic_t");
    assert_eq!(layout(atomic), [("counter", 0, "int", 0, None)]);
    assert_eq!(
        one(&x, TypeKind::Typedef, "fixture_atomic_t")
            .target
            .as_deref(),
        Some("struct {...}")
    );
    // The flexible array member.
    let buf = one(&x, TypeKind::Struct, "fixture_buf");
    assert_eq!(
        layout(buf),
        [
            ("len", 0, "unsigned int", 0, None),
            ("data", 0, "char []", 32, None)
        ]
    );
    // Negative and 64-bit enumerators; an unsigned maximum wraps to -1.
    let big: Vec<(&str, i64)> = one(&x, TypeKind::Enum, "fixture_big")
        .enumerators
        .iter()
        .map(|e| (e.name.as_str(), e.value))
        .collect();
    assert_eq!(
        big,
        [
            ("BIG_NEG", -5),
            ("BIG_ZERO", 0),
            ("BIG_HUGE", 0x1_0000_0000)
        ]
    );
    let umax = one(&x, TypeKind::Enum, "fixture_umax");
    assert_eq!(umax.enumerators.last().map(|e| e.value), Some(-1));
    assert_eq!(umax.size, Some(8));
    assert_eq!(one(&x, TypeKind::Enum, "(anon:ANON_FIRST)").member_count, 2);
}

#[test]
fn bitfields_have_one_layout_on_dwarf_4_and_5_and_on_big_endian() {
    let dwarf5 = extract_fixture("x86_64-dwarf5");
    let dwarf4 = extract_fixture("x86_64-dwarf4");
    let flags5 = one(&dwarf5, TypeKind::Struct, "fixture_flags");
    assert_eq!(
        layout(flags5),
        layout(one(&dwarf4, TypeKind::Struct, "fixture_flags"))
    );
    assert!(flags5.members.iter().any(|m| m.bit_size.is_some()));
    let s390x = extract_fixture("s390x");
    assert_eq!(
        layout(flags5),
        layout(one(&s390x, TypeKind::Struct, "fixture_flags"))
    );
}

#[test]
fn type_tables_are_identical_with_one_and_several_threads() {
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| extract_fixture("aarch64"));
    let many = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap()
        .install(|| extract_fixture("aarch64"));
    assert_eq!(one_thread.types, many.types);
}
