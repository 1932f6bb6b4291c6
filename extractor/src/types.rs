//! The type kind's extraction: every struct, union, enum and typedef
//! defined in DWARF (`DW_TAG_structure_type`, `DW_TAG_union_type`,
//! `DW_TAG_enumeration_type`, `DW_TAG_typedef` children of
//! `DW_TAG_compile_unit`, and those inside functions, which the function
//! walk finds), with the members of structs and
//! unions (`DW_TAG_member`: `DW_AT_data_member_location`,
//! `DW_AT_data_bit_offset` or DWARF 2-4's `DW_AT_bit_offset`,
//! `DW_AT_bit_size`) and the enumerators of enums (`DW_AT_const_value`).
//!
//! Every unit that includes a header defines its types again; definitions
//! are deduplicated across units as BTF deduplication does: one row per
//! kind, name and layout (size, members with their C types, offsets and
//! bit sizes; enumerators with their values), whatever unit and
//! declaration line it came from. Two different layouts under one name (a
//! private `struct foo` in two drivers, or a header whose layout depends
//! on the unit's config) are two rows, never "the first one wins". A row
//! keeps the declaration location of the lowest unit defining it.
//!
//! Cost: most of a unit's types were already stored by another unit
//! including the same headers. Each layout is first keyed from the raw
//! pass alone ([`shape_hash`] of every member's type: tags, names,
//! dimensions, no name rendered); only a key never seen is rendered with
//! [`TypeRenderer`] and hashed for real.
//!
//! Anonymous structs and unions reached through a typedef are named by the
//! typedef; anonymous enums not named by a typedef are keyed
//! `(anon:<first enumerator>)`; other anonymous structs and unions are
//! not rows: their members are listed under the enclosing named type with
//! their path, as CO-RE sees them (`task_struct` reaches `__state`).

use rustc_hash::FxHashSet as HashSet;

use rustc_hash::FxHashMap as HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use gimli::{constants, AttributeValue};
use rayon::prelude::*;

use crate::dwarf::types::TypeRenderer;
use crate::dwarf::walk::{read_sibling, reference, skip_subtree};
use crate::dwarf::{CompileUnit, DieOffset, Reader};
use crate::limits::{text, MAX_NAME};
use crate::UnitError;

/// Members listed for one type, anonymous members' members included.
/// The kernel's largest structs have a few hundred.
const MAX_MEMBERS: usize = 1 << 16;
/// Anonymous members nested deeper than this are treated as a cycle.
const MAX_ANON_DEPTH: u32 = 32;
/// Shards of the cross-unit definition table (fewer lock collisions).
const SHARDS: usize = 64;

/// Which C type a definition is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TypeKind {
    Struct,
    Union,
    Enum,
    Typedef,
}

impl TypeKind {
    /// The value of the `kind` columns: `struct`, `union`, `enum`, `typedef`.
    pub fn as_str(self) -> &'static str {
        match self {
            TypeKind::Struct => "struct",
            TypeKind::Union => "union",
            TypeKind::Enum => "enum",
            TypeKind::Typedef => "typedef",
        }
    }

    fn of_tag(tag: constants::DwTag) -> Option<Self> {
        match tag {
            constants::DW_TAG_structure_type => Some(TypeKind::Struct),
            constants::DW_TAG_union_type => Some(TypeKind::Union),
            constants::DW_TAG_enumeration_type => Some(TypeKind::Enum),
            constants::DW_TAG_typedef => Some(TypeKind::Typedef),
            _ => None,
        }
    }
}

/// One member of a struct or union, in the flattened pre-order list:
/// direct members at depth 0, each anonymous struct/union member followed
/// by its own members at depth + 1.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Member {
    /// `None` for an anonymous member.
    pub name: Option<String>,
    /// The names from the enclosing named type down to this member, with
    /// `(anon)` for anonymous ones: `(anon).__state`.
    pub path: String,
    pub depth: u32,
    /// The member's C type as an abstract declarator, typedef names kept:
    /// `unsigned int`, `struct list_head *`, `char [16]`, `struct {...}`.
    pub ty: String,
    /// Bits from the start of the enclosing named type.
    pub bit_offset: u64,
    /// `DW_AT_bit_size`, for bitfields only.
    pub bit_size: Option<u32>,
}

/// One enumerator.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Enumerator {
    pub name: String,
    /// `DW_AT_const_value`, as a signed 64-bit value (unsigned values
    /// above `i64::MAX` wrap, two's complement).
    pub value: i64,
}

/// One distinct definition: a row of `types`, with its rows of
/// `type_members` or `enum_values`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeDef {
    pub name: String,
    pub kind: TypeKind,
    /// `DW_AT_byte_size` of a struct, union or enum; `None` for a typedef.
    pub size: Option<u64>,
    pub decl_file: Option<Arc<str>>,
    pub decl_line: Option<u32>,
    /// A typedef's target type (`unsigned int`, `struct {...}`).
    pub target: Option<String>,
    /// Direct members (anonymous ones included) or enumerators.
    pub member_count: u32,
    pub members: Vec<Member>,
    pub enumerators: Vec<Enumerator>,
    /// Units defining this very layout.
    pub units: u32,
    /// XXH3-128 of the layout (kind, name, size, target, members,
    /// enumerators; not the declaration location).
    pub hash: u128,
}

