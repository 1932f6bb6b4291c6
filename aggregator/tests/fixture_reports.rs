//! End-to-end aggregation over the fixture images (the mini kernel in
//! three versions, three arches, three flavors and two revisions): exact
//! change rows, exact status rows, golden Markdown reports, and the
//! report computed from a config equal to the one read from the tables;
//! functions moving between the vmlinux and a kernel module.
//!
//! Regenerate the golden reports with
//! `KSURF_BLESS=1 cargo test -p ksurf-aggregator --test fixture_reports`
//! and review the diff.

mod common;

use ksurf_aggregator::history::{aggregated_groups, from_config, from_dataset, group_files};
use ksurf_aggregator::model::{ChangeRow, StatusRow};
use ksurf_aggregator::tables::{decode_changes, decode_status};
use ksurf_aggregator::{aggregate, config, report};
use ksurf_dataset::{Dataset, TableName};

const GOLDEN: [&str; 17] = [
    "alloc_pages_fixture",
    "asm_only_function",
    "added_in_v2",
    "bool_param",
    "cold_candidate",
    "collide_static_global",
    "collide_static_static",
    "dup_header_helper",
    "full_inline_helper",
    "param_shifted",
    "read_reg",
    "selective_inline_target",
    "sum_grid",
    "union_param",
    "void_params",
    "x86_only_helper",
    "zone_param",
];

/// Every `function_status` row of `group`, ordered by name (stable: for
/// one name, the baseline first, then the members in order).
fn status_rows(dataset: &Dataset, group: &str) -> Vec<StatusRow> {
    let g = aggregated_groups(dataset)
        .unwrap()
        .into_iter()
        .find(|g| g.name == group)
        .unwrap();
    let mut rows = Vec::new();
    for path in group_files(&g, TableName::FunctionStatus).unwrap() {
        let batch = dataset.read_file(&path, TableName::FunctionStatus).unwrap();
        let file_rows = decode_status(&batch);
        assert!(
            file_rows.windows(2).all(|w| w[0].name < w[1].name),
            "{path}"
        );
        rows.extend(file_rows);
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    rows
}

/// Every `function_changes` row of `group`, ordered by name (stable: for
/// one name, the pairs in order).
fn change_rows(dataset: &Dataset, group: &str) -> Vec<ChangeRow> {
    let g = aggregated_groups(dataset)
        .unwrap()
        .into_iter()
        .find(|g| g.name == group)
        .unwrap();
    let mut rows = Vec::new();
    for path in group_files(&g, TableName::FunctionChanges).unwrap() {
        let batch = dataset
            .read_file(&path, TableName::FunctionChanges)
            .unwrap();
        let file_rows = decode_changes(&batch, "test").unwrap();
        assert!(
            file_rows.windows(2).all(|w| w[0].name <= w[1].name),
            "{path}"
        );
        rows.extend(file_rows);
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    rows
}

fn aggregated(dir: &std::path::Path) -> Dataset {
    let dataset = common::fixture_dataset(dir);
    let groups = config::load(&common::config_path()).unwrap();
    let outcome = aggregate::write_dataset(&dataset, &groups).unwrap();
    assert!(outcome.failures.is_empty());
    dataset
}

#[test]
fn groups_resolve_to_the_expected_images_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = aggregated(dir.path());
    type Summary = (String, Option<String>, Vec<String>, u32, u32);
    let groups: Vec<Summary> = aggregated_groups(&dataset)
        .unwrap()
        .into_iter()
        .map(|g| {
            (
                g.name,
                g.baseline_label,
                g.labels,
                g.function_names,
                g.changes,
            )
        })
        .collect();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        groups,
        [
            (
                "Regular".to_owned(),
                None,
                s(&["4.4", "4.10", "5.4"]),
                45,
                19
            ),
            (
                "Arch".to_owned(),
                Some("amd64".to_owned()),
                s(&["arm64", "riscv64"]),
                44,
                2
            ),
            (
                "Flavor".to_owned(),
                Some("mini".to_owned()),
                s(&["mini-cloud", "mini-rt"]),
                44,
                1
            ),
            ("Revision".to_owned(), None, s(&["30", "31"]), 44, 0),
        ]
    );
}

