//! Which binary packages are kernel debug packages, and what kernel each
//! one holds: release (`5.4.0-26-generic`, `6.1.0-47-cloud-amd64`,
//! `6.12.107+deb13-amd64`), upstream version, ABI and flavor, from the
//! package name; and which look-alikes to reject (signed stubs, packages
//! that only depend on the real one, meta packages), judged from the index's
//! `Source`, `Size` and `Depends`.
//!
//! Names:
//! - Ubuntu ddebs: `linux-image-unsigned-<ver>-<abi>-<flavor>-dbgsym` (amd64,
//!   arm64, s390x and the cloud kernels from 18.04 on) and
//!   `linux-image-<ver>-<abi>-<flavor>-dbgsym` (every kernel before 18.04,
//!   armhf, ppc64el, riscv64 and aws in 20.04, …). From 18.04 on the
//!   un-prefixed name on amd64 is usually a stub built by `linux-signed*`
//!   that only depends on the `unsigned-` one.
//! - Debian: `linux-image-<abiname>-<flavour>-dbg`, where the abiname is
//!   `6.1.0-47` (up to 6.1) or `6.12.107+deb13` (from 6.12 on); meta
//!   packages `linux-image-<flavour>-dbg` and `linux-image-6.12-<flavour>-dbg`
//!   depend on the current one.

use std::fmt;

/// Which naming scheme a package follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Distro {
    Ubuntu,
    Debian,
}

impl Distro {
    /// The distro segment of the image id.
    pub fn as_str(self) -> &'static str {
        match self {
            Distro::Ubuntu => "ubuntu",
            Distro::Debian => "debian",
        }
    }
}

impl fmt::Display for Distro {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Smallest size a real kernel debug package can have. The smallest real
/// ones are over 100 MB; stubs and meta packages are a few KB.
pub const MIN_KERNEL_DEBUG_SIZE: u64 = 1 << 20;

/// The kernel a debug package holds, read from its name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelName {
    pub distro: Distro,
    /// `uname -r`: `5.4.0-26-generic`, `6.12.107+deb13-amd64`.
    pub release: String,
    /// Upstream version as the name gives it: `5.4.0`, `6.1.0`, `6.12.107`.
    pub upstream: String,
    /// ABI: `26`, `47`; for Debian's 6.12+ scheme the suffix (`deb13`).
    pub abi: String,
    /// `generic`, `generic-lpae`, `aws`, `cloud-amd64`, `rt-arm64`.
    pub flavor: String,
    /// Ubuntu's `linux-image-unsigned-` prefix.
    pub unsigned: bool,
}

impl KernelName {
    /// `major.minor` of the upstream version: `5.4`, `6.12`. Revision
    /// policies group by it (with distro, arch and flavor).
    pub fn kernel_version(&self) -> &str {
        let mut dots = self.upstream.match_indices('.').map(|(i, _)| i);
        let _first = dots.next();
        match dots.next() {
            Some(second) => &self.upstream[..second],
            None => &self.upstream,
        }
    }

    /// The numeric ABI, when it is one (Debian's `deb13` is not).
    pub fn abi_number(&self) -> Option<u64> {
        self.abi.parse().ok()
    }
}

/// Reads a kernel debug package name. `None` for anything else, including
/// meta packages (use [`is_debug_package_name`] to tell those apart).
pub fn parse_name(distro: Distro, package: &str) -> Option<KernelName> {
    match distro {
        Distro::Ubuntu => parse_ubuntu(package),
        Distro::Debian => parse_debian(package),
    }
}

/// Whether `package` has the shape of a kernel debug package of either
/// distro (`linux-image-…-dbgsym` / `linux-image-…-dbg`), versioned or not.
pub fn is_debug_package_name(package: &str) -> bool {
    package.starts_with("linux-image-")
        && (package.ends_with("-dbgsym") || package.ends_with("-dbg"))
}