impl TypeDef {
    /// The `definition_hash` column: 32 lowercase hex digits.
    pub fn definition_hash(&self) -> String {
        format!("{:032x}", self.hash)
    }
}

/// A `DW_TAG_member` as read.
struct RawMember<'d> {
    name: Option<&'d [u8]>,
    ty: Option<DieOffset>,
    location: Option<u64>,
    data_bit_offset: Option<u64>,
    /// DWARF 2-4 `DW_AT_bit_offset`: from the storage unit's most
    /// significant bit.
    old_bit_offset: Option<i64>,
    bit_size: Option<u64>,
    byte_size: Option<u64>,
}

/// A type DIE at compile-unit level, as read.
struct RawType<'d> {
    offset: DieOffset,
    kind: TypeKind,
    name: Option<&'d [u8]>,
    declaration: bool,
    byte_size: Option<u64>,
    decl_file: Option<u64>,
    decl_line: Option<u64>,
    target: Option<DieOffset>,
    members: Range<usize>,
    enumerators: Range<usize>,
}

/// The shape of one type DIE as the raw pass read it: what
/// [`TypeRenderer`] would name it from, so that a layout can be keyed
/// without rendering a single type name.
enum RawShape<'d> {
    /// Base types, typedefs, struct/union/enum/class tags, unspecified
    /// types, anything else: referred to by tag and name.
    Named(constants::DwTag, Option<&'d [u8]>),
    /// Pointers and qualifiers (`DW_TAG_pointer_type`, `const_type`, …).
    Wrapped(constants::DwTag, Option<DieOffset>),
    /// An array: element type, dimensions in [`UnitTypes::dims`].
    Array(Option<DieOffset>, Range<usize>),
    /// A subroutine type: return type, parameters in
    /// [`UnitTypes::params`], variadic, prototyped.
    Function(Option<DieOffset>, Range<usize>, bool, bool),
}

/// Everything one unit's compile-unit-level type DIEs hold.
#[derive(Default)]
struct UnitTypes<'d> {
    types: Vec<RawType<'d>>,
    members: Vec<RawMember<'d>>,
    enumerators: Vec<(Option<&'d [u8]>, i64)>,
    /// Every type DIE read, by offset.
    shapes: HashMap<DieOffset, RawShape<'d>>,
    dims: Vec<Option<u64>>,
    params: Vec<Option<DieOffset>>,
    /// `DW_AT_byte_size` of every compile-unit-level DIE that has one
    /// (base types too), and typedef targets, for old-style bitfields.
    sizes: HashMap<DieOffset, u64>,
    typedef_targets: HashMap<DieOffset, DieOffset>,
}

/// A failure reading one unit's types.
struct TypeError {
    offset: DieOffset,
    message: String,
}

/// One entry of the cross-unit definition table.
struct Slot {
    def: TypeDef,
    /// The lowest unit index defining it, whose location the row keeps.
    unit: usize,
}

