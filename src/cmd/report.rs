//! `ksurf report [KIND] NAME`: one dependency's page (Markdown, or
//! standalone HTML) — a function (the default kind), a struct, union,
//! enum or typedef, a tracepoint, syscall, kfunc, LSM hook or config
//! option — from the aggregated tables, or computed from the per-image
//! tables for the groups of `--config`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use ksurf_aggregator::{config, history, html, interface_report, report, type_report};
use ksurf_dataset::DependencyKind;

#[derive(Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Markdown,
    Html,
}

/// The kinds `ksurf report` takes before the name.
const TYPE_KINDS: [&str; 4] = ["struct", "union", "enum", "typedef"];

#[derive(Args)]
pub struct ReportArgs {
    /// `NAME` (a function), or `KIND NAME` with KIND one of function,
    /// struct, union, enum, typedef, tracepoint, syscall, kfunc, lsm, config.
    #[arg(num_args = 1..=2, value_names = ["KIND", "NAME"], required = true)]
    pub words: Vec<String>,
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
    let interface = |kind: &str| DependencyKind::parse(kind).filter(|k| k.is_interface());
    let (kind, name) = match args.words.as_slice() {
        [name] => ("function", name.as_str()),
        [kind, name]
            if kind == "function"
                || TYPE_KINDS.contains(&kind.as_str())
                || interface(kind).is_some() =>
        {
            (kind.as_str(), name.as_str())
        }
        [kind, _] => bail!(
            "unknown kind {kind:?}: expected function, {}, {}",
            TYPE_KINDS.join(", "),
            DependencyKind::ALL
                .iter()
                .filter(|k| k.is_interface())
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => bail!("expected NAME or KIND NAME"),
    };
    let dataset = args.dataset.open()?;
    let groups = args.config.as_deref().map(config::load).transpose()?;
    let (title, markdown) = if kind == "function" {
        let history = match &groups {
            Some(groups) => history::from_config(&dataset, groups, name)?,
            None => history::from_dataset(&dataset, name)?,
        };
        (history.name.clone(), report::render(&history))
    } else if let Some(kind) = interface(kind) {
        let history = match &groups {
            Some(groups) => interface_report::from_config(&dataset, groups, kind, name)?,
            None => interface_report::from_dataset(&dataset, kind, name)?,
        };
        (
            format!("{} {name}", kind.as_str()),
            interface_report::render(&history),
        )
    } else {
        let history = match &groups {
            Some(groups) => type_report::from_config(&dataset, groups, kind, name)?,
            None => type_report::from_dataset(&dataset, kind, name)?,
        };
        (format!("{kind} {name}"), type_report::render(&history))
    };
    let page = match args.format {
        ReportFormat::Markdown => markdown,
        ReportFormat::Html => html::page(&title, &markdown, None),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match out.write_all(page.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.context("writing the report")?,
    }
    Ok(ExitCode::SUCCESS)
}
