//! The interface modules (image data, syscalls, tracepoints) on the
//! fixtures of `tests/fixtures/interfaces/` (see its `interfaces.c`):
//! x86_64, big-endian s390x (tables as size-0 assembler labels) and aarch64
//! linked `-static-pie` (pointers in `.rela.dyn`).

use std::path::{Path, PathBuf};

use ksurf_extractor::image_data::{ImageData, SymbolKind};
use ksurf_extractor::syscalls::{self, SyscallRow};
use ksurf_extractor::tracepoints::{self, TracepointArg, TracepointRow};
use ksurf_extractor::IdentityOverrides;
use object::{Object, ObjectSection};

const ARCHES: [&str; 3] = ["x86_64", "s390x", "aarch64"];

fn fixture(arch: &str) -> (PathBuf, Vec<u8>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/interfaces/bin")
        .join(format!("{arch}.elf"));
    let data = std::fs::read(&path).unwrap();
    (path, data)
}

fn row(abi: &'static str, number: u32, name: &str, entry: &str) -> SyscallRow {
    SyscallRow {
        abi,
        number,
        name: name.to_owned(),
        entry: entry.to_owned(),
        implemented: name != "ni_syscall",
    }
}

#[test]
fn image_data_headers_and_symbols() {
    for arch in ARCHES {
        let (path, data) = fixture(arch);
        let image = ImageData::parse(&path, &data).unwrap();
        assert_eq!(image.pointer_size(), 8, "{arch}");
        assert_eq!(image.big_endian(), arch == "s390x", "{arch}");
        let table = image.symbol("sys_call_table").unwrap();
        let expected = if arch == "s390x" {
            (0, SymbolKind::NoType)
        } else {
            (32, SymbolKind::Object)
        };
        assert_eq!((table.size, table.kind), expected, "{arch}");
        assert!(image
            .symbols_at(table.address)
            .any(|s| s.name == "sys_call_table"));
        let banner = image.symbol("linux_banner").unwrap().address;
        assert_eq!(
            image.c_string(banner, 100).unwrap(),
            "Linux version 6.1.999-interfaces (ksurf fixture)\n"
        );
        assert!(image
            .c_string(banner, 5)
            .unwrap_err()
            .contains("no NUL within 5 bytes"));
    }
    assert_eq!(
        ImageData::parse(Path::new("x"), b"\x7fELF")
            .unwrap_err()
            .split(':')
            .next(),
        Some("x")
    );
}

#[test]
fn image_data_reads_relocated_and_big_endian_pointers() {
    for arch in ARCHES {
        let (path, data) = fixture(arch);
        let image = ImageData::parse(&path, &data).unwrap();
        let table = image.symbol("sys_call_table").unwrap().address;
        let read = image.symbol(&format!(
            "{}read",
            match arch {
                "x86_64" => "__x64_sys_",
                "s390x" => "__s390x_sys_",
                _ => "__arm64_sys_",
            }
        ));
        assert_eq!(
            image.read_pointer(table).unwrap(),
            read.unwrap().address,
            "{arch}"
        );
        // The value comes from the relocation (GNU ld also leaves it in the
        // file here; arm64's vmlinux has zero there instead).
        if arch == "aarch64" {
            assert!(image.relocation_count().unwrap() > 20);
        } else {
            assert_eq!(image.read_u64(table).unwrap(), read.unwrap().address);
            assert_eq!(image.relocation_count().unwrap(), 0);
        }
    }
}

#[test]
fn image_data_refuses_bad_addresses() {
    let (path, data) = fixture("x86_64");
    let image = ImageData::parse(&path, &data).unwrap();
    let err = image.read_u64(0x10).unwrap_err();
    assert!(
        err.contains("x86_64.elf") && err.contains("0x10 is outside"),
        "{err}"
    );
    let bss = image.symbol("bss_counter").unwrap().address;
    let err = image.read_u32(bss).unwrap_err();
    assert!(err.contains("NOBITS"), "{err}");
    let rodata = image
        .sections()
        .iter()
        .find(|s| s.name == ".rodata")
        .unwrap();
    let end = rodata.address + rodata.size;
    let err = image.bytes_at(end - 4, 8).unwrap_err();
    assert!(err.contains("cross the end of .rodata"), "{err}");
    assert_eq!(image.bytes_at(end - 4, 4).unwrap().len(), 4);
}

