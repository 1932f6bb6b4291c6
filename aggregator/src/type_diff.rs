//! The type kind's model and diff: one type name as it is in one image
//! (its definitions from `types`, with their `type_members` and
//! `enum_values` rows, read by [`TypeCursor`] one name at a time), and the
//! changes of that name between the two images of a compared pair (the
//! rows of `type_changes`).
//!
//! Definitions are matched per kind (`struct foo` is compared with
//! `struct foo`, never with `typedef foo`); several definitions of one
//! kind and name are matched by declaration file, then by identical
//! layout, then the last one left on each side, like colliding static
//! functions. Members are matched by name at any depth (CO-RE reaches the
//! members of anonymous members directly), enumerators by name.

use ksurf_dataset::{Dataset, ImageId, TableName};

use crate::diff::match_in_passes;
use crate::stream::{RowCursor, BATCH_ROWS};
use crate::Result;

/// One member of a struct or union (a `type_members` row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberDef {
    pub name: Option<String>,
    pub path: String,
    pub depth: u32,
    pub ty: String,
    pub bit_offset: u64,
    pub bit_size: Option<u32>,
}

impl MemberDef {
    /// The member's type, with `:bits` for a bitfield.
    pub fn type_text(&self) -> String {
        match self.bit_size {
            Some(bits) => format!("{}:{bits}", self.ty),
            None => self.ty.clone(),
        }
    }
}

/// One definition of a type name in one image (a `types` row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeDefinition {
    pub name: String,
    /// `struct`, `union`, `enum`, `typedef`.
    pub kind: String,
    pub size: Option<u64>,
    pub decl_file: Option<String>,
    pub decl_line: Option<u32>,
    pub units: u32,
    pub hash: String,
    pub target: Option<String>,
    pub members: Vec<MemberDef>,
    /// (name, value) of an enum's enumerators.
    pub values: Vec<(String, i64)>,
}

impl TypeDefinition {
    /// `file:line`, the file alone, or nothing.
    pub fn location(&self) -> Option<String> {
        match (&self.decl_file, self.decl_line) {
            (Some(f), Some(l)) => Some(format!("{f}:{l}")),
            (Some(f), None) => Some(f.clone()),
            (None, _) => None,
        }
    }
}

/// One image's type tables, advanced one type name at a time.
pub struct TypeCursor {
    pub image: ImageId,
    types: RowCursor,
    members: RowCursor,
    values: RowCursor,
}

impl TypeCursor {
    /// Opens the three type tables of `image`; with `only`, reads just the
    /// row groups that may hold that name.
    pub fn open(dataset: &Dataset, image: &ImageId, only: Option<&str>) -> Result<Self> {
        let open = |table: TableName, key: &'static str| -> Result<RowCursor> {
            let path = ksurf_dataset::layout::table_file(table, image);
            let stream = dataset.stream_file(&path, table, BATCH_ROWS, only.map(|n| (key, n)))?;
            Ok(RowCursor::new(stream, key))
        };
        Ok(TypeCursor {
            image: image.clone(),
            types: open(TableName::Types, "name")?,
            members: open(TableName::TypeMembers, "type_name")?,
            values: open(TableName::EnumValues, "enum_name")?,
        })
    }

    /// The next type name of the image, if any.
    pub fn peek(&mut self) -> Result<Option<String>> {
        self.types.current_key()
    }

    /// The image's definitions named `name`, which must be
    /// [`TypeCursor::peek`]'s, in stored order.
    pub fn take(&mut self, name: &str) -> Result<Vec<TypeDefinition>> {
        let mut defs = self.types.take(name, |c, row| TypeDefinition {
            name: c.str("name", row).to_owned(),
            kind: c.str("kind", row).to_owned(),
            size: c.opt_u64("size", row),
            decl_file: c.opt_str("decl_file", row).map(str::to_owned),
            decl_line: c.opt_u32("decl_line", row),
            units: c.u32("units", row),
            hash: c.str("definition_hash", row).to_owned(),
            target: c.opt_str("target", row).map(str::to_owned),
            members: Vec::new(),
            values: Vec::new(),
        })?;
        let members = self.members.take(name, |c, row| {
            (
                c.str("definition_hash", row).to_owned(),
                MemberDef {
                    name: c.opt_str("name", row).map(str::to_owned),
                    path: c.str("path", row).to_owned(),
                    depth: c.u32("depth", row),
                    ty: c.str("type", row).to_owned(),
                    bit_offset: c.u64("bit_offset", row),
                    bit_size: c.opt_u32("bit_size", row),
                },
            )
        })?;
        let values = self.values.take(name, |c, row| {
            (
                c.str("definition_hash", row).to_owned(),
                (c.str("name", row).to_owned(), c.i64("value", row)),
            )
        })?;
        for (hash, m) in members {
            if let Some(d) = defs.iter_mut().find(|d| d.hash == hash && d.kind != "enum") {
                d.members.push(m);
            }
        }
        for (hash, v) in values {
            if let Some(d) = defs.iter_mut().find(|d| d.hash == hash && d.kind == "enum") {
                d.values.push(v);
            }
        }
        Ok(defs)
    }
}

