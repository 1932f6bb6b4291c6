//! Exact attach verdicts (`function_attach`) of the `fixtures/attach/` ELF:
//! one function per verdict (traced, notrace, NOKPROBE_SYMBOL, __kprobes,
//! noinstr, __init, fully inlined, two statics of one name, an ISRA clone,
//! a selectively inlined global), and a broken `__mcount_loc` table.

use std::path::PathBuf;

use ksurf_dataset::DependencyKind;
use ksurf_extractor::{extract, extract_bytes, IdentityOverrides};
use object::{Object, ObjectSection};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/attach/attach.elf")
}

#[test]
fn attach_rows() {
    let x = extract(&fixture(), &IdentityOverrides::default()).unwrap();
    assert!(x.kind_errors.is_empty(), "{:?}", x.kind_errors);
    let got: Vec<String> = x
        .attach
        .iter()
        .map(|r| {
            format!(
                "{} | {} {:?} {} | {} {} | btf {:?} ftrace {:?} inlined {}",
                r.name,
                r.kprobe.as_str(),
                r.kprobe_symbols,
                r.kprobe_reason,
                r.fentry,
                r.fentry_reason,
                r.in_btf,
                r.ftrace,
                r.inlined_sites
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "clone_fn | yes [\"clone_fn.isra.0\"] clone clone_fn.isra.0: the source name has no usable symbol | false not in .BTF: no symbol named clone_fn, only clone_fn.isra.0 | btf Some(false) ftrace None inlined 0",
            "dup_fn | ambiguous [] 2 symbols named dup_fn (0x401020, 0x401120): a probe by this name is refused (EADDRNOTAVAIL since 6.7 and stable backports); probe by address | true in .BTF with an ftrace call site; 2 symbols named dup_fn: attaches to the first kallsyms finds | btf Some(true) ftrace Some(true) inlined 0",
            "dup_fn2 | yes [\"dup_fn2\"] symbol dup_fn2 | true in .BTF with an ftrace call site | btf Some(true) ftrace Some(true) inlined 0",
            "init_fn | no [] init_fn: in .init.text (freed after boot) | false in .init.text: ftrace drops its call sites once init memory is freed | btf Some(true) ftrace Some(true) inlined 0",
            "inlined_fn | no [] no symbol: inlined at every call site (2) | false not in .BTF: no symbol (inlined at every call site, or not emitted) | btf Some(false) ftrace None inlined 2",
            "kprobes_text_fn | no [] kprobes_text_fn: in .kprobes.text (__kprobes) | true in .BTF with an ftrace call site | btf Some(true) ftrace Some(true) inlined 0",
            "noinstr_fn | no [] noinstr_fn: in noinstr text | false in .BTF, but no ftrace call site (notrace): nothing to patch | btf Some(true) ftrace Some(false) inlined 0",
            "nokprobe_fn | no [] nokprobe_fn: NOKPROBE_SYMBOL | true in .BTF with an ftrace call site | btf Some(true) ftrace Some(true) inlined 0",
            "notrace_fn | yes [\"notrace_fn\"] symbol notrace_fn | false in .BTF, but no ftrace call site (notrace): nothing to patch | btf Some(true) ftrace Some(false) inlined 0",
            "sel_fn | yes [\"sel_fn\"] symbol sel_fn; misses 1 inlined call site | true in .BTF with an ftrace call site; misses 1 inlined call site | btf Some(true) ftrace Some(true) inlined 1",
            "start | yes [\"start\"] symbol start | true in .BTF with an ftrace call site | btf Some(true) ftrace Some(true) inlined 0",
            "traced_fn | yes [\"traced_fn\"] symbol traced_fn | true in .BTF with an ftrace call site | btf Some(true) ftrace Some(true) inlined 0",
        ]
    );
}

/// An `__mcount_loc` section whose size is not a whole number of entries:
/// the verdicts are refused with an error naming the file and the table,
/// and every other table of the image is still written.
#[test]
fn broken_mcount_table_is_a_kind_error() {
    let path = fixture();
    let mut bytes = std::fs::read(&path).unwrap();
    let (index, shoff, addr) = {
        let file = object::File::parse(&*bytes).unwrap();
        let section = file.section_by_name("__mcount_loc").unwrap();
        let object::File::Elf64(elf) = &file else {
            panic!("the fixture is ELF64")
        };
        let shoff = elf.elf_header().e_shoff.get(object::Endianness::Little);
        (section.index().0, shoff as usize, section.address())
    };
    // Elf64_Shdr is 64 bytes; sh_size is at offset 32.
    let at = shoff + index * 64 + 32;
    let size = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    bytes[at..at + 8].copy_from_slice(&(size - 3).to_le_bytes());
    let x = extract_bytes(&path, &bytes, &IdentityOverrides::default()).unwrap();
    assert!(x.attach.is_empty());
    assert_eq!(x.statuses.len(), 12, "the function tables are whole");
    assert_eq!(x.kind_errors.len(), 1);
    assert_eq!(x.kind_errors[0].kind, DependencyKind::Function);
    let end = addr + size - 3;
    assert_eq!(
        x.kind_errors[0].message,
        format!(
            "attach verdicts (function_attach): {}: the __mcount_loc table {addr:#x}..{end:#x} \
             is not a whole number of 8-byte entries",
            path.display()
        )
    );
}
