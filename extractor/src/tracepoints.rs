//! The kernel's tracepoints: one row per tracepoint, with its trace event
//! (what a `tracepoint/` BPF program attaches to) when it has one.
//!
//! Sources, all from the one image:
//!
//! - **The set of tracepoints**: the `__tracepoint_<name>` symbols
//!   (`DEFINE_TRACE_FN` in `include/linux/tracepoint.h`) whose size is that
//!   of `struct tracepoint` (which leaves out s390x's 8-byte
//!   `__tracepoint_ptr_<name>` entries). The `name` member (`const char *`)
//!   of each is read and must equal the symbol's suffix.
//! - **`args`**: the DWARF prototype of `__traceiter_<name>` (since 5.10),
//!   `int __traceiter_<name>(void *__data, <TP_PROTO>)`, first parameter
//!   dropped; failing that, that of the class's BPF probe
//!   `__bpf_trace_<class>(void *__data, <TP_PROTO>)`
//!   (`include/trace/bpf_probe.h`). `None` when neither has a prototype.
//! - **Events**: the `struct trace_event_call *` array between
//!   `__start_ftrace_events` and `__stop_ftrace_events`. An event whose
//!   `flags` has `TRACE_EVENT_FL_TRACEPOINT` (the enumerator's value, from
//!   DWARF) is a tracepoint's: its `tp` member points to the
//!   `__tracepoint_<name>` object, its `class` member to the
//!   `event_class_<class>` object (the `DECLARE_EVENT_CLASS` template, named
//!   by that symbol), and the class's `system` member (`const char *`) is
//!   the event's system. Events without the flag (`syscalls:sys_enter_*`,
//!   ftrace's own) are not tracepoints and are skipped. Member offsets come
//!   from the DWARF type table ([`TypeDef`]), never constants.
//! - **`class` of a bare tracepoint** (`DECLARE_TRACE`, no event): the
//!   function that `__bpf_trace_tp_map_<name>` (a
//!   `struct bpf_raw_event_map`) names in its `bpf_func` member is
//!   `__bpf_trace_<class>`, and a bare tracepoint is its own class there; the
//!   name itself when the map is absent.
//! - **`system` of a bare tracepoint**: the system of the events declared in
//!   the same trace header (the `decl_file` of their `__traceiter_`
//!   functions); `None` when no event shares its header or those events
//!   disagree.
//! - **`event_struct`**: `trace_event_raw_<class>` when the event exists and
//!   DWARF defines that struct.

use std::collections::{HashMap, HashSet};

use crate::functions::FunctionEntry;
use crate::image_data::{ImageData, SymbolKind};
use crate::types::{TypeDef, TypeKind};

/// Longest system or tracepoint name read from the image.
const MAX_NAME: usize = 256;

/// One parameter of a tracepoint's prototype.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracepointArg {
    /// The parameter's name (`prev`); empty when DWARF names none.
    pub name: String,
    /// Its C type (`struct task_struct *`).
    pub ty: String,
}

/// One tracepoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracepointRow {
    /// `sched_switch`: the suffix of `__tracepoint_<name>`, the name
    /// `raw_tp`/`tp_btf` programs attach by.
    pub name: String,
    /// `sched`: the trace system (`trace_event_class.system`).
    pub system: Option<String>,
    /// The event class (template): `block_rq` for `block_rq_insert`; the
    /// name itself for `TRACE_EVENT` and bare `DECLARE_TRACE` tracepoints.
    pub class: String,
    /// A trace event exists: `tracepoint/<system>/<name>` programs can attach.
    /// False for a bare tracepoint, usable by `raw_tp`/`tp_btf` only.
    pub has_event: bool,
    /// The prototype without the leading `void *__data`; `None` if DWARF
    /// has no prototype for it.
    pub args: Option<Vec<TracepointArg>>,
    /// `trace_event_raw_<class>`, the record a `tracepoint/` program reads.
    pub event_struct: Option<String>,
}

/// What an event says about its tracepoint.
struct EventFacts {
    class: String,
    system: String,
}

/// Byte offset of `member` in the struct called `name`.
fn member_offset(types: &[TypeDef], name: &str, member: &str) -> Option<u64> {
    types
        .iter()
        .filter(|t| t.kind == TypeKind::Struct && t.name == name)
        .find_map(|t| {
            t.members
                .iter()
                .find(|m| m.name.as_deref() == Some(member))
                .map(|m| m.bit_offset / 8)
        })
}

