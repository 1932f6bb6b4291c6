//! Reading the fixture objects of `tests/fixtures` (built by its
//! `build.sh`, committed): exact programs, attach points, CO-RE
//! relocations and externs; embedded objects; bad input.

use ksurf_checker::object::{find_objects, objects_in, parse_object, Found};
use ksurf_checker::{
    read_objects, Attach, BpfObject, CoreKind, CoreRelocation, CoreStep, Error, FentryMode,
    KconfigExtern, Ksym, Program,
};
use object::{Object, ObjectSection};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

fn prog(name: &str, section: &str, attach: Attach) -> Program {
    Program {
        name: name.into(),
        section: section.into(),
        attach,
    }
}

fn kprobe(function: &str, offset: u64, ret: bool) -> Attach {
    Attach::Kprobe {
        function: function.into(),
        offset,
        ret,
    }
}

fn fentry(function: &str, mode: FentryMode) -> Attach {
    Attach::Fentry {
        function: function.into(),
        mode,
    }
}

fn step(container: &str, member: &str) -> CoreStep {
    CoreStep {
        container: container.into(),
        member: Some(member.into()),
        index: None,
    }
}

#[allow(clippy::too_many_arguments)]
fn relo(
    section: &str,
    insn_offset: u32,
    kind: CoreKind,
    type_name: &str,
    access: &str,
    steps: Vec<CoreStep>,
    enumerator: Option<&str>,
    spelling: &str,
) -> CoreRelocation {
    CoreRelocation {
        section: section.into(),
        insn_offset,
        kind,
        type_kind: if enumerator.is_some() {
            "enum"
        } else {
            "struct"
        }
        .into(),
        type_name: type_name.into(),
        access: access.into(),
        steps,
        enumerator: enumerator.map(Into::into),
        spelling: spelling.into(),
    }
}

