//! Debian-format archives (Ubuntu's ddebs archive and Debian's): which
//! `Packages` indices a source needs ([`index_requests`]), decoding a
//! fetched index ([`decode_index`]: xz, gzip, zstd, bzip2 or plain, by magic
//! bytes), and the kernel debug packages listed in one ([`discover_in_index`]).
//! Pure: the download step fetches the bytes and checks them against the
//! signed `Release` file first.

use std::io::Read;

use crate::apt::AptSources;
use crate::candidate::{is_sha256_hex, Candidate, Discovery, RejectedPackage};
use crate::config::{resolve_env_url, Pocket, SourceConfig, SourceKind, UrlSetting};
use crate::naming::{judge, source_name, Distro, PackageFacts};
use crate::plan::{Companion, PackageLocation};
use crate::{control, Compression, Error, Result};

/// Largest decoded index accepted (Debian's amd64 `main` is ~50 MB).
pub const MAX_INDEX_SIZE: u64 = 1 << 30;

/// One `Packages` index to fetch.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IndexRequest {
    /// The `[[source]]` name.
    pub source: String,
    pub distro: Distro,
    /// Archive root, no trailing slash.
    pub base_url: String,
    pub suite: String,
    pub pocket: Option<Pocket>,
    pub component: String,
    pub arch: String,
    /// Whether this is the index of a source's companion archive (an
    /// `ubuntu` source's `companion_url`, verified with its
    /// `companion_keyring`) rather than of its own archive.
    pub companion: bool,
}

impl IndexRequest {
    /// The same suite, component and architecture in the companion
    /// archive at `base_url` (no trailing slash).
    pub fn in_companion_archive(&self, base_url: &str) -> IndexRequest {
        IndexRequest {
            base_url: base_url.to_owned(),
            companion: true,
            ..self.clone()
        }
    }

    /// `<base>/dists/<suite>`: where `InRelease`/`Release` are.
    pub fn dists_url(&self) -> String {
        format!("{}/dists/{}", self.base_url, self.suite)
    }

    /// The index's path as the `Release` file lists it, without a
    /// compression suffix: `main/binary-amd64/Packages`.
    pub fn packages_path(&self) -> String {
        format!("{}/binary-{}/Packages", self.component, self.arch)
    }

    /// `dists_url()/packages_path()`, which also labels the index in errors.
    pub fn packages_url(&self) -> String {
        format!("{}/{}", self.dists_url(), self.packages_path())
    }
}

/// The indices an `ubuntu` or `debian` source needs, in config order
/// (suites, then components, then arches). `env` reads environment
/// variables; `apt` is needed when the url is `"apt"`.
pub fn index_requests(
    file: &str,
    source: &SourceConfig,
    env: &dyn Fn(&str) -> Option<String>,
    apt: Option<&AptSources>,
) -> Result<Vec<IndexRequest>> {
    let distro = match source.kind {
        SourceKind::Ubuntu => Distro::Ubuntu,
        SourceKind::Debian => Distro::Debian,
        SourceKind::Launchpad | SourceKind::Local => return Ok(Vec::new()),
    };
    let fixed = resolve_env_url(file, source, env)?;
    let mut out = Vec::new();
    for suite in &source.suites {
        let base_url = match (&fixed, &source.url) {
            (Some(url), _) => url.clone(),
            (None, Some(UrlSetting::Apt)) => match apt {
                Some(apt) => apt.mirror_for(&suite.name).map_err(|e| Error::Config {
                    file: file.to_owned(),
                    message: format!("[[source]] {:?}: url: \"apt\": {e}", source.name),
                })?,
                None => {
                    return Err(Error::Config {
                        file: file.to_owned(),
                        message: format!(
                            "[[source]] {:?}: url: \"apt\" but the apt sources were not read",
                            source.name
                        ),
                    })
                }
            },
            (None, _) => unreachable!("remote sources have a url"),
        };
        for component in &source.components {
            for arch in &source.selectors.arches {
                out.push(IndexRequest {
                    source: source.name.clone(),
                    distro,
                    base_url: base_url.clone(),
                    suite: suite.name.clone(),
                    pocket: suite.pocket,
                    component: component.clone(),
                    arch: arch.clone(),
                    companion: false,
                });
            }
        }
    }
    Ok(out)
}

