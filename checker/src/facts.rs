//! The facts one image holds about the names a set of BPF objects needs:
//! read from the image's per-image tables (`function_attach`,
//! `function_instances`, `symbols`,
//! `tracepoints`, `syscalls`, `kfuncs`, `lsm_hooks`, `kconfig`, `types`,
//! `type_members`, `enum_values`, `images.kind_errors`), keeping only the
//! rows whose name is needed. Tables are streamed a batch at a time, so
//! memory stays at the needed rows whatever the image's size.

use std::collections::{BTreeMap, BTreeSet};

use arrow::array::{Array, RecordBatch};
use ksurf_aggregator::tables::{decode_instance, Columns};
use ksurf_dataset::{Dataset, ImageId, TableName};

use crate::deps::{Attach, BpfObject};
use crate::Result;

/// Rows per batch when streaming a table.
const BATCH_ROWS: usize = 8192;

/// The names the objects depend on, per table to look them up in.
#[derive(Clone, Debug, Default)]
pub struct Needs {
    /// Function names (`function_attach.name`): kprobe, fentry and iter targets.
    pub functions: BTreeSet<String>,
    /// Tracepoint names (`tracepoints.name`).
    pub tracepoints: BTreeSet<String>,
    /// Syscall names (`syscalls.name`): `ksyscall/` targets and
    /// `syscalls/sys_enter_*` events.
    pub syscalls: BTreeSet<String>,
    /// kfunc names (`kfuncs.name`).
    pub kfuncs: BTreeSet<String>,
    /// LSM hook names (`lsm_hooks.name`).
    pub lsm_hooks: BTreeSet<String>,
    /// Config options (`kconfig.name`).
    pub kconfig: BTreeSet<String>,
    /// Type names, `___flavor` suffixes removed (`types.name`).
    pub types: BTreeSet<String>,
    /// Member names CO-RE accesses walk through: the types of these
    /// members in the image are read too (an embedded struct, a typedef'd
    /// one), whatever the object calls them.
    pub members: BTreeSet<String>,
}

/// A CO-RE type name without its `___flavor` suffix, as libbpf matches it
/// (`task_struct___o` → `task_struct`).
pub fn flavorless(name: &str) -> &str {
    match name.find("___") {
        Some(at) if at > 0 => &name[..at],
        _ => name,
    }
}

/// The syscall a `tracepoint/syscalls/sys_enter_<x>` (or `sys_exit_<x>`)
/// program depends on.
pub fn syscall_of_event(system: &str, name: &str) -> Option<String> {
    if system != "syscalls" {
        return None;
    }
    name.strip_prefix("sys_enter_")
        .or_else(|| name.strip_prefix("sys_exit_"))
        .map(str::to_owned)
}

impl Needs {
    /// Every name the objects look up.
    pub fn of(objects: &[BpfObject]) -> Needs {
        let mut needs = Needs::default();
        for object in objects {
            for program in &object.programs {
                match &program.attach {
                    Attach::Kprobe { function, .. } | Attach::Fentry { function, .. } => {
                        if !function.is_empty() {
                            needs.functions.insert(function.clone());
                        }
                    }
                    Attach::Ksyscall { syscall, .. } => {
                        needs.syscalls.insert(syscall.clone());
                    }
                    Attach::Tracepoint { system, name } => {
                        match syscall_of_event(system, name) {
                            Some(syscall) => needs.syscalls.insert(syscall),
                            None => needs.tracepoints.insert(name.clone()),
                        };
                    }
                    Attach::RawTracepoint { name, .. } => {
                        needs.tracepoints.insert(name.clone());
                    }
                    Attach::Lsm { hook, .. } => {
                        needs.lsm_hooks.insert(hook.clone());
                    }
                    Attach::Iter { target } => {
                        needs.functions.insert(format!("bpf_iter_{target}"));
                    }
                    Attach::KprobeMulti { .. }
                    | Attach::StructOps { .. }
                    | Attach::NotKernel { .. }
                    | Attach::Unknown => {}
                }
            }
            for relo in &object.core {
                if !relo.type_name.is_empty() {
                    needs.types.insert(flavorless(&relo.type_name).to_owned());
                }
                for step in &relo.steps {
                    if !step.container.is_empty() {
                        needs.types.insert(flavorless(&step.container).to_owned());
                    }
                    if let Some(member) = &step.member {
                        needs.members.insert(member.clone());
                    }
                }
            }
            for ksym in &object.ksyms {
                if ksym.function {
                    needs.kfuncs.insert(ksym.name.clone());
                }
            }
            for option in &object.kconfig {
                needs.kconfig.insert(option.name.clone());
            }
        }
        needs
    }
}