fn probes_expected(label: &str) -> BpfObject {
    BpfObject {
        label: label.into(),
        programs: vec![
            prog(
                "kp_unlinkat",
                "kprobe/do_unlinkat",
                kprobe("do_unlinkat", 0, false),
            ),
            prog(
                "krp_unlinkat",
                "kretprobe/do_unlinkat",
                kprobe("do_unlinkat", 0, true),
            ),
            prog(
                "kp_offset",
                "kprobe/tcp_v4_connect+0x10",
                kprobe("tcp_v4_connect", 16, false),
            ),
            prog("kp_manual", "kprobe", kprobe("", 0, false)),
            prog(
                "fe_unlinkat",
                "fentry/do_unlinkat",
                fentry("do_unlinkat", FentryMode::Fentry),
            ),
            prog(
                "fx_unlinkat",
                "fexit/do_unlinkat",
                fentry("do_unlinkat", FentryMode::Fexit),
            ),
            prog(
                "fm_file_open",
                "fmod_ret.s/security_file_open",
                fentry("security_file_open", FentryMode::FmodRet),
            ),
            prog(
                "tp_switch",
                "tp/sched/sched_switch",
                Attach::Tracepoint {
                    system: "sched".into(),
                    name: "sched_switch".into(),
                },
            ),
            prog(
                "tp_openat",
                "tracepoint/syscalls/sys_enter_openat",
                Attach::Tracepoint {
                    system: "syscalls".into(),
                    name: "sys_enter_openat".into(),
                },
            ),
            prog(
                "raw_wakeup",
                "raw_tp/sched_wakeup",
                Attach::RawTracepoint {
                    name: "sched_wakeup".into(),
                    btf: false,
                },
            ),
            prog(
                "btf_switch",
                "tp_btf/sched_switch",
                Attach::RawTracepoint {
                    name: "sched_switch".into(),
                    btf: true,
                },
            ),
            prog(
                "lsm_file_open",
                "lsm/file_open",
                Attach::Lsm {
                    hook: "file_open".into(),
                    sleepable: false,
                },
            ),
            prog(
                "sys_openat",
                "ksyscall/openat",
                Attach::Ksyscall {
                    syscall: "openat".into(),
                    ret: false,
                },
            ),
            prog(
                "kpm_tcp",
                "kprobe.multi/tcp_*",
                Attach::KprobeMulti {
                    pattern: "tcp_*".into(),
                    ret: false,
                },
            ),
            prog(
                "up_readline",
                "uprobe//bin/bash:readline",
                Attach::NotKernel {
                    convention: "uprobe".into(),
                },
            ),
            prog("weird", "weird/thing", Attach::Unknown),
        ],
        core: vec![
            relo(
                "kprobe/do_unlinkat",
                0,
                CoreKind::FieldByteOffset,
                "pt_regs",
                "0:0",
                vec![step("pt_regs", "di")],
                None,
                "pt_regs::di",
            ),
            relo(
                "kprobe/do_unlinkat",
                8,
                CoreKind::FieldByteOffset,
                "task_struct",
                "0:2:1",
                vec![step("task_struct", "se"), step("sched_entity", "vruntime")],
                None,
                "task_struct::se.vruntime",
            ),
            // state_of(), a static subprogram in .text: the guarded read
            // of the old field through a flavor, then the new field.
            relo(
                ".text",
                8,
                CoreKind::FieldExists,
                "task_struct___o",
                "0:0",
                vec![step("task_struct___o", "state")],
                None,
                "task_struct___o::state",
            ),
            relo(
                ".text",
                24,
                CoreKind::FieldByteOffset,
                "task_struct___o",
                "0:0",
                vec![step("task_struct___o", "state")],
                None,
                "task_struct___o::state",
            ),
            relo(
                ".text",
                88,
                CoreKind::FieldByteOffset,
                "task_struct",
                "0:0",
                vec![step("task_struct", "__state")],
                None,
                "task_struct::__state",
            ),
            relo(
                "kretprobe/do_unlinkat",
                0,
                CoreKind::EnumvalValue,
                "pid_type",
                "1",
                vec![],
                Some("PIDTYPE_TGID"),
                "enum pid_type::PIDTYPE_TGID",
            ),
            relo(
                "kprobe/tcp_v4_connect+0x10",
                0,
                CoreKind::TypeExists,
                "trace_event_raw_block_rq",
                "0",
                vec![],
                None,
                "struct trace_event_raw_block_rq",
            ),
        ],
        ksyms: vec![
            Ksym {
                name: "bpf_prog_active".into(),
                function: false,
                weak: true,
            },
            Ksym {
                name: "bpf_task_acquire".into(),
                function: true,
                weak: false,
            },
            Ksym {
                name: "bpf_task_release".into(),
                function: true,
                weak: false,
            },
            Ksym {
                name: "init_task".into(),
                function: false,
                weak: false,
            },
        ],
        kconfig: vec![
            KconfigExtern {
                name: "CONFIG_HZ".into(),
                weak: false,
            },
            KconfigExtern {
                name: "CONFIG_PREEMPT".into(),
                weak: true,
            },
            KconfigExtern {
                name: "LINUX_KERNEL_VERSION".into(),
                weak: false,
            },
        ],
        notes: vec![
            "section `kprobe`: bare `kprobe` names no target; the target is chosen at run time"
                .into(),
            "section `weird/thing`: no libbpf section convention matches".into(),
        ],
    }
}

fn net_expected(label: &str) -> BpfObject {
    let nk = |c: &str| Attach::NotKernel {
        convention: c.into(),
    };
    BpfObject {
        label: label.into(),
        programs: vec![
            prog("xdp_pass", "xdp", nk("xdp")),
            prog("sock_filter", "socket", nk("socket")),
            prog(
                "iter_task",
                "iter/task",
                Attach::Iter {
                    target: "task".into(),
                },
            ),
            prog(
                "raw_exit",
                "raw_tracepoint.w/sched_process_exit",
                Attach::RawTracepoint {
                    name: "sched_process_exit".into(),
                    btf: false,
                },
            ),
            prog(
                "ksurf_init",
                "struct_ops/ksurf_init",
                Attach::StructOps {
                    name: "ksurf_init".into(),
                },
            ),
        ],
        notes: vec![
            "section `.struct_ops`: struct_ops map `ksurf_ops` implements `struct tcp_congestion_ops`"
                .into(),
        ],
        ..BpfObject::default()
    }
}

#[test]
fn probes_object_exact() {
    let path = fixture("probes.bpf.o");
    let objects = read_objects(&path).unwrap();
    let label = path.display().to_string();
    assert_eq!(objects, vec![probes_expected(&label)]);
    // Probes never fail a load; reads do.
    let probes: Vec<bool> = objects[0].core.iter().map(|c| c.kind.is_probe()).collect();
    assert_eq!(probes, [false, false, true, false, false, false, true]);
}

#[test]
fn net_object_exact() {
    let objects = objects_in("net.bpf.o", &bytes("net.bpf.o")).unwrap();
    assert_eq!(objects, vec![net_expected("net.bpf.o")]);
}

