//! Kernel modules (`.ko`, ELF relocatable objects) from
//! `tests/fixtures/modules/`: the module name, the function rows
//! (names, prototypes, declarations, inline status), the symbols at their
//! synthetic addresses, on every architecture; DWARF that reads right only
//! once relocated; and exact errors for broken relocation sections.
//!
//! The golden files under `tests/golden/modules/` are complete dumps of
//! each build; regenerate them with `KSURF_BLESS=1` and review the diff
//! against `tests/fixtures/modules/README.md`.

mod common;

use std::fmt::Write;
use std::path::{Path, PathBuf};

use ksurf_dataset::TableName;
use ksurf_extractor::functions::InlineStatus;
use ksurf_extractor::module::MODULE_BASE;
use ksurf_extractor::{extract_module, Error, ModuleExtraction};
use object::read::elf::{ElfFile64, SectionHeader};
use object::{Endianness, Object, ObjectSection};

const BUILDS: [&str; 8] = [
    "x86_64",
    "x86_64-dwarf4",
    "i686",
    "aarch64",
    "arm",
    "s390x",
    "ppc64le",
    "riscv64",
];

fn module_path(build: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/modules/bin")
        .join(format!("{build}.ko"))
}

fn module_bytes(build: &str) -> Vec<u8> {
    std::fs::read(module_path(build)).unwrap()
}

fn extract(build: &str) -> ModuleExtraction {
    extract_module(&module_path(build), &module_bytes(build))
        .unwrap_or_else(|e| panic!("extracting {build}: {e}"))
}

fn describe(x: &ModuleExtraction) -> String {
    let mut out = String::new();
    writeln!(
        out,
        "module {} from_modinfo={} machine={} class={} big_endian={} units={} skipped={} failed={}",
        x.name,
        x.name_from_modinfo,
        x.elf_machine,
        x.elf_class,
        x.big_endian,
        x.compile_units,
        x.units_skipped,
        x.unit_errors.len()
    )
    .unwrap();
    common::describe_functions(&mut out, &x.statuses, &x.entries, &x.symbols, true);
    out
}

#[test]
fn every_build_matches_its_golden_dump() {
    let bless = std::env::var_os("KSURF_BLESS").is_some();
    for build in BUILDS {
        let text = describe(&extract(build));
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden/modules")
            .join(format!("{build}.txt"));
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with KSURF_BLESS=1)", path.display()));
        assert_eq!(text, want, "{build} differs from {}", path.display());
    }
}

/// (name, external, discarded, decl, cu, inline, prototype) of every
/// entry, in row order: the same on every build.
const ENTRIES: [(&str, bool, bool, &str, &str, InlineStatus, &str); 11] = [
    (
        "mini_check",
        false,
        false,
        "fs/mini/main.c:15",
        "fs/mini/main.c",
        InlineStatus::SeenUnknown,
        "int mini_check(const struct mini_req *req);",
    ),
    (
        "mini_exit",
        true,
        false,
        "fs/mini/main.c:54",
        "fs/mini/main.c",
        InlineStatus::SeenUnknown,
        "void mini_exit(void);",
    ),
    (
        "mini_extra_sum",
        true,
        false,
        "fs/mini/extra.c:18",
        "fs/mini/extra.c",
        InlineStatus::SeenUnknown,
        "int mini_extra_sum(const struct mini_req *reqs, int n);",
    ),
    (
        "mini_hook",
        true,
        false,
        "fs/mini/extra.c:30",
        "fs/mini/extra.c",
        InlineStatus::SeenUnknown,
        "int mini_hook(int x);",
    ),
    // The weak definition ld -r kept the code of, without its symbol.
    (
        "mini_hook",
        true,
        true,
        "fs/mini/main.c:39",
        "fs/mini/main.c",
        InlineStatus::SeenUnknown,
        "int mini_hook(int x);",
    ),
    (
        "mini_init",
        true,
        false,
        "fs/mini/main.c:45",
        "fs/mini/main.c",
        InlineStatus::SeenUnknown,
        "int mini_init(void);",
    ),
    (
        "mini_len",
        false,
        false,
        "fs/mini/extra.c:13",
        "fs/mini/extra.c",
        InlineStatus::SeenUnknown,
        "unsigned long mini_len(const struct mini_req *req);",
    ),
    (
        "mini_log",
        false,
        false,
        "fs/mini/extra.c:7",
        "fs/mini/extra.c",
        InlineStatus::SeenUnknown,
        "void mini_log(long value);",
    ),
    (
        "mini_log",
        false,
        false,
        "fs/mini/main.c:21",
        "fs/mini/main.c",
        InlineStatus::SeenUnknown,
        "void mini_log(long value);",
    ),
    (
        "mini_scale",
        false,
        false,
        "fs/mini/main.c:9",
        "fs/mini/main.c",
        InlineStatus::NotDeclaredInlined,
        "int mini_scale(int x);",
    ),
    (
        "mini_submit",
        true,
        false,
        "fs/mini/main.c:27",
        "fs/mini/main.c",
        InlineStatus::SeenUnknown,
        "long mini_submit(struct mini_req req, int flags);",
    ),
];

