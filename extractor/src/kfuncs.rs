//! The kfuncs of one image: the kernel functions it exports to BPF
//! programs, one [`KfuncRow`] per function, with the id sets registering it
//! and the flags the image gives it.
//!
//! Facts come from the ELF file, not from DWARF:
//!
//! * `.BTF_ids` holds the id sets the kernel's `BTF_SET_START` /
//!   `BTF_SET8_START` macros (`include/linux/btf_ids.h`) emit. A set is
//!   found by its symbol: `__BTF_ID__set8__<name>` (a `u32` count, a `u32`
//!   set flag word, then `(u32 btf_id, u32 flags)` pairs; kernels 6.0 on)
//!   or `__BTF_ID__set__<name>` (a `u32` count then `u32` ids). The
//!   symbol's size, when not 0, bounds the set; failing that the count
//!   does. Each member is named by an `__BTF_ID__func__<fn>__<n>` symbol
//!   placed inside the set at build time.
//! * `.BTF` gives each id a name. The build tool that fills the ids
//!   (`resolve_btfids`) also sorts every set by id after the symbols were
//!   placed, so a member symbol no longer sits at its own pair: the pair of
//!   a member is found by the id `.BTF` gives its function. Where there is
//!   no `.BTF`, the ids were never filled nor sorted, and a member's pair
//!   is the one at its symbol.
//! * The signature is the one rendered from DWARF for the function
//!   ([`FunctionEntry::signature`]; an external entry is preferred).
//!
//! Which sets are kfunc sets: the image does not record which registration
//! call (`register_btf_kfunc_id_set`, `register_btf_fmodret_id_set`, ...)
//! received a set, so this module applies a name and flag rule:
//!
//! * a set8 is a kfunc set unless its name contains `fmodret` or
//!   `modify_return` (the `fmod_ret` allow lists of `net/bpf/test_run.c`
//!   and MPTCP, registered with `register_btf_fmodret_id_set`); when any
//!   set8 of the image carries the `BTF_SET8_KFUNCS` set flag (bit 0,
//!   kernels 6.9 on, set by `BTF_KFUNCS_START`), a set8 without it is not
//!   a kfunc set either. 6.12's `bpf_test_modify_return_ids` carries the
//!   flag though it is an `fmod_ret` list, hence the name rule as well.
//! * a plain set is a kfunc set only in an image without any set8
//!   (5.13 to 5.19, before set8 existed) and only when its name ends in
//!   `kfunc_ids`: that era's sets are named `<owner>_kfunc_ids`,
//!   `<owner>_check_kfunc_ids` and, for the acquire, release, `ret_null`
//!   and `kptr_acquire` role sets of 5.17 to 5.19, `<owner>_<role>_kfunc_ids`.
//!   Plain sets of other names are allow and deny lists (`btf_id_deny`,
//!   `bpf_lsm_hooks`, `btf_allowlist_d_path`, the verifier's
//!   `special_kfunc_set`, ...).
//!
//! Limits: a set registered with a name outside the rule is missed or
//! wrongly taken; kfuncs of modules are not in the vmlinux; plain-set
//! kfuncs have no flags (`flags` is `None`; their role sets are listed in
//! `sets`). 5.10 has no kfuncs; an image without `.BTF_ids` (a kernel
//! built without BTF, such as Debian's s390x) has none either.
//!
//! DepSurf counted every `__BTF_ID__func__*` symbol except `bpf_lsm_*` as
//! a kfunc. That also counts the members of every non-kfunc list of
//! `.BTF_ids` (`btf_allowlist_d_path`'s `security_file_permission`,
//! `btf_id_deny`'s `migrate_disable`, the error-injection and sleepable
//! lists, `BTF_ID_LIST` entries used by helpers, `fmod_ret` lists), while
//! this module keeps only members of kfunc sets.
//!
//! Flag bits (`KF_*` in `include/linux/btf.h`, read from the kernel's
//! history of that file): bits 0 to 6 are `KF_ACQUIRE`, `KF_RELEASE`,
//! `KF_RET_NULL`, `KF_KPTR_GET`, `KF_TRUSTED_ARGS`, `KF_SLEEPABLE`,
//! `KF_DESTRUCTIVE` from 6.0 (set8's introduction); `KF_KPTR_GET` (bit 3)
//! was removed in 6.4 and its bit left unused; bit 7 `KF_RCU` from 6.2;
//! bits 8 to 10 `KF_ITER_NEW`, `KF_ITER_NEXT`, `KF_ITER_DESTROY` from 6.4;
//! bit 11 `KF_RCU_PROTECTED` from 6.7; bit 12 `KF_FASTCALL` from 6.13. No
//! bit changed meaning between releases, so one table decodes every image;
//! other bits are rendered as hex (`0x2000`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use object::{Endianness, Object, ObjectSection, ObjectSymbol};

