//! Discovery through Launchpad's anonymous REST API, which keeps every
//! upload a series ever had (the ddebs archive lists only current ones).
//! The walk, per series and source package (`linux`, `linux-aws`, …):
//!
//! 1. `GET <api>/ubuntu/+archive/primary?ws.op=getPublishedSources&source_name=…&exact_match=true&distro_series=<api>/ubuntu/<series>`
//!    (a paged collection: `entries`, `next_collection_link`) → source
//!    publications (`source_package_version`, `pocket`, `status`, `self_link`);
//! 2. per kept publication `GET <self_link>?ws.op=getPublishedBinaries&active_binaries_only=false`
//!    (paged) → binary publications (`binary_package_name`,
//!    `binary_package_version`, `distro_arch_series_link`, `self_link`);
//! 3. per selected kernel debug binary `GET <self_link>?ws.op=binaryFileUrls&include_meta=true`
//!    → `[{"url", "size", "sha1", "sha256"}]`.
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
use crate::plan::{compare_versions, PackageLocation};
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

/// Step 1's URL for one series and source package; `pocket` narrows it
/// when the source accepts a single pocket.
pub fn published_sources_url(
    base: &str,
    series: &str,
    source_package: &str,
    pocket: Option<Pocket>,
) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("ws.op", "getPublishedSources")
        .append_pair("source_name", source_package)
        .append_pair("exact_match", "true")
        .append_pair("distro_series", &format!("{base}/ubuntu/{series}"));
    if let Some(p) = pocket {
        query.append_pair("pocket", p.launchpad_name());
    }
    query
        .append_pair("order_by_date", "true")
        .append_pair("ws.size", &PAGE_SIZE.to_string());
    format!("{base}/ubuntu/+archive/primary?{}", query.finish())
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
                for binary in binaries {
                    let arch = last_segment(&binary.distro_arch_series_link).to_owned();
                    let facts = PackageFacts {
                        package: &binary.binary_package_name,
                        source: Some(name),
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
                    let files_url = binary_files_url(&binary);
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
                        // The walk reads no companion (docs/dataset.md).
                        companion: None,
                    });
                }
            }
        }
    }
    Ok(found)
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
    for p in publications {
        if p.source_package_name != name || last_segment(&p.distro_series_link) != series {
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
        match kept
            .iter_mut()
            .find(|(_, k)| k.source_package_version == p.source_package_version)
        {
            Some(existing) if rank < existing.0 => *existing = (rank, p),
            Some(_) => {}
            None => kept.push((rank, p)),
        }
    }
    let mut kept: Vec<SourcePublication> = kept.into_iter().map(|(_, p)| p).collect();
    kept.sort_by(|a, b| compare_versions(&a.source_package_version, &b.source_package_version));
    if source.revision != RevisionPolicy::All {
        let mut by_version: Vec<(String, SourcePublication)> = Vec::new();
        for p in kept {
            let kernel = kernel_version_of(&p.source_package_version);
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
}
