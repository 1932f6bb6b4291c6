//! What the aggregator knows about one function name: its instances and
//! symbols in one image ([`Presence`]), its status row in a group
//! ([`StatusRow`]) with the issues it raises, and one change between two
//! images ([`ChangeRow`]).

/// One parameter of a prototype; the name is missing when only a
/// declaration was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    pub name: Option<String>,
    pub ty: String,
}

/// One instance of a function (a row of `function_instances`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    pub external: bool,
    pub decl_file: Option<String>,
    pub decl_line: Option<u32>,
    pub cu_path: Option<String>,
    pub inline_status: String,
    pub defined: bool,
    pub addr: Option<u64>,
    pub inline_callers: Vec<String>,
    pub direct_callers: Vec<String>,
    pub prototype: Option<String>,
    pub return_type: Option<String>,
    pub params: Option<Vec<Param>>,
    pub varargs: bool,
    /// A definition whose code the linker dropped (a `__weak` one
    /// overridden by a strong one): no address.
    pub discarded: bool,
}

impl Instance {
    /// The compiler inlined it somewhere (`DW_AT_inline` says inlined).
    pub fn inlined(&self) -> bool {
        matches!(
            self.inline_status.as_str(),
            "not declared, inlined" | "declared, inlined"
        )
    }

    /// DepSurf's location: `decl_file:decl_line`, the file alone without a
    /// line, the compile unit for assembler functions.
    pub fn location(&self) -> Option<String> {
        match (&self.decl_file, self.decl_line) {
            (Some(f), Some(l)) => Some(format!("{f}:{l}")),
            (Some(f), None) => Some(f.clone()),
            (None, _) => self.cu_path.clone(),
        }
    }
}

/// One function symbol (a row of `symbols`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    pub addr: u64,
    pub size: u64,
    pub binding: String,
    pub section: String,
}

/// The attach verdicts of a function in one image (a row of
/// `function_attach`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attach {
    /// `yes`, `ambiguous` or `no`.
    pub kprobe: String,
    /// The symbol names a kprobe can use, in address order.
    pub kprobe_symbols: Vec<String>,
    pub kprobe_reason: String,
    pub fentry: bool,
    pub fentry_reason: String,
}

impl Attach {
    /// `yes: symbol vfs_read`: the kprobe verdict with its reason.
    pub fn kprobe_text(&self) -> String {
        format!("{}: {}", self.kprobe, self.kprobe_reason)
    }

    /// `no: the image has no .BTF …`: the fentry verdict with its reason.
    pub fn fentry_text(&self) -> String {
        let verdict = if self.fentry { "yes" } else { "no" };
        format!("{verdict}: {}", self.fentry_reason)
    }
}

/// A function name as it is in one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presence {
    pub collision_type: String,
    pub inline_type: String,
    pub transform_suffixes: Vec<String>,
    pub instances: Vec<Instance>,
    pub symbols: Vec<Symbol>,
    /// `None` when the image has no verdicts for it (a DepSurf page read
    /// back, or an image whose `function_attach` could not be read).
    pub attach: Option<Attach>,
}

impl Presence {
    pub fn transformed(&self) -> bool {
        !self.transform_suffixes.is_empty()
    }

    /// The issues the paper names, in its order: Duplicate or Collision,
    /// then Full Inline or Selective Inline, then Transformation.
    pub fn issues(&self) -> Vec<Issue> {
        let mut issues = Vec::new();
        match self.collision_type.as_str() {
            "Static Duplication" => issues.push(Issue::Duplicate),
            "Static-Static Collision" | "Static-Global Collision" => issues.push(Issue::Collision),
            _ => {}
        }
        match self.inline_type.as_str() {
            "Full" => issues.push(Issue::FullInline),
            "Selective" => issues.push(Issue::SelectiveInline),
            _ => {}
        }
        if self.transformed() {
            issues.push(Issue::Transformation);
        }
        issues
    }

    /// The distinct names of the symbols a call can enter by: every
    /// symbol of the stem but `.cold` parts, in symbol order.
    pub fn entry_symbols(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for s in &self.symbols {
            let cold = s.name.split('.').skip(1).any(|part| part == "cold");
            if !cold && !out.contains(&s.name.as_str()) {
                out.push(&s.name);
            }
        }
        out
    }

    /// The distinct prototypes of the instances, in instance order.
    pub fn prototypes(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for p in self.instances.iter().filter_map(|i| i.prototype.as_ref()) {
            if !out.contains(p) {
                out.push(p.clone());
            }
        }
        out
    }
}

/// A problem a function has in one image, as the paper names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Issue {
    Absent,
    Duplicate,
    Collision,
    FullInline,
    SelectiveInline,
    Transformation,
}

impl Issue {
    pub fn as_str(self) -> &'static str {
        match self {
            Issue::Absent => "Absent",
            Issue::Duplicate => "Duplicate",
            Issue::Collision => "Collision",
            Issue::FullInline => "Full Inline",
            Issue::SelectiveInline => "Selective Inline",
            Issue::Transformation => "Transformation",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Issue::Absent,
            Issue::Duplicate,
            Issue::Collision,
            Issue::FullInline,
            Issue::SelectiveInline,
            Issue::Transformation,
        ]
        .into_iter()
        .find(|i| i.as_str() == text)
    }
}

