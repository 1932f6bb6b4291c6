//! The function model of one image, with DepSurf's semantics: walk events
//! of every unit are resolved through origin chains and merged into one
//! entry per external name, or per (name, declaration location, compile
//! unit) for static functions; then each name gets its collision, inline
//! and transformation status against the symbol table.

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use crate::dwarf::types::Signature;
use crate::dwarf::walk::{EventKind, SubprogramDie, UnitWalk};
use crate::dwarf::{unit_index_of, CompileUnit, DieOffset};
use crate::limits::{text, MAX_NAME};
use crate::symbols::SymbolRow;

/// Origin chains longer than this are treated as malformed.
const MAX_ORIGIN_CHAIN: usize = 16;

/// `DW_AT_inline` as DepSurf names it, plus the two states of a function
/// whose definition was never seen or carried no `DW_AT_inline`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InlineStatus {
    NotDeclaredNotInlined,
    NotDeclaredInlined,
    DeclaredNotInlined,
    DeclaredInlined,
    NotSeen,
    SeenUnknown,
}

impl InlineStatus {
    fn from_dw_inl(value: u8) -> Self {
        match value {
            0 => InlineStatus::NotDeclaredNotInlined,
            1 => InlineStatus::NotDeclaredInlined,
            2 => InlineStatus::DeclaredNotInlined,
            3 => InlineStatus::DeclaredInlined,
            _ => InlineStatus::SeenUnknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            InlineStatus::NotDeclaredNotInlined => "not declared, not inlined",
            InlineStatus::NotDeclaredInlined => "not declared, inlined",
            InlineStatus::DeclaredNotInlined => "declared, not inlined",
            InlineStatus::DeclaredInlined => "declared, inlined",
            InlineStatus::NotSeen => "not seen",
            InlineStatus::SeenUnknown => "seen, unknown",
        }
    }

    /// The compiler inlined the function somewhere.
    pub fn actually_inlined(self) -> bool {
        matches!(
            self,
            InlineStatus::NotDeclaredInlined | InlineStatus::DeclaredInlined
        )
    }
}

/// One function entry ("instance") of an image.
#[derive(Clone, Debug)]
pub struct FunctionEntry {
    pub name: String,
    pub external: bool,
    pub decl_file: Option<Arc<str>>,
    pub decl_line: Option<u32>,
    /// The compile unit of a static entry; for an external one, the unit
    /// of its first definition.
    pub cu_path: Option<Arc<str>>,
    pub inline: InlineStatus,
    /// A definition, out-of-line copy or inlined copy was seen.
    pub defined: bool,
    /// Address of the first out-of-line definition or copy seen; failing
    /// that, of the first inlined copy; 0 if none.
    pub addr: u64,
    /// `addr` came from an inlined copy and gives way to an out-of-line one.
    pub addr_is_inlined_copy: bool,
    /// `cu_path:function` per inlined copy, in DIE order.
    pub inline_callers: Vec<Arc<str>>,
    /// `cu_path:function` per direct call site, in DIE order.
    pub direct_callers: Vec<Arc<str>>,
    /// The DIE the prototype is rendered from, and how good a source it is.
    pub prototype_die: Option<(DieOffset, PrototypeSource)>,
    pub signature: Option<Signature>,
    /// A definition of an external function whose code is not in the
    /// image: no address (`DW_AT_low_pc` absent or 0) and no
    /// `DW_AT_inline`, as a `__weak` definition the linker dropped for a
    /// strong one (`kernel/sys_ni.c`'s `__x64_sys_mprotect` against
    /// `mm/mprotect.c`'s); in a module, an address no symbol of its name
    /// covers ([`ModuleCode`]). It is an instance of its own, at its own
    /// location, never merged with the definition the linker kept.
    pub discarded: bool,
}

impl FunctionEntry {
    fn offer_prototype(&mut self, candidate: (DieOffset, PrototypeSource)) {
        if self
            .prototype_die
            .is_none_or(|(_, current)| candidate.1 > current)
        {
            self.prototype_die = Some(candidate);
        }
    }

    fn set_out_of_line_addr(&mut self, pc: Option<u64>) {
        if let Some(pc) = pc.filter(|&pc| pc != 0) {
            if self.addr == 0 || self.addr_is_inlined_copy {
                self.addr = pc;
                self.addr_is_inlined_copy = false;
            }
        }
    }
}

/// Where a prototype comes from, worst first: an assembler unit has no C
/// signature, a declaration has parameter types but no names, a definition
/// (or abstract instance) has both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PrototypeSource {
    Assembler,
    Declaration,
    Definition,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CollisionType {
    UniqueGlobal,
    UniqueStatic,
    StaticDuplication,
    StaticStaticCollision,
    StaticGlobalCollision,
}

