//! One function name across every group: the status rows and changes a
//! report shows, gathered either from the aggregated tables
//! ([`from_dataset`]) or computed on the spot from the per-image tables
//! for the groups of a config ([`from_config`]).

use std::collections::BTreeMap;

use ksurf_dataset::layout::{group_image_table_file, group_table_file, Path};
use ksurf_dataset::{Dataset, ImageId, TableName};

use crate::aggregate::{group_row, plan, run, GroupCounts, MemorySink};
use crate::config::Group;
use crate::model::{Change, ChangeRow, StatusRow};
use crate::placement::ModulePlacement;
use crate::stream::BATCH_ROWS;
use crate::tables::{decode_changes, decode_group, decode_status, GroupRow};
use crate::{Error, Result};

/// One compared pair of a group, for one name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairHistory {
    pub old_label: String,
    pub new_label: String,
    pub old_present: bool,
    pub new_present: bool,
    /// Every change of the pair (including added / removed).
    pub changes: Vec<Change>,
}

/// One group, for one name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupHistory {
    pub name: String,
    /// The baseline image of a group compared against a fixed image (not
    /// in the status list, which follows DepSurf's; shown in the attach
    /// matrix and the site's index); `None` for consecutive groups.
    pub baseline: Option<StatusRow>,
    /// The status list, in order (absent images included).
    pub members: Vec<StatusRow>,
    pub pairs: Vec<PairHistory>,
}

/// One function name across every group, in config order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionHistory {
    pub name: String,
    pub groups: Vec<GroupHistory>,
}

impl FunctionHistory {
    /// Whether the name is in any image of any group.
    pub fn present_anywhere(&self) -> bool {
        self.groups.iter().any(|g| {
            g.members.iter().any(|m| m.presence.is_some())
                || g.pairs.iter().any(|p| p.old_present || p.new_present)
        })
    }
}

/// Builds one group's history from its rows for one name (`status` in
/// table order: baseline first, then the members).
pub fn group_history(
    name: &str,
    group: &GroupRow,
    status: Vec<StatusRow>,
    changes: &[ChangeRow],
) -> GroupHistory {
    let absent = |image: &str, label: &str, baseline: bool, position: Option<u32>| StatusRow {
        name: name.to_owned(),
        image: image.to_owned(),
        label: label.to_owned(),
        baseline,
        position,
        presence: None,
        modules: Vec::new(),
    };
    let mut baseline = group
        .baseline
        .as_deref()
        .map(|b| absent(b, group.baseline_label.as_deref().unwrap_or(b), true, None));
    let mut members: Vec<StatusRow> = group
        .images
        .iter()
        .zip(&group.labels)
        .enumerate()
        .map(|(p, (image, label))| absent(image, label, false, Some(p as u32)))
        .collect();
    for row in status {
        match row.position {
            None => baseline = Some(row),
            Some(p) => {
                if let Some(slot) = members.get_mut(p as usize) {
                    *slot = row;
                }
            }
        }
    }
    let present = |r: &StatusRow| r.presence.is_some();
    let sides: Vec<(&StatusRow, &StatusRow)> = match &baseline {
        Some(b) => members.iter().map(|m| (b, m)).collect(),
        None => members.windows(2).map(|w| (&w[0], &w[1])).collect(),
    };
    let pairs = sides
        .iter()
        .enumerate()
        .map(|(p, (old, new))| PairHistory {
            old_label: old.label.clone(),
            new_label: new.label.clone(),
            old_present: present(old),
            new_present: present(new),
            changes: changes
                .iter()
                .filter(|c| c.pair == p as u32)
                .map(|c| c.change.clone())
                .collect(),
        })
        .collect();
    GroupHistory {
        name: group.name.clone(),
        baseline,
        members,
        pairs,
    }
}

/// The aggregated groups of the dataset, in config order.
pub fn aggregated_groups(dataset: &Dataset) -> Result<Vec<GroupRow>> {
    let mut groups = Vec::new();
    for name in dataset.groups(TableName::ComparisonGroups)? {
        let batch = dataset.read_file(
            &group_table_file(TableName::ComparisonGroups, &name),
            TableName::ComparisonGroups,
        )?;
        if let Some(row) = decode_group(&name, &batch) {
            groups.push(row);
        }
    }
    groups.sort_by_key(|g| g.position);
    Ok(groups)
}

/// The files of an aggregated group's rows of `table`, in order:
/// `function_status`, one per image (the baseline first, then the
/// members); a changes table (`function_changes`, `type_changes`,
/// `tracepoint_changes`, …), one per compared pair, in the partition of
/// the pair's newer image.
pub fn group_files(group: &GroupRow, table: TableName) -> Result<Vec<Path>> {
    let changes = ksurf_dataset::DependencyKind::ALL
        .iter()
        .any(|k| k.changes_table() == Some(table));
    let images: Vec<&String> = match table {
        TableName::FunctionStatus => group.baseline.iter().chain(&group.images).collect(),
        _ if changes && group.baseline.is_some() => group.images.iter().collect(),
        _ if changes => group.images.iter().skip(1).collect(),
        other => panic!("{} is not partitioned by image", other.as_str()),
    };
    images
        .into_iter()
        .map(|image| {
            let id: ImageId = image.parse().map_err(|_| Error::Table {
                location: group_table_file(TableName::ComparisonGroups, &group.name).to_string(),
                message: format!("not an image: {image:?}"),
            })?;
            Ok(group_image_table_file(table, &group.name, &id))
        })
        .collect()
}

