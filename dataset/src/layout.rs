//! Storage layout: one directory per table, hive-partitioned by image
//! (`<table>/distro=<d>/release=<r>/arch=<a>/part-0.parquet`) for the
//! extractor's per-image tables and by comparison group for the
//! aggregator's tables: `comparison_groups/group=<g>/part-0.parquet`, and
//! below the group by image for `function_status` and `function_changes`
//! (`<table>/group=<g>/distro=<d>/release=<r>/arch=<a>/part-0.parquet`).

pub use object_store::path::Path;

use crate::image::ImageId;

/// Every table of the dataset: the per-image tables the extractor writes
/// ([`TableName::ALL`], `Images` last as the completion marker) and the
/// per-group tables the aggregator writes ([`TableName::AGGREGATED`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TableName {
    FunctionInstances,
    Functions,
    Symbols,
    /// Per function name: kprobe and fentry verdicts with their reasons.
    FunctionAttach,
    /// Struct, union, enum and typedef definitions (the type kind).
    Types,
    /// Members of the structs and unions of `Types`.
    TypeMembers,
    /// Enumerators of the enums of `Types`.
    EnumValues,
    /// Tracepoints with their arguments and event records.
    Tracepoints,
    /// Syscall table slots per ABI.
    Syscalls,
    /// Kernel functions exported to BPF programs (kfunc sets).
    Kfuncs,
    /// LSM hooks and their BPF LSM attach targets.
    LsmHooks,
    /// The image's build configuration, one row per `CONFIG_` option.
    Kconfig,
    /// The image's kernel modules (`.ko`), one row each: what was read
    /// from it, or why it could not be.
    Modules,
    UnitErrors,
    Images,
    FunctionStatus,
    FunctionChanges,
    /// Per compared pair: what changed in the types (the type kind's diff).
    TypeChanges,
    /// Per compared pair: what changed in the tracepoints.
    TracepointChanges,
    /// Per compared pair: what changed in the syscalls, per ABI.
    SyscallChanges,
    /// Per compared pair: what changed in the kfuncs.
    KfuncChanges,
    /// Per compared pair: what changed in the LSM hooks.
    LsmHookChanges,
    /// Per compared pair: what changed in the build configuration.
    KconfigChanges,
    ComparisonGroups,
    /// The fetcher's manifest: which package each image's vmlinux came
    /// from. Not an extractor table, so not in [`TableName::ALL`].
    Fetches,
    /// What one `ksurf run` (or one shard of a distributed run) did with each
    /// image and group, partitioned by run (`run_log/run=<id>/`).
    RunLog,
}

impl TableName {
    /// Every table, in the order the extractor writes them (`Images` last).
    pub const ALL: [TableName; 15] = [
        TableName::FunctionInstances,
        TableName::Functions,
        TableName::Symbols,
        TableName::FunctionAttach,
        TableName::Types,
        TableName::TypeMembers,
        TableName::EnumValues,
        TableName::Tracepoints,
        TableName::Syscalls,
        TableName::Kfuncs,
        TableName::LsmHooks,
        TableName::Kconfig,
        TableName::Modules,
        TableName::UnitErrors,
        TableName::Images,
    ];

    /// The per-image tables whose kernel-module rows are kept in a second
    /// file of the image's partition ([`module_rows_file`]), beside the
    /// vmlinux's `part-0.parquet`: both files have the same schema, with
    /// the `module` column saying whose row it is.
    pub const MODULE_ROWS: [TableName; 4] = [
        TableName::FunctionInstances,
        TableName::Functions,
        TableName::Symbols,
        TableName::FunctionAttach,
    ];

    /// The aggregator's per-group tables, in the order it writes them
    /// (`ComparisonGroups` last: it marks a group as complete).
    pub const AGGREGATED: [TableName; 9] = [
        TableName::FunctionChanges,
        TableName::FunctionStatus,
        TableName::TypeChanges,
        TableName::TracepointChanges,
        TableName::SyscallChanges,
        TableName::KfuncChanges,
        TableName::LsmHookChanges,
        TableName::KconfigChanges,
        TableName::ComparisonGroups,
    ];

