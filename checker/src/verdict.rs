//! Judging: each dependency of a BPF object against the facts of one
//! image ([`crate::facts::ImageFacts`]), and the program and object
//! outcomes that follow. Hard failures (the load or the attach fails) are
//! kept apart from silent ones (the program runs but sees wrong or
//! missing data) and from fallbacks (a CO-RE probe is false and the
//! program takes the branch written for that case).

use serde::Serialize;

use crate::deps::{Attach, BpfObject, CoreKind, CoreRelocation, FentryMode};
use crate::facts::{
    composite_name, flavorless, syscall_of_event, ImageFacts, ModuleFunctionFacts, Prototype,
    TypeFacts,
};

/// How bad a verdict is, in increasing order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The dependency holds.
    Ok,
    /// ksurf has no facts to judge it (a kind the image could not be read
    /// for, a dependency ksurf does not model yet); the reason says which.
    Unchecked,
    /// A CO-RE probe is false, or a guarded read's target is missing: the
    /// program takes the branch written for this kernel.
    Fallback,
    /// Loads and attaches, but sees wrong or missing data (call sites a
    /// probe misses, a weak extern read as zero).
    Silent,
    /// The load or the attach fails.
    Hard,
}

impl Outcome {
    /// One character for matrices: `.` ok, `?` unchecked, `f` fallback,
    /// `s` silent, `X` hard.
    pub fn mark(self) -> char {
        match self {
            Outcome::Ok => '.',
            Outcome::Unchecked => '?',
            Outcome::Fallback => 'f',
            Outcome::Silent => 's',
            Outcome::Hard => 'X',
        }
    }
}

/// One dependency × image verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub outcome: Outcome,
    /// Short class: `ok`, `absent`, `full_inline`, `selective_inline`,
    /// `renamed`, `ambiguous`, `not_attachable`, `no_event`,
    /// `not_implemented`, `no_btf`, `field_missing`, `type_missing`,
    /// `enumerator_missing`, `probe_false`, `guarded`, `weak_missing`,
    /// `option_missing`, `signature_changed`, `not_modelled`, `kind_error`.
    pub class: &'static str,
    /// What the image says, in words.
    pub reason: String,
}

impl Verdict {
    fn new(outcome: Outcome, class: &'static str, reason: impl Into<String>) -> Verdict {
        Verdict {
            outcome,
            class,
            reason: reason.into(),
        }
    }
}

/// What a program attaches to, for grouping alternatives: programs with
/// the same target are alternatives a tool chooses between at run time
/// (`fentry/x` when it can attach, else `kprobe/x`).
pub fn attach_target(attach: &Attach) -> Option<String> {
    match attach {
        Attach::Kprobe { function, .. } | Attach::Fentry { function, .. } => {
            Some(format!("function {function}"))
        }
        Attach::Ksyscall { syscall, .. } => Some(format!("syscall {syscall}")),
        Attach::Tracepoint { system, name } => Some(match syscall_of_event(system, name) {
            Some(syscall) => format!("syscall {syscall}"),
            None => format!("tracepoint {name}"),
        }),
        Attach::RawTracepoint { name, .. } => Some(format!("tracepoint {name}")),
        Attach::Lsm { hook, .. } => Some(format!("lsm {hook}")),
        Attach::Iter { target } => Some(format!("iter {target}")),
        Attach::KprobeMulti { pattern, .. } => Some(format!("functions {pattern}")),
        Attach::StructOps { name } => Some(format!("struct_ops {name}")),
        Attach::NotKernel { .. } | Attach::Unknown => None,
    }
}

