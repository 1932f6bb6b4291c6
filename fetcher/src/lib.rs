//! ksurf's fetcher: gets the vmlinux (with DWARF) out of distro kernel debug
//! packages. So far: [`unpack`] streams it out of a Debian-format package
//! (.deb/.ddeb), with [`compression`] recognising and decoding the data
//! member and [`error`] the crate's one error type. Discovery and download
//! come later and will feed [`unpack::unpack_vmlinux`] from the HTTP body.

pub mod compression;
pub mod error;
pub mod unpack;

pub use compression::Compression;
pub use error::{Error, Result};
pub use unpack::{unpack_vmlinux, unpack_vmlinux_file, UnpackOptions, Unpacked, Vmlinux};