#[test]
fn rows_are_the_same_on_every_build() {
    for build in BUILDS {
        let x = extract(build);
        assert_eq!(
            (x.name.as_str(), x.name_from_modinfo),
            ("ksurf_mini", true),
            "{build}"
        );
        assert_eq!((x.compile_units, x.unit_errors.len()), (3, 0), "{build}");
        let rows: Vec<_> = x
            .entries
            .iter()
            .map(|e| {
                (
                    e.name.as_str(),
                    e.external,
                    e.discarded,
                    format!(
                        "{}:{}",
                        e.decl_file.as_deref().unwrap_or("-"),
                        e.decl_line.unwrap_or(0)
                    ),
                    e.cu_path.as_deref().unwrap_or("-"),
                    e.inline,
                    e.signature.as_ref().map_or("-", |s| s.prototype.as_str()),
                )
            })
            .collect();
        let want: Vec<_> = ENTRIES
            .iter()
            .map(
                |&(name, external, discarded, decl, cu, inline, prototype)| {
                    (
                        name,
                        external,
                        discarded,
                        decl.to_owned(),
                        cu,
                        inline,
                        prototype,
                    )
                },
            )
            .collect();
        assert_eq!(rows, want, "{build}");
        // The inlined copy of mini_scale is in mini_submit.
        let scale = x.entries.iter().find(|e| e.name == "mini_scale").unwrap();
        let callers: Vec<&str> = scale.inline_callers.iter().map(|c| c.as_ref()).collect();
        assert_eq!(callers, ["fs/mini/main.c:mini_submit"], "{build}");
        assert!(scale.addr_is_inlined_copy, "{build}");
        // The discarded weak mini_hook has no address and does not collide.
        let hook: Vec<_> = x.entries.iter().filter(|e| e.name == "mini_hook").collect();
        assert_eq!(
            hook.iter()
                .map(|e| (e.discarded, e.addr != 0))
                .collect::<Vec<_>>(),
            [(false, true), (true, false)],
            "{build}"
        );
        let status = x.statuses.iter().find(|s| s.name == "mini_hook").unwrap();
        assert_eq!(
            (
                status.collision.as_str(),
                status.instance_count,
                status.symbol_count
            ),
            ("Unique Global", 2, 1),
            "{build}"
        );
        // mini_log is static in two units: a static-static collision.
        let log = x.statuses.iter().find(|s| s.name == "mini_log").unwrap();
        assert_eq!(
            (log.collision.as_str(), log.instance_count, log.symbol_count),
            ("Static-Static Collision", 2, 2),
            "{build}"
        );
    }
}

