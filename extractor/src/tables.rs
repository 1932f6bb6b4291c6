//! Arrow batches of an [`Extraction`], one per table, with the schemas of
//! `ksurf_dataset::schema`. Rows are already in their canonical order.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Int64Builder, ListBuilder, RecordBatch, StringBuilder, StructBuilder,
    UInt32Builder, UInt64Builder, UInt8Builder,
};
use arrow::datatypes::{DataType, Field};
use ksurf_dataset::schema::{kind_error_fields, param_fields, schema};
use ksurf_dataset::{TableName, SCHEMA_VERSION};
use sha2::{Digest, Sha256};

use crate::dwarf::types::Signature;
use crate::functions::{FunctionEntry, FunctionStatus};
use crate::symbols::SymbolRow;
use crate::types::TypeKind;
use crate::{Error, Extraction, Result};

fn string_list() -> ListBuilder<StringBuilder> {
    ListBuilder::new(StringBuilder::new()).with_field(Field::new("item", DataType::Utf8, false))
}

fn batch(table: TableName, columns: Vec<ArrayRef>) -> Result<RecordBatch> {
    RecordBatch::try_new(schema(table), columns).map_err(|source| Error::Table {
        table: table.as_str(),
        source,
    })
}

/// A list of `{name, type}` parameters (`function_instances.params` and
/// the columns built like it); a missing list is null.
struct ParamList(ListBuilder<StructBuilder>);

impl Default for ParamList {
    fn default() -> Self {
        ParamList(
            ListBuilder::new(StructBuilder::from_fields(param_fields(), 0)).with_field(Field::new(
                "item",
                DataType::Struct(param_fields()),
                false,
            )),
        )
    }
}

impl ParamList {
    fn push(&mut self, params: Option<&[(Option<String>, String)]>) {
        let Some(params) = params else {
            self.0.append(false);
            return;
        };
        let items = self.0.values();
        for (name, ty) in params {
            items
                .field_builder::<StringBuilder>(0)
                .expect("name column")
                .append_option(name.as_deref());
            items
                .field_builder::<StringBuilder>(1)
                .expect("type column")
                .append_value(ty);
            items.append(true);
        }
        self.0.append(true);
    }

    fn finish(mut self) -> ArrayRef {
        Arc::new(self.0.finish())
    }
}

/// The four columns of a structured prototype (`prototype`,
/// `return_type`, `params`, `varargs`), as `function_instances` has them.
#[derive(Default)]
struct PrototypeColumns {
    prototype: StringBuilder,
    return_type: StringBuilder,
    params: ParamList,
    varargs: BooleanBuilder,
}

impl PrototypeColumns {
    fn push(&mut self, signature: Option<&Signature>) {
        match signature {
            Some(sig) => {
                self.prototype.append_value(&sig.prototype);
                self.return_type.append_value(&sig.return_type);
                self.params.push(Some(&sig.params));
                self.varargs.append_value(sig.variadic);
            }
            None => {
                self.prototype.append_null();
                self.return_type.append_null();
                self.params.push(None);
                self.varargs.append_value(false);
            }
        }
    }

    fn finish(mut self) -> [ArrayRef; 4] {
        [
            Arc::new(self.prototype.finish()),
            Arc::new(self.return_type.finish()),
            self.params.finish(),
            Arc::new(self.varargs.finish()),
        ]
    }
}

/// `images.kind_errors`: one `{kind, message}` per kind that failed.
fn kind_errors(x: &Extraction) -> ArrayRef {
    let fields = kind_error_fields();
    let mut list = ListBuilder::new(StructBuilder::from_fields(fields.clone(), 0))
        .with_field(Field::new("item", DataType::Struct(fields), false));
    let items = list.values();
    for e in &x.kind_errors {
        items
            .field_builder::<StringBuilder>(0)
            .expect("kind column")
            .append_value(e.kind.as_str());
        items
            .field_builder::<StringBuilder>(1)
            .expect("message column")
            .append_value(&e.message);
        items.append(true);
    }
    list.append(true);
    Arc::new(list.finish())
}