#[test]
fn function_changes_rows_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = aggregated(dir.path());
    let mut rows = Vec::new();
    for group in ["Regular", "Arch", "Flavor", "Revision"] {
        for r in change_rows(&dataset, group) {
            let c = &r.change;
            rows.push(format!(
                "{group} | {} | {} | {} -> {} | {} -> {} | {} | {:?} {:?} | {:?} | {:?} -> {:?}",
                r.name,
                r.pair,
                r.old_image,
                r.new_image,
                r.old_label,
                r.new_label,
                c.kind.as_str(),
                c.decl_file,
                c.cu_path,
                c.param,
                c.old,
                c.new
            ));
        }
    }
    let want = [
        "Regular | added_in_v2 | 0 | mini/4.4.0-10-mini/amd64 -> mini/4.10.0-20-mini/amd64 | 4.4 -> 4.10 | Function added | None None | None | None -> Some(\"int added_in_v2(int x);\")",
        "Regular | bool_param | 0 | mini/4.4.0-10-mini/amd64 -> mini/4.10.0-20-mini/amd64 | 4.4 -> 4.10 | Return type changed | Some(\"lib/proto.c\") Some(\"lib/proto.c\") | None | Some(\"_Bool\") -> Some(\"int\")",
        // Only the kernel/sched.c instance changed; kernel/core.c's is matched to itself.
        "Regular | collide_static_static | 0 | mini/4.4.0-10-mini/amd64 -> mini/4.10.0-20-mini/amd64 | 4.4 -> 4.10 | Param added | Some(\"kernel/sched.c\") Some(\"kernel/sched.c\") | Some(\"y\") | None -> Some(\"int\")",
        // The attach changes: one of the two colliding statics becomes a
        // .constprop clone in 4.10 (the name is no longer ambiguous for
        // kprobes), and the other is gone in 5.4.
        "Regular | collide_static_static | 0 | mini/4.4.0-10-mini/amd64 -> mini/4.10.0-20-mini/amd64 | 4.4 -> 4.10 | Inline type changed | None None | None | Some(\"No\") -> Some(\"Selective\")",
        "Regular | collide_static_static | 0 | mini/4.4.0-10-mini/amd64 -> mini/4.10.0-20-mini/amd64 | 4.4 -> 4.10 | Symbol renamed | None None | None | Some(\"collide_static_static\") -> Some(\"collide_static_static, collide_static_static.constprop.0\")",
        "Regular | collide_static_static | 0 | mini/4.4.0-10-mini/amd64 -> mini/4.10.0-20-mini/amd64 | 4.4 -> 4.10 | Kprobe changed | None None | None | Some(\"ambiguous: 2 symbols named collide_static_static (0x401130, 0x401210): a probe by this name is refused (EADDRNOTAVAIL since 6.7 and stable backports); probe by address\") -> Some(\"yes: 2 symbols (collide_static_static, collide_static_static.constprop.0): attach to each to see every call\")",
        "Regular | collide_static_static | 1 | mini/4.10.0-20-mini/amd64 -> mini/5.4.0-30-mini/amd64 | 4.10 -> 5.4 | Collision type changed | None None | None | Some(\"Static-Static Collision\") -> Some(\"Unique Static\")",
        "Regular | collide_static_static | 1 | mini/4.10.0-20-mini/amd64 -> mini/5.4.0-30-mini/amd64 | 4.10 -> 5.4 | Symbol renamed | None None | None | Some(\"collide_static_static, collide_static_static.constprop.0\") -> Some(\"collide_static_static.constprop.0\")",
        "Regular | collide_static_static | 1 | mini/4.10.0-20-mini/amd64 -> mini/5.4.0-30-mini/amd64 | 4.10 -> 5.4 | Kprobe changed | None None | None | Some(\"yes: 2 symbols (collide_static_static, collide_static_static.constprop.0): attach to each to see every call\") -> Some(\"yes: clone collide_static_static.constprop.0: the source name has no usable symbol\")",
        "Regular | param_shifted | 0 | mini/4.4.0-10-mini/amd64 -> mini/4.10.0-20-mini/amd64 | 4.4 -> 4.10 | Function added | None None | None | None -> Some(\"int param_shifted(int first, long int second);\")",
        // A parameter inserted in front: each later one moves a register.
        "Regular | param_shifted | 1 | mini/4.10.0-20-mini/amd64 -> mini/5.4.0-30-mini/amd64 | 4.10 -> 5.4 | Param added | Some(\"lib/proto.c\") Some(\"lib/proto.c\") | Some(\"ctx\") | None -> Some(\"void *\")",
        "Regular | param_shifted | 1 | mini/4.10.0-20-mini/amd64 -> mini/5.4.0-30-mini/amd64 | 4.10 -> 5.4 | Param moved | Some(\"lib/proto.c\") Some(\"lib/proto.c\") | Some(\"first\") | Some(\"arg 1\") -> Some(\"arg 2\")",
        "Regular | param_shifted | 1 | mini/4.10.0-20-mini/amd64 -> mini/5.4.0-30-mini/amd64 | 4.10 -> 5.4 | Param moved | Some(\"lib/proto.c\") Some(\"lib/proto.c\") | Some(\"second\") | Some(\"arg 2\") -> Some(\"arg 3\")",
        "Regular | read_reg | 0 | mini/4.4.0-10-mini/amd64 -> mini/4.10.0-20-mini/amd64 | 4.4 -> 4.10 | Param reordered | Some(\"lib/proto.c\") Some(\"lib/proto.c\") | None | Some(\"name, reg\") -> Some(\"reg, name\")",
        "Regular | sum_grid | 0 | mini/4.4.0-10-mini/amd64 -> mini/4.10.0-20-mini/amd64 | 4.4 -> 4.10 | Param added | Some(\"lib/proto.c\") Some(\"lib/proto.c\") | Some(\"cols\") | None -> Some(\"int\")",
        "Regular | union_param | 0 | mini/4.4.0-10-mini/amd64 -> mini/4.10.0-20-mini/amd64 | 4.4 -> 4.10 | Param removed | Some(\"lib/proto.c\") Some(\"lib/proto.c\") | Some(\"v\") | Some(\"union pte_val\") -> None",
        "Regular | void_params | 0 | mini/4.4.0-10-mini/amd64 -> mini/4.10.0-20-mini/amd64 | 4.4 -> 4.10 | Function removed | None None | None | Some(\"int void_params(void);\") -> None",
        "Regular | x86_only_helper | 1 | mini/4.10.0-20-mini/amd64 -> mini/5.4.0-30-mini/amd64 | 4.10 -> 5.4 | Function added | None None | None | None -> Some(\"int x86_only_helper(int x);\")",
        "Regular | zone_param | 0 | mini/4.4.0-10-mini/amd64 -> mini/4.10.0-20-mini/amd64 | 4.4 -> 4.10 | Param type changed | Some(\"lib/proto.c\") Some(\"lib/proto.c\") | Some(\"zone\") | Some(\"enum zone_type\") -> Some(\"int\")",
        "Arch | x86_only_helper | 0 | mini/5.4.0-30-mini/amd64 -> mini/5.4.0-30-mini/arm64 | amd64 -> arm64 | Function removed | None None | None | Some(\"int x86_only_helper(int x);\") -> None",
        "Arch | x86_only_helper | 1 | mini/5.4.0-30-mini/amd64 -> mini/5.4.0-30-mini/riscv64 | amd64 -> riscv64 | Function removed | None None | None | Some(\"int x86_only_helper(int x);\") -> None",
        "Flavor | zone_param | 1 | mini/5.4.0-30-mini/amd64 -> mini/5.4.0-30-mini-rt/amd64 | mini -> mini-rt | Param type changed | Some(\"lib/proto.c\") Some(\"lib/proto.c\") | Some(\"zone\") | Some(\"int\") -> Some(\"long int\")",
    ];
    assert_eq!(rows, want);
}

