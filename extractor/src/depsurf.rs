//! The DepSurf-compatible export: one JSON object per function name with the
//! fields and string values of DepSurf's `func_groups` dump, built from an
//! image's `functions`, `function_instances` and `symbols` tables.

use std::collections::HashMap;
use std::io::Write;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{UInt32Type, UInt64Type};
use ksurf_dataset::{Dataset, ImageId, TableName};
use serde_json::{json, Value};

use crate::Result;

fn column<'a>(batch: &'a RecordBatch, name: &str) -> &'a dyn Array {
    batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("schema-checked table lacks column {name}"))
        .as_ref()
}

fn strings(list: &dyn Array, row: usize) -> Vec<Value> {
    let list = list.as_list::<i32>().value(row);
    let values = list.as_string::<i32>();
    (0..values.len()).map(|i| json!(values.value(i))).collect()
}

/// Writes the image's function groups as JSON lines, sorted by name.
pub fn write_func_groups(dataset: &Dataset, image: &ImageId, out: &mut dyn Write) -> Result<usize> {
    let functions = dataset.read_table(image, TableName::Functions)?;
    let instances = dataset.read_table(image, TableName::FunctionInstances)?;
    let symbols = dataset.read_table(image, TableName::Symbols)?;

    let mut funcs_by_name: HashMap<&str, Vec<Value>> = HashMap::new();
    {
        let name = column(&instances, "name").as_string::<i32>();
        let external = column(&instances, "external").as_boolean();
        let decl_file = column(&instances, "decl_file").as_string::<i32>();
        let decl_line = column(&instances, "decl_line").as_primitive::<UInt32Type>();
        let cu_path = column(&instances, "cu_path").as_string::<i32>();
        let inline = column(&instances, "inline_status").as_string::<i32>();
        let addr = column(&instances, "addr").as_primitive::<UInt64Type>();
        for row in 0..instances.num_rows() {
            let file = (!cu_path.is_null(row)).then(|| cu_path.value(row));
            // DepSurf's `loc` is `file:line`; assembly units have no line and use the unit path.
            let loc = if decl_file.is_null(row) {
                file.map(str::to_owned)
            } else if decl_line.is_null(row) {
                Some(decl_file.value(row).to_owned())
            } else {
                Some(format!("{}:{}", decl_file.value(row), decl_line.value(row)))
            };
            let func = json!({
                "addr": if addr.is_null(row) { 0 } else { addr.value(row) },
                "name": name.value(row),
                "external": external.value(row),
                "loc": loc,
                "file": file,
                "inline": inline.value(row),
                "caller_inline": strings(column(&instances, "inline_callers"), row),
                "caller_func": strings(column(&instances, "direct_callers"), row),
            });
            funcs_by_name.entry(name.value(row)).or_default().push(func);
        }
    }
    let mut symbols_by_stem: HashMap<&str, Vec<Value>> = HashMap::new();
    {
        let name = column(&symbols, "name").as_string::<i32>();
        let stem = column(&symbols, "stem").as_string::<i32>();
        let addr = column(&symbols, "addr").as_primitive::<UInt64Type>();
        let size = column(&symbols, "size").as_primitive::<UInt64Type>();
        let bind = column(&symbols, "binding").as_string::<i32>();
        let section = column(&symbols, "section").as_string::<i32>();
        for row in 0..symbols.num_rows() {
            symbols_by_stem
                .entry(stem.value(row))
                .or_default()
                .push(json!({
                    "addr": addr.value(row),
                    "name": name.value(row),
                    "section": section.value(row),
                    "bind": bind.value(row),
                    "size": size.value(row),
                }));
        }
    }
    let name = column(&functions, "name").as_string::<i32>();
    let collision = column(&functions, "collision_type").as_string::<i32>();
    let inline = column(&functions, "inline_type").as_string::<i32>();
    for row in 0..functions.num_rows() {
        let n = name.value(row);
        let group = json!({
            "name": n,
            "collision_type": collision.value(row),
            "inline_type": inline.value(row),
            "funcs": funcs_by_name.remove(n).unwrap_or_default(),
            "symbols": symbols_by_stem.remove(n).unwrap_or_default(),
        });
        serde_json::to_writer(&mut *out, &group)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|source| crate::Error::Output { source })?;
    }
    Ok(functions.num_rows())
}
