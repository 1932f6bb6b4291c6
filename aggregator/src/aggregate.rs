//! The aggregation: every image of every group streamed in step, one
//! function name at a time, into per-group status rows and per-pair
//! changes. [`run`] feeds a [`Sink`]; [`write_dataset`] is the sink that
//! writes the `function_status`, `function_changes` and
//! `comparison_groups` tables of each group.

use std::collections::BTreeSet;

use ksurf_dataset::layout::group_table_file;
use ksurf_dataset::{Dataset, TableName, TableWriter};

use crate::config::Group;
use crate::diff::compare;
use crate::groups::{resolve, ImageMeta, ResolvedGroup};
use crate::model::{ChangeRow, Presence, StatusRow};
use crate::stream::ImageCursor;
use crate::tables::{changes_batch, group_batch, status_batch, GroupRow};
use crate::{Error, Result};

/// Status rows gathered before they are encoded as one batch.
const ROWS_PER_BATCH: usize = 2048;

/// Receives the rows of an aggregation, group by group, in table order.
pub trait Sink {
    fn status(&mut self, group: usize, row: StatusRow) -> Result<()>;
    fn change(&mut self, group: usize, row: ChangeRow) -> Result<()>;
}

/// Groups that could be resolved and opened, and those that could not.
pub struct Plan {
    pub images: Vec<ImageMeta>,
    pub groups: Vec<ResolvedGroup>,
    pub failures: Vec<Error>,
}

/// Resolves `groups` against the dataset's images; a group that cannot be
/// resolved is reported in `failures` and left out.
pub fn plan(dataset: &Dataset, groups: &[Group]) -> Result<Plan> {
    let images = crate::groups::dataset_images(dataset)?;
    let mut resolved = Vec::new();
    let mut failures = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        match resolve(g, i as u32, &images) {
            Ok(r) => resolved.push(r),
            Err(e) => failures.push(e),
        }
    }
    Ok(Plan {
        images,
        groups: resolved,
        failures,
    })
}

/// What one run produced per group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupCounts {
    pub function_names: u32,
    pub changes: u32,
}

/// Streams the images of `plan`'s groups merged by function name and
/// feeds `sink`. With `only`, just that name (reading only the row groups
/// that may hold it). A group with an image that cannot be opened is left
/// out (`None` in the result) and reported in `plan.failures`.
pub fn run(
    dataset: &Dataset,
    plan: &mut Plan,
    only: Option<&str>,
    sink: &mut dyn Sink,
) -> Result<Vec<Option<GroupCounts>>> {
    let used: BTreeSet<usize> = plan.groups.iter().flat_map(|g| g.all_images()).collect();
    let mut cursors: Vec<Option<ImageCursor>> = (0..plan.images.len()).map(|_| None).collect();
    let mut broken: BTreeSet<usize> = BTreeSet::new();
    for &i in &used {
        match ImageCursor::open(dataset, &plan.images[i].id, only) {
            Ok(c) => cursors[i] = Some(c),
            Err(e) => {
                plan.failures.push(Error::Table {
                    location: plan.images[i].id.to_string(),
                    message: format!("cannot be aggregated: {e}"),
                });
                broken.insert(i);
            }
        }
    }
    // A group with an unreadable image is left out; the others go on.
    let left_out: Vec<bool> = plan
        .groups
        .iter()
        .map(|g| g.all_images().any(|i| broken.contains(&i)))
        .collect();
    for (g, out) in plan.groups.iter().zip(&left_out) {
        if *out {
            plan.failures.push(Error::Group {
                group: g.name.clone(),
                message: "left out: one of its images cannot be read".to_owned(),
            });
        }
    }
    let labels: Vec<Vec<(String, String)>> = plan
        .groups
        .iter()
        .map(|g| {
            plan.images
                .iter()
                .map(|m| (m.id.to_string(), m.label(g.label_kind)))
                .collect()
        })
        .collect();
    let pairs: Vec<Vec<(usize, usize)>> = plan.groups.iter().map(ResolvedGroup::pairs).collect();
    let mut counts = vec![GroupCounts::default(); plan.groups.len()];
    let mut presences: Vec<Option<Presence>> = (0..plan.images.len()).map(|_| None).collect();
    loop {
        // The smallest next name over all images.
        let mut next: Option<String> = None;
        for c in cursors.iter_mut().flatten() {
            if let Some(name) = c.peek()? {
                if next.as_ref().is_none_or(|n| &name < n) {
                    next = Some(name);
                }
            }
        }
        let Some(name) = next else { break };
        for (i, c) in cursors.iter_mut().enumerate() {
            presences[i] = None;
            if let Some(c) = c {
                if c.peek()?.as_deref() == Some(name.as_str()) {
                    presences[i] = Some(c.take(&name)?);
                }
            }
        }
        if only.is_some_and(|o| o != name) {
            continue;
        }
        for (g, group) in plan.groups.iter().enumerate() {
            if left_out[g] || group.all_images().all(|i| presences[i].is_none()) {
                continue;
            }
            counts[g].function_names += 1;
            let row = |i: usize, position: Option<u32>| StatusRow {
                name: name.clone(),
                image: labels[g][i].0.clone(),
                label: labels[g][i].1.clone(),
                baseline: position.is_none(),
                position,
                presence: presences[i].clone(),
            };
            if let Some(b) = group.baseline {
                sink.status(g, row(b, None))?;
            }
            for (p, &m) in group.members.iter().enumerate() {
                sink.status(g, row(m, Some(p as u32)))?;
            }
            for (p, &(old, new)) in pairs[g].iter().enumerate() {
                for change in compare(presences[old].as_ref(), presences[new].as_ref()) {
                    counts[g].changes += 1;
                    sink.change(
                        g,
                        ChangeRow {
                            name: name.clone(),
                            pair: p as u32,
                            old_image: labels[g][old].0.clone(),
                            new_image: labels[g][new].0.clone(),
                            old_label: labels[g][old].1.clone(),
                            new_label: labels[g][new].1.clone(),
                            change,
                        },
                    )?;
                }
            }
        }
    }
    Ok(counts
        .into_iter()
        .zip(left_out)
        .map(|(c, out)| (!out).then_some(c))
        .collect())
}