/// Every table of the image, in [`TableName::ALL`] order.
pub fn image_tables(x: &Extraction) -> Result<Vec<(TableName, RecordBatch)>> {
    TableName::ALL
        .iter()
        .map(|&t| {
            let b = match t {
                TableName::FunctionInstances => function_instances(x),
                TableName::Functions => functions(x),
                TableName::Symbols => symbols(x),
                TableName::FunctionAttach => function_attach(x),
                TableName::Types => types(x),
                TableName::TypeMembers => type_members(x),
                TableName::EnumValues => enum_values(x),
                TableName::Tracepoints => tracepoints(x),
                TableName::Syscalls => syscalls(x),
                TableName::Kfuncs => kfuncs(x),
                TableName::LsmHooks => lsm_hooks(x),
                TableName::Kconfig => kconfig(x),
                TableName::Modules => modules(x),
                TableName::UnitErrors => unit_errors(x),
                TableName::Images => images(x),
                TableName::FunctionStatus
                | TableName::FunctionChanges
                | TableName::TypeChanges
                | TableName::TracepointChanges
                | TableName::SyscallChanges
                | TableName::KfuncChanges
                | TableName::LsmHookChanges
                | TableName::KconfigChanges
                | TableName::ComparisonGroups
                | TableName::Fetches
                | TableName::RunLog => {
                    unreachable!("{} is not a per-image table", t.as_str())
                }
            }?;
            Ok((t, b))
        })
        .collect()
}

/// The kernel modules' rows of the tables of [`TableName::MODULE_ROWS`]
/// (for `ksurf_dataset::layout::module_rows_file`), sorted by module, then
/// as the vmlinux's rows are; empty when the image has no modules.
pub fn module_tables(x: &Extraction) -> Result<Vec<(TableName, RecordBatch)>> {
    if x.modules.is_empty() {
        return Ok(Vec::new());
    }
    let read: Vec<(&str, &crate::ModuleExtraction)> = x
        .modules
        .iter()
        .filter_map(|m| m.rows.as_ref().ok().map(|rows| (m.name.as_str(), rows)))
        .collect();
    let instances = function_instance_rows(
        read.iter()
            .flat_map(|(name, m)| m.entries.iter().map(move |e| (*name, e))),
    )?;
    let functions = function_rows(
        read.iter()
            .flat_map(|(name, m)| m.statuses.iter().map(move |s| (*name, s))),
    )?;
    let symbols = symbol_rows(
        read.iter()
            .flat_map(|(name, m)| m.symbols.iter().map(move |s| (*name, s))),
    )?;
    let attach = function_attach_rows(
        read.iter()
            .flat_map(|(name, m)| m.attach.iter().map(move |a| (*name, a))),
    )?;
    Ok(vec![
        (TableName::FunctionInstances, instances),
        (TableName::Functions, functions),
        (TableName::Symbols, symbols),
        (TableName::FunctionAttach, attach),
    ])
}

/// `modules`: one row per `.ko`, in (module, path) order.
fn modules(x: &Extraction) -> Result<RecordBatch> {
    let mut module = StringBuilder::new();
    let mut path = StringBuilder::new();
    let mut from_modinfo = BooleanBuilder::new();
    let mut build_id = StringBuilder::new();
    let mut compile_units = UInt32Builder::new();
    let mut units_failed = UInt32Builder::new();
    let mut function_names = UInt32Builder::new();
    let mut function_instances = UInt32Builder::new();
    let mut symbols = UInt32Builder::new();
    let mut error = StringBuilder::new();
    for m in &x.modules {
        module.append_value(&m.name);
        path.append_value(&m.path);
        match &m.rows {
            Ok(rows) => {
                from_modinfo.append_value(rows.name_from_modinfo);
                build_id.append_option(rows.build_id.as_deref());
                compile_units.append_value(rows.compile_units);
                units_failed.append_value(rows.unit_errors.len() as u32);
                function_names.append_value(rows.statuses.len() as u32);
                function_instances.append_value(rows.entries.len() as u32);
                symbols.append_value(rows.symbols.len() as u32);
                error.append_null();
            }
            Err(message) => {
                from_modinfo.append_value(false);
                build_id.append_null();
                for b in [
                    &mut compile_units,
                    &mut units_failed,
                    &mut function_names,
                    &mut function_instances,
                    &mut symbols,
                ] {
                    b.append_value(0);
                }
                error.append_value(message);
            }
        }
    }
    batch(
        TableName::Modules,
        vec![
            Arc::new(module.finish()),
            Arc::new(path.finish()),
            Arc::new(from_modinfo.finish()),
            Arc::new(build_id.finish()),
            Arc::new(compile_units.finish()),
            Arc::new(units_failed.finish()),
            Arc::new(function_names.finish()),
            Arc::new(function_instances.finish()),
            Arc::new(symbols.finish()),
            Arc::new(error.finish()),
        ],
    )
}