/// Rewrites the type (and symbol) of the `.rela.dyn` entry for `slot`.
fn patch_relocation(data: &mut [u8], slot: u64, info: u64) {
    let file = object::File::parse(&*data).unwrap();
    let rela = file.section_by_name(".rela.dyn").unwrap();
    let (offset, size) = rela.file_range().unwrap();
    drop(file);
    for at in (offset..offset + size).step_by(24) {
        let at = at as usize;
        if u64::from_le_bytes(data[at..at + 8].try_into().unwrap()) == slot {
            data[at + 8..at + 16].copy_from_slice(&info.to_le_bytes());
            return;
        }
    }
    panic!("no relocation at {slot:#x}");
}

#[test]
fn image_data_relocation_types() {
    let (path, data) = fixture("aarch64");
    let image = ImageData::parse(&path, &data).unwrap();
    let table = image.symbol("sys_call_table").unwrap().address;
    let read = image.read_pointer(table).unwrap();
    drop(image);

    // R_AARCH64_ABS64 against symbol 0 (value 0): the addend.
    let mut abs = data.clone();
    patch_relocation(&mut abs, table, 257);
    let image = ImageData::parse(&path, &abs).unwrap();
    assert_eq!(image.read_pointer(table).unwrap(), read);

    // R_AARCH64_GLOB_DAT (1025) is not applied: an error, not a guess.
    let mut other = data.clone();
    patch_relocation(&mut other, table, 1025);
    let image = ImageData::parse(&path, &other).unwrap();
    let err = image.read_pointer(table).unwrap_err();
    assert!(
        err.contains("aarch64.elf")
            && err.contains("type 1025")
            && err.contains(&format!("{table:#x}")),
        "{err}"
    );
    assert_eq!(
        image.read_pointer(table + 8).unwrap(),
        image.symbol("__arm64_sys_write").unwrap().address
    );
    let err = syscalls::extract(&image).unwrap_err();
    assert!(err.contains("type 1025"), "{err}");

    // An absolute relocation naming a symbol past its table.
    let mut bad = data;
    patch_relocation(&mut bad, table, (999 << 32) | 257);
    let image = ImageData::parse(&path, &bad).unwrap();
    assert!(image
        .read_pointer(table)
        .unwrap_err()
        .contains("symbol 999"));
}

#[test]
fn syscall_rows() {
    for arch in ARCHES {
        let (path, data) = fixture(arch);
        let image = ImageData::parse(&path, &data).unwrap();
        let rows = syscalls::extract(&image).unwrap();
        let expected = match arch {
            "x86_64" => vec![
                row("ia32", 0, "read", "__ia32_sys_read"),
                row("ia32", 1, "ni_syscall", "__ia32_sys_ni_syscall"),
                row("ia32", 2, "getpid", "__x64_sys_getpid"),
                row("native", 0, "read", "__x64_sys_read"),
                row("native", 1, "write", "__x64_sys_write"),
                row("native", 2, "ni_syscall", "__x64_sys_ni_syscall"),
                row("native", 3, "getpid", "__x64_sys_getpid"),
            ],
            "aarch64" => vec![
                row("compat", 0, "read", "__arm64_compat_sys_read"),
                row("compat", 1, "ni_syscall", "__arm64_compat_sys_ni_syscall"),
                row("compat", 2, "getpid", "__arm64_sys_getpid"),
                row("native", 0, "read", "__arm64_sys_read"),
                row("native", 1, "write", "__arm64_sys_write"),
                row("native", 2, "ni_syscall", "__arm64_sys_ni_syscall"),
                row("native", 3, "getpid", "__arm64_sys_getpid"),
            ],
            _ => vec![
                row("compat", 0, "read", "__s390_sys_read"),
                row("compat", 1, "ni_syscall", "__s390_sys_ni_syscall"),
                row("compat", 2, "ni_syscall", "__s390_sys_ni_syscall"),
                row("compat", 3, "getpid", "__s390x_sys_getpid"),
                row("native", 0, "read", "__s390x_sys_read"),
                row("native", 1, "write", "__s390x_sys_write"),
                row("native", 2, "ni_syscall", "__s390x_sys_ni_syscall"),
                row("native", 3, "getpid", "__s390x_sys_getpid"),
            ],
        };
        assert_eq!(rows, expected, "{arch}");
    }
}

