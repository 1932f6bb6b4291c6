//! Arrow encoding and decoding of the aggregator's tables
//! (`function_status`, `function_changes`, `comparison_groups`, schemas in
//! `ksurf_dataset::schema`) and decoding of the extractor's
//! `function_instances` and `symbols` rows into the model.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, ListArray, RecordBatch, StringArray, StructArray,
    UInt32Array, UInt64Array,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, FieldRef, Int64Type, SchemaRef, UInt32Type, UInt64Type};
use ksurf_dataset::schema::schema;
use ksurf_dataset::TableName;

use crate::model::{
    Attach, Change, ChangeKind, ChangeRow, Instance, Param, Presence, StatusRow, Symbol,
};
use crate::type_diff::{TypeChange, TypeChangeKind, TypeChangeRow};
use crate::{Error, Result};

fn arrow_err(what: &str) -> impl FnOnce(arrow::error::ArrowError) -> Error + '_ {
    move |source| Error::Arrow {
        what: what.to_owned(),
        source,
    }
}

/// The item field of the list column `column` of `schema`.
fn item_field(data_type: &DataType) -> FieldRef {
    match data_type {
        DataType::List(item) => item.clone(),
        other => panic!("schema column is not a list: {other}"),
    }
}

fn struct_fields(field: &FieldRef) -> arrow::datatypes::Fields {
    match field.data_type() {
        DataType::Struct(fields) => fields.clone(),
        other => panic!("schema column is not a struct: {other}"),
    }
}

fn field_type(schema: &SchemaRef, column: &str) -> DataType {
    schema
        .field_with_name(column)
        .expect("column of a fixed schema")
        .data_type()
        .clone()
}

fn offsets(lengths: impl IntoIterator<Item = usize>) -> OffsetBuffer<i32> {
    OffsetBuffer::from_lengths(lengths)
}

fn string_lists<'a>(data_type: &DataType, lists: impl Iterator<Item = &'a [String]>) -> ArrayRef {
    let item = item_field(data_type);
    let mut lengths = Vec::new();
    let mut values: Vec<&str> = Vec::new();
    for list in lists {
        lengths.push(list.len());
        values.extend(list.iter().map(String::as_str));
    }
    Arc::new(ListArray::new(
        item,
        offsets(lengths),
        Arc::new(StringArray::from(values)),
        None,
    ))
}

fn params_lists<'a>(
    data_type: &DataType,
    lists: impl Iterator<Item = Option<&'a [Param]>>,
) -> ArrayRef {
    let item = item_field(data_type);
    let fields = struct_fields(&item);
    let mut lengths = Vec::new();
    let mut valid = Vec::new();
    let mut names: Vec<Option<&str>> = Vec::new();
    let mut types: Vec<&str> = Vec::new();
    for list in lists {
        valid.push(list.is_some());
        let list = list.unwrap_or(&[]);
        lengths.push(list.len());
        for p in list {
            names.push(p.name.as_deref());
            types.push(&p.ty);
        }
    }
    let values = StructArray::new(
        fields,
        vec![
            Arc::new(StringArray::from(names)),
            Arc::new(StringArray::from(types)),
        ],
        None,
    );
    Arc::new(ListArray::new(
        item,
        offsets(lengths),
        Arc::new(values),
        Some(NullBuffer::from(valid)),
    ))
}

