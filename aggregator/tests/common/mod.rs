//! The aggregator's fixture dataset: the extractor's mini kernel and its
//! later versions (`tests/fixtures/`), extracted under chosen identities.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use ksurf_dataset::Dataset;
use ksurf_extractor::{extract, tables, IdentityOverrides};

/// (ELF, release, flavor, arch) of every fixture image (distro `mini`).
pub const IMAGES: [(&str, &str, &str, &str); 15] = [
    (
        "extractor/tests/fixtures/bin/x86_64-dwarf5.elf",
        "4.4.0-10-mini",
        "mini",
        "amd64",
    ),
    (
        "aggregator/tests/fixtures/bin/v2-x86_64.elf",
        "4.10.0-20-mini",
        "mini",
        "amd64",
    ),
    (
        "aggregator/tests/fixtures/bin/v3-x86_64.elf",
        "5.4.0-30-mini",
        "mini",
        "amd64",
    ),
    (
        "aggregator/tests/fixtures/bin/v3-x86_64.elf",
        "5.4.0-31-mini",
        "mini",
        "amd64",
    ),
    (
        "aggregator/tests/fixtures/bin/v3-aarch64.elf",
        "5.4.0-30-mini",
        "mini",
        "arm64",
    ),
    (
        "aggregator/tests/fixtures/bin/v3-riscv64.elf",
        "5.4.0-30-mini",
        "mini",
        "riscv64",
    ),
    (
        "aggregator/tests/fixtures/bin/v3-rt-x86_64.elf",
        "5.4.0-30-mini-rt",
        "mini-rt",
        "amd64",
    ),
    (
        "aggregator/tests/fixtures/bin/v3-x86_64.elf",
        "5.4.0-30-mini-cloud",
        "mini-cloud",
        "amd64",
    ),
    // The interface kinds' images: a release and its next one (the
    // fixtures' -DKSURF_V2 builds), each in a flavor of its own so that the
    // function and type groups above do not select them.
    (
        "extractor/tests/fixtures/interfaces/bin/x86_64.elf",
        "6.1.0-1-iface",
        "iface",
        "amd64",
    ),
    (
        "extractor/tests/fixtures/interfaces/bin/v2-x86_64.elf",
        "6.2.0-1-iface",
        "iface",
        "amd64",
    ),
    (
        "extractor/tests/fixtures/interfaces/bin/v2-aarch64.elf",
        "6.2.0-1-iface",
        "iface",
        "arm64",
    ),
    (
        "extractor/tests/fixtures/kfuncs/kfuncs.elf",
        "6.1.0-1-kf",
        "kf",
        "amd64",
    ),
    (
        "extractor/tests/fixtures/kfuncs/v2-kfuncs.elf",
        "6.2.0-1-kf",
        "kf",
        "amd64",
    ),
    // The config kind's images: one release in two flavors, each carrying
    // its build configuration (CONFIG_IKCONFIG).
    (
        "extractor/tests/fixtures/kconfig/ikconfig.elf",
        "6.1.0-1-cfg",
        "cfg",
        "amd64",
    ),
    (
        "extractor/tests/fixtures/kconfig/ikconfig-rt.elf",
        "6.1.0-1-cfg-rt",
        "cfg-rt",
        "amd64",
    ),
];

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn config_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/groups.toml")
}

/// The groups of the interface and config kinds' images.
pub fn interface_config_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/interface-groups.toml")
}

/// Extracts the fixture images listed by index into a dataset at `dir`.
pub fn extract_images(dir: &Path, which: &[usize]) -> Dataset {
    let dataset = Dataset::open_local(dir).unwrap();
    for &i in which {
        let (elf, release, flavor, arch) = IMAGES[i];
        let overrides = IdentityOverrides {
            distro: Some("mini".to_owned()),
            release: Some(release.to_owned()),
            flavor: Some(flavor.to_owned()),
            arch: Some(arch.to_owned()),
        };
        let x = extract(&repo_root().join(elf), &overrides).unwrap();
        let batches = tables::image_tables(&x).unwrap();
        dataset.write_image(&x.info.id, &batches).unwrap();
    }
    dataset
}

/// Every fixture image, extracted into `dir`.
pub fn fixture_dataset(dir: &Path) -> Dataset {
    extract_images(dir, &(0..IMAGES.len()).collect::<Vec<_>>())
}

/// Every file below `dir`, relative, sorted, with its bytes.
pub fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
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
