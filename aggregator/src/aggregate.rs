//! The aggregation, group by group and image by image: a group's images
//! are visited in order with at most two of them open at a time (the
//! image and the one it is compared with: the previous one, or the
//! baseline), each streamed by function name against the group's sorted
//! list of names, into one image's status rows and one pair's changes at a
//! time. [`run`] feeds a [`Sink`]; [`write_dataset`] is the sink that
//! writes the `function_status` and `function_changes` files (one per
//! image of a group) and the `comparison_groups` marker of each group.

use std::collections::BTreeSet;

use arrow::array::RecordBatch;
use ksurf_dataset::layout::{group_image_table_file, group_table_file};
use ksurf_dataset::{Dataset, DependencyKind, ImageId, TableName, TableWriter};

use crate::config::Group;
use crate::diff::compare_placed;
use crate::groups::{resolve, ImageMeta, ResolvedGroup};
use crate::interface_diff::{
    changes_batch as interface_changes_batch, InterfaceChangeRow, InterfaceCursor, InterfaceDiff,
    PairFacts,
};
use crate::kconfig_diff::ConfigDiff;
use crate::kfunc_diff::KfuncDiff;
use crate::lsm_diff::LsmDiff;
use crate::model::{ChangeRow, Presence, StatusRow};
use crate::placement::ModulePlacement;
use crate::stream::{ImageCursor, BATCH_ROWS};
use crate::syscall_diff::SyscallDiff;
use crate::tables::{
    changes_batch, group_batch, status_batch, type_changes_batch, Columns, GroupRow,
};
use crate::tracepoint_diff::TracepointDiff;
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
    /// A change of an interface kind (tracepoint, syscall, kfunc, LSM hook).
    fn interface_change(&mut self, kind: DependencyKind, row: InterfaceChangeRow) -> Result<()>;
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

/// What one run produced per group: the function and type figures (the
/// columns `comparison_groups` has had from the start) and, per kind
/// aggregated, its names and changes (`comparison_groups.kinds`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupCounts {
    pub function_names: u32,
    pub changes: u32,
    pub type_names: u32,
    pub type_changes: u32,
    /// In [`DependencyKind::ALL`] order, the kinds aggregated.
    pub kinds: Vec<KindCount>,
}

/// One kind's names in a group and changes over its pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindCount {
    pub kind: DependencyKind,
    pub names: u32,
    pub changes: u32,
}

impl GroupCounts {
    /// The count of `kind`, if aggregated.
    pub fn of(&self, kind: DependencyKind) -> Option<&KindCount> {
        self.kinds.iter().find(|k| k.kind == kind)
    }

    /// Fills the function and type fields from `kinds`.
    fn settle(&mut self) {
        let of = |counts: &Self, kind| counts.of(kind).map_or((0, 0), |k| (k.names, k.changes));
        (self.function_names, self.changes) = of(self, DependencyKind::Function);
        (self.type_names, self.type_changes) = of(self, DependencyKind::Type);
    }

    /// `44 function names, 9 changes, 34 type names, 18 type changes`,
    /// then the changes of each interface kind aggregated
    /// (`, 3 tracepoint changes, 0 syscall changes, …`): the line the CLI
    /// prints per group.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "{} function names, {} changes, {} type names, {} type changes",
            self.function_names, self.changes, self.type_names, self.type_changes
        );
        for k in self.kinds.iter().filter(|k| k.kind.is_interface()) {
            out.push_str(&format!(", {} {} changes", k.changes, k.kind.as_str()));
        }
        out
    }
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

/// One visit of one image of a group, as every kind's pass sees it.
pub struct Visit<'a> {
    pub dataset: &'a Dataset,
    /// Just this name (reports), reading only the row groups that may hold it.
    pub only: Option<&'a str>,
    pub image: &'a ImageId,
    pub label: String,
    /// The image's place in the group; `None` for the baseline.
    pub position: Option<u32>,
    /// The older image of the pair whose newer image this is, with its
    /// label and the pair's index.
    pub old: Option<(&'a ImageId, String, u32)>,
}

