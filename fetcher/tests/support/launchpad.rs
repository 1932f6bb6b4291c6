//! A fake Launchpad API on the loopback mirror: query-string URLs
//! (`ws.op=…`), paged collections with `next_collection_link`, and
//! `binaryFileUrls` with `include_meta=true` (url, size, sha1, sha256), all
//! under the API root `<mirror>/devel`; package files under
//! `<mirror>/files/`. Either the recorded responses of
//! `fixtures/launchpad/responses.json` (their `https://lp-api.test/devel`
//! and `https://lp-files.test` rewritten to the mirror) or a small archive
//! built here ([`FakeLaunchpad`]).

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::{json, Value};

use super::{request_key, sha256_hex, Mirror};

/// The API root and file host the recorded responses use.
pub const RECORDED_API: &str = "https://lp-api.test/devel";
pub const RECORDED_FILES: &str = "https://lp-files.test";

/// The API root served by `mirror` (no trailing slash).
pub fn api_root(mirror: &Mirror) -> String {
    format!("{}devel", mirror.base)
}

/// The file host served by `mirror` (no trailing slash).
pub fn files_root(mirror: &Mirror) -> String {
    format!("{}files", mirror.base)
}

/// The serving key of an absolute API URL under `base`.
pub fn key_of(url: &str, base: &str) -> String {
    let relative = url
        .strip_prefix(base)
        .unwrap_or_else(|| panic!("{url} is not under {base}"));
    let (path, query) = match relative.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (relative, None),
    };
    request_key(path, query)
}

/// The recorded responses, keyed by URL as recorded.
pub fn recorded() -> Vec<(String, Value)> {
    let path = super::repo_root().join("fetcher/tests/fixtures/launchpad/responses.json");
    let map: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    map.into_iter().collect()
}

/// Serves every recorded response from `mirror`, rewritten to its API root
/// and file host.
pub fn serve_recorded(mirror: &Mirror) {
    let api = api_root(mirror);
    let files = files_root(mirror);
    let encoded = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    // Links hold the API root plainly and, in query values, percent-encoded.
    let rewrite = |text: &str| {
        text.replace(RECORDED_API, &api)
            .replace(&encoded(RECORDED_API), &encoded(&api))
            .replace(RECORDED_FILES, &files)
    };
    let mut served = mirror.state.files.lock().unwrap();
    for (url, body) in recorded() {
        let (path, query) = url.split_once('?').unwrap_or((&url, ""));
        let path = path.strip_prefix(RECORDED_API).unwrap();
        let query: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), rewrite(&v)))
            .collect();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        let key = request_key(&format!("devel{path}"), Some(&query));
        served.insert(key, Bytes::from(rewrite(&body.to_string())));
    }
}

/// One binary of an upload: package name, arch, and the file's bytes.
pub struct FakeBinary {
    pub name: String,
    pub arch: String,
    pub bytes: Vec<u8>,
}

/// A small Launchpad archive: uploads of source packages, each with its
/// binaries and their files. Source publications of one series and source
/// package are served one per page, so every collection of two or more
/// uploads has a `next_collection_link`.
pub struct FakeLaunchpad {
    api: String,
    files: String,
    /// (series, source, version, pocket, binaries)
    uploads: Vec<(String, String, String, String, Vec<FakeBinary>)>,
    /// Texts answered as `source_name=<text>&exact_match=false` queries.
    inexact: Vec<String>,
}

impl FakeLaunchpad {
    pub fn new(mirror: &Mirror) -> Self {
        Self {
            api: api_root(mirror),
            files: files_root(mirror),
            uploads: Vec::new(),
            inexact: Vec::new(),
        }
    }

    /// Adds an upload (`pocket` as the API names it: `Release`, `Updates`, …).
    pub fn upload(
        &mut self,
        series: &str,
        source: &str,
        version: &str,
        pocket: &str,
        binaries: Vec<FakeBinary>,
    ) {
        self.uploads.push((
            series.into(),
            source.into(),
            version.into(),
            pocket.into(),
            binaries,
        ));
    }

    /// Also answers `source_name=<text>&exact_match=false` in every series,
    /// as Launchpad does: with the uploads of every source package whose
    /// name contains `text`, in upload order.
    pub fn answer_inexact(&mut self, text: &str) {
        self.inexact.push(text.into());
    }

    /// The file URL of a binary: `.ddeb` for a debug package (`…-dbgsym`),
    /// `.deb` for any other (a companion package).
    pub fn file_url(&self, name: &str, version: &str, arch: &str) -> String {
        let extension = if name.ends_with("-dbgsym") {
            "ddeb"
        } else {
            "deb"
        };
        format!(
            "{}/ubuntu/+archive/primary/+files/{name}_{version}_{arch}.{extension}",
            self.files
        )
    }

