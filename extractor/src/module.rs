//! A kernel module (`.ko`, an ELF relocatable object, `ET_REL`) made to
//! read like a vmlinux. This module owns what a relocatable object needs
//! before the symbol and DWARF code can use it as they use a vmlinux:
//!
//! - **The synthetic load layout** ([`Layout`]). Every section of a `.ko`
//!   has `sh_addr` 0, so `.text`, `.init.text` and `.exit.text` all start
//!   at address 0. The `SHF_ALLOC` sections are given distinct addresses
//!   instead: in section-header order, each aligned to its `sh_addralign`,
//!   the first at [`MODULE_BASE`]; `SHT_NOBITS` sections (`.bss`) take room
//!   like the others. Non-allocated sections (the DWARF sections among
//!   them) keep address 0, so a relocation against `.debug_str` gives an
//!   offset in `.debug_str`. Symbol values are rebased by their section's
//!   address ([`Layout::symbol_address`]); everything keyed by address
//!   (`DW_AT_low_pc` against symbols, inlined copies) then works as for a
//!   vmlinux. The layout is not the one the kernel's module loader picks
//!   (it groups core and init sections by permission); it is only
//!   consistent within the file.
//! - **The relocation of the DWARF sections** ([`Relocator`]). In a
//!   relocatable object `.rela.debug_info`, `.rela.debug_line`,
//!   `.rela.debug_str_offsets`, `.rela.debug_addr`, `.rela.debug_rnglists`
//!   (`.rel.*` with implicit addends on i386 and armhf) are required: the
//!   section contents hold 0 (RELA) or the addend alone (REL) where an
//!   offset or address goes. They are applied to an owned copy of each
//!   DWARF section the extractor reads: value = S + A, with S the target
//!   symbol's rebased value (0 for undefined and common symbols, `st_value`
//!   for absolute ones). The kind, size and addend of each relocation come
//!   from the `object` crate; RISC-V's paired `R_RISCV_ADD*`/`SUB*`/`SET*`
//!   (and `SET_ULEB128`/`SUB_ULEB128`), which `object` leaves unknown, are
//!   applied here by type. Anything else is an [`Error::Relocation`].
//! - **The module name** ([`module_name`]): the `name=` string of
//!   `.modinfo`, which modpost writes into every module (`name=xfs`);
//!   without one, the file name's stem (`.ko` and a compression suffix
//!   dropped, `-` → `_`, as kbuild forms `KBUILD_MODNAME`).

use std::borrow::Cow;
use std::path::Path;

use object::elf;
use object::read::elf::{ElfFile, ElfSection, FileHeader, SectionHeader, Sym};
use object::{
    Endianness, Object, ObjectSection, RelocationEncoding, RelocationFlags, RelocationKind,
    RelocationTarget, SectionIndex,
};

use crate::error::RelocationError;
use crate::limits::{text, MAX_NAME};
use crate::{Error, Result};

/// Appends to `out` the regular files named `*.ko` below `root.join(dir)`,
/// as paths relative to `root`, in no particular order. Symbolic links
/// are not followed.
///
/// Errors: [`Error::Io`] naming a directory that cannot be listed.
pub fn ko_files(root: &Path, dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<()> {
    let full = root.join(dir);
    let io = |source| Error::Io {
        path: full.clone(),
        source,
    };
    for entry in std::fs::read_dir(&full).map_err(io)? {
        let entry = entry.map_err(io)?;
        let kind = entry.file_type().map_err(io)?;
        let relative = dir.join(entry.file_name());
        if kind.is_dir() {
            ko_files(root, &relative, out)?;
        } else if kind.is_file() && relative.extension().is_some_and(|e| e == "ko") {
            out.push(relative);
        }
    }
    Ok(())
}

/// Synthetic address of the first allocated section of a module. Not 0:
/// address 0 means "no code" to the function model (a definition the
/// linker discarded), and a module's first function is at `.text`+0.
pub const MODULE_BASE: u64 = 0x1000;

/// Synthetic addresses of a relocatable object's sections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Address by section index; 0 for non-allocated sections.
    addresses: Vec<u64>,
}

