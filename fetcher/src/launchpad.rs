//! Discovery through Launchpad's anonymous REST API, which keeps every
//! upload a series ever had (the ddebs archive lists only current ones).
//! The walk, per series and source package (`linux`, `linux-aws`, …):
//!
//! 1. `GET <api>/ubuntu/+archive/primary?ws.op=getPublishedSources&source_name=…&exact_match=true&distro_series=<api>/ubuntu/<series>`
//!    (a paged collection: `entries`, `next_collection_link`) → source
//!    publications (`source_package_version`, `pocket`, `status`, `self_link`);
//!    for a prefix (`linux-*`), `exact_match=false` and the names that do
//!    not start with it are left out;
//! 2. per kept publication `GET <self_link>?ws.op=getPublishedBinaries&active_binaries_only=false`
//!    (paged) → binary publications (`binary_package_name`,
//!    `binary_package_version`, `distro_arch_series_link`, `self_link`);
//! 3. per selected kernel debug binary `GET <self_link>?ws.op=binaryFileUrls&include_meta=true`
//!    → `[{"url", "size", "sha1", "sha256"}]`;
//! 4. the same for the binaries of that upload that may carry the kernel's
//!    build configuration ([`companion_of`]), to choose the smallest.
//!
//! `include_meta` on binary publications exists only in the API's `devel`
//! version, so the configured API root must be the `devel` one. Every link
//! the API returns must stay under that root. The HTTP client is the
//! caller's (`get`); this module decides the requests and reads the answers.

use std::collections::HashSet;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::candidate::{is_sha256_hex, Candidate, Discovery, RejectedPackage};
use crate::config::{Pocket, RevisionPolicy, SourceConfig};
use crate::naming::{judge, Distro, PackageFacts};
use crate::plan::{compare_versions, Companion, PackageLocation};
use crate::{Error, Result};

/// Entries per page asked for (the API's maximum is 300).
pub const PAGE_SIZE: u32 = 300;
/// Pages followed per collection before giving up (a loop guard).
pub const MAX_PAGES: usize = 1000;

/// One page of a collection.
#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    pub entries: Vec<T>,
    #[serde(default)]
    pub next_collection_link: Option<String>,
}

/// A source publication (`source_package_publishing_history`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SourcePublication {
    pub self_link: String,
    pub source_package_name: String,
    pub source_package_version: String,
    pub distro_series_link: String,
    pub pocket: String,
    pub status: String,
}

/// A binary publication (`binary_package_publishing_history`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BinaryPublication {
    pub self_link: String,
    pub binary_package_name: String,
    pub binary_package_version: String,
    pub distro_arch_series_link: String,
    pub status: String,
}

/// One file of a binary publication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryFile {
    pub url: String,
    pub size: Option<u64>,
    pub sha256: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawFile {
    Meta {
        url: String,
        size: Option<u64>,
        sha256: Option<String>,
    },
    Plain(String),
}

/// Step 1's URL for one series and source package (a name, or a prefix
/// ending in `*`, see [`source_name_query`]); `pocket` narrows it when the
/// source accepts a single pocket.
pub fn published_sources_url(
    base: &str,
    series: &str,
    source_package: &str,
    pocket: Option<Pocket>,
) -> String {
    let (name, exact) = source_name_query(source_package);
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("ws.op", "getPublishedSources")
        .append_pair("source_name", name)
        .append_pair("exact_match", if exact { "true" } else { "false" })
        .append_pair("distro_series", &format!("{base}/ubuntu/{series}"));
    if let Some(p) = pocket {
        query.append_pair("pocket", p.launchpad_name());
    }
    query
        .append_pair("order_by_date", "true")
        .append_pair("ws.size", &PAGE_SIZE.to_string());
    format!("{base}/ubuntu/+archive/primary?{}", query.finish())
}

/// What step 1 asks for a `launchpad_sources` entry: (`source_name`,
/// `exact_match`). A name is asked for exactly; a prefix `linux-*` as
/// `source_name=linux-&exact_match=false`, which Launchpad answers with
/// every source package whose name *contains* the text, so the answer is
/// filtered by [`source_matches`].
pub fn source_name_query(entry: &str) -> (&str, bool) {
    match entry.strip_suffix('*') {
        Some(prefix) => (prefix, false),
        None => (entry, true),
    }
}

/// Whether source package `name` is one `entry` (a name or a prefix
/// ending in `*`) selects.
pub fn source_matches(entry: &str, name: &str) -> bool {
    match entry.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == entry,
    }
}

