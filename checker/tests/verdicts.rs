//! Verdicts from hand-built image facts: each class of verdict, the
//! guarded-read and alternative-program rules, and the object outcome.

use ksurf_checker::check::check_object;
use ksurf_checker::facts::{
    AttachFacts, ImageFacts, ModuleAttachFacts, ModuleFunctionFacts, SyscallFacts, TracepointFacts,
    TypeFacts,
};
use ksurf_checker::verdict::{self, Outcome};
use ksurf_checker::{
    Attach, BpfObject, CoreKind, CoreRelocation, CoreStep, FentryMode, KconfigExtern, Ksym, Program,
};

fn attach_row(
    kprobe: &str,
    symbols: &[&str],
    reason: &str,
    fentry: bool,
    fentry_reason: &str,
    inlined: u32,
) -> AttachFacts {
    AttachFacts {
        kprobe: kprobe.into(),
        kprobe_symbols: symbols.iter().map(|s| s.to_string()).collect(),
        kprobe_reason: reason.into(),
        fentry,
        fentry_reason: fentry_reason.into(),
        in_btf: Some(true),
        inlined_sites: inlined,
    }
}

fn struct_def(kind: &str, members: &[(&str, &str)]) -> TypeFacts {
    TypeFacts {
        kind: kind.into(),
        definition_hash: format!("{members:?}"),
        target: None,
        members: members
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect(),
        enumerators: Vec::new(),
    }
}

/// An image like 6.1: `task_struct` has `__state` (in an anonymous union)
/// and an embedded `se`; `finish_task_switch` is only a clone;
/// `blk_account_io_start` is inlined everywhere.
fn image_61() -> ImageFacts {
    let mut f = ImageFacts::default();
    f.functions.insert(
        "vfs_read".into(),
        attach_row(
            "yes",
            &["vfs_read"],
            "symbol vfs_read",
            true,
            "in .BTF with an ftrace call site",
            0,
        ),
    );
    f.functions.insert(
        "finish_task_switch".into(),
        attach_row(
            "yes",
            &["finish_task_switch.isra.0"],
            "clone finish_task_switch.isra.0: the source name has no usable symbol",
            false,
            "in .BTF, but no symbol named finish_task_switch (only finish_task_switch.isra.0): the verifier finds no address in kallsyms",
            0,
        ),
    );
    f.functions.insert(
        "blk_account_io_start".into(),
        attach_row(
            "no",
            &[],
            "no symbol: inlined at every call site (3)",
            false,
            "not in .BTF: no symbol",
            3,
        ),
    );
    f.functions.insert(
        "tcp_sendmsg".into(),
        attach_row(
            "yes",
            &["tcp_sendmsg"],
            "symbol tcp_sendmsg; misses 1 inlined call sites",
            true,
            "in .BTF with an ftrace call site; misses 1 inlined call sites",
            1,
        ),
    );
    f.functions.insert(
        "__x64_sys_openat".into(),
        attach_row(
            "yes",
            &["__x64_sys_openat"],
            "symbol __x64_sys_openat",
            true,
            "in .BTF with an ftrace call site",
            0,
        ),
    );
    f.syscalls.insert(
        "openat".into(),
        SyscallFacts {
            entry: "__x64_sys_openat".into(),
            implemented: true,
        },
    );
    f.tracepoints.insert(
        "sched_switch".into(),
        TracepointFacts {
            system: Some("sched".into()),
            has_event: true,
        },
    );
    f.tracepoints.insert(
        "sched_update_nr_running_tp".into(),
        TracepointFacts {
            system: None,
            has_event: false,
        },
    );
    f.lsm_hooks.insert("file_open".into(), true);
    f.kfuncs.insert("bpf_task_acquire".into());
    f.has_kconfig = true;
    f.kconfig.insert("CONFIG_HZ".into(), Some("250".into()));
    f.kconfig.insert("CONFIG_X_OFF".into(), None);
    f.types.insert(
        "task_struct".into(),
        vec![struct_def(
            "struct",
            &[
                ("(anon)", "union {...}"),
                ("(anon).__state", "unsigned int"),
                ("se", "struct sched_entity"),
                ("pid", "pid_t"),
            ],
        )],
    );
    f.types.insert(
        "sched_entity".into(),
        vec![struct_def(
            "struct",
            &[("load", "struct load_weight"), ("vruntime", "u64")],
        )],
    );
    f.types.insert(
        "bpf_func_id".into(),
        vec![TypeFacts {
            kind: "enum".into(),
            definition_hash: "e".into(),
            target: None,
            members: Vec::new(),
            enumerators: vec![
                ("BPF_FUNC_unspec".into(), 0),
                ("BPF_FUNC_map_lookup_elem".into(), 1),
            ],
        }],
    );
    f
}

fn program(name: &str, section: &str, attach: Attach) -> Program {
    Program {
        name: name.into(),
        section: section.into(),
        attach,
    }
}

