//! The remote companion package (the package carrying a kernel's build
//! configuration) end to end, on signed loopback archives
//! (fetcher/tests/support): `ksurf fetch --plan` lists it, `ksurf run`
//! fetches the smallest one of the debug package's version through the
//! same signed chain, gives the image its `kconfig` rows and
//! `config_source = package:<file name>`, records a `config` row in
//! `fetches`, and deletes the cached package afterwards. Debian layout (the
//! companions in the debug package's own index), Ubuntu layout (the
//! companions in a second, separately signed archive: `companion_url`),
//! the Launchpad walk (the companions among the same upload's binaries,
//! sized and hashed by `binaryFileUrls`), and a companion whose bytes do
//! not match its index (a `config` kind error, the image still written,
//! exit 3).

#[path = "../fetcher/tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow::array::{Array, StringArray};
use bytes::Bytes;
use support::launchpad::{api_root, FakeBinary, FakeLaunchpad};
use support::{
    add_suite, append_entry, build_deb, build_package, control_member, sha256_hex, DataCompression,
    Fault, Mirror, Signer, Signing, TestPackage, FIXTURE_BUILD_ID, FIXTURE_SHA256,
};

/// A fixed clock for `fetches.fetched_at`.
const EPOCH: &str = "1736812800";
const FETCHED_AT: &str = "2025-01-14T00:00:00Z";

/// The config text every companion carries.
const CONFIG: &str = "# Linux/x86 6.1 Kernel Configuration\nCONFIG_BPF=y\n# CONFIG_IKCONFIG is not set\nCONFIG_HZ=250\nCONFIG_DEFAULT_HOSTNAME=\"(none)\"\n";

/// The `kconfig` rows of [`CONFIG`], sorted by name.
fn config_rows() -> Vec<(String, Option<String>)> {
    vec![
        ("CONFIG_BPF".into(), Some("y".into())),
        ("CONFIG_DEFAULT_HOSTNAME".into(), Some("\"(none)\"".into())),
        ("CONFIG_HZ".into(), Some("250".into())),
        ("CONFIG_IKCONFIG".into(), None),
    ]
}

/// A package whose data member holds `file` (path without `./`) with
/// [`CONFIG`] and `pad` bytes of noise (so sizes differ as a test needs).
fn config_package(name: &str, file: &str, pad: usize) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    append_entry(&mut tar, "./", tar::EntryType::Directory, &[]);
    let mut dirs = String::from(".");
    let parts: Vec<&str> = file.split('/').collect();
    for d in &parts[..parts.len() - 1] {
        dirs.push('/');
        dirs.push_str(d);
        append_entry(
            &mut tar,
            &format!("{dirs}/"),
            tar::EntryType::Directory,
            &[],
        );
    }
    append_entry(
        &mut tar,
        &format!("./{file}"),
        tar::EntryType::Regular,
        CONFIG.as_bytes(),
    );
    append_entry(
        &mut tar,
        "./zz-pad",
        tar::EntryType::Regular,
        &support::noise(pad, 0x5eed_0001),
    );
    let control = format!("Package: {name}\nVersion: 1\nArchitecture: amd64\nDescription: t\n");
    build_package(
        &tar.into_inner().unwrap(),
        DataCompression::Xz,
        &control_member(&control),
    )
}