/// The synthetic address of every function symbol: `.text`, `.init.text`
/// and `.exit.text` all start at offset 0 of their section in the file,
/// and get distinct addresses from `MODULE_BASE` (0x1000) on.
///
/// (build, [(symbol, address)]) with the addresses computed apart from
/// ksurf, from `readelf -SW` (section order, sizes, alignments) and
/// `readelf -sW` (st_value); see tests/fixtures/modules/README.md. On
/// arm the Thumb bit stays set, as in the vmlinux.
const SYMBOL_ADDRESSES: [(&str, &[(&str, u64)]); 6] = [
    (
        "x86_64",
        &[
            ("cleanup_module", 0x11c0),
            ("init_module", 0x1140),
            ("mini_check", 0x1080),
            ("mini_exit", 0x11c0),
            ("mini_extra_sum", 0x10c0),
            ("mini_hook", 0x1130),
            ("mini_init", 0x1140),
            ("mini_len", 0x1110),
            ("mini_log", 0x10a0),
            ("mini_log", 0x1120),
            ("mini_submit", 0x1030),
        ],
    ),
    (
        "i686",
        &[
            ("cleanup_module", 0x11b0),
            ("init_module", 0x1140),
            ("mini_check", 0x1080),
            ("mini_exit", 0x11b0),
            ("mini_extra_sum", 0x10c0),
            ("mini_hook", 0x1130),
            ("mini_init", 0x1140),
            ("mini_len", 0x1110),
            ("mini_log", 0x10a0),
            ("mini_log", 0x1120),
            ("mini_submit", 0x1030),
        ],
    ),
    (
        "aarch64",
        &[
            ("cleanup_module", 0x1198),
            ("init_module", 0x1120),
            ("mini_check", 0x106c),
            ("mini_exit", 0x1198),
            ("mini_extra_sum", 0x10a0),
            ("mini_hook", 0x1118),
            ("mini_init", 0x1120),
            ("mini_len", 0x1100),
            ("mini_log", 0x1090),
            ("mini_log", 0x1108),
            ("mini_submit", 0x1024),
        ],
    ),
    (
        "arm",
        &[
            ("cleanup_module", 0x110b),
            ("init_module", 0x10bd),
            ("mini_check", 0x1055),
            ("mini_exit", 0x110b),
            ("mini_extra_sum", 0x107d),
            ("mini_hook", 0x10b7),
            ("mini_init", 0x10bd),
            ("mini_len", 0x10a5),
            ("mini_log", 0x106d),
            ("mini_log", 0x10a9),
            ("mini_submit", 0x1025),
        ],
    ),
    (
        "s390x",
        &[
            ("cleanup_module", 0x11b0),
            ("init_module", 0x1150),
            ("mini_check", 0x1080),
            ("mini_exit", 0x11b0),
            ("mini_extra_sum", 0x10d0),
            ("mini_hook", 0x1140),
            ("mini_init", 0x1150),
            ("mini_len", 0x1120),
            ("mini_log", 0x10b0),
            ("mini_log", 0x1130),
            ("mini_submit", 0x1030),
        ],
    ),
    (
        "riscv64",
        &[
            ("cleanup_module", 0x1140),
            ("init_module", 0x10e4),
            ("mini_check", 0x105e),
            ("mini_exit", 0x1140),
            ("mini_extra_sum", 0x1080),
            ("mini_hook", 0x10dc),
            ("mini_init", 0x10e4),
            ("mini_len", 0x10ca),
            ("mini_log", 0x1072),
            ("mini_log", 0x10ce),
            ("mini_submit", 0x1024),
        ],
    ),
];

#[test]
fn symbols_are_at_their_synthetic_addresses() {
    for (build, symbols) in SYMBOL_ADDRESSES {
        let x = extract(build);
        let got: Vec<(&str, u64)> = x
            .symbols
            .iter()
            .map(|s| (s.name.as_str(), s.addr))
            .collect();
        assert_eq!(got, symbols, "{build}");
    }
}

/// Every out-of-line definition's DWARF address (`DW_AT_low_pc`, from a
/// relocation against its section) is the address of its symbol (rebased
/// the same way), on every build; the three text sections do not overlap.
#[test]
fn dwarf_addresses_match_the_symbols() {
    for build in BUILDS {
        let x = extract(build);
        for e in x
            .entries
            .iter()
            .filter(|e| !e.addr_is_inlined_copy && !e.discarded)
        {
            // Thumb-2 (arm): the symbol's bit 0 is set, the DWARF address even.
            let matching: Vec<_> = x
                .symbols
                .iter()
                .filter(|s| s.stem == e.name && s.addr & !1 == e.addr)
                .collect();
            assert_eq!(matching.len(), 1, "{build}: {} at {:#x}", e.name, e.addr);
            assert!(e.addr >= MODULE_BASE, "{build}: {}", e.name);
        }
        let addr = |name: &str| {
            x.entries
                .iter()
                .find(|e| e.name == name)
                .map(|e| e.addr)
                .unwrap()
        };
        let (submit, init, exit) = (addr("mini_submit"), addr("mini_init"), addr("mini_exit"));
        assert!(
            submit < init && init < exit,
            "{build}: {submit:#x} {init:#x} {exit:#x}"
        );
    }
}

