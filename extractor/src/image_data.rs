//! The vmlinux's loaded data, read by virtual address.
//!
//! This module owns the view of the image as the kernel sees it once loaded:
//! the `SHF_ALLOC` sections of the ELF file (section headers give each one's
//! address, size and file offset), every `.symtab` symbol (name, address,
//! size, type, binding, section), and the dynamic relocations that
//! relocatable kernels carry in an allocated `.rela.dyn`.
//!
//! Relocations: arm64 and s390x vmlinux files (and ppc64el, riscv64 when
//! built relocatable) are linked as position-independent executables. Their
//! pointer slots in `.data`/`.rodata` hold zero (arm64) or the link-time
//! value (s390x) in the file, and the kernel rewrites them at boot from
//! `.rela.dyn`. [`ImageData::read_pointer`] applies the relocation at the
//! slot when there is one: a RELATIVE relocation gives its addend (the
//! image is read at its link address), an absolute 64-bit one gives the
//! value of its symbol in the table named by the section's `sh_link`
//! (`.dynsym` on s390x, `.symtab` on arm64) plus the addend. Any other type
//! at a slot that is read is an error. `R_*_NONE` entries (type 0 on every
//! machine handled; arm64 has thousands) relocate nothing and are dropped.
//! Non-allocated `.rela.*` sections (x86's `--emit-relocs` output) describe
//! data that is already final and are ignored.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use object::read::elf::{ElfFile, FileHeader, SectionHeader, Sym};
use object::{Endianness, FileKind, Object};
use rustc_hash::FxHashMap;

/// `e_machine` values whose dynamic relocations are understood.
const EM_S390: u16 = 22;
const EM_PPC64: u16 = 21;
const EM_AARCH64: u16 = 183;
const EM_RISCV: u16 = 243;

/// `sh_type` values read here.
const SHT_RELA: u32 = 4;
const SHT_NOBITS: u32 = 8;
/// `sh_flags` bit of sections present in memory at run time.
const SHF_ALLOC: u64 = 2;

/// A symbol's `STT_*` type, as far as the kernel's tables care.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SymbolKind {
    /// `STT_FUNC`.
    Func,
    /// `STT_OBJECT`.
    Object,
    /// `STT_NOTYPE`: linker-script and assembler labels
    /// (`__start_ftrace_events`, s390x's `sys_call_table`).
    NoType,
    /// Any other type (`STT_SECTION`, `STT_FILE`, `STT_TLS`, ...).
    Other(u8),
}

/// A symbol's `STB_*` binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SymbolBinding {
    Local,
    Global,
    Weak,
    Other(u8),
}

/// One `.symtab` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageSymbol<'d> {
    pub name: &'d str,
    /// `st_value`: the symbol's virtual address.
    pub address: u64,
    /// `st_size`; 0 for labels.
    pub size: u64,
    pub kind: SymbolKind,
    pub binding: SymbolBinding,
    /// Index of the section the symbol is defined in; `None` for undefined,
    /// absolute and common symbols.
    pub section: Option<usize>,
}

/// One `SHF_ALLOC` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllocSection {
    pub index: usize,
    pub name: String,
    pub address: u64,
    pub size: u64,
    /// Offset of the section's bytes in the file (meaningless for `NOBITS`).
    pub file_offset: u64,
    /// `SHT_NOBITS` (`.bss`): no bytes in the file.
    pub nobits: bool,
}

/// What a dynamic relocation at a slot makes of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Relocated {
    Value(u64),
    /// A relocation type this module does not apply.
    Unsupported(u32),
    /// An absolute relocation whose symbol index is outside its table.
    BadSymbol(u32),
}

/// A raw relocation-section header, kept until the map is built.
#[derive(Clone, Copy, Debug)]
struct RelaSection {
    offset: u64,
    size: u64,
    entsize: u64,
    link: usize,
}

/// The loaded data of one vmlinux. Borrows the file's bytes.
pub struct ImageData<'d> {
    path: PathBuf,
    data: &'d [u8],
    /// ELF machine name, e.g. `EM_X86_64` (same spelling as [`crate::elf`]).
    pub machine: String,
    e_machine: u16,
    big_endian: bool,
    pointer_size: u8,
    sections: Vec<AllocSection>,
    /// Every section's name by index (allocated or not).
    section_names: Vec<String>,
    symbols: Vec<ImageSymbol<'d>>,
    by_name: FxHashMap<&'d str, Vec<u32>>,
    /// Indices into `symbols`, sorted by address.
    by_address: Vec<u32>,
    rela_sections: Vec<RelaSection>,
    /// `(sh_offset, sh_size, sh_entsize, sh_link)` of every symbol table, by section index.
    symbol_tables: HashMap<usize, (u64, u64, u64, usize)>,
    relocations: OnceLock<Result<FxHashMap<u64, Relocated>, String>>,
}