fn struct_size(types: &[TypeDef], name: &str) -> Option<u64> {
    types
        .iter()
        .find(|t| t.kind == TypeKind::Struct && t.name == name)
        .and_then(|t| t.size)
}

fn enumerator(types: &[TypeDef], name: &str) -> Option<i64> {
    types
        .iter()
        .filter(|t| t.kind == TypeKind::Enum)
        .flat_map(|t| &t.enumerators)
        .find(|e| e.name == name)
        .map(|e| e.value)
}

/// Reads the tracepoints of `image`; `functions` and `types` are the
/// extractor's function entries and type definitions of the same image.
/// Rows are sorted by name.
pub fn extract(
    image: &ImageData,
    functions: &[FunctionEntry],
    types: &[TypeDef],
) -> Result<Vec<TracepointRow>, String> {
    let file = image.path().display();
    let missing = |what: &str| format!("{file}: {what} is not in the image's DWARF types");

    let tracepoints: Vec<(&str, u64)> = {
        let prefix = "__tracepoint_";
        let candidates: Vec<_> = image
            .symbols()
            .iter()
            .filter(|s| s.kind == SymbolKind::Object && s.section.is_some())
            .filter_map(|s| Some((s.name.strip_prefix(prefix)?, s)))
            .filter(|(name, _)| !name.is_empty())
            .collect();
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let size = struct_size(types, "tracepoint").ok_or_else(|| missing("struct tracepoint"))?;
        let mut found: Vec<(&str, u64)> = candidates
            .into_iter()
            .filter(|(_, s)| s.size == size)
            .map(|(name, s)| (name, s.address))
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    };
    if tracepoints.is_empty() {
        return Ok(Vec::new());
    }
    let name_offset =
        member_offset(types, "tracepoint", "name").ok_or_else(|| missing("tracepoint.name"))?;
    for &(name, address) in &tracepoints {
        let string = image.read_pointer(address + name_offset)?;
        let stored = image.c_string(string, MAX_NAME)?;
        if stored != name {
            return Err(format!(
                "{file}: __tracepoint_{name} at {address:#x} names itself {stored:?}"
            ));
        }
    }

    let events = read_events(image, types)?;

    let mut by_name: HashMap<&str, &FunctionEntry> = HashMap::new();
    for f in functions {
        if f.signature.is_some()
            && (f.name.starts_with("__traceiter_") || f.name.starts_with("__bpf_trace_"))
        {
            by_name.entry(f.name.as_str()).or_insert(f);
        }
    }
    let structs: HashSet<&str> = types
        .iter()
        .filter(|t| t.kind == TypeKind::Struct && t.name.starts_with("trace_event_raw_"))
        .map(|t| t.name.as_str())
        .collect();
    let map_func = member_offset(types, "bpf_raw_event_map", "bpf_func");

    let mut rows = Vec::with_capacity(tracepoints.len());
    for &(name, address) in &tracepoints {
        let event = events.get(&address);
        let class = match event {
            Some(e) => e.class.clone(),
            None => bare_class(image, name, map_func)?.unwrap_or_else(|| name.to_owned()),
        };
        let args = [
            format!("__traceiter_{name}"),
            format!("__bpf_trace_{class}"),
        ]
        .iter()
        .find_map(|f| by_name.get(f.as_str()))
        .and_then(|f| f.signature.as_ref())
        .map(|sig| {
            sig.params
                .iter()
                .skip(1)
                .map(|(n, ty)| TracepointArg {
                    name: n.clone().unwrap_or_default(),
                    ty: ty.clone(),
                })
                .collect()
        });
        let event_struct = format!("trace_event_raw_{class}");
        rows.push(TracepointRow {
            name: name.to_owned(),
            system: event.map(|e| e.system.clone()),
            has_event: event.is_some(),
            event_struct: (event.is_some() && structs.contains(event_struct.as_str()))
                .then_some(event_struct),
            class,
            args,
        });
    }

    // Bare tracepoints take the system of the events of their header.
    // A header whose events disagree names no system.
    let mut header_system: HashMap<&str, Option<&str>> = HashMap::new();
    for row in &rows {
        if let (Some(system), Some(file)) = (&row.system, traceiter_file(&by_name, &row.name)) {
            let known = header_system.entry(file).or_insert(Some(system));
            if *known != Some(system.as_str()) {
                *known = None;
            }
        }
    }
    let bare_systems: Vec<Option<String>> = rows
        .iter()
        .map(|row| match &row.system {
            Some(_) => None,
            None => traceiter_file(&by_name, &row.name)
                .and_then(|f| *header_system.get(f)?)
                .map(str::to_owned),
        })
        .collect();
    for (row, system) in rows.iter_mut().zip(bare_systems) {
        if row.system.is_none() {
            row.system = system;
        }
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows)
}

