//! `ksurf extract --config C --dataset D --shard I/N`: one worker of a
//! distributed run. Reads the work list `ksurf plan` wrote, takes every
//! N-th package from position I, skips those another (or an earlier, dead)
//! worker already completed, and fetches and extracts the rest into the
//! dataset. Workers share nothing but the dataset: each image's files are
//! written whole, the `images` marker last, so a worker that dies is simply
//! run again. Its `run_log` file is `run=<plan id>-shard-<I>-of-<N>`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use ksurf_dataset::Dataset;
use ksurf_fetcher::http::{HttpClient, HttpOptions};
use ksurf_fetcher::progress::Progress;

use crate::pipeline::log::{self, LogRow};
use crate::pipeline::process::process;
use crate::pipeline::work::{self, Shard, WorkList};

pub fn run(
    config: &Path,
    dataset: &str,
    shard: Shard,
    work_args: &super::WorkArgs,
) -> Result<ExitCode> {
    let config = super::PipelineConfig::load(config)?;
    let dataset = Dataset::open(dataset)?;
    let list = WorkList::read(&dataset, &config.bytes, &config.fetch.file)?;
    let mine = shard.select(&list.packages);
    let pending = work::pending(&dataset, mine)?;
    println!(
        "shard {}/{} of plan {}: {} packages, {} already done",
        shard.index,
        shard.count,
        list.id(),
        pending.todo.len() + pending.done.len(),
        pending.done.len()
    );
    let mut rows: Vec<LogRow> = pending.done.iter().map(LogRow::skipped).collect();
    let runtime = crate::pipeline::discover::runtime()?;
    let client = HttpClient::new(HttpOptions::default())?;
    let processed = process(
        &runtime,
        &client,
        &dataset,
        pending.todo,
        &work_args.options(),
        &Progress::auto(),
    );
    rows.extend(processed.rows);
    let run_id = format!("{}-shard-{}-of-{}", list.id(), shard.index, shard.count);
    log::write(&dataset, &run_id, &rows)?;
    println!(
        "shard {}/{}: {} failed",
        shard.index, shard.count, processed.failed
    );
    Ok(super::pipeline_exit_code(
        processed.failed,
        processed.with_unit_errors,
    ))
}
