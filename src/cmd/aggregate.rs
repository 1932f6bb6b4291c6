//! `ksurf aggregate`: per-function status and changes for the groups of a
//! config, written to the dataset's aggregated tables.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use ksurf_aggregator::{aggregate, config};

#[derive(Args)]
pub struct AggregateArgs {
    #[command(flatten)]
    pub dataset: super::ExistingDataset,
    /// Matrix config whose [[group]] tables name the comparison groups.
    #[arg(long)]
    pub config: PathBuf,
    /// Then write the snapshot's `_manifest.json` (the last step of a
    /// distributed run).
    #[arg(long)]
    pub manifest: bool,
}

pub fn run(args: AggregateArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let groups = config::load(&args.config)?;
    let dataset = args.dataset.open()?;
    let outcome = aggregate::write_dataset(&dataset, &groups)?;
    for (name, counts) in &outcome.written {
        println!(
            "{name}: {} function names, {} changes",
            counts.function_names, counts.changes
        );
    }
    for failure in &outcome.failures {
        eprintln!("ksurf: error: {failure}");
    }
    println!(
        "{} of {} groups aggregated, {:.2}s",
        outcome.written.len(),
        groups.len(),
        started.elapsed().as_secs_f64()
    );
    if args.manifest {
        let report = dataset.write_manifest()?;
        println!(
            "wrote {}: snapshot {}",
            dataset.object_label(&"_manifest.json".into()),
            report.manifest.snapshot_id()
        );
    }
    Ok(if outcome.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
