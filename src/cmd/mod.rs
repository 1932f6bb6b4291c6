//! One module per `ksurf` subcommand that has outgrown `main.rs`: each
//! takes its parsed arguments and returns the exit code.

pub mod aggregate;
pub mod fetch;
pub mod manifest;
pub mod publish;
pub mod report;
pub mod site;

/// The `--dataset` flag of every command that reads an existing dataset,
/// defined once.
#[derive(clap::Args)]
pub struct ExistingDataset {
    /// Dataset to read: a directory or a URL (s3://bucket/prefix, gs://…, az://…).
    #[arg(long = "dataset", value_name = "DIR_OR_URL")]
    pub location: String,
}

impl ExistingDataset {
    /// Opens it; a local directory must exist.
    pub fn open(&self) -> ksurf_dataset::Result<ksurf_dataset::Dataset> {
        ksurf_dataset::Dataset::open_existing(&self.location)
    }
}
