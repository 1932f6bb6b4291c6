//! One pass over a compile unit's DIEs with gimli's raw entry reader,
//! recording what the function model needs and skipping everything else
//! (type and variable subtrees are jumped over by `DW_AT_sibling`).
//!
//! The walk visits the tags DepSurf visits: the unit, lexical blocks,
//! subprograms and inlined subroutines recursively, and call sites without
//! their children. It records every subprogram DIE (definitions,
//! declarations, abstract and concrete instances) and, in DIE order, one
//! event per subprogram, inlined copy and call site with its enclosing
//! out-of-line function. References stay unresolved section offsets; the
//! function model resolves them once every unit is walked.

use gimli::{constants, AttributeValue};

use super::{CompileUnit, DieOffset, Reader};

/// A `DW_TAG_subprogram` DIE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubprogramDie<'d> {
    pub offset: DieOffset,
    pub name: Option<&'d [u8]>,
    pub external: bool,
    pub declaration: bool,
    /// `DW_AT_inline` value (0-3).
    pub inline: Option<u8>,
    /// `DW_AT_abstract_origin`: this DIE is a concrete out-of-line instance.
    pub abstract_origin: Option<DieOffset>,
    /// `DW_AT_specification`: this DIE completes a declaration.
    pub specification: Option<DieOffset>,
    pub decl_file: Option<u64>,
    pub decl_line: Option<u64>,
    pub pc: Option<u64>,
}

/// What happened at one point of the walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A subprogram DIE, by index into [`UnitWalk::subprograms`].
    Subprogram(u32),
    /// An inlined copy of the function at `origin`.
    Inlined { origin: DieOffset, pc: Option<u64> },
    /// A direct call to the function at `target`.
    Call { target: DieOffset },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    /// The enclosing out-of-line function: index of its subprogram DIE.
    pub caller: Option<u32>,
}

/// Everything one walk of a unit recorded.
#[derive(Debug, Default)]
pub struct UnitWalk<'d> {
    /// Sorted by offset (the walk visits DIEs in offset order).
    pub subprograms: Vec<SubprogramDie<'d>>,
    pub events: Vec<Event>,
    /// Struct, union, enum and typedef DIEs inside functions (local types),
    /// in offset order, for the type kind.
    pub local_types: Vec<DieOffset>,
}

impl<'d> UnitWalk<'d> {
    /// The subprogram DIE at `offset`, if the walk recorded one there.
    pub fn subprogram_at(&self, offset: DieOffset) -> Option<&SubprogramDie<'d>> {
        self.subprograms
            .binary_search_by_key(&offset, |s| s.offset)
            .ok()
            .map(|i| &self.subprograms[i])
    }
}

/// A failure inside one unit, with the offset where reading stopped.
#[derive(Debug)]
pub struct WalkError {
    pub offset: DieOffset,
    pub error: gimli::Error,
}

struct Frame {
    depth: isize,
    caller: Option<u32>,
}

