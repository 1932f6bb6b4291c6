//! Finding BPF ELF objects in a file and reading each into a
//! [`BpfObject`].
//!
//! A file is either a BPF ELF object itself (`e_machine` `EM_BPF` = 247,
//! `e_type` `ET_REL`: a `.bpf.o`) or an ELF executable or shared object
//! that embeds BPF objects as bytes: a libbpf skeleton keeps the `.bpf.o`
//! in `.rodata`, Go's `bpf2go` in a data section. Embedded objects are
//! found by scanning the bytes for an ELF identification (`\x7fELF`)
//! whose header says `EM_BPF` and `ET_REL`; an object's length is where
//! its last section, or its section header table
//! (`e_shoff + e_shnum * e_shentsize`), ends, whichever is later.
//!
//! Reading one object combines [`crate::program`] (programs, attach
//! points), [`crate::core_relo`] (CO-RE relocations from `.BTF.ext`) and
//! [`crate::externs`] (`.ksyms`, `.kconfig`), all over the `.BTF` that
//! [`crate::btf`] reads. ELF structures are read through the `object`
//! crate; every offset computed here is checked.

use crate::btf::ObjectBtf;
use crate::deps::BpfObject;
use crate::error::{Error, Result};
use crate::{core_relo, externs, program};
use btf_rs::{BtfType, Type};
use object::read::elf::ElfFile64;
use object::{Object, ObjectSection, ObjectSymbol};
use std::ops::Range;
use std::path::Path;

/// `EM_BPF`.
const EM_BPF: u16 = 247;
/// `ET_REL`.
const ET_REL: u16 = 1;
const ELF_MAGIC: &[u8; 4] = b"\x7fELF";

/// What an ELF identification and header at some offset of a file say.
#[derive(Clone, Copy, Debug)]
struct ElfHeader {
    big_endian: bool,
    is64: bool,
    e_type: u16,
    e_machine: u16,
}

/// Reads the ELF identification and `e_type`/`e_machine` at `at`; `None`
/// when the bytes are no ELF header (bad magic, class or data encoding,
/// too short).
fn elf_header(data: &[u8], at: usize) -> Option<ElfHeader> {
    let h = data.get(at..at.checked_add(20)?)?;
    if &h[..4] != ELF_MAGIC {
        return None;
    }
    let is64 = match h[4] {
        1 => false,
        2 => true,
        _ => return None,
    };
    let big_endian = match h[5] {
        1 => false,
        2 => true,
        _ => return None,
    };
    let u16_of = |b: [u8; 2]| {
        if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    };
    Some(ElfHeader {
        big_endian,
        is64,
        e_type: u16_of([h[16], h[17]]),
        e_machine: u16_of([h[18], h[19]]),
    })
}