/// One kind of dependency's part of an aggregation: [`run`] visits each
/// image of a group once and hands the visit to every kind's pass in
/// [`DependencyKind::ALL`] order, so the shared machinery (groups, pairs,
/// names, sinks, counts) is written once and a kind brings only its
/// cursor and its comparison.
pub trait KindPass {
    fn kind(&self) -> DependencyKind;
    /// Opens (and closes) the kind's tables of `image`, so that a group
    /// with an unreadable image is left out before anything is written.
    fn check(&self, dataset: &Dataset, image: &ImageId, only: Option<&str>) -> Result<()>;
    /// Streams the visited image (and the older image of its pair) against
    /// the group's sorted `names` of the kind, feeding `sink`; `facts`
    /// carries what earlier passes learnt of the pair to later ones.
    /// Returns the number of changes fed.
    fn visit(
        &self,
        visit: &Visit<'_>,
        names: &[String],
        facts: &mut PairFacts,
        sink: &mut dyn Sink,
    ) -> Result<u32>;
}

/// Functions: a status row per name and image, and the pair's changes.
struct FunctionPass;

impl KindPass for FunctionPass {
    fn kind(&self) -> DependencyKind {
        DependencyKind::Function
    }

    fn check(&self, dataset: &Dataset, image: &ImageId, only: Option<&str>) -> Result<()> {
        ImageCursor::open(dataset, image, only).map(drop)
    }

    fn visit(
        &self,
        v: &Visit<'_>,
        names: &[String],
        _facts: &mut PairFacts,
        sink: &mut dyn Sink,
    ) -> Result<u32> {
        let image = v.image.to_string();
        let mut changes = 0;
        let mut cursor = ImageCursor::open(v.dataset, v.image, v.only)?;
        let placement = ModulePlacement::read(v.dataset, v.image, v.only)?;
        let mut old = match &v.old {
            Some((o, label, p)) => Some((
                ImageCursor::open(v.dataset, o, v.only)?,
                ModulePlacement::read(v.dataset, o, v.only)?,
                *p,
                o.to_string(),
                label.clone(),
            )),
            None => None,
        };
        for name in names {
            let presence = presence_of(&mut cursor, name)?;
            let modules = placement.modules(name);
            if let Some((old_cursor, old_placement, pair, old_image, old_label)) = &mut old {
                let old_presence = presence_of(old_cursor, name)?;
                for change in compare_placed(
                    old_presence.as_ref(),
                    old_placement.modules(name),
                    presence.as_ref(),
                    modules,
                ) {
                    changes += 1;
                    sink.change(ChangeRow {
                        name: name.clone(),
                        pair: *pair,
                        old_image: old_image.clone(),
                        new_image: image.clone(),
                        old_label: old_label.clone(),
                        new_label: v.label.clone(),
                        change,
                    })?;
                }
            }
            sink.status(StatusRow {
                name: name.clone(),
                image: image.clone(),
                label: v.label.clone(),
                baseline: v.position.is_none(),
                position: v.position,
                presence,
                modules: modules.to_vec(),
            })?;
        }
        Ok(changes)
    }
}

/// Types: the pair's changes; it tells the tracepoint pass which event
/// record structs (`trace_event_raw_*`) changed.
struct TypePass;

impl KindPass for TypePass {
    fn kind(&self) -> DependencyKind {
        DependencyKind::Type
    }

    fn check(&self, dataset: &Dataset, image: &ImageId, only: Option<&str>) -> Result<()> {
        TypeCursor::open(dataset, image, only).map(drop)
    }

    fn visit(
        &self,
        v: &Visit<'_>,
        names: &[String],
        facts: &mut PairFacts,
        sink: &mut dyn Sink,
    ) -> Result<u32> {
        let Some((o, old_label, pair)) = &v.old else {
            return Ok(0);
        };
        let mut changes = 0;
        let image = v.image.to_string();
        let mut new = TypeCursor::open(v.dataset, v.image, v.only)?;
        let mut old = TypeCursor::open(v.dataset, o, v.only)?;
        let old_image = o.to_string();
        for name in names {
            let new_defs = presence_of(&mut new, name)?.unwrap_or_default();
            let old_defs = presence_of(&mut old, name)?.unwrap_or_default();
            for change in crate::type_diff::compare(&old_defs, &new_defs) {
                changes += 1;
                if name.starts_with(EVENT_STRUCT_PREFIX) {
                    facts.changed_event_structs.insert(name.clone());
                }
                sink.type_change(TypeChangeRow {
                    name: name.clone(),
                    pair: *pair,
                    old_image: old_image.clone(),
                    new_image: image.clone(),
                    old_label: old_label.clone(),
                    new_label: v.label.clone(),
                    change,
                })?;
            }
        }
        Ok(changes)
    }
}