/// The attach verdict of one program's section on one image.
pub fn attach(attach: &Attach, facts: &ImageFacts) -> Verdict {
    match attach {
        Attach::Kprobe { function, .. } if function.is_empty() => Verdict::new(
            Outcome::Unchecked,
            "not_modelled",
            "no target in the section name: the loader attaches it by hand",
        ),
        Attach::Kprobe { function, .. } | Attach::Fentry { function, .. }
            if is_placeholder(function) =>
        {
            Verdict::new(
                Outcome::Unchecked,
                "not_modelled",
                format!(
                    "{function} is a placeholder: the tool sets the real target at run time \
                     (bpf_program__set_attach_target)"
                ),
            )
        }
        Attach::Kprobe { function, .. } => {
            also_in_modules(function, kprobe(function, facts), facts)
        }
        Attach::Fentry { function, mode } => {
            also_in_modules(function, fentry(function, *mode, facts), facts)
        }
        Attach::Ksyscall { syscall, .. } => match facts.syscalls.get(syscall) {
            None if facts.kind_errors.contains_key("syscall") => kind_error("syscall", facts),
            None => Verdict::new(
                Outcome::Hard,
                "absent",
                format!("no syscall {syscall} in the native table"),
            ),
            Some(s) if !s.implemented => Verdict::new(
                Outcome::Hard,
                "not_implemented",
                format!("{syscall}: the slot points to sys_ni_syscall (not built)"),
            ),
            Some(s) => {
                let v = kprobe(&s.entry, facts);
                Verdict::new(
                    v.outcome,
                    v.class,
                    format!("entry {}: {}", s.entry, v.reason),
                )
            }
        },
        Attach::Tracepoint { system, name } => match syscall_of_event(system, name) {
            Some(syscall) => match facts.syscalls.get(&syscall) {
                None if facts.kind_errors.contains_key("syscall") => kind_error("syscall", facts),
                None => Verdict::new(
                    Outcome::Hard,
                    "absent",
                    format!("no syscall {syscall}: no syscalls:{name} event"),
                ),
                Some(s) if !s.implemented => Verdict::new(
                    Outcome::Hard,
                    "not_implemented",
                    format!("{syscall} is sys_ni_syscall here: no syscalls:{name} event"),
                ),
                Some(_) => Verdict::new(Outcome::Ok, "ok", format!("syscall {syscall}")),
            },
            None => match facts.tracepoints.get(name) {
                None => tracepoint_absent(name, facts),
                Some(t) if !t.has_event => Verdict::new(
                    Outcome::Hard,
                    "no_event",
                    format!("{name} is a bare tracepoint: raw_tp/tp_btf only"),
                ),
                Some(t) => match t.system.as_deref() {
                    Some(s) if s != system => Verdict::new(
                        Outcome::Hard,
                        "absent",
                        format!("the event is {s}/{name}, not {system}/{name}"),
                    ),
                    _ => Verdict::new(Outcome::Ok, "ok", format!("event {system}/{name}")),
                },
            },
        },
        Attach::RawTracepoint { name, .. } => match facts.tracepoints.get(name) {
            None => tracepoint_absent(name, facts),
            Some(_) => Verdict::new(Outcome::Ok, "ok", format!("tracepoint {name}")),
        },
        Attach::Lsm { hook, .. } => match facts.lsm_hooks.get(hook) {
            None => Verdict::new(Outcome::Hard, "absent", format!("no LSM hook {hook}")),
            Some(false) => Verdict::new(
                Outcome::Hard,
                "not_attachable",
                format!("no bpf_lsm_{hook}: the image has no BPF LSM attach target"),
            ),
            Some(true) => Verdict::new(Outcome::Ok, "ok", format!("bpf_lsm_{hook}")),
        },
        Attach::Iter { target } => {
            let function = format!("bpf_iter_{target}");
            match facts.functions.get(&function) {
                Some(f) if f.in_btf == Some(true) => {
                    Verdict::new(Outcome::Ok, "ok", format!("{function} in .BTF"))
                }
                Some(f) if f.in_btf.is_none() => Verdict::new(
                    Outcome::Hard,
                    "no_btf",
                    "the image has no .BTF: iterators need it",
                ),
                _ => Verdict::new(
                    Outcome::Hard,
                    "absent",
                    format!("no iterator target {target} ({function} not in .BTF)"),
                ),
            }
        }
        Attach::KprobeMulti { pattern, .. } => Verdict::new(
            Outcome::Unchecked,
            "not_modelled",
            format!("kprobe.multi pattern {pattern}: glob targets are not checked yet"),
        ),
        Attach::StructOps { name } => Verdict::new(
            Outcome::Unchecked,
            "not_modelled",
            format!("struct_ops {name}: not checked yet"),
        ),
        Attach::NotKernel { convention } => Verdict::new(
            Outcome::Ok,
            "ok",
            format!("{convention}: not a kernel-surface dependency"),
        ),
        Attach::Unknown => Verdict::new(Outcome::Unchecked, "not_modelled", "unknown section name"),
    }
}

