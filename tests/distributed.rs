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

/// One run's Jobs as `deploy/render-jobs.sh` renders them.
struct Jobs {
    /// The Indexed Job's `completions`: the shard count N.
    completions: usize,
    parallelism: usize,
    /// The extraction pod's container args, placeholders unexpanded.
    extract_args: Vec<String>,
    /// The aggregation pod's container args.
    aggregate_args: Vec<String>,
    /// With `--aggregate-shards K`: K and the sharded aggregation pods' args.
    aggregate_shards: Option<(usize, Vec<String>)>,
}

/// Runs `deploy/render-jobs.sh` with `args` (`--plan FILE` or `--count N`,
/// caps) into `out` and reads the numbers and args Kubernetes would use.
fn render_jobs(args: &[&str], out: &Path) -> Jobs {
    let o = std::process::Command::new(debs::repo_root().join("deploy/render-jobs.sh"))
        .args(args)
        .args(["--run-id", "sim", "--out"])
        .arg(out)
        .output()
        .expect("running deploy/render-jobs.sh");
    let o = ok(o);
    let extract = std::fs::read_to_string(out.join("extract-job.yaml")).unwrap();
    let aggregate = std::fs::read_to_string(out.join("aggregate-job.yaml")).unwrap();
    let number = |key: &str| -> usize {
        let line = extract
            .lines()
            .find_map(|l| l.strip_prefix(&format!("  {key}: ")))
            .unwrap_or_else(|| panic!("no {key} in {}", text(&o.stdout)));
        line.parse().unwrap()
    };
    let aggregate_shards = std::fs::read_to_string(out.join("aggregate-shards-job.yaml"))
        .ok()
        .map(|m| {
            let completions = m
                .lines()
                .find_map(|l| l.strip_prefix("  completions: "))
                .unwrap()
                .parse()
                .unwrap();
            (completions, container_args(&m))
        });
    Jobs {
        completions: number("completions"),
        parallelism: number("parallelism"),
        extract_args: container_args(&extract),
        aggregate_args: container_args(&aggregate),
        aggregate_shards,
    }
}

/// The items of the (one) container's `args:` list in a rendered manifest.
fn container_args(manifest: &str) -> Vec<String> {
    manifest
        .lines()
        .skip_while(|l| l.trim() != "args:")
        .skip(1)
        .map_while(|l| l.trim().strip_prefix("- "))
        .map(str::to_owned)
        .collect()
}

/// Starts pod `index` with container `args` as Kubernetes would: `$(VAR)`
/// expanded from the pod's environment (`DATASET` from the ConfigMap,
/// `JOB_COMPLETION_INDEX` from the Job controller), the ConfigMap's
/// `config.toml` at the test's config, the working directory the pod's own
/// empty `/work`; `failpoints` armed when given.
fn spawn_pod(
    port: u16,
    setup: &Setup,
    args: &[String],
    dataset: &str,
    pod: &str,
    index: Option<usize>,
    failpoints: Option<&str>,
) -> Child {
    let work = setup.path(&format!("pod-{pod}"));
    std::fs::create_dir_all(&work).unwrap();
    let index_text = index.map(|i| i.to_string()).unwrap_or_default();
    let mut cmd = ksurf_command(port);
    cmd.args(args.iter().map(|a| {
        a.replace("$(DATASET)", dataset)
            .replace("$(JOB_COMPLETION_INDEX)", &index_text)
            .replace("/etc/ksurf/config.toml", setup.config())
    }))
    .current_dir(&work)
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    // As the templates set it.
    cmd.env("KSURF_THREADS", "2");
    if let Some(index) = index {
        cmd.env("JOB_COMPLETION_INDEX", index.to_string());
    }
    if let Some(failpoints) = failpoints {
        cmd.env("FAILPOINTS", failpoints);
    }
    cmd.spawn().expect("starting a pod")
}

