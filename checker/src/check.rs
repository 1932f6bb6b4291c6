//! The whole check of a set of objects against a set of images: every
//! dependency × image verdict, each program's outcome, and each object's
//! outcome with alternatives taken into account. Pure: the facts are read
//! beforehand ([`crate::facts::read`]), so the result depends on its
//! inputs alone and is the same whatever the thread count.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::deps::{Attach, BpfObject, CoreRelocation};
use crate::facts::ImageFacts;
use crate::verdict::{self, attach_target, Outcome, Verdict};

/// One dependency of an object, with its verdict on every image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DependencyCheck {
    /// `attach`, `core`, `kfunc`, `ksym` or `kconfig`.
    pub kind: &'static str,
    /// What is depended on: `kprobe vfs_read`, `tracepoint sched/sched_switch`,
    /// `task_struct::__state (field_byte_offset)`, `kfunc bpf_task_acquire`,
    /// `CONFIG_X`.
    pub name: String,
    /// The program section it belongs to (attach and CO-RE dependencies).
    pub section: Option<String>,
    /// For a CO-RE dependency, the relocation itself (kind, root type,
    /// access string, the members it walks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relocation: Option<CoreRelocation>,
    /// One verdict per image, in the check's image order.
    pub verdicts: Vec<Verdict>,
}

/// One program's outcome per image: the worst of its attach verdict and
/// the CO-RE relocations of its section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProgramCheck {
    pub name: String,
    pub section: String,
    /// What it attaches to, for grouping alternatives (`function vfs_read`).
    pub target: Option<String>,
    pub outcomes: Vec<Outcome>,
    /// For a kprobe or fentry-family program on a named function, per
    /// image, DepSurf's letters for that function ([`depsurf_letters`]);
    /// empty for other programs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depsurf: Vec<String>,
}

/// One object checked against every image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ObjectCheck {
    pub label: String,
    pub notes: Vec<String>,
    pub programs: Vec<ProgramCheck>,
    pub dependencies: Vec<DependencyCheck>,
    /// Per image: the worst of what every program loads with — the
    /// object's externs and the CO-RE relocations of code outside the
    /// program sections (`.text` subprograms): a failure there fails the
    /// whole object, whatever the program rows say.
    pub shared: Vec<Outcome>,
    /// Per image: the worst, over attach targets, of the best program
    /// attaching to that target (a tool that loads `fentry/x` where it
    /// attaches and `kprobe/x` elsewhere works when one of them does), and
    /// of the object's externs and of CO-RE relocations outside programs.
    pub outcomes: Vec<Outcome>,
}

