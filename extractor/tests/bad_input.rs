//! Bad input gets a clear error naming the input (and the offset for
//! DWARF), never a panic; a bad compile unit is counted, not fatal.

mod common;

use std::path::Path;

use common::fixture;
use ksurf_extractor::{extract, extract_bytes, Error, IdentityOverrides};
use object::{Object, ObjectSection};

fn overrides() -> IdentityOverrides {
    IdentityOverrides::default()
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

/// File offset and size of a section of a fixture.
fn section_range(bytes: &[u8], name: &str) -> (usize, usize) {
    let file = object::File::parse(bytes).unwrap();
    let section = file.section_by_name(name).unwrap();
    let (offset, size) = section.file_range().unwrap();
    (offset as usize, size as usize)
}

#[test]
fn missing_file_names_the_path() {
    let err = extract(Path::new("/nonexistent/vmlinux-1"), &overrides()).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with("/nonexistent/vmlinux-1: "),
        "{err}"
    );
}

/// A kernel module is not taken for an image (its addresses are synthetic
/// and it has no tracepoint or syscall tables).
#[test]
fn a_kernel_module_is_not_an_image() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/modules/bin/x86_64.ko");
    let bytes = std::fs::read(&path).unwrap();
    let err = extract_bytes(Path::new("x86_64.ko"), &bytes, &overrides()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "x86_64.ko: a kernel module (ELF relocatable object), not a vmlinux"
    );
}