#[test]
fn function_status_rows_cover_every_status() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = aggregated(dir.path());
    let mut seen = Vec::new();
    for group in ["Regular", "Arch"] {
        for r in status_rows(&dataset, group) {
            if [
                "x86_only_helper",
                "dup_header_helper",
                "full_inline_helper",
                "cold_candidate",
                "collide_static_global",
            ]
            .contains(&r.name.as_str())
            {
                let issues: Vec<&str> = r.issues().iter().map(|i| i.as_str()).collect();
                seen.push(format!(
                    "{group} {} {} {:?} {:?} {}",
                    r.name, r.label, r.position, issues, r.baseline
                ));
            }
        }
    }
    let want = [
        "Regular cold_candidate 4.4 Some(0) [\"Transformation\"] false",
        "Regular cold_candidate 4.10 Some(1) [\"Transformation\"] false",
        "Regular cold_candidate 5.4 Some(2) [\"Transformation\"] false",
        "Regular collide_static_global 4.4 Some(0) [\"Collision\"] false",
        "Regular collide_static_global 4.10 Some(1) [\"Collision\"] false",
        "Regular collide_static_global 5.4 Some(2) [\"Collision\"] false",
        "Regular dup_header_helper 4.4 Some(0) [\"Duplicate\"] false",
        "Regular dup_header_helper 4.10 Some(1) [\"Duplicate\"] false",
        "Regular dup_header_helper 5.4 Some(2) [\"Duplicate\"] false",
        "Regular full_inline_helper 4.4 Some(0) [\"Full Inline\"] false",
        "Regular full_inline_helper 4.10 Some(1) [\"Full Inline\"] false",
        "Regular full_inline_helper 5.4 Some(2) [\"Full Inline\"] false",
        "Regular x86_only_helper 4.4 Some(0) [\"Absent\"] false",
        "Regular x86_only_helper 4.10 Some(1) [\"Absent\"] false",
        "Regular x86_only_helper 5.4 Some(2) [] false",
        "Arch cold_candidate amd64 None [\"Transformation\"] true",
        "Arch cold_candidate arm64 Some(0) [] false",
        "Arch cold_candidate riscv64 Some(1) [] false",
        "Arch collide_static_global amd64 None [\"Collision\"] true",
        "Arch collide_static_global arm64 Some(0) [\"Collision\"] false",
        "Arch collide_static_global riscv64 Some(1) [\"Collision\"] false",
        "Arch dup_header_helper amd64 None [\"Duplicate\"] true",
        "Arch dup_header_helper arm64 Some(0) [\"Duplicate\"] false",
        "Arch dup_header_helper riscv64 Some(1) [\"Duplicate\"] false",
        "Arch full_inline_helper amd64 None [\"Full Inline\"] true",
        "Arch full_inline_helper arm64 Some(0) [\"Full Inline\"] false",
        "Arch full_inline_helper riscv64 Some(1) [\"Full Inline\"] false",
        "Arch x86_only_helper amd64 None [] true",
        "Arch x86_only_helper arm64 Some(0) [\"Absent\"] false",
        "Arch x86_only_helper riscv64 Some(1) [\"Absent\"] false",
    ];
    assert_eq!(seen, want);
}