/// Step 2's URL.
pub fn published_binaries_url(publication: &SourcePublication) -> String {
    format!(
        "{}?ws.op=getPublishedBinaries&active_binaries_only=false&ws.size={PAGE_SIZE}",
        publication.self_link
    )
}

/// Step 3's URL.
pub fn binary_files_url(binary: &BinaryPublication) -> String {
    format!(
        "{}?ws.op=binaryFileUrls&include_meta=true",
        binary.self_link
    )
}

/// Reads one page of a collection. `label` is the URL it came from.
pub fn parse_page<T: DeserializeOwned>(text: &str, label: &str) -> Result<Page<T>> {
    serde_json::from_str(text).map_err(|e| Error::Launchpad {
        label: label.to_owned(),
        message: format!("not a collection page as the API documents it: {e}"),
    })
}

/// Reads a `binaryFileUrls` answer (with or without `include_meta`).
pub fn parse_binary_files(text: &str, label: &str) -> Result<Vec<BinaryFile>> {
    let raw: Vec<RawFile> = serde_json::from_str(text).map_err(|e| Error::Launchpad {
        label: label.to_owned(),
        message: format!("not a list of binary file URLs: {e}"),
    })?;
    raw.into_iter()
        .map(|f| match f {
            RawFile::Plain(url) => Ok(BinaryFile {
                url,
                size: None,
                sha256: None,
            }),
            RawFile::Meta { url, size, sha256 } => {
                let sha256 = match sha256 {
                    Some(h) if is_sha256_hex(&h) => Some(h.to_ascii_lowercase()),
                    Some(h) => {
                        return Err(Error::Launchpad {
                            label: label.to_owned(),
                            message: format!("{url}: sha256 {h:?} is not 64 hex digits"),
                        })
                    }
                    None => None,
                };
                Ok(BinaryFile { url, size, sha256 })
            }
        })
        .collect()
}

/// Walks the API for one `launchpad` source. `base` is the API root (no
/// trailing slash); `get` performs one GET and returns the body.
pub fn discover(
    source: &SourceConfig,
    base: &str,
    get: &mut dyn FnMut(&str) -> Result<String>,
) -> Result<Discovery> {
    let pockets = source.pockets();
    let single_pocket = (pockets.len() == 1).then(|| pockets[0]);
    let mut found = Discovery::default();
    for series in source.series() {
        for name in &source.launchpad_sources {
            let url = published_sources_url(base, series, name, single_pocket);
            let publications: Vec<SourcePublication> = collect(base, &url, get)?;
            for publication in
                select_publications(source, series, name, &pockets, publications, &url)?
            {
                let pocket = pocket_of(&publication.pocket).unwrap_or(Pocket::Release);
                let found_in = pocket.suite(series);
                let url = published_binaries_url(&publication);
                check_link(base, &publication.self_link, &url)?;
                let binaries: Vec<BinaryPublication> = collect(base, &url, get)?;
                let mut seen = HashSet::new();
                let first_new = found.candidates.len();
                for binary in &binaries {
                    let arch = last_segment(&binary.distro_arch_series_link).to_owned();
                    let facts = PackageFacts {
                        package: &binary.binary_package_name,
                        source: Some(&publication.source_package_name),
                        size: None,
                        depends: None,
                    };
                    let reject = |reason| RejectedPackage {
                        source: source.name.clone(),
                        package: binary.binary_package_name.clone(),
                        version: binary.binary_package_version.clone(),
                        arch: arch.clone(),
                        found_in: found_in.clone(),
                        reason,
                    };
                    let kernel = match judge(Distro::Ubuntu, &facts) {
                        Ok(None) => continue,
                        Ok(Some(kernel)) => kernel,
                        Err(reason) => {
                            found.rejected.push(reject(reason));
                            continue;
                        }
                    };
                    if !source.selectors.wants_arch(&arch)
                        || !source.selectors.wants_kernel(&kernel)
                        || !seen.insert((binary.binary_package_name.clone(), arch.clone()))
                    {
                        continue;
                    }
                    let files_url = binary_files_url(binary);
                    check_link(base, &binary.self_link, &url)?;
                    let files = parse_binary_files(&get(&files_url)?, &files_url)?;
                    let file =
                        pick_file(&files, &binary.binary_package_name, &arch).ok_or_else(|| {
                            Error::Launchpad {
                                label: files_url.clone(),
                                message: format!(
                                    "no .ddeb/.deb file named {}_…_{arch} among {} file(s)",
                                    binary.binary_package_name,
                                    files.len()
                                ),
                            }
                        })?;
                    let sized = PackageFacts {
                        size: file.size,
                        ..facts
                    };
                    if let Err(reason) = judge(Distro::Ubuntu, &sized) {
                        found.rejected.push(reject(reason));
                        continue;
                    }
                    found.candidates.push(Candidate {
                        source: source.name.clone(),
                        kernel,
                        arch,
                        package: binary.binary_package_name.clone(),
                        version: binary.binary_package_version.clone(),
                        found_in: found_in.clone(),
                        location: PackageLocation::Url(file.url.clone()),
                        size: file.size,
                        sha256: file.sha256.clone(),
                        companion: None,
                    });
                }
                for candidate in &mut found.candidates[first_new..] {
                    match companion_of(base, &binaries, candidate, get) {
                        Ok(companion) => candidate.companion = companion,
                        Err(e) => found.warnings.push(format!(
                            "{} {} ({}): companion: {e}; its kernel gets no config",
                            candidate.package, candidate.version, candidate.arch
                        )),
                    }
                }
            }
        }
    }
    Ok(found)
}