/// Checks `object` against the images whose facts are given, in order.
pub fn check_object(object: &BpfObject, images: &[ImageFacts]) -> ObjectCheck {
    let n = images.len();
    let mut dependencies = Vec::new();
    let mut programs = Vec::new();
    let mut section_worst: BTreeMap<&str, Vec<Outcome>> = BTreeMap::new();

    // CO-RE relocations, one row per distinct (section, kind, root, access).
    let mut seen = std::collections::BTreeSet::new();
    for relo in &object.core {
        let key = (
            relo.section.as_str(),
            relo.kind,
            relo.type_name.as_str(),
            relo.access.as_str(),
        );
        if !seen.insert(key) {
            continue;
        }
        let verdicts: Vec<Verdict> = images
            .iter()
            .map(|facts| verdict::core(relo, object, facts))
            .collect();
        let worst = section_worst
            .entry(relo.section.as_str())
            .or_insert_with(|| vec![Outcome::Ok; n]);
        for (w, v) in worst.iter_mut().zip(&verdicts) {
            *w = (*w).max(v.outcome);
        }
        dependencies.push(DependencyCheck {
            kind: "core",
            name: format!("{} ({})", relo.spelling, kind_name(relo.kind)),
            section: Some(relo.section.clone()),
            relocation: Some(relo.clone()),
            verdicts,
        });
    }

    for program in &object.programs {
        let mut verdicts: Vec<Verdict> = images
            .iter()
            .map(|facts| verdict::attach(&program.attach, facts))
            .collect();
        mark_signature_changes(&program.attach, images, &mut verdicts);
        let core = section_worst.get(program.section.as_str());
        let outcomes = verdicts
            .iter()
            .enumerate()
            .map(|(i, v)| v.outcome.max(core.map_or(Outcome::Ok, |c| c[i])))
            .collect();
        dependencies.push(DependencyCheck {
            kind: "attach",
            name: attach_name(&program.attach),
            section: Some(program.section.clone()),
            relocation: None,
            verdicts,
        });
        programs.push(ProgramCheck {
            name: program.name.clone(),
            section: program.section.clone(),
            target: attach_target(&program.attach),
            outcomes,
            depsurf: match &program.attach {
                Attach::Kprobe { function, .. } | Attach::Fentry { function, .. }
                    if !function.is_empty() && !verdict::is_placeholder(function) =>
                {
                    depsurf_letters(function, images)
                }
                _ => Vec::new(),
            },
        });
    }

    let mut outcomes = vec![Outcome::Ok; n];
    for ksym in &object.ksyms {
        let verdicts: Vec<Verdict> = images
            .iter()
            .map(|facts| {
                if ksym.function {
                    verdict::kfunc(&ksym.name, ksym.weak, facts)
                } else {
                    Verdict {
                        outcome: Outcome::Unchecked,
                        class: "not_modelled",
                        reason: format!(
                            "kernel variable {}: variables are not in the dataset yet",
                            ksym.name
                        ),
                    }
                }
            })
            .collect();
        merge(&mut outcomes, &verdicts);
        dependencies.push(DependencyCheck {
            kind: if ksym.function { "kfunc" } else { "ksym" },
            name: ksym.name.clone(),
            section: None,
            relocation: None,
            verdicts,
        });
    }
    for option in &object.kconfig {
        let verdicts: Vec<Verdict> = images
            .iter()
            .map(|facts| verdict::kconfig(&option.name, option.weak, facts))
            .collect();
        merge(&mut outcomes, &verdicts);
        dependencies.push(DependencyCheck {
            kind: "kconfig",
            name: option.name.clone(),
            section: None,
            relocation: None,
            verdicts,
        });
    }
    // CO-RE relocations of code that is no program (subprograms in .text
    // are linked into every program calling them).
    for (section, worst) in &section_worst {
        if !object.programs.iter().any(|p| p.section == *section) {
            for (o, w) in outcomes.iter_mut().zip(worst) {
                *o = (*o).max(*w);
            }
        }
    }
    let shared = outcomes.clone();
    // Alternatives: per target, the best program.
    let mut by_target: BTreeMap<&str, Vec<Outcome>> = BTreeMap::new();
    for program in &programs {
        let Some(target) = program.target.as_deref() else {
            continue;
        };
        let best = by_target
            .entry(target)
            .or_insert_with(|| vec![Outcome::Hard; n]);
        for (b, o) in best.iter_mut().zip(&program.outcomes) {
            *b = (*b).min(*o);
        }
    }
    for best in by_target.values() {
        for (o, b) in outcomes.iter_mut().zip(best) {
            *o = (*o).max(*b);
        }
    }
    ObjectCheck {
        label: object.label.clone(),
        notes: object.notes.clone(),
        programs,
        dependencies,
        shared,
        outcomes,
    }
}

/// DepSurf's letters for `function` on each image, in its order:
/// `∅` when the vmlinux has no such function (a module's is not
/// DepSurf's), else `Δ` when its prototype differs from the first image's
/// that has one, then `D` (static duplication) or `C` (static-static or
/// static-global collision), `F` (fully inlined) or `S` (selectively
/// inlined), `T` (transformed: a clone suffix); empty when none applies or
/// the image has no `functions` row for it (a symbol without DWARF).
pub fn depsurf_letters(function: &str, images: &[ImageFacts]) -> Vec<String> {
    let reference = reference_prototype(function, images).map(|(_, p)| p);
    images
        .iter()
        .map(|f| {
            let present = f.functions.contains_key(function)
                || f.shapes.contains_key(function)
                || f.symbols_only.contains_key(function);
            if !present {
                return "∅".to_owned();
            }
            let mut out = String::new();
            if let (Some(reference), Some(this)) = (reference, f.prototypes.get(function)) {
                if this != reference {
                    out.push('Δ');
                }
            }
            if let Some(shape) = f.shapes.get(function) {
                match shape.collision_type.as_str() {
                    "Static Duplication" => out.push('D'),
                    "Static-Static Collision" | "Static-Global Collision" => out.push('C'),
                    _ => {}
                }
                match shape.inline_type.as_str() {
                    "Full" => out.push('F'),
                    "Selective" => out.push('S'),
                    _ => {}
                }
                if shape.transformed {
                    out.push('T');
                }
            }
            out
        })
        .collect()
}

