//! The many-machines run, simulated: no cluster runs here, so the test plays
//! Kubernetes. An S3-compatible server (`moto`, PyPI, installed by `.ci/run`)
//! on loopback is the object store; `ksurf plan` writes the work list into
//! it; N worker processes run `ksurf extract --shard /N` concurrently with
//! `JOB_COMPLETION_INDEX=0..N-1` as an Indexed Job's pods do; one is killed
//! mid-way (a failpoint aborts it as kill -9 would) and run again; then
//! `ksurf aggregate --manifest`. The result must be the dataset one machine
//! writes with `ksurf run`: the same table files, byte for byte.
//! Skipped, saying so, when moto is not installed.

#[path = "common/debs.rs"]
mod debs;
#[path = "common/moto.rs"]
mod moto;

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Output};

use arrow::array::{Array, StringArray};
use ksurf_dataset::{Dataset, Manifest, ManifestFile, TableName};
use ksurf_fetcher::{PackageLocation, PlannedPackage};
use moto::{create_bucket, ksurf, ksurf_command, ok, start_moto};
use sha2::{Digest, Sha256};

const BUCKET: &str = "ksurf-dist";

/// Images of the fixture packages in the order `ksurf plan` lists them
/// (by distro, kernel version, arch, flavor).
const PLAN_ORDER: [&str; 5] = [
    "debian/4.4.0-10-mini/amd64",
    "debian/4.10.0-20-mini/amd64",
    "debian/5.4.0-30-mini/amd64",
    "debian/5.4.0-30-mini/arm64",
    "debian/5.4.0-30-mini-rt/amd64",
];

