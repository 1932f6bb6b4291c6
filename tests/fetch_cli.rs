//! `ksurf fetch --plan` end to end on a local directory of packages: the
//! table, the totals, skipped look-alikes, done images from a dataset, and
//! an archive that fails alone; `fetch` of a real local `.deb` end to end.

use std::path::Path;
use std::process::{Command, Output};

fn ksurf(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ksurf"))
        .args(args)
        .current_dir(dir)
        .env_remove("KSURF_THREADS")
        .output()
        .expect("running ksurf")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A working directory with configs/debian-local.toml's `work/debs`:
/// two kernel debug packages (3 and 2 MiB) and a meta package.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let debs = dir.path().join("work/debs");
    std::fs::create_dir_all(&debs).unwrap();
    for (package, version, arch, depends, pad) in [
        (
            "linux-image-6.1.0-47-cloud-amd64-dbg",
            "6.1.170-3",
            "amd64",
            None,
            (3 << 20) - (12 << 10),
        ),
        (
            "linux-image-6.1.0-47-arm64-dbg",
            "6.1.170-3",
            "arm64",
            None,
            (2 << 20) - (12 << 10),
        ),
        (
            "linux-image-cloud-amd64-dbg",
            "6.1.176-1",
            "amd64",
            Some("linux-image-6.1.0-56-cloud-amd64-dbg"),
            0,
        ),
    ] {
        dpkg_deb(&debs, package, version, arch, depends, pad, None);
    }
    dir
}

/// Builds `<package>_<version>_<arch>.deb` in `debs` with `dpkg-deb`
/// (data uncompressed): `pad` bytes of incompressible filler and, if
/// given, `(release, vmlinux)` as `usr/lib/debug/boot/vmlinux-<release>`.
fn dpkg_deb(
    debs: &Path,
    package: &str,
    version: &str,
    arch: &str,
    depends: Option<&str>,
    pad: usize,
    vmlinux: Option<(&str, &[u8])>,
) -> std::path::PathBuf {
    let root = tempfile::tempdir().unwrap();
    if let Some((release, bytes)) = vmlinux {
        let boot = root.path().join("usr/lib/debug/boot");
        std::fs::create_dir_all(&boot).unwrap();
        std::fs::write(boot.join(format!("vmlinux-{release}")), bytes).unwrap();
    }
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let filler: Vec<u8> = (0..pad)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::create_dir_all(root.path().join("usr/share/doc")).unwrap();
    std::fs::write(root.path().join("usr/share/doc/pad"), filler).unwrap();
    std::fs::create_dir_all(root.path().join("DEBIAN")).unwrap();
    let depends = depends.map_or(String::new(), |d| format!("Depends: {d}\n"));
    std::fs::write(
        root.path().join("DEBIAN/control"),
        format!("Package: {package}\nSource: linux\nVersion: {version}\nArchitecture: {arch}\nMaintainer: ksurf tests <tests@ksurf.invalid>\n{depends}Description: test kernel\n"),
    )
    .unwrap();
    let deb = debs.join(format!("{package}_{version}_{arch}.deb"));
    let o = Command::new("dpkg-deb")
        .args(["-Znone", "--root-owner-group", "--build"])
        .arg(root.path())
        .arg(&deb)
        .output()
        .expect("running dpkg-deb");
    assert!(o.status.success(), "{}", text(&o.stderr));
    deb
}

fn shipped_config() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("configs/debian-local.toml")
        .display()
        .to_string()
}

#[test]
fn plan_of_a_local_directory() {
    let dir = workdir();
    let o = ksurf(
        dir.path(),
        &["fetch", "--config", &shipped_config(), "--plan"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout),
        "\
IMAGE                              PACKAGE                               VERSION       SIZE  SOURCE        STATUS
debian/6.1.0-47-arm64/arm64        linux-image-6.1.0-47-arm64-dbg        6.1.170-3  2.0 MiB  debian-local  pending
debian/6.1.0-47-cloud-amd64/amd64  linux-image-6.1.0-47-cloud-amd64-dbg  6.1.170-3  3.0 MiB  debian-local  pending
2 packages, 5.0 MiB; 0 done, 2 to fetch (5.0 MiB)
"
    );
    assert_eq!(
        text(&o.stderr),
        "ksurf: skipped linux-image-cloud-amd64-dbg 6.1.176-1 (amd64, work/debs): meta package (no versioned kernel release in its name)\n"
    );
}

