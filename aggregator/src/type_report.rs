//! The type kind's page: one struct, union, enum or typedef across the
//! groups — `## Status` with its definition in every image of each group
//! (as C, with byte offsets in comments as `pahole` prints them), then
//! `## Differences` with the changes of each compared pair — and the
//! gathering of that history from the per-image type tables of each
//! group's images (row groups pruned by name), for the aggregated groups
//! or a config's.

use std::fmt::Write;

use ksurf_dataset::{Dataset, ImageId};

use crate::aggregate::{group_row, plan, presence_of, GroupCounts};
use crate::config::Group;
use crate::history::aggregated_groups;
use crate::report::{code, declaration, escape};
use crate::tables::GroupRow;
use crate::type_diff::{compare, TypeChange, TypeChangeKind, TypeCursor, TypeDefinition};
use crate::{Error, Result};

/// One image of a group, for one type name and kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeStatus {
    pub image: String,
    pub label: String,
    /// The image's definitions of that kind and name (several when
    /// distinct layouts share the name); empty when absent.
    pub definitions: Vec<TypeDefinition>,
}

/// One compared pair of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypePair {
    pub old_label: String,
    pub new_label: String,
    pub old_present: bool,
    pub new_present: bool,
    pub changes: Vec<TypeChange>,
}

/// One group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeGroupHistory {
    pub name: String,
    pub members: Vec<TypeStatus>,
    pub pairs: Vec<TypePair>,
}

/// One type (kind and name) across every group, in config order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeHistory {
    /// `struct`, `union`, `enum`, `typedef`.
    pub kind: String,
    pub name: String,
    pub groups: Vec<TypeGroupHistory>,
}

impl TypeHistory {
    pub fn present_anywhere(&self) -> bool {
        self.groups
            .iter()
            .any(|g| g.members.iter().any(|m| !m.definitions.is_empty()))
    }
}

/// (image, label) of each image of a group in status order (the baseline
/// first), and the compared pairs as (old, new) indexes into that list.
pub type GroupImages = (Vec<(String, String)>, Vec<(usize, usize)>);

/// The images and pairs of a group row.
pub fn group_images(group: &GroupRow) -> GroupImages {
    let mut images = Vec::new();
    if let Some(b) = &group.baseline {
        images.push((b.clone(), group.baseline_label.clone().unwrap_or(b.clone())));
    }
    let first = images.len();
    images.extend(
        group
            .images
            .iter()
            .cloned()
            .zip(group.labels.iter().cloned()),
    );
    let pairs = match group.baseline {
        Some(_) => (first..images.len()).map(|m| (0, m)).collect(),
        None => (first + 1..images.len()).map(|m| (m - 1, m)).collect(),
    };
    (images, pairs)
}

/// Builds one group's history from each image's definitions of `name`
/// (all kinds; `kind` is kept), in [`group_images`] order.
pub fn type_group_history(
    group: &GroupRow,
    kind: &str,
    per_image: Vec<Vec<TypeDefinition>>,
) -> TypeGroupHistory {
    let (images, pairs) = group_images(group);
    let defs: Vec<Vec<TypeDefinition>> = per_image
        .into_iter()
        .map(|d| d.into_iter().filter(|d| d.kind == kind).collect())
        .collect();
    let pairs = pairs
        .into_iter()
        .map(|(o, n)| TypePair {
            old_label: images[o].1.clone(),
            new_label: images[n].1.clone(),
            old_present: !defs[o].is_empty(),
            new_present: !defs[n].is_empty(),
            changes: compare(&defs[o], &defs[n]),
        })
        .collect();
    let skip = usize::from(group.baseline.is_some());
    let members = images
        .into_iter()
        .zip(defs)
        .skip(skip)
        .map(|((image, label), definitions)| TypeStatus {
            image,
            label,
            definitions,
        })
        .collect();
    TypeGroupHistory {
        name: group.name.clone(),
        members,
        pairs,
    }
}

/// `kind name`'s history over `groups`, reading each image's rows of that
/// name only.
pub fn history(
    dataset: &Dataset,
    groups: &[GroupRow],
    kind: &str,
    name: &str,
) -> Result<TypeHistory> {
    let mut out = Vec::new();
    for g in groups {
        let (images, _) = group_images(g);
        let mut per_image = Vec::new();
        for (image, _) in &images {
            let id: ImageId = image.parse()?;
            let mut cursor = TypeCursor::open(dataset, &id, Some(name))?;
            per_image.push(presence_of(&mut cursor, name)?.unwrap_or_default());
        }
        out.push(type_group_history(g, kind, per_image));
    }
    let history = TypeHistory {
        kind: kind.to_owned(),
        name: name.to_owned(),
        groups: out,
    };
    if history.present_anywhere() {
        Ok(history)
    } else {
        Err(Error::UnknownType {
            kind: kind.to_owned(),
            name: name.to_owned(),
        })
    }
}

