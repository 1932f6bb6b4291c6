//! `ksurf aggregate`: per-function status and changes for the groups of a
//! config, written to the dataset's aggregated tables. With `--manifest`
//! (the last step of a distributed run) it also logs each group in
//! `run_log`, as run `<plan id>-aggregate` when the dataset holds this
//! config's plan, and writes the snapshot's `_manifest.json`. With
//! `--shard I/N` it is one of N workers aggregating the groups at config
//! positions p with p mod N = I (logged as `<run>-aggregate-shard-I-of-N`);
//! the unsharded run after them finds those groups current.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use ksurf_aggregator::{aggregate, config};
use ksurf_dataset::Dataset;

use crate::pipeline::log;
use crate::pipeline::work::WorkList;

#[derive(Args)]
pub struct AggregateArgs {
    #[command(flatten)]
    pub dataset: super::ExistingDataset,
    /// Matrix config whose [[group]] tables name the comparison groups.
    #[arg(long)]
    pub config: PathBuf,
    /// Then log the groups in `run_log` and write the snapshot's
    /// `_manifest.json` (the last step of a distributed run).
    #[arg(long)]
    pub manifest: bool,
    /// Re-aggregate every group, even those whose images and definition
    /// are as when their tables were written.
    #[arg(long)]
    pub force: bool,
    /// Aggregate only the I-th of N shares of the config's groups (by
    /// position); `/N` takes I from JOB_COMPLETION_INDEX (Kubernetes
    /// Indexed Jobs). Leaves other groups alone; run without it afterwards.
    #[arg(long, value_name = "I/N", conflicts_with = "manifest")]
    pub shard: Option<crate::pipeline::work::Shard>,
}

/// One line per group of the config that was written or left as it was,
/// in config order (`<prefix><name>: <counts>` or `: unchanged …`), then
/// one per group removed because the config no longer has it.
pub fn print_groups(
    groups: &[ksurf_aggregator::config::Group],
    outcome: &aggregate::Outcome,
    prefix: &str,
) {
    for group in groups {
        let name = &group.name;
        if let Some((_, counts)) = outcome.written.iter().find(|(n, _)| n == name) {
            println!("{prefix}{name}: {}", counts.summary());
        } else if outcome.unchanged.contains(name) {
            println!("{prefix}{name}: {UNCHANGED}");
        }
    }
    for name in &outcome.removed {
        println!("{prefix}{name}: removed (no longer in the config)");
    }
}

/// What the CLI says of a group left as it was.
pub const UNCHANGED: &str = "unchanged (same images, files and definition as when aggregated)";

pub fn run(args: AggregateArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let groups = config::load(&args.config)?;
    let dataset = args.dataset.open()?;
    let options = aggregate::WriteOptions {
        force: args.force,
        shard: args.shard.map(|s| (s.index, s.count)),
        ..Default::default()
    };
    let outcome = aggregate::write_dataset_with(&dataset, &groups, &options)?;
    print_groups(&groups, &outcome, "");
    for failure in &outcome.failures {
        eprintln!("ksurf: error: {failure}");
    }
    let in_scope = args.shard.map_or(groups.len(), |s| s.select(&groups).len());
    println!(
        "{} of {} groups aggregated, {} unchanged, {:.2}s",
        outcome.written.len(),
        in_scope,
        outcome.unchanged.len(),
        started.elapsed().as_secs_f64()
    );
    if let Some(shard) = args.shard {
        let base = run_id(&dataset, &args.config)?;
        // `<plan id>-aggregate` with a plan, else `<time>-aggregate`.
        let base = match base.ends_with("-aggregate") {
            true => base,
            false => format!("{base}-aggregate"),
        };
        let run_id = format!("{base}-shard-{}-of-{}", shard.index, shard.count);
        let rows = log::group_rows(&outcome, started.elapsed().as_secs_f64());
        log::write(&dataset, &run_id, &rows)?;
        println!(
            "wrote {}",
            dataset.object_label(&ksurf_dataset::layout::run_log_file(&run_id))
        );
    }
    if args.manifest {
        let run_id = run_id(&dataset, &args.config)?;
        let rows = log::group_rows(&outcome, started.elapsed().as_secs_f64());
        log::write(&dataset, &run_id, &rows)?;
        println!(
            "wrote {}",
            dataset.object_label(&ksurf_dataset::layout::run_log_file(&run_id))
        );
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

/// `<plan id>-aggregate` when the dataset holds a plan made from this
/// config (a distributed run's), else a new id from the clock (`<time>`;
/// a shard's log is `<time>-aggregate-shard-I-of-N`).
fn run_id(dataset: &Dataset, config: &std::path::Path) -> Result<String> {
    let text = std::fs::read(config).with_context(|| format!("reading {}", config.display()))?;
    match WorkList::read_if_exists(dataset, &text, &config.display().to_string()) {
        Ok(Some(plan)) => return Ok(format!("{}-aggregate", plan.id())),
        Ok(None) => {}
        Err(e) => eprintln!("ksurf: note: not logging as part of the planned run: {e:#}"),
    }
    log::new_run_id(dataset)
}
