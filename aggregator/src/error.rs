//! The aggregator's error type: every variant names the config file,
//! group, image or table file it is about.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Dataset(#[from] ksurf_dataset::Error),
    #[error("cannot read config {path}: {source}")]
    ConfigRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config {path}: {message}")]
    Config { path: String, message: String },
    #[error("group {group}: {message}")]
    Group { group: String, message: String },
    #[error("{location}: {message}")]
    Table { location: String, message: String },
    #[error("arrow data for {what}: {source}")]
    Arrow {
        what: String,
        #[source]
        source: arrow::error::ArrowError,
    },
    #[error("{kind} {name} is in no image of the groups")]
    UnknownType { kind: String, name: String },
    #[error("function {name} is in no image of the dataset{hint}")]
    UnknownFunction { name: String, hint: String },
    #[error(
        "the dataset at {0} has no aggregated groups; run `ksurf aggregate` first or pass --config"
    )]
    NotAggregated(String),
    #[error("cannot write {path}: {source}")]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
