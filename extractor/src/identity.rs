//! Image identity from the vmlinux itself (its `linux_banner`, ELF machine
//! and file name), overridable piece by piece from the command line.

use std::path::Path;

use ksurf_dataset::ImageId;

use crate::elf::ParsedElf;
use crate::{Error, Result};

/// Identity fields given explicitly; each one wins over what the ELF says.
#[derive(Clone, Debug, Default)]
pub struct IdentityOverrides {
    pub distro: Option<String>,
    pub release: Option<String>,
    pub flavor: Option<String>,
    pub arch: Option<String>,
}

/// The kernel release from a banner: `Linux version <release> (...`.
pub fn release_from_banner(banner: &str) -> Option<&str> {
    banner
        .strip_prefix("Linux version ")?
        .split_whitespace()
        .next()
}

/// The release from a file name such as `vmlinux-6.1.0-47-cloud-amd64`.
pub fn release_from_file_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let release = name.strip_prefix("vmlinux-")?;
    let release = release.strip_suffix(".debug").unwrap_or(release);
    (!release.is_empty()).then(|| release.to_owned())
}

/// The flavor part of a release: `5.4.0-26-generic` → `generic`,
/// `6.1.0-47-cloud-amd64` → `cloud-amd64`, `6.12.107+deb13-rt-arm64` → `rt-arm64`.
pub fn flavor_from_release(release: &str) -> Option<String> {
    let mut parts = release.split('-').skip(1).peekable();
    if parts
        .peek()
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        parts.next();
    }
    let flavor: Vec<&str> = parts.collect();
    (!flavor.is_empty()).then(|| flavor.join("-"))
}

/// The distribution a banner or release names.
pub fn distro_from(banner: Option<&str>, release: &str) -> Option<&'static str> {
    let banner = banner.unwrap_or("");
    if banner.contains("Ubuntu") {
        Some("ubuntu")
    } else if banner.contains("Debian") || release.contains("+deb") {
        Some("debian")
    } else {
        None
    }
}

/// Works out (image id, flavor) for `path`.
pub fn identify_image(
    path: &Path,
    elf: &ParsedElf<'_>,
    overrides: &IdentityOverrides,
) -> Result<(ImageId, String)> {
    let fail = |message: String| Error::Identity {
        path: path.to_owned(),
        message,
    };
    let release = overrides
        .release
        .clone()
        .or_else(|| {
            elf.banner
                .as_deref()
                .and_then(release_from_banner)
                .map(str::to_owned)
        })
        .or_else(|| elf.uts_release.clone())
        .or_else(|| release_from_file_name(path))
        .ok_or_else(|| {
            fail(
                "no linux_banner or init_uts_ns in the ELF and no release in the file name; pass --release".into(),
            )
        })?;
    let distro = overrides
        .distro
        .clone()
        .or_else(|| distro_from(elf.banner.as_deref(), &release).map(str::to_owned))
        .ok_or_else(|| {
            fail(format!(
                "cannot tell the distribution of release {release}; pass --distro"
            ))
        })?;
    let arch = overrides
        .arch
        .clone()
        .or_else(|| elf.distro_arch.map(str::to_owned))
        .ok_or_else(|| {
            fail(format!(
                "no distro architecture for ELF machine {}; pass --arch",
                elf.machine
            ))
        })?;
    let flavor = overrides
        .flavor
        .clone()
        .or_else(|| flavor_from_release(&release))
        .ok_or_else(|| {
            fail(format!(
                "cannot tell the flavor of release {release}; pass --flavor"
            ))
        })?;
    let id = ImageId::new(&distro, &release, &arch).map_err(|e| fail(e.to_string()))?;
    Ok((id, flavor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_release_and_flavor() {
        let banner = "Linux version 6.1.0-47-cloud-amd64 (kernel-team@example.invalid) (gcc-12) #1 SMP Debian 6.1.170-3";
        assert_eq!(release_from_banner(banner), Some("6.1.0-47-cloud-amd64"));
        assert_eq!(
            flavor_from_release("6.1.0-47-cloud-amd64").as_deref(),
            Some("cloud-amd64")
        );
        assert_eq!(
            flavor_from_release("5.4.0-26-generic").as_deref(),
            Some("generic")
        );
        assert_eq!(
            flavor_from_release("4.15.0-1009-aws").as_deref(),
            Some("aws")
        );
        assert_eq!(
            flavor_from_release("6.12.107+deb13-rt-arm64").as_deref(),
            Some("rt-arm64")
        );
        assert_eq!(
            flavor_from_release("6.12.107+deb13-amd64").as_deref(),
            Some("amd64")
        );
        assert_eq!(flavor_from_release("6.1.0"), None);
        assert_eq!(
            distro_from(Some(banner), "6.1.0-47-cloud-amd64"),
            Some("debian")
        );
        assert_eq!(
            distro_from(
                Some("Linux version 5.4.0-26-generic (buildd@lgw01) #30-Ubuntu SMP"),
                "5.4.0-26-generic"
            ),
            Some("ubuntu")
        );
        assert_eq!(distro_from(None, "6.12.107+deb13-amd64"), Some("debian"));
        assert_eq!(
            release_from_file_name(Path::new("/x/vmlinux-5.4.0-26-generic")).as_deref(),
            Some("5.4.0-26-generic")
        );
    }
}
