//! From a config to a plan: runs each `[[source]]`'s discovery (archive
//! indices, the Launchpad walk, a local directory) over what a
//! [`Retrieve`] implementation hands it, then [`crate::plan::build_plan`].
//! Network access, signature and hash checks are the retriever's; this
//! module only decides what to ask for and reads the answers. One failing
//! source or index does not stop the others: its error is returned beside
//! the plan of everything else.

use std::collections::BTreeMap;

use crate::apt::AptSources;
use crate::candidate::Discovery;
use crate::config::{resolve_env_url, FetchConfig, SourceConfig, SourceKind, UrlSetting};
use crate::index::{discover_in_index, index_requests, IndexRequest};
use crate::plan::{build_plan, Plan};
use crate::{launchpad, local, Error, Result};

/// What discovery asks of the network side.
pub trait Retrieve {
    /// The verified, decoded text of one `Packages` index, or `None` when
    /// the suite's `Release` file does not list it (that arch or component
    /// is not published in the suite).
    fn packages_index(&mut self, request: &IndexRequest) -> Result<Option<String>>;
    /// The body of one GET on Launchpad's API.
    fn launchpad_get(&mut self, url: &str) -> Result<String>;
}

/// A plan and the errors of the sources or indices that failed.
#[derive(Debug, Default)]
pub struct Outcome {
    pub plan: Plan,
    pub failures: Vec<Error>,
}

/// Whether any source reads the machine's apt sources (`url = "apt"`).
pub fn needs_apt(config: &FetchConfig) -> bool {
    config
        .sources
        .iter()
        .any(|s| s.url == Some(UrlSetting::Apt))
}

/// Discovers every source and builds the plan. `env` reads environment
/// variables (for `url = "env:NAME"`); `apt` is the machine's apt sources
/// when [`needs_apt`].
pub fn discover_and_plan(
    config: &FetchConfig,
    env: &dyn Fn(&str) -> Option<String>,
    apt: Option<&AptSources>,
    retrieve: &mut dyn Retrieve,
) -> Result<Outcome> {
    let mut discovered = BTreeMap::new();
    let mut failures = Vec::new();
    for source in &config.sources {
        let (discovery, mut errors) = discover_source(config, source, env, apt, retrieve);
        failures.append(&mut errors);
        discovered.insert(source.name.clone(), discovery);
    }
    Ok(Outcome {
        plan: build_plan(config, &discovered)?,
        failures,
    })
}

/// One source's discovery and its errors.
pub fn discover_source(
    config: &FetchConfig,
    source: &SourceConfig,
    env: &dyn Fn(&str) -> Option<String>,
    apt: Option<&AptSources>,
    retrieve: &mut dyn Retrieve,
) -> (Discovery, Vec<Error>) {
    let mut found = Discovery::default();
    let mut errors = Vec::new();
    match source.kind {
        SourceKind::Local => (found, errors) = local::discover(source),
        SourceKind::Ubuntu | SourceKind::Debian => {
            match index_requests(&config.file, source, env, apt) {
                Err(e) => errors.push(e),
                Ok(requests) => {
                    for request in requests {
                        let result =
                            retrieve
                                .packages_index(&request)
                                .and_then(|text| match text {
                                    Some(text) => discover_in_index(&request, &text),
                                    None => Ok(Discovery::default()),
                                });
                        match result {
                            Ok(d) => found.extend(d),
                            Err(e) => errors.push(e),
                        }
                    }
                }
            }
        }
        SourceKind::Launchpad => {
            let walked = resolve_env_url(&config.file, source, env).and_then(|base| {
                let base = base.ok_or_else(|| Error::Config {
                    file: config.file.clone(),
                    message: format!("[[source]] {:?}: url: missing", source.name),
                })?;
                launchpad::discover(source, &base, &mut |url| retrieve.launchpad_get(url))
            });
            match walked {
                Ok(d) => found = d,
                Err(e) => errors.push(e),
            }
        }
    }
    (found, errors)
}