fn field(section: &str, kind: CoreKind, root: &str, steps: &[(&str, &str)]) -> CoreRelocation {
    CoreRelocation {
        section: section.into(),
        insn_offset: 0,
        kind,
        type_kind: "struct".into(),
        type_name: root.into(),
        access: format!("0:{}", steps.len()),
        steps: steps
            .iter()
            .map(|(container, member)| CoreStep {
                container: container.to_string(),
                member: (!member.is_empty()).then(|| member.to_string()),
                index: None,
            })
            .collect(),
        enumerator: None,
        spelling: format!(
            "{root}::{}",
            steps
                .iter()
                .map(|(_, m)| *m)
                .filter(|m| !m.is_empty())
                .collect::<Vec<_>>()
                .join(".")
        ),
    }
}

fn classes(attach: &Attach, facts: &ImageFacts) -> (Outcome, &'static str) {
    let v = verdict::attach(attach, facts);
    (v.outcome, v.class)
}

#[test]
fn attach_verdicts_follow_function_attach() {
    let f = image_61();
    let kprobe = |name: &str| Attach::Kprobe {
        function: name.into(),
        offset: 0,
        ret: false,
    };
    let fentry = |name: &str| Attach::Fentry {
        function: name.into(),
        mode: FentryMode::Fentry,
    };
    assert_eq!(classes(&kprobe("vfs_read"), &f), (Outcome::Ok, "ok"));
    assert_eq!(
        classes(&kprobe("finish_task_switch"), &f),
        (Outcome::Hard, "renamed")
    );
    assert_eq!(
        verdict::attach(&kprobe("finish_task_switch"), &f).reason,
        "a kprobe on finish_task_switch fails: attach to finish_task_switch.isra.0 (clone finish_task_switch.isra.0: the source name has no usable symbol)"
    );
    assert_eq!(
        classes(&fentry("finish_task_switch"), &f),
        (Outcome::Hard, "renamed")
    );
    assert_eq!(
        classes(&kprobe("blk_account_io_start"), &f),
        (Outcome::Hard, "full_inline")
    );
    assert_eq!(
        classes(&fentry("blk_account_io_start"), &f),
        (Outcome::Hard, "full_inline")
    );
    assert_eq!(
        classes(&kprobe("tcp_sendmsg"), &f),
        (Outcome::Silent, "selective_inline")
    );
    assert_eq!(
        classes(&kprobe("no_such_fn"), &f),
        (Outcome::Hard, "absent")
    );
    assert_eq!(
        classes(
            &Attach::Ksyscall {
                syscall: "openat".into(),
                ret: false
            },
            &f
        ),
        (Outcome::Ok, "ok")
    );
    assert_eq!(
        verdict::attach(
            &Attach::Ksyscall {
                syscall: "openat".into(),
                ret: false
            },
            &f
        )
        .reason,
        "entry __x64_sys_openat: symbol __x64_sys_openat"
    );
    let tp = |system: &str, name: &str| Attach::Tracepoint {
        system: system.into(),
        name: name.into(),
    };
    assert_eq!(
        classes(&tp("sched", "sched_switch"), &f),
        (Outcome::Ok, "ok")
    );
    assert_eq!(
        classes(&tp("block", "sched_switch"), &f),
        (Outcome::Hard, "absent")
    );
    assert_eq!(
        classes(&tp("syscalls", "sys_enter_openat"), &f),
        (Outcome::Ok, "ok")
    );
    assert_eq!(
        classes(&tp("syscalls", "sys_exit_frob"), &f),
        (Outcome::Hard, "absent")
    );
    assert_eq!(
        classes(&tp("sched", "sched_update_nr_running_tp"), &f),
        (Outcome::Hard, "no_event")
    );
    assert_eq!(
        classes(
            &Attach::RawTracepoint {
                name: "sched_update_nr_running_tp".into(),
                btf: true
            },
            &f
        ),
        (Outcome::Ok, "ok")
    );
    assert_eq!(
        classes(
            &Attach::Lsm {
                hook: "file_open".into(),
                sleepable: false
            },
            &f
        ),
        (Outcome::Ok, "ok")
    );
    assert_eq!(
        classes(
            &Attach::Lsm {
                hook: "bprm_frob".into(),
                sleepable: false
            },
            &f
        ),
        (Outcome::Hard, "absent")
    );
    assert_eq!(
        classes(
            &Attach::NotKernel {
                convention: "uprobe".into()
            },
            &f
        ),
        (Outcome::Ok, "ok")
    );
    assert_eq!(
        classes(&Attach::Unknown, &f),
        (Outcome::Unchecked, "not_modelled")
    );
}

#[test]
fn a_tracepoint_table_that_could_not_be_read_leaves_its_names_unchecked() {
    let mut f = image_61();
    f.tracepoints.clear();
    f.kind_errors.insert(
        "tracepoint".into(),
        "vmlinux: __start_ftrace_events: bad".into(),
    );
    let v = verdict::attach(
        &Attach::Tracepoint {
            system: "sched".into(),
            name: "sched_switch".into(),
        },
        &f,
    );
    assert_eq!((v.outcome, v.class), (Outcome::Unchecked, "kind_error"));
    assert_eq!(
        v.reason,
        "the image's tracepoint table could not be read: vmlinux: __start_ftrace_events: bad"
    );
}