/// Runs the extraction Job's `completions` pods at once (parallelism =
/// completions here); returns their outputs by index.
fn run_extract_job(
    port: u16,
    setup: &Setup,
    jobs: &Jobs,
    dataset: &str,
    name: &str,
    failpoints: &BTreeMap<usize, &str>,
) -> Vec<Output> {
    assert_eq!(jobs.parallelism, jobs.completions);
    let pods: Vec<Child> = (0..jobs.completions)
        .map(|i| {
            spawn_pod(
                port,
                setup,
                &jobs.extract_args,
                dataset,
                &format!("{name}-extract-{i}"),
                Some(i),
                failpoints.get(&i).copied(),
            )
        })
        .collect();
    pods.into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

/// Runs the aggregation Job's pod.
fn run_aggregate_job(port: u16, setup: &Setup, jobs: &Jobs, dataset: &str, name: &str) -> Output {
    let pod = format!("{name}-aggregate");
    ok(
        spawn_pod(port, setup, &jobs.aggregate_args, dataset, &pod, None, None)
            .wait_with_output()
            .unwrap(),
    )
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

/// Points this process's S3 clients at moto (the one test of this file
/// that talks to S3 owns the process's `AWS_*` environment).
fn point_at_moto(port: u16) {
    for (key, value) in moto::aws_env(port) {
        std::env::set_var(key, value);
    }
}

/// The file holding `image`'s rows of `table`.
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
    log_rows(path, "image")
}

/// (group, outcome) of every group row of the `run_log` file at `path`.
fn group_log(path: &Path) -> Vec<(String, String)> {
    log_rows(path, "group")
}

/// (`key` column, outcome) of the `run_log` rows where `key` is set.
fn log_rows(path: &Path, key: &str) -> Vec<(String, String)> {
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
    let (keys, outcome) = (column(key), column("outcome"));
    (0..batch.num_rows())
        .filter(|&i| keys.is_valid(i))
        .map(|i| (keys.value(i).to_owned(), outcome.value(i).to_owned()))
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

/// The paths of the manifest's `run_log` entries.
fn run_log_entries(manifest: &Manifest) -> Vec<String> {
    manifest
        .files
        .iter()
        .filter(|f| f.table == "run_log")
        .map(|f| f.path.clone())
        .collect()
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
            "enum_values",
            "fetches",
            "function_attach",
            "function_changes",
            "function_instances",
            "function_status",
            "functions",
            "images",
            "kconfig",
            "kconfig_changes",
            "kfunc_changes",
            "kfuncs",
            "lsm_hook_changes",
            "lsm_hooks",
            "modules",
            "symbols",
            "syscall_changes",
            "syscalls",
            "tracepoint_changes",
            "tracepoints",
            "type_changes",
            "type_members",
            "types",
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

/// `ksurf plan` into `dataset`, as the CronJob runs it: asserts the work
/// list holds exactly the fixture packages in plan order, copies it to
/// `<name>-plan.json` (as an operator does for `render-jobs.sh`) and
/// returns that file and the plan id.
fn plan(port: u16, setup: &Setup, dataset: &str, name: &str) -> (PathBuf, String) {
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
    let images: Vec<String> = packages.iter().map(|p| p.image.to_string()).collect();
    assert_eq!(images, PLAN_ORDER);
    for (package, image) in packages.iter().zip(PLAN_ORDER) {
        let deb = setup.deb_of(image);
        let deb_bytes = std::fs::read(&deb).unwrap();
        let release = image.split('/').nth(1).unwrap();
        assert_eq!(package.package, format!("linux-image-{release}-dbg"));
        assert_eq!(package.version, "6.1.1-1");
        assert_eq!(package.source, "local");
        assert_eq!(package.flavor, release[release.find("mini").unwrap()..]);
        assert_eq!(package.location, PackageLocation::File(deb));
        assert_eq!(package.size, Some(deb_bytes.len() as u64));
        assert_eq!(
            package.sha256.as_deref(),
            Some(sha256_hex(&deb_bytes).as_str())
        );
    }
    let file = setup.path(&format!("{name}-plan.json"));
    std::fs::write(&file, &bytes).unwrap();
    (file, plan_id)
}

/// The first line a shard prints.
fn first_line(o: &Output) -> String {
    text(&o.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The (image, outcome) run_log rows of plan positions `positions`.
fn rows(positions: &[(usize, &str)]) -> Vec<(String, String)> {
    positions
        .iter()
        .map(|&(p, outcome)| (PLAN_ORDER[p].to_owned(), outcome.to_owned()))
        .collect()
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

    // The single machine, on one thread (the pods use the template's two).
    let local = setup.path("local");
    let o = ok(ksurf(
        port,
        &[
            "--threads",
            "1",
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
    assert_eq!(
        run_log(&local.join("run_log").join(&local_logs[0])),
        rows(&[
            (0, "done"),
            (1, "done"),
            (2, "done"),
            (3, "done"),
            (4, "done")
        ])
    );

    // The CronJob plans; the operator renders the Jobs from the plan with
    // at most three shards.
    let dataset = format!("s3://{BUCKET}/three");
    let (plan_file, plan_id) = plan(port, &setup, &dataset, "three");
    let jobs = render_jobs(
        &["--plan", plan_file.to_str().unwrap(), "--max-shards", "3"],
        &setup.path("three-jobs"),
    );
    assert_eq!((jobs.completions, jobs.parallelism), (3, 3));
    assert_eq!(
        jobs.extract_args,
        [
            "extract",
            "--config",
            "/etc/ksurf/config.toml",
            "--dataset",
            "$(DATASET)",
            "--shard",
            "$(JOB_COMPLETION_INDEX)/3"
        ]
    );

    // Three pods at once; pod 1 is killed at its second image's `images`
    // marker: that image's other tables are written, its marker is not.
    let kill = BTreeMap::from([(1, "dataset::write-image::before-marker=1*off->return")]);
    let outputs = run_extract_job(port, &setup, &jobs, &dataset, "three", &kill);
    for (i, o) in outputs.iter().enumerate() {
        if i == 1 {
            assert_eq!(
                o.status.code(),
                None,
                "pod 1 was not killed: {}",
                text(&o.stderr)
            );
            assert_eq!(o.status.signal(), Some(6), "pod 1: {:?}", o.status);
        } else {
            assert!(o.status.success(), "pod {i}: {}", text(&o.stderr));
        }
    }
    for (i, share) in [(0, 2), (1, 2), (2, 1)] {
        assert_eq!(
            first_line(&outputs[i]),
            format!("shard {i}/3 of plan {plan_id}: {share} packages, 0 already done")
        );
    }
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
    assert_eq!(
        debs::files(&killed.join("run_log")),
        [0, 2].map(|i| PathBuf::from(format!("run={plan_id}-shard-{i}-of-3/part-0.parquet")))
    );

    // The Job retries pod 1 (backoffLimitPerIndex): it skips the image it
    // completed and extracts the other.
    let o = ok(spawn_pod(
        port,
        &setup,
        &jobs.extract_args,
        &dataset,
        "three-extract-1-retry",
        Some(1),
        None,
    )
    .wait_with_output()
    .unwrap());
    assert_eq!(
        first_line(&o),
        format!("shard 1/3 of plan {plan_id}: 2 packages, 1 already done")
    );

    // Every shard done: the aggregation Job.
    assert_eq!(
        jobs.aggregate_args,
        [
            "aggregate",
            "--config",
            "/etc/ksurf/config.toml",
            "--dataset",
            "$(DATASET)",
            "--manifest"
        ]
    );
    run_aggregate_job(port, &setup, &jobs, &dataset, "three");
    let got = setup.path("three-done");
    mirror(&dataset, &got);
    let shard_log = |i: usize, n: usize, plan_id: &str| {
        run_log(&got.join(format!(
            "run_log/run={plan_id}-shard-{i}-of-{n}/part-0.parquet"
        )))
    };
    assert_eq!(shard_log(0, 3, &plan_id), rows(&[(0, "done"), (3, "done")]));
    assert_eq!(
        shard_log(1, 3, &plan_id),
        rows(&[(1, "skipped"), (4, "done")])
    );
    assert_eq!(shard_log(2, 3, &plan_id), rows(&[(2, "done")]));
    // The aggregation logs each group as run `<plan id>-aggregate`.
    let aggregate_log = format!("run_log/run={plan_id}-aggregate/part-0.parquet");
    assert_eq!(
        group_log(&got.join(&aggregate_log)),
        ["Regular", "Arch", "Flavor"].map(|g| (g.to_owned(), "done".to_owned()))
    );
    assert_eq!(run_log(&got.join(&aggregate_log)), []);
    let mut logs: Vec<String> = [0, 1, 2]
        .map(|i| format!("run_log/run={plan_id}-shard-{i}-of-3/part-0.parquet"))
        .to_vec();
    logs.insert(0, aggregate_log);
    assert_eq!(run_log_entries(&manifest(&got)), logs);
    assert_same_dataset(&got, &local);

    // One shard (the plan capped to one), and six (more shards than
    // packages: shard 5 is empty, succeeds and logs no rows) with the
    // aggregation sharded over two pods.
    for (name, render_args) in [("one", ["--max-shards", "1"]), ("six", ["--count", "6"])] {
        let dataset = format!("s3://{BUCKET}/{name}");
        let (plan_file, plan_id) = plan(port, &setup, &dataset, name);
        let mut args = render_args.to_vec();
        if render_args[0] != "--count" {
            args.extend(["--plan", plan_file.to_str().unwrap()]);
        } else {
            args.extend(["--aggregate-shards", "2"]);
        }
        let jobs = render_jobs(&args, &setup.path(&format!("{name}-jobs")));
        let count = jobs.completions;
        assert_eq!(count, if name == "one" { 1 } else { 6 });
        for (i, o) in run_extract_job(port, &setup, &jobs, &dataset, name, &BTreeMap::new())
            .into_iter()
            .enumerate()
        {
            let o = ok(o);
            let share = (0..5).filter(|p| p % count == i).count();
            assert_eq!(
                first_line(&o),
                format!("shard {i}/{count} of plan {plan_id}: {share} packages, 0 already done"),
            );
        }
        let mut aggregate_shard_logs = Vec::new();
        if let Some((k, shard_args)) = &jobs.aggregate_shards {
            assert_eq!(
                (*k, shard_args.as_slice()),
                (
                    2,
                    [
                        "aggregate",
                        "--config",
                        "/etc/ksurf/config.toml",
                        "--dataset",
                        "$(DATASET)",
                        "--shard",
                        "$(JOB_COMPLETION_INDEX)/2"
                    ]
                    .map(str::to_owned)
                    .as_slice()
                )
            );
            // Pod 1 (the groups at odd positions: Arch) is killed after
            // its group's files and before its state record; its retry
            // redoes the group. Pod 0 takes Regular and Flavor.
            let pod = |i: usize, failpoints: Option<&str>, tag: &str| {
                spawn_pod(
                    port,
                    &setup,
                    shard_args,
                    &dataset,
                    &format!("{name}-aggregate-{i}{tag}"),
                    Some(i),
                    failpoints,
                )
                .wait_with_output()
                .unwrap()
            };
            let zero = ok(pod(0, None, ""));
            assert!(
                text(&zero.stdout).contains("2 of 2 groups aggregated, 0 unchanged, "),
                "{}",
                text(&zero.stdout)
            );
            let killed = pod(1, Some("aggregate::before-group-state=return"), "");
            assert_eq!(killed.status.signal(), Some(6), "{}", text(&killed.stderr));
            let retry = ok(pod(1, None, "-retry"));
            assert!(
                text(&retry.stdout).starts_with("Arch: ")
                    && text(&retry.stdout).contains("\n1 of 1 groups aggregated, 0 unchanged, "),
                "{}",
                text(&retry.stdout)
            );
            for i in 0..2 {
                aggregate_shard_logs.push(format!(
                    "run_log/run={plan_id}-aggregate-shard-{i}-of-2/part-0.parquet"
                ));
            }
        }
        let last = run_aggregate_job(port, &setup, &jobs, &dataset, name);
        let got = setup.path(name);
        mirror(&dataset, &got);
        // After sharded aggregation the last Job finds every group current.
        let outcome = if jobs.aggregate_shards.is_some() {
            "skipped"
        } else {
            "done"
        };
        assert_eq!(
            group_log(&got.join(format!("run_log/run={plan_id}-aggregate/part-0.parquet"))),
            ["Regular", "Arch", "Flavor"].map(|g| (g.to_owned(), outcome.to_owned())),
            "{}",
            text(&last.stdout)
        );
        if jobs.aggregate_shards.is_some() {
            let shard_groups = |i: usize| {
                group_log(&got.join(format!(
                    "run_log/run={plan_id}-aggregate-shard-{i}-of-2/part-0.parquet"
                )))
            };
            let done = |g: &str| (g.to_owned(), "done".to_owned());
            assert_eq!(shard_groups(0), [done("Regular"), done("Flavor")]);
            assert_eq!(shard_groups(1), [done("Arch")]);
        }
        for i in 0..count {
            let log = got.join(format!(
                "run_log/run={plan_id}-shard-{i}-of-{count}/part-0.parquet"
            ));
            let done: Vec<(usize, &str)> = (0..5)
                .filter(|p| p % count == i)
                .map(|p| (p, "done"))
                .collect();
            assert_eq!(run_log(&log), rows(&done), "shard {i} of {count}");
        }
        // In path order: `…-aggregate-shard-…` sorts before `…-aggregate/`.
        let logs: Vec<String> = aggregate_shard_logs
            .into_iter()
            .chain(std::iter::once(format!(
                "run_log/run={plan_id}-aggregate/part-0.parquet"
            )))
            .chain(
                (0..count)
                    .map(|i| format!("run_log/run={plan_id}-shard-{i}-of-{count}/part-0.parquet")),
            )
            .collect();
        assert_eq!(run_log_entries(&manifest(&got)), logs);
        assert_same_dataset(&got, &local);
    }
}

/// Crash tests arm failpoints through `FAILPOINTS`; a typo there must not
/// silently run without them.
#[test]
fn a_malformed_failpoints_setting_is_an_error_naming_it() {
    for (setting, message) in [
        (
            "nonsense",
            "ksurf: error: FAILPOINTS entry \"nonsense\" is not of the form name=actions\n",
        ),
        (
            "pipeline::after-fetch=return;a=bogus",
            "ksurf: error: FAILPOINTS entry \"a=bogus\": unrecognized command \"bogus\"\n",
        ),
    ] {
        let o = ksurf_command(0)
            .args([
                "plan",
                "--config",
                "/nonexistent",
                "--dataset",
                "/nonexistent",
            ])
            .env("FAILPOINTS", setting)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{setting}");
        assert_eq!(text(&o.stderr), message);
        assert!(o.stdout.is_empty());
    }
}