/// The rows of `table` (group `group`) for `name`, reading only the row
/// groups of each of the group's files that may hold it.
pub(crate) fn rows_for<T>(
    dataset: &Dataset,
    table: TableName,
    group: &GroupRow,
    name: &str,
    decode: impl Fn(&arrow::array::RecordBatch, &str) -> Result<Vec<T>>,
    name_of: impl Fn(&T) -> &str,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for path in group_files(group, table)? {
        let stream = dataset.stream_file(&path, table, BATCH_ROWS, Some(("name", name)))?;
        let location = stream.location().to_owned();
        for batch in stream {
            out.extend(
                decode(&batch?, &location)?
                    .into_iter()
                    .filter(|r| name_of(r) == name),
            );
        }
    }
    Ok(out)
}

/// `name`'s history from the aggregated tables.
pub fn from_dataset(dataset: &Dataset, name: &str) -> Result<FunctionHistory> {
    let groups = aggregated_groups(dataset)?;
    if groups.is_empty() {
        return Err(Error::NotAggregated(dataset.label().to_owned()));
    }
    let mut out = Vec::new();
    for g in &groups {
        let status = rows_for(
            dataset,
            TableName::FunctionStatus,
            g,
            name,
            |b, _| Ok(decode_status(b)),
            |r: &StatusRow| &r.name,
        )?;
        let changes = rows_for(
            dataset,
            TableName::FunctionChanges,
            g,
            name,
            decode_changes,
            |r: &ChangeRow| &r.name,
        )?;
        out.push(group_history(name, g, status, &changes));
    }
    finish(dataset, name, out)
}

/// `name`'s history computed from the per-image tables for `groups`.
pub fn from_config(dataset: &Dataset, groups: &[Group], name: &str) -> Result<FunctionHistory> {
    let mut plan = plan(dataset, groups)?;
    if let Some(e) = plan.failures.drain(..).next() {
        return Err(e);
    }
    let mut sink = MemorySink::new(plan.groups.len());
    run(
        dataset,
        &mut plan,
        &[ksurf_dataset::DependencyKind::Function],
        Some(name),
        &mut sink,
    )?;
    if let Some(e) = plan.failures.drain(..).next() {
        return Err(e);
    }
    let mut out = Vec::new();
    for (g, group) in plan.groups.iter().enumerate() {
        let row = group_row(&plan.images, group, &GroupCounts::default());
        let status = std::mem::take(&mut sink.status[g]);
        out.push(group_history(name, &row, status, &sink.changes[g]));
    }
    finish(dataset, name, out)
}

fn finish(dataset: &Dataset, name: &str, groups: Vec<GroupHistory>) -> Result<FunctionHistory> {
    let mut history = FunctionHistory {
        name: name.to_owned(),
        groups,
    };
    if history.present_anywhere() || placed_in_modules(dataset, name, &mut history.groups)? {
        return Ok(history);
    }
    let closest = closest_names(dataset, name, 5)?;
    let hint = if closest.is_empty() {
        String::new()
    } else {
        format!("; closest names: {}", closest.join(", "))
    };
    Err(Error::UnknownFunction {
        name: name.to_owned(),
        hint,
    })
}

/// For a name no image's vmlinux defines (so no group has status rows
/// for it): fills each image's row's `modules` from the image's module
/// rows of `functions` ([`ModulePlacement`]). Returns whether any module
/// of any image defines it.
///
/// Errors: an image id that does not parse, or module rows that cannot
/// be read.
fn placed_in_modules(dataset: &Dataset, name: &str, groups: &mut [GroupHistory]) -> Result<bool> {
    let mut by_image: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut any = false;
    for group in groups {
        for row in group.baseline.iter_mut().chain(group.members.iter_mut()) {
            if !by_image.contains_key(&row.image) {
                let id: ImageId = row.image.parse()?;
                let placement = ModulePlacement::read(dataset, &id, Some(name))?;
                by_image.insert(row.image.clone(), placement.modules(name).to_vec());
            }
            row.modules.clone_from(&by_image[&row.image]);
            any |= !row.modules.is_empty();
        }
    }
    Ok(any)
}

/// The `limit` function names of the dataset's images closest to `name`
/// by edit distance (ties by name): the vmlinux's and the kernel modules'
/// (module rows of `functions`).
pub fn closest_names(dataset: &Dataset, name: &str, limit: usize) -> Result<Vec<String>> {
    let mut best: Vec<(usize, String)> = Vec::new();
    for image in dataset.images()? {
        let vmlinux = dataset.stream_table(&image, TableName::Functions, 8192)?;
        let modules = dataset.stream_module_rows(&image, TableName::Functions, 8192, None)?;
        for batch in vmlinux.chain(modules.into_iter().flatten()) {
            let batch = batch?;
            let names = crate::tables::Columns::of_batch(&batch);
            for row in 0..batch.num_rows() {
                let candidate = names.str("name", row);
                let d = strsim::levenshtein(name, candidate);
                let worst = best.last().map(|(d, _)| *d);
                if best.len() >= limit && worst.is_some_and(|w| d > w) {
                    continue;
                }
                if best.iter().any(|(_, n)| n == candidate) {
                    continue;
                }
                best.push((d, candidate.to_owned()));
                best.sort();
                best.truncate(limit);
            }
        }
    }
    Ok(best.into_iter().map(|(_, n)| n).collect())
}
