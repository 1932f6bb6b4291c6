//! The `.BTF` section of one BPF object: its type graph (parsed by the
//! `btf-rs` crate) and its string section (read here, since `.BTF.ext`
//! access strings and section names point anywhere into it).
//!
//! The header (`struct btf_header`, `include/uapi/linux/btf.h`: magic
//! `0xeb9f`, version, flags, `hdr_len`, then type and string section
//! offsets and lengths relative to the header's end) is checked here, with
//! checked arithmetic, before `btf-rs` sees the bytes, so that a header
//! lying about lengths is an error naming the offset rather than a long
//! or unbounded read. The byte order is the magic's.

use crate::error::{Error, Result};
use btf_rs::{Btf, BtfType, Type};

/// The `.BTF` of one object.
pub struct ObjectBtf {
    btf: Btf,
    /// The string section: NUL-terminated strings, offset 0 is `""`.
    strings: Vec<u8>,
    /// The number of type ids, `void` (id 0) included.
    count: u32,
}

/// Size of the fixed `struct btf_header` fields this reader needs.
const HEADER_LEN: usize = 24;

impl ObjectBtf {
    /// Parses `data`, the bytes of section `.BTF` of object `label`.
    ///
    /// Errors: [`Error::Malformed`] with section `.BTF` and the offset of
    /// the header field or section that is wrong (bad magic or version,
    /// a type or string section past the end), or offset 0 with `btf-rs`'s
    /// message when a type record cannot be read.
    pub fn parse(label: &str, data: &[u8]) -> Result<ObjectBtf> {
        let err = |offset: usize, message: String| Error::Malformed {
            label: label.to_owned(),
            section: ".BTF".to_owned(),
            offset: offset as u64,
            message,
        };
        let big = match data.get(..2) {
            Some([0x9f, 0xeb]) => false,
            Some([0xeb, 0x9f]) => true,
            _ => return Err(err(0, "bad magic (expected 0xeb9f)".to_owned())),
        };
        if data.len() < HEADER_LEN {
            return Err(err(
                0,
                format!(
                    "header needs {HEADER_LEN} bytes, section has {}",
                    data.len()
                ),
            ));
        }
        let u32_at = |o: usize| -> usize {
            let b = [data[o], data[o + 1], data[o + 2], data[o + 3]];
            (if big {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }) as usize
        };
        if data[2] != 1 {
            return Err(err(2, format!("unsupported BTF version {}", data[2])));
        }
        let hdr_len = u32_at(4);
        if hdr_len < HEADER_LEN || hdr_len > data.len() {
            return Err(err(4, format!("header length {hdr_len} out of range")));
        }
        let body = data.len() - hdr_len;
        let range = |field: usize, what: &str| -> Result<(usize, usize)> {
            let (off, len) = (u32_at(field), u32_at(field + 4));
            match off.checked_add(len) {
                Some(end) if end <= body => Ok((hdr_len + off, hdr_len + end)),
                _ => Err(err(
                    field,
                    format!(
                        "{what} section ({off:#x}+{len:#x} after the header) runs past the data"
                    ),
                )),
            }
        };
        range(8, "type")?;
        let (str_start, str_end) = range(16, "string")?;
        let strings = data[str_start..str_end].to_vec();
        let btf = Btf::from_bytes(data).map_err(|e| err(0, format!("reading types: {e}")))?;
        let (_, last) = btf.base().type_id_range();
        Ok(ObjectBtf {
            btf,
            strings,
            count: last.saturating_add(1),
        })
    }

    /// The NUL-terminated string at `offset` of the string section; `None`
    /// past its end. Not UTF-8 is replaced lossily.
    pub fn string_at(&self, offset: u32) -> Option<String> {
        let s = self.strings.get(offset as usize..)?;
        if s.is_empty() {
            return None;
        }
        let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
        Some(String::from_utf8_lossy(&s[..end]).into_owned())
    }

    /// The type of id `id` (0 is `void`); `None` past the last id.
    pub fn type_by_id(&self, id: u32) -> Option<Type> {
        if id >= self.count {
            return None;
        }
        self.btf.resolve_type_by_id(id).ok()
    }

    /// The number of type ids, `void` included.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The name of a type, member or enumerator; `""` when anonymous.
    pub fn name_of(&self, t: &dyn BtfType) -> String {
        t.get_name_offset()
            .and_then(|o| self.string_at(o))
            .unwrap_or_default()
    }

    /// The name of `t`; `""` for `void`, `func_proto` and anonymous types.
    pub fn type_name(&self, t: &Type) -> String {
        t.as_btf_type().map(|b| self.name_of(b)).unwrap_or_default()
    }

    /// Follows typedef, `const`, `volatile`, `restrict` and type tags from
    /// `id` to the first other type: (its id, the type). `None` for a
    /// dangling id or a cycle.
    pub fn skip_mods_and_typedefs(&self, mut id: u32) -> Option<(u32, Type)> {
        for _ in 0..=self.count {
            let t = self.type_by_id(id)?;
            match &t {
                Type::Typedef(_)
                | Type::Const(_)
                | Type::Volatile(_)
                | Type::Restrict(_)
                | Type::TypeTag(_) => id = t.as_btf_type()?.get_type_id()?,
                _ => return Some((id, t)),
            }
        }
        None
    }
}

/// BTF kind name as `bpftool` and the docs spell it (`struct`, `enum64`,
/// `func_proto`, …).
pub fn kind_name(t: &Type) -> &'static str {
    match t {
        Type::Void => "void",
        Type::Int(_) => "int",
        Type::Ptr(_) => "ptr",
        Type::Array(_) => "array",
        Type::Struct(_) => "struct",
        Type::Union(_) => "union",
        Type::Enum(_) => "enum",
        Type::Fwd(_) => "fwd",
        Type::Typedef(_) => "typedef",
        Type::Volatile(_) => "volatile",
        Type::Const(_) => "const",
        Type::Restrict(_) => "restrict",
        Type::Func(_) => "func",
        Type::FuncProto(_) => "func_proto",
        Type::Var(_) => "var",
        Type::Datasec(_) => "datasec",
        Type::Float(_) => "float",
        Type::DeclTag(_) => "decl_tag",
        Type::TypeTag(_) => "type_tag",
        Type::Enum64(_) => "enum64",
        _ => "unknown",
    }
}