fn instances_lists<'a>(
    data_type: &DataType,
    lists: impl Iterator<Item = &'a [Instance]>,
) -> ArrayRef {
    let item = item_field(data_type);
    let fields = struct_fields(&item);
    let mut lengths = Vec::new();
    let mut all: Vec<&Instance> = Vec::new();
    for list in lists {
        lengths.push(list.len());
        all.extend(list.iter());
    }
    let ty = |name: &str| {
        fields
            .iter()
            .find(|f| f.name() == name)
            .expect("instance field")
            .data_type()
            .clone()
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(BooleanArray::from(
            all.iter().map(|i| i.external).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            all.iter()
                .map(|i| i.decl_file.as_deref())
                .collect::<Vec<_>>(),
        )),
        Arc::new(UInt32Array::from(
            all.iter().map(|i| i.decl_line).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            all.iter().map(|i| i.cu_path.as_deref()).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            all.iter()
                .map(|i| i.inline_status.as_str())
                .collect::<Vec<_>>(),
        )),
        Arc::new(BooleanArray::from(
            all.iter().map(|i| i.defined).collect::<Vec<_>>(),
        )),
        Arc::new(UInt64Array::from(
            all.iter().map(|i| i.addr).collect::<Vec<_>>(),
        )),
        string_lists(
            &ty("inline_callers"),
            all.iter().map(|i| i.inline_callers.as_slice()),
        ),
        string_lists(
            &ty("direct_callers"),
            all.iter().map(|i| i.direct_callers.as_slice()),
        ),
        Arc::new(StringArray::from(
            all.iter()
                .map(|i| i.prototype.as_deref())
                .collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            all.iter()
                .map(|i| i.return_type.as_deref())
                .collect::<Vec<_>>(),
        )),
        params_lists(&ty("params"), all.iter().map(|i| i.params.as_deref())),
        Arc::new(BooleanArray::from(
            all.iter().map(|i| i.varargs).collect::<Vec<_>>(),
        )),
        Arc::new(BooleanArray::from(
            all.iter().map(|i| i.discarded).collect::<Vec<_>>(),
        )),
    ];
    Arc::new(ListArray::new(
        item,
        offsets(lengths),
        Arc::new(StructArray::new(fields, columns, None)),
        None,
    ))
}

fn symbols_lists<'a>(data_type: &DataType, lists: impl Iterator<Item = &'a [Symbol]>) -> ArrayRef {
    let item = item_field(data_type);
    let fields = struct_fields(&item);
    let mut lengths = Vec::new();
    let mut all: Vec<&Symbol> = Vec::new();
    for list in lists {
        lengths.push(list.len());
        all.extend(list.iter());
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(
            all.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        )),
        Arc::new(UInt64Array::from(
            all.iter().map(|s| s.addr).collect::<Vec<_>>(),
        )),
        Arc::new(UInt64Array::from(
            all.iter().map(|s| s.size).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            all.iter().map(|s| s.binding.as_str()).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            all.iter().map(|s| s.section.as_str()).collect::<Vec<_>>(),
        )),
    ];
    Arc::new(ListArray::new(
        item,
        offsets(lengths),
        Arc::new(StructArray::new(fields, columns, None)),
        None,
    ))
}