impl Layout {
    /// Lays out the `SHF_ALLOC` sections of `file` from [`MODULE_BASE`], in
    /// section-header order, each at the next multiple of its
    /// `sh_addralign` (0 and 1 mean unaligned).
    ///
    /// Errors: an alignment that is not a power of two, or a layout that
    /// overflows 64 bits (both only in a malformed file), naming the section.
    pub fn new<Elf: FileHeader<Endian = Endianness>>(
        path: &Path,
        file: &ElfFile<'_, Elf>,
    ) -> Result<Self> {
        let endian = file.endian();
        let table = file.elf_section_table();
        let mut addresses = vec![0u64; table.len()];
        let mut next = MODULE_BASE;
        for (index, header) in table.iter().enumerate() {
            if header.sh_flags(endian).0 & elf::SHF_ALLOC.0 == 0 {
                continue;
            }
            let section_err = |message: String| Error::Section {
                path: path.to_owned(),
                section: section_name(file, SectionIndex(index)),
                message,
            };
            let align: u64 = header.sh_addralign(endian).into();
            let align = align.max(1);
            if !align.is_power_of_two() {
                return Err(section_err(format!(
                    "sh_addralign {align} is not a power of two"
                )));
            }
            let size: u64 = header.sh_size(endian).into();
            let start = next
                .checked_next_multiple_of(align)
                .filter(|start| start.checked_add(size).is_some())
                .ok_or_else(|| {
                    section_err(format!(
                        "laying out {size} bytes aligned to {align} after {next:#x} \
                         overflows 64 bits"
                    ))
                })?;
            addresses[index] = start;
            next = start + size;
        }
        Ok(Layout { addresses })
    }

    /// The synthetic address of section `index`: 0 for a non-allocated
    /// section or an index outside the section table.
    pub fn section_address(&self, index: SectionIndex) -> u64 {
        self.addresses.get(index.0).copied().unwrap_or(0)
    }

    /// The rebased value of a symbol with `st_value` `value` defined in
    /// section `section` (`None`: undefined, absolute, common: `value`
    /// unchanged).
    pub fn symbol_address(&self, section: Option<SectionIndex>, value: u64) -> u64 {
        section.map_or(value, |index| {
            self.section_address(index).wrapping_add(value)
        })
    }
}

/// The name of section `index`, or `section <index>` when it has none.
fn section_name<Elf: FileHeader<Endian = Endianness>>(
    file: &ElfFile<'_, Elf>,
    index: SectionIndex,
) -> String {
    file.section_by_index(index)
        .ok()
        .and_then(|s| s.name().ok().map(str::to_owned))
        .unwrap_or_else(|| format!("section {}", index.0))
}

/// The module name of `.modinfo` bytes: the value of the first `name=`
/// string (the section is a run of NUL-terminated `key=value` strings).
/// `None` without one or when it is empty.
pub fn modinfo_name(modinfo: &[u8]) -> Option<String> {
    modinfo
        .split(|&b| b == 0)
        .find_map(|entry| entry.strip_prefix(b"name="))
        .filter(|name| !name.is_empty())
        .map(|name| text(name, MAX_NAME))
}

/// The module name kbuild gives a file name: its last component without
/// a compression suffix (`.xz`, `.zst`, `.gz`) and `.ko`, with `-` as `_`
/// (`nf-nat.ko.xz` → `nf_nat`). `None` when nothing is left.
pub fn file_module_name(path: &Path) -> Option<String> {
    let mut name = path.file_name()?.to_string_lossy().into_owned();
    for suffix in [".xz", ".zst", ".gz"] {
        if let Some(stem) = name.strip_suffix(suffix) {
            name = stem.to_owned();
            break;
        }
    }
    if let Some(stem) = name.strip_suffix(".ko") {
        name = stem.to_owned();
    }
    let name = name.replace('-', "_");
    (!name.is_empty()).then_some(name)
}

/// The module name of a relocatable object: `.modinfo`'s `name=`
/// ([`modinfo_name`]), else from the file name ([`file_module_name`]).
/// The boolean tells whether `.modinfo` gave it.
pub fn module_name<Elf: FileHeader<Endian = Endianness>>(
    path: &Path,
    file: &ElfFile<'_, Elf>,
) -> Option<(String, bool)> {
    let from_modinfo = file
        .section_by_name(".modinfo")
        .and_then(|s| s.data().ok())
        .and_then(modinfo_name);
    match from_modinfo {
        Some(name) => Some((name, true)),
        None => file_module_name(path).map(|name| (name, false)),
    }
}

/// What a module's attach verdicts need beyond its symbols, read with
/// the module's relocations applied, so that every address is in the
/// synthetic layout ([`Layout`]) its symbols use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModuleAttachData<'data> {
    /// The ftrace call sites, sorted: the pointers of the section the
    /// module loader reads them from (`FTRACE_CALLSITE_SECTION`,
    /// include/linux/ftrace.h): `__patchable_function_entries` in a module
    /// built with `-fpatchable-function-entry` (arm64, riscv), else
    /// `__mcount_loc`. `None` when the module has neither (no dynamic
    /// ftrace, or a module without traceable code).
    pub ftrace_sites: Option<Vec<u64>>,
    /// The pointers of `_kprobe_blacklist` (`NOKPROBE_SYMBOL` in a
    /// module: the loader adds them to the kprobe blacklist).
    pub nokprobe: Vec<u64>,
    /// The module's `.BTF` section: split BTF, whose base is the vmlinux's
    /// (`CONFIG_DEBUG_INFO_BTF_MODULES`); `None` without one.
    pub btf: Option<&'data [u8]>,
}

