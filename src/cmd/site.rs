//! `ksurf site`: every function's page plus per-letter index pages and a
//! search box, as static HTML that works from `file://`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use ksurf_aggregator::site;

#[derive(Args)]
pub struct SiteArgs {
    #[command(flatten)]
    pub dataset: super::ExistingDataset,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Show runs of at least N consecutive images of a group that are the
    /// same but for addresses as one range on function pages; 0 lists
    /// every image (DepSurf's layout, as `ksurf report` prints it).
    #[arg(long, value_name = "N", default_value_t = ksurf_aggregator::site::COLLAPSE_RUNS)]
    pub collapse_runs: usize,
}

pub fn run(args: SiteArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let dataset = args.dataset.open()?;
    let summary = site::write_site_with(
        &dataset,
        &args.out,
        ksurf_aggregator::site_index::PAGE_ROWS,
        args.collapse_runs,
    )?;
    println!(
        "{}: {} function pages, {} type pages, {} interface pages, {} index pages, {:.2}s",
        args.out.display(),
        summary.function_pages,
        summary.type_pages,
        summary.interface_pages,
        summary.index_pages,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
