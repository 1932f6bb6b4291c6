//! The machinery the interface kinds share (tracepoints, syscalls, kfuncs,
//! LSM hooks): one change shape ([`InterfaceChange`], stored in each
//! kind's `<kind>_changes` table with the columns of
//! `ksurf_dataset::schema::interface_change_fields`), the per-image cursor
//! over a kind's names table ([`InterfaceCursor`]), and the trait a kind's
//! diff module implements ([`InterfaceDiff`]): how one row of its table is
//! decoded and how one name's rows in two images compare. The per-kind
//! rules live in `tracepoint_diff`, `syscall_diff`, `kfunc_diff` and
//! `lsm_diff`.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray, UInt32Array};
use ksurf_dataset::{Dataset, DependencyKind, ImageId};

use crate::model::Param;
use crate::stream::{RowCursor, BATCH_ROWS};
use crate::tables::Columns;
use crate::{Error, Result};

/// One change of one name of an interface kind between the two images of
/// a compared pair.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct InterfaceChange {
    /// The change's label (`Tracepoint added`, `Param type changed`, …;
    /// each kind's module lists its own).
    pub change: String,
    /// What in the name changed: an argument or parameter name, an ABI
    /// (`native`, `ia32`, `compat`, `x32`), an event struct.
    pub subject: Option<String>,
    /// Old and new value as text: a C type, an entry symbol, a list.
    pub old: Option<String>,
    pub new: Option<String>,
}

impl InterfaceChange {
    pub fn new(
        change: &str,
        subject: Option<String>,
        old: Option<String>,
        new: Option<String>,
    ) -> Self {
        InterfaceChange {
            change: change.to_owned(),
            subject,
            old,
            new,
        }
    }
}

/// A change as stored in a `<kind>_changes` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceChangeRow {
    pub name: String,
    /// Place of the pair in the group's list of pairs.
    pub pair: u32,
    pub old_image: String,
    pub new_image: String,
    pub old_label: String,
    pub new_label: String,
    pub change: InterfaceChange,
}

/// What a kind's comparison of one pair may need beyond one name's rows.
#[derive(Clone, Debug, Default)]
pub struct PairFacts {
    /// The type names with at least one change in this pair (from the
    /// type kind's diff, which runs first), limited to the event record
    /// structs `trace_event_raw_*`.
    pub changed_event_structs: BTreeSet<String>,
    /// The syscall ABIs of each image (`native`, `ia32`, …): a syscall is
    /// compared only on the ABIs both images have, so that an arch group
    /// does not call the arch's own ABIs added or removed.
    pub old_abis: BTreeSet<String>,
    pub new_abis: BTreeSet<String>,
    /// One image of the pair has no build configuration (config kind).
    pub configs_missing: bool,
}

/// A kind compared by its names table, row by row.
pub trait InterfaceDiff {
    /// The kind; its names table is read, sorted by `name`.
    const KIND: DependencyKind;
    /// One row of the names table.
    type Record: Clone;
    /// The row at `row` of a batch of the names table.
    fn decode(c: &Columns<'_>, row: usize) -> Self::Record;
    /// Gathers the pair-wide facts the kind compares by (into `facts`)
    /// before the pair's names are compared; nothing by default.
    fn prepare(
        _dataset: &Dataset,
        _old: &ImageId,
        _new: &ImageId,
        _facts: &mut PairFacts,
    ) -> Result<()> {
        Ok(())
    }
    /// Gathers, for a page of one name, the pair facts that the
    /// aggregation gets from other kinds' passes (`old` and `new`: the
    /// name's rows in each image); nothing by default.
    fn prepare_name(
        _dataset: &Dataset,
        _old_image: &ImageId,
        _new_image: &ImageId,
        _old: &[Self::Record],
        _new: &[Self::Record],
        _facts: &mut PairFacts,
    ) -> Result<()> {
        Ok(())
    }
    /// What one image's rows of `name` (at least one) say, as HTML lines
    /// of its page's status section.
    fn describe(name: &str, rows: &[Self::Record]) -> Vec<String>;
    /// Whether `name`'s rows are compared at all (all by default).
    fn is_compared(_name: &str) -> bool {
        true
    }
    /// The changes of one name from `old` to `new` (its rows in each
    /// image, empty when absent), in a fixed order.
    fn compare(
        old: &[Self::Record],
        new: &[Self::Record],
        facts: &PairFacts,
    ) -> Vec<InterfaceChange>;
}

/// One image's names table of kind `D`, advanced one name at a time.
pub struct InterfaceCursor<D: InterfaceDiff> {
    rows: RowCursor,
    _kind: std::marker::PhantomData<D>,
}

impl<D: InterfaceDiff> InterfaceCursor<D> {
    /// Opens `image`'s names table of `D`; with `only`, reads just the row
    /// groups that may hold that name.
    pub fn open(dataset: &Dataset, image: &ImageId, only: Option<&str>) -> Result<Self> {
        let table = D::KIND.names_table();
        let path = ksurf_dataset::layout::table_file(table, image);
        let stream = dataset.stream_file(&path, table, BATCH_ROWS, only.map(|n| ("name", n)))?;
        Ok(InterfaceCursor {
            rows: RowCursor::new(stream, "name"),
            _kind: std::marker::PhantomData,
        })
    }