/// The sections [`ModuleAttachData::ftrace_sites`] is read from, in the
/// order they are looked for.
pub const FTRACE_SITE_SECTIONS: [&str; 2] = ["__patchable_function_entries", "__mcount_loc"];

/// Reads a module's [`ModuleAttachData`]: each pointer section relocated
/// by `relocator`, its entries read as `class`-bit words in the file's
/// byte order.
///
/// Errors: a section that cannot be read or relocated (as
/// [`Relocator::relocate`]), or whose size is not a whole number of
/// pointers ([`Error::Section`] naming it).
pub fn attach_data<'data, Elf: FileHeader<Endian = Endianness>>(
    path: &Path,
    file: &ElfFile<'data, Elf>,
    relocator: &Relocator,
    class: u8,
) -> Result<ModuleAttachData<'data>> {
    let pointers = |name: &str| -> Result<Option<Vec<u64>>> {
        let Some(section) = file.section_by_name(name) else {
            return Ok(None);
        };
        let section_err = |message: String| Error::Section {
            path: path.to_owned(),
            section: name.to_owned(),
            message,
        };
        let data = section.data().map_err(|e| section_err(e.to_string()))?;
        let data = relocator.relocate(path, file, &section, Cow::Borrowed(data))?;
        let width = usize::from(class / 8);
        if data.len() % width != 0 {
            return Err(section_err(format!(
                "{} bytes are not a whole number of {width}-byte pointers",
                data.len()
            )));
        }
        let mut out: Vec<u64> = data
            .chunks_exact(width)
            .map(|w| match (width, relocator.big_endian) {
                (8, false) => u64::from_le_bytes(w.try_into().expect("8 bytes")),
                (8, true) => u64::from_be_bytes(w.try_into().expect("8 bytes")),
                (_, false) => u64::from(u32::from_le_bytes(w.try_into().expect("4 bytes"))),
                (_, true) => u64::from(u32::from_be_bytes(w.try_into().expect("4 bytes"))),
            })
            .collect();
        out.sort_unstable();
        Ok(Some(out))
    };
    let mut ftrace_sites = None;
    for name in FTRACE_SITE_SECTIONS {
        if let Some(sites) = pointers(name)? {
            ftrace_sites = Some(sites);
            break;
        }
    }
    let nokprobe = pointers("_kprobe_blacklist")?.unwrap_or_default();
    let btf = match file.section_by_name(".BTF") {
        Some(section) => Some(section.data().map_err(|e| Error::Section {
            path: path.to_owned(),
            section: ".BTF".to_owned(),
            message: e.to_string(),
        })?),
        None => None,
    };
    Ok(ModuleAttachData {
        ftrace_sites,
        nokprobe,
        btf,
    })
}

/// Applies the relocations of a relocatable object's DWARF sections.
pub struct Relocator {
    machine: u16,
    big_endian: bool,
    /// Rebased value of every `.symtab` symbol, by symbol index (index 0,
    /// the null symbol, is 0).
    symbol_values: Vec<u64>,
    /// Section index of `.symtab`, which every relocation section must use.
    symtab: SectionIndex,
}

/// One relocation section applying to the section being relocated.
struct RelocSection {
    name: String,
    count: usize,
}

impl Relocator {
    /// Reads the symbol values of `file`, rebased by `layout`.
    ///
    /// Errors: a symbol whose extended section index (`SHN_XINDEX`) is
    /// missing.
    pub fn new<Elf: FileHeader<Endian = Endianness>>(
        path: &Path,
        file: &ElfFile<'_, Elf>,
        layout: &Layout,
    ) -> Result<Self> {
        let endian = file.endian();
        let table = file.elf_symbol_table();
        let mut symbol_values = Vec::with_capacity(table.len());
        for (index, sym) in table.enumerate() {
            let value: u64 = sym.st_value(endian).into();
            let value = if sym.is_undefined(endian) || sym.is_common(endian) {
                0
            } else {
                let section =
                    table
                        .symbol_section(endian, sym, index)
                        .map_err(|e| Error::Section {
                            path: path.to_owned(),
                            section: ".symtab".to_owned(),
                            message: format!("symbol {}: {e}", index.0),
                        })?;
                layout.symbol_address(section, value)
            };
            symbol_values.push(value);
        }
        Ok(Relocator {
            machine: file.elf_header().e_machine(endian).0,
            big_endian: !file.is_little_endian(),
            symbol_values,
            symtab: table.section(),
        })
    }