#[test]
fn reports_match_their_golden_files() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = aggregated(dir.path());
    let bless = std::env::var_os("KSURF_BLESS").is_some();
    let golden_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    for name in GOLDEN {
        let page = report::render(&from_dataset(&dataset, name).unwrap());
        let path = golden_dir.join(format!("{name}.md"));
        if bless {
            std::fs::write(&path, &page).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with KSURF_BLESS=1)", path.display()));
        assert_eq!(page, want, "{name} differs from {}", path.display());
    }
}

#[test]
fn reports_from_a_config_equal_reports_from_the_tables() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = aggregated(dir.path());
    let groups = config::load(&common::config_path()).unwrap();
    let mut names = Vec::new();
    for r in status_rows(&dataset, "Regular") {
        if names.last() != Some(&r.name) {
            names.push(r.name);
        }
    }
    assert_eq!(names.len(), 45);
    for name in &names {
        assert_eq!(
            from_config(&dataset, &groups, name).unwrap(),
            from_dataset(&dataset, name).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn a_name_in_no_image_lists_the_closest_names() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = aggregated(dir.path());
    assert_eq!(
        from_dataset(&dataset, "sum_gird").unwrap_err().to_string(),
        "function sum_gird is in no image of the dataset; closest names: sum_grid, _start, bool_param, core_init, read_init"
    );
}

#[test]
fn aggregation_is_deterministic_and_replaces_groups_of_an_older_config() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = aggregated(dir.path());
    let groups = config::load(&common::config_path()).unwrap();
    let first = common::tree(dir.path());
    let force = aggregate::WriteOptions {
        force: true,
        ..Default::default()
    };
    let outcome = aggregate::write_dataset_with(&dataset, &groups, &force).unwrap();
    assert_eq!(outcome.written.len(), 4);
    assert!(
        first == common::tree(dir.path()),
        "second run wrote different bytes"
    );

    let only_arch = config::parse(
        "arch.toml",
        "[[group]]\nname = \"Arch\"\nmode = \"baseline\"\nbaseline = \"mini/5.4.0-30-mini/amd64\"\nrelease = \"5.4.0-30-mini\"\n",
    )
    .unwrap();
    let outcome = aggregate::write_dataset(&dataset, &only_arch).unwrap();
    // Arch moved from position 1 to 0: written again; the others removed.
    assert_eq!(written_and_unchanged(&outcome), (vec!["Arch"], vec![]));
    assert_eq!(outcome.removed, ["Flavor", "Regular", "Revision"]);
    let aggregated_files: Vec<String> = common::tree(dir.path())
        .into_iter()
        .map(|(p, _)| p.display().to_string())
        .filter(|p| p.contains("group="))
        .collect();
    assert_eq!(
        aggregated_files,
        [
            "_aggregate/group=Arch.json",
            "comparison_groups/group=Arch/part-0.parquet",
            "function_changes/group=Arch/distro=mini/release=5.4.0-30-mini/arch=arm64/part-0.parquet",
            "function_changes/group=Arch/distro=mini/release=5.4.0-30-mini/arch=riscv64/part-0.parquet",
            "function_status/group=Arch/distro=mini/release=5.4.0-30-mini/arch=amd64/part-0.parquet",
            "function_status/group=Arch/distro=mini/release=5.4.0-30-mini/arch=arm64/part-0.parquet",
            "function_status/group=Arch/distro=mini/release=5.4.0-30-mini/arch=riscv64/part-0.parquet",
            "kconfig_changes/group=Arch/distro=mini/release=5.4.0-30-mini/arch=arm64/part-0.parquet",
            "kconfig_changes/group=Arch/distro=mini/release=5.4.0-30-mini/arch=riscv64/part-0.parquet",
            "kfunc_changes/group=Arch/distro=mini/release=5.4.0-30-mini/arch=arm64/part-0.parquet",
            "kfunc_changes/group=Arch/distro=mini/release=5.4.0-30-mini/arch=riscv64/part-0.parquet",
            "lsm_hook_changes/group=Arch/distro=mini/release=5.4.0-30-mini/arch=arm64/part-0.parquet",
            "lsm_hook_changes/group=Arch/distro=mini/release=5.4.0-30-mini/arch=riscv64/part-0.parquet",
            "syscall_changes/group=Arch/distro=mini/release=5.4.0-30-mini/arch=arm64/part-0.parquet",
            "syscall_changes/group=Arch/distro=mini/release=5.4.0-30-mini/arch=riscv64/part-0.parquet",
            "tracepoint_changes/group=Arch/distro=mini/release=5.4.0-30-mini/arch=arm64/part-0.parquet",
            "tracepoint_changes/group=Arch/distro=mini/release=5.4.0-30-mini/arch=riscv64/part-0.parquet",
            "type_changes/group=Arch/distro=mini/release=5.4.0-30-mini/arch=arm64/part-0.parquet",
            "type_changes/group=Arch/distro=mini/release=5.4.0-30-mini/arch=riscv64/part-0.parquet",
        ]
    );
}

