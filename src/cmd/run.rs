//! `ksurf run`: the whole pipeline on one machine. Plans from the config's
//! `[[source]]` tables, skips images the dataset already holds from the
//! same package and schema version, fetches and extracts the rest with the
//! stages overlapped, re-aggregates the config's `[[group]]` tables, then
//! writes the run's `run_log` file and the snapshot's `_manifest.json`.
//! Exit code: 0 when everything worked, 3 when only compile units failed
//! in some images, 1 when a source, an image or a group failed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use ksurf_aggregator::aggregate;
use ksurf_dataset::Dataset;
use ksurf_fetcher::http::{HttpClient, HttpOptions};
use ksurf_fetcher::progress::Progress;

use crate::pipeline::log::{self, LogRow, Outcome};
use crate::pipeline::process::process;
use crate::pipeline::{discover, work};

#[derive(Args)]
pub struct RunArgs {
    /// Matrix config: [[source]] tables say what to fetch, [[group]]
    /// tables what to compare.
    #[arg(long)]
    pub config: PathBuf,
    /// Dataset to update: a directory (created if needed) or a URL
    /// (s3://bucket/prefix, gs://…, az://…).
    #[arg(long, value_name = "DIR_OR_URL")]
    pub dataset: String,
    #[command(flatten)]
    pub work: super::WorkArgs,
    /// Accept archive Release files whose Valid-Until has passed.
    #[arg(long)]
    pub allow_expired: bool,
}

pub fn run(args: RunArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let config = super::PipelineConfig::load(&args.config)?;
    let dataset = Dataset::open(&args.dataset)?;
    let _lock = super::lock_local_dataset(&dataset)?;
    for path in dataset.remove_abandoned_uploads()? {
        eprintln!(
            "ksurf: removed {} (left by a killed writer)",
            path.display()
        );
    }
    let run_id = log::new_run_id(&dataset)?;

    let runtime = discover::runtime()?;
    let client = HttpClient::new(HttpOptions::default())?;
    let discovered = discover::discover(&runtime, &client, &config.fetch, args.allow_expired)?;
    let pending = work::pending(&dataset, discovered.plan.packages)?;
    println!(
        "{} images planned: {} to do, {} already in {}",
        pending.todo.len() + pending.done.len(),
        pending.todo.len(),
        pending.done.len(),
        dataset.label()
    );
    let mut rows: Vec<LogRow> = pending.done.iter().map(LogRow::skipped).collect();
    let processed = process(
        &runtime,
        &client,
        &dataset,
        pending.todo,
        &args.work.options(),
        &Progress::auto(),
    );
    rows.extend(processed.rows);

    let mut failed_groups = 0;
    if let Some(groups) = &config.groups {
        fail::fail_point!("pipeline::before-aggregate", |_| std::process::abort());
        let aggregating = Instant::now();
        let outcome = aggregate::write_dataset(&dataset, groups)
            .with_context(|| format!("aggregating {}", dataset.label()))?;
        super::aggregate::print_groups(groups, &outcome, "group ");
        for failure in &outcome.failures {
            eprintln!("ksurf: error: {failure}");
        }
        rows.extend(log::group_rows(
            &outcome,
            aggregating.elapsed().as_secs_f64(),
        ));
        failed_groups = outcome.failures.len();
    }

    fail::fail_point!("pipeline::before-run-log", |_| std::process::abort());
    log::write(&dataset, &run_id, &rows)?;
    fail::fail_point!("pipeline::before-manifest", |_| std::process::abort());
    let manifest = dataset.write_manifest()?;

    let done = rows
        .iter()
        .filter(|r| r.image.is_some() && r.outcome == Outcome::Done)
        .count();
    let skipped = rows
        .iter()
        .filter(|r| r.image.is_some() && r.outcome == Outcome::Skipped)
        .count();
    let hours = started.elapsed().as_secs_f64() / 3600.0;
    println!(
        "run {run_id}: {done} images extracted, {skipped} unchanged, {} failed; snapshot {}; {:.1}s ({:.0} images/hour)",
        processed.failed,
        manifest.manifest.snapshot_id(),
        started.elapsed().as_secs_f64(),
        if hours > 0.0 { done as f64 / hours } else { 0.0 },
    );
    Ok(super::pipeline_exit_code(
        discovered.failed_sources + processed.failed + failed_groups,
        processed.with_unit_errors,
    ))
}
