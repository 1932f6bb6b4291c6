//! Table schemas, defined once for every crate. Column meanings are
//! documented in `docs/dataset.md`; keep the two in step.
//!
//! Per-image tables carry no image columns: the image is the hive partition
//! (`distro`, `release`, `arch`) of the file, which DuckDB and Spark expose as
//! columns when reading with hive partitioning.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};

use crate::layout::TableName;

fn utf8(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

fn utf8_list(name: &str) -> Field {
    Field::new(
        name,
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, false))),
        false,
    )
}

/// The struct type of one element of `function_instances.params`.
pub fn param_fields() -> Fields {
    Fields::from(vec![utf8("name", true), utf8("type", false)])
}

fn list_of(name: &str, item: DataType, nullable: bool) -> Field {
    Field::new(
        name,
        DataType::List(Arc::new(Field::new("item", item, false))),
        nullable,
    )
}

/// The struct type of one element of `function_status.instances`: the
/// columns of a `function_instances` row, less the name.
pub fn status_instance_fields() -> Fields {
    Fields::from(vec![
        Field::new("external", DataType::Boolean, false),
        utf8("decl_file", true),
        Field::new("decl_line", DataType::UInt32, true),
        utf8("cu_path", true),
        utf8("inline_status", false),
        Field::new("defined", DataType::Boolean, false),
        Field::new("addr", DataType::UInt64, true),
        utf8_list("inline_callers"),
        utf8_list("direct_callers"),
        utf8("prototype", true),
        utf8("return_type", true),
        list_of("params", DataType::Struct(param_fields()), true),
        Field::new("varargs", DataType::Boolean, false),
        Field::new("discarded", DataType::Boolean, false),
    ])
}

/// The struct type of one element of `function_status.symbols`.
pub fn status_symbol_fields() -> Fields {
    Fields::from(vec![
        utf8("name", false),
        Field::new("addr", DataType::UInt64, false),
        Field::new("size", DataType::UInt64, false),
        utf8("binding", false),
        utf8("section", false),
    ])
}

/// A structured prototype: `prototype`, `return_type`, `params` (list of
/// [`param_fields`]), `varargs`, as in `function_instances`.
fn prototype_fields() -> Vec<Field> {
    vec![
        utf8("prototype", true),
        utf8("return_type", true),
        list_of("params", DataType::Struct(param_fields()), true),
        Field::new("varargs", DataType::Boolean, false),
    ]
}

/// The struct type of one element of `images.kind_errors`.
pub fn kind_error_fields() -> Fields {
    Fields::from(vec![utf8("kind", false), utf8("message", false)])
}

/// The columns of the changes tables of the interface kinds
/// (`tracepoint_changes`, `syscall_changes`, `kfunc_changes`,
/// `lsm_hook_changes`, `kconfig_changes`): the pair's images and labels, the `change` label,
/// its `subject` (an argument or parameter, an ABI, an event struct) and
/// the old and new values as text.
pub fn interface_change_fields() -> Vec<Field> {
    vec![
        utf8("name", false),
        Field::new("pair", DataType::UInt32, false),
        utf8("old_image", false),
        utf8("new_image", false),
        utf8("old_label", false),
        utf8("new_label", false),
        utf8("change", false),
        utf8("subject", true),
        utf8("old", true),
        utf8("new", true),
    ]
}

/// The struct type of one element of `comparison_groups.kinds`: per kind
/// of dependency, its names in the group and its changes over the pairs.
pub fn kind_count_fields() -> Fields {
    Fields::from(vec![
        utf8("kind", false),
        Field::new("names", DataType::UInt32, false),
        Field::new("changes", DataType::UInt32, false),
    ])
}

