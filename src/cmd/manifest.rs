//! `ksurf manifest` (write `_manifest.json` for the dataset as it is) and
//! `ksurf verify` (check the dataset against it).

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use ksurf_dataset::Dataset;

#[derive(Args)]
pub struct ManifestArgs {
    /// Dataset directory or URL (s3://bucket/prefix, gs://…, az://…).
    #[arg(long)]
    pub dataset: String,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// Dataset directory or URL (s3://bucket/prefix, gs://…, az://…).
    #[arg(long)]
    pub dataset: String,
}

pub fn run_manifest(args: ManifestArgs) -> Result<ExitCode> {
    let dataset = Dataset::open_existing(&args.dataset)?;
    let report = dataset.write_manifest()?;
    for image in &report.incomplete_images {
        eprintln!("ksurf: warning: image {image} has no images row (extraction unfinished): its files are not in the manifest");
    }
    let manifest = &report.manifest;
    println!(
        "{}/_manifest.json: snapshot {}, {} files, {} rows",
        dataset.label(),
        manifest.snapshot_id(),
        manifest.files.len(),
        manifest.files.iter().map(|f| f.rows).sum::<u64>()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn run_verify(args: VerifyArgs) -> Result<ExitCode> {
    let dataset = Dataset::open_existing(&args.dataset)?;
    let manifest = dataset.read_manifest()?;
    dataset.verify_manifest(&manifest)?;
    println!(
        "{} matches its manifest: snapshot {}, {} files",
        dataset.label(),
        manifest.snapshot_id(),
        manifest.files.len()
    );
    Ok(ExitCode::SUCCESS)
}