/// The types of every unit, deduplicated, sorted by (name, kind,
/// declaration file and line, hash); and the units whose types could not
/// be read (the unit's functions are not affected).
pub fn extract_types<'d>(
    path: &std::path::Path,
    dwarf: &gimli::Dwarf<Reader<'d>>,
    units: &[CompileUnit<'d>],
    local_types: &[&[DieOffset]],
) -> (Vec<TypeDef>, Vec<UnitError>) {
    let big_endian = {
        use gimli::{Endianity as _, Reader as _, Section as _};
        dwarf.debug_info.reader().endian().is_big_endian()
    };
    let keys: Vec<Mutex<HashMap<u128, u128>>> = (0..SHARDS)
        .map(|_| Mutex::new(HashMap::default()))
        .collect();
    let shards: Vec<Mutex<HashMap<u128, Slot>>> = (0..SHARDS)
        .map(|_| Mutex::new(HashMap::default()))
        .collect();
    let errors: Vec<Option<UnitError>> = units
        .par_iter()
        .enumerate()
        .map(|(index, cu)| {
            if cu.is_rust() || cu.is_assembler() {
                return None;
            }
            let known = |hash: u128| {
                shards[(hash as usize) % SHARDS]
                    .lock()
                    .expect("no panics while locked")
                    .contains_key(&hash)
            };
            let lookup = |key: u128| {
                keys[(key as usize) % SHARDS]
                    .lock()
                    .expect("no panics while locked")
                    .get(&key)
                    .copied()
            };
            let remember = |key: u128, hash: u128| {
                keys[(key as usize) % SHARDS]
                    .lock()
                    .expect("no panics while locked")
                    .insert(key, hash);
            };
            let cache = LayoutCache {
                known: &known,
                lookup: &lookup,
            };
            let result = read_unit(dwarf, cu, local_types.get(index).copied().unwrap_or(&[]))
                .and_then(|raw| definitions(dwarf, units, cu, &raw, big_endian, &cache));
            match result {
                Ok(found) => {
                    let mut seen = HashSet::default();
                    for found in found {
                        let (hash, decl_file, decl_line, def, key) = match found {
                            Found::Known {
                                hash,
                                decl_file,
                                decl_line,
                                key,
                            } => (hash, decl_file, decl_line, None, key),
                            Found::New(def, key) => {
                                (def.hash, def.decl_file.clone(), def.decl_line, Some(def), key)
                            }
                        };
                        if !seen.insert(hash) {
                            continue;
                        }
                        let mut shard = shards[(hash as usize) % SHARDS]
                            .lock()
                            .expect("no panics while locked");
                        // Stored before its key is remembered: a key found
                        // always leads to a stored layout.
                        let remember_key = |()| {
                            if let Some(key) = key {
                                remember(key, hash);
                            }
                        };
                        match shard.get_mut(&hash) {
                            Some(slot) => {
                                slot.def.units += 1;
                                if index < slot.unit {
                                    slot.unit = index;
                                    slot.def.decl_file = decl_file;
                                    slot.def.decl_line = decl_line;
                                }
                            }
                            None => {
                                let def = def.expect("a layout no unit stored is built whole");
                                shard.insert(hash, Slot { def, unit: index });
                            }
                        }
                        drop(shard);
                        remember_key(());
                    }
                    None
                }
                Err(e) => Some(UnitError {
                    unit_offset: cu.offset as u64,
                    cu_path: cu.path.as_deref().map(str::to_owned),
                    message: format!(
                        "{}: types of unit {} at .debug_info+{:#x}: DIE at .debug_info+{:#x}: {}; its functions are still extracted",
                        path.display(),
                        cu.path.as_deref().unwrap_or("?"),
                        cu.offset,
                        e.offset.0,
                        e.message
                    ),
                }),
            }
        })
        .collect();
    let mut defs: Vec<TypeDef> = shards
        .into_iter()
        .flat_map(|s| {
            s.into_inner()
                .expect("no panics while locked")
                .into_values()
        })
        .map(|slot| {
            let mut def = slot.def;
            def.units = def.units.max(1);
            def
        })
        .collect();
    defs.sort_by(|a, b| {
        (&a.name, a.kind.as_str(), &a.decl_file, a.decl_line, a.hash).cmp(&(
            &b.name,
            b.kind.as_str(),
            &b.decl_file,
            b.decl_line,
            b.hash,
        ))
    });
    (defs, errors.into_iter().flatten().collect())
}

/// Reads the unit's compile-unit-level type DIEs, and the local ones
/// (inside functions) at `local`, with their members and enumerators,
/// skipping every other subtree by `DW_AT_sibling`.
fn read_unit<'d>(
    dwarf: &gimli::Dwarf<Reader<'d>>,
    cu: &CompileUnit<'d>,
    local: &[DieOffset],
) -> Result<UnitTypes<'d>, TypeError> {
    let mut out = UnitTypes::default();
    read_dies(dwarf, cu, None, &mut out)?;
    for &offset in local {
        if let Some(start) = cu.local(offset) {
            read_dies(dwarf, cu, Some(start), &mut out)?;
        }
    }
    Ok(out)
}

