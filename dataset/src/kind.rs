//! The kinds of kernel dependency ksurf maps, and which tables hold each.
//!
//! A kind is what an eBPF program can depend on: a function (kprobe,
//! fentry), a type (CO-RE reads of struct members, enum values), a
//! tracepoint (`tracepoint/`, `raw_tp/`, `tp_btf/`), a syscall, a kfunc, an
//! LSM hook (`lsm/`), a build configuration option (`CONFIG_*`, as
//! libbpf's `__kconfig` externs read them). Each kind has its per-image
//! tables (written by one extractor module), one table that lists its
//! names (the key the aggregator merges images by) and one aggregated
//! table of changes per compared pair (written by one diff module of the
//! aggregator). The shared machinery —
//! groups, pairs, per-name lookups, pages, the site — asks this module
//! which tables to read instead of naming a kind's tables itself.

use crate::layout::TableName;

/// One kind of kernel dependency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DependencyKind {
    /// Kernel functions: `functions`, `function_instances`, `symbols`.
    Function,
    /// Structs, unions, enums and typedefs: `types`, `type_members`,
    /// `enum_values`.
    Type,
    /// Tracepoints: `tracepoints`.
    Tracepoint,
    /// Syscalls per ABI: `syscalls`.
    Syscall,
    /// Functions exported to BPF programs: `kfuncs`.
    Kfunc,
    /// LSM hooks: `lsm_hooks`.
    LsmHook,
    /// Build configuration options: `kconfig`.
    Config,
}

impl DependencyKind {
    /// Every kind, in the order reports and the site list them.
    pub const ALL: [DependencyKind; 7] = [
        DependencyKind::Function,
        DependencyKind::Type,
        DependencyKind::Tracepoint,
        DependencyKind::Syscall,
        DependencyKind::Kfunc,
        DependencyKind::LsmHook,
        DependencyKind::Config,
    ];

    /// The kind's name in tables, URLs and the CLI (`function`, `type`,
    /// `tracepoint`, `syscall`, `kfunc`, `lsm`, `config`).
    pub fn as_str(self) -> &'static str {
        match self {
            DependencyKind::Function => "function",
            DependencyKind::Type => "type",
            DependencyKind::Tracepoint => "tracepoint",
            DependencyKind::Syscall => "syscall",
            DependencyKind::Kfunc => "kfunc",
            DependencyKind::LsmHook => "lsm",
            DependencyKind::Config => "config",
        }
    }

    /// The per-image tables the kind's extractor module writes.
    pub fn image_tables(self) -> &'static [TableName] {
        match self {
            DependencyKind::Function => &[
                TableName::FunctionInstances,
                TableName::Functions,
                TableName::Symbols,
                TableName::FunctionAttach,
            ],
            DependencyKind::Type => &[
                TableName::Types,
                TableName::TypeMembers,
                TableName::EnumValues,
            ],
            DependencyKind::Tracepoint => &[TableName::Tracepoints],
            DependencyKind::Syscall => &[TableName::Syscalls],
            DependencyKind::Kfunc => &[TableName::Kfuncs],
            DependencyKind::LsmHook => &[TableName::LsmHooks],
            DependencyKind::Config => &[TableName::Kconfig],
        }
    }

    /// The per-image table with one row per name (several for a name with
    /// distinct definitions or, for syscalls, ABIs), sorted by its `name`
    /// column: the list the aggregator merges images by.
    pub fn names_table(self) -> TableName {
        match self {
            DependencyKind::Function => TableName::Functions,
            DependencyKind::Type => TableName::Types,
            DependencyKind::Tracepoint => TableName::Tracepoints,
            DependencyKind::Syscall => TableName::Syscalls,
            DependencyKind::Kfunc => TableName::Kfuncs,
            DependencyKind::LsmHook => TableName::LsmHooks,
            DependencyKind::Config => TableName::Kconfig,
        }
    }

    /// The aggregated table of changes per compared pair; `None` for a
    /// kind whose diff module is not written yet.
    pub fn changes_table(self) -> Option<TableName> {
        Some(match self {
            DependencyKind::Function => TableName::FunctionChanges,
            DependencyKind::Type => TableName::TypeChanges,
            DependencyKind::Tracepoint => TableName::TracepointChanges,
            DependencyKind::Syscall => TableName::SyscallChanges,
            DependencyKind::Kfunc => TableName::KfuncChanges,
            DependencyKind::LsmHook => TableName::LsmHookChanges,
            DependencyKind::Config => TableName::KconfigChanges,
        })
    }

    /// Whether the kind's changes are stored in the shared interface shape
    /// ([`crate::schema::interface_change_fields`]): every kind but
    /// functions and types, whose changes carry their own columns.
    pub fn is_interface(self) -> bool {
        !matches!(self, DependencyKind::Function | DependencyKind::Type)
    }

    /// The kind named `text` ([`DependencyKind::as_str`]).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_image_table_of_a_kind_is_written_by_the_extractor() {
        for kind in DependencyKind::ALL {
            for table in kind.image_tables() {
                assert!(TableName::ALL.contains(table), "{table:?}");
            }
            assert!(kind.image_tables().contains(&kind.names_table()));
            if let Some(changes) = kind.changes_table() {
                assert!(TableName::AGGREGATED.contains(&changes));
            }
        }
    }
}
