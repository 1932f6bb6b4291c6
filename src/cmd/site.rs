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
}

pub fn run(args: SiteArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let dataset = args.dataset.open()?;
    let summary = site::write_site(&dataset, &args.out)?;
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
