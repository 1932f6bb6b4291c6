//! The interface and config kinds' changes on the fixture groups
//! `Interfaces`, `InterfacesArch` and `Kfuncs` (the interfaces and kfuncs
//! fixtures and their -DKSURF_V2 next releases) and `ConfigFlavor` (two
//! flavors' IKCONFIG), row for row, and their pages.

mod common;

use ksurf_aggregator::interface_diff::decode_changes;
use ksurf_aggregator::{aggregate, config, history, interface_report};
use ksurf_dataset::{Dataset, DependencyKind};

/// Every row of `kind`'s changes table in the interface groups, as
/// `group | name | pair | old -> new label | change | subject | old | new`.
fn rows(dataset: &Dataset, kind: DependencyKind) -> Vec<String> {
    let table = kind.changes_table().unwrap();
    let mut out = Vec::new();
    for group in history::aggregated_groups(dataset).unwrap() {
        for path in history::group_files(&group, table).unwrap() {
            for r in decode_changes(&dataset.read_file(&path, table).unwrap()) {
                let c = &r.change;
                out.push(format!(
                    "{} | {} | {} | {} -> {} | {} | {} | {} | {}",
                    group.name,
                    r.name,
                    r.pair,
                    r.old_label,
                    r.new_label,
                    c.change,
                    c.subject.as_deref().unwrap_or("-"),
                    c.old.as_deref().unwrap_or("-"),
                    c.new.as_deref().unwrap_or("-")
                ));
            }
        }
    }
    out
}

#[test]
fn interface_changes_of_the_fixture_groups_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = common::fixture_dataset(dir.path());
    let groups = config::load(&common::interface_config_path()).unwrap();
    let outcome = aggregate::write_dataset(&dataset, &groups).unwrap();
    assert!(outcome.failures.is_empty());

    assert_eq!(
        rows(&dataset, DependencyKind::Tracepoint),
        [
            "Interfaces | pelt_bare_tp | 0 | 6.1 -> 6.2 | Tracepoint removed | - | struct task_struct *p | -",
            "Interfaces | skb_consume | 0 | 6.1 -> 6.2 | Argument added | reason | - | int",
            "Interfaces | skb_consume | 0 | 6.1 -> 6.2 | Event struct changed | trace_event_raw_skb_class | - | -",
            "Interfaces | skb_free | 0 | 6.1 -> 6.2 | Argument added | reason | - | int",
            "Interfaces | skb_free | 0 | 6.1 -> 6.2 | Event struct changed | trace_event_raw_skb_class | - | -",
        ]
    );
    assert_eq!(
        rows(&dataset, DependencyKind::Syscall),
        [
            "Interfaces | openat | 0 | 6.1 -> 6.2 | Syscall added | native | - | __x64_sys_openat",
            // getpid, read, write: same names on the shared ABI (native) of
            // amd64 and arm64, so no change although entries and the
            // compat tables (ia32, compat) differ.
            "InterfacesArch | openat | 0 | amd64 -> arm64 | Syscall removed | native | __x64_sys_openat | -",
        ]
    );
    assert_eq!(
        rows(&dataset, DependencyKind::Kfunc),
        [
            "Kfuncs | demo_sleepable | 0 | 6.1 -> 6.2 | Sets changed | - | demo_kfunc_ids, other_kfunc_ids | demo_kfunc_ids",
            "Kfuncs | demo_sleepable | 0 | 6.1 -> 6.2 | Flags changed | - | acquire | sleepable | 0x40000 | sleepable | 0x40000",
            "Kfuncs | demo_task_from_pid | 0 | 6.1 -> 6.2 | Kfunc added | - | - | struct task_struct *demo_task_from_pid(int pid);",
            "Kfuncs | demo_task_release | 0 | 6.1 -> 6.2 | Kfunc removed | - | void demo_task_release(struct task_struct *p); | -",
        ]
    );
    assert_eq!(
        rows(&dataset, DependencyKind::LsmHook),
        ["Kfuncs | task_alloc | 0 | 6.1 -> 6.2 | BPF LSM target added | - | - | -"]
    );
    // Only the ConfigFlavor images carry a build configuration (every other
    // pair has an image without one and is not compared).
    assert_eq!(
        rows(&dataset, DependencyKind::Config),
        [
            "ConfigFlavor | CONFIG_DEBUG_INFO_BTF | 0 | cfg -> cfg-rt | Value changed | - | y | is not set",
            "ConfigFlavor | CONFIG_EXT4_FS | 0 | cfg -> cfg-rt | Value changed | - | m | y",
            "ConfigFlavor | CONFIG_LOCALVERSION | 0 | cfg -> cfg-rt | Value changed | - | \"\" | \"-rt\"",
            "ConfigFlavor | CONFIG_PREEMPT_RT | 0 | cfg -> cfg-rt | Option added | - | - | y",
        ]
    );

    // The page of a tracepoint: from the aggregated changes, and computed
    // for the config's groups, the same.
    let page = interface_report::render(
        &interface_report::from_dataset(&dataset, DependencyKind::Tracepoint, "skb_free").unwrap(),
    );
    assert!(
        page.starts_with("# Tracepoint: <code>skb_free</code>\n"),
        "{page}"
    );
    assert!(
        page.contains(
            "**Arguments:** <code>struct sk_buff *skb, void *location, int reason</code>"
        ),
        "{page}"
    );
    assert!(
        page.contains("<b>Argument added. </b><code>reason</code>: <code>int</code>"),
        "{page}"
    );
    assert!(
        page.contains("<b>Event struct changed. </b><code>trace_event_raw_skb_class</code>"),
        "{page}"
    );
    let computed = interface_report::render(
        &interface_report::from_config(&dataset, &groups, DependencyKind::Tracepoint, "skb_free")
            .unwrap(),
    );
    assert_eq!(computed, page);
    let err = interface_report::from_dataset(&dataset, DependencyKind::Kfunc, "no_such_kfunc")
        .unwrap_err()
        .to_string();
    assert_eq!(err, "kfunc no_such_kfunc is in no image of the groups");
}