impl CollisionType {
    pub fn as_str(self) -> &'static str {
        match self {
            CollisionType::UniqueGlobal => "Unique Global",
            CollisionType::UniqueStatic => "Unique Static",
            CollisionType::StaticDuplication => "Static Duplication",
            CollisionType::StaticStaticCollision => "Static-Static Collision",
            CollisionType::StaticGlobalCollision => "Static-Global Collision",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InlineType {
    No,
    Full,
    Selective,
}

impl InlineType {
    pub fn as_str(self) -> &'static str {
        match self {
            InlineType::No => "No",
            InlineType::Full => "Full",
            InlineType::Selective => "Selective",
        }
    }
}

/// The status of one function name in one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionStatus {
    pub name: String,
    pub collision: CollisionType,
    pub inline: InlineType,
    /// Distinct transformation suffixes of the name's symbols, sorted.
    pub transform_suffixes: Vec<String>,
    pub instance_count: u32,
    pub symbol_count: u32,
}

/// Who a subprogram DIE is, after following its origin chain.
struct Identity<'d> {
    name: &'d [u8],
    external: bool,
    decl_file: Option<Arc<str>>,
    decl_line: Option<u64>,
    /// Unit of the named DIE of the chain.
    unit: usize,
    /// The named DIE and what kind of prototype source it is.
    named_die: (DieOffset, PrototypeSource),
}

type Walks<'w, 'd> = [Option<UnitWalk<'d>>];

fn subprogram<'w, 'd>(
    units: &[CompileUnit<'d>],
    walks: &'w Walks<'w, 'd>,
    offset: DieOffset,
) -> Option<(usize, &'w SubprogramDie<'d>)> {
    let unit = unit_index_of(units, offset)?;
    Some((unit, walks[unit].as_ref()?.subprogram_at(offset)?))
}

/// Follows `DW_AT_abstract_origin` / `DW_AT_specification` from `start`,
/// taking each property from the first DIE of the chain that has it.
fn identify<'d>(
    units: &[CompileUnit<'d>],
    walks: &Walks<'_, 'd>,
    start: DieOffset,
) -> Option<Identity<'d>> {
    let mut name = None;
    let mut external = false;
    let mut decl: Option<(Option<Arc<str>>, Option<u64>)> = None;
    let mut named: Option<(usize, DieOffset, PrototypeSource)> = None;
    let mut offset = start;
    for _ in 0..MAX_ORIGIN_CHAIN {
        let (unit, die) = subprogram(units, walks, offset)?;
        external |= die.external;
        if name.is_none() {
            if let Some(n) = die.name {
                name = Some(n);
                let source = if units[unit].is_assembler() {
                    PrototypeSource::Assembler
                } else if die.declaration {
                    PrototypeSource::Declaration
                } else {
                    PrototypeSource::Definition
                };
                named = Some((unit, die.offset, source));
            }
        }
        if decl.is_none() && die.decl_file.is_some() {
            let file = die.decl_file.and_then(|f| units[unit].file(f).cloned());
            decl = Some((file, die.decl_line));
        }
        match die.abstract_origin.or(die.specification) {
            Some(next) if next != offset => offset = next,
            _ => break,
        }
    }
    let (unit, die, source) = named?;
    let (decl_file, decl_line) = decl.unwrap_or((None, None));
    Some(Identity {
        name: name?,
        external,
        decl_file,
        decl_line,
        unit,
        named_die: (die, source),
    })
}

/// Where a static function is declared: (decl file, decl line, compile
/// unit, which of the units with that normalised path). A source file
/// compiled twice (arm64 builds `arch/arm64/kvm/hyp/vgic-v3-sr.c` for the
/// `vhe/` and `nvhe/` objects, both reaching it through `../`) gives two
/// units with one path; their statics are two instances, not one.
type StaticLocation = (Option<Arc<str>>, Option<u64>, Option<Arc<str>>, u32);

#[derive(Clone, PartialEq, Eq, Hash)]
struct EntryKey<'d> {
    name: &'d [u8],
    /// `None` for external functions (but their discarded definitions).
    location: Option<StaticLocation>,
    discarded: bool,
}

/// The function symbols of a relocatable object (a module), by stem, as
/// address ranges. `ld -r` keeps the code of a `__weak` definition that a
/// strong one in another unit overrides but drops its symbol (kvm's
/// `virt/kvm/kvm_main.c` `kvm_arch_dy_runnable` against
/// `arch/x86/kvm/x86.c`'s), so that definition's `DW_AT_low_pc` is an
/// address no symbol of its name covers. [`build_entries`] treats such an
/// external definition as discarded, as the final link of a vmlinux makes
/// it (address 0), and does not take the address of such an out-of-line
/// copy (of a weak function also inlined in its own unit).
pub struct ModuleCode<'s> {
    by_stem: HashMap<&'s str, Vec<(u64, u64)>>,
}

