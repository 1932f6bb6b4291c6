//! `ksurf publish`: pack the dataset's manifest snapshot into a checksummed
//! `tar.zst` for download.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use ksurf_dataset::snapshot;

#[derive(Args)]
pub struct PublishArgs {
    #[command(flatten)]
    pub dataset: super::ExistingDataset,
    /// Local directory for the archive and its `.sha256` (created if needed).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run_publish(args: PublishArgs) -> Result<ExitCode> {
    let dataset = args.dataset.open()?;
    let published = snapshot::publish(&dataset, &args.out)?;
    println!(
        "{}: snapshot {}, {} table files, {} bytes, sha256 {}",
        published.archive.display(),
        published.snapshot_id,
        published.files,
        published.size,
        published.sha256
    );
    Ok(ExitCode::SUCCESS)
}
