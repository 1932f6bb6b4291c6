//! A kernel's build configuration found beside its debug package in a
//! local directory: this module owns which files count and in which order
//! they are tried, and reads the chosen one (a companion package through
//! [`crate::unpack`], never a second package reader). Parsing the text is
//! the extractor's (`ksurf_extractor::kconfig`). It also names the
//! companion packages an archive source looks for
//! ([`remote_companion_names`]; chosen by [`crate::index::CompanionIndex`],
//! fetched by [`crate::download::fetch_companion`]).
//!
//! In the debug package's directory, for release `R` and architecture `A`:
//!
//! 1. the file `config-R` (a copy of `/boot/config-R`);
//! 2. else a companion package `<name>_<version>_A.deb` whose `<name>` is,
//!    in this order of preference, `linux-image-R` (Debian's signed image
//!    package), `linux-image-R-unsigned` (Debian's unsigned one),
//!    `linux-modules-R` (Ubuntu) or `linux-buildinfo-R` (Ubuntu); among
//!    several of one name the one with the debug package's version is
//!    taken, else the last by file name. Its `boot/config-R` member is the
//!    config.

use std::path::{Path, PathBuf};

use crate::local::parse_file_name;
use crate::{Error, Result};

/// A config found for one kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LocalConfig {
    /// A `config-<release>` file.
    File(PathBuf),
    /// A companion package holding `boot/config-<release>`.
    Package(PathBuf),
}

impl LocalConfig {
    /// The file's name (what `images.config_source` records after `file:`
    /// or `package:`).
    pub fn file_name(&self) -> String {
        let path = match self {
            LocalConfig::File(p) | LocalConfig::Package(p) => p,
        };
        path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }
}

/// The companion package names for `release`, most preferred first.
pub fn companion_names(release: &str) -> [String; 4] {
    [
        format!("linux-image-{release}"),
        format!("linux-image-{release}-unsigned"),
        format!("linux-modules-{release}"),
        format!("linux-buildinfo-{release}"),
    ]
}

/// The companion package names an archive source of `distro` looks for,
/// for kernel `release`: Debian's image packages `linux-image-<release>`
/// and `linux-image-<release>-unsigned` (both carry
/// `boot/config-<release>`), Ubuntu's `linux-modules-<release>` (which
/// carries `boot/config-<release>`) and `linux-buildinfo-<release>` (which
/// carries the same text as `usr/lib/linux/<release>/config`). Which one
/// is fetched is decided by size, not by this order.
pub fn remote_companion_names(distro: crate::naming::Distro, release: &str) -> [String; 2] {
    match distro {
        crate::naming::Distro::Debian => [
            format!("linux-image-{release}"),
            format!("linux-image-{release}-unsigned"),
        ],
        crate::naming::Distro::Ubuntu => [
            format!("linux-modules-{release}"),
            format!("linux-buildinfo-{release}"),
        ],
    }
}

/// The config for kernel `release` on `arch` in `dir` (see the module
/// documentation for the order), `None` when there is none. `version` is
/// the debug package's version, preferred among companion packages.
pub fn find(dir: &Path, release: &str, arch: &str, version: &str) -> Result<Option<LocalConfig>> {
    let io = |e: std::io::Error| Error::Io {
        path: dir.to_owned(),
        action: "reading",
        source: e,
    };
    let file = dir.join(format!("config-{release}"));
    if file.is_file() {
        return Ok(Some(LocalConfig::File(file)));
    }
    let names = companion_names(release);
    // (name rank, not the debug package's version, file name)
    let mut best: Option<(usize, bool, String)> = None;
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if !file_name.ends_with(".deb") {
            continue;
        }
        let Some((package, package_version, package_arch)) = parse_file_name(&file_name) else {
            continue;
        };
        let Some(rank) = names.iter().position(|n| *n == package) else {
            continue;
        };
        if package_arch != arch || !entry.path().is_file() {
            continue;
        }
        let key = (rank, package_version != version, file_name);
        let better = best.as_ref().is_none_or(|b| {
            (key.0, key.1) < (b.0, b.1) || ((key.0, key.1) == (b.0, b.1) && key.2 > b.2)
        });
        if better {
            best = Some(key);
        }
    }
    Ok(best.map(|(_, _, name)| LocalConfig::Package(dir.join(name))))
}

