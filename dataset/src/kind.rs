//! The kinds of kernel dependency ksurf maps, and which tables hold each.
//!
//! A kind is what an eBPF program can depend on: a function (kprobe,
//! fentry), a type (CO-RE reads of struct members, enum values), and in
//! time tracepoints, syscalls, kfuncs, LSM hooks and config options. Each
//! kind has its per-image tables (written by one extractor module), one
//! table that lists its names (the key the aggregator merges images by)
//! and one aggregated table of changes per compared pair (written by one
//! diff module of the aggregator). The shared machinery — groups, pairs,
//! per-name lookups, pages, the site — asks this module which tables to
//! read instead of naming a kind's tables itself.

use crate::layout::TableName;

/// One kind of kernel dependency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DependencyKind {
    /// Kernel functions: `functions`, `function_instances`, `symbols`.
    Function,
    /// Structs, unions, enums and typedefs: `types`, `type_members`,
    /// `enum_values`.
    Type,
}

impl DependencyKind {
    /// Every kind, in the order reports and the site list them.
    pub const ALL: [DependencyKind; 2] = [DependencyKind::Function, DependencyKind::Type];

    /// The kind's name in tables, URLs and the CLI (`function`, `type`).
    pub fn as_str(self) -> &'static str {
        match self {
            DependencyKind::Function => "function",
            DependencyKind::Type => "type",
        }
    }

    /// The per-image tables the kind's extractor module writes.
    pub fn image_tables(self) -> &'static [TableName] {
        match self {
            DependencyKind::Function => &[
                TableName::FunctionInstances,
                TableName::Functions,
                TableName::Symbols,
            ],
            DependencyKind::Type => &[
                TableName::Types,
                TableName::TypeMembers,
                TableName::EnumValues,
            ],
        }
    }

    /// The per-image table with one row per name (several for a name with
    /// distinct definitions), sorted by its `name` column: the list the
    /// aggregator merges images by.
    pub fn names_table(self) -> TableName {
        match self {
            DependencyKind::Function => TableName::Functions,
            DependencyKind::Type => TableName::Types,
        }
    }

    /// The aggregated table of changes per compared pair.
    pub fn changes_table(self) -> TableName {
        match self {
            DependencyKind::Function => TableName::FunctionChanges,
            DependencyKind::Type => TableName::TypeChanges,
        }
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
            assert!(TableName::AGGREGATED.contains(&kind.changes_table()));
        }
    }
}