#[test]
fn core_relocations_walk_anonymous_and_embedded_members() {
    let f = image_61();
    let object = BpfObject::default();
    let check = |relo: &CoreRelocation| {
        let v = verdict::core(relo, &object, &f);
        (v.outcome, v.class, v.reason)
    };
    let state = field(
        "kprobe/x",
        CoreKind::FieldByteOffset,
        "task_struct",
        &[("task_struct", ""), ("", "__state")],
    );
    assert_eq!(
        check(&state),
        (Outcome::Ok, "ok", "task_struct::__state".into())
    );
    let vruntime = field(
        "kprobe/x",
        CoreKind::FieldByteOffset,
        "task_struct",
        &[("task_struct", "se"), ("sched_entity", "vruntime")],
    );
    assert_eq!(check(&vruntime).0, Outcome::Ok);
    let old_state = field(
        "kprobe/x",
        CoreKind::FieldByteOffset,
        "task_struct",
        &[("task_struct", "state")],
    );
    assert_eq!(
        check(&old_state),
        (
            Outcome::Hard,
            "field_missing",
            "task_struct::state: task_struct has no member state; the CO-RE relocation fails the load".into()
        )
    );
    let deep = field(
        "kprobe/x",
        CoreKind::FieldByteOffset,
        "task_struct",
        &[("task_struct", "se"), ("sched_entity", "nr_migrations")],
    );
    assert_eq!(
        check(&deep).2,
        "task_struct::se.nr_migrations: sched_entity has no member nr_migrations; the CO-RE relocation fails the load"
    );
    let exists = field(
        "kprobe/x",
        CoreKind::FieldExists,
        "task_struct",
        &[("task_struct", "state")],
    );
    assert_eq!(check(&exists).0, Outcome::Fallback);
    assert_eq!(check(&exists).1, "probe_false");
    let no_type = field(
        "kprobe/x",
        CoreKind::FieldByteOffset,
        "rq___new",
        &[("rq___new", "nr_running")],
    );
    assert_eq!(
        check(&no_type),
        (
            Outcome::Hard,
            "type_missing",
            "rq___new::nr_running: no struct rq; the CO-RE relocation fails the load".into()
        )
    );
}

#[test]
fn a_read_guarded_by_a_probe_of_its_type_is_a_fallback_not_a_failure() {
    let f = image_61();
    // libbpf-tools' pattern: probe task_struct::__state, else read
    // task_struct___o::state.
    let probe = field(
        "kprobe/x",
        CoreKind::FieldExists,
        "task_struct",
        &[("task_struct", ""), ("", "__state")],
    );
    let read_new = field(
        "kprobe/x",
        CoreKind::FieldByteOffset,
        "task_struct",
        &[("task_struct", ""), ("", "__state")],
    );
    let read_old = field(
        "kprobe/x",
        CoreKind::FieldByteOffset,
        "task_struct___o",
        &[("task_struct___o", "state")],
    );
    let object = BpfObject {
        label: "guarded.bpf.o".into(),
        programs: vec![program(
            "p",
            "kprobe/x",
            Attach::Kprobe {
                function: "vfs_read".into(),
                offset: 0,
                ret: false,
            },
        )],
        core: vec![probe, read_new, read_old.clone()],
        ..BpfObject::default()
    };
    let v = verdict::core(&read_old, &object, &f);
    assert_eq!((v.outcome, v.class), (Outcome::Fallback, "guarded"));
    let checked = check_object(&object, std::slice::from_ref(&f));
    assert_eq!(checked.outcomes, vec![Outcome::Fallback]);
    // The same read without the probe fails the program and the object.
    let unguarded = BpfObject {
        core: vec![read_old],
        ..object
    };
    let checked = check_object(&unguarded, &[f]);
    assert_eq!(checked.programs[0].outcomes, vec![Outcome::Hard]);
    assert_eq!(checked.outcomes, vec![Outcome::Hard]);
}

#[test]
fn alternatives_for_one_target_make_the_object_work_when_one_attaches() {
    let f = image_61();
    let object = BpfObject {
        label: "runqslower".into(),
        programs: vec![
            program(
                "a",
                "fentry/finish_task_switch",
                Attach::Fentry {
                    function: "finish_task_switch".into(),
                    mode: FentryMode::Fentry,
                },
            ),
            program(
                "b",
                "kprobe/finish_task_switch",
                Attach::Kprobe {
                    function: "finish_task_switch".into(),
                    offset: 0,
                    ret: false,
                },
            ),
            program(
                "c",
                "fentry/vfs_read",
                Attach::Fentry {
                    function: "vfs_read".into(),
                    mode: FentryMode::Fentry,
                },
            ),
            program(
                "d",
                "kprobe/vfs_read",
                Attach::Kprobe {
                    function: "vfs_read".into(),
                    offset: 0,
                    ret: false,
                },
            ),
        ],
        ..BpfObject::default()
    };
    let checked = check_object(&object, &[f]);
    let outcomes: Vec<Outcome> = checked.programs.iter().map(|p| p.outcomes[0]).collect();
    assert_eq!(
        outcomes,
        [Outcome::Hard, Outcome::Hard, Outcome::Ok, Outcome::Ok]
    );
    // finish_task_switch: neither alternative attaches by that name.
    assert_eq!(checked.outcomes, vec![Outcome::Hard]);
}

