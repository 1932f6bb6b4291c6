//! ksurf's fetcher: gets the vmlinux (with DWARF) out of distro kernel debug
//! packages.
//!
//! - [`http`]: the HTTP client (per-host limits, timeouts, retries, Range
//!   resume); [`progress`]: its progress bars.
//! - [`release`] and [`archive`]: apt's chain of trust, keyring → signed
//!   Release → hash-checked `Packages` index text (handed to discovery).
//! - [`plan`]: the packages discovery asks for; [`cache`]: the
//!   content-addressed package cache; [`download`]: fetch, verify and unpack
//!   planned packages (cached or streamed); [`manifest`]: the dataset's
//!   `fetches` table.
//! - [`unpack`] streams the vmlinux out of a Debian-format package, with
//!   [`compression`] recognising and decoding the data member.
//! - [`error`]: the crate's one error type.

pub mod archive;
pub mod cache;
pub mod compression;
pub mod download;
pub mod error;
pub mod http;
pub mod manifest;
pub mod plan;
pub mod progress;
pub mod release;
pub mod unpack;

pub use compression::Compression;
pub use error::{Error, Result};
pub use unpack::{
    unpack_vmlinux, unpack_vmlinux_checked, unpack_vmlinux_file, UnpackOptions, Unpacked, Vmlinux,
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
