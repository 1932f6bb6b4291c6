//! Comparing one function name between two images: added or removed, and
//! for a name in both, the signature changes of each instance. Instances
//! are matched one to one (a colliding static with the static of the same
//! declaration file, then of the same compile unit), never by "the first
//! instance with that name".

use crate::model::{Change, ChangeKind, Instance, Param, Presence};

/// The changes of one name from `old` to `new` ([`compare`]), where the
/// vmlinux is not the only place a function can be: a name that leaves
/// the vmlinux while a module of the newer image defines it
/// (`new_modules`) moved to that module ([`ChangeKind::MovedToModule`])
/// rather than being removed, and one that enters the vmlinux from a
/// module of the older image moved to the vmlinux. `old`/`new` of a move
/// are `vmlinux` and the modules joined by `, `.
pub fn compare_placed(
    old: Option<&Presence>,
    old_modules: &[String],
    new: Option<&Presence>,
    new_modules: &[String],
) -> Vec<Change> {
    let moved = |kind, from: String, to: String| Change {
        kind,
        decl_file: None,
        cu_path: None,
        param: None,
        old: Some(from),
        new: Some(to),
    };
    match (old, new) {
        (Some(_), None) if !new_modules.is_empty() => vec![moved(
            ChangeKind::MovedToModule,
            "vmlinux".to_owned(),
            new_modules.join(", "),
        )],
        (None, Some(_)) if !old_modules.is_empty() => vec![moved(
            ChangeKind::MovedToVmlinux,
            old_modules.join(", "),
            "vmlinux".to_owned(),
        )],
        _ => compare(old, new),
    }
}

/// The changes of one name from `old` to `new`.
pub fn compare(old: Option<&Presence>, new: Option<&Presence>) -> Vec<Change> {
    match (old, new) {
        (None, None) => Vec::new(),
        (None, Some(n)) => vec![Change {
            kind: ChangeKind::FunctionAdded,
            decl_file: None,
            cu_path: None,
            param: None,
            old: None,
            new: n.prototypes().into_iter().next(),
        }],
        (Some(o), None) => vec![Change {
            kind: ChangeKind::FunctionRemoved,
            decl_file: None,
            cu_path: None,
            param: None,
            old: o.prototypes().into_iter().next(),
            new: None,
        }],
        (Some(o), Some(n)) => {
            let mut changes: Vec<Change> = match_instances(&o.instances, &n.instances)
                .into_iter()
                .flat_map(|(i, j)| compare_signatures(&o.instances[i], &n.instances[j]))
                .collect();
            changes.extend(compare_attach(o, n));
            changes
        }
    }
}

/// The changes of how a name present on both sides is compiled and
/// attached: inline type, collision type, entry symbol names, kprobe and
/// fentry verdicts (the last two only when both sides have verdicts).
pub fn compare_attach(old: &Presence, new: &Presence) -> Vec<Change> {
    let whole = |kind, o: String, n: String| Change {
        kind,
        decl_file: None,
        cu_path: None,
        param: None,
        old: Some(o),
        new: Some(n),
    };
    let mut changes = Vec::new();
    if old.inline_type != new.inline_type {
        changes.push(whole(
            ChangeKind::InlineTypeChanged,
            old.inline_type.clone(),
            new.inline_type.clone(),
        ));
    }
    if old.collision_type != new.collision_type {
        changes.push(whole(
            ChangeKind::CollisionTypeChanged,
            old.collision_type.clone(),
            new.collision_type.clone(),
        ));
    }
    let (mut old_entries, mut new_entries) = (old.entry_symbols(), new.entry_symbols());
    if !old_entries.is_empty() && !new_entries.is_empty() {
        let (shown_old, shown_new) = (old_entries.join(", "), new_entries.join(", "));
        old_entries.sort_unstable();
        new_entries.sort_unstable();
        if old_entries != new_entries {
            changes.push(whole(ChangeKind::SymbolRenamed, shown_old, shown_new));
        }
    }
    if let (Some(o), Some(n)) = (&old.attach, &new.attach) {
        if o.kprobe != n.kprobe || o.kprobe_symbols != n.kprobe_symbols {
            changes.push(whole(
                ChangeKind::KprobeChanged,
                o.kprobe_text(),
                n.kprobe_text(),
            ));
        }
        if o.fentry != n.fentry {
            changes.push(whole(
                ChangeKind::FentryChanged,
                o.fentry_text(),
                n.fentry_text(),
            ));
        }
    }
    changes
}