/// One function name in one image of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusRow {
    pub name: String,
    /// `distro/release/arch`.
    pub image: String,
    pub label: String,
    /// The group's baseline (not shown in its status list).
    pub baseline: bool,
    /// Place in the group's status list; `None` for the baseline.
    pub position: Option<u32>,
    /// `None`: the name is absent from the image's vmlinux.
    pub presence: Option<Presence>,
    /// The image's kernel modules that define the name (the `module`
    /// column of the `functions` table's module rows), sorted; empty when
    /// none does or the image was extracted without modules.
    pub modules: Vec<String>,
}

impl StatusRow {
    pub fn issues(&self) -> Vec<Issue> {
        match &self.presence {
            None => vec![Issue::Absent],
            Some(p) => p.issues(),
        }
    }
}

/// The kinds of change between two images, in the order they are listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    FunctionAdded,
    FunctionRemoved,
    ParamAdded,
    ParamRemoved,
    ParamReordered,
    ParamTypeChanged,
    ReturnTypeChanged,
    /// A parameter kept its place among the common parameters but not its
    /// position (one was added or removed before it): positional readers
    /// (`PT_REGS_PARMn`) read another argument.
    ParamMoved,
    /// `inline_type` changed (`No` → `Full`, …).
    InlineTypeChanged,
    /// `collision_type` changed (a name becomes duplicated, static ↔ global).
    CollisionTypeChanged,
    /// The symbols a call enters by changed names (`f` → `f.isra.0`).
    SymbolRenamed,
    /// The kprobe verdict changed (`yes` → `ambiguous`, …).
    KprobeChanged,
    /// The fentry verdict changed.
    FentryChanged,
    /// The vmlinux defined it, the newer image's vmlinux does not, and a
    /// module of the newer image does (built-in → module, `=y` → `=m`).
    MovedToModule,
    /// A module defined it and the newer image's vmlinux does (module →
    /// built-in).
    MovedToVmlinux,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 15] = [
        ChangeKind::FunctionAdded,
        ChangeKind::FunctionRemoved,
        ChangeKind::ParamAdded,
        ChangeKind::ParamRemoved,
        ChangeKind::ParamReordered,
        ChangeKind::ParamTypeChanged,
        ChangeKind::ReturnTypeChanged,
        ChangeKind::ParamMoved,
        ChangeKind::InlineTypeChanged,
        ChangeKind::CollisionTypeChanged,
        ChangeKind::SymbolRenamed,
        ChangeKind::KprobeChanged,
        ChangeKind::FentryChanged,
        ChangeKind::MovedToModule,
        ChangeKind::MovedToVmlinux,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::FunctionAdded => "Function added",
            ChangeKind::FunctionRemoved => "Function removed",
            ChangeKind::ParamAdded => "Param added",
            ChangeKind::ParamRemoved => "Param removed",
            ChangeKind::ParamReordered => "Param reordered",
            ChangeKind::ParamTypeChanged => "Param type changed",
            ChangeKind::ReturnTypeChanged => "Return type changed",
            ChangeKind::ParamMoved => "Param moved",
            ChangeKind::InlineTypeChanged => "Inline type changed",
            ChangeKind::CollisionTypeChanged => "Collision type changed",
            ChangeKind::SymbolRenamed => "Symbol renamed",
            ChangeKind::KprobeChanged => "Kprobe changed",
            ChangeKind::FentryChanged => "Fentry changed",
            ChangeKind::MovedToModule => "Moved to module",
            ChangeKind::MovedToVmlinux => "Moved to vmlinux",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// A change of a function present on both sides (its signature, or
    /// how it is compiled and attached): listed under a pair's differences.
    pub fn is_signature_change(self) -> bool {
        !matches!(
            self,
            ChangeKind::FunctionAdded
                | ChangeKind::FunctionRemoved
                | ChangeKind::MovedToModule
                | ChangeKind::MovedToVmlinux
        )
    }

    /// The function left the vmlinux for a module, or came back.
    pub fn is_move(self) -> bool {
        matches!(self, ChangeKind::MovedToModule | ChangeKind::MovedToVmlinux)
    }

    /// A change of how the function is compiled or attached rather than of
    /// its prototype.
    pub fn is_attach_change(self) -> bool {
        matches!(
            self,
            ChangeKind::InlineTypeChanged
                | ChangeKind::CollisionTypeChanged
                | ChangeKind::SymbolRenamed
                | ChangeKind::KprobeChanged
                | ChangeKind::FentryChanged
        )
    }
}

/// One change of a function between the two images of a compared pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub kind: ChangeKind,
    /// The instance the change is about (declaration file and compile
    /// unit of its old side, else its new side); `None` for whole-function
    /// changes.
    pub decl_file: Option<String>,
    pub cu_path: Option<String>,
    /// The parameter (added, removed, type changed).
    pub param: Option<String>,
    /// Old and new value: a type, a parameter list or a prototype; for a
    /// move, where the function is (`vmlinux`, or the modules defining
    /// it joined by `, `).
    pub old: Option<String>,
    pub new: Option<String>,
}

/// A change as stored in `function_changes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeRow {
    pub name: String,
    /// Place of the pair in the group's list of pairs.
    pub pair: u32,
    pub old_image: String,
    pub new_image: String,
    pub old_label: String,
    pub new_label: String,
    pub change: Change,
}
