//! The type kind end to end over the fixture images: the exact
//! `type_changes` rows of the Regular group (the mini kernel's v1 → v2 →
//! v3), the Arch group's layout differences, and the `struct task_struct`
//! page (golden, and the same from the tables as from a config).
//!
//! Regenerate the golden page with
//! `KSURF_BLESS=1 cargo test -p ksurf-aggregator --test type_changes`.

mod common;

use ksurf_aggregator::history::aggregated_groups;
use ksurf_aggregator::tables::decode_type_changes;
use ksurf_aggregator::type_diff::TypeChangeRow;
use ksurf_aggregator::{aggregate, config, type_report};
use ksurf_dataset::layout::group_image_table_file;
use ksurf_dataset::{Dataset, ImageId, TableName};

/// Every `type_changes` row of `group`, as `pair | kind name | change |
/// member | old -> new` lines, in stored order (pair by pair).
fn change_lines(dataset: &Dataset, group: &str) -> Vec<String> {
    let g = aggregated_groups(dataset)
        .unwrap()
        .into_iter()
        .find(|g| g.name == group)
        .unwrap();
    let newer: Vec<&String> = if g.baseline.is_some() {
        g.images.iter().collect()
    } else {
        g.images.iter().skip(1).collect()
    };
    let mut out = Vec::new();
    for image in newer {
        let id: ImageId = image.parse().unwrap();
        let path = group_image_table_file(TableName::TypeChanges, group, &id);
        let batch = dataset.read_file(&path, TableName::TypeChanges).unwrap();
        let rows: Vec<TypeChangeRow> = decode_type_changes(&batch, "test").unwrap();
        assert!(rows.windows(2).all(|w| w[0].name <= w[1].name), "{path}");
        for r in rows {
            let c = &r.change;
            out.push(format!(
                "{} -> {} | {} {} | {} | {} | {} -> {}",
                r.old_label,
                r.new_label,
                c.kind,
                r.name,
                c.change.as_str(),
                c.member.as_deref().unwrap_or("-"),
                c.old.as_deref().unwrap_or("-"),
                c.new.as_deref().unwrap_or("-"),
            ));
        }
    }
    out
}

fn aggregated() -> (tempfile::TempDir, Dataset) {
    let dir = tempfile::tempdir().unwrap();
    let dataset = common::fixture_dataset(dir.path());
    let groups = config::load(&common::config_path()).unwrap();
    let outcome = aggregate::write_dataset(&dataset, &groups).unwrap();
    assert!(outcome.failures.is_empty());
    (dir, dataset)
}

#[test]
fn type_changes_of_the_fixture_groups() {
    let (_dir, dataset) = aggregated();
    let regular = change_lines(&dataset, "Regular");
    let want_regular: Vec<String> = include_str!("golden/type_changes_regular.txt")
        .lines()
        .map(str::to_owned)
        .collect();
    if std::env::var_os("KSURF_BLESS").is_some() {
        std::fs::write(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/golden/type_changes_regular.txt"
            ),
            regular.join("\n") + "\n",
        )
        .unwrap();
    } else {
        assert_eq!(regular, want_regular);
    }
    // The renames, removals, retypes and moves the fixture versions make.
    for line in [
        "4.4 -> 4.10 | struct task_struct | Field added | __state | - -> volatile long int",
        "4.4 -> 4.10 | struct task_struct | Field removed | state | volatile long int -> -",
        "4.4 -> 4.10 | struct request | Field removed | rq_disk | struct gendisk * -> -",
        "4.4 -> 4.10 | struct request_queue | Field added | disk | - -> struct gendisk *",
        "4.4 -> 4.10 | struct thread_info | Field type changed | cpu | int -> long int",
        "4.4 -> 4.10 | struct gendisk | Field offset changed | disk_name | 64 -> 96",
    ] {
        assert!(
            regular.iter().any(|l| l == line),
            "missing {line:?} in {regular:#?}"
        );
    }
    // The comparison_groups counts agree with the files.
    let groups = aggregated_groups(&dataset).unwrap();
    let g = groups.iter().find(|g| g.name == "Regular").unwrap();
    assert_eq!(g.type_changes as usize, regular.len());
    assert!(g.type_names > 30, "{}", g.type_names);
}

#[test]
fn the_task_struct_page_is_golden_and_the_same_from_a_config() {
    let (_dir, dataset) = aggregated();
    let from_tables = type_report::from_dataset(&dataset, "struct", "task_struct").unwrap();
    let groups = config::load(&common::config_path()).unwrap();
    let from_config = type_report::from_config(&dataset, &groups, "struct", "task_struct").unwrap();
    assert_eq!(from_tables, from_config);
    let page = type_report::render(&from_tables);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/struct_task_struct.md"
    );
    if std::env::var_os("KSURF_BLESS").is_some() {
        std::fs::write(path, &page).unwrap();
    } else {
        assert_eq!(page, std::fs::read_to_string(path).unwrap());
    }
    let missing = type_report::from_dataset(&dataset, "union", "task_struct").unwrap_err();
    assert_eq!(
        missing.to_string(),
        "union task_struct is in no image of the groups"
    );
}
