//! `ksurf report NAME`: one function's page (Markdown, or standalone HTML)
//! from the aggregated tables, or computed from the per-image tables for
//! the groups of `--config`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use ksurf_aggregator::{config, history, html, report};

#[derive(Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Markdown,
    Html,
}

#[derive(Args)]
pub struct ReportArgs {
    /// Function name.
    pub name: String,
    #[command(flatten)]
    pub dataset: super::ExistingDataset,
    /// Compute the page for this config's groups from the per-image tables
    /// instead of reading the aggregated tables.
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: ReportFormat,
}

pub fn run(args: ReportArgs) -> Result<ExitCode> {
    let dataset = args.dataset.open()?;
    let history = match &args.config {
        Some(path) => history::from_config(&dataset, &config::load(path)?, &args.name)?,
        None => history::from_dataset(&dataset, &args.name)?,
    };
    let markdown = report::render(&history);
    let page = match args.format {
        ReportFormat::Markdown => markdown,
        ReportFormat::Html => html::page(&history.name, &markdown, None),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match out.write_all(page.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.context("writing the report")?,
    }
    Ok(ExitCode::SUCCESS)
}
