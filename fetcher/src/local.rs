//! Discovery in a local directory of already-downloaded packages: every
//! `<package>_<version>_<arch>.deb` / `.ddeb` directly in it (not below),
//! recognised by its file name like an index entry (Ubuntu naming for
//! `-dbgsym`, Debian for `-dbg`), with the size from the file system and
//! the SHA-256 computed. Files that are not kernel debug packages are left
//! alone; stubs and meta packages are rejected by name and size (the
//! control file is not read).

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::candidate::{Candidate, Discovery, RejectedPackage};
use crate::config::SourceConfig;
use crate::naming::{judge, Distro, PackageFacts};
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
pub fn discover(source: &SourceConfig) -> Result<Discovery> {
    let Some(dir) = source.path.as_deref() else {
        return Ok(Discovery::default());
    };
    let io = |path: &Path, e: std::io::Error| Error::Io {
        path: path.to_owned(),
        action: "reading",
        source: e,
    };
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()
        .map_err(|e| io(dir, e))?;
    names.sort();
    let mut found = Discovery::default();
    let found_in = dir.display().to_string();
    for name in names {
        let Some((package, version, arch)) = parse_file_name(&name) else {
            continue;
        };
        let path = dir.join(&name);
        let meta = std::fs::metadata(&path).map_err(|e| io(&path, e))?;
        if !meta.is_file() {
            continue;
        }
        let distro = if package.ends_with("-dbgsym") {
            Distro::Ubuntu
        } else {
            Distro::Debian
        };
        let facts = PackageFacts {
            package: &package,
            source: None,
            size: Some(meta.len()),
            depends: None,
        };
        let kernel = match judge(distro, &facts) {
            Ok(None) => continue,
            Ok(Some(kernel)) => kernel,
            Err(reason) => {
                found.rejected.push(RejectedPackage {
                    source: source.name.clone(),
                    package,
                    version,
                    arch,
                    found_in: found_in.clone(),
                    reason,
                });
                continue;
            }
        };
        if !source.selectors.wants_arch(&arch) || !source.selectors.wants_kernel(&kernel) {
            continue;
        }
        let (size, sha256) = hash_file(&path)?;
        found.candidates.push(Candidate {
            source: source.name.clone(),
            kernel,
            arch,
            package,
            version,
            found_in: found_in.clone(),
            location: PackageLocation::File(path),
            size: Some(size),
            sha256: Some(sha256),
        });
    }
    Ok(found)
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
