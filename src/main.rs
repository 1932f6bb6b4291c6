//! The `ksurf` command line: one binary over the fetcher, extractor and
//! aggregator crates. Flags are defined once here; `anyhow` stays in this
//! file and the library crates report typed errors.

mod cmd;
mod pipeline;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use ksurf_dataset::{Dataset, ImageId};
use ksurf_extractor::{extract, tables, IdentityOverrides};

/// Exit code when an image was extracted but some compile units failed.
pub(crate) const EXIT_UNIT_ERRORS: u8 = 3;

#[derive(Parser)]
#[command(
    name = "ksurf",
    version,
    about = "Map the Linux kernel's dependency surface across kernel builds"
)]
struct Cli {
    /// Worker threads (default: one per core).
    #[arg(long, global = true, env = "KSURF_THREADS")]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Extract one vmlinux (ELF + DWARF) into the dataset's per-image tables.
    Extract(ExtractArgs),
    /// Export dataset tables in another tool's format.
    Export(ExportArgs),
    /// Write the dataset's snapshot manifest (`_manifest.json`).
    Manifest(cmd::manifest::ManifestArgs),
    /// Check the dataset's table files against its `_manifest.json`.
    Verify(cmd::manifest::VerifyArgs),
    /// Pack the manifest's snapshot into `<out>/ksurf-dataset-<id>.tar.zst` (+ `.sha256`).
    Publish(cmd::publish::PublishArgs),
    /// Per-function status and changes across the comparison groups of a config.
    Aggregate(cmd::aggregate::AggregateArgs),
    /// Print one function's report page.
    Report(cmd::report::ReportArgs),
    /// Check compiled eBPF programs (`.bpf.o`, or executables embedding
    /// them) against every image of a dataset: exit 0 all fine, 1 some image
    /// breaks a program, 2 an input or the dataset could not be read.
    Check(cmd::check::CheckArgs),
    /// Write one image's BTF (the vmlinux's .BTF, or BTF encoded from its
    /// DWARF) to standard output or a file.
    Btf(cmd::btf::BtfArgs),
    /// Write, per image, the minimized BTF that CO-RE programs need there
    /// (bpftool gen min_core_btf on the image's stored BTF).
    Btfgen(cmd::btf::BtfgenArgs),
    /// Write every function's page, index pages and a search box as static HTML.
    Site(cmd::site::SiteArgs),
    /// Discover and fetch the kernel debug packages a config selects.
    Fetch(cmd::fetch::FetchArgs),
    /// Plan, fetch, extract and aggregate a config's kernels into a dataset,
    /// incrementally, with the stages overlapped.
    Run(cmd::run::RunArgs),
    /// Write the work list of a distributed run (`_plan/plan.json`) for
    /// `ksurf extract --shard I/N` workers.
    Plan(cmd::plan::PlanArgs),
}

/// `ksurf extract VMLINUX --out DATASET` extracts one vmlinux;
/// `ksurf extract --config C --dataset DATASET --shard I/N` is one worker of
/// a distributed run (see `ksurf plan`).
#[derive(Args)]
struct ExtractArgs {
    /// The vmlinux with DWARF (e.g. from a -dbg or -dbgsym package).
    #[arg(required_unless_present = "shard", conflicts_with = "shard")]
    vmlinux: Option<PathBuf>,
    /// Dataset to write into: a directory (created if needed) or a URL
    /// (s3://bucket/prefix, gs://bucket/prefix, az://container/prefix, file:///dir).
    #[arg(long, visible_alias = "dataset", value_name = "DIR_OR_URL")]
    out: String,
    /// Fetch and extract the I-th of N shares of the work list `ksurf plan`
    /// wrote; `/N` takes I from JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs).
    #[arg(long, value_name = "I/N", requires = "config")]
    shard: Option<pipeline::work::Shard>,
    /// The config the work list was planned from (with --shard).
    #[arg(long, requires = "shard")]
    config: Option<PathBuf>,
    #[command(flatten)]
    work: cmd::WorkArgs,
    /// Distribution (default: from the kernel banner).
    #[arg(long, conflicts_with = "shard")]
    distro: Option<String>,
    /// Kernel release, e.g. 5.4.0-26-generic (default: from the banner or file name).
    #[arg(long, conflicts_with = "shard")]
    release: Option<String>,
    /// Kernel flavor, e.g. generic, aws, cloud-amd64 (default: from the release).
    #[arg(long, conflicts_with = "shard")]
    flavor: Option<String>,
    /// Distro architecture, e.g. amd64, arm64 (default: from the ELF header).
    #[arg(long, conflicts_with = "shard")]
    arch: Option<String>,
    #[command(flatten)]
    kconfig: cmd::KconfigArg,
    /// When the vmlinux has no .BTF section, store BTF encoded from its
    /// DWARF by pahole (KSURF_PAHOLE, else pahole on PATH) as the image's
    /// BTF, as a config's `btf_from_dwarf = true` does.
    #[arg(long, conflicts_with = "shard")]
    btf_from_dwarf: bool,
    /// Also extract the kernel modules (`*.ko`, uncompressed) below DIR
    /// into the image's tables (module column, `modules` table), as a
    /// config's `modules = true` does with the package's modules.
    #[arg(long, value_name = "DIR", conflicts_with = "shard")]
    modules: Option<PathBuf>,
}

