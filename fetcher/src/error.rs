//! The fetcher's error type. Every variant names its input: the package it
//! came from (the caller's label: a path or a URL) and, where there is one,
//! the archive member or tar entry at fault; the config file and key; the
//! index and line; the Launchpad response; the URL of a failed request; the
//! keyring, Release file or index that did not check out; the cache or
//! output path that could not be written.

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
    /// A second module entry that would be written to the same path below
    /// `modules-<release>/` (`x.ko` twice, or `x.ko` and `x.ko.xz`).
    #[error("{label}: {member}: entry {entry:?} is a second module at {path:?}")]
    DuplicateModule {
        label: String,
        member: String,
        entry: String,
        path: String,
    },
    /// More module entries than `UnpackOptions::max_modules`; `entry` is
    /// the first one over.
    #[error("{label}: {member}: entry {entry:?} is over the cap of {limit} modules per package")]
    TooManyModules {
        label: String,
        member: String,
        entry: String,
        limit: u64,
    },
    /// The package's modules decompress to more than
    /// `UnpackOptions::max_module_bytes`; `entry` is where the cap was hit.
    #[error("{label}: {member}: entry {entry:?}: the modules decompress to over {limit} bytes (the cap per package)")]
    ModulesTooLarge {
        label: String,
        member: String,
        entry: String,
        limit: u64,
    },
    /// Modules of a release the package has no vmlinux of.
    #[error("{label}: {member}: has modules of release {release:?} but no usr/lib/debug/boot/vmlinux-{release}")]
    ModulesWithoutVmlinux {
        label: String,
        member: String,
        release: String,
    },
    #[error("{label}: {member}: no regular file usr/lib/debug/boot/vmlinux-* (is this a kernel -dbg/-dbgsym package?)")]
    NoVmlinux { label: String, member: String },
    #[error("{label}: {member}: no regular file boot/config-* or usr/lib/linux/*/config (is this a kernel image package: linux-image, linux-modules, linux-buildinfo?)")]
    NoConfig { label: String, member: String },
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
    /// The machine's apt sources do not name a mirror for a suite.
    #[error("{message}")]
    AptSources { message: String },
    /// Remote discovery failed for one index or API request (reported by
    /// the caller's retriever).
    #[error("{label}: {message}")]
    Retrieve { label: String, message: String },
    /// A request failed for good (after the retries it was allowed).
    #[error("{url}: {message} (after {attempts} attempt{s})", s = if *attempts == 1 { "" } else { "s" })]
    Http {
        url: String,
        message: String,
        attempts: u32,
    },
    /// The server answered with a status that is not retried (4xx) or kept
    /// answering with a retried one (5xx) until the attempts ran out.
    #[error("{url}: HTTP {status} (after {attempts} attempt{s})", s = if *attempts == 1 { "" } else { "s" })]
    HttpStatus {
        url: String,
        status: u16,
        attempts: u32,
    },
    /// A response body was larger than it may be.
    #[error("{url}: the response is over {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    /// The keyring could not be read or holds no usable key.
    #[error("keyring {path}: {message}")]
    Keyring { path: PathBuf, message: String },
    /// The Release file's signature is missing, malformed or made by no key
    /// of the keyring.
    #[error("{url}: signature not accepted: {message}")]
    Signature { url: String, message: String },
    /// The Release file is malformed, expired or lacks an entry.
    #[error("{url}: {message}")]
    Release { url: String, message: String },
    /// Downloaded bytes differ from what the Release file or the index says.
    #[error("{url}: {what} mismatch: expected {expected}, got {actual}")]
    Mismatch {
        url: String,
        what: &'static str,
        expected: String,
        actual: String,
    },
    /// An index could not be decompressed or is not text.
    #[error("{url}: {message}")]
    IndexText { url: String, message: String },
    /// Not enough free space for a download.
    #[error("{path}: not enough free disk space for {url}: need {needed} bytes (package plus margin), {available} available")]
    DiskFull {
        path: PathBuf,
        url: String,
        needed: u64,
        available: u64,
    },
    /// Reading or writing a local file (cache, package, vmlinux) failed.
    #[error("{path}: {action}: {source}")]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The package holds a vmlinux for another release than planned.
    #[error("{label}: holds {found}, not the planned vmlinux-{expected}")]
    WrongRelease {
        label: String,
        expected: String,
        found: String,
    },
    /// A companion package holds the config of another release only.
    #[error("{label}: holds {found}, not boot/config-{expected}")]
    ConfigRelease {
        label: String,
        expected: String,
        found: String,
    },
    /// The fetch manifest could not be written.
    #[error("fetch manifest for {image}: {source}")]
    Manifest {
        image: String,
        #[source]
        source: ksurf_dataset::Error,
    },
    /// Setting up the HTTP client or a runtime failed.
    #[error("{0}")]
    Setup(String),
}