fn traceiter_file<'f>(by_name: &HashMap<&str, &'f FunctionEntry>, name: &str) -> Option<&'f str> {
    by_name
        .get(format!("__traceiter_{name}").as_str())
        .and_then(|f| f.decl_file.as_deref())
}

/// The class of a tracepoint without an event, from the `bpf_func` of its
/// `__bpf_trace_tp_map_<name>`.
fn bare_class(
    image: &ImageData,
    name: &str,
    map_func: Option<u64>,
) -> Result<Option<String>, String> {
    let Some(offset) = map_func else {
        return Ok(None);
    };
    let Some(map) = image.symbol(&format!("__bpf_trace_tp_map_{name}")) else {
        return Ok(None);
    };
    let func = image.read_pointer(map.address + offset)?;
    Ok(image
        .symbols_at(func)
        .find_map(|s| s.name.strip_prefix("__bpf_trace_"))
        .map(str::to_owned))
}

/// The events of `image` that belong to tracepoints, by the address of the
/// tracepoint (`struct tracepoint`) each points to.
fn read_events(image: &ImageData, types: &[TypeDef]) -> Result<HashMap<u64, EventFacts>, String> {
    let file = image.path().display();
    let mut events = HashMap::new();
    let (Some(start), Some(stop)) = (
        image.symbol("__start_ftrace_events"),
        image.symbol("__stop_ftrace_events"),
    ) else {
        return Ok(events);
    };
    let (start, stop) = (start.address, stop.address);
    let ptr = u64::from(image.pointer_size());
    if stop < start || (stop - start) % ptr != 0 {
        return Err(format!(
            "{file}: __start_ftrace_events {start:#x} .. __stop_ftrace_events {stop:#x} \
             is not an array of {ptr}-byte pointers"
        ));
    }
    if stop == start {
        return Ok(events);
    }
    let missing = |what: &str| format!("{file}: {what} is not in the image's DWARF types");
    let call = "trace_event_call";
    let class_off =
        member_offset(types, call, "class").ok_or_else(|| missing("trace_event_call.class"))?;
    let tp_off = member_offset(types, call, "tp").ok_or_else(|| missing("trace_event_call.tp"))?;
    let flags_off =
        member_offset(types, call, "flags").ok_or_else(|| missing("trace_event_call.flags"))?;
    let system_off = member_offset(types, "trace_event_class", "system")
        .ok_or_else(|| missing("trace_event_class.system"))?;
    let flag = enumerator(types, "TRACE_EVENT_FL_TRACEPOINT")
        .ok_or_else(|| missing("the enumerator TRACE_EVENT_FL_TRACEPOINT"))? as u32;
    image.bytes_at(start, stop - start)?;
    let mut slot = start;
    while slot < stop {
        let event = image.read_pointer(slot)?;
        slot += ptr;
        let flags = image.read_u32(event + flags_off)?;
        if flags & flag == 0 {
            continue;
        }
        let tp = image.read_pointer(event + tp_off)?;
        let class = image.read_pointer(event + class_off)?;
        let class_name = image
            .symbols_at(class)
            .find_map(|s| s.name.strip_prefix("event_class_"))
            .ok_or_else(|| {
                format!(
                    "{file}: the trace event at {event:#x} has its class at {class:#x}, \
                     where no event_class_ symbol is"
                )
            })?;
        let system = image.c_string(image.read_pointer(class + system_off)?, MAX_NAME)?;
        events.insert(
            tp,
            EventFacts {
                class: class_name.to_owned(),
                system: system.to_owned(),
            },
        );
    }
    Ok(events)
}