#[test]
fn externs_follow_kfuncs_and_kconfig() {
    let f = image_61();
    let v = |x: verdict::Verdict| (x.outcome, x.class);
    assert_eq!(
        v(verdict::kfunc("bpf_task_acquire", false, &f)),
        (Outcome::Ok, "ok")
    );
    assert_eq!(
        v(verdict::kfunc("bpf_frob", false, &f)),
        (Outcome::Hard, "absent")
    );
    assert_eq!(
        v(verdict::kfunc("bpf_frob", true, &f)),
        (Outcome::Fallback, "weak_missing")
    );
    assert_eq!(
        v(verdict::kconfig("CONFIG_HZ", false, &f)),
        (Outcome::Ok, "ok")
    );
    assert_eq!(
        v(verdict::kconfig("CONFIG_X_OFF", false, &f)),
        (Outcome::Hard, "option_missing")
    );
    assert_eq!(
        verdict::kconfig("CONFIG_X_OFF", true, &f).reason,
        "CONFIG_X_OFF is not set: the weak extern reads as 0"
    );
    assert_eq!(
        v(verdict::kconfig("LINUX_KERNEL_VERSION", false, &f)),
        (Outcome::Ok, "ok")
    );
    let bare = ImageFacts::default();
    assert_eq!(
        v(verdict::kconfig("CONFIG_HZ", false, &bare)),
        (Outcome::Unchecked, "kind_error")
    );
    let object = BpfObject {
        label: "x".into(),
        ksyms: vec![Ksym {
            name: "bpf_frob".into(),
            function: true,
            weak: false,
        }],
        kconfig: vec![KconfigExtern {
            name: "CONFIG_HZ".into(),
            weak: false,
        }],
        ..BpfObject::default()
    };
    assert_eq!(
        check_object(&object, &[image_61()]).outcomes,
        vec![Outcome::Hard]
    );
}

#[test]
fn enum_and_type_relocations() {
    let f = image_61();
    let object = BpfObject::default();
    let relo =
        |kind: CoreKind, type_kind: &str, name: &str, enumerator: Option<&str>| CoreRelocation {
            section: "kprobe/x".into(),
            insn_offset: 0,
            kind,
            type_kind: type_kind.into(),
            type_name: name.into(),
            access: "0".into(),
            steps: Vec::new(),
            enumerator: enumerator.map(str::to_owned),
            spelling: name.into(),
        };
    let v = |r: CoreRelocation| {
        let x = verdict::core(&r, &object, &f);
        (x.outcome, x.class)
    };
    assert_eq!(
        v(relo(
            CoreKind::EnumvalValue,
            "enum",
            "bpf_func_id",
            Some("BPF_FUNC_map_lookup_elem")
        )),
        (Outcome::Ok, "ok")
    );
    assert_eq!(
        v(relo(
            CoreKind::EnumvalValue,
            "enum",
            "bpf_func_id",
            Some("BPF_FUNC_frob")
        )),
        (Outcome::Hard, "enumerator_missing")
    );
    assert_eq!(
        v(relo(
            CoreKind::EnumvalExists,
            "enum",
            "bpf_func_id___x",
            Some("BPF_FUNC_frob")
        )),
        (Outcome::Fallback, "probe_false")
    );
    assert_eq!(
        v(relo(CoreKind::TypeExists, "struct", "sched_entity", None)),
        (Outcome::Ok, "ok")
    );
    assert_eq!(
        v(relo(CoreKind::TypeExists, "struct", "bpf_frob", None)),
        (Outcome::Fallback, "probe_false")
    );
    assert_eq!(
        v(relo(CoreKind::TypeSize, "struct", "bpf_frob", None)),
        (Outcome::Hard, "type_missing")
    );
    assert_eq!(
        v(relo(CoreKind::TypeIdLocal, "struct", "bpf_frob", None)),
        (Outcome::Ok, "ok")
    );
}

#[test]
fn an_access_inside_a_named_member_of_anonymous_type_is_checked_up_to_it() {
    let mut f = image_61();
    // in6_addr { union { … } in6_u; }: type_members lists in6_u, not its members.
    f.types.insert(
        "in6_addr".into(),
        vec![struct_def("struct", &[("in6_u", "union {...}")])],
    );
    let object = BpfObject::default();
    let relo = field(
        "kprobe/x",
        CoreKind::FieldByteOffset,
        "in6_addr",
        &[("in6_addr", "in6_u"), ("", "u6_addr32")],
    );
    let v = verdict::core(&relo, &object, &f);
    assert_eq!((v.outcome, v.class), (Outcome::Unchecked, "not_modelled"));
    assert_eq!(
        v.reason,
        "in6_addr::in6_u.u6_addr32: checked up to in6_addr::in6_u: the members of its anonymous type are not in the dataset"
    );
    let wrong = field(
        "kprobe/x",
        CoreKind::FieldByteOffset,
        "in6_addr",
        &[("in6_addr", "in6_v"), ("", "u6_addr32")],
    );
    assert_eq!(verdict::core(&wrong, &object, &f).class, "field_missing");
}

