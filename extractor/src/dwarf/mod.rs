//! DWARF access: loading the sections into gimli, splitting `.debug_info`
//! into compile units (each with its normalised path and file table), and
//! resolving section-global DIE references to the unit that holds them.

pub mod types;
pub mod walk;

use std::sync::Arc;

use gimli::{EndianSlice, RunTimeEndian};

use crate::paths::{anchor, join_and_normalize, normalize_source_path};

/// The reader every DWARF structure is parsed with: a slice of the mapped
/// (or decompressed) section.
pub type Reader<'d> = EndianSlice<'d, RunTimeEndian>;

/// A DIE's offset from the start of `.debug_info`, the one key by which DIEs
/// of different units refer to each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DieOffset(pub usize);

/// `DW_LANG_Rust`: Rust units are skipped, as DepSurf does.
const DW_LANG_RUST: u16 = 0x1c;
/// `DW_LANG_Mips_Assembler`, which GNU as uses for every architecture.
const DW_LANG_ASSEMBLER: u16 = 0x8001;

/// One compile unit, parsed far enough to walk its DIEs.
pub struct CompileUnit<'d> {
    /// Offset of the unit header in `.debug_info`.
    pub offset: usize,
    /// Offset just past the unit's last byte.
    pub end: usize,
    pub unit: gimli::Unit<Reader<'d>>,
    /// Normalised `DW_AT_name` of the unit.
    pub path: Option<Arc<str>>,
    pub language: Option<u16>,
    /// Normalised `directory/file` by raw `DW_AT_decl_file` value.
    pub files: Vec<Option<Arc<str>>>,
}

impl<'d> CompileUnit<'d> {
    pub fn parse(
        dwarf: &gimli::Dwarf<Reader<'d>>,
        header: gimli::UnitHeader<Reader<'d>>,
    ) -> gimli::Result<Self> {
        let offset = header.debug_info_offset().map(|o| o.0).unwrap_or_default();
        let end = offset + header.length_including_self();
        let unit = dwarf.unit(header)?;
        let comp_dir = unit.comp_dir.map(|d| d.to_string_lossy().into_owned());
        let path = unit.name.map(|name| {
            Arc::from(normalize_source_path(&anchor(
                comp_dir.as_deref(),
                &name.to_string_lossy(),
            )))
        });
        let mut language = None;
        {
            let mut entries = unit.entries_raw(None)?;
            if let Some(abbrev) = entries.read_abbreviation()? {
                for spec in abbrev.attributes() {
                    let attr = entries.read_attribute(*spec)?;
                    if attr.name() == gimli::DW_AT_language {
                        if let gimli::AttributeValue::Language(lang) = attr.value() {
                            language = Some(lang.0);
                        }
                    }
                }
            }
        }
        let files = file_table(dwarf, &unit, comp_dir.as_deref());
        Ok(CompileUnit {
            offset,
            end,
            unit,
            path,
            language,
            files,
        })
    }

    pub fn is_rust(&self) -> bool {
        self.language == Some(DW_LANG_RUST)
    }

    /// Assembler units describe functions without a C signature.
    pub fn is_assembler(&self) -> bool {
        self.language == Some(DW_LANG_ASSEMBLER)
    }

    /// Section-global offset of a unit-relative one.
    pub fn global(&self, offset: gimli::UnitOffset<usize>) -> DieOffset {
        DieOffset(self.offset + offset.0)
    }

    /// Unit-relative offset of a section-global one inside this unit.
    pub fn local(&self, offset: DieOffset) -> Option<gimli::UnitOffset<usize>> {
        (offset.0 > self.offset && offset.0 < self.end)
            .then(|| gimli::UnitOffset(offset.0 - self.offset))
    }

    /// The normalised file path for a raw `DW_AT_decl_file` value.
    pub fn file(&self, index: u64) -> Option<&Arc<str>> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.files.get(i))
            .and_then(Option::as_ref)
    }
}

/// Every file of the unit's line table, by the index `DW_AT_decl_file` uses
/// (gimli maps DWARF 4's 1-based and DWARF 5's 0-based numbering).
fn file_table<'d>(
    dwarf: &gimli::Dwarf<Reader<'d>>,
    unit: &gimli::Unit<Reader<'d>>,
    comp_dir: Option<&str>,
) -> Vec<Option<Arc<str>>> {
    let Some(program) = &unit.line_program else {
        return Vec::new();
    };
    let header = program.header();
    let count = header.file_names().len() as u64 + 1;
    let string = |value| {
        dwarf
            .attr_string(unit, value)
            .ok()
            .map(|s| s.to_string_lossy().into_owned())
    };
    (0..count)
        .map(|index| {
            let entry = header.file(index)?;
            let name = string(entry.path_name())?;
            let dir = entry.directory(header).and_then(string);
            Some(Arc::from(join_and_normalize(
                comp_dir,
                dir.as_deref(),
                &name,
            )))
        })
        .collect()
}

/// Finds the unit holding a section-global offset; `units` is sorted by offset.
pub fn unit_index_of(units: &[CompileUnit<'_>], offset: DieOffset) -> Option<usize> {
    let i = units.partition_point(|u| u.offset <= offset.0);
    let i = i.checked_sub(1)?;
    units[i].local(offset).map(|_| i)
}
