//! Kernel release strings (`5.4.0-26-generic`, `6.1.0-47-cloud-amd64`,
//! `6.12.107+deb13-amd64`): their numeric version and ABI revision, the
//! order images sort in, and the short version shown as a label (`5.4`).

use std::cmp::Ordering;

/// The parts of a kernel release that order and label images.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelRelease {
    /// Dotted version components, numerically (`5.4.0` → `[5, 4, 0]`).
    pub version: Vec<u64>,
    /// The ABI revision after the version (`26` in `5.4.0-26-generic`).
    pub revision: Option<u64>,
    pub raw: String,
}

impl KernelRelease {
    /// Parses the leading version and revision; a release that does not
    /// start with a digit has an empty version and sorts first.
    pub fn parse(raw: &str) -> Self {
        let digits_end = raw
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(raw.len());
        let version: Vec<u64> = raw[..digits_end]
            .split('.')
            .map_while(|part| part.parse().ok())
            .collect();
        let rest = &raw[digits_end..];
        let revision = rest.strip_prefix('-').and_then(|r| {
            let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            let boundary = r[end..].is_empty() || r[end..].starts_with(['-', '.', '+', '~']);
            (end > 0 && boundary)
                .then(|| r[..end].parse().ok())
                .flatten()
        });
        KernelRelease {
            version,
            revision,
            raw: raw.to_owned(),
        }
    }

    /// `major.minor` (`5.4` for `5.4.0-26-generic`), the label of a version.
    pub fn short_version(&self) -> String {
        if self.version.is_empty() {
            return self.raw.clone();
        }
        self.version
            .iter()
            .take(2)
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(".")
    }

    /// Numeric comparison of the version (4.4 < 4.10 < 5.4); a missing
    /// trailing component counts as 0.
    pub fn cmp_version(&self, other: &KernelRelease) -> Ordering {
        cmp_components(&self.version, &other.version)
    }
}

/// Compares dotted versions numerically, missing components as 0.
pub fn cmp_components(a: &[u64], b: &[u64]) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        let (x, y) = (
            a.get(i).copied().unwrap_or(0),
            b.get(i).copied().unwrap_or(0),
        );
        match x.cmp(&y) {
            Ordering::Equal => continue,
            other => return other,
        }
    }
    Ordering::Equal
}

/// Parses a version written in a config (`5.4`, `4.10.0`).
pub fn parse_version(text: &str) -> Option<Vec<u64>> {
    let parts: Option<Vec<u64>> = text.split('.').map(|p| p.parse().ok()).collect();
    parts.filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_distribution_release_strings() {
        let r = KernelRelease::parse("5.4.0-26-generic");
        assert_eq!((r.version.clone(), r.revision), (vec![5, 4, 0], Some(26)));
        assert_eq!(r.short_version(), "5.4");
        let r = KernelRelease::parse("6.1.0-47-cloud-amd64");
        assert_eq!((r.version.clone(), r.revision), (vec![6, 1, 0], Some(47)));
        let r = KernelRelease::parse("6.12.107+deb13-amd64");
        assert_eq!((r.version.clone(), r.revision), (vec![6, 12, 107], None));
        assert_eq!(r.short_version(), "6.12");
        let r = KernelRelease::parse("custom");
        assert_eq!((r.version.clone(), r.revision), (vec![], None));
        assert_eq!(r.short_version(), "custom");
    }

    #[test]
    fn versions_order_numerically_not_lexically() {
        let mut releases: Vec<KernelRelease> = [
            "5.4.0-26-generic",
            "4.10.0-19-generic",
            "4.4.0-21-generic",
            "6.8.0-31-generic",
            "4.15.0-20-generic",
        ]
        .iter()
        .map(|r| KernelRelease::parse(r))
        .collect();
        releases.sort_by(|a, b| a.cmp_version(b));
        let labels: Vec<String> = releases.iter().map(KernelRelease::short_version).collect();
        assert_eq!(labels, ["4.4", "4.10", "4.15", "5.4", "6.8"]);
        assert_eq!(cmp_components(&[5, 4], &[5, 4, 0]), Ordering::Equal);
        assert_eq!(parse_version("4.10"), Some(vec![4, 10]));
        assert_eq!(parse_version("4.x"), None);
    }
}