/// Pairs of (old, new) instance indexes, in old order: the two only
/// instances; else the external ones; then statics with the same
/// declaration file and compile unit, the same declaration file, the same
/// compile unit; then the last one left on each side.
pub fn match_instances(old: &[Instance], new: &[Instance]) -> Vec<(usize, usize)> {
    type Same = fn(&Instance, &Instance) -> bool;
    let passes: [Same; 4] = [
        |a, b| a.external && b.external,
        |a, b| !a.external && !b.external && a.decl_file == b.decl_file && a.cu_path == b.cu_path,
        |a, b| !a.external && !b.external && a.decl_file.is_some() && a.decl_file == b.decl_file,
        |a, b| !a.external && !b.external && a.cu_path.is_some() && a.cu_path == b.cu_path,
    ];
    match_in_passes(old, new, &passes)
}

/// Pairs of (old, new) indexes, in old order, of the things of one name
/// on the two sides of a pair (function instances, type definitions): the
/// two only ones; else, pass by pass, each free old one with the first
/// free new one the pass calls the same; then the last one left on each
/// side. Unmatched ones are left out.
pub fn match_in_passes<T>(
    old: &[T],
    new: &[T],
    passes: &[fn(&T, &T) -> bool],
) -> Vec<(usize, usize)> {
    if old.len() == 1 && new.len() == 1 {
        return vec![(0, 0)];
    }
    let mut old_free: Vec<bool> = vec![true; old.len()];
    let mut new_free: Vec<bool> = vec![true; new.len()];
    let mut pairs = Vec::new();
    for same in passes {
        for (i, a) in old.iter().enumerate() {
            if !old_free[i] {
                continue;
            }
            if let Some(j) = (0..new.len()).find(|&j| new_free[j] && same(a, &new[j])) {
                old_free[i] = false;
                new_free[j] = false;
                pairs.push((i, j));
            }
        }
    }
    let left_old: Vec<usize> = (0..old.len()).filter(|&i| old_free[i]).collect();
    let left_new: Vec<usize> = (0..new.len()).filter(|&j| new_free[j]).collect();
    if let ([i], [j]) = (left_old.as_slice(), left_new.as_slice()) {
        pairs.push((*i, *j));
    }
    pairs.sort();
    pairs
}

/// The key a parameter is matched by: its name when every parameter on
/// both sides has a distinct name, else its position.
fn param_keys(old: &[Param], new: &[Param]) -> (Vec<String>, Vec<String>) {
    let named = |ps: &[Param]| {
        let names: Vec<&str> = ps.iter().filter_map(|p| p.name.as_deref()).collect();
        let mut distinct = names.clone();
        distinct.sort();
        distinct.dedup();
        names.len() == ps.len() && distinct.len() == names.len()
    };
    if named(old) && named(new) {
        let keys = |ps: &[Param]| {
            ps.iter()
                .map(|p| p.name.clone().unwrap_or_default())
                .collect()
        };
        (keys(old), keys(new))
    } else {
        let keys = |ps: &[Param]| (0..ps.len()).map(|i| format!("#{i}")).collect();
        (keys(old), keys(new))
    }
}

/// The signature changes between two matched instances (none when either
/// has no C prototype).
pub fn compare_signatures(old: &Instance, new: &Instance) -> Vec<Change> {
    let (Some(old_params), Some(new_params)) = (&old.params, &new.params) else {
        return Vec::new();
    };
    let mut changes = compare_prototypes(
        (old.return_type.as_deref(), old_params),
        (new.return_type.as_deref(), new_params),
    );
    changes.extend(moved_params(old_params, new_params));
    changes
        .into_iter()
        .map(|c| Change {
            kind: c.kind,
            decl_file: old.decl_file.clone(),
            cu_path: old.cu_path.clone(),
            param: c.param,
            old: c.old,
            new: c.new,
        })
        .collect()
}

/// `Param moved` for each parameter both sides have (matched like
/// [`compare_prototypes`] does) whose 1-based position differs while the
/// common parameters keep their relative order (a reorder is reported as
/// such instead): `old`/`new` are `arg 2` / `arg 3`.
fn moved_params(old: &[Param], new: &[Param]) -> Vec<PrototypeChange> {
    let (old_keys, new_keys) = param_keys(old, new);
    let common_old: Vec<&String> = old_keys.iter().filter(|k| new_keys.contains(k)).collect();
    let common_new: Vec<&String> = new_keys.iter().filter(|k| old_keys.contains(k)).collect();
    if common_old != common_new {
        return Vec::new();
    }
    old_keys
        .iter()
        .enumerate()
        .filter_map(|(i, key)| {
            let j = new_keys.iter().position(|k| k == key)?;
            (i != j).then(|| PrototypeChange {
                kind: ChangeKind::ParamMoved,
                param: old[i].name.clone().or_else(|| new[j].name.clone()),
                old: Some(format!("arg {}", i + 1)),
                new: Some(format!("arg {}", j + 1)),
            })
        })
        .collect()
}