/// Reads the type DIEs below the unit's root (`start` `None`), or the one
/// type DIE at `start` as if it were at compile-unit level, into `out`.
fn read_dies<'d>(
    dwarf: &gimli::Dwarf<Reader<'d>>,
    cu: &CompileUnit<'d>,
    start: Option<gimli::UnitOffset<usize>>,
    out: &mut UnitTypes<'d>,
) -> Result<(), TypeError> {
    let unit = &cu.unit;
    let at = |offset: gimli::UnitOffset<usize>| {
        let offset = cu.global(offset);
        move |e: gimli::Error| TypeError {
            offset,
            message: e.to_string(),
        }
    };
    let mut entries = unit
        .entries_raw(start)
        .map_err(at(start.unwrap_or(unit.header.root_offset())))?;
    // A local type DIE is read at depth 1, like a compile-unit-level one.
    let mut base_depth: isize = isize::from(start.is_some());
    // The type DIE whose children are being read (index into out.types).
    let mut parent: Option<usize> = None;
    // The array or subroutine type whose children are being read.
    let mut building: Option<(DieOffset, RawShape<'d>)> = None;
    let mut read_one = false;
    while !entries.is_empty() {
        let depth = base_depth + entries.next_depth();
        if start.is_some() && read_one && depth <= 1 {
            break;
        }
        let offset = entries.next_offset();
        let err = at(offset);
        let Some(abbrev) = entries.read_abbreviation().map_err(err)? else {
            continue;
        };
        let has_children = abbrev.has_children();
        let tag = abbrev.tag();
        match depth {
            0 => {
                entries
                    .skip_attributes(abbrev.attributes())
                    .map_err(at(offset))?;
            }
            1 => {
                read_one = true;
                if let Some(t) = &parent {
                    close(out, *t);
                }
                parent = None;
                finish_shape(out, &mut building);
                if !is_type_tag(tag) {
                    // Functions, variables: only their sibling matters.
                    let sibling = read_sibling(cu, &mut entries, abbrev).map_err(at(offset))?;
                    if has_children {
                        skip_subtree(cu, &mut entries, &mut base_depth, depth, sibling)
                            .map_err(at(offset))?;
                    }
                    continue;
                }
                let kind = TypeKind::of_tag(tag);
                let mut raw = RawType {
                    offset: cu.global(offset),
                    kind: kind.unwrap_or(TypeKind::Typedef),
                    name: None,
                    declaration: false,
                    byte_size: None,
                    decl_file: None,
                    decl_line: None,
                    target: None,
                    members: out.members.len()..out.members.len(),
                    enumerators: out.enumerators.len()..out.enumerators.len(),
                };
                let mut sibling = None;
                let mut prototyped = false;
                for spec in abbrev.attributes() {
                    let attr = entries.read_attribute(*spec).map_err(at(offset))?;
                    match attr.name() {
                        constants::DW_AT_sibling => sibling = reference(cu, attr.value()),
                        constants::DW_AT_byte_size => raw.byte_size = attr.udata_value(),
                        constants::DW_AT_name => {
                            raw.name = dwarf
                                .attr_string(unit, attr.value())
                                .ok()
                                .map(|s| s.slice())
                        }
                        constants::DW_AT_declaration => {
                            raw.declaration = matches!(attr.value(), AttributeValue::Flag(true))
                        }
                        constants::DW_AT_decl_file => raw.decl_file = attr.udata_value(),
                        constants::DW_AT_decl_line => raw.decl_line = attr.udata_value(),
                        constants::DW_AT_type => raw.target = reference(cu, attr.value()),
                        constants::DW_AT_prototyped => {
                            prototyped = matches!(attr.value(), AttributeValue::Flag(true))
                        }
                        _ => {}
                    }
                }
                if let Some(size) = raw.byte_size {
                    out.sizes.insert(raw.offset, size);
                }
                let shape = match tag {
                    constants::DW_TAG_pointer_type
                    | constants::DW_TAG_reference_type
                    | constants::DW_TAG_const_type
                    | constants::DW_TAG_volatile_type
                    | constants::DW_TAG_restrict_type
                    | constants::DW_TAG_atomic_type => RawShape::Wrapped(tag, raw.target),
                    constants::DW_TAG_array_type => {
                        RawShape::Array(raw.target, out.dims.len()..out.dims.len())
                    }
                    constants::DW_TAG_subroutine_type => RawShape::Function(
                        raw.target,
                        out.params.len()..out.params.len(),
                        false,
                        prototyped,
                    ),
                    _ => RawShape::Named(tag, raw.name),
                };
                if matches!(
                    tag,
                    constants::DW_TAG_const_type | constants::DW_TAG_volatile_type
                ) {
                    if let Some(target) = raw.target {
                        out.typedef_targets.insert(raw.offset, target);
                    }
                }
                if matches!(shape, RawShape::Array(..) | RawShape::Function(..)) && has_children {
                    building = Some((raw.offset, shape));
                    continue;
                }
                out.shapes.insert(raw.offset, shape);
                match kind {
                    Some(kind) => {
                        if kind == TypeKind::Typedef {
                            if let Some(target) = raw.target {
                                out.typedef_targets.insert(raw.offset, target);
                            }
                        }
                        if has_children
                            && matches!(kind, TypeKind::Struct | TypeKind::Union | TypeKind::Enum)
                        {
                            parent = Some(out.types.len());
                        }
                        let keep_children = parent.is_some();
                        out.types.push(raw);
                        if has_children && !keep_children {
                            skip_subtree(cu, &mut entries, &mut base_depth, depth, sibling)
                                .map_err(at(offset))?;
                        }
                    }
                    None => {
                        if has_children {
                            skip_subtree(cu, &mut entries, &mut base_depth, depth, sibling)
                                .map_err(at(offset))?;
                        }
                    }
                }
            }
            _ => {
                let in_type = depth == 2 && parent.is_some();
                let mut sibling = None;
                let in_shape = depth == 2 && building.is_some();
                match tag {
                    constants::DW_TAG_subrange_type
                    | constants::DW_TAG_formal_parameter
                    | constants::DW_TAG_unspecified_parameters
                        if in_shape =>
                    {
                        let mut count = None;
                        let mut upper = None;
                        let mut ty = None;
                        for spec in abbrev.attributes() {
                            let attr = entries.read_attribute(*spec).map_err(at(offset))?;
                            match attr.name() {
                                constants::DW_AT_sibling => sibling = reference(cu, attr.value()),
                                constants::DW_AT_count => count = attr.udata_value(),
                                constants::DW_AT_upper_bound => {
                                    upper = match attr.value() {
                                        AttributeValue::Sdata(-1) => None,
                                        v => v.udata_value(),
                                    }
                                }
                                constants::DW_AT_type => ty = reference(cu, attr.value()),
                                _ => {}
                            }
                        }
                        match (tag, building.as_mut().map(|(_, shape)| shape)) {
                            (constants::DW_TAG_subrange_type, Some(RawShape::Array(_, dims))) => {
                                out.dims.push(count.or(upper.map(|u| u.wrapping_add(1))));
                                dims.end = out.dims.len();
                            }
                            (
                                constants::DW_TAG_formal_parameter,
                                Some(RawShape::Function(_, params, _, _)),
                            ) => {
                                out.params.push(ty);
                                params.end = out.params.len();
                            }
                            (
                                constants::DW_TAG_unspecified_parameters,
                                Some(RawShape::Function(_, _, variadic, _)),
                            ) => *variadic = true,
                            _ => {}
                        }
                    }
                    constants::DW_TAG_member if in_type => {
                        let mut m = RawMember {
                            name: None,
                            ty: None,
                            location: None,
                            data_bit_offset: None,
                            old_bit_offset: None,
                            bit_size: None,
                            byte_size: None,
                        };
                        for spec in abbrev.attributes() {
                            let attr = entries.read_attribute(*spec).map_err(at(offset))?;
                            match attr.name() {
                                constants::DW_AT_sibling => sibling = reference(cu, attr.value()),
                                constants::DW_AT_name => {
                                    m.name = dwarf
                                        .attr_string(unit, attr.value())
                                        .ok()
                                        .map(|s| s.slice())
                                }
                                constants::DW_AT_type => m.ty = reference(cu, attr.value()),
                                constants::DW_AT_data_member_location => {
                                    m.location = member_location(attr.value())
                                }
                                constants::DW_AT_data_bit_offset => {
                                    m.data_bit_offset = attr.udata_value()
                                }
                                constants::DW_AT_bit_offset => {
                                    m.old_bit_offset = match attr.value() {
                                        AttributeValue::Sdata(v) => Some(v),
                                        v => v.udata_value().map(|v| v as i64),
                                    }
                                }
                                constants::DW_AT_bit_size => m.bit_size = attr.udata_value(),
                                constants::DW_AT_byte_size => m.byte_size = attr.udata_value(),
                                _ => {}
                            }
                        }
                        if out.members.len() - out.types[parent.expect("in type")].members.start
                            >= MAX_MEMBERS
                        {
                            return Err(TypeError {
                                offset: cu.global(offset),
                                message: format!("more than {MAX_MEMBERS} members in one type"),
                            });
                        }
                        out.members.push(m);
                    }
                    constants::DW_TAG_enumerator if in_type => {
                        let mut name = None;
                        let mut value = 0i64;
                        for spec in abbrev.attributes() {
                            let attr = entries.read_attribute(*spec).map_err(at(offset))?;
                            match attr.name() {
                                constants::DW_AT_sibling => sibling = reference(cu, attr.value()),
                                constants::DW_AT_name => {
                                    name = dwarf
                                        .attr_string(unit, attr.value())
                                        .ok()
                                        .map(|s| s.slice())
                                }
                                constants::DW_AT_const_value => {
                                    value = match attr.value() {
                                        AttributeValue::Sdata(v) => v,
                                        AttributeValue::Udata(v) => v as i64,
                                        AttributeValue::Data1(v) => v as i64,
                                        AttributeValue::Data2(v) => v as i64,
                                        AttributeValue::Data4(v) => v as i64,
                                        AttributeValue::Data8(v) => v as i64,
                                        _ => 0,
                                    }
                                }
                                _ => {}
                            }
                        }
                        if out.enumerators.len()
                            - out.types[parent.expect("in type")].enumerators.start
                            >= MAX_MEMBERS
                        {
                            return Err(TypeError {
                                offset: cu.global(offset),
                                message: format!("more than {MAX_MEMBERS} enumerators in one enum"),
                            });
                        }
                        out.enumerators.push((name, value));
                    }
                    _ => {
                        sibling = read_sibling(cu, &mut entries, abbrev).map_err(at(offset))?;
                    }
                }
                if has_children {
                    skip_subtree(cu, &mut entries, &mut base_depth, depth, sibling)
                        .map_err(at(offset))?;
                }
            }
        }
    }
    if let Some(t) = parent {
        close(out, t);
    }
    finish_shape(out, &mut building);
    Ok(())
}

/// Stores the array or subroutine type whose children were being read.
fn finish_shape<'d>(out: &mut UnitTypes<'d>, building: &mut Option<(DieOffset, RawShape<'d>)>) {
    if let Some((offset, shape)) = building.take() {
        out.shapes.insert(offset, shape);
    }
}

/// Tags of type DIEs (what a member's `DW_AT_type` can name).
fn is_type_tag(tag: constants::DwTag) -> bool {
    matches!(
        tag,
        constants::DW_TAG_structure_type
            | constants::DW_TAG_union_type
            | constants::DW_TAG_enumeration_type
            | constants::DW_TAG_typedef
            | constants::DW_TAG_base_type
            | constants::DW_TAG_unspecified_type
            | constants::DW_TAG_class_type
            | constants::DW_TAG_pointer_type
            | constants::DW_TAG_reference_type
            | constants::DW_TAG_const_type
            | constants::DW_TAG_volatile_type
            | constants::DW_TAG_restrict_type
            | constants::DW_TAG_atomic_type
            | constants::DW_TAG_array_type
            | constants::DW_TAG_subroutine_type
    )
}

/// Marks a type being hashed (a reference cycle hashes as this).
const CYCLE: u64 = 0x6379_636c_6521;
/// Heads of array and subroutine shapes (beyond any DWARF tag value).
const ARRAY: u64 = 0x5b5d << 32;
const FUNCTION: u64 = 0x2829 << 32;

/// One 64-bit hash of two: what [`shape_hash`] chains a shape's parts with.
fn mix(a: u64, b: u64) -> u64 {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_le_bytes());
    bytes[8..].copy_from_slice(&b.to_le_bytes());
    twox_hash::XxHash3_64::oneshot(&bytes)
}