/// The companion of a kernel debug package found in one upload: among the
/// upload's binaries of the package's architecture and exact version,
/// `linux-modules-<release>` and `linux-buildinfo-<release>`
/// ([`crate::companion::remote_companion_names`]), else `linux-image-<release>`
/// (which, before Ubuntu split signed kernels out of the `linux` source
/// around 4.15, carried `boot/config-<release>`), the smallest by the size
/// `binaryFileUrls` gives; ties go to the name, then the URL. Files without
/// a size or SHA-256 are not used (the download could not be checked), as
/// in an archive's index. `Ok(None)` when the upload has none; `Err` when a
/// `binaryFileUrls` answer cannot be read.
pub fn companion_of(
    base: &str,
    binaries: &[BinaryPublication],
    candidate: &Candidate,
    get: &mut dyn FnMut(&str) -> Result<String>,
) -> Result<Option<Companion>> {
    let release = &candidate.kernel.release;
    let preferred = crate::companion::remote_companion_names(Distro::Ubuntu, release);
    let fallback = [format!("linux-image-{release}")];
    for names in [&preferred[..], &fallback[..]] {
        let mut best: Option<Companion> = None;
        for binary in binaries.iter().filter(|b| {
            names.contains(&b.binary_package_name)
                && b.binary_package_version == candidate.version
                && last_segment(&b.distro_arch_series_link) == candidate.arch
                && b.status != "Deleted"
        }) {
            let files_url = binary_files_url(binary);
            check_link(base, &binary.self_link, &files_url)?;
            let files = parse_binary_files(&get(&files_url)?, &files_url)?;
            let Some(BinaryFile {
                url,
                size: Some(size),
                sha256: Some(sha256),
            }) = pick_file(&files, &binary.binary_package_name, &candidate.arch)
            else {
                continue;
            };
            let companion = Companion {
                package: binary.binary_package_name.clone(),
                version: binary.binary_package_version.clone(),
                url: url.clone(),
                size: *size,
                sha256: sha256.clone(),
            };
            let key = |c: &Companion| (c.size, c.package.clone(), c.url.clone());
            if best.as_ref().is_none_or(|b| key(&companion) < key(b)) {
                best = Some(companion);
            }
        }
        if best.is_some() {
            return Ok(best);
        }
    }
    Ok(None)
}

