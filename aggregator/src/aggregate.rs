//! The aggregation, group by group and image by image: a group's images
//! are visited in order with at most two of them open at a time (the
//! image and the one it is compared with: the previous one, or the
//! baseline), each streamed by function name against the group's sorted
//! list of names, into one image's status rows and one pair's changes at a
//! time. [`run`] feeds a [`Sink`]; [`write_dataset`] is the sink that
//! writes the `function_status` and `function_changes` files (one per
//! image of a group) and the `comparison_groups` marker of each group.

use std::collections::BTreeSet;

use ksurf_dataset::layout::{group_image_table_file, group_table_file};
use ksurf_dataset::{Dataset, DependencyKind, ImageId, TableName, TableWriter};

use crate::config::Group;
use crate::diff::compare;
use crate::groups::{resolve, ImageMeta, ResolvedGroup};
use crate::model::{ChangeRow, Presence, StatusRow};
use crate::stream::{ImageCursor, BATCH_ROWS};
use crate::tables::{
    changes_batch, group_batch, status_batch, type_changes_batch, Columns, GroupRow,
};
use crate::type_diff::{TypeChangeRow, TypeCursor};
use crate::{Error, Result};

/// Status rows gathered before they are encoded as one batch.
const ROWS_PER_BATCH: usize = 2048;

/// Receives the rows of an aggregation, one image of one group at a time:
/// [`Sink::begin`], that image's status rows in name order and the changes
/// of the pair it is the newer image of, then [`Sink::end`].
pub trait Sink {
    /// Starts `image` of group `group` (`pair`: the compared pair whose
    /// newer image it is, if any).
    fn begin(&mut self, group: usize, image: &ImageId, pair: Option<u32>) -> Result<()>;
    fn status(&mut self, row: StatusRow) -> Result<()>;
    fn change(&mut self, row: ChangeRow) -> Result<()>;
    fn type_change(&mut self, row: TypeChangeRow) -> Result<()>;
    fn end(&mut self) -> Result<()>;
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
    pub type_names: u32,
    pub type_changes: u32,
}

/// One image visit of a group: the image whose status rows are produced
/// (with its position, `None` for the baseline) and the image it is
/// compared with (with the pair's index), if any.
struct Step {
    image: usize,
    position: Option<u32>,
    compared_with: Option<(usize, u32)>,
}

/// The visits of `group`, in order: the baseline alone, then each member
/// against it; or the first member alone, then each member against the
/// previous one.
fn steps(group: &ResolvedGroup) -> Vec<Step> {
    let pairs = group.pairs();
    let mut out = Vec::new();
    if let Some(b) = group.baseline {
        out.push(Step {
            image: b,
            position: None,
            compared_with: None,
        });
    }
    for (p, &m) in group.members.iter().enumerate() {
        let pair = pairs
            .iter()
            .position(|&(_, new)| new == m)
            .map(|i| (pairs[i].0, i as u32));
        out.push(Step {
            image: m,
            position: Some(p as u32),
            compared_with: pair,
        });
    }
    out
}

/// The names of `kind` in `group`'s images (those in at least one),
/// sorted; with `only`, just that name if an image has it. Memory: the
/// names, not the images (each image's names table is streamed in turn).
fn group_names(
    dataset: &Dataset,
    images: &[ImageMeta],
    group: &ResolvedGroup,
    kind: DependencyKind,
    only: Option<&str>,
) -> Result<Vec<String>> {
    let mut names: BTreeSet<String> = BTreeSet::new();
    let table = kind.names_table();
    for i in group.all_images() {
        let path = ksurf_dataset::layout::table_file(table, &images[i].id);
        let stream = dataset.stream_file(&path, table, BATCH_ROWS, only.map(|n| ("name", n)))?;
        for batch in stream {
            let batch = batch?;
            let columns = Columns::of_batch(&batch);
            for row in 0..batch.num_rows() {
                let name = columns.str("name", row);
                if only.is_none_or(|o| o == name) && !names.contains(name) {
                    names.insert(name.to_owned());
                }
            }
        }
    }
    Ok(names.into_iter().collect())
}

