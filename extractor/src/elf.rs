//! The vmlinux (or a kernel module) as an ELF file: memory-mapped input,
//! header facts (machine, class, endianness), build-id, the `linux_banner`
//! string, function symbols and the DWARF sections, decompressed when
//! `SHF_COMPRESSED`.
//!
//! Relocation sections for debug data (`.rela.debug_*`, present in Debian's
//! x86 vmlinux) are ignored on purpose: an executable's debug data is final.
//! A relocatable object (`ET_REL`, a `.ko`) is the exception: there
//! [`crate::module`] lays the sections out at synthetic addresses, rebases
//! the symbols and applies the DWARF sections' relocations, so that the
//! result reads like a vmlinux's.

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use object::read::elf::{ElfFile, FileHeader};
use object::{
    CompressionFormat, Endianness, FileKind, Object, ObjectKind, ObjectSection, ObjectSymbol,
};

use crate::module::{Layout, Relocator};
use crate::symbols::{function_symbols, SymbolRow};
use crate::{hex, Error, Result};

/// Largest decompressed debug section accepted; guards against bombs.
const MAX_SECTION_SIZE: u64 = 8 << 30;
/// Largest decompressed/compressed size ratio accepted: just over zlib's
/// ceiling (1032:1), far over what DWARF compresses to with either format,
/// and far under what a stream of zstd RLE blocks can claim (32768:1).
const MAX_COMPRESSION_RATIO: u64 = 1100;

/// A vmlinux opened for reading.
pub struct VmlinuxFile {
    pub path: PathBuf,
    pub mmap: Mmap,
}

impl VmlinuxFile {
    pub fn open(path: &Path) -> Result<Self> {
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        // SAFETY: the map is read-only; a file truncated under us while mapped
        // is outside what this tool defends against (inputs are private copies).
        let mmap = unsafe { Mmap::map(&file) }.map_err(io)?;
        Ok(VmlinuxFile {
            path: path.to_owned(),
            mmap,
        })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.mmap
    }
}

/// What the extractor needs from the ELF layer.
pub struct ParsedElf<'data> {
    /// ELF machine name, e.g. `EM_AARCH64`.
    pub machine: String,
    /// Debian/Ubuntu architecture name derived from machine, class and endianness.
    pub distro_arch: Option<&'static str>,
    pub class: u8,
    pub big_endian: bool,
    pub build_id: Option<String>,
    pub banner: Option<String>,
    /// The release string of `init_uts_ns`, when found.
    pub uts_release: Option<String>,
    /// Function symbols; in a relocatable object, at their synthetic
    /// addresses ([`crate::module::Layout`]).
    pub symbols: Vec<SymbolRow>,
    /// DWARF sections by gimli section id; missing sections are empty. In a
    /// relocatable object, owned copies with the relocations applied.
    pub debug_sections: Vec<(gimli::SectionId, Cow<'data, [u8]>)>,
    /// The file is a relocatable object (`ET_REL`): a kernel module.
    pub relocatable: bool,
    /// A relocatable object's module name and whether `.modinfo`'s `name=`
    /// gave it (else the file name did; see [`crate::module::module_name`]);
    /// `None` for an executable, or when neither gives one.
    pub module_name: Option<(String, bool)>,
    /// A relocatable object's ftrace call sites, kprobe blacklist and
    /// `.BTF` ([`crate::module::attach_data`]); `None` for an executable.
    pub module_attach: Option<crate::module::ModuleAttachData<'data>>,
}

impl ParsedElf<'_> {
    pub fn section(&self, id: gimli::SectionId) -> &[u8] {
        self.debug_sections
            .iter()
            .find(|(sid, _)| *sid == id)
            .map(|(_, data)| data.as_ref())
            .unwrap_or(&[])
    }

    pub fn endian(&self) -> gimli::RunTimeEndian {
        if self.big_endian {
            gimli::RunTimeEndian::Big
        } else {
            gimli::RunTimeEndian::Little
        }
    }
}

/// The DWARF sections the extractor reads.
pub const DWARF_SECTIONS: [gimli::SectionId; 9] = [
    gimli::SectionId::DebugAbbrev,
    gimli::SectionId::DebugAddr,
    gimli::SectionId::DebugInfo,
    gimli::SectionId::DebugLine,
    gimli::SectionId::DebugLineStr,
    gimli::SectionId::DebugStr,
    gimli::SectionId::DebugStrOffsets,
    gimli::SectionId::DebugRanges,
    gimli::SectionId::DebugRngLists,
];

