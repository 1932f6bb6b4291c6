//! Programs of one BPF object and the attach point each section name gives.
//!
//! Owns two things: which ELF function symbols are programs
//! ([`programs`]) and what a program section's name says it attaches to
//! ([`attach_of`]). Both follow libbpf's conventions
//! (`tools/lib/bpf/libbpf.c`: `section_defs`, `sec_def_matches`,
//! `bpf_object__add_programs` and the `attach_*` functions), read for
//! their meaning:
//!
//! * a name ending in `+` in libbpf's table matches the bare name or the
//!   name followed by `/` and a target (`kprobe`, `kprobe/do_unlinkat`);
//!   other names match exactly (`xdp`, `tc/ingress`);
//! * a program is an `STT_FUNC` symbol of an executable (`SHF_EXECINSTR`)
//!   section other than `.text`; functions of `.text` are subprograms
//!   that programs call, never programs themselves.

use crate::deps::{Attach, FentryMode, Program};
use crate::error::{Error, Result};
use object::{Object, ObjectSection, ObjectSymbol, SectionFlags, SectionIndex, SymbolKind};

/// libbpf conventions that attach nothing to a kernel function, hook or
/// event a kernel build may lack: user-space probes, networking hooks,
/// cgroup hooks, perf events, `syscall` programs and `freplace` (which
/// replaces a function of another BPF program). Entries ending in `+`
/// match `name` and `name/…`; the others match exactly.
const NOT_KERNEL: &[&str] = &[
    "socket",
    "sk_reuseport/migrate",
    "sk_reuseport",
    "uprobe+",
    "uprobe.s+",
    "uretprobe+",
    "uretprobe.s+",
    "uprobe.multi+",
    "uretprobe.multi+",
    "uprobe.session+",
    "uprobe.multi.s+",
    "uretprobe.multi.s+",
    "uprobe.session.s+",
    "usdt+",
    "usdt.s+",
    "tc/ingress",
    "tc/egress",
    "tcx/ingress",
    "tcx/egress",
    "tc",
    "classifier",
    "action",
    "netkit/primary",
    "netkit/peer",
    "syscall",
    "xdp.frags/devmap",
    "xdp/devmap",
    "xdp.frags/cpumap",
    "xdp/cpumap",
    "xdp.frags",
    "xdp",
    "perf_event",
    "lwt_in",
    "lwt_out",
    "lwt_xmit",
    "lwt_seg6local",
    "sockops",
    "sk_skb/stream_parser",
    "sk_skb/stream_verdict",
    "sk_skb/verdict",
    "sk_skb",
    "sk_msg",
    "lirc_mode2",
    "flow_dissector",
    "cgroup_skb/ingress",
    "cgroup_skb/egress",
    "cgroup/skb",
    "cgroup/sock_create",
    "cgroup/sock_release",
    "cgroup/sock",
    "cgroup/post_bind4",
    "cgroup/post_bind6",
    "cgroup/bind4",
    "cgroup/bind6",
    "cgroup/connect4",
    "cgroup/connect6",
    "cgroup/connect_unix",
    "cgroup/sendmsg4",
    "cgroup/sendmsg6",
    "cgroup/sendmsg_unix",
    "cgroup/recvmsg4",
    "cgroup/recvmsg6",
    "cgroup/recvmsg_unix",
    "cgroup/getpeername4",
    "cgroup/getpeername6",
    "cgroup/getpeername_unix",
    "cgroup/getsockname4",
    "cgroup/getsockname6",
    "cgroup/getsockname_unix",
    "cgroup/sysctl",
    "cgroup/getsockopt",
    "cgroup/setsockopt",
    "cgroup/dev",
    "sk_lookup",
    "netfilter",
    "freplace+",
];

/// Legacy prefixes (libbpf before 1.0 matched section names by prefix):
/// `xdp_foo`, `classifier/x`, `cgroup/anything` still name a known
/// not-kernel convention.
const NOT_KERNEL_LEGACY: &[&str] = &[
    "xdp",
    "tc",
    "classifier",
    "action",
    "socket",
    "sk_skb",
    "sk_msg",
    "sockops",
    "cgroup_skb",
    "cgroup",
    "perf_event",
    "lwt_",
    "sk_lookup",
    "flow_dissector",
    "uprobe",
    "uretprobe",
    "usdt",
];