/// Keeps the publications discovery walks: the right source and series,
/// an accepted pocket, not deleted; each version once (from the first
/// accepted pocket); with revision `first`/`latest`, only the first/latest
/// upload of each kernel version. In version order.
pub fn select_publications(
    source: &SourceConfig,
    series: &str,
    name: &str,
    pockets: &[Pocket],
    publications: Vec<SourcePublication>,
    label: &str,
) -> Result<Vec<SourcePublication>> {
    let mut kept: Vec<(usize, SourcePublication)> = Vec::new();
    let (asked, exact) = source_name_query(name);
    for p in publications {
        let selected = source_matches(name, &p.source_package_name);
        // A prefix query's answer holds every name containing the text:
        // those that do not start with it are left out, not an error.
        if !selected && !exact && p.source_package_name.contains(asked) {
            continue;
        }
        if !selected || last_segment(&p.distro_series_link) != series {
            return Err(Error::Launchpad {
                label: label.to_owned(),
                message: format!(
                    "asked for {name} in {series}, got {} in {}",
                    p.source_package_name, p.distro_series_link
                ),
            });
        }
        if p.status == "Deleted" {
            continue;
        }
        let Some(rank) =
            pocket_of(&p.pocket).and_then(|pocket| pockets.iter().position(|x| *x == pocket))
        else {
            continue;
        };
        match kept.iter_mut().find(|(_, k)| {
            k.source_package_name == p.source_package_name
                && k.source_package_version == p.source_package_version
        }) {
            Some(existing) if rank < existing.0 => *existing = (rank, p),
            Some(_) => {}
            None => kept.push((rank, p)),
        }
    }
    let mut kept: Vec<SourcePublication> = kept.into_iter().map(|(_, p)| p).collect();
    kept.sort_by(|a, b| {
        a.source_package_name
            .cmp(&b.source_package_name)
            .then_with(|| compare_versions(&a.source_package_version, &b.source_package_version))
    });
    if source.revision != RevisionPolicy::All {
        let mut by_version: Vec<((String, String), SourcePublication)> = Vec::new();
        for p in kept {
            let kernel = (
                p.source_package_name.clone(),
                kernel_version_of(&p.source_package_version),
            );
            match by_version.iter_mut().find(|(k, _)| *k == kernel) {
                Some(slot) if source.revision == RevisionPolicy::Latest => slot.1 = p,
                Some(_) => {}
                None => by_version.push((kernel, p)),
            }
        }
        kept = by_version.into_iter().map(|(_, p)| p).collect();
    }
    Ok(kept)
}

/// `5.4.0-26.30` → `5.4`; `5.15.0-25.25~20.04.2` → `5.15`.
fn kernel_version_of(source_version: &str) -> String {
    let upstream = source_version
        .split(['-', '~', '+'])
        .next()
        .unwrap_or(source_version);
    upstream.split('.').take(2).collect::<Vec<_>>().join(".")
}

fn pocket_of(name: &str) -> Option<Pocket> {
    match name {
        "Release" => Some(Pocket::Release),
        "Updates" => Some(Pocket::Updates),
        "Security" => Some(Pocket::Security),
        "Proposed" => Some(Pocket::Proposed),
        _ => None,
    }
}

fn last_segment(link: &str) -> &str {
    link.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(link)
}

/// The package's own file: `<name>_<version>_<arch>.ddeb` (or `.deb`).
fn pick_file<'a>(files: &'a [BinaryFile], package: &str, arch: &str) -> Option<&'a BinaryFile> {
    files.iter().find(|f| {
        let file = last_segment(&f.url);
        file.starts_with(&format!("{package}_"))
            && (file.ends_with(&format!("_{arch}.ddeb")) || file.ends_with(&format!("_{arch}.deb")))
    })
}

/// Links from the API must stay under the configured root.
fn check_link(base: &str, link: &str, label: &str) -> Result<()> {
    if link.starts_with(&format!("{base}/")) {
        Ok(())
    } else {
        Err(Error::Launchpad {
            label: label.to_owned(),
            message: format!("link {link:?} leaves the configured API root {base:?}"),
        })
    }
}