/// The vmlinux's own rows carry this in their `module` column.
pub const VMLINUX: &str = "vmlinux";

fn function_instances(x: &Extraction) -> Result<RecordBatch> {
    function_instance_rows(x.entries.iter().map(|e| (VMLINUX, e)))
}

/// `function_instances` rows, each `(module, entry)`, in the order given.
fn function_instance_rows<'a>(
    rows: impl Iterator<Item = (&'a str, &'a FunctionEntry)>,
) -> Result<RecordBatch> {
    let mut module = StringBuilder::new();
    let mut name = StringBuilder::new();
    let mut external = BooleanBuilder::new();
    let mut decl_file = StringBuilder::new();
    let mut decl_line = UInt32Builder::new();
    let mut cu_path = StringBuilder::new();
    let mut inline_status = StringBuilder::new();
    let mut defined = BooleanBuilder::new();
    let mut addr = UInt64Builder::new();
    let mut inline_callers = string_list();
    let mut direct_callers = string_list();
    let mut prototypes = PrototypeColumns::default();
    let mut discarded = BooleanBuilder::new();
    for (m, e) in rows {
        module.append_value(m);
        name.append_value(&e.name);
        discarded.append_value(e.discarded);
        external.append_value(e.external);
        decl_file.append_option(e.decl_file.as_deref());
        decl_line.append_option(e.decl_line);
        cu_path.append_option(e.cu_path.as_deref());
        inline_status.append_value(e.inline.as_str());
        defined.append_value(e.defined);
        addr.append_option((e.addr != 0).then_some(e.addr));
        for c in &e.inline_callers {
            inline_callers.values().append_value(c);
        }
        inline_callers.append(true);
        for c in &e.direct_callers {
            direct_callers.values().append_value(c);
        }
        direct_callers.append(true);
        prototypes.push(e.signature.as_ref());
    }
    let [prototype, return_type, params, varargs] = prototypes.finish();
    batch(
        TableName::FunctionInstances,
        vec![
            Arc::new(name.finish()),
            Arc::new(external.finish()),
            Arc::new(decl_file.finish()),
            Arc::new(decl_line.finish()),
            Arc::new(cu_path.finish()),
            Arc::new(inline_status.finish()),
            Arc::new(defined.finish()),
            Arc::new(addr.finish()),
            Arc::new(inline_callers.finish()),
            Arc::new(direct_callers.finish()),
            prototype,
            return_type,
            params,
            varargs,
            Arc::new(discarded.finish()),
            Arc::new(module.finish()),
        ],
    )
}

fn functions(x: &Extraction) -> Result<RecordBatch> {
    function_rows(x.statuses.iter().map(|s| (VMLINUX, s)))
}