/// The prefix of the event record structs of tracepoints.
const EVENT_STRUCT_PREFIX: &str = "trace_event_raw_";

/// An interface kind (tracepoints, syscalls, kfuncs, LSM hooks): the
/// pair's changes, by the kind's [`InterfaceDiff`].
struct InterfacePass<D>(std::marker::PhantomData<D>);

impl<D: InterfaceDiff> NameCursor for InterfaceCursor<D> {
    type Presence = Vec<D::Record>;
    fn peek(&mut self) -> Result<Option<String>> {
        InterfaceCursor::peek(self)
    }
    fn take(&mut self, name: &str) -> Result<Self::Presence> {
        InterfaceCursor::take(self, name)
    }
}

impl<D: InterfaceDiff> KindPass for InterfacePass<D> {
    fn kind(&self) -> DependencyKind {
        D::KIND
    }

    fn check(&self, dataset: &Dataset, image: &ImageId, only: Option<&str>) -> Result<()> {
        InterfaceCursor::<D>::open(dataset, image, only).map(drop)
    }

    fn visit(
        &self,
        v: &Visit<'_>,
        names: &[String],
        facts: &mut PairFacts,
        sink: &mut dyn Sink,
    ) -> Result<u32> {
        let Some((o, old_label, pair)) = &v.old else {
            return Ok(0);
        };
        D::prepare(v.dataset, o, v.image, facts)?;
        let mut changes = 0;
        let image = v.image.to_string();
        let old_image = o.to_string();
        let mut new = InterfaceCursor::<D>::open(v.dataset, v.image, v.only)?;
        let mut old = InterfaceCursor::<D>::open(v.dataset, o, v.only)?;
        for name in names.iter().filter(|n| D::is_compared(n)) {
            let new_rows = presence_of(&mut new, name)?.unwrap_or_default();
            let old_rows = presence_of(&mut old, name)?.unwrap_or_default();
            for change in D::compare(&old_rows, &new_rows, facts) {
                changes += 1;
                sink.interface_change(
                    D::KIND,
                    InterfaceChangeRow {
                        name: name.clone(),
                        pair: *pair,
                        old_image: old_image.clone(),
                        new_image: image.clone(),
                        old_label: old_label.clone(),
                        new_label: v.label.clone(),
                        change,
                    },
                )?;
            }
        }
        Ok(changes)
    }
}

/// The pass of `kind`.
pub fn pass(kind: DependencyKind) -> Box<dyn KindPass> {
    use std::marker::PhantomData;
    match kind {
        DependencyKind::Function => Box::new(FunctionPass),
        DependencyKind::Type => Box::new(TypePass),
        DependencyKind::Tracepoint => Box::new(InterfacePass::<TracepointDiff>(PhantomData)),
        DependencyKind::Syscall => Box::new(InterfacePass::<SyscallDiff>(PhantomData)),
        DependencyKind::Kfunc => Box::new(InterfacePass::<KfuncDiff>(PhantomData)),
        DependencyKind::LsmHook => Box::new(InterfacePass::<LsmDiff>(PhantomData)),
        DependencyKind::Config => Box::new(InterfacePass::<ConfigDiff>(PhantomData)),
    }
}