/// A kind's per-image reader, advanced one name at a time in name order.
pub trait NameCursor {
    /// What the kind knows of one name in one image.
    type Presence;
    fn peek(&mut self) -> Result<Option<String>>;
    fn take(&mut self, name: &str) -> Result<Self::Presence>;
}

impl NameCursor for ImageCursor {
    type Presence = Presence;
    fn peek(&mut self) -> Result<Option<String>> {
        ImageCursor::peek(self)
    }
    fn take(&mut self, name: &str) -> Result<Presence> {
        ImageCursor::take(self, name)
    }
}

impl NameCursor for TypeCursor {
    type Presence = Vec<crate::type_diff::TypeDefinition>;
    fn peek(&mut self) -> Result<Option<String>> {
        TypeCursor::peek(self)
    }
    fn take(&mut self, name: &str) -> Result<Self::Presence> {
        TypeCursor::take(self, name)
    }
}

/// `name`'s rows in the image of `cursor`, skipping names before it.
pub fn presence_of<C: NameCursor>(cursor: &mut C, name: &str) -> Result<Option<C::Presence>> {
    while let Some(next) = cursor.peek()? {
        match next.as_str().cmp(name) {
            std::cmp::Ordering::Less => {
                cursor.take(&next)?;
            }
            std::cmp::Ordering::Equal => return Ok(Some(cursor.take(name)?)),
            std::cmp::Ordering::Greater => break,
        }
    }
    Ok(None)
}

