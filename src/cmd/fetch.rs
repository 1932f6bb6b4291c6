//! `ksurf fetch`: discovers what a config's `[[source]]` tables select
//! (local directories, signed Debian-format archives, Launchpad), then with
//! `--plan` lists it (image, package, version, size, source, whether the
//! dataset already has the image) and otherwise fetches every pending
//! package: downloaded into the content-addressed cache (or streamed with
//! `--stream`), checked against the index's size and SHA-256, and its
//! vmlinux unpacked under `<out>/vmlinux/` (with its kernel modules in
//! `modules-<release>/` beside it when the source asks for them: the
//! line printed per image gives their count, and each module that did not
//! decompress is reported as `ksurf: module: …`); a planned companion package
//! is fetched the same way and its `config-<release>` unpacked beside the
//! vmlinux (one that fails is reported as `ksurf: config: …` and costs the
//! config only); with `--dataset`, each image's `fetches` rows are
//! recorded. One failing source or package does not stop the others; the
//! exit code is 1 if anything failed.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use ksurf_dataset::Dataset;
use ksurf_fetcher::cache::Cache;
use ksurf_fetcher::download::{fetch_all, fetch_companion, FetchOptions};
use ksurf_fetcher::http::{HttpClient, HttpOptions};
use ksurf_fetcher::plan_table::{render_plan, PackageStatus};
use ksurf_fetcher::progress::Progress;
use ksurf_fetcher::{manifest, FetchConfig};

use crate::pipeline::discover;

#[derive(Args)]
pub struct FetchArgs {
    /// Matrix config (configs/*.toml) whose [[source]] tables say what to fetch.
    #[arg(long)]
    pub config: PathBuf,
    /// Only list what would be fetched, with sizes and what is already done.
    #[arg(long)]
    pub plan: bool,
    /// Where vmlinux files go (`<out>/vmlinux/<distro>/<arch>/`); the package
    /// cache is `<out>/cache` unless --cache says otherwise.
    #[arg(long, required_unless_present = "plan")]
    pub out: Option<PathBuf>,
    /// Package cache directory (content-addressed by SHA-256).
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Dataset (directory or URL) whose images count as done and that
    /// receives the `fetches` rows.
    #[arg(long)]
    pub dataset: Option<String>,
    /// Unpack while downloading; the package never touches the disk.
    #[arg(long)]
    pub stream: bool,
    /// Accept archive Release files whose Valid-Until has passed.
    #[arg(long)]
    pub allow_expired: bool,
}

pub fn run(args: FetchArgs) -> Result<ExitCode> {
    let config = FetchConfig::load(&args.config)?;
    let dataset = match &args.dataset {
        Some(location) if args.plan => Some(Dataset::open_existing(location)?),
        Some(location) => Some(Dataset::open(location)?),
        None => None,
    };
    let done: HashSet<_> = match (&dataset, &args.dataset) {
        (Some(ds), Some(location)) => ds
            .images()
            .with_context(|| format!("listing the images of {location}"))?
            .into_iter()
            .collect(),
        _ => HashSet::new(),
    };
    let runtime = discover::runtime()?;
    let client = HttpClient::new(HttpOptions::default())?;
    let discovered = discover::discover(&runtime, &client, &config, args.allow_expired)?;
    let mut failed = discovered.failed_sources;
    let plan = discovered.plan;
    if args.plan {
        print!(
            "{}",
            render_plan(&plan, &|p| if done.contains(&p.image) {
                PackageStatus::Done
            } else {
                PackageStatus::Pending
            })
        );
        return Ok(exit_code(failed));
    }

    let out = args.out.expect("clap requires --out without --plan");
    let cache = args.cache.unwrap_or_else(|| out.join("cache"));
    let mut options = FetchOptions::new(&out, &cache);
    options.stream = args.stream;
    let pending: Vec<_> = plan
        .packages
        .into_iter()
        .filter(|p| !done.contains(&p.image))
        .collect();
    let progress = Progress::auto();
    let results = runtime.block_on(fetch_all(&client, pending, &options, &progress));
    let cache = if options.stream {
        None
    } else {
        Some(Cache::open(&options.cache_dir)?)
    };
    for (plan, result) in results {
        let recorded = result.and_then(|fetched| {
            // The companion carrying the kernel's config, when planned;
            // one that cannot be fetched costs the config only.
            let config = match &plan.companion {
                Some(companion) => runtime
                    .block_on(fetch_companion(
                        &client,
                        cache.as_ref(),
                        &plan,
                        &options,
                        &progress,
                    ))
                    .and_then(|r| match r {
                        Ok(config) => {
                            println!(
                                "{}: {} ({} bytes, sha256 {}) from {} {}",
                                plan.image,
                                config.vmlinux.path.display(),
                                config.vmlinux.size,
                                config.vmlinux.sha256,
                                companion.package,
                                companion.version
                            );
                            Some(config)
                        }
                        Err(e) => {
                            eprintln!("ksurf: config: {}: {e}", plan.image);
                            None
                        }
                    }),
                None => None,
            };
            if let Some(ds) = &dataset {
                manifest::record(ds, &plan, &fetched, config.as_ref())?;
            }
            Ok(fetched)
        });
        match recorded {
            Ok(fetched) => {
                println!(
                    "{}: {} ({} bytes, sha256 {}){} from {} {}",
                    plan.image,
                    fetched.vmlinux.path.display(),
                    fetched.vmlinux.size,
                    fetched.vmlinux.sha256,
                    modules_note(fetched.vmlinux.modules.as_ref()),
                    plan.package,
                    plan.version
                );
                for failed in fetched.vmlinux.modules.iter().flat_map(|m| &m.failed) {
                    eprintln!(
                        "ksurf: module: {}: {}: {}",
                        plan.image, failed.entry, failed.message
                    );
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("ksurf: error: {}: {e}", plan.image);
            }
        }
    }
    Ok(exit_code(failed))
}

/// `, N modules in DIR` (with `, M failed` when some did not decompress),
/// or nothing when the package was unpacked without its modules.
fn modules_note(modules: Option<&ksurf_fetcher::Modules>) -> String {
    match modules {
        None => String::new(),
        Some(m) if m.failed.is_empty() => {
            format!(", {} modules in {}", m.count, m.dir.display())
        }
        Some(m) => format!(
            ", {} modules ({} failed) in {}",
            m.count,
            m.failed.len(),
            m.dir.display()
        ),
    }
}

fn exit_code(failures: usize) -> ExitCode {
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