/// Decodes a fetched index (compressed or not) to text. `label` names it.
pub fn decode_index(bytes: &[u8], label: &str) -> Result<String> {
    let head = &bytes[..bytes.len().min(crate::compression::MAGIC_LEN)];
    // A plain index starts with a field name; anything with a known
    // compression magic is decoded.
    let compression = Compression::detect(head).filter(|c| *c != Compression::None);
    let decoded = match compression {
        None => bytes.to_vec(),
        Some(c) => {
            let fail = |e: std::io::Error| Error::Index {
                label: label.to_owned(),
                line: 0,
                message: format!("decompressing ({c}): {e}"),
            };
            let decoder = c.decoder(bytes, 1).map_err(fail)?;
            let mut out = Vec::new();
            decoder
                .take(MAX_INDEX_SIZE + 1)
                .read_to_end(&mut out)
                .map_err(fail)?;
            if out.len() as u64 > MAX_INDEX_SIZE {
                return Err(Error::Index {
                    label: label.to_owned(),
                    line: 0,
                    message: format!("decompresses to over {MAX_INDEX_SIZE} bytes"),
                });
            }
            out
        }
    };
    String::from_utf8(decoded).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..valid]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        Error::Index {
            label: label.to_owned(),
            line,
            message: format!("not UTF-8 (byte {valid})"),
        }
    })
}

/// The kernel debug packages (and rejected look-alikes) of one index.
/// For a Debian index, each candidate also gets its companion package
/// from the same index ([`CompanionIndex::attach`]); an Ubuntu ddebs index
/// lists none (they are in the main archive: [`companions_in_index`]).
pub fn discover_in_index(request: &IndexRequest, text: &str) -> Result<Discovery> {
    let collect = request.distro == Distro::Debian;
    let (mut found, companions) = scan_index(request, text, true, collect)?;
    if collect {
        companions.attach(request.distro, &mut found.candidates);
    }
    Ok(found)
}

/// The companion packages (see [`CompanionIndex`]) of one index: for an
/// Ubuntu source, the main archive's index of the suite, component and
/// architecture its debug packages were found in.
pub fn companions_in_index(request: &IndexRequest, text: &str) -> Result<CompanionIndex> {
    Ok(scan_index(request, text, false, true)?.1)
}

/// Packages that may carry a kernel's build configuration, listed in one
/// `Packages` index with a path inside the archive, a `Size` and a
/// `SHA256` (entries without them are not used: the download could not be
/// checked). Keyed by package name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompanionIndex {
    by_name: std::collections::HashMap<String, Vec<Companion>>,
}

impl CompanionIndex {
    /// Whether a package of this name is kept: the name prefixes of
    /// [`crate::companion::remote_companion_names`].
    fn wanted(package: &str) -> bool {
        ["linux-image-", "linux-modules-", "linux-buildinfo-"]
            .iter()
            .any(|p| package.starts_with(p))
    }

    /// The companion of kernel `release` built as package version
    /// `version`: among the names [`crate::companion::remote_companion_names`]
    /// gives for `distro`, the entries of that exact version, the smallest
    /// by `Size`, ties broken by name (then URL), so the choice does not
    /// depend on the index's order. `None` when the index lists none.
    pub fn find(&self, distro: Distro, release: &str, version: &str) -> Option<Companion> {
        crate::companion::remote_companion_names(distro, release)
            .iter()
            .filter_map(|name| self.by_name.get(name))
            .flatten()
            .filter(|c| c.version == version)
            .min_by(|a, b| (a.size, &a.package, &a.url).cmp(&(b.size, &b.package, &b.url)))
            .cloned()
    }

    /// Gives each candidate without one its companion from this index.
    pub fn attach(&self, distro: Distro, candidates: &mut [Candidate]) {
        for c in candidates.iter_mut().filter(|c| c.companion.is_none()) {
            c.companion = self.find(distro, &c.kernel.release, &c.version);
        }
    }