/// Aggregates `plan`'s groups one after the other and feeds `sink`: each
/// group's images are visited in order, at most two open at a time, and
/// streamed against the group's sorted names, for each kind of `kinds`
/// (functions give status rows and changes, types changes). With `only`,
/// just that name (reading only the row groups that may hold it). A group
/// with an image that cannot be opened is left out (`None` in the result)
/// and reported in `plan.failures`.
pub fn run(
    dataset: &Dataset,
    plan: &mut Plan,
    kinds: &[DependencyKind],
    only: Option<&str>,
    sink: &mut dyn Sink,
) -> Result<Vec<Option<GroupCounts>>> {
    let used: BTreeSet<usize> = plan.groups.iter().flat_map(|g| g.all_images()).collect();
    let mut broken: BTreeSet<usize> = BTreeSet::new();
    let with_types = kinds.contains(&DependencyKind::Type);
    // Every image is opened once up front (and closed) so that a group with
    // an unreadable image is left out before anything is written.
    for &i in &used {
        let opened = ImageCursor::open(dataset, &plan.images[i].id, only).and_then(|_| {
            if with_types {
                TypeCursor::open(dataset, &plan.images[i].id, only)?;
            }
            Ok(())
        });
        if let Err(e) = opened {
            plan.failures.push(Error::Table {
                location: plan.images[i].id.to_string(),
                message: format!("cannot be aggregated: {e}"),
            });
            broken.insert(i);
        }
    }
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
    let mut counts = vec![GroupCounts::default(); plan.groups.len()];
    for (g, group) in plan.groups.iter().enumerate() {
        if left_out[g] {
            continue;
        }
        let names = group_names(dataset, &plan.images, group, DependencyKind::Function, only)?;
        counts[g].function_names = names.len() as u32;
        let type_names = if with_types {
            group_names(dataset, &plan.images, group, DependencyKind::Type, only)?
        } else {
            Vec::new()
        };
        counts[g].type_names = type_names.len() as u32;
        let ids = |i: usize| &plan.images[i].id;
        let label = |i: usize| plan.images[i].label(group.label_kind);
        for step in steps(group) {
            sink.begin(g, ids(step.image), step.compared_with.map(|(_, p)| p))?;
            let image = ids(step.image).to_string();
            let image_label = label(step.image);
            let mut cursor = ImageCursor::open(dataset, ids(step.image), only)?;
            let mut old = match step.compared_with {
                Some((o, p)) => Some((
                    ImageCursor::open(dataset, ids(o), only)?,
                    p,
                    ids(o).to_string(),
                    label(o),
                )),
                None => None,
            };
            for name in &names {
                let presence = presence_of(&mut cursor, name)?;
                if let Some((old_cursor, pair, old_image, old_label)) = &mut old {
                    let old_presence = presence_of(old_cursor, name)?;
                    for change in compare(old_presence.as_ref(), presence.as_ref()) {
                        counts[g].changes += 1;
                        sink.change(ChangeRow {
                            name: name.clone(),
                            pair: *pair,
                            old_image: old_image.clone(),
                            new_image: image.clone(),
                            old_label: old_label.clone(),
                            new_label: image_label.clone(),
                            change,
                        })?;
                    }
                }
                sink.status(StatusRow {
                    name: name.clone(),
                    image: image.clone(),
                    label: image_label.clone(),
                    baseline: step.position.is_none(),
                    position: step.position,
                    presence,
                })?;
            }
            if let Some((o, pair)) = step.compared_with.filter(|_| with_types) {
                let mut new = TypeCursor::open(dataset, ids(step.image), only)?;
                let mut old = TypeCursor::open(dataset, ids(o), only)?;
                let (old_image, old_label) = (ids(o).to_string(), label(o));
                for name in &type_names {
                    let new_defs = presence_of(&mut new, name)?.unwrap_or_default();
                    let old_defs = presence_of(&mut old, name)?.unwrap_or_default();
                    for change in crate::type_diff::compare(&old_defs, &new_defs) {
                        counts[g].type_changes += 1;
                        sink.type_change(TypeChangeRow {
                            name: name.clone(),
                            pair,
                            old_image: old_image.clone(),
                            new_image: image.clone(),
                            old_label: old_label.clone(),
                            new_label: image_label.clone(),
                            change,
                        })?;
                    }
                }
            }
            sink.end()?;
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
    pub type_changes: Vec<Vec<TypeChangeRow>>,
    group: usize,
}

impl MemorySink {
    pub fn new(groups: usize) -> Self {
        MemorySink {
            status: vec![Vec::new(); groups],
            changes: vec![Vec::new(); groups],
            type_changes: vec![Vec::new(); groups],
            group: 0,
        }
    }
}

impl Sink for MemorySink {
    fn begin(&mut self, group: usize, _image: &ImageId, _pair: Option<u32>) -> Result<()> {
        self.group = group;
        Ok(())
    }

    fn status(&mut self, row: StatusRow) -> Result<()> {
        self.status[self.group].push(row);
        Ok(())
    }

    fn change(&mut self, row: ChangeRow) -> Result<()> {
        self.changes[self.group].push(row);
        Ok(())
    }

    fn type_change(&mut self, row: TypeChangeRow) -> Result<()> {
        self.type_changes[self.group].push(row);
        Ok(())
    }

    fn end(&mut self) -> Result<()> {
        Ok(())
    }
}

/// The files of the image being written: its status rows and, when it is
/// the newer image of a pair, the pair's changes.
struct ImageWriters<'d> {
    status: TableWriter<'d>,
    changes: Option<TableWriter<'d>>,
    type_changes: Option<TableWriter<'d>>,
    status_rows: Vec<StatusRow>,
    change_rows: Vec<ChangeRow>,
    type_change_rows: Vec<TypeChangeRow>,
}

impl ImageWriters<'_> {
    fn flush_status(&mut self) -> Result<()> {
        if !self.status_rows.is_empty() {
            self.status.write(&status_batch(&self.status_rows)?)?;
            self.status_rows.clear();
        }
        Ok(())
    }

    fn flush_changes(&mut self) -> Result<()> {
        if let Some(w) = &mut self.changes {
            if !self.change_rows.is_empty() {
                w.write(&changes_batch(&self.change_rows)?)?;
                self.change_rows.clear();
            }
        }
        if let Some(w) = &mut self.type_changes {
            if !self.type_change_rows.is_empty() {
                w.write(&type_changes_batch(&self.type_change_rows)?)?;
                self.type_change_rows.clear();
            }
        }
        Ok(())
    }
}

/// Streams rows into the files of one image of one group at a time.
struct DatasetSink<'d> {
    dataset: &'d Dataset,
    groups: Vec<String>,
    open: Option<ImageWriters<'d>>,
}

impl<'d> DatasetSink<'d> {
    fn open(&mut self) -> &mut ImageWriters<'d> {
        self.open.as_mut().expect("rows between begin and end")
    }
}