fn parse_ubuntu(package: &str) -> Option<KernelName> {
    let rest = package.strip_prefix("linux-image-")?;
    let rest = rest.strip_suffix("-dbgsym")?;
    let (unsigned, rest) = match rest.strip_prefix("unsigned-") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let mut parts = rest.splitn(3, '-');
    let upstream = parts.next()?;
    let abi = parts.next()?;
    let flavor = parts.next()?;
    if !is_dotted_number(upstream) || !is_digits(abi) || !is_flavor(flavor) {
        return None;
    }
    Some(KernelName {
        distro: Distro::Ubuntu,
        release: rest.to_owned(),
        upstream: upstream.to_owned(),
        abi: abi.to_owned(),
        flavor: flavor.to_owned(),
        unsigned,
    })
}

fn parse_debian(package: &str) -> Option<KernelName> {
    let release = package.strip_prefix("linux-image-")?.strip_suffix("-dbg")?;
    let (version, rest) = release.split_once('-')?;
    let (upstream, abi, flavor) = match version.split_once('+') {
        // 6.12.107+deb13-amd64: the suffix is the ABI tag.
        Some((upstream, tag)) => {
            if !tag.bytes().all(|b| b.is_ascii_alphanumeric()) || tag.is_empty() {
                return None;
            }
            (upstream, tag, rest)
        }
        // 6.1.0-47-cloud-amd64
        None => {
            let (abi, flavor) = rest.split_once('-')?;
            if !is_digits(abi) {
                return None;
            }
            (version, abi, flavor)
        }
    };
    if !is_dotted_number(upstream) || !is_flavor(flavor) {
        return None;
    }
    Some(KernelName {
        distro: Distro::Debian,
        release: release.to_owned(),
        upstream: upstream.to_owned(),
        abi: abi.to_owned(),
        flavor: flavor.to_owned(),
        unsigned: false,
    })
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `5.4.0`, `6.12`: two or three dot-separated numbers.
fn is_dotted_number(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    (2..=3).contains(&parts.len()) && parts.iter().all(|p| is_digits(p))
}

fn is_flavor(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// What an index says about a package, as far as judging it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackageFacts<'a> {
    pub package: &'a str,
    /// The `Source` field's package name (without a version); `None` when
    /// the field is absent (the source is then the package itself).
    pub source: Option<&'a str>,
    pub size: Option<u64>,
    /// The raw `Depends` field.
    pub depends: Option<&'a str>,
}

/// Why a package that looks like a kernel debug package is not planned.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rejection {
    /// `linux-image-…-dbg(sym)` without a versioned release: a meta package
    /// (`linux-image-amd64-dbg`, `linux-image-6.12-cloud-amd64-dbg`).
    Meta,
    /// Built by a `linux-signed*` source: a stub around the real package.
    SignedSource(String),
    /// Depends on another kernel debug package: it only pulls the real one in.
    DependsOnKernelPackage(String),
    /// Too small to hold a vmlinux with DWARF.
    TooSmall(u64),
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Meta => f.write_str("meta package (no versioned kernel release in its name)"),
            Rejection::SignedSource(source) => {
                write!(f, "stub built by source {source} (signed kernels carry no debug image)")
            }
            Rejection::DependsOnKernelPackage(dep) => {
                write!(f, "stub that depends on the kernel debug package {dep}")
            }
            Rejection::TooSmall(size) => write!(
                f,
                "{size} bytes, under the {MIN_KERNEL_DEBUG_SIZE}-byte minimum of a kernel debug package"
            ),
        }
    }
}

