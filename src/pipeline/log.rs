//! The `run_log` table: what one run (or one shard of a distributed run)
//! did with each planned image and each comparison group — done, skipped
//! (already in the dataset), or failed with the error — and how long it
//! took. One file per run, `run_log/run=<id>/part-0.parquet`, written in
//! one atomic put at the end of the run; a failed image has no `images`
//! marker, so the next run plans it again.

use std::sync::Arc;

use anyhow::Result;
use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use ksurf_dataset::layout::run_log_file;
use ksurf_dataset::{parquet_io, schema, Dataset, TableName};

/// The stage a row is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Fetch,
    Extract,
    Aggregate,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Fetch => "fetch",
            Stage::Extract => "extract",
            Stage::Aggregate => "aggregate",
        }
    }
}

/// How it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Written to the dataset.
    Done,
    /// Already in the dataset from the same package and schema version.
    Skipped,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
        }
    }
}

/// One `run_log` row.
#[derive(Clone, Debug)]
pub struct LogRow {
    pub image: Option<String>,
    pub group: Option<String>,
    pub package: Option<String>,
    pub package_sha256: Option<String>,
    /// The stage the image ended in (where it failed, or `extract` when
    /// done or skipped).
    pub stage: Stage,
    pub outcome: Outcome,
    /// The error, or for a done image the unit errors' count.
    pub message: Option<String>,
    pub seconds: f64,
}

impl LogRow {
    /// The row of a planned package whose image the dataset already holds.
    pub fn skipped(package: &ksurf_fetcher::PlannedPackage) -> Self {
        LogRow {
            image: Some(package.image.to_string()),
            group: None,
            package: Some(package.package.clone()),
            package_sha256: package.sha256.clone(),
            stage: Stage::Extract,
            outcome: Outcome::Skipped,
            message: None,
            seconds: 0.0,
        }
    }
}

/// The rows of an aggregation: one per group written, one per group left
/// as it was (skipped), one per group that failed (with no group when the failure is not a single group's), each
/// with the whole aggregation's wall time.
pub fn group_rows(outcome: &ksurf_aggregator::aggregate::Outcome, seconds: f64) -> Vec<LogRow> {
    let row = |group: Option<String>, outcome: Outcome, message: Option<String>| LogRow {
        image: None,
        group,
        package: None,
        package_sha256: None,
        stage: Stage::Aggregate,
        outcome,
        message,
        seconds,
    };
    let written = outcome
        .written
        .iter()
        .map(|(name, _)| row(Some(name.clone()), Outcome::Done, None));
    let unchanged = outcome
        .unchanged
        .iter()
        .map(|name| row(Some(name.clone()), Outcome::Skipped, None));
    let failed = outcome.failures.iter().map(|failure| {
        let group = match failure {
            ksurf_aggregator::Error::Group { group, .. } => Some(group.clone()),
            _ => None,
        };
        row(group, Outcome::Failed, Some(failure.to_string()))
    });
    written.chain(unchanged).chain(failed).collect()
}

/// The rows as a `run_log` batch.
pub fn batch(rows: &[LogRow]) -> Result<RecordBatch> {
    let opt = |f: &dyn Fn(&LogRow) -> Option<&str>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<StringArray>())
    };
    let columns: Vec<ArrayRef> = vec![
        opt(&|r| r.image.as_deref()),
        opt(&|r| r.group.as_deref()),
        opt(&|r| r.package.as_deref()),
        opt(&|r| r.package_sha256.as_deref()),
        opt(&|r| Some(r.stage.as_str())),
        opt(&|r| Some(r.outcome.as_str())),
        opt(&|r| r.message.as_deref()),
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| r.seconds),
        )),
    ];
    Ok(RecordBatch::try_new(
        schema::schema(TableName::RunLog),
        columns,
    )?)
}

/// Writes run `run_id`'s log in one atomic put, replacing an earlier
/// attempt of the same run id (a re-run shard).
pub fn write(dataset: &Dataset, run_id: &str, rows: &[LogRow]) -> Result<()> {
    let path = run_log_file(run_id);
    let bytes = parquet_io::encode(&dataset.object_label(&path), &batch(rows)?)?;
    dataset.put(&path, bytes)?;
    Ok(())
}

/// A run id from the clock, to the millisecond (`20261125T061500.123Z`),
/// with `-2`, `-3`, … appended should the dataset already hold a log of
/// that name: one run never replaces another's log.
pub fn new_run_id(dataset: &Dataset) -> Result<String> {
    let base = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string();
    let mut id = base.clone();
    let mut n = 1;
    while dataset.exists(&run_log_file(&id))? {
        n += 1;
        id = format!("{base}-{n}");
    }
    Ok(id)
}