#[test]
fn a_prototype_that_changed_since_the_first_image_makes_a_working_probe_silent() {
    use ksurf_checker::facts::Prototype;
    let proto = |params: &[&str], ret: &str| Prototype {
        return_type: Some(ret.into()),
        params: params.iter().map(|p| p.to_string()).collect(),
        varargs: false,
    };
    let mut old = image_61();
    old.image = Some("debian/5.10.0-1-amd64/amd64".parse().unwrap());
    old.prototypes.insert(
        "vfs_read".into(),
        proto(&["struct file *", "char *", "size_t"], "ssize_t"),
    );
    let mut new = image_61();
    new.prototypes.insert(
        "vfs_read".into(),
        proto(&["struct file *", "char *", "size_t", "loff_t *"], "int"),
    );
    let object = BpfObject {
        label: "x".into(),
        programs: vec![
            program(
                "a",
                "kprobe/vfs_read",
                Attach::Kprobe {
                    function: "vfs_read".into(),
                    offset: 0,
                    ret: false,
                },
            ),
            program(
                "b",
                "kretprobe/vfs_read",
                Attach::Kprobe {
                    function: "vfs_read".into(),
                    offset: 0,
                    ret: true,
                },
            ),
        ],
        ..BpfObject::default()
    };
    let checked = check_object(&object, &[old, new]);
    let entry = &checked.dependencies[0].verdicts;
    assert_eq!((entry[0].outcome, entry[0].class), (Outcome::Ok, "ok"));
    assert_eq!(
        (entry[1].outcome, entry[1].class),
        (Outcome::Silent, "signature_changed")
    );
    assert_eq!(
        entry[1].reason,
        "vfs_read changed since debian/5.10.0-1-amd64/amd64: parameter 4 `loff_t *` added; a program written for the earlier prototype reads other data (symbol vfs_read)"
    );
    // A kretprobe sees the return value only.
    assert!(checked.dependencies[1].verdicts[1].reason.starts_with(
        "vfs_read changed since debian/5.10.0-1-amd64/amd64: return type `ssize_t` → `int`;"
    ));
    assert_eq!(checked.outcomes, vec![Outcome::Ok, Outcome::Silent]);
}

#[test]
fn a_symbol_without_dwarf_takes_a_kprobe_but_not_an_fentry() {
    let mut f = image_61();
    f.symbols_only
        .insert("__x64_sys_getpid".into(), ".text".into());
    let kprobe = verdict::attach(
        &Attach::Kprobe {
            function: "__x64_sys_getpid".into(),
            offset: 0,
            ret: false,
        },
        &f,
    );
    assert_eq!(
        (kprobe.outcome, kprobe.class, kprobe.reason.as_str()),
        (
            Outcome::Ok,
            "ok",
            "symbol __x64_sys_getpid (no DWARF function of that name: an alias or assembler code)"
        )
    );
    let fentry = verdict::attach(
        &Attach::Fentry {
            function: "__x64_sys_getpid".into(),
            mode: FentryMode::Fentry,
        },
        &f,
    );
    assert_eq!(
        (fentry.outcome, fentry.class),
        (Outcome::Hard, "not_attachable")
    );
    let absent = verdict::attach(
        &Attach::Fentry {
            function: "md_flush_request".into(),
            mode: FentryMode::Fentry,
        },
        &f,
    );
    assert_eq!(
        (absent.outcome, absent.class, absent.reason.as_str()),
        (
            Outcome::Hard,
            "absent",
            "no function md_flush_request in the vmlinux or a module of the image"
        )
    );
}

fn in_module(module: &str, inline_type: &str, symbols: &[(&str, &str)]) -> ModuleFunctionFacts {
    ModuleFunctionFacts {
        module: module.into(),
        inline_type: inline_type.into(),
        symbols: symbols
            .iter()
            .map(|(n, s)| (n.to_string(), s.to_string()))
            .collect(),
        attach: None,
    }
}