    /// Every table name, whoever writes it.
    pub const EVERY: [TableName; 26] = [
        TableName::FunctionInstances,
        TableName::Functions,
        TableName::Symbols,
        TableName::FunctionAttach,
        TableName::Types,
        TableName::TypeMembers,
        TableName::EnumValues,
        TableName::Tracepoints,
        TableName::Syscalls,
        TableName::Kfuncs,
        TableName::LsmHooks,
        TableName::Kconfig,
        TableName::Modules,
        TableName::UnitErrors,
        TableName::Images,
        TableName::FunctionStatus,
        TableName::FunctionChanges,
        TableName::TypeChanges,
        TableName::TracepointChanges,
        TableName::SyscallChanges,
        TableName::KfuncChanges,
        TableName::LsmHookChanges,
        TableName::KconfigChanges,
        TableName::ComparisonGroups,
        TableName::Fetches,
        TableName::RunLog,
    ];

    /// The tables the fetcher writes, one row per image.
    pub const FETCHER: [TableName; 1] = [TableName::Fetches];

    pub fn as_str(self) -> &'static str {
        match self {
            TableName::FunctionInstances => "function_instances",
            TableName::Functions => "functions",
            TableName::Symbols => "symbols",
            TableName::FunctionAttach => "function_attach",
            TableName::Types => "types",
            TableName::TypeMembers => "type_members",
            TableName::EnumValues => "enum_values",
            TableName::Tracepoints => "tracepoints",
            TableName::Syscalls => "syscalls",
            TableName::Kfuncs => "kfuncs",
            TableName::LsmHooks => "lsm_hooks",
            TableName::Kconfig => "kconfig",
            TableName::Modules => "modules",
            TableName::TypeChanges => "type_changes",
            TableName::TracepointChanges => "tracepoint_changes",
            TableName::SyscallChanges => "syscall_changes",
            TableName::KfuncChanges => "kfunc_changes",
            TableName::LsmHookChanges => "lsm_hook_changes",
            TableName::KconfigChanges => "kconfig_changes",
            TableName::UnitErrors => "unit_errors",
            TableName::Images => "images",
            TableName::FunctionStatus => "function_status",
            TableName::FunctionChanges => "function_changes",
            TableName::ComparisonGroups => "comparison_groups",
            TableName::Fetches => "fetches",
            TableName::RunLog => "run_log",
        }
    }
}

/// Where `ksurf plan` writes the work list that `ksurf extract --shard`
/// reads (hidden from manifests and readers by its leading `_`).
pub const PLAN_FILE: &str = "_plan/plan.json";

/// The run log file of run `run_id`: `run_log/run=<id>/part-0.parquet`.
pub fn run_log_file(run_id: &str) -> Path {
    Path::from_iter([
        TableName::RunLog.as_str().to_owned(),
        format!("run={run_id}"),
        "part-0.parquet".to_owned(),
    ])
}

/// The partition directory of comparison group `group` inside `table`.
pub fn group_partition_dir(table: TableName, group: &str) -> Path {
    Path::from_iter([table.as_str().to_owned(), format!("group={group}")])
}

/// The one Parquet file holding group `group`'s row of
/// `comparison_groups` (the group's completion marker).
pub fn group_table_file(table: TableName, group: &str) -> Path {
    group_partition_dir(table, group).join("part-0.parquet")
}

/// The Parquet file holding group `group`'s rows of `table` for one image
/// of the group: its status rows (`function_status`), or the changes of
/// the compared pair whose newer image it is (`function_changes`).
pub fn group_image_table_file(table: TableName, group: &str, image: &ImageId) -> Path {
    let mut path = group_partition_dir(table, group);
    for part in [
        format!("distro={}", image.distro),
        format!("release={}", image.release),
        format!("arch={}", image.arch),
        "part-0.parquet".to_owned(),
    ] {
        path = path.join(part);
    }
    path
}

/// Parses `<table>/group=<g>/<file>` or
/// `<table>/group=<g>/distro=<d>/release=<r>/arch=<a>/<file>` back into
/// the group name.
pub fn group_of_path(path: &Path) -> Option<String> {
    let parts: Vec<_> = path.parts().collect();
    if parts.len() != 3 && parts.len() != 6 {
        return None;
    }
    parts[1]
        .as_ref()
        .strip_prefix("group=")
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
}