    /// Returns `data` (the contents of `section`) with every relocation of
    /// every `SHT_REL`/`SHT_RELA`/`SHT_CREL` section whose `sh_info` names
    /// `section` applied; unchanged (and still borrowed) when there is none.
    ///
    /// Errors ([`Error::Relocation`] naming the file, the relocation
    /// section, the offset in `section` and the type): a type that is not
    /// an absolute one (nor a RISC-V pair), a field that ends past the
    /// section's end, a symbol index outside `.symtab`, a ULEB128 value
    /// that does not fit its bytes. [`Error::Section`]: a relocation
    /// section that cannot be read whole (size not a multiple of its
    /// entries, outside the file) or that uses another symbol table.
    pub fn relocate<'data, Elf: FileHeader<Endian = Endianness>>(
        &self,
        path: &Path,
        file: &ElfFile<'data, Elf>,
        section: &ElfSection<'data, '_, Elf>,
        data: Cow<'data, [u8]>,
    ) -> Result<Cow<'data, [u8]>> {
        let sections = self.reloc_sections(path, file, section.index())?;
        if sections.is_empty() {
            return Ok(data);
        }
        let target = section.name().unwrap_or("?").to_owned();
        let mut out = data.into_owned();
        let mut current = 0usize;
        let mut left = sections[0].count;
        let mut seen = 0usize;
        for (offset, reloc) in section.relocations() {
            while left == 0 && current + 1 < sections.len() {
                current += 1;
                left = sections[current].count;
            }
            left = left.saturating_sub(1);
            seen += 1;
            let RelocationFlags::Elf { r_type } = reloc.flags() else {
                continue;
            };
            let fail = |message: String| {
                Error::Relocation(Box::new(RelocationError {
                    path: path.to_owned(),
                    section: sections[current].name.clone(),
                    target: target.clone(),
                    offset,
                    r_type: relocation_type_name(self.machine, r_type.0),
                    message,
                }))
            };
            let symbol = match reloc.target() {
                RelocationTarget::Symbol(index) => {
                    *self.symbol_values.get(index.0).ok_or_else(|| {
                        fail(format!(
                            "symbol index {} is outside .symtab ({} symbols)",
                            index.0,
                            self.symbol_values.len()
                        ))
                    })?
                }
                RelocationTarget::Absolute => 0,
                _ => return Err(fail("the target is not a symbol".to_owned())),
            };
            self.apply(&mut out, offset, symbol, &reloc, r_type.0)
                .map_err(fail)?;
        }
        let expected: usize = sections.iter().map(|s| s.count).sum();
        if seen != expected {
            return Err(Error::Section {
                path: path.to_owned(),
                section: sections[current].name.clone(),
                message: format!("{seen} of the {expected} relocations for {target} could be read"),
            });
        }
        Ok(Cow::Owned(out))
    }

    /// The relocation sections applying to section `target`, in section
    /// order (the order `object` chains them in), each checked to be
    /// readable whole.
    fn reloc_sections<Elf: FileHeader<Endian = Endianness>>(
        &self,
        path: &Path,
        file: &ElfFile<'_, Elf>,
        target: SectionIndex,
    ) -> Result<Vec<RelocSection>> {
        let endian = file.endian();
        let data = file.data();
        let mut out = Vec::new();
        for (index, header) in file.elf_section_table().iter().enumerate() {
            let sh_type = header.sh_type(endian);
            if !matches!(sh_type, elf::SHT_REL | elf::SHT_RELA | elf::SHT_CREL)
                || header.info_link(endian) != target
            {
                continue;
            }
            let name = section_name(file, SectionIndex(index));
            let section_err = |message: String| Error::Section {
                path: path.to_owned(),
                section: name.clone(),
                message,
            };
            if header.link(endian) != self.symtab {
                return Err(section_err(format!(
                    "uses the symbol table in section {}, not .symtab (section {})",
                    header.link(endian).0,
                    self.symtab.0
                )));
            }
            let count = match sh_type {
                elf::SHT_REL => header
                    .data_as_array::<Elf::Rel, _>(endian, data)
                    .map(<[_]>::len)
                    .map_err(|e| {
                        section_err(format!(
                            "cannot be read as {}-byte REL entries: {e}",
                            std::mem::size_of::<Elf::Rel>()
                        ))
                    })?,
                elf::SHT_RELA => header
                    .data_as_array::<Elf::Rela, _>(endian, data)
                    .map(<[_]>::len)
                    .map_err(|e| {
                        section_err(format!(
                            "cannot be read as {}-byte RELA entries: {e}",
                            std::mem::size_of::<Elf::Rela>()
                        ))
                    })?,
                _ => {
                    let bytes = header
                        .data(endian, data)
                        .map_err(|e| section_err(e.to_string()))?;
                    let mut count = 0usize;
                    for entry in object::read::elf::CrelIterator::new(bytes)
                        .map_err(|e| section_err(format!("CREL header: {e}")))?
                    {
                        entry.map_err(|e| section_err(format!("CREL entry {count}: {e}")))?;
                        count += 1;
                    }
                    count
                }
            };
            out.push(RelocSection { name, count });
        }
        Ok(out)
    }

    /// Applies one relocation at `offset` of `data`, `symbol` being S.
    fn apply(
        &self,
        data: &mut [u8],
        offset: u64,
        symbol: u64,
        reloc: &object::Relocation,
        r_type: u32,
    ) -> std::result::Result<(), String> {
        let value = |addend: i64| symbol.wrapping_add(addend as u64);
        match (reloc.kind(), reloc.encoding(), reloc.size()) {
            (RelocationKind::None, _, _) => Ok(()),
            (
                RelocationKind::Absolute,
                RelocationEncoding::Generic | RelocationEncoding::X86Signed,
                bits @ (8 | 16 | 32 | 64),
            ) => {
                let width = usize::from(bits / 8);
                let place = field(data, offset, width)?;
                let addend = if reloc.has_implicit_addend() {
                    self.read(place) as i64
                } else {
                    reloc.addend()
                };
                self.write(place, value(addend));
                Ok(())
            }
            _ if self.machine == elf::EM_RISCV.0 => {
                riscv(data, offset, value(reloc.addend()), r_type)
            }
            _ => Err("not an absolute relocation: unsupported in a DWARF section".to_owned()),
        }
    }

    /// The unsigned value of `place` (1, 2, 4 or 8 bytes) in the file's
    /// byte order.
    fn read(&self, place: &[u8]) -> u64 {
        let mut value = 0u64;
        for i in 0..place.len() {
            let byte = if self.big_endian {
                place[i]
            } else {
                place[place.len() - 1 - i]
            };
            value = (value << 8) | u64::from(byte);
        }
        value
    }

    /// Stores the low `place.len()` bytes of `value` in the file's byte order.
    fn write(&self, place: &mut [u8], value: u64) {
        let len = place.len();
        for (i, byte) in place.iter_mut().enumerate() {
            let shift = if self.big_endian { len - 1 - i } else { i } * 8;
            *byte = (value >> shift) as u8;
        }
    }
}