/// `function_attach`'s row of one name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachFacts {
    /// `yes`, `ambiguous` or `no`.
    pub kprobe: String,
    pub kprobe_symbols: Vec<String>,
    pub kprobe_reason: String,
    pub fentry: bool,
    pub fentry_reason: String,
    pub in_btf: Option<bool>,
    pub inlined_sites: u32,
}

/// What DepSurf says of a function in one image (`functions` row of the
/// vmlinux): its collision, inline and transformation status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionShape {
    /// `Unique Global`, `Unique Static`, `Static Duplication`,
    /// `Static-Static Collision`, `Static-Global Collision`.
    pub collision_type: String,
    /// `No`, `Selective`, `Full`.
    pub inline_type: String,
    /// Whether a clone suffix (`.isra`, `.constprop`, `.part`, …) applies.
    pub transformed: bool,
}

/// A function's DWARF prototype in one image (`function_instances`: the
/// external instance when there is one, else the first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prototype {
    pub return_type: Option<String>,
    /// Parameter types in order (`struct sock *`), names left out: a
    /// renamed parameter changes nothing for a program.
    pub params: Vec<String>,
    pub varargs: bool,
}

/// `tracepoints`' row of one name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracepointFacts {
    pub system: Option<String>,
    pub has_event: bool,
}

/// `syscalls`' rows of one name, native ABI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyscallFacts {
    /// The entry symbol a kprobe targets (`__x64_sys_openat`).
    pub entry: String,
    pub implemented: bool,
}

/// One definition of a type (`types` row) with its members or enumerators.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TypeFacts {
    /// `struct`, `union`, `enum` or `typedef`.
    pub kind: String,
    pub definition_hash: String,
    /// A typedef's target as C writes it.
    pub target: Option<String>,
    /// `type_members` rows, in position order: (path, member type text).
    pub members: Vec<(String, String)>,
    /// `enum_values` rows, in position order: (name, value).
    pub enumerators: Vec<(String, i64)>,
}

/// A function of a kernel module (`functions` and `symbols` rows of the
/// image's module files, `module` column).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModuleFunctionFacts {
    pub module: String,
    /// `functions.inline_type`: `No`, `Full` or `Selective`.
    pub inline_type: String,
    /// The module's `STT_FUNC` symbols whose stem is the name: (symbol,
    /// section), in the table's order.
    pub symbols: Vec<(String, String)>,
    /// The module's `function_attach` row of the name (its own blacklist,
    /// ftrace call sites and split `.BTF`); `None` for an image extracted
    /// before modules had verdicts.
    pub attach: Option<ModuleAttachFacts>,
}

/// A kernel module's kprobe and fentry verdicts of one function
/// (`function_attach` module rows).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModuleAttachFacts {
    /// `yes`, `ambiguous` or `no`.
    pub kprobe: String,
    pub kprobe_reason: String,
    pub fentry: bool,
    pub fentry_reason: String,
}

/// What one image says about the needed names.
#[derive(Clone, Debug, Default)]
pub struct ImageFacts {
    pub image: Option<ImageId>,
    /// `images.kind_errors`: kind → message. A kind listed here has an
    /// empty table: its names are unknown, not absent.
    pub kind_errors: BTreeMap<String, String>,
    pub functions: BTreeMap<String, AttachFacts>,
    /// The needed functions' `functions` rows (for DepSurf's letters).
    pub shapes: BTreeMap<String, FunctionShape>,
    /// Prototypes of the needed functions that have one.
    pub prototypes: BTreeMap<String, Prototype>,
    /// Needed names with no `function_attach` row but an `STT_FUNC`
    /// symbol of exactly that name (`symbols`): code without DWARF of its
    /// own, such as 5.10's `__x64_sys_getpid` alias. Symbol → section.
    pub symbols_only: BTreeMap<String, String>,
    /// Needed function names kernel modules define (the vmlinux may too):
    /// their `functions` and `symbols` rows from the modules' files, in
    /// module order. Names with only an `STT_FUNC` symbol in the vmlinux
    /// (`symbols_only`) are not looked up.
    pub module_functions: BTreeMap<String, Vec<ModuleFunctionFacts>>,
    pub tracepoints: BTreeMap<String, TracepointFacts>,
    pub syscalls: BTreeMap<String, SyscallFacts>,
    pub kfuncs: BTreeSet<String>,
    /// LSM hook → whether `bpf_lsm_<hook>` exists.
    pub lsm_hooks: BTreeMap<String, bool>,
    /// Option → value (`None`: `is not set`).
    pub kconfig: BTreeMap<String, Option<String>>,
    /// Whether the image has any `kconfig` row at all.
    pub has_kconfig: bool,
    /// Type name → its definitions.
    pub types: BTreeMap<String, Vec<TypeFacts>>,
}

