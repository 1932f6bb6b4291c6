//! The fetch plan: which package to fetch for each selected image. Built
//! from what discovery found in every `[[source]]`: the source's selectors
//! (arches, flavors, versions, releases) pick candidates; the same package
//! version listed in several pockets or suites is planned once (from the
//! first suite in config order); when several package versions carry one
//! release (a re-upload with an unchanged ABI) the highest version is the
//! image's; the revision policy keeps the first, the latest or all ABI
//! revisions of each kernel version (distro, arch, flavor, `major.minor`);
//! an image found by two sources comes from the first source in the config.
//! The order is deterministic: distro, release (numbers compared as
//! numbers), arch.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;

use ksurf_dataset::ImageId;

use crate::candidate::{Candidate, Discovery, RejectedPackage};
use crate::config::{FetchConfig, RevisionPolicy};
use crate::{Error, Result};

/// One package to fetch, everything the download step needs. Serialized
/// into the distributed run's work list (`_plan/plan.json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlannedPackage {
    /// distro/release/arch, release incl. flavor.
    pub image: ImageId,
    /// generic, aws, cloud-amd64, rt-arm64 …
    pub flavor: String,
    /// Binary package name.
    pub package: String,
    /// Package version.
    pub version: String,
    /// The `[[source]]` name it came from.
    pub source: String,
    /// Where to get it.
    pub location: PackageLocation,
    /// From the index / Launchpad / file.
    pub size: Option<u64>,
    /// Lowercase hex; from the index / Launchpad / file.
    pub sha256: Option<String>,
    /// The smallest package of the same archive that carries the kernel's
    /// build configuration (see [`Companion`]); `None` for local and
    /// Launchpad packages, and when the archive lists none. Absent from
    /// plans written before it existed (`serde(default)`), and left out of
    /// the JSON when `None`, so those plans read and write unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub companion: Option<Companion>,
    /// Unpack the package's kernel modules with its vmlinux (the source's
    /// `modules` key; [`crate::unpack::UnpackOptions::modules`]). Absent
    /// from plans written before it existed, which read as `false` (what
    /// they were made for), and left out of the JSON when `false`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub modules: bool,
    /// When the vmlinux has no `.BTF` section, encode the image's BTF from
    /// its DWARF with `pahole` (the source's `btf_from_dwarf` key). Absent
    /// from plans written before it existed, which read as `false`, and
    /// left out of the JSON when `false`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub btf_from_dwarf: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The companion package a kernel's build configuration is taken from:
/// Debian's `linux-image-<release>` or `linux-image-<release>-unsigned`,
/// Ubuntu's `linux-modules-<release>` or `linux-buildinfo-<release>`, of
/// the debug package's version, listed in the same suite, component and
/// architecture (Debian: the debug package's own `Packages` index; Ubuntu:
/// that index of the main archive, `companion_url`). Its size and SHA-256
/// come from that signed index; the download is checked against both.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Companion {
    /// Binary package name: `linux-image-6.1.0-47-cloud-amd64`.
    pub package: String,
    /// Package version (the debug package's).
    pub version: String,
    /// Its URL: `<archive root>/<Filename>`.
    pub url: String,
    /// Bytes, from the index.
    pub size: u64,
    /// Lower-case hex, from the index.
    pub sha256: String,
}

impl Companion {
    /// The package's file name, the last segment of its URL
    /// (`linux-image-6.1.0-47-cloud-amd64_6.1.170-3_amd64.deb`): what
    /// `images.config_source` records after `package:`.
    pub fn file_name(&self) -> &str {
        self.url.rsplit('/').next().unwrap_or(&self.url)
    }

    /// The companion as a package to fetch for `debug`'s image: its own
    /// name, version, URL, size and SHA-256, the image's identity and
    /// source.
    pub fn as_planned(&self, debug: &PlannedPackage) -> PlannedPackage {
        PlannedPackage {
            image: debug.image.clone(),
            flavor: debug.flavor.clone(),
            package: self.package.clone(),
            version: self.version.clone(),
            source: debug.source.clone(),
            location: PackageLocation::Url(self.url.clone()),
            size: Some(self.size),
            sha256: Some(self.sha256.clone()),
            companion: None,
            modules: false,
            btf_from_dwarf: false,
        }
    }
}

/// Where a planned package is.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum PackageLocation {
    Url(String),
    File(PathBuf),
}

