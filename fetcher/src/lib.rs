//! ksurf's fetcher: finds distro kernel debug packages and gets the vmlinux
//! (with DWARF) out of them.
//!
//! Deciding what to fetch is pure over already-fetched text, so every rule
//! is testable on recorded indices:
//! - [`config`]: the `[[source]]` tables of a matrix config (where to look,
//!   which kernels to pick); [`apt`]: the machine's Debian mirror for
//!   `url = "apt"`.
//! - [`control`]: deb822 syntax; [`index`]: which `Packages` indices a
//!   source needs and the kernel debug packages listed in one;
//!   [`launchpad`]: the walk through Launchpad's API; [`local`]: a
//!   directory of downloaded packages, judged by their control files
//!   ([`package_control`]).
//! - [`naming`]: which packages are kernel debug packages and which kernel
//!   each holds; signed stubs and meta packages rejected.
//! - [`candidate`]: what discovery found; [`plan`]: the packages to fetch
//!   (selectors, pocket dedupe, revision policy, order); [`plan_table`]: the
//!   plan as a table; [`discovery`]: config → plan over a [`discovery::Retrieve`]
//!   implementation that does the network side.
//! - [`unpack`] streams the vmlinux (and, when asked, the kernel modules)
//!   out of a Debian-format package (.deb/.ddeb), with [`compression`] recognising and decoding the data
//!   member; [`companion`] finds a kernel's build configuration beside its
//!   debug package (a `config-<release>` file or the kernel's image
//!   package, read with [`unpack`]).
//!
//! Getting it (all network I/O and trust):
//! - [`http`]: the HTTP client (per-host limits, timeouts, retries, Range
//!   resume); [`progress`]: its progress bars.
//! - [`release`] and [`archive`]: apt's chain of trust, keyring → signed
//!   Release → hash-checked `Packages` index text (handed to discovery).
//! - [`partial`]: in-progress files, locked while written, so abandoned
//!   ones are told apart without guessing by age.
//! - [`cache`]: the content-addressed package cache (and resumable partial
//!   downloads); [`download`]: fetch,
//!   verify and unpack planned packages (cached or streamed);
//!   [`manifest`]: the dataset's `fetches` table.
//!
//! - [`remote`]: discovery's network side (verified indices, Launchpad pages).
//!
//! [`error`] is the crate's one error type.

pub mod apt;
pub mod archive;
pub mod cache;
pub mod candidate;
pub mod companion;
pub mod compression;
pub mod config;
pub mod control;
pub mod discovery;
pub mod download;
pub mod error;
pub mod http;
pub mod index;
pub mod launchpad;
pub mod local;
pub mod manifest;
pub mod naming;
pub mod package_control;
pub mod partial;
pub mod plan;
pub mod plan_table;
pub mod progress;
pub mod release;
pub mod remote;
pub mod unpack;

pub use compression::Compression;
pub use config::{FetchConfig, SourceConfig};
pub use discovery::{discover_and_plan, Outcome, Retrieve};
pub use error::{Error, Result};
pub use plan::{PackageLocation, Plan, PlannedPackage};
pub use unpack::{
    unpack_config_file, unpack_vmlinux, unpack_vmlinux_checked, unpack_vmlinux_file, FailedModule,
    Modules, Target, UnpackOptions, Unpacked, Vmlinux,
};

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