/// Streams `table` of `image`, calling `row` for each row.
fn scan(
    dataset: &Dataset,
    image: &ImageId,
    table: TableName,
    mut row: impl FnMut(&Columns, usize),
) -> Result<()> {
    for batch in dataset.stream_table(image, table, BATCH_ROWS)? {
        let batch: RecordBatch = batch?;
        let columns = Columns::of_batch(&batch);
        for i in 0..batch.num_rows() {
            row(&columns, i);
        }
    }
    Ok(())
}

/// Reads what `image` says about `needs`. Syscall entries found are looked
/// up in `function_attach` too (a `ksyscall/` program is a kprobe on the
/// entry), and so is `bpf_lsm_<hook>` for each needed hook.
pub fn read(dataset: &Dataset, image: &ImageId, needs: &Needs) -> Result<ImageFacts> {
    let mut facts = ImageFacts {
        image: Some(image.clone()),
        ..ImageFacts::default()
    };
    scan(dataset, image, TableName::Images, |c, i| {
        if let Some(errors) = c.struct_list("kind_errors", i) {
            let e = Columns::of_struct(&errors);
            for j in 0..errors.len() {
                facts
                    .kind_errors
                    .insert(e.str("kind", j).to_owned(), e.str("message", j).to_owned());
            }
        }
    })?;
    if !needs.syscalls.is_empty() {
        scan(dataset, image, TableName::Syscalls, |c, i| {
            let name = c.str("name", i);
            if c.str("abi", i) == "native" && needs.syscalls.contains(name) {
                facts
                    .syscalls
                    .entry(name.to_owned())
                    .or_insert(SyscallFacts {
                        entry: c.str("entry", i).to_owned(),
                        implemented: c.bool("implemented", i),
                    });
            }
        })?;
    }
    let mut functions = needs.functions.clone();
    functions.extend(facts.syscalls.values().map(|s| s.entry.clone()));
    if !functions.is_empty() {
        scan(dataset, image, TableName::FunctionAttach, |c, i| {
            let name = c.str("name", i);
            if functions.contains(name) {
                facts.functions.insert(
                    name.to_owned(),
                    AttachFacts {
                        kprobe: c.str("kprobe", i).to_owned(),
                        kprobe_symbols: c.strings("kprobe_symbols", i),
                        kprobe_reason: c.str("kprobe_reason", i).to_owned(),
                        fentry: c.bool("fentry", i),
                        fentry_reason: c.str("fentry_reason", i).to_owned(),
                        in_btf: c.opt_bool("in_btf", i),
                        inlined_sites: c.u32("inlined_sites", i),
                    },
                );
            }
        })?;
    }
    if !needs.functions.is_empty() {
        scan(dataset, image, TableName::Functions, |c, i| {
            let name = c.str("name", i);
            if needs.functions.contains(name) {
                facts.shapes.insert(
                    name.to_owned(),
                    FunctionShape {
                        collision_type: c.str("collision_type", i).to_owned(),
                        inline_type: c.str("inline_type", i).to_owned(),
                        transformed: c.bool("transformed", i),
                    },
                );
            }
        })?;
    }
    let without_row: BTreeSet<&str> = functions
        .iter()
        .map(String::as_str)
        .filter(|name| !facts.functions.contains_key(*name))
        .collect();
    if !without_row.is_empty() {
        scan(dataset, image, TableName::Symbols, |c, i| {
            let name = c.str("name", i);
            if without_row.contains(name) {
                facts
                    .symbols_only
                    .insert(name.to_owned(), c.str("section", i).to_owned());
            }
        })?;
    }
    // Every needed function name is looked up in the modules too: where
    // the vmlinux lacks it, a module may define it; where the vmlinux has
    // it, a module defining it as well makes a probe by the bare name
    // ambiguous once that module is loaded.
    let in_modules: BTreeSet<&str> = functions
        .iter()
        .map(String::as_str)
        .filter(|name| !facts.symbols_only.contains_key(*name))
        .collect();
    if !in_modules.is_empty() {
        read_module_functions(dataset, image, &in_modules, &mut facts)?;
    }
    if !needs.functions.is_empty() {
        let mut external: BTreeSet<String> = BTreeSet::new();
        scan(dataset, image, TableName::FunctionInstances, |c, i| {
            let name = c.str("name", i);
            if !needs.functions.contains(name) || external.contains(name) {
                return;
            }
            let is_external = c.bool("external", i);
            if !is_external && facts.prototypes.contains_key(name) {
                return;
            }
            let instance = decode_instance(c, i);
            let Some(params) = instance.params else {
                return;
            };
            facts.prototypes.insert(
                name.to_owned(),
                Prototype {
                    return_type: instance.return_type,
                    params: params.into_iter().map(|p| p.ty).collect(),
                    varargs: instance.varargs,
                },
            );
            if is_external {
                external.insert(name.to_owned());
            }
        })?;
    }
    if !needs.tracepoints.is_empty() {
        scan(dataset, image, TableName::Tracepoints, |c, i| {
            let name = c.str("name", i);
            if needs.tracepoints.contains(name) {
                facts.tracepoints.insert(
                    name.to_owned(),
                    TracepointFacts {
                        system: c.opt_str("system", i).map(str::to_owned),
                        has_event: c.bool("has_event", i),
                    },
                );
            }
        })?;
    }
    if !needs.kfuncs.is_empty() {
        scan(dataset, image, TableName::Kfuncs, |c, i| {
            let name = c.str("name", i);
            if needs.kfuncs.contains(name) {
                facts.kfuncs.insert(name.to_owned());
            }
        })?;
    }
    if !needs.lsm_hooks.is_empty() {
        scan(dataset, image, TableName::LsmHooks, |c, i| {
            let name = c.str("name", i);
            if needs.lsm_hooks.contains(name) {
                facts
                    .lsm_hooks
                    .insert(name.to_owned(), c.bool("bpf_lsm", i));
            }
        })?;
    }
    if !needs.kconfig.is_empty() {
        scan(dataset, image, TableName::Kconfig, |c, i| {
            facts.has_kconfig = true;
            let name = c.str("name", i);
            if needs.kconfig.contains(name) {
                facts
                    .kconfig
                    .insert(name.to_owned(), c.opt_str("value", i).map(str::to_owned));
            }
        })?;
    }
    if !needs.types.is_empty() {
        read_types(dataset, image, needs, &mut facts)?;
    }
    Ok(facts)
}

