//! Discovery in a local directory of already-downloaded packages: every
//! `<package>_<version>_<arch>.deb` / `.ddeb` directly in it (not below)
//! whose file name looks like a kernel debug package (`linux-image-…-dbg`,
//! `…-dbgsym`) is judged by its own control file (read from the package by
//! [`crate::package_control`]: `Package`, `Version`, `Architecture`,
//! `Source`, `Depends`) and its size, with the rules the index path applies
//! ([`crate::naming::judge`]): signed stubs, packages that only depend on
//! the real one and meta packages are rejected whatever the file is called.
//! Planned files get their SHA-256 computed. Other files are left alone; a
//! file that is not a readable package is an error naming it, and does not
//! stop the others.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::candidate::{Candidate, Discovery, RejectedPackage};
use crate::config::SourceConfig;
use crate::naming::{is_debug_package_name, judge, source_name, Distro, PackageFacts};
use crate::package_control::read_control_file;
use crate::plan::PackageLocation;
use crate::{Error, Result};

/// The parts of a Debian package file name, the version's `%3a` (an
/// epoch's colon as `dpkg-name` writes it) decoded.
pub fn parse_file_name(file: &str) -> Option<(String, String, String)> {
    let stem = file
        .strip_suffix(".ddeb")
        .or_else(|| file.strip_suffix(".deb"))?;
    let mut parts = stem.split('_');
    let (package, version, arch) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || package.is_empty() || version.is_empty() || arch.is_empty() {
        return None;
    }
    Some((
        package.to_owned(),
        version.replace("%3a", ":").replace("%3A", ":"),
        arch.to_owned(),
    ))
}

/// Discovers the packages in the source's directory, in file name order.
/// A file that cannot be read (or whose control file cannot) is an error
/// of its own; the others are still discovered.
pub fn discover(source: &SourceConfig) -> (Discovery, Vec<Error>) {
    let mut found = Discovery::default();
    let mut errors = Vec::new();
    let Some(dir) = source.path.as_deref() else {
        return (found, errors);
    };
    let io = |path: &Path, e: std::io::Error| Error::Io {
        path: path.to_owned(),
        action: "reading",
        source: e,
    };
    let names: std::io::Result<Vec<String>> = std::fs::read_dir(dir).and_then(|entries| {
        entries
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect()
    });
    let mut names = match names {
        Ok(names) => names,
        Err(e) => {
            errors.push(io(dir, e));
            return (found, errors);
        }
    };
    names.sort();
    let found_in = dir.display().to_string();
    for name in names {
        let Some((file_package, _, _)) = parse_file_name(&name) else {
            continue;
        };
        if !is_debug_package_name(&file_package) {
            continue;
        }
        let path = dir.join(&name);
        match discover_file(source, &path, &name, &found_in) {
            Ok(Found::Candidate(c)) => found.candidates.push(*c),
            Ok(Found::Rejected(r)) => found.rejected.push(r),
            Ok(Found::Nothing) => {}
            Err(e) => errors.push(e),
        }
    }
    (found, errors)
}

enum Found {
    Candidate(Box<Candidate>),
    Rejected(RejectedPackage),
    Nothing,
}

/// Judges one file by its control file (Package, Version, Architecture,
/// Source, Depends) and its size, with the rules the index path applies.
fn discover_file(source: &SourceConfig, path: &Path, name: &str, found_in: &str) -> Result<Found> {
    let io = |e| Error::Io {
        path: path.to_owned(),
        action: "reading",
        source: e,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Ok(Found::Nothing);
    }
    let label = path.display().to_string();
    let text = read_control_file(path)?;
    let control_label = format!("{label}: control");
    let paragraphs = crate::control::parse(&text, &control_label)?;
    let [control] = &paragraphs[..] else {
        return Err(Error::Index {
            label: control_label,
            line: 0,
            message: format!("{} paragraphs, expected one", paragraphs.len()),
        });
    };
    let field = |key: &str| {
        control.get(key).ok_or_else(|| Error::Index {
            label: control_label.clone(),
            line: 0,
            message: format!("no {key} field"),
        })
    };
    let (package, version, arch) = (field("Package")?, field("Version")?, field("Architecture")?);
    if parse_file_name(name).is_some_and(|(p, _, _)| p != package) {
        tracing::debug!(
            file = name,
            package,
            "file name and control file disagree on the package; judged by the control file"
        );
    }
    let distro = if package.ends_with("-dbgsym") {
        Distro::Ubuntu
    } else {
        Distro::Debian
    };
    let facts = PackageFacts {
        package,
        source: control.get("Source").map(source_name),
        size: Some(meta.len()),
        depends: control.get("Depends"),
    };
    let kernel = match judge(distro, &facts) {
        Ok(None) => return Ok(Found::Nothing),
        Ok(Some(kernel)) => kernel,
        Err(reason) => {
            return Ok(Found::Rejected(RejectedPackage {
                source: source.name.clone(),
                package: package.to_owned(),
                version: version.to_owned(),
                arch: arch.to_owned(),
                found_in: found_in.to_owned(),
                reason,
            }))
        }
    };
    if !source.selectors.wants_arch(arch) || !source.selectors.wants_kernel(&kernel) {
        return Ok(Found::Nothing);
    }
    let (size, sha256) = hash_file(path)?;
    Ok(Found::Candidate(Box::new(Candidate {
        source: source.name.clone(),
        kernel,
        arch: arch.to_owned(),
        package: package.to_owned(),
        version: version.to_owned(),
        found_in: found_in.to_owned(),
        location: PackageLocation::File(path.to_owned()),
        size: Some(size),
        sha256: Some(sha256),
        companion: None,
    })))
}

/// Size and lowercase-hex SHA-256 of a file, read in 1 MiB blocks.
pub fn hash_file(path: &Path) -> Result<(u64, String)> {
    let io = |e| Error::Io {
        path: path.to_owned(),
        action: "reading",
        source: e,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    let digest = hasher.finalize();
    Ok((size, digest.iter().map(|b| format!("{b:02x}")).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(
            parse_file_name("linux-image-6.1.0-47-cloud-amd64-dbg_6.1.170-3_amd64.deb"),
            Some((
                "linux-image-6.1.0-47-cloud-amd64-dbg".into(),
                "6.1.170-3".into(),
                "amd64".into()
            ))
        );
        assert_eq!(
            parse_file_name(
                "linux-image-unsigned-5.4.0-26-generic-dbgsym_1%3a5.4.0-26.30_amd64.ddeb"
            ),
            Some((
                "linux-image-unsigned-5.4.0-26-generic-dbgsym".into(),
                "1:5.4.0-26.30".into(),
                "amd64".into()
            ))
        );
        for bad in [
            "x.deb",
            "a_b.deb",
            "a_b_c_d.deb",
            "a_b_c.tar",
            "_1_amd64.deb",
        ] {
            assert_eq!(parse_file_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn hashes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            hash_file(&p).unwrap(),
            (
                3,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".into()
            )
        );
    }
}