/// Aggregates `plan`'s groups one after the other and feeds `sink`: each
/// group's images are visited in order, at most two open at a time, and
/// each visit goes to the pass of every kind of `kinds` (in
/// [`DependencyKind::ALL`] order), which streams the images against the
/// group's sorted names of its kind. With `only`, just that name (reading
/// only the row groups that may hold it). A group with an image that
/// cannot be opened is left out (`None` in the result) and reported in
/// `plan.failures`.
pub fn run(
    dataset: &Dataset,
    plan: &mut Plan,
    kinds: &[DependencyKind],
    only: Option<&str>,
    sink: &mut dyn Sink,
) -> Result<Vec<Option<GroupCounts>>> {
    let passes: Vec<Box<dyn KindPass>> = DependencyKind::ALL
        .into_iter()
        .filter(|k| kinds.contains(k))
        .map(pass)
        .collect();
    let used: BTreeSet<usize> = plan.groups.iter().flat_map(|g| g.all_images()).collect();
    let mut broken: BTreeSet<usize> = BTreeSet::new();
    // Every image is opened once up front (and closed) so that a group with
    // an unreadable image is left out before anything is written.
    for &i in &used {
        let opened = passes
            .iter()
            .try_for_each(|p| p.check(dataset, &plan.images[i].id, only));
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
        let mut names = Vec::new();
        for p in &passes {
            let n = group_names(dataset, &plan.images, group, p.kind(), only)?;
            counts[g].kinds.push(KindCount {
                kind: p.kind(),
                names: n.len() as u32,
                changes: 0,
            });
            names.push(n);
        }
        let ids = |i: usize| &plan.images[i].id;
        let label = |i: usize| plan.images[i].label(group.label_kind);
        for step in steps(group) {
            sink.begin(g, ids(step.image), step.compared_with.map(|(_, p)| p))?;
            let visit = Visit {
                dataset,
                only,
                image: ids(step.image),
                label: label(step.image),
                position: step.position,
                old: step.compared_with.map(|(o, p)| (ids(o), label(o), p)),
            };
            let mut facts = PairFacts::default();
            for (k, p) in passes.iter().enumerate() {
                counts[g].kinds[k].changes += p.visit(&visit, &names[k], &mut facts, sink)?;
            }
            sink.end()?;
        }
        counts[g].settle();
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
    /// Per group, the interface kinds' changes with their kind.
    pub interface_changes: Vec<Vec<(DependencyKind, InterfaceChangeRow)>>,
    group: usize,
}

impl MemorySink {
    pub fn new(groups: usize) -> Self {
        MemorySink {
            status: vec![Vec::new(); groups],
            changes: vec![Vec::new(); groups],
            type_changes: vec![Vec::new(); groups],
            interface_changes: vec![Vec::new(); groups],
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

    fn interface_change(&mut self, kind: DependencyKind, row: InterfaceChangeRow) -> Result<()> {
        self.interface_changes[self.group].push((kind, row));
        Ok(())
    }

    fn end(&mut self) -> Result<()> {
        Ok(())
    }
}

/// One changes table of the image being written, with its pending rows.
struct ChangeWriter<'d, R> {
    writer: TableWriter<'d>,
    rows: Vec<R>,
}

impl<'d, R> ChangeWriter<'d, R> {
    fn open(dataset: &'d Dataset, group: &str, image: &ImageId, table: TableName) -> Result<Self> {
        Ok(ChangeWriter {
            writer: dataset.table_writer(&group_image_table_file(table, group, image), table)?,
            rows: Vec::new(),
        })
    }

    /// Adds `row`, writing a batch once [`ROWS_PER_BATCH`] are pending.
    fn push(&mut self, row: R, encode: impl Fn(&[R]) -> Result<RecordBatch>) -> Result<()> {
        self.rows.push(row);
        if self.rows.len() >= ROWS_PER_BATCH {
            self.flush(encode)?;
        }
        Ok(())
    }

    fn flush(&mut self, encode: impl Fn(&[R]) -> Result<RecordBatch>) -> Result<()> {
        if !self.rows.is_empty() {
            self.writer.write(&encode(&self.rows)?)?;
            self.rows.clear();
        }
        Ok(())
    }

    fn finish(mut self, encode: impl Fn(&[R]) -> Result<RecordBatch>) -> Result<()> {
        self.flush(encode)?;
        self.writer.finish()?;
        Ok(())
    }
}

/// The files of the image being written: its status rows (when functions
/// are aggregated) and, when it is the newer image of a pair, each kind's
/// changes of the pair.
struct ImageWriters<'d> {
    status: Option<ChangeWriter<'d, StatusRow>>,
    changes: Option<ChangeWriter<'d, ChangeRow>>,
    type_changes: Option<ChangeWriter<'d, TypeChangeRow>>,
    interface_changes: Vec<(DependencyKind, ChangeWriter<'d, InterfaceChangeRow>)>,
}

/// Streams rows into the files of one image of one group at a time.
struct DatasetSink<'d> {
    dataset: &'d Dataset,
    groups: Vec<String>,
    kinds: Vec<DependencyKind>,
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
        let dataset = self.dataset;
        let has = |kind| self.kinds.contains(&kind);
        let paired = |kind: DependencyKind| pair.is_some() && has(kind);
        let mut interface_changes = Vec::new();
        for kind in self
            .kinds
            .iter()
            .filter(|k| k.is_interface() && pair.is_some())
        {
            let table = kind.changes_table().expect("interface kinds have one");
            interface_changes.push((*kind, ChangeWriter::open(dataset, group, image, table)?));
        }
        self.open = Some(ImageWriters {
            status: match has(DependencyKind::Function) {
                true => Some(ChangeWriter::open(
                    dataset,
                    group,
                    image,
                    TableName::FunctionStatus,
                )?),
                false => None,
            },
            changes: match paired(DependencyKind::Function) {
                true => Some(ChangeWriter::open(
                    dataset,
                    group,
                    image,
                    TableName::FunctionChanges,
                )?),
                false => None,
            },
            type_changes: match paired(DependencyKind::Type) {
                true => Some(ChangeWriter::open(
                    dataset,
                    group,
                    image,
                    TableName::TypeChanges,
                )?),
                false => None,
            },
            interface_changes,
        });
        Ok(())
    }

    fn status(&mut self, row: StatusRow) -> Result<()> {
        let w = self.open().status.as_mut().expect("functions aggregated");
        w.push(row, status_batch)
    }

    fn change(&mut self, row: ChangeRow) -> Result<()> {
        let w = self.open().changes.as_mut().expect("a pair");
        w.push(row, changes_batch)
    }

    fn type_change(&mut self, row: TypeChangeRow) -> Result<()> {
        let w = self.open().type_changes.as_mut().expect("a pair");
        w.push(row, type_changes_batch)
    }

    fn interface_change(&mut self, kind: DependencyKind, row: InterfaceChangeRow) -> Result<()> {
        let (_, w) = self
            .open()
            .interface_changes
            .iter_mut()
            .find(|(k, _)| *k == kind)
            .expect("a pair and an aggregated kind");
        w.push(row, |r| interface_changes_batch(kind, r))
    }

    fn end(&mut self) -> Result<()> {
        let w = self.open.take().expect("end after begin");
        // Changes before status, as the tables are listed in
        // `TableName::AGGREGATED`.
        if let Some(c) = w.changes {
            c.finish(changes_batch)?;
        }
        if let Some(c) = w.type_changes {
            c.finish(type_changes_batch)?;
        }
        for (kind, c) in w.interface_changes {
            c.finish(|r| interface_changes_batch(kind, r))?;
        }
        if let Some(s) = w.status {
            s.finish(status_batch)?;
        }
        Ok(())
    }
}

