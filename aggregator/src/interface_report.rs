//! The page of one name of an interface kind (a tracepoint, a syscall, a
//! kfunc, an LSM hook), in the structure of the function and type pages:
//! `## Status` with what each image of each group has under the name,
//! then `## Differences` with the changes of each compared pair. The
//! history is gathered from each group's images' rows of that name
//! (row groups pruned by name) and compared with the kind's
//! [`InterfaceDiff`], for the aggregated groups or a config's; what one
//! image's rows say is the kind's [`InterfaceDiff::describe`].

use std::fmt::Write;

use ksurf_dataset::{Dataset, DependencyKind, ImageId};

use crate::aggregate::{group_row, plan, presence_of, GroupCounts};
use crate::config::Group;
use crate::history::aggregated_groups;
use crate::interface_diff::{InterfaceChange, InterfaceCursor, InterfaceDiff, PairFacts};
use crate::kconfig_diff::ConfigDiff;
use crate::kfunc_diff::KfuncDiff;
use crate::lsm_diff::LsmDiff;
use crate::report::{code, escape};
use crate::syscall_diff::SyscallDiff;
use crate::tables::GroupRow;
use crate::tracepoint_diff::TracepointDiff;
use crate::type_report::group_images;
use crate::{Error, Result};

/// One image of a group: its label and what its rows of the name say
/// (HTML lines, empty when the image has no row of the name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceStatus {
    pub image: String,
    pub label: String,
    pub details: Vec<String>,
}

/// One compared pair of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfacePair {
    pub old_label: String,
    pub new_label: String,
    pub old_present: bool,
    pub new_present: bool,
    pub changes: Vec<InterfaceChange>,
}

/// One group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceGroupHistory {
    pub name: String,
    pub members: Vec<InterfaceStatus>,
    pub pairs: Vec<InterfacePair>,
}

/// One name of one interface kind across every group, in config order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceHistory {
    pub kind: DependencyKind,
    pub name: String,
    pub groups: Vec<InterfaceGroupHistory>,
}

/// Where a page's changes come from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Changes {
    /// The aggregated `<kind>_changes` tables (the groups are aggregated).
    Aggregated,
    /// Compared now (a config's groups, not aggregated).
    Computed,
}

/// The group's changes of `name` from the aggregated tables, by pair.
fn aggregated_changes(
    dataset: &Dataset,
    group: &GroupRow,
    kind: DependencyKind,
    name: &str,
) -> Result<Vec<(u32, InterfaceChange)>> {
    let table = kind.changes_table().expect("interface kinds have one");
    let rows = crate::history::rows_for(
        dataset,
        table,
        group,
        name,
        |b, _| Ok(crate::interface_diff::decode_changes(b)),
        |r| r.name.as_str(),
    )?;
    Ok(rows.into_iter().map(|r| (r.pair, r.change)).collect())
}

/// One group's history of `name` from each image's rows of it (in
/// [`group_images`] order) and the changes by pair index.
pub fn group_history<D: InterfaceDiff>(
    group: &GroupRow,
    name: &str,
    rows: &[Vec<D::Record>],
    changes: &[(u32, InterfaceChange)],
) -> InterfaceGroupHistory {
    let (images, pairs) = group_images(group);
    let pairs = pairs
        .into_iter()
        .enumerate()
        .map(|(p, (o, n))| InterfacePair {
            old_label: images[o].1.clone(),
            new_label: images[n].1.clone(),
            old_present: !rows[o].is_empty(),
            new_present: !rows[n].is_empty(),
            changes: changes
                .iter()
                .filter(|(pair, _)| *pair == p as u32)
                .map(|(_, c)| c.clone())
                .collect(),
        })
        .collect();
    let skip = usize::from(group.baseline.is_some());
    let members = images
        .into_iter()
        .zip(rows)
        .skip(skip)
        .map(|((image, label), r)| InterfaceStatus {
            image,
            label,
            details: if r.is_empty() {
                Vec::new()
            } else {
                D::describe(name, r)
            },
        })
        .collect();
    InterfaceGroupHistory {
        name: group.name.clone(),
        members,
        pairs,
    }
}

/// `name`'s history over `groups` for the kind `D`.
fn history_of<D: InterfaceDiff>(
    dataset: &Dataset,
    groups: &[GroupRow],
    name: &str,
    source: Changes,
) -> Result<InterfaceHistory> {
    let mut out = Vec::new();
    let mut anywhere = false;
    for g in groups {
        let (images, pairs) = group_images(g);
        let mut ids = Vec::new();
        let mut rows = Vec::new();
        for (image, _) in &images {
            let id: ImageId = image.parse()?;
            let mut cursor = InterfaceCursor::<D>::open(dataset, &id, Some(name))?;
            let r = presence_of(&mut cursor, name)?.unwrap_or_default();
            anywhere |= !r.is_empty();
            rows.push(r);
            ids.push(id);
        }
        let changes = match source {
            Changes::Aggregated => aggregated_changes(dataset, g, D::KIND, name)?,
            Changes::Computed if D::is_compared(name) => {
                let mut out = Vec::new();
                for (p, (o, n)) in pairs.into_iter().enumerate() {
                    let mut facts = PairFacts::default();
                    D::prepare(dataset, &ids[o], &ids[n], &mut facts)?;
                    D::prepare_name(dataset, &ids[o], &ids[n], &rows[o], &rows[n], &mut facts)?;
                    out.extend(
                        D::compare(&rows[o], &rows[n], &facts)
                            .into_iter()
                            .map(|c| (p as u32, c)),
                    );
                }
                out
            }
            Changes::Computed => Vec::new(),
        };
        out.push(group_history::<D>(g, name, &rows, &changes));
    }
    if !anywhere {
        return Err(Error::UnknownType {
            kind: D::KIND.as_str().to_owned(),
            name: name.to_owned(),
        });
    }
    Ok(InterfaceHistory {
        kind: D::KIND,
        name: name.to_owned(),
        groups: out,
    })
}