/// A `function_status` batch of `rows`.
pub fn status_batch(rows: &[StatusRow]) -> Result<RecordBatch> {
    let schema = schema(TableName::FunctionStatus);
    fn presence(r: &StatusRow) -> Option<&Presence> {
        r.presence.as_ref()
    }
    fn attach(r: &StatusRow) -> Option<&Attach> {
        r.presence.as_ref().and_then(|p| p.attach.as_ref())
    }
    let issues: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.issues().iter().map(|i| i.as_str().to_owned()).collect())
        .collect();
    let prototypes: Vec<Vec<String>> = rows
        .iter()
        .map(|r| presence(r).map(Presence::prototypes).unwrap_or_default())
        .collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(
            rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            rows.iter().map(|r| r.image.as_str()).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            rows.iter().map(|r| r.label.as_str()).collect::<Vec<_>>(),
        )),
        Arc::new(BooleanArray::from(
            rows.iter().map(|r| r.baseline).collect::<Vec<_>>(),
        )),
        Arc::new(UInt32Array::from(
            rows.iter().map(|r| r.position).collect::<Vec<_>>(),
        )),
        Arc::new(BooleanArray::from(
            rows.iter()
                .map(|r| r.presence.is_some())
                .collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            rows.iter()
                .map(|r| presence(r).map(|p| p.collision_type.as_str()))
                .collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            rows.iter()
                .map(|r| presence(r).map(|p| p.inline_type.as_str()))
                .collect::<Vec<_>>(),
        )),
        Arc::new(BooleanArray::from(
            rows.iter()
                .map(|r| presence(r).map(Presence::transformed))
                .collect::<Vec<_>>(),
        )),
        string_lists(
            &field_type(&schema, "transform_suffixes"),
            rows.iter()
                .map(|r| presence(r).map_or(&[][..], |p| p.transform_suffixes.as_slice())),
        ),
        string_lists(
            &field_type(&schema, "issues"),
            issues.iter().map(Vec::as_slice),
        ),
        string_lists(
            &field_type(&schema, "prototypes"),
            prototypes.iter().map(Vec::as_slice),
        ),
        instances_lists(
            &field_type(&schema, "instances"),
            rows.iter()
                .map(|r| presence(r).map_or(&[][..], |p| p.instances.as_slice())),
        ),
        symbols_lists(
            &field_type(&schema, "symbols"),
            rows.iter()
                .map(|r| presence(r).map_or(&[][..], |p| p.symbols.as_slice())),
        ),
        Arc::new(StringArray::from(
            rows.iter()
                .map(|r| attach(r).map(|a| a.kprobe.as_str()))
                .collect::<Vec<_>>(),
        )),
        string_lists(
            &field_type(&schema, "kprobe_symbols"),
            rows.iter()
                .map(|r| attach(r).map_or(&[][..], |a| a.kprobe_symbols.as_slice())),
        ),
        Arc::new(StringArray::from(
            rows.iter()
                .map(|r| attach(r).map(|a| a.kprobe_reason.as_str()))
                .collect::<Vec<_>>(),
        )),
        Arc::new(BooleanArray::from(
            rows.iter()
                .map(|r| attach(r).map(|a| a.fentry))
                .collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            rows.iter()
                .map(|r| attach(r).map(|a| a.fentry_reason.as_str()))
                .collect::<Vec<_>>(),
        )),
        string_lists(
            &field_type(&schema, "modules"),
            rows.iter().map(|r| r.modules.as_slice()),
        ),
    ];
    RecordBatch::try_new(schema, columns).map_err(arrow_err("function_status"))
}