/// Section header `name` of a little-endian ELF file: (file offset of the
/// header, index). `sh_type` is at +4 in both classes, `sh_size` at +32 in
/// ELF64.
fn section_header(bytes: &[u8], name: &str) -> (usize, usize) {
    let file = object::File::parse(bytes).unwrap();
    let index = file.section_by_name(name).unwrap().index().0;
    let word = |at: usize, len: usize| {
        let mut value = 0usize;
        for (i, b) in bytes[at..at + len].iter().enumerate() {
            value |= usize::from(*b) << (8 * i);
        }
        value
    };
    // e_shoff and e_shentsize: ELFCLASS32 at 0x20 and 0x2e, ELFCLASS64 at 0x28 and 0x3a.
    let (shoff, shentsize) = if bytes[4] == 1 {
        (word(0x20, 4), word(0x2e, 2))
    } else {
        (word(0x28, 8), word(0x3a, 2))
    };
    (shoff + index * shentsize, index)
}

/// Without its relocations the x86_64 build's DWARF reads wrong: every
/// `DW_FORM_strx` name goes through `.debug_str_offsets`, whose entries
/// hold 0 until relocated, so every function would have the name at
/// `.debug_str`+0.
#[test]
fn names_read_right_only_once_relocated() {
    let mut bytes = module_bytes("x86_64");
    let (header, _) = section_header(&bytes, ".rela.debug_str_offsets");
    // sh_type SHT_RELA → SHT_PROGBITS: the section no longer relocates.
    bytes[header + 4..header + 8].copy_from_slice(&1u32.to_le_bytes());
    let x = extract_module(Path::new("x86_64.ko"), &bytes).unwrap();
    let names: Vec<&str> = x.entries.iter().map(|e| e.name.as_str()).collect();
    assert!(
        !names.contains(&"mini_submit") && !names.is_empty(),
        "{names:?}"
    );
    let first_string = {
        let file = object::File::parse(&*bytes).unwrap();
        let data = file.section_by_name(".debug_str").unwrap().data().unwrap();
        let end = data.iter().position(|&b| b == 0).unwrap();
        String::from_utf8(data[..end].to_vec()).unwrap()
    };
    assert!(names.iter().all(|n| *n == first_string), "{names:?}");
    // Relocated, the same bytes give the right names.
    let names: Vec<String> = extract("x86_64")
        .entries
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert!(names.iter().any(|n| n == "mini_submit"), "{names:?}");
}

/// On i686 (REL: the addend is in place) the names read right even
/// unrelocated, but not the addresses: `.debug_addr` holds offsets in each
/// text section, so `mini_init` (`.init.text`+0) would have address 0 (no
/// code), as would `mini_submit` (`.text`+0) and `mini_exit`.
#[test]
fn addresses_read_right_only_once_relocated() {
    let addr =
        |x: &ModuleExtraction, name: &str| x.entries.iter().find(|e| e.name == name).unwrap().addr;
    let mut bytes = module_bytes("i686");
    let (header, _) = section_header(&bytes, ".rel.debug_addr");
    bytes[header + 4..header + 8].copy_from_slice(&1u32.to_le_bytes());
    let x = extract_module(Path::new("i686.ko"), &bytes).unwrap();
    assert_eq!(
        (
            addr(&x, "mini_submit"),
            addr(&x, "mini_init"),
            addr(&x, "mini_exit")
        ),
        (0, 0, 0)
    );
    let x = extract("i686");
    assert_eq!(
        (
            addr(&x, "mini_submit"),
            addr(&x, "mini_init"),
            addr(&x, "mini_exit")
        ),
        (0x1030, 0x1140, 0x11b0)
    );
}

