//! `ksurf manifest` (write `_manifest.json` for the dataset as it is) and
//! `ksurf verify` (check the dataset against it).

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

#[derive(Args)]
pub struct ManifestArgs {
    #[command(flatten)]
    pub dataset: super::ExistingDataset,
}

#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub dataset: super::ExistingDataset,
}

pub fn run_manifest(args: ManifestArgs) -> Result<ExitCode> {
    let dataset = args.dataset.open()?;
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
    let dataset = args.dataset.open()?;
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