/// The `width` bytes at `offset` of `data`, or why not.
fn field(data: &mut [u8], offset: u64, width: usize) -> std::result::Result<&mut [u8], String> {
    let len = data.len();
    usize::try_from(offset)
        .ok()
        .and_then(|start| Some(start..start.checked_add(width)?))
        .and_then(|range| data.get_mut(range))
        .ok_or_else(|| format!("the {width}-byte field is outside the section ({len:#x} bytes)"))
}

/// The RISC-V relocations of debug sections that `object` does not map
/// (RISC-V is little endian): `R_RISCV_ADD*`/`SUB*` add or subtract S + A
/// to the field, `SET*` store it, `SUB6`/`SET6` act on the low 6 bits of a
/// byte, `SET_ULEB128`/`SUB_ULEB128` on the ULEB128 number at the offset,
/// keeping its length; `R_RISCV_RELAX` marks an instruction and changes
/// nothing. Linker relaxation makes the distance between two labels
/// unknown to the assembler, so every difference (`DW_AT_high_pc` as a
/// length, line-table advances) is such a pair.
fn riscv(data: &mut [u8], offset: u64, value: u64, r_type: u32) -> std::result::Result<(), String> {
    enum Op {
        Add,
        Sub,
        Set,
    }
    let (op, width) = match r_type {
        t if t == elf::R_RISCV_RELAX.0 => return Ok(()),
        t if t == elf::R_RISCV_ADD8.0 => (Op::Add, 1),
        t if t == elf::R_RISCV_ADD16.0 => (Op::Add, 2),
        t if t == elf::R_RISCV_ADD32.0 => (Op::Add, 4),
        t if t == elf::R_RISCV_ADD64.0 => (Op::Add, 8),
        t if t == elf::R_RISCV_SUB8.0 => (Op::Sub, 1),
        t if t == elf::R_RISCV_SUB16.0 => (Op::Sub, 2),
        t if t == elf::R_RISCV_SUB32.0 => (Op::Sub, 4),
        t if t == elf::R_RISCV_SUB64.0 => (Op::Sub, 8),
        t if t == elf::R_RISCV_SET8.0 => (Op::Set, 1),
        t if t == elf::R_RISCV_SET16.0 => (Op::Set, 2),
        t if t == elf::R_RISCV_SET32.0 => (Op::Set, 4),
        t if t == elf::R_RISCV_SUB6.0 || t == elf::R_RISCV_SET6.0 => {
            let place = field(data, offset, 1)?;
            let old = place[0];
            let low = if t == elf::R_RISCV_SUB6.0 {
                u64::from(old).wrapping_sub(value)
            } else {
                value
            };
            place[0] = (old & 0xc0) | (low as u8 & 0x3f);
            return Ok(());
        }
        t if t == elf::R_RISCV_SET_ULEB128.0 || t == elf::R_RISCV_SUB_ULEB128.0 => {
            let subtract = t == elf::R_RISCV_SUB_ULEB128.0;
            return uleb128(data, offset, |old| {
                if subtract {
                    old.wrapping_sub(value)
                } else {
                    value
                }
            });
        }
        _ => return Err("not an absolute relocation: unsupported in a DWARF section".to_owned()),
    };
    let place = field(data, offset, width)?;
    let mut old = 0u64;
    for (i, byte) in place.iter().enumerate() {
        old |= u64::from(*byte) << (8 * i);
    }
    let new = match op {
        Op::Add => old.wrapping_add(value),
        Op::Sub => old.wrapping_sub(value),
        Op::Set => value,
    };
    for (i, byte) in place.iter_mut().enumerate() {
        *byte = (new >> (8 * i)) as u8;
    }
    Ok(())
}