/// A section target that names no kernel function on purpose: libbpf-tools'
/// `dummy_file_read`, `dummy_fentry`, … (the file-system tools and
/// funclatency pick the real function when they start).
pub fn is_placeholder(function: &str) -> bool {
    function.starts_with("dummy_")
}

fn kind_error(kind: &str, facts: &ImageFacts) -> Verdict {
    Verdict::new(
        Outcome::Unchecked,
        "kind_error",
        format!(
            "the image's {kind} table could not be read: {}",
            facts
                .kind_errors
                .get(kind)
                .map(String::as_str)
                .unwrap_or("")
        ),
    )
}

fn tracepoint_absent(name: &str, facts: &ImageFacts) -> Verdict {
    if facts.kind_errors.contains_key("tracepoint") {
        return kind_error("tracepoint", facts);
    }
    Verdict::new(Outcome::Hard, "absent", format!("no tracepoint {name}"))
}

/// The verdict for a function name with no `function_attach` row.
fn no_function(function: &str, facts: &ImageFacts, kprobe: bool) -> Verdict {
    match facts.symbols_only.get(function) {
        Some(section) if kprobe && section.starts_with(".init") => Verdict::new(
            Outcome::Hard,
            "not_attachable",
            format!("symbol {function} in {section} (freed after boot), without DWARF of its own"),
        ),
        Some(_) if kprobe => Verdict::new(
            Outcome::Ok,
            "ok",
            format!("symbol {function} (no DWARF function of that name: an alias or assembler code)"),
        ),
        Some(_) => Verdict::new(
            Outcome::Hard,
            "not_attachable",
            format!("symbol {function} has no DWARF function, so pahole gave it no .BTF FUNC: fentry needs one"),
        ),
        None => match facts.module_functions.get(function) {
            Some(defined) => in_module(function, defined, kprobe),
            None => Verdict::new(
                Outcome::Hard,
                "absent",
                format!("no function {function} in the vmlinux or a module of the image"),
            ),
        },
    }
}

/// A probe on a vmlinux function that kernel modules define too (a
/// symbol of exactly the name): the probe is placed on the vmlinux's, so
/// the modules' calls are missed, and kernels that refuse a probe name
/// several kallsyms entries carry (6.7+ and stable backports) refuse it
/// by the bare name once such a module is loaded. An ok verdict becomes
/// silent (`cross_module`), naming the modules; others are kept.
fn also_in_modules(function: &str, verdict: Verdict, facts: &ImageFacts) -> Verdict {
    if verdict.outcome != Outcome::Ok || !facts.functions.contains_key(function) {
        return verdict;
    }
    let Some(defined) = facts.module_functions.get(function) else {
        return verdict;
    };
    let modules: Vec<&str> = defined
        .iter()
        .filter(|f| f.symbols.iter().any(|(name, _)| name == function))
        .map(|f| f.module.as_str())
        .collect();
    if modules.is_empty() {
        return verdict;
    }
    Verdict::new(
        Outcome::Silent,
        "cross_module",
        format!(
            "{}; module{} {} also define{} {function}: the probe sees the vmlinux's only, \
             and a probe by the bare name is refused while one is loaded (kernels 6.7+)",
            verdict.reason,
            if modules.len() > 1 { "s" } else { "" },
            modules.join(", "),
            if modules.len() > 1 { "" } else { "s" },
        ),
    )
}