/// Follows a collection's pages.
fn collect<T: DeserializeOwned>(
    base: &str,
    first: &str,
    get: &mut dyn FnMut(&str) -> Result<String>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    let mut url = first.to_owned();
    let mut seen = HashSet::new();
    for _ in 0..MAX_PAGES {
        let page: Page<T> = parse_page(&get(&url)?, &url)?;
        out.extend(page.entries);
        match page.next_collection_link {
            None => return Ok(out),
            Some(next) => {
                check_link(base, &next, &url)?;
                if !seen.insert(next.clone()) {
                    return Err(Error::Launchpad {
                        label: url,
                        message: format!("next_collection_link {next:?} was already followed"),
                    });
                }
                url = next;
            }
        }
    }
    Err(Error::Launchpad {
        label: first.to_owned(),
        message: format!("more than {MAX_PAGES} pages"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_urls() {
        assert_eq!(
            published_sources_url("https://api.lp.test/devel", "focal", "linux-aws", Some(Pocket::Release)),
            "https://api.lp.test/devel/ubuntu/+archive/primary?ws.op=getPublishedSources&source_name=linux-aws&exact_match=true&distro_series=https%3A%2F%2Fapi.lp.test%2Fdevel%2Fubuntu%2Ffocal&pocket=Release&order_by_date=true&ws.size=300"
        );
        assert_eq!(kernel_version_of("5.15.0-25.25~20.04.2"), "5.15");
        assert_eq!(kernel_version_of("4.4.0-21.37"), "4.4");
    }

    #[test]
    fn a_prefix_selects_the_names_starting_with_it_each_with_its_own_versions() {
        assert_eq!(
            published_sources_url("https://api.lp.test/devel", "focal", "linux-*", Some(Pocket::Release)),
            "https://api.lp.test/devel/ubuntu/+archive/primary?ws.op=getPublishedSources&source_name=linux-&exact_match=false&distro_series=https%3A%2F%2Fapi.lp.test%2Fdevel%2Fubuntu%2Ffocal&pocket=Release&order_by_date=true&ws.size=300"
        );
        let config = crate::config::FetchConfig::parse(
            "[[source]]\nname = \"lp\"\nkind = \"launchpad\"\nurl = \"env:LP\"\nseries = [\"focal\"]\npockets = [\"release\"]\narches = [\"amd64\"]\nrevision = \"first\"\n",
            "c.toml",
        )
        .unwrap();
        let publication = |name: &str, version: &str| SourcePublication {
            self_link: format!("https://api.lp.test/devel/{name}/{version}"),
            source_package_name: name.into(),
            source_package_version: version.into(),
            distro_series_link: "https://api.lp.test/devel/ubuntu/focal".into(),
            pocket: "Release".into(),
            status: "Published".into(),
        };
        let select = |publications| {
            select_publications(
                &config.sources[0],
                "focal",
                "linux-*",
                &[Pocket::Release],
                publications,
                "u",
            )
        };
        // Two packages with one version string are two uploads; the first
        // upload of each package's kernel version; a name that only
        // contains the text is left out.
        let kept = select(vec![
            publication("linux-gcp", "5.4.0-1009.9"),
            publication("linux-aws", "5.4.0-1010.10"),
            publication("linux-aws", "5.4.0-1009.9"),
            publication("backport-linux-tools", "5.4.0-99.1"),
        ])
        .unwrap();
        let kept: Vec<(&str, &str)> = kept
            .iter()
            .map(|p| {
                (
                    p.source_package_name.as_str(),
                    p.source_package_version.as_str(),
                )
            })
            .collect();
        assert_eq!(
            kept,
            [("linux-aws", "5.4.0-1009.9"), ("linux-gcp", "5.4.0-1009.9")]
        );
        // One that does not contain it is not an answer to the query.
        assert_eq!(
            select(vec![publication("firmware", "1.0")])
                .unwrap_err()
                .to_string(),
            "u: asked for linux-* in focal, got firmware in https://api.lp.test/devel/ubuntu/focal"
        );
        assert!(source_matches("linux", "linux") && !source_matches("linux", "linux-aws"));
        assert!(source_matches("linux-*", "linux-aws") && !source_matches("linux-*", "linux"));
    }

    #[test]
    fn binary_files_with_and_without_meta() {
        let text = r#"[{"url": "https://lp.test/+files/a_1_amd64.ddeb", "size": 5, "sha1": "x", "sha256": "AB000000000000000000000000000000000000000000000000000000000000CD"}, "https://lp.test/+files/b_1_amd64.ddeb"]"#;
        assert_eq!(
            parse_binary_files(text, "u").unwrap(),
            [
                BinaryFile {
                    url: "https://lp.test/+files/a_1_amd64.ddeb".into(),
                    size: Some(5),
                    sha256: Some(
                        "ab000000000000000000000000000000000000000000000000000000000000cd".into()
                    )
                },
                BinaryFile {
                    url: "https://lp.test/+files/b_1_amd64.ddeb".into(),
                    size: None,
                    sha256: None
                },
            ]
        );
        assert_eq!(
            parse_binary_files(r#"[{"url": "x", "size": 1, "sha256": "zz"}]"#, "u")
                .unwrap_err()
                .to_string(),
            "u: x: sha256 \"zz\" is not 64 hex digits"
        );
        assert_eq!(
            parse_binary_files("{}", "u").unwrap_err().to_string(),
            "u: not a list of binary file URLs: invalid type: map, expected a sequence at line 1 column 0"
        );
    }

    fn binary(name: &str, version: &str, arch: &str, id: u32) -> BinaryPublication {
        BinaryPublication {
            self_link: format!("https://api.lp.test/devel/ubuntu/+archive/primary/+binarypub/{id}"),
            binary_package_name: name.into(),
            binary_package_version: version.into(),
            distro_arch_series_link: format!("https://api.lp.test/devel/ubuntu/bionic/{arch}"),
            status: "Published".into(),
        }
    }

    /// `binaryFileUrls` answers keyed by binary publication id: (file name,
    /// size, whether a sha256 is given).
    fn answers<'a>(
        files: &'a [(u32, &'a str, u64, bool)],
    ) -> impl FnMut(&str) -> Result<String> + 'a {
        move |url: &str| {
            let id: u32 = url
                .split("+binarypub/")
                .nth(1)
                .and_then(|rest| rest.split('?').next())
                .and_then(|id| id.parse().ok())
                .expect("a binary publication URL");
            let (_, file, size, hashed) = files.iter().find(|f| f.0 == id).expect("asked once");
            Ok(if *hashed {
                format!(
                    r#"[{{"url": "https://lp.test/+files/{file}", "size": {size}, "sha256": "{}"}}]"#,
                    "a".repeat(64)
                )
            } else {
                format!(r#"[{{"url": "https://lp.test/+files/{file}", "size": {size}}}]"#)
            })
        }
    }

    fn candidate(release: &str, version: &str) -> Candidate {
        let package = format!("linux-image-unsigned-{release}-dbgsym");
        let facts = PackageFacts {
            package: &package,
            source: Some("linux"),
            size: None,
            depends: None,
        };
        Candidate {
            source: "history".into(),
            kernel: judge(Distro::Ubuntu, &facts).unwrap().unwrap(),
            arch: "amd64".into(),
            package: package.clone(),
            version: version.into(),
            found_in: "bionic".into(),
            location: PackageLocation::Url(format!("https://lp.test/+files/{package}")),
            size: None,
            sha256: None,
            companion: None,
        }
    }

    #[test]
    fn companion_is_the_smallest_of_the_upload_with_size_and_hash() {
        const BASE: &str = "https://api.lp.test/devel";
        let r = "4.15.0-20-generic";
        let v = "4.15.0-20.21";
        let binaries = [
            binary(&format!("linux-image-unsigned-{r}-dbgsym"), v, "amd64", 1),
            binary(&format!("linux-modules-{r}"), v, "amd64", 2),
            binary(&format!("linux-buildinfo-{r}"), v, "amd64", 3),
            // Smaller, but another architecture, another version, no hash.
            binary(&format!("linux-buildinfo-{r}"), v, "arm64", 4),
            binary(&format!("linux-buildinfo-{r}"), "4.15.0-20.22", "amd64", 5),
            binary(&format!("linux-image-{r}"), v, "amd64", 6),
        ];
        let modules = format!("linux-modules-{r}_{v}_amd64.deb");
        let buildinfo = format!("linux-buildinfo-{r}_{v}_amd64.deb");
        let image = format!("linux-image-{r}_{v}_amd64.deb");
        let files = [
            (2, modules.as_str(), 500, true),
            (3, buildinfo.as_str(), 50, true),
            (6, image.as_str(), 5, true),
        ];
        let found = companion_of(BASE, &binaries, &candidate(r, v), &mut answers(&files)).unwrap();
        // linux-image is only the fallback: buildinfo wins although larger.
        assert_eq!(
            found,
            Some(Companion {
                package: format!("linux-buildinfo-{r}"),
                version: v.into(),
                url: format!("https://lp.test/+files/{buildinfo}"),
                size: 50,
                sha256: "a".repeat(64),
            })
        );
        // Without modules or buildinfo, the upload's linux-image; a file
        // without a hash is never taken.
        let old = [binaries[0].clone(), binaries[5].clone()];
        let found = companion_of(BASE, &old, &candidate(r, v), &mut answers(&files)).unwrap();
        assert_eq!(found.map(|c| c.package), Some(format!("linux-image-{r}")));
        let unhashed = [(6, image.as_str(), 5, false)];
        let found = companion_of(BASE, &old, &candidate(r, v), &mut answers(&unhashed)).unwrap();
        assert_eq!(found, None);
        // An unreadable answer is an error naming the URL (the walk turns it
        // into a warning: the kernel gets no config).
        let err = companion_of(BASE, &old, &candidate(r, v), &mut |_| Ok("{".into())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "https://api.lp.test/devel/ubuntu/+archive/primary/+binarypub/6?ws.op=binaryFileUrls&include_meta=true: not a list of binary file URLs: invalid type: map, expected a sequence at line 1 column 0"
        );
    }
}
