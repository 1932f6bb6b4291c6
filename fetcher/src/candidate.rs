//! What discovery finds in one source before the plan selects from it:
//! kernel debug packages ([`Candidate`]) and the look-alikes it rejected
//! ([`RejectedPackage`]), in the order found.

use crate::naming::{KernelName, Rejection};
use crate::plan::{Companion, PackageLocation};

/// A kernel debug package found in a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The `[[source]]` it was found in.
    pub source: String,
    pub kernel: KernelName,
    pub arch: String,
    pub package: String,
    pub version: String,
    /// Where it was listed: an archive suite (`focal-updates`), a Launchpad
    /// series and pocket (`focal Release`), or a directory.
    pub found_in: String,
    pub location: PackageLocation,
    pub size: Option<u64>,
    /// Lowercase hex.
    pub sha256: Option<String>,
    /// The package carrying its build configuration, when the archive
    /// lists one (see [`crate::index::CompanionIndex`]).
    pub companion: Option<Companion>,
}

/// A package that looked like a kernel debug package but is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedPackage {
    pub source: String,
    pub package: String,
    pub version: String,
    pub arch: String,
    pub found_in: String,
    pub reason: Rejection,
}

/// The result of discovering one index, API walk or directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    pub candidates: Vec<Candidate>,
    pub rejected: Vec<RejectedPackage>,
    /// What went wrong that costs only the kernels' configs (a companion
    /// archive's index that could not be read): reported, not failures.
    pub warnings: Vec<String>,
}

impl Discovery {
    pub fn extend(&mut self, other: Discovery) {
        self.candidates.extend(other.candidates);
        self.rejected.extend(other.rejected);
        self.warnings.extend(other.warnings);
    }
}

/// Whether `s` is a SHA-256 in hex (either case).
pub(crate) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}