/// One difference between two prototypes: a parameter added, removed or
/// retyped, the parameters reordered, or the return type changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrototypeChange {
    pub kind: ChangeKind,
    /// The parameter (added, removed, type changed).
    pub param: Option<String>,
    /// Old and new value: a type or a comma-separated parameter list.
    pub old: Option<String>,
    pub new: Option<String>,
}

/// The differences between two prototypes, each a return type (`None`
/// when unknown) and a parameter list: parameters are matched by name
/// when every one on both sides has a distinct name, else by position.
/// Shared by functions, kfuncs, LSM hooks and tracepoint arguments.
pub fn compare_prototypes(
    (old_return, old_params): (Option<&str>, &[Param]),
    (new_return, new_params): (Option<&str>, &[Param]),
) -> Vec<PrototypeChange> {
    let change =
        |kind, param: Option<String>, o: Option<String>, n: Option<String>| PrototypeChange {
            kind,
            param,
            old: o,
            new: n,
        };
    let (old_keys, new_keys) = param_keys(old_params, new_params);
    let mut changes = Vec::new();
    for (j, key) in new_keys.iter().enumerate() {
        if !old_keys.contains(key) {
            let p = &new_params[j];
            changes.push(change(
                ChangeKind::ParamAdded,
                p.name.clone(),
                None,
                Some(p.ty.clone()),
            ));
        }
    }
    for (i, key) in old_keys.iter().enumerate() {
        if !new_keys.contains(key) {
            let p = &old_params[i];
            changes.push(change(
                ChangeKind::ParamRemoved,
                p.name.clone(),
                Some(p.ty.clone()),
                None,
            ));
        }
    }
    let common_old: Vec<&String> = old_keys.iter().filter(|k| new_keys.contains(k)).collect();
    let common_new: Vec<&String> = new_keys.iter().filter(|k| old_keys.contains(k)).collect();
    if common_old != common_new {
        let list = |ps: &[Param], keys: &[String]| {
            ps.iter()
                .zip(keys)
                .map(|(p, k)| p.name.clone().unwrap_or_else(|| k.clone()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        changes.push(change(
            ChangeKind::ParamReordered,
            None,
            Some(list(old_params, &old_keys)),
            Some(list(new_params, &new_keys)),
        ));
    }
    for (i, key) in old_keys.iter().enumerate() {
        if let Some(j) = new_keys.iter().position(|k| k == key) {
            let (o, n) = (&old_params[i], &new_params[j]);
            if o.ty != n.ty {
                changes.push(change(
                    ChangeKind::ParamTypeChanged,
                    o.name.clone().or_else(|| n.name.clone()),
                    Some(o.ty.clone()),
                    Some(n.ty.clone()),
                ));
            }
        }
    }
    if old_return != new_return {
        changes.push(change(
            ChangeKind::ReturnTypeChanged,
            None,
            old_return.map(str::to_owned),
            new_return.map(str::to_owned),
        ));
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(
        file: &str,
        cu: &str,
        external: bool,
        ret: &str,
        params: &[(&str, &str)],
    ) -> Instance {
        Instance {
            external,
            decl_file: Some(file.to_owned()),
            decl_line: Some(1),
            cu_path: Some(cu.to_owned()),
            inline_status: "seen, unknown".to_owned(),
            defined: true,
            addr: Some(0x10),
            inline_callers: vec![],
            direct_callers: vec![],
            prototype: Some("p".to_owned()),
            return_type: Some(ret.to_owned()),
            params: Some(
                params
                    .iter()
                    .map(|(n, t)| Param {
                        name: Some((*n).to_owned()),
                        ty: (*t).to_owned(),
                    })
                    .collect(),
            ),
            varargs: false,
            discarded: false,
        }
    }

    type Row<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);

    fn kinds(changes: &[Change]) -> Vec<Row<'_>> {
        changes
            .iter()
            .map(|c| {
                (
                    c.kind.as_str(),
                    c.param.as_deref(),
                    c.old.as_deref(),
                    c.new.as_deref(),
                )
            })
            .collect()
    }

    fn present(prototype: &str) -> Presence {
        let mut i = instance("fs/xfs/xfs_file.c", "fs/xfs/xfs_file.c", true, "int", &[]);
        i.prototype = Some(prototype.to_owned());
        Presence {
            collision_type: "Unique Global".to_owned(),
            inline_type: "No".to_owned(),
            transform_suffixes: vec![],
            instances: vec![i],
            symbols: vec![],
            attach: None,
        }
    }

    #[test]
    fn a_function_leaving_the_vmlinux_for_a_module_moved() {
        let p = present("int f(void);");
        let xfs = ["xfs".to_owned()];
        let two = ["a".to_owned(), "b".to_owned()];
        assert_eq!(
            kinds(&compare_placed(Some(&p), &[], None, &xfs)),
            [("Moved to module", None, Some("vmlinux"), Some("xfs"))]
        );
        assert_eq!(
            kinds(&compare_placed(None, &two, Some(&p), &[])),
            [("Moved to vmlinux", None, Some("a, b"), Some("vmlinux"))]
        );
        // Without a module on the other side: removed and added.
        assert_eq!(
            kinds(&compare_placed(Some(&p), &xfs, None, &[])),
            [("Function removed", None, Some("int f(void);"), None)]
        );
        assert_eq!(
            kinds(&compare_placed(None, &[], Some(&p), &xfs)),
            [("Function added", None, None, Some("int f(void);"))]
        );
        // In the vmlinux on both sides (a module also defining it on one):
        // compared as before; in neither: nothing.
        assert_eq!(kinds(&compare_placed(Some(&p), &[], Some(&p), &xfs)), []);
        assert_eq!(kinds(&compare_placed(None, &xfs, None, &two)), []);
    }

    #[test]
    fn every_signature_change_kind() {
        let old = instance(
            "a.c",
            "a.c",
            true,
            "int",
            &[("a", "int"), ("b", "long int"), ("c", "char *")],
        );
        let new = instance(
            "a.c",
            "a.c",
            true,
            "void",
            &[("b", "long int"), ("a", "unsigned int"), ("d", "int")],
        );
        assert_eq!(
            kinds(&compare_signatures(&old, &new)),
            [
                ("Param added", Some("d"), None, Some("int")),
                ("Param removed", Some("c"), Some("char *"), None),
                ("Param reordered", None, Some("a, b, c"), Some("b, a, d")),
                (
                    "Param type changed",
                    Some("a"),
                    Some("int"),
                    Some("unsigned int")
                ),
                ("Return type changed", None, Some("int"), Some("void")),
            ]
        );
        assert_eq!(compare_signatures(&old, &old), []);
    }

    #[test]
    fn colliding_statics_match_by_declaration_file_not_position() {
        // old: core.c then sched.c; new: sched.c only, with a second param.
        let core = instance(
            "kernel/core.c",
            "kernel/core.c",
            false,
            "int",
            &[("x", "int")],
        );
        let sched_old = instance(
            "kernel/sched.c",
            "kernel/sched.c",
            false,
            "int",
            &[("x", "int"), ("y", "int")],
        );
        let sched_new = sched_old.clone();
        assert_eq!(
            match_instances(
                &[core.clone(), sched_old.clone()],
                std::slice::from_ref(&sched_new)
            ),
            [(1, 0)]
        );
        let presence = |instances: Vec<Instance>| Presence {
            collision_type: String::new(),
            inline_type: "No".to_owned(),
            transform_suffixes: vec![],
            instances,
            symbols: vec![],
            attach: None,
        };
        // The first-instance comparison would report "Param added y" here.
        assert_eq!(
            compare(
                Some(&presence(vec![core, sched_old])),
                Some(&presence(vec![sched_new]))
            ),
            []
        );
    }

    #[test]
    fn header_duplicates_match_by_compile_unit() {
        let a = instance("include/h.h", "a.c", false, "int", &[("x", "int")]);
        let b = instance("include/h.h", "b.c", false, "int", &[("x", "int")]);
        let b2 = instance("include/h.h", "b.c", false, "int", &[("x", "long int")]);
        let changes = compare(
            Some(&Presence {
                collision_type: String::new(),
                inline_type: String::new(),
                transform_suffixes: vec![],
                instances: vec![a.clone(), b],
                symbols: vec![],
                attach: None,
            }),
            Some(&Presence {
                collision_type: String::new(),
                inline_type: String::new(),
                transform_suffixes: vec![],
                instances: vec![a, b2],
                symbols: vec![],
                attach: None,
            }),
        );
        assert_eq!(
            kinds(&changes),
            [(
                "Param type changed",
                Some("x"),
                Some("int"),
                Some("long int")
            )]
        );
        assert_eq!(changes[0].cu_path.as_deref(), Some("b.c"));
    }

    /// `vfs_unlink` from 5.10 to 6.1: `mnt_userns` in front moves every
    /// other parameter one place.
    #[test]
    fn a_parameter_in_front_moves_the_others() {
        let old = instance(
            "fs/namei.c",
            "fs/namei.c",
            true,
            "int",
            &[
                ("dir", "struct inode *"),
                ("dentry", "struct dentry *"),
                ("delegated_inode", "struct inode **"),
            ],
        );
        let new = instance(
            "fs/namei.c",
            "fs/namei.c",
            true,
            "int",
            &[
                ("mnt_userns", "struct user_namespace *"),
                ("dir", "struct inode *"),
                ("dentry", "struct dentry *"),
                ("delegated_inode", "struct inode **"),
            ],
        );
        assert_eq!(
            kinds(&compare_signatures(&old, &new)),
            [
                (
                    "Param added",
                    Some("mnt_userns"),
                    None,
                    Some("struct user_namespace *")
                ),
                ("Param moved", Some("dir"), Some("arg 1"), Some("arg 2")),
                ("Param moved", Some("dentry"), Some("arg 2"), Some("arg 3")),
                (
                    "Param moved",
                    Some("delegated_inode"),
                    Some("arg 3"),
                    Some("arg 4")
                ),
            ]
        );
        // A reorder is reported as such, not as moves.
        let swapped = instance("a.c", "a.c", true, "int", &[("b", "int"), ("a", "int")]);
        let plain = instance("a.c", "a.c", true, "int", &[("a", "int"), ("b", "int")]);
        assert_eq!(
            kinds(&compare_signatures(&plain, &swapped)),
            [("Param reordered", None, Some("a, b"), Some("b, a"))]
        );
    }

    /// `finish_task_switch` from 5.10 to 6.1: the symbol becomes an ISRA
    /// clone, the kprobe moves to it and fentry is lost.
    #[test]
    fn attach_changes_of_a_renamed_symbol() {
        use crate::model::{Attach, Symbol};
        let symbol = |name: &str| Symbol {
            name: name.to_owned(),
            addr: 0x1000,
            size: 0x10,
            binding: "STB_LOCAL".to_owned(),
            section: ".text".to_owned(),
        };
        let presence = |inline: &str, symbols: Vec<Symbol>, attach: Attach| Presence {
            collision_type: "Unique Static".to_owned(),
            inline_type: inline.to_owned(),
            transform_suffixes: vec![],
            instances: vec![],
            symbols,
            attach: Some(attach),
        };
        let old = presence(
            "No",
            vec![symbol("finish_task_switch")],
            Attach {
                kprobe: "yes".into(),
                kprobe_symbols: vec!["finish_task_switch".into()],
                kprobe_reason: "symbol finish_task_switch".into(),
                fentry: true,
                fentry_reason: "in .BTF with an ftrace call site".into(),
            },
        );
        let new = presence(
            "Selective",
            vec![symbol("finish_task_switch.isra.0"), symbol("finish_task_switch.isra.0.cold")],
            Attach {
                kprobe: "yes".into(),
                kprobe_symbols: vec!["finish_task_switch.isra.0".into()],
                kprobe_reason: "clone finish_task_switch.isra.0: the source name has no usable symbol".into(),
                fentry: false,
                fentry_reason: "not in .BTF: no symbol named finish_task_switch, only finish_task_switch.isra.0".into(),
            },
        );
        assert_eq!(
            kinds(&compare(Some(&old), Some(&new))),
            [
                ("Inline type changed", None, Some("No"), Some("Selective")),
                ("Symbol renamed", None, Some("finish_task_switch"), Some("finish_task_switch.isra.0")),
                (
                    "Kprobe changed",
                    None,
                    Some("yes: symbol finish_task_switch"),
                    Some("yes: clone finish_task_switch.isra.0: the source name has no usable symbol")
                ),
                (
                    "Fentry changed",
                    None,
                    Some("yes: in .BTF with an ftrace call site"),
                    Some("no: not in .BTF: no symbol named finish_task_switch, only finish_task_switch.isra.0")
                ),
            ]
        );
        // Nothing changed: nothing reported; no verdicts on one side: no
        // verdict changes.
        assert!(compare(Some(&old), Some(&old)).is_empty());
        let bare = Presence {
            attach: None,
            ..old.clone()
        };
        assert!(compare(Some(&bare), Some(&old)).is_empty());
    }
}