/// The partition directory of `image` inside `table`.
pub fn partition_dir(table: TableName, image: &ImageId) -> Path {
    Path::from_iter([
        table.as_str().to_owned(),
        format!("distro={}", image.distro),
        format!("release={}", image.release),
        format!("arch={}", image.arch),
    ])
}

/// Where `image`'s BTF blob lives (`btf/distro=<d>/release=<r>/arch=<a>/vmlinux.btf`):
/// raw BTF, the vmlinux's `.BTF` section or BTF encoded from its DWARF
/// (`images.btf_source` says which, `images.btf_sha256` is its hash).
pub fn btf_file(image: &ImageId) -> Path {
    Path::from_iter([
        BTF_DIR.to_owned(),
        format!("distro={}", image.distro),
        format!("release={}", image.release),
        format!("arch={}", image.arch),
        "vmlinux.btf".to_owned(),
    ])
}

/// The top-level directory of the images' BTF blobs.
pub const BTF_DIR: &str = "btf";

/// The one Parquet file holding `image`'s rows of `table`.
pub fn table_file(table: TableName, image: &ImageId) -> Path {
    partition_dir(table, image).join("part-0.parquet")
}

/// The file name of the kernel modules' rows in an image partition.
pub const MODULE_ROWS_FILE: &str = "modules-0.parquet";

/// The Parquet file holding the kernel modules' rows of `table` for
/// `image` (`<table>/distro=<d>/release=<r>/arch=<a>/modules-0.parquet`),
/// sorted by (`module`, then the table's key); only for the tables of
/// [`TableName::MODULE_ROWS`], and absent for an image extracted without
/// modules. The vmlinux's rows stay in [`table_file`], so a reader of one
/// image's vmlinux (the aggregator) never sees a module's row, and a
/// reader of the whole table (`<table>/**/*.parquet`) sees both.
pub fn module_rows_file(table: TableName, image: &ImageId) -> Path {
    partition_dir(table, image).join(MODULE_ROWS_FILE)
}

/// Parses `<table>/distro=<d>/release=<r>/arch=<a>/<file>` back into an image id.
pub fn image_of_path(path: &Path) -> Option<ImageId> {
    let parts: Vec<_> = path.parts().collect();
    if parts.len() != 5 {
        return None;
    }
    let value = |i: usize, key: &str| -> Option<String> {
        parts[i]
            .as_ref()
            .strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('='))
            .map(str::to_owned)
    };
    ImageId::new(
        &value(1, "distro")?,
        &value(2, "release")?,
        &value(3, "arch")?,
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_file_round_trips_through_image_of_path() {
        let id = ImageId::new("debian", "6.12.107+deb13-amd64", "amd64").unwrap();
        let path = table_file(TableName::FunctionInstances, &id);
        assert_eq!(
            path.as_ref(),
            "function_instances/distro=debian/release=6.12.107+deb13-amd64/arch=amd64/part-0.parquet"
        );
        assert_eq!(image_of_path(&path), Some(id));
        assert_eq!(
            image_of_path(&Path::from("images/distro=x/part-0.parquet")),
            None
        );
    }

    #[test]
    fn group_table_file_round_trips_through_group_of_path() {
        let path = group_table_file(TableName::FunctionStatus, "Regular");
        assert_eq!(
            path.as_ref(),
            "function_status/group=Regular/part-0.parquet"
        );
        assert_eq!(group_of_path(&path), Some("Regular".to_owned()));
        assert_eq!(
            group_of_path(&Path::from("function_status/part-0.parquet")),
            None
        );
        let id = ImageId::new("debian", "6.1.0-47-cloud-amd64", "amd64").unwrap();
        let path = group_image_table_file(TableName::FunctionChanges, "Arch", &id);
        assert_eq!(
            path.as_ref(),
            "function_changes/group=Arch/distro=debian/release=6.1.0-47-cloud-amd64/arch=amd64/part-0.parquet"
        );
        assert_eq!(group_of_path(&path), Some("Arch".to_owned()));
    }
}