    /// Installs every response and file in `mirror`. `pocket` is the one
    /// the source queries ask for (a config with a single pocket).
    pub fn install(&self, mirror: &Mirror, pocket: &str) {
        let mut served: HashMap<String, Bytes> = HashMap::new();
        let api = &self.api;
        let mut next_sourcepub = 1000u32;
        let mut next_binarypub = 5000u32;
        // Source publications per (series, source), in upload order.
        let mut collections: Vec<((String, String), Vec<Value>)> = Vec::new();
        for (series, source, version, upload_pocket, binaries) in &self.uploads {
            next_sourcepub += 1;
            let sourcepub = format!("{api}/ubuntu/+archive/primary/+sourcepub/{next_sourcepub}");
            let entry = json!({
                "self_link": sourcepub,
                "source_package_name": source,
                "source_package_version": version,
                "distro_series_link": format!("{api}/ubuntu/{series}"),
                "pocket": upload_pocket,
                "status": "Published",
                "component_name": "main",
            });
            match collections
                .iter_mut()
                .find(|(k, _)| k.0 == *series && k.1 == *source)
            {
                Some((_, entries)) => entries.push(entry),
                None => collections.push(((series.clone(), source.clone()), vec![entry])),
            }
            let mut binary_entries = Vec::new();
            for b in binaries {
                next_binarypub += 1;
                let binarypub =
                    format!("{api}/ubuntu/+archive/primary/+binarypub/{next_binarypub}");
                binary_entries.push(json!({
                    "self_link": binarypub,
                    "binary_package_name": b.name,
                    "binary_package_version": version,
                    "distro_arch_series_link": format!("{api}/ubuntu/{series}/{}", b.arch),
                    "status": "Published",
                    "pocket": upload_pocket,
                }));
                let url = self.file_url(&b.name, version, &b.arch);
                let files = json!([{
                    "url": url,
                    "size": b.bytes.len(),
                    "sha1": "0000000000000000000000000000000000000000",
                    "sha256": sha256_hex(&b.bytes),
                }]);
                served.insert(
                    key_of(
                        &format!("{binarypub}?ws.op=binaryFileUrls&include_meta=true"),
                        &mirror.base,
                    ),
                    Bytes::from(files.to_string()),
                );
                served.insert(
                    url.strip_prefix(&mirror.base).unwrap().to_owned(),
                    Bytes::from(b.bytes.clone()),
                );
            }
            served.insert(
                key_of(
                    &format!("{sourcepub}?ws.op=getPublishedBinaries&active_binaries_only=false&ws.size=300"),
                    &mirror.base,
                ),
                Bytes::from(json!({"entries": binary_entries, "total_size": binary_entries.len()}).to_string()),
            );
        }
        // Inexact queries: every upload of a series whose source contains the text.
        let mut queries: Vec<((String, String, bool), Vec<Value>)> = Vec::new();
        for text in &self.inexact {
            let mut series_seen: Vec<&String> = Vec::new();
            for (series, ..) in &self.uploads {
                if !series_seen.contains(&series) {
                    series_seen.push(series);
                }
            }
            for series in series_seen {
                let entries: Vec<Value> = collections
                    .iter()
                    .filter(|((s, source), _)| s == series && source.contains(text.as_str()))
                    .flat_map(|(_, e)| e.clone())
                    .collect();
                queries.push(((series.clone(), text.clone(), false), entries));
            }
        }
        queries.extend(
            collections
                .into_iter()
                .map(|((series, source), e)| ((series, source, true), e)),
        );
        for ((series, source, exact), entries) in queries {
            let first = format!(
                "{api}/ubuntu/+archive/primary?ws.op=getPublishedSources&source_name={source}&exact_match={exact}&distro_series={api}/ubuntu/{series}&pocket={pocket}&order_by_date=true&ws.size=300"
            );
            let page_url = |i: usize| {
                if i == 0 {
                    first.clone()
                } else {
                    format!("{first}&memo={i}&ws.start={i}")
                }
            };
            let total = entries.len();
            if total == 0 {
                served.insert(
                    key_of(&page_url(0), &mirror.base),
                    Bytes::from(json!({"entries": [], "start": 0, "total_size": 0}).to_string()),
                );
            }
            for (i, entry) in entries.into_iter().enumerate() {
                let mut page = json!({"entries": [entry], "start": i, "total_size": total});
                if i + 1 < total {
                    page["next_collection_link"] = json!(page_url(i + 1));
                }
                served.insert(
                    key_of(&page_url(i), &mirror.base),
                    Bytes::from(page.to_string()),
                );
            }
        }
        mirror.state.files.lock().unwrap().extend(served);
    }
}