#[test]
fn a_group_with_a_missing_image_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = aggregated(dir.path());
    let groups = config::parse(
        "two.toml",
        "[[group]]\nname = \"Revision\"\nmode = \"consecutive\"\nversion = \"5.4\"\narch = \"amd64\"\nflavor = \"mini\"\n\
         [[group]]\nname = \"Arch\"\nmode = \"baseline\"\nbaseline = \"mini/5.4.0-30-mini/s390x\"\nrelease = \"5.4.0-30-mini\"\n",
    )
    .unwrap();
    let outcome = aggregate::write_dataset(&dataset, &groups).unwrap();
    let written: Vec<&str> = outcome.written.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(written, ["Revision"]);
    let failures: Vec<String> = outcome.failures.iter().map(ToString::to_string).collect();
    assert_eq!(
        failures,
        ["group Arch: baseline mini/5.4.0-30-mini/s390x is not in the dataset"]
    );
}

#[test]
fn an_image_whose_table_is_not_sorted_by_name_is_refused() {
    use ksurf_extractor::{extract, tables, IdentityOverrides};
    let dir = tempfile::tempdir().unwrap();
    let dataset = Dataset::open_local(dir.path()).unwrap();
    let overrides = IdentityOverrides {
        distro: Some("mini".to_owned()),
        release: Some("5.4.0-30-mini".to_owned()),
        flavor: Some("mini".to_owned()),
        arch: Some("amd64".to_owned()),
    };
    let x = extract(&common::repo_root().join(common::IMAGES[2].0), &overrides).unwrap();
    let mut batches = tables::image_tables(&x).unwrap();
    // Reverse the rows of `functions`.
    for (table, batch) in batches.iter_mut() {
        if *table == TableName::Functions {
            let n = batch.num_rows() as u32;
            let reversed = arrow::array::UInt32Array::from((0..n).rev().collect::<Vec<_>>());
            *batch = arrow::compute::take_record_batch(batch, &reversed).unwrap();
        }
    }
    dataset.write_image(&x.info.id, &batches).unwrap();
    let groups = config::parse(
        "one.toml",
        "[[group]]\nname = \"Regular\"\nmode = \"consecutive\"\ndistro = \"mini\"\n",
    )
    .unwrap();
    let err = aggregate::write_dataset(&dataset, &groups)
        .err()
        .expect("refused");
    assert_eq!(
        err.to_string(),
        format!(
            "{}/functions/distro=mini/release=5.4.0-30-mini/arch=amd64/part-0.parquet: rows are not sorted by name: \"x86_only_helper\" follows \"zone_param\" at row 1",
            dir.path().display()
        )
    );
    // Nothing of the group was published.
    assert!(!common::tree(dir.path())
        .iter()
        .any(|(p, _)| p.starts_with("comparison_groups")));
}

// Functions moving between the vmlinux and a kernel module: over two
// fixture images (4.4 and 4.10, where `void_params` is removed and
// `added_in_v2` added), each given the fixture module `ksurf_mini` with one
// function renamed, the 4.4 → 4.10 changes say "Moved to module" and
// "Moved to vmlinux" instead of removed and added, the status rows name
// the module, and the report page says "in module".

/// Extracts fixture image `index` with the fixture module, whose
/// `mini_len` is renamed `rename` (its entry, status and symbol).
fn write_image_with_module(dataset: &Dataset, index: usize, rename: &str) {
    let (elf, release, flavor, arch) = common::IMAGES[index];
    let overrides = ksurf_extractor::IdentityOverrides {
        distro: Some("mini".to_owned()),
        release: Some(release.to_owned()),
        flavor: Some(flavor.to_owned()),
        arch: Some(arch.to_owned()),
    };
    let mut x = ksurf_extractor::extract(&common::repo_root().join(elf), &overrides).unwrap();
    let modules = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(modules.path().join("kernel/fs/mini")).unwrap();
    std::fs::copy(
        common::repo_root().join("extractor/tests/fixtures/modules/bin/x86_64.ko"),
        modules.path().join("kernel/fs/mini/ksurf_mini.ko"),
    )
    .unwrap();
    ksurf_extractor::extract_modules(&mut x, modules.path()).unwrap();
    let m = x.modules[0].rows.as_mut().unwrap();
    for e in m.entries.iter_mut().filter(|e| e.name == "mini_len") {
        e.name = rename.to_owned();
    }
    for s in m.statuses.iter_mut().filter(|s| s.name == "mini_len") {
        s.name = rename.to_owned();
    }
    for s in m.symbols.iter_mut().filter(|s| s.name == "mini_len") {
        s.name = rename.to_owned();
        s.stem = rename.to_owned();
    }
    let image_tables = ksurf_extractor::tables::image_tables(&x).unwrap();
    let module_rows = ksurf_extractor::tables::module_tables(&x).unwrap();
    dataset
        .write_image_parts(&x.info.id, &image_tables, &module_rows, None)
        .unwrap();
}

fn aggregated_with_modules(dir: &std::path::Path) -> Dataset {
    let dataset = Dataset::open_local(dir).unwrap();
    // 4.4's module defines added_in_v2, which 4.10's vmlinux defines;
    // 4.10's module defines void_params, which 4.4's vmlinux defined.
    write_image_with_module(&dataset, 0, "added_in_v2");
    write_image_with_module(&dataset, 1, "void_params");
    let groups = config::parse(
        "test",
        "[[group]]\nname = \"Regular\"\nmode = \"consecutive\"\ndistro = \"mini\"\narch = \"amd64\"\nflavor = \"mini\"\n",
    )
    .unwrap();
    let outcome = aggregate::write_dataset(&dataset, &groups).unwrap();
    assert!(outcome.failures.is_empty());
    dataset
}