/// Calls `row` with each row of `image`'s module rows of `table`; `false`
/// when the image has no such file (extracted without modules, or before
/// the table had module rows).
fn for_each_module_row(
    dataset: &Dataset,
    image: &ImageId,
    table: TableName,
    mut row: impl FnMut(&Columns<'_>, usize),
) -> Result<bool> {
    let Some(stream) = dataset.stream_module_rows(image, table, BATCH_ROWS, None)? else {
        return Ok(false);
    };
    for batch in stream {
        let batch: RecordBatch = batch?;
        let c = Columns::of_batch(&batch);
        for i in 0..batch.num_rows() {
            row(&c, i);
        }
    }
    Ok(true)
}

/// Reads the modules' `functions`, `symbols` and `function_attach` rows of
/// `names` into `facts.module_functions`; nothing when the image has no
/// module files.
fn read_module_functions(
    dataset: &Dataset,
    image: &ImageId,
    names: &BTreeSet<&str>,
    facts: &mut ImageFacts,
) -> Result<()> {
    let functions = &mut facts.module_functions;
    for_each_module_row(dataset, image, TableName::Functions, |c, i| {
        let name = c.str("name", i);
        if !names.contains(name) {
            return;
        }
        let module = c.str("module", i);
        let defined = functions.entry(name.to_owned()).or_default();
        // Two files of one module name (which the kernel never loads
        // together) read as one module.
        if defined.iter().all(|f| f.module != module) {
            defined.push(ModuleFunctionFacts {
                module: module.to_owned(),
                inline_type: c.str("inline_type", i).to_owned(),
                symbols: Vec::new(),
                attach: None,
            });
        }
    })?;
    if functions.is_empty() {
        return Ok(());
    }
    // The module's own facts of a name, as its functions rows gave it.
    fn of<'f>(
        functions: &'f mut BTreeMap<String, Vec<ModuleFunctionFacts>>,
        name: &str,
        module: &str,
    ) -> Option<&'f mut ModuleFunctionFacts> {
        functions
            .get_mut(name)?
            .iter_mut()
            .find(|f| f.module == module)
    }
    for_each_module_row(dataset, image, TableName::Symbols, |c, i| {
        if let Some(f) = of(functions, c.str("stem", i), c.str("module", i)) {
            f.symbols
                .push((c.str("name", i).to_owned(), c.str("section", i).to_owned()));
        }
    })?;
    for_each_module_row(dataset, image, TableName::FunctionAttach, |c, i| {
        // The first file's row, as for the functions rows.
        if let Some(f) =
            of(functions, c.str("name", i), c.str("module", i)).filter(|f| f.attach.is_none())
        {
            f.attach = Some(ModuleAttachFacts {
                kprobe: c.str("kprobe", i).to_owned(),
                kprobe_reason: c.str("kprobe_reason", i).to_owned(),
                fentry: c.bool("fentry", i),
                fentry_reason: c.str("fentry_reason", i).to_owned(),
            });
        }
    })?;
    Ok(())
}