/// Parses the ELF headers, symbols and DWARF sections of `data`.
pub fn parse<'data>(path: &Path, data: &'data [u8]) -> Result<ParsedElf<'data>> {
    let elf_err = |message: String| Error::Elf {
        path: path.to_owned(),
        message,
    };
    match FileKind::parse(data).map_err(|e| elf_err(e.to_string()))? {
        FileKind::Elf32 => parse_class::<object::elf::FileHeader32<Endianness>>(path, data, 32),
        FileKind::Elf64 => parse_class::<object::elf::FileHeader64<Endianness>>(path, data, 64),
        other => Err(elf_err(format!("file kind {other:?} is not ELF"))),
    }
}

fn parse_class<'data, Elf: FileHeader<Endian = Endianness>>(
    path: &Path,
    data: &'data [u8],
    class: u8,
) -> Result<ParsedElf<'data>> {
    let elf_err = |message: String| Error::Elf {
        path: path.to_owned(),
        message,
    };
    let file = ElfFile::<Elf>::parse(data).map_err(|e| elf_err(e.to_string()))?;
    let endian = file.endian();
    let big_endian = !file.is_little_endian();
    let machine_code = file.elf_header().e_machine(endian);
    let machine = machine_code
        .name()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("EM_{}", machine_code.0));
    let distro_arch = distro_arch(&machine, class, big_endian);
    let build_id = file
        .build_id()
        .map_err(|e| elf_err(format!("reading the build-id note: {e}")))?
        .map(hex);
    let banner = linux_banner(&file);
    let uts_release = symbol_bytes(&file, "init_uts_ns").and_then(uts_release);
    let relocatable = file.kind() == ObjectKind::Relocatable;
    let module = if relocatable {
        let layout = Layout::new(path, &file)?;
        let relocator = Relocator::new(path, &file, &layout)?;
        Some((layout, relocator))
    } else {
        None
    };
    let symbols = function_symbols(&file, module.as_ref().map(|(layout, _)| layout))
        .map_err(|e| elf_err(format!("reading .symtab: {e}")))?;
    let module_attach = match &module {
        Some((_, relocator)) => Some(crate::module::attach_data(path, &file, relocator, class)?),
        None => None,
    };

    let mut debug_sections = Vec::with_capacity(DWARF_SECTIONS.len());
    for id in DWARF_SECTIONS {
        let Some(section) = file.section_by_name(id.name()) else {
            continue;
        };
        let mut data = section_data(path, &section)?;
        if let Some((_, relocator)) = &module {
            data = relocator.relocate(path, &file, &section, data)?;
        }
        debug_sections.push((id, data));
    }
    if !debug_sections
        .iter()
        .any(|(id, d)| *id == gimli::SectionId::DebugInfo && !d.is_empty())
    {
        return Err(Error::NoDwarf {
            path: path.to_owned(),
        });
    }
    Ok(ParsedElf {
        machine,
        distro_arch,
        class,
        big_endian,
        build_id,
        banner,
        uts_release,
        symbols,
        debug_sections,
        relocatable,
        module_name: relocatable
            .then(|| crate::module::module_name(path, &file))
            .flatten(),
        module_attach,
    })
}

/// A section's bytes, decompressed if the section is compressed.
fn section_data<'data>(
    path: &Path,
    section: &impl ObjectSection<'data>,
) -> Result<Cow<'data, [u8]>> {
    let name = section.name().unwrap_or("?").to_owned();
    let section_err = |message: String| Error::Section {
        path: path.to_owned(),
        section: name.clone(),
        message,
    };
    let compressed = section
        .compressed_data()
        .map_err(|e| section_err(e.to_string()))?;
    if compressed.format == CompressionFormat::None {
        return Ok(Cow::Borrowed(compressed.data));
    }
    let size = compressed.uncompressed_size;
    if size > MAX_SECTION_SIZE {
        return Err(section_err(format!(
            "declares an uncompressed size of {size} bytes, over the limit of {MAX_SECTION_SIZE}"
        )));
    }
    let ratio_limit = (compressed.data.len() as u64)
        .saturating_mul(MAX_COMPRESSION_RATIO)
        .max(1 << 20);
    if size > ratio_limit {
        return Err(section_err(format!(
            "declares an uncompressed size of {size} bytes for {} compressed bytes, \
             a ratio over {MAX_COMPRESSION_RATIO}:1",
            compressed.data.len()
        )));
    }
    let mut out = Vec::with_capacity(size as usize);
    let read = match compressed.format {
        CompressionFormat::Zlib => flate2::read::ZlibDecoder::new(compressed.data)
            .take(size + 1)
            .read_to_end(&mut out),
        CompressionFormat::Zstandard => zstd::stream::read::Decoder::new(compressed.data)
            .and_then(|decoder| decoder.take(size + 1).read_to_end(&mut out)),
        other => return Err(section_err(format!("unsupported compression {other:?}"))),
    };
    read.map_err(|e| section_err(format!("decompressing: {e}")))?;
    if out.len() as u64 != size {
        return Err(section_err(format!(
            "decompressed to {} bytes, but the header says {size}",
            out.len()
        )));
    }
    Ok(Cow::Owned(out))
}