/// What [`write_dataset`] did.
pub struct Outcome {
    /// (group, counts) of every group written, in config order.
    pub written: Vec<(String, GroupCounts)>,
    /// Groups whose tables were current (same inputs as when they were
    /// written, see [`crate::freshness`]) and were left as they are, in
    /// config order.
    pub unchanged: Vec<String>,
    /// Groups whose tables were removed and not written again: groups the
    /// config no longer has, sorted (a group of the config that failed is
    /// in `failures`).
    pub removed: Vec<String>,
    /// Groups left out, and why.
    pub failures: Vec<Error>,
}

/// How [`write_dataset_with`] decides what to rewrite.
#[derive(Clone, Debug)]
pub struct WriteOptions {
    /// Re-aggregate every group, current or not.
    pub force: bool,
    /// Identifies the aggregating code in the inputs fingerprint
    /// (default: [`crate::freshness::code_id`]).
    pub code_id: String,
    /// `(I, N)`: only the groups at config positions p with p mod N = I,
    /// one worker of a distributed aggregation. Groups of other shards and
    /// groups the config no longer has are left alone (the last,
    /// unsharded run removes the latter and finds the others current).
    pub shard: Option<(usize, usize)>,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            force: false,
            code_id: crate::freshness::code_id().to_owned(),
            shard: None,
        }
    }
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
        kinds: counts
            .kinds
            .iter()
            .map(|k| (k.kind.as_str().to_owned(), k.names, k.changes))
            .collect(),
    }
}

/// Aggregates `groups` over `dataset` and writes their tables, leaving
/// alone every group whose tables are current: [`write_dataset_with`]
/// with the default options.
pub fn write_dataset(dataset: &Dataset, groups: &[Group]) -> Result<Outcome> {
    write_dataset_with(dataset, groups, &WriteOptions::default())
}