/// A hash of the name [`TypeRenderer`] gives the type at `ty`, computed from
/// the raw pass alone (tags, names, dimensions, parameters), memoised;
/// `None` when a DIE on the way was not read (another unit's, or one
/// nested where the raw pass does not look).
fn shape_hash(
    raw: &UnitTypes<'_>,
    memo: &mut HashMap<DieOffset, Option<u64>>,
    ty: Option<DieOffset>,
    depth: u32,
) -> Option<u64> {
    let Some(offset) = ty else {
        return Some(0);
    };
    if let Some(h) = memo.get(&offset) {
        return *h;
    }
    if depth > 48 {
        return Some(CYCLE);
    }
    memo.insert(offset, Some(CYCLE));
    let result = (|| {
        Some(match raw.shapes.get(&offset)? {
            RawShape::Named(tag, name) => mix(
                u64::from(tag.0),
                twox_hash::XxHash3_64::oneshot(name.unwrap_or(b"\0")),
            ),
            RawShape::Wrapped(tag, inner) => {
                mix(u64::from(tag.0), shape_hash(raw, memo, *inner, depth + 1)?)
            }
            RawShape::Array(elem, dims) => {
                let mut h = mix(ARRAY, shape_hash(raw, memo, *elem, depth + 1)?);
                for d in &raw.dims[dims.clone()] {
                    h = mix(h, d.unwrap_or(u64::MAX));
                }
                h
            }
            RawShape::Function(ret, params, variadic, prototyped) => {
                let head = FUNCTION | u64::from(*variadic) | u64::from(*prototyped) << 1;
                let mut h = mix(head, shape_hash(raw, memo, *ret, depth + 1)?);
                for p in &raw.params[params.clone()] {
                    h = mix(h, shape_hash(raw, memo, *p, depth + 1)?);
                }
                h
            }
        })
    })();
    memo.insert(offset, result);
    result
}

