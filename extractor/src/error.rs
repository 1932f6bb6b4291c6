//! The extractor's error type. Every variant names the input file and, for
//! DWARF problems, the section offset where reading failed.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a readable ELF file: {message}")]
    Elf { path: PathBuf, message: String },
    #[error("{path}: section {section}: {message}")]
    Section {
        path: PathBuf,
        section: String,
        message: String,
    },
    #[error("{path}: has no DWARF debug information (no .debug_info section); use the debug package's vmlinux")]
    NoDwarf { path: PathBuf },
    #[error("{path}: DWARF error in {section} at offset {offset:#x}: {source}")]
    Dwarf {
        path: PathBuf,
        section: &'static str,
        offset: u64,
        #[source]
        source: gimli::Error,
    },
    #[error("{path}: cannot tell the image identity: {message}")]
    Identity { path: PathBuf, message: String },
    #[error("writing the output: {source}")]
    Output {
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Dataset(#[from] ksurf_dataset::Error),
    #[error("building table {table}: {source}")]
    Table {
        table: &'static str,
        #[source]
        source: arrow::error::ArrowError,
    },
}
