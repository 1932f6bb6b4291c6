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
    /// A relocation of a relocatable object's (a module's) DWARF section
    /// that cannot be applied.
    #[error(transparent)]
    Relocation(Box<RelocationError>),
    /// An ELF file given as a kernel module that is not one.
    #[error("{path}: not a kernel module: {message}")]
    NotModule { path: PathBuf, message: String },
    /// A kernel module (`ET_REL`) given as a vmlinux.
    #[error("{path}: a kernel module (ELF relocatable object), not a vmlinux")]
    NotVmlinux { path: PathBuf },
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

/// Where and why a relocation of a DWARF section could not be applied.
#[derive(Debug, thiserror::Error)]
#[error(
    "{path}: section {section}: relocation at {target}+{offset:#x} of type {r_type}: {message}"
)]
pub struct RelocationError {
    pub path: PathBuf,
    /// The relocation section (`.rela.debug_info`).
    pub section: String,
    /// The section relocated (`.debug_info`).
    pub target: String,
    /// The place, as an offset in `target` (`r_offset`).
    pub offset: u64,
    /// The type's name and number (`R_X86_64_32 (10)`), or the number alone.
    pub r_type: String,
    pub message: String,
}