#[test]
fn images_in_the_dataset_are_done() {
    let dir = workdir();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("extractor/tests/fixtures/bin/x86_64-dwarf5.elf");
    // The fixture kernel is debian/6.1.0-99-mini-amd64/amd64; name the
    // package after it so its image is in the dataset.
    dpkg_deb(
        &dir.path().join("work/debs"),
        "linux-image-6.1.0-99-mini-amd64-dbg",
        "6.1.1-1",
        "amd64",
        None,
        (2 << 20) - (12 << 10),
        None,
    );
    let extract = ksurf(
        dir.path(),
        &["extract", fixture.to_str().unwrap(), "--out", "ds"],
    );
    assert_eq!(extract.status.code(), Some(0), "{}", text(&extract.stderr));
    let o = ksurf(
        dir.path(),
        &[
            "fetch",
            "--config",
            &shipped_config(),
            "--plan",
            "--dataset",
            "ds",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert!(
        lines[3].starts_with("debian/6.1.0-99-mini-amd64/amd64  ") && lines[3].ends_with("  done"),
        "{out}"
    );
    assert_eq!(
        lines[4],
        "3 packages, 7.0 MiB; 1 done, 2 to fetch (5.0 MiB)"
    );
}

/// A real `.deb` built with `dpkg-deb`: the mini kernel fixture as
/// `usr/lib/debug/boot/vmlinux-<release>`, padded with 1.5 MiB of
/// incompressible bytes so it is not taken for a stub.
fn build_deb(debs: &Path, release: &str, vmlinux: &[u8]) -> std::path::PathBuf {
    dpkg_deb(
        debs,
        &format!("linux-image-{release}-dbg"),
        "6.1.1-1",
        "amd64",
        None,
        3 << 19,
        Some((release, vmlinux)),
    )
}

#[test]
fn fetch_unpacks_local_packages_and_records_them() {
    let dir = tempfile::tempdir().unwrap();
    let debs = dir.path().join("work/debs");
    std::fs::create_dir_all(&debs).unwrap();
    let elf = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("extractor/tests/fixtures/bin/x86_64-dwarf5.elf"),
    )
    .unwrap();
    build_deb(&debs, "6.1.0-99-mini-amd64", &elf);
    let o = ksurf(
        dir.path(),
        &[
            "fetch",
            "--config",
            &shipped_config(),
            "--out",
            "out",
            "--dataset",
            "ds",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let vmlinux = dir
        .path()
        .join("out/vmlinux/debian/amd64/vmlinux-6.1.0-99-mini-amd64");
    assert_eq!(std::fs::read(&vmlinux).unwrap(), elf);
    let sha = {
        use sha2::{Digest, Sha256};
        Sha256::digest(&elf)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(
        text(&o.stdout),
        format!(
            "debian/6.1.0-99-mini-amd64/amd64: out/vmlinux/debian/amd64/vmlinux-6.1.0-99-mini-amd64 ({} bytes, sha256 {sha}) from linux-image-6.1.0-99-mini-amd64-dbg 6.1.1-1\n",
            elf.len()
        )
    );
    assert!(dir
        .path()
        .join("ds/fetches/distro=debian/release=6.1.0-99-mini-amd64/arch=amd64/part-0.parquet")
        .is_file());
}

#[test]
fn a_failing_archive_source_fails_alone_and_names_its_keyring() {
    let dir = workdir();
    let config = dir.path().join("mixed.toml");
    std::fs::write(
        &config,
        format!(
            "[[source]]\nname = \"down\"\nkind = \"debian\"\nurl = \"http://127.0.0.1:9/debian\"\nsuites = [\"bookworm\"]\narches = [\"amd64\"]\nkeyring = \"{}\"\n\n{}",
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fetcher/tests/fixtures/keyring-unused.asc")
                .display(),
            std::fs::read_to_string(shipped_config())
                .unwrap()
                .split("[[source]]")
                .nth(1)
                .map(|s| format!("[[source]]{s}"))
                .unwrap()
        ),
    )
    .unwrap();
    let o = ksurf(
        dir.path(),
        &["fetch", "--config", config.to_str().unwrap(), "--plan"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    // The local source is still planned.
    assert!(
        text(&o.stdout).contains("2 packages, 5.0 MiB; 0 done, 2 to fetch (5.0 MiB)"),
        "{}",
        text(&o.stdout)
    );
    let stderr = text(&o.stderr);
    assert!(
        stderr.contains("ksurf: error: ") && stderr.contains("keyring-unused.asc"),
        "{stderr}"
    );
}

#[test]
fn config_errors_name_the_file_and_key() {
    let dir = workdir();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[[source]]\nname = \"l\"\nkind = \"local\"\npath = \"work/debs\"\narches = [\"x86\"]\n",
    )
    .unwrap();
    let o = ksurf(dir.path(), &["fetch", "--config", "bad.toml", "--plan"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "ksurf: error: bad.toml: [[source]] #1 (\"l\"): arches: unknown architecture \"x86\" (known: amd64, arm64, armel, armhf, i386, loong64, mips64el, mipsel, powerpc, ppc64, ppc64el, riscv64, s390x)\n"
    );
}

// ---------------------------------------------------------------------------
// Ubuntu layout end to end: a signed ddebs mirror and a fake Launchpad API on
// one loopback server (fetcher/tests/support), configured through env: URLs.

#[path = "../fetcher/tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::time::Duration;

use support::launchpad::{api_root, FakeBinary, FakeLaunchpad};
use support::{
    add_suite, build_deb as build_ddeb, sha256_hex, DataCompression, Fault, Mirror, Signer,
    Signing, TestPackage, FIXTURE_BUILD_ID,
};

const FOCAL_REAL: &str =
    "pool/main/l/linux/linux-image-unsigned-5.4.0-26-generic-dbgsym_5.4.0-26.30_amd64.ddeb";
const FOCAL_STUB: &str =
    "pool/main/l/linux-signed/linux-image-5.4.0-26-generic-dbgsym_5.4.0-26.30_amd64.ddeb";
const UPDATES_REAL: &str =
    "pool/main/l/linux/linux-image-unsigned-5.4.0-216-generic-dbgsym_5.4.0-216.236_amd64.ddeb";

struct Ubuntu {
    mirror: Mirror,
    dir: tempfile::TempDir,
    config: std::path::PathBuf,
    /// Package bytes by release.
    packages: HashMap<&'static str, Vec<u8>>,
    lp_url: String,
}

/// The vmlinux of a release: the fixture kernel, unless `variant` makes
/// it differ (one trailing byte) so that files cannot be mixed up.
fn vmlinux_of(variant: u8) -> Vec<u8> {
    let mut v = support::fixture_vmlinux();
    if variant > 0 {
        v.push(variant);
    }
    v
}

fn ubuntu_mirror() -> Ubuntu {
    let signer = Signer::new("ksurf test ddebs <test@invalid>");
    let focal = build_ddeb(
        "5.4.0-26-generic",
        &vmlinux_of(0),
        DataCompression::Xz,
        1_100_000,
    );
    let updates = build_ddeb(
        "5.4.0-216-generic",
        &vmlinux_of(1),
        DataCompression::Zstd,
        1_200_000,
    );
    let history = build_ddeb(
        "4.15.0-20-generic",
        &vmlinux_of(2),
        DataCompression::Zstd,
        1_300_000,
    );
    let mut files = HashMap::new();
    add_suite(
        &mut files,
        &signer,
        "focal",
        "amd64",
        &[
            TestPackage {
                name: "linux-image-unsigned-5.4.0-26-generic-dbgsym".into(),
                version: "5.4.0-26.30".into(),
                release: "5.4.0-26-generic".into(),
                filename: FOCAL_REAL.into(),
                bytes: focal.clone(),
                fields: None,
            },
            TestPackage {
                name: "linux-image-5.4.0-26-generic-dbgsym".into(),
                version: "5.4.0-26.30".into(),
                release: "5.4.0-26-generic".into(),
                filename: FOCAL_STUB.into(),
                bytes: support::noise(3_000, 5),
                fields: Some(
                    "Source: linux-signed (5.4.0-26.30)\nDepends: linux-image-unsigned-5.4.0-26-generic-dbgsym (= 5.4.0-26.30)\n".into(),
                ),
            },
        ],
        Signing::InRelease,
        None,
    );
    add_suite(
        &mut files,
        &signer,
        "focal-updates",
        "amd64",
        &[TestPackage {
            name: "linux-image-unsigned-5.4.0-216-generic-dbgsym".into(),
            version: "5.4.0-216.236".into(),
            release: "5.4.0-216-generic".into(),
            filename: UPDATES_REAL.into(),
            bytes: updates.clone(),
            fields: None,
        }],
        Signing::InRelease,
        None,
    );
    let mirror = Mirror::start(files);
    let mut lp = FakeLaunchpad::new(&mirror);
    lp.upload(
        "bionic",
        "linux",
        "4.15.0-20.21",
        "Release",
        vec![FakeBinary {
            name: "linux-image-unsigned-4.15.0-20-generic-dbgsym".into(),
            arch: "amd64".into(),
            bytes: history.clone(),
        }],
    );
    lp.upload(
        "bionic",
        "linux",
        "4.15.0-22.24",
        "Release",
        vec![FakeBinary {
            name: "linux-image-unsigned-4.15.0-22-generic-dbgsym".into(),
            arch: "amd64".into(),
            bytes: support::noise(100, 3),
        }],
    );
    lp.install(&mirror, "Release");
    let lp_url = lp.file_url(
        "linux-image-unsigned-4.15.0-20-generic-dbgsym",
        "4.15.0-20.21",
        "amd64",
    );
    let dir = tempfile::tempdir().unwrap();
    let keyring = dir.path().join("ddebs.gpg");
    std::fs::write(&keyring, signer.keyring_binary()).unwrap();
    let config = dir.path().join("ubuntu-test.toml");
    std::fs::write(
        &config,
        format!(
            r#"[[source]]
name = "ddebs"
kind = "ubuntu"
url = "env:KSURF_UBUNTU_DDEBS_URL"
series = ["focal"]
pockets = ["release", "updates"]
arches = ["amd64"]
flavors = ["generic"]
keyring = "{}"

[[source]]
name = "history"
kind = "launchpad"
url = "env:KSURF_LAUNCHPAD_API"
series = ["bionic"]
pockets = ["release"]
launchpad_sources = ["linux"]
arches = ["amd64"]
flavors = ["generic"]
revision = "first"
"#,
            keyring.display()
        ),
    )
    .unwrap();
    Ubuntu {
        mirror,
        dir,
        config,
        packages: HashMap::from([
            ("5.4.0-26-generic", focal),
            ("5.4.0-216-generic", updates),
            ("4.15.0-20-generic", history),
        ]),
        lp_url,
    }
}

impl Ubuntu {
    /// `ksurf fetch --config <the config> ARGS`.
    fn command(&self, args: &[&str]) -> Command {
        self.subcommand("fetch", args)
    }

    fn subcommand(&self, subcommand: &str, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ksurf"));
        c.arg(subcommand)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("KSURF_THREADS")
            .env("KSURF_UBUNTU_DDEBS_URL", &self.mirror.base)
            .env("KSURF_LAUNCHPAD_API", api_root(&self.mirror));
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("running ksurf")
    }

    fn vmlinux(&self, release: &str) -> std::path::PathBuf {
        self.dir
            .path()
            .join(format!("out/vmlinux/ubuntu/amd64/vmlinux-{release}"))
    }
}

const STUB_SKIPPED: &str = "ksurf: skipped linux-image-5.4.0-26-generic-dbgsym 5.4.0-26.30 (amd64, focal): stub built by source linux-signed (signed kernels carry no debug image)\n";

#[test]
fn ubuntu_layout_and_launchpad_plan_then_fetch_into_a_dataset() {
    let u = ubuntu_mirror();
    let o = u.run(&["--plan"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout),
        "\
IMAGE                           PACKAGE                                        VERSION           SIZE  SOURCE   STATUS
ubuntu/4.15.0-20-generic/amd64  linux-image-unsigned-4.15.0-20-generic-dbgsym  4.15.0-20.21   1.3 MiB  history  pending
ubuntu/5.4.0-26-generic/amd64   linux-image-unsigned-5.4.0-26-generic-dbgsym   5.4.0-26.30    1.1 MiB  ddebs    pending
ubuntu/5.4.0-216-generic/amd64  linux-image-unsigned-5.4.0-216-generic-dbgsym  5.4.0-216.236  1.2 MiB  ddebs    pending
3 packages, 3.5 MiB; 0 done, 3 to fetch (3.5 MiB)
"
    );
    assert_eq!(text(&o.stderr), STUB_SKIPPED);
    // Signed indices of both suites; the API walked; no package fetched.
    let paths: Vec<String> = u
        .mirror
        .all_requests()
        .iter()
        .map(|r| r.path.split('?').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        paths,
        [
            "dists/focal/InRelease",
            "dists/focal/main/binary-amd64/Packages.xz",
            "dists/focal-updates/InRelease",
            "dists/focal-updates/main/binary-amd64/Packages.xz",
            "devel/ubuntu/+archive/primary",
            "devel/ubuntu/+archive/primary",
            "devel/ubuntu/+archive/primary/+sourcepub/1001",
            "devel/ubuntu/+archive/primary/+binarypub/5001",
        ]
    );

    let o = u.run(&["--out", "out", "--dataset", "ds"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stderr), STUB_SKIPPED);
    let line = |release: &str, package: &str, version: &str, variant: u8| {
        let v = vmlinux_of(variant);
        format!(
            "ubuntu/{release}/amd64: out/vmlinux/ubuntu/amd64/vmlinux-{release} ({} bytes, sha256 {}) from {package} {version}\n",
            v.len(),
            sha256_hex(&v)
        )
    };
    assert_eq!(
        text(&o.stdout),
        [
            line(
                "4.15.0-20-generic",
                "linux-image-unsigned-4.15.0-20-generic-dbgsym",
                "4.15.0-20.21",
                2
            ),
            line(
                "5.4.0-26-generic",
                "linux-image-unsigned-5.4.0-26-generic-dbgsym",
                "5.4.0-26.30",
                0
            ),
            line(
                "5.4.0-216-generic",
                "linux-image-unsigned-5.4.0-216-generic-dbgsym",
                "5.4.0-216.236",
                1
            ),
        ]
        .concat()
    );
    for (release, variant) in [
        ("4.15.0-20-generic", 2),
        ("5.4.0-26-generic", 0),
        ("5.4.0-216-generic", 1),
    ] {
        assert_eq!(
            std::fs::read(u.vmlinux(release)).unwrap(),
            vmlinux_of(variant),
            "{release}"
        );
    }
    // The stub was never downloaded.
    assert_eq!(u.mirror.requests(FOCAL_STUB).len(), 0);
    let ds = ksurf_dataset::Dataset::open_local(&u.dir.path().join("ds")).unwrap();
    let mut rows = Vec::new();
    for release in ["4.15.0-20-generic", "5.4.0-26-generic", "5.4.0-216-generic"] {
        let image: ksurf_dataset::ImageId = format!("ubuntu/{release}/amd64").parse().unwrap();
        let batch = ds
            .read_table(&image, ksurf_dataset::TableName::Fetches)
            .unwrap();
        assert_eq!(batch.num_rows(), 1);
        let schema = batch.schema();
        let row: Vec<String> = schema
            .fields()
            .iter()
            .zip(batch.columns())
            .filter(|(f, _)| f.name() != "fetched_at")
            .map(|(f, c)| {
                format!(
                    "{}={}",
                    f.name(),
                    arrow::util::display::array_value_to_string(c, 0).unwrap()
                )
            })
            .collect();
        rows.push(row.join(" "));
    }
    let row = |release: &str,
               package: &str,
               version: &str,
               source: &str,
               url: &str,
               variant: u8| {
        let pkg = &u.packages[release];
        let vmlinux = vmlinux_of(variant);
        format!(
            "role=vmlinux flavor=generic package={package} version={version} source={source} url={url} package_size={} package_sha256={} file_sha256={} file_size={} build_id={FIXTURE_BUILD_ID}",
            pkg.len(),
            sha256_hex(pkg),
            sha256_hex(&vmlinux),
            vmlinux.len()
        )
    };
    assert_eq!(
        rows,
        [
            row(
                "4.15.0-20-generic",
                "linux-image-unsigned-4.15.0-20-generic-dbgsym",
                "4.15.0-20.21",
                "history",
                &u.lp_url,
                2
            ),
            row(
                "5.4.0-26-generic",
                "linux-image-unsigned-5.4.0-26-generic-dbgsym",
                "5.4.0-26.30",
                "ddebs",
                &u.mirror.url(FOCAL_REAL),
                0
            ),
            row(
                "5.4.0-216-generic",
                "linux-image-unsigned-5.4.0-216-generic-dbgsym",
                "5.4.0-216.236",
                "ddebs",
                &u.mirror.url(UPDATES_REAL),
                1
            ),
        ]
    );
}

/// `ksurf fetch --stream` killed with SIGKILL while a vmlinux is being
/// written leaves a hidden locked-while-written part file; the next run
/// removes it and publishes the same bytes.
#[test]
fn killed_streaming_fetch_leaves_no_part_file_after_a_rerun() {
    let u = ubuntu_mirror();
    let size = u.packages["5.4.0-26-generic"].len() as u64;
    u.mirror.fault(
        FOCAL_REAL,
        Fault::StallAfter(size - 200, Duration::from_secs(60)),
    );
    let vmlinux_dir = u.dir.path().join("out/vmlinux/ubuntu/amd64");
    let parts = || -> Vec<String> {
        std::fs::read_dir(&vmlinux_dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with(".vmlinux-") && n.ends_with(".part"))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut child = u
        .command(&["--out", "out", "--stream"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    // The other two packages finish; the stalled one's vmlinux is then the
    // only one being written (its package is xz, which decodes as it
    // arrives, so the entry is open before the last bytes).
    let others_done =
        || u.vmlinux("5.4.0-216-generic").exists() && u.vmlinux("4.15.0-20-generic").exists();
    while u.mirror.served(FOCAL_REAL) < size - 200 || !others_done() || parts().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "ksurf never got to the vmlinux"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    child.kill().unwrap(); // SIGKILL
    assert!(!child.wait().unwrap().success());
    assert_eq!(parts().len(), 1);
    assert!(!u.vmlinux("5.4.0-26-generic").exists());

    u.mirror.clear_faults();
    let o = u.run(&["--out", "out", "--stream"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(parts(), Vec::<String>::new());
    let mut names: Vec<String> = std::fs::read_dir(&vmlinux_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "vmlinux-4.15.0-20-generic",
            "vmlinux-5.4.0-216-generic",
            "vmlinux-5.4.0-26-generic"
        ]
    );
    assert_eq!(
        std::fs::read(u.vmlinux("5.4.0-26-generic")).unwrap(),
        vmlinux_of(0)
    );
    assert!(
        !u.dir.path().join("out/cache").exists(),
        "streaming keeps no package"
    );
}

/// `ksurf run` downloads in plan order, `--downloads` at a time: one by
/// default (each body ends before the next starts), all three at once with
/// `--downloads 3`. Every package body stalls 300 ms half-way, so
/// downloads that may overlap do.
#[test]
fn run_downloads_in_plan_order_as_many_at_once_as_asked() {
    let u = ubuntu_mirror();
    let lp_path = url::Url::parse(&u.lp_url).unwrap().path()[1..].to_owned();
    // Plan order (see the --plan table above): history, then focal, then
    // focal-updates.
    let packages = [lp_path.as_str(), FOCAL_REAL, UPDATES_REAL];
    for (path, release) in
        packages
            .iter()
            .zip(["4.15.0-20-generic", "5.4.0-26-generic", "5.4.0-216-generic"])
    {
        let half = u.packages[release].len() as u64 / 2;
        u.mirror
            .fault(path, Fault::StallAfter(half, Duration::from_millis(300)));
    }
    let package_bodies = || -> Vec<String> {
        u.mirror
            .bodies()
            .into_iter()
            .filter(|b| packages.iter().any(|p| b.ends_with(&format!(" {p}"))))
            .collect()
    };
    let run = |dataset: &str, extra: &[&str]| {
        let mut args = vec!["--dataset", dataset, "--work", "work"];
        args.extend_from_slice(extra);
        let o = u.subcommand("run", &args).output().expect("running ksurf");
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    };

    run("ds-one", &[]);
    let one_at_a_time: Vec<String> = packages
        .iter()
        .flat_map(|p| [format!("start {p}"), format!("end {p}")])
        .collect();
    assert_eq!(package_bodies(), one_at_a_time);

    u.mirror.state.bodies.lock().unwrap().clear();
    run("ds-three", &["--downloads", "3"]);
    // All three start before any ends (their order on the wire is the
    // connections' race).
    let bodies = package_bodies();
    let sorted = |events: &[String]| {
        let mut events = events.to_vec();
        events.sort();
        events
    };
    assert_eq!(bodies.len(), 6, "{bodies:?}");
    assert_eq!(
        sorted(&bodies[..3]),
        sorted(&packages.map(|p| format!("start {p}"))),
        "{bodies:?}"
    );
    assert_eq!(
        sorted(&bodies[3..]),
        sorted(&packages.map(|p| format!("end {p}"))),
        "{bodies:?}"
    );
}

/// A Launchpad history over three series, as `configs/ubuntu-fleet.toml`
/// walks it: `linux` and every `linux-*` source package (a prefix query,
/// whose answer also holds a package that merely contains the text).
#[test]
fn a_fleet_plan_walks_every_linux_source_package_of_every_series_and_sums_them_per_series() {
    let mirror = Mirror::start(HashMap::new());
    let mut lp = FakeLaunchpad::new(&mirror);
    let mib = 1 << 20;
    let binary = |name: &str, arch: &str, size: usize, seed: u32| FakeBinary {
        name: name.into(),
        arch: arch.into(),
        bytes: support::noise(size, seed),
    };
    lp.upload(
        "xenial",
        "linux",
        "4.4.0-21.37",
        "Release",
        vec![binary(
            "linux-image-4.4.0-21-generic-dbgsym",
            "amd64",
            2 * mib,
            1,
        )],
    );
    lp.upload(
        "xenial",
        "linux-aws",
        "4.4.0-1001.10",
        "Release",
        vec![binary(
            "linux-image-4.4.0-1001-aws-dbgsym",
            "amd64",
            3 * mib,
            2,
        )],
    );
    lp.upload(
        "focal",
        "linux",
        "5.4.0-26.30",
        "Release",
        vec![
            binary(
                "linux-image-unsigned-5.4.0-26-generic-dbgsym",
                "amd64",
                4 * mib,
                3,
            ),
            binary(
                "linux-image-unsigned-5.4.0-26-generic-dbgsym",
                "arm64",
                5 * mib,
                4,
            ),
        ],
    );
    lp.upload(
        "focal",
        "linux-hwe-5.15",
        "5.15.0-33.34~20.04.1",
        "Release",
        vec![binary(
            "linux-image-unsigned-5.15.0-33-generic-dbgsym",
            "amd64",
            6 * mib,
            5,
        )],
    );
    // Contains `linux-` without starting with it: not a kernel source of the fleet.
    lp.upload(
        "focal",
        "backport-linux-tools",
        "5.4.0-99.1",
        "Release",
        vec![binary(
            "linux-image-unsigned-5.4.0-99-generic-dbgsym",
            "amd64",
            7 * mib,
            6,
        )],
    );
    lp.upload(
        "jammy",
        "linux",
        "5.15.0-25.25",
        "Release",
        vec![binary(
            "linux-image-unsigned-5.15.0-25-generic-dbgsym",
            "amd64",
            9 * mib,
            8,
        )],
    );
    lp.upload(
        "jammy",
        "linux-gcp",
        "5.15.0-1003.6",
        "Release",
        vec![binary(
            "linux-image-unsigned-5.15.0-1003-gcp-dbgsym",
            "amd64",
            8 * mib,
            7,
        )],
    );
    // A signed kernel's stub (linux-signed-*), matched by the prefix too:
    // skipped as a stub by the name of its own source package.
    lp.upload(
        "jammy",
        "linux-signed-gcp",
        "5.15.0-1003.6",
        "Release",
        vec![binary(
            "linux-image-5.15.0-1003-gcp-dbgsym",
            "amd64",
            2 * mib,
            9,
        )],
    );
    lp.answer_inexact("linux-");
    lp.install(&mirror, "Release");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("fleet.toml");
    std::fs::write(
        &config,
        r#"[[source]]
name = "fleet"
kind = "launchpad"
url = "env:KSURF_LAUNCHPAD_API"
series = ["xenial", "focal", "jammy"]
pockets = ["release"]
launchpad_sources = ["linux", "linux-*"]
arches = ["amd64", "arm64"]
revision = "all"
"#,
    )
    .unwrap();
    // `ksurf plan` into `ds`, with the API root in the environment or not.
    let plan = |api: Option<String>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ksurf"));
        cmd.args(["plan", "--config"])
            .arg(&config)
            .args(["--dataset", "ds"])
            .current_dir(dir.path())
            .env_remove("KSURF_THREADS")
            .env_remove("KSURF_LAUNCHPAD_API");
        if let Some(api) = api {
            cmd.env("KSURF_LAUNCHPAD_API", api);
        }
        cmd.output().unwrap()
    };
    let o = plan(Some(api_root(&mirror)));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stderr),
        "ksurf: skipped linux-image-5.15.0-1003-gcp-dbgsym 5.15.0-1003.6 (amd64, jammy): stub built by source linux-signed-gcp (signed kernels carry no debug image)\n"
    );
    let stdout = text(&o.stdout);
    let (table, rest) = stdout.split_once("\n\n").unwrap();
    assert_eq!(
        table,
        "\
IMAGE                           PACKAGE                                        VERSION                  SIZE  SOURCE  STATUS
ubuntu/4.4.0-21-generic/amd64   linux-image-4.4.0-21-generic-dbgsym            4.4.0-21.37           2.0 MiB  fleet   pending
ubuntu/4.4.0-1001-aws/amd64     linux-image-4.4.0-1001-aws-dbgsym              4.4.0-1001.10         3.0 MiB  fleet   pending
ubuntu/5.4.0-26-generic/amd64   linux-image-unsigned-5.4.0-26-generic-dbgsym   5.4.0-26.30           4.0 MiB  fleet   pending
ubuntu/5.4.0-26-generic/arm64   linux-image-unsigned-5.4.0-26-generic-dbgsym   5.4.0-26.30           5.0 MiB  fleet   pending
ubuntu/5.15.0-25-generic/amd64  linux-image-unsigned-5.15.0-25-generic-dbgsym  5.15.0-25.25          9.0 MiB  fleet   pending
ubuntu/5.15.0-33-generic/amd64  linux-image-unsigned-5.15.0-33-generic-dbgsym  5.15.0-33.34~20.04.1  6.0 MiB  fleet   pending
ubuntu/5.15.0-1003-gcp/amd64    linux-image-unsigned-5.15.0-1003-gcp-dbgsym    5.15.0-1003.6         8.0 MiB  fleet   pending
7 packages, 37.0 MiB; 0 done, 7 to fetch (37.0 MiB)"
    );
    let summary: Vec<&str> = rest.lines().collect();
    assert_eq!(summary.len(), 6, "{rest}");
    assert_eq!(
        summary[..5],
        [
            "SERIES  IMAGES      SIZE  PENDING  PENDING SIZE",
            "xenial       2   5.0 MiB        2       5.0 MiB",
            "focal        3  15.0 MiB        3      15.0 MiB",
            "jammy        2  17.0 MiB        2      17.0 MiB",
            "total        7  37.0 MiB        7      37.0 MiB",
        ]
    );
    assert!(summary[5].starts_with(
        "wrote ds/_plan/plan.json: 7 packages to fetch and extract, 0 already done (plan "
    ));
    // A source that cannot be discovered (its URL variable unset): exit 1,
    // and the plan already there stays as it was.
    let plan_file = dir.path().join("ds/_plan/plan.json");
    let before = std::fs::read(&plan_file).unwrap();
    let o = plan(None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).ends_with(
            "ksurf: error: 1 source could not be discovered: ds/_plan/plan.json not written\n"
        ),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(std::fs::read(&plan_file).unwrap(), before);
}