impl std::fmt::Debug for ImageData<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageData")
            .field("path", &self.path)
            .field("machine", &self.machine)
            .field("big_endian", &self.big_endian)
            .field("pointer_size", &self.pointer_size)
            .field("sections", &self.sections.len())
            .field("symbols", &self.symbols.len())
            .finish()
    }
}

impl<'d> ImageData<'d> {
    /// Reads the section headers and `.symtab` of the ELF file `data`;
    /// `path` names it in errors.
    pub fn parse(path: &Path, data: &'d [u8]) -> Result<ImageData<'d>, String> {
        let kind = FileKind::parse(data).map_err(|e| format!("{}: {e}", path.display()))?;
        match kind {
            FileKind::Elf32 => parse_class::<object::elf::FileHeader32<Endianness>>(path, data, 4),
            FileKind::Elf64 => parse_class::<object::elf::FileHeader64<Endianness>>(path, data, 8),
            other => Err(format!(
                "{}: file kind {other:?} is not ELF",
                path.display()
            )),
        }
    }

    /// The file name used in errors.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Size of a pointer in bytes: 4 or 8 (the ELF class).
    pub fn pointer_size(&self) -> u8 {
        self.pointer_size
    }

    pub fn big_endian(&self) -> bool {
        self.big_endian
    }

    /// The `SHF_ALLOC` sections, in section-header order.
    pub fn sections(&self) -> &[AllocSection] {
        &self.sections
    }

    /// The name of section `index` (any section), if it exists.
    pub fn section_name(&self, index: usize) -> Option<&str> {
        self.section_names.get(index).map(String::as_str)
    }

    /// Every `.symtab` symbol with a name, in table order.
    pub fn symbols(&self) -> &[ImageSymbol<'d>] {
        &self.symbols
    }

    /// All symbols called `name` (locals of several units can share one).
    pub fn symbols_named<'s>(&'s self, name: &str) -> impl Iterator<Item = &'s ImageSymbol<'d>> {
        self.by_name
            .get(name)
            .into_iter()
            .flatten()
            .map(|&i| &self.symbols[i as usize])
    }

