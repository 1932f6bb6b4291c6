//! The checker's one error type: every variant names the input (object
//! file, embedded object, dataset table) it is about.

use std::path::PathBuf;

/// Why an object or a dataset could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Not an ELF file, or an ELF file holding no BPF object.
    #[error("{label}: {message}")]
    NotBpf { label: String, message: String },
    /// A BPF object whose ELF, `.BTF` or `.BTF.ext` is malformed; `offset`
    /// is the byte offset in the named section where reading failed.
    #[error("{label}: {section} at offset {offset:#x}: {message}")]
    Malformed {
        label: String,
        section: String,
        offset: u64,
        message: String,
    },
    /// A dataset table could not be read.
    #[error(transparent)]
    Dataset(#[from] ksurf_dataset::Error),
    /// The images asked for cannot be selected: an unknown group, a
    /// malformed glob.
    #[error("{0}")]
    Selection(String),
}

/// The checker's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
