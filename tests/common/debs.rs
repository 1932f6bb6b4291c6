//! Kernel debug packages for pipeline tests: real `.deb` files built with
//! `dpkg-deb` (xz) around the fixture mini kernels, named as Debian names
//! them, in a local directory a `kind = "local"` source reads.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// (fixture ELF under the repo, Debian release, Debian arch) of the
/// pipeline's fixture packages: three versions, two arches, two flavors.
pub const PACKAGES: [(&str, &str, &str); 5] = [
    (
        "extractor/tests/fixtures/bin/x86_64-dwarf5.elf",
        "4.4.0-10-mini",
        "amd64",
    ),
    (
        "aggregator/tests/fixtures/bin/v2-x86_64.elf",
        "4.10.0-20-mini",
        "amd64",
    ),
    (
        "aggregator/tests/fixtures/bin/v3-x86_64.elf",
        "5.4.0-30-mini",
        "amd64",
    ),
    (
        "aggregator/tests/fixtures/bin/v3-aarch64.elf",
        "5.4.0-30-mini",
        "arm64",
    ),
    (
        "aggregator/tests/fixtures/bin/v3-rt-x86_64.elf",
        "5.4.0-30-mini-rt",
        "amd64",
    ),
];

/// Comparison groups over [`PACKAGES`] (distro `debian`).
pub const GROUPS: &str = r#"
[[group]]
name = "Regular"
mode = "consecutive"
distro = "debian"
arch = "amd64"
flavor = "mini"

[[group]]
name = "Arch"
mode = "baseline"
baseline = "debian/5.4.0-30-mini/amd64"
release = "5.4.0-30-mini"

[[group]]
name = "Flavor"
mode = "baseline"
baseline = "debian/5.4.0-30-mini/amd64"
release = "5.4.0-30-*"
arch = "amd64"
"#;

/// A config reading the packages in `debs`, with [`GROUPS`].
pub fn config(debs: &Path) -> String {
    format!(
        "[[source]]\nname = \"local\"\nkind = \"local\"\npath = \"{}\"\nflavors = [\"*\"]\nrevision = \"all\"\n{GROUPS}",
        debs.display()
    )
}

/// Builds `linux-image-<release>-dbg_6.1.1-1_<arch>.deb` in `debs` holding
/// `vmlinux` as `usr/lib/debug/boot/vmlinux-<release>`, padded with 1.5 MiB
/// of incompressible (but fixed) bytes so it is not taken for a stub.
pub fn build_deb(debs: &Path, release: &str, arch: &str, vmlinux: &[u8]) -> PathBuf {
    build_deb_with_modules(debs, release, arch, vmlinux, &[])
}

/// [`build_deb`], with `modules` as `(path, bytes)` below
/// `usr/lib/debug/lib/modules/<release>/` (`kernel/fs/xfs/xfs.ko`).
pub fn build_deb_with_modules(
    debs: &Path,
    release: &str,
    arch: &str,
    vmlinux: &[u8],
    modules: &[(&str, &[u8])],
) -> PathBuf {
    let root = tempfile::tempdir().unwrap();
    let boot = root.path().join("usr/lib/debug/boot");
    std::fs::create_dir_all(&boot).unwrap();
    std::fs::write(boot.join(format!("vmlinux-{release}")), vmlinux).unwrap();
    for (path, bytes) in modules {
        let file = root
            .path()
            .join(format!("usr/lib/debug/lib/modules/{release}"))
            .join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, bytes).unwrap();
    }
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let pad: Vec<u8> = (0..(3 << 19))
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::create_dir_all(root.path().join("usr/share/doc")).unwrap();
    std::fs::write(root.path().join("usr/share/doc/pad"), pad).unwrap();
    std::fs::create_dir_all(root.path().join("DEBIAN")).unwrap();
    std::fs::write(
        root.path().join("DEBIAN/control"),
        format!(
            "Package: linux-image-{release}-dbg\nVersion: 6.1.1-1\nArchitecture: {arch}\n\
             Source: linux\nMaintainer: ksurf tests <tests@ksurf.invalid>\n\
             Description: Debug symbols for linux-image-{release}\n"
        ),
    )
    .unwrap();
    let deb = debs.join(format!("linux-image-{release}-dbg_6.1.1-1_{arch}.deb"));
    let o = Command::new("dpkg-deb")
        .args(["-Zxz", "--root-owner-group", "--build"])
        .arg(root.path())
        .arg(&deb)
        .env("SOURCE_DATE_EPOCH", "1736812800")
        .output()
        .expect("running dpkg-deb");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    deb
}

/// Builds the image package `linux-image-<release>_6.1.1-1_<arch>.deb` in
/// `debs`, holding `config` as `boot/config-<release>` (a companion of the
/// debug package: where `ksurf run` finds the kernel's build config).
pub fn build_image_deb(debs: &Path, release: &str, arch: &str, config: &[u8]) -> PathBuf {
    let root = tempfile::tempdir().unwrap();
    let boot = root.path().join("boot");
    std::fs::create_dir_all(&boot).unwrap();
    std::fs::write(boot.join(format!("config-{release}")), config).unwrap();
    std::fs::write(boot.join(format!("System.map-{release}")), b"0 T _text\n").unwrap();
    std::fs::create_dir_all(root.path().join("DEBIAN")).unwrap();
    std::fs::write(
        root.path().join("DEBIAN/control"),
        format!(
            "Package: linux-image-{release}\nVersion: 6.1.1-1\nArchitecture: {arch}\n\
             Source: linux\nMaintainer: ksurf tests <tests@ksurf.invalid>\n\
             Description: Linux {release}\n"
        ),
    )
    .unwrap();
    let deb = debs.join(format!("linux-image-{release}_6.1.1-1_{arch}.deb"));
    let o = Command::new("dpkg-deb")
        .args(["-Zxz", "--root-owner-group", "--build"])
        .arg(root.path())
        .arg(&deb)
        .env("SOURCE_DATE_EPOCH", "1736812800")
        .output()
        .expect("running dpkg-deb");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    deb
}

/// Builds every package of [`PACKAGES`] in `debs`.
pub fn build_all(debs: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(debs).unwrap();
    PACKAGES
        .iter()
        .map(|(elf, release, arch)| {
            let bytes = std::fs::read(repo_root().join(elf)).unwrap();
            build_deb(debs, release, arch, &bytes)
        })
        .collect()
}

/// Every file below `dir` whose path has no segment starting with `.`,
/// relative, sorted.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_owned());
            }
        }
    }
    out.sort();
    out
}
