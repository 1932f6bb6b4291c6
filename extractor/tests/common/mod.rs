//! Shared helpers of the extractor's integration tests: locating fixtures
//! and printing an extraction as stable, reviewable text.

#![allow(dead_code)]

use std::fmt::Write;
use std::path::PathBuf;

use ksurf_extractor::functions::{FunctionEntry, FunctionStatus};
use ksurf_extractor::symbols::SymbolRow;
use ksurf_extractor::{extract, Extraction, IdentityOverrides};

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bin")
        .join(format!("{name}.elf"))
}

pub fn extract_fixture(name: &str) -> Extraction {
    extract(&fixture(name), &IdentityOverrides::default())
        .unwrap_or_else(|e| panic!("extracting {name}: {e}"))
}

/// Addresses and sizes are printed only when `with_addresses` is set, so
/// that builds laid out differently can be compared.
pub fn describe(x: &Extraction, with_addresses: bool) -> String {
    let mut out = String::new();
    let i = &x.info;
    writeln!(
        out,
        "image {} flavor={} machine={} class={} big_endian={} units={} skipped={} failed={}",
        i.id,
        i.flavor,
        i.elf_machine,
        i.elf_class,
        i.big_endian,
        x.compile_units,
        x.units_skipped,
        x.unit_errors.len()
    )
    .unwrap();
    describe_functions(
        &mut out,
        &x.statuses,
        &x.entries,
        &x.symbols,
        with_addresses,
    );
    out
}

/// The function statuses with their instances, then the symbols, as
/// [`describe`] prints them (of an image or of a module).
pub fn describe_functions(
    out: &mut String,
    statuses: &[FunctionStatus],
    entries: &[FunctionEntry],
    symbols: &[SymbolRow],
    with_addresses: bool,
) {
    for s in statuses {
        writeln!(
            out,
            "function {} | {} | {} | suffixes={:?} | instances={} symbols={}",
            s.name,
            s.collision.as_str(),
            s.inline.as_str(),
            s.transform_suffixes,
            s.instance_count,
            s.symbol_count
        )
        .unwrap();
        for e in entries.iter().filter(|e| e.name == s.name) {
            let addr = if with_addresses {
                format!(" addr={:#x}", e.addr)
            } else {
                String::new()
            };
            writeln!(
                out,
                "  instance external={} decl={}:{} cu={} inline={:?} defined={}{addr}",
                e.external,
                e.decl_file.as_deref().unwrap_or("-"),
                e.decl_line.map_or("-".to_owned(), |l| l.to_string()),
                e.cu_path.as_deref().unwrap_or("-"),
                e.inline.as_str(),
                e.defined,
            )
            .unwrap();
            match &e.signature {
                Some(sig) => {
                    let params: Vec<String> = sig
                        .params
                        .iter()
                        .map(|(n, t)| format!("{}: {t}", n.as_deref().unwrap_or("_")))
                        .collect();
                    writeln!(out, "    prototype: {}", sig.prototype).unwrap();
                    writeln!(
                        out,
                        "    returns: {} | params: [{}] | varargs={}",
                        sig.return_type,
                        params.join(", "),
                        sig.variadic
                    )
                    .unwrap();
                }
                None => writeln!(out, "    prototype: -").unwrap(),
            }
            let join = |v: &[std::sync::Arc<str>]| {
                v.iter().map(|c| c.as_ref()).collect::<Vec<_>>().join(", ")
            };
            writeln!(out, "    inline callers: [{}]", join(&e.inline_callers)).unwrap();
            writeln!(out, "    direct callers: [{}]", join(&e.direct_callers)).unwrap();
        }
    }
    for s in symbols {
        let place = if with_addresses {
            format!(" addr={:#x} size={}", s.addr, s.size)
        } else {
            String::new()
        };
        writeln!(
            out,
            "symbol {} stem={} suffixes={:?} {} {} section={}{place}",
            s.name, s.stem, s.suffixes, s.binding, s.visibility, s.section
        )
        .unwrap();
    }
}

/// An x86_64 executable ELF (`ET_EXEC`, like a vmlinux) holding the
/// non-empty DWARF sections gimli's writer produced (synthetic DWARF for hostile_dwarf.rs and units.rs).
pub fn elf_with_debug_sections(
    sections: &gimli::write::Sections<gimli::write::EndianVec<gimli::LittleEndian>>,
) -> Vec<u8> {
    use object::write::Object;
    use object::{Architecture, BinaryFormat, Endianness, SectionKind};
    let mut elf = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    sections
        .for_each(|id, data| -> Result<(), ()> {
            if !data.slice().is_empty() {
                let section =
                    elf.add_section(vec![], id.name().as_bytes().to_vec(), SectionKind::Debug);
                elf.append_section_data(section, data.slice(), 1);
            }
            Ok(())
        })
        .unwrap();
    let mut bytes = elf.write().unwrap();
    // object's writer makes ET_REL; a vmlinux is ET_EXEC (e_type, offset 16),
    // and extract_bytes refuses a relocatable object as a kernel module.
    bytes[16..18].copy_from_slice(&object::elf::ET_EXEC.0.to_le_bytes());
    bytes
}
