//! Image identity: which kernel build a set of table rows describes.
//!
//! An image is keyed by (distro, release, arch), e.g. `debian` /
//! `6.1.0-47-cloud-amd64` / `amd64`; those three values are the hive
//! partition of every per-image table. [`ImageInfo`] carries the rest of the
//! identity (flavor, build-id, content hash) stored in the `images` table.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The key of one kernel image in the dataset.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ImageId {
    pub distro: String,
    pub release: String,
    pub arch: String,
}

impl ImageId {
    /// Builds an id, refusing values that could not be a single path segment.
    pub fn new(distro: &str, release: &str, arch: &str) -> Result<Self> {
        for (what, value) in [("distro", distro), ("release", release), ("arch", arch)] {
            validate_segment(what, value)?;
        }
        Ok(ImageId {
            distro: distro.to_owned(),
            release: release.to_owned(),
            arch: arch.to_owned(),
        })
    }
}

fn validate_segment(what: &str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value != "."
        && value != ".."
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+' | b'~'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidImage(format!(
            "{what} {value:?} must be 1-128 characters of [A-Za-z0-9._+~-]"
        )))
    }
}

/// `distro/release/arch`, the form users type after `--image`.
impl fmt::Display for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.distro, self.release, self.arch)
    }
}

impl FromStr for ImageId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [distro, release, arch] => ImageId::new(distro, release, arch),
            _ => Err(Error::InvalidImage(format!(
                "{s:?} is not of the form distro/release/arch"
            ))),
        }
    }
}

/// Everything the `images` table records about one image besides its key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    pub id: ImageId,
    /// Kernel flavor, e.g. `generic`, `aws`, `cloud-amd64`, `rt-arm64`.
    pub flavor: String,
    /// GNU build-id of the vmlinux, lowercase hex, when it has one.
    pub build_id: Option<String>,
    /// SHA-256 of the vmlinux file, lowercase hex.
    pub vmlinux_sha256: String,
    pub vmlinux_size: u64,
    /// SHA-256 of the package the vmlinux was unpacked from, lowercase hex;
    /// `None` when a bare vmlinux was extracted. The pipeline's incremental
    /// key, with the schema version.
    pub package_sha256: Option<String>,
    /// The `linux_banner` string (`Linux version ...`), when found.
    pub banner: Option<String>,
    /// ELF machine name, e.g. `EM_X86_64`.
    pub elf_machine: String,
    pub elf_class: u8,
    pub big_endian: bool,
}
