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