#[test]
fn not_an_elf_is_refused() {
    let err = extract_bytes(
        Path::new("notes.txt"),
        b"hello, not an ELF file",
        &overrides(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Elf { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("notes.txt: not a readable ELF file"),
        "{err}"
    );
}

#[test]
fn truncated_elf_is_refused() {
    let bytes = fixture_bytes("x86_64-dwarf5");
    for len in [0, 16, 64, 4096, bytes.len() / 2, bytes.len() - 1] {
        let err = extract_bytes(Path::new("vmlinux-cut"), &bytes[..len], &overrides())
            .err()
            .unwrap_or_else(|| panic!("{len} bytes were accepted"));
        assert!(err.to_string().starts_with("vmlinux-cut: "), "{len}: {err}");
    }
}

#[test]
fn missing_dwarf_says_so() {
    let err = extract(&fixture("x86_64-nodebug"), &overrides()).unwrap_err();
    assert!(matches!(err, Error::NoDwarf { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("x86_64-nodebug.elf: has no DWARF debug information"),
        "{err}"
    );
}

#[test]
fn a_corrupt_unit_is_counted_and_the_rest_extracted() {
    let mut bytes = fixture_bytes("x86_64-dwarf5");
    let (info, _) = section_range(&bytes, ".debug_info");
    // The second unit (init/main.c) starts right after the first; its root
    // DIE's abbreviation code follows the 12-byte DWARF 5 unit header.
    let first_len = u32::from_le_bytes(bytes[info..info + 4].try_into().unwrap()) as usize;
    let second = first_len + 4;
    let root_code = info + second + 12;
    bytes[root_code..root_code + 4].copy_from_slice(&[0xff, 0xff, 0xff, 0x0f]);

    let x = extract_bytes(Path::new("vmlinux-corrupt"), &bytes, &overrides()).unwrap();
    assert_eq!(x.compile_units, 11);
    assert_eq!(x.unit_errors.len(), 1, "{:?}", x.unit_errors);
    let e = &x.unit_errors[0];
    assert_eq!(e.unit_offset, second as u64);
    assert!(
        e.message.starts_with(&format!(
            "vmlinux-corrupt: unit at .debug_info+{second:#x}: "
        )),
        "{}",
        e.message
    );
    // Functions of other units are still there; start_kernel (init/main.c) is
    // only known from call sites now.
    assert!(x.entries.iter().any(|f| f.name == "core_init" && f.defined));
    let start_kernel: Vec<_> = x
        .entries
        .iter()
        .filter(|f| f.name == "start_kernel")
        .collect();
    assert!(start_kernel.iter().all(|f| !f.defined), "{start_kernel:?}");
}

#[test]
fn a_die_error_inside_a_unit_names_its_offset() {
    let mut bytes = fixture_bytes("x86_64-dwarf5");
    let (info, size) = section_range(&bytes, ".debug_info");
    // Cut the last unit short: its length now runs past the section end.
    let mut offset = 0;
    let mut last = 0;
    while offset < size {
        last = offset;
        offset += u32::from_le_bytes(bytes[info + offset..info + offset + 4].try_into().unwrap())
            as usize
            + 4;
    }
    let declared = u32::from_le_bytes(bytes[info + last..info + last + 4].try_into().unwrap());
    bytes[info + last..info + last + 4].copy_from_slice(&(declared + 64).to_le_bytes());
    let x = extract_bytes(Path::new("vmlinux-long-unit"), &bytes, &overrides()).unwrap();
    assert_eq!(x.unit_errors.len(), 1, "{:?}", x.unit_errors);
    assert_eq!(x.unit_errors[0].unit_offset, last as u64);
    assert!(
        x.unit_errors[0]
            .message
            .contains(&format!(".debug_info+{last:#x}")),
        "{}",
        x.unit_errors[0].message
    );
}

/// Patches the `ch_size` of a compressed section's ELF64 `Chdr`.
fn with_declared_size(bytes: &[u8], section: &str, size: u64) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    let (offset, _) = section_range(&bytes, section);
    bytes[offset + 8..offset + 16].copy_from_slice(&size.to_le_bytes());
    bytes
}

#[test]
fn decompression_bombs_and_lies_are_refused() {
    let bytes = fixture_bytes("x86_64-dwarf5-zlib");
    let bomb = with_declared_size(&bytes, ".debug_info", 1 << 40);
    let err = extract_bytes(Path::new("vmlinux-bomb"), &bomb, &overrides()).unwrap_err();
    assert!(matches!(err, Error::Section { .. }), "{err:?}");
    assert!(err.to_string().starts_with("vmlinux-bomb: section .debug_info: declares an uncompressed size of 1099511627776 bytes"), "{err}");

    let file = object::File::parse(&*bytes).unwrap();
    let real = file
        .section_by_name(".debug_info")
        .unwrap()
        .compressed_data()
        .unwrap()
        .uncompressed_size;
    let lie = with_declared_size(&bytes, ".debug_info", real + 1);
    let err = extract_bytes(Path::new("vmlinux-lie"), &lie, &overrides()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("vmlinux-lie: section .debug_info: decompressed to {real} bytes, but the header says {}", real + 1)
    );
    let short = with_declared_size(&bytes, ".debug_info", real - 1);
    let err = extract_bytes(Path::new("vmlinux-short"), &short, &overrides()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("vmlinux-short: section .debug_info: decompressed to {real} bytes, but the header says {}", real - 1)
    );

    let zstd = fixture_bytes("x86_64-dwarf5-zstd");
    let (offset, size) = section_range(&zstd, ".debug_info");
    let mut garbled = zstd.clone();
    for b in &mut garbled[offset + 24..offset + size] {
        *b ^= 0x5a;
    }
    let err = extract_bytes(Path::new("vmlinux-garbled"), &garbled, &overrides()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("vmlinux-garbled: section .debug_info: decompressing: "),
        "{err}"
    );
}

#[test]
fn unknown_identity_asks_for_flags() {
    let bytes = fixture_bytes("x86_64-dwarf5");
    // Replace the banner so that nothing names the release.
    let needle = b"Linux version ";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    let mut patched = bytes.clone();
    patched[at..at + needle.len()].copy_from_slice(b"XXXXX version ");
    let err = extract_bytes(Path::new("kernel.elf"), &patched, &overrides())
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "kernel.elf: cannot tell the image identity: no linux_banner or init_uts_ns in the ELF and no release in the file name; pass --release"
    );
    let x = extract_bytes(
        Path::new("kernel.elf"),
        &patched,
        &IdentityOverrides {
            distro: Some("ubuntu".into()),
            release: Some("5.4.0-26-generic".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(x.info.id.to_string(), "ubuntu/5.4.0-26-generic/amd64");
    assert_eq!(x.info.flavor, "generic");
}