#[test]
fn moves_between_the_vmlinux_and_a_module_are_changes_and_named_on_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = aggregated_with_modules(dir.path());
    let group = aggregated_groups(&dataset)
        .unwrap()
        .into_iter()
        .find(|g| g.name == "Regular")
        .unwrap();

    let mut changes = Vec::new();
    for path in group_files(&group, TableName::FunctionChanges).unwrap() {
        let batch = dataset
            .read_file(&path, TableName::FunctionChanges)
            .unwrap();
        changes.extend(decode_changes(&batch, "test").unwrap());
    }
    let moves: Vec<String> = changes
        .iter()
        .filter(|r| ["added_in_v2", "void_params"].contains(&r.name.as_str()))
        .map(|r| {
            format!(
                "{} | {} -> {} | {} | {:?} -> {:?}",
                r.name,
                r.old_label,
                r.new_label,
                r.change.kind.as_str(),
                r.change.old,
                r.change.new
            )
        })
        .collect();
    assert_eq!(
        moves,
        [
            "added_in_v2 | 4.4 -> 4.10 | Moved to vmlinux | Some(\"ksurf_mini\") -> Some(\"vmlinux\")",
            "void_params | 4.4 -> 4.10 | Moved to module | Some(\"vmlinux\") -> Some(\"ksurf_mini\")",
        ]
    );

    let mut status = Vec::new();
    for path in group_files(&group, TableName::FunctionStatus).unwrap() {
        let batch = dataset.read_file(&path, TableName::FunctionStatus).unwrap();
        status.extend(decode_status(&batch));
    }
    let placed: Vec<(String, String, bool, Vec<String>)> = status
        .iter()
        .filter(|r| !r.modules.is_empty())
        .map(|r| {
            (
                r.name.clone(),
                r.label.clone(),
                r.presence.is_some(),
                r.modules.clone(),
            )
        })
        .collect();
    let mini = vec!["ksurf_mini".to_owned()];
    assert_eq!(
        placed,
        [
            (
                "added_in_v2".to_owned(),
                "4.4".to_owned(),
                false,
                mini.clone()
            ),
            ("void_params".to_owned(), "4.10".to_owned(), false, mini),
        ]
    );

    let page = report::render(&from_dataset(&dataset, "void_params").unwrap());
    assert!(
        page.contains("In <code>4.10</code>: Absent ⚠️ (in module <code>ksurf_mini</code>)\n"),
        "{page}"
    );
    assert!(
        page.contains(
            "<li>\nMoved to module between <code>4.4</code> and <code>4.10</code>: \
             <code>vmlinux</code> ➡️ <code>ksurf_mini</code> ⚠️\n</li>\n"
        ),
        "{page}"
    );
    let page = report::render(&from_dataset(&dataset, "added_in_v2").unwrap());
    assert!(
        page.contains("In <code>4.4</code>: Absent ⚠️ (in module <code>ksurf_mini</code>)\n"),
        "{page}"
    );
    assert!(
        page.contains("Moved to vmlinux between <code>4.4</code> and <code>4.10</code>: <code>ksurf_mini</code> ➡️ <code>vmlinux</code> ⚠️"),
        "{page}"
    );

    // A function only the module defines has a page that says where it is.
    let history = from_dataset(&dataset, "mini_submit").unwrap();
    let placed: Vec<(String, Vec<String>)> = history
        .groups
        .iter()
        .flat_map(|g| &g.members)
        .map(|r| (r.label.clone(), r.modules.clone()))
        .collect();
    assert_eq!(
        placed,
        [
            ("4.4".to_owned(), vec!["ksurf_mini".to_owned()]),
            ("4.10".to_owned(), vec!["ksurf_mini".to_owned()]),
        ]
    );
    let page = report::render(&history);
    assert!(
        page.starts_with(
            "# Function: <code>mini_submit</code>\n\nBuilt into no image's vmlinux: the kernel \
             modules named below define it."
        ),
        "{page}"
    );
    assert!(
        page.contains("In <code>4.10</code>: Absent ⚠️ (in module <code>ksurf_mini</code>)\n"),
        "{page}"
    );
    // A name neither the vmlinux nor a module defines is still an error,
    // whose closest names include the modules' functions.
    let error = from_dataset(&dataset, "mini_submt")
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(
            "function mini_submt is in no image of the dataset; closest names: mini_submit,"
        ),
        "{error}"
    );
}

/// Every file under `dir` with its modification time and bytes.
fn files_with_mtimes(dir: &std::path::Path) -> Vec<(String, std::time::SystemTime, Vec<u8>)> {
    common::tree(dir)
        .into_iter()
        .map(|(p, bytes)| {
            let mtime = std::fs::metadata(dir.join(&p)).unwrap().modified().unwrap();
            (p.display().to_string(), mtime, bytes)
        })
        .collect()
}

