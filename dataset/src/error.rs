//! The dataset crate's error type: every variant names the table file or
//! object it is about.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("dataset location {location}: {source}")]
    Store {
        location: String,
        #[source]
        source: object_store::Error,
    },
    #[error("dataset location {location}: {detail}")]
    InvalidLocation { location: String, detail: String },
    #[error("dataset location {location}: cannot start the I/O runtime: {source}")]
    Runtime {
        location: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open dataset directory {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a ksurf dataset directory (it holds {found}); choose an empty or new directory")]
    NotADataset { path: PathBuf, found: String },
    #[error("cannot read {location}: {source}")]
    Read {
        location: String,
        #[source]
        source: std::io::Error,
    },
    #[error("parquet file {location}: {source}")]
    Parquet {
        location: String,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("arrow data for {location}: {source}")]
    Arrow {
        location: String,
        #[source]
        source: arrow::error::ArrowError,
    },
    #[error("table file {location} does not match schema version {expected}: {detail}")]
    SchemaMismatch {
        location: String,
        expected: u32,
        detail: String,
    },
    #[error("{location} does not exist; write it with `ksurf manifest --dataset {dataset}`")]
    ManifestMissing { location: String, dataset: String },
    #[error("manifest {location} is invalid: {detail}")]
    ManifestInvalid { location: String, detail: String },
    #[error("dataset {location} does not match its manifest: {}", problems.join("; "))]
    ManifestMismatch {
        location: String,
        problems: Vec<String>,
    },
    #[error("snapshot archive {path}: {source}")]
    Archive {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid image identity: {0}")]
    InvalidImage(String),
    #[error("image {0} is not in the dataset")]
    ImageNotFound(String),
    #[error("the dataset holds {count} images; name one with --image (one of: {list})")]
    AmbiguousImage { count: usize, list: String },
    #[error("the dataset at {0} holds no image")]
    Empty(String),
}
