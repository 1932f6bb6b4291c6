//! `ksurf publish`: pack the dataset's manifest snapshot into a checksummed
//! `tar.zst` for download.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use ksurf_dataset::{snapshot, Dataset};

#[derive(Args)]
pub struct PublishArgs {
    /// Dataset directory or URL holding a `_manifest.json` (see `ksurf manifest`).
    #[arg(long)]
    pub dataset: String,
    /// Local directory for the archive and its `.sha256` (created if needed).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run_publish(args: PublishArgs) -> Result<ExitCode> {
    let dataset = Dataset::open_existing(&args.dataset)?;
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
