//! End-to-end tests of the `ksurf` binary on the mini-kernel fixtures:
//! summaries, exit codes, the dataset layout, determinism across thread
//! counts and the DepSurf export.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ksurf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ksurf"))
        .args(args)
        .env_remove("KSURF_THREADS")
        .output()
        .expect("running ksurf")
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("extractor/tests/fixtures/bin")
        .join(format!("{name}.elf"))
        .display()
        .to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts that `o` exited with `code` and printed exactly `message` on stderr.
fn assert_failed(o: &Output, code: i32, message: &str) {
    assert_eq!(o.status.code(), Some(code), "{}", stderr(o));
    assert_eq!(stderr(o).trim_end(), message);
}

/// Every file below `dir`, relative, sorted, with its bytes.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().to_owned(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn extract_writes_every_table_and_prints_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ds");
    let o = ksurf(&[
        "extract",
        &fixture("x86_64-dwarf5"),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = stdout(&o);
    assert!(
        summary.starts_with(
            "debian/6.1.0-99-mini-amd64/amd64: 42 functions, 47 instances, 45 symbols, 37 types, 0 tracepoints, 0 syscalls, 0 kfuncs, 0 LSM hooks, 0 config options, 11 units (0 failed, 0 skipped), "
        ),
        "{summary}"
    );
    let files: Vec<String> = tree(&out)
        .into_iter()
        .map(|(p, _)| p.display().to_string())
        .collect();
    let partition = "distro=debian/release=6.1.0-99-mini-amd64/arch=amd64/part-0.parquet";
    let want: Vec<String> = [
        "enum_values",
        "function_attach",
        "function_instances",
        "functions",
        "images",
        "kconfig",
        "kfuncs",
        "lsm_hooks",
        "modules",
        "symbols",
        "syscalls",
        "tracepoints",
        "type_members",
        "types",
        "unit_errors",
    ]
    .iter()
    .map(|t| format!("{t}/{partition}"))
    .collect();
    assert_eq!(files, want);
}

#[test]
fn output_is_byte_identical_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    // Two kernel modules for the x86_64 image (its modules' rows files).
    let modules = dir.path().join("modules");
    for (build, path) in [
        ("x86_64", "kernel/fs/mini/ksurf_mini.ko"),
        ("x86_64-dwarf4", "kernel/fs/mini4/mini4.ko"),
    ] {
        let to = modules.join(path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("extractor/tests/fixtures/modules/bin/{build}.ko")),
            to,
        )
        .unwrap();
    }
    let mut trees = Vec::new();
    for threads in ["1", "2", "3"] {
        let out = dir.path().join(format!("t{threads}"));
        for build in ["x86_64-dwarf5", "aarch64", "s390x"] {
            let fixture = fixture(build);
            let mut args = vec![
                "--threads",
                threads,
                "extract",
                &fixture,
                "--out",
                out.to_str().unwrap(),
            ];
            if build == "x86_64-dwarf5" {
                args.extend(["--modules", modules.to_str().unwrap()]);
            }
            let o = ksurf(&args);
            assert!(o.status.success(), "{}", stderr(&o));
        }
        trees.push(tree(&out));
    }
    // 15 tables per image, and the four modules' rows files (TableName::MODULE_ROWS).
    assert_eq!(trees[0].len(), 49);
    assert!(trees[0] == trees[1] && trees[1] == trees[2]);
}

#[test]
fn a_corrupt_unit_sets_exit_code_3() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(fixture("x86_64-dwarf5")).unwrap();
    // Corrupt the second unit's root DIE (see extractor/tests/bad_input.rs).
    let info = {
        use object::{Object, ObjectSection};
        let file = object::File::parse(&*bytes).unwrap();
        file.section_by_name(".debug_info")
            .unwrap()
            .file_range()
            .unwrap()
            .0 as usize
    };
    let second = u32::from_le_bytes(bytes[info..info + 4].try_into().unwrap()) as usize + 4;
    bytes[info + second + 12..info + second + 16].copy_from_slice(&[0xff, 0xff, 0xff, 0x0f]);
    let path = dir.path().join("vmlinux-6.1.0-99-mini-amd64");
    std::fs::write(&path, &bytes).unwrap();
    let out = dir.path().join("ds");
    let o = ksurf(&[
        "extract",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("11 units (1 failed, 0 skipped)"),
        "{}",
        stdout(&o)
    );
    assert!(
        stderr(&o).contains(&format!(
            "ksurf: unit error: {}: unit at .debug_info+{second:#x}: ",
            path.display()
        )),
        "{}",
        stderr(&o)
    );
}

#[test]
fn failures_name_the_input_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ds");
    let out = out.to_str().unwrap();
    let o = ksurf(&["extract", "/nonexistent/vmlinux-x", "--out", out]);
    assert_failed(
        &o,
        1,
        "ksurf: error: /nonexistent/vmlinux-x: No such file or directory (os error 2)",
    );
    let nodebug = fixture("x86_64-nodebug");
    let o = ksurf(&["extract", &nodebug, "--out", out]);
    assert_failed(
        &o,
        1,
        &format!("ksurf: error: {nodebug}: has no DWARF debug information (no .debug_info section); use the debug package's vmlinux"),
    );
    let out = std::path::Path::new(out);
    assert!(
        !out.join("images").exists(),
        "a failed image must leave no marker"
    );
}