/// The arrow schema of `table`.
pub fn schema(table: TableName) -> SchemaRef {
    let fields = match table {
        TableName::FunctionInstances => vec![
            utf8("name", false),
            Field::new("external", DataType::Boolean, false),
            utf8("decl_file", true),
            Field::new("decl_line", DataType::UInt32, true),
            utf8("cu_path", true),
            utf8("inline_status", false),
            Field::new("defined", DataType::Boolean, false),
            Field::new("addr", DataType::UInt64, true),
            utf8_list("inline_callers"),
            utf8_list("direct_callers"),
            utf8("prototype", true),
            utf8("return_type", true),
            Field::new(
                "params",
                DataType::List(Arc::new(Field::new(
                    "item",
                    DataType::Struct(param_fields()),
                    false,
                ))),
                true,
            ),
            Field::new("varargs", DataType::Boolean, false),
            Field::new("discarded", DataType::Boolean, false),
            utf8("module", false),
        ],
        TableName::Functions => vec![
            utf8("name", false),
            utf8("collision_type", false),
            utf8("inline_type", false),
            Field::new("transformed", DataType::Boolean, false),
            utf8_list("transform_suffixes"),
            Field::new("instance_count", DataType::UInt32, false),
            Field::new("symbol_count", DataType::UInt32, false),
            utf8("module", false),
        ],
        TableName::FunctionAttach => vec![
            utf8("name", false),
            utf8("kprobe", false),
            utf8_list("kprobe_symbols"),
            utf8("kprobe_reason", false),
            Field::new("fentry", DataType::Boolean, false),
            utf8("fentry_reason", false),
            Field::new("in_btf", DataType::Boolean, true),
            Field::new("ftrace", DataType::Boolean, true),
            Field::new("inlined_sites", DataType::UInt32, false),
            utf8("module", false),
        ],
        TableName::Symbols => vec![
            utf8("name", false),
            utf8("stem", false),
            utf8_list("suffixes"),
            Field::new("addr", DataType::UInt64, false),
            Field::new("size", DataType::UInt64, false),
            utf8("binding", false),
            utf8("visibility", false),
            utf8("section", false),
            utf8("module", false),
        ],
        TableName::Types => vec![
            utf8("name", false),
            utf8("kind", false),
            Field::new("size", DataType::UInt64, true),
            utf8("decl_file", true),
            Field::new("decl_line", DataType::UInt32, true),
            Field::new("member_count", DataType::UInt32, false),
            Field::new("units", DataType::UInt32, false),
            utf8("definition_hash", false),
            utf8("target", true),
        ],
        TableName::TypeMembers => vec![
            utf8("type_name", false),
            utf8("type_kind", false),
            utf8("definition_hash", false),
            Field::new("position", DataType::UInt32, false),
            utf8("name", true),
            utf8("path", false),
            Field::new("depth", DataType::UInt32, false),
            utf8("type", false),
            Field::new("bit_offset", DataType::UInt64, false),
            Field::new("bit_size", DataType::UInt32, true),
        ],
        TableName::EnumValues => vec![
            utf8("enum_name", false),
            utf8("definition_hash", false),
            Field::new("position", DataType::UInt32, false),
            utf8("name", false),
            Field::new("value", DataType::Int64, false),
            Field::new("enum_size", DataType::UInt64, true),
        ],
        TableName::Tracepoints => vec![
            utf8("name", false),
            utf8("system", true),
            utf8("class", true),
            Field::new("has_event", DataType::Boolean, false),
            list_of("args", DataType::Struct(param_fields()), true),
            utf8("event_struct", true),
        ],
        TableName::Syscalls => vec![
            utf8("abi", false),
            Field::new("number", DataType::UInt32, false),
            utf8("name", false),
            utf8("entry", false),
            Field::new("implemented", DataType::Boolean, false),
        ],
        TableName::Kfuncs => {
            let mut fields = vec![utf8("name", false)];
            fields.extend(prototype_fields());
            fields.push(utf8_list("sets"));
            fields.push(list_of("flags", DataType::Utf8, true));
            fields
        }
        TableName::LsmHooks => {
            let mut fields = vec![utf8("name", false)];
            fields.extend(prototype_fields());
            fields.push(utf8("signature_source", true));
            fields.push(Field::new("bpf_lsm", DataType::Boolean, false));
            fields
        }
        TableName::TypeChanges => vec![
            utf8("name", false),
            utf8("kind", false),
            Field::new("pair", DataType::UInt32, false),
            utf8("old_image", false),
            utf8("new_image", false),
            utf8("old_label", false),
            utf8("new_label", false),
            utf8("change", false),
            utf8("decl_file", true),
            utf8("member", true),
            utf8("old", true),
            utf8("new", true),
        ],
        TableName::TracepointChanges
        | TableName::SyscallChanges
        | TableName::KfuncChanges
        | TableName::LsmHookChanges
        | TableName::KconfigChanges => interface_change_fields(),
        TableName::Kconfig => vec![utf8("name", false), utf8("value", true)],
        TableName::Modules => vec![
            utf8("module", false),
            utf8("path", false),
            Field::new("name_from_modinfo", DataType::Boolean, false),
            utf8("build_id", true),
            Field::new("compile_units", DataType::UInt32, false),
            Field::new("units_failed", DataType::UInt32, false),
            Field::new("function_names", DataType::UInt32, false),
            Field::new("function_instances", DataType::UInt32, false),
            Field::new("symbols", DataType::UInt32, false),
            utf8("error", true),
        ],
        TableName::UnitErrors => vec![
            Field::new("unit_offset", DataType::UInt64, false),
            utf8("cu_path", true),
            utf8("message", false),
        ],
        TableName::Images => vec![
            utf8("flavor", false),
            utf8("build_id", true),
            utf8("vmlinux_sha256", false),
            Field::new("vmlinux_size", DataType::UInt64, false),
            utf8("package_sha256", true),
            utf8("banner", true),
            utf8("elf_machine", false),
            Field::new("elf_class", DataType::UInt8, false),
            Field::new("big_endian", DataType::Boolean, false),
            Field::new("compile_units", DataType::UInt32, false),
            Field::new("units_skipped", DataType::UInt32, false),
            Field::new("units_failed", DataType::UInt32, false),
            Field::new("function_names", DataType::UInt32, false),
            Field::new("function_instances", DataType::UInt32, false),
            Field::new("symbols", DataType::UInt32, false),
            Field::new("types", DataType::UInt32, false),
            Field::new("tracepoints", DataType::UInt32, false),
            Field::new("syscalls", DataType::UInt32, false),
            Field::new("kfuncs", DataType::UInt32, false),
            Field::new("lsm_hooks", DataType::UInt32, false),
            Field::new("kconfig_options", DataType::UInt32, false),
            utf8("config_source", true),
            list_of("kind_errors", DataType::Struct(kind_error_fields()), false),
            utf8("btf_source", true),
            Field::new("btf_size", DataType::UInt64, true),
            utf8("btf_sha256", true),
            Field::new("btf_types", DataType::UInt32, true),
            utf8("btf_error", true),
            Field::new("modules", DataType::UInt32, false),
            Field::new("modules_failed", DataType::UInt32, false),
            utf8("extractor_version", false),
            Field::new("schema_version", DataType::UInt32, false),
        ],
        TableName::FunctionStatus => vec![
            utf8("name", false),
            utf8("image", false),
            utf8("label", false),
            Field::new("baseline", DataType::Boolean, false),
            Field::new("position", DataType::UInt32, true),
            Field::new("present", DataType::Boolean, false),
            utf8("collision_type", true),
            utf8("inline_type", true),
            Field::new("transformed", DataType::Boolean, true),
            utf8_list("transform_suffixes"),
            utf8_list("issues"),
            utf8_list("prototypes"),
            list_of(
                "instances",
                DataType::Struct(status_instance_fields()),
                false,
            ),
            list_of("symbols", DataType::Struct(status_symbol_fields()), false),
            utf8("kprobe", true),
            utf8_list("kprobe_symbols"),
            utf8("kprobe_reason", true),
            Field::new("fentry", DataType::Boolean, true),
            utf8("fentry_reason", true),
            utf8_list("modules"),
        ],
        TableName::FunctionChanges => vec![
            utf8("name", false),
            Field::new("pair", DataType::UInt32, false),
            utf8("old_image", false),
            utf8("new_image", false),
            utf8("old_label", false),
            utf8("new_label", false),
            utf8("change", false),
            utf8("decl_file", true),
            utf8("cu_path", true),
            utf8("param", true),
            utf8("old", true),
            utf8("new", true),
        ],
        TableName::ComparisonGroups => vec![
            Field::new("position", DataType::UInt32, false),
            utf8("mode", false),
            utf8("label_kind", false),
            utf8("baseline", true),
            utf8("baseline_label", true),
            utf8_list("images"),
            utf8_list("labels"),
            Field::new("function_names", DataType::UInt32, false),
            Field::new("changes", DataType::UInt32, false),
            Field::new("type_names", DataType::UInt32, false),
            Field::new("type_changes", DataType::UInt32, false),
            list_of("kinds", DataType::Struct(kind_count_fields()), false),
        ],
        TableName::Fetches => vec![
            utf8("role", false),
            utf8("flavor", false),
            utf8("package", false),
            utf8("version", false),
            utf8("source", false),
            utf8("url", false),
            Field::new("package_size", DataType::UInt64, false),
            utf8("package_sha256", false),
            utf8("file_sha256", false),
            Field::new("file_size", DataType::UInt64, false),
            utf8("build_id", true),
            utf8("fetched_at", false),
        ],
        TableName::RunLog => vec![
            utf8("image", true),
            utf8("group", true),
            utf8("package", true),
            utf8("package_sha256", true),
            utf8("stage", false),
            utf8("outcome", false),
            utf8("message", true),
            Field::new("seconds", DataType::Float64, false),
        ],
    };
    Arc::new(Schema::new(fields))
}
