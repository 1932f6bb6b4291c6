//! The ksurf dataset contract shared by the fetcher, extractor and aggregator:
//! who an image is ([`image`]), which kinds of dependency there are and
//! which tables hold each ([`kind`]), what every table holds ([`schema`]), where its
//! files live ([`layout`], [`location`]), how they are written and read
//! ([`store`]), what a snapshot holds ([`manifest`]) and how it is packed
//! for download ([`snapshot`]).

pub mod error;
pub mod image;
pub mod kind;
pub mod layout;
pub mod location;
pub mod manifest;
pub mod parquet_io;
pub mod schema;
pub mod snapshot;
pub mod store;

pub use error::{Error, Result};
pub use image::{ImageId, ImageInfo};
pub use kind::DependencyKind;
pub use layout::TableName;
pub use location::Location;
pub use manifest::{Manifest, ManifestFile, ManifestReport};
pub use store::{Dataset, ImageState, TableStream, TableWriter};

/// Version of the table schemas. Bumped whenever a column is added, removed
/// or changes meaning; readers refuse tables written with another version.
pub const SCHEMA_VERSION: u32 = 9;

/// `function_attach.fentry_reason` (and `function_status.fentry_reason`)
/// of every function of an image without a `.BTF` section: no fentry,
/// fexit or `tp_btf` program attaches anywhere on it.
pub const FENTRY_REASON_NO_BTF: &str = "the image has no .BTF (CONFIG_DEBUG_INFO_BTF is not set)";