/// Aggregates `groups` over `dataset` and writes their tables.
///
/// A group whose inputs fingerprint equals its state record's and whose
/// files are all there is current and left as it is (unless
/// `options.force`; see [`crate::freshness`]). Every other group's files
/// are removed first (its state record, then its `comparison_groups`
/// marker, then the rest), as are the files of every group the config no
/// longer has, so the tables always describe the last config and no
/// stale image of a group stays. A group is complete when its
/// `comparison_groups` file exists: it is written last, once every file of
/// the group is, and its state record after it.
///
/// Errors: the store cannot be listed, read or written. A group that
/// cannot be resolved or read is in [`Outcome::failures`].
pub fn write_dataset_with(
    dataset: &Dataset,
    groups: &[Group],
    options: &WriteOptions,
) -> Result<Outcome> {
    let mut plan = plan(dataset, groups)?;
    // A shard's groups, by config position (names are unique in a config).
    let mine: Option<BTreeSet<&str>> = options.shard.map(|(i, n)| {
        groups
            .iter()
            .enumerate()
            .filter(|(p, _)| p % n == i)
            .map(|(_, g)| g.name.as_str())
            .collect()
    });
    if let Some(mine) = &mine {
        plan.groups.retain(|g| mine.contains(g.name.as_str()));
        plan.failures.retain(|e| match e {
            Error::Group { group, .. } => mine.contains(group.as_str()),
            _ => true,
        });
    }
    let kinds = DependencyKind::ALL.to_vec();
    let listing = crate::freshness::Listing::read(dataset)?;
    let mut fingerprints = Vec::new();
    let mut unchanged = BTreeSet::new();
    for group in &plan.groups {
        let fingerprint = listing.fingerprint(&plan.images, group, &kinds, &options.code_id);
        if !options.force {
            if let Some(state) = crate::freshness::read_state(dataset, &group.name)? {
                if listing.is_current(&state, &fingerprint) {
                    unchanged.insert(group.name.clone());
                }
            }
        }
        fingerprints.push(fingerprint);
    }
    // Every group with files or a record that is not current is removed:
    // its record first, then its markers, then the rest.
    let stale: BTreeSet<&String> = listing
        .groups
        .iter()
        .chain(&listing.states)
        .filter(|g| !unchanged.contains(*g))
        .filter(|g| mine.as_ref().is_none_or(|m| m.contains(g.as_str())))
        .collect();
    for group in &stale {
        crate::freshness::remove_state(dataset, group)?;
    }
    for table in TableName::AGGREGATED.iter().rev() {
        for group in &stale {
            for file in listing.files_of(group, *table) {
                dataset.delete(file)?;
            }
        }
    }
    let (kept, todo): (Vec<_>, Vec<_>) = std::mem::take(&mut plan.groups)
        .into_iter()
        .zip(fingerprints)
        .partition(|(g, _)| unchanged.contains(&g.name));
    let (todo, todo_fingerprints): (Vec<_>, Vec<_>) = todo.into_iter().unzip();
    plan.groups = todo;
    let mut sink = DatasetSink {
        dataset,
        groups: plan.groups.iter().map(|g| g.name.clone()).collect(),
        kinds: kinds.clone(),
        open: None,
    };
    let counts = run(dataset, &mut plan, &kinds, None, &mut sink)?;
    let mut written = Vec::new();
    for ((group, counts), fingerprint) in plan.groups.iter().zip(counts).zip(&todo_fingerprints) {
        let Some(counts) = counts else { continue };
        fail::fail_point!("aggregate::before-group-marker", |_| std::process::abort());
        let row = group_row(&plan.images, group, &counts);
        let mut marker = dataset.table_writer(
            &group_table_file(TableName::ComparisonGroups, &group.name),
            TableName::ComparisonGroups,
        )?;
        marker.write(&group_batch(&row)?)?;
        marker.finish()?;
        fail::fail_point!("aggregate::before-group-state", |_| std::process::abort());
        crate::freshness::write_state(dataset, &group.name, fingerprint)?;
        written.push((group.name.clone(), counts));
    }
    let in_config: BTreeSet<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    let removed = stale
        .iter()
        .filter(|g| !in_config.contains(g.as_str()))
        .map(|g| g.to_string())
        .collect();
    Ok(Outcome {
        written,
        unchanged: kept.into_iter().map(|(g, _)| g.name).collect(),
        removed,
        failures: plan.failures,
    })
}