/// The groups `outcome` wrote and left as they were.
fn written_and_unchanged(outcome: &aggregate::Outcome) -> (Vec<&str>, Vec<&str>) {
    assert!(outcome.failures.is_empty());
    (
        outcome.written.iter().map(|(g, _)| g.as_str()).collect(),
        outcome.unchanged.iter().map(String::as_str).collect(),
    )
}

#[test]
fn a_run_with_nothing_new_rewrites_nothing_and_a_rewritten_image_redoes_only_its_groups() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = aggregated(dir.path());
    let groups = config::load(&common::config_path()).unwrap();
    let all = ["Regular", "Arch", "Flavor", "Revision"];
    let before = files_with_mtimes(dir.path());
    let states: Vec<&str> = before
        .iter()
        .map(|(p, _, _)| p.as_str())
        .filter(|p| p.starts_with("_aggregate/"))
        .collect();
    assert_eq!(
        states,
        [
            "_aggregate/group=Arch.json",
            "_aggregate/group=Flavor.json",
            "_aggregate/group=Regular.json",
            "_aggregate/group=Revision.json",
        ]
    );

    // Nothing new: no file is touched.
    let outcome = aggregate::write_dataset(&dataset, &groups).unwrap();
    assert_eq!(written_and_unchanged(&outcome), (vec![], all.to_vec()));
    assert!(
        before == files_with_mtimes(dir.path()),
        "a file was rewritten"
    );

    // The arm64 image is only in Arch: rewriting one of its files (as a
    // re-extraction does, here with the same bytes) redoes Arch alone.
    let arm64: ksurf_dataset::ImageId = "mini/5.4.0-30-mini/arm64".parse().unwrap();
    let symbols = ksurf_dataset::layout::table_file(TableName::Symbols, &arm64);
    let bytes = dataset.get(&symbols).unwrap();
    dataset.put(&symbols, bytes).unwrap();
    let outcome = aggregate::write_dataset(&dataset, &groups).unwrap();
    assert_eq!(
        written_and_unchanged(&outcome),
        (vec!["Arch"], vec!["Regular", "Flavor", "Revision"])
    );
    let after = files_with_mtimes(dir.path());
    assert_eq!(after.len(), before.len());
    for ((path, old_time, old_bytes), (new_path, new_time, new_bytes)) in before.iter().zip(&after)
    {
        assert_eq!(path, new_path);
        // The same bytes everywhere but in Arch's state record, whose
        // fingerprint covers the new tag of the rewritten file.
        let arch_state = path == "_aggregate/group=Arch.json";
        assert_eq!(old_bytes != new_bytes, arch_state, "{path}");
        let redone = path.contains("group=Arch") || path == symbols.as_ref();
        assert_eq!(old_time != new_time, redone, "{path}");
    }

    // A group file removed by hand, a state record that is not JSON, a
    // changed definition: each redoes that group alone, and never fails.
    let status = "function_status/group=Revision/distro=mini/release=5.4.0-31-mini/arch=amd64/part-0.parquet";
    let status_bytes = std::fs::read(dir.path().join(status)).unwrap();
    std::fs::remove_file(dir.path().join(status)).unwrap();
    let outcome = aggregate::write_dataset(&dataset, &groups).unwrap();
    assert_eq!(
        written_and_unchanged(&outcome),
        (vec!["Revision"], vec!["Regular", "Arch", "Flavor"])
    );
    assert!(std::fs::read(dir.path().join(status)).unwrap() == status_bytes);

    std::fs::write(dir.path().join("_aggregate/group=Flavor.json"), "{").unwrap();
    let outcome = aggregate::write_dataset(&dataset, &groups).unwrap();
    assert_eq!(
        written_and_unchanged(&outcome),
        (vec!["Flavor"], vec!["Regular", "Arch", "Revision"])
    );

    let mut relabelled = groups.clone();
    relabelled[0].label = config::LabelKind::Release;
    let outcome = aggregate::write_dataset(&dataset, &relabelled).unwrap();
    assert_eq!(
        written_and_unchanged(&outcome),
        (vec!["Regular"], vec!["Arch", "Flavor", "Revision"])
    );

    // Another build of the aggregating code, or --force: every group.
    let other_code = aggregate::WriteOptions {
        force: false,
        code_id: "another build".to_owned(),
        shard: None,
    };
    let outcome = aggregate::write_dataset_with(&dataset, &groups, &other_code).unwrap();
    assert_eq!(written_and_unchanged(&outcome), (all.to_vec(), vec![]));
    let outcome = aggregate::write_dataset_with(&dataset, &groups, &other_code).unwrap();
    assert_eq!(written_and_unchanged(&outcome), (vec![], all.to_vec()));
    let force = aggregate::WriteOptions {
        force: true,
        ..other_code
    };
    let outcome = aggregate::write_dataset_with(&dataset, &groups, &force).unwrap();
    assert_eq!(written_and_unchanged(&outcome), (all.to_vec(), vec![]));
}

