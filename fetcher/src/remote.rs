//! The network side of discovery: a [`Retrieve`] over HTTP. Each suite's
//! signed Release file is fetched and verified once (against the keyring
//! of the `[[source]]` that asks), and discovery receives only `Packages`
//! text whose size and SHA-256 match that Release file. Launchpad pages are
//! fetched as they are (the API is served over TLS; the packages it lists
//! are checked against the SHA-256 it gives when they are downloaded).

use std::collections::HashMap;
use std::path::PathBuf;

use crate::archive::{Archive, VerifiedRelease};
use crate::config::FetchConfig;
use crate::discovery::Retrieve;
use crate::error::{Error, Result};
use crate::http::HttpClient;
use crate::index::IndexRequest;
use crate::release::Keyring;

/// Largest Launchpad API page accepted.
const MAX_LAUNCHPAD_PAGE: u64 = 64 << 20;

/// Discovery's retriever over HTTP, blocking on `runtime` for each request.
pub struct NetworkRetriever<'a> {
    runtime: &'a tokio::runtime::Runtime,
    client: &'a HttpClient,
    config_file: String,
    /// Keyring paths per `[[source]]` name: its archive's, its companion
    /// archive's.
    keyring_paths: HashMap<String, (Option<PathBuf>, Option<PathBuf>)>,
    keyrings: HashMap<PathBuf, Keyring>,
    /// Verified Release files by `<base>/dists/<suite>`.
    releases: HashMap<String, VerifiedRelease>,
    /// Accept Release files whose `Valid-Until` has passed.
    pub allow_expired: bool,
}

impl<'a> NetworkRetriever<'a> {
    pub fn new(
        runtime: &'a tokio::runtime::Runtime,
        client: &'a HttpClient,
        config: &FetchConfig,
    ) -> Self {
        Self {
            runtime,
            client,
            config_file: config.file.clone(),
            keyring_paths: config
                .sources
                .iter()
                .map(|s| {
                    (
                        s.name.clone(),
                        (s.keyring.clone(), s.companion_keyring.clone()),
                    )
                })
                .collect(),
            keyrings: HashMap::new(),
            releases: HashMap::new(),
            allow_expired: false,
        }
    }

    fn keyring_path(&self, source: &str, companion: bool) -> Result<PathBuf> {
        let paths = self.keyring_paths.get(source);
        let path = if companion {
            paths.and_then(|p| p.1.as_ref())
        } else {
            paths.and_then(|p| p.0.as_ref())
        };
        match path {
            Some(path) => Ok(path.clone()),
            None => Err(Error::Config {
                file: self.config_file.clone(),
                message: format!(
                    "[[source]] {source:?}: {}keyring: required to verify the archive's Release signature",
                    if companion { "companion_" } else { "" }
                ),
            }),
        }
    }
}

impl Retrieve for NetworkRetriever<'_> {
    fn packages_index(&mut self, request: &IndexRequest) -> Result<Option<String>> {
        let path = self.keyring_path(&request.source, request.companion)?;
        if !self.keyrings.contains_key(&path) {
            let keyring = Keyring::load(&path)?;
            self.keyrings.insert(path.clone(), keyring);
        }
        let keyring = &self.keyrings[&path];
        let mut archive = Archive::new(self.client, &request.base_url, keyring);
        archive.allow_expired = self.allow_expired;
        let dists = request.dists_url();
        if !self.releases.contains_key(&dists) {
            let release = self.runtime.block_on(archive.release(&request.suite))?;
            self.releases.insert(dists.clone(), release);
        }
        let release = &self.releases[&dists];
        let stem = request.packages_path();
        let listed = ["", ".xz", ".gz"]
            .iter()
            .any(|ext| release.release.entry(&format!("{stem}{ext}")).is_some());
        if !listed {
            return Ok(None);
        }
        self.runtime
            .block_on(archive.packages(release, &request.component, &request.arch))
            .map(Some)
    }

    fn launchpad_get(&mut self, url: &str) -> Result<String> {
        let bytes = self
            .runtime
            .block_on(self.client.get_bytes(url, MAX_LAUNCHPAD_PAGE))?;
        String::from_utf8(bytes).map_err(|e| Error::Launchpad {
            label: url.to_owned(),
            message: format!(
                "response is not UTF-8 (at byte {})",
                e.utf8_error().valid_up_to()
            ),
        })
    }
}