/// `text` with zero-length arrays written as flexible ones (`char [0]` →
/// `char []`): DWARF tells the two apart (GCC's zero-length array
/// extension has a bound, the C99 flexible array member none), `.BTF`
/// and CO-RE do not (both are 0 elements), and the kernel replaced one
/// with the other wholesale in 5.x (`trace_event_raw_*.__data`), which is
/// no change to a program.
fn flexible_array(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains("[0]") {
        std::borrow::Cow::Owned(text.replace("[0]", "[]"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// The kinds of change of a type between two images, in listing order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TypeChangeKind {
    TypeAdded,
    TypeRemoved,
    FieldAdded,
    FieldRemoved,
    FieldTypeChanged,
    FieldOffsetChanged,
    SizeChanged,
    ValueAdded,
    ValueRemoved,
    ValueChanged,
    TargetChanged,
}

impl TypeChangeKind {
    pub const ALL: [TypeChangeKind; 11] = [
        TypeChangeKind::TypeAdded,
        TypeChangeKind::TypeRemoved,
        TypeChangeKind::FieldAdded,
        TypeChangeKind::FieldRemoved,
        TypeChangeKind::FieldTypeChanged,
        TypeChangeKind::FieldOffsetChanged,
        TypeChangeKind::SizeChanged,
        TypeChangeKind::ValueAdded,
        TypeChangeKind::ValueRemoved,
        TypeChangeKind::ValueChanged,
        TypeChangeKind::TargetChanged,
    ];

    /// The `change` column's value (DepSurf's labels where it has one).
    pub fn as_str(self) -> &'static str {
        match self {
            TypeChangeKind::TypeAdded => "Type added",
            TypeChangeKind::TypeRemoved => "Type removed",
            TypeChangeKind::FieldAdded => "Field added",
            TypeChangeKind::FieldRemoved => "Field removed",
            TypeChangeKind::FieldTypeChanged => "Field type changed",
            TypeChangeKind::FieldOffsetChanged => "Field offset changed",
            TypeChangeKind::SizeChanged => "Size changed",
            TypeChangeKind::ValueAdded => "Value added",
            TypeChangeKind::ValueRemoved => "Value removed",
            TypeChangeKind::ValueChanged => "Value changed",
            TypeChangeKind::TargetChanged => "Typedef target changed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Breaks only programs that read by fixed offset (not CO-RE).
    pub fn is_layout_only(self) -> bool {
        matches!(
            self,
            TypeChangeKind::FieldOffsetChanged | TypeChangeKind::SizeChanged
        )
    }
}

/// One change of one definition between the two images of a pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeChange {
    /// `struct`, `union`, `enum`, `typedef`.
    pub kind: String,
    pub change: TypeChangeKind,
    /// The definition's declaration file (old side, else new side).
    pub decl_file: Option<String>,
    /// The field or enumerator.
    pub member: Option<String>,
    /// Old and new value: a C type, a bit offset, a byte size, an
    /// enumerator value, a typedef target.
    pub old: Option<String>,
    pub new: Option<String>,
}

/// A change as stored in `type_changes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeChangeRow {
    pub name: String,
    pub pair: u32,
    pub old_image: String,
    pub new_image: String,
    pub old_label: String,
    pub new_label: String,
    pub change: TypeChange,
}

/// The changes of one type name from `old` to `new` (each the name's
/// definitions in one image), kind by kind in `struct`, `union`, `enum`,
/// `typedef` order.
pub fn compare(old: &[TypeDefinition], new: &[TypeDefinition]) -> Vec<TypeChange> {
    let mut out = Vec::new();
    for kind in ["struct", "union", "enum", "typedef"] {
        let o: Vec<&TypeDefinition> = old.iter().filter(|d| d.kind == kind).collect();
        let n: Vec<&TypeDefinition> = new.iter().filter(|d| d.kind == kind).collect();
        let pairs = match_definitions(&o, &n);
        for (i, d) in o.iter().enumerate() {
            if !pairs.iter().any(|&(a, _)| a == i) {
                out.push(whole(d, TypeChangeKind::TypeRemoved));
            }
        }
        for (j, d) in n.iter().enumerate() {
            if !pairs.iter().any(|&(_, b)| b == j) {
                out.push(whole(d, TypeChangeKind::TypeAdded));
            }
        }
        for (i, j) in pairs {
            compare_definitions(o[i], n[j], &mut out);
        }
    }
    out
}

fn whole(d: &TypeDefinition, change: TypeChangeKind) -> TypeChange {
    let what = d.location();
    let (old, new) = match change {
        TypeChangeKind::TypeRemoved => (what, None),
        _ => (None, what),
    };
    TypeChange {
        kind: d.kind.clone(),
        change,
        decl_file: d.decl_file.clone(),
        member: None,
        old,
        new,
    }
}

/// (old, new) index pairs: the two only definitions; else same
/// declaration file, then identical layout, then the last one left.
fn match_definitions<'a>(
    old: &[&'a TypeDefinition],
    new: &[&'a TypeDefinition],
) -> Vec<(usize, usize)> {
    let passes: [fn(&&'a TypeDefinition, &&'a TypeDefinition) -> bool; 3] = [
        |a, b| a.decl_file.is_some() && a.decl_file == b.decl_file && a.hash == b.hash,
        |a, b| a.decl_file.is_some() && a.decl_file == b.decl_file,
        |a, b| a.hash == b.hash,
    ];
    match_in_passes(old, new, &passes)
}

/// The changes between two matched definitions of one kind.
fn compare_definitions(o: &TypeDefinition, n: &TypeDefinition, out: &mut Vec<TypeChange>) {
    if o.hash == n.hash {
        return;
    }
    let change =
        |change, member: Option<&str>, old: Option<String>, new: Option<String>| TypeChange {
            kind: o.kind.clone(),
            change,
            decl_file: o.decl_file.clone().or_else(|| n.decl_file.clone()),
            member: member.map(str::to_owned),
            old,
            new,
        };
    let named = |d: &'_ TypeDefinition| -> Vec<MemberDef> {
        d.members
            .iter()
            .filter(|m| m.name.is_some())
            .cloned()
            .collect()
    };
    let (om, nm) = (named(o), named(n));
    let find =
        |ms: &[MemberDef], name: &str| ms.iter().position(|m| m.name.as_deref() == Some(name));
    for m in &nm {
        let name = m.name.as_deref().expect("named");
        if find(&om, name).is_none() {
            out.push(change(
                TypeChangeKind::FieldAdded,
                Some(name),
                None,
                Some(m.type_text()),
            ));
        }
    }
    for m in &om {
        let name = m.name.as_deref().expect("named");
        if find(&nm, name).is_none() {
            out.push(change(
                TypeChangeKind::FieldRemoved,
                Some(name),
                Some(m.type_text()),
                None,
            ));
        }
    }
    for m in &om {
        let name = m.name.as_deref().expect("named");
        if let Some(j) = find(&nm, name) {
            let (a, b) = (m.type_text(), nm[j].type_text());
            if flexible_array(&a) != flexible_array(&b) {
                out.push(change(
                    TypeChangeKind::FieldTypeChanged,
                    Some(name),
                    Some(a),
                    Some(b),
                ));
            }
        }
    }
    for m in &om {
        let name = m.name.as_deref().expect("named");
        if let Some(j) = find(&nm, name) {
            if m.bit_offset != nm[j].bit_offset {
                out.push(change(
                    TypeChangeKind::FieldOffsetChanged,
                    Some(name),
                    Some(m.bit_offset.to_string()),
                    Some(nm[j].bit_offset.to_string()),
                ));
            }
        }
    }
    if o.size != n.size {
        out.push(change(
            TypeChangeKind::SizeChanged,
            None,
            o.size.map(|s| s.to_string()),
            n.size.map(|s| s.to_string()),
        ));
    }
    for (name, value) in &n.values {
        if !o.values.iter().any(|(v, _)| v == name) {
            out.push(change(
                TypeChangeKind::ValueAdded,
                Some(name),
                None,
                Some(value.to_string()),
            ));
        }
    }
    for (name, value) in &o.values {
        match n.values.iter().find(|(v, _)| v == name) {
            None => out.push(change(
                TypeChangeKind::ValueRemoved,
                Some(name),
                Some(value.to_string()),
                None,
            )),
            Some((_, new)) if new != value => out.push(change(
                TypeChangeKind::ValueChanged,
                Some(name),
                Some(value.to_string()),
                Some(new.to_string()),
            )),
            Some(_) => {}
        }
    }
    if o.target != n.target {
        out.push(change(
            TypeChangeKind::TargetChanged,
            None,
            o.target.clone(),
            n.target.clone(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, ty: &str, bit_offset: u64) -> MemberDef {
        MemberDef {
            name: Some(name.to_owned()),
            path: name.to_owned(),
            depth: 0,
            ty: ty.to_owned(),
            bit_offset,
            bit_size: None,
        }
    }

    fn def(
        kind: &str,
        file: &str,
        hash: &str,
        members: Vec<MemberDef>,
        size: u64,
    ) -> TypeDefinition {
        TypeDefinition {
            name: "foo".to_owned(),
            kind: kind.to_owned(),
            size: Some(size),
            decl_file: Some(file.to_owned()),
            decl_line: Some(3),
            units: 1,
            hash: hash.to_owned(),
            target: None,
            members,
            values: Vec::new(),
        }
    }

    #[test]
    fn members_are_matched_by_name_with_layout_changes_of_their_own() {
        let old = def(
            "struct",
            "a.h",
            "1",
            vec![
                member("state", "long int", 0),
                member("flags", "int", 64),
                member("x", "int", 96),
            ],
            16,
        );
        let new = def(
            "struct",
            "a.h",
            "2",
            vec![
                member("__state", "unsigned int", 0),
                member("pad", "int", 32),
                member("flags", "int", 64),
                member("x", "long int", 128),
            ],
            24,
        );
        let got: Vec<_> = compare(&[old], &[new])
            .into_iter()
            .map(|c| (c.change, c.member, c.old, c.new))
            .collect();
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            got,
            vec![
                (
                    TypeChangeKind::FieldAdded,
                    s("__state"),
                    None,
                    s("unsigned int")
                ),
                (TypeChangeKind::FieldAdded, s("pad"), None, s("int")),
                (
                    TypeChangeKind::FieldRemoved,
                    s("state"),
                    s("long int"),
                    None
                ),
                (
                    TypeChangeKind::FieldTypeChanged,
                    s("x"),
                    s("int"),
                    s("long int")
                ),
                (
                    TypeChangeKind::FieldOffsetChanged,
                    s("x"),
                    s("96"),
                    s("128")
                ),
                (TypeChangeKind::SizeChanged, None, s("16"), s("24")),
            ]
        );
    }

    #[test]
    fn zero_length_and_flexible_arrays_are_the_same_type() {
        let old = def(
            "struct",
            "a.h",
            "1",
            vec![member("ent", "int", 0), member("__data", "char [0]", 32)],
            4,
        );
        let new = def(
            "struct",
            "a.h",
            "2",
            vec![member("ent", "int", 0), member("__data", "char []", 32)],
            4,
        );
        assert_eq!(compare(std::slice::from_ref(&old), &[new]), vec![]);
        let sized = def(
            "struct",
            "a.h",
            "3",
            vec![member("ent", "int", 0), member("__data", "char [4]", 32)],
            4,
        );
        assert_eq!(
            compare(&[old], &[sized])
                .into_iter()
                .map(|c| (c.change, c.old, c.new))
                .collect::<Vec<_>>(),
            vec![(
                TypeChangeKind::FieldTypeChanged,
                Some("char [0]".to_owned()),
                Some("char [4]".to_owned())
            )]
        );
    }

    #[test]
    fn distinct_definitions_are_matched_by_declaration_file_never_first_wins() {
        let a1 = def("struct", "drivers/a.c", "a", vec![member("x", "int", 0)], 4);
        let b1 = def(
            "struct",
            "drivers/b.c",
            "b",
            vec![member("y", "long int", 0)],
            8,
        );
        let b2 = def(
            "struct",
            "drivers/b.c",
            "b2",
            vec![member("y", "long int", 0), member("z", "char", 64)],
            16,
        );
        let got = compare(&[a1.clone(), b1], &[b2, a1]);
        let got: Vec<_> = got
            .iter()
            .map(|c| (c.change, c.decl_file.clone(), c.member.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    TypeChangeKind::FieldAdded,
                    Some("drivers/b.c".to_owned()),
                    Some("z".to_owned())
                ),
                (
                    TypeChangeKind::SizeChanged,
                    Some("drivers/b.c".to_owned()),
                    None
                ),
            ]
        );
    }

    #[test]
    fn kinds_are_compared_apart_and_enum_values_by_name() {
        let mut e1 = def("enum", "e.h", "e1", vec![], 4);
        e1.values = vec![
            ("A".to_owned(), 0),
            ("B".to_owned(), 1),
            ("C".to_owned(), 2),
        ];
        let mut e2 = def("enum", "e.h", "e2", vec![], 8);
        e2.values = vec![
            ("A".to_owned(), 0),
            ("B".to_owned(), -1),
            ("D".to_owned(), 1 << 40),
        ];
        let t = def("typedef", "t.h", "t", vec![], 0);
        let got: Vec<_> = compare(&[e1, t], &[e2])
            .into_iter()
            .map(|c| (c.kind, c.change, c.member, c.old, c.new))
            .collect();
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            got,
            vec![
                (
                    "enum".to_owned(),
                    TypeChangeKind::SizeChanged,
                    None,
                    s("4"),
                    s("8")
                ),
                (
                    "enum".to_owned(),
                    TypeChangeKind::ValueAdded,
                    s("D"),
                    None,
                    s("1099511627776")
                ),
                (
                    "enum".to_owned(),
                    TypeChangeKind::ValueChanged,
                    s("B"),
                    s("1"),
                    s("-1")
                ),
                (
                    "enum".to_owned(),
                    TypeChangeKind::ValueRemoved,
                    s("C"),
                    s("2"),
                    None
                ),
                (
                    "typedef".to_owned(),
                    TypeChangeKind::TypeRemoved,
                    None,
                    s("t.h:3"),
                    None
                ),
            ]
        );
    }
}