    /// The first symbol called `name`, preferring a defined global one.
    pub fn symbol(&self, name: &str) -> Option<&ImageSymbol<'d>> {
        let mut best: Option<&ImageSymbol<'d>> = None;
        for s in self.symbols_named(name) {
            let rank = |s: &ImageSymbol| (s.section.is_some(), s.binding == SymbolBinding::Global);
            if best.is_none_or(|b| rank(s) > rank(b)) {
                best = Some(s);
            }
        }
        best
    }

    /// All symbols whose address is exactly `address`, in table order.
    pub fn symbols_at<'s>(&'s self, address: u64) -> impl Iterator<Item = &'s ImageSymbol<'d>> {
        let start = self
            .by_address
            .partition_point(|&i| self.symbols[i as usize].address < address);
        let mut found: Vec<u32> = self.by_address[start..]
            .iter()
            .copied()
            .take_while(|&i| self.symbols[i as usize].address == address)
            .collect();
        found.sort_unstable();
        found.into_iter().map(|i| &self.symbols[i as usize])
    }

    /// The lowest symbol address above `address` among the defined symbols
    /// of `section`: where a label-only (size 0) object ends at the latest.
    pub fn next_symbol_address(&self, address: u64, section: usize) -> Option<u64> {
        let start = self
            .by_address
            .partition_point(|&i| self.symbols[i as usize].address <= address);
        self.by_address[start..]
            .iter()
            .map(|&i| &self.symbols[i as usize])
            .find(|s| s.section == Some(section))
            .map(|s| s.address)
    }

    /// The allocated section holding `address` (a `PROGBITS` one is
    /// preferred where sections overlap, as x86's per-CPU section at 0 does).
    pub fn section_at(&self, address: u64) -> Option<&AllocSection> {
        let mut best: Option<&AllocSection> = None;
        for s in &self.sections {
            if address >= s.address && address - s.address < s.size {
                if !s.nobits {
                    return Some(s);
                }
                best.get_or_insert(s);
            }
        }
        best
    }

    /// The file bytes of `[address, address + len)`, which must lie in one
    /// allocated section that has file contents.
    pub fn bytes_at(&self, address: u64, len: u64) -> Result<&'d [u8], String> {
        let Some(section) = self.section_at(address) else {
            return Err(format!(
                "{}: address {address:#x} is outside every allocated section",
                self.path.display()
            ));
        };
        if section.nobits {
            return Err(format!(
                "{}: address {address:#x} is in {} (NOBITS), which has no file contents",
                self.path.display(),
                section.name
            ));
        }
        let within = address - section.address;
        if len > section.size - within {
            return Err(format!(
                "{}: {len} bytes at {address:#x} cross the end of {} ({:#x}..{:#x})",
                self.path.display(),
                section.name,
                section.address,
                section.address + section.size
            ));
        }
        let start = section.file_offset.checked_add(within);
        let range = start.and_then(|s| Some(s as usize..s.checked_add(len)? as usize));
        range.and_then(|r| self.data.get(r)).ok_or_else(|| {
            format!(
                "{}: {} at file offset {:#x} extends past the end of the file",
                self.path.display(),
                section.name,
                section.file_offset
            )
        })
    }

    /// The 32-bit value at `address`, in the image's byte order.
    pub fn read_u32(&self, address: u64) -> Result<u32, String> {
        let b: [u8; 4] = self.bytes_at(address, 4)?.try_into().expect("4 bytes");
        Ok(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    /// The 64-bit value at `address`, in the image's byte order.
    pub fn read_u64(&self, address: u64) -> Result<u64, String> {
        let b: [u8; 8] = self.bytes_at(address, 8)?.try_into().expect("8 bytes");
        Ok(if self.big_endian {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    }

    /// The pointer stored at `address` as the loaded kernel sees it: the
    /// result of the dynamic relocation at that slot if there is one, the
    /// file's value otherwise.
    pub fn read_pointer(&self, address: u64) -> Result<u64, String> {
        let relocations = self
            .relocations
            .get_or_init(|| self.build_relocations())
            .as_ref()
            .map_err(Clone::clone)?;
        match relocations.get(&address) {
            Some(Relocated::Value(v)) => {
                // The slot must still be readable: a relocation outside the
                // image's data is as wrong as a plain pointer there.
                self.bytes_at(address, u64::from(self.pointer_size))?;
                Ok(*v)
            }
            Some(Relocated::Unsupported(t)) => Err(format!(
                "{}: dynamic relocation of type {t} at {address:#x} is not supported for {}",
                self.path.display(),
                self.machine
            )),
            Some(Relocated::BadSymbol(s)) => Err(format!(
                "{}: dynamic relocation at {address:#x} names symbol {s}, outside its symbol table",
                self.path.display()
            )),
            None if self.pointer_size == 4 => self.read_u32(address).map(u64::from),
            None => self.read_u64(address),
        }
    }

    /// The NUL-terminated string at `address`, at most `max_len` bytes
    /// before the NUL.
    pub fn c_string(&self, address: u64, max_len: usize) -> Result<&'d str, String> {
        let Some(section) = self.section_at(address).filter(|s| !s.nobits) else {
            return Err(format!(
                "{}: string address {address:#x} is outside every allocated section with contents",
                self.path.display()
            ));
        };
        let available = section.size - (address - section.address);
        let len = available.min((max_len as u64).saturating_add(1));
        let bytes = self.bytes_at(address, len)?;
        let Some(end) = bytes.iter().position(|&b| b == 0) else {
            return Err(format!(
                "{}: no NUL within {max_len} bytes of the string at {address:#x}",
                self.path.display()
            ));
        };
        std::str::from_utf8(&bytes[..end]).map_err(|e| {
            format!(
                "{}: the string at {address:#x} is not UTF-8: {e}",
                self.path.display()
            )
        })
    }

    /// Number of dynamic relocations that apply a value (built on first use).
    pub fn relocation_count(&self) -> Result<usize, String> {
        self.relocations
            .get_or_init(|| self.build_relocations())
            .as_ref()
            .map(|m| m.len())
            .map_err(Clone::clone)
    }

    fn build_relocations(&self) -> Result<FxHashMap<u64, Relocated>, String> {
        let mut map = FxHashMap::default();
        let err = |what: String| format!("{}: {what}", self.path.display());
        for rela in &self.rela_sections {
            let bytes = usize::try_from(rela.offset)
                .ok()
                .zip(usize::try_from(rela.size).ok())
                .and_then(|(o, s)| self.data.get(o..o.checked_add(s)?))
                .ok_or_else(|| {
                    err(format!(
                        "relocation section at file offset {:#x} runs past the end of the file",
                        rela.offset
                    ))
                })?;
            let entsize = if self.pointer_size == 8 { 24 } else { 12 };
            if rela.entsize != 0 && rela.entsize != entsize {
                return Err(err(format!(
                    "relocation section at file offset {:#x} has entry size {}, expected {entsize}",
                    rela.offset, rela.entsize
                )));
            }
            let symtab = self.symbol_tables.get(&rela.link).copied();
            for entry in bytes.chunks_exact(entsize as usize) {
                let (offset, info, addend) = self.decode_rela(entry);
                let (r_type, r_sym) = if self.pointer_size == 8 {
                    ((info & 0xffff_ffff) as u32, (info >> 32) as u32)
                } else {
                    ((info & 0xff) as u32, (info >> 8) as u32)
                };
                if r_type == 0 {
                    continue;
                }
                let value = match self.relocation_kind(r_type) {
                    Some(RelocKind::Relative) => Relocated::Value(addend as u64),
                    Some(RelocKind::Absolute) => {
                        match symtab.and_then(|t| self.symbol_value(t, r_sym)) {
                            Some(v) => Relocated::Value(v.wrapping_add(addend as u64)),
                            None => Relocated::BadSymbol(r_sym),
                        }
                    }
                    None => Relocated::Unsupported(r_type),
                };
                map.insert(offset, value);
            }
        }
        Ok(map)
    }

    /// `(r_offset, r_info, r_addend)` of one raw `Elf{32,64}_Rela`.
    fn decode_rela(&self, entry: &[u8]) -> (u64, u64, i64) {
        if self.pointer_size == 8 {
            let word = |i: usize| {
                let b: [u8; 8] = entry[i..i + 8].try_into().expect("8 bytes");
                if self.big_endian {
                    u64::from_be_bytes(b)
                } else {
                    u64::from_le_bytes(b)
                }
            };
            (word(0), word(8), word(16) as i64)
        } else {
            let word = |i: usize| {
                let b: [u8; 4] = entry[i..i + 4].try_into().expect("4 bytes");
                if self.big_endian {
                    u32::from_be_bytes(b)
                } else {
                    u32::from_le_bytes(b)
                }
            };
            (
                u64::from(word(0)),
                u64::from(word(4)),
                i64::from(word(8) as i32),
            )
        }
    }

    /// `st_value` of symbol `index` of the symbol table `(offset, size, entsize, _)`.
    fn symbol_value(&self, table: (u64, u64, u64, usize), index: u32) -> Option<u64> {
        let (offset, size, _, _) = table;
        let entsize: u64 = if self.pointer_size == 8 { 24 } else { 16 };
        let at = u64::from(index).checked_mul(entsize)?;
        if at.checked_add(entsize)? > size {
            return None;
        }
        let start = usize::try_from(offset.checked_add(at)?).ok()?;
        let entry = self.data.get(start..start + entsize as usize)?;
        // Elf64_Sym: name(4) info(1) other(1) shndx(2) value(8) size(8);
        // Elf32_Sym: name(4) value(4) size(4) info(1) other(1) shndx(2).
        Some(if self.pointer_size == 8 {
            let b: [u8; 8] = entry[8..16].try_into().ok()?;
            if self.big_endian {
                u64::from_be_bytes(b)
            } else {
                u64::from_le_bytes(b)
            }
        } else {
            let b: [u8; 4] = entry[4..8].try_into().ok()?;
            u64::from(if self.big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            })
        })
    }

    /// Which of the two understood kinds relocation `r_type` is on this
    /// machine (type numbers are per machine).
    fn relocation_kind(&self, r_type: u32) -> Option<RelocKind> {
        let (relative, absolute) = match self.e_machine {
            EM_AARCH64 => (1027, 257), // R_AARCH64_RELATIVE, R_AARCH64_ABS64
            EM_S390 => (12, 22),       // R_390_RELATIVE, R_390_64
            EM_PPC64 => (22, 38),      // R_PPC64_RELATIVE, R_PPC64_ADDR64
            EM_RISCV => (3, 2),        // R_RISCV_RELATIVE, R_RISCV_64
            _ => return None,
        };
        if self.pointer_size != 8 {
            return None;
        }
        if r_type == relative {
            Some(RelocKind::Relative)
        } else if r_type == absolute {
            Some(RelocKind::Absolute)
        } else {
            None
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RelocKind {
    Relative,
    Absolute,
}

fn parse_class<'d, Elf: FileHeader<Endian = Endianness>>(
    path: &Path,
    data: &'d [u8],
    pointer_size: u8,
) -> Result<ImageData<'d>, String> {
    let err = |what: &str, e: &dyn std::fmt::Display| format!("{}: {what}: {e}", path.display());
    let file = ElfFile::<Elf>::parse(data).map_err(|e| err("parsing the ELF header", &e))?;
    let endian = file.endian();
    let header = file.elf_header();
    let machine_code = header.e_machine(endian);
    let machine = machine_code
        .name()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("EM_{}", machine_code.0));
    let table = file.elf_section_table();

    let mut sections = Vec::new();
    let mut section_names = Vec::new();
    let mut rela_sections = Vec::new();
    let mut symbol_tables = HashMap::new();
    for (index, section) in table.iter().enumerate() {
        let name = table
            .section_name(endian, section)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let sh_type: u32 = section.sh_type(endian).0;
        let flags: u64 = section.sh_flags(endian).0;
        let offset: u64 = section.sh_offset(endian).into();
        let size: u64 = section.sh_size(endian).into();
        let entsize: u64 = section.sh_entsize(endian).into();
        let link = section.sh_link(endian) as usize;
        match sh_type {
            2 | 11 => {
                // SHT_SYMTAB, SHT_DYNSYM
                symbol_tables.insert(index, (offset, size, entsize, link));
            }
            SHT_RELA if flags & SHF_ALLOC != 0 => rela_sections.push(RelaSection {
                offset,
                size,
                entsize,
                link,
            }),
            _ => {}
        }
        if flags & SHF_ALLOC != 0 && size != 0 {
            sections.push(AllocSection {
                index,
                name: name.clone(),
                address: section.sh_addr(endian).into(),
                size,
                file_offset: offset,
                nobits: sh_type == SHT_NOBITS,
            });
        }
        section_names.push(name);
    }

    let symtab = file.elf_symbol_table();
    let strings = symtab.strings();
    let mut symbols = Vec::with_capacity(symtab.symbols().len());
    for sym in symtab.symbols() {
        let Ok(name) = sym.name(endian, strings) else {
            continue;
        };
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        if name.is_empty() {
            continue;
        }
        let kind = match sym.st_type().0 {
            0 => SymbolKind::NoType,
            1 => SymbolKind::Object,
            2 => SymbolKind::Func,
            other => SymbolKind::Other(other),
        };
        let binding = match sym.st_bind().0 {
            0 => SymbolBinding::Local,
            1 => SymbolBinding::Global,
            2 => SymbolBinding::Weak,
            other => SymbolBinding::Other(other),
        };
        let shndx = sym.st_shndx(endian).0;
        let section = (shndx != 0 && shndx < 0xff00).then_some(usize::from(shndx));
        symbols.push(ImageSymbol {
            name,
            address: sym.st_value(endian).into(),
            size: sym.st_size(endian).into(),
            kind,
            binding,
            section,
        });
    }
    let mut by_name: FxHashMap<&'d str, Vec<u32>> = FxHashMap::default();
    for (i, s) in symbols.iter().enumerate() {
        by_name.entry(s.name).or_default().push(i as u32);
    }
    let mut by_address: Vec<u32> = (0..symbols.len() as u32).collect();
    by_address.sort_by_key(|&i| (symbols[i as usize].address, i));

    Ok(ImageData {
        path: path.to_owned(),
        data,
        machine,
        e_machine: machine_code.0,
        big_endian: !file.is_little_endian(),
        pointer_size,
        sections,
        section_names,
        symbols,
        by_name,
        by_address,
        rela_sections,
        symbol_tables,
        relocations: OnceLock::new(),
    })
}