#[test]
fn a_function_only_a_module_defines_attaches_once_the_module_is_loaded() {
    let mut f = image_61();
    let m = &mut f.module_functions;
    m.insert(
        "xfs_file_read_iter".into(),
        vec![in_module("xfs", "No", &[("xfs_file_read_iter", ".text")])],
    );
    m.insert(
        "md_flush_request".into(),
        vec![in_module(
            "md_mod",
            "Selective",
            &[("md_flush_request", ".text")],
        )],
    );
    m.insert(
        "nfs_init".into(),
        vec![in_module("nfs", "No", &[("nfs_init", ".init.text")])],
    );
    m.insert(
        "tcp_x_clone".into(),
        vec![in_module("m1", "No", &[("tcp_x_clone.isra.0", ".text")])],
    );
    m.insert(
        "hdr_inline".into(),
        vec![in_module("a", "Full", &[]), in_module("b", "Full", &[])],
    );
    m.insert(
        "init_once".into(),
        vec![
            in_module("a", "No", &[("init_once", ".text")]),
            in_module("b", "No", &[("init_once", ".text")]),
            in_module("c", "Full", &[]),
        ],
    );
    let kprobe = |name: &str| Attach::Kprobe {
        function: name.into(),
        offset: 0,
        ret: false,
    };
    let fentry = |name: &str| Attach::Fentry {
        function: name.into(),
        mode: FentryMode::Fentry,
    };
    let verdict = |attach: &Attach| {
        let v = verdict::attach(attach, &f);
        (v.outcome, v.class, v.reason)
    };
    assert_eq!(
        verdict(&kprobe("xfs_file_read_iter")),
        (
            Outcome::Ok,
            "in_module",
            "in module xfs: attachable once the module is loaded (symbol xfs_file_read_iter in .text)".into()
        )
    );
    assert_eq!(
        verdict(&fentry("xfs_file_read_iter")),
        (
            Outcome::Ok,
            "in_module",
            "in module xfs: attachable once the module is loaded (symbol xfs_file_read_iter in .text; \
             the module's BTF and ftrace call sites are not in this dataset)"
                .into()
        )
    );
    assert_eq!(
        verdict(&fentry("md_flush_request")),
        (
            Outcome::Silent,
            "selective_inline",
            "in module md_mod: attachable once the module is loaded; some calls to \
             md_flush_request are inlined into its callers and never reach the probe"
                .into()
        )
    );
    assert_eq!(
        verdict(&kprobe("nfs_init")),
        (
            Outcome::Hard,
            "not_attachable",
            "in module nfs: symbol nfs_init in .init.text (freed once the module has loaded)"
                .into()
        )
    );
    assert_eq!(
        verdict(&kprobe("tcp_x_clone")),
        (
            Outcome::Hard,
            "renamed",
            "in module m1: no symbol tcp_x_clone: attach to tcp_x_clone.isra.0".into()
        )
    );
    assert_eq!(
        verdict(&kprobe("hdr_inline")),
        (
            Outcome::Hard,
            "full_inline",
            "hdr_inline is inlined into every caller in modules a, b: no symbol".into()
        )
    );
    assert_eq!(
        verdict(&fentry("init_once")),
        (
            Outcome::Hard,
            "ambiguous",
            "init_once is defined in modules a and b: a probe by the bare name is refused \
             when both are loaded"
                .into()
        )
    );
    // The vmlinux's row wins over a module's; a module that defines the
    // name too makes an ok probe silent.
    f.module_functions
        .insert("vfs_read".into(), vec![in_module("m", "Full", &[])]);
    assert_eq!(classes(&kprobe("vfs_read"), &f), (Outcome::Ok, "ok"));
    f.module_functions.insert(
        "vfs_read".into(),
        vec![
            in_module("m", "No", &[("vfs_read", ".text")]),
            in_module("n", "No", &[("vfs_read.isra.0", ".text")]),
        ],
    );
    let v = verdict::attach(&fentry("vfs_read"), &f);
    assert_eq!(
        (v.outcome, v.class, v.reason),
        (
            Outcome::Silent,
            "cross_module",
            "in .BTF with an ftrace call site; module m also defines vfs_read: the probe \
             sees the vmlinux's only, and a probe by the bare name is refused while one is \
             loaded (kernels 6.7+)"
                .into()
        )
    );
    // A verdict that is not ok stays as it is.
    f.module_functions.insert(
        "finish_task_switch".into(),
        vec![in_module("m", "No", &[("finish_task_switch", ".text")])],
    );
    assert_eq!(
        classes(&kprobe("finish_task_switch"), &f),
        (Outcome::Hard, "renamed")
    );
}

