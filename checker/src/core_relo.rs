//! CO-RE relocations of one BPF object: the `struct bpf_core_relo` records
//! of `.BTF.ext`, resolved through the object's own `.BTF` into
//! [`CoreRelocation`]s.
//!
//! No crate exposes `.BTF.ext` relocation records, so this module reads
//! them itself, bounds-checked. Layout (`tools/lib/bpf/libbpf_internal.h`,
//! `struct btf_ext_header`; `include/uapi/linux/bpf.h`,
//! `struct bpf_core_relo`), every field in the object's byte order:
//!
//! * header: `u16` magic `0xeb9f`, `u8` version, `u8` flags, `u32`
//!   `hdr_len`, then `u32` offset/length pairs for `func_info`,
//!   `line_info` and, when `hdr_len` reaches 32 bytes, `core_relo`;
//!   offsets are relative to the end of the header;
//! * the `core_relo` sub-section: a `u32` record size, then per program
//!   section a `u32` section-name offset (into `.BTF`'s strings), a `u32`
//!   record count and that many records of the record size;
//! * a record's first 16 bytes: `u32 insn_off` (a byte offset in the
//!   program section, in an object file), `u32 type_id` (the root type),
//!   `u32 access_str_off` (into `.BTF`'s strings), `u32 kind`
//!   (`enum bpf_core_relo_kind`).
//!
//! Access strings (`0:1:2`) are walked as libbpf's `bpf_core_parse_spec`
//! does: for field relocations the first index is an array index on the
//! root type and each later one a member index of the current struct or
//! union (or an element index of the current array), typedefs and
//! modifiers skipped; for enum value relocations the one index is the
//! enumerator's; type relocations carry `0`.

use crate::btf::{kind_name, ObjectBtf};
use crate::deps::{CoreKind, CoreRelocation, CoreStep};
use crate::error::{Error, Result};
use btf_rs::{BtfType, Type};

/// The fixed size of a `struct bpf_core_relo` record; a larger record
/// size in the sub-section header means fields this reader skips.
const RECORD_LEN: usize = 16;

/// One `struct bpf_core_relo` record as stored, before resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawCoreRelo {
    /// The program section the record belongs to.
    pub section: String,
    /// Byte offset of the record in `.BTF.ext` (for error messages).
    pub record_offset: usize,
    /// Byte offset of the relocated instruction in `section`.
    pub insn_off: u32,
    /// Root type id in `.BTF`.
    pub type_id: u32,
    /// Offset of the access string in `.BTF`'s string section.
    pub access_str_off: u32,
    /// `enum bpf_core_relo_kind` value.
    pub kind: u32,
}

/// `enum bpf_core_relo_kind` value to [`CoreKind`]; `None` for a value
/// this reader does not know.
pub fn core_kind(value: u32) -> Option<CoreKind> {
    Some(match value {
        0 => CoreKind::FieldByteOffset,
        1 => CoreKind::FieldByteSize,
        2 => CoreKind::FieldExists,
        3 => CoreKind::FieldSigned,
        4 => CoreKind::FieldLshiftU64,
        5 => CoreKind::FieldRshiftU64,
        6 => CoreKind::TypeIdLocal,
        7 => CoreKind::TypeIdTarget,
        8 => CoreKind::TypeExists,
        9 => CoreKind::TypeSize,
        10 => CoreKind::EnumvalExists,
        11 => CoreKind::EnumvalValue,
        12 => CoreKind::TypeMatches,
        _ => return None,
    })
}

