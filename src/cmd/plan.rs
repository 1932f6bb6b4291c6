//! `ksurf plan`: the work list of a distributed run. Discovers what the
//! config's `[[source]]` tables select, leaves out the images the dataset
//! already holds from the same package and schema version, prints the plan
//! (with what is done) and writes the pending packages to the dataset's
//! `_plan/plan.json`, which `ksurf extract --shard I/N` workers read. When
//! a source could not be discovered, nothing is written (exit 1): a
//! partial plan must not replace a complete one.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use ksurf_dataset::layout::PLAN_FILE;
use ksurf_dataset::Dataset;
use ksurf_fetcher::http::{HttpClient, HttpOptions};
use ksurf_fetcher::plan_table::{render_plan, render_series, PackageStatus};

use crate::pipeline::{discover, work};

#[derive(Args)]
pub struct PlanArgs {
    /// Matrix config whose [[source]] tables say what to fetch.
    #[arg(long)]
    pub config: PathBuf,
    /// Dataset (directory or URL) that receives `_plan/plan.json`.
    #[arg(long, value_name = "DIR_OR_URL")]
    pub dataset: String,
    /// Accept archive Release files whose Valid-Until has passed.
    #[arg(long)]
    pub allow_expired: bool,
}

pub fn run(args: PlanArgs) -> Result<ExitCode> {
    let config = super::PipelineConfig::load(&args.config)?;
    let dataset = Dataset::open(&args.dataset)?;
    let runtime = discover::runtime()?;
    let client = HttpClient::new(HttpOptions::default())?;
    let discovered = discover::discover(&runtime, &client, &config.fetch, args.allow_expired)?;
    let table = discovered.plan.clone();
    let pending = work::pending(&dataset, discovered.plan.packages)?;
    let done: std::collections::HashSet<_> = pending.done.iter().map(|p| p.image.clone()).collect();
    print!(
        "{}",
        render_plan(&table, &|p| if done.contains(&p.image) {
            PackageStatus::Done
        } else {
            PackageStatus::Pending
        })
    );
    // How much the whole plan is, per series (a fleet config spans many).
    println!();
    print!(
        "{}",
        render_series(&table, &|p| if done.contains(&p.image) {
            PackageStatus::Done
        } else {
            PackageStatus::Pending
        })
    );
    if discovered.failed_sources > 0 {
        // A plan missing a source's packages would replace a complete one
        // that workers may be reading: keep whatever plan is there.
        eprintln!(
            "ksurf: error: {} source{} could not be discovered: {} not written",
            discovered.failed_sources,
            if discovered.failed_sources == 1 {
                ""
            } else {
                "s"
            },
            dataset.object_label(&PLAN_FILE.into())
        );
        return Ok(super::pipeline_exit_code(discovered.failed_sources, 0));
    }
    let todo = pending.todo.len();
    let list = work::WorkList::new(&config.bytes, pending.todo);
    list.write(&dataset)?;
    println!(
        "wrote {}: {todo} packages to fetch and extract, {} already done (plan {})",
        dataset.object_label(&PLAN_FILE.into()),
        pending.done.len(),
        list.id()
    );
    Ok(super::pipeline_exit_code(discovered.failed_sources, 0))
}
