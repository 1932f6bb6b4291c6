//! `ksurf run` end to end on fixture kernel debug packages (real `.deb`
//! files built with dpkg-deb): what one run writes, that the next run does
//! only what is new, that a bad package fails alone, and that a run killed
//! at any point and run again gives the same dataset, byte for byte, as a
//! run never interrupted.

#[path = "common/debs.rs"]
mod debs;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow::array::{Array, StringArray};

/// A fixed clock for `fetches.fetched_at` and the manifest.
const EPOCH: &str = "1736812800";

struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let debs = dir.path().join("debs");
        debs::build_all(&debs);
        let config = dir.path().join("config.toml");
        std::fs::write(&config, debs::config(&debs)).unwrap();
        Setup { dir, config }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `ksurf run` into `<tmp>/<dataset>` with work dir `<tmp>/work-<dataset>`.
    fn run(&self, dataset: &str, env: &[(&str, &str)]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ksurf"))
            .arg("run")
            .arg("--config")
            .arg(&self.config)
            .arg("--dataset")
            .arg(self.path(dataset))
            .arg("--work")
            .arg(self.path(&format!("work-{dataset}")))
            .env("SOURCE_DATE_EPOCH", EPOCH)
            .env_remove("FAILPOINTS")
            .env_remove("KSURF_THREADS")
            .envs(env.iter().copied())
            .output()
            .expect("running ksurf")
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    o
}

/// The stdout lines that do not carry a timing.
fn untimed_lines(o: &Output) -> Vec<String> {
    text(&o.stdout)
        .lines()
        .map(|l| match l.rfind(" (") {
            Some(i) if l.ends_with("s)") => l[..i].to_owned(),
            _ => l.to_owned(),
        })
        .map(|l| match l.find("; snapshot") {
            Some(i) => l[..i].to_owned(),
            None => l.to_owned(),
        })
        .collect()
}

/// (image or group, stage, outcome, message) of every run_log row of the
/// dataset, per run in run order, rows sorted.
fn run_logs(dataset: &Path) -> Vec<Vec<(String, String, String, String)>> {
    let ds = ksurf_dataset::Dataset::open_existing_local(dataset).unwrap();
    let mut files: Vec<_> = ds
        .list(Some(&"run_log".into()))
        .unwrap()
        .into_iter()
        .map(|m| m.location)
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let batch = ds.read_file(f, ksurf_dataset::TableName::RunLog).unwrap();
            let col = |name: &str| {
                batch
                    .column_by_name(name)
                    .unwrap()
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .unwrap()
                    .clone()
            };
            let (image, group, stage, outcome, message) = (
                col("image"),
                col("group"),
                col("stage"),
                col("outcome"),
                col("message"),
            );
            let mut rows: Vec<_> = (0..batch.num_rows())
                .map(|i| {
                    let subject = if image.is_valid(i) {
                        image.value(i)
                    } else {
                        group.value(i)
                    };
                    let message = if message.is_valid(i) {
                        message.value(i)
                    } else {
                        ""
                    };
                    (
                        subject.to_owned(),
                        stage.value(i).to_owned(),
                        outcome.value(i).to_owned(),
                        message.to_owned(),
                    )
                })
                .collect();
            rows.sort();
            rows
        })
        .collect()
}

fn row(subject: &str, stage: &str, outcome: &str) -> (String, String, String, String) {
    (subject.into(), stage.into(), outcome.into(), String::new())
}

/// Every table file of the dataset except the run log and the hidden
/// files (the manifest, which lists the run log files, its tag record and
/// the aggregation state records), with its bytes.
fn table_files(dataset: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    debs::files(dataset)
        .into_iter()
        .filter(|p| !p.starts_with("run_log") && !p.to_string_lossy().starts_with('_'))
        .map(|p| {
            let bytes = std::fs::read(dataset.join(&p)).unwrap();
            (p, bytes)
        })
        .collect()
}

/// The manifest's entries for every file but the run log's.
fn manifest_entries(dataset: &Path) -> Vec<serde_json::Value> {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dataset.join("_manifest.json")).unwrap()).unwrap();
    manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["path"].as_str().unwrap().starts_with("run_log/"))
        .cloned()
        .collect()
}