/// `name`'s history of `kind` (an interface kind) over `groups`; an
/// error when no image of the groups has the name.
fn history(
    dataset: &Dataset,
    groups: &[GroupRow],
    kind: DependencyKind,
    name: &str,
    source: Changes,
) -> Result<InterfaceHistory> {
    match kind {
        DependencyKind::Tracepoint => history_of::<TracepointDiff>(dataset, groups, name, source),
        DependencyKind::Syscall => history_of::<SyscallDiff>(dataset, groups, name, source),
        DependencyKind::Kfunc => history_of::<KfuncDiff>(dataset, groups, name, source),
        DependencyKind::LsmHook => history_of::<LsmDiff>(dataset, groups, name, source),
        DependencyKind::Config => history_of::<ConfigDiff>(dataset, groups, name, source),
        DependencyKind::Function | DependencyKind::Type => {
            unreachable!("{} is not an interface kind", kind.as_str())
        }
    }
}

/// `name`'s history of `kind` over the aggregated groups, with the
/// changes the aggregation stored.
pub fn from_dataset(
    dataset: &Dataset,
    kind: DependencyKind,
    name: &str,
) -> Result<InterfaceHistory> {
    let groups = aggregated_groups(dataset)?;
    if groups.is_empty() {
        return Err(Error::NotAggregated(dataset.label().to_owned()));
    }
    history(dataset, &groups, kind, name, Changes::Aggregated)
}

/// `name`'s history of `kind` over the groups of a config, compared now.
pub fn from_config(
    dataset: &Dataset,
    groups: &[Group],
    kind: DependencyKind,
    name: &str,
) -> Result<InterfaceHistory> {
    let mut plan = plan(dataset, groups)?;
    if let Some(e) = plan.failures.drain(..).next() {
        return Err(e);
    }
    let rows: Vec<GroupRow> = plan
        .groups
        .iter()
        .map(|g| group_row(&plan.images, g, &GroupCounts::default()))
        .collect();
    history(dataset, &rows, kind, name, Changes::Computed)
}

/// The page title's kind: `Tracepoint`, `Syscall`, `Kfunc`, `LSM hook`,
/// `Config option`.
pub fn title(kind: DependencyKind) -> &'static str {
    match kind {
        DependencyKind::Tracepoint => "Tracepoint",
        DependencyKind::Syscall => "Syscall",
        DependencyKind::Kfunc => "Kfunc",
        DependencyKind::LsmHook => "LSM hook",
        DependencyKind::Config => "Config option",
        DependencyKind::Function => "Function",
        DependencyKind::Type => "Type",
    }
}

/// The Markdown page of one name of an interface kind.
pub fn render(h: &InterfaceHistory) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}: {}\n", title(h.kind), code(&h.name));
    out.push_str("## Status\n");
    for group in &h.groups {
        let _ = writeln!(out, "<b>{}</b>", escape(&group.name));
        out.push_str("<ul>\n");
        for m in &group.members {
            out.push_str("<li>\n");
            let label = code(&m.label);
            if m.details.is_empty() {
                let _ = writeln!(out, "In {label}: Absent ⚠️");
            } else {
                out.push_str("<details>\n");
                let _ = writeln!(out, "<summary>In {label}: ✅</summary>\n");
                for line in &m.details {
                    let _ = writeln!(out, "{line}\n");
                }
                out.push_str("</details>\n");
            }
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

fn delta(out: &mut String, pair: &InterfacePair) {
    let (a, b) = (code(&pair.old_label), code(&pair.new_label));
    if pair.changes.is_empty() {
        if pair.old_present && pair.new_present {
            let _ = writeln!(out, "<li>\nNo changes between {a} and {b} ✅\n</li>");
        }
        return;
    }
    out.push_str("<li>\n<details>\n");
    let _ = writeln!(out, "<summary>Changed between {a} and {b} ⚠️</summary>");
    out.push_str("<ul>\n");
    for c in &pair.changes {
        let _ = write!(out, "<li>\n<b>{}. </b>", escape(&c.change));
        let mut parts = Vec::new();
        if let Some(s) = &c.subject {
            parts.push(code(s));
        }
        match (&c.old, &c.new) {
            (Some(o), Some(n)) => parts.push(format!("{} ➡️ {}", code(o), code(n))),
            (Some(o), None) => parts.push(code(o)),
            (None, Some(n)) => parts.push(code(n)),
            (None, None) => {}
        }
        let _ = writeln!(out, "{}\n</li>", parts.join(": "));
    }
    out.push_str("</ul>\n</details>\n</li>\n");
}