/// Where an ELF object starting at `at` ends: the later of the end of its
/// section header table and the end of its last section with file
/// contents. `Err((offset, message))` with the offset relative to `at`
/// when a header field runs past `data` or the object would.
fn elf_extent(data: &[u8], at: usize, h: ElfHeader) -> Result<usize, (u64, String)> {
    let obj = &data[at..];
    let read = |o: usize, n: usize| -> Result<u64, (u64, String)> {
        let b = o.checked_add(n).and_then(|e| obj.get(o..e)).ok_or((
            o as u64,
            format!("ELF header field at {o:#x} runs past the data"),
        ))?;
        let mut v = 0u64;
        if h.big_endian {
            for &x in b {
                v = (v << 8) | u64::from(x);
            }
        } else {
            for &x in b.iter().rev() {
                v = (v << 8) | u64::from(x);
            }
        }
        Ok(v)
    };
    let (shoff, shentsize, mut shnum, ehsize) = if h.is64 {
        (read(0x28, 8)?, read(0x3a, 2)?, read(0x3c, 2)?, 64u64)
    } else {
        (read(0x20, 4)?, read(0x2e, 2)?, read(0x30, 2)?, 52u64)
    };
    if shoff == 0 {
        return Ok(at + ehsize as usize);
    }
    let min_ent = if h.is64 { 64 } else { 40 };
    if shentsize < min_ent {
        return Err((
            if h.is64 { 0x3a } else { 0x2e },
            format!("section header size {shentsize} is under {min_ent}"),
        ));
    }
    let sh = |i: u64, field64: usize, field32: usize, n64: usize, n32: usize| {
        let base = i
            .checked_mul(shentsize)
            .and_then(|x| x.checked_add(shoff))
            .and_then(|x| usize::try_from(x).ok())
            .ok_or((shoff, "section header offset overflows".to_owned()))?;
        let (f, n) = if h.is64 {
            (field64, n64)
        } else {
            (field32, n32)
        };
        read(
            base.checked_add(f)
                .ok_or((shoff, "section header offset overflows".to_owned()))?,
            n,
        )
    };
    if shnum == 0 {
        // Extended numbering: the count is section 0's sh_size.
        shnum = sh(0, 0x20, 0x14, 8, 4)?;
    }
    let table_end = shnum
        .checked_mul(shentsize)
        .and_then(|x| x.checked_add(shoff))
        .ok_or((shoff, "section header table size overflows".to_owned()))?;
    if table_end > obj.len() as u64 {
        return Err((
            shoff,
            format!(
                "section header table ({shnum} entries of {shentsize} bytes) ends at {table_end:#x}, past the data ({:#x} bytes)",
                obj.len()
            ),
        ));
    }
    let mut end = table_end;
    for i in 0..shnum {
        let sh_type = sh(i, 0x04, 0x04, 4, 4)?;
        if sh_type == u64::from(object::elf::SHT_NOBITS.0) || sh_type == 0 {
            continue;
        }
        let offset = sh(i, 0x18, 0x10, 8, 4)?;
        let size = sh(i, 0x20, 0x14, 8, 4)?;
        let sec_end = offset
            .checked_add(size)
            .ok_or((shoff, format!("section {i} extent overflows")))?;
        if sec_end > obj.len() as u64 {
            return Err((
                offset,
                format!(
                    "section {i} ({size:#x} bytes at {offset:#x}) runs past the data ({:#x} bytes)",
                    obj.len()
                ),
            ));
        }
        end = end.max(sec_end);
    }
    // Bounded by obj.len() above.
    Ok(at + end as usize)
}

/// Where the BPF objects of a file are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// The file is one BPF object.
    Object,
    /// The file embeds these objects: byte ranges in the file, in file
    /// order.
    Embedded(Vec<Range<usize>>),
}

/// Where the BPF objects in `data` are: `data` itself, or each embedded
/// object. `label` names the file in errors.
///
/// Errors: [`Error::NotBpf`] when `data` is not ELF, is an `EM_BPF` ELF
/// that is not relocatable, or embeds no BPF object;
/// [`Error::Malformed`] naming `<label>#<n>`, the ELF header or section
/// header table and the offset in the embedded object when an embedded
/// object's headers run past the file.
pub fn find_objects(label: &str, data: &[u8]) -> Result<Found> {
    let Some(top) = elf_header(data, 0) else {
        return Err(Error::NotBpf {
            label: label.to_owned(),
            message: "not an ELF file".to_owned(),
        });
    };
    if top.e_machine == EM_BPF {
        if top.e_type != ET_REL {
            return Err(Error::NotBpf {
                label: label.to_owned(),
                message: format!("BPF ELF of type {}, not a relocatable object", top.e_type),
            });
        }
        return Ok(Found::Object);
    }
    let mut found = Vec::new();
    let mut i = 1;
    while let Some(p) = data
        .get(i..)
        .and_then(|rest| rest.windows(4).position(|w| w == ELF_MAGIC))
    {
        let at = i + p;
        match elf_header(data, at) {
            Some(h) if h.e_machine == EM_BPF && h.e_type == ET_REL => {
                let end =
                    elf_extent(data, at, h).map_err(|(offset, message)| Error::Malformed {
                        label: format!("{label}#{}", found.len() + 1),
                        section: "ELF headers".to_owned(),
                        offset,
                        message: format!("embedded object at file offset {at:#x}: {message}"),
                    })?;
                found.push(at..end);
                i = end.max(at + 1);
            }
            _ => i = at + 1,
        }
    }
    if found.is_empty() {
        return Err(Error::NotBpf {
            label: label.to_owned(),
            message: "ELF file with no embedded BPF object".to_owned(),
        });
    }
    Ok(Found::Embedded(found))
}

/// Reads every BPF object of file `path` (see [`find_objects`]). A BPF
/// object file is labelled with its path; embedded objects
/// `<path>#<n>`, n from 1 in file order.
///
/// Errors: [`Error::Io`] when the file cannot be read, then as
/// [`find_objects`] and [`parse_object`].
pub fn read_objects(path: &Path) -> Result<Vec<BpfObject>> {
    let data = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    objects_in(&path.display().to_string(), &data)
}