use crate::dwarf::types::Signature;
use crate::functions::FunctionEntry;

/// `BTF_SET8_KFUNCS`, the set flag `BTF_KFUNCS_START` sets (6.9 on).
pub const SET8_KFUNCS: u32 = 1;

/// `KF_*` flag bits and their lowercase names (see the module comment for
/// the releases each exists in).
pub const KF_FLAGS: [(u32, &str); 13] = [
    (1 << 0, "acquire"),
    (1 << 1, "release"),
    (1 << 2, "ret_null"),
    (1 << 3, "kptr_get"),
    (1 << 4, "trusted_args"),
    (1 << 5, "sleepable"),
    (1 << 6, "destructive"),
    (1 << 7, "rcu"),
    (1 << 8, "iter_new"),
    (1 << 9, "iter_next"),
    (1 << 10, "iter_destroy"),
    (1 << 11, "rcu_protected"),
    (1 << 12, "fastcall"),
];

/// Lowercase flag names of `flags`, in bit order; unknown bits as one
/// `0x…` item.
pub fn flag_names(flags: u32) -> Vec<String> {
    let mut names: Vec<String> = KF_FLAGS
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, name)| (*name).to_owned())
        .collect();
    let known = KF_FLAGS.iter().fold(0, |acc, (bit, _)| acc | bit);
    if flags & !known != 0 {
        names.push(format!("{:#x}", flags & !known));
    }
    names
}

/// One kfunc: a row of the kfunc table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KfuncRow {
    pub name: String,
    /// The prototype DWARF gives the function; `None` when no entry of
    /// that name has one.
    pub signature: Option<Signature>,
    /// The kfunc sets (names as in `BTF_SET8_START(<name>)`) holding it,
    /// sorted.
    pub sets: Vec<String>,
    /// `KF_*` flag names (see [`flag_names`]), the union over its set8
    /// entries; `None` where the image gives none (plain sets, or a member
    /// whose pair was not found).
    pub flags: Option<Vec<String>>,
    /// The raw union of the flag words, beside `flags`.
    pub flag_bits: Option<u32>,
}

/// The layout of an id set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetKind {
    /// `BTF_SET_START`: count, then ids.
    Plain,
    /// `BTF_SET8_START`: count, set flags, then (id, flags) pairs.
    Set8,
}

/// One member of an id set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetMember {
    /// The function its `__BTF_ID__func__` symbol names.
    pub function: String,
    /// Its pair's flag word (set8 only, when the pair was found).
    pub flags: Option<u32>,
}

/// One id set of `.BTF_ids`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdSet {
    pub name: String,
    pub kind: SetKind,
    /// Address of the set (its count word).
    pub addr: u64,
    /// The count word.
    pub count: u32,
    /// The set flag word (set8 only).
    pub set_flags: Option<u32>,
    /// Whether the rule of the module comment takes it for a kfunc set.
    pub is_kfunc_set: bool,
    /// Function members, in symbol order.
    pub members: Vec<SetMember>,
}

/// The kfunc rows of the image in `data` (read from `path`), sorted by
/// name. `functions` gives the signatures.
pub fn extract(
    path: &Path,
    data: &[u8],
    functions: &[FunctionEntry],
) -> Result<Vec<KfuncRow>, String> {
    let sets = read_sets(path, data)?;
    Ok(rows_from_sets(&sets, functions))
}