impl<'s> ModuleCode<'s> {
    pub fn new(symbols: &'s [SymbolRow]) -> Self {
        let mut by_stem: HashMap<&'s str, Vec<(u64, u64)>> = HashMap::default();
        for sym in symbols {
            // arm's Thumb bit; arm64's patchable entry puts the DWARF
            // address 8 bytes into the symbol.
            let start = sym.addr & !1;
            by_stem
                .entry(sym.stem.as_str())
                .or_default()
                .push((start, start.saturating_add(sym.size.max(1))));
        }
        ModuleCode { by_stem }
    }

    /// `name` has function symbols, and none of them covers `pc`.
    fn overridden(&self, name: &[u8], pc: u64) -> bool {
        std::str::from_utf8(name)
            .ok()
            .and_then(|name| self.by_stem.get(name))
            .is_some_and(|ranges| !ranges.iter().any(|&(a, b)| a <= pc && pc < b))
    }
}

/// Resolves every unit's events and merges them, in unit and DIE order,
/// into the image's function entries, sorted by (name, file, line, unit).
/// `module` is given for a relocatable object (see [`ModuleCode`]).
pub fn build_entries<'d>(
    units: &[CompileUnit<'d>],
    walks: &Walks<'_, 'd>,
    module: Option<&ModuleCode<'_>>,
) -> Vec<FunctionEntry> {
    let mut entries: Vec<FunctionEntry> = Vec::new();
    let mut index: HashMap<EntryKey<'d>, usize> = HashMap::default();
    // The ordinal of each unit among the units sharing its normalised path.
    let mut seen: HashMap<Option<Arc<str>>, u32> = HashMap::default();
    let unit_copy: Vec<u32> = units
        .iter()
        .map(|u| {
            let n = seen.entry(u.path.clone()).or_default();
            *n += 1;
            *n - 1
        })
        .collect();

    let mut entry_for =
        |id: &Identity<'d>, discarded: bool, entries: &mut Vec<FunctionEntry>| -> usize {
            let location = (!id.external || discarded).then(|| {
                (
                    id.decl_file.clone(),
                    id.decl_line,
                    units[id.unit].path.clone(),
                    unit_copy[id.unit],
                )
            });
            let (decl_file, decl_line, cu_path, _) = location.clone().unwrap_or_default();
            let key = EntryKey {
                name: id.name,
                location,
                discarded,
            };
            *index.entry(key).or_insert_with(|| {
                entries.push(FunctionEntry {
                    name: text(id.name, MAX_NAME),
                    external: id.external,
                    decl_file,
                    decl_line: decl_line.and_then(|l| u32::try_from(l).ok()),
                    cu_path,
                    inline: InlineStatus::NotSeen,
                    defined: false,
                    addr: 0,
                    addr_is_inlined_copy: false,
                    inline_callers: Vec::new(),
                    direct_callers: Vec::new(),
                    prototype_die: Some(id.named_die),
                    signature: None,
                    discarded,
                });
                entries.len() - 1
            })
        };

    for (unit_index, walk) in walks.iter().enumerate() {
        let Some(walk) = walk else { continue };
        let cu = &units[unit_index];
        let cu_path = cu.path.as_deref().unwrap_or("");
        let mut caller_names: HashMap<u32, Option<Arc<str>>> = HashMap::default();
        let mut caller_of = |caller: Option<u32>| -> Option<Arc<str>> {
            let caller = caller?;
            caller_names
                .entry(caller)
                .or_insert_with(|| {
                    let die = &walk.subprograms[caller as usize];
                    let id = identify(units, walks, die.offset)?;
                    Some(Arc::from(format!("{cu_path}:{}", text(id.name, MAX_NAME))))
                })
                .clone()
        };
        for event in &walk.events {
            match event.kind {
                EventKind::Subprogram(i) => {
                    let die = &walk.subprograms[i as usize];
                    let Some(id) = identify(units, walks, die.offset) else {
                        continue;
                    };
                    // In a module, an overridden weak definition's code
                    // (or its out-of-line copy's) counts as absent.
                    let pc = die.pc.filter(|&pc| {
                        pc != 0
                            && !(id.external && module.is_some_and(|m| m.overridden(id.name, pc)))
                    });
                    let discarded = id.external
                        && !die.declaration
                        && die.abstract_origin.is_none()
                        && die.inline.is_none()
                        && pc.is_none();
                    let e = entry_for(&id, discarded, &mut entries);
                    let entry = &mut entries[e];
                    entry.offer_prototype(id.named_die);
                    if discarded {
                        entry.defined = true;
                        entry.inline = InlineStatus::SeenUnknown;
                        continue;
                    }
                    if die.abstract_origin.is_some() {
                        // A concrete out-of-line copy.
                        entry.defined = true;
                        entry.set_out_of_line_addr(pc);
                        continue;
                    }
                    if die.declaration {
                        continue;
                    }
                    entry.defined = true;
                    if matches!(
                        entry.inline,
                        InlineStatus::NotSeen | InlineStatus::SeenUnknown
                    ) {
                        entry.inline = die
                            .inline
                            .map_or(InlineStatus::SeenUnknown, InlineStatus::from_dw_inl);
                    }
                    if entry.external && entry.cu_path.is_none() {
                        entry.cu_path = cu.path.clone();
                        entry.decl_file = id.decl_file.clone();
                        entry.decl_line = id.decl_line.and_then(|l| u32::try_from(l).ok());
                    }
                    entry.set_out_of_line_addr(pc);
                    entry.offer_prototype(id.named_die);
                }
                EventKind::Inlined { origin, pc } => {
                    let Some(id) = identify(units, walks, origin) else {
                        continue;
                    };
                    let caller = caller_of(event.caller);
                    let e = entry_for(&id, false, &mut entries);
                    let entry = &mut entries[e];
                    entry.defined = true;
                    if entry.addr == 0 {
                        if let Some(pc) = pc.filter(|&pc| pc != 0) {
                            entry.addr = pc;
                            entry.addr_is_inlined_copy = true;
                        }
                    }
                    if let Some(caller) = caller {
                        entry.inline_callers.push(caller);
                    }
                }
                EventKind::Call { target } => {
                    let Some(id) = identify(units, walks, target) else {
                        continue;
                    };
                    let caller = caller_of(event.caller);
                    let e = entry_for(&id, false, &mut entries);
                    if let Some(caller) = caller {
                        entries[e].direct_callers.push(caller);
                    }
                }
            }
        }
    }
    entries.retain(|e| !e.name.starts_with("__compiletime_assert_"));
    entries.sort_by(|a, b| {
        (&a.name, &a.decl_file, a.decl_line, &a.cu_path, a.external).cmp(&(
            &b.name,
            &b.decl_file,
            b.decl_line,
            &b.cu_path,
            b.external,
        ))
    });
    entries
}