/// Walks every DIE of `cu`.
pub fn walk_unit<'d>(
    dwarf: &gimli::Dwarf<Reader<'d>>,
    cu: &CompileUnit<'d>,
) -> Result<UnitWalk<'d>, WalkError> {
    let mut out = UnitWalk::default();
    let unit = &cu.unit;
    let at = |offset: gimli::UnitOffset<usize>| {
        let offset = cu.global(offset);
        move |error| WalkError { offset, error }
    };
    let mut entries = unit
        .entries_raw(None)
        .map_err(at(unit.header.root_offset()))?;
    // Depth of the reader's depth 0: changes when a subtree is skipped by
    // jumping to its sibling with a fresh reader.
    let mut base_depth: isize = 0;
    let mut frames: Vec<Frame> = Vec::new();

    while !entries.is_empty() {
        let depth = base_depth + entries.next_depth();
        let offset = entries.next_offset();
        let err = at(offset);
        let Some(abbrev) = entries.read_abbreviation().map_err(err)? else {
            continue;
        };
        while frames.last().is_some_and(|f| f.depth >= depth) {
            frames.pop();
        }
        let caller = frames.last().and_then(|f| f.caller);
        let has_children = abbrev.has_children();
        match abbrev.tag() {
            constants::DW_TAG_compile_unit | constants::DW_TAG_lexical_block => {
                entries
                    .skip_attributes(abbrev.attributes())
                    .map_err(at(offset))?;
                if has_children {
                    frames.push(Frame { depth, caller });
                }
            }
            constants::DW_TAG_subprogram => {
                let mut die = SubprogramDie {
                    offset: cu.global(offset),
                    name: None,
                    external: false,
                    declaration: false,
                    inline: None,
                    abstract_origin: None,
                    specification: None,
                    decl_file: None,
                    decl_line: None,
                    pc: None,
                };
                let mut entry_pc = None;
                let mut ranges = None;
                for spec in abbrev.attributes() {
                    let attr = entries.read_attribute(*spec).map_err(at(offset))?;
                    match attr.name() {
                        constants::DW_AT_ranges => ranges = Some(attr.value()),
                        constants::DW_AT_name => {
                            die.name = dwarf
                                .attr_string(unit, attr.value())
                                .ok()
                                .map(|s| s.slice())
                        }
                        constants::DW_AT_external => die.external = flag(attr.value()),
                        constants::DW_AT_declaration => die.declaration = flag(attr.value()),
                        constants::DW_AT_inline => {
                            die.inline = match attr.value() {
                                AttributeValue::Inline(inl) => Some(inl.0),
                                other => other.u8_value(),
                            }
                        }
                        constants::DW_AT_abstract_origin => {
                            die.abstract_origin = reference(cu, attr.value())
                        }
                        constants::DW_AT_specification => {
                            die.specification = reference(cu, attr.value())
                        }
                        constants::DW_AT_decl_file => die.decl_file = attr.udata_value(),
                        constants::DW_AT_decl_line => die.decl_line = attr.udata_value(),
                        constants::DW_AT_low_pc => die.pc = address(dwarf, cu, attr.value()),
                        constants::DW_AT_entry_pc => entry_pc = address(dwarf, cu, attr.value()),
                        _ => {}
                    }
                }
                die.pc = die
                    .pc
                    .or(entry_pc)
                    .or_else(|| ranges.and_then(|r| first_range_start(dwarf, cu, r)));
                let index = out.subprograms.len() as u32;
                let is_definition = !die.declaration;
                out.subprograms.push(die);
                out.events.push(Event {
                    kind: EventKind::Subprogram(index),
                    caller,
                });
                if has_children {
                    let caller = if is_definition { Some(index) } else { caller };
                    frames.push(Frame { depth, caller });
                }
            }
            constants::DW_TAG_inlined_subroutine => {
                let mut origin = None;
                let mut low_pc = None;
                let mut entry_pc = None;
                let mut ranges = None;
                for spec in abbrev.attributes() {
                    let attr = entries.read_attribute(*spec).map_err(at(offset))?;
                    match attr.name() {
                        constants::DW_AT_abstract_origin => origin = reference(cu, attr.value()),
                        constants::DW_AT_low_pc => low_pc = address(dwarf, cu, attr.value()),
                        constants::DW_AT_entry_pc => entry_pc = address(dwarf, cu, attr.value()),
                        constants::DW_AT_ranges => ranges = Some(attr.value()),
                        _ => {}
                    }
                }
                let pc = low_pc
                    .or(entry_pc)
                    .or_else(|| ranges.and_then(|r| first_range_start(dwarf, cu, r)));
                if let Some(origin) = origin {
                    out.events.push(Event {
                        kind: EventKind::Inlined { origin, pc },
                        caller,
                    });
                }
                if has_children {
                    frames.push(Frame { depth, caller });
                }
            }
            constants::DW_TAG_call_site | constants::DW_TAG_GNU_call_site => {
                let mut target = None;
                let mut sibling = None;
                for spec in abbrev.attributes() {
                    let attr = entries.read_attribute(*spec).map_err(at(offset))?;
                    match attr.name() {
                        constants::DW_AT_call_origin | constants::DW_AT_abstract_origin => {
                            target = target.or(reference(cu, attr.value()))
                        }
                        constants::DW_AT_sibling => sibling = reference(cu, attr.value()),
                        _ => {}
                    }
                }
                if let Some(target) = target {
                    out.events.push(Event {
                        kind: EventKind::Call { target },
                        caller,
                    });
                }
                if has_children {
                    skip_subtree(cu, &mut entries, &mut base_depth, depth, sibling)
                        .map_err(at(offset))?;
                }
            }
            _ => {
                if depth >= 2
                    && matches!(
                        abbrev.tag(),
                        constants::DW_TAG_structure_type
                            | constants::DW_TAG_union_type
                            | constants::DW_TAG_enumeration_type
                            | constants::DW_TAG_typedef
                    )
                {
                    out.local_types.push(cu.global(offset));
                }
                if has_children {
                    let sibling = read_sibling(cu, &mut entries, abbrev).map_err(at(offset))?;
                    skip_subtree(cu, &mut entries, &mut base_depth, depth, sibling)
                        .map_err(at(offset))?;
                } else {
                    entries
                        .skip_attributes(abbrev.attributes())
                        .map_err(at(offset))?;
                }
            }
        }
    }
    Ok(out)
}