/// The section bytes from symbol `name` to the end of its section.
fn symbol_bytes<'data, Elf: FileHeader<Endian = Endianness>>(
    file: &ElfFile<'data, Elf>,
    name: &str,
) -> Option<&'data [u8]> {
    let sym = file.symbols().find(|s| s.name() == Ok(name))?;
    let section = file.section_by_index(sym.section_index()?).ok()?;
    let data = section.data().ok()?;
    let start = usize::try_from(sym.address().checked_sub(section.address())?).ok()?;
    data.get(start..)
}

/// The release in `init_uts_ns`: a `struct new_utsname` (six 65-byte
/// strings: `sysname` = `Linux`, `nodename`, `release`, ...) at the start
/// of the object or after an older kernel's leading `struct kref`.
pub fn uts_release(init_uts_ns: &[u8]) -> Option<String> {
    const FIELD: usize = 65;
    [0usize, 4, 8].into_iter().find_map(|at| {
        let sysname = init_uts_ns.get(at..at + FIELD)?;
        if !sysname.starts_with(b"Linux\0") {
            return None;
        }
        let release = c_string(init_uts_ns.get(at + 2 * FIELD..at + 3 * FIELD)?);
        (!release.is_empty()).then_some(release)
    })
}

/// The `linux_banner` string: from the symbol when present, else the first
/// `Linux version ` string of `.rodata`.
fn linux_banner<'data, Elf: FileHeader<Endian = Endianness>>(
    file: &ElfFile<'data, Elf>,
) -> Option<String> {
    let from_symbol = symbol_bytes(file, "linux_banner").map(c_string);
    let banner = from_symbol.or_else(|| {
        let rodata = file.section_by_name(".rodata")?.data().ok()?;
        let needle = b"Linux version ";
        let at = rodata.windows(needle.len()).position(|w| w == needle)?;
        Some(c_string(&rodata[at..]))
    })?;
    let banner = banner.trim_end().to_owned();
    banner.starts_with("Linux version ").then_some(banner)
}

fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end.min(4096)]).into_owned()
}

/// Debian/Ubuntu architecture names (`dpkg --print-architecture`).
pub fn distro_arch(machine: &str, class: u8, big_endian: bool) -> Option<&'static str> {
    Some(match (machine, class, big_endian) {
        ("EM_X86_64", 64, false) => "amd64",
        ("EM_386", 32, false) => "i386",
        ("EM_AARCH64", 64, false) => "arm64",
        ("EM_ARM", 32, false) => "armhf",
        ("EM_PPC64", 64, false) => "ppc64el",
        ("EM_PPC64", 64, true) => "ppc64",
        ("EM_RISCV", 64, false) => "riscv64",
        ("EM_S390", 64, true) => "s390x",
        ("EM_LOONGARCH", 64, false) => "loong64",
        ("EM_MIPS", 64, false) => "mips64el",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::uts_release;

    fn utsname(lead: usize, release: &str) -> Vec<u8> {
        let mut bytes = vec![0u8; lead + 6 * 65];
        bytes[lead..lead + 5].copy_from_slice(b"Linux");
        bytes[lead + 65..lead + 71].copy_from_slice(b"(none)");
        bytes[lead + 130..lead + 130 + release.len()].copy_from_slice(release.as_bytes());
        bytes
    }

    #[test]
    fn reads_the_release_of_init_uts_ns() {
        assert_eq!(
            uts_release(&utsname(0, "6.1.0-47-cloud-amd64")).as_deref(),
            Some("6.1.0-47-cloud-amd64")
        );
        assert_eq!(
            uts_release(&utsname(4, "5.4.0-26-generic")).as_deref(),
            Some("5.4.0-26-generic")
        );
        assert_eq!(uts_release(&utsname(0, "")), None);
        assert_eq!(uts_release(b"Linux"), None);
        assert_eq!(uts_release(&[0u8; 400]), None);
    }
}