/// `sec` is `prefix` or `prefix/<rest>`: the rest (empty for the bare
/// name). This is libbpf's `+` matching.
fn plus<'a>(sec: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = sec.strip_prefix(prefix)?;
    if rest.is_empty() {
        Some("")
    } else {
        rest.strip_prefix('/')
    }
}

/// The first of `prefixes` that `sec` matches with [`plus`]: (prefix, rest).
fn plus_any<'a>(sec: &'a str, prefixes: &[&'static str]) -> Option<(&'static str, &'a str)> {
    prefixes
        .iter()
        .find_map(|p| plus(sec, p).map(|rest| (*p, rest)))
}

/// A number as C's `strtol(…, 0)` reads it: `0x` hex, leading `0` octal,
/// decimal otherwise; the whole string must be the number.
fn parse_c_number(s: &str) -> Option<u64> {
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

/// What section `section` says a program attaches to, and a note when the
/// report should say more (no target given, a target libbpf would refuse,
/// an approximation).
///
/// `function` is the program's symbol, used where the section carries no
/// name of its own (a bare `struct_ops` section). Never fails: a name no
/// convention matches is [`Attach::Unknown`] with a note.
pub fn attach_of(section: &str, function: &str) -> (Attach, Option<String>) {
    let bare = |conv: &str| {
        Some(format!(
            "section `{section}`: bare `{conv}` names no target; the target is chosen at run time"
        ))
    };

    // kprobe.multi / kretprobe.multi / kprobe.session before kprobe: with
    // `+` matching `kprobe` does not match `kprobe.multi/…` anyway.
    if let Some((p, rest)) = plus_any(section, &["kprobe.multi", "kretprobe.multi"]) {
        let note = rest.is_empty().then(|| bare(p)).flatten();
        let attach = Attach::KprobeMulti {
            pattern: rest.to_owned(),
            ret: p == "kretprobe.multi",
        };
        return (attach, note);
    }
    if let Some(rest) = plus(section, "kprobe.session") {
        let note = if rest.is_empty() {
            bare("kprobe.session")
        } else {
            Some(format!(
                "section `{section}`: kprobe.session runs at entry and return of each match"
            ))
        };
        let attach = Attach::KprobeMulti {
            pattern: rest.to_owned(),
            ret: false,
        };
        return (attach, note);
    }
    if let Some((p, rest)) = plus_any(section, &["kprobe", "kretprobe"]) {
        let ret = p == "kretprobe";
        if rest.is_empty() {
            let attach = Attach::Kprobe {
                function: String::new(),
                offset: 0,
                ret,
            };
            return (attach, bare(p));
        }
        // libbpf reads `<fn>[+<offset>]`, the function spelled with
        // letters, digits, `_` and `.`.
        let (func, off) = match rest.split_once('+') {
            Some((f, o)) => (f, Some(o)),
            None => (rest, None),
        };
        let valid_func = !func.is_empty()
            && func
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
        let offset = match off {
            None => Some(0),
            Some(o) => parse_c_number(o),
        };
        let mut note = None;
        if !valid_func || offset.is_none() {
            note = Some(format!(
                "section `{section}`: libbpf cannot read `<function>[+<offset>]` from `{rest}`"
            ));
        } else if ret && offset != Some(0) {
            note = Some(format!(
                "section `{section}`: libbpf refuses an offset on a kretprobe"
            ));
        }
        let attach = Attach::Kprobe {
            function: if valid_func { func } else { rest }.to_owned(),
            offset: offset.unwrap_or(0),
            ret,
        };
        return (attach, note);
    }
    if let Some((p, rest)) = plus_any(section, &["ksyscall", "kretsyscall"]) {
        let note = rest.is_empty().then(|| bare(p)).flatten();
        let attach = Attach::Ksyscall {
            syscall: rest.to_owned(),
            ret: p == "kretsyscall",
        };
        return (attach, note);
    }
    if let Some((p, rest)) = plus_any(section, &["tracepoint.s", "tracepoint", "tp.s", "tp"]) {
        if rest.is_empty() {
            let attach = Attach::Tracepoint {
                system: String::new(),
                name: String::new(),
            };
            return (attach, bare(p));
        }
        return match rest.split_once('/') {
            Some((system, name)) => (
                Attach::Tracepoint {
                    system: system.to_owned(),
                    name: name.to_owned(),
                },
                None,
            ),
            None => (
                Attach::Tracepoint {
                    system: String::new(),
                    name: rest.to_owned(),
                },
                Some(format!(
                    "section `{section}`: no `<system>/<name>`; libbpf refuses to attach it"
                )),
            ),
        };
    }
    if let Some((p, rest)) = plus_any(
        section,
        &[
            "raw_tracepoint.w",
            "raw_tracepoint.s",
            "raw_tracepoint",
            "raw_tp.w",
            "raw_tp.s",
            "raw_tp",
            "tp_btf.s",
            "tp_btf",
        ],
    ) {
        let note = rest.is_empty().then(|| bare(p)).flatten();
        let attach = Attach::RawTracepoint {
            name: rest.to_owned(),
            btf: p.starts_with("tp_btf"),
        };
        return (attach, note);
    }
    if let Some((p, rest)) = plus_any(
        section,
        &[
            "fentry.multi.s",
            "fentry.multi",
            "fexit.multi.s",
            "fexit.multi",
            "fsession.multi.s",
            "fsession.multi",
            "fentry.s",
            "fentry",
            "fexit.s",
            "fexit",
            "fmod_ret.s",
            "fmod_ret",
            "fsession.s",
            "fsession",
        ],
    ) {
        let mode = if p.starts_with("fexit") {
            FentryMode::Fexit
        } else if p.starts_with("fmod_ret") {
            FentryMode::FmodRet
        } else {
            FentryMode::Fentry
        };
        let note = if rest.is_empty() {
            bare(p)
        } else if p.contains(".multi") {
            Some(format!(
                "section `{section}`: `{rest}` is a pattern over kernel functions"
            ))
        } else if p.starts_with("fsession") {
            Some(format!(
                "section `{section}`: fsession runs at entry and exit of `{rest}`"
            ))
        } else {
            None
        };
        let attach = Attach::Fentry {
            function: rest.to_owned(),
            mode,
        };
        return (attach, note);
    }
    if let Some((p, rest)) = plus_any(section, &["lsm.s", "lsm", "lsm_cgroup"]) {
        let note = if rest.is_empty() {
            bare(p)
        } else if p == "lsm_cgroup" {
            Some(format!(
                "section `{section}`: an LSM hook attached per cgroup"
            ))
        } else {
            None
        };
        let attach = Attach::Lsm {
            hook: rest.to_owned(),
            sleepable: p == "lsm.s",
        };
        return (attach, note);
    }
    if let Some((p, rest)) = plus_any(section, &["iter.s", "iter"]) {
        let note = rest.is_empty().then(|| bare(p)).flatten();
        return (
            Attach::Iter {
                target: rest.to_owned(),
            },
            note,
        );
    }
    if let Some((_, rest)) = plus_any(section, &["struct_ops.s", "struct_ops"]) {
        let name = if rest.is_empty() { function } else { rest };
        return (
            Attach::StructOps {
                name: name.to_owned(),
            },
            None,
        );
    }
    for conv in NOT_KERNEL {
        let matched = match conv.strip_suffix('+') {
            Some(p) => plus(section, p).is_some(),
            None => section == *conv,
        };
        if matched {
            let convention = conv.trim_end_matches('+').to_owned();
            return (Attach::NotKernel { convention }, None);
        }
    }
    for conv in NOT_KERNEL_LEGACY {
        if section.starts_with(conv) {
            let note = format!(
                "section `{section}`: the legacy `{conv}` prefix form; libbpf 1.x wants an exact name"
            );
            let convention = (*conv).to_owned();
            return (Attach::NotKernel { convention }, Some(note));
        }
    }
    (
        Attach::Unknown,
        Some(format!(
            "section `{section}`: no libbpf section convention matches"
        )),
    )
}

/// The programs of a parsed BPF ELF object, in section then
/// symbol-address order (name on a tie), and the notes they raise.
///
/// Facts: the ELF symbol table (`STT_FUNC` symbols, their section) and
/// section headers (`SHF_EXECINSTR`, name). A static (`STB_LOCAL`)
/// function in a program section is listed with a note: libbpf refuses
/// to load it. An executable section without any function symbol gets a
/// note too.
///
/// Errors: [`Error::Malformed`] naming `label`, the section and offset 0
/// when a section or symbol name cannot be read.
pub fn programs<'d, F: Object<'d>>(label: &str, file: &F) -> Result<(Vec<Program>, Vec<String>)> {
    let malformed = |section: &str, message: String| Error::Malformed {
        label: label.to_owned(),
        section: section.to_owned(),
        offset: 0,
        message,
    };
    let mut found: Vec<(SectionIndex, u64, Program)> = Vec::new();
    let mut notes = Vec::new();
    let mut exec_sections = Vec::new();
    for section in file.sections() {
        let exec = matches!(section.flags(), SectionFlags::Elf { sh_flags, .. } if sh_flags.0 & object::elf::SHF_EXECINSTR.0 != 0);
        if !exec {
            continue;
        }
        let name = section
            .name()
            .map_err(|e| malformed(".shstrtab", format!("section name: {e}")))?;
        if name != ".text" {
            exec_sections.push((section.index(), name.to_owned()));
        }
    }
    for symbol in file.symbols() {
        if symbol.kind() != SymbolKind::Text {
            continue;
        }
        let Some(index) = symbol.section_index() else {
            continue;
        };
        let Some((_, section)) = exec_sections.iter().find(|(i, _)| *i == index) else {
            continue;
        };
        let name = symbol
            .name()
            .map_err(|e| malformed(".strtab", format!("symbol name: {e}")))?;
        if symbol.is_local() {
            notes.push(format!(
                "section `{section}`: program `{name}` is static; libbpf refuses static programs"
            ));
        }
        let (attach, note) = attach_of(section, name);
        notes.extend(note);
        found.push((
            index,
            symbol.address(),
            Program {
                name: name.to_owned(),
                section: section.clone(),
                attach,
            },
        ));
    }
    for (index, section) in &exec_sections {
        if !found.iter().any(|(i, _, _)| i == index) {
            notes.push(format!(
                "section `{section}`: executable but holds no function symbol"
            ));
        }
    }
    found.sort_by(|a, b| (a.0 .0, a.1, &a.2.name).cmp(&(b.0 .0, b.1, &b.2.name)));
    notes.dedup();
    Ok((found.into_iter().map(|(_, _, p)| p).collect(), notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kp(function: &str, offset: u64, ret: bool) -> Attach {
        Attach::Kprobe {
            function: function.into(),
            offset,
            ret,
        }
    }

    #[test]
    fn kprobe_forms() {
        assert_eq!(
            attach_of("kprobe/do_sys_open", "f"),
            (kp("do_sys_open", 0, false), None)
        );
        assert_eq!(
            attach_of("kprobe/tcp_v4_connect+0x10", "f").0,
            kp("tcp_v4_connect", 16, false)
        );
        assert_eq!(
            attach_of("kprobe/tcp_v4_connect+24", "f").0,
            kp("tcp_v4_connect", 24, false)
        );
        assert_eq!(
            attach_of("kretprobe/vfs_read", "f"),
            (kp("vfs_read", 0, true), None)
        );
        let (a, note) = attach_of("kretprobe/vfs_read+8", "f");
        assert_eq!(a, kp("vfs_read", 8, true));
        assert!(note.unwrap().contains("offset"));
        let (a, note) = attach_of("kprobe", "f");
        assert_eq!(a, kp("", 0, false));
        assert!(note.unwrap().contains("run time"));
        // `kprobe_x` is no kprobe: `+` matching wants `/`.
        assert_eq!(attach_of("kprobe_x", "f").0, Attach::Unknown);
        assert_eq!(
            attach_of("kprobe.multi/tcp_*", "f"),
            (
                Attach::KprobeMulti {
                    pattern: "tcp_*".into(),
                    ret: false
                },
                None
            )
        );
        assert_eq!(
            attach_of("kretprobe.multi/vfs_*", "f").0,
            Attach::KprobeMulti {
                pattern: "vfs_*".into(),
                ret: true
            }
        );
        assert_eq!(
            attach_of("kretsyscall/openat", "f").0,
            Attach::Ksyscall {
                syscall: "openat".into(),
                ret: true
            }
        );
    }

    #[test]
    fn tracing_forms() {
        let tp = |s: &str, n: &str| Attach::Tracepoint {
            system: s.into(),
            name: n.into(),
        };
        assert_eq!(
            attach_of("tp/sched/sched_switch", "f").0,
            tp("sched", "sched_switch")
        );
        assert_eq!(
            attach_of("tracepoint/syscalls/sys_enter_openat", "f").0,
            tp("syscalls", "sys_enter_openat")
        );
        assert_eq!(
            attach_of("tp.s/syscalls/sys_enter_read", "f").0,
            tp("syscalls", "sys_enter_read")
        );
        let raw = |n: &str, btf: bool| Attach::RawTracepoint {
            name: n.into(),
            btf,
        };
        assert_eq!(
            attach_of("raw_tp/sched_wakeup", "f").0,
            raw("sched_wakeup", false)
        );
        assert_eq!(attach_of("raw_tracepoint.w/x", "f").0, raw("x", false));
        assert_eq!(
            attach_of("tp_btf/sched_switch", "f").0,
            raw("sched_switch", true)
        );
        let fe = |f: &str, mode| Attach::Fentry {
            function: f.into(),
            mode,
        };
        assert_eq!(
            attach_of("fentry/vfs_read", "f").0,
            fe("vfs_read", FentryMode::Fentry)
        );
        assert_eq!(
            attach_of("fexit.s/vfs_read", "f").0,
            fe("vfs_read", FentryMode::Fexit)
        );
        assert_eq!(attach_of("fmod_ret/x", "f").0, fe("x", FentryMode::FmodRet));
        assert_eq!(
            attach_of("lsm.s/bprm_check_security", "f").0,
            Attach::Lsm {
                hook: "bprm_check_security".into(),
                sleepable: true
            }
        );
        assert_eq!(
            attach_of("iter/task", "f").0,
            Attach::Iter {
                target: "task".into()
            }
        );
        assert_eq!(
            attach_of("struct_ops/dctcp_init", "f").0,
            Attach::StructOps {
                name: "dctcp_init".into()
            }
        );
        assert_eq!(
            attach_of("struct_ops", "f").0,
            Attach::StructOps { name: "f".into() }
        );
    }

    #[test]
    fn not_kernel_and_unknown() {
        let nk = |c: &str| Attach::NotKernel {
            convention: c.into(),
        };
        assert_eq!(
            attach_of("uprobe//bin/bash:readline", "f"),
            (nk("uprobe"), None)
        );
        assert_eq!(attach_of("uretprobe.multi/x", "f").0, nk("uretprobe.multi"));
        assert_eq!(attach_of("xdp", "f"), (nk("xdp"), None));
        assert_eq!(attach_of("tc/ingress", "f"), (nk("tc/ingress"), None));
        assert_eq!(
            attach_of("cgroup/connect4", "f"),
            (nk("cgroup/connect4"), None)
        );
        assert_eq!(attach_of("freplace/x", "f").0, nk("freplace"));
        let (a, note) = attach_of("xdp_prog", "f");
        assert_eq!(a, nk("xdp"));
        assert!(note.unwrap().contains("legacy"));
        let (a, note) = attach_of("weird/thing", "f");
        assert_eq!(a, Attach::Unknown);
        assert!(note.unwrap().contains("weird/thing"));
    }
}