/// `kind name`'s history over the aggregated groups.
pub fn from_dataset(dataset: &Dataset, kind: &str, name: &str) -> Result<TypeHistory> {
    let groups = aggregated_groups(dataset)?;
    if groups.is_empty() {
        return Err(Error::NotAggregated(dataset.label().to_owned()));
    }
    history(dataset, &groups, kind, name)
}

/// `kind name`'s history over the groups of a config.
pub fn from_config(
    dataset: &Dataset,
    groups: &[Group],
    kind: &str,
    name: &str,
) -> Result<TypeHistory> {
    let mut plan = plan(dataset, groups)?;
    if let Some(e) = plan.failures.drain(..).next() {
        return Err(e);
    }
    let rows: Vec<GroupRow> = plan
        .groups
        .iter()
        .map(|g| group_row(&plan.images, g, &GroupCounts::default()))
        .collect();
    history(dataset, &rows, kind, name)
}

fn title_kind(kind: &str) -> String {
    let mut c = kind.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The Markdown page of one type.
pub fn render(h: &TypeHistory) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}: {}\n", title_kind(&h.kind), code(&h.name));
    out.push_str("## Status\n");
    for group in &h.groups {
        let _ = writeln!(out, "<b>{}</b>", escape(&group.name));
        out.push_str("<ul>\n");
        for m in &group.members {
            out.push_str("<li>\n");
            status(&mut out, h, m);
            out.push_str("</li>\n");
        }
        out.push_str("</ul>\n");
    }
    out.push('\n');
    out.push_str("## Differences\n");
    for group in &h.groups {
        if group.pairs.iter().all(|p| !p.old_present && !p.new_present) {
            continue;
        }
        let _ = writeln!(out, "<b>{}</b>", escape(&group.name));
        out.push_str("<ul>\n");
        for pair in &group.pairs {
            delta(&mut out, pair);
        }
        out.push_str("</ul>\n");
    }
    out
}

fn status(out: &mut String, h: &TypeHistory, m: &TypeStatus) {
    let label = code(&m.label);
    if m.definitions.is_empty() {
        let _ = writeln!(out, "In {label}: Absent ⚠️");
        return;
    }
    let verdict = if m.definitions.len() > 1 {
        format!("{} distinct definitions ⚠️", m.definitions.len())
    } else {
        "✅".to_owned()
    };
    out.push_str("<details>\n");
    let _ = writeln!(out, "<summary>In {label}: {verdict}</summary>");
    for d in &m.definitions {
        out.push_str("\n```c\n");
        out.push_str(&c_definition(&h.name, d));
        out.push_str("```\n\n");
        let _ = writeln!(
            out,
            "**Declared at:** {} (defined in {} unit{})\n",
            d.location().as_deref().unwrap_or("unknown"),
            d.units,
            if d.units == 1 { "" } else { "s" }
        );
    }
    out.push_str("</details>\n");
}