/// Per-name status of `entries` (sorted by name) against `symbols` (sorted by stem).
pub fn statuses(entries: &[FunctionEntry], symbols: &[SymbolRow]) -> Vec<FunctionStatus> {
    let mut by_stem: HashMap<&str, Vec<&SymbolRow>> = HashMap::default();
    for sym in symbols {
        by_stem.entry(sym.stem.as_str()).or_default().push(sym);
    }
    entries
        .chunk_by(|a, b| a.name == b.name)
        .map(|group| {
            let name = &group[0].name;
            let syms = by_stem.get(name.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            let mut suffixes: Vec<String> = syms
                .iter()
                .flat_map(|s| s.suffixes.iter().cloned())
                .collect();
            suffixes.sort();
            suffixes.dedup();
            // The linker's choice decides the collision type: a discarded
            // weak definition does not collide with the kept one.
            let mut considered: Vec<&FunctionEntry> =
                group.iter().filter(|e| !e.discarded).collect();
            if considered.is_empty() {
                // Only discarded (external) definitions: one global name.
                considered.push(&group[0]);
            }
            FunctionStatus {
                name: name.clone(),
                collision: collision_type(&considered),
                inline: if syms.is_empty() {
                    InlineType::Full
                } else if group.iter().any(|e| e.inline.actually_inlined()) {
                    InlineType::Selective
                } else {
                    InlineType::No
                },
                transform_suffixes: suffixes,
                instance_count: group.len() as u32,
                symbol_count: syms.len() as u32,
            }
        })
        .collect()
}

fn collision_type(group: &[&FunctionEntry]) -> CollisionType {
    if let [only] = group {
        return if only.external {
            CollisionType::UniqueGlobal
        } else {
            CollisionType::UniqueStatic
        };
    }
    let location = |e: &FunctionEntry| {
        (
            e.decl_file.clone().or_else(|| e.cu_path.clone()),
            e.decl_line,
        )
    };
    let first = location(group[0]);
    if group.iter().all(|e| location(e) == first) {
        CollisionType::StaticDuplication
    } else if group.iter().all(|e| !e.external) {
        CollisionType::StaticStaticCollision
    } else {
        CollisionType::StaticGlobalCollision
    }
}