/// With the module's own verdicts (`function_attach` module rows), a probe
/// they refuse is not attachable, with their reason.
#[test]
fn a_modules_own_verdicts_decide_whether_a_probe_attaches() {
    let mut f = image_61();
    let with = |kprobe: &str, kprobe_reason: &str, fentry: bool, fentry_reason: &str| {
        let mut m = in_module("xfs", "No", &[("xfs_file_read_iter", ".text")]);
        m.attach = Some(ModuleAttachFacts {
            kprobe: kprobe.into(),
            kprobe_reason: kprobe_reason.into(),
            fentry,
            fentry_reason: fentry_reason.into(),
        });
        vec![m]
    };
    let kprobe = Attach::Kprobe {
        function: "xfs_file_read_iter".into(),
        offset: 0,
        ret: false,
    };
    let fentry = Attach::Fentry {
        function: "xfs_file_read_iter".into(),
        mode: FentryMode::Fentry,
    };
    f.module_functions.insert(
        "xfs_file_read_iter".into(),
        with(
            "yes",
            "symbol xfs_file_read_iter",
            true,
            "in .BTF with an ftrace call site",
        ),
    );
    let verdict = |attach: &Attach, f: &ImageFacts| {
        let v = verdict::attach(attach, f);
        (v.outcome, v.class, v.reason)
    };
    assert_eq!(
        verdict(&kprobe, &f),
        (
            Outcome::Ok,
            "in_module",
            "in module xfs: attachable once the module is loaded (symbol xfs_file_read_iter)"
                .into()
        )
    );
    assert_eq!(
        verdict(&fentry, &f),
        (
            Outcome::Ok,
            "in_module",
            "in module xfs: attachable once the module is loaded (in .BTF with an ftrace call site)"
                .into()
        )
    );
    f.module_functions.insert(
        "xfs_file_read_iter".into(),
        with(
            "no",
            "xfs_file_read_iter: NOKPROBE_SYMBOL",
            false,
            "the module has no .BTF (CONFIG_DEBUG_INFO_BTF_MODULES is not set)",
        ),
    );
    assert_eq!(
        verdict(&kprobe, &f),
        (
            Outcome::Hard,
            "not_attachable",
            "in module xfs: xfs_file_read_iter: NOKPROBE_SYMBOL".into()
        )
    );
    assert_eq!(
        verdict(&fentry, &f),
        (
            Outcome::Hard,
            "not_attachable",
            "in module xfs: the module has no .BTF (CONFIG_DEBUG_INFO_BTF_MODULES is not set)"
                .into()
        )
    );
    f.module_functions.insert(
        "xfs_file_read_iter".into(),
        with(
            "ambiguous",
            "2 symbols named xfs_file_read_iter (0x1000, 0x2000): a probe by this name is refused",
            true,
            "x",
        ),
    );
    assert_eq!(
        verdict(&kprobe, &f),
        (
            Outcome::Hard,
            "ambiguous",
            "in module xfs: 2 symbols named xfs_file_read_iter (0x1000, 0x2000): a probe by this name is refused".into()
        )
    );

    // Exit code stays while the module is loaded: a kprobe attaches (and
    // fires at unload); the module's own verdict refuses fentry (notrace).
    let mut exit = in_module("m8021q", "No", &[("vlan_cleanup_module", ".exit.text")]);
    exit.attach = Some(ModuleAttachFacts {
        kprobe: "yes".into(),
        kprobe_reason: "symbol vlan_cleanup_module".into(),
        fentry: false,
        fentry_reason: "in .BTF, but no ftrace call site (notrace): nothing to patch".into(),
    });
    f.module_functions
        .insert("vlan_cleanup_module".into(), vec![exit]);
    let kprobe = Attach::Kprobe {
        function: "vlan_cleanup_module".into(),
        offset: 0,
        ret: false,
    };
    let fentry = Attach::Fentry {
        function: "vlan_cleanup_module".into(),
        mode: FentryMode::Fentry,
    };
    assert_eq!(
        verdict(&kprobe, &f),
        (
            Outcome::Ok,
            "in_module",
            "in module m8021q: attachable once the module is loaded; symbol vlan_cleanup_module \
             in .exit.text runs only when the module is unloaded"
                .into()
        )
    );
    assert_eq!(
        verdict(&fentry, &f),
        (
            Outcome::Hard,
            "not_attachable",
            "in module m8021q: in .BTF, but no ftrace call site (notrace): nothing to patch".into()
        )
    );
}

#[test]
fn failures_outside_the_programs_show_on_the_shared_row() {
    let object = BpfObject {
        label: "x".into(),
        programs: vec![program(
            "p",
            "kprobe/vfs_read",
            Attach::Kprobe {
                function: "vfs_read".into(),
                offset: 0,
                ret: false,
            },
        )],
        core: vec![field(
            ".text",
            CoreKind::FieldByteOffset,
            "task_struct",
            &[("task_struct", "state")],
        )],
        ksyms: vec![Ksym {
            name: "bpf_frob".into(),
            function: true,
            weak: true,
        }],
        ..BpfObject::default()
    };
    let checked = check_object(&object, &[image_61()]);
    assert_eq!(checked.programs[0].outcomes, vec![Outcome::Ok]);
    assert_eq!(checked.shared, vec![Outcome::Hard]);
    assert_eq!(checked.outcomes, vec![Outcome::Hard]);
    let report = ksurf_checker::render::Report {
        images: vec!["debian/6.1.0-57-cloud-amd64/amd64".into()],
        objects: vec![checked],
        errors: Vec::new(),
    };
    let table = ksurf_checker::render::table(&report);
    let rows: Vec<&str> = table.lines().skip(2).take(4).collect();
    assert_eq!(
        rows,
        [
            "object                    images →",
            "x                         X",
            "  kprobe/vfs_read         .",
            "  (externs, shared code)  X",
        ]
    );
}