/// A `function_changes` batch of `rows`.
pub fn changes_batch(rows: &[ChangeRow]) -> Result<RecordBatch> {
    let text = |f: fn(&ChangeRow) -> &str| -> ArrayRef {
        Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    let opt = |f: fn(&ChangeRow) -> Option<&str>| -> ArrayRef {
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
        text(|r| r.change.kind.as_str()),
        opt(|r| r.change.decl_file.as_deref()),
        opt(|r| r.change.cu_path.as_deref()),
        opt(|r| r.change.param.as_deref()),
        opt(|r| r.change.old.as_deref()),
        opt(|r| r.change.new.as_deref()),
    ];
    RecordBatch::try_new(schema(TableName::FunctionChanges), columns)
        .map_err(arrow_err("function_changes"))
}

/// A `type_changes` batch of `rows`.
pub fn type_changes_batch(rows: &[TypeChangeRow]) -> Result<RecordBatch> {
    let text = |f: fn(&TypeChangeRow) -> &str| -> ArrayRef {
        Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    let opt = |f: fn(&TypeChangeRow) -> Option<&str>| -> ArrayRef {
        Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    let columns: Vec<ArrayRef> = vec![
        text(|r| &r.name),
        text(|r| &r.change.kind),
        Arc::new(UInt32Array::from(
            rows.iter().map(|r| r.pair).collect::<Vec<_>>(),
        )),
        text(|r| &r.old_image),
        text(|r| &r.new_image),
        text(|r| &r.old_label),
        text(|r| &r.new_label),
        text(|r| r.change.change.as_str()),
        opt(|r| r.change.decl_file.as_deref()),
        opt(|r| r.change.member.as_deref()),
        opt(|r| r.change.old.as_deref()),
        opt(|r| r.change.new.as_deref()),
    ];
    RecordBatch::try_new(schema(TableName::TypeChanges), columns).map_err(arrow_err("type_changes"))
}

/// The rows of a `type_changes` batch; `location` names the file in errors.
pub fn decode_type_changes(batch: &RecordBatch, location: &str) -> Result<Vec<TypeChangeRow>> {
    let c = Columns::of_batch(batch);
    (0..batch.num_rows())
        .map(|row| {
            let text = c.str("change", row);
            let change = TypeChangeKind::parse(text).ok_or_else(|| Error::Table {
                location: location.to_owned(),
                message: format!("unknown type change {text:?} at row {row}"),
            })?;
            let opt = |name: &str| c.opt_str(name, row).map(str::to_owned);
            Ok(TypeChangeRow {
                name: c.str("name", row).to_owned(),
                pair: c.u32("pair", row),
                old_image: c.str("old_image", row).to_owned(),
                new_image: c.str("new_image", row).to_owned(),
                old_label: c.str("old_label", row).to_owned(),
                new_label: c.str("new_label", row).to_owned(),
                change: TypeChange {
                    kind: c.str("kind", row).to_owned(),
                    change,
                    decl_file: opt("decl_file"),
                    member: opt("member"),
                    old: opt("old"),
                    new: opt("new"),
                },
            })
        })
        .collect()
}

/// The row of `comparison_groups` describing one aggregated group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRow {
    pub name: String,
    pub position: u32,
    pub mode: String,
    pub label_kind: String,
    pub baseline: Option<String>,
    pub baseline_label: Option<String>,
    pub images: Vec<String>,
    pub labels: Vec<String>,
    pub function_names: u32,
    pub changes: u32,
    pub type_names: u32,
    pub type_changes: u32,
    /// Per kind aggregated: (kind, names, changes).
    pub kinds: Vec<(String, u32, u32)>,
}

/// The one-row list column `comparison_groups.kinds` of `kinds`.
fn kind_count_lists(data_type: &DataType, kinds: &[(String, u32, u32)]) -> ArrayRef {
    let item = item_field(data_type);
    let fields = struct_fields(&item);
    let values = StructArray::new(
        fields,
        vec![
            Arc::new(StringArray::from(
                kinds.iter().map(|k| k.0.as_str()).collect::<Vec<_>>(),
            )) as ArrayRef,
            Arc::new(UInt32Array::from(
                kinds.iter().map(|k| k.1).collect::<Vec<_>>(),
            )),
            Arc::new(UInt32Array::from(
                kinds.iter().map(|k| k.2).collect::<Vec<_>>(),
            )),
        ],
        None,
    );
    Arc::new(ListArray::new(
        item,
        offsets([kinds.len()]),
        Arc::new(values),
        None,
    ))
}

pub fn group_batch(g: &GroupRow) -> Result<RecordBatch> {
    let schema = schema(TableName::ComparisonGroups);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from(vec![g.position])),
        Arc::new(StringArray::from(vec![g.mode.as_str()])),
        Arc::new(StringArray::from(vec![g.label_kind.as_str()])),
        Arc::new(StringArray::from(vec![g.baseline.as_deref()])),
        Arc::new(StringArray::from(vec![g.baseline_label.as_deref()])),
        string_lists(
            &field_type(&schema, "images"),
            [g.images.as_slice()].into_iter(),
        ),
        string_lists(
            &field_type(&schema, "labels"),
            [g.labels.as_slice()].into_iter(),
        ),
        Arc::new(UInt32Array::from(vec![g.function_names])),
        Arc::new(UInt32Array::from(vec![g.changes])),
        Arc::new(UInt32Array::from(vec![g.type_names])),
        Arc::new(UInt32Array::from(vec![g.type_changes])),
        kind_count_lists(&field_type(&schema, "kinds"), &g.kinds),
    ];
    RecordBatch::try_new(schema, columns).map_err(arrow_err("comparison_groups"))
}