/// The text of `config`: the file's bytes, or the package's
/// `boot/config-<release>` unpacked into a temporary directory under
/// `work_dir` (removed afterwards). A package without that member, or
/// one the unpacker refuses, is an error naming it.
pub fn read(config: &LocalConfig, release: &str, work_dir: &Path) -> Result<Vec<u8>> {
    match config {
        LocalConfig::File(path) => std::fs::read(path).map_err(|e| Error::Io {
            path: path.clone(),
            action: "reading",
            source: e,
        }),
        LocalConfig::Package(package) => {
            std::fs::create_dir_all(work_dir).map_err(|e| Error::Io {
                path: work_dir.to_owned(),
                action: "creating",
                source: e,
            })?;
            let tmp = tempfile::Builder::new()
                .prefix(".config-")
                .tempdir_in(work_dir)
                .map_err(|e| Error::Io {
                    path: work_dir.to_owned(),
                    action: "creating a directory in",
                    source: e,
                })?;
            let unpacked = crate::unpack::unpack_config_file(package, tmp.path())?;
            let Some(file) = unpacked.vmlinux.iter().find(|v| v.release == release) else {
                let found: Vec<&str> = unpacked.vmlinux.iter().map(|v| v.entry.as_str()).collect();
                return Err(Error::ConfigRelease {
                    label: package.display().to_string(),
                    expected: release.to_owned(),
                    found: found.join(", "),
                });
            };
            std::fs::read(&file.path).map_err(|e| Error::Io {
                path: file.path.clone(),
                action: "reading",
                source: e,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: &str = "6.1.0-57-cloud-amd64";

    fn dir_with(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        dir
    }

    fn found(dir: &tempfile::TempDir) -> Option<String> {
        find(dir.path(), R, "amd64", "6.1.192-3")
            .unwrap()
            .map(|c| match c {
                LocalConfig::File(p) => {
                    format!("file {}", p.file_name().unwrap().to_string_lossy())
                }
                LocalConfig::Package(p) => {
                    format!("package {}", p.file_name().unwrap().to_string_lossy())
                }
            })
    }

    #[test]
    fn a_config_file_comes_before_any_package() {
        let dir = dir_with(&[
            "linux-image-6.1.0-57-cloud-amd64_6.1.192-3_amd64.deb",
            "config-6.1.0-57-cloud-amd64",
        ]);
        assert_eq!(
            found(&dir).as_deref(),
            Some("file config-6.1.0-57-cloud-amd64")
        );
    }

    #[test]
    fn packages_by_name_then_version_then_file_name() {
        let dir = dir_with(&[
            "linux-buildinfo-6.1.0-57-cloud-amd64_6.1.192-3_amd64.deb",
            "linux-modules-6.1.0-57-cloud-amd64_6.1.192-3_amd64.deb",
            "linux-image-6.1.0-57-cloud-amd64-unsigned_6.1.192-3_amd64.deb",
        ]);
        assert_eq!(
            found(&dir).as_deref(),
            Some("package linux-image-6.1.0-57-cloud-amd64-unsigned_6.1.192-3_amd64.deb")
        );
        let dir = dir_with(&[
            "linux-image-6.1.0-57-cloud-amd64_6.1.192-4_amd64.deb",
            "linux-image-6.1.0-57-cloud-amd64_6.1.192-3_amd64.deb",
            "linux-image-6.1.0-57-cloud-amd64_6.1.192-2_amd64.deb",
        ]);
        assert_eq!(
            found(&dir).as_deref(),
            Some("package linux-image-6.1.0-57-cloud-amd64_6.1.192-3_amd64.deb")
        );
        let dir = dir_with(&[
            "linux-image-6.1.0-57-cloud-amd64_6.1.192-1_amd64.deb",
            "linux-image-6.1.0-57-cloud-amd64_6.1.192-2_amd64.deb",
        ]);
        assert_eq!(
            found(&dir).as_deref(),
            Some("package linux-image-6.1.0-57-cloud-amd64_6.1.192-2_amd64.deb")
        );
        let dir = dir_with(&["linux-buildinfo-6.1.0-57-cloud-amd64_1_amd64.deb"]);
        assert_eq!(
            found(&dir).as_deref(),
            Some("package linux-buildinfo-6.1.0-57-cloud-amd64_1_amd64.deb")
        );
    }

    #[test]
    fn other_kernels_arches_and_packages_are_not_companions() {
        let dir = dir_with(&[
            "linux-image-6.1.0-57-cloud-amd64-dbg_6.1.192-3_amd64.deb",
            "linux-image-6.1.0-57-cloud-amd64_6.1.192-3_arm64.deb",
            "linux-image-6.1.0-56-cloud-amd64_6.1.192-2_amd64.deb",
            "linux-headers-6.1.0-57-cloud-amd64_6.1.192-3_amd64.deb",
            "linux-image-6.1.0-57-cloud-amd64_6.1.192-3_amd64.ddeb",
            "config-6.1.0-56-cloud-amd64",
        ]);
        assert_eq!(found(&dir), None);
        // A directory named like a config file is not one.
        std::fs::create_dir(dir.path().join("config-6.1.0-57-cloud-amd64")).unwrap();
        assert_eq!(found(&dir), None);
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_it() {
        let err = find(Path::new("/nonexistent/ksurf-dir"), R, "amd64", "1").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/nonexistent/ksurf-dir: reading: "),
            "{err}"
        );
    }

    #[test]
    fn reads_a_config_file_and_names_the_source() {
        let dir = dir_with(&[]);
        let path = dir.path().join("config-6.1.0-57-cloud-amd64");
        std::fs::write(&path, b"CONFIG_A=y\n").unwrap();
        let config = LocalConfig::File(path);
        assert_eq!(config.file_name(), "config-6.1.0-57-cloud-amd64");
        assert_eq!(read(&config, R, dir.path()).unwrap(), b"CONFIG_A=y\n");
    }
}