/// Builds the rows from sets read by [`read_sets`].
pub fn rows_from_sets(sets: &[IdSet], functions: &[FunctionEntry]) -> Vec<KfuncRow> {
    let mut by_name: BTreeMap<&str, (BTreeSet<&str>, Option<u32>)> = BTreeMap::new();
    for set in sets.iter().filter(|s| s.is_kfunc_set) {
        for member in &set.members {
            let slot = by_name.entry(&member.function).or_default();
            slot.0.insert(&set.name);
            if let Some(f) = member.flags {
                slot.1 = Some(slot.1.unwrap_or(0) | f);
            }
        }
    }
    let signatures = signatures_by_name(functions);
    by_name
        .into_iter()
        .map(|(name, (sets, bits))| KfuncRow {
            name: name.to_owned(),
            signature: signatures.get(name).cloned().cloned(),
            sets: sets.into_iter().map(str::to_owned).collect(),
            flags: bits.map(flag_names),
            flag_bits: bits,
        })
        .collect()
}

/// The signature per function name: an external entry's first, else the
/// first entry with one.
pub(crate) fn signatures_by_name(functions: &[FunctionEntry]) -> HashMap<&str, &Signature> {
    let mut out: HashMap<&str, (&Signature, bool)> = HashMap::new();
    for f in functions {
        let Some(sig) = &f.signature else { continue };
        match out.get(f.name.as_str()) {
            Some((_, true)) => {}
            Some((_, false)) if !f.external => {}
            _ => {
                out.insert(&f.name, (sig, f.external));
            }
        }
    }
    out.into_iter().map(|(k, (s, _))| (k, s)).collect()
}