/// Rewrites the ULEB128 number at `offset` with `update(old)`, in as many
/// bytes as it had (padded with continuation bytes).
fn uleb128(
    data: &mut [u8],
    offset: u64,
    update: impl FnOnce(u64) -> u64,
) -> std::result::Result<(), String> {
    let start = usize::try_from(offset)
        .ok()
        .filter(|&s| s < data.len())
        .ok_or_else(|| {
            format!(
                "the ULEB128 field is outside the section ({:#x} bytes)",
                data.len()
            )
        })?;
    let mut old = 0u64;
    let mut len = 0usize;
    loop {
        let Some(&byte) = data.get(start + len) else {
            return Err("the ULEB128 field runs past the section's end".to_owned());
        };
        if len < 10 {
            old |= u64::from(byte & 0x7f)
                .checked_shl(7 * len as u32)
                .unwrap_or(0);
        }
        len += 1;
        if byte & 0x80 == 0 {
            break;
        }
        if len >= 10 {
            return Err("the ULEB128 field is longer than 10 bytes".to_owned());
        }
    }
    let new = update(old);
    if len * 7 < 64 && new >> (len * 7) != 0 {
        return Err(format!(
            "the value {new:#x} does not fit the {len}-byte ULEB128 field"
        ));
    }
    for i in 0..len {
        let more = if i + 1 < len { 0x80 } else { 0 };
        data[start + i] = ((new >> (7 * i)) as u8 & 0x7f) | more;
    }
    Ok(())
}