    /// The next name of the image, if any.
    pub fn peek(&mut self) -> Result<Option<String>> {
        self.rows.current_key()
    }

    /// The image's rows of `name`, which must be [`InterfaceCursor::peek`]'s.
    pub fn take(&mut self, name: &str) -> Result<Vec<D::Record>> {
        self.rows.take(name, D::decode)
    }
}

/// The parameter list at `row` of the struct-list column `column`
/// (`args`, `params`); `None` when the list is null.
pub fn decode_params(c: &Columns<'_>, column: &str, row: usize) -> Option<Vec<Param>> {
    c.struct_list(column, row).map(|ps| {
        let pc = Columns::of_struct(&ps);
        (0..ps.len())
            .map(|i| Param {
                name: pc.opt_str("name", i).map(str::to_owned),
                ty: pc.str("type", i).to_owned(),
            })
            .collect()
    })
}

/// A `<kind>_changes` batch of `rows` for `kind`.
pub fn changes_batch(kind: DependencyKind, rows: &[InterfaceChangeRow]) -> Result<RecordBatch> {
    let table = kind
        .changes_table()
        .filter(|_| kind.is_interface())
        .expect("an interface kind");
    let text = |f: fn(&InterfaceChangeRow) -> &str| -> ArrayRef {
        Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    let opt = |f: fn(&InterfaceChangeRow) -> Option<&str>| -> ArrayRef {
        Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    let columns: Vec<ArrayRef> = vec![
        text(|r| &r.name),
        Arc::new(UInt32Array::from(
            rows.iter().map(|r| r.pair).collect::<Vec<_>>(),
        )),
        text(|r| &r.old_image),
        text(|r| &r.new_image),
        text(|r| &r.old_label),
        text(|r| &r.new_label),
        text(|r| &r.change.change),
        opt(|r| r.change.subject.as_deref()),
        opt(|r| r.change.old.as_deref()),
        opt(|r| r.change.new.as_deref()),
    ];
    RecordBatch::try_new(ksurf_dataset::schema::schema(table), columns).map_err(|source| {
        Error::Arrow {
            what: table.as_str().to_owned(),
            source,
        }
    })
}

/// The rows of a `<kind>_changes` batch.
pub fn decode_changes(batch: &RecordBatch) -> Vec<InterfaceChangeRow> {
    let c = Columns::of_batch(batch);
    (0..batch.num_rows())
        .map(|row| {
            let opt = |name: &str| c.opt_str(name, row).map(str::to_owned);
            InterfaceChangeRow {
                name: c.str("name", row).to_owned(),
                pair: c.u32("pair", row),
                old_image: c.str("old_image", row).to_owned(),
                new_image: c.str("new_image", row).to_owned(),
                old_label: c.str("old_label", row).to_owned(),
                new_label: c.str("new_label", row).to_owned(),
                change: InterfaceChange {
                    change: c.str("change", row).to_owned(),
                    subject: opt("subject"),
                    old: opt("old"),
                    new: opt("new"),
                },
            }
        })
        .collect()
}

/// The prototype changes of a kfunc or LSM hook (or a tracepoint's
/// arguments) as interface changes, with `labels` for the kinds of
/// [`crate::model::ChangeKind`]'s parameter and return-type changes.
pub fn prototype_changes(
    old: (Option<&str>, &[Param]),
    new: (Option<&str>, &[Param]),
    labels: &PrototypeLabels,
) -> Vec<InterfaceChange> {
    use crate::model::ChangeKind;
    crate::diff::compare_prototypes(old, new)
        .into_iter()
        .map(|c| {
            let label = match c.kind {
                ChangeKind::ParamAdded => labels.added,
                ChangeKind::ParamRemoved => labels.removed,
                ChangeKind::ParamReordered => labels.reordered,
                ChangeKind::ParamTypeChanged => labels.retyped,
                ChangeKind::ReturnTypeChanged => "Return type changed",
                other => unreachable!("{} is not a prototype change", other.as_str()),
            };
            InterfaceChange::new(label, c.param, c.old, c.new)
        })
        .collect()
}

/// A kind's labels of parameter changes (`Param added` for kfuncs and LSM
/// hooks, `Argument added` for tracepoints).
pub struct PrototypeLabels {
    pub added: &'static str,
    pub removed: &'static str,
    pub reordered: &'static str,
    pub retyped: &'static str,
}

/// The labels functions use, shared by kfuncs and LSM hooks.
pub const PARAM_LABELS: PrototypeLabels = PrototypeLabels {
    added: "Param added",
    removed: "Param removed",
    reordered: "Param reordered",
    retyped: "Param type changed",
};