/// The verdict for a function only kernel modules define: the program
/// attaches once the module is loaded, by the module's symbols. Where the
/// dataset has the module's own verdicts (`function_attach` module rows:
/// its kprobe blacklist, ftrace call sites and split `.BTF`), a probe they
/// refuse is `not_attachable` (or `ambiguous`) with their reason; an
/// image extracted before modules had verdicts rests on the symbol alone.
fn in_module(function: &str, defined: &[ModuleFunctionFacts], kprobe: bool) -> Verdict {
    // Modules that carry a symbol of the name or a clone of it: the code a
    // probe can reach. Others hold only inlined copies (a header's static
    // inline function).
    let with_code: Vec<&ModuleFunctionFacts> =
        defined.iter().filter(|f| !f.symbols.is_empty()).collect();
    if with_code.is_empty() {
        let modules: Vec<&str> = defined.iter().map(|f| f.module.as_str()).collect();
        return Verdict::new(
            Outcome::Hard,
            "full_inline",
            format!(
                "{function} is inlined into every caller in module{} {}: no symbol",
                if modules.len() > 1 { "s" } else { "" },
                modules.join(", ")
            ),
        );
    }
    let modules: Vec<&str> = with_code.iter().map(|f| f.module.as_str()).collect();
    if let [a, b, ..] = modules.as_slice() {
        return Verdict::new(
            Outcome::Hard,
            "ambiguous",
            format!(
                "{function} is defined in modules {a} and {b}{}: a probe by the bare name is refused when both are loaded",
                if modules.len() > 2 { " and others" } else { "" }
            ),
        );
    }
    let f = with_code[0];
    let m = &f.module;
    // The module's own verdict for this kind of probe: (attaches, verdict
    // word, reason).
    let own = f.attach.as_ref().map(|a| {
        if kprobe {
            (
                a.kprobe == "yes",
                a.kprobe.as_str(),
                a.kprobe_reason.as_str(),
            )
        } else {
            let word = if a.fentry { "yes" } else { "no" };
            (a.fentry, word, a.fentry_reason.as_str())
        }
    });
    let refused = |ok: Verdict| match own {
        Some((false, word, reason)) if ok.outcome <= Outcome::Silent => Verdict::new(
            Outcome::Hard,
            if word == "ambiguous" {
                "ambiguous"
            } else {
                "not_attachable"
            },
            format!("in module {m}: {reason}"),
        ),
        _ => ok,
    };
    let exact = f.symbols.iter().find(|(name, _)| name == function);
    let clones: Vec<&str> = f
        .symbols
        .iter()
        .filter(|(name, section)| {
            name != function && !name.ends_with(".cold") && !section.starts_with(".init")
        })
        .map(|(name, _)| name.as_str())
        .collect();
    match exact {
        Some((_, section)) if section.starts_with(".init") => Verdict::new(
            Outcome::Hard,
            "not_attachable",
            format!("in module {m}: symbol {function} in {section} (freed once the module has loaded)"),
        ),
        // Exit code stays while the module is loaded (CONFIG_MODULE_UNLOAD):
        // a kprobe attaches and fires at unload; `__exit` is notrace, so
        // the module's fentry verdict refuses it.
        Some((_, section)) if section.starts_with(".exit") => refused(Verdict::new(
            Outcome::Ok,
            "in_module",
            format!("in module {m}: attachable once the module is loaded; symbol {function} in {section} runs only when the module is unloaded"),
        )),
        Some(_) if f.inline_type == "Selective" => refused(Verdict::new(
            Outcome::Silent,
            "selective_inline",
            format!("in module {m}: attachable once the module is loaded; some calls to {function} are inlined into its callers and never reach the probe"),
        )),
        Some((_, section)) => refused(Verdict::new(
            Outcome::Ok,
            "in_module",
            match own {
                Some((_, _, reason)) => {
                    format!("in module {m}: attachable once the module is loaded ({reason})")
                }
                None if kprobe => format!(
                    "in module {m}: attachable once the module is loaded (symbol {function} in {section})"
                ),
                None => format!(
                    "in module {m}: attachable once the module is loaded (symbol {function} in {section}; \
                     the module's BTF and ftrace call sites are not in this dataset)"
                ),
            },
        )),
        None if !clones.is_empty() => Verdict::new(
            Outcome::Hard,
            "renamed",
            format!("in module {m}: no symbol {function}: attach to {}", clones.join(", ")),
        ),
        None => Verdict::new(
            Outcome::Hard,
            "not_attachable",
            format!(
                "in module {m}: no symbol {function} a probe can use ({})",
                f.symbols
                    .iter()
                    .map(|(name, section)| format!("{name} in {section}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    }
}

/// A kprobe by `function`'s name, from `function_attach`.
fn kprobe(function: &str, facts: &ImageFacts) -> Verdict {
    let Some(f) = facts.functions.get(function) else {
        return no_function(function, facts, true);
    };
    match f.kprobe.as_str() {
        "yes" if f.kprobe_symbols.iter().any(|s| s == function) => {
            if f.inlined_sites > 0 {
                Verdict::new(Outcome::Silent, "selective_inline", f.kprobe_reason.clone())
            } else {
                Verdict::new(Outcome::Ok, "ok", f.kprobe_reason.clone())
            }
        }
        "yes" => Verdict::new(
            Outcome::Hard,
            "renamed",
            format!(
                "a kprobe on {function} fails: attach to {} ({})",
                f.kprobe_symbols.join(", "),
                f.kprobe_reason
            ),
        ),
        "ambiguous" => Verdict::new(Outcome::Hard, "ambiguous", f.kprobe_reason.clone()),
        _ if f.kprobe_reason.starts_with("no symbol: inlined") => {
            Verdict::new(Outcome::Hard, "full_inline", f.kprobe_reason.clone())
        }
        _ => Verdict::new(Outcome::Hard, "not_attachable", f.kprobe_reason.clone()),
    }
}

/// An fentry, fexit or fmod_ret program on `function`.
fn fentry(function: &str, mode: FentryMode, facts: &ImageFacts) -> Verdict {
    let Some(f) = facts.functions.get(function) else {
        return no_function(function, facts, false);
    };
    if !f.fentry {
        let class = if f.in_btf.is_none() {
            "no_btf"
        } else if f.kprobe_reason.starts_with("no symbol: inlined") {
            "full_inline"
        } else if f.kprobe_symbols.iter().all(|s| s != function) && f.kprobe == "yes" {
            "renamed"
        } else {
            "not_attachable"
        };
        return Verdict::new(Outcome::Hard, class, f.fentry_reason.clone());
    }
    if mode == FentryMode::Fexit && f.fentry_reason.contains("fexit refused") {
        return Verdict::new(Outcome::Hard, "not_attachable", f.fentry_reason.clone());
    }
    if f.inlined_sites > 0 {
        return Verdict::new(Outcome::Silent, "selective_inline", f.fentry_reason.clone());
    }
    Verdict::new(Outcome::Ok, "ok", f.fentry_reason.clone())
}

/// Whether a read whose target is missing sits in a branch the verifier
/// drops on this image: the program section also holds a CO-RE probe
/// (`bpf_core_field_exists`, `bpf_core_type_exists`, …) and the read is
/// of the same (flavorless) root type, or of a `___flavor` type — the
/// pattern libbpf-tools uses for layouts that differ between kernels
/// (`if (bpf_core_field_exists(rq->rq_disk)) … else … q___x->disk`). This
/// is a rule on the object's relocations, not the verifier's dead-code
/// analysis: a missing flavored read outside any guarded branch is
/// reported as a fallback too.
fn guarded(relo: &CoreRelocation, object: &BpfObject) -> bool {
    let root = flavorless(&relo.type_name);
    let flavored = root.len() != relo.type_name.len();
    object.core.iter().any(|other| {
        other.section == relo.section
            && other.kind.is_probe()
            && (flavored || flavorless(&other.type_name) == root)
    })
}

/// Definitions of `name` a CO-RE relocation of `type_kind` can match.
fn candidates<'f>(name: &str, type_kind: &str, facts: &'f ImageFacts) -> Vec<&'f TypeFacts> {
    let defs = facts.types.get(name).map(Vec::as_slice).unwrap_or(&[]);
    let mut out: Vec<&TypeFacts> = defs
        .iter()
        .filter(|d| match type_kind {
            "struct" | "union" => d.kind == "struct" || d.kind == "union",
            "enum" | "enum64" => d.kind == "enum",
            "typedef" => true,
            _ => false,
        })
        .collect();
    if type_kind == "typedef" {
        // A typedef's struct: keyed by the typedef's name when anonymous,
        // by its own name otherwise.
        let targets: Vec<&str> = out
            .iter()
            .filter_map(|d| d.target.as_deref().and_then(composite_name))
            .collect();
        for target in targets {
            out.extend(facts.types.get(target).into_iter().flatten());
        }
    }
    out
}

/// Whether `path` (a `type_members.path`) is `member` directly under
/// `prefix`, through anonymous members only.
fn member_matches(path: &str, prefix: &str, member: &str) -> bool {
    let Some(rest) = path.strip_prefix(prefix) else {
        return false;
    };
    let mut parts: Vec<&str> = rest.split('.').collect();
    parts.pop() == Some(member) && parts.iter().all(|p| *p == "(anon)")
}

/// How far a field access could be followed through an image's rows.
enum Walk {
    /// Every member of the access is there.
    Found,
    /// A member is missing: what the image lacks.
    Missing(String),
    /// The access goes on inside a named member of anonymous type
    /// (`in6_addr::in6_u`, a `union {...}`), whose own members
    /// `type_members` does not list: checked up to that member.
    Partial(String),
}

/// Walks a field access through the image's definitions.
fn walk(relo: &CoreRelocation, roots: Vec<&TypeFacts>, facts: &ImageFacts) -> Walk {
    let mut current = roots;
    let mut prefix = String::new();
    let mut where_ = flavorless(&relo.type_name).to_owned();
    let mut opaque: Option<String> = None;
    for step in &relo.steps {
        let Some(member) = &step.member else {
            continue;
        };
        if let Some(member_path) = &opaque {
            return Walk::Partial(format!(
                "checked up to {member_path}: the members of its anonymous type are not in the dataset"
            ));
        }
        let found = current.iter().find_map(|def| {
            def.members
                .iter()
                .find(|(path, _)| member_matches(path, &prefix, member))
                .map(|(path, ty)| (*def, path.clone(), ty.clone()))
        });
        let Some((def, path, type_text)) = found else {
            return Walk::Missing(format!("{where_} has no member {member}"));
        };
        if type_text.contains("{...}") && !type_text.contains('*') {
            // Anonymous members are listed under the named type; a named
            // member of anonymous type is not expanded.
            let nested = format!("{path}.");
            if def.members.iter().any(|(p, _)| p.starts_with(&nested)) {
                current = vec![def];
                prefix = nested;
            } else {
                opaque = Some(format!("{where_}::{path}"));
            }
        } else if let Some(next) = composite_name(&type_text) {
            current = candidates(next, "typedef", facts);
            prefix.clear();
            where_ = next.to_owned();
        } else {
            current = Vec::new();
            where_ = format!("{where_}::{member} ({type_text})");
        }
    }
    Walk::Found
}

/// The verdict of one CO-RE relocation of `object` on one image.
pub fn core(relo: &CoreRelocation, object: &BpfObject, facts: &ImageFacts) -> Verdict {
    let root = flavorless(&relo.type_name);
    if root.is_empty() {
        return Verdict::new(
            Outcome::Unchecked,
            "not_modelled",
            format!("{}: anonymous root type", relo.spelling),
        );
    }
    if !matches!(
        relo.type_kind.as_str(),
        "struct" | "union" | "enum" | "enum64" | "typedef"
    ) {
        return Verdict::new(
            Outcome::Ok,
            "ok",
            format!(
                "{}: a {} needs no kernel type",
                relo.spelling, relo.type_kind
            ),
        );
    }
    let roots = candidates(root, &relo.type_kind, facts);
    let missing: Option<(&'static str, String)> = match relo.kind {
        CoreKind::FieldByteOffset
        | CoreKind::FieldByteSize
        | CoreKind::FieldExists
        | CoreKind::FieldSigned
        | CoreKind::FieldLshiftU64
        | CoreKind::FieldRshiftU64 => {
            if roots.is_empty() {
                Some(("type_missing", format!("no {} {root}", relo.type_kind)))
            } else {
                match walk(relo, roots, facts) {
                    Walk::Found => None,
                    Walk::Missing(why) => Some(("field_missing", why)),
                    Walk::Partial(why) => {
                        return Verdict::new(
                            Outcome::Unchecked,
                            "not_modelled",
                            format!("{}: {why}", relo.spelling),
                        )
                    }
                }
            }
        }
        CoreKind::TypeIdLocal => None,
        CoreKind::TypeIdTarget
        | CoreKind::TypeExists
        | CoreKind::TypeSize
        | CoreKind::TypeMatches => roots
            .is_empty()
            .then(|| ("type_missing", format!("no {} {root}", relo.type_kind))),
        CoreKind::EnumvalExists | CoreKind::EnumvalValue => {
            let enumerator = relo.enumerator.as_deref().unwrap_or("");
            if roots.is_empty() {
                Some(("type_missing", format!("no enum {root}")))
            } else if roots
                .iter()
                .any(|d| d.enumerators.iter().any(|(n, _)| n == enumerator))
            {
                None
            } else {
                Some((
                    "enumerator_missing",
                    format!("enum {root} has no {enumerator}"),
                ))
            }
        }
    };
    let Some((class, why)) = missing else {
        return Verdict::new(Outcome::Ok, "ok", relo.spelling.clone());
    };
    if relo.kind.is_probe() {
        return Verdict::new(
            Outcome::Fallback,
            "probe_false",
            format!(
                "{}: {why}; the probe is 0 and the program takes its fallback",
                relo.spelling
            ),
        );
    }
    if guarded(relo, object) {
        return Verdict::new(
            Outcome::Fallback,
            "guarded",
            format!(
                "{}: {why}; in a branch guarded by a CO-RE probe, dropped as dead code",
                relo.spelling
            ),
        );
    }
    Verdict::new(
        Outcome::Hard,
        class,
        format!(
            "{}: {why}; the CO-RE relocation fails the load",
            relo.spelling
        ),
    )
}

/// The verdict of a `.ksyms` function extern (a kfunc call).
pub fn kfunc(name: &str, weak: bool, facts: &ImageFacts) -> Verdict {
    if facts.kfuncs.contains(name) {
        return Verdict::new(Outcome::Ok, "ok", format!("kfunc {name}"));
    }
    if facts.kind_errors.contains_key("kfunc") {
        return kind_error("kfunc", facts);
    }
    if weak {
        Verdict::new(
            Outcome::Fallback,
            "weak_missing",
            format!("no kfunc {name}: the weak extern is NULL; calls must be guarded by bpf_ksym_exists"),
        )
    } else {
        Verdict::new(
            Outcome::Hard,
            "absent",
            format!("no kfunc {name}: the load fails"),
        )
    }
}

/// The verdict of a `.kconfig` extern.
pub fn kconfig(name: &str, weak: bool, facts: &ImageFacts) -> Verdict {
    if name == "LINUX_KERNEL_VERSION" || name.starts_with("LINUX_HAS_") {
        return Verdict::new(Outcome::Ok, "ok", format!("{name}: provided by libbpf"));
    }
    match facts.kconfig.get(name) {
        Some(Some(value)) => Verdict::new(Outcome::Ok, "ok", format!("{name}={value}")),
        None if !facts.has_kconfig => Verdict::new(
            Outcome::Unchecked,
            "kind_error",
            "the image has no build configuration in the dataset",
        ),
        // libbpf reads only `CONFIG_X=value` lines: an option `is not set`
        // is as unresolved as one the configuration never mentions.
        unset => {
            let state = if unset.is_some() {
                "is not set"
            } else {
                "is not in the configuration"
            };
            if weak {
                Verdict::new(
                    Outcome::Fallback,
                    "weak_missing",
                    format!("{name} {state}: the weak extern reads as 0"),
                )
            } else {
                Verdict::new(
                    Outcome::Hard,
                    "option_missing",
                    format!("{name} {state}: libbpf refuses the unresolved strong extern"),
                )
            }
        }
    }
}

/// How `this` prototype differs from `reference` for a program reading
/// the function's arguments by position (`PT_REGS_PARMn`, `BPF_PROG`):
/// with `params`, each parameter whose type changed, was added or was
/// removed; with `ret` (a return probe), the return type. `None` when nothing a program
/// sees changed (parameter names may).
pub fn signature_change(
    reference: &Prototype,
    this: &Prototype,
    params: bool,
    ret: bool,
) -> Option<String> {
    let mut changes = Vec::new();
    let n = if params {
        reference.params.len().max(this.params.len())
    } else {
        0
    };
    for i in 0..n {
        match (reference.params.get(i), this.params.get(i)) {
            (Some(a), Some(b)) if a != b => {
                changes.push(format!("parameter {} `{a}` → `{b}`", i + 1))
            }
            (Some(a), None) => changes.push(format!("parameter {} `{a}` removed", i + 1)),
            (None, Some(b)) => changes.push(format!("parameter {} `{b}` added", i + 1)),
            _ => {}
        }
    }
    if params && reference.varargs != this.varargs {
        changes.push(format!(
            "varargs {}",
            if this.varargs { "added" } else { "removed" }
        ));
    }
    if ret && reference.return_type != this.return_type {
        changes.push(format!(
            "return type `{}` → `{}`",
            reference.return_type.as_deref().unwrap_or("?"),
            this.return_type.as_deref().unwrap_or("?")
        ));
    }
    (!changes.is_empty()).then(|| changes.join(", "))
}
