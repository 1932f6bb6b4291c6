//! How compile units are told apart, on synthetic DWARF built with gimli's
//! writer: a source file compiled twice (arm64's `vgic-v3-sr.c`, reached
//! from the `vhe/` and `nvhe/` objects through `../`) gives two units with
//! one normalised path, and each static of it is two instances (Static
//! Duplication), not one; a `__weak` definition the linker dropped (no
//! address) and the strong one it kept are two instances, each with its
//! own location, and the name is still Unique Global.

mod common;

use gimli::write::{Address, AttributeValue, Dwarf, EndianVec, LineProgram, Sections, Unit};
use gimli::{constants, Encoding, Format, LittleEndian};
use ksurf_extractor::{extract_bytes, IdentityOverrides};

/// One function DIE: name, `DW_AT_external`, `DW_AT_low_pc` (none: a
/// definition without code).
type Function<'a> = (&'a str, bool, Option<u64>);

/// An ELF whose DWARF has one unit per `(DW_AT_name, functions)`, all with
/// `DW_AT_comp_dir` `/build/linux`.
fn elf_with_units(units: &[(&str, &[Function])]) -> Vec<u8> {
    let encoding = Encoding {
        format: Format::Dwarf32,
        version: 5,
        address_size: 8,
    };
    let mut dwarf = Dwarf::new();
    for (name, functions) in units {
        let id = dwarf.units.add(Unit::new(encoding, LineProgram::none()));
        let unit = dwarf.units.get_mut(id);
        let root = unit.root();
        let r = unit.get_mut(root);
        r.set(
            constants::DW_AT_name,
            AttributeValue::String(name.as_bytes().to_vec()),
        );
        r.set(
            constants::DW_AT_comp_dir,
            AttributeValue::String(b"/build/linux".to_vec()),
        );
        r.set(
            constants::DW_AT_language,
            AttributeValue::Language(constants::DW_LANG_C11),
        );
        for (function, external, pc) in functions.iter() {
            let f = unit.add(root, constants::DW_TAG_subprogram);
            let e = unit.get_mut(f);
            e.set(
                constants::DW_AT_name,
                AttributeValue::String(function.as_bytes().to_vec()),
            );
            if *external {
                e.set(constants::DW_AT_external, AttributeValue::Flag(true));
            }
            if let Some(pc) = pc {
                e.set(
                    constants::DW_AT_low_pc,
                    AttributeValue::Address(Address::Constant(*pc)),
                );
            }
        }
    }
    let mut sections = Sections::new(EndianVec::new(LittleEndian));
    dwarf.write(&mut sections).unwrap();
    common::elf_with_debug_sections(&sections)
}

fn overrides() -> IdentityOverrides {
    IdentityOverrides {
        distro: Some("debian".into()),
        release: Some("6.1.0-1-arm64".into()),
        flavor: Some("arm64".into()),
        arch: Some("arm64".into()),
    }
}

#[test]
fn a_source_compiled_twice_is_two_units() {
    let elf = elf_with_units(&[
        (
            "arch/arm64/kvm/hyp/vhe/../vgic-v3-sr.c",
            &[("__vgic_v3_read_ctlr", false, Some(0x1000))],
        ),
        (
            "arch/arm64/kvm/hyp/nvhe/../vgic-v3-sr.c",
            &[("__vgic_v3_read_ctlr", false, Some(0x2000))],
        ),
        ("kernel/other.c", &[("other_static", false, Some(0x3000))]),
    ]);
    let x = extract_bytes(std::path::Path::new("units.elf"), &elf, &overrides()).unwrap();
    let instances: Vec<(String, bool, Option<String>, u64)> = x
        .entries
        .iter()
        .map(|e| {
            (
                e.name.clone(),
                e.external,
                e.cu_path.as_deref().map(str::to_owned),
                e.addr,
            )
        })
        .collect();
    let vgic = Some("arch/arm64/kvm/hyp/vgic-v3-sr.c".to_owned());
    assert_eq!(
        instances,
        [
            (
                "__vgic_v3_read_ctlr".to_owned(),
                false,
                vgic.clone(),
                0x1000
            ),
            ("__vgic_v3_read_ctlr".to_owned(), false, vgic, 0x2000),
            (
                "other_static".to_owned(),
                false,
                Some("kernel/other.c".to_owned()),
                0x3000
            ),
        ]
    );
    let statuses: Vec<(&str, &str, u32)> = x
        .statuses
        .iter()
        .map(|s| (s.name.as_str(), s.collision.as_str(), s.instance_count))
        .collect();
    assert_eq!(
        statuses,
        [
            ("__vgic_v3_read_ctlr", "Static Duplication", 2),
            ("other_static", "Unique Static", 1),
        ]
    );
}

#[test]
fn a_discarded_weak_definition_is_an_instance_of_its_own() {
    // kernel/sys_ni.c comes first, as in the kernel's unit order.
    let elf = elf_with_units(&[
        ("kernel/sys_ni.c", &[("__x64_sys_mprotect", true, None)]),
        (
            "mm/mprotect.c",
            &[("__x64_sys_mprotect", true, Some(0x4000))],
        ),
    ]);
    let x = extract_bytes(std::path::Path::new("weak.elf"), &elf, &overrides()).unwrap();
    let instances: Vec<(bool, Option<String>, u64, bool)> = x
        .entries
        .iter()
        .map(|e| {
            (
                e.external,
                e.cu_path.as_deref().map(str::to_owned),
                e.addr,
                e.discarded,
            )
        })
        .collect();
    assert_eq!(
        instances,
        [
            (true, Some("kernel/sys_ni.c".to_owned()), 0, true),
            (true, Some("mm/mprotect.c".to_owned()), 0x4000, false),
        ]
    );
    let s = &x.statuses[0];
    assert_eq!(
        (s.collision.as_str(), s.instance_count),
        ("Unique Global", 2)
    );

    // Both definitions discarded (`__ia32_sys_fadvise64` on 6.1 amd64): two
    // rows, still one global name.
    let elf = elf_with_units(&[
        ("kernel/sys_ni.c", &[("__ia32_sys_fadvise64", true, None)]),
        ("mm/fadvise.c", &[("__ia32_sys_fadvise64", true, None)]),
    ]);
    let x = extract_bytes(std::path::Path::new("weak2.elf"), &elf, &overrides()).unwrap();
    assert_eq!(x.entries.iter().filter(|e| e.discarded).count(), 2);
    let s = &x.statuses[0];
    assert_eq!(
        (s.collision.as_str(), s.instance_count),
        ("Unique Global", 2)
    );
}