/// [`read_objects`] over bytes already in memory; `label` stands for the
/// path.
pub fn objects_in(label: &str, data: &[u8]) -> Result<Vec<BpfObject>> {
    match find_objects(label, data)? {
        Found::Object => Ok(vec![parse_object(label, data)?]),
        Found::Embedded(ranges) => ranges
            .into_iter()
            .enumerate()
            .map(|(n, r)| parse_object(&format!("{label}#{}", n + 1), &data[r]))
            .collect(),
    }
}

/// Reads one BPF ELF object (`data` is exactly the object) labelled
/// `label`: programs from the symbol table and section names, CO-RE
/// relocations from `.BTF.ext`, externs from `.BTF`'s `.ksyms` and
/// `.kconfig` data sections, and notes (unknown sections, no `.BTF`,
/// `.struct_ops` maps).
///
/// Errors: [`Error::NotBpf`] when `data` is an ELF file of another
/// machine; [`Error::Malformed`] naming `label`, the section (`ELF
/// headers` for the file structure) and the offset in it where reading
/// failed.
pub fn parse_object(label: &str, data: &[u8]) -> Result<BpfObject> {
    let malformed = |section: &str, offset: u64, message: String| Error::Malformed {
        label: label.to_owned(),
        section: section.to_owned(),
        offset,
        message,
    };
    let h = elf_header(data, 0)
        .ok_or_else(|| malformed("ELF headers", 0, "no ELF identification".to_owned()))?;
    if h.e_machine != EM_BPF {
        return Err(Error::NotBpf {
            label: label.to_owned(),
            message: format!("ELF for machine {}, not BPF ({EM_BPF})", h.e_machine),
        });
    }
    if !h.is64 {
        return Err(malformed(
            "ELF headers",
            4,
            "BPF objects are 64-bit ELF; this is 32-bit".to_owned(),
        ));
    }
    elf_extent(data, 0, h)
        .map_err(|(offset, message)| malformed("ELF headers", offset, message))?;
    let file = ElfFile64::<object::Endianness>::parse(data)
        .map_err(|e| malformed("ELF headers", 0, e.to_string()))?;
    let (programs, mut notes) = program::programs(label, &file)?;

    let section_bytes = |name: &str| -> Result<Option<&[u8]>> {
        match file.section_by_name(name) {
            None => Ok(None),
            Some(s) => s
                .data()
                .map(Some)
                .map_err(|e| malformed(name, 0, e.to_string())),
        }
    };
    let mut object = BpfObject {
        label: label.to_owned(),
        programs,
        ..BpfObject::default()
    };
    let Some(btf_bytes) = section_bytes(".BTF")? else {
        notes.push("no .BTF section: CO-RE relocations and externs are not recorded".to_owned());
        object.notes = notes;
        return Ok(object);
    };
    let btf = ObjectBtf::parse(label, btf_bytes)?;
    if let Some(ext) = section_bytes(".BTF.ext")? {
        let (core, core_notes) = core_relo::core_relocations(label, ext, h.big_endian, &btf)?;
        object.core = core;
        notes.extend(core_notes);
    }
    let weak: Vec<String> = file
        .symbols()
        .filter(|s| s.is_undefined() && s.is_weak())
        .filter_map(|s| s.name().ok().map(str::to_owned))
        .collect();
    (object.ksyms, object.kconfig) = externs::externs(&btf, &weak);
    notes.extend(struct_ops_notes(&btf));
    object.notes = notes;
    Ok(object)
}

/// A note per variable of a `.struct_ops` or `.struct_ops.link` data
/// section: a `struct_ops` map, which implements a kernel `struct … _ops`
/// type (`struct tcp_congestion_ops`).
fn struct_ops_notes(btf: &ObjectBtf) -> Vec<String> {
    let mut notes = Vec::new();
    for id in 1..btf.count() {
        let Some(Type::Datasec(sec)) = btf.type_by_id(id) else {
            continue;
        };
        let sec_name = btf.name_of(&sec);
        if !sec_name.starts_with(".struct_ops") {
            continue;
        }
        for v in &sec.variables {
            let Some(var) = v.get_type_id().and_then(|i| btf.type_by_id(i)) else {
                continue;
            };
            let ty = var
                .as_btf_type()
                .and_then(|b| b.get_type_id())
                .and_then(|i| btf.skip_mods_and_typedefs(i))
                .map(|(_, t)| btf.type_name(&t))
                .unwrap_or_default();
            notes.push(format!(
                "section `{sec_name}`: struct_ops map `{}` implements `struct {ty}`",
                btf.type_name(&var)
            ));
        }
    }
    notes
}