/// Rows kept in memory, for one name's report.
#[derive(Default)]
pub struct MemorySink {
    pub status: Vec<Vec<StatusRow>>,
    pub changes: Vec<Vec<ChangeRow>>,
}

impl MemorySink {
    pub fn new(groups: usize) -> Self {
        MemorySink {
            status: vec![Vec::new(); groups],
            changes: vec![Vec::new(); groups],
        }
    }
}

impl Sink for MemorySink {
    fn status(&mut self, group: usize, row: StatusRow) -> Result<()> {
        self.status[group].push(row);
        Ok(())
    }

    fn change(&mut self, group: usize, row: ChangeRow) -> Result<()> {
        self.changes[group].push(row);
        Ok(())
    }
}

struct GroupWriters<'d> {
    status: TableWriter<'d>,
    changes: TableWriter<'d>,
    status_rows: Vec<StatusRow>,
    change_rows: Vec<ChangeRow>,
}

impl GroupWriters<'_> {
    fn flush_status(&mut self) -> Result<()> {
        if !self.status_rows.is_empty() {
            self.status.write(&status_batch(&self.status_rows)?)?;
            self.status_rows.clear();
        }
        Ok(())
    }

    fn flush_changes(&mut self) -> Result<()> {
        if !self.change_rows.is_empty() {
            self.changes.write(&changes_batch(&self.change_rows)?)?;
            self.change_rows.clear();
        }
        Ok(())
    }
}

/// Streams rows into each group's table files.
struct DatasetSink<'d> {
    writers: Vec<GroupWriters<'d>>,
}

impl Sink for DatasetSink<'_> {
    fn status(&mut self, group: usize, row: StatusRow) -> Result<()> {
        let w = &mut self.writers[group];
        w.status_rows.push(row);
        if w.status_rows.len() >= ROWS_PER_BATCH {
            w.flush_status()?;
        }
        Ok(())
    }

    fn change(&mut self, group: usize, row: ChangeRow) -> Result<()> {
        let w = &mut self.writers[group];
        w.change_rows.push(row);
        if w.change_rows.len() >= ROWS_PER_BATCH {
            w.flush_changes()?;
        }
        Ok(())
    }
}

/// What [`write_dataset`] did.
pub struct Outcome {
    /// (group, counts) of every group written, in config order.
    pub written: Vec<(String, GroupCounts)>,
    /// Groups left out, and why.
    pub failures: Vec<Error>,
}

/// Aggregates `groups` over `dataset` and writes their tables. The
/// aggregated tables of groups not in `groups` are removed, so the tables
/// always describe the last config. A group is complete when its
/// `comparison_groups` file exists: it is removed first and written last.
pub fn write_dataset(dataset: &Dataset, groups: &[Group]) -> Result<Outcome> {
    let mut plan = plan(dataset, groups)?;
    let keep: Vec<String> = plan.groups.iter().map(|g| g.name.clone()).collect();
    // Markers first, so that no reader takes a half-written group as complete.
    for table in TableName::AGGREGATED.iter().rev() {
        for existing in dataset.groups(*table)? {
            if !keep.contains(&existing) || *table == TableName::ComparisonGroups {
                dataset.delete(&group_table_file(*table, &existing))?;
            }
        }
    }
    let mut sink = DatasetSink {
        writers: plan
            .groups
            .iter()
            .map(|g| {
                Ok(GroupWriters {
                    status: dataset.table_writer(
                        &group_table_file(TableName::FunctionStatus, &g.name),
                        TableName::FunctionStatus,
                    )?,
                    changes: dataset.table_writer(
                        &group_table_file(TableName::FunctionChanges, &g.name),
                        TableName::FunctionChanges,
                    )?,
                    status_rows: Vec::new(),
                    change_rows: Vec::new(),
                })
            })
            .collect::<Result<_>>()?,
    };
    let counts = run(dataset, &mut plan, None, &mut sink)?;
    // Groups `run` left out have their writers dropped, which aborts them.
    let mut written = Vec::new();
    for ((group, mut w), counts) in plan.groups.iter().zip(sink.writers).zip(counts) {
        let Some(counts) = counts else { continue };
        w.flush_changes()?;
        w.flush_status()?;
        w.changes.finish()?;
        w.status.finish()?;
        let label = |i: usize| plan.images[i].label(group.label_kind);
        let row = GroupRow {
            name: group.name.clone(),
            position: group.position,
            mode: group.mode.as_str().to_owned(),
            label_kind: group.label_kind.as_str().to_owned(),
            baseline: group.baseline.map(|b| plan.images[b].id.to_string()),
            baseline_label: group.baseline.map(label),
            images: group
                .members
                .iter()
                .map(|&m| plan.images[m].id.to_string())
                .collect(),
            labels: group.members.iter().map(|&m| label(m)).collect(),
            function_names: counts.function_names,
            changes: counts.changes,
        };
        let mut marker = dataset.table_writer(
            &group_table_file(TableName::ComparisonGroups, &group.name),
            TableName::ComparisonGroups,
        )?;
        marker.write(&group_batch(&row)?)?;
        marker.finish()?;
        written.push((group.name.clone(), counts));
    }
    Ok(Outcome {
        written,
        failures: plan.failures,
    })
}
