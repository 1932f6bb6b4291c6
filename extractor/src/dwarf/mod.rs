//! DWARF access: loading the sections into gimli, splitting `.debug_info`
//! into compile units (each with its normalised path and file table), and
//! resolving section-global DIE references to the unit that holds them.

pub mod types;
pub mod walk;

use std::collections::HashMap;
use std::sync::Arc;

use gimli::{EndianSlice, Reader as _, RunTimeEndian, Section as _};

use crate::limits::{text, MAX_PATH};
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
        let comp_dir = unit.comp_dir.map(|d| text(d.slice(), MAX_PATH));
        let path = unit.name.map(|name| {
            Arc::from(normalize_source_path(&anchor(
                comp_dir.as_deref(),
                &text(name.slice(), MAX_PATH),
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
            .map(|s| text(s.slice(), MAX_PATH))
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

/// How many times `.debug_line` the line programs named by all units may
/// add up to (plus a fixed megabyte), shared programs counted once per unit.
const LINE_PROGRAM_BUDGET: usize = 4;

/// Bounds what parsing the units of `headers` can cost, whatever the input.
///
/// gimli parses a unit's abbreviation table and line-program header anew
/// for every unit that names it, so a few kilobytes of tiny units that all
/// name one large table (or overlapping tables) cost gigabytes and minutes.
/// Here each distinct abbreviation table is parsed once, cut off where the
/// next one starts, and cached in `dwarf` for all the units naming it; and
/// the line programs the units name may add up to at most
/// [`LINE_PROGRAM_BUDGET`] times `.debug_line`.
///
/// Returns, by `.debug_info` offset, why a unit must not be parsed.
pub fn prepare_units<'d>(
    dwarf: &mut gimli::Dwarf<Reader<'d>>,
    headers: &[gimli::UnitHeader<Reader<'d>>],
) -> HashMap<usize, String> {
    let mut refused = HashMap::new();
    let info_offset = |h: &gimli::UnitHeader<Reader<'d>>| h.debug_info_offset().map_or(0, |o| o.0);

    let abbrev = *dwarf.debug_abbrev.reader();
    let mut starts: Vec<usize> = headers.iter().map(|h| h.debug_abbrev_offset().0).collect();
    starts.sort_unstable();
    starts.dedup();
    let mut failed = HashMap::new();
    for (i, &start) in starts.iter().enumerate() {
        let end = starts
            .get(i + 1)
            .map_or(abbrev.len(), |&next| next.min(abbrev.len()));
        let table = gimli::DebugAbbrev::from(abbrev.range(0..end));
        match table.abbreviations(gimli::DebugAbbrevOffset(start)) {
            Ok(parsed) => dwarf
                .abbreviations_cache
                .set::<Reader<'d>>(gimli::DebugAbbrevOffset(start), Arc::new(parsed)),
            Err(e) => {
                failed.insert(start, e);
            }
        }
    }

    let line = *dwarf.debug_line.reader();
    let budget = line
        .len()
        .saturating_mul(LINE_PROGRAM_BUDGET)
        .saturating_add(1 << 20);
    let mut spent = 0usize;
    for header in headers {
        let start = header.debug_abbrev_offset().0;
        if let Some(e) = failed.get(&start) {
            refused.insert(
                info_offset(header),
                format!("abbreviation table at .debug_abbrev+{start:#x}: {e}"),
            );
            continue;
        }
        let Some(offset) = stmt_list(dwarf, header) else {
            continue;
        };
        let mut program = line;
        let size = program
            .skip(offset)
            .and_then(|()| program.read_initial_length())
            .map_or(0, |(length, format)| {
                length.saturating_add(format.initial_length_size().into())
            })
            .min(program.len());
        spent = spent.saturating_add(size);
        if spent > budget {
            refused.insert(
                info_offset(header),
                format!(
                    "line program at .debug_line+{offset:#x}: the units' line programs \
                     add up to more than {LINE_PROGRAM_BUDGET} times .debug_line"
                ),
            );
        }
    }
    refused
}

/// The `DW_AT_stmt_list` of a unit's root DIE, read with the cached
/// abbreviations.
fn stmt_list<'d>(
    dwarf: &gimli::Dwarf<Reader<'d>>,
    header: &gimli::UnitHeader<Reader<'d>>,
) -> Option<usize> {
    let abbreviations = dwarf.abbreviations(header).ok()?;
    let mut entries = header.entries_raw(&abbreviations, None).ok()?;
    let abbrev = entries.read_abbreviation().ok()??;
    for spec in abbrev.attributes() {
        let attr = entries.read_attribute(*spec).ok()?;
        if attr.name() == gimli::DW_AT_stmt_list {
            if let gimli::AttributeValue::DebugLineRef(offset) = attr.value() {
                return Some(offset.0);
            }
        }
    }
    None
}