/// Ends the member and enumerator ranges of type `t`.
fn close(out: &mut UnitTypes<'_>, t: usize) {
    let ty = &mut out.types[t];
    ty.members.end = out.members.len();
    ty.enumerators.end = out.enumerators.len();
}

/// `DW_AT_data_member_location` as a byte offset: a constant, or DWARF 2's
/// location expression `DW_OP_plus_uconst N` (or `DW_OP_constu N`).
fn member_location(value: AttributeValue<Reader<'_>>) -> Option<u64> {
    match value {
        AttributeValue::Exprloc(expr) => {
            let mut r = expr.0;
            use gimli::Reader as _;
            let op = r.read_u8().ok()?;
            match gimli::DwOp(op) {
                constants::DW_OP_plus_uconst | constants::DW_OP_constu => r.read_uleb128().ok(),
                _ => None,
            }
        }
        AttributeValue::Sdata(v) => u64::try_from(v).ok(),
        v => v.udata_value(),
    }
}

fn name_of(bytes: Option<&[u8]>) -> Option<String> {
    bytes.map(|b| text(b, MAX_NAME))
}

/// The cross-unit tables a unit consults: which layouts are stored, and
/// the layout hash behind each cheap key remembered so far (a key is
/// remembered only once its layout is stored).
struct LayoutCache<'a> {
    known: &'a dyn Fn(u128) -> bool,
    lookup: &'a dyn Fn(u128) -> Option<u128>,
}

/// The cheap key of a layout: what [`layout_hash`] covers, with each type
/// name replaced by [`shape_hash`] of its DIE (no name rendered). Equal
/// keys mean equal layouts; `None` when a member's type was not read.
#[allow(clippy::too_many_arguments)]
fn raw_layout_key(
    buf: &mut Vec<u8>,
    member_types: &mut Vec<u64>,
    memo: &mut HashMap<DieOffset, Option<u64>>,
    raw: &UnitTypes<'_>,
    t: &RawType<'_>,
    name: &[u8],
    size: Option<u64>,
    flat: &[FlatMember<'_, '_>],
    enumerators: &[(Option<&[u8]>, i64)],
) -> Option<u128> {
    let target = match t.kind {
        TypeKind::Typedef => shape_hash(raw, memo, t.target, 0)?,
        _ => 0,
    };
    member_types.clear();
    for m in flat {
        member_types.push(shape_hash(raw, memo, m.raw.ty, 0)?);
    }
    buf.clear();
    let mut put = |bytes: &[u8]| {
        buf.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        buf.extend_from_slice(bytes);
    };
    put(t.kind.as_str().as_bytes());
    put(name);
    put(&size.unwrap_or(u64::MAX).to_le_bytes());
    put(&target.to_le_bytes());
    for (m, ty) in flat.iter().zip(member_types.iter()) {
        put(m.raw.name.unwrap_or(b""));
        put(&m.depth.to_le_bytes());
        put(&ty.to_le_bytes());
        put(&m.bit_offset.to_le_bytes());
        put(&m.raw.bit_size.unwrap_or(u64::MAX).to_le_bytes());
    }
    for (n, v) in enumerators {
        put(n.unwrap_or(b""));
        put(&v.to_le_bytes());
    }
    Some(twox_hash::XxHash3_128::oneshot(buf) ^ 0x6b6579)
}

