//! What one BPF object depends on in the kernel, read from the object
//! alone: the model [`crate::verdict`] judges and the reports present.
//! Every name here is the object's own spelling (a CO-RE type keeps its
//! `___flavor` suffix); matching against an image is the verdict's job.

use serde::Serialize;

/// One BPF ELF object (`EM_BPF`): a `.bpf.o` file, or one embedded in an
/// executable (a libbpf skeleton, a Go `bpf2go` blob).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BpfObject {
    /// Where it came from: the file path, or `<executable>#<n>` for the
    /// n-th embedded object (from 1, in file order), followed by the
    /// skeleton's object name when one is found: `/usr/sbin/biosnoop#1 (biosnoop_bpf)`.
    pub label: String,
    /// The programs: one per function symbol in an executable section, in
    /// section then symbol-address order.
    pub programs: Vec<Program>,
    /// CO-RE relocations from `.BTF.ext`, in `.BTF.ext` order.
    pub core: Vec<CoreRelocation>,
    /// `.ksyms` externs: kfuncs and kernel variables, by name.
    pub ksyms: Vec<Ksym>,
    /// `.kconfig` externs (`extern bool CONFIG_X __kconfig`), by name.
    pub kconfig: Vec<KconfigExtern>,
    /// Sections that look like programs but follow no known convention,
    /// and other facts the report shows without judging them.
    pub notes: Vec<String>,
}

/// One BPF program: a function symbol of an executable section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Program {
    /// The function symbol (`handle_tp`).
    pub name: String,
    /// The ELF section (`tracepoint/sched/sched_switch`).
    pub section: String,
    /// What the section name says it attaches to.
    pub attach: Attach,
}

/// The attach point a section name gives, by libbpf's section conventions
/// (`tools/lib/bpf/libbpf.c`, `section_defs`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Attach {
    /// `kprobe/<fn>[+<offset>]`, `kretprobe/<fn>`.
    Kprobe {
        function: String,
        offset: u64,
        ret: bool,
    },
    /// `kprobe.multi/<glob>`, `kretprobe.multi/<glob>`.
    KprobeMulti { pattern: String, ret: bool },
    /// `ksyscall/<syscall>`, `kretsyscall/<syscall>`: a kprobe on the
    /// arch's entry symbol of the syscall (`__x64_sys_openat`).
    Ksyscall { syscall: String, ret: bool },
    /// `fentry/<fn>`, `fexit/<fn>`, `fmod_ret/<fn>` (`.s` sleepable
    /// variants included).
    Fentry { function: String, mode: FentryMode },
    /// `tp/<system>/<name>`, `tracepoint/<system>/<name>`. A
    /// `syscalls/sys_enter_<x>` or `sys_exit_<x>` event is a syscall
    /// dependency: the verdict looks the syscall up.
    Tracepoint { system: String, name: String },
    /// `raw_tp/<name>`, `raw_tracepoint/<name>` (`btf` false) and
    /// `tp_btf/<name>` (`btf` true).
    RawTracepoint { name: String, btf: bool },
    /// `lsm/<hook>`, `lsm.s/<hook>`.
    Lsm { hook: String, sleepable: bool },
    /// `iter/<target>` (`task`, `bpf_map_elem`, …).
    Iter { target: String },
    /// `struct_ops/<name>` and `.struct_ops` programs.
    StructOps { name: String },
    /// A known convention that is not a kernel-surface dependency
    /// (`uprobe`, `usdt`, `perf_event`, `xdp`, `tc`, `socket`, …): the
    /// convention's name.
    NotKernel { convention: String },
    /// A section name no convention matches; reported, never fatal.
    Unknown,
}

/// Which trampoline an `fentry`-family program uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FentryMode {
    Fentry,
    Fexit,
    FmodRet,
}

/// `enum bpf_core_relo_kind` (`include/uapi/linux/bpf.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CoreKind {
    FieldByteOffset,
    FieldByteSize,
    FieldExists,
    FieldSigned,
    FieldLshiftU64,
    FieldRshiftU64,
    TypeIdLocal,
    TypeIdTarget,
    TypeExists,
    TypeSize,
    EnumvalExists,
    EnumvalValue,
    TypeMatches,
}

impl CoreKind {
    /// A probe (`bpf_core_field_exists`, `bpf_core_type_exists`,
    /// `bpf_core_enum_value_exists`, `bpf_core_type_matches`): a missing
    /// target makes it 0 and the program takes its fallback branch, it
    /// never fails the load.
    pub fn is_probe(self) -> bool {
        matches!(
            self,
            CoreKind::FieldExists
                | CoreKind::TypeExists
                | CoreKind::EnumvalExists
                | CoreKind::TypeMatches
        )
    }
}

/// One CO-RE relocation record (`struct bpf_core_relo` of `.BTF.ext`),
/// resolved through the object's own `.BTF`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CoreRelocation {
    /// The `.BTF.ext` section the record belongs to: the program's ELF
    /// section (`kprobe/tcp_v4_connect`).
    pub section: String,
    /// Byte offset of the relocated instruction in that section.
    pub insn_offset: u32,
    pub kind: CoreKind,
    /// BTF kind of the root type: `struct`, `union`, `enum`, `enum64`,
    /// `typedef`, `int`, `ptr`, `array`, `func_proto`, `fwd`, …
    pub type_kind: String,
    /// The root type's name as the object spells it, `___flavor` kept
    /// (`task_struct___o`); empty for an anonymous type.
    pub type_name: String,
    /// The raw access string (`0:1:2`).
    pub access: String,
    /// For field relocations, one step per member the access string
    /// walks after its first (array) index; empty otherwise.
    pub steps: Vec<CoreStep>,
    /// For enum value relocations, the enumerator's name.
    pub enumerator: Option<String>,
    /// Human spelling: `task_struct___o::state`, `request::q`,
    /// `task_struct::se.vruntime`, `enum bpf_func_id::BPF_FUNC_x`,
    /// `struct trace_event_raw_block_rq` (type relocations).
    pub spelling: String,
}

/// One step of a field access: a member of a (local) composite type, or
/// an index into an array.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CoreStep {
    /// The local composite type the member belongs to, flavor kept; empty
    /// for an anonymous struct or union.
    pub container: String,
    /// The member's name; `None` for an anonymous member or an array index.
    pub member: Option<String>,
    /// The array index, for a step into an array.
    pub index: Option<u32>,
}

/// One `.ksyms` extern.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ksym {
    pub name: String,
    /// An extern function (a kfunc call); a variable otherwise (a typed
    /// or typeless `__ksym` variable, resolved through kallsyms or BTF).
    pub function: bool,
    /// Declared `__weak`: a missing symbol resolves to 0, not a load failure.
    pub weak: bool,
}

/// One `.kconfig` extern.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KconfigExtern {
    /// `CONFIG_…` as declared; `LINUX_KERNEL_VERSION` and
    /// `LINUX_HAS_*` are libbpf's own and never looked up.
    pub name: String,
    /// Declared `__weak`: a missing option reads as its zero value.
    pub weak: bool,
}