fn package(name: &str, version: &str, release: &str, bytes: Vec<u8>) -> TestPackage {
    TestPackage {
        name: name.into(),
        version: version.into(),
        release: release.into(),
        filename: format!("pool/main/l/linux/{name}_{version}_amd64.deb"),
        bytes,
        fields: None,
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

struct Archive {
    mirror: Mirror,
    dir: tempfile::TempDir,
    config: PathBuf,
    /// Package bytes by file name.
    packages: HashMap<String, Vec<u8>>,
    env: Vec<(String, String)>,
}

impl Archive {
    fn ksurf(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ksurf"))
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .current_dir(self.dir.path())
            .env("SOURCE_DATE_EPOCH", EPOCH)
            .env_remove("KSURF_THREADS")
            .env_remove("FAILPOINTS")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("running ksurf")
    }

    fn run(&self, dataset: &str) -> Output {
        self.ksurf(&["run", "--dataset", dataset, "--work", "work"])
    }

    fn bytes(&self, file: &str) -> &[u8] {
        &self.packages[file]
    }

    fn pool(&self, file: &str) -> String {
        format!("pool/main/l/linux/{file}")
    }
}

const DEBIAN_RELEASE: &str = "6.1.0-47-cloud-amd64";
const DEBIAN_DBG: &str = "linux-image-6.1.0-47-cloud-amd64-dbg_6.1.170-3_amd64.deb";
const DEBIAN_SIGNED: &str = "linux-image-6.1.0-47-cloud-amd64_6.1.170-3_amd64.deb";
const DEBIAN_UNSIGNED: &str = "linux-image-6.1.0-47-cloud-amd64-unsigned_6.1.170-3_amd64.deb";
const DEBIAN_OLD: &str = "linux-image-6.1.0-47-cloud-amd64_6.1.170-2_amd64.deb";

/// A signed Debian suite `bookworm` listing the debug package and three
/// image packages of its release: the signed one (60 KB of padding), the
/// unsigned one (20 KB: the smallest of the debug package's version) and
/// an older version of the signed one (the smallest of all, but another
/// build).
fn debian_archive() -> Archive {
    let signer = Signer::new("ksurf test debian <test@invalid>");
    let dbg = build_deb(
        DEBIAN_RELEASE,
        &support::fixture_vmlinux(),
        DataCompression::Xz,
        1_100_000,
    );
    let signed = config_package(
        "linux-image-6.1.0-47-cloud-amd64",
        &format!("boot/config-{DEBIAN_RELEASE}"),
        60_000,
    );
    let unsigned = config_package(
        "linux-image-6.1.0-47-cloud-amd64-unsigned",
        &format!("boot/config-{DEBIAN_RELEASE}"),
        20_000,
    );
    let old = config_package(
        "linux-image-6.1.0-47-cloud-amd64",
        &format!("boot/config-{DEBIAN_RELEASE}"),
        100,
    );
    let packages = vec![
        package(
            "linux-image-6.1.0-47-cloud-amd64-dbg",
            "6.1.170-3",
            DEBIAN_RELEASE,
            dbg,
        ),
        package(
            "linux-image-6.1.0-47-cloud-amd64",
            "6.1.170-3",
            DEBIAN_RELEASE,
            signed,
        ),
        package(
            "linux-image-6.1.0-47-cloud-amd64-unsigned",
            "6.1.170-3",
            DEBIAN_RELEASE,
            unsigned,
        ),
        package(
            "linux-image-6.1.0-47-cloud-amd64",
            "6.1.170-2",
            DEBIAN_RELEASE,
            old,
        ),
    ];
    let mut files = HashMap::new();
    add_suite(
        &mut files,
        &signer,
        "bookworm",
        "amd64",
        &packages,
        Signing::InRelease,
        None,
    );
    let mirror = Mirror::start(files);
    let dir = tempfile::tempdir().unwrap();
    let keyring = dir.path().join("debian.gpg");
    std::fs::write(&keyring, signer.keyring_binary()).unwrap();
    let config = dir.path().join("debian-test.toml");
    std::fs::write(
        &config,
        format!(
            "[[source]]\nname = \"debian\"\nkind = \"debian\"\nurl = \"{}\"\nsuites = [\"bookworm\"]\narches = [\"amd64\"]\nkeyring = \"{}\"\n",
            mirror.base,
            keyring.display()
        ),
    )
    .unwrap();
    Archive {
        mirror,
        dir,
        config,
        packages: packages
            .into_iter()
            .map(|p| {
                let file = p.filename.rsplit('/').next().unwrap().to_owned();
                (file, p.bytes)
            })
            .collect(),
        env: Vec::new(),
    }
}

/// (name, value) of the image's `kconfig` rows.
fn kconfig(dataset: &Path, image: &str) -> Vec<(String, Option<String>)> {
    let ds = ksurf_dataset::Dataset::open_existing_local(dataset).unwrap();
    let image: ksurf_dataset::ImageId = image.parse().unwrap();
    let batch = ds
        .read_table(&image, ksurf_dataset::TableName::Kconfig)
        .unwrap();
    let col = |name: &str| {
        batch
            .column_by_name(name)
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .clone()
    };
    let (name, value) = (col("name"), col("value"));
    (0..batch.num_rows())
        .map(|i| {
            (
                name.value(i).to_owned(),
                value.is_valid(i).then(|| value.value(i).to_owned()),
            )
        })
        .collect()
}

/// Every row of one table of the image as `column=value …`, in order.
fn rows(dataset: &Path, image: &str, table: ksurf_dataset::TableName) -> Vec<String> {
    let ds = ksurf_dataset::Dataset::open_existing_local(dataset).unwrap();
    let image: ksurf_dataset::ImageId = image.parse().unwrap();
    let batch = ds.read_table(&image, table).unwrap();
    let schema = batch.schema();
    (0..batch.num_rows())
        .map(|i| {
            schema
                .fields()
                .iter()
                .zip(batch.columns())
                .map(|(f, c)| {
                    let v = if c.is_valid(i) {
                        arrow::util::display::array_value_to_string(c, i).unwrap()
                    } else {
                        "NULL".to_owned()
                    };
                    format!("{}={v}", f.name())
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// `images.<column>` of the image.
fn image_column(dataset: &Path, image: &str, column: &str) -> String {
    let row = rows(dataset, image, ksurf_dataset::TableName::Images).remove(0);
    let prefix = format!("{column}=");
    row.split(' ')
        .find_map(|kv| kv.strip_prefix(&prefix))
        .unwrap()
        .to_owned()
}

/// Asserts that a run ended with exit code `code` (printing its output if not).
fn assert_exit(o: &std::process::Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "{}\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
}

/// Asserts that `image` got the fixture config from the companion package
/// file `package`: the exact `kconfig` rows and `images.config_source`.
fn assert_config_from(dataset: &Path, image: &str, package: &str) {
    assert_eq!(kconfig(dataset, image), config_rows());
    assert_eq!(
        image_column(dataset, image, "config_source"),
        format!("package:{package}")
    );
}

/// One expected `fetches` row.
struct FetchRow<'a> {
    role: &'a str,
    flavor: &'a str,
    package: &'a str,
    version: &'a str,
    source: &'a str,
    url: &'a str,
    /// The package's bytes.
    bytes: &'a [u8],
    /// SHA-256 and size of the file unpacked from it.
    file: (&'a str, usize),
    build_id: &'a str,
}

fn fetch_row(r: FetchRow) -> String {
    format!(
        "role={} flavor={} package={} version={} source={} url={} package_size={} package_sha256={} file_sha256={} file_size={} build_id={} fetched_at={FETCHED_AT}",
        r.role,
        r.flavor,
        r.package,
        r.version,
        r.source,
        r.url,
        r.bytes.len(),
        sha256_hex(r.bytes),
        r.file.0,
        r.file.1,
        r.build_id,
    )
}

fn vmlinux_len() -> usize {
    support::fixture_vmlinux().len()
}

/// Files left under `work/`, relative, sorted (hidden ones too).
fn work_files(dir: &Path) -> Vec<String> {
    support::files_under(&dir.join("work"))
}

#[test]
fn debian_run_fetches_the_smallest_companion_of_the_same_version() {
    let a = debian_archive();
    let o = a.ksurf(&["fetch", "--plan"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // The companion's row follows its debug package's; the totals count it
    // apart (sizes: the xz packages built above, byte for byte the same
    // on every run).
    assert_eq!(
        text(&o.stdout),
        "\
IMAGE                              PACKAGE                                      VERSION        SIZE  SOURCE  STATUS
debian/6.1.0-47-cloud-amd64/amd64  linux-image-6.1.0-47-cloud-amd64-dbg         6.1.170-3   1.1 MiB  debian  pending
                                   + linux-image-6.1.0-47-cloud-amd64-unsigned  6.1.170-3  20.5 KiB
1 package, 1.1 MiB; 0 done, 1 to fetch (1.1 MiB); 1 config package, 20.5 KiB
"
    );

    let o = a.run("ds");
    assert_exit(&o, 0);
    let ds = a.dir.path().join("ds");
    let image = "debian/6.1.0-47-cloud-amd64/amd64";
    assert_config_from(&ds, image, DEBIAN_UNSIGNED);
    assert_eq!(image_column(&ds, image, "kconfig_options"), "4");
    assert_eq!(
        rows(&ds, image, ksurf_dataset::TableName::Fetches),
        [
            fetch_row(FetchRow {
                role: "vmlinux",
                flavor: "cloud-amd64",
                package: "linux-image-6.1.0-47-cloud-amd64-dbg",
                version: "6.1.170-3",
                source: "debian",
                url: &a.mirror.url(&a.pool(DEBIAN_DBG)),
                bytes: a.bytes(DEBIAN_DBG),
                file: (FIXTURE_SHA256, vmlinux_len()),
                build_id: FIXTURE_BUILD_ID,
            }),
            fetch_row(FetchRow {
                role: "config",
                flavor: "cloud-amd64",
                package: "linux-image-6.1.0-47-cloud-amd64-unsigned",
                version: "6.1.170-3",
                source: "debian",
                url: &a.mirror.url(&a.pool(DEBIAN_UNSIGNED)),
                bytes: a.bytes(DEBIAN_UNSIGNED),
                file: (&sha256_hex(CONFIG.as_bytes()), CONFIG.len()),
                build_id: "NULL",
            }),
        ]
    );
    // Only the chosen companion was downloaded; the cache and the unpacked
    // files are gone once the image is written.
    for (file, times) in [
        (DEBIAN_DBG, 1),
        (DEBIAN_UNSIGNED, 1),
        (DEBIAN_SIGNED, 0),
        (DEBIAN_OLD, 0),
    ] {
        assert_eq!(a.mirror.requests(&a.pool(file)).len(), times, "{file}");
    }
    assert_eq!(work_files(a.dir.path()), Vec::<String>::new());

    // --keep keeps both packages in the cache and both unpacked files.
    let o = a.ksurf(&["run", "--dataset", "ds-keep", "--work", "work", "--keep"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let mut kept = work_files(a.dir.path());
    kept.retain(|f| !f.starts_with("cache/tmp"));
    let cached = |f: &str| {
        let sha = sha256_hex(a.bytes(f));
        format!("cache/sha256/{}/{sha}.deb", &sha[..2])
    };
    let mut expected = vec![
        cached(DEBIAN_DBG),
        cached(DEBIAN_UNSIGNED),
        format!("vmlinux/debian/amd64/config-{DEBIAN_RELEASE}"),
        format!("vmlinux/debian/amd64/vmlinux-{DEBIAN_RELEASE}"),
    ];
    expected.sort();
    assert_eq!(kept, expected);
    std::fs::remove_dir_all(a.dir.path().join("work")).unwrap();

    // The distributed form: the work list carries the companion, and a
    // shard worker fetches it as `ksurf run` does.
    let o = a.ksurf(&["plan", "--dataset", "ds-shard"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let list: serde_json::Value = serde_json::from_slice(
        &std::fs::read(a.dir.path().join("ds-shard/_plan/plan.json")).unwrap(),
    )
    .unwrap();
    let companion = &list["packages"][0]["companion"];
    assert_eq!(
        companion["package"],
        "linux-image-6.1.0-47-cloud-amd64-unsigned"
    );
    assert_eq!(companion["size"], a.bytes(DEBIAN_UNSIGNED).len());
    assert_eq!(companion["sha256"], sha256_hex(a.bytes(DEBIAN_UNSIGNED)));
    let o = a.ksurf(&[
        "extract",
        "--dataset",
        "ds-shard",
        "--shard",
        "0/1",
        "--work",
        "work",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let shard = a.dir.path().join("ds-shard");
    assert_eq!(kconfig(&shard, image), config_rows());
    assert_eq!(
        rows(&shard, image, ksurf_dataset::TableName::Fetches),
        rows(&ds, image, ksurf_dataset::TableName::Fetches)
    );
    assert_eq!(work_files(a.dir.path()), Vec::<String>::new());
}

#[test]
fn a_companion_that_does_not_match_its_index_costs_the_config_only() {
    let a = debian_archive();
    a.mirror.fault(&a.pool(DEBIAN_UNSIGNED), Fault::Corrupt);
    let o = a.run("ds");
    // The image is written; its config is a kind error: exit 3.
    assert_exit(&o, 3);
    let url = a.mirror.url(&a.pool(DEBIAN_UNSIGNED));
    let stderr = text(&o.stderr);
    assert!(
        stderr.contains(&format!(
            "ksurf: config error: debian/6.1.0-47-cloud-amd64/amd64: {url}: SHA256 mismatch"
        )),
        "{stderr}"
    );
    let ds = a.dir.path().join("ds");
    let image = "debian/6.1.0-47-cloud-amd64/amd64";
    assert_eq!(kconfig(&ds, image), []);
    assert_eq!(
        image_column(&ds, image, "config_source"),
        format!("package:{DEBIAN_UNSIGNED}")
    );
    let fetches = rows(&ds, image, ksurf_dataset::TableName::Fetches);
    assert_eq!(fetches.len(), 1);
    assert!(fetches[0].starts_with("role=vmlinux "), "{fetches:?}");
    // Nothing of the wrong bytes is kept.
    assert_eq!(work_files(a.dir.path()), Vec::<String>::new());
}

const UBUNTU_RELEASE: &str = "5.4.0-26-generic";
const UBUNTU_DBGSYM: &str = "linux-image-unsigned-5.4.0-26-generic-dbgsym_5.4.0-26.30_amd64.ddeb";
const UBUNTU_MODULES: &str = "linux-modules-5.4.0-26-generic_5.4.0-26.30_amd64.deb";
const UBUNTU_BUILDINFO: &str = "linux-buildinfo-5.4.0-26-generic_5.4.0-26.30_amd64.deb";

/// A ddebs archive at the mirror's root and the main archive under
/// `archive/`, each signed by its own key: the companion of the debug
/// package is in the main archive only, `linux-buildinfo` (with the config
/// in `usr/lib/linux/<release>/config`) smaller than `linux-modules`.
#[test]
fn ubuntu_run_fetches_the_companion_from_the_main_archive() {
    let ddebs_signer = Signer::new("ksurf test ddebs <test@invalid>");
    let archive_signer = Signer::new("ksurf test archive <test@invalid>");
    let dbgsym = build_deb(
        UBUNTU_RELEASE,
        &support::fixture_vmlinux(),
        DataCompression::Zstd,
        1_100_000,
    );
    let mut ddeb = package(
        "linux-image-unsigned-5.4.0-26-generic-dbgsym",
        "5.4.0-26.30",
        UBUNTU_RELEASE,
        dbgsym,
    );
    ddeb.filename = format!("pool/main/l/linux/{UBUNTU_DBGSYM}");
    let modules = config_package(
        "linux-modules-5.4.0-26-generic",
        &format!("boot/config-{UBUNTU_RELEASE}"),
        50_000,
    );
    let buildinfo = config_package(
        "linux-buildinfo-5.4.0-26-generic",
        &format!("usr/lib/linux/{UBUNTU_RELEASE}/config"),
        5_000,
    );
    let mut files = HashMap::new();
    add_suite(
        &mut files,
        &ddebs_signer,
        "focal",
        "amd64",
        std::slice::from_ref(&ddeb),
        Signing::InRelease,
        None,
    );
    let companions = [
        package(
            "linux-modules-5.4.0-26-generic",
            "5.4.0-26.30",
            UBUNTU_RELEASE,
            modules.clone(),
        ),
        package(
            "linux-buildinfo-5.4.0-26-generic",
            "5.4.0-26.30",
            UBUNTU_RELEASE,
            buildinfo.clone(),
        ),
    ];
    let mut main = HashMap::new();
    add_suite(
        &mut main,
        &archive_signer,
        "focal",
        "amd64",
        &companions,
        Signing::Detached,
        None,
    );
    files.extend(
        main.into_iter()
            .map(|(k, v): (String, Bytes)| (format!("archive/{k}"), v)),
    );
    let mirror = Mirror::start(files);
    let dir = tempfile::tempdir().unwrap();
    let keyring = dir.path().join("ddebs.gpg");
    std::fs::write(&keyring, ddebs_signer.keyring_binary()).unwrap();
    let archive_keyring = dir.path().join("archive.asc");
    std::fs::write(&archive_keyring, archive_signer.keyring_armored()).unwrap();
    let config = dir.path().join("ubuntu-test.toml");
    std::fs::write(
        &config,
        format!(
            "[[source]]\nname = \"ddebs\"\nkind = \"ubuntu\"\nurl = \"env:KSURF_UBUNTU_DDEBS_URL\"\nseries = [\"focal\"]\npockets = [\"release\"]\narches = [\"amd64\"]\nkeyring = \"{}\"\ncompanion_url = \"env:KSURF_UBUNTU_ARCHIVE_URL\"\ncompanion_keyring = \"{}\"\n",
            keyring.display(),
            archive_keyring.display()
        ),
    )
    .unwrap();
    let a = Archive {
        env: vec![
            ("KSURF_UBUNTU_DDEBS_URL".into(), mirror.base.clone()),
            (
                "KSURF_UBUNTU_ARCHIVE_URL".into(),
                format!("{}archive", mirror.base),
            ),
        ],
        mirror,
        dir,
        config,
        packages: HashMap::from([
            (UBUNTU_DBGSYM.to_owned(), ddeb.bytes.clone()),
            (UBUNTU_MODULES.to_owned(), modules),
            (UBUNTU_BUILDINFO.to_owned(), buildinfo),
        ]),
    };
    let o = a.run("ds");
    assert_exit(&o, 0);
    let ds = a.dir.path().join("ds");
    let image = "ubuntu/5.4.0-26-generic/amd64";
    assert_config_from(&ds, image, UBUNTU_BUILDINFO);
    assert_eq!(
        rows(&ds, image, ksurf_dataset::TableName::Fetches),
        [
            fetch_row(FetchRow {
                role: "vmlinux",
                flavor: "generic",
                package: "linux-image-unsigned-5.4.0-26-generic-dbgsym",
                version: "5.4.0-26.30",
                source: "ddebs",
                url: &a.mirror.url(&a.pool(UBUNTU_DBGSYM)),
                bytes: a.bytes(UBUNTU_DBGSYM),
                file: (FIXTURE_SHA256, vmlinux_len()),
                build_id: FIXTURE_BUILD_ID,
            }),
            fetch_row(FetchRow {
                role: "config",
                flavor: "generic",
                package: "linux-buildinfo-5.4.0-26-generic",
                version: "5.4.0-26.30",
                source: "ddebs",
                url: &a
                    .mirror
                    .url(&format!("archive/{}", a.pool(UBUNTU_BUILDINFO))),
                bytes: a.bytes(UBUNTU_BUILDINFO),
                file: (&sha256_hex(CONFIG.as_bytes()), CONFIG.len()),
                build_id: "NULL",
            }),
        ]
    );
    // Both archives' signed chains were read: Release signature, then index.
    let paths: Vec<String> = a
        .mirror
        .all_requests()
        .iter()
        .map(|r| r.path.clone())
        .filter(|p| p.contains("dists/"))
        .collect();
    assert_eq!(
        paths,
        [
            "dists/focal/InRelease",
            "dists/focal/main/binary-amd64/Packages.xz",
            "archive/dists/focal/InRelease",
            "archive/dists/focal/Release",
            "archive/dists/focal/Release.gpg",
            "archive/dists/focal/main/binary-amd64/Packages.xz",
        ]
    );
    assert_eq!(
        a.mirror
            .requests(&format!("archive/{}", a.pool(UBUNTU_MODULES)))
            .len(),
        0
    );

    // Without the variable, the source is planned and run without configs,
    // saying why once.
    let o = Command::new(env!("CARGO_BIN_EXE_ksurf"))
        .args(["run", "--dataset", "ds2", "--work", "work", "--config"])
        .arg(&a.config)
        .current_dir(a.dir.path())
        .env("KSURF_UBUNTU_DDEBS_URL", &a.mirror.base)
        .env_remove("KSURF_UBUNTU_ARCHIVE_URL")
        .env_remove("KSURF_THREADS")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stderr),
        format!(
            "ksurf: warning: {}: [[source]] \"ddebs\": companion_url: environment variable KSURF_UBUNTU_ARCHIVE_URL is not set; this source's kernels get no config\n",
            a.config.display()
        )
    );
    let ds2 = a.dir.path().join("ds2");
    assert_eq!(kconfig(&ds2, image), []);
    assert_eq!(image_column(&ds2, image, "config_source"), "NULL");
}

/// A Launchpad history of two uploads of `linux` in bionic. The first has
/// the debug package, `linux-modules` (50 KB of padding), `linux-buildinfo`
/// (5 KB: the smallest of amd64) and an arm64 `linux-buildinfo` (the
/// smallest of all, another architecture); the second has the debug
/// package alone. `ksurf run` gives the first image the buildinfo's config
/// and a `config` row in `fetches` with the file URL the API gave, the
/// second no config; no warning, exit 0.
#[test]
fn launchpad_run_fetches_the_smallest_companion_of_the_upload() {
    const FIRST: &str = "4.15.0-20-generic";
    const SECOND: &str = "4.15.0-22-generic";
    let mirror = Mirror::start(HashMap::new());
    let dbgsym = |release: &str, variant: u8| {
        let mut vmlinux = support::fixture_vmlinux();
        if variant > 0 {
            vmlinux.push(variant);
        }
        build_deb(release, &vmlinux, DataCompression::Zstd, 1_100_000)
    };
    let binary = |name: &str, arch: &str, bytes: Vec<u8>| FakeBinary {
        name: name.into(),
        arch: arch.into(),
        bytes,
    };
    let first_dbgsym = dbgsym(FIRST, 0);
    let modules = config_package(
        &format!("linux-modules-{FIRST}"),
        &format!("boot/config-{FIRST}"),
        50_000,
    );
    let buildinfo = config_package(
        &format!("linux-buildinfo-{FIRST}"),
        &format!("usr/lib/linux/{FIRST}/config"),
        5_000,
    );
    let mut lp = FakeLaunchpad::new(&mirror);
    lp.upload(
        "bionic",
        "linux",
        "4.15.0-20.21",
        "Release",
        vec![
            binary(
                &format!("linux-image-unsigned-{FIRST}-dbgsym"),
                "amd64",
                first_dbgsym.clone(),
            ),
            binary(&format!("linux-modules-{FIRST}"), "amd64", modules),
            binary(
                &format!("linux-buildinfo-{FIRST}"),
                "amd64",
                buildinfo.clone(),
            ),
            binary(
                &format!("linux-buildinfo-{FIRST}"),
                "arm64",
                support::noise(100, 7),
            ),
        ],
    );
    lp.upload(
        "bionic",
        "linux",
        "4.15.0-22.24",
        "Release",
        vec![binary(
            &format!("linux-image-unsigned-{SECOND}-dbgsym"),
            "amd64",
            dbgsym(SECOND, 1),
        )],
    );
    lp.install(&mirror, "Release");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("launchpad-test.toml");
    std::fs::write(
        &config,
        "[[source]]\nname = \"history\"\nkind = \"launchpad\"\nurl = \"env:KSURF_LAUNCHPAD_API\"\nseries = [\"bionic\"]\npockets = [\"release\"]\nlaunchpad_sources = [\"linux\"]\narches = [\"amd64\"]\nflavors = [\"generic\"]\n",
    )
    .unwrap();
    let buildinfo_url = lp.file_url(&format!("linux-buildinfo-{FIRST}"), "4.15.0-20.21", "amd64");
    let modules_url = lp.file_url(&format!("linux-modules-{FIRST}"), "4.15.0-20.21", "amd64");
    let a = Archive {
        env: vec![("KSURF_LAUNCHPAD_API".into(), api_root(&mirror))],
        mirror,
        dir,
        config,
        packages: HashMap::new(),
    };
    let o = a.ksurf(&["fetch", "--plan"]);
    assert_exit(&o, 0);
    assert!(
        text(&o.stdout).contains(&format!("+ linux-buildinfo-{FIRST}")),
        "{}",
        text(&o.stdout)
    );
    let o = a.run("ds");
    assert_exit(&o, 0);
    assert_eq!(text(&o.stderr), "");
    let ds = a.dir.path().join("ds");
    let image = format!("ubuntu/{FIRST}/amd64");
    assert_config_from(
        &ds,
        &image,
        &format!("linux-buildinfo-{FIRST}_4.15.0-20.21_amd64.deb"),
    );
    assert_eq!(
        rows(&ds, &image, ksurf_dataset::TableName::Fetches),
        [
            fetch_row(FetchRow {
                role: "vmlinux",
                flavor: "generic",
                package: &format!("linux-image-unsigned-{FIRST}-dbgsym"),
                version: "4.15.0-20.21",
                source: "history",
                url: &lp.file_url(
                    &format!("linux-image-unsigned-{FIRST}-dbgsym"),
                    "4.15.0-20.21",
                    "amd64"
                ),
                bytes: &first_dbgsym,
                file: (FIXTURE_SHA256, vmlinux_len()),
                build_id: FIXTURE_BUILD_ID,
            }),
            fetch_row(FetchRow {
                role: "config",
                flavor: "generic",
                package: &format!("linux-buildinfo-{FIRST}"),
                version: "4.15.0-20.21",
                source: "history",
                url: &buildinfo_url,
                bytes: &buildinfo,
                file: (&sha256_hex(CONFIG.as_bytes()), CONFIG.len()),
                build_id: "NULL",
            }),
        ]
    );
    // The larger companion was sized through the API, never downloaded.
    let path_of = |url: &str| url.strip_prefix(&a.mirror.base).unwrap().to_owned();
    assert_eq!(a.mirror.requests(&path_of(&modules_url)).len(), 0);
    assert_eq!(a.mirror.requests(&path_of(&buildinfo_url)).len(), 1);
    let second = format!("ubuntu/{SECOND}/amd64");
    assert_eq!(kconfig(&ds, &second), []);
    assert_eq!(image_column(&ds, &second, "config_source"), "NULL");
}