/// The function a `__BTF_ID__func__<fn>__<n>` symbol names.
pub fn btf_id_function(symbol: &str) -> Option<&str> {
    let rest = symbol.strip_prefix("__BTF_ID__func__")?;
    let (name, n) = rest.rsplit_once("__")?;
    (!name.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(name)
}

/// Every id set of `.BTF_ids`, in address order, with its members and
/// whether it is a kfunc set. An image without `.BTF_ids` has none.
pub fn read_sets(path: &Path, data: &[u8]) -> Result<Vec<IdSet>, String> {
    let p = path.display();
    let file = object::File::parse(data).map_err(|e| format!("{p}: not a readable ELF: {e}"))?;
    let Some(section) = file.section_by_name(".BTF_ids") else {
        return Ok(Vec::new());
    };
    let bytes = section
        .data()
        .map_err(|e| format!("{p}: reading section .BTF_ids: {e}"))?;
    let base = section.address();
    let index = section.index();
    let endian = file.endianness();

    let mut set_symbols = Vec::new();
    let mut func_symbols = Vec::new();
    for sym in file.symbols() {
        if sym.section_index() != Some(index) {
            continue;
        }
        let Ok(name) = sym.name() else { continue };
        if let Some(set) = name.strip_prefix("__BTF_ID__set8__") {
            set_symbols.push((set.to_owned(), SetKind::Set8, sym.address(), sym.size()));
        } else if let Some(set) = name.strip_prefix("__BTF_ID__set__") {
            set_symbols.push((set.to_owned(), SetKind::Plain, sym.address(), sym.size()));
        } else if let Some(func) = btf_id_function(name) {
            func_symbols.push((sym.address(), func.to_owned()));
        }
    }
    set_symbols.sort_by_key(|s| (s.2, s.0.clone()));
    func_symbols.sort();

    let btf = match file.section_by_name(".BTF") {
        Some(btf) => {
            let bytes = btf
                .data()
                .map_err(|e| format!("{p}: reading section .BTF: {e}"))?;
            Some(Btf::parse(bytes, endian).map_err(|e| format!("{p}: section .BTF: {e}"))?)
        }
        None => None,
    };
    let btf_funcs = btf.as_ref().map(Btf::function_ids);

    let read_u32 = |off: u64, what: &str| -> Result<u32, String> {
        let o = usize::try_from(off).ok();
        let word = o
            .and_then(|o| bytes.get(o..o.checked_add(4)?))
            .ok_or_else(|| {
                format!(
                    "{p}: .BTF_ids: {what} at offset {off:#x} runs past the section ({:#x} bytes)",
                    bytes.len()
                )
            })?;
        let word: [u8; 4] = word.try_into().expect("4 bytes");
        Ok(match endian {
            Endianness::Little => u32::from_le_bytes(word),
            Endianness::Big => u32::from_be_bytes(word),
        })
    };

    let mut sets = Vec::with_capacity(set_symbols.len());
    for (name, kind, addr, size) in set_symbols {
        let off = addr.checked_sub(base).ok_or_else(|| {
            format!("{p}: .BTF_ids: set {name} at {addr:#x} lies before the section")
        })?;
        let count = read_u32(off, &format!("the count of set {name}"))?;
        let (header, stride) = match kind {
            SetKind::Plain => (4u64, 4u64),
            SetKind::Set8 => (8, 8),
        };
        let set_flags = match kind {
            SetKind::Plain => None,
            SetKind::Set8 => Some(read_u32(off + 4, &format!("the flags of set {name}"))?),
        };
        let by_count = header + u64::from(count) * stride;
        if off + by_count > bytes.len() as u64 {
            return Err(format!(
                "{p}: .BTF_ids: set {name} at offset {off:#x} counts {count} entries, \
                 running past the section ({:#x} bytes)",
                bytes.len()
            ));
        }
        // The symbol's size bounds the set even where the count was never
        // filled in (an image whose ids were not resolved).
        let span = if size >= header { size } else { by_count };
        if off + span > bytes.len() as u64 {
            return Err(format!(
                "{p}: .BTF_ids: set {name} at offset {off:#x} has size {span:#x}, \
                 running past the section ({:#x} bytes)",
                bytes.len()
            ));
        }
        let first = addr + header;
        let end = addr + span;
        // Pairs by id (set8): where a member's pair is.
        let mut pairs: HashMap<u32, u32> = HashMap::new();
        if kind == SetKind::Set8 {
            for i in 0..u64::from(count) {
                let e = off + header + i * stride;
                pairs.insert(
                    read_u32(e, &format!("entry {i} of set {name}"))?,
                    read_u32(e + 4, &format!("entry {i} of set {name}"))?,
                );
            }
        }
        let start = func_symbols.partition_point(|(a, _)| *a < first);
        let mut members = Vec::new();
        for (a, func) in func_symbols[start..].iter().take_while(|(a, _)| *a < end) {
            if (a - first) % stride != 0 {
                continue;
            }
            let flags = match kind {
                SetKind::Plain => None,
                SetKind::Set8 => match &btf_funcs {
                    Some(ids) => ids
                        .get(func.as_str())
                        .and_then(|ids| ids.iter().find_map(|id| pairs.get(id).copied())),
                    None => {
                        let slot = off + (a - addr) + 4;
                        if slot + 4 <= off + span {
                            Some(read_u32(
                                slot,
                                &format!("the flags of {func} in set {name}"),
                            )?)
                        } else {
                            None
                        }
                    }
                },
            };
            members.push(SetMember {
                function: func.clone(),
                flags,
            });
        }
        sets.push(IdSet {
            name,
            kind,
            addr,
            count,
            set_flags,
            is_kfunc_set: false,
            members,
        });
    }
    classify(&mut sets);
    Ok(sets)
}

/// Applies the kfunc-set rule of the module comment.
fn classify(sets: &mut [IdSet]) {
    let any_set8 = sets.iter().any(|s| s.kind == SetKind::Set8);
    let flagged = sets
        .iter()
        .any(|s| s.set_flags.is_some_and(|f| f & SET8_KFUNCS != 0));
    for set in sets {
        set.is_kfunc_set = match set.kind {
            SetKind::Set8 => {
                !(set.name.contains("fmodret") || set.name.contains("modify_return"))
                    && (!flagged || set.set_flags.is_some_and(|f| f & SET8_KFUNCS != 0))
            }
            SetKind::Plain => !any_set8 && set.name.ends_with("kfunc_ids"),
        };
    }
}

/// The names of the `BTF_KIND_FUNC` types of the image's `.BTF`; `None`
/// when the image has no `.BTF` section. Errors name the file.
pub fn btf_function_names(
    path: &Path,
    data: &[u8],
) -> Result<Option<std::collections::HashSet<String>>, String> {
    let p = path.display();
    let file = object::File::parse(data).map_err(|e| format!("{p}: not a readable ELF: {e}"))?;
    let Some(section) = file.section_by_name(".BTF") else {
        return Ok(None);
    };
    let bytes = section
        .data()
        .map_err(|e| format!("{p}: reading section .BTF: {e}"))?;
    let btf =
        Btf::parse(bytes, file.endianness()).map_err(|e| format!("{p}: section .BTF: {e}"))?;
    Ok(Some(
        btf.types
            .into_iter()
            .filter(|(kind, _)| *kind == BTF_KIND_FUNC)
            .map(|(_, name)| name)
            .collect(),
    ))
}

/// What this module reads of `.BTF`: each type's kind and name.
pub struct Btf {
    /// (kind, name) per type id; id 0 (`void`) is the first.
    pub types: Vec<(u8, String)>,
    /// (name of the tag, target type id) per `BTF_KIND_DECL_TAG` on a
    /// whole type (component index -1).
    pub decl_tags: Vec<(String, u32)>,
}

/// `BTF_KIND_FUNC`.
pub const BTF_KIND_FUNC: u8 = 12;
const BTF_KIND_DECL_TAG: u8 = 17;

/// The `endian` u32 at byte `at` of `data`; `None` past its end.
fn read_u32(data: &[u8], at: usize, endian: Endianness) -> Option<u32> {
    let b: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(match endian {
        Endianness::Little => u32::from_le_bytes(b),
        Endianness::Big => u32::from_be_bytes(b),
    })
}

/// The header of a BTF blob (`struct btf_header`, include/uapi/linux/btf.h):
/// the type section's start and end offsets in `data`, and the string
/// section.
///
/// Errors: a bad magic, or a header, type or string section past the data.
fn sections(data: &[u8], endian: Endianness) -> Result<(usize, usize, &[u8]), String> {
    let short = |what: &str, at: usize| format!("{what} at offset {at:#x} runs past the data");
    let magic = data.get(..2).map(|m| match endian {
        Endianness::Little => u16::from_le_bytes([m[0], m[1]]),
        Endianness::Big => u16::from_be_bytes([m[0], m[1]]),
    });
    if magic != Some(0xeb9f) {
        return Err("bad magic (expected 0xeb9f)".to_owned());
    }
    let field = |o: usize| {
        read_u32(data, o, endian)
            .map(|v| v as usize)
            .ok_or_else(|| short("the header", o))
    };
    let hdr_len = field(4)?;
    let (type_off, type_len) = (field(8)?, field(12)?);
    let (str_off, str_len) = (field(16)?, field(20)?);
    let types_start = hdr_len.saturating_add(type_off);
    let types_end = types_start.saturating_add(type_len);
    let strs_start = hdr_len.saturating_add(str_off);
    let strings = data
        .get(strs_start..strs_start.saturating_add(str_len))
        .ok_or_else(|| short("the string section", strs_start))?;
    if types_end > data.len() {
        return Err(short("the type section", types_start));
    }
    Ok((types_start, types_end, strings))
}

impl Btf {
    /// Parses the header, type and string sections of a `.BTF` section.
    pub fn parse(data: &[u8], endian: Endianness) -> Result<Btf, String> {
        Btf::parse_split(data, endian, &[])
    }

    /// Parses split BTF (a kernel module's `.BTF`, built by pahole on top
    /// of the vmlinux's): a name offset below `base_strings.len()` is in
    /// `base_strings` (the string section of the base BTF,
    /// [`Btf::string_section`]), a larger one in `data`'s own string
    /// section, shifted by that length. The type ids of the result count
    /// from 1 within `data` (not after the base's). With empty
    /// `base_strings`, plain BTF.
    pub fn parse_split(
        data: &[u8],
        endian: Endianness,
        base_strings: &[u8],
    ) -> Result<Btf, String> {
        let u32_at = |o: usize| read_u32(data, o, endian);
        let short = |what: &str, at: usize| format!("{what} at offset {at:#x} runs past the data");
        let (types_start, types_end, strings) = sections(data, endian)?;
        let string = |off: u32| -> String {
            let off = off as usize;
            let s = if off < base_strings.len() {
                &base_strings[off..]
            } else {
                strings.get(off - base_strings.len()..).unwrap_or_default()
            };
            let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
            String::from_utf8_lossy(&s[..end]).into_owned()
        };
        let mut types = vec![(0u8, String::new())];
        let mut decl_tags = Vec::new();
        let mut o = types_start;
        while o < types_end {
            let (name_off, info, size_type) = match (u32_at(o), u32_at(o + 4), u32_at(o + 8)) {
                (Some(a), Some(b), Some(c)) if o + 12 <= types_end => (a, b, c),
                _ => return Err(short(&format!("type {}", types.len()), o)),
            };
            let kind = ((info >> 24) & 0x1f) as u8;
            let vlen = (info & 0xffff) as usize;
            let extra = match kind {
                1 | 14 | 17 => 4,
                3 => 12,
                4 | 5 | 15 | 19 => 12 * vlen,
                6 | 13 => 8 * vlen,
                2 | 7..=12 | 16 | 18 => 0,
                other => {
                    return Err(format!(
                        "type {} at offset {o:#x} has unknown kind {other}",
                        types.len()
                    ))
                }
            };
            if kind == BTF_KIND_DECL_TAG && u32_at(o + 12) == Some(u32::MAX) {
                decl_tags.push((string(name_off), size_type));
            }
            types.push((kind, string(name_off)));
            o = o + 12 + extra;
        }
        if o != types_end {
            return Err(short(&format!("type {}", types.len() - 1), o));
        }
        Ok(Btf { types, decl_tags })
    }

    /// The string section of the BTF blob `data`: the base strings of
    /// split BTF built on it ([`Btf::parse_split`]).
    ///
    /// Errors: a bad magic, or a header or string section past the data.
    pub fn string_section(data: &[u8], endian: Endianness) -> Result<&[u8], String> {
        sections(data, endian).map(|(_, _, strings)| strings)
    }

    /// Ids of each `BTF_KIND_FUNC` by name.
    pub fn function_ids(&self) -> HashMap<&str, Vec<u32>> {
        let mut out: HashMap<&str, Vec<u32>> = HashMap::new();
        for (id, (kind, name)) in self.types.iter().enumerate() {
            if *kind == BTF_KIND_FUNC {
                out.entry(name.as_str()).or_default().push(id as u32);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::write::{Object as WriteObject, Symbol, SymbolSection};
    use object::{Architecture, BinaryFormat, SectionKind, SymbolFlags, SymbolKind, SymbolScope};

    /// A relocatable ELF with a `.BTF_ids` section holding `ids` and the
    /// symbols `(name, offset, size)`, and a `.BTF` section when given.
    fn elf(ids: &[u32], symbols: &[(&str, u64, u64)], btf: Option<Vec<u8>>) -> Vec<u8> {
        let mut obj = WriteObject::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
        let section = obj.add_section(vec![], b".BTF_ids".to_vec(), SectionKind::ReadOnlyData);
        let bytes: Vec<u8> = ids.iter().flat_map(|w| w.to_le_bytes()).collect();
        obj.append_section_data(section, &bytes, 4);
        for (name, value, size) in symbols {
            obj.add_symbol(Symbol {
                name: name.as_bytes().to_vec(),
                value: *value,
                size: *size,
                kind: SymbolKind::Data,
                scope: SymbolScope::Compilation,
                weak: false,
                section: SymbolSection::Section(section),
                flags: SymbolFlags::None,
            });
        }
        if let Some(btf) = btf {
            let s = obj.add_section(vec![], b".BTF".to_vec(), SectionKind::ReadOnlyData);
            obj.append_section_data(s, &btf, 4);
        }
        obj.write().unwrap()
    }

    /// `.BTF` with a prototype (id 1) and one FUNC per name (ids 2, ...).
    fn btf(funcs: &[&str]) -> Vec<u8> {
        let mut strings = vec![0u8];
        let mut types = Vec::new();
        types.extend([0u32, 13 << 24, 0]);
        for f in funcs {
            types.extend([strings.len() as u32, 12 << 24, 1]);
            strings.extend(f.as_bytes());
            strings.push(0);
        }
        let types: Vec<u8> = types.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut out = Vec::new();
        out.extend(0xeb9fu16.to_le_bytes());
        out.extend([1, 0]);
        for w in [
            24u32,
            0,
            types.len() as u32,
            types.len() as u32,
            strings.len() as u32,
        ] {
            out.extend(w.to_le_bytes());
        }
        out.extend(types);
        out.extend(strings);
        out
    }

    const SYMBOLS: [(&str, u64, u64); 7] = [
        ("__BTF_ID__set8__demo_kfunc_ids", 0, 24),
        ("__BTF_ID__func__foo_acquire__11", 8, 4),
        ("__BTF_ID__func__foo_release__12", 16, 4),
        ("__BTF_ID__set__btf_id_deny", 24, 8),
        ("__BTF_ID__func__migrate_disable__13", 28, 4),
        ("__BTF_ID__set8__bpf_test_modify_return_ids", 32, 16),
        ("__BTF_ID__func____modify_test__14", 40, 4),
    ];

    fn row(name: &str, sets: &[&str], flags: Option<&[&str]>, bits: Option<u32>) -> KfuncRow {
        KfuncRow {
            name: name.to_owned(),
            signature: None,
            sets: sets.iter().map(|s| (*s).to_owned()).collect(),
            flags: flags.map(|f| f.iter().map(|s| (*s).to_owned()).collect()),
            flag_bits: bits,
        }
    }

    #[test]
    fn reads_unresolved_sets_by_position() {
        // No .BTF: ids unresolved (0) and unsorted, a pair sits at its symbol.
        let data = elf(&[2, 0, 0, 5, 0, 2, 1, 0, 1, 0, 0, 0], &SYMBOLS, None);
        let sets = read_sets(Path::new("t.elf"), &data).unwrap();
        let kinds: Vec<_> = sets
            .iter()
            .map(|s| (s.name.as_str(), s.kind, s.is_kfunc_set, s.members.len()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("demo_kfunc_ids", SetKind::Set8, true, 2),
                ("btf_id_deny", SetKind::Plain, false, 1),
                ("bpf_test_modify_return_ids", SetKind::Set8, false, 1)
            ]
        );
        assert_eq!(sets[2].members[0].function, "__modify_test");
        let rows = rows_from_sets(&sets, &[]);
        assert_eq!(
            rows,
            [
                row(
                    "foo_acquire",
                    &["demo_kfunc_ids"],
                    Some(&["acquire", "ret_null"]),
                    Some(5)
                ),
                row(
                    "foo_release",
                    &["demo_kfunc_ids"],
                    Some(&["release"]),
                    Some(2)
                ),
            ]
        );
    }

    #[test]
    fn finds_pairs_of_sorted_sets_through_btf() {
        // foo_release is id 2 and foo_acquire id 3: the sorted pairs put
        // foo_release's first, under foo_acquire's symbol.
        let data = elf(
            &[2, 0, 2, 2, 3, 5, 1, 40, 1, 0, 0, 0],
            &SYMBOLS,
            Some(btf(&["foo_release", "foo_acquire"])),
        );
        let rows = extract(Path::new("t.elf"), &data, &[]).unwrap();
        assert_eq!(
            rows,
            [
                row(
                    "foo_acquire",
                    &["demo_kfunc_ids"],
                    Some(&["acquire", "ret_null"]),
                    Some(5)
                ),
                row(
                    "foo_release",
                    &["demo_kfunc_ids"],
                    Some(&["release"]),
                    Some(2)
                ),
            ]
        );
    }

    #[test]
    fn plain_kfunc_sets_count_only_without_set8() {
        let symbols = [
            ("__BTF_ID__set__bpf_tcp_ca_kfunc_ids", 0, 12),
            ("__BTF_ID__func__tcp_slow_start__1", 4, 4),
            ("__BTF_ID__func__tcp_reno_cong_avoid__2", 8, 4),
            ("__BTF_ID__set__btf_id_deny", 12, 8),
            ("__BTF_ID__func__migrate_disable__3", 16, 4),
        ];
        let data = elf(&[2, 7, 8, 1, 9], &symbols, None);
        let rows = extract(Path::new("t.elf"), &data, &[]).unwrap();
        assert_eq!(
            rows,
            [
                row("tcp_reno_cong_avoid", &["bpf_tcp_ca_kfunc_ids"], None, None),
                row("tcp_slow_start", &["bpf_tcp_ca_kfunc_ids"], None, None),
            ]
        );
    }

    #[test]
    fn set8_kfuncs_flag_excludes_unflagged_sets() {
        let symbols = [
            ("__BTF_ID__set8__a_ids", 0, 16),
            ("__BTF_ID__func__fa__1", 8, 4),
            ("__BTF_ID__set8__b_ids", 16, 16),
            ("__BTF_ID__func__fb__2", 24, 4),
        ];
        let data = elf(&[1, SET8_KFUNCS, 0, 1 << 13, 1, 0, 0, 0], &symbols, None);
        let rows = extract(Path::new("t.elf"), &data, &[]).unwrap();
        assert_eq!(
            rows,
            [row("fa", &["a_ids"], Some(&["0x2000"]), Some(1 << 13))]
        );
    }

    #[test]
    fn malformed_sets_are_errors() {
        // The count runs past the section.
        let data = elf(&[200, 0, 0, 5], &SYMBOLS[..2], None);
        let e = read_sets(Path::new("t.elf"), &data).unwrap_err();
        assert!(
            e.contains("t.elf") && e.contains("demo_kfunc_ids") && e.contains("200 entries"),
            "{e}"
        );
        // The set's count word itself lies past the end (truncated section).
        let data = elf(&[2, 0], &[("__BTF_ID__set8__cut", 8, 24)], None);
        let e = read_sets(Path::new("t.elf"), &data).unwrap_err();
        assert!(e.contains("count of set cut") && e.contains("0x8"), "{e}");
        // The symbol's size runs past the section.
        let data = elf(&[1, 0, 0, 0], &[("__BTF_ID__set8__long", 0, 64)], None);
        let e = read_sets(Path::new("t.elf"), &data).unwrap_err();
        assert!(e.contains("set long") && e.contains("size 0x40"), "{e}");
        // A truncated .BTF.
        let mut b = btf(&["f"]);
        b.truncate(30);
        let data = elf(&[0, 0], &[("__BTF_ID__set8__s", 0, 8)], Some(b));
        let e = read_sets(Path::new("t.elf"), &data).unwrap_err();
        assert!(e.contains(".BTF") && e.contains("runs past"), "{e}");
        assert!(read_sets(Path::new("t.elf"), b"not an elf").is_err());
    }

    #[test]
    fn names_flags_and_symbols() {
        assert_eq!(flag_names(0), Vec::<String>::new());
        assert_eq!(flag_names(0x21), ["acquire", "sleepable"]);
        assert_eq!(flag_names(0x1_0080), ["rcu", "0x10000"]);
        assert_eq!(
            btf_id_function("__BTF_ID__func____filemap_add_folio__80115152"),
            Some("__filemap_add_folio")
        );
        assert_eq!(btf_id_function("__BTF_ID__func__x"), None);
        assert_eq!(btf_id_function("__BTF_ID__struct__x__1"), None);
    }
}