#[test]
fn embedded_objects_in_executable() {
    let exe = bytes("embed");
    let Found::Embedded(ranges) = find_objects("embed", &exe).unwrap() else {
        panic!("an executable is no BPF object");
    };
    assert_eq!(ranges.len(), 2);
    // Each range is exactly the embedded file's bytes.
    assert_eq!(&exe[ranges[0].clone()], &bytes("probes.bpf.o")[..]);
    assert_eq!(&exe[ranges[1].clone()], &bytes("net.bpf.o")[..]);

    let path = fixture("embed");
    let objects = read_objects(&path).unwrap();
    let label = path.display().to_string();
    assert_eq!(
        objects,
        vec![
            probes_expected(&format!("{label}#1")),
            net_expected(&format!("{label}#2"))
        ]
    );
}

#[test]
fn not_elf_is_not_bpf() {
    let path = fixture("probes.bpf.c");
    match read_objects(&path) {
        Err(Error::NotBpf { label, message }) => {
            assert_eq!(label, path.display().to_string());
            assert_eq!(message, "not an ELF file");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn x86_executable_without_bpf_is_not_bpf() {
    let path = fixture("plain");
    match read_objects(&path) {
        Err(Error::NotBpf { label, message }) => {
            assert_eq!(label, path.display().to_string());
            assert_eq!(message, "ELF file with no embedded BPF object");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_file_is_io_error() {
    let path = fixture("no-such-file.o");
    assert!(matches!(read_objects(&path), Err(Error::Io { path: p, .. }) if p == path));
}

#[test]
fn truncated_object_names_section_header_table() {
    let data = bytes("probes.bpf.o");
    let err = objects_in("trunc.o", &data[..3000]).unwrap_err();
    match &err {
        Error::Malformed {
            label,
            section,
            offset,
            message,
        } => {
            assert_eq!(label, "trunc.o");
            assert_eq!(section, "ELF headers");
            // e_shoff of the fixture.
            let file = object::File::parse(&*data).unwrap();
            let shoff = u64::from_le_bytes(data[0x28..0x30].try_into().unwrap());
            assert_eq!(*offset, shoff);
            assert!(file.sections().count() > 0);
            assert!(message.contains("past the data"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // Every shorter prefix is an error, never a panic.
    for len in (0..data.len()).step_by(97) {
        assert!(objects_in("trunc.o", &data[..len]).is_err());
    }
}

#[test]
fn truncated_embedded_object_names_its_label() {
    let exe = bytes("embed");
    let Found::Embedded(ranges) = find_objects("embed", &exe).unwrap() else {
        panic!()
    };
    // Cut the file inside the second object.
    let cut = &exe[..ranges[1].start + 200];
    match objects_in("embed", cut).unwrap_err() {
        Error::Malformed {
            label,
            section,
            offset,
            ..
        } => {
            assert_eq!(label, "embed#2");
            assert_eq!(section, "ELF headers");
            assert_eq!(
                offset,
                u64::from_le_bytes(cut[ranges[1].start + 0x28..][..8].try_into().unwrap())
            );
        }
        other => panic!("{other:?}"),
    }
}

/// File offset of section `name` of the fixture `data`.
fn section_offset(data: &[u8], name: &str) -> usize {
    let file = object::File::parse(data).unwrap();
    let (off, _) = file.section_by_name(name).unwrap().file_range().unwrap();
    off as usize
}

fn le32(data: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(data[at..at + 4].try_into().unwrap())
}

/// File offset of the first core_relo record in `.BTF.ext`, and that
/// record's offset within `.BTF.ext`.
fn first_core_record(data: &[u8]) -> (usize, usize) {
    let ext = section_offset(data, ".BTF.ext");
    let hdr_len = le32(data, ext + 4) as usize;
    let core_off = le32(data, ext + 24) as usize;
    // record size, section name offset, count, then the first record
    let in_ext = hdr_len + core_off + 12;
    (ext + in_ext, in_ext)
}

#[test]
fn core_record_access_string_past_string_table() {
    let mut data = bytes("probes.bpf.o");
    let (at, in_ext) = first_core_record(&data);
    data[at + 8..at + 12].copy_from_slice(&0x00ff_ff00u32.to_le_bytes());
    match parse_object("bad.o", &data).unwrap_err() {
        Error::Malformed {
            label,
            section,
            offset,
            message,
        } => {
            assert_eq!(label, "bad.o");
            assert_eq!(section, ".BTF.ext");
            assert_eq!(offset, in_ext as u64);
            assert!(
                message.contains("access string offset 0xffff00 is past"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn core_record_member_index_out_of_range() {
    let mut data = bytes("probes.bpf.o");
    // The access string of task_struct::se.vruntime, in .BTF's strings:
    // member 2 (se) becomes member 9 of a 3-member struct.
    let btf = section_offset(&data, ".BTF");
    let pos = data[btf..]
        .windows(6)
        .position(|w| w == b"\x000:2:1")
        .unwrap()
        + btf
        + 1;
    data[pos + 2] = b'9';
    match parse_object("bad.o", &data).unwrap_err() {
        Error::Malformed {
            label,
            section,
            offset,
            message,
        } => {
            assert_eq!(label, "bad.o");
            assert_eq!(section, ".BTF.ext");
            // The second record of the first program section's group.
            let (_, first) = first_core_record(&data);
            assert_eq!(offset, (first + 16) as u64);
            assert!(
                message
                    .contains("member index 9 is out of range for struct task_struct (3 members)"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn core_record_count_past_subsection() {
    let mut data = bytes("probes.bpf.o");
    let (at, _) = first_core_record(&data);
    // The group's record count.
    data[at - 4..at].copy_from_slice(&0x1000_0000u32.to_le_bytes());
    match parse_object("bad.o", &data).unwrap_err() {
        Error::Malformed {
            section, message, ..
        } => {
            assert_eq!(section, ".BTF.ext");
            assert!(message.contains("run past the sub-section"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn btf_header_lying_about_lengths() {
    let mut data = bytes("probes.bpf.o");
    let btf = section_offset(&data, ".BTF");
    // str_len
    data[btf + 20..btf + 24].copy_from_slice(&u32::MAX.to_le_bytes());
    match parse_object("bad.o", &data).unwrap_err() {
        Error::Malformed {
            section, offset, ..
        } => {
            assert_eq!(section, ".BTF");
            assert_eq!(offset, 16);
        }
        other => panic!("{other:?}"),
    }
}

/// Every byte of the ELF header, `.BTF` and `.BTF.ext` set to 0xff or 0
/// in turn: reading gives a result or an error, never a panic or a hang.
#[test]
fn corrupted_bytes_never_panic() {
    let data = bytes("probes.bpf.o");
    let file = object::File::parse(&*data).unwrap();
    let mut spans = vec![(0usize, 64usize)];
    for name in [".BTF", ".BTF.ext"] {
        let (off, size) = file.section_by_name(name).unwrap().file_range().unwrap();
        spans.push((off as usize, size as usize));
    }
    let mut errors = 0;
    for (off, size) in spans {
        for i in off..off + size {
            for v in [0xffu8, 0] {
                let mut d = data.clone();
                if d[i] == v {
                    continue;
                }
                d[i] = v;
                if objects_in("fuzz.o", &d).is_err() {
                    errors += 1;
                }
            }
        }
    }
    assert!(errors > 0);
}

#[test]
fn big_endian_object_reads_the_same() {
    let objects = objects_in("probes.bpfeb.o", &bytes("probes.bpfeb.o")).unwrap();
    assert_eq!(objects, vec![probes_expected("probes.bpfeb.o")]);
}

/// Every executable of a directory (Debian's `libbpf-tools` `usr/sbin`,
/// unpacked with `dpkg-deb -x`) named by `KSURF_LIBBPF_TOOLS` reads
/// without error and embeds at least one object with programs.
#[test]
#[ignore = "needs KSURF_LIBBPF_TOOLS: a directory of executables embedding BPF objects"]
fn real_package_executables() {
    let dir = std::env::var("KSURF_LIBBPF_TOOLS").expect("KSURF_LIBBPF_TOOLS");
    let mut files = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let objects = read_objects(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!objects.is_empty());
        assert!(
            objects.iter().any(|o| !o.programs.is_empty()),
            "{}",
            path.display()
        );
        files += 1;
    }
    assert!(files > 0);
}

#[test]
fn unknown_core_kind_is_a_note() {
    let mut data = bytes("probes.bpf.o");
    let (at, _) = first_core_record(&data);
    data[at + 12..at + 16].copy_from_slice(&99u32.to_le_bytes());
    let objects = objects_in("new.o", &data).unwrap();
    let expected = probes_expected("new.o");
    assert_eq!(objects[0].core, expected.core[1..]);
    assert!(objects[0].notes.contains(
        &"section `kprobe/do_unlinkat`: CO-RE relocation of unknown kind 99 at insn 0x0 skipped"
            .to_owned()
    ));
}