impl std::fmt::Display for PackageLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PackageLocation::Url(u) => f.write_str(u),
            PackageLocation::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// The packages to fetch, in order, and the look-alikes discovery rejected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub packages: Vec<PlannedPackage>,
    pub rejected: Vec<RejectedPackage>,
    /// Where each of `packages` was listed, in the same order: an archive
    /// suite (`focal-updates`, `bookworm-security`), a Launchpad series
    /// and pocket as a suite name, or a directory. Not part of the work
    /// list; empty for a plan built by hand.
    pub found_in: Vec<String>,
}

/// Builds the plan from each source's discovery (keyed by source name;
/// sources without an entry contribute nothing).
pub fn build_plan(config: &FetchConfig, discovered: &BTreeMap<String, Discovery>) -> Result<Plan> {
    let mut planned: Vec<(Candidate, ImageId, bool, bool)> = Vec::new();
    let mut images: HashSet<ImageId> = HashSet::new();
    let mut rejected = Vec::new();
    for source in &config.sources {
        let Some(discovery) = discovered.get(&source.name) else {
            continue;
        };
        rejected.extend(discovery.rejected.iter().cloned());
        // Selectors, then one copy of each package version.
        let mut seen = HashSet::new();
        let selected: Vec<&Candidate> = discovery
            .candidates
            .iter()
            .filter(|c| {
                source.selectors.wants_arch(&c.arch) && source.selectors.wants_kernel(&c.kernel)
            })
            .filter(|c| {
                seen.insert((
                    c.kernel.distro,
                    &c.kernel.release,
                    &c.arch,
                    &c.package,
                    &c.version,
                ))
            })
            .collect();
        // One package per image: the highest version.
        let mut per_image: BTreeMap<(crate::naming::Distro, &str, &str), &Candidate> =
            BTreeMap::new();
        for c in selected {
            per_image
                .entry((c.kernel.distro, &c.kernel.release, &c.arch))
                .and_modify(|best| {
                    if compare_versions(&c.version, &best.version) == Ordering::Greater {
                        *best = c;
                    }
                })
                .or_insert(c);
        }
        // Revision policy per kernel version.
        let mut groups: BTreeMap<(crate::naming::Distro, &str, &str, &str), Vec<&Candidate>> =
            BTreeMap::new();
        for c in per_image.into_values() {
            groups
                .entry((
                    c.kernel.distro,
                    &c.arch,
                    &c.kernel.flavor,
                    c.kernel.kernel_version(),
                ))
                .or_default()
                .push(c);
        }
        for mut group in groups.into_values() {
            group.sort_by(|a, b| {
                compare_versions(&a.version, &b.version)
                    .then_with(|| natural_cmp(&a.kernel.release, &b.kernel.release))
            });
            let kept: Vec<&Candidate> = match source.revision {
                RevisionPolicy::All => group,
                RevisionPolicy::First => group.into_iter().take(1).collect(),
                RevisionPolicy::Latest => group.into_iter().next_back().into_iter().collect(),
            };
            for c in kept {
                let image = ImageId::new(c.kernel.distro.as_str(), &c.kernel.release, &c.arch)
                    .map_err(|e| Error::Retrieve {
                        label: format!("{} {}", c.package, c.version),
                        message: e.to_string(),
                    })?;
                if images.insert(image.clone()) {
                    planned.push((c.clone(), image, source.modules, source.btf_from_dwarf));
                }
            }
        }
    }
    planned.sort_by(|(a, ai, _, _), (b, bi, _, _)| {
        ai.distro
            .cmp(&bi.distro)
            .then_with(|| natural_cmp(&ai.release, &bi.release))
            .then_with(|| ai.arch.cmp(&bi.arch))
            .then_with(|| a.package.cmp(&b.package))
    });
    let mut seen_rejected = BTreeSet::new();
    rejected.retain(|r: &RejectedPackage| {
        seen_rejected.insert((
            r.source.clone(),
            r.package.clone(),
            r.version.clone(),
            r.arch.clone(),
        ))
    });
    let found_in = planned.iter().map(|(c, ..)| c.found_in.clone()).collect();
    Ok(Plan {
        found_in,
        packages: planned
            .into_iter()
            .map(|(c, image, modules, btf_from_dwarf)| PlannedPackage {
                image,
                flavor: c.kernel.flavor,
                package: c.package,
                version: c.version,
                source: c.source,
                location: c.location,
                size: c.size,
                sha256: c.sha256,
                companion: c.companion,
                modules,
                btf_from_dwarf,
            })
            .collect(),
        rejected,
    })
}