/// Reads the `core_relo` records of `.BTF.ext` bytes `data`, in stored
/// order. A header too short to have a `core_relo` sub-section (older
/// compilers) gives no records.
///
/// Errors: [`Error::Malformed`] with section `.BTF.ext` and the byte
/// offset of the bad header field, sub-section header or record (bad
/// magic, a sub-section or record past the end, a record size under 16
/// bytes, a section name past `.BTF`'s string section).
pub fn read_core_relos(
    label: &str,
    data: &[u8],
    big_endian: bool,
    btf: &ObjectBtf,
) -> Result<Vec<RawCoreRelo>> {
    let err = |offset: usize, message: String| Error::Malformed {
        label: label.to_owned(),
        section: ".BTF.ext".to_owned(),
        offset: offset as u64,
        message,
    };
    let u32_at = |o: usize| -> Option<u32> {
        let b: [u8; 4] = data.get(o..o.checked_add(4)?)?.try_into().ok()?;
        Some(if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let magic = match data.get(..2) {
        Some(&[a, b]) if big_endian => u16::from_be_bytes([a, b]),
        Some(&[a, b]) => u16::from_le_bytes([a, b]),
        _ => 0,
    };
    if magic != 0xeb9f {
        return Err(err(0, "bad magic (expected 0xeb9f)".to_owned()));
    }
    let hdr_len = u32_at(4).ok_or_else(|| err(4, "header runs past the data".to_owned()))? as usize;
    if hdr_len > data.len() {
        return Err(err(
            4,
            format!("header length {hdr_len} runs past the data"),
        ));
    }
    if hdr_len < 32 {
        return Ok(Vec::new());
    }
    let field = |o: usize| u32_at(o).ok_or_else(|| err(o, "header runs past the data".to_owned()));
    let (off, len) = (field(24)? as usize, field(28)? as usize);
    let start = hdr_len.checked_add(off);
    let end = start.and_then(|s| s.checked_add(len));
    let (start, end) = match (start, end) {
        (Some(s), Some(e)) if e <= data.len() => (s, e),
        _ => {
            return Err(err(
                24,
                format!(
                    "core_relo sub-section ({off:#x}+{len:#x} after the header) runs past the data"
                ),
            ))
        }
    };
    if len == 0 {
        return Ok(Vec::new());
    }
    let at = |o: usize| -> Result<u32> {
        if o.checked_add(4).is_some_and(|e| e <= end) {
            u32_at(o).ok_or_else(|| err(o, "core_relo sub-section runs past the data".to_owned()))
        } else {
            Err(err(
                o,
                "core_relo sub-section ends inside a field".to_owned(),
            ))
        }
    };
    let rec_size = at(start)? as usize;
    if rec_size < RECORD_LEN {
        return Err(err(
            start,
            format!("core_relo record size {rec_size} is under {RECORD_LEN}"),
        ));
    }
    let mut out = Vec::new();
    let mut o = start + 4;
    while o < end {
        let name_off = at(o)?;
        let count = at(o + 4)? as usize;
        let section = btf.string_at(name_off).ok_or_else(|| {
            err(
                o,
                format!("section name offset {name_off:#x} is past .BTF's string section"),
            )
        })?;
        let body = o + 8;
        let body_end = count
            .checked_mul(rec_size)
            .and_then(|n| body.checked_add(n))
            .filter(|&e| e <= end)
            .ok_or_else(|| {
                err(o, format!("{count} records of {rec_size} bytes for `{section}` run past the sub-section"))
            })?;
        for r in 0..count {
            let ro = body + r * rec_size;
            out.push(RawCoreRelo {
                section: section.clone(),
                record_offset: ro,
                insn_off: at(ro)?,
                type_id: at(ro + 4)?,
                access_str_off: at(ro + 8)?,
                kind: at(ro + 12)?,
            });
        }
        o = body_end;
    }
    Ok(out)
}

/// The spelling of a type on its own: `struct task_struct`, `union u`,
/// `enum e` (also for `enum64`); other kinds by name, or by kind when
/// anonymous.
fn type_spelling(t: &Type, name: &str) -> String {
    let kind = match t {
        Type::Struct(_) => "struct",
        Type::Union(_) => "union",
        Type::Enum(_) | Type::Enum64(_) => "enum",
        _ if name.is_empty() => return format!("({})", kind_name(t)),
        _ => return name.to_owned(),
    };
    if name.is_empty() {
        format!("{kind} (anon)")
    } else {
        format!("{kind} {name}")
    }
}

/// Resolves one record through `btf`.
///
/// Errors: [`Error::Malformed`] with section `.BTF.ext` and the record's
/// offset when the kind is unknown, the root type id or the access
/// string offset is out of range, the access string is not
/// colon-separated numbers, or an index is out of range for the type it
/// applies to (a member index past a struct's members, an enumerator
/// index past an enum's, an index into a type that is neither composite
/// nor array).
pub fn resolve(label: &str, btf: &ObjectBtf, raw: &RawCoreRelo) -> Result<CoreRelocation> {
    let err = |message: String| Error::Malformed {
        label: label.to_owned(),
        section: ".BTF.ext".to_owned(),
        offset: raw.record_offset as u64,
        message: format!(
            "CO-RE record for `{}` at insn {:#x}: {message}",
            raw.section, raw.insn_off
        ),
    };
    let kind =
        core_kind(raw.kind).ok_or_else(|| err(format!("unknown relocation kind {}", raw.kind)))?;
    let root = btf.type_by_id(raw.type_id).ok_or_else(|| {
        err(format!(
            "type id {} is past .BTF's {} types",
            raw.type_id,
            btf.count()
        ))
    })?;
    let type_kind = kind_name(&root).to_owned();
    let type_name = btf.type_name(&root);
    let access = btf.string_at(raw.access_str_off).ok_or_else(|| {
        err(format!(
            "access string offset {:#x} is past .BTF's string section",
            raw.access_str_off
        ))
    })?;
    let indices = access
        .split(':')
        .map(|s| s.parse::<u32>())
        .collect::<Result<Vec<u32>, _>>()
        .map_err(|_| {
            err(format!(
                "access string `{access}` is not colon-separated numbers"
            ))
        })?;
    let first = indices[0];
    let root_display = if type_name.is_empty() {
        format!("({type_kind})")
    } else {
        type_name.clone()
    };
    let mut steps = Vec::new();
    let mut enumerator = None;
    let spelling = match kind {
        CoreKind::FieldByteOffset
        | CoreKind::FieldByteSize
        | CoreKind::FieldExists
        | CoreKind::FieldSigned
        | CoreKind::FieldLshiftU64
        | CoreKind::FieldRshiftU64 => {
            let mut path = String::new();
            let mut cur = raw.type_id;
            for &idx in &indices[1..] {
                let (_, t) = btf
                    .skip_mods_and_typedefs(cur)
                    .ok_or_else(|| err(format!("type id {cur} does not resolve")))?;
                match &t {
                    Type::Struct(s) | Type::Union(s) => {
                        let container = btf.type_name(&t);
                        let m = s.members.get(idx as usize).ok_or_else(|| {
                            err(format!(
                                "access string `{access}`: member index {idx} is out of range for {} ({} members)",
                                type_spelling(&t, &container),
                                s.members.len()
                            ))
                        })?;
                        let name = btf.name_of(m);
                        if !name.is_empty() {
                            if !path.is_empty() {
                                path.push('.');
                            }
                            path.push_str(&name);
                        }
                        steps.push(CoreStep {
                            container,
                            member: (!name.is_empty()).then_some(name),
                            index: None,
                        });
                        cur = m.get_type_id().unwrap_or(0);
                    }
                    Type::Array(a) => {
                        path.push_str(&format!("[{idx}]"));
                        steps.push(CoreStep {
                            container: String::new(),
                            member: None,
                            index: Some(idx),
                        });
                        cur = a.get_type_id().unwrap_or(0);
                    }
                    other => {
                        return Err(err(format!(
                            "access string `{access}`: index {idx} into a {}, neither composite nor array",
                            kind_name(other)
                        )))
                    }
                }
            }
            let root = if first == 0 {
                root_display
            } else {
                format!("{root_display}[{first}]")
            };
            if path.is_empty() {
                root
            } else {
                format!("{root}::{path}")
            }
        }
        CoreKind::EnumvalExists | CoreKind::EnumvalValue => {
            let (_, t) = btf
                .skip_mods_and_typedefs(raw.type_id)
                .ok_or_else(|| err(format!("type id {} does not resolve", raw.type_id)))?;
            let name = match &t {
                Type::Enum(e) => e.members.get(first as usize).map(|m| btf.name_of(m)),
                Type::Enum64(e) => e.members.get(first as usize).map(|m| btf.name_of(m)),
                other => {
                    return Err(err(format!(
                        "enum value relocation on a {}, not an enum",
                        kind_name(other)
                    )))
                }
            }
            .ok_or_else(|| {
                err(format!(
                    "access string `{access}`: enumerator index {first} is out of range for {}",
                    type_spelling(&t, &btf.type_name(&t))
                ))
            })?;
            let spelled = format!("{}::{name}", type_spelling(&t, &btf.type_name(&t)));
            enumerator = Some(name);
            spelled
        }
        CoreKind::TypeIdLocal
        | CoreKind::TypeIdTarget
        | CoreKind::TypeExists
        | CoreKind::TypeSize
        | CoreKind::TypeMatches => type_spelling(&root, &type_name),
    };
    Ok(CoreRelocation {
        section: raw.section.clone(),
        insn_offset: raw.insn_off,
        kind,
        type_kind,
        type_name,
        access,
        steps,
        enumerator,
        spelling,
    })
}

/// All CO-RE relocations of an object from its `.BTF.ext` bytes, in
/// `.BTF.ext` order, and a note per record of a relocation kind this
/// reader does not know (a newer compiler's), which is skipped rather
/// than failing the object. Errors as [`read_core_relos`] and
/// [`resolve`].
pub fn core_relocations(
    label: &str,
    btf_ext: &[u8],
    big_endian: bool,
    btf: &ObjectBtf,
) -> Result<(Vec<CoreRelocation>, Vec<String>)> {
    let mut relocations = Vec::new();
    let mut notes = Vec::new();
    for raw in read_core_relos(label, btf_ext, big_endian, btf)? {
        if core_kind(raw.kind).is_none() {
            notes.push(format!(
                "section `{}`: CO-RE relocation of unknown kind {} at insn {:#x} skipped",
                raw.section, raw.kind, raw.insn_off
            ));
            continue;
        }
        relocations.push(resolve(label, btf, &raw)?);
    }
    Ok((relocations, notes))
}