fn assert_same_dataset(got: &Path, want: &Path) {
    let (got_files, want_files) = (table_files(got), table_files(want));
    let names = |f: &[(PathBuf, Vec<u8>)]| f.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    assert_eq!(names(&got_files), names(&want_files));
    for ((path, got), (_, want)) in got_files.iter().zip(&want_files) {
        assert!(got == want, "{} differs", path.display());
    }
    assert_eq!(manifest_entries(got), manifest_entries(want));
}

const IMAGES: [&str; 5] = [
    "debian/4.4.0-10-mini/amd64",
    "debian/4.10.0-20-mini/amd64",
    "debian/5.4.0-30-mini/amd64",
    "debian/5.4.0-30-mini/arm64",
    "debian/5.4.0-30-mini-rt/amd64",
];

#[test]
fn a_run_writes_every_image_and_the_next_run_only_what_is_new() {
    let s = Setup::new();
    let first = ok(s.run("ds", &[]));
    let mut want: Vec<String> = vec![
        "5 images planned: 5 to do, 0 already in ".to_owned() + s.path("ds").to_str().unwrap(),
    ];
    want.extend(IMAGES.iter().map(|i| format!("{i}: extracted")));
    want.extend([
        "group Regular: 45 function names, 19 changes, 34 type names, 18 type changes, 0 tracepoint changes, 0 syscall changes, 0 kfunc changes, 0 lsm changes, 0 config changes".to_owned(),
        "group Arch: 44 function names, 1 changes, 33 type names, 4 type changes, 0 tracepoint changes, 0 syscall changes, 0 kfunc changes, 0 lsm changes, 0 config changes".to_owned(),
        "group Flavor: 44 function names, 1 changes, 32 type names, 2 type changes, 0 tracepoint changes, 0 syscall changes, 0 kfunc changes, 0 lsm changes, 0 config changes".to_owned(),
    ]);
    let summary = untimed_lines(&first).pop().unwrap();
    assert!(
        summary.starts_with("run ")
            && summary.ends_with(": 5 images extracted, 0 unchanged, 0 failed"),
        "{summary}"
    );
    let mut lines = untimed_lines(&first);
    lines.pop();
    assert_eq!(lines, want);
    // The work files are gone; the user's packages stay.
    assert_eq!(
        debs::files(&s.path("work-ds/vmlinux")),
        Vec::<PathBuf>::new()
    );
    assert_eq!(debs::files(&s.path("debs")).len(), 5);
    // Every image's marker names its package.
    let ds = ksurf_dataset::Dataset::open_existing_local(&s.path("ds")).unwrap();
    for (image, deb) in IMAGES.iter().zip([0, 1, 2, 3, 4]) {
        let (_, release, arch) = debs::PACKAGES[deb];
        let bytes = std::fs::read(
            s.path("debs")
                .join(format!("linux-image-{release}-dbg_6.1.1-1_{arch}.deb")),
        )
        .unwrap();
        let sha = {
            use sha2::Digest;
            sha2::Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        assert_eq!(
            ds.image_state(&image.parse().unwrap()).unwrap(),
            ksurf_dataset::ImageState::Complete {
                package_sha256: Some(sha)
            }
        );
    }
    let before = table_files(&s.path("ds"));
    let mtimes = |dir: &Path| -> std::collections::BTreeMap<PathBuf, std::time::SystemTime> {
        debs::files(dir)
            .into_iter()
            .filter(|p| p.starts_with("function_instances"))
            .map(|p| {
                let t = std::fs::metadata(dir.join(&p)).unwrap().modified().unwrap();
                (p, t)
            })
            .collect()
    };
    let first_mtimes = mtimes(&s.path("ds"));

    // Nothing new: nothing extracted, no image file rewritten.
    let second = ok(s.run("ds", &[]));
    assert_eq!(
        untimed_lines(&second)[0],
        format!(
            "5 images planned: 0 to do, 5 already in {}",
            s.path("ds").display()
        )
    );
    assert_eq!(mtimes(&s.path("ds")), first_mtimes);
    assert_eq!(table_files(&s.path("ds")), before);
    // Nor is any group re-aggregated: its images and files are as they were.
    assert_eq!(
        untimed_lines(&second)[1..4],
        ["Regular", "Arch", "Flavor"].map(|g| format!(
            "group {g}: unchanged (same images, files and definition as when aggregated)"
        ))
    );

    // A new package: only it is extracted, and the groups are redone.
    let v3 = std::fs::read(debs::repo_root().join("aggregator/tests/fixtures/bin/v3-x86_64.elf"))
        .unwrap();
    debs::build_deb(&s.path("debs"), "5.4.0-30-mini-cloud", "amd64", &v3);
    let third = ok(s.run("ds", &[]));
    let lines = untimed_lines(&third);
    assert_eq!(
        lines[..2],
        [
            format!(
                "6 images planned: 1 to do, 5 already in {}",
                s.path("ds").display()
            ),
            "debian/5.4.0-30-mini-cloud/amd64: extracted".to_owned()
        ]
    );
    // Only Flavor holds the new image: the other groups are left as they
    // are (config order).
    assert_eq!(
        lines[2..5],
        [
            "group Regular: unchanged (same images, files and definition as when aggregated)",
            "group Arch: unchanged (same images, files and definition as when aggregated)",
            "group Flavor: 44 function names, 1 changes, 32 type names, 2 type changes, 0 tracepoint changes, 0 syscall changes, 0 kfunc changes, 0 lsm changes, 0 config changes",
        ]
    );
    let third_mtimes = mtimes(&s.path("ds"));
    assert_eq!(third_mtimes.len(), 6);
    for (path, t) in &first_mtimes {
        assert_eq!(third_mtimes[path], *t, "{} was rewritten", path.display());
    }

    let logs = run_logs(&s.path("ds"));
    assert_eq!(logs.len(), 3);
    let mut want_first: Vec<_> = IMAGES.iter().map(|i| row(i, "extract", "done")).collect();
    want_first.extend(["Arch", "Flavor", "Regular"].map(|g| row(g, "aggregate", "done")));
    want_first.sort();
    assert_eq!(logs[0], want_first);
    let mut want_second: Vec<_> = IMAGES
        .iter()
        .map(|i| row(i, "extract", "skipped"))
        .collect();
    want_second.extend(["Arch", "Flavor", "Regular"].map(|g| row(g, "aggregate", "skipped")));
    want_second.sort();
    assert_eq!(logs[1], want_second);
    assert!(logs[2].contains(&row("debian/5.4.0-30-mini-cloud/amd64", "extract", "done")));
    assert!(logs[2].contains(&row("Flavor", "aggregate", "done")));
    // The five images extracted before and the two groups left as they were.
    assert_eq!(
        logs[2].iter().filter(|r| r.2 == "skipped").count(),
        7,
        "{:?}",
        logs[2]
    );
    ok(Command::new(env!("CARGO_BIN_EXE_ksurf"))
        .args(["verify", "--dataset"])
        .arg(s.path("ds"))
        .output()
        .unwrap());
}

#[test]
fn a_corrupt_package_fails_alone_and_is_retried_next_run() {
    let s = Setup::new();
    // A package cut short: a kernel's name, control file and size, a
    // truncated data member.
    let v3 = std::fs::read(debs::repo_root().join("aggregator/tests/fixtures/bin/v3-x86_64.elf"))
        .unwrap();
    let bad = debs::build_deb(&s.path("debs"), "5.4.0-31-mini", "amd64", &v3);
    let good = std::fs::read(&bad).unwrap();
    std::fs::write(&bad, &good[..1_200_000]).unwrap();
    let o = s.run("ds", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let stderr = text(&o.stderr);
    let want = format!(
        "ksurf: error: debian/5.4.0-31-mini/amd64: {}: data.tar.xz: truncated: the package ends 1199468 bytes into this 1585032-byte member",
        bad.display()
    );
    assert!(stderr.lines().any(|l| l == want), "{stderr}");
    let summary = untimed_lines(&o).pop().unwrap();
    assert!(
        summary.ends_with(": 5 images extracted, 0 unchanged, 1 failed"),
        "{summary}"
    );
    let logs = run_logs(&s.path("ds"));
    let failed: Vec<_> = logs[0].iter().filter(|r| r.2 == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, "debian/5.4.0-31-mini/amd64");
    assert_eq!(failed[0].1, "fetch");
    assert_eq!(
        ksurf_dataset::Dataset::open_existing_local(&s.path("ds"))
            .unwrap()
            .image_state(&"debian/5.4.0-31-mini/amd64".parse().unwrap())
            .unwrap(),
        ksurf_dataset::ImageState::Missing
    );

    // The archive republishes it whole: the next run does only that image.
    debs::build_deb(&s.path("debs"), "5.4.0-31-mini", "amd64", &v3);
    let o = ok(s.run("ds", &[]));
    assert_eq!(
        untimed_lines(&o)[..2],
        [
            format!(
                "6 images planned: 1 to do, 5 already in {}",
                s.path("ds").display()
            ),
            "debian/5.4.0-31-mini/amd64: extracted".to_owned()
        ]
    );
}

/// Where a killed run may stop, as `FAILPOINTS` settings: the process
/// aborts there as if killed with SIGKILL.
const KILL_POINTS: [&str; 7] = [
    "pipeline::after-fetch=1*off->return",
    "pipeline::after-fetches-row=2*off->return",
    "dataset::write-image::before-marker=3*off->return",
    "pipeline::before-aggregate=return",
    "aggregate::before-group-marker=1*off->return",
    "pipeline::before-run-log=return",
    "pipeline::before-manifest=return",
];

#[test]
fn a_run_killed_at_any_point_then_rerun_gives_the_same_dataset() {
    let s = Setup::new();
    ok(s.run("reference", &[("KSURF_THREADS", "1")]));
    for (n, point) in KILL_POINTS.iter().enumerate() {
        let name = format!("killed-{n}");
        let killed = s.run(&name, &[("FAILPOINTS", point)]);
        assert_eq!(
            killed.status.code(),
            None,
            "{point}: the run was not killed: {}",
            text(&killed.stderr)
        );
        if point.starts_with("dataset::write-image::before-marker") {
            // Killed between the fourth image's tables and its marker: that
            // image is not complete, and readers do not see it.
            let count = |table: &str| {
                debs::files(&s.path(&name))
                    .iter()
                    .filter(|p| p.starts_with(table))
                    .count()
            };
            assert_eq!((count("function_instances"), count("images")), (4, 3));
            let ds = ksurf_dataset::Dataset::open_existing_local(&s.path(&name)).unwrap();
            assert_eq!(ds.images().unwrap().len(), 3);
        }
        let rerun = ok(s.run(&name, &[]));
        assert!(
            text(&rerun.stdout).contains(" 0 failed;"),
            "{point}: {}",
            text(&rerun.stdout)
        );
        assert_same_dataset(&s.path(&name), &s.path("reference"));
        assert_eq!(
            debs::files(&s.path(&format!("work-{name}/vmlinux"))),
            Vec::<PathBuf>::new(),
            "{point}: work files left"
        );
    }
}

#[test]
fn a_run_killed_with_sigkill_at_random_moments_then_rerun_gives_the_same_dataset() {
    let s = Setup::new();
    ok(s.run("reference", &[]));
    for (n, delay_ms) in [30u64, 120, 250, 400].into_iter().enumerate() {
        let name = format!("sigkill-{n}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_ksurf"))
            .arg("run")
            .arg("--config")
            .arg(&s.config)
            .arg("--dataset")
            .arg(s.path(&name))
            .arg("--work")
            .arg(s.path(&format!("work-{name}")))
            .env("SOURCE_DATE_EPOCH", EPOCH)
            .env_remove("FAILPOINTS")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        ok(s.run(&name, &[]));
        assert_same_dataset(&s.path(&name), &s.path("reference"));
        // No staging file of a killed write survives the rerun.
        let all = debs::files(&s.path(&name));
        assert!(
            all.iter().all(|p| !p.to_string_lossy().contains('#')),
            "{all:?}"
        );
    }
}

#[test]
fn two_runs_never_write_one_local_dataset_at_once() {
    let s = Setup::new();
    std::fs::create_dir_all(s.path("ds")).unwrap();
    let lock = std::fs::File::create(s.path("ds/.ksurf-run.lock")).unwrap();
    lock.lock().unwrap();
    let o = s.run("ds", &[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        format!(
            "ksurf: error: another ksurf run is writing {} (it holds {})\n",
            s.path("ds").display(),
            s.path("ds/.ksurf-run.lock").display()
        )
    );
    drop(lock);
    ok(s.run("ds", &[]));
}

#[test]
fn a_config_with_an_unknown_top_level_table_is_refused() {
    let s = Setup::new();
    let text_config = std::fs::read_to_string(&s.config).unwrap() + "\n[[sources]]\nname = \"x\"\n";
    std::fs::write(&s.config, text_config).unwrap();
    let o = s.run("ds", &[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        format!(
            "ksurf: error: config {}: unknown top-level key \"sources\" (expected [[source]] and [[group]] tables)\n",
            s.config.display()
        )
    );
    assert!(!s.path("ds").exists());
}

/// `images.config_source`, `images.kconfig_options` and the `kconfig` rows
/// (`name=value`, `<not set>` for NULL) of `image`.
fn kconfig_of(dataset: &Path, image: &str) -> (Option<String>, u32, Vec<String>) {
    use arrow::array::UInt32Array;
    let ds = ksurf_dataset::Dataset::open_existing_local(dataset).unwrap();
    let id: ksurf_dataset::ImageId = image.parse().unwrap();
    let images = ds
        .read_table(&id, ksurf_dataset::TableName::Images)
        .unwrap();
    let strings = |b: &arrow::array::RecordBatch, c: &str| {
        b.column_by_name(c)
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .clone()
    };
    let source = strings(&images, "config_source");
    let source = (!source.is_null(0)).then(|| source.value(0).to_owned());
    let count = images
        .column_by_name("kconfig_options")
        .unwrap()
        .as_any()
        .downcast_ref::<UInt32Array>()
        .unwrap()
        .value(0);
    let rows = ds
        .read_table(&id, ksurf_dataset::TableName::Kconfig)
        .unwrap();
    let (names, values) = (strings(&rows, "name"), strings(&rows, "value"));
    let rows = (0..rows.num_rows())
        .map(|i| {
            let v = if values.is_null(i) {
                "<not set>"
            } else {
                values.value(i)
            };
            format!("{}={v}", names.value(i))
        })
        .collect();
    (source, count, rows)
}

#[test]
fn a_run_takes_each_kernels_config_from_beside_its_package() {
    let s = Setup::new();
    let debs_dir = s.path("debs");
    // A companion image package for 4.4.0-10-mini; a config file and a
    // companion package for 5.4.0-30-mini-rt (the file wins); a companion
    // package cut short for 4.10.0-20-mini; a companion of the other
    // architecture for 5.4.0-30-mini (amd64 and arm64 share the release).
    debs::build_image_deb(
        &debs_dir,
        "4.4.0-10-mini",
        "amd64",
        b"# Linux/x86 4.4.0 Kernel Configuration\nCONFIG_X86_64=y\n# CONFIG_DEBUG_INFO_BTF is not set\n",
    );
    std::fs::write(
        debs_dir.join("config-5.4.0-30-mini-rt"),
        "CONFIG_PREEMPT_RT=y\nCONFIG_HZ=1000\n",
    )
    .unwrap();
    debs::build_image_deb(&debs_dir, "5.4.0-30-mini-rt", "amd64", b"CONFIG_WRONG=y\n");
    let cut = debs::build_image_deb(&debs_dir, "4.10.0-20-mini", "amd64", b"CONFIG_A=y\n");
    let whole = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &whole[..whole.len() - 200]).unwrap();
    debs::build_image_deb(&debs_dir, "5.4.0-30-mini", "arm64", b"CONFIG_ARM64=y\n");

    let o = s.run("ds", &[]);
    let stderr = text(&o.stderr);
    // The cut package is a config error of its image: exit code 3, every
    // image written.
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(
        untimed_lines(&o)
            .last()
            .unwrap()
            .ends_with(": 5 images extracted, 0 unchanged, 0 failed"),
        "{}",
        text(&o.stdout)
    );
    let config_errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("ksurf: config error: "))
        .collect();
    assert_eq!(config_errors.len(), 1, "{stderr}");
    assert!(
        config_errors[0].starts_with(&format!(
            "ksurf: config error: debian/4.10.0-20-mini/amd64: {}: data.tar.",
            cut.display()
        )),
        "{stderr}"
    );

    let ds = s.path("ds");
    assert_eq!(
        kconfig_of(&ds, "debian/4.4.0-10-mini/amd64"),
        (
            Some("package:linux-image-4.4.0-10-mini_6.1.1-1_amd64.deb".to_owned()),
            2,
            vec![
                "CONFIG_DEBUG_INFO_BTF=<not set>".to_owned(),
                "CONFIG_X86_64=y".to_owned()
            ]
        )
    );
    assert_eq!(
        kconfig_of(&ds, "debian/5.4.0-30-mini-rt/amd64"),
        (
            Some("file:config-5.4.0-30-mini-rt".to_owned()),
            2,
            vec![
                "CONFIG_HZ=1000".to_owned(),
                "CONFIG_PREEMPT_RT=y".to_owned()
            ]
        )
    );
    assert_eq!(
        kconfig_of(&ds, "debian/4.10.0-20-mini/amd64"),
        (
            Some("package:linux-image-4.10.0-20-mini_6.1.1-1_amd64.deb".to_owned()),
            0,
            vec![]
        )
    );
    assert_eq!(
        kconfig_of(&ds, "debian/5.4.0-30-mini/arm64"),
        (
            Some("package:linux-image-5.4.0-30-mini_6.1.1-1_arm64.deb".to_owned()),
            1,
            vec!["CONFIG_ARM64=y".to_owned()]
        )
    );
    assert_eq!(
        kconfig_of(&ds, "debian/5.4.0-30-mini/amd64"),
        (None, 0, vec![])
    );
    // The companion packages were not planned as kernels, and the
    // temporary config directory is gone.
    assert_eq!(
        debs::files(&s.path("work-ds/config")),
        Vec::<PathBuf>::new()
    );
}

/// `images`' BTF columns of `image`: (btf_source, btf_sha256, btf_error).
fn btf_of(dataset: &Path, image: &str) -> (Option<String>, Option<String>, Option<String>) {
    let ds = ksurf_dataset::Dataset::open_existing_local(dataset).unwrap();
    let id: ksurf_dataset::ImageId = image.parse().unwrap();
    let images = ds
        .read_table(&id, ksurf_dataset::TableName::Images)
        .unwrap();
    let column = |c: &str| {
        let a = images
            .column_by_name(c)
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        (!a.is_null(0)).then(|| a.value(0).to_owned())
    };
    (
        column("btf_source"),
        column("btf_sha256"),
        column("btf_error"),
    )
}

/// Needs `pahole` (Debian's pahole package; `.ci/run` installs it).
#[test]
fn a_run_with_btf_from_dwarf_stores_pahole_btf_for_every_image_without_btf() {
    let s = Setup::new();
    let config = std::fs::read_to_string(&s.config).unwrap().replacen(
        "revision = \"all\"\n",
        "revision = \"all\"\nbtf_from_dwarf = true\n",
        1,
    );
    std::fs::write(&s.config, config).unwrap();
    let o = ok(s.run("ds", &[]));
    assert!(
        untimed_lines(&o)
            .last()
            .unwrap()
            .ends_with(": 5 images extracted, 0 unchanged, 0 failed"),
        "{}",
        text(&o.stdout)
    );
    let ds = s.path("ds");
    for (_, release, arch) in debs::PACKAGES {
        let image = format!("debian/{release}/{arch}");
        let blob = ds.join(format!(
            "btf/distro=debian/release={release}/arch={arch}/vmlinux.btf"
        ));
        let bytes = std::fs::read(&blob).unwrap_or_else(|e| panic!("{}: {e}", blob.display()));
        // Little-endian BTF (every fixture package is amd64 or arm64).
        assert_eq!(bytes[..4], [0x9f, 0xeb, 1, 0], "{image}");
        let sha = {
            use sha2::Digest;
            sha2::Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        assert_eq!(
            btf_of(&ds, &image),
            (Some("pahole".to_owned()), Some(sha), None),
            "{image}"
        );
    }

    // No pahole: every image is written without BTF, each says why, and
    // the exit code is the partial-extraction one (3).
    let o = s.run("ds-no-pahole", &[("KSURF_PAHOLE", "/nonexistent/pahole")]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    let errors: Vec<String> = text(&o.stderr)
        .lines()
        .filter(|l| l.starts_with("ksurf: btf error: "))
        .map(str::to_owned)
        .collect();
    assert_eq!(errors.len(), 5, "{}", text(&o.stderr));
    let ds = s.path("ds-no-pahole");
    let (release, arch) = ("4.4.0-10-mini", "amd64");
    let (source, sha, error) = btf_of(&ds, &format!("debian/{release}/{arch}"));
    assert_eq!((source, sha), (None, None));
    let error = error.unwrap();
    assert!(
        error.contains(&format!(
            "vmlinux-{release}: cannot run /nonexistent/pahole: "
        )),
        "{error}"
    );
    assert!(!ds.join("btf").exists());
}

fn module_rows(
    dataset: &Path,
    image: &str,
    table: ksurf_dataset::TableName,
) -> Option<Vec<(String, String)>> {
    let ds = ksurf_dataset::Dataset::open_existing_local(dataset).unwrap();
    let id: ksurf_dataset::ImageId = image.parse().unwrap();
    let stream = ds.stream_module_rows(&id, table, 1024, None).unwrap()?;
    let mut rows = Vec::new();
    for batch in stream {
        let batch = batch.unwrap();
        let column = |c: &str| {
            batch
                .column_by_name(c)
                .unwrap()
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .clone()
        };
        let (module, name) = (column("module"), column("name"));
        for i in 0..batch.num_rows() {
            rows.push((module.value(i).to_owned(), name.value(i).to_owned()));
        }
    }
    Some(rows)
}

/// A package with modules, one of them `.ko.xz` and one broken: the
/// modules' rows are stored beside the vmlinux's, the broken one is a
/// `modules` row with its error and makes the exit code 3, and `ksurf
/// check`'s facts find a module's function. With `modules = false` the
/// same package has no module rows.
#[test]
fn a_run_with_modules_stores_each_modules_rows_and_records_a_broken_one() {
    let dir = tempfile::tempdir().unwrap();
    let debs = dir.path().join("debs");
    std::fs::create_dir_all(&debs).unwrap();
    let (elf, release, arch) = debs::PACKAGES[0];
    let vmlinux = std::fs::read(debs::repo_root().join(elf)).unwrap();
    let fixture = |build: &str| {
        std::fs::read(
            debs::repo_root().join(format!("extractor/tests/fixtures/modules/bin/{build}.ko")),
        )
        .unwrap()
    };
    let mini = fixture("x86_64");
    let mut xz = Vec::new();
    {
        use std::io::Write;
        let mut encoder = liblzma::write::XzEncoder::new(&mut xz, 6);
        encoder.write_all(&fixture("x86_64-dwarf4")).unwrap();
        encoder.finish().unwrap();
    }
    debs::build_deb_with_modules(
        &debs,
        release,
        arch,
        &vmlinux,
        &[
            ("kernel/fs/mini/ksurf_mini.ko", &mini),
            ("kernel/fs/mini4/mini4.ko.xz", &xz),
            ("kernel/drivers/broken.ko", b"not an ELF file"),
        ],
    );
    let config = dir.path().join("config.toml");
    let write_config = |modules: bool| {
        std::fs::write(
            &config,
            format!(
                "[[source]]\nname = \"local\"\nkind = \"local\"\npath = \"{}\"\n\
                 flavors = [\"*\"]\nrevision = \"all\"\nmodules = {modules}\n",
                debs.display()
            ),
        )
        .unwrap()
    };
    let run = |dataset: &str| {
        Command::new(env!("CARGO_BIN_EXE_ksurf"))
            .args(["run", "--config"])
            .arg(&config)
            .arg("--dataset")
            .arg(dir.path().join(dataset))
            .arg("--work")
            .arg(dir.path().join(format!("work-{dataset}")))
            .env("SOURCE_DATE_EPOCH", EPOCH)
            .env_remove("FAILPOINTS")
            .output()
            .unwrap()
    };
    write_config(true);
    let o = run("ds");
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    let image = format!("debian/{release}/{arch}");
    let errors: Vec<&str> = std::str::from_utf8(&o.stderr)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("ksurf: module error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{}", text(&o.stderr));
    assert!(
        errors[0].starts_with(&format!(
            "ksurf: module error: {image}: kernel/drivers/broken.ko: "
        )),
        "{}",
        errors[0]
    );
    assert!(
        text(&o.stdout).contains(&format!("{image}: extracted, 1 modules failed")),
        "{}",
        text(&o.stdout)
    );
    let ds = dir.path().join("ds");
    let functions = module_rows(&ds, &image, ksurf_dataset::TableName::Functions).unwrap();
    // Both good modules are named ksurf_mini by their .modinfo; rows come
    // in (module, path) order: kernel/fs/mini/ then kernel/fs/mini4/.
    let names: Vec<&str> = functions.iter().map(|(_, n)| n.as_str()).collect();
    let one = [
        "mini_check",
        "mini_exit",
        "mini_extra_sum",
        "mini_hook",
        "mini_init",
        "mini_len",
        "mini_log",
        "mini_scale",
        "mini_submit",
    ];
    assert_eq!(names, [one, one].concat());
    assert!(functions.iter().all(|(m, _)| m == "ksurf_mini"));
    let modules = ksurf_dataset::Dataset::open_existing_local(&ds)
        .unwrap()
        .read_table(&image.parse().unwrap(), ksurf_dataset::TableName::Modules)
        .unwrap();
    let column = |c: &str| -> Vec<Option<String>> {
        let a = modules
            .column_by_name(c)
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        (0..a.len())
            .map(|i| (!a.is_null(i)).then(|| a.value(i).to_owned()))
            .collect()
    };
    assert_eq!(
        column("path"),
        [
            "kernel/drivers/broken.ko",
            "kernel/fs/mini/ksurf_mini.ko",
            "kernel/fs/mini4/mini4.ko"
        ]
        .map(|p| Some(p.to_owned()))
    );
    assert_eq!(
        column("module"),
        ["broken", "ksurf_mini", "ksurf_mini"].map(|p| Some(p.to_owned()))
    );
    let error = column("error")[0].clone().unwrap();
    assert!(error.starts_with("kernel/drivers/broken.ko: "), "{error}");
    assert_eq!(column("error")[1..], [None, None]);

    // ksurf check's facts: a module's function, found by name.
    let needs = ksurf_checker::facts::Needs {
        functions: ["mini_submit", "mini_scale", "no_such_function"]
            .map(str::to_owned)
            .into(),
        ..Default::default()
    };
    let facts = ksurf_checker::facts::read(
        &ksurf_dataset::Dataset::open_existing_local(&ds).unwrap(),
        &image.parse().unwrap(),
        &needs,
    )
    .unwrap();
    // (name, [(module, inline_type, symbols)])
    type Found<'a> = Vec<(&'a str, Vec<(&'a str, &'a str, usize)>)>;
    let found: Found = facts
        .module_functions
        .iter()
        .map(|(name, defs)| {
            (
                name.as_str(),
                defs.iter()
                    .map(|d| (d.module.as_str(), d.inline_type.as_str(), d.symbols.len()))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("mini_scale", vec![("ksurf_mini", "Full", 0)]),
            // Both files' symbols: two files of one module name are one module.
            ("mini_submit", vec![("ksurf_mini", "No", 2)]),
        ]
    );

    // Without modules: no module rows, no modules table rows.
    write_config(false);
    let o = run("ds-no-modules");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let ds = dir.path().join("ds-no-modules");
    assert_eq!(
        module_rows(&ds, &image, ksurf_dataset::TableName::Functions),
        None
    );
    let modules = ksurf_dataset::Dataset::open_existing_local(&ds)
        .unwrap()
        .read_table(&image.parse().unwrap(), ksurf_dataset::TableName::Modules)
        .unwrap();
    assert_eq!(modules.num_rows(), 0);
}