#[derive(Args)]
struct ExportArgs {
    /// Export format.
    format: ExportFormat,
    #[command(flatten)]
    dataset: cmd::ExistingDataset,
    /// Image as distro/release/arch (optional when the dataset holds one image).
    #[arg(long)]
    image: Option<ImageId>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// DepSurf's func_groups JSON lines, one object per function name.
    DepsurfGroups,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KSURF_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Err(e) = configure_failpoints() {
        eprintln!("ksurf: error: {e}");
        return ExitCode::FAILURE;
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ksurf: error: {}", error_message(&e));
            ExitCode::FAILURE
        }
    }
}

/// Arms the failpoints named in `FAILPOINTS` (`name=actions;…`, the `fail`
/// crate's syntax, e.g. `dataset::write-image::before-marker=1*off->return`),
/// which crash tests use to kill the process at a chosen point.
fn configure_failpoints() -> Result<()> {
    let Some(spec) = std::env::var_os("FAILPOINTS") else {
        return Ok(());
    };
    let spec = spec
        .into_string()
        .map_err(|_| anyhow::anyhow!("FAILPOINTS is not UTF-8"))?;
    for entry in spec.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, actions) = entry.split_once('=').with_context(|| {
            format!("FAILPOINTS entry {entry:?} is not of the form name=actions")
        })?;
        fail::cfg(name.trim(), actions.trim())
            .map_err(|e| anyhow::anyhow!("FAILPOINTS entry {entry:?}: {e}"))?;
    }
    Ok(())
}

fn run(cli: Cli) -> Result<ExitCode> {
    if let Some(threads) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .context("configuring the thread pool")?;
    }
    match cli.command {
        Command::Extract(args) => run_extract(args),
        Command::Export(args) => run_export(args),
        Command::Manifest(args) => cmd::manifest::run_manifest(args),
        Command::Verify(args) => cmd::manifest::run_verify(args),
        Command::Publish(args) => cmd::publish::run_publish(args),
        Command::Aggregate(args) => cmd::aggregate::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Check(args) => cmd::check::run(args),
        Command::Btf(args) => cmd::btf::run_btf(args),
        Command::Btfgen(args) => cmd::btf::run_btfgen(args),
        Command::Site(args) => cmd::site::run(args),
        Command::Fetch(args) => cmd::fetch::run(args),
        Command::Run(args) => cmd::run::run(args),
        Command::Plan(args) => cmd::plan::run(args),
    }
}