/// Reads the attributes of the DIE whose abbreviation was just read,
/// keeping only `DW_AT_sibling` (as a section-global offset).
pub(crate) fn read_sibling<'d>(
    cu: &CompileUnit<'d>,
    entries: &mut gimli::EntriesRaw<'_, Reader<'d>>,
    abbrev: &gimli::Abbreviation,
) -> gimli::Result<Option<DieOffset>> {
    let mut sibling = None;
    for spec in abbrev.attributes() {
        if spec.name() == constants::DW_AT_sibling {
            sibling = reference(cu, entries.read_attribute(*spec)?.value());
        } else {
            entries.skip_attributes(std::slice::from_ref(spec))?;
        }
    }
    Ok(sibling)
}

/// Skips the children of the DIE just read (at absolute `depth`): by jumping
/// to its sibling when `DW_AT_sibling` points forward inside the unit, else
/// by reading abbreviations until the depth comes back.
pub(crate) fn skip_subtree<'a, 'd>(
    cu: &'a CompileUnit<'d>,
    entries: &mut gimli::EntriesRaw<'a, Reader<'d>>,
    base_depth: &mut isize,
    depth: isize,
    sibling: Option<DieOffset>,
) -> gimli::Result<()> {
    if let Some(local) = sibling.and_then(|s| cu.local(s)) {
        if local > entries.next_offset() {
            *entries = cu.unit.entries_raw(Some(local))?;
            *base_depth = depth;
            return Ok(());
        }
    }
    let relative = depth - *base_depth;
    while entries.next_depth() > relative {
        if let Some(abbrev) = entries.read_abbreviation()? {
            entries.skip_attributes(abbrev.attributes())?;
        }
    }
    Ok(())
}

fn flag(value: AttributeValue<Reader<'_>>) -> bool {
    matches!(value, AttributeValue::Flag(true))
}

/// A reference attribute as a section-global offset.
pub fn reference(cu: &CompileUnit<'_>, value: AttributeValue<Reader<'_>>) -> Option<DieOffset> {
    match value {
        AttributeValue::UnitRef(offset) => Some(cu.global(offset)),
        AttributeValue::DebugInfoRef(offset) => Some(DieOffset(offset.0)),
        _ => None,
    }
}

fn address<'d>(
    dwarf: &gimli::Dwarf<Reader<'d>>,
    cu: &CompileUnit<'d>,
    value: AttributeValue<Reader<'d>>,
) -> Option<u64> {
    dwarf.attr_address(&cu.unit, value).ok().flatten()
}

fn first_range_start<'d>(
    dwarf: &gimli::Dwarf<Reader<'d>>,
    cu: &CompileUnit<'d>,
    value: AttributeValue<Reader<'d>>,
) -> Option<u64> {
    let mut ranges = dwarf.attr_ranges(&cu.unit, value).ok()??;
    ranges.next().ok()?.map(|r| r.begin)
}