/// `functions` rows, each `(module, status)`, in the order given.
fn function_rows<'a>(
    rows: impl Iterator<Item = (&'a str, &'a FunctionStatus)>,
) -> Result<RecordBatch> {
    let mut module = StringBuilder::new();
    let mut name = StringBuilder::new();
    let mut collision = StringBuilder::new();
    let mut inline = StringBuilder::new();
    let mut transformed = BooleanBuilder::new();
    let mut suffixes = string_list();
    let mut instances = UInt32Builder::new();
    let mut symbol_count = UInt32Builder::new();
    for (m, s) in rows {
        module.append_value(m);
        name.append_value(&s.name);
        collision.append_value(s.collision.as_str());
        inline.append_value(s.inline.as_str());
        transformed.append_value(!s.transform_suffixes.is_empty());
        for suffix in &s.transform_suffixes {
            suffixes.values().append_value(suffix);
        }
        suffixes.append(true);
        instances.append_value(s.instance_count);
        symbol_count.append_value(s.symbol_count);
    }
    batch(
        TableName::Functions,
        vec![
            Arc::new(name.finish()),
            Arc::new(collision.finish()),
            Arc::new(inline.finish()),
            Arc::new(transformed.finish()),
            Arc::new(suffixes.finish()),
            Arc::new(instances.finish()),
            Arc::new(symbol_count.finish()),
            Arc::new(module.finish()),
        ],
    )
}

fn function_attach(x: &Extraction) -> Result<RecordBatch> {
    function_attach_rows(x.attach.iter().map(|a| (VMLINUX, a)))
}

/// `function_attach` rows, each `(module, verdicts)`, in the order given.
fn function_attach_rows<'a>(
    rows: impl Iterator<Item = (&'a str, &'a crate::attach::AttachRow)>,
) -> Result<RecordBatch> {
    let mut module = StringBuilder::new();
    let mut name = StringBuilder::new();
    let mut kprobe = StringBuilder::new();
    let mut kprobe_symbols = string_list();
    let mut kprobe_reason = StringBuilder::new();
    let mut fentry = BooleanBuilder::new();
    let mut fentry_reason = StringBuilder::new();
    let mut in_btf = BooleanBuilder::new();
    let mut ftrace = BooleanBuilder::new();
    let mut inlined_sites = UInt32Builder::new();
    for (m, a) in rows {
        module.append_value(m);
        name.append_value(&a.name);
        kprobe.append_value(a.kprobe.as_str());
        for s in &a.kprobe_symbols {
            kprobe_symbols.values().append_value(s);
        }
        kprobe_symbols.append(true);
        kprobe_reason.append_value(&a.kprobe_reason);
        fentry.append_value(a.fentry);
        fentry_reason.append_value(&a.fentry_reason);
        in_btf.append_option(a.in_btf);
        ftrace.append_option(a.ftrace);
        inlined_sites.append_value(a.inlined_sites);
    }
    batch(
        TableName::FunctionAttach,
        vec![
            Arc::new(name.finish()),
            Arc::new(kprobe.finish()),
            Arc::new(kprobe_symbols.finish()),
            Arc::new(kprobe_reason.finish()),
            Arc::new(fentry.finish()),
            Arc::new(fentry_reason.finish()),
            Arc::new(in_btf.finish()),
            Arc::new(ftrace.finish()),
            Arc::new(inlined_sites.finish()),
            Arc::new(module.finish()),
        ],
    )
}

fn symbols(x: &Extraction) -> Result<RecordBatch> {
    symbol_rows(x.symbols.iter().map(|s| (VMLINUX, s)))
}

/// `symbols` rows, each `(module, symbol)`, in the order given.
fn symbol_rows<'a>(rows: impl Iterator<Item = (&'a str, &'a SymbolRow)>) -> Result<RecordBatch> {
    let mut module = StringBuilder::new();
    let mut name = StringBuilder::new();
    let mut stem = StringBuilder::new();
    let mut suffixes = string_list();
    let mut addr = UInt64Builder::new();
    let mut size = UInt64Builder::new();
    let mut binding = StringBuilder::new();
    let mut visibility = StringBuilder::new();
    let mut section = StringBuilder::new();
    for (m, s) in rows {
        module.append_value(m);
        name.append_value(&s.name);
        stem.append_value(&s.stem);
        for suffix in &s.suffixes {
            suffixes.values().append_value(suffix);
        }
        suffixes.append(true);
        addr.append_value(s.addr);
        size.append_value(s.size);
        binding.append_value(&s.binding);
        visibility.append_value(&s.visibility);
        section.append_value(&s.section);
    }
    batch(
        TableName::Symbols,
        vec![
            Arc::new(name.finish()),
            Arc::new(stem.finish()),
            Arc::new(suffixes.finish()),
            Arc::new(addr.finish()),
            Arc::new(size.finish()),
            Arc::new(binding.finish()),
            Arc::new(visibility.finish()),
            Arc::new(section.finish()),
            Arc::new(module.finish()),
        ],
    )
}

