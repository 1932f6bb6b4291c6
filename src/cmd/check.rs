//! `ksurf check OBJECT…`: will these eBPF programs load, attach and read
//! the right data on each image of a dataset. Reads the objects (a
//! `.bpf.o`, or an executable embedding BPF objects), selects the images,
//! and prints the verdicts; the exit code is 0 when every dependency holds
//! on every image, 1 when some image breaks a program, 2 when an input or
//! the dataset could not be read.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use ksurf_checker::render::{self, InputError, Report};
use ksurf_checker::verdict::Outcome;

#[derive(Clone, Copy, ValueEnum)]
pub enum CheckFormat {
    /// One mark per image and program, then every verdict that is not ok.
    Table,
    /// Every dependency × image verdict with its reason.
    Json,
    Markdown,
    /// A self-contained page: the colour-coded matrix (a cell's reasons
    /// as its tooltip), then the details.
    Html,
}

#[derive(Args)]
pub struct CheckArgs {
    /// BPF objects (`.bpf.o`) or executables that embed them.
    #[arg(required = true, value_name = "OBJECT")]
    pub objects: Vec<PathBuf>,
    #[command(flatten)]
    pub dataset: super::ExistingDataset,
    #[command(flatten)]
    pub select: super::ImageSelection,
    #[arg(long, value_enum, default_value = "table")]
    pub format: CheckFormat,
    /// Exit 1 on silent failures too (a probe missing inlined call sites,
    /// a weak extern read as zero), not only on hard ones.
    #[arg(long)]
    pub strict: bool,
}

pub fn run(args: CheckArgs) -> Result<ExitCode> {
    match check(args) {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("ksurf: error: {}", crate::error_message(&e));
            Ok(ExitCode::from(2))
        }
    }
}

fn check(args: CheckArgs) -> Result<ExitCode> {
    let dataset = args.dataset.open()?;
    let images = args.select.select(&dataset)?;
    let mut report = Report {
        images: images.iter().map(ToString::to_string).collect(),
        ..Report::default()
    };
    let mut objects = Vec::new();
    for path in &args.objects {
        match ksurf_checker::object::read_objects(path) {
            Ok(found) => objects.extend(found),
            Err(e) => report.errors.push(InputError {
                input: path.display().to_string(),
                error: e.to_string(),
            }),
        }
    }
    // Reading each image's facts is the slow part: a bar on a terminal
    // when there are several images, nothing otherwise.
    use std::io::IsTerminal;
    let bar = if std::io::stderr().is_terminal() && images.len() > 1 && !objects.is_empty() {
        let bar = indicatif::ProgressBar::new(images.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "checking {msg}: {pos}/{len} images read {wide_bar} {elapsed}",
            )
            .expect("a valid template"),
        );
        let programs: usize = objects.iter().map(|o| o.programs.len()).sum();
        bar.set_message(format!(
            "{programs} program{} of {} object{}",
            if programs == 1 { "" } else { "s" },
            objects.len(),
            if objects.len() == 1 { "" } else { "s" }
        ));
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let checked = ksurf_checker::check_dataset_with(&dataset, &images, &objects, &|_| bar.inc(1));
    bar.finish_and_clear();
    report.objects =
        checked.with_context(|| format!("reading the tables of {}", dataset.label()))?;
    let text = match args.format {
        // No object could be read: the errors say it all, and a table of
        // no rows would only look like a result.
        CheckFormat::Table if report.objects.is_empty() => String::new(),
        CheckFormat::Table => render::table(&report),
        CheckFormat::Json => render::json(&report),
        CheckFormat::Markdown => render::markdown(&report),
        CheckFormat::Html => render::html(&report),
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    for e in &report.errors {
        eprintln!("ksurf: error: {}", e.error);
    }
    let worst = report.worst();
    Ok(if !report.errors.is_empty() {
        ExitCode::from(2)
    } else if worst == Outcome::Hard || (args.strict && worst == Outcome::Silent) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