impl Sink for DatasetSink<'_> {
    fn begin(&mut self, group: usize, image: &ImageId, pair: Option<u32>) -> Result<()> {
        let group = &self.groups[group];
        let file = |table| group_image_table_file(table, group, image);
        self.open = Some(ImageWriters {
            status: self
                .dataset
                .table_writer(&file(TableName::FunctionStatus), TableName::FunctionStatus)?,
            changes: match pair {
                Some(_) => Some(self.dataset.table_writer(
                    &file(TableName::FunctionChanges),
                    TableName::FunctionChanges,
                )?),
                None => None,
            },
            type_changes: match pair {
                Some(_) => Some(
                    self.dataset
                        .table_writer(&file(TableName::TypeChanges), TableName::TypeChanges)?,
                ),
                None => None,
            },
            status_rows: Vec::new(),
            change_rows: Vec::new(),
            type_change_rows: Vec::new(),
        });
        Ok(())
    }

    fn status(&mut self, row: StatusRow) -> Result<()> {
        let w = self.open();
        w.status_rows.push(row);
        if w.status_rows.len() >= ROWS_PER_BATCH {
            w.flush_status()?;
        }
        Ok(())
    }

    fn change(&mut self, row: ChangeRow) -> Result<()> {
        let w = self.open();
        w.change_rows.push(row);
        if w.change_rows.len() >= ROWS_PER_BATCH {
            w.flush_changes()?;
        }
        Ok(())
    }

    fn type_change(&mut self, row: TypeChangeRow) -> Result<()> {
        let w = self.open();
        w.type_change_rows.push(row);
        if w.type_change_rows.len() >= ROWS_PER_BATCH {
            w.flush_changes()?;
        }
        Ok(())
    }

    fn end(&mut self) -> Result<()> {
        let mut w = self.open.take().expect("end after begin");
        w.flush_changes()?;
        w.flush_status()?;
        if let Some(changes) = w.changes {
            changes.finish()?;
        }
        if let Some(changes) = w.type_changes {
            changes.finish()?;
        }
        w.status.finish()?;
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

/// The `comparison_groups` row of `group` with `counts`.
pub fn group_row(images: &[ImageMeta], group: &ResolvedGroup, counts: &GroupCounts) -> GroupRow {
    let label = |i: usize| images[i].label(group.label_kind);
    GroupRow {
        name: group.name.clone(),
        position: group.position,
        mode: group.mode.as_str().to_owned(),
        label_kind: group.label_kind.as_str().to_owned(),
        baseline: group.baseline.map(|b| images[b].id.to_string()),
        baseline_label: group.baseline.map(label),
        images: group
            .members
            .iter()
            .map(|&m| images[m].id.to_string())
            .collect(),
        labels: group.members.iter().map(|&m| label(m)).collect(),
        function_names: counts.function_names,
        changes: counts.changes,
        type_names: counts.type_names,
        type_changes: counts.type_changes,
    }
}

/// Aggregates `groups` over `dataset` and writes their tables. The
/// aggregated files of every group already there are removed first
/// (`comparison_groups` markers before the rest), so the tables always
/// describe the last config and no stale image of a group stays. A group
/// is complete when its `comparison_groups` file exists: it is written
/// last, once every file of the group is.
pub fn write_dataset(dataset: &Dataset, groups: &[Group]) -> Result<Outcome> {
    let mut plan = plan(dataset, groups)?;
    // Markers first, so that no reader takes a half-written group as complete.
    for table in TableName::AGGREGATED.iter().rev() {
        for existing in dataset.groups(*table)? {
            for file in dataset.group_files(*table, &existing)? {
                dataset.delete(&file)?;
            }
        }
    }
    let mut sink = DatasetSink {
        dataset,
        groups: plan.groups.iter().map(|g| g.name.clone()).collect(),
        open: None,
    };
    let counts = run(dataset, &mut plan, &DependencyKind::ALL, None, &mut sink)?;
    let mut written = Vec::new();
    for (group, counts) in plan.groups.iter().zip(counts) {
        let Some(counts) = counts else { continue };
        fail::fail_point!("aggregate::before-group-marker", |_| std::process::abort());
        let row = group_row(&plan.images, group, &counts);
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