fn types(x: &Extraction) -> Result<RecordBatch> {
    let mut name = StringBuilder::new();
    let mut kind = StringBuilder::new();
    let mut size = UInt64Builder::new();
    let mut decl_file = StringBuilder::new();
    let mut decl_line = UInt32Builder::new();
    let mut member_count = UInt32Builder::new();
    let mut units = UInt32Builder::new();
    let mut hash = StringBuilder::new();
    let mut target = StringBuilder::new();
    for t in &x.types {
        name.append_value(&t.name);
        kind.append_value(t.kind.as_str());
        size.append_option(t.size);
        decl_file.append_option(t.decl_file.as_deref());
        decl_line.append_option(t.decl_line);
        member_count.append_value(t.member_count);
        units.append_value(t.units);
        hash.append_value(t.definition_hash());
        target.append_option(t.target.as_deref());
    }
    batch(
        TableName::Types,
        vec![
            Arc::new(name.finish()),
            Arc::new(kind.finish()),
            Arc::new(size.finish()),
            Arc::new(decl_file.finish()),
            Arc::new(decl_line.finish()),
            Arc::new(member_count.finish()),
            Arc::new(units.finish()),
            Arc::new(hash.finish()),
            Arc::new(target.finish()),
        ],
    )
}

fn type_members(x: &Extraction) -> Result<RecordBatch> {
    let mut type_name = StringBuilder::new();
    let mut type_kind = StringBuilder::new();
    let mut hash = StringBuilder::new();
    let mut position = UInt32Builder::new();
    let mut name = StringBuilder::new();
    let mut path = StringBuilder::new();
    let mut depth = UInt32Builder::new();
    let mut ty = StringBuilder::new();
    let mut bit_offset = UInt64Builder::new();
    let mut bit_size = UInt32Builder::new();
    for t in &x.types {
        let h = t.definition_hash();
        for (i, m) in t.members.iter().enumerate() {
            type_name.append_value(&t.name);
            type_kind.append_value(t.kind.as_str());
            hash.append_value(&h);
            position.append_value(i as u32);
            name.append_option(m.name.as_deref());
            path.append_value(&m.path);
            depth.append_value(m.depth);
            ty.append_value(&m.ty);
            bit_offset.append_value(m.bit_offset);
            bit_size.append_option(m.bit_size);
        }
    }
    batch(
        TableName::TypeMembers,
        vec![
            Arc::new(type_name.finish()),
            Arc::new(type_kind.finish()),
            Arc::new(hash.finish()),
            Arc::new(position.finish()),
            Arc::new(name.finish()),
            Arc::new(path.finish()),
            Arc::new(depth.finish()),
            Arc::new(ty.finish()),
            Arc::new(bit_offset.finish()),
            Arc::new(bit_size.finish()),
        ],
    )
}

fn enum_values(x: &Extraction) -> Result<RecordBatch> {
    let mut enum_name = StringBuilder::new();
    let mut hash = StringBuilder::new();
    let mut position = UInt32Builder::new();
    let mut name = StringBuilder::new();
    let mut value = Int64Builder::new();
    let mut enum_size = UInt64Builder::new();
    for t in x.types.iter().filter(|t| t.kind == TypeKind::Enum) {
        let h = t.definition_hash();
        for (i, e) in t.enumerators.iter().enumerate() {
            enum_name.append_value(&t.name);
            hash.append_value(&h);
            position.append_value(i as u32);
            name.append_value(&e.name);
            value.append_value(e.value);
            enum_size.append_option(t.size);
        }
    }
    batch(
        TableName::EnumValues,
        vec![
            Arc::new(enum_name.finish()),
            Arc::new(hash.finish()),
            Arc::new(position.finish()),
            Arc::new(name.finish()),
            Arc::new(value.finish()),
            Arc::new(enum_size.finish()),
        ],
    )
}