#[test]
fn the_html_page_colours_each_cell_gives_its_reasons_and_escapes_labels() {
    let object = BpfObject {
        label: "tool<&>".into(),
        programs: vec![program(
            "p",
            "kprobe/vfs_read",
            Attach::Kprobe {
                function: "vfs_read".into(),
                offset: 0,
                ret: false,
            },
        )],
        core: vec![field(
            ".text",
            CoreKind::FieldByteOffset,
            "task_struct",
            &[("task_struct", "state")],
        )],
        ..BpfObject::default()
    };
    let checked = check_object(&object, &[image_61()]);
    let report = ksurf_checker::render::Report {
        images: vec!["debian/6.1.0-57-cloud-amd64/amd64".into()],
        objects: vec![checked],
        errors: Vec::new(),
    };
    let page = ksurf_checker::render::html(&report);
    let rows: Vec<&str> = page.lines().filter(|l| l.starts_with("<tr><td")).collect();
    const REASON: &str = "core task_struct::state (field_byte_offset): Hard field_missing: task_struct::state: task_struct has no member state; the CO-RE relocation fails the load";
    assert_eq!(rows, [
            format!("<tr><td class=\"row object\"><b>tool&lt;&amp;&gt;</b></td><td class=\"hard\" title=\"{REASON}\">X</td></tr>"),
            "<tr><td class=\"row program\"><code>kprobe/vfs_read</code></td><td class=\"ok\">.</td></tr>".to_owned(),
            format!("<tr><td class=\"row program\">(externs, shared code)</td><td class=\"hard\" title=\"{REASON}\">X</td></tr>"),
        ]);
    let details: Vec<&str> = page
        .lines()
        .filter(|l| l.starts_with("<li class="))
        .collect();
    assert_eq!(
        details,
        ["<li class=\"hard\">tool&lt;&amp;&gt; [1] <code>.text</code>: core \
          <code>task_struct::state (field_byte_offset)</code>: <b>Hard</b> field_missing: \
          task_struct::state: task_struct has no member state; the CO-RE relocation fails the load</li>"]
    );
    assert!(page.starts_with("<!DOCTYPE html>\n"));
    assert!(page.ends_with("</body></html>\n"));
    assert!(!page.contains("tool<&>"));
}

#[test]
fn programs_on_a_function_carry_depsurf_letters_per_image() {
    use ksurf_checker::facts::{FunctionShape, Prototype};
    let proto = |params: &[&str]| Prototype {
        return_type: Some("int".into()),
        params: params.iter().map(|p| p.to_string()).collect(),
        varargs: false,
    };
    let shape = |collision: &str, inline: &str, transformed| FunctionShape {
        collision_type: collision.into(),
        inline_type: inline.into(),
        transformed,
    };
    // The first image: a duplicated static, fully inlined.
    let mut first = image_61();
    first
        .prototypes
        .insert("vfs_read".into(), proto(&["struct file *"]));
    first.shapes.insert(
        "vfs_read".into(),
        shape("Static Duplication", "Full", false),
    );
    // The second: no vfs_read at all.
    let mut second = image_61();
    second.functions.remove("vfs_read");
    // The third: prototype changed, a collision, selectively inlined, a clone.
    let mut third = image_61();
    third
        .prototypes
        .insert("vfs_read".into(), proto(&["struct file *", "char *"]));
    third.shapes.insert(
        "vfs_read".into(),
        shape("Static-Global Collision", "Selective", true),
    );
    // The fourth: as DepSurf would say nothing (no row of shape: no letters).
    let fourth = image_61();
    let object = BpfObject {
        label: "x".into(),
        programs: vec![
            program(
                "a",
                "kprobe/vfs_read",
                Attach::Kprobe {
                    function: "vfs_read".into(),
                    offset: 0,
                    ret: false,
                },
            ),
            program(
                "b",
                "tracepoint/sched/sched_switch",
                Attach::Tracepoint {
                    system: "sched".into(),
                    name: "sched_switch".into(),
                },
            ),
        ],
        ..BpfObject::default()
    };
    let checked = check_object(&object, &[first, second, third, fourth]);
    assert_eq!(checked.programs[0].depsurf, ["DF", "∅", "ΔCST", ""]);
    assert!(checked.programs[1].depsurf.is_empty());
    let report = ksurf_checker::render::Report {
        images: (1..=4)
            .map(|i| format!("debian/6.1.0-{i}-amd64/amd64"))
            .collect(),
        objects: vec![checked],
        errors: Vec::new(),
    };
    let markdown = ksurf_checker::render::markdown(&report);
    let row = markdown
        .lines()
        .find(|l| l.starts_with("| `kprobe/vfs_read` |"))
        .unwrap();
    let marks: Vec<String> = report.objects[0].programs[0]
        .outcomes
        .iter()
        .map(|o| o.mark().to_string())
        .collect();
    assert_eq!(
        row,
        format!(
            "| `kprobe/vfs_read` | {} DF | {} ∅ | {} ΔCST | {} |",
            marks[0], marks[1], marks[2], marks[3]
        )
    );
    assert!(markdown.contains(ksurf_checker::render::DEPSURF_LEGEND));
    let html = ksurf_checker::render::html(&report);
    assert!(html.contains(" <small>ΔCST</small></td>"), "{html}");
    let json = ksurf_checker::render::json(&report);
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    let programs = &parsed["objects"][0]["programs"];
    assert_eq!(
        programs[0]["depsurf"],
        serde_json::json!(["DF", "∅", "ΔCST", ""])
    );
    // Other programs leave the field out.
    assert_eq!(programs[1].get("depsurf"), None);
}
