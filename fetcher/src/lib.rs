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
//!   directory of downloaded packages.
//! - [`naming`]: which packages are kernel debug packages and which kernel
//!   each holds; signed stubs and meta packages rejected.
//! - [`candidate`]: what discovery found; [`plan`]: the packages to fetch
//!   (selectors, pocket dedupe, revision policy, order); [`plan_table`]: the
//!   plan as a table; [`discovery`]: config → plan over a [`discovery::Retrieve`]
//!   implementation that does the network side.
//! - [`unpack`] streams the vmlinux out of a Debian-format package
//!   (.deb/.ddeb), with [`compression`] recognising and decoding the data
//!   member.
//!
//! [`error`] is the crate's one error type.

pub mod apt;
pub mod candidate;
pub mod compression;
pub mod config;
pub mod control;
pub mod discovery;
pub mod error;
pub mod index;
pub mod launchpad;
pub mod local;
pub mod naming;
pub mod plan;
pub mod plan_table;
pub mod unpack;

pub use compression::Compression;
pub use config::{FetchConfig, SourceConfig};
pub use discovery::{discover_and_plan, Outcome, Retrieve};
pub use error::{Error, Result};
pub use plan::{PackageLocation, Plan, PlannedPackage};
pub use unpack::{unpack_vmlinux, unpack_vmlinux_file, UnpackOptions, Unpacked, Vmlinux};