/// The definition as C, `pahole`-style: members with their byte offset
/// (and bit within the byte for bitfields) in comments, anonymous members
/// as nested blocks, the size last.
pub fn c_definition(name: &str, d: &TypeDefinition) -> String {
    let mut out = String::new();
    match d.kind.as_str() {
        "typedef" => {
            let _ = writeln!(
                out,
                "typedef {};",
                declaration(d.target.as_deref().unwrap_or("void"), Some(name))
            );
        }
        "enum" => {
            let _ = writeln!(out, "enum {} {{", name);
            for (n, v) in &d.values {
                let _ = writeln!(out, "\t{n} = {v},");
            }
            let _ = writeln!(out, "}};\t/* size: {} */", d.size.unwrap_or(0));
        }
        kind => {
            let _ = writeln!(out, "{kind} {name} {{");
            let mut open: Vec<u32> = Vec::new();
            for m in &d.members {
                while open.last().is_some_and(|&depth| depth >= m.depth) {
                    let depth = open.pop().expect("open");
                    let _ = writeln!(out, "{}}};", "\t".repeat(depth as usize + 1));
                }
                let indent = "\t".repeat(m.depth as usize + 1);
                let offset = m.bit_offset / 8;
                if m.name.is_none() && (m.ty == "struct {...}" || m.ty == "union {...}") {
                    let keyword = m.ty.trim_end_matches(" {...}");
                    let _ = writeln!(out, "{indent}{keyword} {{\t/* {offset} */");
                    open.push(m.depth);
                    continue;
                }
                let decl = declaration(&m.ty, m.name.as_deref());
                match m.bit_size {
                    Some(bits) => {
                        let _ = writeln!(
                            out,
                            "{indent}{decl}:{bits};\t/* {offset}:{} */",
                            m.bit_offset % 8
                        );
                    }
                    None => {
                        let _ = writeln!(out, "{indent}{decl};\t/* {offset} */");
                    }
                }
            }
            while let Some(depth) = open.pop() {
                let _ = writeln!(out, "{}}};", "\t".repeat(depth as usize + 1));
            }
            let _ = writeln!(out, "}};\t/* size: {} */", d.size.unwrap_or(0));
        }
    }
    out
}

fn delta(out: &mut String, pair: &TypePair) {
    let (a, b) = (code(&pair.old_label), code(&pair.new_label));
    let changes: Vec<&TypeChange> = pair
        .changes
        .iter()
        .filter(|c| {
            !matches!(
                c.change,
                TypeChangeKind::TypeAdded | TypeChangeKind::TypeRemoved
            )
        })
        .collect();
    if pair.old_present && pair.new_present && changes.is_empty() {
        let _ = writeln!(out, "<li>\nNo changes between {a} and {b} ✅\n</li>");
        return;
    }
    if changes.is_empty() {
        return;
    }
    let mut files: Vec<Option<&str>> = changes.iter().map(|c| c.decl_file.as_deref()).collect();
    files.sort();
    files.dedup();
    let qualify = files.len() > 1;
    out.push_str("<li>\n<details>\n");
    let _ = writeln!(out, "<summary>Changed between {a} and {b} ⚠️</summary>");
    out.push_str("<ul>\n");
    for c in changes {
        let _ = write!(out, "<li>\n<b>{}. </b>", c.change.as_str());
        let mut line = change_text(c);
        if qualify {
            if let Some(f) = c.decl_file.as_deref() {
                let _ = write!(line, " in {}", code(f));
            }
        }
        let _ = writeln!(out, "{line}\n</li>");
    }
    out.push_str("</ul>\n</details>\n</li>\n");
}

fn change_text(c: &TypeChange) -> String {
    let old = c.old.as_deref().unwrap_or("");
    let new = c.new.as_deref().unwrap_or("");
    let member = c.member.as_deref();
    let field = |ty: &str| match ty.rsplit_once(':') {
        Some((t, bits)) if bits.chars().all(|c| c.is_ascii_digit()) => {
            format!("{}:{bits}", declaration(t, member))
        }
        _ => declaration(ty, member),
    };
    let bytes = |bits: &str| match bits.parse::<u64>() {
        Ok(b) if b % 8 == 0 => format!("{}", b / 8),
        Ok(b) => format!("{}:{}", b / 8, b % 8),
        Err(_) => bits.to_owned(),
    };
    match c.change {
        TypeChangeKind::FieldAdded => code(&field(new)),
        TypeChangeKind::FieldRemoved => code(&field(old)),
        TypeChangeKind::FieldTypeChanged => {
            format!("{} ➡️ {}", code(&field(old)), code(&field(new)))
        }
        TypeChangeKind::FieldOffsetChanged => format!(
            "{}: offset {} ➡️ {}",
            code(member.unwrap_or("")),
            bytes(old),
            bytes(new)
        ),
        TypeChangeKind::SizeChanged => format!("{} ➡️ {} bytes", old, new),
        TypeChangeKind::ValueAdded => code(&format!("{} = {new}", member.unwrap_or(""))),
        TypeChangeKind::ValueRemoved => code(&format!("{} = {old}", member.unwrap_or(""))),
        TypeChangeKind::ValueChanged => code(&format!("{} = {old} -> {new}", member.unwrap_or(""))),
        TypeChangeKind::TargetChanged => format!("{} ➡️ {}", code(old), code(new)),
        TypeChangeKind::TypeAdded => code(new),
        TypeChangeKind::TypeRemoved => code(old),
    }
}