/// Typed access to the columns of a batch or struct array by name.
pub struct Columns<'a> {
    arrays: Vec<(&'a str, &'a ArrayRef)>,
}

impl<'a> Columns<'a> {
    pub fn of_batch(batch: &'a RecordBatch) -> Self {
        Columns {
            arrays: batch
                .schema_ref()
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .zip(batch.columns())
                .collect(),
        }
    }

    pub fn of_struct(array: &'a StructArray) -> Self {
        Columns {
            arrays: array
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .zip(array.columns())
                .collect(),
        }
    }

    fn get(&self, name: &str) -> &'a ArrayRef {
        self.arrays
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, a)| *a)
            .unwrap_or_else(|| panic!("schema-checked data lacks column {name}"))
    }

    pub fn str(&self, name: &str, row: usize) -> &'a str {
        self.get(name).as_string::<i32>().value(row)
    }

    pub fn opt_str(&self, name: &str, row: usize) -> Option<&'a str> {
        let a = self.get(name).as_string::<i32>();
        (!a.is_null(row)).then(|| a.value(row))
    }

    pub fn bool(&self, name: &str, row: usize) -> bool {
        self.get(name).as_boolean().value(row)
    }

    pub fn opt_bool(&self, name: &str, row: usize) -> Option<bool> {
        let a = self.get(name).as_boolean();
        (!a.is_null(row)).then(|| a.value(row))
    }

    pub fn opt_u32(&self, name: &str, row: usize) -> Option<u32> {
        let a = self.get(name).as_primitive::<UInt32Type>();
        (!a.is_null(row)).then(|| a.value(row))
    }

    pub fn u32(&self, name: &str, row: usize) -> u32 {
        self.get(name).as_primitive::<UInt32Type>().value(row)
    }

    pub fn opt_u64(&self, name: &str, row: usize) -> Option<u64> {
        let a = self.get(name).as_primitive::<UInt64Type>();
        (!a.is_null(row)).then(|| a.value(row))
    }

    pub fn u64(&self, name: &str, row: usize) -> u64 {
        self.get(name).as_primitive::<UInt64Type>().value(row)
    }

    pub fn i64(&self, name: &str, row: usize) -> i64 {
        self.get(name).as_primitive::<Int64Type>().value(row)
    }

    pub fn strings(&self, name: &str, row: usize) -> Vec<String> {
        let list = self.get(name).as_list::<i32>().value(row);
        let values = list.as_string::<i32>();
        (0..values.len())
            .map(|i| values.value(i).to_owned())
            .collect()
    }

    /// The strings of the nullable list column `name` at `row`.
    pub fn opt_strings(&self, name: &str, row: usize) -> Option<Vec<String>> {
        let list = self.get(name).as_list::<i32>();
        (!list.is_null(row)).then(|| self.strings(name, row))
    }

    /// The struct items of the list column `name` at `row`, or `None` when
    /// the list is null.
    pub fn struct_list(&self, name: &str, row: usize) -> Option<StructArray> {
        let list = self.get(name).as_list::<i32>();
        (!list.is_null(row)).then(|| list.value(row).as_struct().clone())
    }
}

