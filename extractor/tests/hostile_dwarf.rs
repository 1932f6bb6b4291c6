//! Synthetic DWARF built with gimli's writer: reference cycles in types and
//! origin chains must end in a bounded, deterministic result, never a hang
//! or a stack overflow; Rust units are skipped and counted.

mod common;

use std::path::Path;

use gimli::write::{Address, AttributeValue, DwarfUnit, EndianVec, Sections};
use gimli::{constants, Encoding, Format, LittleEndian};
use ksurf_extractor::{extract_bytes, IdentityOverrides};

/// An ELF holding the unit `build` describes.
fn elf_with_unit(build: impl FnOnce(&mut DwarfUnit)) -> Vec<u8> {
    let encoding = Encoding {
        format: Format::Dwarf32,
        version: 5,
        address_size: 8,
    };
    let mut dwarf = DwarfUnit::new(encoding);
    let root = dwarf.unit.root();
    let unit = dwarf.unit.get_mut(root);
    unit.set(
        constants::DW_AT_name,
        AttributeValue::String(b"lib/hostile.c".to_vec()),
    );
    unit.set(
        constants::DW_AT_language,
        AttributeValue::Language(constants::DW_LANG_C11),
    );
    build(&mut dwarf);
    let mut sections = Sections::new(EndianVec::new(LittleEndian));
    dwarf.write(&mut sections).unwrap();
    common::elf_with_debug_sections(&sections)
}

fn overrides() -> IdentityOverrides {
    IdentityOverrides {
        distro: Some("debian".into()),
        release: Some("6.1.0-1-amd64".into()),
        flavor: Some("amd64".into()),
        arch: Some("amd64".into()),
    }
}

fn function(dwarf: &mut DwarfUnit, name: &str) -> gimli::write::UnitEntryId {
    let root = dwarf.unit.root();
    let f = dwarf.unit.add(root, constants::DW_TAG_subprogram);
    let e = dwarf.unit.get_mut(f);
    e.set(
        constants::DW_AT_name,
        AttributeValue::String(name.as_bytes().to_vec()),
    );
    e.set(constants::DW_AT_external, AttributeValue::Flag(true));
    e.set(
        constants::DW_AT_low_pc,
        AttributeValue::Address(Address::Constant(0x1000)),
    );
    f
}

fn param(
    dwarf: &mut DwarfUnit,
    function: gimli::write::UnitEntryId,
    name: &str,
    ty: gimli::write::UnitEntryId,
) {
    let p = dwarf.unit.add(function, constants::DW_TAG_formal_parameter);
    let e = dwarf.unit.get_mut(p);
    e.set(
        constants::DW_AT_name,
        AttributeValue::String(name.as_bytes().to_vec()),
    );
    e.set(constants::DW_AT_type, AttributeValue::UnitRef(ty));
}

#[test]
fn type_cycles_render_as_a_marker() {
    let bytes = elf_with_unit(|dwarf| {
        let root = dwarf.unit.root();
        // typedef-free cycle: fn_t = void (*)(fn_t)
        let fty = dwarf.unit.add(root, constants::DW_TAG_subroutine_type);
        dwarf
            .unit
            .get_mut(fty)
            .set(constants::DW_AT_prototyped, AttributeValue::Flag(true));
        let ptr = dwarf.unit.add(root, constants::DW_TAG_pointer_type);
        dwarf
            .unit
            .get_mut(ptr)
            .set(constants::DW_AT_type, AttributeValue::UnitRef(fty));
        let fp = dwarf.unit.add(fty, constants::DW_TAG_formal_parameter);
        dwarf
            .unit
            .get_mut(fp)
            .set(constants::DW_AT_type, AttributeValue::UnitRef(ptr));
        // const cycle: c1 = const c2, c2 = const c1
        let c1 = dwarf.unit.add(root, constants::DW_TAG_const_type);
        let c2 = dwarf.unit.add(root, constants::DW_TAG_const_type);
        dwarf
            .unit
            .get_mut(c1)
            .set(constants::DW_AT_type, AttributeValue::UnitRef(c2));
        dwarf
            .unit
            .get_mut(c2)
            .set(constants::DW_AT_type, AttributeValue::UnitRef(c1));
        // pointer to itself
        let selfptr = dwarf.unit.add(root, constants::DW_TAG_pointer_type);
        dwarf
            .unit
            .get_mut(selfptr)
            .set(constants::DW_AT_type, AttributeValue::UnitRef(selfptr));

        let f = function(dwarf, "hostile");
        param(dwarf, f, "cb", ptr);
        param(dwarf, f, "c", c1);
        param(dwarf, f, "p", selfptr);
    });
    let x = extract_bytes(Path::new("hostile.elf"), &bytes, &overrides()).unwrap();
    assert!(x.unit_errors.is_empty(), "{:?}", x.unit_errors);
    let sig = x.entries[0].signature.as_ref().unwrap();
    let types: Vec<&str> = sig.params.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(types[0], "void (*)(<type cycle>)");
    assert!(
        types[1].starts_with("const const const") && types[1].ends_with("<type cycle>"),
        "{}",
        types[1]
    );
    assert!(
        types[2].starts_with("<type cycle> **") && !types[2].contains('('),
        "{}",
        types[2]
    );
    assert!(
        sig.prototype
            .starts_with("void hostile(void (*cb)(void (*)(<type cycle>)), const const"),
        "{}",
        sig.prototype
    );
    assert!(sig.prototype.ends_with("**p);"), "{}", sig.prototype);
}