/// Debian version order (dpkg's); strings that are not versions compare
/// as text after every version.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    match (
        a.parse::<debversion::Version>(),
        b.parse::<debversion::Version>(),
    ) {
        (Ok(x), Ok(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

/// Compares strings with runs of digits compared as numbers:
/// `4.4.0-21` < `4.10.0-19` < `5.4.0-26`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) if p.is_ascii_digit() && q.is_ascii_digit() => {
                let n = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let m = y.iter().take_while(|c| c.is_ascii_digit()).count();
                let (dx, dy) = (trim_zeros(&x[..n]), trim_zeros(&y[..m]));
                let order = dx.len().cmp(&dy.len()).then_with(|| dx.cmp(dy));
                if order != Ordering::Equal {
                    return order;
                }
                x = &x[n..];
                y = &y[m..];
            }
            (Some(p), Some(q)) => {
                if p != q {
                    return p.cmp(q);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|d| **d == b'0').count();
    &digits[zeros.min(digits.len().saturating_sub(1))..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec![
            "5.4.0-26-generic",
            "4.10.0-19-generic",
            "4.4.0-21-generic",
            "4.4.0-100-generic",
            "4.4.0-21-aws",
        ];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            [
                "4.4.0-21-aws",
                "4.4.0-21-generic",
                "4.4.0-100-generic",
                "4.10.0-19-generic",
                "5.4.0-26-generic"
            ]
        );
        assert_eq!(natural_cmp("a007", "a7"), Ordering::Less);
    }

    /// A plan written before `companion` existed reads (without one); a
    /// package without a companion writes no `companion` key, one with a
    /// companion round-trips.
    #[test]
    fn companion_is_optional_in_plan_json() {
        let old = r#"{"image":{"distro":"debian","release":"6.1.0-47-cloud-amd64","arch":"amd64"},"flavor":"cloud-amd64","package":"linux-image-6.1.0-47-cloud-amd64-dbg","version":"6.1.170-3","source":"debian","location":{"url":"http://m.test/pool/x.deb"},"size":281462948,"sha256":null}"#;
        let image: serde_json::Value = serde_json::from_str(old).unwrap();
        let image = serde_json::to_string(&image["image"]).unwrap();
        let parsed: Result<ImageId, _> = serde_json::from_str(&image);
        assert!(parsed.is_ok(), "{image}");
        let p: PlannedPackage = serde_json::from_str(old).unwrap();
        assert_eq!(p.companion, None);
        assert!(!p.btf_from_dwarf);
        let btf = PlannedPackage {
            btf_from_dwarf: true,
            ..p.clone()
        };
        let json = serde_json::to_string(&btf).unwrap();
        assert!(json.ends_with(",\"btf_from_dwarf\":true}"), "{json}");
        assert_eq!(serde_json::from_str::<PlannedPackage>(&json).unwrap(), btf);
        assert_eq!(p.size, Some(281462948));
        assert_eq!(serde_json::to_string(&p).unwrap(), old);
        let with = PlannedPackage {
            companion: Some(Companion {
                package: "linux-image-6.1.0-47-cloud-amd64-unsigned".into(),
                version: "6.1.170-3".into(),
                url: "http://m.test/pool/linux-image-6.1.0-47-cloud-amd64-unsigned_6.1.170-3_amd64.deb".into(),
                size: 12,
                sha256: "ab".repeat(32),
            }),
            ..p
        };
        let json = serde_json::to_string(&with).unwrap();
        assert_eq!(serde_json::from_str::<PlannedPackage>(&json).unwrap(), with);
        let companion = with.companion.as_ref().unwrap();
        assert_eq!(
            companion.file_name(),
            "linux-image-6.1.0-47-cloud-amd64-unsigned_6.1.170-3_amd64.deb"
        );
        let planned = companion.as_planned(&with);
        assert_eq!(
            (
                planned.package.as_str(),
                planned.size,
                planned.image,
                planned.companion
            ),
            (
                "linux-image-6.1.0-47-cloud-amd64-unsigned",
                Some(12),
                with.image.clone(),
                None
            )
        );
    }

    #[test]
    fn version_order() {
        assert_eq!(
            compare_versions("5.4.0-26.30", "5.4.0-100.113"),
            Ordering::Less
        );
        assert_eq!(
            compare_versions("5.15.0-33.34~20.04.1", "5.15.0-33.34"),
            Ordering::Less
        );
        assert_eq!(compare_versions("6.1.170-3", "6.1.176-1"), Ordering::Less);
        assert_eq!(
            compare_versions("6.8.0-31.31.1", "6.8.0-31.31"),
            Ordering::Greater
        );
    }
}