    /// Number of packages kept.
    pub fn len(&self) -> usize {
        self.by_name.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// Whether an index's `Filename` is a relative path inside the archive.
fn inside_archive(filename: &str) -> bool {
    !(filename.starts_with('/')
        || filename.contains("://")
        || filename
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == ".."))
}

/// One pass over an index: the debug packages (when `debug`) and the
/// companion packages (when `companions`).
fn scan_index(
    request: &IndexRequest,
    text: &str,
    debug: bool,
    companions: bool,
) -> Result<(Discovery, CompanionIndex)> {
    let label = request.packages_url();
    let mut found = Discovery::default();
    let mut kept = CompanionIndex::default();
    for p in control::parse(text, &label)? {
        let Some(package) = p.get("Package") else {
            return Err(Error::Index {
                label,
                line: p.line,
                message: "paragraph without a Package field".to_owned(),
            });
        };
        if companions && CompanionIndex::wanted(package) {
            let entry = (
                p.get("Architecture"),
                p.get("Version"),
                p.get("Filename"),
                p.get("Size").and_then(|s| s.parse::<u64>().ok()),
                p.get("SHA256").filter(|h| is_sha256_hex(h)),
            );
            if let (Some(arch), Some(version), Some(filename), Some(size), Some(sha256)) = entry {
                if arch == request.arch && !version.is_empty() && inside_archive(filename) {
                    kept.by_name
                        .entry(package.to_owned())
                        .or_default()
                        .push(Companion {
                            package: package.to_owned(),
                            version: version.to_owned(),
                            url: format!("{}/{}", request.base_url, filename),
                            size,
                            sha256: sha256.to_ascii_lowercase(),
                        });
                }
            }
        }
        if !debug || !package.starts_with("linux-image-") {
            continue;
        }
        let field = |name: &str| {
            p.get(name)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| Error::Index {
                    label: label.clone(),
                    line: p.line,
                    message: format!("{package}: no {name} field"),
                })
        };
        let arch = field("Architecture")?;
        if arch != request.arch {
            continue;
        }
        let version = field("Version")?;
        let size = match p.get("Size") {
            None => None,
            Some(s) => Some(s.parse::<u64>().map_err(|_| Error::Index {
                label: label.clone(),
                line: p.line_of("Size"),
                message: format!("{package}: Size {s:?} is not a number"),
            })?),
        };
        let facts = PackageFacts {
            package,
            source: p.get("Source").map(source_name),
            size,
            depends: p.get("Depends"),
        };
        let kernel = match judge(request.distro, &facts) {
            Ok(None) => continue,
            Ok(Some(kernel)) => kernel,
            Err(reason) => {
                found.rejected.push(RejectedPackage {
                    source: request.source.clone(),
                    package: package.to_owned(),
                    version: version.to_owned(),
                    arch: arch.to_owned(),
                    found_in: request.suite.clone(),
                    reason,
                });
                continue;
            }
        };
        let filename = field("Filename")?;
        if !inside_archive(filename) {
            return Err(Error::Index {
                label,
                line: p.line_of("Filename"),
                message: format!(
                    "{package}: Filename {filename:?} is not a path inside the archive"
                ),
            });
        }
        let sha256 = match p.get("SHA256") {
            None => None,
            Some(h) if is_sha256_hex(h) => Some(h.to_ascii_lowercase()),
            Some(h) => {
                return Err(Error::Index {
                    label,
                    line: p.line_of("SHA256"),
                    message: format!("{package}: SHA256 {h:?} is not 64 hex digits"),
                })
            }
        };
        found.candidates.push(Candidate {
            source: request.source.clone(),
            kernel,
            arch: arch.to_owned(),
            package: package.to_owned(),
            version: version.to_owned(),
            found_in: request.suite.clone(),
            location: PackageLocation::Url(format!("{}/{}", request.base_url, filename)),
            size,
            sha256,
            companion: None,
        });
    }
    Ok((found, kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> IndexRequest {
        IndexRequest {
            source: "s".into(),
            distro: Distro::Debian,
            base_url: "http://m.test/debian".into(),
            suite: "bookworm".into(),
            pocket: None,
            component: "main".into(),
            arch: "amd64".into(),
            companion: false,
        }
    }

    const STANZA: &str = "Package: linux-image-6.1.0-47-cloud-amd64-dbg\nSource: linux\nVersion: 6.1.170-3\nArchitecture: amd64\nFilename: pool/main/l/linux/x.deb\nSize: 281462948\nSHA256: 7AD48C59DE359B78CEEC77AB8330FBFA982360C674444A1DF7BE8EAF11D3863B\n";

    #[test]
    fn urls() {
        let r = request();
        assert_eq!(r.dists_url(), "http://m.test/debian/dists/bookworm");
        assert_eq!(r.packages_path(), "main/binary-amd64/Packages");
        assert_eq!(
            r.packages_url(),
            "http://m.test/debian/dists/bookworm/main/binary-amd64/Packages"
        );
    }

    #[test]
    fn candidate_from_a_stanza() {
        let d = discover_in_index(&request(), STANZA).unwrap();
        assert_eq!(d.rejected, []);
        let c = &d.candidates[0];
        assert_eq!(
            c.location,
            PackageLocation::Url("http://m.test/debian/pool/main/l/linux/x.deb".into())
        );
        assert_eq!(
            c.sha256.as_deref(),
            Some("7ad48c59de359b78ceec77ab8330fbfa982360c674444a1df7be8eaf11d3863b")
        );
        assert_eq!(
            (c.size, c.kernel.release.as_str(), c.found_in.as_str()),
            (Some(281462948), "6.1.0-47-cloud-amd64", "bookworm")
        );
    }

    #[test]
    fn bad_stanzas_name_the_line() {
        let label = "http://m.test/debian/dists/bookworm/main/binary-amd64/Packages";
        let cases = [
            ("Version: 1\n", format!("{label}:1: paragraph without a Package field")),
            (&*STANZA.replace("Size: 281462948", "Size: big"), format!("{label}:6: linux-image-6.1.0-47-cloud-amd64-dbg: Size \"big\" is not a number")),
            (&*STANZA.replace("pool/main/l/linux/x.deb", "../../etc/passwd"), format!("{label}:5: linux-image-6.1.0-47-cloud-amd64-dbg: Filename \"../../etc/passwd\" is not a path inside the archive")),
            (&*STANZA.replace("7AD48C", "XYZ"), format!("{label}:7: linux-image-6.1.0-47-cloud-amd64-dbg: SHA256 \"XYZ59DE359B78CEEC77AB8330FBFA982360C674444A1DF7BE8EAF11D3863B\" is not 64 hex digits")),
            (&*format!("Package: a\n\n{}", STANZA.replace("Version: 6.1.170-3\n", "")), format!("{label}:3: linux-image-6.1.0-47-cloud-amd64-dbg: no Version field")),
        ];
        for (text, message) in cases {
            assert_eq!(
                discover_in_index(&request(), text).unwrap_err().to_string(),
                message
            );
        }
    }

    fn stanza(package: &str, version: &str, size: u64) -> String {
        format!(
            "Package: {package}\nSource: linux\nVersion: {version}\nArchitecture: amd64\nFilename: pool/main/l/linux/{package}_{version}_amd64.deb\nSize: {size}\nSHA256: {}\n\n",
            "0".repeat(64)
        )
    }

    /// Debian: the companion is the smallest image package of the debug
    /// package's version in the same index; ties go to the name; other
    /// versions, releases and look-alikes are not companions.
    #[test]
    fn companions_by_version_then_size_then_name() {
        let r = "6.1.0-47-cloud-amd64";
        let name = |n: &str| n.replace('R', r);
        let text = [
            STANZA.to_owned() + "\n",
            stanza(&name("linux-image-R"), "6.1.170-3", 500),
            stanza(&name("linux-image-R-unsigned"), "6.1.170-3", 400),
            stanza(&name("linux-image-R"), "6.1.170-2", 10),
            stanza("linux-image-6.1.0-48-cloud-amd64", "6.1.170-3", 5),
            stanza(&name("linux-modules-R"), "6.1.170-3", 5),
            stanza(&name("linux-headers-R"), "6.1.170-3", 5),
        ]
        .concat();
        let d = discover_in_index(&request(), &text).unwrap();
        assert_eq!(d.candidates.len(), 1);
        let c = d.candidates[0].companion.clone().unwrap();
        assert_eq!(
            (c.package.as_str(), c.version.as_str(), c.size, c.url.as_str()),
            (
                "linux-image-6.1.0-47-cloud-amd64-unsigned",
                "6.1.170-3",
                400,
                "http://m.test/debian/pool/main/l/linux/linux-image-6.1.0-47-cloud-amd64-unsigned_6.1.170-3_amd64.deb"
            )
        );
        // A tie in size: the name decides, whatever the index's order.
        for order in [[1, 2], [2, 1]] {
            let sized = [
                stanza(&name("linux-image-R"), "6.1.170-3", 400),
                stanza(&name("linux-image-R-unsigned"), "6.1.170-3", 400),
            ];
            let text = STANZA.to_owned() + "\n" + &sized[order[0] - 1] + &sized[order[1] - 1];
            let d = discover_in_index(&request(), &text).unwrap();
            let c = d.candidates[0].companion.clone().unwrap();
            assert_eq!(c.package, "linux-image-6.1.0-47-cloud-amd64");
        }
        // Without Size or SHA256 (nothing to check the download with), or
        // with a path outside the archive, an entry is not used.
        let broken = [
            stanza(&name("linux-image-R"), "6.1.170-3", 1).replace("Size: 1\n", ""),
            stanza(&name("linux-image-R"), "6.1.170-3", 1).replace(&"0".repeat(64), "xyz"),
            stanza(&name("linux-image-R"), "6.1.170-3", 1).replace("pool/", "../"),
        ];
        for b in broken {
            let d = discover_in_index(&request(), &(STANZA.to_owned() + "\n" + &b)).unwrap();
            assert_eq!(d.candidates[0].companion, None, "{b}");
        }
        // Ubuntu's names, from another index of the same suite.
        let ubuntu = IndexRequest {
            distro: Distro::Ubuntu,
            ..request()
        };
        let index = companions_in_index(
            &ubuntu,
            &[
                stanza("linux-modules-5.4.0-26-generic", "5.4.0-26.30", 900),
                stanza("linux-buildinfo-5.4.0-26-generic", "5.4.0-26.30", 90),
            ]
            .concat(),
        )
        .unwrap();
        assert_eq!(index.len(), 2);
        let found = index.find(Distro::Ubuntu, "5.4.0-26-generic", "5.4.0-26.30");
        assert_eq!(
            found.map(|c| c.package),
            Some("linux-buildinfo-5.4.0-26-generic".to_owned())
        );
        assert_eq!(
            index.find(Distro::Ubuntu, "5.4.0-26-generic", "5.4.0-26.31"),
            None
        );
        assert_eq!(
            index.find(Distro::Debian, "5.4.0-26-generic", "5.4.0-26.30"),
            None
        );
    }

    #[test]
    fn decodes_by_magic() {
        use std::io::Write;
        let plain = STANZA.as_bytes();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(plain).unwrap();
        let gz = gz.finish().unwrap();
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 1);
        xz.write_all(plain).unwrap();
        let xz = xz.finish().unwrap();
        for bytes in [plain.to_vec(), gz.clone(), xz] {
            assert_eq!(decode_index(&bytes, "i").unwrap(), STANZA);
        }
        assert_eq!(
            decode_index(&gz[..gz.len() / 2], "Packages.gz")
                .unwrap_err()
                .to_string(),
            "Packages.gz:0: decompressing (gzip): incomplete deflate stream"
        );
        assert_eq!(
            decode_index(b"Package: a\n\xff\n", "P")
                .unwrap_err()
                .to_string(),
            "P:2: not UTF-8 (byte 11)"
        );
    }
}