/// What a unit found for one definition: a layout some unit already
/// stored (only its hash and location), or a new one, built whole.
enum Found {
    Known {
        hash: u128,
        decl_file: Option<Arc<str>>,
        decl_line: Option<u32>,
        /// The cheap key to remember for this layout, once it is stored.
        key: Option<u128>,
    },
    New(TypeDef, Option<u128>),
}

/// One member of the flattened list, before it is built into a [`Member`].
struct FlatMember<'r, 'd> {
    raw: &'r RawMember<'d>,
    depth: u32,
    bit_offset: u64,
}

/// The unit's definitions. Each layout is hashed from borrowed names and
/// the renderer's shared type names; only a layout `known` does not hold
/// yet is built into owned rows (most of a unit's types were already
/// stored by another unit including the same headers).
fn definitions<'d>(
    dwarf: &gimli::Dwarf<Reader<'d>>,
    units: &[CompileUnit<'d>],
    cu: &CompileUnit<'d>,
    raw: &UnitTypes<'d>,
    big_endian: bool,
    cache: &LayoutCache<'_>,
) -> Result<Vec<Found>, TypeError> {
    let by_offset: HashMap<DieOffset, usize> = raw
        .types
        .iter()
        .enumerate()
        .map(|(i, t)| (t.offset, i))
        .collect();
    // Anonymous aggregates named by the first typedef naming them.
    let mut typedef_names: HashMap<DieOffset, &'d [u8]> = HashMap::default();
    for t in &raw.types {
        if let (TypeKind::Typedef, Some(name), Some(target)) = (t.kind, t.name, t.target) {
            if let Some(&i) = by_offset.get(&target) {
                if raw.types[i].name.is_none() && raw.types[i].kind != TypeKind::Typedef {
                    typedef_names.entry(target).or_insert(name);
                }
            }
        }
    }
    let mut renderer = TypeRenderer::new(dwarf, units);
    let mut buf = Vec::new();
    let mut shape_memo: HashMap<DieOffset, Option<u64>> = HashMap::default();
    let mut member_types = Vec::new();
    let mut flat: Vec<FlatMember<'_, 'd>> = Vec::new();
    let mut out = Vec::new();
    for t in &raw.types {
        if t.declaration {
            continue;
        }
        let enumerators = &raw.enumerators[t.enumerators.clone()];
        let anon_name;
        let name: &[u8] = match (t.name, t.kind) {
            (Some(n), _) => n,
            (None, TypeKind::Typedef) => continue,
            (None, _) => match typedef_names.get(&t.offset) {
                Some(n) => n,
                None if t.kind == TypeKind::Enum => match enumerators.first() {
                    Some((first, _)) => {
                        anon_name = format!("(anon:{})", name_of(*first).unwrap_or_default());
                        anon_name.as_bytes()
                    }
                    None => continue,
                },
                None => continue,
            },
        };
        flat.clear();
        if matches!(t.kind, TypeKind::Struct | TypeKind::Union) {
            flatten(raw, &by_offset, big_endian, t, 0, 0, &mut flat)?;
        }
        let size = if t.kind == TypeKind::Typedef {
            None
        } else {
            t.byte_size
        };
        let decl_file = t.decl_file.and_then(|f| cu.file(f)).cloned();
        let decl_line = t.decl_line.and_then(|l| u32::try_from(l).ok());
        // The cheap key first: most layouts were already stored by a unit
        // including the same header, and need no type name rendered.
        let prekey = raw_layout_key(
            &mut buf,
            &mut member_types,
            &mut shape_memo,
            raw,
            t,
            name,
            size,
            &flat,
            enumerators,
        );
        if let Some(hash) = prekey.and_then(&cache.lookup) {
            out.push(Found::Known {
                hash,
                decl_file,
                decl_line,
                key: None,
            });
            continue;
        }
        let target = (t.kind == TypeKind::Typedef).then(|| renderer.shared_type_name(t.target));
        let types: Vec<Arc<str>> = flat
            .iter()
            .map(|m| renderer.shared_type_name(m.raw.ty))
            .collect();
        let hash = layout_hash(
            &mut buf,
            t.kind,
            name,
            size,
            target.as_deref(),
            &flat,
            &types,
            enumerators,
        );
        if (cache.known)(hash) {
            out.push(Found::Known {
                hash,
                decl_file,
                decl_line,
                key: prekey,
            });
            continue;
        }
        let mut members = Vec::with_capacity(flat.len());
        let mut paths: Vec<String> = Vec::new();
        for (m, ty) in flat.iter().zip(&types) {
            let name = name_of(m.raw.name);
            paths.truncate(m.depth as usize);
            let path = match paths.last() {
                Some(prefix) => format!("{prefix}.{}", name.as_deref().unwrap_or("(anon)")),
                None => name.as_deref().unwrap_or("(anon)").to_owned(),
            };
            if name.is_none() {
                paths.push(path.clone());
            }
            members.push(Member {
                name,
                path,
                depth: m.depth,
                ty: ty.to_string(),
                bit_offset: m.bit_offset,
                bit_size: m.raw.bit_size.and_then(|b| u32::try_from(b).ok()),
            });
        }
        let member_count = match t.kind {
            TypeKind::Enum => enumerators.len(),
            TypeKind::Typedef => 0,
            _ => t.members.len(),
        } as u32;
        out.push(Found::New(
            TypeDef {
                name: text(name, MAX_NAME),
                kind: t.kind,
                size,
                decl_file,
                decl_line,
                target: target.map(|t| t.to_string()),
                member_count,
                members,
                enumerators: enumerators
                    .iter()
                    .map(|(n, v)| Enumerator {
                        name: name_of(*n).unwrap_or_default(),
                        value: *v,
                    })
                    .collect(),
                units: 1,
                hash,
            },
            prekey,
        ));
    }
    Ok(out)
}

