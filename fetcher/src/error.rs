//! The fetcher's error type. Every variant names its input: the package it
//! came from (the caller's label: a path or a URL) and, where there is one,
//! the archive member or tar entry at fault; the config file and key; the
//! index and line; the Launchpad response.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the package itself failed (the input reader returned an error).
    #[error("{label}: reading the package: {source}")]
    Read {
        label: String,
        #[source]
        source: std::io::Error,
    },
    /// Creating, writing, syncing or renaming an output file failed.
    #[error("{label}: writing {path}: {source}")]
    Output {
        label: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{label}: not a Debian binary package (.deb/.ddeb): {message}")]
    NotDeb { label: String, message: String },
    #[error("{label}: has no data.tar member")]
    MissingData { label: String },
    #[error("{label}: {member}: unknown compression (starts with {magic}); expected xz, zstd, gzip, bzip2 or a plain tar")]
    UnknownCompression {
        label: String,
        member: String,
        magic: String,
    },
    #[error("{label}: {member}: truncated: {message}")]
    Truncated {
        label: String,
        member: String,
        message: String,
    },
    #[error("{label}: {member}: corrupt: {message}")]
    Corrupt {
        label: String,
        member: String,
        message: String,
    },
    #[error("{label}: {member}: entry {entry:?} has an absolute path or one that leaves the output directory")]
    UnsafePath {
        label: String,
        member: String,
        entry: String,
    },
    #[error("{label}: {member}: entry {entry:?} is a {kind}, not a regular file")]
    NotRegularFile {
        label: String,
        member: String,
        entry: String,
        kind: String,
    },
    #[error(
        "{label}: {member}: entry {entry:?} is {size} bytes, over the {limit}-byte cap per entry"
    )]
    EntryTooLarge {
        label: String,
        member: String,
        entry: String,
        size: u64,
        limit: u64,
    },
    #[error(
        "{label}: {member}: a tar extension header (long name or PAX) is over the {limit}-byte cap"
    )]
    HeaderTooLarge {
        label: String,
        member: String,
        limit: u64,
    },
    #[error("{label}: {member}: decompresses to over {limit} bytes (decompression bomb?)")]
    TooMuchData {
        label: String,
        member: String,
        limit: u64,
    },
    #[error(
        "{label}: {member}: entry {entry:?} names a vmlinux already extracted from this package"
    )]
    Duplicate {
        label: String,
        member: String,
        entry: String,
    },
    #[error("{label}: {member}: no regular file usr/lib/debug/boot/vmlinux-* (is this a kernel -dbg/-dbgsym package?)")]
    NoVmlinux { label: String, member: String },
    /// A config file is unreadable, not TOML, or says something invalid.
    /// `message` names the `[[source]]` and key at fault.
    #[error("{file}: {message}")]
    Config { file: String, message: String },
    /// A `Packages` index (or another deb822 text) is malformed at `line`
    /// (1-based; 0 when the whole text is at fault).
    #[error("{label}:{line}: {message}")]
    Index {
        label: String,
        line: usize,
        message: String,
    },
    /// A Launchpad API response is not what the API documents.
    #[error("{label}: {message}")]
    Launchpad { label: String, message: String },
    /// Reading a local file or directory failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The machine's apt sources do not name a mirror for a suite.
    #[error("{message}")]
    AptSources { message: String },
    /// Remote discovery failed for one index or API request (reported by
    /// the caller's retriever).
    #[error("{label}: {message}")]
    Retrieve { label: String, message: String },
}