#[test]
fn a_shard_aggregates_its_groups_alone_and_the_unsharded_run_finds_them_current() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = common::fixture_dataset(dir.path());
    let groups = config::load(&common::config_path()).unwrap();
    // A group of an older config: a shard leaves it alone.
    let old = config::parse(
        "old.toml",
        "[[group]]\nname = \"Old\"\nmode = \"consecutive\"\nversion = \"5.4\"\narch = \"amd64\"\nflavor = \"mini\"\n",
    )
    .unwrap();
    aggregate::write_dataset(&dataset, &old).unwrap();
    let shard = |i| aggregate::WriteOptions {
        shard: Some((i, 2)),
        ..Default::default()
    };
    let outcome = aggregate::write_dataset_with(&dataset, &groups, &shard(1)).unwrap();
    assert_eq!(
        written_and_unchanged(&outcome),
        (vec!["Arch", "Revision"], vec![])
    );
    assert!(outcome.removed.is_empty());
    let marked: Vec<String> = aggregated_groups(&dataset)
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(marked, ["Old", "Arch", "Revision"]);
    let outcome = aggregate::write_dataset_with(&dataset, &groups, &shard(0)).unwrap();
    assert_eq!(
        written_and_unchanged(&outcome),
        (vec!["Regular", "Flavor"], vec![])
    );
    // The shards removed nothing; the unsharded run finds every group
    // current and removes the old one.
    let outcome = aggregate::write_dataset(&dataset, &groups).unwrap();
    assert_eq!(
        written_and_unchanged(&outcome),
        (vec![], vec!["Regular", "Arch", "Flavor", "Revision"])
    );
    assert_eq!(outcome.removed, ["Old"]);
    let marked: Vec<String> = aggregated_groups(&dataset)
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(marked, ["Regular", "Arch", "Flavor", "Revision"]);
    assert!(!dir.path().join("_aggregate/group=Old.json").exists());
}

#[test]
fn site_pages_collapse_runs_of_images_that_differ_only_in_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = aggregated(dir.path());
    let history = from_dataset(&dataset, "sum_grid").unwrap();
    let layout = |collapse_runs| report::Layout { collapse_runs };
    // 0 and 1 are DepSurf's layout: what `ksurf report` prints.
    assert_eq!(
        report::render_with(&history, layout(0)),
        report::render(&history)
    );
    assert_eq!(
        report::render_with(&history, layout(1)),
        report::render(&history)
    );
    let page = report::render_with(&history, layout(2));
    let kept: Vec<&str> = page
        .lines()
        .filter(|l| {
            l.starts_with("<tr><td>") || l.starts_with("<summary>") || l.starts_with("As in")
        })
        .map(|l| l.split("</td><td class").next().unwrap())
        .collect();
    // 4.10 is Δ (changed since 4.4) in the matrix, so it keeps its row
    // there; in the status list 4.10 and 5.4 are the same but for
    // addresses. arm64 and riscv64 differ in more than addresses.
    assert_eq!(
        kept,
        [
            "<tr><td>Regular</td><td><code>4.4</code>",
            "<tr><td>Regular</td><td><code>4.10</code>",
            "<tr><td>Regular</td><td><code>5.4</code>",
            "<tr><td>Arch</td><td><code>amd64</code> (baseline)",
            "<tr><td>Arch</td><td><code>arm64</code>",
            "<tr><td>Arch</td><td><code>riscv64</code>",
            "<tr><td>Flavor</td><td><code>mini</code> (baseline)",
            "<tr><td>Flavor</td><td><code>mini-cloud</code> … <code>mini-rt</code> (2 images)",
            "<tr><td>Revision</td><td><code>30</code> … <code>31</code> (2 images)",
            "<summary>In <code>4.4</code>: ✅</summary>",
            "<summary>In <code>4.10</code> … <code>5.4</code> (2 images): ✅</summary>",
            "As in <code>5.4</code>; the other images of the range differ from it only in addresses.",
            "<summary>In <code>arm64</code>: ✅</summary>",
            "<summary>In <code>riscv64</code>: ✅</summary>",
            "<summary>In <code>mini-cloud</code> … <code>mini-rt</code> (2 images): ✅</summary>",
            "As in <code>mini-rt</code>; the other images of the range differ from it only in addresses.",
            "<summary>In <code>30</code> … <code>31</code> (2 images): ✅</summary>",
            "As in <code>31</code>; the other images of the range differ from it only in addresses.",
            // Differences are per pair, as before.
            "<summary>Changed between <code>4.4</code> and <code>4.10</code> ⚠\u{fe0f}</summary>",
        ]
    );
    // The range shows its last image's details, addresses included.
    let last_of_revision = report::render(&history);
    let thirty_one = last_of_revision
        .split("<summary>In <code>31</code>: ✅</summary>\n")
        .nth(1)
        .unwrap()
        .split("</details>")
        .next()
        .unwrap();
    assert!(page.contains(thirty_one), "{page}");
    // An absent run: a name only some images have.
    let added = from_dataset(&dataset, "added_in_v2").unwrap();
    let page = report::render_with(&added, layout(2));
    assert!(
        page.contains("In <code>mini-cloud</code> … <code>mini-rt</code> (2 images): "),
        "{page}"
    );
}