#[test]
fn origin_cycles_and_dangling_references_are_skipped() {
    let bytes = elf_with_unit(|dwarf| {
        let root = dwarf.unit.root();
        // A concrete copy whose origin is itself, and two that point at each other.
        let a = dwarf.unit.add(root, constants::DW_TAG_subprogram);
        dwarf
            .unit
            .get_mut(a)
            .set(constants::DW_AT_abstract_origin, AttributeValue::UnitRef(a));
        let b = dwarf.unit.add(root, constants::DW_TAG_subprogram);
        let c = dwarf.unit.add(root, constants::DW_TAG_subprogram);
        dwarf
            .unit
            .get_mut(b)
            .set(constants::DW_AT_abstract_origin, AttributeValue::UnitRef(c));
        dwarf
            .unit
            .get_mut(c)
            .set(constants::DW_AT_abstract_origin, AttributeValue::UnitRef(b));
        // A real function calling through a call site that points at a base type.
        let int = dwarf.unit.add(root, constants::DW_TAG_base_type);
        dwarf.unit.get_mut(int).set(
            constants::DW_AT_name,
            AttributeValue::String(b"int".to_vec()),
        );
        let f = function(dwarf, "survivor");
        let site = dwarf.unit.add(f, constants::DW_TAG_call_site);
        dwarf
            .unit
            .get_mut(site)
            .set(constants::DW_AT_call_origin, AttributeValue::UnitRef(int));
        param(dwarf, f, "x", int);
    });
    let x = extract_bytes(Path::new("origins.elf"), &bytes, &overrides()).unwrap();
    assert!(x.unit_errors.is_empty(), "{:?}", x.unit_errors);
    let names: Vec<&str> = x.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["survivor"]);
    assert_eq!(
        x.entries[0].signature.as_ref().unwrap().prototype,
        "void survivor(int x);"
    );
    assert!(x.entries[0].direct_callers.is_empty());
}

#[test]
fn rust_units_are_skipped_and_counted() {
    let bytes = elf_with_unit(|dwarf| {
        let root = dwarf.unit.root();
        dwarf.unit.get_mut(root).set(
            constants::DW_AT_language,
            AttributeValue::Language(constants::DW_LANG_Rust),
        );
        function(dwarf, "rust_fn");
    });
    let x = extract_bytes(Path::new("rust.elf"), &bytes, &overrides()).unwrap();
    assert_eq!((x.compile_units, x.units_skipped), (1, 1));
    assert!(x.unit_errors.is_empty(), "{:?}", x.unit_errors);
    assert!(x.entries.is_empty(), "{:?}", x.entries);

    // The same unit as C is walked.
    let bytes = elf_with_unit(|dwarf| {
        function(dwarf, "c_fn");
    });
    let x = extract_bytes(Path::new("c.elf"), &bytes, &overrides()).unwrap();
    assert_eq!((x.compile_units, x.units_skipped), (1, 0));
    let names: Vec<&str> = x.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["c_fn"]);
    assert_eq!(x.entries[0].cu_path.as_deref(), Some("lib/hostile.c"));
}

fn named(
    dwarf: &mut DwarfUnit,
    parent: gimli::write::UnitEntryId,
    tag: constants::DwTag,
    name: Option<&str>,
) -> gimli::write::UnitEntryId {
    let id = dwarf.unit.add(parent, tag);
    if let Some(name) = name {
        dwarf.unit.get_mut(id).set(
            constants::DW_AT_name,
            AttributeValue::String(name.as_bytes().to_vec()),
        );
    }
    id
}

fn member(
    dwarf: &mut DwarfUnit,
    parent: gimli::write::UnitEntryId,
    name: Option<&str>,
    ty: gimli::write::UnitEntryId,
    byte_offset: u64,
) {
    let m = named(dwarf, parent, constants::DW_TAG_member, name);
    let e = dwarf.unit.get_mut(m);
    e.set(constants::DW_AT_type, AttributeValue::UnitRef(ty));
    e.set(
        constants::DW_AT_data_member_location,
        AttributeValue::Udata(byte_offset),
    );
}