#[test]
fn depsurf_export_matches_depsurf_field_names_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ds");
    let ds = out.to_str().unwrap();
    assert!(ksurf(&["extract", &fixture("x86_64-dwarf5"), "--out", ds])
        .status
        .success());
    let o = ksurf(&["export", "depsurf-groups", "--dataset", ds]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 42);
    let line = lines
        .iter()
        .find(|l| l.starts_with(r#"{"name":"collide_static_global","#))
        .unwrap();
    assert_eq!(
        *line,
        concat!(
            r#"{"name":"collide_static_global","collision_type":"Static-Global Collision","inline_type":"No","funcs":["#,
            r#"{"addr":4199744,"name":"collide_static_global","external":false,"loc":"fs/read.c:13","file":"fs/read.c","inline":"seen, unknown","caller_inline":[],"caller_func":["fs/read.c:read_init"]},"#,
            r#"{"addr":4199216,"name":"collide_static_global","external":true,"loc":"mm/alloc.c:15","file":"mm/alloc.c","inline":"seen, unknown","caller_inline":[],"caller_func":["init/main.c:start_kernel","mm/alloc.c:part_candidate"]}],"#,
            r#""symbols":[{"addr":4199216,"name":"collide_static_global","section":".text","bind":"STB_GLOBAL","size":16},"#,
            r#"{"addr":4199744,"name":"collide_static_global","section":".text","bind":"STB_LOCAL","size":16}]}"#
        )
    );

    // With two images, the image must be named.
    assert!(ksurf(&["extract", &fixture("aarch64"), "--out", ds])
        .status
        .success());
    let o = ksurf(&["export", "depsurf-groups", "--dataset", ds]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o).trim_end(),
        "ksurf: error: the dataset holds 2 images; name one with --image (one of: debian/6.1.0-99-mini-amd64/amd64, debian/6.1.0-99-mini-arm64/arm64)"
    );
    let o = ksurf(&[
        "export",
        "depsurf-groups",
        "--dataset",
        ds,
        "--image",
        "debian/6.1.0-99-mini-arm64/arm64",
    ]);
    assert!(o.status.success());
    assert_eq!(stdout(&o).lines().count(), 42);
    let o = ksurf(&[
        "export",
        "depsurf-groups",
        "--dataset",
        ds,
        "--image",
        "debian/nope/arm64",
    ]);
    assert_eq!(
        stderr(&o).trim_end(),
        "ksurf: error: image debian/nope/arm64 is not in the dataset"
    );
}

#[test]
fn export_from_a_missing_dataset_says_so_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere");
    let o = ksurf(&[
        "export",
        "depsurf-groups",
        "--dataset",
        missing.to_str().unwrap(),
    ]);
    assert_failed(
        &o,
        1,
        &format!(
            "ksurf: error: cannot open dataset directory {}: No such file or directory (os error 2)",
            missing.display()
        ),
    );
    assert!(!missing.exists());
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every entry of a `.tar.zst`: (path, bytes), in archive order.
fn unpack(archive: &Path) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let file = std::fs::File::open(archive).unwrap();
    let mut tar = tar::Archive::new(zstd::Decoder::new(file).unwrap());
    tar.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            (e.path().unwrap().display().to_string(), data)
        })
        .collect()
}

/// Runs ksurf with `SOURCE_DATE_EPOCH` fixed, so manifests are reproducible.
fn ksurf_at(epoch: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ksurf"))
        .args(args)
        .env_remove("KSURF_THREADS")
        .env("SOURCE_DATE_EPOCH", epoch)
        .output()
        .expect("running ksurf")
}