fn run_extract(args: ExtractArgs) -> Result<ExitCode> {
    if let (Some(shard), Some(config)) = (args.shard, &args.config) {
        return cmd::shard::run(config, &args.out, shard, &args.work);
    }
    let vmlinux = args.vmlinux.expect("clap requires VMLINUX without --shard");
    let started = Instant::now();
    let overrides = IdentityOverrides {
        distro: args.distro,
        release: args.release,
        flavor: args.flavor,
        arch: args.arch,
    };
    // Open the dataset and read the config first: a bad --out or
    // --kconfig fails before minutes of work.
    let dataset = Dataset::open(&args.out)?;
    let config = args.kconfig.read()?;
    let mut extraction = extract(&vmlinux, &overrides)?;
    if let Some(file) = config {
        let source = ksurf_extractor::kconfig::ConfigSource::File(file.name);
        let label = file.label;
        if !ksurf_extractor::kconfig::attach(&mut extraction, source, &label, &file.bytes) {
            eprintln!(
                "ksurf: --kconfig {label} not used: the image carries its own config (CONFIG_IKCONFIG)"
            );
        }
    }
    if args.btf_from_dwarf {
        ksurf_extractor::btf_from_dwarf(&mut extraction, &vmlinux, &std::env::temp_dir());
    }
    if let Some(dir) = &args.modules {
        ksurf_extractor::extract_modules(&mut extraction, dir)?;
    }
    tracing::debug!(elapsed = ?started.elapsed(), "extracted");
    let batches = tables::image_tables(&extraction)?;
    let module_batches = tables::module_tables(&extraction)?;
    let btf = extraction
        .btf
        .as_ref()
        .map(|b| bytes::Bytes::from(b.bytes.clone()));
    dataset.write_image_parts(&extraction.info.id, &batches, &module_batches, btf)?;
    tracing::debug!(elapsed = ?started.elapsed(), "tables written");
    let modules_failed = cmd::report_module_errors(None, &extraction);
    for e in &extraction.unit_errors {
        eprintln!("ksurf: unit error: {}", e.message);
    }
    for e in &extraction.kind_errors {
        eprintln!("ksurf: {} error: {}", e.kind.as_str(), e.message);
    }
    if let Some(e) = &extraction.btf_error {
        eprintln!("ksurf: btf error: {e}");
    }
    if !extraction.modules.is_empty() {
        let read: Vec<_> = extraction
            .modules
            .iter()
            .filter_map(|m| m.rows.as_ref().ok())
            .collect();
        println!(
            "{}: {} modules ({} failed): {} functions, {} instances, {} symbols",
            extraction.info.id,
            extraction.modules.len(),
            modules_failed,
            read.iter().map(|m| m.statuses.len()).sum::<usize>(),
            read.iter().map(|m| m.entries.len()).sum::<usize>(),
            read.iter().map(|m| m.symbols.len()).sum::<usize>(),
        );
    }
    println!(
        "{}: {} functions, {} instances, {} symbols, {} types, {} tracepoints, {} syscalls, {} kfuncs, {} LSM hooks, {} config options, {} units ({} failed, {} skipped), {:.2}s",
        extraction.info.id,
        extraction.statuses.len(),
        extraction.entries.len(),
        extraction.symbols.len(),
        extraction.types.len(),
        extraction.tracepoints.len(),
        extraction.syscalls.len(),
        extraction.kfuncs.len(),
        extraction.lsm_hooks.len(),
        extraction.kconfig.len(),
        extraction.compile_units,
        extraction.unit_errors.len(),
        extraction.units_skipped,
        started.elapsed().as_secs_f64()
    );
    let code = if extraction.unit_errors.is_empty()
        && extraction.kind_errors.is_empty()
        && extraction.btf_error.is_none()
        && modules_failed == 0
    {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_UNIT_ERRORS)
    };
    // The process ends here: freeing millions of rows one allocation at a
    // time would add a few tenths of a second to every extraction.
    std::mem::forget(batches);
    std::mem::forget(extraction);
    Ok(code)
}

fn run_export(args: ExportArgs) -> Result<ExitCode> {
    let dataset = args.dataset.open()?;
    let image = dataset.resolve_image(args.image.as_ref())?;
    match args.format {
        ExportFormat::DepsurfGroups => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let written = ksurf_extractor::depsurf::write_func_groups(&dataset, &image, &mut out)
                .map_err(anyhow::Error::from)
                .and_then(|_| out.flush().context("writing the export"));
            // A closed pipe (`| head`) is the reader's choice, not a failure.
            if let Err(e) = written {
                if !is_broken_pipe(&e) {
                    return Err(e);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes, each cause once: the library errors already
/// write their source into their message.
pub(crate) fn error_message(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
    }
    message
}