/// `R_<ARCH>_<NAME> (<number>)`, or the number alone for a type without a name.
pub fn relocation_type_name(machine: u16, r_type: u32) -> String {
    let name = elf::machine_names(elf::Machine(machine))
        .r
        .name(elf::RelocationType(r_type));
    match name {
        Some(name) => format!("{name} ({r_type})"),
        None => format!("{r_type}"),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use object::elf;

    use super::{file_module_name, modinfo_name, riscv, uleb128};

    /// A relocatable x86_64 object: `.text` with `f1` at 0 and `f2` at
    /// 0x10, `__mcount_loc` of two pointers left to relocations (against
    /// `.text`'s section symbol and against `f1`), `_kprobe_blacklist`
    /// pointing at `f2`, and a `.BTF` section; `mcount_len` bytes of
    /// `__mcount_loc`.
    fn object_with_attach_sections(mcount_len: usize) -> Vec<u8> {
        use object::write::{Object, Relocation, Symbol, SymbolSection};
        use object::{
            Architecture, BinaryFormat, Endianness, RelocationEncoding, RelocationFlags,
            RelocationKind, SectionKind, SymbolFlags, SymbolKind, SymbolScope,
        };
        let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
        let data = obj.add_section(vec![], b".data".to_vec(), SectionKind::Data);
        obj.append_section_data(data, &[0; 0x30], 16);
        let text = obj.add_section(vec![], b".text".to_vec(), SectionKind::Text);
        obj.append_section_data(text, &[0x90; 0x20], 16);
        let function = |obj: &mut Object<'_>, name: &str, value: u64| {
            obj.add_symbol(Symbol {
                name: name.as_bytes().to_vec(),
                value,
                size: 0x10,
                kind: SymbolKind::Text,
                scope: SymbolScope::Linkage,
                weak: false,
                section: SymbolSection::Section(text),
                flags: SymbolFlags::None,
            })
        };
        let f1 = function(&mut obj, "f1", 0);
        let f2 = function(&mut obj, "f2", 0x10);
        let absolute = RelocationFlags::Generic {
            kind: RelocationKind::Absolute,
            encoding: RelocationEncoding::Generic,
            size: 64,
        };
        let mcount = obj.add_section(vec![], b"__mcount_loc".to_vec(), SectionKind::ReadOnlyData);
        obj.append_section_data(mcount, &vec![0; mcount_len], 8);
        if mcount_len == 16 {
            let text_symbol = obj.section_symbol(text);
            for (offset, symbol, addend) in [(0, text_symbol, 0x14), (8, f1, 4)] {
                obj.add_relocation(
                    mcount,
                    Relocation {
                        offset,
                        symbol,
                        addend,
                        flags: absolute,
                    },
                )
                .unwrap();
            }
        }
        let blacklist = obj.add_section(vec![], b"_kprobe_blacklist".to_vec(), SectionKind::Data);
        obj.append_section_data(blacklist, &[0; 8], 8);
        obj.add_relocation(
            blacklist,
            Relocation {
                offset: 0,
                symbol: f2,
                addend: 0,
                flags: absolute,
            },
        )
        .unwrap();
        let btf = obj.add_section(vec![], b".BTF".to_vec(), SectionKind::Other);
        obj.append_section_data(btf, b"\x9f\xeb\x01\x00", 1);
        obj.write().unwrap()
    }

    #[test]
    fn attach_sections_are_read_relocated_into_the_layout() {
        use object::read::elf::ElfFile64;
        use object::{Endianness, Object, ObjectSection};

        use super::{attach_data, Layout, Relocator};
        let path = Path::new("kernel/t.ko");
        let bytes = object_with_attach_sections(16);
        let file = ElfFile64::<Endianness>::parse(&*bytes).unwrap();
        let layout = Layout::new(path, &file).unwrap();
        let relocator = Relocator::new(path, &file, &layout).unwrap();
        let data = attach_data(path, &file, &relocator, 64).unwrap();
        // .data takes 0x1000..0x1030, .text is the next 16-aligned place.
        let text = layout.section_address(file.section_by_name(".text").unwrap().index());
        assert_eq!(text, 0x1030);
        assert_eq!(data.ftrace_sites, Some(vec![0x1034, 0x1044]));
        assert_eq!(data.nokprobe, [0x1040]);
        assert_eq!(data.btf, Some(&b"\x9f\xeb\x01\x00"[..]));

        let bytes = object_with_attach_sections(12);
        let file = ElfFile64::<Endianness>::parse(&*bytes).unwrap();
        let layout = Layout::new(path, &file).unwrap();
        let relocator = Relocator::new(path, &file, &layout).unwrap();
        assert_eq!(
            attach_data(path, &file, &relocator, 64)
                .unwrap_err()
                .to_string(),
            "kernel/t.ko: section __mcount_loc: 12 bytes are not a whole number of 8-byte pointers"
        );
    }

    #[test]
    fn the_name_comes_from_modinfo() {
        let modinfo = b"license=GPL\0alias=fs-xfs\0depends=libcrc32c\0name=xfs\0vermagic=6.1.0\0";
        assert_eq!(modinfo_name(modinfo).as_deref(), Some("xfs"));
        assert_eq!(modinfo_name(b"license=GPL\0"), None);
        assert_eq!(modinfo_name(b"name=\0name=late\0"), None);
        assert_eq!(
            modinfo_name(b"noname=x\0name=a\0name=b\0").as_deref(),
            Some("a")
        );
        assert_eq!(modinfo_name(b""), None);
    }

    #[test]
    fn or_from_the_file_name() {
        let name = |p: &str| file_module_name(Path::new(p));
        assert_eq!(name("kernel/net/nf-nat.ko.xz").as_deref(), Some("nf_nat"));
        assert_eq!(name("xfs.ko").as_deref(), Some("xfs"));
        assert_eq!(name("btrfs.ko.zst").as_deref(), Some("btrfs"));
        assert_eq!(name("mini.o").as_deref(), Some("mini.o"));
        assert_eq!(name(".ko"), None);
        assert_eq!(name("/"), None);
    }

    #[test]
    fn riscv_pairs_add_and_subtract() {
        // DW_AT_high_pc as a length: ADD32 end, SUB32 start.
        let mut data = vec![0u8; 8];
        riscv(&mut data, 2, 0x1234, elf::R_RISCV_ADD32.0).unwrap();
        riscv(&mut data, 2, 0x1200, elf::R_RISCV_SUB32.0).unwrap();
        assert_eq!(data, [0, 0, 0x34, 0, 0, 0, 0, 0]);
        let mut data = vec![0u8; 8];
        riscv(&mut data, 0, 10, elf::R_RISCV_ADD64.0).unwrap();
        riscv(&mut data, 0, 12, elf::R_RISCV_SUB64.0).unwrap();
        assert_eq!(data, (-2i64).to_le_bytes());
        let mut data = vec![5u8, 0];
        riscv(&mut data, 0, 0x30, elf::R_RISCV_ADD16.0).unwrap();
        riscv(&mut data, 0, 0x10, elf::R_RISCV_SUB16.0).unwrap();
        assert_eq!(data, [0x25, 0]);
        let mut data = vec![0xffu8];
        riscv(&mut data, 0, 1, elf::R_RISCV_ADD8.0).unwrap();
        assert_eq!(data, [0]);
        riscv(&mut data, 0, 1, elf::R_RISCV_SUB8.0).unwrap();
        assert_eq!(data, [0xff]);
    }

    #[test]
    fn riscv_set_and_six_bit_fields() {
        let mut data = vec![0xaau8; 4];
        riscv(&mut data, 0, 0x0102_0304, elf::R_RISCV_SET32.0).unwrap();
        assert_eq!(data, [4, 3, 2, 1]);
        riscv(&mut data, 0, 0xbeef, elf::R_RISCV_SET16.0).unwrap();
        assert_eq!(data, [0xef, 0xbe, 2, 1]);
        riscv(&mut data, 3, 0x7f, elf::R_RISCV_SET8.0).unwrap();
        assert_eq!(data[3], 0x7f);
        // DW_CFA_advance_loc: opcode in the top two bits, delta in the low six.
        let mut data = vec![0x40u8];
        riscv(&mut data, 0, 0x25, elf::R_RISCV_SET6.0).unwrap();
        assert_eq!(data, [0x65]);
        riscv(&mut data, 0, 0x05, elf::R_RISCV_SUB6.0).unwrap();
        assert_eq!(data, [0x60]);
        riscv(&mut data, 0, 0x20, elf::R_RISCV_SUB6.0).unwrap();
        assert_eq!(data, [0x40]);
        riscv(&mut data, 0, 0x01, elf::R_RISCV_SUB6.0).unwrap();
        assert_eq!(data, [0x7f], "wraps within the six bits");
        // R_RISCV_RELAX changes nothing.
        riscv(&mut data, 0, 0x99, elf::R_RISCV_RELAX.0).unwrap();
        assert_eq!(data, [0x7f]);
    }

    #[test]
    fn riscv_uleb128_pairs_keep_the_length() {
        // Two bytes of padding: 0x80 0x00.
        let mut data = vec![0x80u8, 0x00, 0xee];
        riscv(&mut data, 0, 0x300, elf::R_RISCV_SET_ULEB128.0).unwrap();
        riscv(&mut data, 0, 0x100, elf::R_RISCV_SUB_ULEB128.0).unwrap();
        assert_eq!(data, [0x80, 0x04, 0xee], "0x200 in two bytes");
        let mut data = vec![0x00u8];
        assert_eq!(
            riscv(&mut data, 0, 0x80, elf::R_RISCV_SET_ULEB128.0).unwrap_err(),
            "the value 0x80 does not fit the 1-byte ULEB128 field"
        );
        let mut data = vec![0x80u8, 0x80];
        assert_eq!(
            uleb128(&mut data, 0, |v| v).unwrap_err(),
            "the ULEB128 field runs past the section's end"
        );
    }

    #[test]
    fn riscv_bad_places_and_types_are_errors() {
        let mut data = vec![0u8; 3];
        assert_eq!(
            riscv(&mut data, 0, 1, elf::R_RISCV_ADD32.0).unwrap_err(),
            "the 4-byte field is outside the section (0x3 bytes)"
        );
        assert_eq!(
            riscv(&mut data, u64::MAX, 1, elf::R_RISCV_SET8.0).unwrap_err(),
            "the 1-byte field is outside the section (0x3 bytes)"
        );
        assert_eq!(
            riscv(&mut data, 0, 1, elf::R_RISCV_JAL.0).unwrap_err(),
            "not an absolute relocation: unsupported in a DWARF section"
        );
    }
}