fn unit_errors(x: &Extraction) -> Result<RecordBatch> {
    let mut offset = UInt64Builder::new();
    let mut cu_path = StringBuilder::new();
    let mut message = StringBuilder::new();
    for e in &x.unit_errors {
        offset.append_value(e.unit_offset);
        cu_path.append_option(e.cu_path.as_deref());
        message.append_value(&e.message);
    }
    batch(
        TableName::UnitErrors,
        vec![
            Arc::new(offset.finish()),
            Arc::new(cu_path.finish()),
            Arc::new(message.finish()),
        ],
    )
}

fn tracepoints(x: &Extraction) -> Result<RecordBatch> {
    let mut name = StringBuilder::new();
    let mut system = StringBuilder::new();
    let mut class = StringBuilder::new();
    let mut has_event = BooleanBuilder::new();
    let mut args = ParamList::default();
    let mut event_struct = StringBuilder::new();
    for t in &x.tracepoints {
        name.append_value(&t.name);
        system.append_option(t.system.as_deref());
        class.append_value(&t.class);
        has_event.append_value(t.has_event);
        let list: Option<Vec<(Option<String>, String)>> = t.args.as_ref().map(|args| {
            args.iter()
                .map(|a| (Some(a.name.clone()), a.ty.clone()))
                .collect()
        });
        args.push(list.as_deref());
        event_struct.append_option(t.event_struct.as_deref());
    }
    batch(
        TableName::Tracepoints,
        vec![
            Arc::new(name.finish()),
            Arc::new(system.finish()),
            Arc::new(class.finish()),
            Arc::new(has_event.finish()),
            args.finish(),
            Arc::new(event_struct.finish()),
        ],
    )
}

fn syscalls(x: &Extraction) -> Result<RecordBatch> {
    let mut abi = StringBuilder::new();
    let mut number = UInt32Builder::new();
    let mut name = StringBuilder::new();
    let mut entry = StringBuilder::new();
    let mut implemented = BooleanBuilder::new();
    for s in &x.syscalls {
        abi.append_value(s.abi);
        number.append_value(s.number);
        name.append_value(&s.name);
        entry.append_value(&s.entry);
        implemented.append_value(s.implemented);
    }
    batch(
        TableName::Syscalls,
        vec![
            Arc::new(abi.finish()),
            Arc::new(number.finish()),
            Arc::new(name.finish()),
            Arc::new(entry.finish()),
            Arc::new(implemented.finish()),
        ],
    )
}

fn kfuncs(x: &Extraction) -> Result<RecordBatch> {
    let mut name = StringBuilder::new();
    let mut prototypes = PrototypeColumns::default();
    let mut sets = string_list();
    let mut flags = string_list();
    for k in &x.kfuncs {
        name.append_value(&k.name);
        prototypes.push(k.signature.as_ref());
        for set in &k.sets {
            sets.values().append_value(set);
        }
        sets.append(true);
        for flag in k.flags.iter().flatten() {
            flags.values().append_value(flag);
        }
        // Null: the image gives the set no flags (a plain set, before 6.0).
        flags.append(k.flags.is_some());
    }
    let [prototype, return_type, params, varargs] = prototypes.finish();
    batch(
        TableName::Kfuncs,
        vec![
            Arc::new(name.finish()),
            prototype,
            return_type,
            params,
            varargs,
            Arc::new(sets.finish()),
            Arc::new(flags.finish()),
        ],
    )
}