/// Judges one index entry: `Ok(Some(kernel))` for a real kernel debug
/// package, `Err(rejection)` for a look-alike, `Ok(None)` for anything else.
/// The rules are checked in this order: name (meta), source, depends, size.
pub fn judge(distro: Distro, facts: &PackageFacts<'_>) -> Result<Option<KernelName>, Rejection> {
    if !is_debug_package_name(facts.package) {
        return Ok(None);
    }
    let Some(kernel) = parse_name(distro, facts.package) else {
        // The other distro's suffix is not ours to judge.
        let ours = match distro {
            Distro::Ubuntu => facts.package.ends_with("-dbgsym"),
            Distro::Debian => facts.package.ends_with("-dbg"),
        };
        return if ours { Err(Rejection::Meta) } else { Ok(None) };
    };
    if let Some(source) = facts.source {
        if source.starts_with("linux-signed") {
            return Err(Rejection::SignedSource(source.to_owned()));
        }
    }
    if let Some(depends) = facts.depends {
        for name in depends_names(depends) {
            if name != facts.package && is_debug_package_name(name) {
                return Err(Rejection::DependsOnKernelPackage(name.to_owned()));
            }
        }
    }
    if let Some(size) = facts.size {
        if size < MIN_KERNEL_DEBUG_SIZE {
            return Err(Rejection::TooSmall(size));
        }
    }
    Ok(Some(kernel))
}

/// Package names in a `Depends` field: every alternative of every clause,
/// without version constraints or architecture qualifiers.
pub fn depends_names(depends: &str) -> impl Iterator<Item = &str> {
    depends
        .split([',', '|'])
        .filter_map(|alt| alt.split_whitespace().next())
        .map(|name| name.split(':').next().unwrap_or(name))
        .filter(|name| !name.is_empty())
}