/// Appends the members of `t` (offset by `base` bits) to `out`, each
/// anonymous struct/union member followed by its own members.
#[allow(clippy::too_many_arguments)]
fn flatten<'r, 'd>(
    raw: &'r UnitTypes<'d>,
    by_offset: &HashMap<DieOffset, usize>,
    big_endian: bool,
    t: &'r RawType<'d>,
    base: u64,
    depth: u32,
    out: &mut Vec<FlatMember<'r, 'd>>,
) -> Result<(), TypeError> {
    if depth > MAX_ANON_DEPTH {
        return Err(TypeError {
            offset: t.offset,
            message: format!("anonymous members nested deeper than {MAX_ANON_DEPTH}"),
        });
    }
    for m in &raw.members[t.members.clone()] {
        if out.len() >= MAX_MEMBERS {
            return Err(TypeError {
                offset: t.offset,
                message: format!("more than {MAX_MEMBERS} members in one type"),
            });
        }
        let bit_offset = base.saturating_add(member_bits(raw, m, big_endian));
        out.push(FlatMember {
            raw: m,
            depth,
            bit_offset,
        });
        if m.name.is_none() {
            let inner =
                m.ty.and_then(|ty| by_offset.get(&ty))
                    .map(|&i| &raw.types[i])
                    .filter(|i| matches!(i.kind, TypeKind::Struct | TypeKind::Union));
            if let Some(inner) = inner {
                flatten(
                    raw,
                    by_offset,
                    big_endian,
                    inner,
                    bit_offset,
                    depth + 1,
                    out,
                )?;
            }
        }
    }
    Ok(())
}

/// A member's offset in bits from the start of its type.
fn member_bits(raw: &UnitTypes<'_>, m: &RawMember<'_>, big_endian: bool) -> u64 {
    let bytes = m.location.unwrap_or(0).saturating_mul(8);
    if let Some(bits) = m.data_bit_offset {
        return bytes.saturating_add(bits);
    }
    match (m.old_bit_offset, m.bit_size) {
        (Some(old), Some(size)) => {
            let storage = m
                .byte_size
                .or_else(|| m.ty.and_then(|t| size_of(raw, t)))
                .unwrap_or(0)
                .saturating_mul(8);
            let within = if big_endian {
                old
            } else {
                (storage as i64)
                    .saturating_sub(old)
                    .saturating_sub(size as i64)
            };
            (bytes as i64).saturating_add(within).max(0) as u64
        }
        _ => bytes,
    }
}

/// The byte size of the type at `offset`, through typedefs and qualifiers.
fn size_of(raw: &UnitTypes<'_>, mut offset: DieOffset) -> Option<u64> {
    for _ in 0..16 {
        if let Some(size) = raw.sizes.get(&offset) {
            return Some(*size);
        }
        offset = *raw.typedef_targets.get(&offset)?;
    }
    None
}

/// XXH3-128 over a length-prefixed encoding of the layout: kind, name,
/// size, typedef target, each member's name, depth, type, bit offset and
/// bit size, each enumerator's name and value (names as their DWARF bytes).
#[allow(clippy::too_many_arguments)]
fn layout_hash(
    buf: &mut Vec<u8>,
    kind: TypeKind,
    name: &[u8],
    size: Option<u64>,
    target: Option<&str>,
    members: &[FlatMember<'_, '_>],
    types: &[Arc<str>],
    enumerators: &[(Option<&[u8]>, i64)],
) -> u128 {
    buf.clear();
    let mut put = |bytes: &[u8]| {
        buf.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        buf.extend_from_slice(bytes);
    };
    put(kind.as_str().as_bytes());
    put(name);
    put(&size.unwrap_or(u64::MAX).to_le_bytes());
    put(target.unwrap_or("").as_bytes());
    for (m, ty) in members.iter().zip(types) {
        put(m.raw.name.unwrap_or(b""));
        put(&m.depth.to_le_bytes());
        put(ty.as_bytes());
        put(&m.bit_offset.to_le_bytes());
        put(&m.raw.bit_size.unwrap_or(u64::MAX).to_le_bytes());
    }
    for (n, v) in enumerators {
        put(n.unwrap_or(b""));
        put(&v.to_le_bytes());
    }
    twox_hash::XxHash3_128::oneshot(buf)
}