fn lsm_hooks(x: &Extraction) -> Result<RecordBatch> {
    let mut name = StringBuilder::new();
    let mut prototypes = PrototypeColumns::default();
    let mut source = StringBuilder::new();
    let mut bpf_lsm = BooleanBuilder::new();
    for h in &x.lsm_hooks {
        name.append_value(&h.name);
        prototypes.push(h.signature.as_ref());
        source.append_option(h.signature_source.map(|s| s.as_str()));
        bpf_lsm.append_value(h.bpf_lsm);
    }
    let [prototype, return_type, params, varargs] = prototypes.finish();
    batch(
        TableName::LsmHooks,
        vec![
            Arc::new(name.finish()),
            prototype,
            return_type,
            params,
            varargs,
            Arc::new(source.finish()),
            Arc::new(bpf_lsm.finish()),
        ],
    )
}

fn kconfig(x: &Extraction) -> Result<RecordBatch> {
    let mut name = StringBuilder::new();
    let mut value = StringBuilder::new();
    for o in &x.kconfig {
        name.append_value(&o.name);
        value.append_option(o.value.as_deref());
    }
    batch(
        TableName::Kconfig,
        vec![Arc::new(name.finish()), Arc::new(value.finish())],
    )
}

fn images(x: &Extraction) -> Result<RecordBatch> {
    let i = &x.info;
    let one_str = |v: &str| -> ArrayRef {
        let mut b = StringBuilder::new();
        b.append_value(v);
        Arc::new(b.finish())
    };
    let opt_str = |v: Option<&str>| -> ArrayRef {
        let mut b = StringBuilder::new();
        b.append_option(v);
        Arc::new(b.finish())
    };
    let u32_col = |v: u32| -> ArrayRef {
        let mut b = UInt32Builder::new();
        b.append_value(v);
        Arc::new(b.finish())
    };
    let mut size = UInt64Builder::new();
    size.append_value(i.vmlinux_size);
    let mut class = UInt8Builder::new();
    class.append_value(i.elf_class);
    let mut big = BooleanBuilder::new();
    big.append_value(i.big_endian);
    let names = x.statuses.len() as u32;
    batch(
        TableName::Images,
        vec![
            one_str(&i.flavor),
            opt_str(i.build_id.as_deref()),
            one_str(&i.vmlinux_sha256),
            Arc::new(size.finish()),
            opt_str(i.package_sha256.as_deref()),
            opt_str(i.banner.as_deref()),
            one_str(&i.elf_machine),
            Arc::new(class.finish()),
            Arc::new(big.finish()),
            u32_col(x.compile_units),
            u32_col(x.units_skipped),
            u32_col(x.unit_errors.len() as u32),
            u32_col(names),
            u32_col(x.entries.len() as u32),
            u32_col(x.symbols.len() as u32),
            u32_col(x.types.len() as u32),
            u32_col(x.tracepoints.len() as u32),
            u32_col(x.syscalls.len() as u32),
            u32_col(x.kfuncs.len() as u32),
            u32_col(x.lsm_hooks.len() as u32),
            u32_col(x.kconfig.len() as u32),
            opt_str(x.config_source.as_ref().map(|s| s.column()).as_deref()),
            kind_errors(x),
            opt_str(x.btf.as_ref().map(|b| b.source.column())),
            {
                let mut b = UInt64Builder::new();
                b.append_option(x.btf.as_ref().map(|b| b.bytes.len() as u64));
                Arc::new(b.finish())
            },
            opt_str(
                x.btf
                    .as_ref()
                    .map(|b| crate::hex(&Sha256::digest(&b.bytes)))
                    .as_deref(),
            ),
            {
                let mut b = UInt32Builder::new();
                b.append_option(x.btf.as_ref().map(|b| b.types));
                Arc::new(b.finish())
            },
            opt_str(x.btf_error.as_deref()),
            u32_col(x.modules.len() as u32),
            u32_col(x.modules.iter().filter(|m| m.rows.is_err()).count() as u32),
            one_str(env!("CARGO_PKG_VERSION")),
            u32_col(SCHEMA_VERSION),
        ],
    )
}