/// The instance at `row` of a `function_instances` batch or of a
/// `function_status.instances` struct array.
pub fn decode_instance(c: &Columns<'_>, row: usize) -> Instance {
    let params = c.struct_list("params", row).map(|ps| {
        let pc = Columns::of_struct(&ps);
        (0..ps.len())
            .map(|i| Param {
                name: pc.opt_str("name", i).map(str::to_owned),
                ty: pc.str("type", i).to_owned(),
            })
            .collect()
    });
    Instance {
        external: c.bool("external", row),
        decl_file: c.opt_str("decl_file", row).map(str::to_owned),
        decl_line: c.opt_u32("decl_line", row),
        cu_path: c.opt_str("cu_path", row).map(str::to_owned),
        inline_status: c.str("inline_status", row).to_owned(),
        defined: c.bool("defined", row),
        addr: c.opt_u64("addr", row),
        inline_callers: c.strings("inline_callers", row),
        direct_callers: c.strings("direct_callers", row),
        prototype: c.opt_str("prototype", row).map(str::to_owned),
        return_type: c.opt_str("return_type", row).map(str::to_owned),
        params,
        varargs: c.bool("varargs", row),
        discarded: c.bool("discarded", row),
    }
}

/// The symbol at `row` of a `symbols` batch or of a
/// `function_status.symbols` struct array.
pub fn decode_symbol(c: &Columns<'_>, row: usize) -> Symbol {
    Symbol {
        name: c.str("name", row).to_owned(),
        addr: c.u64("addr", row),
        size: c.u64("size", row),
        binding: c.str("binding", row).to_owned(),
        section: c.str("section", row).to_owned(),
    }
}

/// Every row of a `function_status` batch.
pub fn decode_status(batch: &RecordBatch) -> Vec<StatusRow> {
    let c = Columns::of_batch(batch);
    (0..batch.num_rows())
        .map(|row| {
            let presence = c.bool("present", row).then(|| {
                let instances = c.struct_list("instances", row).expect("non-null list");
                let ic = Columns::of_struct(&instances);
                let symbols = c.struct_list("symbols", row).expect("non-null list");
                let sc = Columns::of_struct(&symbols);
                Presence {
                    collision_type: c
                        .opt_str("collision_type", row)
                        .unwrap_or_default()
                        .to_owned(),
                    inline_type: c.opt_str("inline_type", row).unwrap_or_default().to_owned(),
                    transform_suffixes: c.strings("transform_suffixes", row),
                    instances: (0..instances.len())
                        .map(|i| decode_instance(&ic, i))
                        .collect(),
                    symbols: (0..symbols.len()).map(|i| decode_symbol(&sc, i)).collect(),
                    attach: c.opt_str("kprobe", row).map(|kprobe| Attach {
                        kprobe: kprobe.to_owned(),
                        kprobe_symbols: c.strings("kprobe_symbols", row),
                        kprobe_reason: c
                            .opt_str("kprobe_reason", row)
                            .unwrap_or_default()
                            .to_owned(),
                        fentry: c.opt_bool("fentry", row).unwrap_or(false),
                        fentry_reason: c
                            .opt_str("fentry_reason", row)
                            .unwrap_or_default()
                            .to_owned(),
                    }),
                }
            });
            StatusRow {
                name: c.str("name", row).to_owned(),
                image: c.str("image", row).to_owned(),
                label: c.str("label", row).to_owned(),
                baseline: c.bool("baseline", row),
                position: c.opt_u32("position", row),
                presence,
                modules: c.strings("modules", row),
            }
        })
        .collect()
}

/// Every row of a `function_changes` batch; `location` names the file in
/// errors about unknown change kinds.
pub fn decode_changes(batch: &RecordBatch, location: &str) -> Result<Vec<ChangeRow>> {
    let c = Columns::of_batch(batch);
    (0..batch.num_rows())
        .map(|row| {
            let kind_text = c.str("change", row);
            let kind = ChangeKind::parse(kind_text).ok_or_else(|| Error::Table {
                location: location.to_owned(),
                message: format!("row {row}: unknown change {kind_text:?}"),
            })?;
            let opt = |n: &str| c.opt_str(n, row).map(str::to_owned);
            Ok(ChangeRow {
                name: c.str("name", row).to_owned(),
                pair: c.u32("pair", row),
                old_image: c.str("old_image", row).to_owned(),
                new_image: c.str("new_image", row).to_owned(),
                old_label: c.str("old_label", row).to_owned(),
                new_label: c.str("new_label", row).to_owned(),
                change: Change {
                    kind,
                    decl_file: opt("decl_file"),
                    cu_path: opt("cu_path"),
                    param: opt("param"),
                    old: opt("old"),
                    new: opt("new"),
                },
            })
        })
        .collect()
}