/// The fixture packages, their config, and scratch space.
struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
    debs: PathBuf,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let debs = dir.path().join("debs");
        debs::build_all(&debs);
        let config = dir.path().join("config.toml");
        std::fs::write(&config, debs::config(&debs)).unwrap();
        Setup { dir, config, debs }
    }

    fn config(&self) -> &str {
        self.config.to_str().unwrap()
    }

    /// A fresh directory below the scratch space.
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The package file of `image`.
    fn deb_of(&self, image: &str) -> PathBuf {
        let mut parts = image.split('/').skip(1);
        let (release, arch) = (parts.next().unwrap(), parts.next().unwrap());
        self.debs
            .join(format!("linux-image-{release}-dbg_6.1.1-1_{arch}.deb"))
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Starts worker `index` of `count`: `ksurf extract --shard /count` with
/// `JOB_COMPLETION_INDEX=index`, its own work directory, and `failpoints`
/// armed when given.
fn spawn_worker(
    port: u16,
    setup: &Setup,
    dataset: &str,
    index: usize,
    count: usize,
    failpoints: Option<&str>,
) -> Child {
    let prefix = dataset.rsplit('/').next().unwrap();
    let work = setup.path(&format!("work-{prefix}-{index}-of-{count}"));
    let mut cmd = ksurf_command(port);
    cmd.args(["extract", "--config", setup.config(), "--dataset", dataset])
        .arg("--shard")
        .arg(format!("/{count}"))
        .arg("--work")
        .arg(&work)
        .env("JOB_COMPLETION_INDEX", index.to_string())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(failpoints) = failpoints {
        cmd.env("FAILPOINTS", failpoints);
    }
    cmd.spawn().expect("starting a worker")
}

/// Runs `count` workers at once; returns their outputs by index.
fn run_workers(
    port: u16,
    setup: &Setup,
    dataset: &str,
    count: usize,
    failpoints: &BTreeMap<usize, &str>,
) -> Vec<Output> {
    let children: Vec<Child> = (0..count)
        .map(|i| spawn_worker(port, setup, dataset, i, count, failpoints.get(&i).copied()))
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

/// Copies every object of the dataset at `url` into `dir`, read through
/// the dataset crate (with the environment [`point_at_moto`] set).
fn mirror(url: &str, dir: &Path) {
    let dataset = Dataset::open_existing(url).unwrap();
    for object in dataset.list(None).unwrap() {
        let path = dir.join(object.location.as_ref());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, dataset.get(&object.location).unwrap()).unwrap();
    }
}

/// Points this process's S3 clients at moto (this file's one test is the
/// only one in its process, so the environment is its own).
fn point_at_moto(port: u16) {
    for (key, value) in moto::aws_env(port) {
        std::env::set_var(key, value);
    }
}

/// The `images` marker of `image` (and a table written before it).
fn table_file(table: &str, image: &str) -> PathBuf {
    let mut parts = image.split('/');
    let (distro, release, arch) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    PathBuf::from(format!(
        "{table}/distro={distro}/release={release}/arch={arch}/part-0.parquet"
    ))
}

/// (image, outcome) of every image row of the `run_log` file at `path`.
fn run_log(path: &Path) -> Vec<(String, String)> {
    let dataset = Dataset::open_existing_local(path.parent().unwrap()).unwrap();
    let batch = dataset
        .read_file(&"part-0.parquet".into(), TableName::RunLog)
        .unwrap();
    let column = |name: &str| {
        batch
            .column_by_name(name)
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .clone()
    };
    let (image, outcome) = (column("image"), column("outcome"));
    (0..batch.num_rows())
        .filter(|&i| image.is_valid(i))
        .map(|i| (image.value(i).to_owned(), outcome.value(i).to_owned()))
        .collect()
}

/// The table files of a dataset directory: every file but the hidden ones
/// (`_plan/`, `_manifest.json`, `.ksurf-run.lock`) and the run logs.
fn table_files(dir: &Path) -> Vec<PathBuf> {
    debs::files(dir)
        .into_iter()
        .filter(|p| {
            let first = p.components().next().unwrap().as_os_str().to_string_lossy();
            !first.starts_with('_') && first != "run_log"
        })
        .collect()
}

fn manifest(dir: &Path) -> Manifest {
    let path = dir.join("_manifest.json");
    Manifest::parse(&path.display().to_string(), &std::fs::read(&path).unwrap()).unwrap()
}

/// The manifest's entries for every table but `run_log`.
fn entries_but_run_log(manifest: &Manifest) -> Vec<ManifestFile> {
    manifest
        .files
        .iter()
        .filter(|f| f.table != "run_log")
        .cloned()
        .collect()
}

/// Asserts that the distributed dataset mirrored in `got` equals the
/// single-machine dataset `want` in every table but `run_log`, and in
/// their manifests' entries for those tables.
fn assert_same_dataset(got: &Path, want: &Path) {
    let files = table_files(want);
    assert_eq!(table_files(got), files);
    let tables: std::collections::BTreeSet<String> = files
        .iter()
        .map(|p| {
            p.components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        tables.into_iter().collect::<Vec<_>>(),
        [
            "comparison_groups",
            "fetches",
            "function_changes",
            "function_instances",
            "function_status",
            "functions",
            "images",
            "symbols",
            "unit_errors"
        ]
    );
    for file in &files {
        assert!(
            std::fs::read(got.join(file)).unwrap() == std::fs::read(want.join(file)).unwrap(),
            "{} differs from the single-machine run's",
            file.display()
        );
    }
    let (got, want) = (manifest(got), manifest(want));
    assert_eq!(got.created_at, "2025-01-14T00:00:00Z");
    assert_eq!(got.created_at, want.created_at);
    assert_eq!(entries_but_run_log(&got), entries_but_run_log(&want));
}

/// `ksurf plan` into `dataset`; returns the work list it wrote.
fn plan(port: u16, setup: &Setup, dataset: &str) -> (Vec<PlannedPackage>, String) {
    let o = ok(ksurf(
        port,
        &["plan", "--config", setup.config(), "--dataset", dataset],
    ));
    let bytes = Dataset::open_existing(dataset)
        .unwrap()
        .get(&"_plan/plan.json".into())
        .unwrap();
    let plan_id = sha256_hex(&bytes)[..12].to_owned();
    assert!(
        text(&o.stdout).ends_with(&format!(
            "wrote {dataset}/_plan/plan.json: 5 packages to fetch and extract, 0 already done (plan {plan_id})\n"
        )),
        "{}",
        text(&o.stdout)
    );
    let list: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(list["schema_version"], ksurf_dataset::SCHEMA_VERSION);
    assert_eq!(
        list["config_sha256"],
        sha256_hex(&std::fs::read(&setup.config).unwrap())
    );
    let packages: Vec<PlannedPackage> = serde_json::from_value(list["packages"].clone()).unwrap();
    (packages, plan_id)
}

/// Asserts the work list holds exactly the fixture packages, in plan order.
fn assert_work_list(setup: &Setup, packages: &[PlannedPackage]) {
    let images: Vec<String> = packages.iter().map(|p| p.image.to_string()).collect();
    assert_eq!(images, PLAN_ORDER);
    for (package, image) in packages.iter().zip(PLAN_ORDER) {
        let deb = setup.deb_of(image);
        let bytes = std::fs::read(&deb).unwrap();
        let release = image.split('/').nth(1).unwrap();
        assert_eq!(package.package, format!("linux-image-{release}-dbg"));
        assert_eq!(package.version, "6.1.1-1");
        assert_eq!(package.source, "local");
        assert_eq!(package.flavor, release[release.find("mini").unwrap()..]);
        assert_eq!(package.location, PackageLocation::File(deb));
        assert_eq!(package.size, Some(bytes.len() as u64));
        assert_eq!(package.sha256.as_deref(), Some(sha256_hex(&bytes).as_str()));
    }
}

#[test]
fn a_simulated_kubernetes_run_equals_a_single_machine_run() {
    let Some(moto) = start_moto() else {
        moto::report_skip("a_simulated_kubernetes_run_equals_a_single_machine_run");
        return;
    };
    let port = moto.port;
    create_bucket(port, BUCKET);
    point_at_moto(port);
    let setup = Setup::new();

    // The single machine.
    let local = setup.path("local");
    let o = ok(ksurf(
        port,
        &[
            "run",
            "--config",
            setup.config(),
            "--dataset",
            local.to_str().unwrap(),
            "--work",
            setup.path("work-local").to_str().unwrap(),
        ],
    ));
    let local_logs: Vec<PathBuf> = debs::files(&local.join("run_log"));
    assert_eq!(local_logs.len(), 1, "{}", text(&o.stdout));
    let local_log = run_log(&local.join("run_log").join(&local_logs[0]));
    assert_eq!(
        local_log,
        PLAN_ORDER
            .iter()
            .map(|i| (i.to_string(), "done".to_owned()))
            .collect::<Vec<_>>()
    );

    // The plan, three workers, worker 1 killed at its second image's
    // `images` marker: the image's other tables are written, the marker not.
    let dataset = format!("s3://{BUCKET}/three");
    let (packages, plan_id) = plan(port, &setup, &dataset);
    assert_work_list(&setup, &packages);
    let kill = BTreeMap::from([(1, "dataset::write-image::before-marker=1*off->return")]);
    let outputs = run_workers(port, &setup, &dataset, 3, &kill);
    for (i, o) in outputs.iter().enumerate() {
        if i == 1 {
            assert_eq!(
                o.status.code(),
                None,
                "worker 1 was not killed: {}",
                text(&o.stderr)
            );
            assert_eq!(o.status.signal(), Some(6), "worker 1: {:?}", o.status);
        } else {
            assert!(o.status.success(), "worker {i}: {}", text(&o.stderr));
        }
    }
    assert_eq!(
        text(&outputs[0].stdout).lines().next(),
        Some(format!("shard 0/3 of plan {plan_id}: 2 packages, 0 already done").as_str())
    );
    let killed = setup.path("three-killed");
    mirror(&dataset, &killed);
    // Shard 1 holds plan positions 1 and 4; the first is complete.
    for (position, image) in PLAN_ORDER.iter().enumerate() {
        let has_marker = killed.join(table_file("images", image)).exists();
        assert_eq!(has_marker, position != 4, "{image}'s images marker");
        for table in [
            "function_instances",
            "functions",
            "symbols",
            "unit_errors",
            "fetches",
        ] {
            assert!(
                killed.join(table_file(table, image)).exists(),
                "{table} of {image}"
            );
        }
    }
    let logs: Vec<PathBuf> = debs::files(&killed.join("run_log"));
    assert_eq!(
        logs,
        [0, 2].map(|i| PathBuf::from(format!("run={plan_id}-shard-{i}-of-3/part-0.parquet")))
    );

    // Kubernetes retries the pod: it skips the image it completed.
    let o = spawn_worker(port, &setup, &dataset, 1, 3, None)
        .wait_with_output()
        .unwrap();
    let o = ok(o);
    assert_eq!(
        text(&o.stdout).lines().next(),
        Some(format!("shard 1/3 of plan {plan_id}: 2 packages, 1 already done").as_str())
    );
    ok(ksurf(
        port,
        &[
            "aggregate",
            "--config",
            setup.config(),
            "--dataset",
            &dataset,
            "--manifest",
        ],
    ));
    let got = setup.path("three-done");
    mirror(&dataset, &got);
    let shard_log = |i: usize| {
        run_log(&got.join(format!(
            "run_log/run={plan_id}-shard-{i}-of-3/part-0.parquet"
        )))
    };
    let row =
        |position: usize, outcome: &str| (PLAN_ORDER[position].to_owned(), outcome.to_owned());
    assert_eq!(shard_log(0), [row(0, "done"), row(3, "done")]);
    assert_eq!(shard_log(1), [row(1, "skipped"), row(4, "done")]);
    assert_eq!(shard_log(2), [row(2, "done")]);
    assert_same_dataset(&got, &local);

    // One worker, and six: more shards than packages, so shard 5 is empty.
    for count in [1, 6] {
        let prefix = format!("n{count}");
        let dataset = format!("s3://{BUCKET}/{prefix}");
        let (packages, plan_id) = plan(port, &setup, &dataset);
        assert_work_list(&setup, &packages);
        for (i, o) in run_workers(port, &setup, &dataset, count, &BTreeMap::new())
            .into_iter()
            .enumerate()
        {
            let o = ok(o);
            let share = (0..5).filter(|p| p % count == i).count();
            assert_eq!(
                text(&o.stdout).lines().next(),
                Some(
                    format!(
                        "shard {i}/{count} of plan {plan_id}: {share} packages, 0 already done"
                    )
                    .as_str()
                ),
                "worker {i} of {count}"
            );
        }
        ok(ksurf(
            port,
            &[
                "aggregate",
                "--config",
                setup.config(),
                "--dataset",
                &dataset,
                "--manifest",
            ],
        ));
        let got = setup.path(&prefix);
        mirror(&dataset, &got);
        for i in 0..count {
            let want: Vec<(String, String)> = (0..5)
                .filter(|p| p % count == i)
                .map(|p| row(p, "done"))
                .collect();
            let log = got.join(format!(
                "run_log/run={plan_id}-shard-{i}-of-{count}/part-0.parquet"
            ));
            assert_eq!(run_log(&log), want, "shard {i} of {count}");
        }
        assert_same_dataset(&got, &local);
    }
}
