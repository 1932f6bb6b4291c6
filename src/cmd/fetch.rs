//! `ksurf fetch`: with `--plan`, lists what a config selects (image,
//! package, version, size, source, whether the dataset already has the
//! image) and the totals. Discovery of `local` sources works now; remote
//! sources (archives, Launchpad) need the download side, which is not wired
//! into the command yet, and are reported as errors.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use ksurf_dataset::Dataset;
use ksurf_fetcher::config::SourceKind;
use ksurf_fetcher::plan::build_plan;
use ksurf_fetcher::plan_table::{render_plan, PackageStatus};
use ksurf_fetcher::{local, FetchConfig};

pub fn run(config: &Path, plan: bool, dataset: Option<&str>) -> Result<ExitCode> {
    if !plan {
        bail!("fetching packages is not wired into `ksurf fetch` yet; use --plan to list what would be fetched");
    }
    let config = FetchConfig::load(config)?;
    let done: HashSet<_> = match dataset {
        Some(dir) => Dataset::open_existing(dir)?
            .images()
            .with_context(|| format!("listing the images of {dir}"))?
            .into_iter()
            .collect(),
        None => HashSet::new(),
    };
    let mut failures = Vec::new();
    let mut discovered = BTreeMap::new();
    for source in &config.sources {
        if source.kind != SourceKind::Local {
            failures.push(format!(
                "{}: [[source]] {:?} (kind {}): remote discovery is not wired into `ksurf fetch` yet",
                config.file,
                source.name,
                source.kind.as_str()
            ));
            continue;
        }
        match local::discover(source) {
            Ok(found) => {
                discovered.insert(source.name.clone(), found);
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    let plan = build_plan(&config, &discovered)?;
    print!(
        "{}",
        render_plan(&plan, &|p| if done.contains(&p.image) {
            PackageStatus::Done
        } else {
            PackageStatus::Pending
        })
    );
    for r in &plan.rejected {
        eprintln!(
            "ksurf: skipped {} {} ({}, {}): {}",
            r.package, r.version, r.arch, r.found_in, r.reason
        );
    }
    for f in &failures {
        eprintln!("ksurf: error: {f}");
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