/// The package name in a `Source` field (`linux-signed (5.4.0-26.30)` →
/// `linux-signed`).
pub fn source_name(source_field: &str) -> &str {
    source_field
        .split_whitespace()
        .next()
        .unwrap_or(source_field)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(distro: Distro, package: &str) -> Option<(String, String, String, String, bool)> {
        parse_name(distro, package).map(|k| (k.release, k.upstream, k.abi, k.flavor, k.unsigned))
    }

    fn some(
        release: &str,
        upstream: &str,
        abi: &str,
        flavor: &str,
        unsigned: bool,
    ) -> Option<(String, String, String, String, bool)> {
        Some((
            release.into(),
            upstream.into(),
            abi.into(),
            flavor.into(),
            unsigned,
        ))
    }

    #[test]
    fn ubuntu_names() {
        use Distro::Ubuntu;
        assert_eq!(
            name(Ubuntu, "linux-image-unsigned-5.4.0-26-generic-dbgsym"),
            some("5.4.0-26-generic", "5.4.0", "26", "generic", true)
        );
        assert_eq!(
            name(Ubuntu, "linux-image-4.4.0-21-generic-dbgsym"),
            some("4.4.0-21-generic", "4.4.0", "21", "generic", false)
        );
        assert_eq!(
            name(Ubuntu, "linux-image-5.4.0-26-generic-lpae-dbgsym"),
            some(
                "5.4.0-26-generic-lpae",
                "5.4.0",
                "26",
                "generic-lpae",
                false
            )
        );
        assert_eq!(
            name(Ubuntu, "linux-image-unsigned-6.8.0-31-generic-64k-dbgsym"),
            some("6.8.0-31-generic-64k", "6.8.0", "31", "generic-64k", true)
        );
        assert_eq!(
            name(Ubuntu, "linux-image-5.4.0-1009-aws-dbgsym"),
            some("5.4.0-1009-aws", "5.4.0", "1009", "aws", false)
        );
        for not in [
            "linux-image-unsigned-5.4.0-26-generic",
            "linux-image-generic-dbgsym",
            "linux-image-5.4.0-generic-dbgsym",
            "linux-modules-5.4.0-26-generic-dbgsym",
            "linux-image-6.1.0-47-cloud-amd64-dbg",
            "linux-image-5.4.0-26-Generic-dbgsym",
            "linux-image-5.4.0-26--dbgsym",
        ] {
            assert_eq!(name(Ubuntu, not), None, "{not}");
        }
    }

    #[test]
    fn debian_names() {
        use Distro::Debian;
        assert_eq!(
            name(Debian, "linux-image-6.1.0-47-cloud-amd64-dbg"),
            some("6.1.0-47-cloud-amd64", "6.1.0", "47", "cloud-amd64", false)
        );
        assert_eq!(
            name(Debian, "linux-image-5.10.0-43-cloud-amd64-dbg"),
            some(
                "5.10.0-43-cloud-amd64",
                "5.10.0",
                "43",
                "cloud-amd64",
                false
            )
        );
        assert_eq!(
            name(Debian, "linux-image-6.12.107+deb13-amd64-dbg"),
            some("6.12.107+deb13-amd64", "6.12.107", "deb13", "amd64", false)
        );
        assert_eq!(
            name(Debian, "linux-image-6.12.117+deb12-rt-amd64-dbg"),
            some(
                "6.12.117+deb12-rt-amd64",
                "6.12.117",
                "deb12",
                "rt-amd64",
                false
            )
        );
        assert_eq!(
            name(Debian, "linux-image-6.1.0-47-rt-arm64-dbg"),
            some("6.1.0-47-rt-arm64", "6.1.0", "47", "rt-arm64", false)
        );
        for not in [
            "linux-image-amd64-dbg",
            "linux-image-cloud-amd64-dbg",
            "linux-image-6.12-cloud-amd64-dbg",
            "linux-image-6.1.0-47-cloud-amd64",
            "linux-image-6.1.0-47-cloud-amd64-unsigned",
            "linux-headers-6.1.0-47-cloud-amd64",
            "linux-image-6.12.107+-amd64-dbg",
        ] {
            assert_eq!(name(Debian, not), None, "{not}");
        }
    }

    #[test]
    fn kernel_version_and_abi_number() {
        let k = parse_name(Distro::Debian, "linux-image-6.12.107+deb13-amd64-dbg").unwrap();
        assert_eq!((k.kernel_version(), k.abi_number()), ("6.12", None));
        let k = parse_name(Distro::Ubuntu, "linux-image-5.4.0-1009-aws-dbgsym").unwrap();
        assert_eq!((k.kernel_version(), k.abi_number()), ("5.4", Some(1009)));
    }

    fn facts<'a>(
        package: &'a str,
        source: Option<&'a str>,
        size: Option<u64>,
        depends: Option<&'a str>,
    ) -> PackageFacts<'a> {
        PackageFacts {
            package,
            source,
            size,
            depends,
        }
    }

    #[test]
    fn real_packages_are_accepted() {
        let real = facts(
            "linux-image-unsigned-5.4.0-26-generic-dbgsym",
            Some("linux"),
            Some(918_324_488),
            None,
        );
        assert_eq!(
            judge(Distro::Ubuntu, &real).unwrap().unwrap().release,
            "5.4.0-26-generic"
        );
        // A dependency on the non-debug image is not a stub's.
        let with_dep = facts(
            "linux-image-4.4.0-21-generic-dbgsym",
            Some("linux"),
            Some(600_000_000),
            Some("linux-image-4.4.0-21-generic (= 4.4.0-21.37)"),
        );
        assert_eq!(
            judge(Distro::Ubuntu, &with_dep).unwrap().unwrap().release,
            "4.4.0-21-generic"
        );
        // Size unknown (Launchpad without metadata): judged by the rest.
        let no_size = facts(
            "linux-image-6.1.0-47-cloud-amd64-dbg",
            Some("linux"),
            None,
            None,
        );
        assert_eq!(
            judge(Distro::Debian, &no_size).unwrap().unwrap().release,
            "6.1.0-47-cloud-amd64"
        );
    }

    #[test]
    fn other_packages_are_ignored() {
        for package in [
            "linux-image-6.1.0-47-cloud-amd64",
            "bash",
            "linux-headers-6.1.0-47-cloud-amd64",
        ] {
            assert_eq!(
                judge(
                    Distro::Debian,
                    &facts(package, Some("linux"), Some(5), None)
                ),
                Ok(None)
            );
        }
        // The other distro's suffix is not judged as a meta package.
        assert_eq!(
            judge(
                Distro::Ubuntu,
                &facts("linux-image-amd64-dbg", None, Some(5), None)
            ),
            Ok(None)
        );
    }

    #[test]
    fn meta_packages_are_rejected() {
        for package in [
            "linux-image-amd64-dbg",
            "linux-image-cloud-amd64-dbg",
            "linux-image-6.12-cloud-amd64-dbg",
        ] {
            let f = facts(
                package,
                Some("linux"),
                Some(1324),
                Some("linux-image-6.1.0-56-cloud-amd64-dbg (= 6.1.192-2)"),
            );
            assert_eq!(judge(Distro::Debian, &f), Err(Rejection::Meta), "{package}");
        }
        assert_eq!(
            judge(
                Distro::Ubuntu,
                &facts("linux-image-generic-dbgsym", None, None, None)
            ),
            Err(Rejection::Meta)
        );
    }

    #[test]
    fn signed_sources_are_rejected() {
        let f = facts(
            "linux-image-5.4.0-26-generic-dbgsym",
            Some("linux-signed"),
            Some(900_000_000),
            None,
        );
        assert_eq!(
            judge(Distro::Ubuntu, &f),
            Err(Rejection::SignedSource("linux-signed".into()))
        );
        let f = facts(
            "linux-image-5.4.0-1010-azure-dbgsym",
            Some("linux-signed-azure"),
            None,
            None,
        );
        assert_eq!(
            judge(Distro::Ubuntu, &f).unwrap_err().to_string(),
            "stub built by source linux-signed-azure (signed kernels carry no debug image)"
        );
    }

    #[test]
    fn packages_depending_on_the_real_one_are_rejected() {
        let f = facts(
            "linux-image-5.4.0-26-generic-dbgsym",
            Some("linux"),
            Some(900_000_000),
            Some("linux-image-unsigned-5.4.0-26-generic-dbgsym (= 5.4.0-26.30)"),
        );
        assert_eq!(
            judge(Distro::Ubuntu, &f),
            Err(Rejection::DependsOnKernelPackage(
                "linux-image-unsigned-5.4.0-26-generic-dbgsym".into()
            ))
        );
        let f = facts(
            "linux-image-6.1.0-47-cloud-amd64-dbg",
            None,
            None,
            Some("libc6, foo | linux-image-6.1.0-48-cloud-amd64-dbg:amd64 (>= 1)"),
        );
        assert_eq!(
            judge(Distro::Debian, &f),
            Err(Rejection::DependsOnKernelPackage(
                "linux-image-6.1.0-48-cloud-amd64-dbg".into()
            ))
        );
    }

    #[test]
    fn tiny_packages_are_rejected() {
        let f = facts(
            "linux-image-5.4.0-26-generic-dbgsym",
            Some("linux"),
            Some(4_096),
            None,
        );
        assert_eq!(judge(Distro::Ubuntu, &f), Err(Rejection::TooSmall(4_096)));
        assert_eq!(
            Rejection::TooSmall(4_096).to_string(),
            "4096 bytes, under the 1048576-byte minimum of a kernel debug package"
        );
        let f = facts(
            "linux-image-5.4.0-26-generic-dbgsym",
            Some("linux"),
            Some(MIN_KERNEL_DEBUG_SIZE),
            None,
        );
        assert!(judge(Distro::Ubuntu, &f).unwrap().is_some());
    }

    #[test]
    fn source_and_depends_fields() {
        assert_eq!(source_name("linux-signed (5.4.0-26.30)"), "linux-signed");
        assert_eq!(source_name("linux"), "linux");
        assert_eq!(
            depends_names("a (= 1), b:any | c (>> 2) [amd64],d").collect::<Vec<_>>(),
            ["a", "b", "c", "d"]
        );
    }
}