/// The row of a `comparison_groups` batch (one row per file).
pub fn decode_group(name: &str, batch: &RecordBatch) -> Option<GroupRow> {
    if batch.num_rows() == 0 {
        return None;
    }
    let c = Columns::of_batch(batch);
    Some(GroupRow {
        name: name.to_owned(),
        position: c.u32("position", 0),
        mode: c.str("mode", 0).to_owned(),
        label_kind: c.str("label_kind", 0).to_owned(),
        baseline: c.opt_str("baseline", 0).map(str::to_owned),
        baseline_label: c.opt_str("baseline_label", 0).map(str::to_owned),
        images: c.strings("images", 0),
        labels: c.strings("labels", 0),
        function_names: c.u32("function_names", 0),
        changes: c.u32("changes", 0),
        type_names: c.u32("type_names", 0),
        type_changes: c.u32("type_changes", 0),
        kinds: c
            .struct_list("kinds", 0)
            .map(|ks| {
                let kc = Columns::of_struct(&ks);
                (0..ks.len())
                    .map(|i| {
                        (
                            kc.str("kind", i).to_owned(),
                            kc.u32("names", i),
                            kc.u32("changes", i),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_rows_round_trip() {
        let instance = Instance {
            external: false,
            decl_file: Some("kernel/core.c".into()),
            decl_line: Some(12),
            cu_path: Some("kernel/core.c".into()),
            inline_status: "seen, unknown".into(),
            defined: true,
            addr: Some(0x401000),
            inline_callers: vec![],
            direct_callers: vec!["kernel/core.c:core_init".into()],
            prototype: Some("int f(int x, ...);".into()),
            return_type: Some("int".into()),
            params: Some(vec![Param {
                name: Some("x".into()),
                ty: "int".into(),
            }]),
            varargs: true,
            discarded: false,
        };
        let asm = Instance {
            prototype: None,
            return_type: None,
            params: None,
            ..instance.clone()
        };
        let rows = vec![
            StatusRow {
                name: "f".into(),
                image: "d/1.0-1-x/amd64".into(),
                label: "1.0".into(),
                baseline: true,
                position: None,
                presence: Some(Presence {
                    collision_type: "Static-Static Collision".into(),
                    inline_type: "No".into(),
                    transform_suffixes: vec!["isra".into()],
                    instances: vec![instance, asm],
                    symbols: vec![Symbol {
                        name: "f.isra.0".into(),
                        addr: 0x401000,
                        size: 16,
                        binding: "STB_LOCAL".into(),
                        section: ".text".into(),
                    }],
                    attach: Some(Attach {
                        kprobe: "yes".into(),
                        kprobe_symbols: vec!["f.isra.0".into()],
                        kprobe_reason: "clone f.isra.0: the source name has no usable symbol"
                            .into(),
                        fentry: false,
                        fentry_reason: "not in .BTF: no symbol named f, only f.isra.0".into(),
                    }),
                }),
                modules: vec![],
            },
            StatusRow {
                name: "f".into(),
                image: "d/2.0-1-x/amd64".into(),
                label: "2.0".into(),
                baseline: false,
                position: Some(0),
                presence: None,
                modules: vec!["xfs".into(), "xfs_extra".into()],
            },
        ];
        let batch = status_batch(&rows).unwrap();
        assert_eq!(decode_status(&batch), rows);
    }
}