#[test]
fn anonymous_members_that_contain_themselves_fail_the_unit_types_alone() {
    let bytes = elf_with_unit(|dwarf| {
        let root = dwarf.unit.root();
        let int = named(dwarf, root, constants::DW_TAG_base_type, Some("int"));
        // struct loop { int x; <anon> a; } where the anonymous member's type
        // is an anonymous struct containing itself.
        let anon = named(dwarf, root, constants::DW_TAG_structure_type, None);
        member(dwarf, anon, Some("y"), int, 0);
        member(dwarf, anon, None, anon, 4);
        let s = named(dwarf, root, constants::DW_TAG_structure_type, Some("loop"));
        dwarf
            .unit
            .get_mut(s)
            .set(constants::DW_AT_byte_size, AttributeValue::Udata(8));
        member(dwarf, s, Some("x"), int, 0);
        member(dwarf, s, None, anon, 4);
        let ok = named(dwarf, root, constants::DW_TAG_structure_type, Some("fine"));
        member(dwarf, ok, Some("z"), int, 0);
        let f = function(dwarf, "survivor");
        param(dwarf, f, "x", int);
    });
    let x = extract_bytes(Path::new("anon-loop.elf"), &bytes, &overrides()).unwrap();
    let names: Vec<&str> = x.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["survivor"]);
    assert_eq!(x.unit_errors.len(), 1, "{:?}", x.unit_errors);
    assert!(
        x.unit_errors[0]
            .message
            .contains("anonymous members nested deeper than 32; its functions are still extracted"),
        "{}",
        x.unit_errors[0].message
    );
    assert!(x.types.is_empty(), "{:?}", x.types);
}

#[test]
fn absurd_member_counts_are_refused_with_the_offset() {
    let bytes = elf_with_unit(|dwarf| {
        let root = dwarf.unit.root();
        let int = named(dwarf, root, constants::DW_TAG_base_type, Some("int"));
        let s = named(dwarf, root, constants::DW_TAG_structure_type, Some("wide"));
        for i in 0..70_000u64 {
            member(dwarf, s, Some("m"), int, i * 4);
        }
    });
    let started = std::time::Instant::now();
    let x = extract_bytes(Path::new("wide.elf"), &bytes, &overrides()).unwrap();
    assert!(started.elapsed().as_secs() < 10);
    assert_eq!(x.unit_errors.len(), 1, "{:?}", x.unit_errors);
    let message = &x.unit_errors[0].message;
    assert!(
        message.starts_with(
            "wide.elf: types of unit lib/hostile.c at .debug_info+0x0: DIE at .debug_info+0x"
        ) && message.contains(": more than 65536 members in one type;"),
        "{message}"
    );
    assert!(x.types.is_empty());
}

#[test]
fn a_member_whose_type_is_a_cycle_is_named_by_the_marker() {
    let bytes = elf_with_unit(|dwarf| {
        let root = dwarf.unit.root();
        let c1 = dwarf.unit.add(root, constants::DW_TAG_const_type);
        let c2 = dwarf.unit.add(root, constants::DW_TAG_const_type);
        dwarf
            .unit
            .get_mut(c1)
            .set(constants::DW_AT_type, AttributeValue::UnitRef(c2));
        dwarf
            .unit
            .get_mut(c2)
            .set(constants::DW_AT_type, AttributeValue::UnitRef(c1));
        let s = named(dwarf, root, constants::DW_TAG_structure_type, Some("odd"));
        dwarf
            .unit
            .get_mut(s)
            .set(constants::DW_AT_byte_size, AttributeValue::Udata(4));
        member(dwarf, s, Some("c"), c1, 0);
        let t = named(dwarf, root, constants::DW_TAG_typedef, Some("odd_t"));
        dwarf
            .unit
            .get_mut(t)
            .set(constants::DW_AT_type, AttributeValue::UnitRef(t));
    });
    let x = extract_bytes(Path::new("odd.elf"), &bytes, &overrides()).unwrap();
    assert!(x.unit_errors.is_empty(), "{:?}", x.unit_errors);
    let rows: Vec<(&str, &str, Option<&str>)> = x
        .types
        .iter()
        .map(|t| (t.name.as_str(), t.kind.as_str(), t.target.as_deref()))
        .collect();
    assert_eq!(
        rows,
        [("odd", "struct", None), ("odd_t", "typedef", Some("odd_t"))]
    );
    let m = &x.types[0].members[0];
    assert!(
        m.ty.starts_with("const const") && m.ty.ends_with("<type cycle>"),
        "{}",
        m.ty
    );
}