/// The type a member's C type text names, when a CO-RE access can step
/// into it: `struct sched_entity`, `struct foo [4]`, `atomic_t` (a typedef
/// name); `None` for pointers, scalars written with spaces and anonymous
/// types (`struct {...}`, whose members the named type lists).
pub fn composite_name(type_text: &str) -> Option<&str> {
    let base = type_text.split(" [").next().unwrap_or(type_text).trim();
    if base.contains('*') || base.contains('(') || base.contains("{...}") {
        return None;
    }
    let base = base
        .trim_start_matches("const ")
        .trim_start_matches("volatile ");
    let name = base
        .strip_prefix("struct ")
        .or_else(|| base.strip_prefix("union "))
        .unwrap_or(base);
    (!name.is_empty() && !name.contains(' ')).then_some(name)
}

/// The needed types with their members and enumerators, read to a
/// closure: a type a needed member has (an embedded struct, a typedef and
/// its target) is read in a further pass over the tables, at most four.
fn read_types(
    dataset: &Dataset,
    image: &ImageId,
    needs: &Needs,
    facts: &mut ImageFacts,
) -> Result<()> {
    let mut wanted = needs.types.clone();
    for _pass in 0..4 {
        read_type_rows(dataset, image, &wanted, facts)?;
        let mut next = BTreeSet::new();
        for defs in facts.types.values() {
            for def in defs {
                if let Some(target) = def.target.as_deref().and_then(composite_name) {
                    next.insert(target.to_owned());
                }
                for (path, type_text) in &def.members {
                    let last = path.rsplit('.').next().unwrap_or(path);
                    if needs.members.contains(last) {
                        if let Some(name) = composite_name(type_text) {
                            next.insert(name.to_owned());
                        }
                    }
                }
            }
        }
        next.retain(|name| !facts.types.contains_key(name) && !wanted.contains(name));
        if next.is_empty() {
            break;
        }
        wanted = next;
    }
    Ok(())
}

/// One pass: the `types` rows named in `wanted`, with their members and
/// enumerators.
fn read_type_rows(
    dataset: &Dataset,
    image: &ImageId,
    wanted: &BTreeSet<String>,
    facts: &mut ImageFacts,
) -> Result<()> {
    let mut by_hash: BTreeMap<String, (String, TypeFacts)> = BTreeMap::new();
    scan(dataset, image, TableName::Types, |c, i| {
        let name = c.str("name", i);
        if wanted.contains(name) {
            let hash = c.str("definition_hash", i).to_owned();
            by_hash.insert(
                hash.clone(),
                (
                    name.to_owned(),
                    TypeFacts {
                        kind: c.str("kind", i).to_owned(),
                        definition_hash: hash,
                        target: c.opt_str("target", i).map(str::to_owned),
                        ..TypeFacts::default()
                    },
                ),
            );
        }
    })?;
    if by_hash
        .values()
        .any(|(_, t)| t.kind == "struct" || t.kind == "union")
    {
        scan(dataset, image, TableName::TypeMembers, |c, i| {
            if !wanted.contains(c.str("type_name", i)) {
                return;
            }
            if let Some((_, t)) = by_hash.get_mut(c.str("definition_hash", i)) {
                t.members
                    .push((c.str("path", i).to_owned(), c.str("type", i).to_owned()));
            }
        })?;
    }
    if by_hash.values().any(|(_, t)| t.kind == "enum") {
        scan(dataset, image, TableName::EnumValues, |c, i| {
            if !wanted.contains(c.str("enum_name", i)) {
                return;
            }
            if let Some((_, t)) = by_hash.get_mut(c.str("definition_hash", i)) {
                t.enumerators
                    .push((c.str("name", i).to_owned(), c.i64("value", i)));
            }
        })?;
    }
    for (_, (name, t)) in by_hash {
        facts.types.entry(name).or_default().push(t);
    }
    Ok(())
}