/// The first RELA entry of `.rela.debug_info`: (file offset, entry).
fn first_rela(bytes: &[u8]) -> (usize, [u8; 24]) {
    let file = ElfFile64::<Endianness>::parse(bytes).unwrap();
    let endian = file.endian();
    let (_, index) = section_header(bytes, ".rela.debug_info");
    let section = file
        .elf_section_table()
        .section(object::SectionIndex(index))
        .unwrap();
    let offset = section.sh_offset(endian) as usize;
    (offset, bytes[offset..offset + 24].try_into().unwrap())
}

fn module_error(bytes: &[u8]) -> Error {
    extract_module(Path::new("mini.ko"), bytes).unwrap_err()
}

#[test]
fn a_truncated_relocation_section_is_an_error() {
    let mut bytes = module_bytes("x86_64");
    let (header, _) = section_header(&bytes, ".rela.debug_info");
    let size = u64::from_le_bytes(bytes[header + 32..header + 40].try_into().unwrap());
    bytes[header + 32..header + 40].copy_from_slice(&(size - 5).to_le_bytes());
    assert_eq!(
        module_error(&bytes).to_string(),
        "mini.ko: section .rela.debug_info: cannot be read as 24-byte RELA entries: \
         Invalid ELF section size or offset"
    );
    // Past the end of the file.
    bytes[header + 32..header + 40].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert_eq!(
        module_error(&bytes).to_string(),
        "mini.ko: section .rela.debug_info: cannot be read as 24-byte RELA entries: \
         Invalid ELF section size or offset"
    );
}

#[test]
fn a_garbled_relocation_is_an_error_naming_offset_and_type() {
    let original = module_bytes("x86_64");
    let (at, entry) = first_rela(&original);
    let r_offset = u64::from_le_bytes(entry[0..8].try_into().unwrap());
    let r_info = u64::from_le_bytes(entry[8..16].try_into().unwrap());
    let (sym, r_type) = (r_info >> 32, r_info & 0xffff_ffff);
    assert_eq!(r_type, 10, "R_X86_64_32");

    // A symbol index outside .symtab.
    let mut bytes = original.clone();
    let info = (0xffffu64 << 32) | r_type;
    bytes[at + 8..at + 16].copy_from_slice(&info.to_le_bytes());
    let symbols = {
        let file = object::File::parse(&*original).unwrap();
        file.symbols().count() + 1
    };
    assert_eq!(
        module_error(&bytes).to_string(),
        format!(
            "mini.ko: section .rela.debug_info: relocation at .debug_info+{r_offset:#x} \
             of type R_X86_64_32 (10): symbol index 65535 is outside .symtab ({symbols} symbols)"
        )
    );

    // A type that has no business in a DWARF section (R_X86_64_PC32).
    let mut bytes = original.clone();
    let info = (sym << 32) | 2;
    bytes[at + 8..at + 16].copy_from_slice(&info.to_le_bytes());
    assert_eq!(
        module_error(&bytes).to_string(),
        format!(
            "mini.ko: section .rela.debug_info: relocation at .debug_info+{r_offset:#x} \
             of type R_X86_64_PC32 (2): not an absolute relocation: unsupported in a DWARF section"
        )
    );

    // A type no one knows.
    let mut bytes = original.clone();
    let info = (sym << 32) | 0xfe;
    bytes[at + 8..at + 16].copy_from_slice(&info.to_le_bytes());
    assert_eq!(
        module_error(&bytes).to_string(),
        format!(
            "mini.ko: section .rela.debug_info: relocation at .debug_info+{r_offset:#x} \
             of type 254: not an absolute relocation: unsupported in a DWARF section"
        )
    );

    // A place past the end of .debug_info.
    let mut bytes = original.clone();
    let info_size = {
        let file = object::File::parse(&*original).unwrap();
        file.section_by_name(".debug_info").unwrap().size()
    };
    let place = info_size - 2;
    bytes[at..at + 8].copy_from_slice(&place.to_le_bytes());
    assert_eq!(
        module_error(&bytes).to_string(),
        format!(
            "mini.ko: section .rela.debug_info: relocation at .debug_info+{place:#x} \
             of type R_X86_64_32 (10): the 4-byte field is outside the section \
             ({info_size:#x} bytes)"
        )
    );
}

