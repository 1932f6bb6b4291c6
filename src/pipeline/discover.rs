//! Discovery for the commands that plan: the config's sources → the fetch
//! plan, with the network side (signed indices, Launchpad) done by the
//! fetcher's [`NetworkRetriever`]. Rejected look-alikes, failed sources and
//! warnings (a companion archive's index that could not be read) are
//! reported on stderr; a failed source does not stop the others.

use anyhow::Result;
use ksurf_fetcher::apt::AptSources;
use ksurf_fetcher::discovery::needs_apt;
use ksurf_fetcher::http::HttpClient;
use ksurf_fetcher::remote::NetworkRetriever;
use ksurf_fetcher::{discover_and_plan, FetchConfig, Plan};

/// The plan, and how many sources or indices failed (already reported).
pub struct Discovered {
    pub plan: Plan,
    pub failed_sources: usize,
}

/// Discovers every source of `config`.
pub fn discover(
    runtime: &tokio::runtime::Runtime,
    client: &HttpClient,
    config: &FetchConfig,
    allow_expired: bool,
) -> Result<Discovered> {
    let apt = if needs_apt(config) {
        Some(AptSources::load(std::path::Path::new("/"))?)
    } else {
        None
    };
    let mut retriever = NetworkRetriever::new(runtime, client, config);
    retriever.allow_expired = allow_expired;
    let env = |name: &str| std::env::var(name).ok();
    let outcome = discover_and_plan(config, &env, apt.as_ref(), &mut retriever)?;
    for r in &outcome.plan.rejected {
        eprintln!(
            "ksurf: skipped {} {} ({}, {}): {}",
            r.package, r.version, r.arch, r.found_in, r.reason
        );
    }
    for f in &outcome.failures {
        eprintln!("ksurf: error: {f}");
    }
    for w in &outcome.warnings {
        eprintln!("ksurf: warning: {w}");
    }
    Ok(Discovered {
        plan: outcome.plan,
        failed_sources: outcome.failures.len(),
    })
}

/// The async runtime the network side runs on.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