#[test]
fn syscall_slot_without_symbol_is_an_error() {
    let (path, mut data) = fixture("x86_64");
    let image = ImageData::parse(&path, &data).unwrap();
    let table = image.symbol("sys_call_table").unwrap();
    let section = &image
        .sections()
        .iter()
        .find(|s| s.name == ".rodata")
        .unwrap()
        .clone();
    let at = (section.file_offset + table.address - section.address + 8) as usize;
    let slot = table.address + 8;
    drop(image);
    data[at..at + 8].copy_from_slice(&0x1234u64.to_le_bytes());
    let image = ImageData::parse(&path, &data).unwrap();
    let err = syscalls::extract(&image).unwrap_err();
    assert!(
        err.contains("x86_64.elf")
            && err.contains("sys_call_table[1]")
            && err.contains(&format!("{slot:#x}"))
            && err.contains("0x1234"),
        "{err}"
    );
}

fn arg(name: &str, ty: &str) -> TracepointArg {
    TracepointArg {
        name: name.to_owned(),
        ty: ty.to_owned(),
    }
}

#[test]
fn tracepoint_rows() {
    for arch in ARCHES {
        let (path, data) = fixture(arch);
        let overrides = IdentityOverrides {
            distro: Some("debian".into()),
            release: Some("6.1.999-interfaces".into()),
            flavor: Some("interfaces".into()),
            arch: Some(arch.into()),
        };
        let extraction = ksurf_extractor::extract_bytes(&path, &data, &overrides).unwrap();
        let image = ImageData::parse(&path, &data).unwrap();
        let rows = tracepoints::extract(&image, &extraction.entries, &extraction.types).unwrap();
        let skb_args = Some(vec![
            arg("skb", "struct sk_buff *"),
            arg("location", "void *"),
        ]);
        let expected = vec![
            TracepointRow {
                name: "pelt_bare_tp".into(),
                system: None,
                class: "pelt_bare_tp".into(),
                has_event: false,
                args: Some(vec![arg("p", "struct task_struct *")]),
                event_struct: None,
            },
            TracepointRow {
                name: "sched_switch".into(),
                system: Some("sched".into()),
                class: "sched_switch".into(),
                has_event: true,
                args: Some(vec![
                    arg("preempt", "int"),
                    arg("prev", "struct task_struct *"),
                    arg("next", "struct task_struct *"),
                ]),
                event_struct: Some("trace_event_raw_sched_switch".into()),
            },
            TracepointRow {
                name: "skb_consume".into(),
                system: Some("skb".into()),
                class: "skb_class".into(),
                has_event: true,
                args: skb_args.clone(),
                event_struct: Some("trace_event_raw_skb_class".into()),
            },
            TracepointRow {
                name: "skb_free".into(),
                system: Some("skb".into()),
                class: "skb_class".into(),
                has_event: true,
                args: skb_args,
                event_struct: Some("trace_event_raw_skb_class".into()),
            },
        ];
        assert_eq!(rows, expected, "{arch}");
    }
}

#[test]
fn tracepoint_event_pointer_outside_the_image_is_an_error() {
    let (path, mut data) = fixture("x86_64");
    let overrides = IdentityOverrides {
        distro: Some("debian".into()),
        release: Some("6.1.999-interfaces".into()),
        flavor: Some("interfaces".into()),
        arch: Some("x86_64".into()),
    };
    let extraction = ksurf_extractor::extract_bytes(&path, &data, &overrides).unwrap();
    let image = ImageData::parse(&path, &data).unwrap();
    let start = image.symbol("__start_ftrace_events").unwrap().address;
    let section = image.section_at(start).unwrap().clone();
    drop(image);
    let at = (section.file_offset + start - section.address) as usize;
    data[at..at + 8].copy_from_slice(&0x10u64.to_le_bytes());
    let image = ImageData::parse(&path, &data).unwrap();
    let err = tracepoints::extract(&image, &extraction.entries, &extraction.types).unwrap_err();
    assert!(
        err.contains("x86_64.elf") && err.contains("is outside every allocated section"),
        "{err}"
    );
}