#[test]
fn extract_and_export_accept_file_urls() {
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local");
    let url_dir = dir.path().join("url");
    let url = format!("file://{}", url_dir.display());
    for out in [local.to_str().unwrap(), url.as_str()] {
        let o = ksurf(&["extract", &fixture("x86_64-dwarf5"), "--out", out]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(tree(&local), tree(&url_dir));
    let a = ksurf(&[
        "export",
        "depsurf-groups",
        "--dataset",
        local.to_str().unwrap(),
    ]);
    let b = ksurf(&["export", "depsurf-groups", "--dataset", &url]);
    assert!(b.status.success(), "{}", stderr(&b));
    assert_eq!(stdout(&a).lines().count(), 42);
    assert_eq!(a.stdout, b.stdout);

    let o = ksurf(&["export", "depsurf-groups", "--dataset", "ftp://host/ds"]);
    assert_failed(
        &o,
        1,
        "ksurf: error: dataset location ftp://host/ds: Unable to recognise URL \"ftp://host/ds\"",
    );
}

#[test]
fn manifest_lists_the_tables_and_verify_checks_them() {
    let dir = tempfile::tempdir().unwrap();
    let ds_path = dir.path().join("ds");
    let ds = ds_path.to_str().unwrap();
    for build in ["x86_64-dwarf5", "aarch64"] {
        assert!(ksurf(&["extract", &fixture(build), "--out", ds])
            .status
            .success());
    }
    let o = ksurf(&["verify", "--dataset", ds]);
    assert_failed(
        &o,
        1,
        &format!("ksurf: error: {ds}/_manifest.json does not exist; write it with `ksurf manifest --dataset {ds}`"),
    );
    let o = ksurf_at("1736812800", &["manifest", "--dataset", ds]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(ds_path.join("_manifest.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    let content = manifest["content_sha256"].as_str().unwrap();
    let id = format!("20250114-{}", &content[..12]);
    assert_eq!(
        stdout(&o),
        // 42 functions + 42 attach verdicts + 47 instances + 45 symbols +
        // 1 image on amd64, 42 + 42 + 47 + 44 + 1 on arm64; no unit errors.
        format!("{ds}/_manifest.json: snapshot {id}, 30 files, 605 rows\n")
    );
    assert_eq!(manifest["created_at"], "2025-01-14T00:00:00Z");
    let files = manifest["files"].as_array().unwrap();
    // Every table file on disk, in path order, with its size, hash and rows.
    let on_disk: Vec<(PathBuf, Vec<u8>)> = tree(&ds_path)
        .into_iter()
        .filter(|(p, _)| !p.to_string_lossy().starts_with('_'))
        .collect();
    assert_eq!(files.len(), on_disk.len());
    for (entry, (path, bytes)) in files.iter().zip(&on_disk) {
        assert_eq!(entry["path"], path.display().to_string());
        assert_eq!(entry["size"], bytes.len() as u64);
        assert_eq!(entry["sha256"], sha256_hex(bytes));
        assert_eq!(entry["schema_version"], ksurf_dataset::SCHEMA_VERSION);
    }
    let rows = |table: &str, arch: &str| {
        files
            .iter()
            .find(|f| f["table"] == table && f["partition"]["arch"] == arch)
            .unwrap()["rows"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(
        (
            rows("functions", "amd64"),
            rows("function_instances", "amd64"),
            rows("symbols", "amd64"),
            rows("symbols", "arm64"),
            rows("images", "arm64"),
            rows("unit_errors", "arm64")
        ),
        (42, 47, 45, 44, 1, 0)
    );
    // Written again at the same time: byte-identical.
    assert!(ksurf_at("1736812800", &["manifest", "--dataset", ds])
        .status
        .success());
    assert_eq!(
        std::fs::read_to_string(ds_path.join("_manifest.json")).unwrap(),
        text
    );

    let o = ksurf(&["verify", "--dataset", ds]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!("{ds} matches its manifest: snapshot {id}, 30 files\n")
    );

    let symbols = "symbols/distro=debian/release=6.1.0-99-mini-arm64/arch=arm64/part-0.parquet";
    let listed = files.iter().find(|f| f["path"] == symbols).unwrap();
    let mut bytes = std::fs::read(ds_path.join(symbols)).unwrap();
    bytes[100] ^= 0x55;
    std::fs::write(ds_path.join(symbols), &bytes).unwrap();
    let o = ksurf(&["verify", "--dataset", ds]);
    assert_failed(
        &o,
        1,
        &format!(
            "ksurf: error: dataset {ds} does not match its manifest: {symbols}: SHA-256 {}, the manifest says {}",
            sha256_hex(&bytes),
            listed["sha256"].as_str().unwrap()
        ),
    );
}

#[test]
fn publish_is_reproducible_matches_the_manifest_and_refuses_a_changed_file() {
    let dir = tempfile::tempdir().unwrap();
    let ds_path = dir.path().join("ds");
    let ds = ds_path.to_str().unwrap();
    for build in ["x86_64-dwarf5", "s390x"] {
        assert!(ksurf(&["extract", &fixture(build), "--out", ds])
            .status
            .success());
    }
    let o = ksurf(&[
        "publish",
        "--dataset",
        ds,
        "--out",
        dir.path().join("none").to_str().unwrap(),
    ]);
    assert_failed(
        &o,
        1,
        &format!("ksurf: error: {ds}/_manifest.json does not exist; write it with `ksurf manifest --dataset {ds}`"),
    );
    assert!(!dir.path().join("none").exists());
    assert!(ksurf(&["manifest", "--dataset", ds]).status.success());
    let manifest_text = std::fs::read(ds_path.join("_manifest.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&manifest_text).unwrap();
    let created = manifest["created_at"].as_str().unwrap();
    let id = format!(
        "{}-{}",
        created[..10].replace('-', ""),
        &manifest["content_sha256"].as_str().unwrap()[..12]
    );
    let name = format!("ksurf-dataset-{id}.tar.zst");

    let mut archives = Vec::new();
    for run in ["one", "two"] {
        let dist = dir.path().join(run);
        let o = ksurf(&["publish", "--dataset", ds, "--out", dist.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        let archive = std::fs::read(dist.join(&name)).unwrap();
        let hash = sha256_hex(&archive);
        assert_eq!(
            stdout(&o),
            format!(
                "{}: snapshot {id}, 30 table files, {} bytes, sha256 {hash}\n",
                dist.join(&name).display(),
                archive.len()
            )
        );
        assert_eq!(
            std::fs::read_to_string(dist.join(format!("{name}.sha256"))).unwrap(),
            format!("{hash}  {name}\n")
        );
        let mut listing: Vec<String> = std::fs::read_dir(&dist)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        listing.sort();
        assert_eq!(listing, [name.clone(), format!("{name}.sha256")]);
        archives.push(archive);
    }
    assert!(archives[0] == archives[1], "two publishes differ");

    // Unpacked: README, the manifest as stored, and every listed file with
    // its listed hash, nothing else.
    let entries = unpack(&dir.path().join("one").join(&name));
    let root = format!("ksurf-dataset-{id}/");
    let names: Vec<&str> = entries
        .iter()
        .map(|(n, _)| n.strip_prefix(&root).unwrap())
        .collect();
    let mut want = vec!["README.md", "_manifest.json"];
    let files = manifest["files"].as_array().unwrap();
    want.extend(files.iter().map(|f| f["path"].as_str().unwrap()));
    assert_eq!(names, want);
    assert_eq!(entries[1].1, manifest_text);
    let readme = String::from_utf8(entries[0].1.clone()).unwrap();
    assert!(
        readme.starts_with(&format!("# ksurf dataset snapshot {id}\n")),
        "{readme}"
    );
    assert!(
        readme.contains("- debian/6.1.0-99-mini-s390x/s390x\n"),
        "{readme}"
    );
    for ((_, data), file) in entries[2..].iter().zip(files) {
        assert_eq!(sha256_hex(data), file["sha256"].as_str().unwrap());
        assert_eq!(data.len() as u64, file["size"].as_u64().unwrap());
        assert_eq!(
            data,
            &std::fs::read(ds_path.join(file["path"].as_str().unwrap())).unwrap()
        );
    }

    // A table file changed after the manifest: publish names it, writes nothing.
    let changed = "functions/distro=debian/release=6.1.0-99-mini-s390x/arch=s390x/part-0.parquet";
    let listed = files.iter().find(|f| f["path"] == changed).unwrap();
    let mut bytes = std::fs::read(ds_path.join(changed)).unwrap();
    bytes.truncate(bytes.len() - 1);
    std::fs::write(ds_path.join(changed), &bytes).unwrap();
    let dist = dir.path().join("three");
    let o = ksurf(&["publish", "--dataset", ds, "--out", dist.to_str().unwrap()]);
    assert_failed(
        &o,
        1,
        &format!(
            "ksurf: error: dataset {ds} does not match its manifest: {changed}: {} bytes with SHA-256 {}, the manifest says {} bytes with SHA-256 {}",
            bytes.len(),
            sha256_hex(&bytes),
            listed["size"],
            listed["sha256"].as_str().unwrap()
        ),
    );
    assert_eq!(std::fs::read_dir(&dist).unwrap().count(), 0);
}

/// The aggregator's fixture images: (ELF, release, flavor, arch), distro
/// `mini`, listed once in the aggregator's test support.
#[path = "../aggregator/tests/common/mod.rs"]
mod aggregator_fixtures;
use aggregator_fixtures::IMAGES as AGGREGATOR_IMAGES;

/// Extracts the fixture `elf` (relative to the repository) into `out` as
/// image `mini/<release>/<arch>` of `flavor`.
fn extract_mini(out: &Path, elf: &str, release: &str, flavor: &str, arch: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let o = ksurf(&[
        "extract",
        root.join(elf).to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--distro",
        "mini",
        "--release",
        release,
        "--flavor",
        flavor,
        "--arch",
        arch,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

fn aggregator_dataset(out: &Path) {
    for (elf, release, flavor, arch) in AGGREGATOR_IMAGES {
        extract_mini(out, elf, release, flavor, arch);
    }
}

#[test]
fn aggregate_then_report_prints_the_golden_page() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dir.path().join("ds");
    aggregator_dataset(&ds);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = root.join("aggregator/tests/fixtures/groups.toml");
    let o = ksurf(&[
        "aggregate",
        "--dataset",
        ds.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    assert_eq!(
        lines[..4],
        [
            "Regular: 45 function names, 19 changes, 34 type names, 18 type changes, 0 tracepoint changes, 0 syscall changes, 0 kfunc changes, 0 lsm changes, 0 config changes",
            "Arch: 44 function names, 2 changes, 33 type names, 7 type changes, 0 tracepoint changes, 0 syscall changes, 0 kfunc changes, 0 lsm changes, 0 config changes",
            "Flavor: 44 function names, 1 changes, 32 type names, 2 type changes, 0 tracepoint changes, 0 syscall changes, 0 kfunc changes, 0 lsm changes, 0 config changes",
            "Revision: 44 function names, 0 changes, 32 type names, 0 type changes, 0 tracepoint changes, 0 syscall changes, 0 kfunc changes, 0 lsm changes, 0 config changes",
        ]
    );
    assert!(
        lines[4].starts_with("4 of 4 groups aggregated, 0 unchanged, "),
        "{}",
        lines[4]
    );
    let aggregate = |extra: &[&str], failpoints: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ksurf"));
        cmd.args([
            "aggregate",
            "--dataset",
            ds.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ])
        .args(extra)
        .env_remove("KSURF_THREADS");
        if let Some(f) = failpoints {
            cmd.env("FAILPOINTS", f);
        }
        cmd.output().unwrap()
    };
    // Nothing new: every group is left as it is.
    let o = aggregate(&[], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    assert_eq!(
        lines[..4],
        ["Regular", "Arch", "Flavor", "Revision"].map(|g| format!(
            "{g}: unchanged (same images, files and definition as when aggregated)"
        ))
    );
    assert!(
        lines[4].starts_with("0 of 4 groups aggregated, 4 unchanged, "),
        "{}",
        lines[4]
    );
    // --force redoes them all; killed after the first group's marker and
    // before its state record, the next run redoes every group (the
    // others' files were removed first), and the one after none.
    let o = aggregate(&["--force"], Some("aggregate::before-group-state=return"));
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(ds
        .join("comparison_groups/group=Regular/part-0.parquet")
        .exists());
    assert!(!ds.join("_aggregate/group=Regular.json").exists());
    assert!(!ds
        .join("comparison_groups/group=Arch/part-0.parquet")
        .exists());
    let o = aggregate(&[], None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("\n4 of 4 groups aggregated, 0 unchanged, "),
        "{}",
        stdout(&o)
    );
    let o = aggregate(&[], None);
    assert!(
        stdout(&o).contains("0 of 4 groups aggregated, 4 unchanged, "),
        "{}",
        stdout(&o)
    );

    let golden = std::fs::read_to_string(root.join("aggregator/tests/golden/sum_grid.md")).unwrap();
    let o = ksurf(&["report", "sum_grid", "--dataset", ds.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), golden);
    // Computed from the per-image tables for the same config: the same page.
    let o = ksurf(&[
        "report",
        "sum_grid",
        "--dataset",
        ds.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(stdout(&o), golden);

    let o = ksurf(&[
        "report",
        "sum_grid",
        "--dataset",
        ds.to_str().unwrap(),
        "--format",
        "html",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = stdout(&o);
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>sum_grid</title>\n"));
    assert!(
        html.contains("<h1>Function: <code>sum_grid</code></h1>\n<h2>Attach matrix</h2>\n<table class=\"matrix\">\n"),
        "{html}"
    );
    // The matrix's first row: the 4.4 image, nothing wrong, a kprobe on
    // the symbol, no fentry (the mini kernels have no .BTF).
    assert!(
        html.contains("<tr><td>Regular</td><td><code>4.4</code></td><td class=\"ok\">✓</td><td class=\"ok\" title=\"symbol sum_grid\">✓</td><td class=\"bad\" title=\"the image has no .BTF (CONFIG_DEBUG_INFO_BTF is not set)\">✗</td></tr>\n"),
        "{html}"
    );
    assert!(html.contains("</table>\n<h2>Status</h2>\n"), "{html}");
    assert!(html.contains("<details>\n<summary>In <code>4.4</code>: ✅</summary>\n<pre><code class=\"language-c\">int sum_grid(int (*grid)[4], int rows);\n</code></pre>\n"), "{html}");
    assert!(html.ends_with("</ul>\n</body>\n</html>\n"), "{html}");

    let o = ksurf(&["report", "sum_gird", "--dataset", ds.to_str().unwrap()]);
    assert_failed(
        &o,
        1,
        "ksurf: error: function sum_gird is in no image of the dataset; closest names: sum_grid, _start, bool_param, core_init, read_init",
    );

    // A config keeping Revision alone: it moved to position 0, so it is
    // written again; the others are removed, each said so.
    let only = dir.path().join("only.toml");
    std::fs::write(
        &only,
        "[[group]]\nname = \"Revision\"\nmode = \"consecutive\"\nversion = \"5.4\"\narch = \"amd64\"\nflavor = \"mini\"\n",
    )
    .unwrap();
    let o = ksurf(&[
        "aggregate",
        "--dataset",
        ds.to_str().unwrap(),
        "--config",
        only.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    assert_eq!(
        lines[..4],
        [
            "Revision: 44 function names, 0 changes, 32 type names, 0 type changes, 0 tracepoint changes, 0 syscall changes, 0 kfunc changes, 0 lsm changes, 0 config changes",
            "Arch: removed (no longer in the config)",
            "Flavor: removed (no longer in the config)",
            "Regular: removed (no longer in the config)",
        ]
    );
}

#[test]
fn aggregate_reports_a_bad_config_and_a_missing_group_image() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dir.path().join("ds");
    aggregator_dataset(&ds);
    let config = dir.path().join("groups.toml");
    std::fs::write(
        &config,
        "[[group]]\nname = \"Revision\"\nmode = \"consecutive\"\nversion = \"5.4\"\narch = \"amd64\"\nflavor = \"mini\"\n\
         [[group]]\nname = \"Arch\"\nmode = \"baseline\"\nbaseline = \"mini/5.4.0-30-mini/s390x\"\n",
    )
    .unwrap();
    let o = ksurf(&[
        "aggregate",
        "--dataset",
        ds.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o).trim_end(),
        "ksurf: error: group Arch: baseline mini/5.4.0-30-mini/s390x is not in the dataset"
    );
    assert!(stdout(&o)
        .starts_with(
            "Revision: 44 function names, 0 changes, 32 type names, 0 type changes, 0 tracepoint changes, 0 syscall changes, 0 kfunc changes, 0 lsm changes, 0 config changes\n1 of 2 groups aggregated, "
        ));

    std::fs::write(
        &config,
        "[[group]]\nname = \"A\"\nmode = \"consecutive\"\nflavour = \"x\"\n",
    )
    .unwrap();
    let o = ksurf(&[
        "aggregate",
        "--dataset",
        ds.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with(&format!(
            "ksurf: error: config {}: TOML parse error at line 4, column 1",
            config.display()
        )),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("unknown field `flavour`"),
        "{}",
        stderr(&o)
    );
}

/// `images.kconfig_options` and `config_source` and the `kconfig` rows of
/// the one image in `ds`, as `name=value` (`<not set>` for NULL).
fn kconfig_of(ds: &Path, image: &str) -> (u32, Option<String>, Vec<String>) {
    use arrow::array::{Array, StringArray, UInt32Array};
    let dataset = ksurf_dataset::Dataset::open_existing_local(ds).unwrap();
    let id: ksurf_dataset::ImageId = image.parse().unwrap();
    let images = dataset
        .read_table(&id, ksurf_dataset::TableName::Images)
        .unwrap();
    let options = images
        .column_by_name("kconfig_options")
        .unwrap()
        .as_any()
        .downcast_ref::<UInt32Array>()
        .unwrap()
        .value(0);
    let source = images
        .column_by_name("config_source")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap()
        .clone();
    let source = (!source.is_null(0)).then(|| source.value(0).to_owned());
    let rows = dataset
        .read_table(&id, ksurf_dataset::TableName::Kconfig)
        .unwrap();
    let col = |name: &str| {
        rows.column_by_name(name)
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .clone()
    };
    let (names, values) = (col("name"), col("value"));
    let rows = (0..rows.num_rows())
        .map(|i| {
            let value = if values.is_null(i) {
                "<not set>"
            } else {
                values.value(i)
            };
            format!("{}={value}", names.value(i))
        })
        .collect();
    (options, source, rows)
}

#[test]
fn extract_kconfig_reads_the_given_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ds");
    let config = dir.path().join("config-6.1.0-99-mini-amd64");
    std::fs::write(
        &config,
        "# Linux/x86 6.1.999 Kernel Configuration\nCONFIG_64BIT=y\n\n# CONFIG_DEBUG_INFO_BTF is not set\nCONFIG_HZ=250\nCONFIG_LOCALVERSION=\"-mini \\\"x\\\"\"\nCONFIG_HZ=1000\n",
    )
    .unwrap();
    let image = "debian/6.1.0-99-mini-amd64/amd64";
    let o = ksurf(&[
        "extract",
        &fixture("x86_64-dwarf5"),
        "--out",
        out.to_str().unwrap(),
        "--kconfig",
        config.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(", 0 LSM hooks, 4 config options, 11 units"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        kconfig_of(&out, image),
        (
            4,
            Some("file:config-6.1.0-99-mini-amd64".to_owned()),
            vec![
                "CONFIG_64BIT=y".to_owned(),
                "CONFIG_DEBUG_INFO_BTF=<not set>".to_owned(),
                "CONFIG_HZ=1000".to_owned(),
                "CONFIG_LOCALVERSION=\"-mini \\\"x\\\"\"".to_owned(),
            ]
        )
    );

    // Without --kconfig: no config found, an empty table, a NULL source.
    let plain = dir.path().join("plain");
    let o = ksurf(&[
        "extract",
        &fixture("x86_64-dwarf5"),
        "--out",
        plain.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(kconfig_of(&plain, image), (0, None, vec![]));

    // A malformed config: a config error, exit code 3, the other tables
    // written and the kind error in `images`.
    std::fs::write(&config, "CONFIG_64BIT=y\nCONFIG_HZ\n").unwrap();
    let bad = dir.path().join("bad");
    let o = ksurf(&[
        "extract",
        &fixture("x86_64-dwarf5"),
        "--out",
        bad.to_str().unwrap(),
        "--kconfig",
        config.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "ksurf: config error: {}: line 2: \"CONFIG_HZ\" is neither CONFIG_<NAME>=<value>, \"# CONFIG_<NAME> is not set\", a comment nor blank\n",
            config.display()
        )
    );
    assert!(stdout(&o).starts_with(
        "debian/6.1.0-99-mini-amd64/amd64: 42 functions, 47 instances, 45 symbols, 37 types, 0 tracepoints, 0 syscalls, 0 kfuncs, 0 LSM hooks, 0 config options, 11 units"
    ));
    assert_eq!(
        kconfig_of(&bad, image),
        (
            0,
            Some("file:config-6.1.0-99-mini-amd64".to_owned()),
            vec![]
        )
    );
    assert_eq!(tree(&bad).len(), 15);

    // A path that cannot be read fails before anything is written.
    let missing = dir.path().join("missing");
    let o = ksurf(&[
        "extract",
        &fixture("x86_64-dwarf5"),
        "--out",
        missing.to_str().unwrap(),
        "--kconfig",
        dir.path().join("nope").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "reading --kconfig {}",
            dir.path().join("nope").display()
        )),
        "{}",
        stderr(&o)
    );
    assert!(!missing.join("images").exists());
}

/// The interfaces mini kernel and its next release, as two images of
/// distro `mini`.
fn interfaces_dataset(out: &Path) {
    for (elf, release) in [
        ("x86_64.elf", "6.1.999-interfaces"),
        ("v2-x86_64.elf", "6.2.999-interfaces"),
    ] {
        let elf = format!("extractor/tests/fixtures/interfaces/bin/{elf}");
        extract_mini(out, &elf, release, "interfaces", "amd64");
    }
}

const MINI_BPF: &str = "checker/tests/fixtures/mini.bpf.o";

#[test]
fn check_gives_one_verdict_per_program_and_image_and_exits_1_on_a_hard_failure() {
    let dir = tempfile::tempdir().unwrap();
    interfaces_dataset(dir.path());
    let ds = dir.path().to_str().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let object = format!("{root}/{MINI_BPF}");
    let o = ksurf(&["check", &object, "--dataset", ds]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = stdout(&o);
    let matrix: Vec<&str> = text.lines().take_while(|l| !l.is_empty()).collect();
    let label = format!("{object}  ");
    assert_eq!(
        matrix,
        [
            ksurf_checker::render::LEGEND.to_owned(),
            "[1] mini/6.1.999-interfaces/amd64".to_owned(),
            "[2] mini/6.2.999-interfaces/amd64".to_owned(),
            format!("{:w$}  images →", "object", w = object.len()),
            format!("{label}XX"),
            format!("{:w$}  ..", "  tp/sched/sched_switch", w = object.len()),
            format!("{:w$}  X.", "  tracepoint/skb/skb_free", w = object.len()),
            format!(
                "{:w$}  f.",
                "  tracepoint/skb/skb_consume",
                w = object.len()
            ),
            format!("{:w$}  .X", "  raw_tp/pelt_bare_tp", w = object.len()),
            format!(
                "{:w$}  XX",
                "  tracepoint/sched/pelt_bare_tp",
                w = object.len()
            ),
            format!(
                "{:w$}  X.",
                "  tracepoint/syscalls/sys_enter_openat",
                w = object.len()
            ),
            format!("{:w$}  ..", "  ksyscall/getpid", w = object.len()),
            format!("{:w$}  XX", "  fentry/__x64_sys_read", w = object.len()),
            format!("{:w$}  XX", "  kprobe/__x64_sys_write", w = object.len()),
            format!("{:w$}  ..", "  uprobe/libc.so.6:malloc", w = object.len()),
        ]
    );
    let details: Vec<String> = text
        .lines()
        .skip(matrix.len() + 1)
        .map(|l| {
            l.strip_prefix(&format!("{object} "))
                .unwrap_or(l)
                .to_owned()
        })
        .collect();
    assert_eq!(
        details,
        [
            "[1] tracepoint/skb/skb_free: core trace_event_raw_skb_class::reason (field_byte_offset): Hard field_missing: trace_event_raw_skb_class::reason: trace_event_raw_skb_class has no member reason; the CO-RE relocation fails the load",
            "[1] tracepoint/skb/skb_consume: core trace_event_raw_skb_class::reason (field_exists): Fallback probe_false: trace_event_raw_skb_class::reason: trace_event_raw_skb_class has no member reason; the probe is 0 and the program takes its fallback",
            "[1] tracepoint/skb/skb_consume: core trace_event_raw_skb_class::reason (field_byte_offset): Fallback guarded: trace_event_raw_skb_class::reason: trace_event_raw_skb_class has no member reason; in a branch guarded by a CO-RE probe, dropped as dead code",
            "[1] kprobe/__x64_sys_write: core task_struct___new::__state (field_byte_offset): Hard field_missing: task_struct___new::__state: task_struct has no member __state; the CO-RE relocation fails the load",
            "[2] kprobe/__x64_sys_write: core task_struct___new::__state (field_byte_offset): Hard field_missing: task_struct___new::__state: task_struct has no member __state; the CO-RE relocation fails the load",
            "[2] raw_tp/pelt_bare_tp: attach raw_tp pelt_bare_tp: Hard absent: no tracepoint pelt_bare_tp",
            "[1] tracepoint/sched/pelt_bare_tp: attach tracepoint sched/pelt_bare_tp: Hard no_event: pelt_bare_tp is a bare tracepoint: raw_tp/tp_btf only",
            "[2] tracepoint/sched/pelt_bare_tp: attach tracepoint sched/pelt_bare_tp: Hard absent: no tracepoint pelt_bare_tp",
            "[1] tracepoint/syscalls/sys_enter_openat: attach tracepoint syscalls/sys_enter_openat: Hard absent: no syscall openat: no syscalls:sys_enter_openat event",
            "[1] fentry/__x64_sys_read: attach fentry __x64_sys_read: Hard no_btf: the image has no .BTF (CONFIG_DEBUG_INFO_BTF is not set)",
            "[2] fentry/__x64_sys_read: attach fentry __x64_sys_read: Hard no_btf: the image has no .BTF (CONFIG_DEBUG_INFO_BTF is not set)",
        ]
    );

    // JSON: every dependency × image verdict; the ksyscall kprobe names its entry.
    let o = ksurf(&["check", &object, "--dataset", ds, "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let deps = json["objects"][0]["dependencies"].as_array().unwrap();
    let getpid = deps
        .iter()
        .find(|d| d["name"] == "ksyscall getpid")
        .unwrap();
    assert_eq!(getpid["verdicts"][0]["outcome"], "ok");
    assert_eq!(
        getpid["verdicts"][1]["reason"],
        "entry __x64_sys_getpid: symbol __x64_sys_getpid"
    );
    assert_eq!(
        json["objects"][0]["outcomes"],
        serde_json::json!(["hard", "hard"])
    );

    // One image by glob: only v2's column.
    let o = ksurf(&["check", &object, "--dataset", ds, "--images", "mini/6.2*/*"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o)
        .lines()
        .nth(1)
        .is_some_and(|l| l == "[1] mini/6.2.999-interfaces/amd64"));
    assert!(stdout(&o).contains(&format!("{label}X\n")));
}

/// The progress hook of `ksurf check` (its bar on a terminal) hears of
/// each image once, and does not change the verdicts.
#[test]
fn check_reports_each_image_read_once_to_its_progress_hook() {
    let dir = tempfile::tempdir().unwrap();
    interfaces_dataset(dir.path());
    let dataset = ksurf_dataset::Dataset::open_existing_local(dir.path()).unwrap();
    let images = dataset.images().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let objects =
        ksurf_checker::object::read_objects(Path::new(&format!("{root}/{MINI_BPF}"))).unwrap();
    let heard = std::sync::Mutex::new(Vec::new());
    let checked = ksurf_checker::check_dataset_with(&dataset, &images, &objects, &|image| {
        heard.lock().unwrap().push(image.to_string())
    })
    .unwrap();
    let mut heard = heard.into_inner().unwrap();
    heard.sort();
    assert_eq!(
        heard,
        [
            "mini/6.1.999-interfaces/amd64",
            "mini/6.2.999-interfaces/amd64"
        ]
    );
    let plain = ksurf_checker::check_dataset(&dataset, &images, &objects).unwrap();
    assert_eq!(format!("{checked:?}"), format!("{plain:?}"));
}

#[test]
fn check_reports_an_unreadable_input_and_still_checks_the_others() {
    let dir = tempfile::tempdir().unwrap();
    interfaces_dataset(dir.path());
    let ds = dir.path().to_str().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let object = format!("{root}/{MINI_BPF}");
    let plain = format!("{root}/checker/tests/fixtures/plain");
    let o = ksurf(&["check", &plain, &object, "--dataset", ds]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains(&format!("{object}  XX\n")), "{text}");
    assert_eq!(
        stderr(&o),
        format!("ksurf: error: {plain}: ELF file with no embedded BPF object\n")
    );
    // Only unreadable inputs: no table, only the error.
    let o = ksurf(&["check", &plain, "--dataset", ds]);
    assert_failed(
        &o,
        2,
        &format!("ksurf: error: {plain}: ELF file with no embedded BPF object"),
    );
    assert_eq!(stdout(&o), "");
    // A group the dataset does not have: exit 2, nothing checked.
    let o = ksurf(&["check", &object, "--dataset", ds, "--group", "Nope"]);
    assert_failed(
        &o,
        2,
        &format!("ksurf: error: selecting images of {ds}: no aggregated group \"Nope\" in {ds} (it has none)"),
    );
}

/// The interfaces mini kernels as a dataset with BTF: x86_64 and s390x
/// (big-endian) extracted with `--btf-from-dwarf` (needs `pahole`), the
/// v2 x86_64 image without it (no `.BTF` section: no BTF).
fn btf_dataset(out: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (elf, release, arch, from_dwarf) in [
        ("x86_64.elf", "6.1.999-interfaces", "amd64", true),
        ("s390x.elf", "6.1.999-interfaces", "s390x", true),
        ("v2-x86_64.elf", "6.2.999-interfaces", "amd64", false),
    ] {
        let elf = root
            .join("extractor/tests/fixtures/interfaces/bin")
            .join(elf);
        let mut args = vec![
            "extract",
            elf.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--distro",
            "mini",
            "--release",
            release,
            "--flavor",
            "interfaces",
            "--arch",
            arch,
        ];
        if from_dwarf {
            args.push("--btf-from-dwarf");
        }
        let o = ksurf(&args);
        assert!(o.status.success(), "{}", stderr(&o));
    }
}

/// `ksurf btf --dataset DS --image IMAGE --out OUT`.
fn serve_btf(ds: &str, image: &str, out: &Path) -> Output {
    ksurf(&[
        "btf",
        "--dataset",
        ds,
        "--image",
        image,
        "--out",
        out.to_str().unwrap(),
    ])
}

/// Needs `pahole` and `bpftool` (`.ci/run` installs both).
#[test]
fn btf_serves_each_images_blob_and_says_why_an_image_has_none() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dir.path().join("ds");
    btf_dataset(&ds);
    let ds_text = ds.to_str().unwrap();

    let out = dir.path().join("amd64.btf");
    let o = serve_btf(ds_text, "mini/6.1.999-interfaces/amd64", &out);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let served = std::fs::read(&out).unwrap();
    let stored =
        std::fs::read(ds.join("btf/distro=mini/release=6.1.999-interfaces/arch=amd64/vmlinux.btf"))
            .unwrap();
    assert_eq!(served, stored);
    assert_eq!(served[..4], [0x9f, 0xeb, 1, 0]);
    // bpftool reads it: the fixture's types are there.
    let dump = Command::new("bpftool")
        .args(["btf", "dump", "file"])
        .arg(&out)
        .output()
        .expect("bpftool (package bpftool) runs");
    assert!(dump.status.success(), "{}", stderr(&dump));
    let dump = stdout(&dump);
    for want in [
        "STRUCT 'task_struct' size=4 vlen=1",
        "STRUCT 'sk_buff'",
        "FUNC '__bpf_trace_sched_switch'",
    ] {
        assert!(dump.contains(want), "{want} not in:\n{dump}");
    }

    // To standard output; the s390x image's BTF is big-endian.
    let o = ksurf(&[
        "btf",
        "--dataset",
        ds_text,
        "--image",
        "mini/6.1.999-interfaces/s390x",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(o.stdout[..4], [0xeb, 0x9f, 1, 0]);

    // Through a symlink: the link stays, its target gets the BTF.
    let target = dir.path().join("target.btf");
    std::fs::write(&target, b"old").unwrap();
    let link = dir.path().join("link.btf");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let o = serve_btf(ds_text, "mini/6.1.999-interfaces/amd64", &link);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&target).unwrap(), stored);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    // A blob that is not the one the images row records is refused.
    let blob_path = "btf/distro=mini/release=6.1.999-interfaces/arch=s390x/vmlinux.btf";
    let blob = ds.join(blob_path);
    let whole = std::fs::read(&blob).unwrap();
    std::fs::write(&blob, &whole[..1000]).unwrap();
    let s390x = [
        "btf",
        "--dataset",
        ds_text,
        "--image",
        "mini/6.1.999-interfaces/s390x",
    ];
    let o = ksurf(&s390x);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with(&format!("ksurf: error: {ds_text}/{blob_path}: SHA-256 ")),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("(1000 bytes): the dataset is damaged"),
        "{}",
        stderr(&o)
    );
    // A blob the row records but the dataset lacks (a published snapshot).
    std::fs::remove_file(&blob).unwrap();
    let o = ksurf(&s390x);
    assert_eq!(o.status.code(), Some(2));
    let message = stderr(&o);
    assert!(
        message
            .starts_with("ksurf: error: mini/6.1.999-interfaces/s390x has BTF (pahole, SHA-256 "),
        "{message}"
    );
    assert!(
        message.trim_end().ends_with(&format!(
            "but {ds_text}/{blob_path} is missing: \
             a snapshot unpacked from `ksurf publish` does not carry the BTF files yet"
        )),
        "{message}"
    );

    assert_failed(
        &ksurf(&[
            "btf",
            "--dataset",
            ds_text,
            "--image",
            "mini/6.2.999-interfaces/amd64",
        ]),
        2,
        &format!(
            "ksurf: error: mini/6.2.999-interfaces/amd64 has no BTF in {ds_text}: its vmlinux has \
             no .BTF section, and it was extracted without btf_from_dwarf (a source's \
             `btf_from_dwarf = true`, or `ksurf extract --btf-from-dwarf`)"
        ),
    );
}

/// Needs `pahole` and `bpftool` (`.ci/run` installs both).
#[test]
fn btfgen_writes_per_image_what_bpftool_gen_min_core_btf_gives_on_its_btf() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dir.path().join("ds");
    btf_dataset(&ds);
    let ds_text = ds.to_str().unwrap();
    let object = format!("{}/{MINI_BPF}", env!("CARGO_MANIFEST_DIR"));
    let out = dir.path().join("min");
    let o = ksurf(&[
        "btfgen",
        &object,
        "--dataset",
        ds_text,
        "--out",
        out.to_str().unwrap(),
    ]);
    // The v2 image has no BTF: exit 1, the others written.
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!(
            "mini/6.1.999-interfaces/amd64: {o}/mini/amd64/6.1.999-interfaces.btf\n\
             mini/6.1.999-interfaces/s390x: {o}/mini/s390x/6.1.999-interfaces.btf\n\
             2 of 3 images: minimized BTF for 1 BPF object in {o}\n",
            o = out.display()
        )
    );
    assert!(
        stderr(&o).starts_with("ksurf: error: mini/6.2.999-interfaces/amd64 has no BTF in "),
        "{}",
        stderr(&o)
    );
    for arch in ["amd64", "s390x"] {
        // The peer on the same input: the image's BTF as `ksurf btf` serves it.
        let btf = dir.path().join(format!("{arch}.btf"));
        let o = serve_btf(ds_text, &format!("mini/6.1.999-interfaces/{arch}"), &btf);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let peer = dir.path().join(format!("{arch}.min.btf"));
        let o = Command::new("bpftool")
            .args(["gen", "min_core_btf"])
            .arg(&btf)
            .arg(&peer)
            .arg(&object)
            .output()
            .expect("bpftool runs");
        assert!(o.status.success(), "{}", stderr(&o));
        let ours = std::fs::read(out.join(format!("mini/{arch}/6.1.999-interfaces.btf"))).unwrap();
        assert_eq!(ours, std::fs::read(&peer).unwrap(), "{arch}");
        // What mini.bpf.o reads through CO-RE: task_struct::pid.
        let dump = Command::new("bpftool")
            .args(["btf", "dump", "file"])
            .arg(out.join(format!("mini/{arch}/6.1.999-interfaces.btf")))
            .output()
            .unwrap();
        assert_eq!(
            stdout(&dump),
            "[1] STRUCT 'task_struct' size=4 vlen=1\n\t'pid' type_id=2 bits_offset=0\n\
             [2] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n"
        );
    }

    // Only the images with BTF: exit 0.
    let o = ksurf(&[
        "btfgen",
        &object,
        "--dataset",
        ds_text,
        "--images",
        "mini/6.1*/*",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // A bpftool that does not run stops the command before any image.
    let none = dir.path().join("none");
    let o = Command::new(env!("CARGO_BIN_EXE_ksurf"))
        .args(["btfgen", &object, "--dataset", ds_text, "--out"])
        .arg(&none)
        .env("KSURF_BPFTOOL", "/nonexistent/bpftool")
        .output()
        .unwrap();
    assert_failed(
        &o,
        2,
        "ksurf: error: cannot run bpftool /nonexistent/bpftool: No such file or directory (os error 2)",
    );
    assert!(!none.exists());

    // A file that is not a BPF object stops the command before any image.
    let bad = dir.path().join("not-bpf.o");
    std::fs::write(&bad, b"\x7fELF garbage").unwrap();
    let o = ksurf(&[
        "btfgen",
        bad.to_str().unwrap(),
        "--dataset",
        ds_text,
        "--out",
        dir.path().join("none").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with(&format!("ksurf: error: {}", bad.display())),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("none").exists());
}