#[test]
fn without_name_in_modinfo_the_file_name_gives_it() {
    let mut bytes = module_bytes("aarch64");
    let at = bytes
        .windows(16)
        .position(|w| w == b"name=ksurf_mini\0")
        .unwrap();
    bytes[at..at + 5].copy_from_slice(b"nome=");
    let x = extract_module(Path::new("/lib/modules/ksurf-mini.ko.xz"), &bytes).unwrap();
    assert_eq!(
        (x.name.as_str(), x.name_from_modinfo),
        ("ksurf_mini", false)
    );
}

#[test]
fn a_vmlinux_is_not_a_module() {
    let path = common::fixture("x86_64-dwarf5");
    let err = extract_module(&path, &std::fs::read(&path).unwrap()).unwrap_err();
    assert!(matches!(err, Error::NotModule { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: not a kernel module: not a relocatable object (ET_REL); \
             a vmlinux goes through extract()",
            path.display()
        )
    );
}

/// A column of strings of `batch`, one per row.
fn strings(batch: &arrow::array::RecordBatch, column: &str) -> Vec<Option<String>> {
    let array = batch
        .column_by_name(column)
        .unwrap_or_else(|| panic!("no column {column}"));
    let array = array
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .unwrap();
    use arrow::array::Array;
    (0..array.len())
        .map(|i| (!array.is_null(i)).then(|| array.value(i).to_owned()))
        .collect()
}

fn u32s(batch: &arrow::array::RecordBatch, column: &str) -> Vec<u32> {
    batch
        .column_by_name(column)
        .unwrap()
        .as_any()
        .downcast_ref::<arrow::array::UInt32Array>()
        .unwrap()
        .values()
        .to_vec()
}

#[test]
fn an_images_modules_become_rows_with_their_module_and_a_broken_one_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("modules-6.1.999");
    std::fs::create_dir_all(root.join("kernel/fs/mini")).unwrap();
    std::fs::create_dir_all(root.join("kernel/drivers")).unwrap();
    std::fs::copy(
        module_path("x86_64"),
        root.join("kernel/fs/mini/ksurf_mini.ko"),
    )
    .unwrap();
    std::fs::write(
        root.join("kernel/drivers/broken-drv.ko"),
        b"not an ELF file",
    )
    .unwrap();
    // Not modules: another file name, and a link to a module.
    std::fs::write(
        root.join("kernel/modules.order"),
        b"kernel/fs/mini/ksurf_mini.ko\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("fs/mini/ksurf_mini.ko", root.join("kernel/link.ko")).unwrap();

    let mut x = common::extract_fixture("x86_64-dwarf5-rela");
    ksurf_extractor::extract_modules(&mut x, &root).unwrap();
    let summary: Vec<(&str, &str, bool)> = x
        .modules
        .iter()
        .map(|m| (m.name.as_str(), m.path.as_str(), m.rows.is_ok()))
        .collect();
    assert_eq!(
        summary,
        [
            ("broken_drv", "kernel/drivers/broken-drv.ko", false),
            ("ksurf_mini", "kernel/fs/mini/ksurf_mini.ko", true),
        ]
    );
    // Named by its path below the directory, whatever the directory.
    let error = x.modules[0].rows.as_ref().unwrap_err();
    assert!(
        error.starts_with("kernel/drivers/broken-drv.ko: "),
        "the error names the file: {error}"
    );

    let tables = ksurf_extractor::tables::image_tables(&x).unwrap();
    let table = |name: TableName| &tables.iter().find(|(t, _)| *t == name).unwrap().1;
    let modules = table(TableName::Modules);
    assert_eq!(
        strings(modules, "module"),
        [Some("broken_drv".into()), Some("ksurf_mini".into())]
    );
    assert_eq!(
        strings(modules, "build_id"),
        [
            None,
            Some("22d3f49d5ce7084dbdf03965ca651e421f38cdc9".into())
        ]
    );
    assert_eq!(u32s(modules, "function_names"), [0, 9]);
    assert_eq!(u32s(modules, "function_instances"), [0, 11]);
    assert_eq!(u32s(modules, "symbols"), [0, 11]);
    assert_eq!(u32s(modules, "compile_units"), [0, 3]);
    assert_eq!(
        strings(modules, "error")[0].as_deref(),
        Some(error.as_str())
    );
    let images = table(TableName::Images);
    assert_eq!(u32s(images, "modules"), [2]);
    assert_eq!(u32s(images, "modules_failed"), [1]);
    // The vmlinux's own rows say so.
    for t in TableName::MODULE_ROWS {
        let column = strings(table(t), "module");
        assert!(!column.is_empty());
        assert!(
            column.iter().all(|m| m.as_deref() == Some("vmlinux")),
            "{t:?}"
        );
    }

    let module_rows = ksurf_extractor::tables::module_tables(&x).unwrap();
    let tables_written: Vec<TableName> = module_rows.iter().map(|(t, _)| *t).collect();
    assert_eq!(tables_written, TableName::MODULE_ROWS);
    let functions = &module_rows[1].1;
    assert_eq!(
        strings(functions, "name"),
        [
            "mini_check",
            "mini_exit",
            "mini_extra_sum",
            "mini_hook",
            "mini_init",
            "mini_len",
            "mini_log",
            "mini_scale",
            "mini_submit"
        ]
        .map(|n| Some(n.to_owned()))
    );
    assert!(strings(functions, "module")
        .iter()
        .all(|m| m.as_deref() == Some("ksurf_mini")));
    assert_eq!(module_rows[0].1.num_rows(), 11);
    assert_eq!(module_rows[2].1.num_rows(), 11);

    // Stored beside the vmlinux's rows; an extraction without modules
    // removes them.
    let ds = ksurf_dataset::Dataset::open(dir.path().join("ds").to_str().unwrap()).unwrap();
    ds.write_image_parts(&x.info.id, &tables, &module_rows, None)
        .unwrap();
    let read = |table| {
        ds.stream_module_rows(&x.info.id, table, 1024, None)
            .unwrap()
            .map(|s| s.map(|b| b.unwrap().num_rows()).sum::<usize>())
    };
    assert_eq!(read(TableName::Functions), Some(9));
    assert_eq!(read(TableName::Symbols), Some(11));
    ds.write_image(&x.info.id, &tables).unwrap();
    assert_eq!(read(TableName::Functions), None);
    assert_eq!(read(TableName::FunctionInstances), None);
}

#[test]
fn a_missing_modules_directory_is_an_error_naming_it() {
    let mut x = common::extract_fixture("x86_64-dwarf5-rela");
    let missing = Path::new("/nonexistent/modules-6.1.999");
    let e = ksurf_extractor::extract_modules(&mut x, missing).unwrap_err();
    assert!(
        matches!(&e, Error::Io { path, .. } if path == missing),
        "{e}"
    );
}

/// What `extract_modules` runs per module, without the type pass, gives
/// the rows `extract_module` gives, on every build, and no types.
#[test]
fn the_functions_only_extraction_gives_the_same_rows_without_types() {
    for build in BUILDS {
        let full = extract(build);
        let functions = ksurf_extractor::extract_module_functions(
            &module_path(build),
            &module_bytes(build),
            None,
        )
        .unwrap();
        assert_eq!(describe(&functions), describe(&full), "{build}");
        assert!(!full.types.is_empty(), "{build}: the full pass reads types");
        assert!(functions.types.is_empty(), "{build}");
    }
}

fn u64s(batch: &arrow::array::RecordBatch, column: &str) -> Vec<u64> {
    batch
        .column_by_name(column)
        .unwrap()
        .as_any()
        .downcast_ref::<arrow::array::UInt64Array>()
        .unwrap()
        .values()
        .to_vec()
}

/// The module's rows in the image's tables, row by row, with the vmlinux
/// of the same arch (the mini kernel): arm64 and s390x (big-endian) as
/// well as x86_64. The `symbols` rows are the module's symbols at their
/// synthetic addresses; the `function_instances` rows are the module's
/// entries (both `mini_hook` definitions, both static `mini_log`s).
#[test]
fn an_images_module_rows_on_x86_64_arm64_and_s390x() {
    for (vmlinux, build, build_id) in [
        (
            "x86_64-dwarf5-rela",
            "x86_64",
            "22d3f49d5ce7084dbdf03965ca651e421f38cdc9",
        ),
        (
            "aarch64",
            "aarch64",
            "e21f3dcb7c270f45a542cbdca3c1f61b85473433",
        ),
        ("s390x", "s390x", "dbbe134b3729d0c26d2494a55aeecd5dfbcbe87d"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("modules");
        std::fs::create_dir_all(root.join("kernel/fs/mini")).unwrap();
        std::fs::copy(
            module_path(build),
            root.join("kernel/fs/mini/ksurf_mini.ko"),
        )
        .unwrap();
        let mut x = common::extract_fixture(vmlinux);
        ksurf_extractor::extract_modules(&mut x, &root).unwrap();

        let tables = ksurf_extractor::tables::image_tables(&x).unwrap();
        let table = |name: TableName| &tables.iter().find(|(t, _)| *t == name).unwrap().1;
        let modules = table(TableName::Modules);
        assert_eq!(
            (
                strings(modules, "module"),
                strings(modules, "path"),
                strings(modules, "build_id"),
                u32s(modules, "compile_units"),
                u32s(modules, "units_failed"),
                u32s(modules, "function_names"),
                u32s(modules, "function_instances"),
                u32s(modules, "symbols"),
                strings(modules, "error"),
            ),
            (
                vec![Some("ksurf_mini".to_owned())],
                vec![Some("kernel/fs/mini/ksurf_mini.ko".to_owned())],
                vec![Some(build_id.to_owned())],
                vec![3],
                vec![0],
                vec![9],
                vec![11],
                vec![11],
                vec![None],
            ),
            "{build}"
        );
        let images = table(TableName::Images);
        assert_eq!(
            (u32s(images, "modules"), u32s(images, "modules_failed")),
            (vec![1], vec![0]),
            "{build}"
        );

        let module_rows = ksurf_extractor::tables::module_tables(&x).unwrap();
        let rows = |name: TableName| &module_rows.iter().find(|(t, _)| *t == name).unwrap().1;
        let ksurf_mini = |n: usize| vec![Some("ksurf_mini".to_owned()); n];

        let symbols = rows(TableName::Symbols);
        let want = SYMBOL_ADDRESSES
            .iter()
            .find(|(b, _)| *b == build)
            .unwrap()
            .1;
        let got: Vec<(String, u64)> = strings(symbols, "name")
            .into_iter()
            .map(Option::unwrap)
            .zip(u64s(symbols, "addr"))
            .collect();
        let want: Vec<(String, u64)> = want.iter().map(|&(n, a)| (n.to_owned(), a)).collect();
        assert_eq!(got, want, "{build}");
        assert_eq!(strings(symbols, "module"), ksurf_mini(11), "{build}");

        let instances = rows(TableName::FunctionInstances);
        let got: Vec<(Option<String>, Option<String>, Option<String>)> = strings(instances, "name")
            .into_iter()
            .zip(strings(instances, "cu_path"))
            .zip(strings(instances, "prototype"))
            .map(|((n, c), p)| (n, c, p))
            .collect();
        let want: Vec<(Option<String>, Option<String>, Option<String>)> = ENTRIES
            .iter()
            .map(|&(name, _, _, _, cu, _, prototype)| {
                (
                    Some(name.to_owned()),
                    Some(cu.to_owned()),
                    Some(prototype.to_owned()),
                )
            })
            .collect();
        assert_eq!(got, want, "{build}");
        assert_eq!(strings(instances, "module"), ksurf_mini(11), "{build}");

        let functions = rows(TableName::Functions);
        let mut names: Vec<&str> = ENTRIES.iter().map(|e| e.0).collect();
        names.dedup();
        assert_eq!(
            strings(functions, "name"),
            names
                .iter()
                .map(|n| Some((*n).to_owned()))
                .collect::<Vec<_>>(),
            "{build}"
        );
        assert_eq!(strings(functions, "module"), ksurf_mini(9), "{build}");
        assert_eq!(
            strings(functions, "collision_type"),
            names
                .iter()
                .map(|n| Some(
                    if *n == "mini_log" {
                        "Static-Static Collision"
                    } else if ["mini_check", "mini_len", "mini_scale"].contains(n) {
                        "Unique Static"
                    } else {
                        "Unique Global"
                    }
                    .to_owned()
                ))
                .collect::<Vec<_>>(),
            "{build}"
        );
    }
}