/// The first image (in check order) with a prototype of `function`, and
/// that prototype: what `Δ` and `signature_changed` compare against.
fn reference_prototype<'a>(
    function: &str,
    images: &'a [ImageFacts],
) -> Option<(usize, &'a crate::facts::Prototype)> {
    images
        .iter()
        .enumerate()
        .find_map(|(i, f)| f.prototypes.get(function).map(|p| (i, p)))
}

/// A kprobe or fentry-family program on a function whose prototype
/// differs from the one in the first image (in check order) that has it:
/// where the attach itself works, the verdict becomes silent, class
/// `signature_changed`, naming the parameters that moved. DepSurf's Δ,
/// for the one dependency a program has.
fn mark_signature_changes(attach: &Attach, images: &[ImageFacts], verdicts: &mut [Verdict]) {
    use crate::deps::FentryMode;
    // What the program can see: a kprobe or fentry the arguments, a
    // kretprobe the return value only, fexit and fmod_ret both.
    let (function, params, ret) = match attach {
        Attach::Kprobe { function, ret, .. } => (function, !*ret, *ret),
        Attach::Fentry { function, mode } => (function, true, *mode != FentryMode::Fentry),
        _ => return,
    };
    let Some((first, reference)) = reference_prototype(function, images) else {
        return;
    };
    let reference_image = images[first]
        .image
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    for (facts, v) in images.iter().zip(verdicts.iter_mut()).skip(first + 1) {
        if !matches!(v.outcome, Outcome::Ok | Outcome::Silent) {
            continue;
        }
        let Some(this) = facts.prototypes.get(function) else {
            continue;
        };
        if let Some(change) = verdict::signature_change(reference, this, params, ret) {
            *v = Verdict {
                outcome: Outcome::Silent,
                class: "signature_changed",
                reason: format!(
                    "{function} changed since {reference_image}: {change}; a program written for the earlier prototype reads other data ({})",
                    v.reason
                ),
            };
        }
    }
}

fn merge(outcomes: &mut [Outcome], verdicts: &[Verdict]) {
    for (o, v) in outcomes.iter_mut().zip(verdicts) {
        *o = (*o).max(v.outcome);
    }
}

/// `kprobe vfs_read`, `fexit do_exit`, `tracepoint sched/sched_switch`, …
pub fn attach_name(attach: &Attach) -> String {
    use crate::deps::FentryMode;
    match attach {
        Attach::Kprobe {
            function,
            offset,
            ret,
        } => {
            let kind = if *ret { "kretprobe" } else { "kprobe" };
            if *offset > 0 {
                format!("{kind} {function}+{offset:#x}")
            } else {
                format!("{kind} {function}")
            }
        }
        Attach::KprobeMulti { pattern, ret } => {
            format!(
                "{} {pattern}",
                if *ret {
                    "kretprobe.multi"
                } else {
                    "kprobe.multi"
                }
            )
        }
        Attach::Ksyscall { syscall, ret } => {
            format!(
                "{} {syscall}",
                if *ret { "kretsyscall" } else { "ksyscall" }
            )
        }
        Attach::Fentry { function, mode } => {
            let kind = match mode {
                FentryMode::Fentry => "fentry",
                FentryMode::Fexit => "fexit",
                FentryMode::FmodRet => "fmod_ret",
            };
            format!("{kind} {function}")
        }
        Attach::Tracepoint { system, name } => format!("tracepoint {system}/{name}"),
        Attach::RawTracepoint { name, btf } => {
            format!("{} {name}", if *btf { "tp_btf" } else { "raw_tp" })
        }
        Attach::Lsm { hook, .. } => format!("lsm {hook}"),
        Attach::Iter { target } => format!("iter {target}"),
        Attach::StructOps { name } => format!("struct_ops {name}"),
        Attach::NotKernel { convention } => convention.clone(),
        Attach::Unknown => "unknown".to_owned(),
    }
}

fn kind_name(kind: crate::deps::CoreKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
