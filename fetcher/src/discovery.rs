//! From a config to a plan: runs each `[[source]]`'s discovery (archive
//! indices, the Launchpad walk, a local directory) over what a
//! [`Retrieve`] implementation hands it, then [`crate::plan::build_plan`].
//! Network access, signature and hash checks are the retriever's; this
//! module only decides what to ask for and reads the answers. One failing
//! source or index does not stop the others: its error is returned beside
//! the plan of everything else. An `ubuntu` source with a `companion_url`
//! also reads, for each of its indices that lists a kernel, the same index
//! of that archive for the packages carrying the kernels' configs; one
//! that cannot be read is a warning (those kernels get no config), never a
//! failure.

use std::collections::BTreeMap;

use crate::apt::AptSources;
use crate::candidate::Discovery;
use crate::config::{
    resolve_companion_url, resolve_env_url, FetchConfig, SourceConfig, SourceKind, UrlSetting,
};
use crate::index::{companions_in_index, discover_in_index, index_requests, IndexRequest};
use crate::naming::Distro;
use crate::plan::{build_plan, Plan};
use crate::{launchpad, local, Error, Result};

/// What discovery asks of the network side.
pub trait Retrieve {
    /// The verified, decoded text of one `Packages` index, or `None` when
    /// the suite's `Release` file does not list it (that arch or component
    /// is not published in the suite). A request with `companion` set is
    /// verified with the source's `companion_keyring`.
    fn packages_index(&mut self, request: &IndexRequest) -> Result<Option<String>>;
    /// The body of one GET on Launchpad's API.
    fn launchpad_get(&mut self, url: &str) -> Result<String>;
}

/// A plan and the errors of the sources or indices that failed.
#[derive(Debug, Default)]
pub struct Outcome {
    pub plan: Plan,
    pub failures: Vec<Error>,
    /// Problems that cost only some kernels their config (see
    /// [`Discovery::warnings`]), one message each.
    pub warnings: Vec<String>,
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
    let mut warnings = Vec::new();
    for source in &config.sources {
        let (mut discovery, mut errors) = discover_source(config, source, env, apt, retrieve);
        failures.append(&mut errors);
        warnings.append(&mut discovery.warnings);
        discovered.insert(source.name.clone(), discovery);
    }
    Ok(Outcome {
        plan: build_plan(config, &discovered)?,
        failures,
        warnings,
    })
}

/// Gives the candidates of `found` their companions from the companion
/// archive's index `request`; an index that cannot be read becomes a
/// warning.
fn attach_companions(retrieve: &mut dyn Retrieve, request: &IndexRequest, found: &mut Discovery) {
    let companions = retrieve
        .packages_index(request)
        .and_then(|text| match text {
            Some(text) => companions_in_index(request, &text).map(Some),
            None => Ok(None),
        });
    match companions {
        Ok(Some(index)) => index.attach(Distro::Ubuntu, &mut found.candidates),
        Ok(None) => found.warnings.push(format!(
            "{}: not listed in the companion archive's Release file; its kernels get no config",
            request.packages_url()
        )),
        Err(e) => found
            .warnings
            .push(format!("companion index: {e}; its kernels get no config")),
    }
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
            // Ubuntu's companion packages are in another archive; an
            // unusable companion_url costs the configs only.
            let companion_base = match resolve_companion_url(&config.file, source, env) {
                Ok(base) => base,
                Err(e) => {
                    found
                        .warnings
                        .push(format!("{e}; this source's kernels get no config"));
                    None
                }
            };
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
                            Ok(mut d) => {
                                if let (Some(base), false) =
                                    (&companion_base, d.candidates.is_empty())
                                {
                                    attach_companions(
                                        retrieve,
                                        &request.in_companion_archive(base),
                                        &mut d,
                                    );
                                }
                                found.extend(d)
                            }
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
